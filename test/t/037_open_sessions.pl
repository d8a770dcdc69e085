# The worker's inactivity cleanup (every worker_interval) reads the sessions past
# a timeout, not every open session. Before, each round read all of them twice:
# once to find the active ones past session_idle_timeout, once more for each batch
# of 100 sessions past session_close_timeout (ordered by key, so every batch
# sorted all candidates). Now both are ranges of edit_sessions_inactive_idx
# (status, last_active_at, project_id, id), and a batch of closes resumes after
# the last key it returned.
#
# Part 2 counts the rows the server reads from edit_sessions (sequential reads,
# heap fetches by index, index entries) while the worker runs rounds beside
# 200,000 open sessions none of which is due; part 3 checks that the right
# sessions still go idle and close, in batches, one held by a client left for
# later; part 4 counts them again beside 50,000 locks of open sessions, which
# the worker looks up 1,000 a round (before: all of them, every round).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use CETest;

my $n = 100000;
my $node = new_node('open_sessions', "shared_preload_libraries = 'concurrent_edit'\n"
    . "concurrent_edit.worker_interval = 100ms\nautovacuum = off\n"
    . "concurrent_edit.session_idle_timeout = '5min'\nconcurrent_edit.session_close_timeout = '1h'\n");
my $project = '37373737-3737-3737-3737-373737373737';
my $user = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
sub sql { return $node->safe_psql('postgres', $_[0]); }
sql('CREATE EXTENSION concurrent_edit');
ok(worker_serving($node), 'the worker serves the database');

# 1. The worker's plans are made on a small table: one session goes idle, one
# closes.
my ($a0, $i0) = split /\n/, sql(qq{
    INSERT INTO concurrent_edit.edit_sessions (project_id, user_id, status, last_active_at)
    VALUES ('$project', '$user', 'active', now() - interval '6 minutes'),
           ('$project', '$user', 'idle', now() - interval '2 hours') RETURNING id});
ok($node->poll_query_until('postgres', qq{SELECT
    (SELECT status FROM concurrent_edit.edit_sessions WHERE id = '$a0') = 'idle'
    AND (SELECT status FROM concurrent_edit.edit_sessions WHERE id = '$i0') = 'closed'}),
   'on a small table: a session goes idle, one closes');

# 2. $n recently active sessions and $n idle ones (inactive for 10 minutes: past
# the idle timeout, not the close timeout), then the reads of edit_sessions over
# 4 s of worker rounds (nothing else reads it meanwhile).
sql(qq{
    INSERT INTO concurrent_edit.edit_sessions (project_id, user_id, status, last_active_at)
    SELECT '$project', '$user', 'active', now() FROM generate_series(1, $n);
    INSERT INTO concurrent_edit.edit_sessions (project_id, user_id, status, last_active_at)
    SELECT '$project', '$user', 'idle', now() - interval '10 minutes' FROM generate_series(1, $n)});
sleep(1.5);  # the rounds under way when the rows came are counted out
my $reads_sql = q{
    SELECT (SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_catalog.pg_stat_user_tables
            WHERE relid = 'concurrent_edit.edit_sessions'::regclass)
         + (SELECT coalesce(sum(idx_tup_read), 0) FROM pg_catalog.pg_stat_user_indexes
            WHERE relid = 'concurrent_edit.edit_sessions'::regclass),
           (SELECT rounds FROM concurrent_edit.worker_status)};
my ($reads0, $rounds0) = split /\|/, sql($reads_sql);
sleep(4);
my ($reads1, $rounds1) = split /\|/, sql($reads_sql);
note("worker rounds: " . ($rounds1 - $rounds0) . ", rows read from edit_sessions: " . ($reads1 - $reads0));
cmp_ok($rounds1 - $rounds0, '>=', 10, 'the worker ran its rounds meanwhile');
cmp_ok($reads1 - $reads0, '<', $n / 10, 'its rounds read almost none of the open sessions');

# 3. Due sessions among them: 120 active and 60 idle ones past the close timeout
# (two batches of closes, both passes), 5 active ones past the idle timeout. One
# of the first 120 is held by a client's transaction (a row lock taken while it
# was not yet due, FOR KEY SHARE, which lets its activity be set back after): left
# for a later round.
sql(qq{
    CREATE TABLE due AS SELECT g, CASE WHEN g <= 120 THEN 'active' WHEN g <= 180 THEN 'idle' ELSE 'idling' END AS kind,
        gen_random_uuid() AS id FROM generate_series(1, 185) g;
    INSERT INTO concurrent_edit.edit_sessions (project_id, id, user_id, status, last_active_at)
    SELECT '$project', d.id, '$user', 'active', now() FROM due d WHERE d.g = 7});
