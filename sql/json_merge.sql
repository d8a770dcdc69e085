-- jsonb_merge3: three-way merge of jsonb documents (issue #7).
\set VERBOSITY terse
SET client_min_messages = warning;
\i sql/include/helpers.sql

-- The function's contract: not STRICT (base NULL has a meaning), IMMUTABLE, PARALLEL SAFE.
SELECT p.oid::regprocedure AS function, p.proisstrict, p.provolatile, p.proparallel,
       pg_get_function_result(p.oid) AS result
FROM pg_proc p WHERE p.proname = 'jsonb_merge3';

-- ---------------------------------------------------------------------------
-- Seed 002, "User A's camera is LOST": a production record saved as a whole object.
-- Kevin and Sarah both read version 5. Kevin adds a camera and saves (version 6).
-- Sarah, still on version 5, adds a source and edits the venue, then saves: a plain
-- last-write-wins UPDATE would drop Kevin's camera. With the version check her save
-- is detected as stale and merged against version 5 instead.
CREATE TABLE productions (id int PRIMARY KEY, version int NOT NULL, doc jsonb NOT NULL);
CREATE TABLE production_history (id int, version int, doc jsonb NOT NULL, PRIMARY KEY (id, version));
INSERT INTO productions VALUES (1, 5, '{
  "name": "Summer Festival 2026",
  "venue": {"name": "Riverside Park", "city": "Portland", "capacity": 5000},
  "cameras": [{"id": "cam-1", "model": "Canon C300", "operator": "Ann"},
              {"id": "cam-2", "model": "Blackmagic 6K", "operator": "Bo"}],
  "sources": [{"id": "src-1", "name": "Stage feed", "type": "SDI"}]}');
INSERT INTO production_history SELECT id, version, doc FROM productions;
-- What each session read.
CREATE TEMP TABLE reads AS SELECT 'kevin' AS who, version, doc FROM productions
                 UNION ALL SELECT 'sarah', version, doc FROM productions;
-- Kevin adds "Sony A7" and saves against version 5: accepted.
UPDATE productions p
SET doc = jsonb_set(r.doc, '{cameras}', (r.doc -> 'cameras') || '{"id": "cam-3", "model": "Sony A7", "operator": "Kevin"}'),
    version = p.version + 1
FROM reads r WHERE r.who = 'kevin' AND p.id = 1 AND p.version = r.version
RETURNING p.version AS kevin_saved_version;
INSERT INTO production_history SELECT id, version, doc FROM productions;
-- Sarah's edits of her (now stale) copy.
UPDATE reads SET doc = jsonb_set(jsonb_set(doc, '{sources}', (doc -> 'sources') || '{"id": "src-2", "name": "Laptop 1", "type": "HDMI"}'),
                                 '{venue,name}', '"Riverside Park, North Gate"')
WHERE who = 'sarah';
-- Her save against version 5 matches no row: stale.
UPDATE productions p SET doc = r.doc, version = p.version + 1
FROM reads r WHERE r.who = 'sarah' AND p.id = 1 AND p.version = r.version;
-- So her document is merged: base = version 5, ours = the current row, theirs = hers.
SELECT m.clean, m.conflicts
FROM productions p JOIN production_history h ON h.id = p.id AND h.version = 5
JOIN reads r ON r.who = 'sarah',
LATERAL concurrent_edit.jsonb_merge3(h.doc, p.doc, r.doc) m;
UPDATE productions p SET doc = m.content, version = p.version + 1
FROM (SELECT cur.id, cur.version, x.*
      FROM productions cur JOIN production_history h ON h.id = cur.id AND h.version = 5
      JOIN reads r ON r.who = 'sarah',
      LATERAL concurrent_edit.jsonb_merge3(h.doc, cur.doc, r.doc) x) m
WHERE p.id = m.id AND p.version = m.version AND m.clean
RETURNING p.version AS merged_version;
-- The row holds the camera, the source and the venue edit.
SELECT version, jsonb_pretty(doc) FROM productions;
SELECT jsonb_path_query_array(doc, '$.cameras[*].model') AS cameras,
       jsonb_path_query_array(doc, '$.sources[*].name') AS sources,
       doc #>> '{venue,name}' AS venue
FROM productions;
-- Merging the other way round (Sarah's save first) gives the same document.
SELECT (concurrent_edit.jsonb_merge3(h5.doc, r.doc, h6.doc)).content::text = p.doc::text AS same_either_way
FROM production_history h5, production_history h6, reads r, productions p
WHERE h5.version = 5 AND h6.version = 6 AND r.who = 'sarah';

-- ---------------------------------------------------------------------------
-- Objects merge key by key.
SELECT * FROM concurrent_edit.jsonb_merge3('{"a": 1, "b": 1, "c": 1}', '{"a": 2, "b": 1, "c": 1}', '{"a": 1, "b": 3}');
-- Changed identically on both sides; added on both sides; deleted on both sides.
SELECT * FROM concurrent_edit.jsonb_merge3('{"a": 1, "d": 0}', '{"a": 5, "n": {"x": 1}}', '{"a": 5, "n": {"y": 2}}');
-- Changed differently on both sides: a conflict; content holds ours.
SELECT * FROM concurrent_edit.jsonb_merge3('{"venue": {"name": "Hall", "city": "Oslo"}}',
                                           '{"venue": {"name": "Arena", "city": "Oslo"}}',
                                           '{"venue": {"name": "Dome", "city": "Bergen"}}');
-- Deleted on one side, changed on the other: delete/modify, in both directions. The
-- side without a value has no key in the conflict; a JSON null is a value.
SELECT * FROM concurrent_edit.jsonb_merge3('{"a": 1, "b": 1}', '{"a": 2, "b": 1}', '{"b": 1}');
SELECT * FROM concurrent_edit.jsonb_merge3('{"a": 1, "b": 1}', '{"b": 1}', '{"a": null, "b": 1}');
SELECT c ? 'ours' AS has_ours, c ? 'theirs' AS has_theirs, c -> 'theirs' AS theirs
FROM concurrent_edit.jsonb_merge3('{"a": 1}', '{}', '{"a": null}') m, jsonb_array_elements(m.conflicts) c;
-- Added differently on both sides: add/add (no base value).
SELECT * FROM concurrent_edit.jsonb_merge3('{}', '{"a": [1]}', '{"a": {"x": 1}}');
-- Type changes and scalar documents.
SELECT * FROM concurrent_edit.jsonb_merge3('{"a": "1"}', '{"a": 1}', '{"a": "1"}');
SELECT * FROM concurrent_edit.jsonb_merge3('"draft"', '"draft"', '"final"');
SELECT * FROM concurrent_edit.jsonb_merge3('1', '[1]', '{"v": 1}');
-- No common ancestor (base NULL): everything counts as added on both sides.
SELECT * FROM concurrent_edit.jsonb_merge3(NULL, '{"a": 1, "same": true}', '{"b": 2, "same": true}');
SELECT * FROM concurrent_edit.jsonb_merge3(NULL, '{"a": 1}', '{"a": 2}');
SELECT * FROM concurrent_edit.jsonb_merge3(NULL, 'null', 'null');

-- ---------------------------------------------------------------------------
-- Arrays of objects with ids merge by id (array_mode auto picks it).
-- Both append: both kept, ours first.
SELECT content FROM concurrent_edit.jsonb_merge3('[{"id": 1}]', '[{"id": 1}, {"id": 2}]', '[{"id": 1}, {"id": 3}, {"id": 4}]');
-- Ours prepends and edits a field of element 1; theirs edits another field of it,
-- deletes element 3 and appends (after element 2, the nearest one still there).
SELECT * FROM concurrent_edit.jsonb_merge3(
  '[{"id": 1, "n": "a"}, {"id": 2, "n": "b"}, {"id": 3, "n": "c"}]',
  '[{"id": 0}, {"id": 1, "n": "A"}, {"id": 2, "n": "b"}, {"id": 3, "n": "c"}]',
  '[{"id": 1, "n": "a", "on": true}, {"id": 2, "n": "b"}, {"id": 9}]');
-- Conflicts inside an element are reported with the element's id in the path.
SELECT * FROM concurrent_edit.jsonb_merge3(
  '{"cameras": [{"id": "c1", "model": "A"}, {"id": "c2", "model": "B"}]}',
  '{"cameras": [{"id": "c1", "model": "X"}, {"id": "c2", "model": "B"}]}',
  '{"cameras": [{"id": "c1", "model": "Y"}]}');
-- Deleted by ours, changed by theirs: dropped (ours), theirs kept in the conflict.
SELECT * FROM concurrent_edit.jsonb_merge3('[{"id": 1, "v": 0}, {"id": 2}]', '[{"id": 2}]', '[{"id": 1, "v": 1}, {"id": 2}]');
-- The same id added on both sides merges as two added objects.
SELECT * FROM concurrent_edit.jsonb_merge3('[]', '[{"id": 5, "a": 1}]', '[{"id": 5, "b": 2}]');
-- Reordering: one side's new order is kept; different reorders on both sides conflict
-- ("order"), content follows ours.
SELECT content FROM concurrent_edit.jsonb_merge3('[{"id": 1}, {"id": 2}, {"id": 3}]', '[{"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}]', '[{"id": 3}, {"id": 1}, {"id": 2}]');
SELECT content, clean, conflicts -> 0 ->> 'kind' AS kind, conflicts -> 0 -> 'path' AS path
FROM concurrent_edit.jsonb_merge3('[{"id": 1}, {"id": 2}, {"id": 3}]', '[{"id": 3}, {"id": 1}, {"id": 2}]', '[{"id": 2}, {"id": 1}, {"id": 3}]');

-- Other arrays merge as sequences: changes in different places merge, both sides
-- appending keeps both (ours first), the same change is taken once.
SELECT content FROM concurrent_edit.jsonb_merge3('["a", "b", "c", "d"]', '["a", "B", "c", "d", "x"]', '["a", "b", "c", "D", "y"]');
SELECT content FROM concurrent_edit.jsonb_merge3('[1, 2]', '[1, 2, 3]', '[1, 2, 3]');
-- Objects without ids changed in place merge field by field; a conflict names the index.
SELECT * FROM concurrent_edit.jsonb_merge3('[{"a": 1, "b": 1}, 7]', '[{"a": 2, "b": 1}, 8]', '[{"a": 1, "b": 2}, 9]');
-- Overlapping changes of different sizes: one "sequence" conflict at the array.
SELECT * FROM concurrent_edit.jsonb_merge3('{"tags": ["a", "b", "c"]}', '{"tags": ["a"]}', '{"tags": ["a", "b", "x", "y"]}');
-- An element without an id makes auto fall back to sequence.
SELECT content, clean FROM concurrent_edit.jsonb_merge3('[{"id": 1, "v": 0}]', '[{"id": 1, "v": 1}]', '[{"id": 1, "v": 0}, {"note": "no id"}]');
-- array_mode: id (arrays without usable ids are then atomic), sequence, atomic.
SELECT mode, content, clean, conflicts
FROM unnest(ARRAY['auto', 'id', 'sequence', 'atomic']) mode,
LATERAL concurrent_edit.jsonb_merge3('{"l": [1, 2, 3]}', '{"l": [0, 1, 2, 3]}', '{"l": [1, 2, 3, 4]}', mode);
SELECT mode, content, clean
FROM unnest(ARRAY['auto', 'id', 'sequence', 'atomic']) mode,
LATERAL concurrent_edit.jsonb_merge3('[{"id": 1}, {"id": 2}]', '[{"id": 2}, {"id": 1}]', '[{"id": 1}, {"id": 2}, {"id": 3}]', array_mode => mode);

-- ---------------------------------------------------------------------------
-- Values survive exactly: numbers keep their precision and scale, strings their bytes.
SELECT content FROM concurrent_edit.jsonb_merge3('{"n": 0}',
  '{"n": 0, "big": 123456789012345678901234567890.123456789012345678901234567890}',
  '{"n": 1e-20, "s": "caf\u00e9 \ud83d\ude00 \"q\" \\ \n \u0001"}');
-- Numbers compare by value as in jsonb: a re-spelling (1.0 -> 1.00) is not a change.
SELECT * FROM concurrent_edit.jsonb_merge3('{"p": 1.0}', '{"p": 1.00}', '{"p": 2}');
-- Keys come back in jsonb order; empty containers and empty keys are fine.
SELECT content FROM concurrent_edit.jsonb_merge3('{}', '{"bb": [], "": {}}', '{"a": "", "ccc": null}');

-- ---------------------------------------------------------------------------
-- Properties: merge(b, b, x) = x, merge(b, x, b) = x, merge(x, x, x) = x, all clean,
-- identical as text (not only equal as jsonb).
CREATE TEMP TABLE docs (n int, b jsonb, x jsonb);
INSERT INTO docs VALUES
  (1, '{"a": 1}', '{"a": 1.00, "b": [1, 2]}'),
  (2, '[{"id": 1}, {"id": 2}]', '[{"id": 2}, {"id": 3, "x": {"y": null}}]'),
  (3, '[1, 2, 3, 2, 1]', '[3, 2, 1, 2, 3, 4]'),
  (4, '"s"', '{"now": ["an", "object"]}'),
  (5, '{"cameras": [{"id": "c1"}], "v": {"n": "x"}}', '{"cameras": [], "v": {"n": "y", "m": [true]}}'),
  (6, '[]', '[[], {}, [[1]], null]'),
  (7, 'null', 'false');
SELECT n,
  bool_and(m.clean AND m.content::text = d.x::text AND m.conflicts = '[]') AS holds
FROM docs d, unnest(ARRAY['auto', 'id', 'sequence', 'atomic']) mode,
LATERAL (SELECT * FROM concurrent_edit.jsonb_merge3(d.b, d.b, d.x, mode)
         UNION ALL SELECT * FROM concurrent_edit.jsonb_merge3(d.b, d.x, d.b, mode)
         UNION ALL SELECT * FROM concurrent_edit.jsonb_merge3(d.x, d.x, d.x, mode)) m
GROUP BY n ORDER BY n;
-- The same documents through a real merge (no side unchanged): converted exactly.
SELECT n, (m.content -> 'x')::text = d.x::text AND (m.content -> 'k') = '1' AND m.clean AS exact
FROM docs d, LATERAL concurrent_edit.jsonb_merge3('{"k": 0}', jsonb_build_object('k', 0, 'x', d.x), '{"k": 1}') m
ORDER BY n;
-- Deterministic: the same call gives the same result.
SELECT count(DISTINCT (m.content, m.clean, m.conflicts)) AS distinct_results
FROM generate_series(1, 5),
LATERAL concurrent_edit.jsonb_merge3('[1, 2, 3]', '[1, 5, 3, {"k": 1}]', '[0, 1, 6, 3, {"k": 2}]') m;

-- ---------------------------------------------------------------------------
-- Bad input: a clear error with a specific SQLSTATE; the session goes on.
SELECT pg_temp.try($$SELECT concurrent_edit.jsonb_merge3('{}', NULL, '{}')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.jsonb_merge3('{}', '{}', NULL)$$);
SELECT pg_temp.try($$SELECT concurrent_edit.jsonb_merge3('{}', '{}', '{}', NULL)$$);
SELECT pg_temp.try($$SELECT concurrent_edit.jsonb_merge3('{}', '{}', '{}', 'by_id')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.jsonb_merge3('{}', '{}', '{}', '')$$);
-- The error lists the accepted values.
\set VERBOSITY default
SELECT concurrent_edit.jsonb_merge3('{}', '{}', '{}', 'Sequence');
\set VERBOSITY terse
-- Nesting: 1000 levels merge, 1001 are refused (54000) whichever argument holds them.
SELECT m.clean, m.content::text = repeat('[', 1000) || '1, 2' || repeat(']', 1000) AS both_kept
FROM concurrent_edit.jsonb_merge3((repeat('[', 1000) || repeat(']', 1000))::jsonb,
                                  (repeat('[', 1000) || '1' || repeat(']', 1000))::jsonb,
                                  (repeat('[', 1000) || '2' || repeat(']', 1000))::jsonb) m;
SELECT pg_temp.try(format('SELECT concurrent_edit.jsonb_merge3(%L, %L, %L)', '{}', '{"x": 1}', '{"a": ' || repeat('[', 1001) || repeat(']', 1001) || '}'));
SELECT pg_temp.try(format('SELECT concurrent_edit.jsonb_merge3(%L, %L, %L)', repeat('[', 1001) || repeat(']', 1001), '{"x": 1}', '{"y": 2}'));
-- A conflict on whole documents 1000 levels deep is still reported (2 levels deeper).
SELECT m.clean, m.conflicts -> 0 ->> 'kind' AS kind, m.conflicts -> 0 -> 'path' AS path,
       m.content::text = repeat('[', 1000) || '1' || repeat(']', 1000) AS content_is_ours
FROM concurrent_edit.jsonb_merge3(NULL, (repeat('[', 1000) || '1' || repeat(']', 1000))::jsonb,
                                  (repeat('[', 1000) || '2' || repeat(']', 1000))::jsonb, 'atomic') m;
-- (When a side equals the base byte for byte, or both sides are equal, nothing needs
-- merging: the result is the other side as it is, whatever its depth.)
SELECT m.clean, m.content = d.doc AS unchanged
FROM (SELECT (repeat('[', 1500) || repeat(']', 1500))::jsonb AS doc) d,
LATERAL concurrent_edit.jsonb_merge3('{}', '{}', d.doc) m;
-- concurrent_edit.max_input_size applies to each argument, before any work.
SET concurrent_edit.max_input_size = '1kB';
SELECT pg_temp.try(format('SELECT concurrent_edit.jsonb_merge3(%L, %L, %L)', '{}', '{}', jsonb_build_object('k', repeat('x', 2000))));
SELECT pg_temp.try(format('SELECT concurrent_edit.jsonb_merge3(%L, %L, %L)', jsonb_build_object('k', repeat('x', 2000)), '{}', '{}'));
SELECT clean FROM concurrent_edit.jsonb_merge3('{}', '{}', jsonb_build_object('k', repeat('x', 500)));
RESET concurrent_edit.max_input_size;
-- Large documents: a 20000-element list with edits on both sides merges cleanly.
SELECT m.clean, jsonb_array_length(m.content) AS elements,
       m.content -> 0 AS first, m.content -> 10000 AS middle, m.content -> -1 AS last
FROM (SELECT jsonb_agg(jsonb_build_object('id', i, 'v', 0) ORDER BY i) AS b FROM generate_series(1, 20000) i) b,
LATERAL (SELECT jsonb_set(b.b, '{0,v}', '1') || '[{"id": 20001}]' AS o,
                jsonb_set(b.b, '{10000,v}', '2') AS t) s,
LATERAL concurrent_edit.jsonb_merge3(b.b, s.o, s.t) m;
-- JIT inlining of the extension's bitcode, forced for every call (error path too).
SET jit = on; SET jit_above_cost = 0; SET jit_inline_above_cost = 0; SET jit_optimize_above_cost = 0;
SELECT count(*) FILTER (WHERE m.clean) AS clean, count(DISTINCT m.content) AS distinct_contents,
       min(m.content::text) AS first
FROM generate_series(1, 2000) i,
LATERAL concurrent_edit.jsonb_merge3('{"n": 0, "l": [1, 2]}', jsonb_build_object('n', i, 'l', '[1, 2, 3]'::jsonb),
                                     jsonb_build_object('n', 0, 'l', '[0, 1, 2]'::jsonb, 'k', i % 3)) m;
SELECT pg_temp.try($$SELECT concurrent_edit.jsonb_merge3('{}', '{"a": 1}', '{}', 'nope') FROM generate_series(1, 3)$$);
RESET jit; RESET jit_above_cost; RESET jit_inline_above_cost; RESET jit_optimize_above_cost;
-- Cancellation: statement_timeout stops a long merge (57014), and the session goes on.
-- (Two 200000-element arrays rewritten on both sides take seconds; PL/pgSQL cannot
-- trap a cancel, so the error reaches the client.)
CREATE TEMP TABLE rewritten AS
SELECT (SELECT jsonb_agg(i) FROM generate_series(0, 199999) i) AS b,
       (SELECT jsonb_agg(i) FROM generate_series(199999, 0, -1) i) AS o,
       (SELECT jsonb_agg((i::bigint * 7919) % 200000) FROM generate_series(0, 199999) i) AS t;
SELECT pg_backend_pid() AS pid_before \gset
SET statement_timeout = '100ms';
SELECT m.clean FROM rewritten r, LATERAL concurrent_edit.jsonb_merge3(r.b, r.o, r.t, 'sequence') m;
RESET statement_timeout;
SELECT pg_backend_pid() = :pid_before AS same_backend,
       (concurrent_edit.jsonb_merge3('[1]', '[1, 2]', '[0, 1]')).content AS still_merging;
-- Without the timeout it completes: one "sequence" conflict for the array (not one
-- per element), content = ours.
SELECT m.clean, jsonb_array_length(m.conflicts) AS conflicts, m.conflicts -> 0 ->> 'kind' AS kind,
       m.content = r.o AS content_is_ours
FROM rewritten r, LATERAL concurrent_edit.jsonb_merge3(r.b, r.o, r.t, 'sequence') m;

-- concurrent_edit.max_merge_memory bounds one merge: 54000 naming the setting, the
-- session goes on, the default lets the same merge through.
CREATE TEMP TABLE big_docs AS
SELECT a, jsonb_set(a, '{0,v}', '-1') AS o, a || '[{"id": -1, "v": 0}]' AS t
FROM (SELECT jsonb_agg(jsonb_build_object('id', i, 'v', i)) AS a FROM generate_series(1, 20000) i) x;
SET concurrent_edit.max_merge_memory = '1MB';
SELECT pg_temp.try('SELECT concurrent_edit.jsonb_merge3(a, o, t) FROM big_docs', false);
SELECT d ->> 'setting' AS setting, (d ->> 'limit_kb')::int AS limit_kb, (d ->> 'needed_kb')::int > 1024 AS over
FROM pg_temp.error_detail('SELECT concurrent_edit.jsonb_merge3(a, o, t) FROM big_docs') d;
SELECT (concurrent_edit.jsonb_merge3('{"a": 1}', '{"a": 2}', '{"a": 1, "b": 3}')).content AS small_fits;
RESET concurrent_edit.max_merge_memory;
SELECT m.clean, jsonb_array_length(m.content) AS elements, m.content -> 0 AS first, m.content -> -1 AS last
FROM big_docs, LATERAL concurrent_edit.jsonb_merge3(a, o, t) m;

-- The conversion between jsonb and the merge's values (jsonb's binary layout read and
-- written directly): 300 random documents -- numbers of every form, strings with
-- escapes and multibyte characters, empty and large containers (objects and arrays
-- past 32 children, where jsonb stores offsets), nesting -- go through a merge that
-- must convert them (no side equals another) and come back equal and well formed.
SELECT setseed(0.42);
CREATE FUNCTION pg_temp.rand_json(depth int) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r float := random(); n int; acc jsonb;
BEGIN
  IF depth = 0 OR r < 0.35 THEN
    r := random();
    RETURN CASE
      WHEN r < 0.1 THEN 'null'::jsonb
      WHEN r < 0.2 THEN to_jsonb(random() < 0.5)
      WHEN r < 0.3 THEN to_jsonb((random() * 1e6)::int)
      WHEN r < 0.4 THEN to_jsonb((ARRAY['0', '-0', '1e100', '-1.50', '123456789012345678901234567890.0001', '1E-7', '0.000'])[1 + (random() * 6)::int]::numeric)
      WHEN r < 0.5 THEN to_jsonb(repeat(chr(233) || 'x"\' || E'\n\t', (random() * 5)::int))
      WHEN r < 0.6 THEN to_jsonb(repeat('long string ', (random() * 300)::int))
      WHEN r < 0.7 THEN to_jsonb(''::text)
      WHEN r < 0.8 THEN to_jsonb(chr(128512) || chr(20013) || 'ok')
      ELSE to_jsonb(md5(random()::text)) END;
  END IF;
  n := CASE WHEN random() < 0.2 THEN (random() * 60)::int ELSE (random() * 4)::int END;
  IF random() < 0.5 THEN
    acc := '[]';
    FOR i IN 1 .. n LOOP acc := acc || jsonb_build_array(pg_temp.rand_json(depth - 1)); END LOOP;
  ELSE
    acc := '{}';
    FOR i IN 1 .. n LOOP
      acc := acc || jsonb_build_object(CASE WHEN random() < 0.3 THEN repeat('k', (random() * 20)::int) ELSE 'key' || i END,
                                       pg_temp.rand_json(depth - 1));
    END LOOP;
  END IF;
  RETURN acc;
END $$;
CREATE TEMP TABLE random_docs AS SELECT i, pg_temp.rand_json(4) AS d FROM generate_series(1, 300) i;
SELECT count(*) AS docs,
       count(*) FILTER (WHERE m.clean AND m.content -> 'w' = r.d AND (m.content -> 'w')::text = r.d::text
                          AND m.content = jsonb_build_object('w', r.d, 'k', 1, 'extra', 2)
                          AND jsonb_pretty(m.content) IS NOT NULL
                          AND (SELECT count(*) FROM jsonb_path_query(m.content, 'strict $.**')) > 0
                          AND m.content @> jsonb_build_object('w', r.d)) AS round_trips,
       count(*) FILTER (WHERE jsonb_typeof(r.d) = 'object' AND (SELECT count(*) FROM jsonb_object_keys(r.d)) > 32) > 0 AS has_wide_objects,
       count(*) FILTER (WHERE jsonb_typeof(r.d) NOT IN ('object', 'array')) > 0 AS has_scalars
FROM random_docs r,
LATERAL concurrent_edit.jsonb_merge3(jsonb_build_object('w', r.d, 'k', 0), jsonb_build_object('w', r.d, 'k', 1),
                                     jsonb_build_object('w', r.d, 'k', 0, 'extra', 2)) m;
-- Scalar documents are converted too (no side equal to another): a conflict whose
-- report holds the three numbers and strings as they were.
SELECT m.content, m.clean, m.conflicts
FROM (VALUES ('1.50'::jsonb, '-0'::jsonb, '1e100'::jsonb), ('"a"', '"\u00e9\n"', '""'), ('null', 'true', 'false')) v(b, o, t),
LATERAL concurrent_edit.jsonb_merge3(v.b, v.o, v.t) m;
-- The documents as sides of one another: ours and theirs differ from base in every
-- element; the merge by sequence gives a conflict or a clean result, never a broken value.
SELECT count(*) FILTER (WHERE jsonb_pretty(m.content) IS NOT NULL AND jsonb_pretty(m.conflicts) IS NOT NULL) AS well_formed
FROM random_docs a JOIN random_docs b ON b.i = a.i % 300 + 1 JOIN random_docs c ON c.i = b.i % 300 + 1,
LATERAL concurrent_edit.jsonb_merge3(jsonb_build_array(a.d), jsonb_build_array(b.d), jsonb_build_array(c.d)) m;
