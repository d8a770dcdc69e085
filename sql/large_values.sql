-- Values above 8 kB and above 256 kB through every path that moves values through
-- SPI: PostgreSQL's allocator gives such values blocks of their own (and the
-- TOAST code stores them out of line), so a value read after its SPI statement or
-- after SPI_finish is caught here, in particular by the memory-checked run
-- (make test's memcheck suite, a server built with --enable-cassert).
\set VERBOSITY terse
SET client_min_messages = warning;
\i sql/include/helpers.sql
\i sql/include/wait_conflict.sql
\set p '''5a5a5a5a-0000-0000-0000-000000000001'''
\set alice '''aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'''
\set bob '''bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'''

-- Texts of n lines "line <i> <padding>": 10 kB and 300 kB.
CREATE FUNCTION pg_temp.lines(n int, tag text DEFAULT '') RETURNS text LANGUAGE sql AS $$
  SELECT string_agg('line ' || i || CASE WHEN i = 2 OR i = n - 1 THEN tag ELSE '' END || ' '
                    || repeat('x', 40) || E'\n', '' ORDER BY i)
  FROM generate_series(1, n) i $$;
CREATE TEMP TABLE sizes AS SELECT * FROM (VALUES ('10 kB', 200), ('300 kB', 6000)) v(label, n);
SELECT label, octet_length(pg_temp.lines(n)) > CASE label WHEN '10 kB' THEN 8192 ELSE 262144 END AS big_enough
FROM sizes ORDER BY n;

-- Files: create, a current write, a stale write that merges, read, history, diff.
CREATE TEMP TABLE f AS
SELECT s.label, s.n, concurrent_edit.create_file(:p, 'big-' || s.n || '.txt', pg_temp.lines(s.n), :alice) AS id
FROM sizes s;
SELECT f.label, w.status, w.version, w.content = replace(pg_temp.lines(f.n), 'line 2 ', 'line 2 A ') AS written
FROM f, concurrent_edit.write(f.id, replace(pg_temp.lines(f.n), 'line 2 ', 'line 2 A '), 1, :alice) w ORDER BY f.n;
-- Stale (base 1): changes the second-to-last line; merges with the change above.
SELECT f.label, w.status, w.version, w.content = pg_temp.lines(f.n, ' A') AS merged_both
FROM f, concurrent_edit.write(f.id, replace(pg_temp.lines(f.n), 'line ' || (f.n - 1) || ' ', 'line ' || (f.n - 1) || ' A '),
                              1, :bob) w ORDER BY f.n;
SELECT f.label, r.version, r.content = pg_temp.lines(f.n, ' A') AS read_back, r.content_hash = concurrent_edit.content_hash(r.content) AS hash
FROM f, concurrent_edit.read(f.id) r ORDER BY f.n;
SELECT f.label, array_agg(h.version ORDER BY h.version) AS versions, max(h.bytes) > 8192 AS big
FROM f, concurrent_edit.history(f.id) h GROUP BY f.label, f.n ORDER BY f.n;
SELECT f.label, length(concurrent_edit.diff_versions(f.id, 1, 3)) > 0 AS diffed FROM f ORDER BY f.n;

-- concurrent_edit.max_merge_memory bounds a merging write: the 300 kB one is
-- refused with 54000 and the file keeps its head.
SET concurrent_edit.max_merge_memory = '1MB';
SELECT f.label, pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, 1, %L)', f.id,
                                   replace(pg_temp.lines(f.n), 'line 100 ', 'line 100 M '), :bob), false) AS tight
FROM f WHERE f.n = 6000;
RESET concurrent_edit.max_merge_memory;
SELECT f.label, r.version, r.content = pg_temp.lines(f.n, ' A') AS head_unchanged FROM f, concurrent_edit.read(f.id) r ORDER BY f.n;

-- A conflict (both change line 2), listed, then resolved with a big text.
SELECT f.label, w.status, w.conflicts, octet_length(w.content) > octet_length(pg_temp.lines(f.n)) AS with_markers
FROM f, concurrent_edit.write(f.id, replace(pg_temp.lines(f.n), 'line 2 ', 'line 2 B '), 1, :bob) w ORDER BY f.n;
SELECT f.label, c.kind, c.base_version, c.ours_version FROM f, concurrent_edit.list_conflicts(f.id) c ORDER BY f.n;
SELECT f.label, concurrent_edit.resolve_conflict(c.conflict_id, pg_temp.lines(f.n, ' AB'), :alice) AS resolved
FROM f, concurrent_edit.list_conflicts(f.id) c ORDER BY f.n;
SELECT f.label, r.content = pg_temp.lines(f.n, ' AB') AS resolution_kept FROM f, concurrent_edit.read(f.id) r ORDER BY f.n;

