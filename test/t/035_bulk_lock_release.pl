# The worker expires (and a close releases) many locks at once in time that grows
# with their number, not with its square. For each lock a statement releases it
# notes the file, whose waiters it wakes at commit; the note looked for the file
# in the whole list first, so releasing n locks in one statement cost n^2/2
# comparisons: one role that took 200,000 short locks (acquire_lock, one call
# each, on files of a project it may write) kept the worker busy expiring them
# for 21 s here (some two minutes at 500,000: it grows as the square), doing nothing
# else: no change event sequenced, no session closed, no other lock expired;
# close_session of a session holding them took 14.5 s. The locks are made here
# with one INSERT (what 200,000 acquire_lock calls leave), and the tables
# analyzed, as autovacuum would have while they were taken. Part 3: not
# analyzed, the worker kept the plan it made while file_locks was small, a scan
# of the table testing each row against the array of expired locks, quadratic as
# well (55 s for 150,000 locks); that statement is now planned by ctid whatever
# the statistics. (The bounds, 10 s, leave room for a machine two or three times
# slower than the 2 s these take here, below what the square cost here.) The
# worker expires them 5,000 per transaction, sequencing every project's events
# between two batches (3.5 s here for 200,000); so it releases the locks and
# closes the files of a timed-out session it closes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use CETest;

my $n = 200000;
my $node = new_node('bulk_lock_release', "shared_preload_libraries = 'concurrent_edit'\n"
    . "concurrent_edit.worker_interval = 200ms\n");
$node->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
my $project = '55555555-5555-5555-5555-555555555555';
my $user = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
my $session = $node->safe_psql('postgres', "SELECT concurrent_edit.open_session('$user', '$project')");
my $file = $node->safe_psql('postgres', "SELECT concurrent_edit.create_file('$project', 'real.txt', E'x\\n', '$user')");
$node->safe_psql('postgres', "SELECT concurrent_edit.acquire_lock('$file', '$session', ttl => '1 hour')");
$node->safe_psql('postgres', qq{
    INSERT INTO concurrent_edit.files (project_id, path, normalized_path, head_hash, head_content, created_by, updated_by)
    SELECT '$project', 'f' || g, 'f' || g, f.head_hash, f.head_content, '$user', '$user'
    FROM concurrent_edit.files f, generate_series(2, $n) g WHERE f.id = '$file';
    INSERT INTO concurrent_edit.file_locks (project_id, file_id, session_id, holder, lock_type, expires_at)
    SELECT f.project_id, f.id, '$session', '$user', 'exclusive', now() + interval '1 hour'
    FROM concurrent_edit.files f WHERE f.id <> '$file';
    ANALYZE concurrent_edit.files;
    ANALYZE concurrent_edit.file_locks});
is($node->safe_psql('postgres', 'SELECT count(*) FROM concurrent_edit.file_locks'), $n, "$n locks");
# Another project's lock cycle, while they expire (below).
my $other = '66666666-6666-6666-6666-666666666666';
my $other_session = $node->safe_psql('postgres', "SELECT concurrent_edit.open_session('$user', '$other')");
my $other_file = $node->safe_psql('postgres', "SELECT concurrent_edit.create_file('$other', 'other.txt', E'x\\n', '$user')");

# They expire together (their ttls chosen so): the worker's next round. A lock's
# expiry written by hand is not one the worker hears of (it finds such rows in
# its sweep every 10 s); acquire_lock's would be: the real lock's, shortened by
# extend_lock, stands for them.
$node->safe_psql('postgres', qq{
    UPDATE concurrent_edit.file_locks SET acquired_at = now() - interval '2 hours', expires_at = now() - interval '1 hour'
    WHERE file_id <> '$file';
    SELECT concurrent_edit.extend_lock('$file', '$session', '1 millisecond')});
my $start = time;
# The worker expires them in batches, sequencing every project's events between
# two: another project's lock cycle, made once the expiry began, is in its feed
# while expired locks remain. (One transaction expired them all before: 300,000
# locks of one role held every project's events for 4.6 s.)
ok($node->poll_query_until('postgres', "SELECT count(*) < $n FROM concurrent_edit.file_locks"), 'the expiry begins');
$node->safe_psql('postgres', "SELECT concurrent_edit.acquire_lock('$other_file', '$other_session'); "
    . "SELECT concurrent_edit.release_lock('$other_file', '$other_session')");
