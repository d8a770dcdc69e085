# The background workers under a hostile configuration: settings given to every
# session of the database (serializable, read-only, a 1 ms lock_timeout), an
# extension owned by a NOLOGIN role, a task that fails on every wake-up, and a
# cancel while the worker waits. The worker and the conflict recorder keep their
# own session settings, retry a failing task with growing delays instead of on
# every commit, and ignore a cancel that has nothing to cancel. A worker whose
# database does not exist waits for it instead of failing every second.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use CETest;

my $node = new_node('worker_settings', "shared_preload_libraries = 'concurrent_edit'\n"
    . "concurrent_edit.worker_interval = 200ms\n");
my $project = '17171717-0000-0000-0000-000000000017';
my $user = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
# The extension is owned by a role that cannot log in.
$node->safe_psql('postgres', q{
    CREATE ROLE ext_owner SUPERUSER NOLOGIN;
    SET ROLE ext_owner;
    CREATE EXTENSION concurrent_edit;
    CREATE TABLE public.docs (id int PRIMARY KEY, version bigint NOT NULL DEFAULT 1, body jsonb);
    INSERT INTO public.docs VALUES (1, 1, '{"a": 1}');
    SELECT concurrent_edit.enable_occ('public.docs', mode => 'merge');
});
my $file = $node->safe_psql('postgres', "SELECT concurrent_edit.create_file('$project', 'w.txt', E'w\\n', '$user')");
my $session = $node->safe_psql('postgres', "SELECT concurrent_edit.open_session('$user', '$project')");

my $worker_q = q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'concurrent_edit worker'};
# (Once it ran a round: it has read the settings it connected with.)
my $round_q = q{SELECT pid IS NOT NULL AND last_round_at > started_at FROM concurrent_edit.worker_status};
$node->poll_query_until('postgres', $round_q);
my $old_pid = $node->safe_psql('postgres', $worker_q);
# Every new session of the database (the workers' too) gets these; clients of this
# test set them back. (One transaction: the worker starts again once for them. It
# does for a setting only a superuser may give, lock_events here: a database's
# owner may set the others, section 6c.)
$node->safe_psql('postgres', q{
    BEGIN;
    ALTER DATABASE postgres SET concurrent_edit.lock_events = on;
    ALTER DATABASE postgres SET default_transaction_isolation = 'serializable';
    ALTER DATABASE postgres SET default_transaction_read_only = on;
    ALTER DATABASE postgres SET lock_timeout = '1ms';
    COMMIT;
});
my $client = "SET default_transaction_read_only = off; SET default_transaction_isolation = 'read committed'; "
    . "SET lock_timeout = 0;";
sub sql { return $node->safe_psql('postgres', "$client $_[0]"); }

ok(worker_serving($node, 'postgres', $old_pid), 'the worker starts again by itself with the database\'s settings');
my $pid = sql($worker_q);
my $log_at = -s $node->logfile;

