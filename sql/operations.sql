-- Concurrent structural operations: order_operations, detect_operation_conflicts,
-- resolve_operations. The seed's cases (sort example, split vs join, concurrent
-- splits, dependency conflict), the order key, policies, NULLs and every error.
\set VERBOSITY terse
SET client_min_messages = warning;
\i sql/include/helpers.sql
SET search_path = concurrent_edit, public;

-- A compact view of an ordered or applied list of operations.
CREATE FUNCTION pg_temp.brief(ops jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(format('%s %s@%s%s', replace(o->>'opCode', 'OP_', ''), o->>'blockId', o->'timestamp',
                             coalesce('/' || (o->>'replicaId'), '')), ', ' ORDER BY n)
    FROM jsonb_array_elements(ops) WITH ORDINALITY AS e(o, n)
$$;

-- ---------------------------------------------------------------------------
-- Order. The seed's sort example (§6.1): block A first, then by timestamp.
SELECT jsonb_pretty(order_operations('[
  {"opCode": "OP_BLOCK_JOIN",  "blockId": "B", "timestamp": 10, "targetBlockId": "C"},
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "A", "timestamp": 15, "offset": 1},
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "A", "timestamp": 5, "offset": 2}]'));

-- The order key: blockId bytewise (not collation order), priority, timestamp; then
-- replicaId (absent first), then the other fields (MARK_EDIT and TEXT_EDIT share 7).
SELECT pg_temp.brief(order_operations('[
  {"opCode": "OP_TEXT_EDIT", "blockId": "b", "timestamp": 1},
  {"opCode": "OP_PASTE", "blockId": "a", "timestamp": 1},
  {"opCode": "OP_TEXT_EDIT", "blockId": "a", "timestamp": 9, "replicaId": "r2"},
  {"opCode": "OP_TEXT_EDIT", "blockId": "a", "timestamp": 9, "replicaId": "r1"},
  {"opCode": "OP_TEXT_EDIT", "blockId": "a", "timestamp": 9},
  {"opCode": "OP_MARK_EDIT", "blockId": "a", "timestamp": 9},
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "a", "timestamp": 20, "offset": 3},
  {"opCode": "OP_IMMUTABLE_REWRITE", "blockId": "B", "timestamp": 0},
  {"opCode": "OP_REORDER", "blockId": "é", "timestamp": 0},
  {"opCode": "OP_TABLE_STRUCT", "blockId": "a", "timestamp": 99},
  {"opCode": "OP_LIST_REPARENT", "blockId": "a", "timestamp": 99},
  {"opCode": "OP_BLOCK_CONVERT", "blockId": "a", "timestamp": 99},
  {"opCode": "OP_BLOCK_JOIN", "blockId": "a", "timestamp": 99, "targetBlockId": "b"}]')) AS ordered;

-- Vector clocks (object or text form): a linear extension of happened-before
-- (counter sum first); concurrent clocks with equal sums fall back to replicaId.
SELECT pg_temp.brief(order_operations('[
  {"opCode": "OP_TEXT_EDIT", "blockId": "a", "timestamp": {"n1": 2, "n2": 1}, "replicaId": "z"},
  {"opCode": "OP_TEXT_EDIT", "blockId": "a", "timestamp": "{\"n1\": 1}", "replicaId": "z"},
  {"opCode": "OP_TEXT_EDIT", "blockId": "a", "timestamp": {"n2": 1}, "replicaId": "a"},
  {"opCode": "OP_TEXT_EDIT", "blockId": "a", "timestamp": {"n1": 1, "n2": 1}, "replicaId": "y"},
  {"opCode": "OP_TEXT_EDIT", "blockId": "a", "timestamp": {"n1": 2}, "replicaId": "b"}]')) AS by_clock;

-- Priorities: override the seed's table or add op codes (unknown ones are refused).
SELECT pg_temp.brief(order_operations(
  '[{"opCode": "OP_BLOCK_SPLIT", "blockId": "a", "timestamp": 1, "offset": 1},
    {"opCode": "OP_TEXT_EDIT", "blockId": "a", "timestamp": 1},
    {"opCode": "MY_OP", "blockId": "a", "timestamp": 1}]',
  '{"MY_OP": -1, "OP_TEXT_EDIT": 0}')) AS with_priorities;

