-- Versioned files: create, write (optimistic concurrency with three-way merge),
-- read, history, delete, rename, the conflict workflow and the change feed.
--
-- Functions that change data are SECURITY DEFINER (the tables are not writable
-- by applications, so every change goes through these functions and keeps the
-- invariants); EXECUTE is revoked from PUBLIC and granted with
-- concurrent_edit.grant_access(role).

CREATE TABLE concurrent_edit.change_feeds (
    project_id     uuid   NOT NULL,
    last_cursor    bigint NOT NULL,
    pruned_through bigint NOT NULL DEFAULT 0,
    CONSTRAINT change_feeds_pkey PRIMARY KEY (project_id),
    CONSTRAINT change_feeds_cursor_check CHECK (last_cursor >= 0 AND pruned_through >= 0 AND pruned_through <= last_cursor)
);
COMMENT ON TABLE concurrent_edit.change_feeds IS
    'Per-project cursor of the change feed: the last cursor handed out, and the cursor up to which old events were pruned. Its row lock serializes the sequencing of a project.';
COMMENT ON COLUMN concurrent_edit.change_feeds.project_id IS 'Project; distribution key.';
COMMENT ON COLUMN concurrent_edit.change_feeds.last_cursor IS 'Cursor of the newest sequenced event of the project.';
COMMENT ON COLUMN concurrent_edit.change_feeds.pruned_through IS 'Events with a cursor up to this one were pruned; changes_since() refuses older cursors.';

CREATE SEQUENCE concurrent_edit.change_pending_id_seq;
COMMENT ON SEQUENCE concurrent_edit.change_pending_id_seq IS 'Order of pending change events (before they get a cursor).';

CREATE TABLE concurrent_edit.change_pending (
    project_id   uuid        NOT NULL,
    id           bigint      NOT NULL DEFAULT pg_catalog.nextval('concurrent_edit.change_pending_id_seq'),
    event        text        NOT NULL,
    file_id      uuid,
    path         text,
    version      integer,
    content_hash text,
    session_id   uuid,
    author       uuid,
    details      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT change_pending_pkey PRIMARY KEY (project_id, id)
);
COMMENT ON TABLE concurrent_edit.change_pending IS
    'Events of committed (or committing) transactions not yet sequenced into change_log. API calls insert here, without any lock; the sequencer (the background worker, or the committing transaction itself without the worker) moves them into change_log with consecutive cursors and sends NOTIFY.';
COMMENT ON COLUMN concurrent_edit.change_pending.project_id IS 'Project; distribution key.';
COMMENT ON COLUMN concurrent_edit.change_pending.id IS 'Arrival order.';
COMMENT ON COLUMN concurrent_edit.change_pending.event IS 'What happened.';
COMMENT ON COLUMN concurrent_edit.change_pending.file_id IS 'File concerned, if any.';
COMMENT ON COLUMN concurrent_edit.change_pending.path IS 'Path of the file at the time of the event.';
COMMENT ON COLUMN concurrent_edit.change_pending.version IS 'Version written, if any.';
COMMENT ON COLUMN concurrent_edit.change_pending.content_hash IS 'content_hash of that version.';
COMMENT ON COLUMN concurrent_edit.change_pending.session_id IS 'Session that made the change, if any.';
COMMENT ON COLUMN concurrent_edit.change_pending.author IS 'User who made the change, if known.';
COMMENT ON COLUMN concurrent_edit.change_pending.details IS 'Further ids of the event.';
COMMENT ON COLUMN concurrent_edit.change_pending.created_at IS 'Time of the transaction that made the change.';

-- Lock events wait in an unlogged twin of change_pending, because the locks
-- themselves are unlogged (file_locks): a lock cycle then writes no WAL and commits
-- without a flush. The sequencer moves both tables into change_log in one order.
-- (LIKE: the same columns in the same order, which the sequencer's UNION relies
-- on; the same id sequence, so both tables share one arrival order.)
CREATE UNLOGGED TABLE concurrent_edit.change_pending_locks
    (LIKE concurrent_edit.change_pending INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES
                                         INCLUDING COMMENTS);
