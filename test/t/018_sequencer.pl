# The on-demand sequencer (docs/reference/feed.md): without the library preloaded,
# a commit that finds its project's feed row busy hands its events to a background
# worker started on demand instead of waiting for the row.
#
# 1. While a transaction holds the project's feed row, a write commits at once
#    (a 2 s lock_timeout would fail it if it waited); its event waits in
#    change_pending, one sequencer runs, and once the row is free the event is
#    numbered after the holder's, gap-free, and its NOTIFY arrives.
#    A row held longer than the sequencer's 2 s without work keeps it there.
# 2. With concurrent_edit.on_demand_sequencer off, the same write waits for the
#    row (55P03 after a 300 ms lock_timeout) and nothing is stored; so it does
#    with synchronous_commit off (no flush to wait for behind the row).
# 3. A REPEATABLE READ write's event is sequenced by the sequencer, with no later
#    READ COMMITTED commit in its project.
# 4. A transaction whose events overflowed into the pending tables (more than
#    1,000) waits for a busy row instead of handing its first 1,000 over, which
#    would number them after the later ones.
# 4b. The sequencer vacuums the pending queues after queue_vacuum_threshold events.
# 5. Without work for 2 s the sequencer exits and removes its pid file.
# 6. Eight clients writing one project: every version has its event, the feed is
#    gap-free, nothing is left pending, and one sequencer process served them
#    (sampled every 100 ms: a second one living less than that is not seen).
# 7. No worker slot free: the write waits for the row, as with the setting off.
# 8. With the preloaded worker, an event left behind a held feed row is numbered
#    soon after the row is free, although no commit wakes the worker.
# 9. A sequencer terminated by an administrator, or by a crash of the server,
#    while an event waits for it is started again and numbers the event; one
#    of a dropped database is not.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use CETest;

my $node = new_node('sequencer', "max_worker_processes = 8\nlog_min_messages = log\nrestart_after_crash = on\n");
my $project = '18181818-0000-0000-0000-000000000018';
my $user = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
$node->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
my $file = $node->safe_psql('postgres', "SELECT concurrent_edit.create_file('$project', 'a.txt', E'a\\n', '$user')");
my $channel = $node->safe_psql('postgres', "SELECT concurrent_edit.channel_name('$project')");
my $seq_q = q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'concurrent_edit sequencer'};
my $pidfile = $node->data_dir . '/pg_concurrent_edit/sequencer.'
    . $node->safe_psql('postgres', q{SELECT oid FROM pg_database WHERE datname = 'postgres'});

sub feed { return $node->safe_psql('postgres',
    "SELECT string_agg(cursor || ':' || event || ':' || coalesce(version::text, '-'), ',' ORDER BY cursor) "
    . "FROM concurrent_edit.changes_since('$project', 0)"); }