ok($node->poll_query_until('postgres', "SELECT count(*) = 2 FROM concurrent_edit.changes_since('$other', 0) "
    . "WHERE event IN ('lock_acquired', 'lock_released')"), "the other project's cycle is sequenced");
my $left = $node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.file_locks WHERE project_id = '$project'");
note("expired locks left when the other project's events were sequenced: $left");
cmp_ok($left, '>', 1, '... while the expiry goes on, not after it');
ok($node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM concurrent_edit.file_locks'), 'the worker expires them');
my $took = time - $start;
note(sprintf('expired %d locks in %.1f s', $n, $took));
cmp_ok($took, '<', 10, 'in time linear in their number (n^2/2 comparisons took 21 s)');
ok($node->poll_query_until('postgres',
       "SELECT count(*) = $n FROM concurrent_edit.changes_since('$project', 0, 1000000) WHERE event = 'lock_expired'"),
   'one lock_expired event each');

# A session closed with as many locks: close_session releases them as fast.
$node->safe_psql('postgres', qq{
    INSERT INTO concurrent_edit.file_locks (project_id, file_id, session_id, holder, lock_type, expires_at)
    SELECT f.project_id, f.id, '$session', '$user', 'exclusive', now() + interval '1 hour' FROM concurrent_edit.files f
    WHERE f.project_id = '$project'});
$start = time;
$node->safe_psql('postgres', "SELECT concurrent_edit.close_session('$session')");
$took = time - $start;
note(sprintf('close_session released %d locks in %.1f s', $n, $took));
cmp_ok($took, '<', 10, 'close_session releases them in time linear in their number');
is($node->safe_psql('postgres', 'SELECT count(*) FROM concurrent_edit.file_locks'), '0', 'all released');

# The worker's close of a timed-out session holding as many locks, with as many
# files open: it releases 5,000 locks per transaction, sequencing every
# project's events between two (the open files, which make no event, are all
# closed with the session). (Before, one transaction
# released them all: 1.9 s for 200,000 locks, and 0.45 s for the files, with no
# event of any project sequenced meanwhile.)
ok($node->poll_query_until('postgres', "SELECT count(*) = $n FROM concurrent_edit.changes_since('$project', 0, 10000000) "
    . "WHERE event = 'lock_released'"), "the worker has sequenced close_session's events (an idle worker from here)");
my $idle = $node->safe_psql('postgres', "SELECT concurrent_edit.open_session('$user', '$project')");
$node->safe_psql('postgres', qq{
    INSERT INTO concurrent_edit.file_locks (project_id, file_id, session_id, holder, lock_type, expires_at)
    SELECT f.project_id, f.id, '$idle', '$user', 'exclusive', now() + interval '1 hour' FROM concurrent_edit.files f
    WHERE f.project_id = '$project';
    INSERT INTO concurrent_edit.session_files (project_id, session_id, file_id)
    SELECT f.project_id, '$idle', f.id FROM concurrent_edit.files f WHERE f.project_id = '$project';
    ANALYZE concurrent_edit.file_locks;
    ANALYZE concurrent_edit.session_files});
my $cursor = $node->safe_psql('postgres', "SELECT coalesce(max(cursor), 0) FROM concurrent_edit.changes_since('$other', 0)");
$start = time;
$node->safe_psql('postgres', "UPDATE concurrent_edit.edit_sessions SET last_active_at = now() - interval '2 days' "
    . "WHERE id = '$idle'");  # inactive for longer than session_close_timeout (1 hour)
ok($node->poll_query_until('postgres', "SELECT status = 'closed' FROM concurrent_edit.edit_sessions WHERE id = '$idle'"),
   'the worker closes the timed-out session');
$node->safe_psql('postgres', "SELECT concurrent_edit.acquire_lock('$other_file', '$other_session'); "
    . "SELECT concurrent_edit.release_lock('$other_file', '$other_session')");
ok($node->poll_query_until('postgres', "SELECT count(*) = 2 FROM concurrent_edit.changes_since('$other', $cursor) "
    . "WHERE event IN ('lock_acquired', 'lock_released')"), "the other project's cycle is sequenced");
my ($locks_left, $files_left) = split /\|/, $node->safe_psql('postgres',
    "SELECT (SELECT count(*) FROM concurrent_edit.file_locks WHERE session_id = '$idle'), "
    . "(SELECT count(*) FROM concurrent_edit.session_files WHERE session_id = '$idle')");
note("locks and open files of the closed session left when the other project's events were sequenced: "
    . "$locks_left, $files_left");
cmp_ok($locks_left, '>', 0, '... while the close goes on, not after it');
is($files_left, '0', 'its open files are closed with it');
ok($node->poll_query_until('postgres', "SELECT NOT EXISTS (SELECT FROM concurrent_edit.file_locks WHERE session_id = '$idle') "
    . "AND NOT EXISTS (SELECT FROM concurrent_edit.session_files WHERE session_id = '$idle')"),
   'the worker releases all its locks and closes all its files');
$took = time - $start;
note(sprintf('the worker closed a session with %d locks and %d open files in %.1f s', $n, $n, $took));
cmp_ok($took, '<', 30, 'in time linear in their number');
ok($node->poll_query_until('postgres', "SELECT count(*) FILTER (WHERE event = 'lock_released') = $n "
    . "AND count(*) FILTER (WHERE event = 'session_left') = 1 "
    . "FROM concurrent_edit.changes_since('$project', 0, 10000000) WHERE session_id = '$idle'"),
   'one lock_released event each, and the session_left event');
is($node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.project_sessions('$project') WHERE session_id = '$idle'"),
   '0', 'the session is no longer among the open ones');

$node->stop;

# 3. The same burst on a server whose statistics still say the tables are small
# (autovacuum off: nothing analyzes them), the worker's plan made before it.
my $m = 100000;
my $stale = new_node('bulk_lock_release_stale', "shared_preload_libraries = 'concurrent_edit'\n"
    . "concurrent_edit.worker_interval = 200ms\nautovacuum = off\n");
$stale->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
my $s2 = $stale->safe_psql('postgres', "SELECT concurrent_edit.open_session('$user', '$project')");
my $f2 = $stale->safe_psql('postgres', "SELECT concurrent_edit.create_file('$project', 'real.txt', E'x\\n', '$user')");
$stale->safe_psql('postgres', "SELECT concurrent_edit.acquire_lock('$f2', '$s2', ttl => '1 second')");
ok($stale->poll_query_until('postgres', 'SELECT count(*) = 0 FROM concurrent_edit.file_locks'),
   'the worker has expired a lock (its statement planned on a small table)');
$stale->safe_psql('postgres', qq{
    INSERT INTO concurrent_edit.files (project_id, path, normalized_path, head_hash, head_content, created_by, updated_by)
    SELECT '$project', 'f' || g, 'f' || g, f.head_hash, f.head_content, '$user', '$user'
    FROM concurrent_edit.files f, generate_series(2, $m) g WHERE f.id = '$f2';
    INSERT INTO concurrent_edit.file_locks (project_id, file_id, session_id, holder, lock_type, acquired_at, expires_at)
    SELECT f.project_id, f.id, '$s2', '$user', 'exclusive', now() - interval '2 seconds', now() - interval '1 second'
    FROM concurrent_edit.files f WHERE f.id <> '$f2';
    SELECT concurrent_edit.acquire_lock('$f2', '$s2', ttl => '1 millisecond')});  # the worker hears of an expiry
$start = time;
ok($stale->poll_query_until('postgres', 'SELECT count(*) = 0 FROM concurrent_edit.file_locks'), 'the worker expires them');
$took = time - $start;
note(sprintf('expired %d locks without statistics in %.1f s', $m - 1, $took));
cmp_ok($took, '<', 10, 'in time linear in their number, whatever the statistics (its old plan took 55 s for 150,000)');
$stale->stop;
done_testing();