my $held = sql('SELECT id FROM due WHERE g = 7');
my $client = $node->background_psql('postgres');
$client->query_safe("BEGIN; SELECT 1 FROM concurrent_edit.edit_sessions WHERE id = '$held' FOR KEY SHARE");
sql(qq{
    UPDATE concurrent_edit.edit_sessions SET last_active_at = now() - interval '2 hours' WHERE id = '$held';
    INSERT INTO concurrent_edit.edit_sessions (project_id, id, user_id, status, last_active_at)
    SELECT '$project', d.id, '$user', CASE d.kind WHEN 'idle' THEN 'idle' ELSE 'active' END,
           now() - CASE d.kind WHEN 'idling' THEN interval '6 minutes' ELSE interval '2 hours' END - d.g * interval '1 ms'
    FROM due d WHERE d.g <> 7});
ok($node->poll_query_until('postgres', qq{SELECT
    (SELECT count(*) FROM due d JOIN concurrent_edit.edit_sessions s ON s.id = d.id
     WHERE d.kind IN ('active', 'idle') AND s.status = 'closed') = 179
    AND (SELECT count(*) FROM due d JOIN concurrent_edit.edit_sessions s ON s.id = d.id
         WHERE d.kind = 'idling' AND s.status = 'idle') = 5}),
   'the due sessions are closed (both passes, several batches) and made idle');
is(sql("SELECT status FROM concurrent_edit.edit_sessions WHERE id = '$held'"), 'active',
   'the session a client holds is left');
is(sql("SELECT count(*) FROM concurrent_edit.edit_sessions WHERE status = 'closed' AND id NOT IN (SELECT id FROM due)"),
   '1', 'no other session closed (the one of part 1)');
is(sql("SELECT count(*) FROM concurrent_edit.edit_sessions WHERE status = 'active' AND last_active_at < now() - interval '5 minutes'"),
   '1', 'no other active session is past the idle timeout (the held one)');
ok($node->poll_query_until('postgres', qq{SELECT count(*) = 180 FROM concurrent_edit.change_log
    WHERE project_id = '$project' AND event = 'session_left'}), 'a session_left event for each session closed');
$client->query_safe('COMMIT');
ok($node->poll_query_until('postgres', "SELECT status = 'closed' FROM concurrent_edit.edit_sessions WHERE id = '$held'"),
   'once released, it is closed in a later round');
$client->quit;

# 4. The locks of open sessions: the worker looks for locks whose session is
# closed or gone 1,000 locks a round, resuming after them (before: every lock,
# each looked up among the sessions, every round). 50,000 shared locks on one
# file, held by sessions of part 2, then the reads of edit_sessions over 4 s.
my $file = sql("SELECT concurrent_edit.create_file('$project', 'locked.txt', E'x\\n', '$user')");
sql(qq{
    INSERT INTO concurrent_edit.file_locks (project_id, file_id, session_id, holder, lock_type, expires_at)
    SELECT '$project', '$file', s.id, '$user', 'shared', now() + interval '1 hour'
    FROM concurrent_edit.edit_sessions s WHERE s.status = 'active' LIMIT 50000});
sleep(1.5);
($reads0, $rounds0) = split /\|/, sql($reads_sql);
sleep(4);
($reads1, $rounds1) = split /\|/, sql($reads_sql);
note("worker rounds: " . ($rounds1 - $rounds0) . ", rows read from edit_sessions: " . ($reads1 - $reads0));
cmp_ok($rounds1 - $rounds0, '>=', 10, 'the worker ran its rounds meanwhile');
cmp_ok($reads1 - $reads0, '<', 500000, 'its rounds looked up a batch of the locks\' sessions each, not all');
# A lock whose session does not exist, among them: released within a pass (50
# rounds of 100 ms), with its lock_released event.
my $orphan = sql(qq{INSERT INTO concurrent_edit.file_locks (project_id, file_id, session_id, holder, lock_type, expires_at)
    VALUES ('$project', '$file', gen_random_uuid(), '$user', 'shared', now() + interval '1 hour') RETURNING session_id});
ok($node->poll_query_until('postgres', qq{SELECT NOT EXISTS (SELECT FROM concurrent_edit.file_locks
    WHERE session_id = '$orphan')}), 'a lock whose session is gone is released within a pass');
is(sql("SELECT count(*) FROM concurrent_edit.file_locks"), '50000', 'the locks of open sessions are kept');

$node->stop;
done_testing();