COMMENT ON TABLE concurrent_edit.change_pending_locks IS
    'Lock events (lock_acquired, lock_released, lock_expired, lock_forced) not yet sequenced into change_log: change_pending for the unlogged file_locks. Unlogged like file_locks, so a crash clears both together (a clean restart keeps them).';

CREATE TABLE concurrent_edit.change_log (
    project_id   uuid        NOT NULL,
    cursor       bigint      NOT NULL,
    event        text        NOT NULL,
    file_id      uuid,
    path         text,
    version      integer,
    content_hash text,
    session_id   uuid,
    author       uuid,
    details      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT change_log_pkey PRIMARY KEY (project_id, cursor),
    CONSTRAINT change_log_event_check CHECK (event IN (
        'created', 'version', 'deleted', 'renamed', 'conflict', 'conflict_resolved',
        'lock_acquired', 'lock_released', 'lock_expired', 'lock_forced',
        'session_joined', 'session_idle', 'session_left',
        'file_opened', 'file_closed', 'draft_saved', 'draft_discarded')),
    CONSTRAINT change_log_details_check CHECK (pg_catalog.jsonb_typeof(details) = 'object')
);
COMMENT ON TABLE concurrent_edit.change_log IS
    'Durable change feed: every committed change of a project with a gapless cursor (1, 2, 3...), in the order it was sequenced. The same events are sent with NOTIFY; changes_since() replays them. Ids only, never content.';
COMMENT ON COLUMN concurrent_edit.change_log.project_id IS 'Project; distribution key.';
COMMENT ON COLUMN concurrent_edit.change_log.cursor IS 'Position in the project''s feed: consecutive, never reused.';
COMMENT ON COLUMN concurrent_edit.change_log.event IS 'What happened (created, version, deleted, renamed, conflict, conflict_resolved, lock_*, session_*, file_opened/closed, draft_*).';
COMMENT ON COLUMN concurrent_edit.change_log.file_id IS 'File concerned, if any.';
COMMENT ON COLUMN concurrent_edit.change_log.path IS 'Path of the file at the time of the event.';
COMMENT ON COLUMN concurrent_edit.change_log.version IS 'Version written, if any.';
COMMENT ON COLUMN concurrent_edit.change_log.content_hash IS 'content_hash of that version.';
COMMENT ON COLUMN concurrent_edit.change_log.session_id IS 'Session that made the change, if any.';
COMMENT ON COLUMN concurrent_edit.change_log.author IS 'User who made the change, if known.';
COMMENT ON COLUMN concurrent_edit.change_log.details IS 'Further ids of the event (conflict_id, lock_id, old_path...).';
COMMENT ON COLUMN concurrent_edit.change_log.created_at IS 'Time of the transaction that made the change.';
CREATE INDEX change_log_created_at_idx ON concurrent_edit.change_log (created_at);
COMMENT ON INDEX concurrent_edit.change_log_created_at_idx IS 'Retention (prune_changes).';

CREATE FUNCTION concurrent_edit._emit(project_id uuid, event text, file_id uuid DEFAULT NULL,
                                      session_id uuid DEFAULT NULL, author uuid DEFAULT NULL,
                                      path text DEFAULT NULL, version integer DEFAULT NULL,
                                      content_hash text DEFAULT NULL, details jsonb DEFAULT '{}')
    RETURNS void
    AS 'MODULE_PATHNAME', 'ce_emit'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit._emit(uuid, text, uuid, uuid, uuid, text, integer, text, jsonb) IS
    'Internal: records a change event of the current transaction (sequenced into change_log and sent with NOTIFY after commit). Used by the API functions; not executable by PUBLIC.';
REVOKE ALL ON FUNCTION concurrent_edit._emit(uuid, text, uuid, uuid, uuid, text, integer, text, jsonb) FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.change_feeds', '');
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.change_pending', '');
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.change_pending_locks', '');
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.change_pending_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.change_log', '');

