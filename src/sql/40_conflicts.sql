-- Conflicts: every real conflict, and the conflict workflow
-- (docs/reference/conflicts.md, src/pg/conflicts.cpp).

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
    created_role   regrole,
    created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    resolved_by    uuid,
    resolved_at    timestamptz,
    resolution_version integer,
    discarded      boolean     NOT NULL DEFAULT false,
    discard_reason text,
    CONSTRAINT conflict_history_pkey PRIMARY KEY (project_id, id),
    CONSTRAINT conflict_history_file_fkey FOREIGN KEY (project_id, file_id)
        REFERENCES concurrent_edit.files (project_id, id) ON DELETE CASCADE,
    -- Versions an open conflict needs for its merge stay available.
    CONSTRAINT conflict_history_base_fkey FOREIGN KEY (project_id, file_id, base_version)
        REFERENCES concurrent_edit.file_versions (project_id, file_id, version),
    CONSTRAINT conflict_history_ours_fkey FOREIGN KEY (project_id, file_id, ours_version)
        REFERENCES concurrent_edit.file_versions (project_id, file_id, version),
    CONSTRAINT conflict_history_kind_check CHECK (kind IN ('content', 'delete', 'row', 'rename')),
    CONSTRAINT conflict_history_subject_check CHECK (
        (kind <> 'row' AND file_id IS NOT NULL AND row_relation IS NULL AND row_key IS NULL)
        OR (kind = 'row' AND file_id IS NULL AND row_relation IS NOT NULL AND row_key IS NOT NULL)),
    CONSTRAINT conflict_history_strategy_check CHECK (strategy IN
        ('merge', 'fail-fast', 'last-write-wins', 'first-write-wins', 'keep-both', 'timestamp', 'queue',
         'trigger-merge')),
    CONSTRAINT conflict_history_resolved_check CHECK ((resolved_at IS NULL) = (resolved_by IS NULL)),
    CONSTRAINT conflict_history_discarded_check CHECK (NOT discarded OR (resolved_at IS NOT NULL AND resolution_version IS NULL)),
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
COMMENT ON COLUMN concurrent_edit.conflict_history.kind IS 'content (overlapping edits of a file), delete (a write to a deleted file), rename (a rename from a path or version that is no longer current) or row (a stale UPDATE under the OCC trigger that could not be merged).';
COMMENT ON COLUMN concurrent_edit.conflict_history.base_version IS 'Common ancestor version (of the file, or of the row).';
COMMENT ON COLUMN concurrent_edit.conflict_history.ours_version IS 'Head version the write met (of the file, or of the row).';
COMMENT ON COLUMN concurrent_edit.conflict_history.theirs_version IS 'Version holding the other side, when it was stored as a version.';
COMMENT ON COLUMN concurrent_edit.conflict_history.theirs_content IS 'The proposed text that could not be merged (not stored as a version).';
COMMENT ON COLUMN concurrent_edit.conflict_history.strategy IS 'Strategy of the write that met the conflict.';
COMMENT ON COLUMN concurrent_edit.conflict_history.details IS 'Conflict regions and other details (JSON object).';
COMMENT ON COLUMN concurrent_edit.conflict_history.session_id IS 'Session of the conflicting write.';
COMMENT ON COLUMN concurrent_edit.conflict_history.created_by IS 'Author of the conflicting write.';
COMMENT ON COLUMN concurrent_edit.conflict_history.created_role IS 'Database role whose write met the conflict: it resolves or discards it with write access; any other role needs admin on the project.';
COMMENT ON COLUMN concurrent_edit.conflict_history.created_at IS 'When the conflict was recorded.';
COMMENT ON COLUMN concurrent_edit.conflict_history.resolved_by IS 'Who resolved it.';
COMMENT ON COLUMN concurrent_edit.conflict_history.resolved_at IS 'When it was resolved; NULL while open.';
COMMENT ON COLUMN concurrent_edit.conflict_history.resolution_version IS 'Version written by the resolution.';
COMMENT ON COLUMN concurrent_edit.conflict_history.discarded IS 'Closed by discard_conflict() without writing anything.';
COMMENT ON COLUMN concurrent_edit.conflict_history.discard_reason IS 'Why it was discarded (discard_conflict).';
CREATE INDEX conflict_history_open_idx ON concurrent_edit.conflict_history (project_id, file_id)
    WHERE resolved_at IS NULL;
