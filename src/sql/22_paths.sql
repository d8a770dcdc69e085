-- Path identity per project (docs/reference/paths.md, src/pg/paths.cpp): how a
-- project compares paths (Unicode normalization, case), kept per project; the key
-- of a path (files.normalized_path) follows them. The rule is the core's
-- (include/concurrent_edit/path.hpp); normalize_path() (00_foundation.sql) applies
-- it to any options.

CREATE TABLE concurrent_edit.project_options (
    project_id            uuid        NOT NULL,
    case_insensitive      boolean     NOT NULL,
    unicode_normalization text        NOT NULL,
    updated_by            text        NOT NULL,
    updated_at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT project_options_pkey PRIMARY KEY (project_id),
    CONSTRAINT project_options_unicode_normalization_check CHECK (unicode_normalization IN ('NFC', 'none'))
);
COMMENT ON TABLE concurrent_edit.project_options IS
    'Options of a project, set with set_project_options(). A project without a row has the defaults: NFC, case-sensitive. The keys of its files (files.normalized_path) are computed with them.';
COMMENT ON COLUMN concurrent_edit.project_options.project_id IS 'The project; distribution key.';
COMMENT ON COLUMN concurrent_edit.project_options.case_insensitive IS 'Paths that differ only in case (full Unicode case folding) name one file.';
COMMENT ON COLUMN concurrent_edit.project_options.unicode_normalization IS 'NFC: canonically equivalent spellings (café composed or with a combining accent) name one file; none: paths compared as given.';
COMMENT ON COLUMN concurrent_edit.project_options.updated_by IS 'Name of the role that last set the options.';
COMMENT ON COLUMN concurrent_edit.project_options.updated_at IS 'When the options were last set.';
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.project_options', '');

CREATE FUNCTION concurrent_edit.set_project_options(project_id uuid, case_insensitive boolean DEFAULT NULL,
                                                    unicode_normalization text DEFAULT NULL)
    RETURNS TABLE (project_id uuid, case_insensitive boolean, unicode_normalization text, rekeyed_files integer)
    AS 'MODULE_PATHNAME', 'ce_set_project_options'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.set_project_options(uuid, boolean, text) IS
    'Sets how the project compares paths (admin right): case_insensitive (default false) and unicode_normalization (NFC, the default, or none); NULL leaves an option as it is. Recomputes the key of every file of the project and returns the resulting options and how many keys changed. Refused with 23505 and nothing changed when two live files would then share a key (DETAIL lists them). Waits for creations and renames of the project in progress, and they wait for it.';

CREATE FUNCTION concurrent_edit.project_options(project_id uuid)
    RETURNS TABLE (project_id uuid, case_insensitive boolean, unicode_normalization text,
                   updated_by text, updated_at timestamptz)
    AS 'MODULE_PATHNAME', 'ce_project_options'
    LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.project_options(uuid) IS
    'The project''s path options (read right): one row, the defaults (case-sensitive, NFC; updated_by and updated_at NULL) when they were never set.';

CREATE FUNCTION concurrent_edit.file_at(project_id uuid, path text) RETURNS uuid
    AS 'MODULE_PATHNAME', 'ce_file_at'
    LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.file_at(uuid, text) IS
    'Lookup by path (read right): the id of the live file of the project whose path has the same key as this one under the project''s options (so readme.md finds README.md in a case-insensitive project), NULL when there is none. A refused path is 22023.';
