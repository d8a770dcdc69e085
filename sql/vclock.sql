-- Vector clocks: the type concurrent_edit.vclock, its functions, operators,
-- aggregate, casts, binary I/O, hashing and every error class.
\set VERBOSITY terse
SET client_min_messages = warning;
\i sql/include/helpers.sql
SET search_path = concurrent_edit, public;

-- ---------------------------------------------------------------------------
-- Text form: canonical output (nodes sorted bytewise, zero counters dropped,
-- jsonb-like spacing, JSON escapes only where needed).
SELECT t AS input, t::vclock AS canonical
FROM (VALUES ('{}'), ('  { }  '), ('{"node-b": 1, "node-a": 3}'), (E'\t{\n"a"\r:\n2 ,"b":1}\n'),
             ('{"a": 0, "b": 5, "c": 0}'), ('{"a": 9223372036854775807}'),
             ('{"b": 1, "a": 1, "B": 1, "ab": 1, "\u00e9": 1}'),
             ('{"a\"b": 1, "a\\b": 2, "a\/b": 3, "\u0061": 4}'),
             ('{"\n\t\u0001": 1, "\ud83d\ude00": 2}')) v(t);
-- Equal clocks print equally, whatever the spelling.
SELECT '{"x": 1, "y": 0, "z": 2}'::vclock::text = '{"z":2,"x":1}'::vclock::text AS same_text;

-- Syntax errors: 22P02.
SELECT t AS input, pg_temp.try(format('SELECT %L::concurrent_edit.vclock', t)) AS error
FROM (VALUES (''), ('[]'), ('null'), ('"a"'), ('{'), ('{"a"}'), ('{"a":}'), ('{"a":1,}'), ('{"a":1 "b":2}'),
             ('{"a":1} x'), ('{a:1}'), ('{"a":true}'), ('{"a":null}'), ('{"a":"1"}'), ('{"a":1.0}'),
             ('{"a":1e3}'), ('{"a":01}'), ('{"":1}'), ('{"\x":1}'), ('{"\ud800":1}'), ('{"\u0000":1}'),
             (E'{"a\nb":1}')) v(t);
-- Counters out of range: 22003.
SELECT pg_temp.try($$SELECT '{"a": -1}'::concurrent_edit.vclock$$);
SELECT pg_temp.try($$SELECT '{"a": 9223372036854775808}'::concurrent_edit.vclock$$);
SELECT pg_temp.try($$SELECT '{"a": 123456789012345678901234567890}'::concurrent_edit.vclock$$);
-- Duplicate nodes (also after unescaping, also with zero counters): 22030.
SELECT pg_temp.try($$SELECT '{"a": 1, "b": 2, "a": 3}'::concurrent_edit.vclock$$);
SELECT pg_temp.try($$SELECT '{"a": 0, "\u0061": 0}'::concurrent_edit.vclock$$);
-- Limits: 1024 entries and 256-byte node ids pass, one more fails with 54000.
SELECT pg_catalog.array_length(vclock_nodes(('{' || string_agg(format('"n%s": %s', i, i), ', ') || '}')::vclock), 1) AS entries
FROM generate_series(1, 1024) i;
SELECT pg_temp.try(format('SELECT %L::concurrent_edit.vclock', '{' || string_agg(format('"n%s": 1', i), ', ') || '}'))
FROM generate_series(1, 1025) i;
SELECT vclock_get(format('{"%s": 7}', repeat('n', 256))::vclock, repeat('n', 256)) AS long_node;
SELECT octet_length((vclock_nodes(format('{"%s": 7}', repeat('é', 128))::vclock))[1]) AS utf8_bytes;
SELECT pg_temp.try(format('SELECT %L::concurrent_edit.vclock', format('{"%s": 1}', repeat('n', 257))));
SELECT pg_temp.try(format('SELECT %L::concurrent_edit.vclock', format('{"%s": 1}', repeat('é', 129))));
-- concurrent_edit.max_input_size bounds the text before it is parsed.
SET concurrent_edit.max_input_size = '1kB';
SELECT pg_temp.try(format('SELECT %L::concurrent_edit.vclock', '{"a": 1' || repeat(' ', 1100) || '}'));
RESET concurrent_edit.max_input_size;
SELECT ('{"a": 1' || repeat(' ', 1100) || '}')::vclock AS whitespace_is_fine;

