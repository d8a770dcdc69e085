-- Edit sessions, presence, drafts and file locks.

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
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.acquire_lock(uuid, uuid, text, interval, interval, integer) IS
    'Takes an exclusive or shared lock on a file for a session, for ttl (default concurrent_edit.lock_ttl). Shared locks coexist; an exclusive lock excludes every other. Re-acquiring refreshes (or converts) the session''s own lock. Waits up to wait (default 0) without polling; then 55P03 with a JSON DETAIL naming the holders. require_version: lock only if that is the head version (else VC001).';

CREATE FUNCTION concurrent_edit.release_lock(file_id uuid, session_id uuid) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_release_lock'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.release_lock(uuid, uuid) IS
    'Releases the session''s lock on a file: true if it held one, false otherwise (another session''s lock is never touched).';

CREATE FUNCTION concurrent_edit.extend_lock(file_id uuid, session_id uuid, ttl interval DEFAULT NULL)
    RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'ce_extend_lock'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.extend_lock(uuid, uuid, interval) IS
    'Moves the expiry of the session''s unexpired lock to now + ttl and returns it. VC013 when the session holds no unexpired lock on the file.';

CREATE FUNCTION concurrent_edit.lock_status(file_id uuid) RETURNS SETOF concurrent_edit.lock_holder
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT l.id, l.session_id, l.holder, l.lock_type, l.acquired_at, l.expires_at
    FROM concurrent_edit.files f
    JOIN concurrent_edit.file_locks l ON l.project_id = f.project_id AND l.file_id = f.id
    WHERE f.id = $1 AND l.expires_at > pg_catalog.clock_timestamp()
    ORDER BY l.acquired_at, l.id
$$;
COMMENT ON FUNCTION concurrent_edit.lock_status(uuid) IS 'Unexpired locks of a file.';

CREATE FUNCTION concurrent_edit.release_session_locks(session_id uuid) RETURNS integer
    AS 'MODULE_PATHNAME', 'ce_release_session_locks'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.release_session_locks(uuid) IS
    'Releases every lock of a session; returns how many.';

CREATE FUNCTION concurrent_edit.force_release_lock(file_id uuid, reason text) RETURNS integer
    AS 'MODULE_PATHNAME', 'ce_force_release_lock'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.force_release_lock(uuid, text) IS
    'Administrators only: removes every lock on a file and notifies the holders (event lock_forced with the reason). Returns how many.';

CREATE FUNCTION concurrent_edit.cleanup_expired_locks() RETURNS integer
    AS 'MODULE_PATHNAME', 'ce_cleanup_expired_locks'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.cleanup_expired_locks() IS
    'Deletes expired locks (lock_expired events) and locks whose session is closed or gone (lock_released); returns how many. The background worker runs it every concurrent_edit.worker_interval; expired locks block no one even before it runs.';

-- ---------------------------------------------------------------------------
-- Sessions

CREATE FUNCTION concurrent_edit.open_session(user_id uuid, project_id uuid, sandbox_id text DEFAULT NULL,
                                             metadata jsonb DEFAULT '{}') RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    sid uuid;
BEGIN
    IF open_session.user_id IS NULL OR open_session.project_id IS NULL THEN
        RAISE EXCEPTION 'user_id and project_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF open_session.metadata IS NOT NULL AND jsonb_typeof(open_session.metadata) <> 'object' THEN
        RAISE EXCEPTION 'metadata must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF open_session.sandbox_id IS NOT NULL AND length(open_session.sandbox_id) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'sandbox_id must have 1 to 200 characters' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO concurrent_edit.edit_sessions (project_id, user_id, sandbox_id, metadata)
    VALUES (open_session.project_id, open_session.user_id, open_session.sandbox_id,
            coalesce(open_session.metadata, '{}'))
    RETURNING id INTO sid;
    PERFORM concurrent_edit._emit(open_session.project_id, 'session_joined', NULL, sid, open_session.user_id);
    RETURN sid;
