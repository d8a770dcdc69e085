-- Optimistic concurrency on tables of every shape: key column names with commas,
-- quotes, spaces and mixed case; composite keys of the common types; partitioned
-- tables and their partitions; each in reject, strict and merge mode.
\set VERBOSITY terse
SET client_min_messages = warning;
\i sql/include/helpers.sql
\i sql/include/wait_conflict.sql
CREATE SCHEMA "occ Shapes";
SET search_path = "occ Shapes", public;

-- Key columns whose names need quoting, and merge_columns that do too.
CREATE TABLE "Odd, Table" ("key, one" int, "Key ""Two""" text, "mixed Case" date, version int NOT NULL DEFAULT 1,
                           "a, b" text, "Note" jsonb,
                           PRIMARY KEY ("key, one", "Key ""Two""", "mixed Case"));
INSERT INTO "Odd, Table" VALUES (1, 'x', '2026-01-01', 1, E'l1\nl2\nl3\n', '{"k": 1}'),
                                (1, 'x', '2026-01-02', 1, E'l1\nl2\nl3\n', '{"k": 1}'),
                                (1, 'x,y', '2026-01-01', 1, E'l1\nl2\nl3\n', '{"k": 1}');
SELECT concurrent_edit.enable_occ('"Odd, Table"', mode => 'merge', merge_columns => '{"a, b","Note"}');
SELECT merge_columns FROM concurrent_edit.occ_tables() WHERE tbl = '"Odd, Table"'::regclass;
SELECT count(*) AS images, count(DISTINCT row_key) AS distinct_keys FROM concurrent_edit.occ_row_versions
WHERE relation = '"occ Shapes"."Odd, Table"';
SELECT DISTINCT row_key FROM concurrent_edit.occ_row_versions WHERE relation = '"occ Shapes"."Odd, Table"' ORDER BY 1;
-- Two stale updates of ONE row (different lines, different keys) merge; the other
-- rows (keys differing in one column) are untouched.
UPDATE "Odd, Table" SET "a, b" = E'L1\nl2\nl3\n', "Note" = '{"k": 1, "x": 1}', version = 1
WHERE "key, one" = 1 AND "Key ""Two""" = 'x' AND "mixed Case" = '2026-01-01' RETURNING version;
UPDATE "Odd, Table" SET "a, b" = E'l1\nl2\nL3\n', "Note" = '{"k": 1, "y": 2}', version = 1
WHERE "key, one" = 1 AND "Key ""Two""" = 'x' AND "mixed Case" = '2026-01-01' RETURNING version, "a, b", "Note";
SELECT "Key ""Two""", "mixed Case", version, "a, b" FROM "Odd, Table" ORDER BY 1, 2;
-- A stale update of another row with the same version number is judged against
-- that row's own image (a key that a comma-split would confuse).
UPDATE "Odd, Table" SET "a, b" = E'x\n', version = 1 WHERE "Key ""Two""" = 'x,y' RETURNING version;
SELECT pg_temp.try($$UPDATE "Odd, Table" SET "a, b" = E'z\n', version = 1 WHERE "Key ""Two""" = 'x,y'$$, false);
SELECT "a, b" FROM "Odd, Table" WHERE "Key ""Two""" = 'x,y';
-- reject and strict on the same table.
SELECT concurrent_edit.enable_occ('"Odd, Table"', mode => 'reject');
SELECT d -> 'key' AS key FROM pg_temp.error_detail($$UPDATE "Odd, Table" SET "a, b" = 'r', version = 0
  WHERE "key, one" = 1 AND "Key ""Two""" = 'x' AND "mixed Case" = '2026-01-02'$$) d;
UPDATE "Odd, Table" SET "a, b" = 'r', version = 1 WHERE "mixed Case" = '2026-01-02' RETURNING version;
SELECT concurrent_edit.enable_occ('"Odd, Table"', mode => 'strict');
SELECT pg_temp.try($$UPDATE "Odd, Table" SET "a, b" = 'blind' WHERE "mixed Case" = '2026-01-02'$$, false);
SELECT concurrent_edit.disable_occ('"Odd, Table"');

-- Composite keys of the common types.
CREATE TABLE typed_keys (k_uuid uuid, k_ts timestamptz, k_num numeric, k_bool boolean, k_big bigint,
                         version bigint NOT NULL DEFAULT 1, body text,
                         PRIMARY KEY (k_uuid, k_ts, k_num, k_bool, k_big));
INSERT INTO typed_keys VALUES ('0e000000-0000-0000-0000-000000000001', '2026-01-01 10:00+00', 1.50, true, 9007199254740993,
                               1, E'a\nb\nc\n'),
                              ('0e000000-0000-0000-0000-000000000001', '2026-01-01 10:00+00', 1.5, false, 9007199254740993,
                               1, E'a\nb\nc\n');
SELECT concurrent_edit.enable_occ('typed_keys', mode => 'merge');
UPDATE typed_keys SET body = E'A\nb\nc\n', version = 1 WHERE k_bool RETURNING version;
UPDATE typed_keys SET body = E'a\nb\nC\n', version = 1 WHERE k_bool RETURNING version, body;
SELECT k_bool, version, body FROM typed_keys ORDER BY k_bool;
SELECT concurrent_edit.disable_occ('typed_keys');

-- A partitioned table: its triggers reach every partition, images and
-- notifications are the partitioned table's whatever partition a row is in.
CREATE TABLE parted (region text, id int, version int NOT NULL DEFAULT 1, doc jsonb, PRIMARY KEY (region, id))
    PARTITION BY LIST (region);
