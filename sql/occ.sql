-- Optimistic concurrency for any table: enable_occ() in reject and merge modes,
-- the seed's "User A's camera is LOST" scenario, composite keys and other version
-- column names, blind writes, text and jsonb merges, conflicts.
\set VERBOSITY terse
SET client_min_messages = warning;
\i sql/include/helpers.sql
CREATE SCHEMA occtest;
SET search_path = occtest, public;

CREATE TABLE productions (
    id          integer PRIMARY KEY,
    version     integer NOT NULL DEFAULT 1,
    title       text,
    notes       text,
    doc         jsonb,
    modified_by text,
    modified_at timestamptz
);
INSERT INTO productions (id, version, title, notes, doc) VALUES
  (1, 5, 'Summer Festival 2026', E'load-in 08:00\nsoundcheck 14:00\ndoors 19:00\n',
   '{"cameras": [{"id": "cam-1", "model": "Sony FX6"}], "sources": [], "venue": {"name": "Hall A", "city": "Berlin"}}');

-- Merge mode (seed scenario): two sessions read version 5.
SELECT concurrent_edit.enable_occ('productions', mode => 'merge', modified_by_column => 'modified_by',
                                  modified_at_column => 'modified_at');
SELECT tbl, version_column, mode, refuse_blind_writes, modified_by_column, notify FROM concurrent_edit.occ_tables();
-- User A adds a camera and saves first (current base): version 6.
SET concurrent_edit.actor = 'user-a';
UPDATE productions SET doc = jsonb_set(doc, '{cameras}', doc -> 'cameras' || '{"id": "cam-2", "model": "Sony A7"}'),
       version = 5 WHERE id = 1 RETURNING version, modified_by, modified_at = now() AS stamped;
-- User B saves the whole object he read at version 5, with a new source and another venue:
-- without the trigger this full-object save would LOSE user A's camera.
SET concurrent_edit.actor = 'user-b';
UPDATE productions SET doc = '{"cameras": [{"id": "cam-1", "model": "Sony FX6"}],
                               "sources": [{"id": "src-1", "name": "Laptop 1"}],
                               "venue": {"name": "Hall B", "city": "Berlin"}}',
       version = 5 WHERE id = 1 RETURNING version, modified_by;
SELECT version, jsonb_pretty(doc) FROM productions WHERE id = 1;

-- Text columns merge line by line (git semantics); jsonb key by key.
UPDATE productions SET notes = E'load-in 07:30\nsoundcheck 14:00\ndoors 19:00\n', version = 7 WHERE id = 1 RETURNING version;
UPDATE productions SET notes = E'load-in 08:00\nsoundcheck 14:00\ndoors 19:30\n', title = 'Summer Festival 2026 (sold out)',
       version = 7 WHERE id = 1 RETURNING version;
SELECT version, title, notes FROM productions WHERE id = 1;

-- A real conflict (both changed the venue name): VC001 with the conflicting paths, nothing lost.
UPDATE productions SET doc = jsonb_set(doc, '{venue,name}', '"Hall C"'), version = 9 WHERE id = 1 RETURNING version;
SELECT pg_temp.try($$UPDATE productions SET doc = jsonb_set(doc, '{venue,name}', '"Hall D"'), version = 9 WHERE id = 1$$, false);
SELECT d -> 'conflicts' AS conflicts, d -> 'key' AS key, d ->> 'expected_version' AS expected, d ->> 'current_version' AS current,
       d ->> 'last_modified_by' AS last_by, d ? 'last_modified_at' AS has_time, d ->> 'table' AS tbl
FROM pg_temp.error_detail($$UPDATE productions SET doc = jsonb_set(doc, '{venue,name}', '"Hall D"'), version = 9 WHERE id = 1$$) d;
SELECT version, doc -> 'venue' ->> 'name' AS venue FROM productions WHERE id = 1;
-- The conflict is recorded in conflict_history (by a worker, since the error rolled the transaction back).
DO $$ BEGIN
  FOR i IN 1 .. 200 LOOP
    EXIT WHEN (SELECT count(*) FROM concurrent_edit.conflict_history WHERE kind = 'row') >= 2;
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;
SELECT kind, row_relation, row_key, base_version, ours_version, strategy, details -> 'conflicts' AS conflicts
FROM concurrent_edit.conflict_history WHERE kind = 'row' ORDER BY created_at LIMIT 1;
SELECT count(*) AS listed FROM concurrent_edit.list_conflicts(project_id => '00000000-0000-0000-0000-000000000000') WHERE kind = 'row';
-- Row conflicts carry row data: listed only to roles that may read the table.
CREATE ROLE regress_occ_reader;
SELECT concurrent_edit.grant_access('regress_occ_reader', read_tables => true);
SET SESSION AUTHORIZATION regress_occ_reader;
SELECT count(*) AS listed_without_select FROM concurrent_edit.list_conflicts(project_id => '00000000-0000-0000-0000-000000000000');
SELECT pg_temp.try($$SELECT count(*) FROM concurrent_edit.occ_row_versions$$);
RESET SESSION AUTHORIZATION;
GRANT USAGE ON SCHEMA occtest TO regress_occ_reader;
GRANT SELECT ON productions TO regress_occ_reader;
SET SESSION AUTHORIZATION regress_occ_reader;
SELECT count(*) AS listed_with_select FROM concurrent_edit.list_conflicts(project_id => '00000000-0000-0000-0000-000000000000');
RESET SESSION AUTHORIZATION;
-- Under the table's row-level security a reader may not see every row: a
-- conflict, which carries another writer's row, is then not its own, even with a
-- policy that happens to show all rows (before: listed, readable and closable).
-- Its owner and BYPASSRLS roles still see it.
ALTER TABLE productions ENABLE ROW LEVEL SECURITY;
CREATE POLICY every_row ON productions USING (true);
SET SESSION AUTHORIZATION regress_occ_reader;
SELECT count(*) AS rows_readable FROM productions;
SELECT count(*) AS listed_under_rls FROM concurrent_edit.list_conflicts(project_id => '00000000-0000-0000-0000-000000000000');
SELECT count(*) AS readable_under_rls FROM concurrent_edit.conflict_history WHERE kind = 'row';
SELECT concurrent_edit.row_conflict_visible('occtest.productions') AS visible;
RESET SESSION AUTHORIZATION;
SELECT concurrent_edit.row_conflict_visible('occtest.productions', 'regress_occ_reader'::regrole) AS reader,
       concurrent_edit.row_conflict_visible('occtest.productions') AS superuser,
       concurrent_edit.row_conflict_visible('occtest.nope') AS missing,
       concurrent_edit.row_conflict_visible('productions') AS unqualified;
