-- The conflict workflow: hunks, the three texts, resolving with choose (ours,
-- theirs, base, union) or per hunk, discarding, rename conflicts, preview.
\set VERBOSITY terse
SET client_min_messages = warning;
\i sql/include/helpers.sql
\set p '''c0ff1c70-0000-0000-0000-000000000001'''
\set alice '''aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'''
\set bob '''bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'''

-- Seed scenario 2 (same line): Alice writes first, Bob's stale write conflicts.
SELECT concurrent_edit.create_file(:p, 'scenario2.txt', E'Line 1\nLine 2\nLine 3\nLine 4\n', :alice) AS f \gset
SELECT status, version FROM concurrent_edit.write(:'f', E'Line 1\nLine 2A\nLine 3\nLine 4\n', 1, :alice);
SELECT status, conflict_id AS c FROM concurrent_edit.write(:'f', E'Line 1\nLine 2B\nLine 3\nLine 4\n', 1, :bob) \gset
SELECT :'status' AS status;
-- One row per hunk; the three whole texts; versions and hashes in list_conflicts.
SELECT * FROM concurrent_edit.conflict_hunks(:'c');
SELECT base_version, ours_version, theirs_version, base_text, ours_text, theirs_text FROM concurrent_edit.conflict_texts(:'c');
SELECT base_version, ours_version, theirs_version,
       base_hash = concurrent_edit.content_hash(E'Line 1\nLine 2\nLine 3\nLine 4\n') AS base_hash_ok,
       ours_hash = concurrent_edit.content_hash(E'Line 1\nLine 2A\nLine 3\nLine 4\n') AS ours_hash_ok,
       theirs_hash = concurrent_edit.content_hash(E'Line 1\nLine 2B\nLine 3\nLine 4\n') AS theirs_hash_ok
FROM concurrent_edit.list_conflicts(:'f');
-- Exactly one of content, choose and hunks.
SELECT pg_temp.try(format('SELECT concurrent_edit.resolve_conflict(%L)', :'c'));
SELECT pg_temp.try(format('SELECT concurrent_edit.resolve_conflict(%L, %L, choose => %L)', :'c', 'x', 'ours'));
SELECT pg_temp.try(format('SELECT concurrent_edit.resolve_conflict(%L, choose => %L)', :'c', 'mine'));
-- Resolved with choose => 'theirs' (git checkout --theirs): Bob's line wins.
SELECT concurrent_edit.resolve_conflict(:'c', choose => 'theirs', resolved_by => :alice) AS version;
SELECT content FROM concurrent_edit.read(:'f');
SELECT resolved_by = :alice AS by_alice, resolution_version, discarded FROM concurrent_edit.list_conflicts(:'f', include_resolved => true);
SELECT pg_temp.try(format('SELECT concurrent_edit.resolve_conflict(%L, choose => %L)', :'c', 'ours'));