-- The same set in any input order gives the same order (here 200 operations
-- over 12 blocks with colliding timestamps, in 4 input orders).
CREATE TEMP TABLE perm AS
SELECT i, jsonb_build_object('opCode', (ARRAY['OP_BLOCK_SPLIT', 'OP_TEXT_EDIT', 'OP_MARK_EDIT', 'OP_PASTE',
                                              'OP_BLOCK_CONVERT'])[1 + i % 5],
                             'blockId', 'b' || (i * 7) % 12, 'timestamp', (i * 13) % 9, 'offset', (i * 3) % 50,
                             'replicaId', 'r' || i % 3) AS op
FROM generate_series(1, 200) i;
-- confirm: the same result up to the input positions it reports, which point at
-- the operations it echoes.
SELECT count(DISTINCT o) AS distinct_orders, count(DISTINCT r) AS distinct_resolutions,
       count(DISTINCT d) AS distinct_conflict_lists,
       count(DISTINCT c - 'pending' - 'waiting') AS distinct_confirm_results,
       count(DISTINCT (SELECT jsonb_agg(x - 'operations' - 'options' ORDER BY n)
                       FROM jsonb_array_elements(c->'pending') WITH ORDINALITY AS e(x, n))) AS distinct_decisions,
       count(DISTINCT (SELECT jsonb_agg(x->'op' ORDER BY n)
                       FROM jsonb_array_elements(c->'waiting') WITH ORDINALITY AS e(x, n))) AS distinct_waiting,
       min(jsonb_array_length(c->'pending')) AS decisions, min(jsonb_array_length(c->'waiting')) AS waiting,
       min(jsonb_array_length(c->'applied')) AS applied, bool_and(c = c::text::jsonb) AS confirm_roundtrip,
       bool_and((SELECT bool_and(ops->((x->'operations'->>0)::int - 1) = x->'first_op'
                                 AND ops->((x->'operations'->>1)::int - 1) = x->'second_op')
                 FROM jsonb_array_elements(c->'pending') x)
                AND (SELECT bool_and(ops->((x->>'operation')::int - 1) = x->'op')
                     FROM jsonb_array_elements(c->'waiting') x)) AS positions_point_at_the_operations
FROM (
  SELECT ops, order_operations(ops) AS o, resolve_operations(ops) AS r, resolve_operations(ops, 'confirm') AS c,
         (SELECT jsonb_agg(to_jsonb(c)) FROM detect_operation_conflicts(ops) c) AS d
  FROM (SELECT jsonb_agg(op ORDER BY i) FROM perm
        UNION ALL SELECT jsonb_agg(op ORDER BY i DESC) FROM perm
        UNION ALL SELECT jsonb_agg(op ORDER BY md5(i::text)) FROM perm
        UNION ALL SELECT jsonb_agg(op ORDER BY (i * 37) % 200) FROM perm) p(ops)) s;

-- ---------------------------------------------------------------------------
-- The seed's own unit-test operations (§6.1), copied literally (the JSON form of
-- its TypeScript objects): the joins have no targetBlockId, the splits no offset.
-- Ordering and conflict detection do not need them: sorted, block A at timestamp 5
-- comes first ...
SELECT o->0->'timestamp' AS first_timestamp, o->0->>'blockId' AS first_block_id, pg_temp.brief(o) AS sorted
FROM order_operations('[
      { "opCode": "OP_BLOCK_JOIN", "blockId": "B", "timestamp": 10 },
      { "opCode": "OP_BLOCK_SPLIT", "blockId": "A", "timestamp": 15 },
      { "opCode": "OP_BLOCK_SPLIT", "blockId": "A", "timestamp": 5 }
    ]') o;
