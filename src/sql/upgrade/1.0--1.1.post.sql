-- Update 1.0 -> 1.1, last part: the rows of the 1.0 tables (now in the scratch
-- schema concurrent_edit_1_0) into the 1.1 tables just created, then the 1.0 objects
-- are dropped. docs/upgrading.md describes each migration.

-- Path keys: 1.1 keys paths per project (project_options; none yet, so the defaults:
-- NFC, case-sensitive). Two live files of a project whose paths get one key would
-- be one file to 1.1: the update refuses and names them, nothing is changed.
DO $$
DECLARE
    clashes jsonb;
BEGIN
    SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('project_id', k.project_id, 'key', k.key,
                                                               'file_ids', k.ids, 'paths', k.paths)
                                ORDER BY k.project_id, k.key)
      INTO clashes
    FROM (SELECT f.project_id, concurrent_edit.normalize_path(f.path) AS key,
                 pg_catalog.jsonb_agg(f.id ORDER BY f.id) AS ids, pg_catalog.jsonb_agg(f.path ORDER BY f.id) AS paths
          FROM concurrent_edit_1_0.files f
          WHERE f.deleted_at IS NULL
          GROUP BY 1, 2
          HAVING pg_catalog.count(*) > 1) k;
    IF clashes IS NOT NULL THEN
        RAISE EXCEPTION 'live files of a project have paths with the same key under 1.1 (NFC)'
            USING ERRCODE = 'unique_violation',
                  DETAIL = pg_catalog.jsonb_build_object('from_version', '1.0', 'to_version', '1.1',
                                                         'collisions', clashes)::text,
                  HINT = 'Rename or delete all but one file of each group with version 1.0, then update again.';
    END IF;
END
$$;

-- File ids: 1.1 finds a file by its id alone (the key is (project_id, id); ids
-- are unique by create_file's check, serialized since 1.1). 1.0's check of a
-- client's file_id was not: two concurrent create_file calls in two projects
-- could both store one id. Such a pair would be one file to 1.1's calls, which
-- reach either project's (a write meant for one lands in the other, whose
-- readers read it): the update refuses and names them, nothing is changed.
DO $$
DECLARE
    shared jsonb;
BEGIN
    SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('file_id', k.id, 'project_ids', k.projects,
                                                               'paths', k.paths)
                                ORDER BY k.id)
      INTO shared
    FROM (SELECT f.id, pg_catalog.jsonb_agg(f.project_id ORDER BY f.project_id) AS projects,
                 pg_catalog.jsonb_agg(f.path ORDER BY f.project_id) AS paths
          FROM concurrent_edit_1_0.files f
          GROUP BY f.id
          HAVING pg_catalog.count(*) > 1) k;
    IF shared IS NOT NULL THEN
        RAISE EXCEPTION 'file ids are shared by files of different projects'
            USING ERRCODE = 'unique_violation',
                  DETAIL = pg_catalog.jsonb_build_object('from_version', '1.0', 'to_version', '1.1',
                                                         'shared_ids', shared)::text,
                  HINT = 'Keep one file of each id (copy the others into new files, then delete their rows from the 1.0 tables), then update again.';
    END IF;
END
$$;

-- Files: the key computed by 1.1's rule, the head's text copied from its version.
INSERT INTO concurrent_edit.files (project_id, id, path, normalized_path, head_version, head_hash, head_clock,
                                   head_content, deleted_at, deleted_by, created_by, created_at, updated_by,
                                   updated_at, renamed_at_version)
SELECT f.project_id, f.id, f.path, concurrent_edit.normalize_path(f.path), f.head_version, f.head_hash, f.head_clock,
       v.content, f.deleted_at, f.deleted_by, f.created_by, f.created_at, f.updated_by, f.updated_at, NULL
FROM concurrent_edit_1_0.files f
JOIN concurrent_edit_1_0.file_versions v
  ON v.project_id = f.project_id AND v.file_id = f.id AND v.version = f.head_version;

-- Versions: 1.0 stored every version in full; that is a valid 1.1 row (no delta,
-- depth 0). New writes store deltas from then on.
INSERT INTO concurrent_edit.file_versions (project_id, file_id, version, content, delta, delta_base, depth, bytes,
                                           content_hash, created_by, created_at, session_id, vector_clock)
SELECT v.project_id, v.file_id, v.version, v.content, NULL, NULL, 0, pg_catalog.octet_length(v.content),
       v.content_hash, v.created_by, v.created_at, v.session_id, v.vector_clock
FROM concurrent_edit_1_0.file_versions v;

-- Sessions belong to a database role in 1.1; a 1.0 session does not say which role
-- opened it, so it goes to the extension owner (project admins may use it too).
INSERT INTO concurrent_edit.edit_sessions (project_id, id, user_id, role, sandbox_id, status, created_at,
                                           last_active_at, closed_at, metadata)
