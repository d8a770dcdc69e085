# No input of one user locks others out (docs/reference/foundation.md):
#  * a poisoned pending event of one project leaves every other feed flowing,
#    with the background worker and without it;
#  * a backlog of pending events is sequenced in bounded transactions, the
#    projects in turn;
#  * 5,000 conflicting OCC updates in a loop leave parallel queries their workers,
#    and every conflict is recorded (or counted as dropped); eight backends
#    meeting a conflict at once start one recorder, not one each;
#  * crafted client clocks are refused while honest offline clients still merge,
#    and the other writers of the file are not locked out;
#  * file locks are granted in turn: overlapping shared locks do not keep an
#    exclusive acquirer out; with shared memory, a release wakes the waiter
#    waiting longest (not a herd), which passes the wake-up on if it ends
#    without the lock;
#  * a role opening sessions from several connections, each in a transaction
#    left open, stops at its concurrent_edit.max_sessions_per_role (set for it
#    with ALTER ROLE), which it cannot raise, nor escape as a member of a group
#    with SET ROLE; other roles still open sessions;
#  (the memory of single calls: 025_bounded_memory.pl).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use CETest;

my $alice = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
my $bob = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb';

# 1. A poisoned pending event.
for my $mode ('without worker', 'with worker') {
    my $conf = $mode eq 'with worker'
      ? "shared_preload_libraries = 'concurrent_edit'\nconcurrent_edit.worker_interval = 200ms\n" : undef;
    my $node = new_node($mode eq 'with worker' ? 'poison_worker' : 'poison_plain', $conf);
    $node->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
    my ($p1, $p2) = ('11111111-0000-0000-0000-000000000001', '22222222-0000-0000-0000-000000000002');
    my $f1 = $node->safe_psql('postgres', "SELECT concurrent_edit.create_file('$p1', 'a.txt', E'a\\n', '$alice')");
    my $f2 = $node->safe_psql('postgres', "SELECT concurrent_edit.create_file('$p2', 'b.txt', E'b\\n', '$alice')");
    # An event no API call would write (its kind violates change_log's check), left
    # pending by hand in P1 (a REPEATABLE READ transaction without the worker leaves
    # events pending too).
    $node->safe_psql('postgres', "INSERT INTO concurrent_edit.change_pending (project_id, event) VALUES ('$p1', 'bogus')");
    # Both projects keep working: the next writes commit and their events flow.
    is($node->safe_psql('postgres', "SELECT status FROM concurrent_edit.write('$f1', E'a\\nA\\n', 1, '$alice')"),
        'written', "$mode: P1 still writes");
    is($node->safe_psql('postgres', "SELECT status FROM concurrent_edit.write('$f2', E'b\\nB\\n', 1, '$alice')"),
        'written', "$mode: P2 still writes");
    my $q = sub { "SELECT (SELECT string_agg(event, ',' ORDER BY cursor) FROM concurrent_edit.changes_since('$_[0]', 0)) = '$_[1]'" };
    ok($node->poll_query_until('postgres', $q->($p2, 'created,version')), "$mode: P2's feed flows");
    ok($node->poll_query_until('postgres', $q->($p1, 'created,version')), "$mode: P1's good events flow too");
    ok($node->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM concurrent_edit.change_pending_rejected WHERE project_id = '$p1' AND event ->> 'event' = 'bogus'"),
        "$mode: the bad event is set aside");
    is($node->safe_psql('postgres', 'SELECT count(*) FROM concurrent_edit.change_pending'), '0', "$mode: nothing stays pending");
    ok($node->wait_for_log(qr/change event \d+ of project $p1 cannot be sequenced/, 0), "$mode: and reported in the log");
    $node->stop;
}

