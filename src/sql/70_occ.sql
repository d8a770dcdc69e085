-- Optimistic concurrency control for any user table (docs/reference/occ.md,
-- src/pg/occ.cpp, src/pg/occ_images.cpp): a C trigger checks the version an UPDATE
-- was based on, and in merge mode three-way merges a stale UPDATE column by column
-- against the version the client read. Rows of the caller's tables are read as
-- the caller; only their computed images are stored, in the owner's context.

-- Optimistic concurrency control for any user table: a C trigger checks the
-- version an UPDATE was based on, and in merge mode three-way merges a stale
-- UPDATE column by column against the version the client read.

CREATE TABLE concurrent_edit.occ_row_versions (
    project_id uuid        NOT NULL,
    relation   text        NOT NULL,
    row_key    jsonb       NOT NULL,
    version    bigint      NOT NULL,
    row_data   jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT occ_row_versions_pkey PRIMARY KEY (project_id, relation, row_key, version)
);
COMMENT ON TABLE concurrent_edit.occ_row_versions IS
    'Row images kept by the OCC trigger in merge mode: the base of a stale UPDATE is the image of the version the client read. The newest concurrent_edit.occ_history_versions images of each row are kept.';
COMMENT ON COLUMN concurrent_edit.occ_row_versions.project_id IS 'Value of the table''s project column (enable_occ(project_column)), else the nil uuid; distribution key.';
COMMENT ON COLUMN concurrent_edit.occ_row_versions.relation IS 'The table, schema-qualified.';
COMMENT ON COLUMN concurrent_edit.occ_row_versions.row_key IS 'Primary key of the row (JSON object).';
COMMENT ON COLUMN concurrent_edit.occ_row_versions.version IS 'Value of the version column for this image.';
COMMENT ON COLUMN concurrent_edit.occ_row_versions.row_data IS 'to_jsonb() of the row at that version.';
COMMENT ON COLUMN concurrent_edit.occ_row_versions.created_at IS 'When the image was kept.';
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.occ_row_versions', '');
-- Names of tables in images and conflicts follow renames; a dropped table's go.
CREATE FUNCTION concurrent_edit._occ_ddl() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'ce_occ_ddl'
    LANGUAGE C;
COMMENT ON FUNCTION concurrent_edit._occ_ddl() IS
    'Internal: the event trigger function that keeps occ_row_versions.relation and conflict_history.row_relation in step with the catalog: a renamed table (or schema) takes its images and row conflicts along, a dropped table''s are deleted, so a new table given the old name inherits nothing. Not part of the API.';
REVOKE ALL ON FUNCTION concurrent_edit._occ_ddl() FROM PUBLIC;
CREATE EVENT TRIGGER concurrent_edit_occ_rename ON ddl_command_start
    WHEN TAG IN ('ALTER TABLE', 'ALTER INDEX', 'ALTER SCHEMA', 'ALTER TYPE')
    EXECUTE FUNCTION concurrent_edit._occ_ddl();
COMMENT ON EVENT TRIGGER concurrent_edit_occ_rename IS
    'Before ALTER TABLE/INDEX ... RENAME, ALTER TABLE ... SET SCHEMA and ALTER SCHEMA ... RENAME: notes the old name of a table (or schema) the role owns. Before any ALTER TABLE (or column rename) of a table under optimistic concurrency: notes its primary key and its columns. Before ATTACH PARTITION of a table with optimistic concurrency of its own to a table under it: refuses (55000).';
CREATE EVENT TRIGGER concurrent_edit_occ_renamed ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'ALTER INDEX', 'ALTER SCHEMA', 'ALTER TYPE')
    EXECUTE FUNCTION concurrent_edit._occ_ddl();
COMMENT ON EVENT TRIGGER concurrent_edit_occ_renamed IS
    'After such a rename: the row images and row conflicts of the table take its new name (what an older table of that name left is deleted). After an ALTER TABLE of a table under optimistic concurrency that changed its primary key, or added, dropped, renamed or retyped a column (images hold the row by column names), or attached or detached a partition: its row images are taken again from its rows (occ_refresh_images), or dropped when it has no key. After a command that changes how values of a type read (ALTER TYPE ... RENAME VALUE, a composite type''s attributes renamed, retyped or dropped, a table''s columns used as a row type elsewhere): the row images of other tables under optimistic concurrency holding such values are dropped (a stale update then reports a conflict).';