-- ... and the split against the earlier join of its block is a direct conflict.
SELECT conflict_type, block_id, first_op, second_op, reason, outcome
FROM detect_operation_conflicts('[
      { "opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 10 },
      { "opCode": "OP_BLOCK_JOIN", "blockId": "X", "timestamp": 5 }
    ]');
-- Resolution needs them: an operation lacking one is rejected on its own, with the
-- member in "missing" and no conflict type; the batch does not fail. Fail-closed,
-- the incomplete join still stands against the later split of its block.
SELECT jsonb_pretty(resolve_operations('[
      { "opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 10 },
      { "opCode": "OP_BLOCK_JOIN", "blockId": "X", "timestamp": 5 }
    ]'));
SELECT x->'op'->>'opCode' AS rejected, x->>'conflict_type' AS type, x->'missing' AS missing, x->>'reason' AS reason
FROM jsonb_array_elements(resolve_operations('[
      { "opCode": "OP_BLOCK_JOIN", "blockId": "B", "timestamp": 10 },
      { "opCode": "OP_BLOCK_SPLIT", "blockId": "A", "timestamp": 15 },
      { "opCode": "OP_BLOCK_SPLIT", "blockId": "A", "timestamp": 5 }
    ]')->'rejected') x;
-- The others resolve as usual: the edits of X stay on X (nothing split it), the
-- edit of Y applies, a convert of X conflicts with the split that stands; the
-- merge policy lets the split of X and the join of X both stand.
SELECT p AS policy, pg_temp.brief(r->'applied') AS applied,
       (SELECT string_agg(format('%s %s: %s', x->'op'->>'opCode', x->'op'->'timestamp', x->>'reason'), '; ')
        FROM jsonb_array_elements(r->'rejected') x) AS rejected
FROM unnest(ARRAY['fail-closed', 'merge']) p, resolve_operations('[
      {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 2},
      {"opCode": "OP_TEXT_EDIT", "blockId": "X", "timestamp": 3, "offset": 40},
      {"opCode": "OP_BLOCK_CONVERT", "blockId": "X", "timestamp": 4},
      {"opCode": "OP_BLOCK_JOIN", "blockId": "Y", "timestamp": 1},
      {"opCode": "OP_TEXT_EDIT", "blockId": "Y", "timestamp": 5, "offset": 1},
      {"opCode": "OP_BLOCK_SPLIT", "blockId": "Y", "timestamp": 6, "offset": 3}]', p) r;

-- ---------------------------------------------------------------------------
-- Conflicts. The seed's split (t=10) against a join of the same block (t=5): a
-- direct conflict; fail-closed keeps the earlier join and rejects the split.
SELECT conflict_type, block_id, first_op, second_op, reason, outcome
FROM detect_operation_conflicts('[
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 10, "offset": 50},
  {"opCode": "OP_BLOCK_JOIN", "blockId": "X", "timestamp": 5, "targetBlockId": "Y"}]');
SELECT jsonb_pretty(resolve_operations('[
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 10, "offset": 50},
  {"opCode": "OP_BLOCK_JOIN", "blockId": "X", "timestamp": 5, "targetBlockId": "Y"}]'));
-- The merge policy follows the join with the split (X_left, X_right+Y) ...
SELECT r->'blocks' AS blocks, pg_temp.brief(r->'applied') AS applied, r->'applied'->1->'mappedBlockId' AS moved_to
FROM resolve_operations('[
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 10, "offset": 50},
  {"opCode": "OP_BLOCK_JOIN", "blockId": "X", "timestamp": 5, "targetBlockId": "Y"}]', 'merge') r;
-- ... or, with the join applied first, splits the joined block (the seed's Z_left, Z_right).
SELECT r->'blocks' AS blocks, r->'mapping' AS mapping
FROM resolve_operations('[
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 10, "offset": 50},
  {"opCode": "OP_BLOCK_JOIN", "blockId": "X", "timestamp": 5, "targetBlockId": "Y"}]', 'merge',
  '{"OP_BLOCK_JOIN": 0}') r;

-- The seed's concurrent splits (§5.2): X at 30 (t=10) and at 60 (t=15). The second
-- moves onto X_right at offset 30: X_left, X_right_left, X_right_right.
SELECT jsonb_pretty(resolve_operations('[
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 15, "offset": 60, "replicaId": "r2"},
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 10, "offset": 30, "replicaId": "r1"}]'));
SELECT conflict_type, block_id, first_op->'offset' AS first_offset, second_op->'offset' AS second_offset, reason, outcome
FROM detect_operation_conflicts('[
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 15, "offset": 60},
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 10, "offset": 30}]');

-- A split and text edits are compatible: the edits move onto the pieces (offset
-- o < 30 stays on X_left, o >= 30 goes to X_right at o - 30). A paste without
-- offset cannot be placed and is rejected.
SELECT e->>'opCode' AS op, e->>'offset' AS "offset", e->>'mappedBlockId' AS mapped_block,
       e->>'mappedOffset' AS mapped_offset