# 1b. Poisoned events arriving while writers of the same project commit, with the
# worker: the worker sets each aside holding the project's feed row, so a writer
# whose commit numbers waiting events never deadlocks with it (40P01 used to fail
# such a writer's COMMIT now and then: 1 to 7 times in 40 s of this load).
{
    my $node = new_node('poison_load', "shared_preload_libraries = 'concurrent_edit'\n"
        . "concurrent_edit.worker_interval = 200ms\nmax_connections = 30\n");
    $node->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
    my $p = '33333333-0000-0000-0000-000000000003';
    $node->safe_psql('postgres', "SELECT concurrent_edit.create_file('$p', 'f' || i || '.txt', E'0\\n', '$alice',
        file_id => ('f3333333-0000-0000-0000-00000000000' || i)::uuid) FROM generate_series(1, 4) i");
    my $seconds = $ENV{CE_POISON_SECONDS} // 20;
    $node->pgbench("--no-vacuum --client=5 --jobs=2 --time=$seconds", 0,
        [qr/number of failed transactions: 0/], [qr/\A(?:(?!ERROR|FATAL).)*\z/s],  # set-aside WARNINGs only
        "pgbench: 4 writers and poisoned events for $seconds s",
        { 'poison@1' => "INSERT INTO concurrent_edit.change_pending (project_id, event) VALUES ('$p', 'bogus');",
          'write@4' => "\\set f random(1, 4)\n"
              . "SELECT version AS v FROM concurrent_edit.read(('f3333333-0000-0000-0000-00000000000' || :f)::uuid) \\gset\n"
              . "SELECT concurrent_edit.write(('f3333333-0000-0000-0000-00000000000' || :f)::uuid, 'x' || random() || E'\\n', :v, '$alice');" });
    unlike(slurp_file($node->logfile), qr/deadlock detected/, 'no deadlock between the worker and a committing writer');
    ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM concurrent_edit.change_pending"),
        'every event is sequenced or set aside');
    is($node->safe_psql('postgres', "SELECT max(cursor) = count(*) AND count(*) > 0 FROM concurrent_edit.change_log
        WHERE project_id = '$p'"), 't', 'the feed has no gap');
    $node->stop;
}

# 1c. A backlog (the worker stopped while 3,000 lock events of one project were
# committed) is sequenced in transactions of at most concurrent_edit.sequence_batch
# events, the projects in turn: a project with 10 events waits for one batch, not
# for the whole backlog.
{
    my $node = new_node('backlog', "shared_preload_libraries = 'concurrent_edit'\n"
        . "concurrent_edit.worker_interval = 200ms\nconcurrent_edit.sequence_batch = 500\n");
    $node->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
    my ($big, $small) = ('44444444-0000-0000-0000-000000000001', '44444444-0000-0000-0000-000000000002');
    my %file; my %session;
    for my $p ($big, $small) {
        $file{$p} = $node->safe_psql('postgres', "SELECT concurrent_edit.create_file('$p', 'x.txt', E'x\\n', '$alice')");
        $session{$p} = $node->safe_psql('postgres', "SELECT concurrent_edit.open_session('$alice', '$p')");
    }
    ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM concurrent_edit.change_pending"),
       'the first events are sequenced');
    my $wpid = $node->safe_psql('postgres',
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'concurrent_edit worker'");
    our $stopped_worker = $wpid;
    END { kill 'CONT', $stopped_worker if $stopped_worker; }  # never leave it stopped (stop would hang)
    kill 'STOP', $wpid;
    my $cycles = sub {
        my ($p, $n) = @_;
        $node->safe_psql('postgres', "DO \$\$ BEGIN FOR i IN 1 .. $n LOOP
            PERFORM concurrent_edit.acquire_lock('$file{$p}', '$session{$p}');
            PERFORM concurrent_edit.release_lock('$file{$p}', '$session{$p}'); END LOOP; END \$\$");
    };
    # A bad event first: the big project is sequenced one event at a time (each in
    # a subtransaction), in batches of sequence_batch too.
    $node->safe_psql('postgres', "INSERT INTO concurrent_edit.change_pending (project_id, event) VALUES ('$big', 'bogus')");
    $cycles->($big, 1500);
    $cycles->($small, 5);
    is($node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.change_pending_locks"), '3010',
       '3,010 lock events wait for the stopped worker');
    kill 'CONT', $wpid;
    ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM concurrent_edit.change_pending_locks"),
       'the worker sequences the backlog');
    my $tx = "SELECT count(DISTINCT xmin::text) FROM concurrent_edit.change_log WHERE project_id = '$big'
        AND event IN ('lock_acquired', 'lock_released')";
    cmp_ok($node->safe_psql('postgres', $tx), '>=', 6, 'in transactions of at most 500 events');
    is($node->safe_psql('postgres', "SELECT bool_and(n <= 500) FROM (SELECT count(*) n FROM concurrent_edit.change_log
        GROUP BY xmin::text) t"), 't', 'none larger, also one at a time behind a bad event');
    is($node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.change_pending_rejected
        WHERE project_id = '$big' AND event ->> 'event' = 'bogus'"), '1', 'the bad event is set aside');
    is($node->safe_psql('postgres', "SELECT (SELECT max(xmin::text::bigint) FROM concurrent_edit.change_log
        WHERE project_id = '$small' AND event = 'lock_released')
        < (SELECT max(xmin::text::bigint) FROM concurrent_edit.change_log WHERE project_id = '$big')"), 't',
       'the small project is served before the backlog of the big one is through');
    for my $p ($big, $small) {
        is($node->safe_psql('postgres', "SELECT max(cursor) = count(*) AND bool_and(ok) FROM (
            SELECT cursor, event = CASE WHEN lag(event) OVER w = 'lock_acquired' THEN 'lock_released'
                                        ELSE event END AS ok
            FROM concurrent_edit.change_log WHERE project_id = '$p' WINDOW w AS (ORDER BY cursor)) t"), 't',
           "project $p: gap-free, every acquire followed by its release");
    }
    $node->stop;
}

# 1c. A client's open transaction holding a row the worker would wait for (an
# expired lock extended in an open transaction, a project's feed row held by an
# open prune_changes) does not stop the worker for the other projects.
{
    my $node = new_node('open_client', "shared_preload_libraries = 'concurrent_edit'\n"
        . "concurrent_edit.worker_interval = 200ms\n");
    $node->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
    my ($pa, $pb) = ('11110000-0000-0000-0000-000000000001', '22220000-0000-0000-0000-000000000002');
    my (%file, %session);
    for my $p ($pa, $pb) {
        $file{$p} = $node->safe_psql('postgres', "SELECT concurrent_edit.create_file('$p', 'x.txt', E'x\\n', '$alice')");
        $session{$p} = $node->safe_psql('postgres', "SELECT concurrent_edit.open_session('$alice', '$p')");
    }
    ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM concurrent_edit.change_pending"),
       'open transactions: the first events are sequenced');
    # (The session started first: its start could outlast the 1 s ttl.)
    my $extend = $node->background_psql('postgres');
    $extend->query_safe("SELECT concurrent_edit.acquire_lock('$file{$pa}', '$session{$pa}', ttl => '1 second')");
    $extend->query_safe("BEGIN; SELECT concurrent_edit.extend_lock('$file{$pa}', '$session{$pa}', '60 seconds')");
    sleep 1.5;  # expired as far as committed rows tell
    my $prune = $node->background_psql('postgres');
    $prune->query_safe("BEGIN; SELECT concurrent_edit.prune_changes('0', '$pa')");  # takes A's feed row
    # Events of both projects wait for the worker; A comes first in its order.
    $node->safe_psql('postgres', "INSERT INTO concurrent_edit.change_pending (project_id, event) VALUES ('$pa', 'session_joined')");
    $node->safe_psql('postgres', "SELECT concurrent_edit.acquire_lock('$file{$pb}', '$session{$pb}', 'shared');
        SELECT concurrent_edit.release_lock('$file{$pb}', '$session{$pb}')");
    ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM concurrent_edit.change_pending_locks
        WHERE project_id = '$pb'"), "project B's lock events are sequenced while A's rows are held");
    is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'concurrent_edit worker'
        AND wait_event_type = 'Lock'"), '0', 'the worker waits for no lock');
    is($node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.change_pending WHERE project_id = '$pa'"), '1',
       "A's event waits for its feed row");
    $prune->query_safe('COMMIT');
    $extend->query_safe('COMMIT');
    $prune->quit;
    $extend->quit;
    ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM concurrent_edit.change_pending"),
       "A's event is sequenced once the feed row is free");
    $node->stop;
}

# 2. 5,000 conflicting OCC updates in a loop.
my $node = new_node('occ_flood', "shared_preload_libraries = 'concurrent_edit'\nmax_worker_processes = 8\n"
    . "max_parallel_workers = 8\nmax_parallel_workers_per_gather = 2\n");
$node->safe_psql('postgres', q{
  CREATE EXTENSION concurrent_edit;
  CREATE TABLE doc (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, body jsonb);
  INSERT INTO doc VALUES (1, 1, '{"venue": "Hall A"}');
  SELECT concurrent_edit.enable_occ('doc', mode => 'merge');
  UPDATE doc SET body = '{"venue": "Hall B"}', version = 1;     -- now at version 2
  CREATE TABLE big AS SELECT i FROM generate_series(1, 2000000) i;
  ANALYZE big;
});
my $parallel = q{SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
  EXPLAIN (ANALYZE, FORMAT JSON) SELECT count(*) FROM big};
my $launched = sub {
    my $plan = $node->safe_psql('postgres', $parallel);
    my ($planned) = $plan =~ /"Workers Planned": (\d+)/;
    my ($got) = $plan =~ /"Workers Launched": (\d+)/;
    return ($planned // 0, $got // 0);
};
my ($planned0, $got0) = $launched->();
cmp_ok($planned0, '>=', 2, 'the parallel query plans workers');
my $flood = $node->background_psql('postgres');
$flood->query_until(qr/started/, q{\echo started
DO $$ BEGIN
  FOR i IN 1 .. 5000 LOOP
    BEGIN
      UPDATE doc SET body = '{"venue": "Hall C"}', version = 1;  -- stale, and conflicting
    EXCEPTION WHEN SQLSTATE 'VC001' THEN NULL;
    END;
  END LOOP;
END $$;
\echo flood-done
});
my ($short, $runs, $peak) = (0, 0, 0);
my $recorders_q = q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'concurrent_edit conflict recorder'};
my $t0 = time();
while (time() - $t0 < 120) {
    my $recorders = $node->safe_psql('postgres', $recorders_q);
    $peak = $recorders if $recorders > $peak;
    my ($planned, $got) = $launched->();
    $runs++;
    $short++ if $got < $planned;
    last if $runs >= 10;
    sleep(0.2);
}
$flood->query_until(qr/flood-done/, '');
$flood->quit;
cmp_ok($runs, '>=', 5, "parallel queries ran during the flood ($runs)");
is($short, 0, 'every parallel query got all its workers during the flood');
my $recorders_after = $node->safe_psql('postgres', $recorders_q);
$peak = $recorders_after if $recorders_after > $peak;
cmp_ok($peak, '<=', 1, "at most one conflict recorder ran at each of the $runs looks during the flood "
    . '(part 2b counts the starts of a burst)');
ok($node->poll_query_until('postgres', q{SELECT count(*) = 5000 FROM concurrent_edit.conflict_history WHERE row_relation = 'public.doc'},
    't'), 'all 5,000 conflicts are recorded');
my $dropped = () = slurp_file($node->logfile) =~ /row conflict not recorded/g;
is($dropped, 0, 'none was dropped');
ok($node->poll_query_until('postgres',
    q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'concurrent_edit conflict recorder'}),
    'the recorder exits when the spool is empty');

# 2b. Eight backends meet a conflict at the same moment: one recorder is
# registered, not one per backend (each would take a worker slot until it found
# the first one's lock). The postmaster logs each worker it starts at DEBUG1. In
# a database the worker does not serve: its drain of the spool (every
# worker_interval, under the recorder's lock) would otherwise race the burst.
$node->safe_psql('postgres', 'CREATE DATABASE burst');
$node->safe_psql('burst', q{
  CREATE EXTENSION concurrent_edit;
  CREATE TABLE doc (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, body jsonb);
  INSERT INTO doc SELECT 10 + i, 1, '{"venue": "Hall A"}' FROM generate_series(1, 8) i;
  SELECT concurrent_edit.enable_occ('doc', mode => 'merge');
  UPDATE doc SET body = '{"venue": "Hall B"}', version = 1 WHERE id > 10;   -- now at version 2
});
$node->safe_psql('postgres', 'ALTER SYSTEM SET log_min_messages = debug1; SELECT pg_reload_conf()');
my $starts = sub { return scalar(() = slurp_file($node->logfile)
    =~ /starting background worker process "concurrent_edit conflict recorder"/g) };
ok($node->poll_query_until('burst', q{SELECT count(*) = 0 FROM pg_stat_activity
    WHERE backend_type = 'concurrent_edit conflict recorder'}), 'no recorder runs before the burst');
my $starts0 = $starts->();
my $gate = $node->background_psql('burst');
$gate->query_safe('SELECT pg_advisory_lock(2121)');
my @burst;
for my $i (1 .. 8) {
    my $s = $node->background_psql('burst');
    $s->query_until(qr/waiting/, qq{\\echo waiting
DO \$\$ BEGIN
  PERFORM pg_advisory_lock_shared(2121);
  UPDATE doc SET body = '{"venue": "Hall C"}', version = 1 WHERE id = 10 + $i;  -- stale, and conflicting
EXCEPTION WHEN SQLSTATE 'VC001' THEN NULL;
END \$\$;
\\echo burst-done
});
    push @burst, $s;
}
ok($node->poll_query_until('burst', q{SELECT count(*) = 8 FROM pg_locks WHERE locktype = 'advisory'
    AND objid = 2121 AND NOT granted}), 'the eight backends wait at the gate');
$gate->query_safe('SELECT pg_advisory_unlock(2121)');
for my $s (@burst) {
    $s->query_until(qr/burst-done/, '');
    $s->quit;
}
$gate->quit;
ok($node->poll_query_until('burst', q{SELECT count(*) = 8 FROM concurrent_edit.conflict_history
    WHERE row_relation = 'public.doc' AND row_key->>'id' IN ('11','12','13','14','15','16','17','18')}, 't'),
   'the eight conflicts are recorded');
is($starts->() - $starts0, 1, 'one recorder was started for the burst');
my $marker = sub { return $node->safe_psql('burst', q{SELECT count(*) FROM pg_ls_dir('pg_concurrent_edit') f
    WHERE f = 'recorder.' || (SELECT oid FROM pg_database WHERE datname = 'burst') || '.start'}) };
is($marker->(), '0', 'the recorder removed its start marker');
# A marker left by a recorder that never started is stale after 2 s: the next
# conflict takes it over and starts one.
ok($node->poll_query_until('burst', q{SELECT count(*) = 0 FROM pg_stat_activity
    WHERE backend_type = 'concurrent_edit conflict recorder'}), 'the recorder left');
my $oid = $node->safe_psql('burst', q{SELECT oid FROM pg_database WHERE datname = 'burst'});
my $stale = $node->data_dir . "/pg_concurrent_edit/recorder.$oid.start";
open(my $fh, '>', $stale) or die "cannot create $stale: $!";
close($fh);
utime(time() - 10, time() - 10, $stale) or die "cannot age $stale: $!";
$starts0 = $starts->();
$node->psql('burst', q{UPDATE doc SET body = '{"venue": "Hall D"}', version = 1 WHERE id = 11});
ok($node->poll_query_until('burst', q{SELECT count(*) = 2 FROM concurrent_edit.conflict_history
    WHERE row_relation = 'public.doc' AND row_key->>'id' = '11'}, 't'),
   'a conflict after a stale marker is recorded');
is($starts->() - $starts0, 1, 'it started one recorder');
is($marker->(), '0', 'and the stale marker is gone');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET log_min_messages; SELECT pg_reload_conf()');

# 3. Crafted client clocks.
my $p = '33333333-0000-0000-0000-000000000003';
my $f = $node->safe_psql('postgres', "SELECT concurrent_edit.create_file('$p', 'c.txt', E'one\\ntwo\\nthree\\nfour\\nfive\\n', '$alice')");
$node->safe_psql('postgres', "SELECT concurrent_edit.write('$f', E'one\\ntwo\\nthree\\nfour\\nfive\\nsix\\n', 1, '$bob')");
my $clock = $node->safe_psql('postgres', "SELECT vector_clock FROM concurrent_edit.read('$f', 1)");
for my $crafted (["{\"$bob\": 9223372036854775807}", 'is ahead of every version'],
                 ['{"junk-1": 1, "junk-2": 1}', 'names a node that no version of the file has']) {
    my ($crafted_clock, $message) = @$crafted;
    my ($rc, $out, $err) = $node->psql('postgres',
        "SELECT concurrent_edit.write('$f', 'x', NULL, '$alice', client_clock => '$crafted_clock')",
        extra_params => ['-v', 'VERBOSITY=verbose']);
    like($err, qr/ERROR:\s+22023: client_clock $message/, "crafted clock $crafted_clock is refused (22023)");
    is($node->safe_psql('postgres', "SELECT head_version FROM concurrent_edit.files WHERE id = '$f'"), '2',
       'nothing was written');
}
my ($rc, $out, $err) = $node->psql('postgres', "SELECT concurrent_edit.write('$f', 'x', 2, '$alice', client_clock => "
    . "(SELECT jsonb_object_agg('junk-' || i, 1) FROM generate_series(1, 1000) i)::text::concurrent_edit.vclock)",
    extra_params => ['-v', 'VERBOSITY=verbose']);
like($err, qr/22023/, 'a clock with 1,000 junk nodes is refused with 22023');
is($node->safe_psql('postgres', "SELECT concurrent_edit.vclock_get(head_clock, '$bob') < 100 FROM concurrent_edit.files WHERE id = '$f'"),
    't', 'no crafted counter reached the head clock');
is($node->safe_psql('postgres', "SELECT status FROM concurrent_edit.write('$f', E'ONE\\ntwo\\nthree\\nfour\\nfive\\nsix\\n', 2, '$bob')"),
    'written', 'the other writer is not locked out');
# An honest offline client (it read version 1) still merges by its clock...
is($node->safe_psql('postgres', "SELECT status FROM concurrent_edit.write('$f', E'one\\ntwo\\nTHREE\\nfour\\nfive\\n', NULL, '$alice', "
    . "client_clock => '$clock')"), 'merged', 'an honest offline client merges from its clock');
# ... and one that counted its own offline edits (on its session's node) fast-forwards.
my $session = '5e551011-0000-0000-0000-000000000021';
$node->safe_psql('postgres', "INSERT INTO concurrent_edit.edit_sessions (project_id, id, user_id) VALUES ('$p', '$session', '$alice')");
my $head = $node->safe_psql('postgres', "SELECT head_clock FROM concurrent_edit.files WHERE id = '$f'");
is($node->safe_psql('postgres', "SELECT status FROM concurrent_edit.write('$f', E'ONE\\ntwo\\nTHREE\\nfour\\nfive\\nsix\\nseven\\n', NULL, "
    . "session_id => '$session', client_clock => concurrent_edit.vclock_increment('$head', '$session'))"), 'written',
    'an offline client that counted its own edits fast-forwards');
$node->stop;

# 4. File locks are granted in turn (docs/reference/locks.md, "Waiting"): shared
# locks granted one after another used to keep an exclusive acquirer out for as
# long as they overlapped. Now, from the first sleep of an exclusive acquirer,
# later acquirers (and holders renewing their lock) wait behind it or are
# refused when their wait ends. A TAP test, not an isolation spec: a waiter
# sleeps on a latch or a condition variable, which isolationtester cannot see
# as blocked.
for my $mode ('without preload', 'with preload') {
    my $node = new_node($mode eq 'with preload' ? 'turns_preload' : 'turns_plain',
        $mode eq 'with preload' ? "shared_preload_libraries = 'concurrent_edit'\n" : undef);
    $node->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
    my $p = '44444444-0000-0000-0000-000000000004';
    my $f = $node->safe_psql('postgres', "SELECT concurrent_edit.create_file('$p', 't.txt', E't\\n', '$alice')");
    my %s = map { $_ => $node->safe_psql('postgres', "SELECT concurrent_edit.open_session('$alice', '$p')") } qw(a b c d);
    my $acquire = sub {
        my ($who, $type, $wait) = @_;
        return "SELECT lock_type FROM concurrent_edit.acquire_lock('$f', '$s{$who}', '$type'"
          . (defined $wait ? ", wait => '$wait'" : '') . ')';
    };
    my $holders = sub {
        $node->safe_psql('postgres', "SELECT string_agg(h, ' ' ORDER BY h) FROM (SELECT lock_type || ':' || "
            . "CASE session_id WHEN '$s{a}' THEN 'a' WHEN '$s{b}' THEN 'b' WHEN '$s{c}' THEN 'c' ELSE 'd' END AS h "
            . "FROM concurrent_edit.file_locks WHERE file_id = '$f') x");
    };
    # A request refused: its SQLSTATE and whether it names an exclusive acquirer waiting.
    my $refused = sub {
        my ($rc, $out, $err) = $node->psql('postgres', $_[0], extra_params => ['-v', 'VERBOSITY=verbose']);
        return 'granted' if $rc == 0;
        my ($state) = $err =~ /ERROR:\s+(\w{5}):/;
        return ($state // 'error') . ($err =~ /"exclusive_waiting": true/ ? ' exclusive_waiting' : '');
    };
    is($node->safe_psql('postgres', $acquire->('a', 'shared')), 'shared', "$mode: a holds a shared lock");
    my $b = $node->background_psql('postgres');
    $b->query_until(qr/b-started/, "\\echo b-started\n" . $acquire->('b', 'exclusive', '60 seconds') . ";\n\\echo b-done\n");
    ok($node->poll_query_until('postgres', "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' "
        . "AND objsubid = 10 AND mode = 'ExclusiveLock' AND granted)"), "$mode: b waits ahead of later acquirers");
    # A role of another project, with a session there, is refused before it waits
    # in this file's queue (before, without preloading, it waited there and then
    # learned from its refusal that an exclusive request was waiting).
    my $q = '44444444-0000-0000-0000-0000000000aa';
    $node->safe_psql('postgres', "CREATE ROLE outsider LOGIN; SELECT concurrent_edit.grant_project('$q', 'outsider', 'write')");
    my ($orc, $osess) = $node->psql('postgres', "SELECT concurrent_edit.open_session('$alice', '$q')",
        extra_params => ['-U', 'outsider']);
    my $t_out = time();
    my ($rc_o, $out_o, $err_o) = $node->psql('postgres', "SELECT lock_type FROM concurrent_edit.acquire_lock('$f', '$osess', "
        . "'shared', wait => '5 seconds')", extra_params => ['-U', 'outsider', '-v', 'VERBOSITY=verbose']);
    my $took_o = time() - $t_out;
    ok($rc_o != 0 && $err_o !~ /55P03|exclusive_waiting/, "$mode: a request with another project's session is refused")
        or diag($err_o);
    cmp_ok($took_o, '<', 2, "$mode: at once, not after waiting in the file's queue");
    # c and d overlap a's shared lock: before, each was granted at once.
    is($refused->($acquire->('c', 'shared')), '55P03 exclusive_waiting', "$mode: c's shared request is refused");
    is($refused->($acquire->('d', 'shared', '200 milliseconds')), '55P03 exclusive_waiting',
       "$mode: d's, after waiting 200 ms in turn, too");
    is($refused->($acquire->('a', 'shared')), '55P03 exclusive_waiting', "$mode: a cannot renew its lock meanwhile");
    is($holders->(), 'shared:a', "$mode: a alone holds a lock");
    # c waits in turn, behind b.
    my $c = $node->background_psql('postgres');
    $c->query_until(qr/c-started/, "\\echo c-started\n" . $acquire->('c', 'shared', '60 seconds') . ";\n\\echo c-done\n");
    ok($node->poll_query_until('postgres', "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' "
        . "AND objsubid = 10 AND mode = 'ShareLock' AND NOT granted)"), "$mode: c waits behind b");
    # lock_waits shows both: b sleeping, c waiting in turn in the lock manager.
    if ($mode eq 'with preload') {
        is($node->safe_psql('postgres', "SELECT string_agg(CASE session_id WHEN '$s{b}' THEN 'b' WHEN '$s{c}' THEN 'c' "
            . "END || ':' || lock_type, ' ' ORDER BY waiting_since) FROM concurrent_edit.lock_waits WHERE file_id = '$f'"),
           'b:exclusive c:shared', "$mode: lock_waits shows b, and c waiting in turn behind it");
    }
    $node->safe_psql('postgres', "SELECT concurrent_edit.release_lock('$f', '$s{a}')");
    like($b->query_until(qr/b-done/, ''), qr/exclusive/, "$mode: b gets its lock when a releases");
    is($holders->(), 'exclusive:b', "$mode: b holds it, c still waits");
    $node->safe_psql('postgres', "SELECT concurrent_edit.release_lock('$f', '$s{b}')");
    like($c->query_until(qr/c-done/, ''), qr/shared/, "$mode: c gets its shared lock when b releases");
    # A waiter that gives up leaves the queue: shared requests are granted again.
    is($refused->($acquire->('b', 'exclusive', '300 milliseconds')), '55P03', "$mode: b gives up after 300 ms");
    is($refused->($acquire->('d', 'shared')), 'granted', "$mode: then d's shared request is granted at once");
    # So does one whose wait ends in an error caught by the caller.
    is($node->safe_psql('postgres', "DO \$\$ BEGIN PERFORM concurrent_edit.acquire_lock('$f', '$s{b}', wait => '300 milliseconds'); "
        . "EXCEPTION WHEN lock_not_available THEN NULL; END \$\$; " . $acquire->('a', 'shared')), 'shared',
       "$mode: in the same transaction after a caught refusal, a's request is granted");
    is($holders->(), 'shared:a shared:c shared:d', "$mode: the shared holders");
    # Kept out by an exclusive lock only, an exclusive request does not queue the
    # others (nothing can overlap that lock).
    $node->safe_psql('postgres', "SELECT concurrent_edit.release_lock('$f', '$s{$_}')") for qw(a c d);
    is($node->safe_psql('postgres', $acquire->('a', 'exclusive')), 'exclusive', "$mode: a holds an exclusive lock");
    $b->query_until(qr/b2-started/, "\\echo b2-started\n" . $acquire->('b', 'exclusive', '60 seconds') . ";\n\\echo b2-done\n");
    ok($node->poll_query_until('postgres', "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE wait_event_type = 'Extension' "
        . "AND query LIKE '%acquire_lock%')"), "$mode: b sleeps, waiting for a's exclusive lock");
    is($node->safe_psql('postgres', "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 10"), '0',
       "$mode: without taking a place ahead of the others");
    is($refused->($acquire->('c', 'shared')), '55P03', "$mode: c is refused for a's lock, not for b");
    $node->safe_psql('postgres', "SELECT concurrent_edit.release_lock('$f', '$s{a}')");
    like($b->query_until(qr/b2-done/, ''), qr/exclusive/, "$mode: b gets its lock when a releases");
    $b->quit;
    $c->quit;
    wake_one($node, $f) if $mode eq 'with preload';
    $node->stop;
}

# 5. With shared memory, a release wakes the waiter of the file waiting longest
# (every waiter of a shared lock, when that one wants one), not all of them: a
# herd of waiters woken at every release, all but one to sleep again, made a
# contended lock cycle cost three times an uncontended one. So exclusive
# waiters get the file in the order they came. Nothing may be left asleep while
# the file is free: each step must end within 5 s, where every lock is taken
# for an hour and every wait lasts a minute.
sub wake_one {
    my ($node, $f) = @_;
    my $p = $node->safe_psql('postgres', "SELECT project_id FROM concurrent_edit.files WHERE id = '$f'");
    $node->safe_psql('postgres', "SELECT concurrent_edit.release_lock('$f', session_id) FROM concurrent_edit.file_locks "
        . "WHERE file_id = '$f'");
    my @names = qw(h t w1 w2 w3 x1 x2 s1 s2 e0 e1 r1 r2);
    my %s = map { $_ => $node->safe_psql('postgres', "SELECT concurrent_edit.open_session('$alice', '$p')") } @names;
    my $holder = sub {
        $node->safe_psql('postgres', "SELECT string_agg(n, ' ' ORDER BY n) FROM (SELECT CASE session_id "
            . join(' ', map { "WHEN '$s{$_}' THEN '$_'" } @names) . " END AS n "
            . "FROM concurrent_edit.file_locks WHERE file_id = '$f') x");
    };
    my $acquire = sub {
        my ($who, $type, $extra) = @_;
        "SELECT lock_type FROM concurrent_edit.acquire_lock('$f', '$s{$who}', '$type', ttl => '1 hour', "
          . ($extra // "wait => '60 seconds'") . ')';
    };
    my $release = sub { $node->safe_psql('postgres', "SELECT concurrent_edit.release_lock('$f', '$s{$_[0]}')") };
    my %bg;
    # Starts a request in a background session and waits until it sleeps.
    # (`$begin`: statements sent before the request.)
    my $wait = sub {
        my ($who, $type, $extra, $begin) = @_;
        $bg{$who} = $node->background_psql('postgres', on_error_stop => 0);
        $bg{$who}->query_until(qr/$who-started/, "\\echo $who-started\n" . ($begin // '')
            . $acquire->($who, $type, $extra) . ";\n\\echo $who-done\n");
        ok($node->poll_query_until('postgres', "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE wait_event_type = 'Extension' "
            . "AND query LIKE '%$s{$who}%')"), "with preload: $who sleeps");
    };
    # The output of a request once it ended, and how long after $t0 that was.
    my $ended = sub {
        my ($who, $t0) = @_;
        my $out = $bg{$who}->query_until(qr/$who-done/, '');
        return ($out, time() - $t0);
    };
    # Each step within 5 s; and the steps where a waiter is woken (all but the
    # one whose time includes another waiter's 3 s wait) collected, for the check
    # at the end that they were woken, not found on a look of their own.
    my @woken;
    my $within = sub {
        my ($took, $what, $not_a_wakeup) = @_;
        cmp_ok($took, '<', 5, sprintf("with preload: $what (%.3f s)", $took));
        push @woken, sprintf('%.3f', $took) unless $not_a_wakeup;
    };
    my $quit = sub { $_->quit for values %bg; %bg = () };

    # Exclusive waiters in the order they came.
    $node->safe_psql('postgres', $acquire->('h', 'exclusive'));
    $wait->($_, 'exclusive') for qw(w1 w2 w3);
    my $t0 = time();
    $release->('h');
    my ($out, $took) = $ended->('w1', $t0);
    like($out, qr/exclusive/, 'with preload: w1, waiting longest, gets the file');
    $within->($took, 'w1 woken by the release');
    is($holder->(), 'w1', 'with preload: w1 holds it, w2 and w3 wait');
    # Not a herd: of w2 and w3, still waiting, at most one was woken
    # (lock_waits.wakeups; normally none. One when w1 was looking on its own at
    # the release, waiting in the lock manager for the file's acquisition lock:
    # the release then wakes the next waiter. A herd wakes both.)
    is($node->safe_psql('postgres', "SELECT count(*) || ' ' || (sum(wakeups) <= 1) FROM concurrent_edit.lock_waits "
        . "WHERE file_id = '$f'"), '2 true', 'with preload: the release woke w1, not the herd: w2 and w3 at most once');
    for my $pair (['w1', 'w2'], ['w2', 'w3']) {
        my ($from, $to) = @$pair;
        $t0 = time();
        $release->($from);
        ($out, $took) = $ended->($to, $t0);
        like($out, qr/exclusive/, "with preload: then $to");
        $within->($took, "$to woken by $from\'s release");
    }
    $release->('w3');
    $quit->();

    # x1, woken first, finds the file at a newer version than it requires (an
    # error): it passes its wake-up on, and x2 gets the file.
    $node->safe_psql('postgres', $acquire->('h', 'exclusive'));
    my $v = $node->safe_psql('postgres', "SELECT version FROM concurrent_edit.read('$f')");
    $wait->('x1', 'exclusive', "wait => '60 seconds', require_version => $v");
    $wait->('x2', 'exclusive');
    is($node->safe_psql('postgres', "SELECT status FROM concurrent_edit.write('$f', E'changed\\n', $v, '$alice', '$s{h}')"),
       'written', 'with preload: the holder writes a new version meanwhile');
    $t0 = time();
    $release->('h');
    ($out, $took) = $ended->('x2', $t0);
    like($out, qr/exclusive/, 'with preload: x2 gets the file');
    $within->($took, 'x2 woken by x1 passing its wake-up on');
    $ended->('x1', $t0);
    like($bg{x1}->{stderr}, qr/is at version/, 'with preload: x1 was refused, the file at a newer version');
    is($holder->(), 'x2', 'with preload: x2 holds it');
    $release->('x2');
    $quit->();

    # Every shared waiter is woken when the longest waiting wants a shared lock.
    $node->safe_psql('postgres', $acquire->('h', 'exclusive'));
    $wait->($_, 'shared') for qw(s1 s2);
    $t0 = time();
    $release->('h');
    for my $who (qw(s1 s2)) {
        ($out, $took) = $ended->($who, $t0);
        like($out, qr/shared/, "with preload: $who gets a shared lock");
        $within->($took, "$who woken by the same release");
    }
    is($holder->(), join(' ', sort qw(s1 s2)), 'with preload: both hold it');
    $release->($_) for qw(s1 s2);
    $quit->();

    # e0 waits longest, but e1 waits ahead of it in the file's queue (kept out by
    # a shared lock): the release of that lock must reach e1, not stop at e0,
    # which waits behind e1 once woken.
    $node->safe_psql('postgres', $acquire->('h', 'exclusive'));
    $wait->('e0', 'exclusive');
    is($node->safe_psql('postgres', $acquire->('h', 'shared')), 'shared', 'with preload: h turns its lock into a shared one');
    $wait->('e1', 'exclusive');
    ok($node->poll_query_until('postgres', "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' "
        . "AND objsubid = 10 AND mode = 'ExclusiveLock' AND granted)"), 'with preload: e1 waits ahead of later acquirers');
    $t0 = time();
    $release->('h');
    ($out, $took) = $ended->('e1', $t0);
    like($out, qr/exclusive/, 'with preload: e1, ahead in the queue, gets the file');
    $within->($took, 'e1 woken through e0');
    $t0 = time();
    $release->('e1');
    ($out, $took) = $ended->('e0', $t0);
    like($out, qr/exclusive/, 'with preload: then e0');
    $within->($took, 'e0 woken by e1\'s release');
    $release->('e0');
    $quit->();

    # r1, woken, takes the file in a transaction (or a savepoint) that rolls
    # back: r2 must be woken.
    for my $case (['a transaction', "BEGIN;\n", 'ROLLBACK'],
                  ['a savepoint', "BEGIN;\nSAVEPOINT a;\n", 'ROLLBACK TO SAVEPOINT a']) {
        my ($in, $begin, $rollback) = @$case;
        $node->safe_psql('postgres', $acquire->('h', 'exclusive'));
        $wait->('r1', 'exclusive', undef, $begin);
        $wait->('r2', 'exclusive');
        $release->('h');
        like(($ended->('r1', time()))[0], qr/exclusive/, "with preload: r1 gets the file in $in");
        $t0 = time();
        $bg{r1}->query_safe($rollback);
        ($out, $took) = $ended->('r2', $t0);
        like($out, qr/exclusive/, "with preload: r2 gets the file when $in rolls back");
        $within->($took, "r2 woken by the rollback of $in");
        $bg{r1}->query('ROLLBACK');  # (the savepoint's transaction; after a ROLLBACK, a warning)
        $release->('r2');
        $quit->();
    }

    # Shared locks can become possible without a release, so the shared waiters
    # look again when a shared lock is taken (and when the exclusive request
    # waiting ahead of them gives up): here t takes one as h releases its
    # exclusive lock, e0 (woken first) takes its place ahead and gives up after
    # 3 s, and s1 must get its shared lock then ...
    $node->safe_psql('postgres', $acquire->('h', 'exclusive'));
    $wait->('e0', 'exclusive', "wait => '3 seconds'");
    $wait->('s1', 'shared');
    $node->safe_psql('postgres', "BEGIN; SELECT concurrent_edit.release_lock('$f', '$s{h}'); "
        . $acquire->('t', 'shared') . "; COMMIT;");
    $t0 = time();
    $ended->('e0', $t0);
    like($bg{e0}->{stderr}, qr/could not acquire exclusive lock/, 'with preload: e0, ahead of s1 behind t\'s shared lock, gives up');
    ($out, $took) = $ended->('s1', $t0);
    like($out, qr/shared/, 'with preload: s1 gets its shared lock');
    $within->($took, 's1 not left asleep once e0 gave up', 1);
    $release->($_) for qw(s1 t);
    $quit->();

    # ... and when a holder turns its exclusive lock into a shared one.
    $node->safe_psql('postgres', $acquire->('h', 'exclusive'));
    $wait->('s1', 'shared');
    $t0 = time();
    is($node->safe_psql('postgres', $acquire->('h', 'shared')), 'shared', 'with preload: h turns its lock into a shared one');
    ($out, $took) = $ended->('s1', $t0);
    like($out, qr/shared/, 'with preload: s1 gets its shared lock beside it');
    $within->($took, 's1 woken by the change');
    $release->($_) for qw(s1 h);
    $quit->();

    # A waiter nobody wakes looks again a second after it went to sleep
    # (kLookAgainMs), at any point of that second as seen from the steps above:
    # in a build whose releases woke nobody, every step still ended within 5 s
    # (0.92 to 0.99 s). Woken, a step takes the release's psql run and the
    # acquisition: the median under 0.25 s, at most one over 0.6 s.
    my @sorted = sort { $a <=> $b } @woken;
    cmp_ok(scalar(@sorted), '>=', 10, 'with preload: the steps where a waiter is woken');
    cmp_ok($sorted[int(@sorted / 2)], '<', 0.25, "with preload: woken, not polling: the median step under 0.25 s (@woken)");
    cmp_ok($sorted[-2], '<', 0.6, "with preload: at most one step over 0.6 s (@woken)");
}

# 5. Sessions per role. mallory (write on one project, its limit 40 set by a
# superuser with ALTER ROLE) opens sessions from four connections, each in a
# transaction left open: the sessions of the others' open transactions count,
# so together they stop at 40 (counted without them, each would have opened its
# 30: 120). The sessions table and the worker's cleanup stay bounded per role.
{
    my $node = new_node('session_limit', "shared_preload_libraries = 'concurrent_edit'\n");
    my $p = '55555555-0000-0000-0000-000000000005';
    $node->safe_psql('postgres', "CREATE EXTENSION concurrent_edit; CREATE ROLE mallory LOGIN; CREATE ROLE honest LOGIN; "
        . "SELECT concurrent_edit.grant_project('$p', 'mallory', 'write'); "
        . "SELECT concurrent_edit.grant_project('$p', 'honest', 'write'); "
        . "ALTER ROLE mallory SET concurrent_edit.max_sessions_per_role = 40");
    my $open_many = "DO \$\$ DECLARE opened int := 0; refused int := 0; BEGIN FOR i IN 1 .. 30 LOOP BEGIN "
        . "PERFORM concurrent_edit.open_session(gen_random_uuid(), '$p'); opened := opened + 1; "
        . "EXCEPTION WHEN configuration_limit_exceeded THEN refused := refused + 1; END; END LOOP; "
        . "RAISE NOTICE 'opened % refused %', opened, refused; END \$\$;";
    my @bg = map { $node->background_psql('postgres', extra_params => ['-U', 'mallory']) } 1 .. 4;
    my @got;
    for my $b (@bg) {
        $b->query_safe('BEGIN');
        $b->query($open_many);  # (its NOTICE is on stderr, which query_safe takes for an error)
        push @got, $b->{stderr} =~ /opened (\d+) refused (\d+)/ ? "$1/$2" : "?: $b->{stderr}";
    }
    is("@got", '30/0 10/20 0/30 0/30', 'per role: four open transactions of mallory open 40 sessions together, not 120');
    $_->query('COMMIT') for @bg;  # (checked by the count below)
    $_->quit for @bg;
    is($node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.edit_sessions WHERE role = 'mallory'::regrole"),
        '40', 'per role: 40 stored, the refused ones not');
    my ($ret, $out, $err) = $node->psql('postgres',
        "SELECT concurrent_edit.open_session(gen_random_uuid(), '$p')", extra_params => ['-U', 'mallory']);
    like($err, qr/53400|may have at most 40 open sessions/, 'per role: mallory\'s next session is refused');
    ($ret, $out, $err) = $node->psql('postgres', "SET concurrent_edit.max_sessions_per_role = -1",
        extra_params => ['-U', 'mallory']);
    like($err, qr/permission denied to set parameter/, 'per role: mallory cannot lift its limit');
    like($node->safe_psql('postgres', "SELECT concurrent_edit.open_session(gen_random_uuid(), '$p')",
        extra_params => ['-U', 'honest']), qr/^[0-9a-f-]{36}$/, 'per role: another role still opens a session');
    my $closed = $node->safe_psql('postgres', "SELECT id FROM concurrent_edit.edit_sessions "
        . "WHERE role = 'mallory'::regrole LIMIT 1");
    is($node->safe_psql('postgres', "SELECT concurrent_edit.close_session('$closed')", extra_params => ['-U', 'mallory']),
        't', 'per role: mallory closes one of its sessions');
    like($node->safe_psql('postgres', "SELECT concurrent_edit.open_session(gen_random_uuid(), '$p')",
        extra_params => ['-U', 'mallory']), qr/^[0-9a-f-]{36}$/, 'per role: and may open one again');
    # A group's limit holds for its members too, who take it with SET ROLE: their
    # logins' settings (mallory's 40) do not replace it.
    $node->safe_psql('postgres', "CREATE ROLE crew; GRANT crew TO mallory; "
        . "SELECT concurrent_edit.grant_project('$p', 'crew', 'write'); "
        . "ALTER ROLE crew SET concurrent_edit.max_sessions_per_role = 3");
    ($ret, $out, $err) = $node->psql('postgres', "SET ROLE crew; $open_many",
        extra_params => ['-U', 'mallory']);
    like($err, qr/opened 3 refused 27/, 'per role: as crew (SET ROLE), mallory opens crew\'s 3 sessions, not more');
    $node->stop;
}

done_testing();
