-- Update 1.0 -> 1.1, first part (docs/upgrading.md). The update keeps the schema,
-- the vclock type with everything 05_vclock.sql defines (columns of callers'
-- tables may have that type) and the casts; every other 1.0 object is moved into
-- the scratch schema concurrent_edit_1_0. The 1.1 objects are then created exactly
-- as CREATE EXTENSION creates them (the parts of the install script follow this
-- file), the epilogue (1.0--1.1.post.sql) copies the rows of the 1.0 tables into
-- them, and the scratch schema is dropped. Nothing is changed if any step fails.

-- Objects outside the extension that depend on a 1.0 object the update replaces
-- (a view over a table of the extension, a constraint calling one of its functions,
-- a foreign key to one of its tables...) would be dropped with the 1.0 objects: the
-- update refuses instead and names them. Triggers on the OCC functions are the
-- exception: they are put back by the epilogue. The dependent object is mapped to
-- the object it is part of (a rule to its view, a constraint or a trigger to its
-- table...) before asking whether it belongs to the extension.
DO $$
DECLARE
    ext oid := (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'concurrent_edit');
    found jsonb;
BEGIN
    WITH members AS (
        SELECT d.classid, d.objid FROM pg_catalog.pg_depend d
        WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.refobjid = ext AND d.deptype = 'e'
    ), replaced AS (
        -- Members the update replaces (not the schema, the vclock type and its
        -- functions, operators, operator class and family, casts), with their
        -- table row types and columns (objsubid ignored below).
        SELECT m.classid, m.objid FROM members m
        WHERE m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
           OR (m.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
               AND (SELECT p.proname NOT LIKE 'vclock\_%' FROM pg_catalog.pg_proc p WHERE p.oid = m.objid))
           OR (m.classid = 'pg_catalog.pg_type'::pg_catalog.regclass
               AND (SELECT t.typname NOT IN ('vclock', '_vclock') FROM pg_catalog.pg_type t WHERE t.oid = m.objid))
        UNION ALL
        SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, c.reltype FROM members m
        JOIN pg_catalog.pg_class c ON c.oid = m.objid WHERE m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
    ), dependents AS (
        SELECT d.classid, d.objid, d.objsubid, d.refclassid, d.refobjid, d.refobjsubid,
               CASE d.classid
                   WHEN 'pg_catalog.pg_rewrite'::pg_catalog.regclass THEN
                       (SELECT r.ev_class FROM pg_catalog.pg_rewrite r WHERE r.oid = d.objid)
                   WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass THEN
                       (SELECT t.tgrelid FROM pg_catalog.pg_trigger t WHERE t.oid = d.objid)
                   WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN
                       (SELECT coalesce(nullif(c.conrelid, 0), c.contypid) FROM pg_catalog.pg_constraint c WHERE c.oid = d.objid)
                   WHEN 'pg_catalog.pg_attrdef'::pg_catalog.regclass THEN
                       (SELECT a.adrelid FROM pg_catalog.pg_attrdef a WHERE a.oid = d.objid)
                   WHEN 'pg_catalog.pg_policy'::pg_catalog.regclass THEN
                       (SELECT p.polrelid FROM pg_catalog.pg_policy p WHERE p.oid = d.objid)
                   WHEN 'pg_catalog.pg_class'::pg_catalog.regclass THEN
                       (SELECT coalesce(i.indrelid, d.objid) FROM pg_catalog.pg_class c
                        LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid WHERE c.oid = d.objid)
                   WHEN 'pg_catalog.pg_type'::pg_catalog.regclass THEN
                       (SELECT coalesce(nullif(t.typrelid, 0), t.oid) FROM pg_catalog.pg_type t WHERE t.oid = d.objid)
                   ELSE d.objid
               END AS owner_oid
        FROM pg_catalog.pg_depend d
        JOIN replaced r ON r.classid = d.refclassid AND r.objid = d.refobjid
        WHERE d.deptype = 'n'
    )
    SELECT pg_catalog.jsonb_agg(DISTINCT pg_catalog.jsonb_build_object(
               'object', pg_catalog.pg_describe_object(x.classid, x.objid, x.objsubid),
               'depends_on', pg_catalog.pg_describe_object(x.refclassid, x.refobjid, x.refobjsubid)))
      INTO found
    FROM dependents x
    WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                      WHERE e.objid = x.owner_oid AND e.refobjid = ext AND e.deptype = 'e')
      -- the composite type behind a type of the extension (CREATE TYPE ... AS)
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_depend e ON e.objid = c.reltype
                      WHERE c.oid = x.owner_oid AND e.refobjid = ext AND e.deptype = 'e')
      AND NOT (x.classid = 'pg_catalog.pg_trigger'::pg_catalog.regclass
               AND (SELECT p.proname IN ('_occ_trigger', '_occ_after') FROM pg_catalog.pg_proc p
                    WHERE p.oid = x.refobjid AND x.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass));
    IF found IS NOT NULL THEN
        RAISE EXCEPTION 'objects outside the extension depend on concurrent_edit 1.0 objects that the update replaces'
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = pg_catalog.jsonb_build_object('from_version', '1.0', 'to_version', '1.1',
                                                         'dependents', found)::text,
                  HINT = 'Drop these objects, run ALTER EXTENSION concurrent_edit UPDATE, then create them again.';
    END IF;
