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
    vector_clock concurrent_edit.vclock
);
COMMENT ON TYPE concurrent_edit.write_result IS
    'Result of write(): status written | unchanged | merged | conflict | overwritten | rejected, the version now at the head (or the head that was met), its hash and content (the marked-up text for a conflict), the conflict id and count.';
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
    'Writes a new version based on base_version (and/or expected_hash, an ETag). Current base: written. Stale base: handled by strategy merge (three-way merge: merged, or conflict recorded and returned), fail-fast (VC001), last-write-wins, first-write-wins, keep-both, timestamp or queue. edited_at (default now) is when the client made the edit, compared with the head by strategy timestamp. client_clock (instead of a base version): the vector clock the edit descends from; the base is the newest version it dominates, a clock dominating the head fast-forwards. See docs/reference/files.md.';
