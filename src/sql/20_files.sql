-- Files: the file rows and their versions, and the functions that create, read,
-- rename and delete files (docs/reference/files.md, src/pg/files.cpp).
--
-- The data model: every table carries project_id and every primary and unique key
-- starts with it, so all tables can be distributed by project_id and colocated
-- (Citus). Session ids are uuid everywhere. Shared locks can have several holders
-- (no UNIQUE(file_id), which would allow one lock per file); enumerated columns
-- have CHECKs; NOT NULL timestamps; a file's live path is unique per project.
--
-- The API functions are SECURITY INVOKER C functions: each checks the caller's
-- right on the project it touches (docs/security.md) and runs its fixed
-- statements on these tables in the extension owner's context. Applications have
-- no privilege on the tables themselves.

-- A SHA-256 digest in lowercase hex (content_hash). A domain rather than a
-- table CHECK: a domain's check is compiled once per backend, a table's at every
-- statement that writes the table. The test is is_sha256_hex (00_foundation.sql),
-- a C function: a regular expression cost about 4 % of a small write's CPU.
CREATE DOMAIN concurrent_edit.sha256_hex AS text
    CONSTRAINT sha256_hex_check CHECK (concurrent_edit.is_sha256_hex(VALUE));
COMMENT ON DOMAIN concurrent_edit.sha256_hex IS
    'A SHA-256 digest as 64 lowercase hex digits (content_hash of a text).';
-- The row checks of files and file_versions, each the whole CHECK of its table
-- (src/pg/files.cpp): PostgreSQL reads a table's CHECK expressions back from the
-- catalog and plans them again in every statement that writes the table, and a
-- single function call costs a fraction of the expressions it replaces. Internal:
-- only the extension owner (who runs every write) executes them.
CREATE FUNCTION concurrent_edit._file_row_ok(head_version integer, deleted_at timestamptz, deleted_by uuid)
    RETURNS boolean AS 'MODULE_PATHNAME', 'ce_file_row_ok' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit._file_row_ok(integer, timestamptz, uuid) IS
    'Internal: the CHECK of files (files_row_check): head_version >= 1, and deleted_at and deleted_by both set or both NULL. NULL arguments pass. Not part of the API.';
CREATE FUNCTION concurrent_edit._file_version_row_ok(version integer, content text, delta bytea, delta_base integer,
                                                     depth integer, bytes integer)
    RETURNS boolean AS 'MODULE_PATHNAME', 'ce_file_version_row_ok' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit._file_version_row_ok(integer, text, bytea, integer, integer, integer) IS
    'Internal: the CHECK of file_versions (file_versions_row_check): version >= 1; content (depth 0) or delta with an older delta_base (depth >= 1), never both; bytes >= 0. NULL arguments pass. Not part of the API.';
CREATE TABLE concurrent_edit.files (
    project_id      uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    path            text        NOT NULL,
    normalized_path text        NOT NULL,
    head_version    integer     NOT NULL DEFAULT 1,
    head_hash       concurrent_edit.sha256_hex NOT NULL,
    head_clock      concurrent_edit.vclock,
    head_content    text        NOT NULL,
    deleted_at      timestamptz,
    deleted_by      uuid,
    created_by      uuid        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_by      uuid        NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    renamed_at_version integer,
    CONSTRAINT files_pkey PRIMARY KEY (project_id, id),
    -- head_version >= 1; deleted_at and deleted_by both set or both NULL. One C
    -- call: a table's CHECK expressions are read and planned again by every
    -- statement that writes the table (see _file_row_ok above).
    CONSTRAINT files_row_check CHECK (concurrent_edit._file_row_ok(head_version, deleted_at, deleted_by))
);
COMMENT ON TABLE concurrent_edit.files IS
    'One row per file: its path and head (latest) version. Writers of a file serialize on this row. Rows are soft-deleted (deleted_at) so history stays readable.';
