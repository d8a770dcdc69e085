-- History: retention of old versions (docs/reference/history.md, src/pg/history.cpp).
-- Versions are stored as deltas (file_versions, 20_files.sql); retention removes
-- old ones per project, applied by the background worker and by prune_history().

CREATE TABLE concurrent_edit.project_retention (
    project_id    uuid        NOT NULL,
    keep_versions integer,
    keep_days     integer,
    updated_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_by    oid         NOT NULL,
    CONSTRAINT project_retention_pkey PRIMARY KEY (project_id),
    CONSTRAINT project_retention_keep_versions_check CHECK (keep_versions >= 1),
    -- At most a million days (about 2,700 years): older cut-offs are outside the
    -- timestamp range, and one project's failed to compute stopped the worker's
    -- retention of every project.
    CONSTRAINT project_retention_keep_days_check CHECK (keep_days BETWEEN 0 AND 1000000),
    CONSTRAINT project_retention_any_check CHECK (keep_versions IS NOT NULL OR keep_days IS NOT NULL)
);
COMMENT ON TABLE concurrent_edit.project_retention IS
    'History retention per project (set_retention): which old versions the worker and prune_history() may remove. A project without a row keeps its whole history.';
COMMENT ON COLUMN concurrent_edit.project_retention.project_id IS 'The project.';
COMMENT ON COLUMN concurrent_edit.project_retention.keep_versions IS 'The newest keep_versions versions of every file stay (NULL: no count kept).';
COMMENT ON COLUMN concurrent_edit.project_retention.keep_days IS 'Every version that was the head within the last keep_days days stays (NULL: no age kept).';
COMMENT ON COLUMN concurrent_edit.project_retention.updated_at IS 'When the retention was last set.';
COMMENT ON COLUMN concurrent_edit.project_retention.updated_by IS 'Role (oid) that set it.';
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.project_retention', '');

CREATE FUNCTION concurrent_edit.set_retention(project_id uuid, keep_versions integer DEFAULT NULL,
                                              keep_days integer DEFAULT NULL)
    RETURNS TABLE (project_id uuid, keep_versions integer, keep_days integer)
    AS 'MODULE_PATHNAME', 'ce_set_retention'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.set_retention(uuid, integer, integer) IS
    'Sets the project''s history retention (admin right): a version may be removed once it is not among the newest keep_versions of its file and stopped being the head more than keep_days ago (a NULL criterion keeps nothing by itself; both NULL: keep everything). Never removed: the head, a draft''s base, a version a recorded conflict refers to. Applied by the background worker every concurrent_edit.retention_interval, and by prune_history(). Errors: 22023 (keep_versions < 1, keep_days < 0 or > 1000000), 42501.';

CREATE FUNCTION concurrent_edit.prune_history(file_id uuid DEFAULT NULL, keep_versions integer DEFAULT NULL,
                                              project_id uuid DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ce_prune_history'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.prune_history(uuid, integer, uuid) IS
    'Applies history retention now, to one file (file_id) or to every file of a project (project_id), with the project''s set_retention() settings; keep_versions, when given, replaces the project''s count. Never removes the head, a draft''s base, a version a recorded conflict refers to, or one that was the head within the project''s keep_days. Versions whose deltas needed a removed version are stored again. Returns how many versions were removed. Admin right. Errors: 22023, 42501, VC007.';