sub pending { return $node->safe_psql('postgres', 'SELECT count(*) FROM concurrent_edit.change_pending'); }
sub head { return $node->safe_psql('postgres', "SELECT version FROM concurrent_edit.read('$file')"); }
sub hold_feed_row {
    my $h = $node->background_psql('postgres');
    $h->query_safe('BEGIN');
    $h->query_safe("SELECT FROM concurrent_edit.change_feeds WHERE project_id = '$project' FOR UPDATE");
    return $h;
}
sub write_at {
    my ($base, $text, $settings) = @_;
    return $node->psql('postgres', ($settings // '') . "SET lock_timeout = '2s'; "
        . "SELECT status FROM concurrent_edit.write('$file', E'$text\\n', $base, '$user')");
}

is(feed(), '1:created:1', 'the file is created, its event numbered at commit');
is($node->safe_psql('postgres', $seq_q), '0', 'no sequencer before a busy feed row');

# 1. A busy feed row: the write commits without waiting.
my $listener = $node->background_psql('postgres');
$listener->query_safe("LISTEN $channel");
my $holder = hold_feed_row();
my $t0 = time();
my ($rc, $out, $err) = write_at(1, 'b');
ok($rc == 0 && $out eq 'written', 'the write commits while another transaction holds the feed row') or diag($err);
cmp_ok(time() - $t0, '<', 1.5, 'without waiting for the row');
is(pending(), '1', 'its event waits in change_pending');
ok($node->poll_query_until('postgres', "SELECT ($seq_q) = 1"), 'a sequencer runs');
ok(-f $pidfile, 'and publishes its pid');
is(feed(), '1:created:1', 'the event is not numbered while the row is held');
$holder->query_safe('COMMIT');
$holder->quit;
ok($node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM concurrent_edit.change_pending'),
   'once the row is free the sequencer numbers the event');
is(feed(), '1:created:1,2:version:2', 'after the earlier event, gap-free');
my $seen = '';
my $deadline = time() + 10;
while (time() < $deadline && $seen !~ /"cursor": "2"/) {
    $seen .= $listener->query('SELECT 1');
    sleep(0.1);
}
like($seen, qr/Asynchronous notification "\Q$channel\E" with payload "\{"event": "version", "cursor": "2"/,
     'its NOTIFY arrives, sent by the sequencer');
$listener->quit;

# 1b. A row held longer than the sequencer lingers (an open prune_changes, say):
# it stays while events wait behind the row, and numbers them once it is free.
$holder = hold_feed_row();
($rc, $out, $err) = write_at(2, 'b2');
is($out, 'written', 'a write commits while the row is held');
sleep(6.5);
is($node->safe_psql('postgres', $seq_q), '1', 'the sequencer stays past 2 s while an event waits behind the row');
$holder->query_safe('COMMIT');
$holder->quit;
ok($node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM concurrent_edit.change_pending'),
   'and numbers it once the row is free');
is(feed(), '1:created:1,2:version:2,3:version:3', 'gap-free');

# 2. The setting off: the commit waits for the row.
$holder = hold_feed_row();
($rc, $out, $err) = write_at(3, 'c', "SET concurrent_edit.on_demand_sequencer = off; SET lock_timeout = '300ms'; ");
isnt($rc, 0, 'with on_demand_sequencer off the write waits for the row');
like($err, qr/canceling statement due to lock timeout/, 'and fails on its lock_timeout');
$holder->query_safe('ROLLBACK');
$holder->quit;
is(head(), '3', 'nothing of it is stored');
is(pending(), '0', 'no event of it waits');
# synchronous_commit off: the holder's commit waits for no flush either, and the
# commit waits for the row.
$holder = hold_feed_row();
($rc, $out, $err) = write_at(3, 'c', "SET synchronous_commit = off; SET lock_timeout = '300ms'; ");
like($err, qr/canceling statement due to lock timeout/, 'with synchronous_commit off the write waits for the row');
$holder->query_safe('ROLLBACK');
$holder->quit;
is(head(), '3', 'nothing of it is stored');
($rc, $out, $err) = $node->psql('postgres', 'SET concurrent_edit.on_demand_sequencer = off', on_error_stop => 1);
is($rc, 0, 'a superuser may set it');
$node->safe_psql('postgres', 'CREATE ROLE plain LOGIN');
# (Once the library is loaded: before, the name is a placeholder anyone may set,
# which the library then refuses with a WARNING.)
($rc, $out, $err) = $node->psql('postgres', "SELECT concurrent_edit.channel_name('$project'); SET ROLE plain; "
    . 'SET concurrent_edit.on_demand_sequencer = off');
like($err, qr/permission denied to set parameter "concurrent_edit.on_demand_sequencer"/, 'another role may not');

# 3. REPEATABLE READ: sequenced without a later READ COMMITTED commit.
$node->safe_psql('postgres', "BEGIN ISOLATION LEVEL REPEATABLE READ; "
    . "SELECT concurrent_edit.write('$file', E'd\\n', 3, '$user'); COMMIT;");
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM concurrent_edit.change_pending"),
   'a REPEATABLE READ write\'s event is sequenced by the sequencer');
is(feed(), '1:created:1,2:version:2,3:version:3,4:version:4', 'in order');

# 3b. Rounds that fail (here a trigger on change_log raises) for longer than the
# sequencer's 2 s: it leaves with 1 and is started again a second later, so the
# event handed to it is numbered once they succeed again. Before, it left with
# 0 and was not started again: the event waited in change_pending for a later
# commit of its project.
$node->safe_psql('postgres', q{
  CREATE FUNCTION public.feed_closed() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN RAISE EXCEPTION 'change_log is closed for maintenance'; END $$;
  CREATE TRIGGER feed_closed BEFORE INSERT ON concurrent_edit.change_log
      FOR EACH ROW EXECUTE FUNCTION public.feed_closed();});
$node->safe_psql('postgres', "BEGIN ISOLATION LEVEL REPEATABLE READ; "
    . "SELECT concurrent_edit.write('$file', E'e\\n', 4, '$user'); COMMIT;");
sleep 5;  # the sequencer's 2 s without a round that succeeds, and then some
is($node->safe_psql('postgres', 'SELECT count(*) FROM concurrent_edit.change_pending'), '1',
   'while the rounds fail, the event waits');