sub lock_cycle {
    sql("SELECT concurrent_edit.acquire_lock('$file', '$session')");
    sql("SELECT concurrent_edit.release_lock('$file', '$session')");
}
sub pending_drained {
    return $node->poll_query_until('postgres', "SELECT (SELECT count(*) FROM concurrent_edit.change_pending_locks)
        + (SELECT count(*) FROM concurrent_edit.change_pending) = 0");
}
ok(pending_drained(), 'the events made before are sequenced');

# 1. The worker sequences (it writes, under READ COMMITTED) and waits for a feed
# row held by a client instead of failing after 1 ms.
my $holder = $node->background_psql('postgres');
$holder->query_safe($client);
$holder->query_safe("BEGIN");
$holder->query_safe("SELECT FROM concurrent_edit.change_feeds WHERE project_id = '$project' FOR UPDATE");
lock_cycle();
sleep(1);
is(sql("SELECT count(*) FROM concurrent_edit.change_pending_locks"), '2', 'the worker waits for the held feed row');
$holder->query_safe("COMMIT");
$holder->quit;
ok(pending_drained(), 'then sequences the lock events');
is(sql("SELECT string_agg(event, ',' ORDER BY cursor) FROM concurrent_edit.changes_since('$project', 0)"),
   'created,session_joined,lock_acquired,lock_released', 'in order, gap-free');
my $log = slurp_file($node->logfile, $log_at);
unlike($log, qr/read-only transaction|lock timeout|could not serialize/, 'no error from the database\'s settings');

# 2. The conflict recorder connects although the extension's owner cannot log in,
# and writes although sessions of the database are read-only.
my ($rc, $out, $err) = $node->psql('postgres', "$client UPDATE public.docs SET body = '{\"a\": 2}' WHERE id = 1;
    UPDATE public.docs SET body = '{\"a\": 3}', version = 1 WHERE id = 1");
like($err, qr/changes conflict/, 'a stale conflicting update is refused');
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM concurrent_edit.conflict_history WHERE kind = 'row'"),
   'its conflict is recorded by the recorder');

# Back to the defaults, so that what follows depends on nothing above.
ok($node->poll_query_until("postgres", $round_q), "the worker runs");
$old_pid = sql($worker_q);
# 2b. Meanwhile, a commit finds its project's feed row held and no worker: it
# starts an on-demand sequencer. Once the worker serves the database again, the
# sequencer leaves, although commits keep coming: before, it polled beside the
# worker every 10 ms for as long as they came.
my $seq_q = q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'concurrent_edit sequencer'};
$holder = $node->background_psql('postgres');
$holder->query_safe($client);
$holder->query_safe("BEGIN");
$holder->query_safe("SELECT FROM concurrent_edit.change_feeds WHERE project_id = '$project' FOR UPDATE");
# The worker starts again 1 s after it leaves. The lock cycle's commits must
# come before that, so they are made by a session already connected, in the
# statements right after the one that saw the worker leave (before, new psql
# runs polled and then made the cycle, with 0.6 s to spare on a slow machine).
my $cycler = $node->background_psql('postgres');
$cycler->query_safe($client);
sql('ALTER DATABASE postgres RESET ALL');
$client = '';
my $cycled = $cycler->query_safe(qq{
DO \$\$ BEGIN
  FOR i IN 1 .. 6000 LOOP  -- 60 s at most
    EXIT WHEN NOT (SELECT serving FROM concurrent_edit.worker_status);
    PERFORM pg_sleep(0.01);
  END LOOP;
END \$\$;
SELECT 'left:' || NOT serving FROM concurrent_edit.worker_status;
SELECT 'acquired:' || lock_type FROM concurrent_edit.acquire_lock('$file', '$session');
SELECT 'released:' || concurrent_edit.release_lock('$file', '$session');});
$cycler->quit;
like($cycled, qr/left:true/, 'the worker leaves to apply the settings');
like($cycled, qr/acquired:exclusive\s+released:true/, 'a lock cycle right after');
# (It waits for the held row: once started, it stays until the COMMIT below.)
ok($node->poll_query_until('postgres', "SELECT ($seq_q) = 1"),
   'a commit that finds its feed row held while no worker serves starts a sequencer');
$holder->query_safe("COMMIT");
$holder->quit;
ok(worker_serving($node, 'postgres', $old_pid), 'the worker starts again by itself with the default settings');
$pid = sql($worker_q);
my $t_seq = time();
my $seq_left = 0;
while (time() - $t_seq < 10) {
    lock_cycle();
    if (sql($seq_q) eq '0') {
        $seq_left = 1;
        last;
    }
}
ok($seq_left, 'the sequencer leaves once the worker serves the database, while commits go on');
cmp_ok(time() - $t_seq, '<', 1.5, 'at once, not after it idled for 2 s');
ok(pending_drained(), 'every event is sequenced');
is(sql("SELECT max(cursor) = count(*) FROM concurrent_edit.change_log WHERE project_id = '$project'"), 't',
   'gap-free');

# 3. A task failing on every wake-up is retried after 1 s, 2 s, 4 s, ..., not on
# every commit that wakes the worker (a lock cycle every 50 ms here).
sql(q{CREATE FUNCTION public.refuse_worker() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT FROM pg_stat_activity WHERE pid = pg_backend_pid()
                   AND backend_type = 'concurrent_edit worker') THEN
            RAISE EXCEPTION 'refused by the test';
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER refuse_worker BEFORE INSERT ON concurrent_edit.change_log
        FOR EACH ROW EXECUTE FUNCTION public.refuse_worker()});