-- A table under optimistic concurrency cannot become an inheritance parent
-- later either (enable_occ refuses one that is).
CREATE FUNCTION concurrent_edit._occ_no_children() RETURNS event_trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parent regclass;
BEGIN
    SELECT i.inhparent::regclass INTO parent
      FROM pg_catalog.pg_event_trigger_ddl_commands() c
      JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.objid
      JOIN pg_catalog.pg_class p ON p.oid = i.inhparent AND p.relkind = 'r'
      JOIN pg_catalog.pg_trigger t ON t.tgrelid = p.oid AND t.tgname = 'concurrent_edit_occ'
     WHERE c.classid = 'pg_catalog.pg_class'::regclass
     LIMIT 1;
    IF parent IS NOT NULL THEN
        RAISE EXCEPTION 'table % is under optimistic concurrency and cannot have inheritance children', parent
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = pg_catalog.jsonb_build_object('table', parent::text, 'reason', 'inheritance children')::text,
                  HINT = 'An UPDATE through the parent would reach the child''s rows without the parent''s trigger. Use a partitioned table, or call disable_occ() first.';
    END IF;
END
$$;
COMMENT ON FUNCTION concurrent_edit._occ_no_children() IS
    'Internal: the event trigger function that refuses (0A000) a new inheritance child (INHERITS, or ALTER TABLE ... INHERIT) of a table under optimistic concurrency (rows of a child updated through the parent would escape its trigger). Not part of the API.';
REVOKE ALL ON FUNCTION concurrent_edit._occ_no_children() FROM PUBLIC;
CREATE EVENT TRIGGER concurrent_edit_occ_no_children ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'CREATE FOREIGN TABLE', 'ALTER FOREIGN TABLE')
    EXECUTE FUNCTION concurrent_edit._occ_no_children();
COMMENT ON EVENT TRIGGER concurrent_edit_occ_no_children IS
    'Refuses a new inheritance child of a table under optimistic concurrency (concurrent_edit._occ_no_children).';
CREATE EVENT TRIGGER concurrent_edit_occ_drop ON sql_drop
    EXECUTE FUNCTION concurrent_edit._occ_ddl();
COMMENT ON EVENT TRIGGER concurrent_edit_occ_drop IS
    'After a table is dropped: its row images and row conflicts are deleted.';

CREATE FUNCTION concurrent_edit._occ_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ce_occ_trigger'
    LANGUAGE C;
COMMENT ON FUNCTION concurrent_edit._occ_trigger() IS
    'Internal: the BEFORE UPDATE row trigger installed by enable_occ() (its arguments carry the configuration).';
CREATE FUNCTION concurrent_edit._occ_after() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ce_occ_after'
    LANGUAGE C;
COMMENT ON FUNCTION concurrent_edit._occ_after() IS
    'Internal: the AFTER INSERT OR UPDATE (OR DELETE, in merge mode) row trigger installed by enable_occ(): keeps row images and drops a deleted row''s (merge mode), and sends change notifications (notify).';
CREATE FUNCTION concurrent_edit.occ_channel(tbl regclass) RETURNS text
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    RETURN 'concurrent_edit_occ_' || tbl::oid::text;
COMMENT ON FUNCTION concurrent_edit.occ_channel(regclass) IS
    'NOTIFY channel of a table under optimistic concurrency with notify => true: payload {"table", "key", "version"} (ids only).';
-- A partition's concurrent_edit_occ trigger is PostgreSQL's clone of its
-- partitioned table's: the table at the top of the chain of clones is the one
-- enable_occ was called on. Followed from the table's own trigger by index (by
-- name, whatever its function: a clone of any trigger cannot be dropped alone).
CREATE FUNCTION concurrent_edit.occ_through(tbl regclass) RETURNS regclass
    LANGUAGE sql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    RETURN (WITH RECURSIVE up(id, parent, relid) AS (
                SELECT g.oid, g.tgparentid, g.tgrelid FROM pg_catalog.pg_trigger g
                WHERE g.tgrelid = tbl AND g.tgname = 'concurrent_edit_occ'
                UNION ALL
                SELECT p.oid, p.tgparentid, p.tgrelid FROM up JOIN pg_catalog.pg_trigger p ON p.oid = up.parent)
            SELECT up.relid::regclass FROM up WHERE up.parent = 0 AND up.relid <> tbl LIMIT 1);
