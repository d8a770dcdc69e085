-- Drafts: a session's unsaved work, autosaved, committed as a write
-- (docs/reference/drafts.md, src/pg/drafts.cpp).


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
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.pending_changes', '');
CREATE FUNCTION concurrent_edit.draft_visible(project_id uuid, session_id uuid) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_draft_visible'
    LANGUAGE C STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.draft_visible(uuid, uuid) IS
    'Whether the current role may see the drafts of a session of a project: the session''s role (or a role with its privileges) with read on the project, or an admin of the project, as for session_drafts(). The read policy of pending_changes uses it.';
CREATE FUNCTION concurrent_edit.save_draft(session_id uuid, file_id uuid, base_version integer, content text)
    RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'ce_save_draft'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.save_draft(uuid, uuid, integer, text) IS
    'Autosave: upserts the session''s unsaved draft of a file (edited from base_version) and keeps the session active (event draft_saved, no content). Returns when it was saved.';
CREATE FUNCTION concurrent_edit.discard_draft(session_id uuid, file_id uuid)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_discard_draft'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.discard_draft(uuid, uuid) IS 'Deletes the session''s draft of a file (event draft_discarded); false if there was none.';
CREATE FUNCTION concurrent_edit.commit_draft(session_id uuid, file_id uuid, strategy text DEFAULT 'merge')
    RETURNS concurrent_edit.write_result
    AS 'MODULE_PATHNAME', 'ce_commit_draft'
    LANGUAGE C VOLATILE
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
CREATE FUNCTION concurrent_edit.session_drafts(session_id uuid)
    RETURNS SETOF concurrent_edit.draft_info
    AS 'MODULE_PATHNAME', 'ce_session_drafts'
    LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.session_drafts(uuid) IS 'Drafts a session holds (also after it was closed), with the head they may need merging onto.';