-- ---------------------------------------------------------------------------
-- Every relation, with every operator. Missing nodes count as 0.
CREATE TEMP TABLE pairs (label text, a concurrent_edit.vclock, b concurrent_edit.vclock);
INSERT INTO pairs VALUES
    ('before',             '{"a": 1}',         '{"a": 2}'),
    ('before (new node)',  '{"a": 1}',         '{"a": 1, "b": 1}'),
    ('before (empty)',     '{}',               '{"x": 1}'),
    ('after',              '{"a": 2, "b": 1}', '{"a": 1, "b": 1}'),
    ('after (missing)',    '{"a": 1, "b": 1}', '{"b": 1}'),
    ('equal',              '{"a": 1, "b": 2}', '{"b": 2, "a": 1}'),
    ('equal (zeros)',      '{"a": 0}',         '{}'),
    ('equal (empty)',      '{}',               '{}'),
    ('concurrent',         '{"a": 2, "b": 1}', '{"a": 1, "b": 2}'),
    ('concurrent (disjoint)', '{"a": 1}',      '{"b": 1}');
SELECT label, vclock_compare(a, b) AS compare, vclock_compare(b, a) AS reverse,
       a < b AS lt, a > b AS gt, a <= b AS le, a >= b AS ge, a = b AS eq, a <> b AS ne, a || b AS conc,
       vclock_divergent_nodes(a, b) AS divergent
FROM pairs ORDER BY label COLLATE "C";
-- || is "concurrent" for two clocks: concatenating a literal needs a text cast.
SELECT 'clock: '::text || '{"a": 1}'::vclock AS concatenated;
SELECT pg_temp.try($$SELECT 'clock: ' || '{"a": 1}'::concurrent_edit.vclock$$);
-- Operators with the schema spelled out (no search_path needed).
SELECT '{"a": 1}'::concurrent_edit.vclock OPERATOR(concurrent_edit.<) '{"a": 2}'::concurrent_edit.vclock AS lt,
       '{"a": 1}'::concurrent_edit.vclock OPERATOR(concurrent_edit.||) '{"b": 2}'::concurrent_edit.vclock AS conc;
-- The seed's example: relation and divergent nodes.
SELECT vclock_compare('{"node-a": 3, "node-b": 1}', '{"node-a": 2, "node-b": 1, "node-c": 1}'),
       vclock_divergent_nodes('{"node-a": 3, "node-b": 1}', '{"node-a": 2, "node-b": 1, "node-c": 1}');

-- A sample of 64 clocks over 3 nodes with counters 0..3 (deterministic).
CREATE TEMP TABLE sample AS
SELECT i, format('{"p": %s, "q": %s, "r": %s}', i % 4, (i / 4) % 4, (i / 16) % 4)::concurrent_edit.vclock AS c
FROM generate_series(0, 63) i;
-- The relations over all 4096 pairs agree with the pointwise definition, the
-- operators agree with vclock_compare, and the relation is antisymmetric.
SELECT vclock_compare(x.c, y.c) AS relation, count(*) AS pairs,
       count(*) FILTER (WHERE
           (x.c <= y.c) IS DISTINCT FROM (vclock_get(x.c, 'p') <= vclock_get(y.c, 'p') AND vclock_get(x.c, 'q') <= vclock_get(y.c, 'q') AND vclock_get(x.c, 'r') <= vclock_get(y.c, 'r'))
        OR (x.c < y.c) IS DISTINCT FROM (x.c <= y.c AND x.c <> y.c)
        OR (x.c > y.c) IS DISTINCT FROM (y.c < x.c)
        OR (x.c >= y.c) IS DISTINCT FROM (y.c <= x.c)
        OR (x.c || y.c) IS DISTINCT FROM NOT (x.c <= y.c OR y.c <= x.c)
        OR (x.c = y.c) IS DISTINCT FROM (x.i = y.i)
        OR vclock_compare(y.c, x.c) <> CASE vclock_compare(x.c, y.c) WHEN 'before' THEN 'after' WHEN 'after' THEN 'before' ELSE vclock_compare(x.c, y.c) END
        OR (cardinality(vclock_divergent_nodes(x.c, y.c)) = 0) IS DISTINCT FROM (x.c = y.c)) AS violations