CREATE TABLE parted_eu PARTITION OF parted FOR VALUES IN ('eu');
CREATE TABLE parted_us PARTITION OF parted FOR VALUES IN ('us');
INSERT INTO parted VALUES ('eu', 1, 1, '{"a": 1, "b": 1}'), ('us', 1, 1, '{"a": 1, "b": 1}');
SELECT concurrent_edit.enable_occ('parted', mode => 'merge');
SELECT DISTINCT relation FROM concurrent_edit.occ_row_versions WHERE relation LIKE '%parted%';
UPDATE parted SET doc = '{"a": 2, "b": 1}', version = 1 WHERE region = 'eu' RETURNING version;
UPDATE parted SET doc = '{"a": 1, "b": 3}', version = 1 WHERE region = 'eu' RETURNING version, doc;
-- Updating through the partition merges the same way.
UPDATE parted_us SET doc = '{"a": 5, "b": 1}', version = 1 RETURNING version;
UPDATE parted_us SET doc = '{"a": 1, "b": 6}', version = 1 RETURNING version, doc;
SELECT DISTINCT relation FROM concurrent_edit.occ_row_versions WHERE relation LIKE '%parted%';
-- reject and strict on the partitioned table.
SELECT concurrent_edit.enable_occ('parted', mode => 'reject');
SELECT pg_temp.try($$UPDATE parted SET doc = '{}', version = 1 WHERE region = 'us'$$, false);
SELECT concurrent_edit.enable_occ('parted', mode => 'strict');
SELECT pg_temp.try($$UPDATE parted_eu SET doc = '{}'$$, false);
UPDATE parted SET doc = '{"ok": true}', version = 3 WHERE region = 'eu' RETURNING version;
SELECT concurrent_edit.disable_occ('parted');
SELECT count(*) AS images_left FROM concurrent_edit.occ_row_versions WHERE relation LIKE '%parted%';
-- A partition detached, changed without OCC and attached again: the table's
-- images are taken again at each, so a stale update that sets a column back to
-- the value it had before the detach conflicts (before: it merged against the
-- image from before the detach, and its change was lost without a conflict).
CREATE TABLE pa (region text, id int, version int NOT NULL DEFAULT 1, status text, PRIMARY KEY (region, id))
    PARTITION BY LIST (region);
CREATE TABLE pa_eu PARTITION OF pa FOR VALUES IN ('eu');
CREATE TABLE pa_us PARTITION OF pa FOR VALUES IN ('us');
INSERT INTO pa VALUES ('eu', 1, 1, 'draft'), ('us', 1, 1, 'draft');
SELECT concurrent_edit.enable_occ('pa', mode => 'merge');
ALTER TABLE pa DETACH PARTITION pa_eu;
SELECT row_key, version FROM concurrent_edit.occ_row_versions WHERE relation LIKE '%.pa' ORDER BY 1;
UPDATE pa_eu SET status = 'published';
ALTER TABLE pa ATTACH PARTITION pa_eu FOR VALUES IN ('eu');
SELECT row_key, version FROM concurrent_edit.occ_row_versions WHERE relation LIKE '%.pa' ORDER BY 1;
UPDATE pa SET status = 'archived', version = 1 WHERE region = 'eu' RETURNING version;
SELECT pg_temp.try($$UPDATE pa SET status = 'draft', version = 1 WHERE region = 'eu'$$, false);
SELECT region, version, status FROM pa ORDER BY 1;
SELECT concurrent_edit.disable_occ('pa');
DROP TABLE pa;
-- ATTACH PARTITION of a table with its own OCC configuration to a table under
-- OCC: 55000 naming both (before: PostgreSQL's 42710 on the trigger's name,
-- without a JSON DETAIL); after disable_occ on it, it attaches.
CREATE TABLE pb (region text, id int, version int NOT NULL DEFAULT 1, note text, PRIMARY KEY (region, id))
    PARTITION BY LIST (region);
CREATE TABLE pb_eu (region text, id int, version int NOT NULL DEFAULT 1, note text, PRIMARY KEY (region, id));
SELECT concurrent_edit.enable_occ('pb', mode => 'merge');
SELECT concurrent_edit.enable_occ('pb_eu', mode => 'reject');
SELECT pg_temp.try($$ALTER TABLE pb ATTACH PARTITION pb_eu FOR VALUES IN ('eu')$$);
SELECT concurrent_edit.disable_occ('pb_eu');
ALTER TABLE pb ATTACH PARTITION pb_eu FOR VALUES IN ('eu');
SELECT tbl, mode, through FROM concurrent_edit.occ_tables() WHERE tbl::text LIKE '%pb%' ORDER BY 1;
SELECT concurrent_edit.disable_occ('pb');
DROP TABLE pb;
-- A primary key too long for the images' index (merge mode keeps each row's
-- images under its key as JSON): 54000 with a JSON DETAIL, at an insert and at
-- enable_occ (before: the index's own 54000, its DETAIL no JSON, the extension's
-- statement in its CONTEXT). Hex digits: pglz does not shorten them.
CREATE TABLE tk (k text PRIMARY KEY, version int NOT NULL DEFAULT 1, doc jsonb);
CREATE FUNCTION pg_temp.hex(n int) RETURNS text LANGUAGE sql
    AS $$ SELECT substr(string_agg(md5(i::text), '' ORDER BY i), 1, n) FROM generate_series(1, n / 32 + 1) i $$;
