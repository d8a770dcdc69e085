-- Deterministic ordering and conflict handling for concurrent structural operations
-- of block editors (split, join, convert, ... text edits). Reference:
-- docs/reference/operations.md. Implementation: src/core/ops*.cpp (pure C++ core)
-- and src/pg/operations.cpp (glue). The functions are pure C (no SQL, no SET clause),
-- IMMUTABLE and PARALLEL SAFE. They are not declared STRICT because priorities has
-- DEFAULT NULL (meaning the default table); a NULL ops (or policy) still gives NULL,
-- or no rows.

CREATE FUNCTION concurrent_edit.order_operations(ops jsonb, priorities jsonb DEFAULT NULL)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'ce_order_operations'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.order_operations(jsonb, jsonb) IS
    'The operations of the JSON array ops (objects with opCode, blockId and timestamp; offset, targetBlockId, replicaId and dependencies optional), sorted by the order key (blockId bytewise, priority of opCode, timestamp: Lamport integer or vector clock), then replicaId, then the remaining fields: the same order for any permutation and on every node. priorities (object opCode -> integer) overrides or extends the default table (OP_BLOCK_SPLIT 1 ... OP_IMMUTABLE_REWRITE 9); NULL means the table. NULL ops gives NULL. Errors: VC010 (invalid operation), VC011 (dependency cycle), 22023 (mixed timestamp kinds, bad priorities), 54000 (over 1,000,000 operations or concurrent_edit.max_input_size).';

CREATE FUNCTION concurrent_edit.detect_operation_conflicts(ops jsonb, priorities jsonb DEFAULT NULL)
    RETURNS TABLE(conflict_type text, block_id text, first_op jsonb, second_op jsonb, reason text, outcome text)
    AS 'MODULE_PATHNAME', 'ce_detect_operation_conflicts'
    LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION concurrent_edit.detect_operation_conflicts(jsonb, jsonb) IS
    'The conflicts among the operations of ops, in the order resolve_operations(ops, ''fail-closed'') meets them: direct (incompatible operations on one block), cascading (an operation naming a block that a split or join replaced: outcome remapped when it could be moved onto the new block, else rejected) and dependency (an operation that does not come after what it depends on). Uses targetBlockId and offset when present and works without them (a split without offset or a join without target takes part as far as its members go). first_op stands, second_op is rejected or remapped. NULL ops gives no rows. Errors as for order_operations.';

CREATE FUNCTION concurrent_edit.resolve_operations(ops jsonb, policy text DEFAULT 'fail-closed',
                                                   priorities jsonb DEFAULT NULL)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'ce_resolve_operations'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.resolve_operations(jsonb, text, jsonb) IS
    'Resolves concurrent operations: {"policy", "applied": [operations in application order, with mappedBlockId / mappedOffset / mappedTargetBlockId where they were moved], "rejected": [{"op", "reason", "conflict_type", "conflicting_op"} plus "missing" (conflict_type null) for a split without offset or a join without targetBlockId, rejected on its own], "mapping": {original block id: [{"block_id", "from", "to", "at"}]}, "blocks": [blocks produced]}. fail-closed (default) rejects the later of two conflicting operations and remaps operations onto split or joined blocks; merge also follows a split by a join and a join by a split; confirm leaves each conflict to the user and adds "pending": [{"decision", "conflict_type", "block_id", "reason", "operations": [positions in ops from 1], "first_op", "second_op", "options": [{"choice": apply_first|apply_second|apply_both|cancel, "apply", "drop", "policy"}]}] and "waiting": [{"op", "operation", "decision"}] (operations whose outcome depends on a decision; neither they nor the decisions'' operations are applied). NULL ops or policy gives NULL. Errors as for order_operations, and 22023 for an unknown policy.';
