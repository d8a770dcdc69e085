-- Foundation: schema, constraints, the C++/PostgreSQL boundary, bad input.
\set VERBOSITY terse
SET client_min_messages = warning;
\i sql/include/helpers.sql

-- The extension owns its schema and the six tables.
SELECT n.nspname, e.extname FROM pg_namespace n
JOIN pg_depend d ON d.objid = n.oid AND d.classid = 'pg_namespace'::regclass AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid
WHERE n.nspname = 'concurrent_edit';
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'concurrent_edit' AND c.relkind = 'r' ORDER BY c.relname COLLATE "C";

-- Every object of the extension has a comment (tables, columns, indexes, functions, types...).
SELECT m.missing_comment FROM (
  SELECT pg_describe_object(d.classid, d.objid, 0) AS missing_comment
  FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
  WHERE e.extname = 'concurrent_edit' AND d.deptype = 'e'
    AND obj_description(d.objid, (SELECT relname FROM pg_class WHERE oid = d.classid)) IS NULL) m
ORDER BY m.missing_comment COLLATE "C";
SELECT c.relname || '.' || a.attname AS column_without_comment
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = 'concurrent_edit' AND c.relkind IN ('r', 'v', 'c')
  AND col_description(c.oid, a.attnum) IS NULL
ORDER BY c.relname COLLATE "C", a.attname COLLATE "C";
SELECT i.relname AS index_without_comment
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
WHERE n.nspname = 'concurrent_edit' AND obj_description(i.oid, 'pg_class') IS NULL
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.oid)
ORDER BY i.relname COLLATE "C";

-- Functions written in SQL or PL/pgSQL pin search_path.
SELECT p.oid::regprocedure AS unpinned_function
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE n.nspname = 'concurrent_edit' AND l.lanname IN ('sql', 'plpgsql')
  AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')
ORDER BY p.oid::regprocedure::text COLLATE "C";

-- Every primary and unique key starts with project_id (Citus colocation), but
-- those of global_access (the all-projects grants: a reference table).
SELECT c.relname, i.relname AS key_without_project_id
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'concurrent_edit' AND x.indisunique AND c.relname <> 'global_access'
  AND (SELECT attname FROM pg_attribute WHERE attrelid = c.oid AND attnum = x.indkey[0]) <> 'project_id'
ORDER BY c.relname COLLATE "C", i.relname COLLATE "C";

-- normalize_path
SELECT p, concurrent_edit.normalize_path(p)
FROM (VALUES ('src/main.ts'), ('src\lib\x.ts'), ('./a/./b/'), ('/a//b'), ('a/b/../c'), ('Mixed/Case.TXT')) v(p);
SELECT pg_temp.try($$SELECT concurrent_edit.normalize_path('../etc/passwd')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.normalize_path('./')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.normalize_path(E'a\nb')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.normalize_path(repeat('a', 4097))$$);
SELECT concurrent_edit.normalize_path(NULL) IS NULL AS strict_null;

-- content_hash agrees with PostgreSQL's sha256()
SELECT concurrent_edit.content_hash(t) = encode(sha256(convert_to(t, 'UTF8')), 'hex') AS same
FROM (VALUES (''), ('hello'), (E'line 1\nline 2\n'), ('d' || chr(233) || 'j' || chr(224)), (repeat('x', 100000))) v(t);
-- and gives the FIPS 180-2 test vectors.
SELECT concurrent_edit.content_hash('abc') = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' AS abc,
       concurrent_edit.content_hash('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')
         = '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1' AS two_blocks,
       concurrent_edit.content_hash(repeat('a', 1000000)) = 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0' AS million_a;