ALTER ROLE regress_occ_reader BYPASSRLS;
SET SESSION AUTHORIZATION regress_occ_reader;
SELECT count(*) AS listed_bypassing FROM concurrent_edit.list_conflicts(project_id => '00000000-0000-0000-0000-000000000000');
RESET SESSION AUTHORIZATION;
ALTER ROLE regress_occ_reader NOBYPASSRLS;
DROP POLICY every_row ON productions;
ALTER TABLE productions DISABLE ROW LEVEL SECURITY;
-- A row conflict is resolved by updating the row; resolve_conflict() closes the record.
SELECT pg_temp.try(format('SELECT concurrent_edit.resolve_conflict(%L, %L, %L)', id, 'text', gen_random_uuid()))
FROM concurrent_edit.conflict_history WHERE kind = 'row' ORDER BY created_at LIMIT 1;
SELECT concurrent_edit.resolve_conflict(id, NULL, 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa') IS NULL AS closed
FROM concurrent_edit.conflict_history WHERE kind = 'row' ORDER BY created_at LIMIT 1;
SELECT count(*) AS still_open FROM concurrent_edit.list_conflicts(project_id => '00000000-0000-0000-0000-000000000000');
-- Conflicting text lines too.
SELECT pg_temp.try($$UPDATE productions SET notes = 'something else', version = 8 WHERE id = 1$$, false);

-- A version older than the kept images cannot be merged.
SET concurrent_edit.occ_history_versions = 2;
UPDATE productions SET title = 'v11', version = 10 WHERE id = 1 RETURNING version;
UPDATE productions SET title = 'v12', version = 11 WHERE id = 1 RETURNING version;
UPDATE productions SET title = 'v13', version = 12 WHERE id = 1 RETURNING version;
SELECT array_agg(version ORDER BY version) AS kept FROM concurrent_edit.occ_row_versions WHERE relation = 'occtest.productions';
SELECT pg_temp.try($$UPDATE productions SET notes = 'x', version = 9 WHERE id = 1$$, false);
RESET concurrent_edit.occ_history_versions;

-- Reject mode: a stale update fails with the same SQLSTATE as a stale write() and the data a client needs.
SELECT concurrent_edit.enable_occ('productions', modified_by_column => 'modified_by', modified_at_column => 'modified_at');
SELECT mode FROM concurrent_edit.occ_tables();
SELECT count(*) AS images_dropped FROM concurrent_edit.occ_row_versions WHERE relation = 'occtest.productions';
UPDATE productions SET title = 'reject mode', version = 13 WHERE id = 1 RETURNING version;
SELECT pg_temp.try($$UPDATE productions SET title = 'stale', version = 13 WHERE id = 1$$, false);
SELECT d - 'last_modified_at' AS detail FROM pg_temp.error_detail($$UPDATE productions SET title = 'stale', version = 13 WHERE id = 1$$) d;
SELECT version, title FROM productions WHERE id = 1;
-- Blind writes (the version column not set) are allowed in the default mode and bump the version...
UPDATE productions SET title = 'blind' WHERE id = 1 RETURNING version;
-- ... and refused in strict mode.
SELECT concurrent_edit.enable_occ('productions', mode => 'strict');
SELECT mode, refuse_blind_writes FROM concurrent_edit.occ_tables();
SELECT pg_temp.try($$UPDATE productions SET title = 'blind again' WHERE id = 1$$);
UPDATE productions SET title = 'named', version = 15 WHERE id = 1 RETURNING version, title;
-- A MERGE reports to the trigger the columns of all its UPDATE actions together:
-- one that does not set the version column in every UPDATE action is refused in
-- strict mode (before: its blind action wrote the row), whichever action fires;
-- one that sets it in every action is judged as an UPDATE; an UPDATE after a
-- refused MERGE is judged as an UPDATE again.
SELECT pg_temp.try($$MERGE INTO productions p USING (VALUES (1, 'merged', 16), (1, 'merged blind', NULL)) v(id, t, ver)
    ON p.id = v.id AND v.ver IS NULL
    WHEN MATCHED AND v.ver IS NOT NULL THEN UPDATE SET title = v.t, version = v.ver
    WHEN MATCHED THEN UPDATE SET title = v.t$$);
SELECT version, title FROM productions WHERE id = 1;
MERGE INTO productions p USING (VALUES (1, 'merged', 16)) v(id, t, ver) ON p.id = v.id
    WHEN MATCHED AND v.ver > 100 THEN UPDATE SET title = 'never', version = v.ver
    WHEN MATCHED THEN UPDATE SET title = v.t, version = v.ver;
SELECT pg_temp.try($$MERGE INTO productions p USING (VALUES (1, 'stale', 15)) v(id, t, ver) ON p.id = v.id
    WHEN MATCHED THEN UPDATE SET title = v.t, version = v.ver$$, false);
UPDATE productions SET title = 'after the merges', version = 17 WHERE id = 1 RETURNING version, title;
-- The MERGE is found by the table it modifies, not as the latest executor: a
-- set-returning function's query or a cursor left open, started during the
-- MERGE, do not hide it (before: the blind action wrote the row).
CREATE FUNCTION occtest.ids() RETURNS SETOF int LANGUAGE sql AS $$ SELECT 1 $$;
CREATE FUNCTION occtest.open_cursor() RETURNS int LANGUAGE plpgsql AS $$
DECLARE c refcursor; BEGIN OPEN c FOR SELECT 1; RETURN 1; END $$;
SELECT pg_temp.try($$MERGE INTO productions p USING (SELECT occtest.ids() AS id) v ON p.id = v.id
    WHEN MATCHED AND v.id > 100 THEN UPDATE SET title = 'never', version = 18
    WHEN MATCHED THEN UPDATE SET title = 'through a function'$$, false);
SELECT pg_temp.try($$MERGE INTO productions p USING (SELECT 1 AS id, occtest.open_cursor() AS c) v ON p.id = v.id
    WHEN MATCHED AND v.id > 100 THEN UPDATE SET title = 'never', version = 18
    WHEN MATCHED THEN UPDATE SET title = 'with a cursor open'$$, false);
SELECT version, title FROM productions WHERE id = 1;
-- Nor does a cursor opened before the MERGE and closed during it (before: its
-- end dropped the MERGE's entry with its own, and the blind action wrote the row).
CREATE FUNCTION occtest.close_cursor(name text) RETURNS int LANGUAGE plpgsql AS $$
BEGIN EXECUTE format('CLOSE %I', name); RETURN 1; END $$;
BEGIN;
DECLARE early CURSOR FOR SELECT 1;
SELECT pg_temp.try($$MERGE INTO productions p USING (SELECT 1 AS id, occtest.close_cursor('early') AS c) v ON p.id = v.id
    WHEN MATCHED AND v.id > 100 THEN UPDATE SET title = 'never', version = 18
    WHEN MATCHED THEN UPDATE SET title = 'closing a cursor'$$, false);
COMMIT;
SELECT version, title FROM productions WHERE id = 1;

-- Any key and any version column name: a composite key and lock_version.
CREATE TABLE line_items (order_id int, line int, lock_version bigint NOT NULL DEFAULT 1, qty int, data jsonb,
                         PRIMARY KEY (order_id, line));
INSERT INTO line_items VALUES (1, 1, 1, 10, '{"tags": ["a"]}'), (1, 2, 1, 20, '{}');
SELECT concurrent_edit.enable_occ('line_items', 'lock_version', 'merge');
UPDATE line_items SET qty = 11, lock_version = 1 WHERE order_id = 1 AND line = 1 RETURNING lock_version;
UPDATE line_items SET data = '{"tags": ["a", "b"]}', lock_version = 1 WHERE order_id = 1 AND line = 1 RETURNING lock_version, qty, data;
SELECT pg_temp.try($$UPDATE line_items SET qty = 99, lock_version = 1 WHERE order_id = 1 AND line = 1$$);
-- Arrays of objects with ids merge by id: both appended items are kept.
CREATE TABLE boards (id text PRIMARY KEY, row_version int NOT NULL DEFAULT 1, cards jsonb);
INSERT INTO boards VALUES ('b1', 1, '[{"id": 1, "t": "one"}]');
SELECT concurrent_edit.enable_occ('boards', 'row_version', 'merge');
UPDATE boards SET cards = cards || '[{"id": 2, "t": "two"}]', row_version = 1 WHERE id = 'b1';
UPDATE boards SET cards = '[{"id": 1, "t": "one"}, {"id": 3, "t": "three"}]', row_version = 1 WHERE id = 'b1' RETURNING row_version, cards;

-- Bad configuration gets clear errors.
CREATE TABLE no_pk (v int);
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('no_pk', 'v')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('productions', 'title')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('productions', 'nope')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('productions', mode => 'optimistic')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('productions', merge_columns => '{version}')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('productions', array_mode => 'sorted')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ(NULL)$$);
-- merge_columns with a NULL element (before: stored, and every later stale
-- update failed with 42703 for a column ""), or of two dimensions (before: 2202E
-- with a DETAIL that was not JSON).
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('productions', mode => 'merge', merge_columns => '{NULL}')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('productions', mode => 'merge', merge_columns => '{title,NULL,notes}')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('productions', mode => 'merge', merge_columns => '{{title},{notes}}')$$);
-- The columns the trigger writes are not the version column, a key column or each other.
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('productions', modified_by_column => 'version')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('productions', modified_by_column => 'id')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('productions', modified_by_column => 'modified_at', modified_at_column => 'modified_at')$$);
-- Nothing changed by the refused calls.
SELECT mode, merge_columns, modified_by_column, modified_at_column FROM concurrent_edit.occ_tables();

