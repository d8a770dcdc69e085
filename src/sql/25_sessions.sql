-- Edit sessions and presence: who works on a project, which files each session
-- has open (docs/reference/sessions.md, src/pg/sessions.cpp). A session belongs
-- to the role that opened it (edit_sessions.role): other roles use it only with
-- admin on its project.

CREATE TABLE concurrent_edit.edit_sessions (
    project_id     uuid        NOT NULL,
    id             uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    user_id        uuid        NOT NULL,
    role           regrole     NOT NULL DEFAULT pg_catalog.quote_ident(CURRENT_USER)::regrole,
    sandbox_id     text,
    status         text        NOT NULL DEFAULT 'active',
    created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_active_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    closed_at      timestamptz,
    metadata       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT edit_sessions_pkey PRIMARY KEY (project_id, id),
    CONSTRAINT edit_sessions_status_check CHECK (status IN ('active', 'idle', 'closed')),
    CONSTRAINT edit_sessions_closed_check CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
    CONSTRAINT edit_sessions_sandbox_check CHECK (pg_catalog.length(sandbox_id) BETWEEN 1 AND 200),
    CONSTRAINT edit_sessions_metadata_check CHECK (pg_catalog.jsonb_typeof(metadata) = 'object')
);
COMMENT ON TABLE concurrent_edit.edit_sessions IS
    'Edit sessions (a user, tab, agent or sandbox working on a project): presence, locks and drafts hang off them. Status moves active -> idle -> closed with inactivity.';
COMMENT ON COLUMN concurrent_edit.edit_sessions.project_id IS 'Project the session works on; distribution key.';
COMMENT ON COLUMN concurrent_edit.edit_sessions.id IS 'Session id.';
COMMENT ON COLUMN concurrent_edit.edit_sessions.user_id IS 'User (or agent) behind the session; the author of its writes.';
COMMENT ON COLUMN concurrent_edit.edit_sessions.role IS 'Database role that opened the session and owns it: only it (or a role with its privileges, or an admin of the project) may use the session.';
COMMENT ON COLUMN concurrent_edit.edit_sessions.sandbox_id IS 'Optional sandbox / workspace identifier of the client.';
COMMENT ON COLUMN concurrent_edit.edit_sessions.status IS 'active, idle or closed.';
COMMENT ON COLUMN concurrent_edit.edit_sessions.created_at IS 'When the session was opened.';
COMMENT ON COLUMN concurrent_edit.edit_sessions.last_active_at IS 'Last heartbeat or activity.';
COMMENT ON COLUMN concurrent_edit.edit_sessions.closed_at IS 'When the session was closed; NULL unless status = closed.';
COMMENT ON COLUMN concurrent_edit.edit_sessions.metadata IS 'Free-form client data (a JSON object).';
CREATE INDEX edit_sessions_id_idx ON concurrent_edit.edit_sessions (id);
COMMENT ON INDEX concurrent_edit.edit_sessions_id_idx IS 'Lookup of a session by id alone.';
CREATE INDEX edit_sessions_user_idx ON concurrent_edit.edit_sessions (user_id);
COMMENT ON INDEX concurrent_edit.edit_sessions_user_idx IS 'Sessions of a user.';
CREATE INDEX edit_sessions_role_idx ON concurrent_edit.edit_sessions (role, last_active_at)
    WHERE status <> 'closed';
COMMENT ON INDEX concurrent_edit.edit_sessions_role_idx IS 'Open sessions of a role, by activity: open_session() counts those active within session_close_timeout against concurrent_edit.max_sessions_per_role.';
CREATE INDEX edit_sessions_open_idx ON concurrent_edit.edit_sessions (project_id, last_active_at)
    WHERE status <> 'closed';
COMMENT ON INDEX concurrent_edit.edit_sessions_open_idx IS 'Open sessions of a project (presence).';
CREATE INDEX edit_sessions_inactive_idx ON concurrent_edit.edit_sessions (status, last_active_at, project_id, id)
    WHERE status <> 'closed';