SELECT concurrent_edit.enable_occ('tk', mode => 'merge');
INSERT INTO tk VALUES (pg_temp.hex(2000), 1, '{}');
SELECT pg_temp.try($$INSERT INTO tk VALUES (pg_temp.hex(2690), 1, '{}')$$);
UPDATE tk SET doc = '{"a": 1}', version = 1 RETURNING version;
SELECT concurrent_edit.enable_occ('tk', mode => 'reject');
INSERT INTO tk VALUES (pg_temp.hex(2690), 1, '{}');
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('tk', mode => 'merge')$$);
SELECT count(*) AS rows, (SELECT count(*) FROM concurrent_edit.occ_tables() WHERE tbl = 'tk'::regclass) AS under_occ FROM tk;
SELECT concurrent_edit.disable_occ('tk');
DROP TABLE tk;

-- A single partition on its own, too.
CREATE TABLE parted2 (region text, id int, version int NOT NULL DEFAULT 1, note text, PRIMARY KEY (region, id))
    PARTITION BY LIST (region);
CREATE TABLE parted2_eu PARTITION OF parted2 FOR VALUES IN ('eu');
INSERT INTO parted2 VALUES ('eu', 1, 1, E'x\ny\nz\n');
SELECT concurrent_edit.enable_occ('parted2_eu', mode => 'merge');
UPDATE parted2_eu SET note = E'X\ny\nz\n', version = 1 RETURNING version;
UPDATE parted2 SET note = E'x\ny\nZ\n', version = 1 RETURNING version, note;
SELECT concurrent_edit.disable_occ('parted2_eu');
-- A partition of a table under OCC is configured through that table (PostgreSQL
-- clones the triggers onto it), and a partitioned table does not take over a
-- partition's own configuration: 55000 with a JSON DETAIL (before: 2BP01 or
-- 42710 from a DROP or CREATE TRIGGER inside, without one).
SELECT concurrent_edit.enable_occ('parted2_eu', mode => 'merge');
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('parted2', mode => 'merge')$$);
SELECT concurrent_edit.disable_occ('parted2_eu');
SELECT concurrent_edit.enable_occ('parted2', mode => 'merge');
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('parted2_eu', mode => 'reject')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.disable_occ('parted2_eu')$$);
SELECT tbl, mode, through FROM concurrent_edit.occ_tables() WHERE tbl::text LIKE '%parted2%' ORDER BY 1;
SELECT concurrent_edit.disable_occ('parted2');
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgname LIKE 'concurrent_edit_occ%'
   AND tgrelid IN ('parted2'::regclass, 'parted2_eu'::regclass);
-- Two levels of partitions: a leaf is configured through the table at the top,
-- which occ_tables() and disable_occ's refusal name (before: its parent).
CREATE TABLE parted3 (region text, city text, id int, version int NOT NULL DEFAULT 1, note text,
                      PRIMARY KEY (region, city, id)) PARTITION BY LIST (region);
CREATE TABLE parted3_eu PARTITION OF parted3 FOR VALUES IN ('eu') PARTITION BY LIST (city);
CREATE TABLE parted3_eu_paris PARTITION OF parted3_eu FOR VALUES IN ('paris');
SELECT concurrent_edit.enable_occ('parted3', mode => 'merge');
SELECT tbl, through FROM concurrent_edit.occ_tables() WHERE tbl::text LIKE '%parted3%' ORDER BY 1;
SELECT pg_temp.try($$SELECT concurrent_edit.disable_occ('parted3_eu_paris')$$);
SELECT concurrent_edit.disable_occ('parted3');
DROP TABLE parted3;

-- A column named t (the alias the image capture once gave the table: to_jsonb(t)
-- then read the column, not the row): images and merges use the whole row.
CREATE TABLE tcol (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, t text, other text);
INSERT INTO tcol VALUES (1, 1, 'hello', 'o'), (2, 1, 'bye', 'o');
SELECT concurrent_edit.enable_occ('tcol', mode => 'merge');
SELECT row_key, row_data FROM concurrent_edit.occ_row_versions WHERE relation = '"occ Shapes".tcol' ORDER BY 1;
UPDATE tcol SET other = 'A', version = 1 WHERE id = 1;
UPDATE tcol SET t = 'B', version = 1 WHERE id = 1 RETURNING version, t, other;
SELECT concurrent_edit.disable_occ('tcol');

-- The configuration outgrown by the table: a version column whose type changed,
-- a merge column renamed. Refused until enable_occ() runs again (before: the
-- changed type was read as an integer, the renamed column lifted the restriction).
CREATE TABLE drift (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, doc jsonb, contract text);
INSERT INTO drift VALUES (1, 1, '{}', E'c1\nc2\nc3\nc4\n');
SELECT concurrent_edit.enable_occ('drift', mode => 'merge', merge_columns => '{doc}');
UPDATE drift SET contract = E'C1\nc2\nc3\nc4\n', version = 1;
ALTER TABLE drift RENAME doc TO body;
SELECT pg_temp.try($$UPDATE drift SET contract = E'c1\nc2\nc3\nC4\n', version = 1$$, false);
SELECT version, contract FROM drift;
ALTER TABLE drift ALTER COLUMN version TYPE numeric;
SELECT pg_temp.try($$UPDATE drift SET contract = 'x', version = 2$$, false);
SELECT pg_temp.try($$UPDATE drift SET contract = 'x'$$, false);
SELECT version, contract FROM drift;
SELECT concurrent_edit.disable_occ('drift');