END
$$;
COMMENT ON FUNCTION concurrent_edit.open_session(uuid, uuid, text, jsonb) IS
    'Opens an edit session of a user (or agent) in a project and returns its id (event session_joined).';

CREATE FUNCTION concurrent_edit._session(session_id uuid, lock_row boolean DEFAULT false)
    RETURNS concurrent_edit.edit_sessions
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s concurrent_edit.edit_sessions;
BEGIN
    IF _session.session_id IS NULL THEN
        RAISE EXCEPTION 'argument "session_id" must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF lock_row THEN
        SELECT * INTO s FROM concurrent_edit.edit_sessions x WHERE x.id = _session.session_id FOR UPDATE;
    ELSE
        SELECT * INTO s FROM concurrent_edit.edit_sessions x WHERE x.id = _session.session_id;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'session % does not exist', _session.session_id
            USING ERRCODE = 'VC005', DETAIL = json_build_object('session_id', _session.session_id)::text;
    END IF;
    RETURN s;
END
$$;
COMMENT ON FUNCTION concurrent_edit._session(uuid, boolean) IS 'Internal: the session row, or VC005.';
REVOKE ALL ON FUNCTION concurrent_edit._session(uuid, boolean) FROM PUBLIC;

CREATE FUNCTION concurrent_edit._active_session(session_id uuid) RETURNS concurrent_edit.edit_sessions
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s concurrent_edit.edit_sessions;
BEGIN
    s := concurrent_edit._session(_active_session.session_id);
    IF s.status = 'closed' THEN
        RAISE EXCEPTION 'session % is closed', s.id
            USING ERRCODE = 'VC005', HINT = 'Open a new session with open_session().',
                  DETAIL = json_build_object('session_id', s.id, 'status', 'closed')::text;
    END IF;
    IF s.last_active_at < now() - concurrent_edit._setting('concurrent_edit.session_close_timeout')::interval THEN
        RAISE EXCEPTION 'session % timed out', s.id
            USING ERRCODE = 'VC005', HINT = 'It was inactive for longer than concurrent_edit.session_close_timeout; open a new session.',
                  DETAIL = json_build_object('session_id', s.id, 'status', s.status)::text;
    END IF;
    -- Activity keeps the session active (written at most once a second).
    IF s.status <> 'active' OR s.last_active_at < now() - interval '1 second' THEN
        UPDATE concurrent_edit.edit_sessions SET status = 'active', last_active_at = now()
        WHERE project_id = s.project_id AND id = s.id;
        s.status := 'active';
    END IF;
    RETURN s;
END
$$;
COMMENT ON FUNCTION concurrent_edit._active_session(uuid) IS
    'Internal: the session row after recording activity; VC005 if it does not exist or is closed.';
REVOKE ALL ON FUNCTION concurrent_edit._active_session(uuid) FROM PUBLIC;

CREATE FUNCTION concurrent_edit.touch_session(session_id uuid) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (concurrent_edit._active_session(touch_session.session_id)).status;
END
$$;
COMMENT ON FUNCTION concurrent_edit.touch_session(uuid) IS
    'Heartbeat: records activity (an idle session becomes active again) and returns the status. VC005 for a closed or unknown session.';

CREATE FUNCTION concurrent_edit.close_session(session_id uuid, discard_drafts boolean DEFAULT false)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s concurrent_edit.edit_sessions;
BEGIN
    s := concurrent_edit._session(close_session.session_id, true);
    IF s.status = 'closed' THEN
        RETURN false;
    END IF;
    PERFORM concurrent_edit.release_session_locks(s.id);
    DELETE FROM concurrent_edit.session_files f WHERE f.project_id = s.project_id AND f.session_id = s.id;
    IF coalesce(close_session.discard_drafts, false) THEN
        DELETE FROM concurrent_edit.pending_changes p WHERE p.project_id = s.project_id AND p.session_id = s.id;
    END IF;
    UPDATE concurrent_edit.edit_sessions SET status = 'closed', closed_at = now()
    WHERE project_id = s.project_id AND id = s.id;
    PERFORM concurrent_edit._emit(s.project_id, 'session_left', NULL, s.id, s.user_id);
    RETURN true;