-- disable_occ removes the triggers and the kept images.
SELECT concurrent_edit.disable_occ('line_items');
SELECT concurrent_edit.disable_occ('boards');
SELECT concurrent_edit.disable_occ('productions');
SELECT count(*) AS tables_left FROM concurrent_edit.occ_tables();
UPDATE productions SET title = 'free', version = 1 WHERE id = 1 RETURNING version;
SELECT count(*) AS images_left FROM concurrent_edit.occ_row_versions;
DROP SCHEMA occtest CASCADE;

-- A row conflict of a table in a schema a reader may not use is not its own;
-- before, it made conflict_history and open_conflicts fail (42501 for the schema)
-- for every reader but superusers. And open_conflicts counts a row conflict's
-- conflicting paths (before, 22P02 casting them to an integer).
CREATE SCHEMA occ_private;
CREATE TABLE occ_private.t (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, doc text);
INSERT INTO occ_private.t VALUES (1, 1, E'a\nb\nc\n');
SELECT concurrent_edit.enable_occ('occ_private.t', mode => 'merge');
UPDATE occ_private.t SET doc = E'a\nX\nc\n', version = 1 WHERE id = 1 RETURNING version;
SELECT pg_temp.try($$UPDATE occ_private.t SET doc = E'a\nY\nc\n', version = 1 WHERE id = 1$$, false);
DO $$ BEGIN
  FOR i IN 1 .. 200 LOOP
    EXIT WHEN EXISTS (SELECT FROM concurrent_edit.conflict_history WHERE row_relation = 'occ_private.t');
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;
SELECT kind, regions FROM concurrent_edit.open_conflicts WHERE row_relation = 'occ_private.t';
SET SESSION AUTHORIZATION regress_occ_reader;
SELECT count(*) AS row_conflicts_readable FROM concurrent_edit.conflict_history WHERE kind = 'row';
SELECT count(*) AS row_conflicts_open FROM concurrent_edit.open_conflicts WHERE kind = 'row';
RESET SESSION AUTHORIZATION;
SELECT concurrent_edit.disable_occ('occ_private.t');
DROP SCHEMA occ_private CASCADE;
DROP OWNED BY regress_occ_reader;
DROP ROLE regress_occ_reader;
DELETE FROM concurrent_edit.conflict_history WHERE kind = 'row';

