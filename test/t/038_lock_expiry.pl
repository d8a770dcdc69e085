# The worker sweeps file_locks for expired locks only when one may have expired.
# Before, it scanned every lock in every round (every worker_interval): 8 ms per
# 100,000 locks, each round. Every expiry written (acquire_lock, extend_lock) now
# lowers a time in shared memory. A sweep runs once that time has come; it reads
# every row version, those of open transactions included, and sets the time to
# the soonest expiry it left. A sweep also runs every 10 s, for rows written
# outside the API.
#
# Part 1 counts the rows the worker reads from file_locks beside 30,000 locks
# that expire in an hour. The later parts each start just after a periodic
# sweep, when the next one is about 10 s away, and check that these locks still
# expire within a few rounds:
#   - a lock taken with a 1 s ttl;
#   - a lock extend_lock shortens;
#   - a lock taken by a transaction still open when a sweep ran;
#   - an expired lock a client held when a sweep ran.
# Part 6 checks that locks expiring in another database make no sweep of the
# worker's.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use CETest;

my $n = 30000;
my $node = new_node('lock_expiry', "shared_preload_libraries = 'concurrent_edit'\n"
    . "concurrent_edit.worker_interval = 100ms\nautovacuum = off\n");
my $project = '38383838-3838-3838-3838-383838383838';
my $user = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
sub sql { return $node->safe_psql('postgres', $_[0]); }
sql('CREATE EXTENSION concurrent_edit');
ok(worker_serving($node), 'the worker serves the database');

# Files f1..f9 (one lock each below) and a session per lock.
sql(qq{
    CREATE TABLE t (g int PRIMARY KEY, file_id uuid, session_id uuid);
    INSERT INTO t SELECT g, concurrent_edit.create_file('$project', 'f' || g || '.txt', E'x\\n', '$user'),
                         gen_random_uuid() FROM generate_series(1, 9) g;
    INSERT INTO concurrent_edit.edit_sessions (project_id, id, user_id) SELECT '$project', session_id, '$user' FROM t});
sub file_of { return sql("SELECT file_id FROM t WHERE g = $_[0]"); }
sub session_of { return sql("SELECT session_id FROM t WHERE g = $_[0]"); }
sub held { return sql("SELECT count(*) FROM concurrent_edit.file_locks WHERE file_id = '" . file_of($_[0]) . "'"); }

# 1. $n shared locks on one file, held by as many open sessions, expiring in an
# hour (written by hand: the periodic sweep finds them), then the rows of
# file_locks read sequentially over 4 s of rounds. The worker's orphan batches
# read the locks by key and are not counted.
my $big = sql("SELECT concurrent_edit.create_file('$project', 'shared.txt', E'x\\n', '$user')");
sql(qq{
    CREATE TABLE s AS SELECT gen_random_uuid() AS id FROM generate_series(1, $n);
    INSERT INTO concurrent_edit.edit_sessions (project_id, id, user_id) SELECT '$project', id, '$user' FROM s;
    INSERT INTO concurrent_edit.file_locks (project_id, file_id, session_id, holder, lock_type, expires_at)
    SELECT '$project', '$big', id, '$user', 'shared', now() + interval '1 hour' FROM s});
my $scans_sql = q{SELECT coalesce(seq_scan, 0) || '|' || coalesce(seq_tup_read, 0) || '|'
    || (SELECT rounds FROM concurrent_edit.worker_status)
    FROM pg_catalog.pg_stat_user_tables WHERE relid = 'concurrent_edit.file_locks'::regclass};
sub scans { return split /\|/, sql($scans_sql); }
sleep(1.5);
my ($s0, $r0, $rounds0) = scans();
sleep(4);
my ($s1, $r1, $rounds1) = scans();
note("worker rounds: " . ($rounds1 - $rounds0) . ", sequential scans of file_locks: " . ($s1 - $s0)
     . ", rows read: " . ($r1 - $r0));
cmp_ok($rounds1 - $rounds0, '>=', 10, 'the worker ran its rounds meanwhile');
cmp_ok($r1 - $r0, '<=', 2 * ($n + 10), 'it swept the locks once at most (the periodic sweep), not every round');

# Waits until the worker has just swept file_locks (its sequential scans grow),
# nothing being due: a periodic sweep, the next one about 10 s away. (The worker
# reports its statistics at most once a second: those of an earlier sweep are
# let in first.)
sub after_a_sweep {
    sleep(1.2);
    my ($s) = scans();
    my $t0 = time;
    while (time - $t0 < 30) {
        my ($now) = scans();
        return 1 if $now > $s;
        sleep(0.05);
    }
    return 0;
}
# Seconds until the lock on file $g is gone (at most $limit s; undef if not).
sub gone_within {
    my ($g, $limit) = @_;
    my $t0 = time;
    while (time - $t0 < $limit) {
        return time - $t0 if held($g) == 0;
        sleep(0.05);
    }
    return undef;
}
sub acquire {
    my ($g, $ttl) = @_;
    sql("SELECT concurrent_edit.acquire_lock('" . file_of($g) . "', '" . session_of($g) . "', ttl => '$ttl')");
}