END
$$;
COMMENT ON FUNCTION concurrent_edit.close_session(uuid, boolean) IS
    'Closes a session: releases all its locks, closes its files, and keeps its drafts (readable with session_drafts(), still reported as unsaved work to nobody) unless discard_drafts. Returns false if it was already closed.';

CREATE FUNCTION concurrent_edit.cleanup_inactive_sessions() RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    idle_after interval := concurrent_edit._setting('concurrent_edit.session_idle_timeout')::interval;
    close_after interval := concurrent_edit._setting('concurrent_edit.session_close_timeout')::interval;
    r record;
    n integer := 0;
BEGIN
    FOR r IN
        SELECT s.project_id, s.id FROM concurrent_edit.edit_sessions s
        WHERE s.status <> 'closed' AND s.last_active_at < now() - close_after
        ORDER BY s.project_id, s.id
        FOR UPDATE SKIP LOCKED
    LOOP
        PERFORM concurrent_edit.close_session(r.id);
        n := n + 1;
    END LOOP;
    FOR r IN
        UPDATE concurrent_edit.edit_sessions s SET status = 'idle'
        WHERE s.status = 'active' AND s.last_active_at < now() - idle_after
        RETURNING s.project_id, s.id, s.user_id
    LOOP
        PERFORM concurrent_edit._emit(r.project_id, 'session_idle', NULL, r.id, r.user_id);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION concurrent_edit.cleanup_inactive_sessions() IS
    'Moves sessions inactive for concurrent_edit.session_idle_timeout to idle, and closes those inactive for concurrent_edit.session_close_timeout (releasing their locks). Returns how many changed. The background worker runs it every concurrent_edit.worker_interval.';

-- ---------------------------------------------------------------------------
-- Presence

CREATE TYPE concurrent_edit.presence_warning AS (
    kind       text,
    message    text,
    session_id uuid,
    user_id    uuid,
    since      timestamptz,
    until      timestamptz
);
COMMENT ON TYPE concurrent_edit.presence_warning IS 'A warning open_file() returns for the editor to show.';
COMMENT ON COLUMN concurrent_edit.presence_warning.kind IS 'locked, unsaved_changes or deleted.';
COMMENT ON COLUMN concurrent_edit.presence_warning.message IS 'Human-readable text.';
COMMENT ON COLUMN concurrent_edit.presence_warning.session_id IS 'The other session concerned, if any.';
COMMENT ON COLUMN concurrent_edit.presence_warning.user_id IS 'Its user (or who deleted the file).';
COMMENT ON COLUMN concurrent_edit.presence_warning.since IS 'Since when (lock taken, draft saved, file deleted).';
COMMENT ON COLUMN concurrent_edit.presence_warning.until IS 'Until when (lock expiry), if known.';

CREATE FUNCTION concurrent_edit._file(file_id uuid) RETURNS concurrent_edit.files
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f concurrent_edit.files;
BEGIN
    IF _file.file_id IS NULL THEN
        RAISE EXCEPTION 'argument "file_id" must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO f FROM concurrent_edit.files x WHERE x.id = _file.file_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'file % does not exist', _file.file_id USING ERRCODE = 'VC007';
    END IF;
    RETURN f;
END
$$;
COMMENT ON FUNCTION concurrent_edit._file(uuid) IS 'Internal: the file row, or VC007.';
REVOKE ALL ON FUNCTION concurrent_edit._file(uuid) FROM PUBLIC;

CREATE FUNCTION concurrent_edit._same_project(s concurrent_edit.edit_sessions, f concurrent_edit.files) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF s.project_id <> f.project_id THEN
        RAISE EXCEPTION 'session % belongs to another project than file %', s.id, f.id
            USING ERRCODE = 'VC005',
                  DETAIL = json_build_object('session_id', s.id, 'session_project_id', s.project_id,
                                             'file_id', f.id, 'project_id', f.project_id)::text;
    END IF;