$node->safe_psql('postgres', q{DROP TRIGGER feed_closed ON concurrent_edit.change_log;
                               DROP FUNCTION public.feed_closed()});
my $numbered = 0;
for (1 .. 100) {  # 10 s
    $numbered = $node->safe_psql('postgres', 'SELECT count(*) = 0 FROM concurrent_edit.change_pending') eq 't';
    last if $numbered;
    sleep(0.1);
}
ok($numbered, 'once they succeed again, a sequencer started again numbers it, with no later commit');
is(feed(), '1:created:1,2:version:2,3:version:3,4:version:4,5:version:5', 'after the others');

# 5. It leaves after 2 s without work.
ok($node->poll_query_until('postgres', "SELECT ($seq_q) = 0"), 'the sequencer exits without work');
ok(!-e $pidfile, 'and removes its pid file');

# 6. Eight clients writing one project, each its own file.
my @files = map {
    $node->safe_psql('postgres', "SELECT concurrent_edit.create_file('$project', 'c$_.txt', E'0\\n', '$user')")
} 1 .. 8;
# (The creates numbered their own events: none found the feed row busy. The
# count below is of the sequencers the clients' commits start. Once, two were
# seen: a commit had found the sequencer lock free, then the start marker gone,
# because the sequencer another commit registered had meanwhile taken the lock
# and removed the marker; it now looks at the lock again after making its own.)
ok($node->poll_query_until('postgres', "SELECT ($seq_q) = 0"), 'no sequencer before the clients start');
my $log_at = -s $node->logfile;
my $script = $node->basedir . '/write.sql';
open(my $sf, '>', $script) or die;
print $sf "\\set f random(1, 8)\n";
print $sf "SELECT concurrent_edit.write(f.id, f.c || 'x', f.v, '$user') FROM (SELECT fl.id, r.content AS c, r.version AS v "
    . "FROM concurrent_edit.files fl, LATERAL concurrent_edit.read(fl.id) r WHERE fl.project_id = '$project' "
    . "AND fl.path = 'c' || :f || '.txt') f;\n";
close $sf;
my %pids;    # sequencer processes seen during the run
my $bench = IPC::Run::start([ 'pgbench', '-n', '-c', '8', '-j', '8', '-T', '4', '-f', $script,
    '-h', $node->host, '-p', $node->port, 'postgres' ], '>', \my $bout, '2>', \my $berr);
while ($bench->pumpable) {
    $pids{$_} = 1 for split /\n/, $node->safe_psql('postgres',
        q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'concurrent_edit sequencer'});
    sleep(0.1);
    $bench->pump_nb;
}
$bench->finish;
like($bout, qr/number of transactions actually processed: [1-9]/, 'the clients wrote') or diag($berr);
is(scalar(keys %pids), 1, 'one sequencer served them all (the start marker kept the others from starting one)');
ok($node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM concurrent_edit.change_pending'),
   'every event is sequenced');
is($node->safe_psql('postgres', qq{
    SELECT count(*) FROM concurrent_edit.file_versions v JOIN concurrent_edit.files f ON f.id = v.file_id
    WHERE f.project_id = '$project' AND v.version > 1 AND NOT EXISTS (
        SELECT FROM concurrent_edit.change_log c WHERE c.project_id = f.project_id AND c.file_id = v.file_id
        AND c.event = 'version' AND c.version = v.version)}), '0', 'every version has its event');
is($node->safe_psql('postgres', qq{
    SELECT count(*) = max(cursor) AND max(cursor) = (SELECT last_cursor FROM concurrent_edit.change_feeds
        WHERE project_id = '$project')
    FROM concurrent_edit.change_log WHERE project_id = '$project'}), 't', 'the feed is gap-free');
my $log = slurp_file($node->logfile, $log_at);
unlike($log, qr/could not start the concurrent_edit sequencer|ERROR|TRAP/, 'no worker slot ran out, no error');

# 4. 1,001 writes in one transaction while the feed row is held for 3 s.
my $big = $node->safe_psql('postgres', "SELECT concurrent_edit.create_file('$project', 'big.txt', E'0\\n', '$user')");
my $hold = IPC::Run::start([ 'psql', '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres', '-c',
    "BEGIN; SELECT FROM concurrent_edit.change_feeds WHERE project_id = '$project' FOR UPDATE; "
    . "SELECT pg_sleep(3); COMMIT;" ], '>', \my $hout, '2>', \my $herr);
ok($node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3)%'
    AND state = 'active' AND pid <> pg_backend_pid()}), 'a transaction holds the feed row');
