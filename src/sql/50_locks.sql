-- File locks: leases held by edit sessions (docs/reference/locks.md,
-- src/pg/locks.cpp).

-- A lock is a lease, not data: file_locks is UNLOGGED, like PostgreSQL's own
-- heavyweight and advisory locks it does not survive a crash (a clean restart
-- keeps it), and a lock cycle commits without waiting for a WAL flush. No edit
-- depends on a lock for its safety: writes are versioned and merged whether or not
-- a lock was held. For the same reason there are no foreign keys (their checks
-- would lock and WAL-log the file and session rows on every acquire): the deletion
-- of a file or session deletes its locks through triggers (below),
-- and acquire_lock checks both rows itself.
CREATE UNLOGGED TABLE concurrent_edit.file_locks (
    project_id  uuid        NOT NULL,
    file_id     uuid        NOT NULL,
    session_id  uuid        NOT NULL,
    id          uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    holder      uuid        NOT NULL,
    lock_type   text        NOT NULL,
    acquired_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    expires_at  timestamptz NOT NULL,
    CONSTRAINT file_locks_pkey PRIMARY KEY (project_id, file_id, session_id),
    CONSTRAINT file_locks_type_check CHECK (lock_type IN ('exclusive', 'shared')),
    CONSTRAINT file_locks_expiry_check CHECK (expires_at > acquired_at)
);
COMMENT ON TABLE concurrent_edit.file_locks IS
    'Advisory file locks held by edit sessions: one exclusive holder, or any number of shared holders. A lock past expires_at is ignored even before cleanup deletes it. Unlogged: locks are leases that a crash (not a clean restart) clears, and they are not replicated to standbys.';
COMMENT ON COLUMN concurrent_edit.file_locks.project_id IS 'Project of the file; distribution key.';
COMMENT ON COLUMN concurrent_edit.file_locks.file_id IS 'Locked file.';
COMMENT ON COLUMN concurrent_edit.file_locks.session_id IS 'Session holding the lock (one lock per session and file).';
COMMENT ON COLUMN concurrent_edit.file_locks.id IS 'Lock id (in results and events; a new id when a released lock is acquired again).';
COMMENT ON COLUMN concurrent_edit.file_locks.holder IS 'User behind the holding session.';
COMMENT ON COLUMN concurrent_edit.file_locks.lock_type IS 'exclusive or shared.';
COMMENT ON COLUMN concurrent_edit.file_locks.acquired_at IS 'When the lock was (re)acquired.';
COMMENT ON COLUMN concurrent_edit.file_locks.expires_at IS 'When the lock lapses unless extended.';
-- The primary key is the only index: every lock cycle maintains it, and the
-- locks of a session are found among its project's (release_session_locks).
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.file_locks', '');

CREATE TYPE concurrent_edit.lock_info AS (
    lock_id     uuid,
    lock_type   text,
    expires_at  timestamptz,
    acquired_at timestamptz
);
COMMENT ON TYPE concurrent_edit.lock_info IS 'Result of acquire_lock(): the lock now held.';
COMMENT ON COLUMN concurrent_edit.lock_info.lock_id IS 'Lock id (file_locks.id).';
COMMENT ON COLUMN concurrent_edit.lock_info.lock_type IS 'exclusive or shared.';
COMMENT ON COLUMN concurrent_edit.lock_info.expires_at IS 'When the lock lapses unless extended.';
COMMENT ON COLUMN concurrent_edit.lock_info.acquired_at IS 'When this session first took the lock (of this type).';
CREATE TYPE concurrent_edit.lock_holder AS (
    lock_id     uuid,
    session_id  uuid,
    holder      uuid,
    lock_type   text,
    acquired_at timestamptz,
    expires_at  timestamptz
);
COMMENT ON TYPE concurrent_edit.lock_holder IS 'A row of lock_status(): a lock currently held on a file.';
COMMENT ON COLUMN concurrent_edit.lock_holder.lock_id IS 'Lock id.';
COMMENT ON COLUMN concurrent_edit.lock_holder.session_id IS 'Session holding it.';
COMMENT ON COLUMN concurrent_edit.lock_holder.holder IS 'User behind that session.';
COMMENT ON COLUMN concurrent_edit.lock_holder.lock_type IS 'exclusive or shared.';
COMMENT ON COLUMN concurrent_edit.lock_holder.acquired_at IS 'When it was taken.';
COMMENT ON COLUMN concurrent_edit.lock_holder.expires_at IS 'When it lapses.';
CREATE FUNCTION concurrent_edit.acquire_lock(file_id uuid, session_id uuid, lock_type text DEFAULT 'exclusive',
                                             ttl interval DEFAULT NULL, wait interval DEFAULT '0',
                                             require_version integer DEFAULT NULL)
    RETURNS concurrent_edit.lock_info
    AS 'MODULE_PATHNAME', 'ce_acquire_lock'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.acquire_lock(uuid, uuid, text, interval, interval, integer) IS
    'Takes an exclusive or shared lock on a file for a session, for ttl (default concurrent_edit.lock_ttl). Shared locks coexist; an exclusive lock excludes every other. Re-acquiring refreshes (or converts) the session''s own lock. Waits up to wait (default 0) without polling; then 55P03 with a JSON DETAIL naming the holders. require_version: lock only if that is the head version (else VC001).';