CREATE TYPE concurrent_edit.write_result AS (
    status       text,
    version      integer,
    content_hash text,
    content      text,
    conflict_id  uuid,
    conflicts    integer,
    file_id      uuid,
    base_version integer,
    head_version integer,
    strategy     text,
    vector_clock concurrent_edit.vclock
);
COMMENT ON TYPE concurrent_edit.write_result IS
    'Result of write(): status written | unchanged | merged | conflict | overwritten | rejected, the version now at the head (or the head that was met), its hash and content (the marked-up text for a conflict), the conflict id and count.';
COMMENT ON COLUMN concurrent_edit.write_result.status IS 'written, unchanged, merged, conflict, overwritten or rejected.';
COMMENT ON COLUMN concurrent_edit.write_result.version IS 'The new version; for unchanged, conflict and rejected the head version.';
COMMENT ON COLUMN concurrent_edit.write_result.content_hash IS 'content_hash of content.';
COMMENT ON COLUMN concurrent_edit.write_result.content IS 'The text now at the head; for a conflict the text with conflict markers; for rejected the head text.';
COMMENT ON COLUMN concurrent_edit.write_result.conflict_id IS 'conflict_history id when status is conflict.';
COMMENT ON COLUMN concurrent_edit.write_result.conflicts IS 'Number of conflict regions (0 unless status is conflict).';
COMMENT ON COLUMN concurrent_edit.write_result.file_id IS 'The file.';
COMMENT ON COLUMN concurrent_edit.write_result.base_version IS 'The version the write was based on (resolved from expected_hash when needed).';
COMMENT ON COLUMN concurrent_edit.write_result.head_version IS 'The head version the write met.';
COMMENT ON COLUMN concurrent_edit.write_result.strategy IS 'Strategy used.';
COMMENT ON COLUMN concurrent_edit.write_result.vector_clock IS 'Vector clock of version (keep it to write offline from this version with client_clock).';

CREATE FUNCTION concurrent_edit.channel_name(project_id uuid) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    RETURN 'concurrent_edit_' || pg_catalog.replace(project_id::text, '-', '');
COMMENT ON FUNCTION concurrent_edit.channel_name(uuid) IS
    'NOTIFY channel of a project: concurrent_edit_<32 hex digits>. LISTEN on it to receive the project''s change events (JSON payload with ids only).';

CREATE FUNCTION concurrent_edit.create_file(project_id uuid, path text, content text, author uuid,
                                            session_id uuid DEFAULT NULL, file_id uuid DEFAULT NULL) RETURNS uuid
    AS 'MODULE_PATHNAME', 'ce_create_file'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.create_file(uuid, text, text, uuid, uuid, uuid) IS
    'Creates a file with version 1 and returns its id (file_id when the client chose one, e.g. an offline client). A live file at the same normalized path in the project is an error (VC003). With a session, the author is the session''s user.';

CREATE FUNCTION concurrent_edit.write(file_id uuid, content text, base_version integer,
                                      author uuid DEFAULT NULL, session_id uuid DEFAULT NULL,
                                      strategy text DEFAULT 'merge', expected_hash text DEFAULT NULL,
                                      edited_at timestamptz DEFAULT NULL,
                                      client_clock concurrent_edit.vclock DEFAULT NULL)
    RETURNS concurrent_edit.write_result
    AS 'MODULE_PATHNAME', 'ce_write'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.write(uuid, text, integer, uuid, uuid, text, text, timestamptz, concurrent_edit.vclock) IS
    'Writes a new version based on base_version (and/or expected_hash, an ETag). Current base: written. Stale base: handled by strategy merge (three-way merge: merged, or conflict recorded and returned), fail-fast (VC001), last-write-wins, first-write-wins, keep-both, timestamp or queue. edited_at (default now) is when the client made the edit, compared with the head by strategy timestamp. client_clock (instead of a base version): the vector clock the edit descends from; the base is the newest version it dominates, a clock dominating the head fast-forwards. See docs/reference/files.md.';