-- A bigint version at its maximum: 22003, not a wrap to a negative version.
CREATE TABLE b8 (id int PRIMARY KEY, version bigint, v text);
INSERT INTO b8 VALUES (1, 9223372036854775807, 'x');
SELECT concurrent_edit.enable_occ('b8');
SELECT pg_temp.try($$UPDATE b8 SET v = 'y', version = 9223372036854775807 WHERE id = 1$$, false);
SELECT version, v FROM b8;
-- At its minimum in merge mode: the kept images need no version below it.
CREATE TABLE b8min (id int PRIMARY KEY, version bigint, v text);
INSERT INTO b8min VALUES (1, -9223372036854775808, E'a\nb\n');
SELECT concurrent_edit.enable_occ('b8min', mode => 'merge');
UPDATE b8min SET v = E'a\nb\nc\n' WHERE id = 1;
UPDATE b8min SET v = E'z\nb\n', version = -9223372036854775808 WHERE id = 1;
SELECT version, v FROM b8min;

-- A NULL version without refuse_blind_writes: VC001 (stale), null in the DETAIL;
-- with it: VC009.
CREATE TABLE nv (id int PRIMARY KEY, version int, v text);
INSERT INTO nv VALUES (1, NULL, 'x');
SELECT concurrent_edit.enable_occ('nv');
SELECT pg_temp.try($$UPDATE nv SET v = 'y' WHERE id = 1$$, true);
SELECT pg_temp.try($$UPDATE nv SET v = 'y', version = NULL WHERE id = 1$$, true);
SELECT concurrent_edit.enable_occ('nv', mode => 'strict');
SELECT pg_temp.try($$UPDATE nv SET v = 'y' WHERE id = 1$$, true);
SELECT v FROM nv;

-- Column names with non-ASCII characters and backslashes as the version and
-- project columns, in merge mode (their trigger arguments were read back escaped).
CREATE TABLE mb (id int PRIMARY KEY, "versión" int NOT NULL DEFAULT 1, "pro\ject" uuid, note text);
INSERT INTO mb VALUES (1, 1, '7e000000-0000-0000-0000-000000000001', E'a\nb\nc\n');
SELECT concurrent_edit.enable_occ('mb', version_column => 'versión', mode => 'merge', project_column => 'pro\ject');
SELECT version_column, project_column FROM concurrent_edit.occ_tables() WHERE tbl = 'mb'::regclass;
SELECT count(*) AS images FROM concurrent_edit.occ_row_versions WHERE relation = '"occ Shapes".mb';
UPDATE mb SET note = E'A\nb\nc\n', "versión" = 1;
UPDATE mb SET note = E'a\nb\nC\n', "versión" = 1 RETURNING "versión", note;
SELECT concurrent_edit.disable_occ('mb');

-- A version the row never had (above the current one): refused, not merged; a
-- key deleted and inserted again starts a new history (the deleted row's images
-- are no merge base for it).
CREATE TABLE life (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, note text);
INSERT INTO life VALUES (1, 1, E'a\nb\nc\n');
SELECT concurrent_edit.enable_occ('life', mode => 'merge');
UPDATE life SET note = E'A\nb\nc\n', version = 1;
UPDATE life SET note = E'A\nB\nc\n', version = 2;
SELECT pg_temp.try($$UPDATE life SET note = E'x\nb\nc\n', version = 7$$, false);
DELETE FROM life;
INSERT INTO life VALUES (1, 1, E'new\nrow\n');
SELECT version FROM concurrent_edit.occ_row_versions WHERE relation = '"occ Shapes".life' ORDER BY 1;
SELECT pg_temp.try($$UPDATE life SET note = E'A\nB\nZ\n', version = 2$$, false);
SELECT version, note FROM life;
SELECT concurrent_edit.disable_occ('life');

-- quote_all_identifiers does not change the names images are kept under.
CREATE TABLE qa (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, note text);
INSERT INTO qa VALUES (1, 1, E'a\nb\nc\n');
SELECT concurrent_edit.enable_occ('qa', mode => 'merge');
SET quote_all_identifiers = on;
UPDATE qa SET note = E'A\nb\nc\n', version = 1;
UPDATE qa SET note = E'a\nb\nC\n', version = 1 RETURNING version, note;
RESET quote_all_identifiers;
SELECT DISTINCT relation FROM concurrent_edit.occ_row_versions WHERE relation LIKE '%qa%';
SELECT concurrent_edit.disable_occ('qa');

-- A temporary table is refused (its name is reused by later sessions).
CREATE TEMP TABLE tmp_occ (id int PRIMARY KEY, version int NOT NULL DEFAULT 1);
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('tmp_occ')$$, false);

-- Both changes fit a varchar(n), their clean merge does not: a conflict with its
-- path and kind, not the column's bare 22001.
CREATE TABLE narrow (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, v varchar(14));
INSERT INTO narrow VALUES (1, 1, E'aa\nbb\ncc\n');
SELECT concurrent_edit.enable_occ('narrow', mode => 'merge');
UPDATE narrow SET v = E'aaaa\nbb\ncc\n', version = 1;
SELECT pg_temp.try($$UPDATE narrow SET v = E'aa\nbb\ncccccc\n', version = 1$$, true);
SELECT version, v FROM narrow;
SELECT concurrent_edit.disable_occ('narrow');

