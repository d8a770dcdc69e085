-- Revert: a version's change undone on top of the head (git revert); an author's
-- changes undone.
\set VERBOSITY terse
SET client_min_messages = warning;
\i sql/include/helpers.sql
\set p '''2e7e2700-0000-0000-0000-000000000001'''
\set alice '''aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'''
\set bob '''bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'''
\set carol '''cccccccc-cccc-cccc-cccc-cccccccccccc'''

SELECT concurrent_edit.create_file(:p, 'notes.txt', E'Line 1\nLine 2\nLine 3\nLine 4\nLine 5\n', :alice) AS f \gset
SELECT version FROM concurrent_edit.write(:'f', E'Line 1 by bob\nLine 2\nLine 3\nLine 4\nLine 5\n', 1, :bob);
SELECT version FROM concurrent_edit.write(:'f', E'Line 1 by bob\nLine 2\nLine 3 by alice\nLine 4\nLine 5\n', 2, :alice);
SELECT version FROM concurrent_edit.write(:'f', E'Line 1 by bob\nLine 2\nLine 3 by alice\nLine 4\nLine 5 by bob\n', 3, :bob);
-- Revert a middle version (Bob's first edit): later edits stay.
SELECT status, version, base_version, content FROM concurrent_edit.revert_version(:'f', 2, :carol);
SELECT created_by = :carol AS by_carol FROM concurrent_edit.history(:'f') WHERE is_head;
-- Nothing left to undo: unchanged.
SELECT status, version FROM concurrent_edit.revert_version(:'f', 2, :carol);
-- Reverting the head version: a plain write of the version before it.
SELECT status, version, content FROM concurrent_edit.revert_version(:'f', 5, :carol);
-- A revert that meets a later change of the same line is a recorded conflict.
SELECT version FROM concurrent_edit.write(:'f', E'Line 1 by bob\nLine 2\nLine 3 rewritten\nLine 4\nLine 5 by bob\n', 6, :alice);
SELECT status, version, conflict_id IS NOT NULL AS recorded, content FROM concurrent_edit.revert_version(:'f', 3, :carol);
SELECT conflict_id AS c FROM concurrent_edit.list_conflicts(:'f') \gset
SELECT base_version, ours_version, theirs_version FROM concurrent_edit.list_conflicts(:'f');
SELECT hunk, base_text, ours_text, theirs_text FROM concurrent_edit.conflict_hunks(:'c');
SELECT concurrent_edit.resolve_conflict(:'c', choose => 'theirs', resolved_by => :carol) AS version;
SELECT content FROM concurrent_edit.read(:'f');

-- Revert an author: every change of Bob, newest first, each as a version.
SELECT concurrent_edit.create_file(:p, 'b.txt', E'a\nb\nc\nd\n', :alice) AS g \gset
SELECT version FROM concurrent_edit.write(:'g', E'A by bob\nb\nc\nd\n', 1, :bob);
SELECT version FROM concurrent_edit.write(:'g', E'A by bob\nb\nC by alice\nd\n', 2, :alice);
SELECT version FROM concurrent_edit.write(:'g', E'A by bob\nb\nC by alice\nD by bob\n', 3, :bob);
SELECT status, version, base_version FROM concurrent_edit.revert_author(:'g', :bob, reverted_by => :carol);
SELECT content FROM concurrent_edit.read(:'g');
-- since: only Bob's changes after a time (none here).
SELECT count(*) AS reverted FROM concurrent_edit.revert_author(:'g', :bob, since => now() + interval '1 hour');
-- ... and from version 4's time: only version 4 (already reverted above), not
-- version 2 as well.
SELECT status, version FROM concurrent_edit.revert_author(:'g', :bob,
    since => (SELECT created_at FROM concurrent_edit.file_versions WHERE file_id = :'g' AND version = 4));

-- Bad input.
SELECT pg_temp.try(format('SELECT concurrent_edit.revert_version(%L, 99, %L)', :'g', :bob), false);
SELECT pg_temp.try(format('SELECT concurrent_edit.revert_version(%L, 0, %L)', :'g', :bob), false);
SELECT pg_temp.try(format('SELECT concurrent_edit.revert_version(%L, 2)', :'g'));

-- After retention removed the version before one: that version cannot be
-- reverted (its change is not known). revert_version says so (VC006, naming the
-- missing version); revert_author refuses before reverting anything, naming the
-- versions it cannot revert, and reverts the newer ones when since leaves those
-- out. (Before, both failed on "version 4 does not exist", revert_author after
-- reverting the newer versions, which its error rolled back.)
SELECT concurrent_edit.create_file(:p, 'kept.txt', E'1\n2\n3\n4\n5\n6\n7\n', :bob) AS k \gset
SELECT version FROM concurrent_edit.write(:'k', E'1 b\n2\n3\n4\n5\n6\n7\n', 1, :bob);
SELECT version FROM concurrent_edit.write(:'k', E'1 b\n2 b\n3\n4\n5\n6\n7\n', 2, :bob);
SELECT version FROM concurrent_edit.write(:'k', E'1 b\n2 b\n3 b\n4\n5\n6\n7\n', 3, :bob);
SELECT version FROM concurrent_edit.write(:'k', E'1 b\n2 b\n3 b\n4 b\n5\n6\n7\n', 4, :bob);
SELECT version FROM concurrent_edit.write(:'k', E'1 b\n2 b\n3 b\n4 b\n5 b\n6\n7\n', 5, :bob);
SELECT version FROM concurrent_edit.write(:'k', E'1 b\n2 b\n3 b\n4 b\n5 b\n6 b\n7\n', 6, :bob);
SELECT concurrent_edit.prune_history(:'k', 3) AS removed;
SELECT string_agg(version::text, ',' ORDER BY version) AS kept FROM concurrent_edit.history(:'k');
SELECT pg_temp.try(format('SELECT concurrent_edit.revert_version(%L, 5, %L)', :'k', :carol));
SELECT pg_temp.try(format('SELECT concurrent_edit.revert_author(%L, %L)', :'k', :bob));
SELECT head_version, (SELECT count(*) FROM concurrent_edit.history(:'k')) AS versions
FROM concurrent_edit.files WHERE id = :'k';
-- The newer ones: since after version 5 was made.
SELECT status, version, base_version FROM concurrent_edit.revert_author(:'k', :bob, reverted_by => :carol,
    since => (SELECT created_at FROM concurrent_edit.file_versions WHERE file_id = :'k' AND version = 6));
SELECT content FROM concurrent_edit.read(:'k');