CREATE FUNCTION concurrent_edit.release_lock(file_id uuid, session_id uuid) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_release_lock'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.release_lock(uuid, uuid) IS
    'Releases the session''s lock on a file: true if it held one, false otherwise (another session''s lock is never touched).';
CREATE FUNCTION concurrent_edit.extend_lock(file_id uuid, session_id uuid, ttl interval DEFAULT NULL)
    RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'ce_extend_lock'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.extend_lock(uuid, uuid, interval) IS
    'Moves the expiry of the session''s unexpired lock to now + ttl and returns it. VC013 when the session holds no unexpired lock on the file.';
CREATE FUNCTION concurrent_edit.lock_status(file_id uuid)
    RETURNS SETOF concurrent_edit.lock_holder
    AS 'MODULE_PATHNAME', 'ce_lock_status'
    LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.lock_status(uuid) IS 'Unexpired locks of a file.';
CREATE FUNCTION concurrent_edit.release_session_locks(session_id uuid) RETURNS integer
    AS 'MODULE_PATHNAME', 'ce_release_session_locks'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.release_session_locks(uuid) IS
    'Releases every lock of a session; returns how many.';
CREATE FUNCTION concurrent_edit.force_release_lock(file_id uuid, reason text) RETURNS integer
    AS 'MODULE_PATHNAME', 'ce_force_release_lock'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.force_release_lock(uuid, text) IS
    'Administrators only: removes every lock on a file and notifies the holders (event lock_forced with the reason). Returns how many.';
CREATE FUNCTION concurrent_edit.cleanup_expired_locks() RETURNS integer
    AS 'MODULE_PATHNAME', 'ce_cleanup_expired_locks'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.cleanup_expired_locks() IS
    'Deletes expired locks (lock_expired events) and locks whose session is closed or gone (lock_released); returns how many. The background worker runs it every concurrent_edit.worker_interval; expired locks block no one even before it runs.';
-- file_locks has no foreign keys (see above): deleting files or sessions deletes
-- their locks here, once per statement. The trigger functions run as the table
-- owner would (they are only fired by changes to the extension's own tables).
CREATE FUNCTION concurrent_edit._drop_locks_of_files() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM concurrent_edit.file_locks l USING gone g WHERE l.project_id = g.project_id AND l.file_id = g.id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION concurrent_edit._drop_locks_of_files() IS 'Internal trigger: deleted files lose their locks.';
REVOKE ALL ON FUNCTION concurrent_edit._drop_locks_of_files() FROM PUBLIC;
CREATE TRIGGER files_drop_locks AFTER DELETE ON concurrent_edit.files
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION concurrent_edit._drop_locks_of_files();
COMMENT ON TRIGGER files_drop_locks ON concurrent_edit.files IS 'Deletes the locks of deleted files (file_locks has no foreign key).';
-- Closed sessions are skipped: their locks went when they closed (the worker's
-- close of a timed-out session leaves those beyond 5,000 to its next rounds),
-- and one taken while a session closed is released by the worker
-- (cleanup_expired_locks: locks whose session is closed or gone). The purge of closed sessions after
-- concurrent_edit.closed_session_retention deletes them in bulk, and each lookup
-- here walks its project's entries in the primary key (live and dead: file_locks
-- has no index by session), 1.8 s per thousand sessions after a project's 100,000
-- locks went (TAP 036_stale_plans).
CREATE FUNCTION concurrent_edit._drop_locks_of_sessions() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM concurrent_edit.file_locks l USING gone g
    WHERE g.status <> 'closed' AND l.project_id = g.project_id AND l.session_id = g.id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION concurrent_edit._drop_locks_of_sessions() IS 'Internal trigger: deleted sessions that were not closed lose their locks.';
REVOKE ALL ON FUNCTION concurrent_edit._drop_locks_of_sessions() FROM PUBLIC;
CREATE TRIGGER edit_sessions_drop_locks AFTER DELETE ON concurrent_edit.edit_sessions
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION concurrent_edit._drop_locks_of_sessions();
COMMENT ON TRIGGER edit_sessions_drop_locks ON concurrent_edit.edit_sessions IS 'Deletes the locks of deleted sessions that were not closed (file_locks has no foreign key; a closed session''s locks went when it closed).';