CREATE TYPE concurrent_edit.read_result AS (
    content      text,
    version      integer,
    content_hash text,
    created_by   uuid,
    created_at   timestamptz,
    path         text,
    deleted_at   timestamptz,
    vector_clock concurrent_edit.vclock
);
COMMENT ON TYPE concurrent_edit.read_result IS 'Result of read(): a version of a file.';
COMMENT ON COLUMN concurrent_edit.read_result.vector_clock IS 'Vector clock of the version (pass it as write(client_clock) to write from it offline).';
COMMENT ON COLUMN concurrent_edit.read_result.content IS 'Text of the version.';
COMMENT ON COLUMN concurrent_edit.read_result.version IS 'Version number.';
COMMENT ON COLUMN concurrent_edit.read_result.content_hash IS 'content_hash(content), the ETag for write(expected_hash).';
COMMENT ON COLUMN concurrent_edit.read_result.created_by IS 'Author of the version.';
COMMENT ON COLUMN concurrent_edit.read_result.created_at IS 'When the version was written.';
COMMENT ON COLUMN concurrent_edit.read_result.path IS 'Current path of the file.';
COMMENT ON COLUMN concurrent_edit.read_result.deleted_at IS 'When the file was deleted; NULL while live.';

CREATE FUNCTION concurrent_edit.read(file_id uuid, version integer DEFAULT NULL)
    RETURNS SETOF concurrent_edit.read_result ROWS 1
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f concurrent_edit.files;
BEGIN
    IF file_id IS NULL THEN
        RAISE EXCEPTION 'argument "file_id" must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO f FROM concurrent_edit.files x WHERE x.id = read.file_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'file % does not exist', read.file_id USING ERRCODE = 'VC007';
    END IF;
    RETURN QUERY
        SELECT v.content, v.version, v.content_hash, v.created_by, v.created_at, f.path, f.deleted_at, v.vector_clock
        FROM concurrent_edit.file_versions v
        WHERE v.project_id = f.project_id AND v.file_id = f.id
          AND v.version = coalesce(read.version, f.head_version);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'version % of file % does not exist', read.version, read.file_id
            USING ERRCODE = 'VC006',
                  DETAIL = pg_catalog.format('The head version is %s.', f.head_version);
    END IF;
END
$$;
COMMENT ON FUNCTION concurrent_edit.read(uuid, integer) IS
    'Content and metadata of a version of a file (the head when version is NULL). Deleted files stay readable (deleted_at is set). Errors: VC007 unknown file, VC006 unknown version.';

CREATE FUNCTION concurrent_edit.history(file_id uuid)
    RETURNS TABLE (version integer, content_hash text, created_by uuid, created_at timestamptz,
                   session_id uuid, bytes integer, is_head boolean, vector_clock concurrent_edit.vclock)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f concurrent_edit.files;
BEGIN
    SELECT * INTO f FROM concurrent_edit.files x WHERE x.id = history.file_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'file % does not exist', history.file_id USING ERRCODE = 'VC007';
    END IF;
    RETURN QUERY
        SELECT v.version, v.content_hash, v.created_by, v.created_at, v.session_id,
               pg_catalog.octet_length(v.content), v.version = f.head_version, v.vector_clock
        FROM concurrent_edit.file_versions v
        WHERE v.project_id = f.project_id AND v.file_id = f.id
        ORDER BY v.version;
END
$$;
COMMENT ON FUNCTION concurrent_edit.history(uuid) IS
    'Versions of a file, oldest first, without their content (use read(file_id, version)).';

CREATE FUNCTION concurrent_edit.diff_versions(file_id uuid, from_version integer, to_version integer)
    RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f concurrent_edit.files;
    a text;
    b text;