FROM jsonb_array_elements(resolve_operations('[
  {"opCode": "OP_TEXT_EDIT", "blockId": "X", "timestamp": 1, "offset": 40},
  {"opCode": "OP_MARK_EDIT", "blockId": "X", "timestamp": 3, "offset": 30},
  {"opCode": "OP_TEXT_EDIT", "blockId": "X", "timestamp": 20, "offset": 10},
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 5, "offset": 30},
  {"opCode": "OP_PASTE", "blockId": "X", "timestamp": 2}]')->'applied') e;
SELECT x->'op'->>'opCode' AS rejected, x->>'conflict_type' AS type, x->>'reason' AS reason
FROM jsonb_array_elements(resolve_operations('[
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 5, "offset": 30},
  {"opCode": "OP_PASTE", "blockId": "X", "timestamp": 2}]')->'rejected') x;

-- A dependency conflict (seed §2.1 type 3): joining X_left, made by the split of X,
-- with a timestamp before the split's.
SELECT conflict_type, block_id, first_op->>'opCode' AS first, second_op->>'opCode' AS second, reason
FROM detect_operation_conflicts('[
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 10, "offset": 30},
  {"opCode": "OP_BLOCK_JOIN", "blockId": "X_left", "timestamp": 5, "targetBlockId": "Y", "dependencies": ["X_left"]}]');
-- In causal order both apply; Y lands after the 30 characters of X_left.
SELECT r->'rejected' AS rejected, r->'blocks' AS blocks, r->'mapping' AS mapping
FROM resolve_operations('[
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 10, "offset": 30},
  {"opCode": "OP_BLOCK_JOIN", "blockId": "X_left", "timestamp": 11, "targetBlockId": "Y", "dependencies": ["X_left"]}]') r;

-- Cascading conflicts: an edit of Y after Y was joined into X+Y (rejected, its
-- offset in X+Y is unknown); an edit of X moves onto X+Y; a convert of a split block.
SELECT conflict_type, block_id, second_op->>'opCode' AS op, reason, outcome
FROM detect_operation_conflicts('[
  {"opCode": "OP_BLOCK_JOIN", "blockId": "X", "timestamp": 5, "targetBlockId": "Y"},
  {"opCode": "OP_TEXT_EDIT", "blockId": "Y", "timestamp": 6, "offset": 2},
  {"opCode": "OP_TEXT_EDIT", "blockId": "X", "timestamp": 7, "offset": 2},
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "Q", "timestamp": 1, "offset": 4},
  {"opCode": "OP_BLOCK_CONVERT", "blockId": "Q", "timestamp": 2}]');
-- Direct conflicts of the seed (§2.1 type 1), each way round, and duplicates.
SELECT conflict_type, block_id, first_op->>'opCode' AS first, second_op->>'opCode' AS second, reason
FROM detect_operation_conflicts('[
  {"opCode": "OP_BLOCK_CONVERT", "blockId": "A", "timestamp": 1},
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "A", "timestamp": 2, "offset": 3},
  {"opCode": "OP_BLOCK_JOIN", "blockId": "B", "timestamp": 3, "targetBlockId": "Y"},
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "B", "timestamp": 4, "offset": 3},
  {"opCode": "OP_TABLE_STRUCT", "blockId": "C", "timestamp": 1},
  {"opCode": "OP_TEXT_EDIT", "blockId": "C", "timestamp": 1, "offset": 0},
  {"opCode": "OP_IMMUTABLE_REWRITE", "blockId": "D", "timestamp": 1},
  {"opCode": "OP_IMMUTABLE_REWRITE", "blockId": "D", "timestamp": 1}]');
-- Custom op codes conflict with any other operation on their block.
SELECT reason FROM detect_operation_conflicts(
  '[{"opCode": "MY_OP", "blockId": "A", "timestamp": 1}, {"opCode": "OP_TEXT_EDIT", "blockId": "A", "timestamp": 2}]',
  '{"MY_OP": 4}');
