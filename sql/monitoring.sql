-- Monitoring: the views of live state (active_locks, active_sessions,
-- open_conflicts, feed_status) for a known scenario, their rights (the querying
-- role's table privileges and row-level security), worker_status without the
-- preloaded library, and the stats counters and lock_waits, which need it (55000;
-- lock_waits with waiters: TAP 015_monitoring).
\set VERBOSITY terse
SET client_min_messages = warning;
\i sql/include/helpers.sql
\set p1 '''b0b0b0b0-0000-0000-0000-000000000001'''
\set p2 '''b0b0b0b0-0000-0000-0000-000000000002'''
\set alice '''aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'''
\set bob '''bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'''

CREATE ROLE regress_mon_reader;   -- read on P1, SELECT on the tables
CREATE ROLE regress_mon_nobody;   -- PUBLIC's defaults only
CREATE ROLE regress_mon_monitor IN ROLE pg_monitor;

-- The scenario: in P1 alice has a.txt open with a lock and a draft, bob has
-- b.txt open; bob's stale write of a.txt meets a conflict. P2 has a lock too.
SELECT concurrent_edit.create_file(:p1, 'docs/a.txt', E'one\ntwo\nthree\n', :alice) AS fa \gset
SELECT concurrent_edit.create_file(:p1, 'b.txt', E'b\n', :bob) AS fb \gset
SELECT concurrent_edit.create_file(:p2, 'c.txt', E'c\n', :bob) AS fc \gset
SELECT concurrent_edit.open_session(:alice, :p1, 'sandbox-a') AS sa \gset
SELECT concurrent_edit.open_session(:bob, :p1) AS sb \gset
SELECT concurrent_edit.open_session(:bob, :p2) AS sc \gset
SELECT count(*) FROM concurrent_edit.open_file(:'sa', :'fa');
SELECT count(*) FROM concurrent_edit.open_file(:'sb', :'fb');
SELECT count(*) FROM concurrent_edit.open_file(:'sb', :'fa');
SELECT concurrent_edit.save_draft(:'sa', :'fa', 1, E'one\nTWO (draft)\nthree\n') IS NOT NULL AS draft_saved;
SELECT lock_type FROM concurrent_edit.acquire_lock(:'fa', :'sa', 'shared', ttl => '1 hour');
SELECT lock_type FROM concurrent_edit.acquire_lock(:'fc', :'sc', 'exclusive', ttl => '1 hour');
SELECT status FROM concurrent_edit.write(:'fa', E'one\n2\nthree\n', 1, :alice, :'sa');
SELECT status, conflict_id AS cid FROM concurrent_edit.write(:'fa', E'one\nzwei\nthree\n', 1, :bob, :'sb') \gset
SELECT :'status' AS status;
-- An expired lock is not live.
SELECT lock_type FROM concurrent_edit.acquire_lock(:'fb', :'sb', 'exclusive', ttl => '1 second');
UPDATE concurrent_edit.file_locks SET acquired_at = now() - interval '1 hour', expires_at = now() - interval '1 minute'
WHERE file_id = :'fb';

SELECT project_id = :p1 AS p1, file_id = :'fa' AS fa, path, lock_type, session_id = :'sa' AS by_sa,
       holder = :alice AS alice, holder_role = current_user::regrole AS my_role,
       expires_in > interval '59 minutes' AS about_an_hour, lock_id IS NOT NULL AS has_id
FROM concurrent_edit.active_locks WHERE project_id IN (:p1, :p2) ORDER BY path;

SELECT session_id = :'sa' AS sa, user_id = :alice AS alice, sandbox_id, status, open_paths,
       open_files = ARRAY[:'fa']::uuid[] AS files_match, drafts, has_draft, locks,
       inactive_for < interval '1 minute' AS recent
FROM concurrent_edit.active_sessions WHERE project_id = :p1 ORDER BY sandbox_id NULLS LAST;
-- A closed session is not listed.
SELECT concurrent_edit.close_session(:'sb');
SELECT count(*) AS open_sessions_of_p1 FROM concurrent_edit.active_sessions WHERE project_id = :p1;

SELECT conflict_id = :'cid' AS cid, kind, file_id = :'fa' AS fa, path, base_version, ours_version, theirs_version,
       strategy, regions, created_by = :bob AS bob, created_role = current_user::regrole AS my_role,
       session_id = :'sb' AS sb, age >= interval '0' AND age < interval '1 minute' AS aged
FROM concurrent_edit.open_conflicts WHERE project_id = :p1;
-- A discarded conflict is no longer open.
SELECT concurrent_edit.discard_conflict(:'cid', 'test') IS NOT NULL AS discarded;
SELECT count(*) AS open_conflicts_of_p1 FROM concurrent_edit.open_conflicts WHERE project_id = :p1;

-- The feed: without the worker each transaction sequences its own events at
-- commit, so nothing is pending; an event left in change_pending (nobody queued
-- it for sequencing) shows as backlog with its age.
SELECT project_id = :p1 AS p1, pending_events, oldest_pending_at, oldest_pending_age,
       last_cursor = (SELECT max(cursor) FROM concurrent_edit.change_log WHERE project_id = :p1) AS last_cursor_ok,
       last_cursor_at IS NOT NULL AS has_time, pruned_through, rejected_events
FROM concurrent_edit.feed_status WHERE project_id = :p1;
INSERT INTO concurrent_edit.change_pending (project_id, event, session_id, author, created_at)
VALUES (:p1, 'session_joined', :'sa', :alice, now() - interval '1 hour');
SELECT pending_events, oldest_pending_age >= interval '1 hour' AS an_hour_behind
FROM concurrent_edit.feed_status WHERE project_id = :p1;
-- The next sequencing of P1 takes it.
SELECT count(*) FROM concurrent_edit.open_file(:'sa', :'fb');
SELECT pending_events, oldest_pending_age FROM concurrent_edit.feed_status WHERE project_id = :p1;
-- A project with only pending events is listed too.
INSERT INTO concurrent_edit.change_pending (project_id, event, author)
VALUES ('b0b0b0b0-0000-0000-0000-0000000000ff', 'session_joined', :alice);
SELECT pending_events, last_cursor, last_cursor_at FROM concurrent_edit.feed_status
WHERE project_id = 'b0b0b0b0-0000-0000-0000-0000000000ff';
DELETE FROM concurrent_edit.change_pending WHERE project_id = 'b0b0b0b0-0000-0000-0000-0000000000ff';

-- Not preloaded: no worker, and no counters (55000 with a JSON DETAIL).
SELECT preloaded, database, pid, running, serving, started_at, last_round_at, since_last_round, rounds, errors,
       last_error,
       pending_events = (SELECT count(*) FROM concurrent_edit.change_pending)
                        + (SELECT count(*) FROM concurrent_edit.change_pending_locks) AS counted
FROM concurrent_edit.worker_status;
SELECT pg_temp.try('SELECT * FROM concurrent_edit.stats');
SELECT pg_temp.try('SELECT concurrent_edit.stats_reset()');
SELECT d FROM pg_temp.error_detail('SELECT * FROM concurrent_edit.stats') d;
-- Lock waiters are known only in shared memory.
SELECT pg_temp.try('SELECT * FROM concurrent_edit.lock_waits');

-- Rights. A role with read on P1 and SELECT on the tables sees P1's rows only.
SELECT concurrent_edit.grant_project(:p1, 'regress_mon_reader', 'read');
GRANT SELECT ON ALL TABLES IN SCHEMA concurrent_edit TO regress_mon_reader;
SET ROLE regress_mon_reader;
SELECT project_id = :p1 AS p1, count(*) FROM concurrent_edit.active_locks WHERE project_id IN (:p1, :p2) GROUP BY 1;
SELECT project_id = :p1 AS p1, count(*) FROM concurrent_edit.active_sessions WHERE project_id IN (:p1, :p2) GROUP BY 1;
SELECT project_id = :p1 AS p1, count(*) FROM concurrent_edit.feed_status WHERE project_id IN (:p1, :p2) GROUP BY 1;
-- The worker's status and the counters are not per project: refused.
SELECT pg_temp.try('SELECT * FROM concurrent_edit.worker_status');
SELECT d FROM pg_temp.error_detail('SELECT * FROM concurrent_edit.worker_status') d;
RESET ROLE;
REVOKE SELECT ON ALL TABLES IN SCHEMA concurrent_edit FROM regress_mon_reader;
-- A role without privileges on the tables is refused by PostgreSQL (no row of
-- any project leaks through the views).
SET ROLE regress_mon_nobody;
SELECT pg_temp.try('SELECT * FROM concurrent_edit.active_locks');
SELECT pg_temp.try('SELECT * FROM concurrent_edit.active_sessions');
SELECT pg_temp.try('SELECT * FROM concurrent_edit.open_conflicts');
SELECT pg_temp.try('SELECT * FROM concurrent_edit.feed_status');
SELECT pg_temp.try('SELECT * FROM concurrent_edit.worker_status');
RESET ROLE;
-- pg_monitor members read the worker's status (and the counters, when preloaded),
-- but cannot reset the counters.
SET ROLE regress_mon_monitor;
SELECT preloaded, running FROM concurrent_edit.worker_status;
SELECT pg_temp.try('SELECT * FROM concurrent_edit.active_locks');
RESET ROLE;

-- The views read as the querying role (security_invoker); that every view and
-- column has a comment, foundation checks.
SELECT c.relname, c.reloptions FROM pg_class c
WHERE c.relnamespace = 'concurrent_edit'::regnamespace AND c.relkind = 'v' ORDER BY c.relname COLLATE "C";

-- Clean up (the other tests share the database).
DELETE FROM concurrent_edit.project_access WHERE project_id IN (:p1, :p2);
DELETE FROM concurrent_edit.conflict_history WHERE project_id IN (:p1, :p2);
DELETE FROM concurrent_edit.file_locks WHERE project_id IN (:p1, :p2);
DELETE FROM concurrent_edit.edit_sessions WHERE project_id IN (:p1, :p2);
DELETE FROM concurrent_edit.files WHERE project_id IN (:p1, :p2);
DROP ROLE regress_mon_reader, regress_mon_nobody, regress_mon_monitor;