-- The tables of the checks below: the trigger's arguments, merge_columns, what
-- an error shows of a row.
CREATE SCHEMA occ_args;
SET search_path = occ_args, public;
-- merge_columns => '{}' merges no column: changes of different columns still
-- combine, a column both sides changed is a conflict (before: every column was
-- merged, as with NULL).
CREATE TABLE em (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, a text, b text);
INSERT INTO em VALUES (1, 1, E'1\n2\n3\n', 'b');
SELECT concurrent_edit.enable_occ('em', mode => 'merge', merge_columns => '{}');
SELECT merge_columns FROM concurrent_edit.occ_tables() WHERE tbl = 'em'::regclass;
UPDATE em SET a = E'1\n2\n3\nX\n', version = 1 RETURNING version;
UPDATE em SET b = 'B', version = 1 RETURNING version, a, b;
SELECT pg_temp.try($$UPDATE em SET a = E'Y\n1\n2\n3\n', version = 1$$);
SELECT version, a, b FROM em;
DO $$ BEGIN
  FOR i IN 1 .. 200 LOOP
    EXIT WHEN EXISTS (SELECT FROM concurrent_edit.conflict_history WHERE row_relation = 'occ_args.em');
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;
SELECT concurrent_edit.disable_occ('em');

-- The trigger checks its arguments against the table at every call. Before, a
-- modified-at column retyped after enable_occ() crashed the server (signal 11:
-- a timestamp put into a text column), a bigint or date column got garbage.
CREATE TABLE oc (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, t text, ma timestamptz, mb text, p uuid);
INSERT INTO oc VALUES (1, 1, 'a', now());
SELECT concurrent_edit.enable_occ('oc', modified_at_column => 'ma');
UPDATE oc SET t = 'b', version = 1 RETURNING version;
ALTER TABLE oc ALTER COLUMN ma TYPE text USING ma::text;
SELECT pg_temp.try($$UPDATE oc SET t = 'c', version = 2$$);
ALTER TABLE oc ALTER COLUMN ma TYPE bigint USING 7;
SELECT pg_temp.try($$UPDATE oc SET t = 'c', version = 2$$);
ALTER TABLE oc ALTER COLUMN ma TYPE date USING '2020-01-01';
SELECT pg_temp.try($$UPDATE oc SET t = 'c', version = 2$$);
SELECT version, t, ma FROM oc;
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('oc', modified_at_column => 'ma')$$);
ALTER TABLE oc ALTER COLUMN ma TYPE timestamp USING NULL;
UPDATE oc SET t = 'c', version = 2 RETURNING version, t, ma IS NOT NULL AS stamped;
-- A modified-by column renamed, a project column retyped: refused, not skipped.
SELECT concurrent_edit.enable_occ('oc', modified_by_column => 'mb', project_column => 'p');
ALTER TABLE oc RENAME mb TO who;
SELECT pg_temp.try($$UPDATE oc SET t = 'd', version = 3$$);
ALTER TABLE oc RENAME who TO mb;
ALTER TABLE oc ALTER COLUMN p TYPE bytea USING NULL;
SELECT pg_temp.try($$UPDATE oc SET t = 'd', version = 3$$);
ALTER TABLE oc ALTER COLUMN p TYPE uuid USING NULL;
-- The primary key changed.
ALTER TABLE oc DROP CONSTRAINT oc_pkey, ADD PRIMARY KEY (id, t);
SELECT pg_temp.try($$UPDATE oc SET t = 'd', version = 3$$);
-- The primary key dropped (before: VC001 with a DETAIL that was not JSON).
ALTER TABLE oc DROP CONSTRAINT oc_pkey;
SELECT pg_temp.try($$UPDATE oc SET t = 'd', version = 1$$);
SELECT version, t, mb FROM oc;
SELECT concurrent_edit.disable_occ('oc');
-- A deferrable primary key is refused (before: accepted, and the trigger, which
-- finds the key as the relcache does, found none: every update failed with 42P16
-- and enable_occ in merge mode of two rows with a bare 23505).
CREATE TABLE dpk (id int PRIMARY KEY DEFERRABLE, version int NOT NULL DEFAULT 1, status text);
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('dpk', mode => 'merge')$$);
DROP TABLE dpk;

-- The modified-by column takes the writer's name through its type's input
-- function: a string type only (before: an integer or uuid column was accepted,
-- and every update then failed with a bare 22P02), wide enough (before: a bare
-- 22001), and no generated column (before: accepted, and the writer never
-- recorded). Nor is a generated column listed in merge_columns.
CREATE TABLE om (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, t text, mi int, mv varchar(3),
                 g text GENERATED ALWAYS AS (t || '!') STORED);
