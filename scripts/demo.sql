-- The concurrent_edit demo: three people and an agent edit one file at once.
-- Runs in any database where the extension exists (psql -f scripts/demo.sql, as a
-- superuser), as often as wanted: each run uses a new project, and the table of
-- step 9 (concurrent_edit_demo_productions) is dropped first if a run left it.
\set QUIET on
\pset footer off
SELECT pg_catalog.quote_literal(gen_random_uuid()) AS project \gset
\set alice '''a0000000-0000-0000-0000-00000000a11c'''
\set bob '''b0000000-0000-0000-0000-000000000b0b'''
\set carol '''c0000000-0000-0000-0000-0000000ca201'''
SET search_path = public, concurrent_edit;  -- for the vclock operators

\echo '=== 1. A file is created (version 1)'
SELECT concurrent_edit.create_file(:project, 'docs\setup.md',
  E'# Setup\nInstall the package.\nRun the server.\nOpen the browser.\nDone.\n', :alice) AS file \gset
SELECT path, version, left(content_hash, 12) AS hash FROM concurrent_edit.read(:'file');

\echo
\echo '=== 2. Alice and Bob both read version 1 and edit different lines'
SELECT status, version FROM concurrent_edit.write(:'file',
  E'# Setup\nInstall the package with apt.\nRun the server.\nOpen the browser.\nDone.\n', 1, :alice);
\echo 'Bob''s base is stale now, but his change merges like git merge-file would:'
SELECT status, version, content FROM concurrent_edit.write(:'file',
  E'# Setup\nInstall the package.\nRun the server.\nOpen the browser at localhost:8080.\nDone.\n', 1, :bob);

\echo
\echo '=== 3. Carol edits the line Alice changed, from version 1: a real conflict'
SELECT status, conflicts, content FROM concurrent_edit.write(:'file',
  E'# Setup\nInstall the package with pip.\nRun the server.\nOpen the browser.\nDone.\n', 1, :carol);
\echo 'Nothing was written; the conflict is recorded for resolution:'
SELECT conflict_id, kind, base_version, ours_version FROM concurrent_edit.list_conflicts(:'file') \gset
SELECT :'kind' AS kind, :base_version AS base_version, :ours_version AS ours_version;
\echo 'One row per conflicting hunk: base, ours (the head Carol met) and theirs (her text):'
SELECT hunk, base_start, base_text, ours_text, theirs_text FROM concurrent_edit.conflict_hunks(:'conflict_id');
\echo 'Carol resolves it hunk by hunk (like picking per hunk in a merge tool): hunk 1 gets a new text.'
SELECT concurrent_edit.resolve_conflict(:'conflict_id',
  hunks => '[{"hunk": 1, "text": "Install the package with apt (or pip).\n"}]', resolved_by => :carol) AS resolved_as_version;
SELECT content FROM concurrent_edit.read(:'file');

\echo
\echo '=== 3b. Bob''s change (version 3) turns out wrong: revert it, keeping everything written after it (git revert)'
SELECT status, version, content FROM concurrent_edit.revert_version(:'file', 3, :alice);

\echo
\echo '=== 4. A client that wants no merge gets a clear error with the data for an HTTP 409'
\set VERBOSITY default
\set ON_ERROR_STOP off
SELECT concurrent_edit.write(:'file', E'stale edit\n', 1, :bob, strategy => 'fail-fast');
\echo 'SQLSTATE' :LAST_ERROR_SQLSTATE
\set ON_ERROR_STOP on

\echo
\echo '=== 5. Sessions and locks: an agent takes an exclusive lock'
SELECT concurrent_edit.open_session(:carol, :project, 'agent-sandbox-7') AS agent \gset
SELECT concurrent_edit.open_session(:bob, :project, 'browser-tab') AS tab \gset
SELECT lock_type, expires_at > now() AS held FROM concurrent_edit.acquire_lock(:'file', :'agent', ttl => '2 minutes');
\echo 'Bob opens the file; his editor is told who holds it:'
SELECT kind, message FROM concurrent_edit.open_file(:'tab', :'file');
\set ON_ERROR_STOP off
SELECT concurrent_edit.write(:'file', E'bob was here\n', 4, session_id => :'tab');
\echo 'SQLSTATE' :LAST_ERROR_SQLSTATE
\set ON_ERROR_STOP on
SELECT concurrent_edit.release_lock(:'file', :'agent') AS agent_released;

