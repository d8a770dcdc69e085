-- The data model. Every table carries project_id and every primary and unique key
-- starts with it, so all tables can be distributed by project_id and colocated
-- (Citus). Session ids are uuid everywhere, with foreign keys (file_locks: triggers).
--
-- Fixes over the seed schema: shared locks can have several holders (the seed's
-- UNIQUE(file_id) allowed one lock per file); session_id is a uuid (a foreign key or,
-- in file_locks, triggers; it was VARCHAR there); enumerated columns have CHECKs;
-- NOT NULL timestamps; a file's live path is unique per project.

CREATE TABLE concurrent_edit.files (
    project_id      uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    path            text        NOT NULL,
    normalized_path text        NOT NULL
        GENERATED ALWAYS AS (concurrent_edit.normalize_path(path)) STORED,
    head_version    integer     NOT NULL DEFAULT 1,
    head_hash       text        NOT NULL,
    head_clock      concurrent_edit.vclock,
    deleted_at      timestamptz,
    deleted_by      uuid,
    created_by      uuid        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_by      uuid        NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT files_pkey PRIMARY KEY (project_id, id),
    CONSTRAINT files_head_version_check CHECK (head_version >= 1),
    CONSTRAINT files_head_hash_check CHECK (head_hash ~ '^[0-9a-f]{64}$'),
    CONSTRAINT files_deleted_check CHECK ((deleted_at IS NULL) = (deleted_by IS NULL))
);
COMMENT ON TABLE concurrent_edit.files IS
    'One row per file: its path and head (latest) version. Writers of a file serialize on this row. Rows are soft-deleted (deleted_at) so history stays readable.';
COMMENT ON COLUMN concurrent_edit.files.project_id IS 'Project (tenant) the file belongs to; distribution key.';
COMMENT ON COLUMN concurrent_edit.files.id IS 'File id, referenced by every API call.';
COMMENT ON COLUMN concurrent_edit.files.path IS 'Path as the client spelled it.';
COMMENT ON COLUMN concurrent_edit.files.normalized_path IS 'normalize_path(path); unique per project among live files.';
COMMENT ON COLUMN concurrent_edit.files.head_version IS 'Latest version number (file_versions.version).';
COMMENT ON COLUMN concurrent_edit.files.head_hash IS 'content_hash of the head version: the ETag for expected_hash.';
COMMENT ON COLUMN concurrent_edit.files.head_clock IS 'Vector clock of the head version (a copy of its file_versions.vector_clock).';
COMMENT ON COLUMN concurrent_edit.files.deleted_at IS 'When the file was deleted; NULL while live.';
COMMENT ON COLUMN concurrent_edit.files.deleted_by IS 'Who deleted the file.';
COMMENT ON COLUMN concurrent_edit.files.created_by IS 'Author of version 1.';
COMMENT ON COLUMN concurrent_edit.files.created_at IS 'When the file was created.';
COMMENT ON COLUMN concurrent_edit.files.updated_by IS 'Author of the latest change (last_modified_by in errors).';
COMMENT ON COLUMN concurrent_edit.files.updated_at IS 'Time of the latest change (last_modified_at in errors).';

CREATE UNIQUE INDEX files_live_path_key
    ON concurrent_edit.files (project_id, normalized_path) WHERE deleted_at IS NULL;
COMMENT ON INDEX concurrent_edit.files_live_path_key IS 'At most one live file per normalized path in a project.';
CREATE INDEX files_id_idx ON concurrent_edit.files (id);
COMMENT ON INDEX concurrent_edit.files_id_idx IS 'Lookup of a file by id alone (API calls name the file, not the project).';

CREATE TABLE concurrent_edit.file_versions (
    project_id   uuid        NOT NULL,
    file_id      uuid        NOT NULL,
    version      integer     NOT NULL,
    content      text        NOT NULL,
    content_hash text        NOT NULL,
    created_by   uuid        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    session_id   uuid,
    vector_clock concurrent_edit.vclock,
    CONSTRAINT file_versions_pkey PRIMARY KEY (project_id, file_id, version),
    CONSTRAINT file_versions_file_fkey FOREIGN KEY (project_id, file_id)
        REFERENCES concurrent_edit.files (project_id, id) ON DELETE CASCADE,
    CONSTRAINT file_versions_version_check CHECK (version >= 1),
    CONSTRAINT file_versions_content_hash_check CHECK (content_hash ~ '^[0-9a-f]{64}$')
);
COMMENT ON TABLE concurrent_edit.file_versions IS
    'Immutable history: the full content of every version of every file. The base of every three-way merge comes from here.';