-- ---------------------------------------------------------------------------
-- The confirm policy (seed §3.2): what fail-closed would settle by rejecting an
-- operation is left to the user. The seed's split and join of X: one decision
-- (apply the join, the split, both as the merge policy does, or neither); the edits
-- of X and of Y (the join's target) wait for it; the split of Q is applied.
SELECT jsonb_pretty(resolve_operations('[
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 10, "offset": 50},
  {"opCode": "OP_BLOCK_JOIN", "blockId": "X", "timestamp": 5, "targetBlockId": "Y"},
  {"opCode": "OP_TEXT_EDIT", "blockId": "X", "timestamp": 12, "offset": 60},
  {"opCode": "OP_TEXT_EDIT", "blockId": "Y", "timestamp": 1, "offset": 2},
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "Q", "timestamp": 3, "offset": 4}]', 'confirm'));
-- Carrying out each choice: resolve again without the operations it drops (with
-- its policy; a merge result has no pending member). Nothing is left to decide.
CREATE TEMP TABLE confirm_ops AS SELECT '[
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 10, "offset": 50},
  {"opCode": "OP_BLOCK_JOIN", "blockId": "X", "timestamp": 5, "targetBlockId": "Y"},
  {"opCode": "OP_TEXT_EDIT", "blockId": "X", "timestamp": 12, "offset": 60},
  {"opCode": "OP_TEXT_EDIT", "blockId": "Y", "timestamp": 1, "offset": 2},
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "Q", "timestamp": 3, "offset": 4}]'::jsonb AS ops;
SELECT opt->>'choice' AS choice, opt->'drop' AS drop, coalesce(opt->>'policy', 'confirm') AS policy,
       pg_temp.brief(r->'applied') AS applied, jsonb_array_length(coalesce(r->'pending', '[]')) AS pending,
       r->'blocks' AS blocks
FROM confirm_ops,
     jsonb_array_elements(resolve_operations(ops, 'confirm')->'pending'->0->'options') opt,
     resolve_operations((SELECT jsonb_agg(e ORDER BY n) FROM jsonb_array_elements(ops) WITH ORDINALITY AS x(e, n)
                         WHERE NOT opt->'drop' @> to_jsonb(n)),
                        coalesce(opt->>'policy', 'confirm')) r;
-- The seed's own test operations (§6.1): the join has no targetBlockId, so it is
-- rejected; the user may apply the split or neither.
SELECT jsonb_pretty(resolve_operations('[
      { "opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 10 },
      { "opCode": "OP_BLOCK_JOIN", "blockId": "X", "timestamp": 5 }
    ]', 'confirm'));
-- One operation against two (the decisions share it, in the order met); a
-- dependency conflict; a duplicate is no choice (rejected, its twin applies); a
-- set without conflicts resolves as fail-closed.
SELECT d->'decision' AS decision, d->>'conflict_type' AS type, d->'operations' AS operations,
       (SELECT string_agg(o->>'choice', ', ') FROM jsonb_array_elements(d->'options') o) AS choices, d->>'reason' AS reason
FROM jsonb_array_elements(resolve_operations('[
  {"opCode": "OP_BLOCK_CONVERT", "blockId": "A", "timestamp": 1},
  {"opCode": "OP_REORDER", "blockId": "A", "timestamp": 2},
  {"opCode": "OP_LIST_REPARENT", "blockId": "A", "timestamp": 3, "targetBlockId": "P"},
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 10, "offset": 30},
  {"opCode": "OP_BLOCK_JOIN", "blockId": "X_left", "timestamp": 5, "targetBlockId": "Y", "dependencies": ["X_left"]},
  {"opCode": "OP_BLOCK_CONVERT", "blockId": "D", "timestamp": 1},
  {"opCode": "OP_BLOCK_CONVERT", "blockId": "D", "timestamp": 1}]', 'confirm')->'pending') d;
SELECT r->'pending' AS pending, r->'waiting' AS waiting, r - 'pending' - 'waiting' - 'policy' = f - 'policy' AS as_fail_closed
FROM resolve_operations('[
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 15, "offset": 60},
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 10, "offset": 30},
  {"opCode": "OP_BLOCK_CONVERT", "blockId": "D", "timestamp": 1},
  {"opCode": "OP_BLOCK_CONVERT", "blockId": "D", "timestamp": 1}]', 'confirm') r,
  resolve_operations('[
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 15, "offset": 60},
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 10, "offset": 30},
  {"opCode": "OP_BLOCK_CONVERT", "blockId": "D", "timestamp": 1},
  {"opCode": "OP_BLOCK_CONVERT", "blockId": "D", "timestamp": 1}]') f;

-- Operation objects are echoed as given (extra members kept).
SELECT resolve_operations('[{"opCode": "OP_TEXT_EDIT", "blockId": "A", "timestamp": 1, "payload": {"insert": "hi"}}]');
SELECT resolve_operations('[]') AS empty_set, order_operations('[]') AS empty_order;