COMMENT ON FUNCTION concurrent_edit.occ_through(regclass) IS
    'The partitioned table a partition has its optimistic concurrency through (the table enable_occ was called on, at any depth of partitioning); NULL for a table under optimistic concurrency of its own, or none.';
CREATE FUNCTION concurrent_edit.occ_refresh_images(tbl regclass) RETURNS bigint
    AS 'MODULE_PATHNAME', 'ce_occ_refresh_images'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.occ_refresh_images(regclass) IS
    'Drops the kept row images of a table and, when it is under optimistic concurrency in merge mode, keeps the current image of every row (the possible merge bases); returns how many. For ordinary and partitioned tables the caller owns (42501, 42809 otherwise). enable_occ() and disable_occ() call it; call it after loading rows with triggers disabled. The rows are read as the table''s owner in a security-restricted operation (as VACUUM and ANALYZE read a table), so code the owner defined never runs with the caller''s rights.';
CREATE FUNCTION concurrent_edit.enable_occ(tbl regclass, version_column name DEFAULT 'version',
                                           mode text DEFAULT 'reject', merge_columns name[] DEFAULT NULL,
                                           modified_by_column name DEFAULT NULL,
                                           modified_at_column name DEFAULT NULL,
                                           refuse_blind_writes boolean DEFAULT false, notify boolean DEFAULT false,
                                           project_column name DEFAULT NULL,
                                           array_mode text DEFAULT 'auto')
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    vtype regtype;
    pk text[];
    pk_deferrable boolean;
    c name;
    cols text := '';
    arg text;
    other text;
    parts text[];
    rel record;
