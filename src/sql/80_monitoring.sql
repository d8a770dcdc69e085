-- Monitoring (docs/reference/monitoring.md, src/pg/monitoring.cpp, src/pg/stats.cpp):
-- views of the live state (locks, sessions, open conflicts, the feed's backlog),
-- the background worker's status, and cumulative counters in shared memory.
--
-- The views over the extension's tables are security_invoker: they read the
-- tables as the querying role, so its table privileges (grant_access(read_tables),
-- grant_admin, or a DBA's GRANT SELECT) and row-level security (the projects it
-- can read) apply exactly as to a direct read of the tables.

CREATE VIEW concurrent_edit.active_locks WITH (security_invoker = true) AS
SELECT l.project_id, l.file_id, f.path, l.id AS lock_id, l.lock_type, l.session_id, l.holder,
       s.role AS holder_role, l.acquired_at, l.expires_at,
       l.expires_at - pg_catalog.clock_timestamp() AS expires_in
FROM concurrent_edit.file_locks l
LEFT JOIN concurrent_edit.files f ON f.project_id = l.project_id AND f.id = l.file_id
LEFT JOIN concurrent_edit.edit_sessions s ON s.project_id = l.project_id AND s.id = l.session_id
WHERE l.expires_at > pg_catalog.clock_timestamp();
COMMENT ON VIEW concurrent_edit.active_locks IS
    'Every unexpired file lock, with its file''s path and its holder; rows of the projects the querying role can read (it needs SELECT on the tables).';
COMMENT ON COLUMN concurrent_edit.active_locks.project_id IS 'Project of the file.';
COMMENT ON COLUMN concurrent_edit.active_locks.file_id IS 'Locked file.';
COMMENT ON COLUMN concurrent_edit.active_locks.path IS 'Current path of the file.';
COMMENT ON COLUMN concurrent_edit.active_locks.lock_id IS 'Lock id (as in acquire_lock''s result and the lock events).';
COMMENT ON COLUMN concurrent_edit.active_locks.lock_type IS 'exclusive or shared.';
COMMENT ON COLUMN concurrent_edit.active_locks.session_id IS 'Session holding the lock.';
COMMENT ON COLUMN concurrent_edit.active_locks.holder IS 'User behind the holding session.';
COMMENT ON COLUMN concurrent_edit.active_locks.holder_role IS 'Database role that opened the holding session.';
COMMENT ON COLUMN concurrent_edit.active_locks.acquired_at IS 'When the lock was (re)acquired.';
COMMENT ON COLUMN concurrent_edit.active_locks.expires_at IS 'When the lock lapses unless extended.';
COMMENT ON COLUMN concurrent_edit.active_locks.expires_in IS 'Time left until expires_at.';

CREATE FUNCTION concurrent_edit.lock_waits(
    OUT pid integer, OUT project_id uuid, OUT file_id uuid, OUT path text, OUT session_id uuid, OUT waiter uuid,
    OUT waiter_role regrole, OUT lock_type text, OUT waiting_since timestamptz, OUT wakeups bigint)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'ce_lock_waits'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.lock_waits() IS
    'Sessions of this database waiting in acquire_lock(wait => ...) now, sleeping until a holder releases the file or waiting in turn behind an exclusive request ahead of them (shared memory: 55000 unless concurrent_edit is in shared_preload_libraries), oldest wait first; rows of the projects the caller can read, and for pg_read_all_stats (pg_monitor) members also the others with their ids only (path, waiter and waiter_role NULL). The lock_waits view adds how long each has waited.';

CREATE VIEW concurrent_edit.lock_waits WITH (security_invoker = true) AS
SELECT w.pid, w.project_id, w.file_id, w.path, w.session_id, w.waiter, w.waiter_role, w.lock_type,
       w.waiting_since, pg_catalog.clock_timestamp() - w.waiting_since AS waiting_for, w.wakeups
FROM concurrent_edit.lock_waits() w
ORDER BY w.waiting_since;
COMMENT ON VIEW concurrent_edit.lock_waits IS
    'Sessions waiting in acquire_lock(wait => ...) for a file lock another session holds, or in turn behind another waiting request, oldest wait first; join active_locks on file_id for the holders. Needs concurrent_edit in shared_preload_libraries (55000 otherwise); rows of the projects the querying role can read, and for pg_read_all_stats (pg_monitor) members the others too with ids only (path, waiter and waiter_role NULL).';
COMMENT ON COLUMN concurrent_edit.lock_waits.pid IS 'Process id of the waiting backend (as in pg_stat_activity; pg_cancel_backend ends the wait with 57014).';
COMMENT ON COLUMN concurrent_edit.lock_waits.project_id IS 'Project of the file.';
COMMENT ON COLUMN concurrent_edit.lock_waits.file_id IS 'File whose lock is awaited.';
COMMENT ON COLUMN concurrent_edit.lock_waits.path IS 'Current path of the file (NULL for a pg_read_all_stats member without read on the project).';
COMMENT ON COLUMN concurrent_edit.lock_waits.session_id IS 'Session asking for the lock.';
COMMENT ON COLUMN concurrent_edit.lock_waits.waiter IS 'User behind that session (NULL like path).';
COMMENT ON COLUMN concurrent_edit.lock_waits.waiter_role IS 'Database role that opened that session (NULL like path).';
COMMENT ON COLUMN concurrent_edit.lock_waits.lock_type IS 'Lock asked for: exclusive or shared.';
COMMENT ON COLUMN concurrent_edit.lock_waits.waiting_since IS 'When the call started to wait.';
COMMENT ON COLUMN concurrent_edit.lock_waits.waiting_for IS 'Time since waiting_since.';
COMMENT ON COLUMN concurrent_edit.lock_waits.wakeups IS 'Times this wait was woken since it began: by a release of the file, by a change that may let a shared request in, or passed on by a waiter that ended without the lock. A release wakes one waiter (every shared one when the longest waiting wants a shared lock), so a waiter still listed after a wake-up found the file taken again.';

CREATE VIEW concurrent_edit.active_sessions WITH (security_invoker = true) AS
SELECT s.project_id, s.id AS session_id, s.user_id, s.role, s.sandbox_id, s.status, s.created_at,
       s.last_active_at, pg_catalog.clock_timestamp() - s.last_active_at AS inactive_for,
       COALESCE(o.file_ids, '{}') AS open_files, COALESCE(o.paths, '{}') AS open_paths,
       d.drafts, d.drafts > 0 AS has_draft, k.locks
FROM concurrent_edit.edit_sessions s
LEFT JOIN LATERAL (
    SELECT pg_catalog.array_agg(sf.file_id ORDER BY f.path COLLATE "C", sf.file_id) AS file_ids,
           pg_catalog.array_agg(f.path ORDER BY f.path COLLATE "C", sf.file_id) AS paths
    FROM concurrent_edit.session_files sf
    JOIN concurrent_edit.files f ON f.project_id = sf.project_id AND f.id = sf.file_id
    WHERE sf.project_id = s.project_id AND sf.session_id = s.id) o ON true
CROSS JOIN LATERAL (
    SELECT pg_catalog.count(*)::integer AS drafts FROM concurrent_edit.pending_changes p
    WHERE p.project_id = s.project_id AND p.session_id = s.id) d
CROSS JOIN LATERAL (
    SELECT pg_catalog.count(*)::integer AS locks FROM concurrent_edit.file_locks l
    WHERE l.project_id = s.project_id AND l.session_id = s.id
      AND l.expires_at > pg_catalog.clock_timestamp()) k
WHERE s.status <> 'closed';
COMMENT ON VIEW concurrent_edit.active_sessions IS
    'Open (active or idle) edit sessions with their open files, drafts and locks; rows of the projects the querying role can read (it needs SELECT on the tables).';
COMMENT ON COLUMN concurrent_edit.active_sessions.project_id IS 'Project the session works on.';
COMMENT ON COLUMN concurrent_edit.active_sessions.session_id IS 'The session.';
COMMENT ON COLUMN concurrent_edit.active_sessions.user_id IS 'User (or agent) behind the session.';
COMMENT ON COLUMN concurrent_edit.active_sessions.role IS 'Database role that opened the session and owns it.';
COMMENT ON COLUMN concurrent_edit.active_sessions.sandbox_id IS 'Sandbox / workspace of the client, if any.';
COMMENT ON COLUMN concurrent_edit.active_sessions.status IS 'active or idle.';
COMMENT ON COLUMN concurrent_edit.active_sessions.created_at IS 'When the session was opened.';
COMMENT ON COLUMN concurrent_edit.active_sessions.last_active_at IS 'Last heartbeat (touch_session) or activity.';
COMMENT ON COLUMN concurrent_edit.active_sessions.inactive_for IS 'Time since last_active_at.';
COMMENT ON COLUMN concurrent_edit.active_sessions.open_files IS 'Files the session has open (open_file), by path.';
COMMENT ON COLUMN concurrent_edit.active_sessions.open_paths IS 'Their current paths, in the same order.';
COMMENT ON COLUMN concurrent_edit.active_sessions.drafts IS 'Unsaved drafts the session holds.';
COMMENT ON COLUMN concurrent_edit.active_sessions.has_draft IS 'Whether it holds at least one draft.';
COMMENT ON COLUMN concurrent_edit.active_sessions.locks IS 'Unexpired locks it holds.';

CREATE VIEW concurrent_edit.open_conflicts WITH (security_invoker = true) AS
SELECT c.project_id, c.id AS conflict_id, c.kind, c.file_id, f.path, c.row_relation, c.base_version,
       c.ours_version, c.theirs_version, c.strategy, concurrent_edit.conflict_regions(c.details) AS regions,
       c.session_id, c.created_by, c.created_role, c.created_at,
       pg_catalog.clock_timestamp() - c.created_at AS age
FROM concurrent_edit.conflict_history c
LEFT JOIN concurrent_edit.files f ON f.project_id = c.project_id AND f.id = c.file_id
WHERE c.resolved_at IS NULL;
COMMENT ON VIEW concurrent_edit.open_conflicts IS
    'Conflicts neither resolved nor discarded; rows of the projects the querying role can read, row conflicts of tables it may SELECT (it needs SELECT on the tables).';
COMMENT ON COLUMN concurrent_edit.open_conflicts.project_id IS 'Project of the file (the nil uuid for a row conflict without a project).';
COMMENT ON COLUMN concurrent_edit.open_conflicts.conflict_id IS 'Conflict id (for resolve_conflict / discard_conflict).';
COMMENT ON COLUMN concurrent_edit.open_conflicts.kind IS 'content, delete, rename or row.';
COMMENT ON COLUMN concurrent_edit.open_conflicts.file_id IS 'File in conflict (NULL for a row conflict).';
COMMENT ON COLUMN concurrent_edit.open_conflicts.path IS 'Current path of the file (NULL for a row conflict).';
COMMENT ON COLUMN concurrent_edit.open_conflicts.row_relation IS 'For a row conflict: the table.';
COMMENT ON COLUMN concurrent_edit.open_conflicts.base_version IS 'Common ancestor version.';
COMMENT ON COLUMN concurrent_edit.open_conflicts.ours_version IS 'Head version the write met.';
COMMENT ON COLUMN concurrent_edit.open_conflicts.theirs_version IS 'Version holding the other side when it was stored as one; NULL when theirs is the proposed text.';
COMMENT ON COLUMN concurrent_edit.open_conflicts.strategy IS 'Strategy of the conflicting write.';
COMMENT ON COLUMN concurrent_edit.open_conflicts.regions IS 'Conflicting regions of a content conflict, conflicting columns or paths of a row conflict (conflict_regions); 0 for a delete or rename conflict.';
COMMENT ON COLUMN concurrent_edit.open_conflicts.session_id IS 'Session of the conflicting write, if any.';
COMMENT ON COLUMN concurrent_edit.open_conflicts.created_by IS 'Author of the conflicting write.';
COMMENT ON COLUMN concurrent_edit.open_conflicts.created_role IS 'Database role whose write met the conflict.';
COMMENT ON COLUMN concurrent_edit.open_conflicts.created_at IS 'When the conflict was recorded.';
COMMENT ON COLUMN concurrent_edit.open_conflicts.age IS 'Time since created_at.';

CREATE VIEW concurrent_edit.feed_status WITH (security_invoker = true) AS
WITH pending AS (
    SELECT p.project_id, pg_catalog.count(*) AS events, pg_catalog.min(p.created_at) AS oldest
    FROM (SELECT project_id, created_at FROM concurrent_edit.change_pending
          UNION ALL SELECT project_id, created_at FROM concurrent_edit.change_pending_locks) p
    GROUP BY p.project_id),
rejected AS (
    SELECT r.project_id, pg_catalog.count(*) AS events
    FROM concurrent_edit.change_pending_rejected r GROUP BY r.project_id),
projects AS (
    SELECT project_id FROM concurrent_edit.change_feeds
    UNION SELECT project_id FROM pending
    UNION SELECT project_id FROM rejected)
SELECT k.project_id, COALESCE(p.events, 0) AS pending_events, p.oldest AS oldest_pending_at,
       pg_catalog.clock_timestamp() - p.oldest AS oldest_pending_age,
       COALESCE(f.last_cursor, 0) AS last_cursor, l.created_at AS last_cursor_at,
       COALESCE(f.pruned_through, 0) AS pruned_through, COALESCE(r.events, 0) AS rejected_events
FROM projects k
LEFT JOIN concurrent_edit.change_feeds f ON f.project_id = k.project_id
LEFT JOIN concurrent_edit.change_log l ON l.project_id = f.project_id AND l.cursor = f.last_cursor
LEFT JOIN pending p ON p.project_id = k.project_id
LEFT JOIN rejected r ON r.project_id = k.project_id;
COMMENT ON VIEW concurrent_edit.feed_status IS
    'Per project: change events waiting to be sequenced into the feed, the last cursor handed out, and events set aside; rows of the projects the querying role can read (it needs SELECT on the tables).';
COMMENT ON COLUMN concurrent_edit.feed_status.project_id IS 'Project.';
COMMENT ON COLUMN concurrent_edit.feed_status.pending_events IS 'Events of committed (or committing) transactions not yet sequenced (change_pending and change_pending_locks).';
COMMENT ON COLUMN concurrent_edit.feed_status.oldest_pending_at IS 'Time of the transaction of the oldest of them (NULL when none).';
COMMENT ON COLUMN concurrent_edit.feed_status.oldest_pending_age IS 'Time since oldest_pending_at: how far the feed lags behind (NULL when nothing is pending).';
COMMENT ON COLUMN concurrent_edit.feed_status.last_cursor IS 'Cursor of the newest sequenced event (0 before the first).';
COMMENT ON COLUMN concurrent_edit.feed_status.last_cursor_at IS 'Time of the transaction that made the event at last_cursor (NULL when it was pruned or none exists).';
COMMENT ON COLUMN concurrent_edit.feed_status.pruned_through IS 'Events up to this cursor were pruned (prune_changes).';
COMMENT ON COLUMN concurrent_edit.feed_status.rejected_events IS 'Pending events the sequencer set aside (change_pending_rejected).';

-- ---------------------------------------------------------------------------
-- Cluster-wide: the worker and the counters (shared memory). The functions check
-- the caller's rights themselves (src/pg/monitoring.cpp).

CREATE FUNCTION concurrent_edit.worker_status(
    OUT preloaded boolean, OUT database text, OUT pid integer, OUT running boolean, OUT serving boolean,
    OUT started_at timestamptz, OUT last_round_at timestamptz, OUT rounds bigint, OUT errors bigint,
    OUT last_error text, OUT last_error_sqlstate text, OUT last_error_at timestamptz,
    OUT pending_events bigint, OUT oldest_pending_at timestamptz)
    RETURNS record
    AS 'MODULE_PATHNAME', 'ce_worker_status'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.worker_status() IS
    'The background worker: whether it runs and serves this database, its rounds and errors since the server started, and this database''s unsequenced events. Needs admin on every project or the privileges of pg_read_all_stats (42501 otherwise). The worker_status view adds the lags.';

CREATE VIEW concurrent_edit.worker_status WITH (security_invoker = true) AS
SELECT w.preloaded, w.database, w.pid, w.running, w.serving, w.started_at, w.last_round_at,
       pg_catalog.clock_timestamp() - w.last_round_at AS since_last_round, w.rounds, w.errors,
       w.last_error, w.last_error_sqlstate, w.last_error_at, w.pending_events,
       pg_catalog.clock_timestamp() - w.oldest_pending_at AS oldest_pending_age
FROM concurrent_edit.worker_status() w;
COMMENT ON VIEW concurrent_edit.worker_status IS
    'The background worker (one per cluster, serving the database concurrent_edit.database): running or not, its last round, its errors, and the backlog of this database. One row; readable by admins of every project and pg_read_all_stats (pg_monitor) members.';
COMMENT ON COLUMN concurrent_edit.worker_status.preloaded IS 'Whether concurrent_edit is in shared_preload_libraries (without it there is no worker and the next columns but the backlog are NULL or false: database too, the setting exists only when preloaded).';
COMMENT ON COLUMN concurrent_edit.worker_status.database IS 'The database the worker serves (concurrent_edit.database).';
COMMENT ON COLUMN concurrent_edit.worker_status.pid IS 'Process id of the worker (NULL when it is not running).';
COMMENT ON COLUMN concurrent_edit.worker_status.running IS 'Whether the worker process is running (also while it waits for its database: serving is then false).';
COMMENT ON COLUMN concurrent_edit.worker_status.serving IS 'Whether it serves this database (connected here, extension installed): API transactions then leave sequencing and NOTIFY to it.';
COMMENT ON COLUMN concurrent_edit.worker_status.started_at IS 'When the worker (last) started.';
COMMENT ON COLUMN concurrent_edit.worker_status.last_round_at IS 'End of its last round done (sequencing, and cleanup when due); a round in which a task failed or waits for its retry does not count.';
COMMENT ON COLUMN concurrent_edit.worker_status.since_last_round IS 'Time since last_round_at: a worker that sleeps waits at most concurrent_edit.worker_interval between rounds.';
COMMENT ON COLUMN concurrent_edit.worker_status.rounds IS 'Rounds since the server started (failed ones too).';
COMMENT ON COLUMN concurrent_edit.worker_status.errors IS 'Errors of its tasks since the server started (each logged; the task is retried next round).';
COMMENT ON COLUMN concurrent_edit.worker_status.last_error IS 'Message of the last error (at most 255 bytes).';
COMMENT ON COLUMN concurrent_edit.worker_status.last_error_sqlstate IS 'SQLSTATE of the last error.';
COMMENT ON COLUMN concurrent_edit.worker_status.last_error_at IS 'When the last error happened.';
COMMENT ON COLUMN concurrent_edit.worker_status.pending_events IS 'Events of this database not yet sequenced (every project).';
COMMENT ON COLUMN concurrent_edit.worker_status.oldest_pending_age IS 'Age of the oldest of them: the sequencing lag of this database (NULL when none).';

CREATE FUNCTION concurrent_edit.stats(
    OUT writes_written bigint, OUT writes_merged bigint, OUT writes_overwritten bigint,
    OUT writes_unchanged bigint, OUT writes_conflict bigint, OUT writes_rejected bigint, OUT writes_failed bigint,
    OUT merges bigint, OUT merge_conflicts bigint, OUT merge_time_total_ms double precision,
    OUT merge_time_max_ms double precision, OUT conflicts_recorded bigint, OUT lock_acquisitions bigint,
    OUT lock_waits bigint, OUT lock_timeouts bigint, OUT stats_reset timestamptz)
    RETURNS record
    AS 'MODULE_PATHNAME', 'ce_stats'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.stats() IS
    'Cumulative counters of the cluster since stats_reset (shared memory): 55000 unless concurrent_edit is in shared_preload_libraries; needs admin on every project or the privileges of pg_read_all_stats (42501 otherwise).';

CREATE FUNCTION concurrent_edit.stats_reset() RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'ce_stats_reset'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.stats_reset() IS
    'Zeroes the counters of the stats view and returns the new stats_reset. Needs admin on every project (42501 otherwise); 55000 when not preloaded.';

CREATE VIEW concurrent_edit.stats WITH (security_invoker = true) AS
SELECT * FROM concurrent_edit.stats();
COMMENT ON VIEW concurrent_edit.stats IS
    'Cumulative counters of writes, merges, conflicts and locks of every database of the cluster since stats_reset. One row. Needs concurrent_edit in shared_preload_libraries (55000 otherwise); readable by admins of every project and pg_read_all_stats (pg_monitor) members.';
COMMENT ON COLUMN concurrent_edit.stats.writes_written IS 'Writes (write, write_many elements, commit_draft) that returned status written.';
COMMENT ON COLUMN concurrent_edit.stats.writes_merged IS '... status merged (stale base, merged cleanly).';
COMMENT ON COLUMN concurrent_edit.stats.writes_overwritten IS '... status overwritten (last-write-wins over a newer head).';
COMMENT ON COLUMN concurrent_edit.stats.writes_unchanged IS '... status unchanged (the result was already the head).';
COMMENT ON COLUMN concurrent_edit.stats.writes_conflict IS '... status conflict (recorded, nothing written).';
COMMENT ON COLUMN concurrent_edit.stats.writes_rejected IS '... status rejected (first-write-wins over a newer head).';
COMMENT ON COLUMN concurrent_edit.stats.writes_failed IS 'write, write_many and commit_draft calls that raised an error instead (a refusal such as VC001 under fail-fast, VC004, 42501, bad arguments, a cancel); a write_many that raises counts once.';
COMMENT ON COLUMN concurrent_edit.stats.merges IS 'Three-way merges run by writes from a stale base.';
COMMENT ON COLUMN concurrent_edit.stats.merge_conflicts IS 'Those of them that met conflicting regions.';
COMMENT ON COLUMN concurrent_edit.stats.merge_time_total_ms IS 'Time spent in those merges, in milliseconds.';
COMMENT ON COLUMN concurrent_edit.stats.merge_time_max_ms IS 'The longest of them, in milliseconds.';
COMMENT ON COLUMN concurrent_edit.stats.conflicts_recorded IS 'File conflicts recorded in conflict_history (content, delete, rename; row conflicts are not counted here).';
COMMENT ON COLUMN concurrent_edit.stats.lock_acquisitions IS 'acquire_lock calls that got (or refreshed) the lock.';
COMMENT ON COLUMN concurrent_edit.stats.lock_waits IS 'acquire_lock calls that had to wait for another session''s lock (counted once per call, whatever its outcome).';
COMMENT ON COLUMN concurrent_edit.stats.lock_timeouts IS 'acquire_lock calls refused with 55P03: the lock was not free within their wait (wait 0 included).';
COMMENT ON COLUMN concurrent_edit.stats.stats_reset IS 'When the counters were last zeroed (stats_reset(), or the server''s start).';

GRANT SELECT ON concurrent_edit.active_locks, concurrent_edit.lock_waits, concurrent_edit.active_sessions,
    concurrent_edit.open_conflicts, concurrent_edit.feed_status, concurrent_edit.worker_status, concurrent_edit.stats TO PUBLIC;