-- The results are written in jsonb's binary form directly: they equal their own
-- text reparsed, and lookups work, also for containers of more than 32 children
-- (every 32nd child stores an offset) and for remapped operations (members added).
CREATE TEMP TABLE many AS
SELECT jsonb_agg(jsonb_build_object('opCode', CASE WHEN i % 3 = 0 THEN 'OP_BLOCK_SPLIT' ELSE 'OP_TEXT_EDIT' END,
                                    'blockId', 'blk' || i % 40, 'timestamp', i, 'offset', (i * 7) % 90,
                                    'flag', i % 2 = 0, 'note', CASE WHEN i % 5 = 0 THEN NULL ELSE 'n' || i END,
                                    'dependencies', jsonb_build_array('x' || i % 3))) AS ops
FROM generate_series(1, 400) i;
SELECT o = o::text::jsonb AS order_roundtrip, r = r::text::jsonb AS resolve_roundtrip,
       m = m::text::jsonb AS merge_roundtrip, c = c::text::jsonb AS confirm_roundtrip,
       jsonb_array_length(c->'pending') AS decisions, jsonb_array_length(c->'waiting') AS waiting,
       c->'pending'->0->'options'->0 AS first_option,
       jsonb_array_length(o) AS ordered, jsonb_array_length(r->'applied') AS applied,
       (SELECT count(*) FROM jsonb_object_keys(r->'mapping')) AS mapped_blocks,
       r->'mapping'->'blk39'->0 AS first_piece_of_blk39,
       (SELECT count(*) FROM jsonb_array_elements(r->'applied') e WHERE e ? 'mappedBlockId') AS remapped,
       (SELECT bool_and(r @> jsonb_build_object('applied', jsonb_build_array(e))) FROM jsonb_array_elements(r->'applied') e)
         AS containment,
       (SELECT count(*) FROM detect_operation_conflicts(ops) WHERE outcome = 'remapped') AS remapped_rows
FROM many, order_operations(ops) o, resolve_operations(ops) r, resolve_operations(ops, 'merge') m,
     resolve_operations(ops, 'confirm') c;

-- ---------------------------------------------------------------------------
-- NULLs: NULL ops (or policy) gives NULL / no rows; NULL priorities means the
-- seed's table.
SELECT order_operations(NULL) IS NULL AS null_ops, resolve_operations(NULL) IS NULL AS null_resolve,
       resolve_operations('[]', NULL) IS NULL AS null_policy,
       (SELECT count(*) FROM detect_operation_conflicts(NULL)) AS null_rows,
       order_operations('[{"opCode": "OP_PASTE", "blockId": "a", "timestamp": 1}]', NULL) AS null_priorities,
       resolve_operations('[]', 'fail-closed', NULL)->'policy' AS default_policy;