END
$$;
COMMENT ON FUNCTION concurrent_edit._same_project(concurrent_edit.edit_sessions, concurrent_edit.files) IS
    'Internal: VC005 unless the session and the file belong to one project.';
REVOKE ALL ON FUNCTION concurrent_edit._same_project(concurrent_edit.edit_sessions, concurrent_edit.files) FROM PUBLIC;

CREATE FUNCTION concurrent_edit.open_file(session_id uuid, file_id uuid)
    RETURNS SETOF concurrent_edit.presence_warning
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s concurrent_edit.edit_sessions := concurrent_edit._active_session(open_file.session_id);
    f concurrent_edit.files := concurrent_edit._file(open_file.file_id);
BEGIN
    PERFORM concurrent_edit._same_project(s, f);
    INSERT INTO concurrent_edit.session_files (project_id, session_id, file_id)
    VALUES (f.project_id, s.id, f.id) ON CONFLICT DO NOTHING;
    IF FOUND THEN
        PERFORM concurrent_edit._emit(f.project_id, 'file_opened', f.id, s.id, s.user_id, f.normalized_path);
    END IF;
    IF f.deleted_at IS NOT NULL THEN
        RETURN NEXT ROW('deleted', 'the file was deleted', NULL::uuid, f.deleted_by, f.deleted_at,
                        NULL::timestamptz)::concurrent_edit.presence_warning;
    END IF;
    RETURN QUERY
        SELECT 'locked', 'the file is locked exclusively by another session', l.session_id, l.holder,
               l.acquired_at, l.expires_at
        FROM concurrent_edit.file_locks l
        WHERE l.project_id = f.project_id AND l.file_id = f.id AND l.session_id <> s.id
          AND l.lock_type = 'exclusive' AND l.expires_at > clock_timestamp();
    RETURN QUERY
        SELECT 'unsaved_changes', 'another session has unsaved changes to the file', p.session_id, o.user_id,
               p.updated_at, NULL::timestamptz
        FROM concurrent_edit.pending_changes p
        JOIN concurrent_edit.edit_sessions o ON o.project_id = p.project_id AND o.id = p.session_id
        WHERE p.project_id = f.project_id AND p.file_id = f.id AND p.session_id <> s.id AND o.status <> 'closed'
        ORDER BY p.updated_at, p.session_id;
END
$$;
COMMENT ON FUNCTION concurrent_edit.open_file(uuid, uuid) IS
    'Records that the session has the file open (event file_opened) and returns the warnings an editor should show: locked (by whom, until when), unsaved_changes (other sessions'' drafts), deleted.';

CREATE FUNCTION concurrent_edit.close_file(session_id uuid, file_id uuid) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s concurrent_edit.edit_sessions := concurrent_edit._session(close_file.session_id);
    path text;
BEGIN
    DELETE FROM concurrent_edit.session_files x USING concurrent_edit.files f
    WHERE x.project_id = s.project_id AND x.session_id = s.id AND x.file_id = close_file.file_id
      AND f.project_id = x.project_id AND f.id = x.file_id
    RETURNING f.normalized_path INTO path;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM concurrent_edit._emit(s.project_id, 'file_closed', close_file.file_id, s.id, s.user_id, path);
    RETURN true;
END
$$;
COMMENT ON FUNCTION concurrent_edit.close_file(uuid, uuid) IS
    'Records that the session closed the file (event file_closed); false if it did not have it open.';

