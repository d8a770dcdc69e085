# Monitoring with the library preloaded: a pgbench load of write() from current
# and stale bases and of lock cycles, then the cumulative counters of the stats
# view are checked against what the clients recorded (every write's status, every
# lock outcome, the conflicts table), stats_reset() zeroes them, who may read and
# reset them, and the views show the locks, sessions, conflicts, pending events
# and the worker (its rounds and errors) that exist.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CETest;

my $clients = 4;
my $seconds = $ENV{CE_LOAD_SECONDS} // 10;
$seconds = 10 if $seconds > 10;
my $node = new_node('monitoring', "shared_preload_libraries = 'concurrent_edit'\n"
    . "concurrent_edit.worker_interval = 200ms\nmax_connections = 40\n");
my $P = '15151515-0000-0000-0000-000000000001';
my $F = 'f1515151-0000-0000-0000-000000000001';   # written by the load
my $L = 'f1515151-0000-0000-0000-000000000002';   # locked by the load

# One line per client plus a shared line, each between two untouched lines: a
# write from a stale base that changes only its own line merges; one that
# changes the shared line conflicts when the shared line changed since its base.
my $initial = "shared: 0\n--\n--\n" . join('', map { "client $_: 0\n--\n--\n" } (1 .. $clients));
$node->safe_psql('postgres', qq{
  CREATE EXTENSION concurrent_edit;
  SELECT concurrent_edit.create_file('$P', 'load.txt', \$t\$$initial\$t\$, 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa',
         file_id => '$F');
  SELECT concurrent_edit.create_file('$P', 'lock.txt', 'x', 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', file_id => '$L');
  CREATE TABLE acks (client int, kind text, status text);
  CREATE TABLE lock_sessions AS
    SELECT c AS client, concurrent_edit.open_session(('00000000-0000-0000-0000-00000000000' || c)::uuid, '$P') AS s
    FROM generate_series(1, $clients) c;
  -- A write from the head just read (written, or merged when another client
  -- wrote in between), with a unique token in the client's own line.
  CREATE FUNCTION edit_current(client int) RETURNS void LANGUAGE plpgsql AS \$\$
  DECLARE h record; r concurrent_edit.write_result;
  BEGIN
    SELECT * INTO h FROM concurrent_edit.read('$F');
    r := concurrent_edit.write('$F', regexp_replace(h.content, 'client ' || client || ': [^\\n]*',
           'client ' || client || ': ' || gen_random_uuid()), h.version,
           ('00000000-0000-0000-0000-00000000000' || client)::uuid);
    INSERT INTO acks VALUES (client, 'current', r.status);
  END \$\$;
  -- A write from a base up to 3 versions old, changing the client's own line
  -- (merged) or, one time in three, the shared line (conflict if it changed).
  CREATE FUNCTION edit_stale(client int) RETURNS void LANGUAGE plpgsql AS \$\$
  DECLARE h record; b int; base text; line text; r concurrent_edit.write_result;
  BEGIN
    SELECT * INTO h FROM concurrent_edit.read('$F');
    b := greatest(1, h.version - 1 - (random() * 2)::int);
    SELECT content INTO base FROM concurrent_edit.read('$F', b);
    line := CASE WHEN random() < 0.33 THEN 'shared' ELSE 'client ' || client END;
    r := concurrent_edit.write('$F', regexp_replace(base, line || ': [^\\n]*', line || ': ' || gen_random_uuid()), b,
           ('00000000-0000-0000-0000-00000000000' || client)::uuid);
    INSERT INTO acks VALUES (client, 'stale', r.status);
  END \$\$;
  -- Lock cycles: acquire (waiting at most 20 ms), hold, release, in separate
  -- transactions so that other clients really wait for the lock.
  CREATE FUNCTION lock_acquire(client int) RETURNS void LANGUAGE plpgsql AS \$\$
  BEGIN
    PERFORM concurrent_edit.acquire_lock('$L', (SELECT s FROM lock_sessions WHERE lock_sessions.client = lock_acquire.client),
                                         'exclusive', ttl => '1 minute', wait => '20 milliseconds');
    INSERT INTO acks VALUES (client, 'lock', 'acquired');
  EXCEPTION WHEN lock_not_available THEN
    INSERT INTO acks VALUES (client, 'lock', 'timeout');
  END \$\$;
  CREATE FUNCTION lock_release(client int) RETURNS void LANGUAGE sql AS \$\$
    SELECT concurrent_edit.release_lock('$L', (SELECT s FROM lock_sessions WHERE lock_sessions.client = lock_release.client));
  \$\$;
});

# pg_monitor members may read the counters, not reset them; others neither.
$node->safe_psql('postgres', q{
  CREATE ROLE mon_monitor LOGIN IN ROLE pg_monitor;
  CREATE ROLE mon_nobody LOGIN;
});
my ($ret, $out, $err) = $node->psql('postgres', 'SELECT writes_written >= 0 FROM concurrent_edit.stats',
    extra_params => ['-U', 'mon_monitor']);
is($out, 't', 'a pg_monitor member reads the counters');
($ret, $out, $err) = $node->psql('postgres', 'SELECT concurrent_edit.stats_reset()', extra_params => ['-U', 'mon_monitor']);
like($err, qr/permission denied: admin access to every project is required/, 'a pg_monitor member cannot reset them');
($ret, $out, $err) = $node->psql('postgres', 'SELECT * FROM concurrent_edit.stats', extra_params => ['-U', 'mon_nobody']);
like($err, qr/permission denied/, 'a role without rights cannot read the counters');
($ret, $out, $err) = $node->psql('postgres', 'SELECT concurrent_edit.stats_reset()', extra_params => ['-U', 'mon_nobody']);
like($err, qr/permission denied/, 'nor reset them');

# stats_reset() zeroes every counter and moves stats_reset.
my $before = $node->safe_psql('postgres', 'SELECT stats_reset FROM concurrent_edit.stats');
my $reset = $node->safe_psql('postgres', 'SELECT concurrent_edit.stats_reset()');
is($node->safe_psql('postgres', "SELECT stats_reset = '$reset' AND stats_reset > '$before' FROM concurrent_edit.stats"),
    't', 'stats_reset() sets stats_reset');

# preview_write counts nothing: its work is rolled back.
$node->safe_psql('postgres', "SELECT * FROM concurrent_edit.preview_write('$F', 'other', 1, 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa')");
my $all_zero = q{SELECT writes_written + writes_merged + writes_overwritten + writes_unchanged + writes_conflict
    + writes_rejected + writes_failed + merges + merge_conflicts + conflicts_recorded + lock_acquisitions
    + lock_waits + lock_timeouts = 0 AND merge_time_total_ms = 0 AND merge_time_max_ms = 0 FROM concurrent_edit.stats};
is($node->safe_psql('postgres', $all_zero), 't', 'a preview_write is not counted');

my $conflicts_before = $node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.conflict_history WHERE project_id = '$P'");
$node->pgbench("--no-vacuum --client=$clients --jobs=2 --time=$seconds", 0,
    [qr/number of failed transactions: 0/], [qr/^$/], "pgbench: $clients clients write and lock for $seconds s",
    { 'current' => 'SELECT edit_current(:client_id + 1);',
      'stale' => 'SELECT edit_stale(:client_id + 1);',
      'lock' => "SELECT lock_acquire(:client_id + 1);\nSELECT pg_sleep(0.005);\nSELECT lock_release(:client_id + 1);" });

my %ack = split /[|\n]/, $node->safe_psql('postgres', q{
  SELECT s, n FROM (SELECT status AS s, count(*) AS n FROM acks GROUP BY status
                    UNION ALL SELECT 'writes', count(*) FROM acks WHERE kind <> 'lock') x});
$ack{$_} //= 0 for qw(written merged unchanged conflict acquired timeout);
my %st = split /[|\n]/, $node->safe_psql('postgres', q{
  SELECT key, value FROM jsonb_each_text((SELECT to_jsonb(s) FROM concurrent_edit.stats s))});
note(join(', ', map { "$_=$ack{$_}" } sort keys %ack));
note(join(', ', map { "$_=$st{$_}" } sort keys %st));

cmp_ok($ack{writes}, '>', 50, "$ack{writes} writes completed");
cmp_ok($ack{merged}, '>', 0, 'some were merged');
cmp_ok($ack{conflict}, '>', 0, 'some met a conflict');
is($st{writes_written} + $st{writes_merged} + $st{writes_overwritten} + $st{writes_unchanged} + $st{writes_conflict}
   + $st{writes_rejected} + $st{writes_failed}, $ack{writes}, 'the write counters add up to the write() calls completed');
is($st{writes_written}, $ack{written}, 'writes_written = writes that returned written');
is($st{writes_merged}, $ack{merged}, 'writes_merged = writes that returned merged');
is($st{writes_conflict}, $ack{conflict}, 'writes_conflict = writes that returned conflict');
is($st{writes_unchanged}, $ack{unchanged}, 'writes_unchanged = writes that returned unchanged');
is($st{writes_failed}, 0, 'no write failed');
# Every stale write merged; a unique token per write means a clean merge is
# never already the head, and every conflict of this load is a merge's.
is($st{merges}, $st{writes_merged} + $st{merge_conflicts}, 'merges = merged writes + merges that met conflicts');
is($st{merge_conflicts}, $st{writes_conflict}, 'merge_conflicts = writes that returned conflict');
my $conflict_rows = $node->safe_psql('postgres',
    "SELECT count(*) FROM concurrent_edit.conflict_history WHERE project_id = '$P'") - $conflicts_before;
is($st{conflicts_recorded}, $conflict_rows, "conflicts_recorded = rows added to conflict_history ($conflict_rows)");
cmp_ok($st{merge_time_total_ms}, '>', 0, 'merge time was measured');
cmp_ok($st{merge_time_max_ms}, '>', 0, 'and its maximum');
cmp_ok($st{merge_time_max_ms}, '<=', $st{merge_time_total_ms}, 'the longest merge is within the total');
cmp_ok($ack{acquired}, '>', 0, "$ack{acquired} locks acquired");
is($st{lock_acquisitions}, $ack{acquired}, 'lock_acquisitions = acquire_lock calls that got the lock');
is($st{lock_timeouts}, $ack{timeout}, 'lock_timeouts = acquire_lock calls refused with 55P03');
cmp_ok($st{lock_waits}, '>', 0, "$st{lock_waits} acquisitions had to wait");
cmp_ok($st{lock_waits}, '>=', $st{lock_timeouts}, 'every refusal after a wait was a wait');
cmp_ok($st{lock_waits}, '<=', $st{lock_acquisitions} + $st{lock_timeouts}, 'at most one wait per acquire_lock call');

# The views show what exists: a held lock, an open session with a file open and
# a draft, the load's open conflicts, and a feed without backlog once the
# worker sequenced everything.
my $s = $node->safe_psql('postgres', "SELECT s FROM lock_sessions WHERE client = 1");
$node->safe_psql('postgres', qq{
  SELECT concurrent_edit.release_lock('$L', s) FROM lock_sessions;
  SELECT concurrent_edit.acquire_lock('$L', '$s', ttl => '1 hour');
  SELECT count(*) FROM concurrent_edit.open_file('$s', '$F');
  SELECT concurrent_edit.save_draft('$s', '$F', 1, 'draft');
});
is($node->safe_psql('postgres', "SELECT session_id = '$s' AND path = 'lock.txt' AND lock_type = 'exclusive'
    FROM concurrent_edit.active_locks WHERE project_id = '$P'"), 't', 'active_locks shows the held lock');
is($node->safe_psql('postgres', "SELECT open_paths = '{load.txt}' AND has_draft AND locks = 1
    FROM concurrent_edit.active_sessions WHERE session_id = '$s'"), 't',
    'active_sessions shows its open file, draft and lock');
is($node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.active_sessions WHERE project_id = '$P'"),
    $clients, 'and every open session');
is($node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.open_conflicts WHERE project_id = '$P'"),
    $conflict_rows, 'open_conflicts shows the load\'s conflicts');
ok($node->poll_query_until('postgres', "SELECT pending_events = 0 AND last_cursor =
    (SELECT max(cursor) FROM concurrent_edit.change_log WHERE project_id = '$P')
    FROM concurrent_edit.feed_status WHERE project_id = '$P'"), 'feed_status: the worker sequenced every event');
is($node->safe_psql('postgres', q{SELECT preloaded AND running AND serving AND rounds > 0 AND errors = 0
    AND since_last_round < interval '5 seconds' FROM concurrent_edit.worker_status}), 't',
    'worker_status: running, serving, recent rounds, no errors');

# An error of the worker's cleanup (a trigger refusing the deletion of an expired
# lock) is counted with its message, and the worker carries on.
$node->safe_psql('postgres', qq{
  CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \$\$
  BEGIN RAISE EXCEPTION 'monitoring test: deletion refused'; END \$\$;
  CREATE TRIGGER refuse BEFORE DELETE ON concurrent_edit.file_locks FOR EACH ROW EXECUTE FUNCTION refuse();
  UPDATE concurrent_edit.file_locks SET acquired_at = now() - interval '2 hours', expires_at = now() - interval '1 hour'
  WHERE session_id = '$s';
});
ok($node->poll_query_until('postgres', q{SELECT errors > 0 AND last_error = 'monitoring test: deletion refused'
    AND last_error_sqlstate = 'P0001' AND last_error_at > now() - interval '1 minute' FROM concurrent_edit.worker_status}),
    'worker_status counts the worker\'s error with its message');
is($node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.active_locks WHERE project_id = '$P'"), '0',
    'an expired lock is not active even before cleanup deletes it');
$node->safe_psql('postgres', 'DROP TRIGGER refuse ON concurrent_edit.file_locks');
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM concurrent_edit.file_locks WHERE session_id = '$s'"),
    'the worker carries on once the cause is gone');

# After the reset everything counts from zero again.
$node->safe_psql('postgres', 'SELECT concurrent_edit.stats_reset()');
is($node->safe_psql('postgres', $all_zero), 't', 'stats_reset() zeroes every counter');

# write_many: a call that returns counts each write under its status; a call that
# raises (here: an unknown file, VC007) counts once in writes_failed, as write() does.
my $head = $node->safe_psql('postgres', "SELECT head_version FROM concurrent_edit.files WHERE id = '$F'");
$node->safe_psql('postgres', qq{SELECT count(*) FROM concurrent_edit.write_many(jsonb_build_array(
    jsonb_build_object('file_id', '$F', 'content', 'many 1', 'base_version', $head,
                       'author', 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa')))});
my ($rc, $out, $err) = $node->psql('postgres', qq{SELECT count(*) FROM concurrent_edit.write_many(jsonb_build_array(
    jsonb_build_object('file_id', '$F', 'content', 'many 2', 'base_version', $head + 1,
                       'author', 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'),
    jsonb_build_object('file_id', 'f1515151-0000-0000-0000-0000000000ff', 'content', 'x', 'base_version', 1,
                       'author', 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa')))});
like($err, qr/does not exist/, 'a write_many naming an unknown file raises');
($rc, $out, $err) = $node->psql('postgres', "SELECT concurrent_edit.write('f1515151-0000-0000-0000-0000000000ff', 'x', 1,
    'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa')");
like($err, qr/does not exist/, 'so does a write() of it');
is($node->safe_psql('postgres', 'SELECT writes_written, writes_failed FROM concurrent_edit.stats'), '1|2',
   'write_many counts its stored write under written, and the raising write_many and write() once each as failed');

# commit_draft counts a call that raises as a failed write too (before, only one
# that failed in its write: an unknown session, no draft or a bad argument was
# not counted).
($rc, $out, $err) = $node->psql('postgres',
    'SELECT concurrent_edit.commit_draft(gen_random_uuid(), gen_random_uuid())');
like($err, qr/VC005|does not exist/, 'a commit_draft of an unknown session raises');
is($node->safe_psql('postgres', 'SELECT writes_failed FROM concurrent_edit.stats'), '3',
   'and counts once in writes_failed');

# The queues locked (VACUUM FULL, LOCK TABLE): worker_status answers at once, its
# backlog columns NULL (before, it waited for the lock, as the worker does).
{
    my $locker = $node->background_psql('postgres', on_error_stop => 0);
    $locker->query_safe('BEGIN; LOCK TABLE concurrent_edit.change_pending_locks IN ACCESS EXCLUSIVE MODE');
    is($node->safe_psql('postgres', "SET statement_timeout = '10s'; "
        . 'SELECT pending_events IS NULL AND oldest_pending_age IS NULL AND rounds > 0 FROM concurrent_edit.worker_status'),
       't', 'worker_status with a queue locked: answered, the backlog unknown (NULL)');
    $locker->query_safe('COMMIT');
    $locker->quit;
    is($node->safe_psql('postgres', 'SELECT pending_events IS NOT NULL FROM concurrent_edit.worker_status'), 't',
       'and counted again once the lock is gone');
}

# Another database with the extension: its admins neither reset the cluster's
# counters nor read the text of the worker's errors (names and paths of the
# database it serves); a superuser may reset them from anywhere.
$node->safe_psql('postgres', 'CREATE DATABASE tenant2');
$node->safe_psql('tenant2', "CREATE EXTENSION concurrent_edit; CREATE ROLE t2admin LOGIN; "
    . "SELECT concurrent_edit.grant_admin('t2admin')");
($rc, $out, $err) = $node->psql('tenant2', 'SELECT concurrent_edit.stats_reset()', extra_params => ['-U', 't2admin']);
like($err, qr/42501|permission denied/, 'an admin of another database may not reset the counters');
like($err, qr/DETAIL:\s+\{"project_id": "\*", "needs": "superuser", "has": "admin", "role": "t2admin", "reason": /,
     'with the DETAIL keys of every other 42501 of a right');
is($node->safe_psql('tenant2', 'SELECT errors > 0, last_error IS NULL FROM concurrent_edit.worker_status',
    extra_params => ['-U', 't2admin']), 't|t', 'and sees the count of the worker errors, not their text');
is($node->safe_psql('postgres', 'SELECT last_error IS NOT NULL FROM concurrent_edit.worker_status'), 't',
   'which the database the worker serves shows');
is($node->safe_psql('tenant2', 'SELECT concurrent_edit.stats_reset() IS NOT NULL'), 't', 'a superuser resets them anywhere');
$node->safe_psql('postgres', 'DROP DATABASE tenant2');

# lock_waits: a session sleeping in acquire_lock(wait => ...) is listed, with its
# backend, file, session and the lock it asks for, to roles that can read the
# project and to pg_monitor members; its row goes away however the wait ends
# (cancelled, its backend terminated, timed out, granted).
my $holder = $node->safe_psql('postgres',
    "SELECT concurrent_edit.open_session('bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', '$P')");
my $asker = $node->safe_psql('postgres',
    "SELECT concurrent_edit.open_session('cccccccc-cccc-cccc-cccc-cccccccccccc', '$P')");
$node->safe_psql('postgres', qq{
  SELECT concurrent_edit.release_lock('$L', s) FROM lock_sessions;
  SELECT concurrent_edit.acquire_lock('$L', '$holder', ttl => '10 minutes');
  CREATE ROLE mon_reader LOGIN;
  SELECT concurrent_edit.grant_project('$P', 'mon_reader', 'read');
});
my $waits_of = sub { $node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.lock_waits WHERE pid = $_[0]") };
my $start_waiter = sub {
  my ($type) = @_;
  my $bg = $node->background_psql('postgres', on_error_stop => 0);
  my $pid = $bg->query_safe('SELECT pg_backend_pid()');
  $pid =~ s/\s+//g;
  $bg->query_until(qr/started/, "\\echo started\nSELECT 'got', (concurrent_edit.acquire_lock('$L', '$asker', '$type', "
      . "wait => '5 minutes')).lock_type;\n");
  ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM concurrent_edit.lock_waits WHERE pid = $pid"),
     "lock_waits lists the backend waiting for a $type lock");
  return ($bg, $pid);
};
my ($bg, $pid) = $start_waiter->('exclusive');
is($node->safe_psql('postgres', qq{SELECT project_id = '$P' AND file_id = '$L' AND path = 'lock.txt'
    AND session_id = '$asker' AND waiter = 'cccccccc-cccc-cccc-cccc-cccccccccccc' AND waiter_role::text = current_user
    AND lock_type = 'exclusive' AND waiting_since < clock_timestamp() AND waiting_for > interval '0'
    FROM concurrent_edit.lock_waits WHERE pid = $pid}), 't', 'with its project, file, path, session, user, role and lock type');
is($node->safe_psql('postgres', qq{SELECT count(*) FROM concurrent_edit.lock_waits w
    JOIN concurrent_edit.active_locks l USING (file_id) WHERE w.pid = $pid AND l.session_id = '$holder'}), '1',
   'joined to active_locks on file_id it names the holder');
my %seen;
for my $role ('mon_reader', 'mon_monitor', 'mon_nobody') {
  ($ret, $out, $err) = $node->psql('postgres', "SELECT string_agg(concat_ws(',', file_id = '$L', path,
      waiter IS NOT NULL, waiter_role IS NOT NULL), ';') FROM concurrent_edit.lock_waits", extra_params => ['-U', $role]);
  $seen{$role} = $err ? $err : $out;
}
is($seen{mon_reader}, 't,lock.txt,t,t', 'a role with read on the project sees the waiter with its names');
is($seen{mon_monitor}, 't,f,f', 'a pg_monitor member without read on it sees its ids only');
is($seen{mon_nobody}, '', 'a role without rights on the project sees nothing');
$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM concurrent_edit.lock_waits WHERE pid = $pid"),
   'a cancelled wait leaves lock_waits');
$bg->quit;

($bg, $pid) = $start_waiter->('shared');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM concurrent_edit.lock_waits WHERE pid = $pid"),
   'so does the wait of a terminated backend');
eval { $bg->quit };   # its psql lost the connection

# A wait that runs out (55P03), in a session that stays connected.
$bg = $node->background_psql('postgres', on_error_stop => 0);
$pid = $bg->query_safe('SELECT pg_backend_pid()');
$pid =~ s/\s+//g;
$bg->query_until(qr/started/, "\\set VERBOSITY verbose\n\\echo started\nSELECT concurrent_edit.acquire_lock('$L', '$asker', "
    . "wait => '5 seconds');\n\\echo finished\n");  # long enough to be seen listed on a slow machine
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM concurrent_edit.lock_waits WHERE pid = $pid"),
   'a wait that will run out is listed');
$bg->query_until(qr/finished/, '');
like($bg->{stderr}, qr/ERROR:\s+55P03:/, 'the wait ran out: refused with 55P03');
is($node->safe_psql('postgres', "SELECT string_agg(session_id::text, ',') FROM concurrent_edit.file_locks "
    . "WHERE file_id = '$L'"), $holder, 'the lock stays with its holder');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid"), '1',
   'its session is still connected after the refusal');
is($waits_of->($pid), '0', 'and its wait is gone');
$bg->quit;

($bg, $pid) = $start_waiter->('exclusive');
$node->safe_psql('postgres', "SELECT concurrent_edit.release_lock('$L', '$holder')");
like($bg->query_safe('SELECT 1'), qr/got\|exclusive/, 'the waiter gets the lock once it is released');
is($waits_of->($pid), '0', 'and its row is gone');
$bg->quit;

$node->stop;
done_testing();