-- JIT inlining of the C++ functions' bitcode (the build must not emit constructor
-- aliases, which PostgreSQL's inliner cannot handle): forced on for a scan.
SET jit = on; SET jit_above_cost = 0; SET jit_inline_above_cost = 0; SET jit_optimize_above_cost = 0;
SELECT count(DISTINCT concurrent_edit.content_hash(i::text)) AS hashes,
       count(DISTINCT concurrent_edit.normalize_path('./dir\' || i || '/file')) AS paths
FROM generate_series(1, 20000) i;
RESET jit; RESET jit_above_cost; RESET jit_inline_above_cost; RESET jit_optimize_above_cost;

-- The boundary, direction 1: C++ exceptions become SQL errors with specific SQLSTATEs,
-- and the backend survives every one of them.
SELECT pg_backend_pid() AS pid_before \gset
SELECT kind, pg_temp.try(format('SELECT concurrent_edit._boundary_probe(%L)', kind))
FROM unnest(ARRAY['ok', 'core_error', 'core_limit', 'sql_error', 'bad_alloc', 'length_error',
                  'std_exception', 'unknown', 'no_such_kind']) kind;
-- Uncaught at top level too (the client sees the error, the session goes on).
SELECT concurrent_edit._boundary_probe('core_error');
SELECT concurrent_edit._boundary_probe('unknown');
SELECT concurrent_edit._boundary_probe('bad_alloc');
SELECT pg_backend_pid() = :pid_before AS same_backend;

-- Direction 2: a PostgreSQL error raised while C++ objects are alive reaches the
-- client unchanged (SQLSTATE, message, detail) and the C++ destructors ran.
SELECT concurrent_edit._boundary_probe('destructor_count') AS before \gset
SELECT pg_temp.try($$SELECT concurrent_edit._boundary_probe('pg_error')$$);
SELECT pg_temp.try($$SELECT concurrent_edit._boundary_probe('pg_error_spi')$$);
SELECT concurrent_edit._boundary_probe('pg_error');
-- 3 probes that failed + this one's own count call: 4 destructors ran.
SELECT concurrent_edit._boundary_probe('destructor_count') - :before AS destructors_run;
\set VERBOSITY default
SELECT concurrent_edit._boundary_probe('pg_error');
\set VERBOSITY terse
-- A transaction that saw such an error is aborted, as with any PostgreSQL error.
BEGIN;
SELECT pg_temp.try($$SELECT concurrent_edit._boundary_probe('pg_error')$$);
SELECT 1 AS still_usable_after_caught_error;
COMMIT;

-- Cancellation: statement_timeout interrupts a long C++ loop (57014), destructors run.
SELECT concurrent_edit._boundary_probe('destructor_count') AS before \gset
-- (PL/pgSQL cannot trap a cancel, so the error reaches the client.)
SET statement_timeout = '200ms';
SELECT concurrent_edit._boundary_probe('spin', 60000);
RESET statement_timeout;
SELECT concurrent_edit._boundary_probe('destructor_count') - :before AS destructors_run;
SELECT pg_backend_pid() = :pid_before AS same_backend;

-- Bad input at the boundary: NULL where not allowed, oversized values.
SELECT pg_temp.try($$SELECT concurrent_edit._boundary_probe(NULL)$$);
SELECT pg_temp.try($$SELECT concurrent_edit._boundary_probe('ok', NULL)$$);
SELECT pg_temp.try($$SELECT concurrent_edit._boundary_probe(repeat('k', 65))$$);

-- Constraints of the schema (direct inserts; the API functions come later and
-- compute normalized_path, the path's key, themselves).
INSERT INTO concurrent_edit.files (project_id, id, path, normalized_path, head_hash, head_content, created_by, updated_by)
VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000f1',
        'src\app.ts', concurrent_edit.normalize_path('src\app.ts'), concurrent_edit.content_hash('v1'), 'v1', gen_random_uuid(), gen_random_uuid());
SELECT path, normalized_path FROM concurrent_edit.files WHERE project_id = '00000000-0000-0000-0000-0000000000a1';
-- Another live file at the same normalized path is refused...
SELECT pg_temp.try($$INSERT INTO concurrent_edit.files (project_id, path, normalized_path, head_hash, head_content, created_by, updated_by)
  VALUES ('00000000-0000-0000-0000-0000000000a1', './src/app.ts/', concurrent_edit.normalize_path('./src/app.ts/'), concurrent_edit.content_hash('x'), 'x', gen_random_uuid(), gen_random_uuid())$$, false);
-- The key is a plain column: a row without one is refused.
SELECT pg_temp.try($$INSERT INTO concurrent_edit.files (project_id, path, head_hash, head_content, created_by, updated_by)
  VALUES ('00000000-0000-0000-0000-0000000000a1', 'c.txt', concurrent_edit.content_hash('x'), 'x', gen_random_uuid(), gen_random_uuid())$$, false);
-- ... in another project it is fine, and so is a deleted one in the same project.
SELECT pg_temp.try($$INSERT INTO concurrent_edit.files (project_id, path, normalized_path, head_hash, head_content, created_by, updated_by)
  VALUES ('00000000-0000-0000-0000-0000000000a2', 'src/app.ts', 'src/app.ts', concurrent_edit.content_hash('x'), 'x', gen_random_uuid(), gen_random_uuid())$$);
SELECT pg_temp.try($$INSERT INTO concurrent_edit.files (project_id, path, normalized_path, head_hash, head_content, created_by, updated_by, deleted_at, deleted_by)
  VALUES ('00000000-0000-0000-0000-0000000000a1', 'src/app.ts', 'src/app.ts', concurrent_edit.content_hash('x'), 'x', gen_random_uuid(), gen_random_uuid(), now(), gen_random_uuid())$$);
SELECT pg_temp.try($$INSERT INTO concurrent_edit.files (project_id, path, normalized_path, head_hash, head_content, created_by, updated_by)
  VALUES ('00000000-0000-0000-0000-0000000000a1', 'b.txt', 'b.txt', 'not-a-hash', 'x', gen_random_uuid(), gen_random_uuid())$$, false);
INSERT INTO concurrent_edit.file_versions (project_id, file_id, version, content, content_hash, created_by, bytes)
VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000f1', 1, 'v1',
        concurrent_edit.content_hash('v1'), gen_random_uuid(), 2);
SELECT pg_temp.try($$INSERT INTO concurrent_edit.file_versions (project_id, file_id, version, content, content_hash, created_by, bytes)
  VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000f1', 1, 'again', concurrent_edit.content_hash('again'), gen_random_uuid(), 5)$$);
-- The row checks (one C call per table, docs/reference/foundation.md): every rule
-- of each is refused on its own (23514, naming the constraint); the good rows pass.
SELECT concurrent_edit.is_sha256_hex(concurrent_edit.content_hash('v1')) AS lower,
       concurrent_edit.is_sha256_hex(upper(concurrent_edit.content_hash('v1'))) AS upper,
       concurrent_edit.is_sha256_hex(left(concurrent_edit.content_hash('v1'), 63)) AS short,
       concurrent_edit.is_sha256_hex(concurrent_edit.content_hash('v1') || '0') AS long,
       concurrent_edit.is_sha256_hex(overlay(concurrent_edit.content_hash('v1') placing 'g' from 10)) AS not_hex,
       concurrent_edit.is_sha256_hex(repeat('a', 100000)) AS huge,
       concurrent_edit.is_sha256_hex(NULL) AS null_arg;
SELECT rule, pg_temp.try(format($$INSERT INTO concurrent_edit.files (project_id, path, normalized_path, head_version,
           head_hash, head_content, created_by, updated_by, deleted_at, deleted_by)
         VALUES ('00000000-0000-0000-0000-0000000000a3', %L, %L, %s, concurrent_edit.content_hash('x'), 'x',
                 gen_random_uuid(), gen_random_uuid(), %s, %s)$$, rule, rule, v, at, by), false)
FROM (VALUES ('good', 1, 'NULL', 'NULL'), ('good deleted', 3, 'now()', 'gen_random_uuid()'),
             ('version 0', 0, 'NULL', 'NULL'), ('deleted_at only', 1, 'now()', 'NULL'),
             ('deleted_by only', 1, 'NULL', 'gen_random_uuid()')) x(rule, v, at, by);
SELECT rule, pg_temp.try(format($$INSERT INTO concurrent_edit.file_versions (project_id, file_id, version, content, delta,
           delta_base, depth, bytes, content_hash, created_by)
         VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000f1', %s, %s, %s, %s, %s, %s,
                 concurrent_edit.content_hash('x'), gen_random_uuid())$$, v, c, d, b, dp, n), false)
FROM (VALUES ('good delta', 2, 'NULL', '''\x00''', '1', 1, 0), ('good full', 3, '''x''', 'NULL', 'NULL', 0, 1),
             ('version 0', 0, '''x''', 'NULL', 'NULL', 0, 1), ('neither', 4, 'NULL', 'NULL', 'NULL', 0, 1),
             ('both', 4, '''x''', '''\x00''', '1', 0, 1), ('delta without base', 4, 'NULL', '''\x00''', 'NULL', 1, 1),
             ('base without delta', 4, '''x''', 'NULL', '1', 0, 1), ('base not older', 4, 'NULL', '''\x00''', '4', 1, 1),
             ('full at depth 1', 4, '''x''', 'NULL', 'NULL', 1, 1), ('delta at depth 0', 4, 'NULL', '''\x00''', '1', 0, 1),
             ('negative depth', 4, 'NULL', '''\x00''', '1', -1, 1), ('negative bytes', 4, '''x''', 'NULL', 'NULL', 0, -1))
     x(rule, v, c, d, b, dp, n);
SELECT rule, pg_temp.try(format($$INSERT INTO concurrent_edit.change_feeds (project_id, last_cursor, pruned_through)
         VALUES (gen_random_uuid(), %s, %s)$$, l, p), false)
FROM (VALUES ('good', 5, 5), ('negative cursor', -1, 0), ('negative pruned', 5, -1), ('pruned past last', 5, 6)) x(rule, l, p);
-- The three row checks are internal (owner only); the domain's test is for every role.
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
FROM pg_proc p WHERE p.pronamespace = 'concurrent_edit'::regnamespace
  AND p.proname IN ('is_sha256_hex', '_file_row_ok', '_file_version_row_ok', '_feed_cursors_ok') ORDER BY 1;
INSERT INTO concurrent_edit.edit_sessions (project_id, id, user_id)
VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000c1', gen_random_uuid()),
       ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000c2', gen_random_uuid());
SELECT pg_temp.try($$INSERT INTO concurrent_edit.edit_sessions (project_id, user_id, status)
  VALUES ('00000000-0000-0000-0000-0000000000a1', gen_random_uuid(), 'sleeping')$$, false);
-- Two sessions can share a file (the seed's UNIQUE(file_id) prevented this).
INSERT INTO concurrent_edit.file_locks (project_id, file_id, session_id, holder, lock_type, expires_at)
SELECT '00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000f1', s, gen_random_uuid(), 'shared', now() + interval '1 minute'
FROM unnest(ARRAY['00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-0000000000c2']::uuid[]) s;
SELECT count(*) AS shared_holders FROM concurrent_edit.file_locks WHERE project_id = '00000000-0000-0000-0000-0000000000a1';
SELECT pg_temp.try($$INSERT INTO concurrent_edit.file_locks (project_id, file_id, session_id, holder, lock_type, expires_at)
  VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000f1', '00000000-0000-0000-0000-0000000000c1', gen_random_uuid(), 'bogus', now() + interval '1 minute')$$, false);
-- Locks are leases: the table is unlogged, without foreign keys (their checks would
-- lock and WAL-log the file and session rows). A lock of an unknown session is
-- released by the cleanup (and deleted files and sessions take their locks along).
SELECT c.relname, c.relpersistence FROM pg_class c
WHERE c.oid IN ('concurrent_edit.file_locks'::regclass, 'concurrent_edit.change_pending_locks'::regclass) ORDER BY 1;
INSERT INTO concurrent_edit.file_locks (project_id, file_id, session_id, holder, lock_type, expires_at)
VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000f1', '00000000-0000-0000-0000-00000000dead', gen_random_uuid(), 'shared', now() + interval '1 minute');
SELECT concurrent_edit.cleanup_expired_locks() >= 1 AS released;
SELECT count(*) AS orphans_left FROM concurrent_edit.file_locks WHERE session_id = '00000000-0000-0000-0000-00000000dead';
-- A draft must name an existing base version.
SELECT pg_temp.try($$INSERT INTO concurrent_edit.pending_changes (project_id, session_id, file_id, base_version, content)
  VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-0000000000f1', 7, 'draft')$$, false);
INSERT INTO concurrent_edit.pending_changes (project_id, session_id, file_id, base_version, content)
VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-0000000000f1', 1, 'draft');
-- ... and that version cannot be removed while the draft needs it.
SELECT pg_temp.try($$DELETE FROM concurrent_edit.file_versions WHERE project_id = '00000000-0000-0000-0000-0000000000a1' AND version = 1$$, false);
SELECT pg_temp.try($$INSERT INTO concurrent_edit.conflict_history (project_id, file_id, base_version, ours_version, theirs_content, strategy)
  VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000f1', 1, 1, 'x', 'coin-toss')$$, false);
-- Drafts and locks go with their session.
DELETE FROM concurrent_edit.edit_sessions WHERE id = '00000000-0000-0000-0000-0000000000c1';
SELECT (SELECT count(*) FROM concurrent_edit.pending_changes WHERE project_id = '00000000-0000-0000-0000-0000000000a1') AS drafts,
       (SELECT count(*) FROM concurrent_edit.file_locks WHERE project_id = '00000000-0000-0000-0000-0000000000a1') AS locks;
DELETE FROM concurrent_edit.files WHERE id = '00000000-0000-0000-0000-0000000000f1';
SELECT count(*) AS locks_of_deleted_file FROM concurrent_edit.file_locks WHERE project_id = '00000000-0000-0000-0000-0000000000a1';
-- Leave nothing behind for the other tests (they share the database).
DELETE FROM concurrent_edit.edit_sessions WHERE project_id IN ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a2');
DELETE FROM concurrent_edit.files WHERE project_id IN ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a2');
-- The internal _setting(): a setting's value; an unknown concurrent_edit.* name
-- is 42704 with a JSON DETAIL (before, PostgreSQL's error without one).
SELECT concurrent_edit._setting('concurrent_edit.max_writes_per_file') AS max_writes_per_file;
SELECT pg_temp.try($$SELECT concurrent_edit._setting('concurrent_edit.no_such_setting')$$);
SELECT pg_temp.try($$SELECT concurrent_edit._setting('work_mem')$$);