BEGIN
    SELECT * INTO f FROM concurrent_edit.files x WHERE x.id = diff_versions.file_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'file % does not exist', diff_versions.file_id USING ERRCODE = 'VC007';
    END IF;
    SELECT v.content INTO a FROM concurrent_edit.file_versions v
     WHERE v.project_id = f.project_id AND v.file_id = f.id AND v.version = diff_versions.from_version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'version % of file % does not exist', from_version, diff_versions.file_id USING ERRCODE = 'VC006';
    END IF;
    SELECT v.content INTO b FROM concurrent_edit.file_versions v
     WHERE v.project_id = f.project_id AND v.file_id = f.id AND v.version = diff_versions.to_version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'version % of file % does not exist', to_version, diff_versions.file_id USING ERRCODE = 'VC006';
    END IF;
    RETURN concurrent_edit.diff(a, b, 3, 'a/' || f.normalized_path, 'b/' || f.normalized_path);
END
$$;
COMMENT ON FUNCTION concurrent_edit.diff_versions(uuid, integer, integer) IS
    'Unified diff between two versions of a file, labelled a/<path> and b/<path> (git apply and patch -p1 accept it).';

CREATE FUNCTION concurrent_edit.delete_file(file_id uuid, author uuid DEFAULT NULL, session_id uuid DEFAULT NULL,
                                            force boolean DEFAULT false, base_version integer DEFAULT NULL)
    RETURNS TABLE (status text, version integer, open_sessions uuid[], draft_sessions uuid[])
    AS 'MODULE_PATHNAME', 'ce_delete_file'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.delete_file(uuid, uuid, uuid, boolean, integer) IS
    'Soft-deletes a file (history stays readable). When other sessions have it open or hold drafts of it, status is conflict and nothing is deleted unless force => true (then deleted, and the sessions are still reported). base_version, when given, must be the head (else VC001).';

CREATE FUNCTION concurrent_edit.rename_file(file_id uuid, new_path text, author uuid DEFAULT NULL,
                                            session_id uuid DEFAULT NULL)
    RETURNS TABLE (path text, normalized_path text, old_path text)
    AS 'MODULE_PATHNAME', 'ce_rename_file'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.rename_file(uuid, text, uuid, uuid) IS
    'Moves a file to another path in its project. A live file at the target''s normalized path is a rename conflict (VC003, DETAIL names it); a deleted file cannot be renamed (VC002).';

CREATE TYPE concurrent_edit.conflict_info AS (
    conflict_id        uuid,
    file_id            uuid,
    path               text,
    kind               text,
    base_version       integer,
    ours_version       integer,
    strategy           text,
    conflicts          integer,
    created_by         uuid,
    created_at         timestamptz,
    resolved_by        uuid,
    resolved_at        timestamptz,
    resolution_version integer,
    details            jsonb,
    row_relation       text,
    row_key            jsonb
);
COMMENT ON TYPE concurrent_edit.conflict_info IS 'A row of list_conflicts().';
COMMENT ON COLUMN concurrent_edit.conflict_info.row_relation IS 'For a row conflict: the table.';
COMMENT ON COLUMN concurrent_edit.conflict_info.row_key IS 'For a row conflict: the row''s primary key.';
COMMENT ON COLUMN concurrent_edit.conflict_info.conflict_id IS 'Conflict id (for resolve_conflict).';
COMMENT ON COLUMN concurrent_edit.conflict_info.file_id IS 'File in conflict.';
COMMENT ON COLUMN concurrent_edit.conflict_info.path IS 'Current path of the file (NULL for a row conflict).';
COMMENT ON COLUMN concurrent_edit.conflict_info.kind IS 'content, delete or rename.';
COMMENT ON COLUMN concurrent_edit.conflict_info.base_version IS 'Common ancestor version.';
COMMENT ON COLUMN concurrent_edit.conflict_info.ours_version IS 'Head version the write met.';
COMMENT ON COLUMN concurrent_edit.conflict_info.strategy IS 'Strategy of the conflicting write.';
COMMENT ON COLUMN concurrent_edit.conflict_info.conflicts IS 'Number of conflict regions.';
COMMENT ON COLUMN concurrent_edit.conflict_info.created_by IS 'Author of the conflicting write.';
COMMENT ON COLUMN concurrent_edit.conflict_info.created_at IS 'When the conflict was recorded.';
COMMENT ON COLUMN concurrent_edit.conflict_info.resolved_by IS 'Who resolved it.';
COMMENT ON COLUMN concurrent_edit.conflict_info.resolved_at IS 'When it was resolved.';
COMMENT ON COLUMN concurrent_edit.conflict_info.resolution_version IS 'Version written by the resolution.';
COMMENT ON COLUMN concurrent_edit.conflict_info.details IS 'Regions and labels of the conflict (JSON).';

