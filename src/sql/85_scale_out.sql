-- Scale-out (docs/scale-out.md): what the router of concurrent_edit_router needs
-- from a shard. The router routes a call that names no project (a file, session
-- or conflict id) by the id's project, which it asks the shards for once.

CREATE FUNCTION concurrent_edit.owning_project(kind text, id uuid) RETURNS uuid
    AS 'MODULE_PATHNAME', 'ce_owning_project'
    LANGUAGE C STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.owning_project(text, uuid) IS
    'The project of a file, session or conflict (kind: file, session, conflict; a deleted file still has one), NULL when there is none or when the caller may not read that project. The shard router finds the shard of a call that names no project with it (docs/scale-out.md). Errors: 22023 (unknown kind).';