-- Drafts: saved, listed, committed by merge from an old base.
SELECT concurrent_edit.open_session(:bob, :p) AS s \gset
SELECT f.label, concurrent_edit.save_draft(:'s', f.id, 3, pg_temp.lines(f.n, ' A') || 'appended line' || E'\n') IS NOT NULL AS saved
FROM f ORDER BY f.n;
SELECT d.bytes > 8192 AS big_draft, d.base_version FROM concurrent_edit.session_drafts(:'s') d ORDER BY d.bytes;
SELECT f.label, w.status, right(w.content, 14) AS tail FROM f, concurrent_edit.commit_draft(:'s', f.id) w ORDER BY f.n;

-- The change feed carries the events (ids only) of all of it.
SELECT event, count(*) FROM concurrent_edit.changes_since(:p, 0) GROUP BY event ORDER BY event COLLATE "C";

-- Pure functions with big inputs.
SELECT label, (concurrent_edit.merge3(pg_temp.lines(n), pg_temp.lines(n, ' A'),
                                     replace(pg_temp.lines(n), 'line ' || n / 2 || ' ', 'line ' || n / 2 || ' T '))).clean
FROM sizes ORDER BY n;
SELECT label, count(*) AS regions FROM sizes, concurrent_edit.merge_conflicts(pg_temp.lines(n), pg_temp.lines(n, ' A'), pg_temp.lines(n, ' B'))
GROUP BY label, n ORDER BY n;
SELECT label, (concurrent_edit.jsonb_merge3(j, j || '{"a": 1}', j || '{"b": 2}')).content - 'items' AS merged
FROM sizes, LATERAL (SELECT jsonb_build_object('items', jsonb_agg(jsonb_build_object('id', i, 'text', repeat('y', 40))))
                      FROM generate_series(1, n) i) x(j) ORDER BY n;

-- The reported crash: an OCC merge-mode update of a 40 kB text column, two stale
-- updates changing different lines (and the same at 300 kB).
CREATE TABLE big_text (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, body text);
INSERT INTO big_text VALUES (850, 1, pg_temp.lines(850)), (6000, 1, pg_temp.lines(6000));
SELECT concurrent_edit.enable_occ('big_text', mode => 'merge');
UPDATE big_text SET body = replace(body, 'line 2 ', 'line 2 A '), version = 1 RETURNING id, version;
UPDATE big_text SET body = replace(body, 'line 5 ', 'line 5 B '), version = 1 RETURNING id, version;
SELECT id, version, body = replace(replace(pg_temp.lines(id), 'line 2 ', 'line 2 A '), 'line 5 ', 'line 5 B ') AS both_kept,
       octet_length(body) > 40000 AS over_40kb
FROM big_text ORDER BY id;
SELECT concurrent_edit.disable_occ('big_text');
DROP TABLE big_text;

-- OCC merge mode on big text and jsonb columns: two stale updates that change
-- different lines (text) and different keys (jsonb) keep both edits.
CREATE TABLE big_rows (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, body text, doc jsonb);
INSERT INTO big_rows SELECT s.n, 1, pg_temp.lines(s.n),
       (SELECT jsonb_object_agg('k' || i, repeat('z', 40)) FROM generate_series(1, s.n) i) FROM sizes s;
SELECT concurrent_edit.enable_occ('big_rows', mode => 'merge');
UPDATE big_rows SET body = replace(body, 'line 2 ', 'line 2 A '), doc = doc || '{"k2": "A"}', version = 1 RETURNING id, version;
UPDATE big_rows SET body = replace(body, 'line ' || (id - 1) || ' ', 'line ' || (id - 1) || ' A '),
       doc = doc || jsonb_build_object('k' || (id - 1), 'B'), version = 1 RETURNING id, version;
SELECT id, version, body = pg_temp.lines(id, ' A') AS both_lines, doc ->> 'k2' AS k2, doc ->> ('k' || (id - 1)) AS k_last,
       octet_length(body) > 8192 AS big