COMMENT ON COLUMN concurrent_edit.files.project_id IS 'Project (tenant) the file belongs to; distribution key.';
COMMENT ON COLUMN concurrent_edit.files.id IS 'File id, referenced by every API call.';
COMMENT ON COLUMN concurrent_edit.files.path IS 'Path as the client spelled it.';
COMMENT ON COLUMN concurrent_edit.files.normalized_path IS 'Key of the path under the project''s options (project_options: NFC, case folding), computed by the API when the file is created, renamed or restored and by set_project_options; unique per project among live files. Restored as stored by pg_restore (project_options is dumped too).';
COMMENT ON COLUMN concurrent_edit.files.head_version IS 'Latest version number (file_versions.version).';
COMMENT ON COLUMN concurrent_edit.files.head_hash IS 'content_hash of the head version: the ETag for expected_hash.';
COMMENT ON COLUMN concurrent_edit.files.head_content IS 'Full text of the head version (older versions are stored as deltas in file_versions; docs/reference/history.md).';
COMMENT ON COLUMN concurrent_edit.files.head_clock IS 'Vector clock of the head version (a copy of its file_versions.vector_clock).';
COMMENT ON COLUMN concurrent_edit.files.deleted_at IS 'When the file was deleted; NULL while live.';
COMMENT ON COLUMN concurrent_edit.files.deleted_by IS 'Who deleted the file.';
COMMENT ON COLUMN concurrent_edit.files.created_by IS 'Author of version 1.';
COMMENT ON COLUMN concurrent_edit.files.created_at IS 'When the file was created.';
COMMENT ON COLUMN concurrent_edit.files.updated_by IS 'Author of the latest change (last_modified_by in errors).';
COMMENT ON COLUMN concurrent_edit.files.updated_at IS 'Time of the latest change (last_modified_at in errors).';
COMMENT ON COLUMN concurrent_edit.files.renamed_at_version IS 'Head version when the file was last renamed (NULL: never): a rename based on this version or an older one comes from a view the rename changed.';
-- Every write replaces the head text: lz4, where the server was built with it,
-- compresses and decompresses it several times faster than the default pglz.
DO $$
BEGIN
    ALTER TABLE concurrent_edit.files ALTER COLUMN head_content SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;  -- without lz4 the column keeps the default compression
END
$$;
CREATE UNIQUE INDEX files_live_path_key
    ON concurrent_edit.files (project_id, normalized_path) WHERE deleted_at IS NULL;
COMMENT ON INDEX concurrent_edit.files_live_path_key IS 'At most one live file per path key (normalized_path) in a project.';
CREATE INDEX files_live_key_c_idx
    ON concurrent_edit.files (project_id, normalized_path COLLATE "C") WHERE deleted_at IS NULL;
COMMENT ON INDEX concurrent_edit.files_live_key_c_idx IS 'list_files(): the live files of a project in byte order of their keys; a path prefix is a range of it, whatever the database''s collation.';
CREATE INDEX files_id_idx ON concurrent_edit.files (id);
COMMENT ON INDEX concurrent_edit.files_id_idx IS 'Lookup of a file by id alone (API calls name the file, not the project).';
-- pg_dump / pg_restore keep the rows of every user-data table.
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.files', '');
CREATE TABLE concurrent_edit.file_versions (
    project_id   uuid        NOT NULL,
    file_id      uuid        NOT NULL,
    version      integer     NOT NULL,
    content      text,
    delta        bytea,
    delta_base   integer,
    depth        integer     NOT NULL DEFAULT 0,
    bytes        integer     NOT NULL,
    content_hash concurrent_edit.sha256_hex NOT NULL,
    created_by   uuid        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    session_id   uuid,
    vector_clock concurrent_edit.vclock,
    CONSTRAINT file_versions_pkey PRIMARY KEY (project_id, file_id, version),
    CONSTRAINT file_versions_file_fkey FOREIGN KEY (project_id, file_id)
        REFERENCES concurrent_edit.files (project_id, id) ON DELETE CASCADE,
    -- version >= 1; a version is stored in full (content, depth 0) or as a delta
    -- from an older version (delta, delta_base < version, depth >= 1); bytes >= 0.
    CONSTRAINT file_versions_row_check
        CHECK (concurrent_edit._file_version_row_ok(version, content, delta, delta_base, depth, bytes))
);
COMMENT ON TABLE concurrent_edit.file_versions IS
    'Immutable history of every file: each version in full or as a delta from an older version (docs/reference/history.md). The base of every three-way merge comes from here; the head''s text is also kept whole in files.head_content.';
COMMENT ON COLUMN concurrent_edit.file_versions.project_id IS 'Project of the file; distribution key.';
COMMENT ON COLUMN concurrent_edit.file_versions.file_id IS 'The file.';
COMMENT ON COLUMN concurrent_edit.file_versions.version IS 'Version number, 1 for the first, unique per file.';
COMMENT ON COLUMN concurrent_edit.file_versions.content IS 'Full text of this version when it is stored in full (a snapshot: depth 0), else NULL.';
COMMENT ON COLUMN concurrent_edit.file_versions.delta IS 'When not stored in full: the binary delta (copy and insert instructions) that turns version delta_base into this one.';
COMMENT ON COLUMN concurrent_edit.file_versions.delta_base IS 'The older version the delta applies to (NULL for a snapshot).';
COMMENT ON COLUMN concurrent_edit.file_versions.depth IS 'Deltas applied to rebuild this version from its nearest snapshot (0 for a snapshot); bounded, so reading any version costs a bounded number of delta applications.';
COMMENT ON COLUMN concurrent_edit.file_versions.bytes IS 'Length of this version''s text in bytes.';
COMMENT ON COLUMN concurrent_edit.file_versions.content_hash IS 'content_hash(content): lowercase hex SHA-256.';
COMMENT ON COLUMN concurrent_edit.file_versions.created_by IS 'Author of this version.';
COMMENT ON COLUMN concurrent_edit.file_versions.created_at IS 'When this version was written.';
COMMENT ON COLUMN concurrent_edit.file_versions.session_id IS 'Edit session that wrote it, if any.';
COMMENT ON COLUMN concurrent_edit.file_versions.vector_clock IS 'Vector clock of this version.';
-- No index on created_at: every query of the extension that filters on it
-- (retention's keep_days, revert_author's since, history) reads one file's
-- versions through the primary key, and an index kept up to date by every write
-- that nothing reads only costs the writes (1.0 had one).
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.file_versions', '');

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
CREATE FUNCTION concurrent_edit.create_file(project_id uuid, path text, content text, author uuid,
                                            session_id uuid DEFAULT NULL, file_id uuid DEFAULT NULL)
    RETURNS uuid
    AS 'MODULE_PATHNAME', 'ce_create_file'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.create_file(uuid, text, text, uuid, uuid, uuid) IS
    'Creates a file with version 1 and returns its id (file_id when the client chose one, e.g. an offline client). A live file whose path has the same key under the project''s options (project_options) is an error (VC003); a refused path is 22023. With a session, the author is the session''s user.';