FROM sample x, sample y GROUP BY 1 ORDER BY vclock_compare(x.c, y.c) COLLATE "C";

-- ---------------------------------------------------------------------------
-- vclock_increment: monotonic (x < increment(x, n)), a new node starts at 1.
SELECT vclock_increment('{}', 'n'), vclock_increment('{"n": 1, "m": 4}', 'n'), vclock_increment('{"a": 1}', 'é');
SELECT count(*) AS checked,
       count(*) FILTER (WHERE NOT (c < vclock_increment(c, n)) OR vclock_get(vclock_increment(c, n), n) <> vclock_get(c, n) + 1
                           OR vclock_divergent_nodes(c, vclock_increment(c, n)) <> ARRAY[n]) AS violations
FROM sample, unnest(ARRAY['p', 'q', 's']) n;
SELECT vclock_increment('{"a": 9223372036854775806}', 'a');
SELECT pg_temp.try($$SELECT concurrent_edit.vclock_increment('{"a": 9223372036854775807}', 'a')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.vclock_increment('{}', '')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.vclock_increment('{}', repeat('x', 257))$$);
SELECT pg_temp.try(format('SELECT concurrent_edit.vclock_increment(%L, %L)',
                          '{' || string_agg(format('"n%s": 1', i), ', ') || '}', 'another'))
FROM generate_series(1, 1024) i;

-- ---------------------------------------------------------------------------
-- vclock_merge: pointwise maximum; commutative, associative, idempotent, and the
-- least upper bound (checked over all pairs and triples of a 16-clock sample).
SELECT vclock_merge('{"a": 3, "b": 1}', '{"b": 4, "c": 2}'), vclock_merge('{}', '{}'), vclock_merge('{"a": 1}', '{}');
WITH s AS (SELECT c FROM sample WHERE i % 4 = 1)
SELECT count(*) AS triples,
       count(*) FILTER (WHERE vclock_merge(x.c, y.c) <> vclock_merge(y.c, x.c)) AS not_commutative,
       count(*) FILTER (WHERE vclock_merge(vclock_merge(x.c, y.c), z.c) <> vclock_merge(x.c, vclock_merge(y.c, z.c))) AS not_associative,
       count(*) FILTER (WHERE vclock_merge(x.c, x.c) <> x.c) AS not_idempotent,
       count(*) FILTER (WHERE NOT (vclock_merge(x.c, y.c) >= x.c AND vclock_merge(x.c, y.c) >= y.c)) AS not_upper_bound,
       count(*) FILTER (WHERE z.c >= x.c AND z.c >= y.c AND NOT z.c >= vclock_merge(x.c, y.c)) AS not_least
FROM s x, s y, s z;
SELECT pg_temp.try(format('SELECT concurrent_edit.vclock_merge(%L, %L)',
                          '{' || string_agg(format('"a%s": 1', i), ', ') || '}',
                          '{' || string_agg(format('"b%s": 1', i), ', ') || '}'))
FROM generate_series(1, 513) i;

