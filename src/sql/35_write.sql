-- write(): a versioned write with optimistic concurrency; a stale base is merged
-- (docs/reference/write.md, src/pg/write.cpp).

CREATE TYPE concurrent_edit.write_result AS (
    status       text,
    version      integer,
    content_hash text,
    content      text,
    conflict_id  uuid,
    conflicts    integer,
    file_id      uuid,
    base_version integer,
    head_version integer,
    strategy     text,
    vector_clock concurrent_edit.vclock,
    semantic_warnings jsonb
);
COMMENT ON TYPE concurrent_edit.write_result IS
    'Result of write(): status written | unchanged | merged | conflict | overwritten | rejected, the version now at the head (or the head that was met), its hash and content (the marked-up text for a conflict), the conflict id and count, and the semantic warnings of a merge.';
COMMENT ON COLUMN concurrent_edit.write_result.status IS 'written, unchanged, merged, conflict, overwritten or rejected.';
COMMENT ON COLUMN concurrent_edit.write_result.version IS 'The new version; for unchanged, conflict and rejected the head version.';
COMMENT ON COLUMN concurrent_edit.write_result.content_hash IS 'content_hash of content.';
COMMENT ON COLUMN concurrent_edit.write_result.content IS 'The text now at the head; for a conflict the text with conflict markers; for rejected the head text.';
COMMENT ON COLUMN concurrent_edit.write_result.conflict_id IS 'conflict_history id when status is conflict.';
COMMENT ON COLUMN concurrent_edit.write_result.conflicts IS 'Number of conflict regions (0 unless status is conflict).';
COMMENT ON COLUMN concurrent_edit.write_result.file_id IS 'The file.';
COMMENT ON COLUMN concurrent_edit.write_result.base_version IS 'The version the write was based on (resolved from expected_hash when needed).';
COMMENT ON COLUMN concurrent_edit.write_result.head_version IS 'The head version the write met.';
COMMENT ON COLUMN concurrent_edit.write_result.strategy IS 'Strategy used.';
COMMENT ON COLUMN concurrent_edit.write_result.vector_clock IS 'Vector clock of version (keep it to write offline from this version with client_clock).';
COMMENT ON COLUMN concurrent_edit.write_result.semantic_warnings IS 'Never NULL: when a stale base merged without any conflict, the blocks (functions, sections) of the base in which both the head and this write changed lines, [{block, kind, base_line, line, ours_start, ours_count, theirs_start, theirs_count}] (ours = the head, theirs = the written content; docs/reference/semantic.md); otherwise [] (written on a current base, a conflict, conflicts settled by the strategy, concurrent_edit.semantic_warnings off). A warning never changes the status.';
CREATE FUNCTION concurrent_edit.write(file_id uuid, content text, base_version integer,
                                      author uuid DEFAULT NULL, session_id uuid DEFAULT NULL,
                                      strategy text DEFAULT 'merge', expected_hash text DEFAULT NULL,
                                      edited_at timestamptz DEFAULT NULL,
                                      client_clock concurrent_edit.vclock DEFAULT NULL)
    RETURNS concurrent_edit.write_result
    AS 'MODULE_PATHNAME', 'ce_write'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.write(uuid, text, integer, uuid, uuid, text, text, timestamptz, concurrent_edit.vclock) IS
    'Writes a new version based on base_version (and/or expected_hash, an ETag). Current base: written. Stale base: handled by strategy merge (three-way merge: merged, or conflict recorded and returned), fail-fast (VC001), last-write-wins, first-write-wins, keep-both, timestamp or queue. edited_at (default now) is when the client made the edit, compared with the head by strategy timestamp. client_clock (instead of a base version): the vector clock the edit descends from; the base is the newest version it dominates, a clock dominating the head fast-forwards. See docs/reference/write.md.';