COMMENT ON INDEX concurrent_edit.conflict_history_open_idx IS 'Open conflicts of a file.';
CREATE INDEX conflict_history_file_idx ON concurrent_edit.conflict_history (project_id, file_id, created_at);
COMMENT ON INDEX concurrent_edit.conflict_history_file_idx IS 'Conflict history of a file, newest last.';
CREATE INDEX conflict_history_id_idx ON concurrent_edit.conflict_history (id);
-- Row conflicts by table: a renamed or dropped table's (the event triggers of
-- 70_occ.sql).
CREATE INDEX conflict_history_row_relation_idx ON concurrent_edit.conflict_history (row_relation) WHERE kind = 'row';
COMMENT ON INDEX concurrent_edit.conflict_history_row_relation_idx IS 'Row conflicts of a table, for its rename or drop.';
COMMENT ON INDEX concurrent_edit.conflict_history_id_idx IS 'Lookup of a conflict by id alone (resolve_conflict).';
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.conflict_history', '');
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
    row_key            jsonb,
    theirs_version     integer,
    base_hash          text,
    ours_hash          text,
    theirs_hash        text,
    discarded          boolean,
    discard_reason     text
);
COMMENT ON TYPE concurrent_edit.conflict_info IS 'A row of list_conflicts().';
COMMENT ON COLUMN concurrent_edit.conflict_info.theirs_version IS 'Version holding the other side when it was stored as one (a revert: the version before the reverted one); NULL when theirs is the proposed text.';
COMMENT ON COLUMN concurrent_edit.conflict_info.base_hash IS 'content_hash of the base version.';
COMMENT ON COLUMN concurrent_edit.conflict_info.ours_hash IS 'content_hash of the ours version (the head the write met).';
COMMENT ON COLUMN concurrent_edit.conflict_info.theirs_hash IS 'content_hash of theirs (the proposed text).';
COMMENT ON COLUMN concurrent_edit.conflict_info.discarded IS 'Closed by discard_conflict().';
COMMENT ON COLUMN concurrent_edit.conflict_info.discard_reason IS 'Why it was discarded.';
COMMENT ON COLUMN concurrent_edit.conflict_info.row_relation IS 'For a row conflict: the table.';
COMMENT ON COLUMN concurrent_edit.conflict_info.row_key IS 'For a row conflict: the row''s primary key.';
COMMENT ON COLUMN concurrent_edit.conflict_info.conflict_id IS 'Conflict id (for resolve_conflict).';
COMMENT ON COLUMN concurrent_edit.conflict_info.file_id IS 'File in conflict.';
COMMENT ON COLUMN concurrent_edit.conflict_info.path IS 'Current path of the file (NULL for a row conflict).';
COMMENT ON COLUMN concurrent_edit.conflict_info.kind IS 'content, delete, rename or row.';
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
CREATE FUNCTION concurrent_edit.conflict_regions(details jsonb) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    RETURN CASE jsonb_typeof(details -> 'conflicts')
                WHEN 'array' THEN jsonb_array_length(details -> 'conflicts')
                WHEN 'number' THEN least(greatest((details ->> 'conflicts')::numeric, 0), 2147483647)::integer
                ELSE 0 END;
COMMENT ON FUNCTION concurrent_edit.conflict_regions(jsonb) IS
    'How many conflicting regions a conflict''s details name: the regions of a content conflict, the conflicting columns or paths of a row conflict (list_conflicts().conflicts, open_conflicts.regions).';