is($node->safe_psql('postgres', "BEGIN; SELECT count(*) FROM generate_series(1, 1001) i, "
    . "LATERAL concurrent_edit.write('$big', i::text || E'\\n', i, '$user') w WHERE w.status = 'written'; COMMIT;"),
   '1001', '1,001 writes in one transaction');
$hold->finish;
ok($node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM concurrent_edit.change_pending'), 'all sequenced');
is($node->safe_psql('postgres', "SELECT count(*) FILTER (WHERE version <> prev + 1) || '/' || count(*) FROM ("
    . "SELECT version, lag(version) OVER (ORDER BY cursor) AS prev FROM concurrent_edit.change_log "
    . "WHERE project_id = '$project' AND file_id = '$big' AND event = 'version') v WHERE prev IS NOT NULL"),
   '0/1000', 'its version events are numbered in version order');

# 4b. The sequencer vacuums the queues it drains once it has moved
# concurrent_edit.queue_vacuum_threshold events (here 5): ten writes handed over
# while the feed row is held, then moved by it once the row is free.
$node->append_conf('postgresql.conf', "concurrent_edit.queue_vacuum_threshold = 5\n");
$node->reload;
my $vacuums_q = q{SELECT vacuum_count FROM pg_stat_all_tables WHERE relid = 'concurrent_edit.change_pending'::regclass};
# (Autovacuum kept off the queue meanwhile: the sequencer skips a queue that
# autovacuum is vacuuming, silently, and would vacuum again only 5 events later.)
$node->safe_psql('postgres', 'ALTER TABLE concurrent_edit.change_pending SET (autovacuum_enabled = off)');
my $vacuums0 = $node->safe_psql('postgres', $vacuums_q);
{
    my $h = hold_feed_row();
    my $written = 0;
    for my $i (1 .. 10) {
        my ($wrc, $wout) = write_at(head(), "h$i");
        $written++ if $wrc == 0 && $wout eq 'written';
    }
    is($written, 10, 'ten writes handed over while the feed row is held');
    is(pending(), '10', 'their events wait in change_pending');
    $h->query_safe('COMMIT');
    $h->quit;
}
ok($node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM concurrent_edit.change_pending'),
   'the sequencer numbers them once the row is free');
ok($node->poll_query_until('postgres', "SELECT ($vacuums_q) > $vacuums0"),
   'and then vacuums the queues (vacuum_count of change_pending)');
$node->append_conf('postgresql.conf', "concurrent_edit.queue_vacuum_threshold = 10000\n");
$node->reload;
$node->safe_psql('postgres', 'ALTER TABLE concurrent_edit.change_pending RESET (autovacuum_enabled)');

# 9. A sequencer that does not leave of its own accord is started again, and
# numbers the events handed to it: (a) terminated by an administrator while an
# event waits behind a held row (the row then released by a rollback, which
# numbers nothing); (b) a crash of the server while one waits.
sub seq_pid { return $node->safe_psql('postgres',
    q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'concurrent_edit sequencer'}); }
for my $how ('terminated', 'crash') {
    ok($node->poll_query_until('postgres', "SELECT ($seq_q) = 0"), "$how: no sequencer runs");
    my $before = feed();
    my $h = hold_feed_row();
    my $hpid = $h->query_safe('SELECT pg_backend_pid()');
    $hpid =~ s/\s+//g;
    ($rc, $out, $err) = write_at(head(), "after $how");
    is($out, 'written', "$how: a write commits while the row is held");
    is(pending(), '1', "$how: its event waits in change_pending");
    ok($node->poll_query_until('postgres', "SELECT ($seq_q) = 1"), "$how: a sequencer runs");
    my $first = seq_pid();
    my $t0 = time();
    if ($how eq 'terminated') {
        is($node->safe_psql('postgres', "SELECT pg_terminate_backend($first)"), 't', 'an administrator terminates it');
        ok($node->poll_query_until('postgres', "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $first)"),
           'it is gone');
        $h->query_safe('ROLLBACK');
        $h->quit;
    } else {
        $log_at = -s $node->logfile;
        ok(kill('KILL', $hpid), 'the holder of the row is killed with SIGKILL');
        ok($node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_at),
           'the server resets after the crash');
        ok(accepting($node), 'and accepts connections again');
        eval { $h->quit };
    }
    ok($node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM concurrent_edit.change_pending'),
       "$how: the event is numbered without a later commit");
    cmp_ok(time() - $t0, '<', 15, "$how: within seconds");
    my @earlier = split /,/, $before;
    is(feed(), "$before," . (@earlier + 1) . ':version:' . head(), "$how: after the earlier events, gap-free");
}
# A sequencer terminated after its database is dropped is not started again
# for ever: its restart finds the database gone and exits.
$node->safe_psql('postgres', 'CREATE DATABASE gone');
$node->safe_psql('gone', 'CREATE EXTENSION concurrent_edit');
my $gfile = $node->safe_psql('gone', "SELECT concurrent_edit.create_file('$project', 'g.txt', E'g\n', '$user')");
my $gh = $node->background_psql('gone');
$gh->query_safe('BEGIN');
$gh->query_safe("SELECT FROM concurrent_edit.change_feeds WHERE project_id = '$project' FOR UPDATE");
is($node->safe_psql('gone', "SELECT status FROM concurrent_edit.write('$gfile', E'h\n', 1, '$user')"), 'written',
   'a write in another database hands its event over');