CREATE TYPE concurrent_edit.preview_result AS (
    status       text,
    version      integer,
    content_hash text,
    content      text,
    conflict_id  uuid,
    conflicts    integer,
    file_id      uuid,
    base_version integer,
    head_version integer,
    strategy     text,
    vector_clock concurrent_edit.vclock,
    hunks        jsonb,
    semantic_warnings jsonb
);
COMMENT ON TYPE concurrent_edit.preview_result IS 'Result of preview_write(): the columns of write_result (what write() would return; version and vector_clock of a version that was not stored), with the hunks that would conflict before its semantic warnings.';
COMMENT ON COLUMN concurrent_edit.preview_result.status IS 'What write() would return: written, unchanged, merged, conflict, overwritten or rejected.';
COMMENT ON COLUMN concurrent_edit.preview_result.version IS 'The version the write would create (or the head).';
COMMENT ON COLUMN concurrent_edit.preview_result.content_hash IS 'content_hash of content.';
COMMENT ON COLUMN concurrent_edit.preview_result.content IS 'The text the head would have; for a conflict the text with markers.';
COMMENT ON COLUMN concurrent_edit.preview_result.conflict_id IS 'Always NULL: a preview records nothing.';
COMMENT ON COLUMN concurrent_edit.preview_result.conflicts IS 'Number of conflict regions.';
COMMENT ON COLUMN concurrent_edit.preview_result.file_id IS 'The file.';
COMMENT ON COLUMN concurrent_edit.preview_result.base_version IS 'The version the write is based on.';
COMMENT ON COLUMN concurrent_edit.preview_result.head_version IS 'The head version it met.';
COMMENT ON COLUMN concurrent_edit.preview_result.strategy IS 'Strategy used.';
COMMENT ON COLUMN concurrent_edit.preview_result.vector_clock IS 'Vector clock the new version would have.';
COMMENT ON COLUMN concurrent_edit.preview_result.hunks IS 'The hunks that would conflict: [{hunk, base_start, base_text, ours_start, ours_text, theirs_start, theirs_text}].';
COMMENT ON COLUMN concurrent_edit.preview_result.semantic_warnings IS 'The semantic warnings write() would return (write_result.semantic_warnings; never NULL, [] when none).';
CREATE FUNCTION concurrent_edit.preview_write(file_id uuid, content text, base_version integer,
                                              author uuid DEFAULT NULL, session_id uuid DEFAULT NULL,
                                              strategy text DEFAULT 'merge', expected_hash text DEFAULT NULL,
                                              edited_at timestamptz DEFAULT NULL,
                                              client_clock concurrent_edit.vclock DEFAULT NULL)
    RETURNS concurrent_edit.preview_result
    AS 'MODULE_PATHNAME', 'ce_preview_write'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.preview_write(uuid, text, integer, uuid, uuid, text, text, timestamptz, concurrent_edit.vclock) IS
    'Dry run of write() with the same arguments and checks: returns what write() would return (status, version it would get, merged or marked-up content..., semantic_warnings) plus the hunks that would conflict (a JSON array of {hunk, base_start, base_text, ours_start, ours_text, theirs_start, theirs_text}), and stores nothing: no version, no conflict record (conflict_id is NULL), no event. It takes and releases the file''s lock like a write.';
CREATE FUNCTION concurrent_edit.write_many(writes jsonb, strategy text DEFAULT 'merge',
                                           all_or_nothing boolean DEFAULT true)
    RETURNS TABLE (file_id uuid, status text, version integer, content_hash text, conflict_id uuid,
                   conflicts integer, base_version integer, head_version integer,
                   vector_clock concurrent_edit.vclock, stored boolean, hunks jsonb, semantic_warnings jsonb)
    AS 'MODULE_PATHNAME', 'ce_write_many'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.write_many(jsonb, text, boolean) IS
    'Writes several files together: writes is a JSON array of {"file_id", "content", and "base_version", "expected_hash" or "client_clock", and "author" or "session_id" (or both)}. Every file is locked first, in file id order (two calls on overlapping files in any order wait instead of deadlocking; wait-die as for write()). With all_or_nothing (the default), if any file would conflict (or be rejected) nothing is stored, not even a conflict record: every file''s outcome is still returned, with stored false and the hunks. Without it each file is written as write() would. semantic_warnings: as in write_result (never NULL, [] when none). One row per element, in order.';