SELECT s.project_id, s.id, s.user_id,
       (SELECT e.extowner::pg_catalog.regrole FROM pg_catalog.pg_extension e WHERE e.extname = 'concurrent_edit'),
       s.sandbox_id, s.status, s.created_at, s.last_active_at, s.closed_at, s.metadata
FROM concurrent_edit_1_0.edit_sessions s;

INSERT INTO concurrent_edit.session_files (project_id, session_id, file_id, opened_at)
SELECT o.project_id, o.session_id, o.file_id, o.opened_at FROM concurrent_edit_1_0.session_files o;

INSERT INTO concurrent_edit.pending_changes (project_id, session_id, file_id, base_version, content, created_at,
                                             updated_at)
SELECT p.project_id, p.session_id, p.file_id, p.base_version, p.content, p.created_at, p.updated_at
FROM concurrent_edit_1_0.pending_changes p;

INSERT INTO concurrent_edit.file_locks (project_id, file_id, session_id, id, holder, lock_type, acquired_at,
                                        expires_at)
SELECT l.project_id, l.file_id, l.session_id, l.id, l.holder, l.lock_type, l.acquired_at, l.expires_at
FROM concurrent_edit_1_0.file_locks l;

-- Conflicts: not discarded; the role of a 1.0 conflict's writer is unknown.
INSERT INTO concurrent_edit.conflict_history (project_id, id, file_id, row_relation, row_key, kind, base_version,
                                              ours_version, theirs_version, theirs_content, strategy, details,
                                              session_id, created_by, created_role, created_at, resolved_by,
                                              resolved_at, resolution_version, discarded, discard_reason)
SELECT c.project_id, c.id, c.file_id, c.row_relation, c.row_key, c.kind, c.base_version, c.ours_version,
       c.theirs_version, c.theirs_content, c.strategy, c.details, c.session_id, c.created_by, NULL, c.created_at,
       c.resolved_by, c.resolved_at, c.resolution_version, false, NULL