INSERT INTO om (id, t) VALUES (1, 'a');
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('om', modified_by_column => 'mi')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('om', modified_by_column => 'g')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('om', modified_at_column => 'g')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('om', mode => 'merge', merge_columns => '{t,g}')$$);
SELECT concurrent_edit.enable_occ('om', modified_by_column => 'mv');
SET concurrent_edit.actor = 'a name longer than three';
SELECT pg_temp.try($$UPDATE om SET t = 'b', version = 1$$);
SET concurrent_edit.actor = 'ann';
UPDATE om SET t = 'b', version = 1 RETURNING version, mv, g;
RESET concurrent_edit.actor;
ALTER TABLE om ALTER COLUMN mv TYPE int USING NULL;   -- retyped after enable_occ
SELECT pg_temp.try($$UPDATE om SET t = 'c', version = 2$$);
SELECT version, t, mv FROM om;
SELECT concurrent_edit.disable_occ('om');
-- Nor a generated version column (before: accepted, and since PostgreSQL computes
-- it after the trigger the version never changed: every write counted as
-- current). A trigger made by hand on one refuses every update.
CREATE TABLE og (id int PRIMARY KEY, t text, version int GENERATED ALWAYS AS (1) STORED);
INSERT INTO og (id, t) VALUES (1, 'a');
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('og')$$);
CREATE TRIGGER by_hand BEFORE UPDATE ON og FOR EACH ROW
    EXECUTE FUNCTION concurrent_edit._occ_trigger('version', 'reject', 'false', '', '', '', 'false', '', 'auto', '["id"]');
SELECT pg_temp.try($$UPDATE og SET t = 'b'$$);
SELECT t FROM og;
DROP TABLE og;
-- notify => NULL is notify's default, false (before: accepted, and written into
-- the trigger as "null", which made every later UPDATE fail with 39P01).
CREATE TABLE onull (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, t text);
INSERT INTO onull VALUES (1, 1, 'a');
SELECT concurrent_edit.enable_occ('onull', mode => 'merge', notify => NULL, refuse_blind_writes => NULL);
UPDATE onull SET t = 'b', version = 1 RETURNING version, t;
INSERT INTO onull VALUES (2, 1, 'c');
DELETE FROM onull WHERE id = 2;
SELECT notify, refuse_blind_writes FROM concurrent_edit.occ_tables() WHERE tbl = 'onull'::regclass;
DROP TABLE onull;
-- A text project column holding no uuid: 22P02 with a JSON DETAIL, nothing
-- changed (before: uuid's own 22P02 without one), at enable_occ (the rows
-- already there), INSERT and UPDATE. The value is not shown.
CREATE TABLE op (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, t text, p text);
INSERT INTO op VALUES (1, 1, 'a', 'not-a-uuid');
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('op', mode => 'merge', project_column => 'p')$$);
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'op'::regclass;
UPDATE op SET p = '{11111111-2222-3333-4444-555555555555}';
SELECT concurrent_edit.enable_occ('op', mode => 'merge', project_column => 'p');
SELECT pg_temp.try($$INSERT INTO op VALUES (2, 1, 'b', 'garbage')$$);
SELECT pg_temp.try($$UPDATE op SET p = '1111-2222', version = 1 WHERE id = 1$$);
INSERT INTO op VALUES (3, 1, 'c', '11112222-3333-4444-5555-66667777888A');
SELECT id, version, p FROM op ORDER BY id;
SELECT count(*) AS images, count(DISTINCT project_id) AS projects FROM concurrent_edit.occ_row_versions
 WHERE relation = 'occ_args.op';
SELECT concurrent_edit.disable_occ('op');

-- Triggers made by hand by a table owner who is not a superuser (the trigger
-- functions are executable by PUBLIC). Before: a modified-at argument naming a
-- text column crashed the server; one naming the version column, or a
-- modified-by argument naming it, overwrote the version (with the actor's
-- name); naming a key column rewrote the key.
CREATE ROLE regress_occ_owner;
GRANT USAGE, CREATE ON SCHEMA occ_args TO regress_occ_owner;
CREATE FUNCTION pg_temp.hand_made(args text, fn text DEFAULT '_occ_trigger', upd text DEFAULT 'UPDATE m_t SET note = ''y'', version = 1')
RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  EXECUTE format('CREATE TRIGGER hand %s UPDATE ON m_t FOR EACH ROW EXECUTE FUNCTION concurrent_edit.%I(%s)',
                 CASE fn WHEN '_occ_trigger' THEN 'BEFORE' ELSE 'AFTER' END, fn, args);
  r := pg_temp.try(upd);
  EXECUTE 'DROP TRIGGER hand ON m_t';
  RETURN r;