END
$$;

CREATE SCHEMA concurrent_edit_1_0;

-- The OCC triggers of callers' tables (enable_occ) call the 1.0 trigger functions:
-- their tables and arguments are kept here and the triggers dropped; the epilogue
-- creates the BEFORE trigger again on the 1.1 function from its arguments (the
-- configuration occ_tables() reads) and reconfigures the table with 1.1's
-- enable_occ. The arguments are split at their zero bytes and read in the
-- database's encoding, as occ_tables() does.
CREATE TABLE concurrent_edit_1_0.occ_triggers AS
SELECT t.tgrelid::pg_catalog.regclass AS tbl, t.tgname, a.args
FROM pg_catalog.pg_trigger t
CROSS JOIN LATERAL (
    WITH RECURSIVE s(rest, part, n) AS (
        SELECT t.tgargs, NULL::pg_catalog.bytea, 0
        UNION ALL
        -- (SUBSTRING and POSITION are grammar: they name pg_catalog's functions.)
        SELECT substring(s.rest FROM position(pg_catalog.decode('00', 'hex') IN s.rest) + 1),
               substring(s.rest FOR position(pg_catalog.decode('00', 'hex') IN s.rest) - 1), s.n + 1
        FROM s WHERE position(pg_catalog.decode('00', 'hex') IN s.rest) > 0)
    SELECT pg_catalog.array_agg(pg_catalog.convert_from(s.part, pg_catalog.getdatabaseencoding()) ORDER BY s.n) AS args
    FROM s WHERE s.n > 0) a
WHERE t.tgfoid IN ('concurrent_edit._occ_trigger()'::pg_catalog.regprocedure,
                   'concurrent_edit._occ_after()'::pg_catalog.regprocedure)
  AND t.tgparentid = 0;  -- a partition's clone goes with its parent's trigger, and comes back with it

-- The OCC triggers of callers' tables are made again by the epilogue from their
-- arguments only, in the shape 1.0's enable_occ gave them. Any other trigger on
-- the OCC functions (another name, timing or event, a WHEN condition, columns, a
-- constraint trigger, transition tables: made by hand by a table's owner, who may
-- use the functions) stops the update, changing nothing (the saved table above
-- goes with the rolled-back update). Before, the epilogue
-- executed each trigger's definition (pg_get_triggerdef) as the superuser running
-- the update: a constant in a WHEN condition is read again then, and the input of
-- a composite or array value runs the checks of its domains, so the table's owner
-- ran a function of its own with the superuser's rights (TAP 030_upgrade).
-- So does a trigger of that shape with arguments 1.0's enable_occ never gives
-- (not ten of them, an empty version column, an unknown mode or array mode, a
-- boolean that is none, a column list occ_tables() cannot read): the epilogue
-- calls 1.1's enable_occ with what occ_tables() reads of them, which failed the
-- update with an error naming neither table nor trigger (22004 "tbl,
-- version_column and mode must not be NULL", 22023 "unknown optimistic
-- concurrency mode"; TAP 030_upgrade).
DO $$
DECLARE
    odd jsonb;
    r record;
    ok boolean;
BEGIN
    SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('table', t.tgrelid::pg_catalog.regclass::text,
                                                               'trigger', t.tgname)
                                ORDER BY t.tgrelid::pg_catalog.regclass::text, t.tgname)
      INTO odd
    FROM pg_catalog.pg_trigger t
    WHERE t.tgfoid IN ('concurrent_edit._occ_trigger()'::pg_catalog.regprocedure,
                       'concurrent_edit._occ_after()'::pg_catalog.regprocedure)
      AND t.tgparentid = 0
      AND (NOT ((t.tgname = 'concurrent_edit_occ' AND t.tgtype = 19  -- BEFORE UPDATE FOR EACH ROW
                 AND t.tgfoid = 'concurrent_edit._occ_trigger()'::pg_catalog.regprocedure)
                OR (t.tgname = 'concurrent_edit_occ_after' AND t.tgtype = 21  -- AFTER INSERT OR UPDATE FOR EACH ROW
                    AND t.tgfoid = 'concurrent_edit._occ_after()'::pg_catalog.regprocedure))
           OR t.tgqual IS NOT NULL OR pg_catalog.cardinality(t.tgattr::pg_catalog.int2[]) > 0 OR t.tgconstraint <> 0
           OR t.tgoldtable IS NOT NULL OR t.tgnewtable IS NOT NULL);
    -- Their arguments, as saved above (split as occ_tables() splits them).
    FOR r IN
        SELECT o.tbl::pg_catalog.text AS tbl, o.tgname, o.args
        FROM concurrent_edit_1_0.occ_triggers o
        JOIN pg_catalog.pg_trigger t ON t.tgrelid = o.tbl AND t.tgname = o.tgname
        WHERE t.tgfoid = 'concurrent_edit._occ_trigger()'::pg_catalog.regprocedure
          AND o.tgname = 'concurrent_edit_occ'
        ORDER BY 1
    LOOP
        -- The arguments as occ_tables() and enable_occ read them (built-in input
        -- functions only).
        BEGIN
            ok := pg_catalog.cardinality(r.args) = 10 AND r.args[1] <> '' AND r.args[2] IN ('reject', 'merge', 'strict')
                  AND r.args[9] IN ('auto', 'id', 'sequence', 'atomic');
            PERFORM r.args[3]::pg_catalog.bool, r.args[7]::pg_catalog.bool;
            IF pg_catalog.left(r.args[4], 1) = '[' THEN
                PERFORM r.args[4]::pg_catalog.jsonb;
            END IF;
        EXCEPTION WHEN data_exception THEN
            ok := false;
        END;
        IF ok IS NOT TRUE THEN
            odd := coalesce(odd, '[]'::pg_catalog.jsonb)
                   || pg_catalog.jsonb_build_object('table', r.tbl, 'trigger', r.tgname, 'arguments', r.args);
        END IF;
    END LOOP;
    IF odd IS NOT NULL THEN
        RAISE EXCEPTION 'triggers on the optimistic concurrency functions that enable_occ did not make'
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = pg_catalog.jsonb_build_object('from_version', '1.0', 'to_version', '1.1',
                                                         'triggers', odd)::text,
                  HINT = 'Drop these triggers (call enable_occ on their tables with 1.0 if they need optimistic concurrency), then update again.';
    END IF;
END
$$;

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT t.tbl, t.tgname FROM concurrent_edit_1_0.occ_triggers t ORDER BY t.tbl::text, t.tgname LOOP
        EXECUTE pg_catalog.format('DROP TRIGGER %I ON %s', r.tgname, r.tbl);
    END LOOP;
END
$$;

-- Every replaced member moves into the scratch schema, where the epilogue reads the
-- rows and then drops it: tables (with their indexes, constraints, triggers, row
-- types), views, sequences, functions and composite types.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT d.classid, d.objid FROM pg_catalog.pg_depend d
        JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
        WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND e.extname = 'concurrent_edit'
          AND d.deptype = 'e'
        ORDER BY d.classid, d.objid
    LOOP
        IF r.classid = 'pg_catalog.pg_class'::pg_catalog.regclass THEN
            IF (SELECT c.relnamespace <> 'concurrent_edit'::pg_catalog.regnamespace
                       OR c.relkind NOT IN ('r', 'p', 'v', 'm', 'S', 'f')
                FROM pg_catalog.pg_class c WHERE c.oid = r.objid) THEN
                CONTINUE;  -- occ_triggers above; what moves with its table
            END IF;
            EXECUTE pg_catalog.format('ALTER %s %s SET SCHEMA concurrent_edit_1_0',
                (SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END
                 FROM pg_catalog.pg_class c WHERE c.oid = r.objid),
                r.objid::pg_catalog.regclass);
        ELSIF r.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass THEN
            IF (SELECT p.proname NOT LIKE 'vclock\_%' FROM pg_catalog.pg_proc p WHERE p.oid = r.objid) THEN
                EXECUTE pg_catalog.format('ALTER ROUTINE %s SET SCHEMA concurrent_edit_1_0',
                                          r.objid::pg_catalog.regprocedure);
            END IF;
        ELSIF r.classid = 'pg_catalog.pg_type'::pg_catalog.regclass THEN
            IF (SELECT t.typname NOT IN ('vclock', '_vclock') FROM pg_catalog.pg_type t WHERE t.oid = r.objid) THEN
                EXECUTE pg_catalog.format('ALTER TYPE %s SET SCHEMA concurrent_edit_1_0', r.objid::pg_catalog.regtype);
            END IF;
        ELSIF r.classid NOT IN ('pg_catalog.pg_namespace'::pg_catalog.regclass, 'pg_catalog.pg_operator'::pg_catalog.regclass,
                                'pg_catalog.pg_opclass'::pg_catalog.regclass, 'pg_catalog.pg_opfamily'::pg_catalog.regclass,
                                'pg_catalog.pg_cast'::pg_catalog.regclass) THEN
            RAISE EXCEPTION 'unexpected member of concurrent_edit 1.0: %', pg_catalog.pg_describe_object(r.classid, r.objid, 0)
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = pg_catalog.jsonb_build_object('from_version', '1.0', 'object',
                                   pg_catalog.pg_describe_object(r.classid, r.objid, 0))::text;
        END IF;
    END LOOP;
END
$$;