-- The other choices on the same conflict shape.
CREATE FUNCTION pg_temp.conflict_on(p uuid, path text, choice text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE f uuid; c uuid;
BEGIN
    f := concurrent_edit.create_file(p, path, E'Line 1\nLine 2\nLine 3\n', 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa');
    PERFORM concurrent_edit.write(f, E'Line 1\nLine 2A\nLine 3\n', 1, 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa');
    SELECT w.conflict_id INTO c FROM concurrent_edit.write(f, E'Line 1\nLine 2B\nLine 3\n', 1, 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb') w;
    PERFORM concurrent_edit.resolve_conflict(c, choose => choice);
    RETURN (SELECT r.content FROM concurrent_edit.read(f) r);
END $$;
SELECT choice, pg_temp.conflict_on(:p, 'choose-' || choice || '.txt', choice) AS content
FROM unnest(ARRAY['ours', 'base', 'union']) choice;

-- Per-hunk mixed resolution: two hunks, the first from theirs, the second a new text.
SELECT concurrent_edit.create_file(:p, 'hunks.txt', E'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n', :alice) AS g \gset
SELECT status FROM concurrent_edit.write(:'g', E'a\nB alice\nc\nd\ne\nf\ng\nh\ni\nj\nK alice\nl\n', 1, :alice);
SELECT conflict_id AS c2 FROM concurrent_edit.write(:'g', E'a\nB bob\nc\nd\ne\nf\ng\nh\ni\nj\nK bob\nl\n', 1, :bob) \gset
SELECT hunk, base_start, base_text, ours_text, theirs_text FROM concurrent_edit.conflict_hunks(:'c2');
SELECT pg_temp.try(format('SELECT concurrent_edit.resolve_conflict(%L, hunks => %L)', :'c2', '[{"hunk": 1, "choose": "theirs"}]'));
SELECT pg_temp.try(format('SELECT concurrent_edit.resolve_conflict(%L, hunks => %L)', :'c2', '[{"hunk": 1, "choose": "theirs"}, {"hunk": 1, "choose": "ours"}]'));
SELECT pg_temp.try(format('SELECT concurrent_edit.resolve_conflict(%L, hunks => %L)', :'c2', '[{"hunk": 3, "choose": "theirs"}]'));
SELECT pg_temp.try(format('SELECT concurrent_edit.resolve_conflict(%L, hunks => %L)', :'c2', '{"hunk": 1}'));
SELECT concurrent_edit.resolve_conflict(:'c2', hunks => '[{"hunk": 1, "choose": "theirs"}, {"hunk": 2, "text": "K both"}]',
                                        resolved_by => :bob) AS version;
SELECT content FROM concurrent_edit.read(:'g');

-- A resolution made after the head moved is merged onto the head, as before.
SELECT conflict_id AS c3 FROM concurrent_edit.write(:'g', E'a\nB carol\nc\nd\ne\nf\ng\nh\ni\nj\nK both\nl\n', 2, :bob) \gset
SELECT status, version FROM concurrent_edit.write(:'g', E'a\nB bob\nc\nd\ne\nf\ng\nh\ni\nj\nK both\nl\nm\n', 3, :alice);
SELECT concurrent_edit.resolve_conflict(:'c3', choose => 'theirs') AS version;
SELECT content FROM concurrent_edit.read(:'g');

-- Discard: closed without writing, recorded, and an event is sent.
SELECT conflict_id AS c4, version AS head FROM concurrent_edit.write(:'g', E'a\nB dave\nc\nd\ne\nf\ng\nh\ni\nj\nK both\nl\nm\n', 2, :bob) \gset
SELECT concurrent_edit.discard_conflict(:'c4', 'superseded by the review') AS discarded;
SELECT head_version = :head AS head_unchanged FROM concurrent_edit.files WHERE id = :'g';
SELECT discarded, discard_reason, resolution_version, resolved_at IS NOT NULL AS closed
FROM concurrent_edit.list_conflicts(:'g', include_resolved => true) WHERE conflict_id = :'c4';
SELECT event, details ->> 'reason' AS reason FROM concurrent_edit.changes_since(:p, 0) WHERE event LIKE 'conflict%' ORDER BY cursor DESC LIMIT 1;
SELECT pg_temp.try(format('SELECT concurrent_edit.discard_conflict(%L, %L)', :'c4', 'again'));
SELECT pg_temp.try(format('SELECT concurrent_edit.conflict_hunks(%L)', gen_random_uuid()), false);

-- Preview: what write() would do, and nothing stored: no version, no conflict record, no event.
SELECT count(*) AS versions FROM concurrent_edit.file_versions WHERE project_id = :p \gset
SELECT count(*) AS conflicts FROM concurrent_edit.conflict_history WHERE project_id = :p \gset
SELECT max(cursor) AS cursor FROM concurrent_edit.changes_since(:p, 0) \gset
SELECT status, version, conflict_id, conflicts, jsonb_array_length(hunks) AS hunks, hunks -> 0 -> 'theirs_text' AS theirs
FROM concurrent_edit.preview_write(:'g', E'a\nB erin\nc\nd\ne\nf\ng\nh\ni\nj\nK both\nl\n', 2, :bob);
SELECT status, version, content, hunks
FROM concurrent_edit.preview_write(:'g', E'a\nB bob\nc\nd\ne\nf\ng\nh\ni\nj\nK both\nl\nm\nn\n', 4, :bob);
SELECT (SELECT count(*) FROM concurrent_edit.file_versions WHERE project_id = :p) = :versions AS no_version,
       (SELECT count(*) FROM concurrent_edit.conflict_history WHERE project_id = :p) = :conflicts AS no_conflict;
SELECT count(*) AS no_event FROM concurrent_edit.changes_since(:p, :cursor);
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.preview_write(%L, %L, 1, %L, strategy => %L)', :'g', 'x', :bob, 'fail-fast'), false);

-- Rename conflicts: two renames from the same view; the second is a conflict, never a silent win.
SELECT concurrent_edit.create_file(:p, 'docs/plan.md', E'plan\n', :alice) AS r \gset
SELECT path, status FROM concurrent_edit.rename_file(:'r', 'docs/plan-v2.md', :alice, expected_path => 'docs/plan.md');
SELECT path, old_path, status, conflict_id AS rc FROM concurrent_edit.rename_file(:'r', 'docs/roadmap.md', :bob,
       expected_path => 'docs/plan.md') \gset
SELECT :'path' AS path, :'status' AS status;
SELECT kind, base_version, ours_version, details - 'file_id' AS details FROM concurrent_edit.list_conflicts(:'r');
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.rename_file(%L, %L, %L, base_version => 1, strategy => %L)',
                          :'r', 'docs/x.md', :bob, 'fail-fast'));
SELECT path, status FROM concurrent_edit.rename_file(:'r', 'docs/forced.md', :bob, base_version => 1, strategy => 'last-write-wins');
SELECT pg_temp.try(format('SELECT concurrent_edit.resolve_conflict(%L, %L)', :'rc', 'text'));
-- The forced rename came after the conflict: 'theirs' does not undo it (VC001,
-- naming both paths; before, the file moved to the proposed path and the later
-- rename, acknowledged to its caller, was lost). 'ours' keeps it.
SELECT pg_temp.try(format('SELECT concurrent_edit.resolve_conflict(%L, choose => %L)', :'rc', 'theirs'), false);
SELECT d ->> 'current_path' AS current_path, d ->> 'conflict_current_path' AS conflict_saw, d ->> 'proposed_path' AS proposed
FROM pg_temp.error_detail(format('SELECT concurrent_edit.resolve_conflict(%L, choose => %L)', :'rc', 'theirs')) d;
SELECT concurrent_edit.resolve_conflict(:'rc', choose => 'ours') AS version;
SELECT path FROM concurrent_edit.files WHERE id = :'r';
-- A path longer than the 64 bytes an error's DETAIL quotes: the conflict keeps it
-- whole, and 'theirs' moves the file to it (it moved to the first 64 bytes and
-- '...', found by review).
\set long '''docs/1f2f8e66/chapter-01-introduction-to-the-concurrent-editing-model.md'''
SELECT concurrent_edit.create_file(:p, :long, E'a\n', :alice) AS lp \gset
SELECT status FROM concurrent_edit.rename_file(:'lp', :long || '.bak', :alice, expected_path => :long);
SELECT conflict_id AS lpc FROM concurrent_edit.rename_file(:'lp', replace(:long, '01', '02'), :bob,
       expected_path => :long) \gset
SELECT details->>'proposed_path' = replace(:long, '01', '02') AS whole FROM concurrent_edit.list_conflicts(:'lp');
SELECT concurrent_edit.resolve_conflict(:'lpc', choose => 'theirs') IS NOT NULL AS resolved;
SELECT path = replace(:long, '01', '02') AS moved_to_the_whole_path FROM concurrent_edit.files WHERE id = :'lp';

-- A resolution that writes is refused while a session holds an exclusive lock on
-- the file (VC004, as write() without a session), and succeeds once it is released.
SELECT concurrent_edit.create_file(:p, 'locked.txt', E'l1\nl2\nl3\n', :alice) AS lf \gset
SELECT status FROM concurrent_edit.write(:'lf', E'l1\nl2 alice\nl3\n', 1, :alice);
SELECT conflict_id AS lc FROM concurrent_edit.write(:'lf', E'l1\nl2 bob\nl3\n', 1, :bob) \gset
SELECT concurrent_edit.open_session(:alice, :p) AS ls \gset
SELECT lock_type FROM concurrent_edit.acquire_lock(:'lf', :'ls', 'exclusive');
SELECT pg_temp.try(format('SELECT concurrent_edit.resolve_conflict(%L, choose => %L)', :'lc', 'theirs'), false);
SELECT head_version AS unchanged FROM concurrent_edit.files WHERE id = :'lf';
-- The rename conflict's 'theirs' (a move) too; 'ours' writes nothing and closes it.
SELECT concurrent_edit.create_file(:p, 'lr/a.txt', E'a\n', :alice) AS lr \gset
SELECT status FROM concurrent_edit.rename_file(:'lr', 'lr/b.txt', :alice, expected_path => 'lr/a.txt');
SELECT conflict_id AS lrc FROM concurrent_edit.rename_file(:'lr', 'lr/c.txt', :bob, expected_path => 'lr/a.txt') \gset
SELECT lock_type FROM concurrent_edit.acquire_lock(:'lr', :'ls', 'exclusive');
SELECT pg_temp.try(format('SELECT concurrent_edit.resolve_conflict(%L, choose => %L)', :'lrc', 'theirs'), false);
SELECT path AS not_moved FROM concurrent_edit.files WHERE id = :'lr';
SELECT concurrent_edit.release_lock(:'lf', :'ls') AS released;
SELECT concurrent_edit.resolve_conflict(:'lc', choose => 'theirs') AS version;

-- A content conflict met before the file was deleted does not bring it back (VC002);
-- a delete conflict (a write to the deleted file) restores it, announced as
-- created again (restored) before its new version.
SELECT concurrent_edit.create_file(:p, 'gone.txt', E'g1\ng2\n', :alice) AS gf \gset
SELECT status FROM concurrent_edit.write(:'gf', E'g1\ng2 alice\n', 1, :alice);
SELECT conflict_id AS gc FROM concurrent_edit.write(:'gf', E'g1\ng2 bob\n', 1, :bob) \gset
SELECT status FROM concurrent_edit.delete_file(:'gf', :alice);
SELECT pg_temp.try(format('SELECT concurrent_edit.resolve_conflict(%L, choose => %L)', :'gc', 'theirs'));
SELECT deleted_at IS NOT NULL AS still_deleted FROM concurrent_edit.files WHERE id = :'gf';
SELECT max(cursor) AS before_restore FROM concurrent_edit.changes_since(:p, 0) \gset
SELECT status, conflict_id AS dc FROM concurrent_edit.write(:'gf', E'g1\ng2 carol\n', 2, :bob) \gset
SELECT :'status' AS status;
SELECT concurrent_edit.resolve_conflict(:'dc', content => E'g1\ng2 carol\n') AS version;
SELECT deleted_at IS NULL AS live FROM concurrent_edit.files WHERE id = :'gf';
SELECT event, version, path, details ->> 'restored' AS restored, details ? 'conflict_id' AS names_conflict
FROM concurrent_edit.changes_since(:p, :before_restore) ORDER BY cursor;
-- A delete conflict's 'ours' is the delete: the file stays deleted and nothing is
-- written (the conflict has no hunks: the other choices restore the proposed edit).
SELECT concurrent_edit.create_file(:p, 'kept-deleted.txt', E'k1\n', :alice) AS kf \gset
SELECT status FROM concurrent_edit.delete_file(:'kf', :alice);
SELECT conflict_id AS kc FROM concurrent_edit.write(:'kf', E'k1 bob\n', 1, :bob) \gset
SELECT count(*) AS hunks FROM concurrent_edit.conflict_hunks(:'kc');
SELECT concurrent_edit.resolve_conflict(:'kc', choose => 'ours') AS version;
SELECT deleted_at IS NOT NULL AS still_deleted, head_version FROM concurrent_edit.files WHERE id = :'kf';
SELECT resolution_version, discarded FROM concurrent_edit.list_conflicts(:'kf', include_resolved => true);
-- From an older base, a delete conflict has hunks (base against the deleted head):
-- 'ours' for the whole conflict still keeps the delete; per hunk, it restores.
SELECT concurrent_edit.create_file(:p, 'kept-deleted-2.txt', E'a\nb\nc\n', :alice) AS kf2 \gset
SELECT status FROM concurrent_edit.write(:'kf2', E'A\nb\nc\n', 1, :alice);
SELECT status FROM concurrent_edit.delete_file(:'kf2', :alice);
SELECT conflict_id AS kc2 FROM concurrent_edit.write(:'kf2', E'X\nb\nc\n', 1, :bob) \gset
SELECT conflict_id AS kc3 FROM concurrent_edit.write(:'kf2', E'Y\nb\nc\n', 1, :bob) \gset
SELECT count(*) AS hunks FROM concurrent_edit.conflict_hunks(:'kc2');
SELECT concurrent_edit.resolve_conflict(:'kc2', choose => 'ours') AS version;
SELECT deleted_at IS NOT NULL AS still_deleted FROM concurrent_edit.files WHERE id = :'kf2';
SELECT concurrent_edit.resolve_conflict(:'kc3', hunks => '[{"hunk": 1, "choose": "ours"}]') AS version;
SELECT deleted_at IS NULL AS restored, content FROM concurrent_edit.read(:'kf2');
-- A delete conflict of a file restored and deleted again since does not restore it
-- a second time over the versions written in between (VC002).
SELECT concurrent_edit.create_file(:p, 'deleted-twice.txt', E'L1\nL2\nL3\n', :alice) AS tf \gset
SELECT status FROM concurrent_edit.delete_file(:'tf', :alice);
SELECT conflict_id AS tb FROM concurrent_edit.write(:'tf', E'L1 bob\nL2\nL3\n', 1, :bob) \gset
SELECT conflict_id AS tc FROM concurrent_edit.write(:'tf', E'L1\nL2\nL3 carol\n', 1, :bob) \gset
SELECT concurrent_edit.resolve_conflict(:'tb', choose => 'theirs') AS version;
SELECT status, version FROM concurrent_edit.write(:'tf', E'L1 bob\nL2 alice\nL3\n', 2, :alice);
SELECT status FROM concurrent_edit.delete_file(:'tf', :alice);
SELECT pg_temp.try(format('SELECT concurrent_edit.resolve_conflict(%L, choose => %L)', :'tc', 'theirs'));
SELECT deleted_at IS NOT NULL AS still_deleted, head_version FROM concurrent_edit.files WHERE id = :'tf';
SELECT content FROM concurrent_edit.read(:'tf', 3);
-- A rename makes no version: a reader of the version after a rename passes the
-- path it read (expected_path decides over base_version); a rename to the path the
-- file already has changes nothing and is no conflict.
SELECT concurrent_edit.create_file(:p, 'docs/a.md', E'a\n', :alice) AS rn \gset
SELECT path, status FROM concurrent_edit.rename_file(:'rn', 'docs/b.md', :alice, base_version => 1);
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.rename_file(%L, %L, %L, base_version => 1, strategy => %L)',
                          :'rn', 'docs/c.md', :bob, 'fail-fast'), false);
SELECT path, status FROM concurrent_edit.rename_file(:'rn', 'docs/c.md', :bob, expected_path => 'docs/b.md', base_version => 1);
SELECT path, status, conflict_id IS NULL AS no_conflict
FROM concurrent_edit.rename_file(:'rn', 'docs/c.md', :alice, expected_path => 'docs/b.md');
SELECT count(*) AS rename_conflicts FROM concurrent_edit.list_conflicts(:'rn');