$log_at = -s $node->logfile;
my $t0 = time();
lock_cycle() while time() - $t0 < 6;
$log = slurp_file($node->logfile, $log_at);
my $errors = () = $log =~ /ERROR:  refused by the test/g;
cmp_ok($errors, '>=', 2, "the failing task is retried ($errors errors in 6 s)");
cmp_ok($errors, '<=', 4, 'with growing delays (1 s, 2 s, 4 s), not on every wake-up');
like($log, qr/concurrent_edit worker: sequencing change events failed \(2 times in a row\); next attempt in 2000 ms/,
     'each retry is announced with its delay');
is(sql($worker_q), $pid, 'the worker keeps running');
# Its rounds while the task fails are not rounds done: since_last_round grows
# (before, every wake-up moved last_round_at, and the failing worker looked busy).
is(sql(q{SELECT errors > 0 AND last_error_at > last_round_at AND since_last_round > interval '4 seconds'
    FROM concurrent_edit.worker_status}), 't', 'a failing worker: since_last_round grows');
sql("DROP TRIGGER refuse_worker ON concurrent_edit.change_log");
ok(pending_drained(), 'once the cause is gone, the next attempt sequences everything');
ok($node->poll_query_until('postgres', "$client SELECT since_last_round < interval '2 seconds'
    FROM concurrent_edit.worker_status"), 'and its rounds count again');
is(sql("SELECT max(cursor) = count(*) FROM concurrent_edit.change_log WHERE project_id = '$project'"), 't',
   'the feed has no gap');

# 4. A cancel while the worker waits has nothing to cancel: the worker stays.
sql("SELECT pg_cancel_backend($pid)");
sleep(1.5);
is(sql($worker_q), $pid, 'pg_cancel_backend of the waiting worker does not end it');
lock_cycle();
ok(pending_drained(), 'and it keeps sequencing');

# 5. A new library before ALTER EXTENSION UPDATE: the worker waits, saying so once,
# instead of failing on the other version's tables; it starts after the update.
$node->safe_psql('postgres', "CREATE DATABASE old");
$node->safe_psql('old', "CREATE EXTENSION concurrent_edit VERSION '1.0'");
$node->append_conf('postgresql.conf', "concurrent_edit.database = 'old'\n");
$log_at = -s $node->logfile;
$node->restart;
ok($node->poll_query_until('old', "SELECT count(*) = 1 FROM ($worker_q) w"), 'the worker serves the 1.0 database');
sleep(1.5);
$log = slurp_file($node->logfile, $log_at);
like($log, qr/the extension in database "old" is at version 1\.0, the library at 1\.1; the worker waits/,
     'it says why it waits');
my $said = () = $log =~ /the worker waits/g;
is($said, 1, 'once');
unlike($log, qr/ERROR/, 'and fails on nothing');
$node->safe_psql('old', "ALTER EXTENSION concurrent_edit UPDATE");
my $oldfile = $node->safe_psql('old', "SELECT concurrent_edit.create_file('$project', 'o.txt', E'o\\n', '$user')");
my $oldsession = $node->safe_psql('old', "SELECT concurrent_edit.open_session('$user', '$project')");
$node->safe_psql('old', "SELECT concurrent_edit.acquire_lock('$oldfile', '$oldsession')");
ok($node->poll_query_until('old', "SELECT count(*) = 0 FROM concurrent_edit.change_pending_locks"),
   'after the update the worker sequences lock events');

# 6. A shorter worker_interval takes effect at the reload, not after the longer one.
$node->append_conf('postgresql.conf', "concurrent_edit.worker_interval = 1h\n");
$node->restart;
ok($node->poll_query_until('old', "SELECT count(*) = 1 FROM ($worker_q) w"), 'the worker runs, every hour');
sleep(1);  # its first round is done
$node->safe_psql('old', "SELECT concurrent_edit.release_lock('$oldfile', '$oldsession')");
$node->safe_psql('old', "SELECT concurrent_edit.acquire_lock('$oldfile', '$oldsession', ttl => '1 second')");
$node->append_conf('postgresql.conf', "concurrent_edit.worker_interval = 200ms\n");
$node->reload;
my $t1 = time();
ok($node->poll_query_until('old', "SELECT count(*) = 0 FROM concurrent_edit.file_locks"), 'the lock expires');
cmp_ok(time() - $t1, '<', 10, 'within seconds of the reload');

# 6b. ALTER DATABASE ... SET of a setting the worker applies (the sessions'
# timeouts) reaches the worker without a server restart: it starts again to
# apply it. Before, it kept the values it connected with (1 h here), closing
# sessions (and releasing their locks) on another schedule than the clients'.
my $s6 = $node->safe_psql('old', "SELECT concurrent_edit.open_session('$user', '$project')");
$log_at = -s $node->logfile;
$node->safe_psql('old', q{ALTER DATABASE old SET concurrent_edit.session_idle_timeout = '1s';
    ALTER DATABASE old SET concurrent_edit.session_close_timeout = '2s'});
my $closed = 0;
for (1 .. 150) {
    if ($node->safe_psql('old', "SELECT status FROM concurrent_edit.edit_sessions WHERE id = '$s6'") eq 'closed') {
        $closed = 1;
        last;
    }
    sleep(0.1);
}
ok($closed, 'the worker closes a session after the close timeout the database was given since it started');
$log = slurp_file($node->logfile, $log_at);
like($log, qr/the settings of database "old" or of its role changed \(ALTER DATABASE or ALTER ROLE \.\.\. SET\); the worker starts again/,
     'saying why it starts again');
my $pid_set = $node->safe_psql('old', "SELECT pid FROM ($worker_q) w");
$node->safe_psql('old', q{ALTER DATABASE old RESET concurrent_edit.session_idle_timeout;
    ALTER DATABASE old RESET concurrent_edit.session_close_timeout});

# 6c. Only the settings a superuser gives count: a database's owner who is not a
# superuser may SET the others for the database, and every change started the
# worker again (in a loop it kept the worker, its lock expiry and sequencing, down).
ok($node->poll_query_until('old', "SELECT count(*) = 1 FROM ($worker_q) w JOIN pg_stat_activity a USING (pid)
    WHERE w.pid <> $pid_set AND a.backend_start < now() - interval '1 second'"), 'the worker runs again, after the RESET');
my $pid6 = $node->safe_psql('old', "SELECT pid FROM ($worker_q) w");
$log_at = -s $node->logfile;
$node->safe_psql('old', q{CREATE ROLE owner6 LOGIN; ALTER DATABASE old OWNER TO owner6});
$node->safe_psql('old', q{SET ROLE owner6;
    ALTER DATABASE old SET concurrent_edit.conflict_style = diff3;
    ALTER DATABASE old SET concurrent_edit.semantic_warnings = off;
    ALTER DATABASE old SET work_mem = '5MB'});
sleep(2);  # ten rounds at worker_interval 200ms
is($node->safe_psql('old', "SELECT pid FROM ($worker_q) w"), $pid6,
   "a database owner's settings do not start the worker again");
unlike(slurp_file($node->logfile, $log_at), qr/the worker starts again/, 'nor say so');
$node->safe_psql('old', q{ALTER DATABASE old RESET ALL; ALTER DATABASE old OWNER TO CURRENT_USER; DROP ROLE owner6});

# 7. concurrent_edit.database names a database that does not exist (yet): one
# failed connection, then the worker waits for it, saying so once, instead of
# a FATAL every second; it serves the database once it exists.
$node->append_conf('postgresql.conf', "concurrent_edit.database = 'later'\n");
$log_at = -s $node->logfile;
$node->restart;
sleep(5);
$log = slurp_file($node->logfile, $log_at);
my $fatals = () = $log =~ /FATAL:\s+database "later" does not exist/g;
is($fatals, 1, 'a missing database: one failed connection in 5 s');
my $waits = () = $log =~ /database "later" does not exist; the worker waits for it/g;
is($waits, 1, 'then the worker waits, saying so once');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'concurrent_edit worker'
    AND datname IS NULL AND state = 'idle'"), '1', 'connected to no database meanwhile');
# (Before, worker_status said it did not run.)
is($node->safe_psql('postgres', "$client SELECT w.running, w.serving, w.database FROM concurrent_edit.worker_status w
    JOIN pg_stat_activity a USING (pid) WHERE a.backend_type = 'concurrent_edit worker'"), 't|f|later',
   'worker_status: running, its pid, serving nothing');
$node->safe_psql('postgres', "CREATE DATABASE later");
$node->safe_psql('later', "CREATE EXTENSION concurrent_edit");
ok($node->poll_query_until('later', "SELECT count(*) = 1 FROM ($worker_q) w JOIN pg_stat_activity a USING (pid)
    WHERE a.datname = 'later'"), 'once created, the worker serves it');
my $laterfile = $node->safe_psql('later', "SELECT concurrent_edit.create_file('$project', 'l.txt', E'l\\n', '$user')");
my $latersession = $node->safe_psql('later', "SELECT concurrent_edit.open_session('$user', '$project')");
$node->safe_psql('later', "SELECT concurrent_edit.acquire_lock('$laterfile', '$latersession')");
ok($node->poll_query_until('later', "SELECT count(*) = 0 FROM concurrent_edit.change_pending_locks"),
   'and sequences its events');
$log = slurp_file($node->logfile, $log_at);
$fatals = () = $log =~ /FATAL:\s+database "later" does not exist/g;
is($fatals, 1, 'with no other failed connection');

# Its database dropped (WITH (FORCE): the worker is connected to it), the worker
# waits for it again.
$log_at = -s $node->logfile;
$node->safe_psql('postgres', "DROP DATABASE later WITH (FORCE)");
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pg_stat_activity
    WHERE backend_type = 'concurrent_edit worker' AND datname IS NULL"), 'dropped: the worker waits without a database');
# (It is listed before it logs why.)
ok(eval { $node->wait_for_log(qr/database "later" does not exist; the worker waits for it/, $log_at) }, 'saying so');

# 7b. A name longer than a database name (63 bytes) is cut as the server cuts a
# client's: CREATE DATABASE cuts it, and before, the worker looked for the long
# one for ever.
my $long = 'a_database_name_longer_than_sixty_three_bytes_which_postgres_cuts_short';
$node->append_conf('postgresql.conf', "concurrent_edit.database = '$long'\n");
$node->restart;
is($node->safe_psql('postgres', 'SHOW concurrent_edit.database'), substr($long, 0, 63), 'a long name is cut to 63 bytes');
$node->safe_psql('postgres', qq{CREATE DATABASE "$long"});
$node->safe_psql(substr($long, 0, 63), 'CREATE EXTENSION concurrent_edit');
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pg_stat_activity
    WHERE backend_type = 'concurrent_edit worker' AND datname = '" . substr($long, 0, 63) . "'"),
   'the worker serves the database of the cut name');

$node->stop;

# 8. max_worker_processes leaves the worker no slot (the logical replication
# launcher took the only one): PostgreSQL says "too many background workers"
# without naming it; the extension says which worker does not run and what
# that means, once.
my $small = new_node('no_slot', "shared_preload_libraries = 'concurrent_edit'\nmax_worker_processes = 1\n");
$small->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
is($small->safe_psql('postgres', 'SELECT preloaded, running FROM concurrent_edit.worker_status'), 't|f',
   'no slot: preloaded, the worker not running');
$log = slurp_file($small->logfile);
my $no_slot = () = $log =~ /concurrent_edit: the background worker does not run: max_worker_processes \(1\) leaves it no slot/g;
is($no_slot, 1, 'the log says once that the worker does not run, and why');
$small->stop;

# 9. An empty concurrent_edit.database: preloaded (the shared memory, the
# counters) without a worker. Before, the worker looked for a database named ''
# for ever.
my $none = new_node('no_database', "shared_preload_libraries = 'concurrent_edit'
concurrent_edit.database = ''
");
$none->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
is($none->safe_psql('postgres', q{SELECT preloaded, running, database IS NULL FROM concurrent_edit.worker_status}),
   't|f|t', 'an empty database name: preloaded, no worker');
is($none->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'concurrent_edit worker'}),
   '0', 'no worker process');
like(slurp_file($none->logfile), qr/concurrent_edit\.database is empty: no background worker runs/, 'the log says so');
my $nf = $none->safe_psql('postgres', "SELECT concurrent_edit.create_file('$project', 'n.txt', E'n\\n', '$user')");
ok($none->poll_query_until('postgres', "SELECT count(*) = 1 FROM concurrent_edit.change_log WHERE file_id = '$nf'"),
   'commits sequence their events themselves');
is($none->safe_psql('postgres', 'SELECT writes_written >= 0 FROM concurrent_edit.stats'), 't', 'the counters exist');
$none->stop;
done_testing();