CREATE FUNCTION concurrent_edit.read(file_id uuid, version integer DEFAULT NULL)
    RETURNS SETOF concurrent_edit.read_result ROWS 1
    AS 'MODULE_PATHNAME', 'ce_read'
    LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.read(uuid, integer) IS
    'Content and metadata of a version of a file (the head when version is NULL). Deleted files stay readable (deleted_at is set). Errors: VC007 unknown file, VC006 unknown version.';
CREATE FUNCTION concurrent_edit.list_files(project_id uuid, path_prefix text DEFAULT NULL)
    RETURNS TABLE (file_id uuid, path text, normalized_path text, version integer, content_hash text, bytes bigint,
                   created_by uuid, created_at timestamptz, updated_by uuid, updated_at timestamptz)
    AS 'MODULE_PATHNAME', 'ce_list_files'
    LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.list_files(uuid, text) IS
    'The live (not deleted) files of a project, ordered by path key in byte order: id, path as given, key (normalized_path), head version, its content_hash, its size in bytes, creation and latest change. path_prefix (NULL or empty: every file) is compared as a key under the project''s options (NFC, case folding), a trailing slash kept: ''src/'' lists src/a.ts, not srcx. Needs read on the project; a refused prefix is 22023.';
CREATE FUNCTION concurrent_edit.history(file_id uuid)
    RETURNS TABLE (version integer, content_hash text, created_by uuid, created_at timestamptz,
                   session_id uuid, bytes integer, is_head boolean, vector_clock concurrent_edit.vclock)
    AS 'MODULE_PATHNAME', 'ce_history'
    LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.history(uuid) IS
    'Versions of a file, oldest first, without their content (use read(file_id, version)).';
CREATE FUNCTION concurrent_edit.diff_versions(file_id uuid, from_version integer, to_version integer)
    RETURNS text
    AS 'MODULE_PATHNAME', 'ce_diff_versions'
    LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.diff_versions(uuid, integer, integer) IS
    'Unified diff between two versions of a file, labelled a/<path> and b/<path> (git apply and patch -p1 accept it).';
CREATE FUNCTION concurrent_edit.delete_file(file_id uuid, author uuid DEFAULT NULL, session_id uuid DEFAULT NULL,
                                            force boolean DEFAULT false, base_version integer DEFAULT NULL)
    RETURNS TABLE (status text, version integer, open_sessions uuid[], draft_sessions uuid[])
    AS 'MODULE_PATHNAME', 'ce_delete_file'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.delete_file(uuid, uuid, uuid, boolean, integer) IS
    'Soft-deletes a file (history stays readable). When other sessions have it open or hold drafts of it, status is conflict and nothing is deleted unless force => true (then deleted, and the sessions are still reported). base_version, when given, must be the head (else VC001).';
CREATE FUNCTION concurrent_edit.rename_file(file_id uuid, new_path text, author uuid DEFAULT NULL,
                                            session_id uuid DEFAULT NULL, expected_path text DEFAULT NULL,
                                            base_version integer DEFAULT NULL, strategy text DEFAULT 'merge')
    RETURNS TABLE (path text, normalized_path text, old_path text, status text, conflict_id uuid)
    AS 'MODULE_PATHNAME', 'ce_rename_file'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.rename_file(uuid, text, uuid, uuid, text, integer, text) IS
    'Moves a file to another path in its project (status renamed, or unchanged for the same path). With expected_path (the path the caller saw) or base_version (the version it saw), a rename from a view that another rename has changed since is a conflict: strategy fail-fast raises VC001, merge (the default) records a conflict of kind rename and returns status conflict with its id (resolve it with choose ours or theirs), last-write-wins renames anyway. Paths are compared by their keys under the project''s options (a case-only rename in a case-insensitive project is a rename of the file itself); another live file with the target''s key is VC003 (DETAIL names it); a deleted file cannot be renamed (VC002).';
