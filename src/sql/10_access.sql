-- Access per project (docs/reference/access.md, docs/security.md,
-- src/pg/access.cpp). A role's right on a project is read, write (includes
-- sessions, drafts and locks) or admin (force release, prune, resolve or discard
-- anyone's conflicts, grant rights on the project). Every API function checks the
-- caller's right on the project it touches; a refusal is 42501 with a JSON DETAIL
-- {"project_id", "needs", "has", "role"}.

CREATE TABLE concurrent_edit.project_access (
    project_id uuid        NOT NULL,
    role       regrole     NOT NULL,
    rights     text        NOT NULL,
    granted_by regrole     NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT project_access_pkey PRIMARY KEY (project_id, role),
    CONSTRAINT project_access_rights_check CHECK (rights IN ('read', 'write', 'admin'))
);
COMMENT ON TABLE concurrent_edit.project_access IS
    'Rights of roles on single projects (grant_project / revoke_project). A grant to a role counts for every role that has its privileges. Roles are stored by OID (regrole): revoke before DROP ROLE; grants of dropped roles are removed by the background worker.';
COMMENT ON COLUMN concurrent_edit.project_access.project_id IS 'The project; distribution key.';
COMMENT ON COLUMN concurrent_edit.project_access.role IS 'The role granted.';
COMMENT ON COLUMN concurrent_edit.project_access.rights IS 'read, write or admin (each includes the ones before it).';
COMMENT ON COLUMN concurrent_edit.project_access.granted_by IS 'The role that granted it.';
COMMENT ON COLUMN concurrent_edit.project_access.granted_at IS 'When it was granted.';
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.project_access', '');

-- All-projects grants have no project: this is a reference table (replicated to
-- every node on Citus), the one table whose key does not start with project_id.
CREATE TABLE concurrent_edit.global_access (
    role       regrole     NOT NULL,
    rights     text        NOT NULL,
    granted_by regrole     NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT global_access_pkey PRIMARY KEY (role),
    CONSTRAINT global_access_rights_check CHECK (rights IN ('read', 'write', 'admin'))
);
COMMENT ON TABLE concurrent_edit.global_access IS
    'Rights of roles on every project: grant_access (write) and grant_admin (admin), for single-application databases.';
COMMENT ON COLUMN concurrent_edit.global_access.role IS 'The role granted.';
COMMENT ON COLUMN concurrent_edit.global_access.rights IS 'write (grant_access) or admin (grant_admin).';
COMMENT ON COLUMN concurrent_edit.global_access.granted_by IS 'The role that granted it.';
COMMENT ON COLUMN concurrent_edit.global_access.granted_at IS 'When it was granted.';
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.global_access', '');

CREATE FUNCTION concurrent_edit._access_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ce_access_changed'
    LANGUAGE C;
COMMENT ON FUNCTION concurrent_edit._access_changed() IS
    'Internal trigger: a change of the grant tables makes every session drop its cached rights (relcache invalidation, at commit).';
REVOKE ALL ON FUNCTION concurrent_edit._access_changed() FROM PUBLIC;
CREATE TRIGGER project_access_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON concurrent_edit.project_access
    FOR EACH STATEMENT EXECUTE FUNCTION concurrent_edit._access_changed();
COMMENT ON TRIGGER project_access_changed ON concurrent_edit.project_access IS
    'Drops the cached rights of every session when grants change.';
CREATE TRIGGER global_access_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON concurrent_edit.global_access
    FOR EACH STATEMENT EXECUTE FUNCTION concurrent_edit._access_changed();
COMMENT ON TRIGGER global_access_changed ON concurrent_edit.global_access IS
    'Drops the cached rights of every session when grants change.';

CREATE FUNCTION concurrent_edit.grant_project(project_id uuid, role regrole, rights text) RETURNS void
    AS 'MODULE_PATHNAME', 'ce_grant_project'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.grant_project(uuid, regrole, text) IS
    'Grants a role read, write (includes sessions, drafts and locks) or admin (force release, prune, resolve or discard anyone''s conflicts, grant on the project) on one project, replacing its earlier grant there. Callable by admins of the project, superusers and the extension owner (42501 otherwise).';

CREATE FUNCTION concurrent_edit.revoke_project(project_id uuid, role regrole) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_revoke_project'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.revoke_project(uuid, regrole) IS
    'Removes a role''s grant on a project; false if it had none. Sessions the role opened stay its own but become unusable for writing. Callable by admins of the project.';

CREATE FUNCTION concurrent_edit.project_access(project_id uuid DEFAULT NULL)
    RETURNS TABLE (project_id uuid, role regrole, rights text, granted_by regrole, granted_at timestamptz)
    AS 'MODULE_PATHNAME', 'ce_project_access'
    LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.project_access(uuid) IS
    'The grants of a project (read right needed), or with project_id NULL the grants of every project the caller can read plus the all-projects grants (project_id NULL) that apply to it (all of them for superusers).';

CREATE FUNCTION concurrent_edit.grant_access(role regrole, read_tables boolean DEFAULT false) RETURNS void
    AS 'MODULE_PATHNAME', 'ce_grant_access'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.grant_access(regrole, boolean) IS
    'Grants a role write on every project (single-application databases), and with read_tables SELECT on the extension''s tables (rows filtered by row-level security on its rights; never occ_row_versions). Superusers and the extension owner only.';

CREATE FUNCTION concurrent_edit.grant_admin(role regrole) RETURNS void
    AS 'MODULE_PATHNAME', 'ce_grant_admin'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.grant_admin(regrole) IS
    'Grants a role admin on every project (force release, cleanup, prune, anyone''s conflicts) and SELECT on the extension''s tables. Superusers and the extension owner only.';

CREATE FUNCTION concurrent_edit.revoke_access(role regrole) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_revoke_access'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.revoke_access(regrole) IS
    'Removes a role''s all-projects grant (grant_access or grant_admin); false if it had none. Table SELECT privileges stay (revoke them with REVOKE). Superusers and the extension owner only.';

CREATE FUNCTION concurrent_edit.has_project_right(project_id uuid, rights text DEFAULT 'read') RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_has_project_right'
    LANGUAGE C STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.has_project_right(uuid, text) IS
    'Whether the current role has the right (read, write or admin) on the project. The row-level security policies of the extension''s tables use it; cached per session.';