END $$;
SET SESSION AUTHORIZATION regress_occ_owner;
CREATE TABLE m_t (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, note text, big bigint, day date, ts timestamptz);
INSERT INTO m_t VALUES (1, 1, 'x', 0, '2020-01-01', NULL);
SET concurrent_edit.actor = '41';
SELECT pg_temp.hand_made($$'version','reject','f','','','note','f','','auto','["id"]'$$);
SELECT pg_temp.hand_made($$'version','reject','f','','','big','f','','auto','["id"]'$$);
SELECT pg_temp.hand_made($$'version','reject','f','','','day','f','','auto','["id"]'$$);
SELECT pg_temp.hand_made($$'version','reject','f','','','version','f','','auto','["id"]'$$);
SELECT pg_temp.hand_made($$'version','reject','f','','version','','f','','auto','["id"]'$$);
SELECT pg_temp.hand_made($$'version','reject','f','','id','','f','','auto','["id"]'$$);
SELECT pg_temp.hand_made($$'version','reject','f','','ts','ts','f','','auto','["id"]'$$);
SELECT pg_temp.hand_made($$'version','reject','f','','note','','f','note','auto','["id"]'$$);
SELECT pg_temp.hand_made($$'version','reject','f','','','','f','big','auto','["id"]'$$);
SELECT pg_temp.hand_made($$'version','merge','f','["id"]','','','f','','auto','["id"]'$$);
SELECT pg_temp.hand_made($$'version','merge','f','["nope"]','','','f','','auto','["id"]'$$);
SELECT pg_temp.hand_made($$'note','reject','f','','','','f','','auto','["id"]'$$);
SELECT pg_temp.hand_made($$'version','reject','f','','','','f','','auto','["note"]'$$);
-- Malformed arguments: 39P01.
SELECT pg_temp.hand_made($$'version','bogus','f','','','','f','','auto','["id"]'$$);
SELECT pg_temp.hand_made($$'version','reject','x','','','','f','','auto','["id"]'$$);
SELECT pg_temp.hand_made($$'version','reject','f','','','','f','','sorted','["id"]'$$);
SELECT pg_temp.hand_made($$'version','merge','f','[null]','','','f','','auto','["id"]'$$);
SELECT pg_temp.hand_made($$'version','merge','f','[1]','','','f','','auto','["id"]'$$);
SELECT pg_temp.hand_made($$'version','merge','f','[oops','','','f','','auto','["id"]'$$);
SELECT pg_temp.hand_made($$'version','merge','f','note,,big','','','f','','auto','["id"]'$$);
SELECT pg_temp.hand_made($$'version','reject','f','','','','f','','auto','{"id": 1}'$$);
SELECT pg_temp.hand_made($$'version','reject','f','','','','f','','auto',''$$);
-- Nor on a temporary table, which enable_occ() refuses: its name is reused by
-- later sessions, and the images and conflicts kept under it would reach them
-- (before: a trigger made by hand kept them).
CREATE TEMP TABLE m_tmp (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, note text);
INSERT INTO m_tmp VALUES (1, 1, 'x');
CREATE TRIGGER hand BEFORE UPDATE ON m_tmp FOR EACH ROW EXECUTE FUNCTION
    concurrent_edit._occ_trigger('version','merge','f','','','','f','','auto','["id"]');
CREATE TRIGGER hand_after AFTER INSERT OR UPDATE OR DELETE ON m_tmp FOR EACH ROW EXECUTE FUNCTION
    concurrent_edit._occ_after('version','merge','f','','["id"]');
SELECT regexp_replace(pg_temp.try($$UPDATE m_tmp SET note = 'y', version = 1$$), 'pg_temp_[0-9]+', 'pg_temp_N', 'g');
SELECT regexp_replace(pg_temp.try($$INSERT INTO m_tmp VALUES (2, 1, 'z')$$), 'pg_temp_[0-9]+', 'pg_temp_N', 'g');
DROP TABLE m_tmp;
RESET SESSION AUTHORIZATION;
SELECT count(*) AS kept FROM concurrent_edit.occ_row_versions WHERE relation LIKE 'pg_temp%';
SET SESSION AUTHORIZATION regress_occ_owner;
-- The AFTER trigger checks its own.
SELECT pg_temp.hand_made($$'note','merge','f','','["id"]'$$, '_occ_after');
SELECT pg_temp.hand_made($$'version','merge','f','big','["id"]'$$, '_occ_after');
SELECT pg_temp.hand_made($$'version','merge','maybe','','["id"]'$$, '_occ_after');
SELECT pg_temp.hand_made($$'version','merge','f','','["day"]'$$, '_occ_after');
-- What enable_occ() writes works by hand too (a 1.0 list of names as well).
SELECT pg_temp.hand_made($$'version','reject','f','','','ts','f','','auto','["id"]'$$);
SELECT pg_temp.hand_made($$'version','merge','f','note,big','','','f','','auto','id'$$, upd => 'UPDATE m_t SET note = ''z'', version = 2');
SELECT id, version, note, big, day, ts IS NOT NULL AS stamped FROM m_t;
RESET concurrent_edit.actor;
RESET SESSION AUTHORIZATION;
-- occ_tables() lists a hand-made trigger whose arguments cannot be read with its
-- settings NULL. Before, one such trigger (here a boolean that is none, then a
-- list that is no JSON) made occ_tables() fail (22P02) for every caller, and the
-- update from 1.0, which reads it, too.
SET SESSION AUTHORIZATION regress_occ_owner;
CREATE TRIGGER concurrent_edit_occ BEFORE UPDATE ON m_t FOR EACH ROW
    EXECUTE FUNCTION concurrent_edit._occ_trigger('version', 'reject', 'maybe', '', '', '', 'f', '', 'auto', '["id"]');
RESET SESSION AUTHORIZATION;
SELECT tbl, version_column, mode, refuse_blind_writes, notify FROM concurrent_edit.occ_tables() WHERE tbl = 'm_t'::regclass;
DROP TRIGGER concurrent_edit_occ ON m_t;
CREATE TRIGGER concurrent_edit_occ BEFORE UPDATE ON m_t FOR EACH ROW
    EXECUTE FUNCTION concurrent_edit._occ_trigger('version', 'merge', 'f', '[oops', '', '', 'f', '', 'auto', '["id"]');
SELECT tbl, version_column, mode, merge_columns FROM concurrent_edit.occ_tables() WHERE tbl = 'm_t'::regclass;
DROP TRIGGER concurrent_edit_occ ON m_t;

-- VC001 and VC009 show the row's values (its key, current version, modified
-- by/at, paths inside a column's value) only to a role that may see them, by
-- PostgreSQL's rule for its own errors: SELECT on the table or on those columns,
-- and no row-level security enabled for it on the table. Before, a role with
-- UPDATE only read them all.
CREATE ROLE regress_occ_m;
GRANT USAGE ON SCHEMA occ_args TO regress_occ_m;
CREATE TABLE salaries (emp text PRIMARY KEY, version int NOT NULL DEFAULT 1, amount int, doc jsonb,
                       modified_by text, modified_at timestamptz);