CREATE FUNCTION concurrent_edit.list_conflicts(file_id uuid DEFAULT NULL, project_id uuid DEFAULT NULL,
                                               include_resolved boolean DEFAULT false)
    RETURNS SETOF concurrent_edit.conflict_info
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF list_conflicts.file_id IS NULL AND list_conflicts.project_id IS NULL THEN
        RAISE EXCEPTION 'list_conflicts needs a file_id or a project_id' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    RETURN QUERY
        SELECT c.id, c.file_id, f.path, c.kind, c.base_version, c.ours_version, c.strategy,
               CASE WHEN jsonb_typeof(c.details -> 'conflicts') = 'array' THEN jsonb_array_length(c.details -> 'conflicts')
                    ELSE coalesce((c.details ->> 'conflicts')::integer, 0) END,
               c.created_by, c.created_at, c.resolved_by, c.resolved_at, c.resolution_version, c.details,
               c.row_relation, c.row_key
        FROM concurrent_edit.conflict_history c
        LEFT JOIN concurrent_edit.files f ON f.project_id = c.project_id AND f.id = c.file_id
        WHERE (list_conflicts.file_id IS NULL OR c.file_id = list_conflicts.file_id)
          AND (list_conflicts.project_id IS NULL OR c.project_id = list_conflicts.project_id)
          AND (list_conflicts.include_resolved OR c.resolved_at IS NULL)
          -- Row conflicts carry row data: only for who may read the table.
          AND (c.kind <> 'row'
               OR pg_catalog.has_table_privilege(session_user, pg_catalog.to_regclass(c.row_relation), 'SELECT'))
        ORDER BY c.created_at, c.id;
END
$$;
COMMENT ON FUNCTION concurrent_edit.list_conflicts(uuid, uuid, boolean) IS
    'Conflicts of a file or of a project, oldest first; unresolved only unless include_resolved. Row conflicts (OCC trigger; project_id is the nil uuid unless enable_occ named a project column) are listed only to roles that may SELECT the table (checked for session_user).';

CREATE FUNCTION concurrent_edit.resolve_conflict(conflict_id uuid, content text, resolved_by uuid)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ce_resolve_conflict'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.resolve_conflict(uuid, text, uuid) IS
    'Writes the resolution of an open conflict on top of the current head (merging again if the head moved since the conflict), marks the conflict resolved by resolved_by, and returns the new version. VC008 if the conflict is unknown or already resolved; VC001 if the head moved and the resolution conflicts with it. A row conflict (OCC trigger) takes content NULL: it is resolved by updating the row, this only closes the record (returns NULL).';

