-- Privileges and row-level security (docs/security.md).
--
-- The API functions are SECURITY INVOKER and executable by every role: each checks
-- the caller's right on the project it touches. The extension has no SECURITY
-- DEFINER function. Internal helpers (names starting with "_") are not executable
-- by PUBLIC, apart from trigger functions, which only fire as triggers (CREATE
-- TRIGGER needs EXECUTE on them, and enable_occ() runs as the table's owner).
--
-- The tables are not writable by applications (every change goes through the API
-- and keeps its invariants). Roles given SELECT on them (grant_access(read_tables),
-- grant_admin, or a DBA's GRANT) see only the rows of the projects they can read:
-- row-level security on the same rights. The extension owner (who runs the API's
-- statements) is the tables' owner and is not subject to it.

DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
             WHERE p.pronamespace = 'concurrent_edit'::regnamespace AND p.proname LIKE '\_%'
               AND p.prorettype <> 'pg_catalog.trigger'::regtype
    LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;

-- Rows of a project are visible to roles with read on it.
DO $$
DECLARE
    t name;
BEGIN
    FOR t IN SELECT c.relname FROM pg_catalog.pg_class c
             WHERE c.relnamespace = 'concurrent_edit'::regnamespace AND c.relkind = 'r'
               AND c.relname NOT IN ('conflict_history', 'global_access', 'occ_row_versions', 'pending_changes')
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE concurrent_edit.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE pg_catalog.format(
            'CREATE POLICY project_read ON concurrent_edit.%I FOR SELECT '
            'USING (concurrent_edit.has_project_right(project_id, ''read''))', t);
        EXECUTE pg_catalog.format(
            'COMMENT ON POLICY project_read ON concurrent_edit.%I IS %L', t,
            'Rows of the projects the current role can read (has_project_right).');
    END LOOP;
END
$$;

-- Row conflicts carry row data: besides readers of their project, roles that may
-- read their table see them (conflicts of tables without a project column have
-- the nil project).
ALTER TABLE concurrent_edit.conflict_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY project_read ON concurrent_edit.conflict_history FOR SELECT
    USING ((kind <> 'row' AND concurrent_edit.has_project_right(project_id, 'read'))
           OR (kind = 'row' AND concurrent_edit.row_conflict_visible(row_relation)));
COMMENT ON POLICY project_read ON concurrent_edit.conflict_history IS
    'Conflicts of files of the projects the current role can read; row conflicts to roles that may SELECT their table and that its row-level security does not filter (row_conflict_visible).';

-- Drafts are their session's: readers of the project see them only as
-- session_drafts() shows them (draft_visible).
ALTER TABLE concurrent_edit.pending_changes ENABLE ROW LEVEL SECURITY;
CREATE POLICY session_read ON concurrent_edit.pending_changes FOR SELECT
    USING (concurrent_edit.draft_visible(project_id, session_id));
COMMENT ON POLICY session_read ON concurrent_edit.pending_changes IS
    'Drafts of the sessions the current role may read: its own (with read on the project), or every session''s for an admin of the project (draft_visible).';

ALTER TABLE concurrent_edit.global_access ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_grants ON concurrent_edit.global_access FOR SELECT
    USING (pg_catalog.pg_has_role(role, 'USAGE'));
COMMENT ON POLICY own_grants ON concurrent_edit.global_access IS
    'The all-projects grants that apply to the current role.';

-- Copies of other tables' rows: never readable except by the extension owner.
ALTER TABLE concurrent_edit.occ_row_versions ENABLE ROW LEVEL SECURITY;
