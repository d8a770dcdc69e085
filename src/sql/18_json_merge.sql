-- JSON three-way merge: the engine the optimistic-concurrency trigger uses
-- for jsonb columns, exposed as a function. Semantics: docs/reference/json_merge.md.

CREATE FUNCTION concurrent_edit.jsonb_merge3(
        base jsonb, ours jsonb, theirs jsonb, array_mode text DEFAULT 'auto',
        OUT content jsonb, OUT clean boolean, OUT conflicts jsonb)
    RETURNS record
    AS 'MODULE_PATHNAME', 'ce_jsonb_merge3'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.jsonb_merge3(jsonb, jsonb, jsonb, text) IS
    'Three-way merge of jsonb documents: objects key by key, arrays by element id, as sequences or atomically (array_mode auto, id, sequence, atomic). Returns the merged content (ours at conflicting positions), clean, and conflicts: [{"path", "kind", "base", "ours", "theirs"}], a side''s key absent when it has no value there. base NULL = no common ancestor. Errors: 22004 (ours, theirs or array_mode NULL), 22023 (unknown array_mode), 54000 (input over concurrent_edit.max_input_size or nested over 1000 levels).';