\echo
\echo '=== 6. Offline edits: two devices keep the vector clock they read'
SELECT vector_clock AS clock FROM concurrent_edit.read(:'file') \gset
SELECT status, version FROM concurrent_edit.write(:'file',
  E'# Setup (laptop)\nInstall the package with apt (or pip).\nRun the server.\nOpen the browser at localhost:8080.\nDone.\n',
  NULL, :alice, client_clock => :'clock');
SELECT status, version FROM concurrent_edit.write(:'file',
  E'# Setup\nInstall the package with apt (or pip).\nRun the server.\nOpen the browser at localhost:8080.\nDone, enjoy (phone).\n',
  NULL, :bob, client_clock => :'clock');
SELECT content FROM concurrent_edit.read(:'file');

\echo
\echo '=== 7. The merge engine is also a plain SQL function (git-style markers)'
SELECT content, clean, conflicts FROM concurrent_edit.merge3(E'red\ngreen\nblue\n', E'red\nGREEN\nblue\n', E'red\nlime\nblue\n',
  ours_label => 'mine', theirs_label => 'yours');

\echo
\echo '=== 8. Every change is broadcast (NOTIFY, ids only) and replayable by cursor'
SELECT concurrent_edit.channel_name(:project) AS listen_on;
SELECT cursor, event, version FROM concurrent_edit.changes_since(:project, 0);

\echo
\echo '=== 9. Any table: the OCC trigger keeps both full-object saves of a record'
DO $$ BEGIN
  IF to_regclass('concurrent_edit_demo_productions') IS NOT NULL THEN
    PERFORM concurrent_edit.disable_occ('concurrent_edit_demo_productions');
  END IF;
END $$;
SET client_min_messages = warning;
DROP TABLE IF EXISTS concurrent_edit_demo_productions;
RESET client_min_messages;
CREATE TABLE concurrent_edit_demo_productions (id int PRIMARY KEY, version int NOT NULL, doc jsonb);
INSERT INTO concurrent_edit_demo_productions VALUES (1, 5, '{"cameras": [{"id": "cam-1"}], "sources": [], "venue": "Hall A"}');
SELECT concurrent_edit.enable_occ('concurrent_edit_demo_productions', mode => 'merge');
\echo 'User A (read version 5) adds a camera:'
UPDATE concurrent_edit_demo_productions SET doc = '{"cameras": [{"id": "cam-1"}, {"id": "cam-2"}], "sources": [], "venue": "Hall A"}',
       version = 5 WHERE id = 1 RETURNING version;
\echo 'User B (also read version 5) adds a source and moves the venue; without the trigger the camera would be lost:'
UPDATE concurrent_edit_demo_productions SET doc = '{"cameras": [{"id": "cam-1"}], "sources": [{"id": "src-1"}], "venue": "Hall B"}',
       version = 5 WHERE id = 1 RETURNING version, doc;

\echo
\echo '=== 10. Block editors: two replicas split the same block at once'
\echo 'Every node orders the operations the same way and moves the later split onto the new block:'
SELECT o->>'blockId' AS block, o->>'mappedBlockId' AS applied_to, o->>'mappedOffset' AS at_offset, o->>'replicaId' AS replica
FROM jsonb_array_elements(concurrent_edit.resolve_operations('[
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 15, "offset": 60, "replicaId": "phone"},
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 10, "offset": 30, "replicaId": "laptop"}]')->'applied') o;
\echo 'A split racing a join of the same block is refused (fail-closed), with the reason:'
SELECT conflict_type, reason, outcome FROM concurrent_edit.detect_operation_conflicts('[
  {"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 10, "offset": 50},
  {"opCode": "OP_BLOCK_JOIN", "blockId": "X", "timestamp": 5, "targetBlockId": "Y"}]');