-- ---------------------------------------------------------------------------
-- Invalid input: VC010 with the operation in DETAIL, VC011 for cycles, 22023, 54000.
SELECT ops AS input, pg_temp.try(format('SELECT concurrent_edit.order_operations(%L)', ops)) AS error
FROM (VALUES ('{}'), ('3'), ('"x"'), ('[1]'), ('[[]]'),
             ('[{"blockId": "a", "timestamp": 1}]'),
             ('[{"opCode": 7, "blockId": "a", "timestamp": 1}]'),
             ('[{"opCode": "OP_NOPE", "blockId": "a", "timestamp": 1}]'),
             ('[{"opCode": "OP_PASTE", "timestamp": 1}]'),
             ('[{"opCode": "OP_PASTE", "blockId": "", "timestamp": 1}]'),
             ('[{"opCode": "OP_PASTE", "blockId": null, "timestamp": 1}]'),
             ('[{"opCode": "OP_PASTE", "blockId": ["a"], "timestamp": 1}]'),
             ('[{"opCode": "OP_PASTE", "blockId": "a"}]'),
             ('[{"opCode": "OP_PASTE", "blockId": "a", "timestamp": -1}]'),
             ('[{"opCode": "OP_PASTE", "blockId": "a", "timestamp": 1.5}]'),
             ('[{"opCode": "OP_PASTE", "blockId": "a", "timestamp": 9223372036854775808}]'),
             ('[{"opCode": "OP_PASTE", "blockId": "a", "timestamp": true}]'),
             ('[{"opCode": "OP_PASTE", "blockId": "a", "timestamp": {"n": -1}}]'),
             ('[{"opCode": "OP_PASTE", "blockId": "a", "timestamp": "soon"}]'),
             ('[{"opCode": "OP_PASTE", "blockId": "a", "timestamp": 1, "offset": 2.5}]'),
             ('[{"opCode": "OP_PASTE", "blockId": "a", "timestamp": 1, "offset": -3}]'),
             ('[{"opCode": "OP_PASTE", "blockId": "a", "timestamp": 1, "offset": "3"}]'),
             ('[{"opCode": "OP_PASTE", "blockId": "a", "timestamp": 1, "replicaId": 2}]'),
             ('[{"opCode": "OP_PASTE", "blockId": "a", "timestamp": 1, "dependencies": "b"}]'),
             ('[{"opCode": "OP_PASTE", "blockId": "a", "timestamp": 1, "dependencies": ["b", 3]}]'),
             ('[{"opCode": "OP_PASTE", "blockId": "a", "timestamp": 1, "dependencies": [""]}]'),
             ('[{"opCode": "OP_PASTE", "blockId": "a", "timestamp": 1, "targetBlockId": 1}]'),
             ('[{"opCode": "OP_BLOCK_JOIN", "blockId": "a", "timestamp": 1, "targetBlockId": "a"}]'),
             ('[{"opCode": "OP_PASTE", "blockId": "a", "timestamp": 1}, {"opCode": "OP_PASTE", "blockId": "a", "timestamp": {"n": 1}}]'),
             ('[{"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 1, "offset": 3, "dependencies": ["X_left"]}]'),
             ('[{"opCode": "OP_BLOCK_SPLIT", "blockId": "A", "timestamp": 1, "offset": 3, "dependencies": ["B_left"]},
                {"opCode": "OP_BLOCK_SPLIT", "blockId": "B", "timestamp": 2, "offset": 3, "dependencies": ["A_right"]}]')
     ) v(ops);
-- The same checks in every function; the policy and the priorities are checked too.
SELECT pg_temp.try($$SELECT concurrent_edit.detect_operation_conflicts('[{"opCode": "OP_NOPE", "blockId": "a", "timestamp": 1}]')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.resolve_operations('[{"opCode": "OP_NOPE", "blockId": "a", "timestamp": 1}]')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.resolve_operations('[]', 'fail_closed')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.resolve_operations('[]', 'Merge')$$);
SELECT p AS priorities, pg_temp.try(format('SELECT concurrent_edit.order_operations(%L, %L)', '[]', p)) AS error
FROM (VALUES ('[]'), ('1'), ('{"MY_OP": 1.5}'), ('{"MY_OP": "1"}'), ('{"MY_OP": 9223372036854775808}'), ('{"": 1}')) v(p);
SELECT pg_temp.brief(order_operations('[{"opCode": "A", "blockId": "x", "timestamp": 1}, {"opCode": "B", "blockId": "x", "timestamp": 1}]',
                                      '{"A": 9223372036854775807, "B": -9223372036854775807}')) AS extreme_priorities;
-- Limits: 1024-byte block ids, 1,000,000 operations, concurrent_edit.max_input_size.
SELECT pg_temp.try(format('SELECT concurrent_edit.order_operations(%L)',
                          jsonb_build_array(jsonb_build_object('opCode', 'OP_PASTE', 'blockId', repeat('b', 1025), 'timestamp', 1))),
                   false);
SELECT jsonb_array_length(order_operations(jsonb_build_array(
         jsonb_build_object('opCode', 'OP_PASTE', 'blockId', repeat('b', 1024), 'timestamp', 1)))) AS longest_id_ok;
SELECT pg_temp.try($$SELECT concurrent_edit.order_operations((SELECT jsonb_agg(0) FROM generate_series(1, 1000001)))$$);
SET concurrent_edit.max_input_size = '1kB';
SELECT pg_temp.try($$SELECT concurrent_edit.order_operations((SELECT jsonb_agg(jsonb_build_object('opCode', 'OP_PASTE', 'blockId', 'b' || i, 'timestamp', i)) FROM generate_series(1, 100) i))$$);
SELECT pg_temp.try($$SELECT concurrent_edit.order_operations('[]', (SELECT jsonb_object_agg('OP' || i, i) FROM generate_series(1, 100) i))$$);
RESET concurrent_edit.max_input_size;
-- What the operations keep is counted under concurrent_edit.max_merge_memory: a
-- number such as 1e131071 is 10 bytes in jsonb and 131,072 characters as text
-- (12 operations of 1,500 took 2.7 GB before).
SET concurrent_edit.max_merge_memory = '1MB';
SELECT pg_temp.try($$SELECT concurrent_edit.order_operations((SELECT jsonb_agg(jsonb_build_object('opCode', 'OP_TEXT_EDIT',
    'blockId', 'a', 'timestamp', g, 'junk', (SELECT jsonb_agg('1e131071'::numeric) FROM generate_series(1, 20))))
    FROM generate_series(1, 12) g))$$, false);
