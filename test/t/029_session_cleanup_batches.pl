# The worker closes many timed-out sessions at once without filling the shared
# lock table: each close holds a heavyweight lock to the end of its
# transaction (the session's lock, class 13; the xid lock of its subtransaction
# is released when that commits), so closing every timed-out session in one
# transaction held as many as there were sessions.
# Past the lock table's size (max_locks_per_transaction x connections, 7,808
# entries by default: a role with write access opening ~8,000 sessions and
# leaving them), the worker's cleanup failed with "out of shared memory" in every
# round: no session was closed any more, no expired lock released (the same
# transaction), and while it held the table other backends' lock requests failed
# too. The worker now closes them in transactions of at most 100 sessions.
# (A small lock table here, 704 entries, so that 3,000 sessions show it.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CETest;

my $node = new_node('session_cleanup_batches', "shared_preload_libraries = 'concurrent_edit'\n"
    . "max_connections = 5\nautovacuum_max_workers = 1\nmax_worker_processes = 4\n"
    . "max_wal_senders = 0\nwal_level = minimal\nmax_prepared_transactions = 0\n"
    . "concurrent_edit.worker_interval = 200ms\n"
    . "concurrent_edit.session_close_timeout = 1h\n");
$node->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
my $locks = $node->safe_psql('postgres',
    q{SELECT current_setting('max_locks_per_transaction')::int * (current_setting('max_connections')::int + 1 + 1 + 4)});
note("lock table: $locks entries");

my $project = '77777777-7777-7777-7777-777777777777';
my $file = $node->safe_psql('postgres',
    "SELECT concurrent_edit.create_file('$project', 'x.txt', E'x\\n', 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa')");
# 3,000 sessions left by their clients (in batches: one statement holds no lock
# per session), one of them holding a lock of the file.
for (1 .. 6) {
    $node->safe_psql('postgres', "SELECT concurrent_edit.open_session('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', '$project') "
        . "FROM generate_series(1, 500)");
}
my $holder = $node->safe_psql('postgres',
    "SELECT concurrent_edit.open_session('bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', '$project')");
$node->safe_psql('postgres', "SELECT concurrent_edit.acquire_lock('$file', '$holder', ttl => '1 hour')");
is($node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.edit_sessions WHERE status <> 'closed'"),
   '3001', 'the sessions are open');

# They all time out at once.
my $log_at = -s $node->logfile;
sleep(2);
$node->safe_psql('postgres', "ALTER SYSTEM SET concurrent_edit.session_close_timeout = '1s'");
$node->reload;
ok($node->poll_query_until('postgres',
    "SELECT count(*) = 0 FROM concurrent_edit.edit_sessions WHERE status <> 'closed'"),
   'the worker closes every timed-out session');
is($node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.file_locks"), '0',
   'and releases their locks');
my $log = slurp_file($node->logfile, $log_at);
unlike($log, qr/out of shared memory/, 'no round ran out of lock table');
ok($node->poll_query_until('postgres',
       "SELECT count(*) = 3001 FROM concurrent_edit.changes_since('$project', 0, 10000) WHERE event = 'session_left'"),
   'one session_left event each');

# Many sessions timing out at once do not hold up the change feed of other
# projects: the worker closes them for at most 100 ms per turn of its loop and
# sequences in between. Before, it closed every one of them first, and a lock
# event of any project waited (30 s for 30,000 sessions; found by review).
my $other = '78787878-7878-7878-7878-787878787878';
my $file2 = $node->safe_psql('postgres',
    "SELECT concurrent_edit.create_file('$other', 'y.txt', E'y\\n', 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa')");
$node->safe_psql('postgres', "ALTER SYSTEM SET concurrent_edit.session_close_timeout = '1h'");
$node->reload;
for (1 .. 20) {
    $node->safe_psql('postgres', "SELECT concurrent_edit.open_session('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', '$project') "
        . "FROM generate_series(1, 500)");
}
$node->safe_psql('postgres',
    "UPDATE concurrent_edit.edit_sessions SET last_active_at = now() - interval '2 hours' WHERE status <> 'closed'");
ok($node->poll_query_until('postgres',
       "SELECT count(*) < 10000 FROM concurrent_edit.edit_sessions WHERE project_id = '$project' AND status <> 'closed'"),
   'the worker starts closing 10,000 timed-out sessions');
my $lock = $node->safe_psql('postgres',
    "SELECT lock_id FROM concurrent_edit.acquire_lock('$file2', "
  . "concurrent_edit.open_session('bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', '$other'))");
ok($node->poll_query_until('postgres',
       "SELECT count(*) = 1 FROM concurrent_edit.changes_since('$other', 0) WHERE event = 'lock_acquired'"),
   'a lock event of another project is sequenced');
my $left = $node->safe_psql('postgres',
    "SELECT count(*) FROM concurrent_edit.edit_sessions WHERE project_id = '$project' AND status <> 'closed'");
cmp_ok($left, '>', 0, "while timed-out sessions are still being closed ($left left)");
ok($node->poll_query_until('postgres',
    "SELECT count(*) = 0 FROM concurrent_edit.edit_sessions WHERE project_id = '$project' AND status <> 'closed'"),
   'and then every one of them is closed');

$node->stop;
done_testing();