BEGIN
    IF tbl IS NULL OR version_column IS NULL OR mode IS NULL THEN
        RAISE EXCEPTION 'tbl, version_column and mode must not be NULL' USING ERRCODE = 'null_value_not_allowed',
            DETAIL = pg_catalog.jsonb_build_object('argument', CASE WHEN tbl IS NULL THEN 'tbl'
                                                                   WHEN version_column IS NULL THEN 'version_column'
                                                                   ELSE 'mode' END)::text;
    END IF;
    IF mode NOT IN ('reject', 'merge', 'strict') THEN
        RAISE EXCEPTION 'unknown optimistic concurrency mode "%"', left(mode, 64)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.jsonb_build_object('argument', 'mode', 'value', pg_catalog.left(mode, 64))::text,
                  HINT = 'Valid modes: reject, merge, strict (reject, and refuse UPDATEs that do not set the version column).';
    END IF;
    -- NULL for a flag is its default, false (a NULL written into the trigger's
    -- arguments would make every later write fail).
    refuse_blind_writes := coalesce(refuse_blind_writes, false);
    notify := coalesce(notify, false);
    IF mode = 'strict' THEN
        refuse_blind_writes := true;  -- strict = reject + refuse blind writes
    END IF;
    -- The relation's errors as occ_refresh_images and disable_occ give them.
    SELECT r.relkind, r.relpersistence, r.relowner, r.relnamespace INTO rel FROM pg_class r WHERE r.oid = tbl;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'relation with OID % does not exist', tbl::oid USING ERRCODE = 'undefined_table',
            DETAIL = '{"argument": "tbl"}';
    END IF;
    IF rel.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is not a table', tbl USING ERRCODE = 'wrong_object_type',
            DETAIL = pg_catalog.jsonb_build_object('argument', 'tbl', 'relkind', rel.relkind, 'table', tbl::text)::text,
            HINT = 'Optimistic concurrency works on ordinary and partitioned tables.';
    END IF;
    -- Rows of an inheritance child updated through the parent fire the child's
    -- triggers, not the parent's: they would be written without any check.
    IF rel.relkind = 'r' AND EXISTS (SELECT FROM pg_inherits i WHERE i.inhparent = tbl) THEN
        RAISE EXCEPTION 'optimistic concurrency is not available for %, which has inheritance children', tbl
            USING ERRCODE = 'feature_not_supported',
            DETAIL = pg_catalog.jsonb_build_object('table', tbl::text, 'reason', 'inheritance children')::text,
            HINT = 'An UPDATE through the parent reaches its children''s rows without the parent''s trigger: enable it on each child table instead, or use a partitioned table.';
    END IF;
    -- A partitioned table cannot take the triggers while one of its partitions
    -- has its own (PostgreSQL would clone them onto it). The reverse, a partition
    -- of a table under OCC, is refused by disable_occ below.
    SELECT pg_catalog.array_agg(g.tgrelid::regclass::text ORDER BY g.tgrelid::regclass::text) INTO parts
    FROM pg_catalog.pg_partition_tree(tbl) t JOIN pg_trigger g ON g.tgrelid = t.relid
    WHERE t.relid <> tbl AND g.tgname = 'concurrent_edit_occ' AND g.tgparentid = 0;
    IF parts IS NOT NULL THEN
        RAISE EXCEPTION 'partitions of % are under optimistic concurrency of their own', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = pg_catalog.jsonb_build_object('table', tbl::text, 'partitions', parts)::text,
                  HINT = 'Call disable_occ on each of them first: the partitioned table''s settings would apply to every partition.';
    END IF;
    -- The extension's own tables are written by its functions, which do not
    -- name a base version: every write would be refused.
    IF rel.relnamespace = 'concurrent_edit'::regnamespace THEN
        RAISE EXCEPTION 'optimistic concurrency is not available for %, a table of concurrent_edit', tbl
            USING ERRCODE = 'feature_not_supported',
            DETAIL = pg_catalog.jsonb_build_object('table', tbl::text, 'reason', 'extension table')::text;
    END IF;
    -- A temporary table's name (pg_temp_N.t) is reused by later sessions, and its
    -- drop at session end fires no event trigger: its row conflicts would be
    -- readable by whoever next creates pg_temp_N.t.
    IF rel.relpersistence = 't' THEN
        RAISE EXCEPTION 'optimistic concurrency is not available for temporary table %', tbl
            USING ERRCODE = 'feature_not_supported',
            DETAIL = pg_catalog.jsonb_build_object('table', tbl::text, 'reason', 'temporary')::text;
    END IF;
    IF NOT pg_has_role(rel.relowner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', tbl USING ERRCODE = 'insufficient_privilege',
            DETAIL = pg_catalog.jsonb_build_object('table', tbl::text)::text;
    END IF;
    SELECT atttypid::regtype INTO vtype FROM pg_attribute
     WHERE attrelid = tbl AND attname = version_column AND attnum > 0 AND NOT attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of % does not exist', version_column, tbl USING ERRCODE = 'undefined_column',
            DETAIL = pg_catalog.jsonb_build_object('table', tbl::text, 'argument', 'version_column', 'column', version_column)::text;
    END IF;
    IF vtype NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype) THEN
        RAISE EXCEPTION 'version column "%" of % must be smallint, integer or bigint, not %', version_column, tbl, vtype
            USING ERRCODE = 'datatype_mismatch',
                  DETAIL = pg_catalog.jsonb_build_object('table', tbl::text, 'column', version_column, 'type', vtype::text)::text;
    END IF;
    SELECT array_agg(a.attname::text ORDER BY k.ord), bool_or(NOT i.indimmediate) INTO pk, pk_deferrable
    FROM pg_index i
    CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    WHERE i.indrelid = tbl AND i.indisprimary;
    IF pk IS NULL THEN
        RAISE EXCEPTION '% has no primary key', tbl
            USING ERRCODE = 'invalid_table_definition', DETAIL = pg_catalog.jsonb_build_object('table', tbl::text)::text, HINT = 'The trigger names rows by their primary key (single or composite).';
    END IF;
    -- A deferrable key is no key to the relcache (nor to ON CONFLICT): the trigger
    -- would find none on every row.
    IF pk_deferrable THEN
        RAISE EXCEPTION 'the primary key of % is deferrable', tbl
            USING ERRCODE = 'invalid_table_definition',
                  DETAIL = pg_catalog.jsonb_build_object('table', tbl::text, 'primary_key', pk, 'reason', 'deferrable')::text,
                  HINT = 'The trigger names rows by their primary key, which must be checked at once: make it NOT DEFERRABLE.';
    END IF;
    IF version_column = ANY (pk) THEN
        RAISE EXCEPTION 'version_column "%" is also the primary key', version_column USING ERRCODE = 'invalid_parameter_value',
            DETAIL = pg_catalog.jsonb_build_object('table', tbl::text, 'argument', 'version_column', 'column', version_column,
                                                   'conflicts_with', 'primary key')::text,
            HINT = 'The trigger writes the version column on every update: a key column would give the row another key.';
    END IF;
    -- merge_columns: a list of names (NULL: every column; empty: none is merged).
    IF pg_catalog.array_ndims(merge_columns) > 1 THEN
        RAISE EXCEPTION 'merge_columns must be a one-dimensional array of column names'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.jsonb_build_object('table', tbl::text, 'argument', 'merge_columns',
                                                         'dimensions', pg_catalog.array_ndims(merge_columns))::text;
    END IF;
    IF pg_catalog.array_position(merge_columns, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'merge_columns must not contain NULL' USING ERRCODE = 'null_value_not_allowed',
            DETAIL = pg_catalog.jsonb_build_object('table', tbl::text, 'argument', 'merge_columns',
                                                   'position', pg_catalog.array_position(merge_columns, NULL))::text;
    END IF;
    FOREACH c IN ARRAY coalesce(merge_columns, '{}') || ARRAY[modified_by_column, modified_at_column, project_column] LOOP
        IF c IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_attribute
                                         WHERE attrelid = tbl AND attname = c AND attnum > 0 AND NOT attisdropped) THEN
            RAISE EXCEPTION 'column "%" of % does not exist', c, tbl USING ERRCODE = 'undefined_column',
                DETAIL = pg_catalog.jsonb_build_object('table', tbl::text, 'column', c)::text;
        END IF;
    END LOOP;
    -- The trigger writes the modified-by/at columns: neither may be the version
    -- column, a key column, the project column or the other one.
    FOREACH arg IN ARRAY ARRAY['modified_by_column', 'modified_at_column'] LOOP
        c := CASE arg WHEN 'modified_by_column' THEN modified_by_column ELSE modified_at_column END;
        other := CASE WHEN c = version_column THEN 'version column'
                      WHEN c = ANY (pk) THEN 'primary key'
                      WHEN c = project_column THEN 'project column'
                      WHEN arg = 'modified_at_column' AND c = modified_by_column THEN 'modified-by column' END;
        IF other IS NOT NULL THEN
            RAISE EXCEPTION '% "%" is also the %', arg, c, other USING ERRCODE = 'invalid_parameter_value',
                DETAIL = pg_catalog.jsonb_build_object('table', tbl::text, 'argument', arg, 'column', c,
                                                       'conflicts_with', other)::text,
                HINT = 'The trigger writes this column on every update.';
        END IF;
    END LOOP;
    IF project_column IS NOT NULL AND (SELECT atttypid FROM pg_attribute WHERE attrelid = tbl AND attname = project_column)
       NOT IN ('uuid'::regtype, 'text'::regtype, 'varchar'::regtype) THEN
        RAISE EXCEPTION 'project column "%" must be uuid (or text holding one)', project_column
            USING ERRCODE = 'datatype_mismatch',
                  DETAIL = pg_catalog.jsonb_build_object('table', tbl::text, 'argument', 'project_column', 'column', project_column)::text;
    END IF;
    IF modified_at_column IS NOT NULL AND (SELECT atttypid FROM pg_attribute WHERE attrelid = tbl AND attname = modified_at_column)
       NOT IN ('timestamptz'::regtype, 'timestamp'::regtype) THEN
        RAISE EXCEPTION 'column "%" must be timestamptz or timestamp', modified_at_column USING ERRCODE = 'datatype_mismatch',
            DETAIL = pg_catalog.jsonb_build_object('table', tbl::text, 'argument', 'modified_at_column', 'column', modified_at_column)::text;
    END IF;
    -- The writer's name goes in through the column type's input function.
    IF modified_by_column IS NOT NULL AND (SELECT t.typcategory FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                                           WHERE a.attrelid = tbl AND a.attname = modified_by_column) <> 'S' THEN
        RAISE EXCEPTION 'column "%" must be of a string type (text, varchar, ...)', modified_by_column
            USING ERRCODE = 'datatype_mismatch',
                  DETAIL = pg_catalog.jsonb_build_object('table', tbl::text, 'argument', 'modified_by_column', 'column', modified_by_column,
                                                         'type', (SELECT atttypid::regtype::text FROM pg_attribute
                                                                  WHERE attrelid = tbl AND attname = modified_by_column))::text;
    END IF;
    -- PostgreSQL computes a generated column after the trigger: what the trigger
    -- writes there would be lost.
    -- A generated version column would never change: every write would count as
    -- current.
    FOREACH c IN ARRAY ARRAY[version_column] || coalesce(merge_columns, '{}') || ARRAY[modified_by_column, modified_at_column] LOOP
        IF c IS NOT NULL AND (SELECT attgenerated FROM pg_attribute WHERE attrelid = tbl AND attname = c) <> '' THEN
            RAISE EXCEPTION 'column "%" of % is a generated column', c, tbl USING ERRCODE = 'generated_always',
                DETAIL = pg_catalog.jsonb_build_object('table', tbl::text, 'column', c, 'generated', true)::text,
                HINT = 'The trigger writes the version, merge, modified-by and modified-at columns; PostgreSQL computes a generated column itself.';
        END IF;
    END LOOP;
    IF merge_columns IS NOT NULL AND (version_column = ANY (merge_columns) OR merge_columns && pk::name[]) THEN
        RAISE EXCEPTION 'merge_columns must not include the version column or the primary key' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = pg_catalog.jsonb_build_object('table', tbl::text, 'argument', 'merge_columns', 'primary_key', pk)::text;
    END IF;
    PERFORM concurrent_edit.jsonb_merge3('{}', '{}', '{}', array_mode);  -- validates array_mode
    IF merge_columns IS NOT NULL THEN
        cols := to_jsonb(merge_columns::text[])::text;  -- a JSON array: any column name
    END IF;

    -- The triggers there, and the images they kept, go first.
    PERFORM concurrent_edit.disable_occ(tbl);
    EXECUTE format('CREATE TRIGGER concurrent_edit_occ BEFORE UPDATE ON %s FOR EACH ROW '
                   'EXECUTE FUNCTION concurrent_edit._occ_trigger(%L, %L, %L, %L, %L, %L, %L, %L, %L, %L)',
                   tbl, version_column, mode, refuse_blind_writes, cols, coalesce(modified_by_column, ''),
                   coalesce(modified_at_column, ''), notify, coalesce(project_column, ''), array_mode,
                   to_jsonb(pk)::text);
    IF mode = 'merge' OR notify THEN
        -- In merge mode a deleted row's images go with it (DELETE).
        EXECUTE format('CREATE TRIGGER concurrent_edit_occ_after AFTER %s ON %s FOR EACH ROW '
                       'EXECUTE FUNCTION concurrent_edit._occ_after(%L, %L, %L, %L, %L)',
                       CASE WHEN mode = 'merge' THEN 'INSERT OR UPDATE OR DELETE' ELSE 'INSERT OR UPDATE' END,
                       tbl, version_column, mode, notify, coalesce(project_column, ''), to_jsonb(pk)::text);
    END IF;
    PERFORM concurrent_edit.occ_refresh_images(tbl);