-- A conflict whose refused row exceeds a record's 1 MB: the row is left out, the
-- conflicting paths and the table stay.
CREATE TABLE big (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, title text, body text);
INSERT INTO big SELECT 1, 1, 'a', string_agg(md5(i::text), E'\n') FROM generate_series(1, 40000) i;
SELECT concurrent_edit.enable_occ('big', mode => 'merge');
UPDATE big SET title = 'b', version = 1;
SELECT pg_temp.try($$UPDATE big SET title = 'c', version = 1$$, false);

-- The row conflicts above are recorded after their transactions rolled back: wait.
SELECT pg_temp.wait_for_row_conflict('"occ Shapes".big') AS recorded;
SELECT details -> 'conflicts' AS conflicts, details -> 'table' AS tbl, details -> 'theirs' ->> 'truncated' AS truncated,
       (details -> 'theirs' ->> 'bytes')::int > 1000000 AS over_1mb
FROM concurrent_edit.conflict_history WHERE row_relation = '"occ Shapes".big';
SELECT concurrent_edit.disable_occ('big');

-- Inheritance: rows of a child updated through the parent fire the child's
-- triggers, not the parent's: a parent with children is refused, and so is a
-- child added to a table under optimistic concurrency.
CREATE TABLE par (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, note text);
CREATE TABLE chi () INHERITS (par);
ALTER TABLE chi ADD PRIMARY KEY (id);
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('par')$$);
SELECT concurrent_edit.enable_occ('chi');  -- a child alone is fine
DROP TABLE chi;
SELECT concurrent_edit.enable_occ('par');
SELECT pg_temp.try($$CREATE TABLE chi2 () INHERITS (par)$$);
CREATE TABLE loner (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, note text);
SELECT pg_temp.try($$ALTER TABLE loner INHERIT par$$);
SELECT count(*) AS children FROM pg_inherits WHERE inhparent = 'par'::regclass;
SELECT concurrent_edit.disable_occ('par');
DROP TABLE par, loner;

-- SQL NULL and JSON null differ: a stale UPDATE that sets a jsonb column from
-- JSON null to SQL NULL (another column changed meanwhile) keeps its change.
CREATE TABLE nulls (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, doc jsonb, j json, note text);
INSERT INTO nulls VALUES (1, 1, 'null', 'null', 'a');
SELECT concurrent_edit.enable_occ('nulls', mode => 'merge');
UPDATE nulls SET note = 'b', version = 1;
SELECT pg_temp.try($$UPDATE nulls SET doc = NULL, j = NULL, note = 'b', version = 1$$);
SELECT version, doc IS NULL AS doc_is_sql_null, j IS NULL AS j_is_sql_null, note FROM nulls;
-- ... and back: SQL NULL to JSON null.
UPDATE nulls SET note = 'c', version = 3;
SELECT pg_temp.try($$UPDATE nulls SET doc = 'null', note = 'c', version = 3$$);
SELECT version, doc IS NULL AS doc_is_sql_null, doc, note FROM nulls;
-- A json column's type changed: this session's image statement is rebuilt.
ALTER TABLE nulls ALTER COLUMN j TYPE jsonb USING j::jsonb;
UPDATE nulls SET note = 'd', version = 5;
SELECT version, note FROM nulls;
SELECT concurrent_edit.disable_occ('nulls');

-- Inside an array or a composite, SQL NULL and JSON null differ too, as do an
-- array's bounds (the type's = tells them apart): a stale UPDATE that changes
-- only that keeps its change (before: taken for no change, and lost).
CREATE TYPE pair AS (a int, j jsonb);
CREATE TABLE inner_nulls (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, tags jsonb[], slots int[], p pair,
                          note text);
INSERT INTO inner_nulls VALUES (1, 1, ARRAY['null'::jsonb, '1'], '{10,20}', ROW(1, 'null'), 'a');
SELECT concurrent_edit.enable_occ('inner_nulls', mode => 'merge');
UPDATE inner_nulls SET note = 'b', version = 1;
UPDATE inner_nulls SET tags = ARRAY[NULL::jsonb, '1'], slots = '[0:1]={10,20}', p = ROW(1, NULL), version = 1
RETURNING version, note, tags[1] IS NULL AS tag_is_sql_null, array_lower(slots, 1) AS slots_from, (p).j IS NULL AS j_is_sql_null;
-- An array or composite no one changed is no conflict: a stale UPDATE of one
-- column keeps the others as they are now.
UPDATE inner_nulls SET note = 'c', version = 3;
UPDATE inner_nulls SET slots = '{1}', version = 3 RETURNING version, note, slots, tags, p;
SELECT concurrent_edit.disable_occ('inner_nulls');
DROP TABLE inner_nulls;
DROP TYPE pair;
-- More such columns than a function's 100 arguments would take as pairs, and an
-- array key: two keys the type tells apart are two rows, each with its images.
CREATE TABLE wide_arrays (id int[] PRIMARY KEY, version int NOT NULL DEFAULT 1, note text);
DO $$ BEGIN FOR i IN 1..60 LOOP EXECUTE format('ALTER TABLE wide_arrays ADD COLUMN a%s int[]', i); END LOOP; END $$;
INSERT INTO wide_arrays (id, note) VALUES ('{1,2}', 'a'), ('[0:1]={1,2}', 'b');
SELECT concurrent_edit.enable_occ('wide_arrays', mode => 'merge');
SELECT row_key FROM concurrent_edit.occ_row_versions WHERE relation = '"occ Shapes".wide_arrays' ORDER BY 1;
UPDATE wide_arrays SET note = 'c', version = 1 WHERE id = '{1,2}';
UPDATE wide_arrays SET a60 = '{7}', version = 1 WHERE id = '{1,2}' RETURNING version, note, a60;
SELECT id, version, note FROM wide_arrays ORDER BY note;
SELECT concurrent_edit.disable_occ('wide_arrays');
DROP TABLE wide_arrays;