CREATE TYPE concurrent_edit.change_event AS (
    cursor       bigint,
    event        text,
    file_id      uuid,
    path         text,
    version      integer,
    content_hash text,
    session_id   uuid,
    author       uuid,
    details      jsonb,
    created_at   timestamptz
);
COMMENT ON TYPE concurrent_edit.change_event IS 'An event of the change feed (a row of changes_since(); the NOTIFY payload has the same fields).';
COMMENT ON COLUMN concurrent_edit.change_event.cursor IS 'Position in the project''s feed.';
COMMENT ON COLUMN concurrent_edit.change_event.event IS 'What happened.';
COMMENT ON COLUMN concurrent_edit.change_event.file_id IS 'File concerned, if any.';
COMMENT ON COLUMN concurrent_edit.change_event.path IS 'Path of the file at the time.';
COMMENT ON COLUMN concurrent_edit.change_event.version IS 'Version written, if any.';
COMMENT ON COLUMN concurrent_edit.change_event.content_hash IS 'Hash of that version.';
COMMENT ON COLUMN concurrent_edit.change_event.session_id IS 'Session that made the change.';
COMMENT ON COLUMN concurrent_edit.change_event.author IS 'User who made the change.';
COMMENT ON COLUMN concurrent_edit.change_event.details IS 'Further ids of the event.';
COMMENT ON COLUMN concurrent_edit.change_event.created_at IS 'Time of the change''s transaction.';

CREATE FUNCTION concurrent_edit.changes_since(project_id uuid, cursor bigint, max_events integer DEFAULT NULL)
    RETURNS SETOF concurrent_edit.change_event
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pruned bigint;
BEGIN
    IF changes_since.project_id IS NULL OR changes_since.cursor IS NULL THEN
        RAISE EXCEPTION 'project_id and cursor must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT fe.pruned_through INTO pruned FROM concurrent_edit.change_feeds fe
     WHERE fe.project_id = changes_since.project_id;
    IF changes_since.cursor < coalesce(pruned, 0) THEN
        RAISE EXCEPTION 'cursor % is older than the retained change feed', changes_since.cursor
            USING ERRCODE = 'VC012',
                  DETAIL = pg_catalog.format('Events up to cursor %s were pruned.', pruned),
                  HINT = 'Re-read the files you need, then continue from the newest cursor.';
    END IF;
    RETURN QUERY
        SELECT l.cursor, l.event, l.file_id, l.path, l.version, l.content_hash, l.session_id, l.author,
               l.details, l.created_at
        FROM concurrent_edit.change_log l
        WHERE l.project_id = changes_since.project_id AND l.cursor > changes_since.cursor
        ORDER BY l.cursor
        LIMIT changes_since.max_events;
END
$$;
COMMENT ON FUNCTION concurrent_edit.changes_since(uuid, bigint, integer) IS
    'Events of a project after a cursor, in order (the same events NOTIFY sent): a client that was disconnected catches up from the last cursor it saw (0 for all). VC012 if that cursor was pruned.';

CREATE FUNCTION concurrent_edit.prune_changes(older_than interval DEFAULT '30 days', project_id uuid DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    n bigint := 0;
    k bigint;
BEGIN
    IF prune_changes.older_than IS NULL OR prune_changes.older_than < interval '0' THEN
        RAISE EXCEPTION 'older_than must be a non-negative interval' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR r IN
        SELECT f.project_id, max(l.cursor) AS upto
        FROM concurrent_edit.change_feeds f
        JOIN concurrent_edit.change_log l ON l.project_id = f.project_id
        WHERE (prune_changes.project_id IS NULL OR f.project_id = prune_changes.project_id)
          AND l.created_at < now() - prune_changes.older_than
        GROUP BY f.project_id
        ORDER BY f.project_id
    LOOP
        -- The feed row lock keeps sequencers of the project out while we cut.
        PERFORM 1 FROM concurrent_edit.change_feeds f WHERE f.project_id = r.project_id FOR UPDATE;
        DELETE FROM concurrent_edit.change_log l WHERE l.project_id = r.project_id AND l.cursor <= r.upto;
        GET DIAGNOSTICS k = ROW_COUNT;
        UPDATE concurrent_edit.change_feeds f SET pruned_through = greatest(f.pruned_through, r.upto)
        WHERE f.project_id = r.project_id;
        n := n + k;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION concurrent_edit.prune_changes(interval, uuid) IS
    'Administrators: deletes change feed events older than older_than (of one project or all) and records up to which cursor the feed was pruned; changes_since() then refuses older cursors with VC012. Returns how many events were deleted.';