CREATE TYPE concurrent_edit.file_editor AS (
    session_id     uuid,
    user_id        uuid,
    sandbox_id     text,
    status         text,
    opened_at      timestamptz,
    last_active_at timestamptz,
    has_draft      boolean,
    lock_type      text
);
COMMENT ON TYPE concurrent_edit.file_editor IS 'A row of file_editors(): a session that has the file open.';
COMMENT ON COLUMN concurrent_edit.file_editor.session_id IS 'The session.';
COMMENT ON COLUMN concurrent_edit.file_editor.user_id IS 'Its user.';
COMMENT ON COLUMN concurrent_edit.file_editor.sandbox_id IS 'Its sandbox, if any.';
COMMENT ON COLUMN concurrent_edit.file_editor.status IS 'active or idle.';
COMMENT ON COLUMN concurrent_edit.file_editor.opened_at IS 'When it opened the file.';
COMMENT ON COLUMN concurrent_edit.file_editor.last_active_at IS 'Its last activity.';
COMMENT ON COLUMN concurrent_edit.file_editor.has_draft IS 'Whether it holds an unsaved draft of the file.';
COMMENT ON COLUMN concurrent_edit.file_editor.lock_type IS 'Its unexpired lock on the file, if any.';

CREATE FUNCTION concurrent_edit.file_editors(file_id uuid) RETURNS SETOF concurrent_edit.file_editor
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.id, s.user_id, s.sandbox_id, s.status, o.opened_at, s.last_active_at,
           EXISTS (SELECT 1 FROM concurrent_edit.pending_changes p
                   WHERE p.project_id = o.project_id AND p.session_id = s.id AND p.file_id = o.file_id),
           (SELECT l.lock_type FROM concurrent_edit.file_locks l
             WHERE l.project_id = o.project_id AND l.session_id = s.id AND l.file_id = o.file_id
               AND l.expires_at > clock_timestamp())
    FROM concurrent_edit.session_files o
    JOIN concurrent_edit.edit_sessions s ON s.project_id = o.project_id AND s.id = o.session_id
    WHERE o.file_id = $1 AND s.status <> 'closed'
    ORDER BY o.opened_at, s.id
$$;
COMMENT ON FUNCTION concurrent_edit.file_editors(uuid) IS 'Sessions (not closed) that have the file open, with their draft and lock.';

CREATE TYPE concurrent_edit.session_info AS (
    session_id     uuid,
    user_id        uuid,
    sandbox_id     text,
    status         text,
    created_at     timestamptz,
    last_active_at timestamptz,
    open_files     integer,
    drafts         integer,
    locks          integer,
    metadata       jsonb
);
COMMENT ON TYPE concurrent_edit.session_info IS 'A row of project_sessions().';
COMMENT ON COLUMN concurrent_edit.session_info.session_id IS 'The session.';
COMMENT ON COLUMN concurrent_edit.session_info.user_id IS 'Its user.';
COMMENT ON COLUMN concurrent_edit.session_info.sandbox_id IS 'Its sandbox, if any.';
COMMENT ON COLUMN concurrent_edit.session_info.status IS 'active or idle.';
COMMENT ON COLUMN concurrent_edit.session_info.created_at IS 'When it was opened.';
COMMENT ON COLUMN concurrent_edit.session_info.last_active_at IS 'Its last activity.';
COMMENT ON COLUMN concurrent_edit.session_info.open_files IS 'Files it has open.';
COMMENT ON COLUMN concurrent_edit.session_info.drafts IS 'Unsaved drafts it holds.';
COMMENT ON COLUMN concurrent_edit.session_info.locks IS 'Unexpired locks it holds.';
COMMENT ON COLUMN concurrent_edit.session_info.metadata IS 'Its client metadata.';

CREATE FUNCTION concurrent_edit.project_sessions(project_id uuid) RETURNS SETOF concurrent_edit.session_info
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.id, s.user_id, s.sandbox_id, s.status, s.created_at, s.last_active_at,
           (SELECT count(*)::integer FROM concurrent_edit.session_files o
             WHERE o.project_id = s.project_id AND o.session_id = s.id),
           (SELECT count(*)::integer FROM concurrent_edit.pending_changes p
             WHERE p.project_id = s.project_id AND p.session_id = s.id),
           coalesce(l.locks, 0),
           s.metadata
    FROM concurrent_edit.edit_sessions s
    -- The project's locks counted once (file_locks is keyed by project and file).
    LEFT JOIN (SELECT l.session_id, count(*)::integer AS locks FROM concurrent_edit.file_locks l
               WHERE l.project_id = $1 AND l.expires_at > clock_timestamp() GROUP BY l.session_id) l
           ON l.session_id = s.id
    WHERE s.project_id = $1 AND s.status <> 'closed'
    ORDER BY s.created_at, s.id