-- Images are kept under the row's project: a row moved to another project
-- leaves none behind in the old one, where a later row of its key would take
-- them as its own (before: a stale UPDATE of the new row merged against the
-- deleted row's image, and its change was lost).
CREATE TABLE moved (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, project uuid, doc jsonb);
SELECT concurrent_edit.enable_occ('moved', mode => 'merge', project_column => 'project');
INSERT INTO moved VALUES (1, 1, '11111111-1111-1111-1111-111111111111', '{"title": "old", "owner": "x"}');
UPDATE moved SET doc = '{"title": "old2", "owner": "x"}', version = 1;
UPDATE moved SET project = '22222222-2222-2222-2222-222222222222', version = 2;
SELECT count(*) AS images_left_in_the_old_project FROM concurrent_edit.occ_row_versions
WHERE relation = '"occ Shapes".moved' AND project_id = '11111111-1111-1111-1111-111111111111';
DELETE FROM moved;
INSERT INTO moved VALUES (1, 1, '22222222-2222-2222-2222-222222222222', '{"title": "old", "owner": "y"}');
UPDATE moved SET project = '11111111-1111-1111-1111-111111111111', version = 1;
SELECT pg_temp.try($$UPDATE moved SET doc = '{"title": "old", "owner": "x"}', version = 1$$, false);
SELECT version, doc FROM moved;
SELECT concurrent_edit.disable_occ('moved');
DROP TABLE moved;

-- Images do not depend on the writing session's settings: a float written with
-- extra_float_digits = 0 keeps every digit (a stale change of it is seen), and a
-- timestamptz read in another time zone is the same value (no false conflict).
CREATE TABLE settings (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, x float8, ts timestamptz, note text);
INSERT INTO settings VALUES (1, 1, 0.1::float8 + 0.2, '2026-01-01 00:00:00+00', 'a');
SELECT concurrent_edit.enable_occ('settings', mode => 'merge');
SET extra_float_digits = 0;
UPDATE settings SET note = 'b', version = 1;
RESET extra_float_digits;
UPDATE settings SET note = 'c', version = 2;
SELECT pg_temp.try($$UPDATE settings SET x = 0.3, note = 'b', version = 2$$);
SELECT version, x = 0.3 AS x_is_the_clients, note FROM settings;
SET TimeZone = 'UTC';
UPDATE settings SET note = 'd', version = 4;
SET TimeZone = 'Asia/Tokyo';
UPDATE settings SET ts = '2026-06-01 00:00:00+00', version = 5;
SELECT pg_temp.try($$UPDATE settings SET ts = '2026-01-01 09:00:00+09', note = 'e', version = 5$$);
RESET TimeZone;
SELECT version, ts = '2026-06-01 00:00:00+00' AS ts_kept, note FROM settings;
SELECT concurrent_edit.disable_occ('settings');

-- A jsonb column as deep as jsonb_merge3 accepts (1,000 levels) merges: the
-- image, one level deeper, is not refused.
CREATE TABLE deep (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, doc jsonb, note text, other text);
INSERT INTO deep VALUES (1, 1, ('{"a": ' || repeat('[', 999) || '0' || repeat(']', 999) || '}')::jsonb, 'a', 'a');
SELECT concurrent_edit.enable_occ('deep', mode => 'merge');
UPDATE deep SET note = 'b', version = 1;
SELECT pg_temp.try($$UPDATE deep SET other = 'c', version = 1$$, false);
SELECT version, note, other FROM deep;
SELECT concurrent_edit.disable_occ('deep');

-- Images hold a row by its columns' names. A column dropped and added again
-- under its name, a column retyped with USING, key columns whose names are
-- swapped, and a column added with a default: the images are taken again from
-- the rows, so a stale update merges against what it read (before: against the
-- old column's, the old type's or the other row's values, and the other
-- writer's change was lost; after the added column, a stale update conflicted
-- when another writer had changed it: the images read NULL there).
CREATE TABLE redo (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, status text, title text);
INSERT INTO redo VALUES (1, 1, 'published', 'T');
SELECT concurrent_edit.enable_occ('redo', mode => 'merge');
UPDATE redo SET title = 'T', version = 1;
ALTER TABLE redo DROP COLUMN status;
ALTER TABLE redo ADD COLUMN status text NOT NULL DEFAULT 'new';
UPDATE redo SET status = 'published', version = 2;
SELECT pg_temp.try($$UPDATE redo SET status = 'new', title = 'T by C', version = 2$$);
SELECT version, status, title FROM redo;
ALTER TABLE redo ALTER COLUMN version TYPE bigint, ADD COLUMN prio text DEFAULT '1';
ALTER TABLE redo ALTER COLUMN prio DROP DEFAULT, ALTER COLUMN prio TYPE int USING prio::int * 10;
UPDATE redo SET prio = 5, version = 4;
SELECT pg_temp.try($$UPDATE redo SET prio = 10, title = 'T by D', version = 4$$);
SELECT version, prio, title FROM redo;
SELECT concurrent_edit.disable_occ('redo');
CREATE TABLE swapped (a int, b int, version int NOT NULL DEFAULT 1, status text, title text, PRIMARY KEY (a, b));
INSERT INTO swapped VALUES (1, 2, 1, 'draft', 'T'), (2, 1, 1, 'draft', 'T');
SELECT concurrent_edit.enable_occ('swapped', mode => 'merge');
UPDATE swapped SET status = 'published', version = 1 WHERE a = 2 AND b = 1;
UPDATE swapped SET title = 'T', version = 1 WHERE a = 1 AND b = 2;
ALTER TABLE swapped RENAME COLUMN a TO tmp;
ALTER TABLE swapped RENAME COLUMN b TO a;
ALTER TABLE swapped RENAME COLUMN tmp TO b;
UPDATE swapped SET status = 'published', version = 2 WHERE a = 2 AND b = 1;
SELECT pg_temp.try($$UPDATE swapped SET status = 'draft', title = 'T by C', version = 2 WHERE a = 2 AND b = 1$$);
SELECT a, b, version, status, title FROM swapped ORDER BY a, b;
SELECT concurrent_edit.disable_occ('swapped');
-- An enum's values renamed: the images of tables holding it (here through a
-- domain over an array of it) are dropped, and a stale update is refused, not
-- merged against values that read otherwise now.
CREATE TYPE shade AS ENUM ('draft', 'published');
CREATE DOMAIN shades AS shade[];
CREATE TABLE shaded (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, k shades, title text);
INSERT INTO shaded VALUES (1, 1, '{draft}', 'T');
SELECT concurrent_edit.enable_occ('shaded', mode => 'merge');
UPDATE shaded SET title = 'T', version = 1;
ALTER TYPE shade RENAME VALUE 'draft' TO 'tmp';
ALTER TYPE shade RENAME VALUE 'published' TO 'draft';
ALTER TYPE shade RENAME VALUE 'tmp' TO 'published';
SELECT count(*) AS images_left FROM concurrent_edit.occ_row_versions WHERE relation = '"occ Shapes".shaded';
UPDATE shaded SET k = '{draft}', version = 2;
SELECT pg_temp.try($$UPDATE shaded SET k = '{published}', title = 'T by C', version = 2$$);
SELECT version, k, title FROM shaded;
SELECT concurrent_edit.disable_occ('shaded');
-- The same through a range (and multirange) of the enum, and for a typed table
-- whose type's attributes are renamed (ALTER TYPE ... CASCADE): images dropped,
-- the stale update refused (before: merged, and the other writer's change lost).
CREATE TYPE shade_range AS RANGE (subtype = shade);
CREATE TABLE ranged (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, r shade_range, m shade_multirange, title text);
INSERT INTO ranged VALUES (1, 1, '[draft,draft]', '{[draft,draft]}', 'T');
SELECT concurrent_edit.enable_occ('ranged', mode => 'merge');
UPDATE ranged SET title = 'T', version = 1;
ALTER TYPE shade RENAME VALUE 'draft' TO 'tmp';
SELECT count(*) AS images_left FROM concurrent_edit.occ_row_versions WHERE relation = '"occ Shapes".ranged';
SELECT concurrent_edit.disable_occ('ranged');
CREATE TYPE typed_row AS (a int, b int, version int, status text, title text);
CREATE TABLE typed OF typed_row (PRIMARY KEY (a, b), version WITH OPTIONS NOT NULL DEFAULT 1);
INSERT INTO typed VALUES (1, 2, 1, 'draft', 'T'), (2, 1, 1, 'draft', 'T');
SELECT concurrent_edit.enable_occ('typed', mode => 'merge');
UPDATE typed SET status = 'published', version = 1 WHERE a = 2 AND b = 1;
UPDATE typed SET title = 'T', version = 1 WHERE a = 1 AND b = 2;
ALTER TYPE typed_row RENAME ATTRIBUTE a TO tmp CASCADE;
ALTER TYPE typed_row RENAME ATTRIBUTE b TO a CASCADE;
ALTER TYPE typed_row RENAME ATTRIBUTE tmp TO b CASCADE;
UPDATE typed SET status = 'published', version = 2 WHERE a = 2 AND b = 1;
SELECT pg_temp.try($$UPDATE typed SET status = 'draft', title = 'T by C', version = 2 WHERE a = 2 AND b = 1$$, false);
SELECT a, b, version, status, title FROM typed ORDER BY a, b;
SELECT concurrent_edit.disable_occ('typed');
-- The version column may not be a key column (the trigger would give the row
-- another key on every update): 22023.
CREATE TABLE keyed (id int PRIMARY KEY, doc jsonb);
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('keyed', version_column => 'id', mode => 'merge')$$);
-- occ_refresh_images on a partition of a table under OCC: 55000 naming the
-- table (before: images stored under the partition's name, which no trigger
-- reads, and a count returned).
CREATE TABLE refreshed (region int, id int, version int NOT NULL DEFAULT 1, doc jsonb, PRIMARY KEY (region, id))
    PARTITION BY LIST (region);