COMMENT ON INDEX concurrent_edit.edit_sessions_inactive_idx IS 'Open sessions by status, least recently active first: the inactivity cleanup reads only the sessions past session_idle_timeout (to make them idle) or session_close_timeout (to close them, in batches resuming after the last key), not every open session.';
CREATE INDEX edit_sessions_closed_idx ON concurrent_edit.edit_sessions (closed_at, project_id, id) WHERE status = 'closed';
COMMENT ON INDEX concurrent_edit.edit_sessions_closed_idx IS 'Closed sessions, oldest first, in the order cleanup_inactive_sessions() examines them in batches (resuming after the last one examined) to delete them after concurrent_edit.closed_session_retention.';
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.edit_sessions', '');
CREATE TABLE concurrent_edit.session_files (
    project_id uuid        NOT NULL,
    session_id uuid        NOT NULL,
    file_id    uuid        NOT NULL,
    opened_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT session_files_pkey PRIMARY KEY (project_id, session_id, file_id),
    CONSTRAINT session_files_session_fkey FOREIGN KEY (project_id, session_id)
        REFERENCES concurrent_edit.edit_sessions (project_id, id) ON DELETE CASCADE,
    CONSTRAINT session_files_file_fkey FOREIGN KEY (project_id, file_id)
        REFERENCES concurrent_edit.files (project_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE concurrent_edit.session_files IS
    'Presence: which session has which file open (open_file / close_file). Rows go with their session.';
COMMENT ON COLUMN concurrent_edit.session_files.project_id IS 'Project; distribution key.';
COMMENT ON COLUMN concurrent_edit.session_files.session_id IS 'Session that has the file open.';
COMMENT ON COLUMN concurrent_edit.session_files.file_id IS 'The open file.';
COMMENT ON COLUMN concurrent_edit.session_files.opened_at IS 'When the session opened it.';
CREATE INDEX session_files_file_idx ON concurrent_edit.session_files (project_id, file_id);
COMMENT ON INDEX concurrent_edit.session_files_file_idx IS 'Sessions that have a file open (file_editors, delete conflicts).';
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.session_files', '');
CREATE FUNCTION concurrent_edit.open_session(user_id uuid, project_id uuid, sandbox_id text DEFAULT NULL,
                                             metadata jsonb DEFAULT '{}')
    RETURNS uuid
    AS 'MODULE_PATHNAME', 'ce_open_session'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.open_session(uuid, uuid, text, jsonb) IS
    'Opens an edit session of a user (or agent) in a project and returns its id (event session_joined).';
CREATE FUNCTION concurrent_edit.touch_session(session_id uuid)
    RETURNS text
    AS 'MODULE_PATHNAME', 'ce_touch_session'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.touch_session(uuid) IS
    'Heartbeat: records activity (an idle session becomes active again) and returns the status. VC005 for a closed or unknown session.';
CREATE FUNCTION concurrent_edit.close_session(session_id uuid, discard_drafts boolean DEFAULT false)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_close_session'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.close_session(uuid, boolean) IS
    'Closes a session: releases all its locks, closes its files, and keeps its drafts (readable with session_drafts(), still reported as unsaved work to nobody) unless discard_drafts (then each discarded draft has a draft_discarded event). Returns false if it was already closed.';
CREATE FUNCTION concurrent_edit.cleanup_inactive_sessions()
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ce_cleanup_inactive_sessions'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.cleanup_inactive_sessions() IS
    'Moves sessions inactive for concurrent_edit.session_idle_timeout to idle, and closes those inactive for concurrent_edit.session_close_timeout (releasing their locks), and deletes the sessions closed longer than concurrent_edit.closed_session_retention ago that have no drafts among the next 1000 such closed sessions (resuming where its previous call in this backend stopped, from the oldest again after the last). Returns how many it changed or deleted. The background worker runs it every concurrent_edit.worker_interval.';
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
CREATE FUNCTION concurrent_edit.open_file(session_id uuid, file_id uuid)
    RETURNS SETOF concurrent_edit.presence_warning
    AS 'MODULE_PATHNAME', 'ce_open_file'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.open_file(uuid, uuid) IS
    'Records that the session has the file open (event file_opened) and returns the warnings an editor should show: locked (by whom, until when), unsaved_changes (other sessions'' drafts), deleted.';
CREATE FUNCTION concurrent_edit.close_file(session_id uuid, file_id uuid)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_close_file'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
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
CREATE FUNCTION concurrent_edit.file_editors(file_id uuid)
    RETURNS SETOF concurrent_edit.file_editor
    AS 'MODULE_PATHNAME', 'ce_file_editors'
    LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
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
CREATE FUNCTION concurrent_edit.project_sessions(project_id uuid)
    RETURNS SETOF concurrent_edit.session_info
    AS 'MODULE_PATHNAME', 'ce_project_sessions'
    LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.project_sessions(uuid) IS 'Open (active or idle) sessions of a project, with their files, drafts and locks.';