FROM concurrent_edit_1_0.conflict_history c
-- A row conflict of a table renamed or dropped under 1.0 names no table now: not
-- kept (1.1 decides access to it on the table of that name, which anyone could
-- create). 1.1 keeps these names in step with renames and drops. (A name that
-- resolves may be another table's: see the row images below.)
WHERE c.kind <> 'row' OR pg_catalog.to_regclass(c.row_relation) IS NOT NULL;

-- The change feed goes on from the next cursor.
INSERT INTO concurrent_edit.change_feeds (project_id, last_cursor, pruned_through)
SELECT f.project_id, f.last_cursor, f.pruned_through FROM concurrent_edit_1_0.change_feeds f;

INSERT INTO concurrent_edit.change_log (project_id, cursor, event, file_id, path, version, content_hash, session_id,
                                        author, details, created_at)
SELECT l.project_id, l.cursor, l.event, l.file_id, l.path, l.version, l.content_hash, l.session_id, l.author,
       l.details, l.created_at
FROM concurrent_edit_1_0.change_log l;

INSERT INTO concurrent_edit.change_pending (project_id, id, event, file_id, path, version, content_hash, session_id,
                                            author, details, created_at)
SELECT p.project_id, p.id, p.event, p.file_id, p.path, p.version, p.content_hash, p.session_id, p.author,
       p.details, p.created_at
FROM concurrent_edit_1_0.change_pending p;

INSERT INTO concurrent_edit.change_pending_locks (project_id, id, event, file_id, path, version, content_hash,
                                                  session_id, author, details, created_at)
SELECT p.project_id, p.id, p.event, p.file_id, p.path, p.version, p.content_hash, p.session_id, p.author,
       p.details, p.created_at
FROM concurrent_edit_1_0.change_pending_locks p;

SELECT pg_catalog.setval('concurrent_edit.change_pending_id_seq', s.last_value, s.is_called)
FROM concurrent_edit_1_0.change_pending_id_seq s;

-- The OCC triggers of callers' tables: the BEFORE trigger created again from its
-- arguments (now on the 1.1 trigger function; nothing of its 1.0 definition is
-- executed, see the first part), then each table configured by 1.1's enable_occ
-- with the same settings, as if enable_occ had been called after the update.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT t.tbl, t.args FROM concurrent_edit_1_0.occ_triggers t
             WHERE t.tgname = 'concurrent_edit_occ' ORDER BY t.tbl::text LOOP
        EXECUTE pg_catalog.format('CREATE TRIGGER concurrent_edit_occ BEFORE UPDATE ON %s FOR EACH ROW '
                                  'EXECUTE FUNCTION concurrent_edit._occ_trigger(%s)', r.tbl,
                                  (SELECT pg_catalog.string_agg(pg_catalog.quote_literal(a.arg), ', ' ORDER BY a.n)
                                   FROM pg_catalog.unnest(r.args) WITH ORDINALITY a(arg, n)));
    END LOOP;
    -- (Not a partition's clone of its parent's trigger: enable_occ on the parent
    -- configures its partitions.)
    FOR r IN SELECT o.* FROM concurrent_edit.occ_tables() o WHERE o.through IS NULL ORDER BY o.tbl::text LOOP
        PERFORM concurrent_edit.enable_occ(r.tbl, r.version_column, r.mode, r.merge_columns, r.modified_by_column,
                                           r.modified_at_column, r.refuse_blind_writes, r.notify, r.project_column,
                                           coalesce(r.array_mode, 'auto'));
    END LOOP;
END
$$;

-- 1.0 row images and row conflicts name their table, and 1.0 did not follow
-- renames and drops: those of a table renamed or dropped at 1.0 stayed under its
-- old name, which another role may have given its own table since. They are
-- kept only for a row of the table that continues their history: the row's
-- current image, as enable_occ just took it, is 1.0's image of that version
-- (same project, key, version and data). A table of another role cannot show
-- the dropped table's row without knowing it. Before, whatever resolved the name
-- received them: its owner read the row conflicts' row data and merged against
-- the images, testing guesses of their values (TAP 030_upgrade).
-- Row conflicts: kept when a row of their table continues its 1.0 images.
DELETE FROM concurrent_edit.conflict_history c
WHERE c.kind = 'row'
  AND EXISTS (SELECT FROM concurrent_edit_1_0.conflict_history x WHERE x.project_id = c.project_id AND x.id = c.id)
  AND NOT EXISTS (
    SELECT FROM concurrent_edit.occ_row_versions n
    JOIN concurrent_edit_1_0.occ_row_versions o
      ON o.project_id = n.project_id AND o.relation = n.relation AND o.row_key = n.row_key
     AND o.version = n.version AND o.row_data = n.row_data
    WHERE n.relation = c.row_relation);

-- The 1.0 row images, after enable_occ refreshed each table's (which keeps only
-- the current versions): the older versions stay merge bases, as before the
-- update, for the rows that continue them (above). Not for a table with a column
-- whose 1.0 image could hide a change (1.1 computes images differently): json
-- or jsonb (SQL NULL and JSON null had one image), float (rounded under
-- extra_float_digits = 0), or a type that may hold them (domain, composite,
-- array, range); a stale update based on one of their older versions gets VC001
-- ("no longer kept") rather than a merge that could lose its change.
INSERT INTO concurrent_edit.occ_row_versions (project_id, relation, row_key, version, row_data, created_at)
SELECT o.project_id, o.relation, o.row_key, o.version, o.row_data, o.created_at
FROM concurrent_edit_1_0.occ_row_versions o
WHERE EXISTS (
    SELECT FROM concurrent_edit.occ_row_versions n
    JOIN concurrent_edit_1_0.occ_row_versions p
      ON p.project_id = n.project_id AND p.relation = n.relation AND p.row_key = n.row_key
     AND p.version = n.version AND p.row_data = n.row_data
    WHERE n.project_id = o.project_id AND n.relation = o.relation AND n.row_key = o.row_key)
  AND NOT EXISTS (
    SELECT FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
    WHERE a.attrelid = pg_catalog.to_regclass(o.relation) AND a.attnum > 0 AND NOT a.attisdropped
      AND (t.typtype IN ('d', 'c', 'r', 'm') OR t.typelem <> 0
           OR a.atttypid IN ('pg_catalog.json'::pg_catalog.regtype, 'pg_catalog.jsonb'::pg_catalog.regtype,
                             'pg_catalog.float4'::pg_catalog.regtype, 'pg_catalog.float8'::pg_catalog.regtype)))
ON CONFLICT ON CONSTRAINT occ_row_versions_pkey DO NOTHING;

-- The 1.0 objects: nothing outside the extension depends on them (checked by the
-- first part of the update). Dropping a table does not take it out of the
-- extension's list of configuration tables (pg_extension.extconfig): leaving the
-- extension does.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.oid::pg_catalog.regclass AS rel, c.relkind
             FROM pg_catalog.pg_extension e, pg_catalog.unnest(e.extconfig) x(oid)
             JOIN pg_catalog.pg_class c ON c.oid = x.oid
             WHERE e.extname = 'concurrent_edit' AND c.relnamespace = 'concurrent_edit_1_0'::pg_catalog.regnamespace
    LOOP
        EXECUTE pg_catalog.format('ALTER EXTENSION concurrent_edit DROP %s %s',
                                  CASE r.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, r.rel);
    END LOOP;
END
$$;
DROP SCHEMA concurrent_edit_1_0 CASCADE;