COMMENT ON COLUMN concurrent_edit.file_versions.project_id IS 'Project of the file; distribution key.';
COMMENT ON COLUMN concurrent_edit.file_versions.file_id IS 'The file.';
COMMENT ON COLUMN concurrent_edit.file_versions.version IS 'Version number, 1 for the first, unique per file.';
COMMENT ON COLUMN concurrent_edit.file_versions.content IS 'Full text of this version.';
COMMENT ON COLUMN concurrent_edit.file_versions.content_hash IS 'content_hash(content): lowercase hex SHA-256.';
COMMENT ON COLUMN concurrent_edit.file_versions.created_by IS 'Author of this version.';
COMMENT ON COLUMN concurrent_edit.file_versions.created_at IS 'When this version was written.';
COMMENT ON COLUMN concurrent_edit.file_versions.session_id IS 'Edit session that wrote it, if any.';
COMMENT ON COLUMN concurrent_edit.file_versions.vector_clock IS 'Vector clock of this version.';
CREATE INDEX file_versions_created_at_idx ON concurrent_edit.file_versions (created_at);
COMMENT ON INDEX concurrent_edit.file_versions_created_at_idx IS 'History retention and time-ordered listings.';

CREATE TABLE concurrent_edit.edit_sessions (
    project_id     uuid        NOT NULL,
    id             uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    user_id        uuid        NOT NULL,
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
CREATE INDEX edit_sessions_open_idx ON concurrent_edit.edit_sessions (project_id, last_active_at)
    WHERE status <> 'closed';
COMMENT ON INDEX concurrent_edit.edit_sessions_open_idx IS 'Open sessions of a project (presence) and inactivity cleanup.';

-- A lock is a lease, not data: file_locks is UNLOGGED, like PostgreSQL's own
-- heavyweight and advisory locks it does not survive a crash (a clean restart
-- keeps it), and a lock cycle commits without waiting for a WAL flush. No edit
-- depends on a lock for its safety: writes are versioned and merged whether or not
-- a lock was held. For the same reason there are no foreign keys (their checks
-- would lock and WAL-log the file and session rows on every acquire): the deletion
-- of a file or session deletes its locks through triggers (see 50_sessions.sql),
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

CREATE TABLE concurrent_edit.pending_changes (
    project_id   uuid        NOT NULL,
    session_id   uuid        NOT NULL,
    file_id      uuid        NOT NULL,
    base_version integer     NOT NULL,
    content      text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT pending_changes_pkey PRIMARY KEY (project_id, session_id, file_id),
    CONSTRAINT pending_changes_session_fkey FOREIGN KEY (project_id, session_id)
        REFERENCES concurrent_edit.edit_sessions (project_id, id) ON DELETE CASCADE,
    CONSTRAINT pending_changes_file_fkey FOREIGN KEY (project_id, file_id)
        REFERENCES concurrent_edit.files (project_id, id) ON DELETE CASCADE,
    -- The base version of a draft must stay available for its three-way merge.
    CONSTRAINT pending_changes_base_fkey FOREIGN KEY (project_id, file_id, base_version)
        REFERENCES concurrent_edit.file_versions (project_id, file_id, version),
    CONSTRAINT pending_changes_base_version_check CHECK (base_version >= 1)
);
COMMENT ON TABLE concurrent_edit.pending_changes IS
    'Unsaved drafts (autosave): at most one per session and file, deleted with their session. The base version is protected from history cleanup by a foreign key.';
COMMENT ON COLUMN concurrent_edit.pending_changes.project_id IS 'Project of the file; distribution key.';
COMMENT ON COLUMN concurrent_edit.pending_changes.session_id IS 'Session that owns the draft.';
COMMENT ON COLUMN concurrent_edit.pending_changes.file_id IS 'Drafted file.';
COMMENT ON COLUMN concurrent_edit.pending_changes.base_version IS 'Version the draft was edited from (the merge base when it is committed).';
COMMENT ON COLUMN concurrent_edit.pending_changes.content IS 'Draft text.';
COMMENT ON COLUMN concurrent_edit.pending_changes.created_at IS 'First save of the draft.';
COMMENT ON COLUMN concurrent_edit.pending_changes.updated_at IS 'Latest save of the draft.';
CREATE INDEX pending_changes_file_idx ON concurrent_edit.pending_changes (project_id, file_id);
COMMENT ON INDEX concurrent_edit.pending_changes_file_idx IS 'Drafts of a file (warnings on open, delete conflicts).';

CREATE TABLE concurrent_edit.conflict_history (
    project_id     uuid        NOT NULL,
    id             uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    file_id        uuid,
    row_relation   text,
    row_key        jsonb,
    kind           text        NOT NULL DEFAULT 'content',
    base_version   integer     NOT NULL,
    ours_version   integer     NOT NULL,
    theirs_version integer,
    theirs_content text,
    strategy       text        NOT NULL,
    details        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    session_id     uuid,
    created_by     uuid,
    created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    resolved_by    uuid,
    resolved_at    timestamptz,
    resolution_version integer,
    CONSTRAINT conflict_history_pkey PRIMARY KEY (project_id, id),
    CONSTRAINT conflict_history_file_fkey FOREIGN KEY (project_id, file_id)
        REFERENCES concurrent_edit.files (project_id, id) ON DELETE CASCADE,
    -- Versions an open conflict needs for its merge stay available.
    CONSTRAINT conflict_history_base_fkey FOREIGN KEY (project_id, file_id, base_version)
        REFERENCES concurrent_edit.file_versions (project_id, file_id, version),
    CONSTRAINT conflict_history_ours_fkey FOREIGN KEY (project_id, file_id, ours_version)
        REFERENCES concurrent_edit.file_versions (project_id, file_id, version),
    CONSTRAINT conflict_history_kind_check CHECK (kind IN ('content', 'delete', 'row')),
    CONSTRAINT conflict_history_subject_check CHECK (
        (kind <> 'row' AND file_id IS NOT NULL AND row_relation IS NULL AND row_key IS NULL)
        OR (kind = 'row' AND file_id IS NULL AND row_relation IS NOT NULL AND row_key IS NOT NULL)),
    CONSTRAINT conflict_history_strategy_check CHECK (strategy IN
        ('merge', 'fail-fast', 'last-write-wins', 'first-write-wins', 'keep-both', 'timestamp', 'queue',
         'trigger-merge')),
    CONSTRAINT conflict_history_resolved_check CHECK ((resolved_at IS NULL) = (resolved_by IS NULL)),
    CONSTRAINT conflict_history_theirs_check CHECK (theirs_version IS NOT NULL OR theirs_content IS NOT NULL OR kind <> 'content'),
    CONSTRAINT conflict_history_details_check CHECK (pg_catalog.jsonb_typeof(details) = 'object')
);
COMMENT ON TABLE concurrent_edit.conflict_history IS
    'Every real conflict: the base, ours (the head it met) and theirs (the proposed text), the conflict regions in details, and who resolved it and when.';
COMMENT ON COLUMN concurrent_edit.conflict_history.project_id IS 'Project of the file; distribution key.';
COMMENT ON COLUMN concurrent_edit.conflict_history.id IS 'Conflict id (returned by write() as conflict_id).';
COMMENT ON COLUMN concurrent_edit.conflict_history.file_id IS 'File in conflict (NULL for a row conflict).';
COMMENT ON COLUMN concurrent_edit.conflict_history.row_relation IS 'For a row conflict (kind row, OCC trigger in merge mode): the table, schema-qualified.';
COMMENT ON COLUMN concurrent_edit.conflict_history.row_key IS 'For a row conflict: the primary key of the row (JSON object).';
COMMENT ON COLUMN concurrent_edit.conflict_history.kind IS 'content (overlapping edits of a file), delete (a write to a deleted file) or row (a stale UPDATE under the OCC trigger that could not be merged).';
COMMENT ON COLUMN concurrent_edit.conflict_history.base_version IS 'Common ancestor version (of the file, or of the row).';
COMMENT ON COLUMN concurrent_edit.conflict_history.ours_version IS 'Head version the write met (of the file, or of the row).';
COMMENT ON COLUMN concurrent_edit.conflict_history.theirs_version IS 'Version holding the other side, when it was stored as a version.';
COMMENT ON COLUMN concurrent_edit.conflict_history.theirs_content IS 'The proposed text that could not be merged (not stored as a version).';
COMMENT ON COLUMN concurrent_edit.conflict_history.strategy IS 'Strategy of the write that met the conflict.';
COMMENT ON COLUMN concurrent_edit.conflict_history.details IS 'Conflict regions and other details (JSON object).';
COMMENT ON COLUMN concurrent_edit.conflict_history.session_id IS 'Session of the conflicting write.';
COMMENT ON COLUMN concurrent_edit.conflict_history.created_by IS 'Author of the conflicting write.';
COMMENT ON COLUMN concurrent_edit.conflict_history.created_at IS 'When the conflict was recorded.';
COMMENT ON COLUMN concurrent_edit.conflict_history.resolved_by IS 'Who resolved it.';
COMMENT ON COLUMN concurrent_edit.conflict_history.resolved_at IS 'When it was resolved; NULL while open.';
COMMENT ON COLUMN concurrent_edit.conflict_history.resolution_version IS 'Version written by the resolution.';
CREATE INDEX conflict_history_open_idx ON concurrent_edit.conflict_history (project_id, file_id)
    WHERE resolved_at IS NULL;
COMMENT ON INDEX concurrent_edit.conflict_history_open_idx IS 'Open conflicts of a file.';
CREATE INDEX conflict_history_file_idx ON concurrent_edit.conflict_history (project_id, file_id, created_at);
COMMENT ON INDEX concurrent_edit.conflict_history_file_idx IS 'Conflict history of a file, newest last.';
CREATE INDEX conflict_history_id_idx ON concurrent_edit.conflict_history (id);
COMMENT ON INDEX concurrent_edit.conflict_history_id_idx IS 'Lookup of a conflict by id alone (resolve_conflict).';

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

-- pg_dump / pg_restore keep the rows of every user-data table.
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.files', '');
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.file_versions', '');
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.edit_sessions', '');
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.file_locks', '');
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.pending_changes', '');
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.conflict_history', '');
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.session_files', '');