INSERT INTO salaries VALUES ('bob.smith', 3, 100000, '{"bonus": {"q1": 5}}', 'hr-admin', now());
GRANT UPDATE (amount, doc, version) ON salaries TO regress_occ_m;
SELECT concurrent_edit.enable_occ('salaries', modified_by_column => 'modified_by', modified_at_column => 'modified_at');
SET SESSION AUTHORIZATION regress_occ_m;
SELECT pg_temp.try($$UPDATE salaries SET amount = 1, version = 1$$);
RESET SESSION AUTHORIZATION;
GRANT SELECT (emp, modified_by) ON salaries TO regress_occ_m;
SET SESSION AUTHORIZATION regress_occ_m;
SELECT pg_temp.try($$UPDATE salaries SET amount = 1, version = 1$$);
RESET SESSION AUTHORIZATION;
GRANT SELECT ON salaries TO regress_occ_m;
SET SESSION AUTHORIZATION regress_occ_m;
SELECT d - 'last_modified_at' AS detail FROM pg_temp.error_detail($$UPDATE salaries SET amount = 1, version = 1$$) d;
RESET SESSION AUTHORIZATION;
-- Row-level security enabled for the role: nothing of the row, SELECT or not.
ALTER TABLE salaries ENABLE ROW LEVEL SECURITY;
CREATE POLICY every_row ON salaries USING (true);
SET SESSION AUTHORIZATION regress_occ_m;
SELECT pg_temp.try($$UPDATE salaries SET amount = 1, version = 1$$);
RESET SESSION AUTHORIZATION;
-- The table's owner (not subject to its row-level security) sees all.
SELECT d - 'last_modified_at' AS detail FROM pg_temp.error_detail($$UPDATE salaries SET amount = 1, version = 1$$) d;
-- VC009 likewise.
SELECT concurrent_edit.enable_occ('salaries', mode => 'strict');
SET SESSION AUTHORIZATION regress_occ_m;
SELECT pg_temp.try($$UPDATE salaries SET amount = 2$$);
RESET SESSION AUTHORIZATION;
-- A merge conflict: the paths inside a column the role may not see are cut to
-- the column; the message names no current version.
SELECT concurrent_edit.enable_occ('salaries', mode => 'merge');
UPDATE salaries SET doc = '{"bonus": {"q1": 6}}', version = 3 RETURNING version;
SET SESSION AUTHORIZATION regress_occ_m;
SELECT pg_temp.try($$UPDATE salaries SET doc = '{}', amount = 7, version = 3$$);
SELECT pg_temp.try($$UPDATE salaries SET amount = 7, version = 9$$);
RESET SESSION AUTHORIZATION;
SELECT pg_temp.try($$UPDATE salaries SET doc = '{}', amount = 7, version = 3$$);
SELECT version, amount, doc FROM salaries;
DO $$ BEGIN
  FOR i IN 1 .. 200 LOOP
    EXIT WHEN (SELECT count(*) FROM concurrent_edit.conflict_history WHERE row_relation = 'occ_args.salaries') >= 2;
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;
SELECT count(*) AS recorded, count(DISTINCT details -> 'conflicts') AS same_paths
FROM concurrent_edit.conflict_history WHERE row_relation = 'occ_args.salaries';
SELECT concurrent_edit.disable_occ('salaries');
-- The key column replaced by another of the same name: the kept images were
-- keyed by the old column's values, which now name other rows. Before, a stale
-- update of a row merged against another row's image (the check compares names):
-- here it silently undid a concurrent change of `status`. Now an ALTER TABLE that
-- changes the key's columns takes the images again from the rows.
CREATE TABLE rk (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, status text, body text, note text);
INSERT INTO rk (id, status, body) VALUES (1, 'open', 'row one'), (2, 'draft', 'row two');
SELECT concurrent_edit.enable_occ('rk', mode => 'merge');
UPDATE rk SET status = 'closed', version = 1 WHERE id = 1 RETURNING version;
-- New ids in the table's physical order: row two is 1 now, row one 2.
ALTER TABLE rk DROP COLUMN id, ADD COLUMN id serial PRIMARY KEY;
SELECT id, version, status, body FROM rk ORDER BY id;
SELECT row_key, version, row_data ->> 'body' AS body FROM concurrent_edit.occ_row_versions
WHERE relation = 'occ_args.rk' ORDER BY row_key, version;
-- Two clients read row two (id 1) at version 1: one changes its status ...
UPDATE rk SET status = 'open', version = 1 WHERE id = 1 RETURNING version;
-- ... the other saves the row as it read it, with a note: the status stays 'open'.
UPDATE rk SET status = 'draft', body = 'row two', note = 'x', version = 1 WHERE id = 1 RETURNING version, status, note;
-- The key replaced in separate statements (the table has no key in between):
-- the statement that gives it one takes the images again.
ALTER TABLE rk DROP COLUMN id;
ALTER TABLE rk ADD COLUMN id int;
SELECT pg_temp.try($$UPDATE rk SET note = 'y', version = 2$$);
ALTER TABLE rk DISABLE TRIGGER USER;
UPDATE rk SET id = CASE body WHEN 'row one' THEN 1 ELSE 2 END;
ALTER TABLE rk ENABLE TRIGGER USER;
ALTER TABLE rk ADD PRIMARY KEY (id);
SELECT row_key, version, row_data ->> 'body' AS body FROM concurrent_edit.occ_row_versions
WHERE relation = 'occ_args.rk' ORDER BY row_key, version;
-- A key column retyped (its USING may give rows other keys): taken again too.
ALTER TABLE rk ALTER COLUMN id TYPE bigint USING 3 - id;
SELECT row_key, version, row_data ->> 'body' AS body FROM concurrent_edit.occ_row_versions
WHERE relation = 'occ_args.rk' ORDER BY row_key, version;
-- Changes that leave the columns as they were leave the images alone; a column
-- added takes them again (one a row: an image without the column would read as
-- NULL there: a stale update conflicts when another writer changed the column).
UPDATE rk SET note = 'z', version = 3 WHERE id = 1 RETURNING version;
ALTER TABLE rk SET (fillfactor = 90);
SELECT count(*) AS images FROM concurrent_edit.occ_row_versions WHERE relation = 'occ_args.rk';
ALTER TABLE rk ADD COLUMN extra int;
SELECT count(*) AS images FROM concurrent_edit.occ_row_versions WHERE relation = 'occ_args.rk';
SELECT concurrent_edit.disable_occ('rk');
-- An update that gives a row another key starts its history there, as an
-- insert does: the images under that key (another row's) are dropped, and so
-- are those under the key it left. Two rows swap keys through a free one; before,
-- a client that had read row 5 saved it stale, and its edit was merged into the
-- row now at key 5 (the former row 3), against the image of the former row 5.
CREATE TABLE km (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, a text, b text);
SELECT concurrent_edit.enable_occ('km', mode => 'merge');
INSERT INTO km VALUES (5, 1, 'same', 'five'), (3, 1, 'same', 'three');
UPDATE km SET b = 'five, edited', version = 1 WHERE id = 5 RETURNING version;
UPDATE km SET b = 'three, edited', version = 1 WHERE id = 3 RETURNING version;
UPDATE km SET id = 100, version = 2 WHERE id = 5 RETURNING version;
UPDATE km SET id = 5, version = 2 WHERE id = 3 RETURNING version;
UPDATE km SET id = 3, version = 3 WHERE id = 100 RETURNING version;
SELECT row_key, version, row_data ->> 'b' AS b FROM concurrent_edit.occ_row_versions
WHERE relation = 'occ_args.km' ORDER BY row_key, version;
-- The client read row 5 at version 2 (before the swap): refused, not merged.
SELECT pg_temp.try($$UPDATE km SET a = 'client', b = 'five, edited', version = 2 WHERE id = 5$$);
SELECT * FROM km ORDER BY id;
-- In merge mode a deleted row's images go with it: a table whose rows come and
-- go keeps the images of the rows it has, not of every row it ever had.
INSERT INTO km VALUES (7, 1, 'seven', 'seven');
UPDATE km SET a = 'seven, edited', version = 1 WHERE id = 7 RETURNING version;
SELECT row_key, version FROM concurrent_edit.occ_row_versions WHERE relation = 'occ_args.km' ORDER BY row_key, version;
DELETE FROM km WHERE id = 7;
SELECT row_key, version FROM concurrent_edit.occ_row_versions WHERE relation = 'occ_args.km' ORDER BY row_key, version;
DELETE FROM km;
SELECT count(*) AS images FROM concurrent_edit.occ_row_versions WHERE relation = 'occ_args.km';
SELECT concurrent_edit.disable_occ('km');
-- An OCC merge's images count against max_merge_memory before they are made:
-- two rows of a 100 kB text need about 2.4 MB of working memory, refused with
-- 54000 under 1 MB before any image is made; the row is unchanged. The same
-- stale update merges under the default.
CREATE TABLE big (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, body text, note text);
INSERT INTO big VALUES (1, 1, repeat(E'line\n', 20000), 'a');
SELECT concurrent_edit.enable_occ('big', mode => 'merge');
UPDATE big SET note = 'b', version = 1 RETURNING version;
SET concurrent_edit.max_merge_memory = '1MB';
SELECT pg_temp.try($$UPDATE big SET body = body || E'more\n', version = 1$$);
SELECT version, note, length(body) FROM big;
RESET concurrent_edit.max_merge_memory;
UPDATE big SET body = body || E'more\n', version = 1 RETURNING version, note, length(body);
SELECT concurrent_edit.disable_occ('big');
RESET search_path;
DROP SCHEMA occ_args CASCADE;
DROP OWNED BY regress_occ_owner;
DROP ROLE regress_occ_owner;
DROP OWNED BY regress_occ_m;
DROP ROLE regress_occ_m;
DELETE FROM concurrent_edit.conflict_history WHERE kind = 'row';

-- A new connection whose first call of the library is a MERGE's trigger (its
-- executor started before the library was loaded): the MERGE is read from the
-- statement's plan.
CREATE TABLE public.occ_fresh (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, title text);
INSERT INTO public.occ_fresh VALUES (1, 1, 'a');
SELECT concurrent_edit.enable_occ('public.occ_fresh', mode => 'strict');
\c
MERGE INTO public.occ_fresh p USING (VALUES (1, 'blind', NULL::int)) v(id, t, ver) ON p.id = v.id
    WHEN MATCHED AND v.ver IS NOT NULL THEN UPDATE SET title = v.t, version = v.ver
    WHEN MATCHED THEN UPDATE SET title = v.t;