CREATE TABLE refreshed_2 PARTITION OF refreshed FOR VALUES IN (2);
INSERT INTO refreshed VALUES (2, 1, 1, '{"a": 1}');
SELECT concurrent_edit.enable_occ('refreshed', mode => 'merge');
SELECT pg_temp.try($$SELECT concurrent_edit.occ_refresh_images('refreshed_2')$$);
SELECT concurrent_edit.occ_refresh_images('refreshed');
SELECT concurrent_edit.disable_occ('refreshed');

-- A relation that does not exist, and one that is not a table: enable_occ gives
-- the errors disable_occ and occ_refresh_images give (before: 42703 about the
-- version column of the missing relation, and a 42809 DETAIL without argument and
-- relkind).
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ(4294967295::oid::regclass)$$);
SELECT pg_temp.try($$SELECT concurrent_edit.disable_occ(4294967295::oid::regclass)$$);
CREATE VIEW occ_view AS SELECT 1 AS id, 1 AS version;
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('occ_view')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.disable_occ('occ_view')$$);
DROP VIEW occ_view;

-- The row conflict above is recorded after its transaction rolled back: wait for it.
SELECT pg_temp.wait_for_row_conflict('"occ Shapes"."Odd, Table"') AS recorded;
SELECT row_key, details -> 'conflicts' AS conflicts FROM concurrent_edit.conflict_history
WHERE row_relation = '"occ Shapes"."Odd, Table"';
DROP SCHEMA "occ Shapes" CASCADE;
RESET search_path;
DELETE FROM concurrent_edit.conflict_history WHERE kind = 'row';

