-- Every SQLSTATE of class VC raised at the top level (not caught by a PL/pgSQL
-- block), so the server logs each one with its DETAIL: the errors suite of
-- scripts/test.sh checks in the jsonlog that every one is a JSON object. The
-- DETAIL's fields are checked here too (docs/errors.md lists them).
SET client_min_messages = warning;
\i sql/include/helpers.sql
\set p '''e7e7e7e7-0000-0000-0000-000000000001'''
\set alice '''aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'''
\set bob '''bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'''
\set nofile '''e7e7e7e7-0000-0000-0000-0000000000ff'''
SELECT concurrent_edit.create_file(:p, 'errors/a.txt', E'a\nb\nc\n', :alice,
                                   file_id => 'e7e7e7e7-0000-0000-0000-0000000000a1') AS f \gset
SELECT concurrent_edit.create_file(:p, 'errors/gone.txt', 'x', :alice,
                                   file_id => 'e7e7e7e7-0000-0000-0000-0000000000a2') AS gone \gset
SELECT status FROM concurrent_edit.delete_file(:'gone', :alice);
SELECT status FROM concurrent_edit.write(:'f', E'a\nB\nc\n', 1, :alice);
SELECT concurrent_edit.open_session(:alice, :p) AS s1 \gset
SELECT concurrent_edit.open_session(:bob, :p) AS s2 \gset

-- Only the SQLSTATE is shown: the messages name generated ids.
\set VERBOSITY sqlstate
-- VC001 stale_version
SELECT * FROM concurrent_edit.write(:'f', 'x', 1, :alice, strategy => 'fail-fast');
-- VC002 file_deleted
SELECT * FROM concurrent_edit.write(:'gone', 'y', 1, :alice, strategy => 'fail-fast');
-- VC003 path_conflict
SELECT concurrent_edit.create_file(:p, './errors/a.txt', 'z', :alice);
-- VC004 file_locked
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'s1', 'exclusive');
SELECT * FROM concurrent_edit.write(:'f', 'w', 2, session_id => :'s2');
-- VC005 session_invalid
SELECT concurrent_edit.touch_session(:nofile);
-- VC006 version_not_found (read, save_draft)
SELECT * FROM concurrent_edit.read(:'f', 99);
SELECT concurrent_edit.save_draft(:'s2', :'f', 99, 'draft');
-- VC007 file_not_found
SELECT * FROM concurrent_edit.read(:nofile);
-- VC008 conflict_not_open
SELECT concurrent_edit.discard_conflict(:nofile, 'none');
-- VC009 blind_update
CREATE TABLE errors_doc (id int PRIMARY KEY, body text, version int NOT NULL DEFAULT 1);
INSERT INTO errors_doc VALUES (1, 'a', 1);
SELECT concurrent_edit.enable_occ('errors_doc', refuse_blind_writes => true);
UPDATE errors_doc SET body = 'b' WHERE id = 1;
-- VC010 invalid_operation, VC011 dependency_cycle
SELECT * FROM concurrent_edit.order_operations('{}');
SELECT * FROM concurrent_edit.order_operations(
    '[{"opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 1, "offset": 3, "dependencies": ["X_left"]}]');
-- VC012 cursor_expired (the events of this project are older than this transaction)
SELECT concurrent_edit.prune_changes('0 seconds', :p) > 0 AS pruned;
SELECT * FROM concurrent_edit.changes_since(:p, 1);
-- VC013 lock_not_held
SELECT concurrent_edit.extend_lock(:'f', :'s2');
-- VC014 draft_not_found
SELECT * FROM concurrent_edit.commit_draft(:'s2', :'f');
-- VC999 internal_failure: an exception that is not ours gets {"reason": its text}
SELECT concurrent_edit._boundary_probe('std_exception');
\set VERBOSITY default

-- The DETAILs: ids as JSON strings, cursors as JSON strings of digits.
SELECT pg_temp.error_detail(format('SELECT * FROM concurrent_edit.read(%L, 99)', :'f')) AS vc006_read;
SELECT pg_temp.error_detail(format('SELECT concurrent_edit.save_draft(%L, %L, 99, %L)', :'s2', :'f', 'd'))
       - 'session_id' AS vc006_save_draft;
SELECT pg_temp.error_detail(format('SELECT * FROM concurrent_edit.read(%L)', :nofile)) AS vc007;
SELECT d - 'session_id' AS vc014, jsonb_typeof(d -> 'session_id') AS session_id
FROM pg_temp.error_detail(format('SELECT * FROM concurrent_edit.commit_draft(%L, %L)', :'s2', :'f')) d;
SELECT d AS vc012, d ->> 'last_cursor' = concurrent_edit.feed_position(:p)::text AS last_cursor_is_feed_position
FROM pg_temp.error_detail(format('SELECT * FROM concurrent_edit.changes_since(%L, 1)', :p)) d;
SELECT pg_temp.error_detail($$SELECT concurrent_edit._boundary_probe('std_exception')$$) AS vc999;
-- Continuing from last_cursor works.
SELECT count(*) AS after_last_cursor FROM concurrent_edit.changes_since(:p, concurrent_edit.feed_position(:p));

SELECT concurrent_edit.disable_occ('errors_doc');
DROP TABLE errors_doc;