$$;
COMMENT ON FUNCTION concurrent_edit.project_sessions(uuid) IS 'Open (active or idle) sessions of a project, with their files, drafts and locks.';

-- ---------------------------------------------------------------------------
-- Drafts

CREATE FUNCTION concurrent_edit.save_draft(session_id uuid, file_id uuid, base_version integer, content text)
    RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s concurrent_edit.edit_sessions := concurrent_edit._active_session(save_draft.session_id);
    f concurrent_edit.files := concurrent_edit._file(save_draft.file_id);
    saved timestamptz;
BEGIN
    PERFORM concurrent_edit._same_project(s, f);
    IF save_draft.content IS NULL OR save_draft.base_version IS NULL THEN
        RAISE EXCEPTION 'base_version and content must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF octet_length(save_draft.content) > pg_catalog.pg_size_bytes(concurrent_edit._setting('concurrent_edit.max_input_size')) THEN
        RAISE EXCEPTION 'argument "content" is too large' USING ERRCODE = 'program_limit_exceeded';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM concurrent_edit.file_versions v
                   WHERE v.project_id = f.project_id AND v.file_id = f.id AND v.version = save_draft.base_version) THEN
        RAISE EXCEPTION 'version % of file % does not exist', save_draft.base_version, f.id
            USING ERRCODE = 'VC006', DETAIL = format('The head version is %s.', f.head_version);
    END IF;
    INSERT INTO concurrent_edit.pending_changes AS p (project_id, session_id, file_id, base_version, content)
    VALUES (f.project_id, s.id, f.id, save_draft.base_version, save_draft.content)
    ON CONFLICT ON CONSTRAINT pending_changes_pkey DO UPDATE
        SET base_version = EXCLUDED.base_version, content = EXCLUDED.content, updated_at = clock_timestamp()
    RETURNING p.updated_at INTO saved;
    PERFORM concurrent_edit._emit(f.project_id, 'draft_saved', f.id, s.id, s.user_id, f.normalized_path,
                                  save_draft.base_version);
    RETURN saved;
END
$$;
COMMENT ON FUNCTION concurrent_edit.save_draft(uuid, uuid, integer, text) IS
    'Autosave: upserts the session''s unsaved draft of a file (edited from base_version) and keeps the session active (event draft_saved, no content). Returns when it was saved.';

CREATE FUNCTION concurrent_edit.discard_draft(session_id uuid, file_id uuid) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s concurrent_edit.edit_sessions := concurrent_edit._session(discard_draft.session_id);
    path text;
BEGIN
    DELETE FROM concurrent_edit.pending_changes p USING concurrent_edit.files f
    WHERE p.project_id = s.project_id AND p.session_id = s.id AND p.file_id = discard_draft.file_id
      AND f.project_id = p.project_id AND f.id = p.file_id
    RETURNING f.normalized_path INTO path;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM concurrent_edit._emit(s.project_id, 'draft_discarded', discard_draft.file_id, s.id, s.user_id, path);
    RETURN true;
END
$$;
COMMENT ON FUNCTION concurrent_edit.discard_draft(uuid, uuid) IS 'Deletes the session''s draft of a file (event draft_discarded); false if there was none.';

CREATE FUNCTION concurrent_edit.commit_draft(session_id uuid, file_id uuid, strategy text DEFAULT 'merge')
    RETURNS concurrent_edit.write_result
    AS 'MODULE_PATHNAME', 'ce_commit_draft'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.commit_draft(uuid, uuid, text) IS
    'Turns the session''s draft into a write() from its base version with the given strategy; the draft is removed when the result is written, merged, overwritten or unchanged, and kept on a conflict or rejection. VC014 if there is no draft.';

