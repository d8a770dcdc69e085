-- The concurrent_edit demo: what happens when several people edit one file.
\set QUIET on
\pset footer off
\echo '--- concurrent_edit is installed: its tables'
SELECT c.relname AS table, obj_description(c.oid, 'pg_class') AS holds
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'concurrent_edit' AND c.relkind = 'r' ORDER BY 1;

\echo
\echo '--- Paths are compared in normalized form'
SELECT p AS written_as, concurrent_edit.normalize_path(p) AS normalized
FROM (VALUES ('src\app.ts'), ('./src/app.ts/'), ('src/lib/../app.ts')) v(p);

\echo
\echo '--- Content hashes (the ETag a client sends back with its write)'
SELECT concurrent_edit.content_hash(E'hello\n') AS content_hash;

\echo
\echo '--- Bad input gets a clear error with its own SQLSTATE, never a crash'
\set VERBOSITY default
\set ON_ERROR_STOP off
SELECT concurrent_edit.normalize_path('../../etc/passwd');
\echo 'SQLSTATE' :LAST_ERROR_SQLSTATE
\set ON_ERROR_STOP on