# 2. A lock taken with a 1 s ttl: gone about a second later, with its event.
ok(after_a_sweep(), 'a periodic sweep ran');
acquire(1, '1 second');
my $t = gone_within(1, 6);
ok(defined $t && $t < 4, 'a lock with a 1 s ttl expires within a few rounds (' . ($t // 'never') . ' s)');
is(sql("SELECT count(*) FROM concurrent_edit.change_log WHERE event = 'lock_expired' AND file_id = '" . file_of(1) . "'"),
   '1', 'with its lock_expired event');

# 3. extend_lock: a lock of an hour shortened to 1 s expires; one of 1 s
# lengthened to an hour does not.
ok(after_a_sweep(), 'a periodic sweep ran');
acquire(2, '1 hour');
# (Lock 3 taken and lengthened by one psql run: the 1 s would run out if a slow
# machine spent it between two runs.)
my ($f3, $s3) = (file_of(3), session_of(3));
sql("SELECT concurrent_edit.acquire_lock('$f3', '$s3', ttl => '1 second'); "
  . "SELECT concurrent_edit.extend_lock('$f3', '$s3', '1 hour')");
sql("SELECT concurrent_edit.extend_lock('" . file_of(2) . "', '" . session_of(2) . "', '1 second')");
$t = gone_within(2, 6);
ok(defined $t && $t < 4, 'a lock extend_lock shortened to 1 s expires within a few rounds (' . ($t // 'never') . ' s)');
is(held(3), '1', 'a lock extend_lock lengthened is kept');

# 4. A lock taken by a transaction that is still open when a sweep runs (started
# by another lock's expiry): the sweep reads its row all the same, and the lock
# expires on time once committed.
ok(after_a_sweep(), 'a periodic sweep ran');
my $client = $node->background_psql('postgres');
$client->query_safe("BEGIN; SELECT concurrent_edit.acquire_lock('" . file_of(4) . "', '" . session_of(4)
    . "', ttl => '3 seconds')");
my $taken_at = time;
acquire(5, '1 second');
ok(defined gone_within(5, 6), 'the other lock expired: a sweep ran while the transaction was open');
$client->query_safe('COMMIT');
is(held(4), '1', 'the lock of the transaction is there once committed');
$t = gone_within(4, 8);
ok(defined $t && time - $taken_at < 6,
   'and expires within a few rounds of its ttl (' . sprintf('%.1f', time - $taken_at) . ' s after it was taken)');
$client->quit;

# 5. An expired lock that a client holds (a row lock) when the sweep comes is
# left; the next rounds sweep again, and it goes once released.
ok(after_a_sweep(), 'a periodic sweep ran');
acquire(6, '1 second');
$client = $node->background_psql('postgres');
$client->query_safe("BEGIN; SELECT 1 FROM concurrent_edit.file_locks WHERE file_id = '" . file_of(6) . "' FOR KEY SHARE");
sleep(2);
is(held(6), '1', 'the expired lock a client holds is left');
$client->query_safe('COMMIT');
$t = gone_within(6, 6);
ok(defined $t && $t < 2, 'once released, it goes within a few rounds (' . ($t // 'never') . ' s)');
$client->quit;

# 6. Locks of another database expire there, not in the worker's: a stream of
# locks with a 100 ms ttl in a second database for 4 s, after a periodic sweep
# of this one, makes no sweep here (each expiry written there lowered the
# worker's time, and each round then read this database's $n locks).
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', 'CREATE EXTENSION concurrent_edit');
$node->safe_psql('other', qq{
    SELECT concurrent_edit.create_file('$project', 'o.txt', E'x\\n', '$user');
    INSERT INTO concurrent_edit.edit_sessions (project_id, id, user_id)
    VALUES ('$project', '$project', '$user')});
my $other_file = $node->safe_psql('other', 'SELECT id FROM concurrent_edit.files');
ok(after_a_sweep(), 'a periodic sweep ran');
my ($sweeps0, $read0) = scans();
my $t_other = time;
my $taken = 0;
while (time - $t_other < 4) {
    $node->safe_psql('other', "SELECT concurrent_edit.acquire_lock('$other_file', '$project', ttl => '100 milliseconds')");
    $taken++;
    sleep(0.2);
}
sleep(1.2);   # the worker's statistics of the last rounds
my ($sweeps1, $read1) = scans();
cmp_ok($taken, '>=', 5, "$taken locks of 100 ms taken in the other database");  # one sweep each, before
is($sweeps1 - $sweeps0, 0, 'no sweep of this database meanwhile (' . ($read1 - $read0) . ' rows read, '
   . sprintf('%.1f', time - $t_other) . ' s)');

is(sql("SELECT count(*) FROM concurrent_edit.file_locks WHERE file_id = '$big'"), $n, 'the locks of part 1 are kept');

$node->stop;
done_testing();
