-- The concurrent_edit demo: three people and an agent edit one file at once.
\set QUIET on
\pset footer off
\set project '''d0000000-0000-0000-0000-000000000001'''
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
SELECT concurrent_edit.resolve_conflict(:'conflict_id',
  E'# Setup\nInstall the package with apt (or pip).\nRun the server.\nOpen the browser at localhost:8080.\nDone.\n',
  :carol) AS resolved_as_version;

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