-- vclock_merge_agg: NULLs are skipped; no rows (or only NULLs) give NULL.
SELECT vclock_merge_agg(c) FROM (VALUES ('{"a": 1}'::vclock), ('{"b": 3}'), (NULL), ('{"a": 2}')) v(c);
SELECT vclock_merge_agg(c) IS NULL AS no_rows FROM sample WHERE false;
SELECT vclock_merge_agg(NULL::vclock) IS NULL AS only_nulls;
SELECT i % 4 AS p, vclock_merge_agg(c) FROM sample GROUP BY 1 ORDER BY 1;
-- Parallel aggregation uses the combine function and gives the serial result.
CREATE TABLE vclock_parallel AS
SELECT format('{"w%s": %s, "common": %s}', i % 50, i, i % 1000)::vclock AS c FROM generate_series(1, 20000) i;
ALTER TABLE vclock_parallel SET (parallel_workers = 2);
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT vclock_merge_agg(c) FROM vclock_parallel;
CREATE TEMP TABLE parallel_result AS SELECT vclock_merge_agg(c) AS m FROM vclock_parallel;
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SELECT m = (SELECT vclock_merge_agg(c) FROM vclock_parallel) AS same_as_serial,
       vclock_get(m, 'w7') AS w7, vclock_get(m, 'common') AS common, cardinality(vclock_nodes(m)) AS nodes
FROM parallel_result;
DROP TABLE vclock_parallel;

-- ---------------------------------------------------------------------------
-- vclock_prune: keep the max_entries highest counters, ties to the smaller node id.
SELECT n, vclock_prune('{"a": 1, "b": 5, "c": 5, "d": 2, "e": 9}', n) FROM generate_series(0, 6) n;
-- Deterministic: the spelling of the input does not matter.
SELECT vclock_prune('{"e": 9, "d": 2, "c": 5, "b": 5, "a": 1}', 2) = vclock_prune('{"a": 1, "b": 5, "c": 5, "d": 2, "e": 9}', 2) AS same;
-- Pruning forgets causality: concurrent clocks can become ordered.
SELECT vclock_compare('{"a": 5, "b": 1}', '{"a": 4, "c": 1}') AS before_pruning,
       vclock_compare(vclock_prune('{"a": 5, "b": 1}', 1), vclock_prune('{"a": 4, "c": 1}', 1)) AS after_pruning;
SELECT pg_temp.try($$SELECT concurrent_edit.vclock_prune('{"a": 1}', -1)$$);

-- vclock_get and vclock_nodes.
SELECT vclock_get('{"a": 3, "b": 1}', 'a') AS a, vclock_get('{"a": 3, "b": 1}', 'zz') AS absent,
       vclock_get('{"a": 9223372036854775807}', 'a') AS max, vclock_nodes('{"b": 1, "a": 2, "c": 0}') AS nodes,
       vclock_nodes('{}') AS no_nodes;
SELECT pg_temp.try($$SELECT concurrent_edit.vclock_get('{}', '')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.vclock_get('{}', repeat('x', 300))$$);

-- NULL handling: every function is STRICT.
SELECT vclock_increment(NULL, 'a') IS NULL AS inc1, vclock_increment('{}', NULL) IS NULL AS inc2,
       vclock_merge(NULL, '{}') IS NULL AS merge, vclock_compare('{}', NULL) IS NULL AS compare,
       vclock_divergent_nodes(NULL, '{}') IS NULL AS divergent, vclock_prune('{}', NULL) IS NULL AS prune,
       vclock_get(NULL, 'a') IS NULL AS get, vclock_nodes(NULL) IS NULL AS nodes,
       ('{}'::vclock < NULL) IS NULL AS lt, (NULL::vclock || '{}') IS NULL AS conc, NULL::vclock::jsonb IS NULL AS cast;