-- disable_occ by a role that does not own the table: 42501 with the DETAIL
-- enable_occ gives (DROP TRIGGER's own error had none), nothing changed.
CREATE TABLE public.owned_t (id int PRIMARY KEY, version int NOT NULL DEFAULT 1);
SELECT concurrent_edit.enable_occ('public.owned_t');
CREATE ROLE regress_occ_stranger;
SET ROLE regress_occ_stranger;
SELECT pg_temp.try($$SELECT concurrent_edit.disable_occ('public.owned_t')$$);
RESET ROLE;
SELECT count(*) AS triggers_kept FROM pg_trigger WHERE tgrelid = 'public.owned_t'::regclass AND tgname LIKE 'concurrent_edit_occ%';
SELECT concurrent_edit.disable_occ('public.owned_t');
DROP TABLE public.owned_t;
DROP ROLE regress_occ_stranger;
-- The extension's own tables are refused (0A000): its functions write them
-- without naming a base version, so every write would fail.
SELECT pg_temp.try($$SELECT concurrent_edit.enable_occ('concurrent_edit.files', 'head_version')$$);
-- Other BEFORE UPDATE triggers (docs/reference/occ.md): one named before
-- concurrent_edit_occ stamps every update, so two stale updates of different
-- columns conflict on the stamp; named after it, they merge.
CREATE FUNCTION public.occ_touch() RETURNS trigger LANGUAGE plpgsql AS
    $$BEGIN NEW.touched := NEW.touched + 1; RETURN NEW; END$$;
CREATE TABLE public.touch_a (id int PRIMARY KEY, a text, b text, touched int, version int NOT NULL DEFAULT 1);
CREATE TABLE public.touch_z (LIKE public.touch_a INCLUDING ALL);
CREATE TRIGGER a_touch BEFORE UPDATE ON public.touch_a FOR EACH ROW EXECUTE FUNCTION public.occ_touch();
CREATE TRIGGER z_touch BEFORE UPDATE ON public.touch_z FOR EACH ROW EXECUTE FUNCTION public.occ_touch();
SELECT concurrent_edit.enable_occ('public.touch_a', mode => 'merge'), concurrent_edit.enable_occ('public.touch_z', mode => 'merge');
INSERT INTO public.touch_a VALUES (1, 'a', 'b', 0, 1);
INSERT INTO public.touch_z VALUES (1, 'a', 'b', 0, 1);
UPDATE public.touch_a SET a = 'A', version = 1 WHERE id = 1;
SELECT pg_temp.try($$UPDATE public.touch_a SET b = 'B', version = 1 WHERE id = 1$$);
UPDATE public.touch_z SET a = 'A', version = 1 WHERE id = 1;
UPDATE public.touch_z SET b = 'B', version = 1 WHERE id = 1;
SELECT 'a' AS tbl, a, b, touched, version FROM public.touch_a UNION ALL SELECT 'z', a, b, touched, version FROM public.touch_z ORDER BY 1;
SELECT concurrent_edit.disable_occ('public.touch_a'), concurrent_edit.disable_occ('public.touch_z');
DROP TABLE public.touch_a, public.touch_z;
DROP FUNCTION public.occ_touch();
-- A foreign key's actions are blind writes of the referencing rows: applied
-- as current (version bumped) in reject mode, refused (VC009) in strict mode,
-- with the statement on the referenced table.
CREATE TABLE public.fk_parent (id int PRIMARY KEY);
CREATE TABLE public.fk_child (id int PRIMARY KEY, pid int REFERENCES public.fk_parent ON UPDATE CASCADE ON DELETE SET NULL,
                              version int NOT NULL DEFAULT 1);
INSERT INTO public.fk_parent VALUES (1);
INSERT INTO public.fk_child VALUES (1, 1, 1);
SELECT concurrent_edit.enable_occ('public.fk_child', mode => 'strict');
SELECT pg_temp.try($$UPDATE public.fk_parent SET id = 2 WHERE id = 1$$);
SELECT pg_temp.try($$DELETE FROM public.fk_parent WHERE id = 1$$);
SELECT p.id AS parent, c.pid, c.version FROM public.fk_parent p, public.fk_child c;
SELECT concurrent_edit.enable_occ('public.fk_child', mode => 'reject');
UPDATE public.fk_parent SET id = 2 WHERE id = 1;
SELECT p.id AS parent, c.pid, c.version FROM public.fk_parent p, public.fk_child c;
SELECT concurrent_edit.disable_occ('public.fk_child');
DROP TABLE public.fk_child, public.fk_parent;