END
$$;
COMMENT ON FUNCTION concurrent_edit.enable_occ(regclass, name, text, name[], name, name, boolean, boolean, name, text) IS
    'Puts a table under optimistic concurrency: an UPDATE must set the version column to the version it read; current: the version becomes read + 1 and modified-by/at are filled; stale: mode reject raises VC001 (JSON DETAIL: table, key, expected_version, current_version, last_modified_by, last_modified_at; the row''s values only for a role that may SELECT them and that no row-level security filters, the others named in withheld), mode merge three-way merges column by column (jsonb key by key, text with merge3) and raises VC001 with the conflicting paths only on a real conflict (recorded in conflict_history). refuse_blind_writes (or mode strict) refuses UPDATEs that do not set the version column (VC009). notify sends ids on occ_channel(tbl). Calling it again reconfigures.';
CREATE FUNCTION concurrent_edit.disable_occ(tbl regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t name;
    through text;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'argument "tbl" must not be NULL' USING ERRCODE = 'null_value_not_allowed',
            DETAIL = '{"argument": "tbl"}';
    END IF;
    -- A partition of a table under OCC has that table's triggers (PostgreSQL
    -- clones them onto each partition, and they cannot be dropped on their own):
    -- it is configured through that table.
    through := concurrent_edit.occ_through(tbl)::text;
    IF through IS NOT NULL THEN
        RAISE EXCEPTION '% is under optimistic concurrency through %', tbl, through
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = pg_catalog.jsonb_build_object('table', tbl::text, 'through', through)::text,
                  HINT = 'Call enable_occ or disable_occ on the partitioned table: its settings apply to every partition.';
    END IF;
    -- The owner's, as for enable_occ (before, DROP TRIGGER's error, without a
    -- DETAIL; without triggers, occ_refresh_images's).
    IF EXISTS (SELECT FROM pg_class r WHERE r.oid = tbl AND NOT pg_has_role(r.relowner, 'USAGE')) THEN
        RAISE EXCEPTION 'must be owner of table %', tbl USING ERRCODE = 'insufficient_privilege',
            DETAIL = pg_catalog.jsonb_build_object('table', tbl::text)::text;
    END IF;
    FOR t IN SELECT tgname FROM pg_trigger
             WHERE tgrelid = tbl AND tgname IN ('concurrent_edit_occ', 'concurrent_edit_occ_after') LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', t, tbl);
    END LOOP;
    PERFORM concurrent_edit.occ_refresh_images(tbl);  -- no trigger left: forgets the images