-- ---------------------------------------------------------------------------
-- jsonb casts: vclock -> jsonb -> vclock -> text is the canonical text.
SELECT '{"bb": 2, "a": 1, "z": 0}'::vclock::jsonb AS to_jsonb,
       '{"bb": 2, "a": 1, "z": 0}'::jsonb::vclock AS from_jsonb,
       '{"\n": 1, "é": 2}'::vclock::jsonb AS escaped;
SELECT count(*) AS checked,
       count(*) FILTER (WHERE c::jsonb::vclock <> c OR c::jsonb::vclock::text <> c::text
                           OR c::text::jsonb::vclock <> c) AS violations
FROM sample;
SELECT j AS input, pg_temp.try(format('SELECT %L::jsonb::concurrent_edit.vclock', j)) AS error
FROM (VALUES ('[1, 2]'), ('"a"'), ('null'), ('{"a": 1.5}'), ('{"a": -1}'), ('{"a": "1"}'), ('{"a": {"b": 1}}'),
             ('{"": 1}'), ('{"a": 1e30}')) v(j);
-- Assignment casts: a jsonb value can be stored in a vclock column and back.
CREATE TEMP TABLE cast_target (c concurrent_edit.vclock, j jsonb);
INSERT INTO cast_target (c, j) VALUES ('{"b": 1, "a": 2}'::jsonb, '{"x": 1}'::concurrent_edit.vclock);
SELECT c, j FROM cast_target;

-- ---------------------------------------------------------------------------
-- Binary form: send/recv round trip and strict validation (22P03).
SELECT vclock_send('{}') AS empty, vclock_send('{"ab": 1, "c": 300}') AS two_entries;
SELECT count(*) AS checked, count(*) FILTER (WHERE vclock_recv(vclock_send(c)) <> c
                                             OR vclock_recv(vclock_send(c))::text <> c::text) AS violations
FROM sample;
SELECT vclock_recv(vclock_send('{"\"q\"": 9223372036854775807, "x": 128, "é": 16384}')) AS big;
SELECT b AS input, pg_temp.try(format('SELECT concurrent_edit.vclock_recv(%L::bytea)', b)) AS error
FROM (VALUES ('\x'), ('\x0200'), ('\x010000'), ('\x0101'), ('\x01010061'), ('\x0101006100'), ('\x010100618100'),
             ('\x0102006201006101'), ('\x0102006101006101'), ('\x010100ff01'), ('\x018108')) v(b);
-- Through the binary COPY protocol (server-side file in the data directory).
CREATE TEMP TABLE copy_src AS SELECT i, c FROM sample;
CREATE TEMP TABLE copy_dst (i integer, c concurrent_edit.vclock);
DO $$
BEGIN
    EXECUTE format('COPY copy_src TO %L (FORMAT binary)', current_setting('data_directory') || '/vclock_regress.copy');
    EXECUTE format('COPY copy_dst FROM %L (FORMAT binary)', current_setting('data_directory') || '/vclock_regress.copy');
END $$;
SELECT count(*) AS copied, count(*) FILTER (WHERE s.c <> d.c) AS differ
FROM copy_src s JOIN copy_dst d USING (i);

-- ---------------------------------------------------------------------------
-- Hashing: DISTINCT, GROUP BY, UNION, hash joins and hash indexes work.
SELECT c FROM (SELECT DISTINCT c FROM (VALUES ('{"a": 1}'::vclock), ('{"a":1}'), ('{"a": 1, "b": 0}'), ('{"b": 1}')) v(c)) d
ORDER BY c::text COLLATE "C";
SELECT c, count(*) FROM (VALUES ('{"a": 1}'::vclock), ('{"a":1}'), ('{"b": 1}')) v(c) GROUP BY c ORDER BY c::text COLLATE "C";
SELECT c FROM (SELECT '{"a": 1}'::vclock UNION SELECT '{"a":1}'::vclock) v(c);
SELECT count(DISTINCT vclock_nodes(c)) AS distinct_node_sets, (SELECT count(*) FROM (SELECT DISTINCT c FROM sample) d) AS distinct_clocks
FROM sample;
SELECT vclock_hash('{"a": 1, "b": 0}') = vclock_hash('{"a":1}') AS same_hash,
       vclock_hash_extended('{"a": 1}', 0) & 4294967295 = vclock_hash('{"a": 1}')::bigint & 4294967295 AS extended_agrees,
       vclock_hash_extended('{"a": 1}', 1) <> vclock_hash_extended('{"a": 1}', 0) AS seed_matters;