SELECT pg_temp.try($$SELECT * FROM concurrent_edit.write_many(jsonb_build_array(jsonb_build_object('file_id',
    '00000000-0000-0000-0000-000000000001', 'content', 'x', 'base_version', 1,
    'junk', (SELECT jsonb_agg('1e131071'::numeric) FROM generate_series(1, 20)))))$$, false);
-- ... and so is what resolving builds: 650 successive splits of each of 20 blocks
-- (112 kB of input) make ids of thousands of bytes, each repeated in every piece
-- of the mapping (a 79 MB result and a 349 MB peak before).
SET concurrent_edit.max_merge_memory = '8MB';
SELECT pg_temp.try($$SELECT pg_column_size(concurrent_edit.resolve_operations((SELECT jsonb_agg(jsonb_build_object(
    'opCode', 'OP_BLOCK_SPLIT', 'blockId', 'B' || b, 'timestamp', i, 'offset', i))
    FROM generate_series(1, 20) b, generate_series(1, 650) i)))$$, false);
-- The same with 40 splits each is well within it.
SELECT pg_column_size(concurrent_edit.resolve_operations((SELECT jsonb_agg(jsonb_build_object(
    'opCode', 'OP_BLOCK_SPLIT', 'blockId', 'B' || b, 'timestamp', i, 'offset', i))
    FROM generate_series(1, 20) b, generate_series(1, 40) i))) > 0 AS resolved;
-- ... and so is the result: each rejected operation echoes the one it conflicts
-- with, here a split carrying 200,000 array elements (a few kB stored), echoed 30
-- times (a 24 MB result, which no limit saw before).
SELECT pg_temp.try($$SELECT pg_column_size(concurrent_edit.resolve_operations(jsonb_build_array(jsonb_build_object(
    'opCode', 'OP_BLOCK_SPLIT', 'blockId', 'A', 'timestamp', 1, 'offset', 1,
    'p', (SELECT jsonb_agg(NULL::int) FROM generate_series(1, 200000))))
    || (SELECT jsonb_agg(jsonb_build_object('opCode', 'OP_BLOCK_CONVERT', 'blockId', 'A', 'timestamp', g))
        FROM generate_series(2, 31) g)))$$, false);
RESET concurrent_edit.max_merge_memory;
SELECT pg_column_size(concurrent_edit.resolve_operations(jsonb_build_array(jsonb_build_object(
    'opCode', 'OP_BLOCK_SPLIT', 'blockId', 'A', 'timestamp', 1, 'offset', 1,
    'p', (SELECT jsonb_agg(NULL::int) FROM generate_series(1, 200000))))
    || (SELECT jsonb_agg(jsonb_build_object('opCode', 'OP_BLOCK_CONVERT', 'blockId', 'A', 'timestamp', g))
        FROM generate_series(2, 31) g))) > 20000000 AS echoed_without_the_limit;

-- statement_timeout stops a long call (57014, not catchable by pg_temp.try); the
-- session goes on.
CREATE TEMP TABLE big AS
SELECT jsonb_agg(jsonb_build_object('opCode', CASE WHEN i % 4 = 0 THEN 'OP_BLOCK_SPLIT' ELSE 'OP_TEXT_EDIT' END,
                                    'blockId', 'b' || i % 2000, 'timestamp', i, 'offset', i % 1000)) AS ops
FROM generate_series(1, 200000) i;
SET statement_timeout = '100ms';
SELECT resolve_operations(ops) IS NULL FROM big;
RESET statement_timeout;
SELECT jsonb_array_length(r->'applied') AS applied, jsonb_array_length(r->'rejected') AS rejected,
       jsonb_array_length(r->'blocks') AS blocks
FROM big, resolve_operations(ops) r;