CREATE FUNCTION concurrent_edit.row_conflict_visible(row_relation text, role oid DEFAULT NULL) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_row_conflict_visible'
    LANGUAGE C STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.row_conflict_visible(text, oid) IS
    'Whether a role (default: the current one) may see the row conflicts of a table (row_relation as conflict_history stores it, schema-qualified): it needs SELECT on the table, and the table''s row-level security must not apply to it (its owner, a BYPASSRLS role), since a conflict carries row data a policy may hide. False for a table that does not exist, or in a schema the role may not use. The read policy of conflict_history and list_conflicts use it.';
CREATE FUNCTION concurrent_edit.list_conflicts(file_id uuid DEFAULT NULL, project_id uuid DEFAULT NULL,
                                               include_resolved boolean DEFAULT false)
    RETURNS SETOF concurrent_edit.conflict_info
    AS 'MODULE_PATHNAME', 'ce_list_conflicts'
    LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.list_conflicts(uuid, uuid, boolean) IS
    'Conflicts of a file or of a project, oldest first; unresolved only unless include_resolved. Row conflicts (OCC trigger; project_id is the nil uuid unless enable_occ named a project column) are listed only to roles that may SELECT the table and that its row-level security does not filter (row_conflict_visible).';
CREATE FUNCTION concurrent_edit.resolve_conflict(conflict_id uuid, content text DEFAULT NULL,
                                                 resolved_by uuid DEFAULT NULL, choose text DEFAULT NULL,
                                                 hunks jsonb DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ce_resolve_conflict'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.resolve_conflict(uuid, text, uuid, text, jsonb) IS
    'Resolves an open conflict with exactly one of: content (the whole resolved text), choose (ours, theirs, base or union for every hunk, like git checkout --ours/--theirs and merge-file --union) or hunks (a JSON array of {"hunk": n, "choose": ...} or {"hunk": n, "text": ...}, one per hunk of conflict_hunks()). The resolution is written on top of the current head (merged again if the head moved since the conflict); returns the new version. resolved_by defaults to the conflict''s author. VC008 if the conflict is unknown or closed; VC001 if the head moved and the resolution conflicts with it; 22023 for a bad choice or hunk list. A row conflict takes nothing: it is resolved by updating the row, this only closes the record (returns NULL). A rename conflict takes choose ours (keep the current path) or theirs (rename to the proposed path).';
CREATE FUNCTION concurrent_edit.discard_conflict(conflict_id uuid, reason text)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_discard_conflict'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.discard_conflict(uuid, text) IS
    'Closes an open conflict without writing anything: the proposed change is dropped. Recorded (discarded, discard_reason, resolved_at) and sent as a conflict_discarded event. Returns true. VC008 if the conflict is unknown or already closed; the same rights as resolve_conflict.';
CREATE FUNCTION concurrent_edit.conflict_hunks(conflict_id uuid)
    RETURNS TABLE (hunk integer, base_start integer, base_text text, ours_start integer, ours_text text,
                   theirs_start integer, theirs_text text)
    AS 'MODULE_PATHNAME', 'ce_conflict_hunks'
    LANGUAGE C STABLE STRICT
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.conflict_hunks(uuid) IS
    'The conflicting regions of a content conflict, one row per hunk in text order: the 1-based first line and the lines of base, ours (the head the write met) and theirs (the proposed text). An empty range has its start at the line it sits before. Needs read on the project; VC008 for an unknown conflict.';
CREATE FUNCTION concurrent_edit.conflict_texts(conflict_id uuid)
    RETURNS TABLE (base_version integer, base_text text, ours_version integer, ours_text text,
                   theirs_version integer, theirs_text text)
    AS 'MODULE_PATHNAME', 'ce_conflict_texts'
    LANGUAGE C STABLE STRICT
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.conflict_texts(uuid) IS
    'The three whole texts of a content conflict: base, ours and theirs (theirs_version NULL when theirs is the proposed text). Needs read on the project; VC008 for an unknown conflict.';