SET enable_mergejoin = off; SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM sample x JOIN sample y ON x.c = y.c;
SELECT count(*) AS self_join FROM sample x JOIN sample y ON x.c = y.c;
RESET enable_mergejoin; RESET enable_nestloop;
CREATE INDEX sample_c_hash ON sample USING hash (c);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT i FROM sample WHERE c = '{"p": 1, "q": 2}';
SELECT i FROM sample WHERE c = '{"p": 1, "q": 2}';
RESET enable_seqscan;
-- Hash partitioning (vclock_hash_extended).
CREATE TEMP TABLE parted (i integer, c concurrent_edit.vclock) PARTITION BY HASH (c);
CREATE TEMP TABLE parted_0 PARTITION OF parted FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TEMP TABLE parted_1 PARTITION OF parted FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO parted SELECT i, c FROM sample;
SELECT count(*) AS rows, count(DISTINCT tableoid) AS partitions_used,
       (SELECT i FROM parted WHERE c = '{"p": 1, "q": 2}') AS found
FROM parted;
-- No btree operator class: a partial order cannot be sorted or btree-indexed.
SELECT pg_temp.try($$SELECT c FROM sample ORDER BY c$$);
SELECT pg_temp.try($$SELECT count(DISTINCT c) FROM sample$$);
SELECT pg_temp.try($$CREATE INDEX ON sample (c)$$);
SELECT opcname, amname FROM pg_opclass o JOIN pg_am a ON a.oid = o.opcmethod
WHERE o.opcintype = 'concurrent_edit.vclock'::regtype ORDER BY 1;
-- Negators and commutators as declared (no negator for the order operators).
SELECT o.oprname, o.oprcom::regoper AS commutator, o.oprnegate::regoper AS negator, o.oprcanhash AS hashes,
       o.oprrest AS restrict, o.oprjoin AS join
FROM pg_operator o WHERE o.oprleft = 'concurrent_edit.vclock'::regtype ORDER BY o.oprname COLLATE "C";

-- Selectivity: the estimator applies the operator to the most common values.
CREATE TEMP TABLE est AS
SELECT CASE WHEN i <= 900 THEN '{"a": 1}' ELSE '{"a": 5}' END::concurrent_edit.vclock AS c FROM generate_series(1, 1000) i;
ANALYZE est;
EXPLAIN SELECT * FROM est WHERE c < '{"a": 3}';
EXPLAIN SELECT * FROM est WHERE '{"a": 3}' < c;
EXPLAIN SELECT * FROM est WHERE c || '{"b": 1}';

-- ---------------------------------------------------------------------------
-- PostgreSQL's JIT can inline the extension's bitcode into a query (a C++
-- constructor alias in it once aborted the server there): force JIT with inlining
-- for every function and operator, error paths included. Harmless without JIT.
SET jit = on; SET jit_above_cost = 0; SET jit_inline_above_cost = 0; SET jit_optimize_above_cost = 0;
SELECT count(*) AS pairs, count(*) FILTER (WHERE x.c < y.c) AS lt, count(*) FILTER (WHERE x.c > y.c) AS gt,
       count(*) FILTER (WHERE x.c <= y.c) AS le, count(*) FILTER (WHERE x.c >= y.c) AS ge,
       count(*) FILTER (WHERE x.c = y.c) AS eq, count(*) FILTER (WHERE x.c <> y.c) AS ne,
       count(*) FILTER (WHERE x.c || y.c) AS conc,
       count(*) FILTER (WHERE vclock_compare(x.c, y.c) = 'concurrent') AS compare_conc,
       sum(cardinality(vclock_divergent_nodes(x.c, y.c))) AS divergent,
       count(DISTINCT vclock_merge(x.c, y.c)::text) AS merges,
       sum(vclock_get(vclock_increment(x.c, 'q'), 'q')) AS incremented,
       count(DISTINCT vclock_prune(x.c, 1)::text) AS pruned,
       sum(cardinality(vclock_nodes(y.c))) AS nodes,
       count(DISTINCT vclock_hash(x.c)) AS hashes,
       count(*) FILTER (WHERE vclock_recv(vclock_send(x.c)) = x.c AND x.c::jsonb::vclock = x.c) AS round_trips