END
$$;
COMMENT ON FUNCTION concurrent_edit.disable_occ(regclass) IS
    'Removes the optimistic concurrency triggers of a table and its kept row images.';
CREATE FUNCTION concurrent_edit.occ_tables()
    RETURNS TABLE (tbl regclass, version_column name, mode text, refuse_blind_writes boolean, merge_columns name[],
                   modified_by_column name, modified_at_column name, notify boolean, project_column name,
                   array_mode text, through regclass)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT t.tgrelid::regclass AS rel, x.a,
               CASE WHEN t.tgparentid <> 0 THEN concurrent_edit.occ_through(t.tgrelid) END AS root
        FROM pg_trigger t
        -- The arguments, each ended by a zero byte, split as bytes and read in the
        -- database's encoding (encode(..., 'escape') would escape non-ASCII bytes
        -- and backslashes in the names).
        CROSS JOIN LATERAL (
            WITH RECURSIVE s(rest, part, n) AS (
                SELECT t.tgargs, NULL::bytea, 0
                UNION ALL
                SELECT substring(s.rest FROM position('\x00'::bytea IN s.rest) + 1),
                       substring(s.rest FOR position('\x00'::bytea IN s.rest) - 1), s.n + 1
                FROM s WHERE position('\x00'::bytea IN s.rest) > 0)
            SELECT array_agg(convert_from(s.part, getdatabaseencoding()) ORDER BY s.n) AS a FROM s WHERE s.n > 0) x
        WHERE t.tgname = 'concurrent_edit_occ' AND t.tgfoid = 'concurrent_edit._occ_trigger'::regproc
        ORDER BY 1::text
    LOOP
        tbl := r.rel;
        through := r.root;
        -- A trigger made by hand whose arguments cannot be read (a boolean that is
        -- none, a list that is no JSON) is listed with its settings NULL: before,
        -- one such trigger made occ_tables() fail for every caller.
        BEGIN
            version_column := r.a[1]::name;
            mode := r.a[2];
            refuse_blind_writes := r.a[3]::boolean;
            merge_columns := CASE WHEN r.a[4] = '' THEN NULL
                                  WHEN left(r.a[4], 1) = '[' THEN ARRAY(SELECT jsonb_array_elements_text(r.a[4]::jsonb))::name[]
                                  ELSE string_to_array(r.a[4], ',')::name[] END;
            modified_by_column := nullif(r.a[5], '')::name;
            modified_at_column := nullif(r.a[6], '')::name;
            notify := r.a[7]::boolean;
            project_column := nullif(r.a[8], '')::name;
            array_mode := r.a[9];
        EXCEPTION WHEN data_exception THEN
            version_column := NULL; mode := NULL; refuse_blind_writes := NULL; merge_columns := NULL;
            modified_by_column := NULL; modified_at_column := NULL; notify := NULL; project_column := NULL;
            array_mode := NULL;
        END;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION concurrent_edit.occ_tables() IS 'Tables under optimistic concurrency and their configuration (NULL settings for a trigger made by hand whose arguments cannot be read); a partition of a partitioned table under optimistic concurrency is listed with that table as through (NULL for a table configured itself).';
