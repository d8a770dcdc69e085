-- Privileges. The data API functions are SECURITY DEFINER and write tables that
-- applications cannot write directly, so every change keeps the invariants
-- (versions, hashes, change feed). They are not executable by PUBLIC: grant them
-- with grant_access(role); administration (forced lock release, cleanup, history
-- pruning) is a separate privilege, granted with grant_admin(role). Pure
-- functions (merge, diff, vector clocks...) stay executable by everyone.

DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
             WHERE p.pronamespace = 'concurrent_edit'::regnamespace AND p.prosecdef
    LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;

CREATE FUNCTION concurrent_edit._admin_functions() RETURNS text[]
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    RETURN ARRAY['force_release_lock', 'cleanup_expired_locks', 'cleanup_inactive_sessions', 'prune_history',
                 'prune_changes'];
COMMENT ON FUNCTION concurrent_edit._admin_functions() IS 'Internal: names of the administration functions (granted by grant_admin only).';

CREATE FUNCTION concurrent_edit.grant_access(role regrole, read_tables boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f regprocedure;
BEGIN
    IF grant_access.role IS NULL THEN
        RAISE EXCEPTION 'argument "role" must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
             WHERE p.pronamespace = 'concurrent_edit'::regnamespace AND p.prosecdef
               AND NOT p.proname = ANY (concurrent_edit._admin_functions())
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %s', f, grant_access.role);
    END LOOP;
    IF grant_access.read_tables THEN
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA concurrent_edit TO %s', grant_access.role);
        -- Row images of tables under OCC are copies of other tables' rows: never granted here.
        EXECUTE format('REVOKE SELECT ON concurrent_edit.occ_row_versions FROM %s', grant_access.role);
    END IF;
END
$$;
COMMENT ON FUNCTION concurrent_edit.grant_access(regrole, boolean) IS
    'Lets a role use the data API (files, writes, conflicts, change feed, sessions, drafts, locks), and with read_tables read the tables directly. Run it as a superuser.';

CREATE FUNCTION concurrent_edit.grant_admin(role regrole) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f regprocedure;
BEGIN
    PERFORM concurrent_edit.grant_access(grant_admin.role, true);
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
             WHERE p.pronamespace = 'concurrent_edit'::regnamespace AND p.prosecdef
               AND p.proname = ANY (concurrent_edit._admin_functions())
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %s', f, grant_admin.role);
    END LOOP;
END
$$;
COMMENT ON FUNCTION concurrent_edit.grant_admin(regrole) IS
    'grant_access plus the administration functions (force_release_lock, cleanup_*, prune_history, prune_changes). Run it as a superuser.';
REVOKE ALL ON FUNCTION concurrent_edit.grant_access(regrole, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION concurrent_edit.grant_admin(regrole) FROM PUBLIC;

-- enable_occ()/disable_occ() run as the caller (creating triggers needs the table's
-- ownership); the kept row images are written by this definer helper, which checks
-- that ownership itself.
GRANT EXECUTE ON FUNCTION concurrent_edit._occ_reset(regclass, name, text[], name, boolean) TO PUBLIC;