FROM sample x, sample y;
SELECT vclock_merge_agg(c) FROM sample;
SELECT pg_temp.try($$SELECT concurrent_edit.vclock_increment(c, 'p') FROM (VALUES ('{"p": 9223372036854775807}'::concurrent_edit.vclock)) v(c)$$);
SELECT pg_temp.try($$SELECT t::concurrent_edit.vclock FROM (VALUES ('{"a": 1, "a": 2}')) v(t)$$);
SELECT pg_temp.try($$SELECT concurrent_edit.vclock_recv(b) FROM (VALUES ('\x0101'::bytea)) v(b)$$);
RESET jit; RESET jit_above_cost; RESET jit_inline_above_cost; RESET jit_optimize_above_cost;

-- ---------------------------------------------------------------------------
-- file_versions.vector_clock is a vclock column.
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = 'concurrent_edit.file_versions'::regclass AND attname = 'vector_clock';
INSERT INTO concurrent_edit.files (project_id, id, path, normalized_path, head_hash, head_content, created_by, updated_by)
VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000f1', 'a.txt', 'a.txt',
        concurrent_edit.content_hash('v1'), 'v1', '00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-0000000000b1');
INSERT INTO concurrent_edit.file_versions (project_id, file_id, version, content, content_hash, created_by, vector_clock, bytes)
SELECT '00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000f1', v, 'v' || v,
       concurrent_edit.content_hash('v' || v), '00000000-0000-0000-0000-0000000000b1', vc, 2
FROM (VALUES (1, '{"server": 1}'::vclock), (2, '{"server": 2}'), (3, '{"server": 2, "laptop": 1}'),
             (4, '{"server": 3}')) v(v, vc);
-- A jsonb value is stored through the assignment cast.
INSERT INTO concurrent_edit.file_versions (project_id, file_id, version, content, content_hash, created_by, vector_clock, bytes)
VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000f1', 5, 'v5',
        concurrent_edit.content_hash('v5'), '00000000-0000-0000-0000-0000000000b1', '{"server": 4, "laptop": 1}'::jsonb, 2);
-- Versions concurrent with version 3, and those version 5 dominates.
SELECT v.version FROM concurrent_edit.file_versions v, concurrent_edit.file_versions three
WHERE v.file_id = '00000000-0000-0000-0000-0000000000f1' AND three.file_id = v.file_id
  AND three.version = 3 AND v.vector_clock || three.vector_clock ORDER BY 1;
SELECT v.version FROM concurrent_edit.file_versions v, concurrent_edit.file_versions five
WHERE v.file_id = '00000000-0000-0000-0000-0000000000f1' AND five.file_id = v.file_id
  AND five.version = 5 AND v.vector_clock < five.vector_clock ORDER BY 1;
SELECT vclock_merge_agg(vector_clock) FROM concurrent_edit.file_versions
WHERE file_id = '00000000-0000-0000-0000-0000000000f1';
-- Leave nothing behind for the other tests (they share the database).
DELETE FROM concurrent_edit.files WHERE project_id = '00000000-0000-0000-0000-0000000000a1';
