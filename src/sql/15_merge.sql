-- Merge engine: three-way merge with git merge-file's semantics, conflict regions,
-- unified diff, overlap check and resolution strategies (docs/reference/merge.md);
-- merge3 also reports semantic warnings (docs/reference/semantic.md).
-- Pure C functions: no SQL is executed, so no SET search_path clause.

CREATE FUNCTION concurrent_edit.merge3(
    base text, ours text, theirs text,
    style text DEFAULT 'merge', favor text DEFAULT 'none',
    ours_label text DEFAULT 'ours', base_label text DEFAULT 'base', theirs_label text DEFAULT 'theirs',
    marker_size integer DEFAULT 7, path text DEFAULT '',
    OUT content text, OUT clean boolean, OUT conflicts integer, OUT semantic_warnings jsonb)
    RETURNS record
    AS 'MODULE_PATHNAME', 'ce_merge3'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.merge3(text, text, text, text, text, text, text, text, integer, text) IS
    'Three-way merge of base, ours and theirs exactly as git merge-file -p does it: content is the merged text with conflict markers where conflicts remain; clean is true when none remain; conflicts counts them (git''s exit status). style: merge, diff3, zdiff3; favor: none, ours, theirs, union (conflicts resolved in content, conflicts = 0); marker_size 1..100. semantic_warnings: when the merge met no conflict, the blocks (functions, sections) in which both sides changed lines, [{block, kind, base_line, line, ours_start, ours_count, theirs_start, theirs_count}], else [] (docs/reference/semantic.md); path (a file name or path, empty by default) chooses the kind of blocks by its extension, else the base''s content does. STABLE, not IMMUTABLE: semantic_warnings depends on the setting concurrent_edit.semantic_warnings (off: always []), so a plan must not fold a call into a constant. STRICT. Errors: 22023 (unknown style or favor, bad marker_size, label with a line break), 54000 (input over concurrent_edit.max_input_size, path over 4096 bytes, merge over concurrent_edit.max_merge_memory), 57014 (cancel, statement_timeout).';

CREATE FUNCTION concurrent_edit.merge_conflicts(
    base text, ours text, theirs text,
    OUT conflict integer,
    OUT base_start integer, OUT base_count integer,
    OUT ours_start integer, OUT ours_count integer,
    OUT theirs_start integer, OUT theirs_count integer,
    OUT base text, OUT ours text, OUT theirs text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'ce_merge_conflicts'
    LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION concurrent_edit.merge_conflicts(text, text, text) IS
    'One row per conflict region that merge3(base, ours, theirs) leaves (style merge, favor none), numbered from 1: the 1-based start line and line count of the region in base, ours and theirs (an empty range starts at the line it sits before), and the three texts, line ends included. No rows when the merge is clean. STABLE, not IMMUTABLE: the edit script depends on the setting concurrent_edit.diff_algorithm. STRICT. Errors: 54000, 57014.';

CREATE FUNCTION concurrent_edit.diff(
    old text, new text, context integer DEFAULT 3,
    old_label text DEFAULT 'a', new_label text DEFAULT 'b')
    RETURNS text
    AS 'MODULE_PATHNAME', 'ce_diff'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.diff(text, text, integer, text, text) IS
    'Unified diff from old to new with the hunks git diff prints (Myers, no indent heuristic), headed "--- old_label" and "+++ new_label"; accepted by patch and git apply (with context 0, git apply needs --unidiff-zero). Empty string when the texts are equal. STABLE, not IMMUTABLE: the edit script depends on the setting concurrent_edit.diff_algorithm. STRICT. Errors: 22023 (negative context, label with a line break), 54000, 57014.';

CREATE FUNCTION concurrent_edit.diff_stat(old text, new text,
    OUT lines_added integer, OUT lines_removed integer)
    RETURNS record
    AS 'MODULE_PATHNAME', 'ce_diff_stat'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.diff_stat(text, text) IS
    'Lines added and removed by the line diff from old to new (the counts git diff --numstat reports). STABLE, not IMMUTABLE: the edit script depends on the setting concurrent_edit.diff_algorithm. STRICT. Errors: 54000, 57014.';

CREATE FUNCTION concurrent_edit.changes_overlap(base text, current text, proposed text,
    OUT base_start integer, OUT base_count integer,
    OUT current_start integer, OUT current_count integer,
    OUT proposed_start integer, OUT proposed_count integer)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'ce_changes_overlap'
    LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION concurrent_edit.changes_overlap(text, text, text) IS
    'Where the edit base->current and the edit base->proposed overlap, computed with a real line diff: one row per region git would report as a conflict (edits that touch included; identical edits excluded), with 1-based start and count in base, current and proposed. No rows when the edits are independent (an insertion above an edit is independent). STABLE, not IMMUTABLE: the edit script depends on the setting concurrent_edit.diff_algorithm. STRICT. Errors: 54000, 57014.';

CREATE FUNCTION concurrent_edit.resolve(strategy text, base text, ours text, theirs text,
    ours_at timestamptz DEFAULT NULL, theirs_at timestamptz DEFAULT NULL,
    OUT content text, OUT strategy text, OUT auto_resolved boolean,
    OUT manual_intervention_required boolean, OUT conflicts integer)
    RETURNS record
    AS 'MODULE_PATHNAME', 'ce_resolve'
    LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.resolve(text, text, text, text, timestamptz, timestamptz) IS
    'Resolves concurrent edits (ours = current, first written; theirs = incoming, later) with a strategy: last-write-wins (theirs), first-write-wins (ours), merge-with-markers and smart-merge (merge3; markers where conflicts remain; smart-merge reports smart-merge-auto or smart-merge-manual), keep-both (union merge), timestamp (the side with the later *_at; a tie goes to theirs). Not strict: strategy, base, ours and theirs must not be NULL (22004); the timestamps are needed by timestamp only (22004). Errors: 22023 (unknown strategy), 54000, 57014. STABLE, not IMMUTABLE: the edit script depends on the setting concurrent_edit.diff_algorithm.';