CREATE TYPE concurrent_edit.draft_info AS (
    file_id      uuid,
    path         text,
    base_version integer,
    head_version integer,
    bytes        integer,
    updated_at   timestamptz
);
COMMENT ON TYPE concurrent_edit.draft_info IS 'A row of session_drafts().';
COMMENT ON COLUMN concurrent_edit.draft_info.file_id IS 'Drafted file.';
COMMENT ON COLUMN concurrent_edit.draft_info.path IS 'Its path.';
COMMENT ON COLUMN concurrent_edit.draft_info.base_version IS 'Version the draft was edited from.';
COMMENT ON COLUMN concurrent_edit.draft_info.head_version IS 'The file''s head version now.';
COMMENT ON COLUMN concurrent_edit.draft_info.bytes IS 'Size of the draft.';
COMMENT ON COLUMN concurrent_edit.draft_info.updated_at IS 'Last save.';

CREATE FUNCTION concurrent_edit.session_drafts(session_id uuid) RETURNS SETOF concurrent_edit.draft_info
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.file_id, f.path, p.base_version, f.head_version, octet_length(p.content), p.updated_at
    FROM concurrent_edit.pending_changes p
    JOIN concurrent_edit.files f ON f.project_id = p.project_id AND f.id = p.file_id
    WHERE p.session_id = $1
    ORDER BY p.updated_at, p.file_id
$$;
COMMENT ON FUNCTION concurrent_edit.session_drafts(uuid) IS 'Drafts a session holds (also after it was closed), with the head they may need merging onto.';

CREATE FUNCTION concurrent_edit.prune_history(file_id uuid, keep_versions integer DEFAULT 100) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f concurrent_edit.files := concurrent_edit._file(prune_history.file_id);
    n integer;
BEGIN
    IF prune_history.keep_versions IS NULL OR prune_history.keep_versions < 1 THEN
        RAISE EXCEPTION 'keep_versions must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM concurrent_edit.file_versions v
    WHERE v.project_id = f.project_id AND v.file_id = f.id
      AND v.version <= f.head_version - prune_history.keep_versions
      AND NOT EXISTS (SELECT 1 FROM concurrent_edit.pending_changes p
                      WHERE p.project_id = v.project_id AND p.file_id = v.file_id AND p.base_version = v.version)
      AND NOT EXISTS (SELECT 1 FROM concurrent_edit.conflict_history c
                      WHERE c.project_id = v.project_id AND c.file_id = v.file_id
                        AND v.version IN (c.base_version, c.ours_version));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION concurrent_edit.prune_history(uuid, integer) IS
    'History cleanup: deletes versions older than the newest keep_versions, except every version a draft or a recorded conflict needs as its base (those are protected by foreign keys as well). Returns how many were deleted.';

-- file_locks has no foreign keys (see 10_tables.sql): deleting files or sessions
-- deletes their locks here, once per statement.
CREATE FUNCTION concurrent_edit._drop_locks_of_files() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
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

CREATE FUNCTION concurrent_edit._drop_locks_of_sessions() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM concurrent_edit.file_locks l USING gone g WHERE l.project_id = g.project_id AND l.session_id = g.id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION concurrent_edit._drop_locks_of_sessions() IS 'Internal trigger: deleted sessions lose their locks.';
REVOKE ALL ON FUNCTION concurrent_edit._drop_locks_of_sessions() FROM PUBLIC;
CREATE TRIGGER edit_sessions_drop_locks AFTER DELETE ON concurrent_edit.edit_sessions
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION concurrent_edit._drop_locks_of_sessions();
COMMENT ON TRIGGER edit_sessions_drop_locks ON concurrent_edit.edit_sessions IS 'Deletes the locks of deleted sessions (file_locks has no foreign key).';