FROM big_rows ORDER BY id;
-- concurrent_edit.max_merge_memory bounds the OCC merge: a stale update of the
-- 300 kB row that would merge is refused with 54000 and the row is unchanged.
SET concurrent_edit.max_merge_memory = '1MB';
SELECT pg_temp.try($$UPDATE big_rows SET body = replace(body, 'line 3 ', 'line 3 M '), version = 1 WHERE id = 6000$$, false);
SELECT d ->> 'setting' AS setting, (d ->> 'limit_kb')::int AS limit_kb, (d ->> 'needed_kb')::int > 1024 AS over
FROM pg_temp.error_detail($$UPDATE big_rows SET body = replace(body, 'line 3 ', 'line 3 M '), version = 1 WHERE id = 6000$$) d;
RESET concurrent_edit.max_merge_memory;
SELECT id, version, body = pg_temp.lines(id, ' A') AS unchanged FROM big_rows WHERE id = 6000;
-- A real conflict on a big row is refused and nothing is lost.
SELECT pg_temp.try($$UPDATE big_rows SET body = replace(body, 'line 2 A ', 'line 2 C '), version = 1 WHERE id = 200$$, false);
SELECT id, version, body = pg_temp.lines(id, ' A') AS unchanged FROM big_rows ORDER BY id;
-- The conflict is recorded after the refused transaction rolled back: wait for it.
SELECT pg_temp.wait_for_row_conflict('public.big_rows') AS recorded;
SELECT kind, row_key, octet_length(details::text) > 8192 AS big_details
FROM concurrent_edit.conflict_history WHERE row_relation = 'public.big_rows';
SELECT concurrent_edit.disable_occ('big_rows');
DROP TABLE big_rows;
DELETE FROM concurrent_edit.conflict_history WHERE row_relation = 'public.big_rows';

-- Clean up (the other tests share the database).
DELETE FROM concurrent_edit.conflict_history WHERE project_id = :p;
DELETE FROM concurrent_edit.edit_sessions WHERE project_id = :p;
DELETE FROM concurrent_edit.files WHERE project_id = :p;

-- changes_since reads the feed in batches of 1,000: 2,700 events come back
-- complete, in cursor order, with and without max_events.
\set pf '''5a5a5a5a-0000-0000-0000-0000000000fe'''
SELECT count(concurrent_edit.create_file(:pf, 'b1/' || g, 'x', :alice)) FROM generate_series(1, 900) g;
SELECT count(concurrent_edit.create_file(:pf, 'b2/' || g, 'x', :alice)) FROM generate_series(1, 900) g;
SELECT count(concurrent_edit.create_file(:pf, 'b3/' || g, 'x', :alice)) FROM generate_series(1, 900) g;
SELECT count(*) AS events, min(cursor) AS first, max(cursor) AS last, bool_and(cursor = n) AS in_order
FROM concurrent_edit.changes_since(:pf, 0) WITH ORDINALITY AS e(cursor, event, file_id, path, version, content_hash,
                                                             session_id, author, details, created_at, n);
SELECT count(*) AS events, min(cursor) AS first, max(cursor) AS last, bool_and(cursor = n + 100) AS in_order
FROM concurrent_edit.changes_since(:pf, 100, 2500) WITH ORDINALITY AS e(cursor, event, file_id, path, version,
                                                                        content_hash, session_id, author, details,
                                                                        created_at, n);
SELECT count(*) AS events FROM concurrent_edit.changes_since(:pf, 0, 1000);
SELECT count(*) AS events FROM concurrent_edit.changes_since(:pf, 2699, 1000);
DELETE FROM concurrent_edit.files WHERE project_id = :pf;

-- concurrent_edit.max_merge_memory bounds diff_versions (54000, as diff()), and the
-- diff of a write's delta: past it the version is stored in full, the write
-- succeeds (version 2); within it a one-line change is a delta (version 3).
SELECT concurrent_edit.create_file(:p, 'budget.txt', (SELECT string_agg('line ' || g, E'\n') || E'\n' FROM generate_series(1, 200000) g), :alice) AS bf \gset
SET concurrent_edit.max_merge_memory = '1MB';
SELECT status, version FROM concurrent_edit.write(:'bf', (SELECT string_agg('line ' || g || CASE WHEN g % 1000 = 0 THEN ' changed' ELSE '' END, E'\n') || E'\n' FROM generate_series(1, 200000) g), 1, :alice);
SELECT pg_temp.try(format('SELECT concurrent_edit.diff_versions(%L, 1, 2)', :'bf'), false);
RESET concurrent_edit.max_merge_memory;
SELECT status, version FROM concurrent_edit.write(:'bf', (SELECT string_agg('line ' || g || CASE WHEN g % 1000 = 0 THEN ' changed again' ELSE '' END, E'\n') || E'\n' FROM generate_series(1, 200000) g), 2, :alice);
SELECT version, delta IS NULL AS in_full FROM concurrent_edit.file_versions WHERE file_id = :'bf' ORDER BY version;
SELECT length(concurrent_edit.diff_versions(:'bf', 1, 2)) AS diff_bytes;
SELECT md5(content) = md5((SELECT string_agg('line ' || g || CASE WHEN g % 1000 = 0 THEN ' changed' ELSE '' END, E'\n') || E'\n' FROM generate_series(1, 200000) g)) AS v2_intact
FROM concurrent_edit.read(:'bf', 2);
DELETE FROM concurrent_edit.files WHERE id = :'bf';