\c
MERGE INTO public.occ_fresh p USING (VALUES (1, 'named', 1)) v(id, t, ver) ON p.id = v.id
    WHEN MATCHED THEN UPDATE SET title = v.t, version = v.ver;
SELECT version, title FROM public.occ_fresh;
-- ... and an UPDATE of it by a trigger of another table's MERGE is an UPDATE
-- (before: judged by that MERGE's actions, and refused).
CREATE TABLE public.occ_other (id int PRIMARY KEY, note text);
INSERT INTO public.occ_other VALUES (1, 'x');
CREATE FUNCTION public.occ_other_trg() RETURNS trigger LANGUAGE plpgsql AS
    $$BEGIN UPDATE public.occ_fresh SET title = 'via trigger', version = version WHERE id = NEW.id; RETURN NEW; END$$;
CREATE TRIGGER occ_other_trg AFTER UPDATE ON public.occ_other FOR EACH ROW EXECUTE FUNCTION public.occ_other_trg();
\c
MERGE INTO public.occ_other o USING (VALUES (1, 'y')) v(id, n) ON o.id = v.id WHEN MATCHED THEN UPDATE SET note = v.n;
SELECT version, title FROM public.occ_fresh;
DROP TABLE public.occ_other;
DROP FUNCTION public.occ_other_trg();
SELECT concurrent_edit.disable_occ('public.occ_fresh');
DROP TABLE public.occ_fresh;