ok($node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
    WHERE backend_type = 'concurrent_edit sequencer' AND datname = 'gone'}), 'a sequencer runs there');
# Terminated (it is started again a second later), then the database dropped.
$node->safe_psql('postgres', q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE backend_type = 'concurrent_edit sequencer' AND datname = 'gone'});
$node->safe_psql('postgres', 'DROP DATABASE gone WITH (FORCE)');
eval { $gh->quit };
$log_at = -s $node->logfile;
sleep(4);
my $glog = slurp_file($node->logfile, $log_at);
unlike($glog, qr/database \d+ does not exist/, 'no sequencer of the dropped database tries to connect');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'concurrent_edit sequencer'}),
   '0', 'and none runs');

# 7. No worker slot: the commit waits for the row.
ok($node->poll_query_until('postgres', "SELECT ($seq_q) = 0"), 'the sequencer left');
$node->append_conf('postgresql.conf', "max_worker_processes = 1\n");  # the replication launcher's
$node->restart;
$log_at = -s $node->logfile;
$holder = hold_feed_row();
my $base = head();
($rc, $out, $err) = write_at($base, 'f', "SET lock_timeout = '300ms'; ");
isnt($rc, 0, 'with no worker slot free the write waits for the row');
like($err, qr/lock timeout/, 'and fails on its lock_timeout');
$holder->query_safe('ROLLBACK');
$holder->quit;
is(head(), $base, 'nothing of it is stored');
ok($node->wait_for_log(qr/could not start the concurrent_edit sequencer; committing transactions wait/, $log_at),
   'the server log says why');
($rc, $out, $err) = write_at($base, 'f');
is($out, 'written', 'with the row free the write commits');

$node->stop;

# 8. The preloaded worker, the same event left behind a held row: it looks again
# soon, although nothing wakes it when the holder ends (its cleanup interval is
# an hour here).
my $wnode = new_node('sequencer_worker', "shared_preload_libraries = 'concurrent_edit'\n"
    . "concurrent_edit.worker_interval = '1h'\n");
$wnode->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
ok(worker_serving($wnode), 'the worker runs');
my $wfile = $wnode->safe_psql('postgres', "SELECT concurrent_edit.create_file('$project', 'w.txt', E'a\\n', '$user')");
ok($wnode->poll_query_until('postgres', 'SELECT count(*) = 0 FROM concurrent_edit.change_pending'),
   'the creation is sequenced');
$holder = $wnode->background_psql('postgres');
$holder->query_safe('BEGIN');
$holder->query_safe("SELECT FROM concurrent_edit.change_feeds WHERE project_id = '$project' FOR UPDATE");
$wnode->safe_psql('postgres', "SET lock_timeout = '2s'; SELECT concurrent_edit.write('$wfile', E'b\\n', 1, '$user')");
sleep(0.5);
is($wnode->safe_psql('postgres', 'SELECT count(*) FROM concurrent_edit.change_pending'), '1',
   'the event waits behind the held row');
$holder->query_safe('COMMIT');
$holder->quit;
my $t1 = time();
ok($wnode->poll_query_until('postgres', 'SELECT count(*) = 0 FROM concurrent_edit.change_pending'),
   'the worker numbers it once the row is free');
cmp_ok(time() - $t1, '<', 5, 'within seconds, not at its next cleanup');
is($wnode->safe_psql('postgres', "SELECT string_agg(cursor || ':' || event, ',' ORDER BY cursor) "
    . "FROM concurrent_edit.changes_since('$project', 0)"), '1:created,2:version', 'gap-free');
$wnode->stop;
done_testing();
