-- Versioned writes: every status and strategy, ETags, errors carrying data,
-- history, delete/rename conflicts, the conflict workflow and the change feed.
\set VERBOSITY terse
SET client_min_messages = warning;
-- Events left in the pending tables (REPEATABLE READ) wait for the next READ
-- COMMITTED commit of their project here: no on-demand sequencer takes them in
-- between (TAP 018_sequencer covers it).
SET concurrent_edit.on_demand_sequencer = off;
\i sql/include/helpers.sql
\set p '''11111111-1111-1111-1111-111111111111'''
\set alice '''aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'''
\set bob '''bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'''

-- create_file: version 1
SELECT concurrent_edit.create_file(:p, 'src\notes.txt', E'Line 1\nLine 2\nLine 3\nLine 4\n', :alice) AS f \gset
SELECT content, version, content_hash = concurrent_edit.content_hash(content) AS hash_ok, created_by = :alice AS by_alice, path
FROM concurrent_edit.read(:'f');
SELECT path, normalized_path, head_version FROM concurrent_edit.files WHERE id = :'f';

-- Current base: written, version + 1; the same content again: unchanged.
SELECT status, version, conflicts, base_version, head_version
FROM concurrent_edit.write(:'f', E'Line 1\nLine 2\nLine 3\nLine 4\nLine 5\n', 1, :alice);
SELECT status, version FROM concurrent_edit.write(:'f', E'Line 1\nLine 2\nLine 3\nLine 4\nLine 5\n', 2, :alice);
SELECT version, created_by = :alice AS by_alice, bytes, is_head FROM concurrent_edit.history(:'f');

-- Seed scenario 1: two users edit different lines from the same base: merged.
-- (Lines 2 and 4: git treats changes to adjacent lines as a conflict, and so do we.)
SELECT status, version FROM concurrent_edit.write(:'f', E'Line 1\nLine 2A\nLine 3\nLine 4\nLine 5\n', 2, :alice);
SELECT status, version, content FROM concurrent_edit.write(:'f', E'Line 1\nLine 2\nLine 3\nLine 4B\nLine 5\n', 2, :bob);
-- Adjacent lines (2 and 3) conflict, as in git.
SELECT status, conflicts, content FROM concurrent_edit.write(:'f', E'Line 1\nLine 2A\nLine 3C\nLine 4\nLine 5\n', 2, :bob);
-- Seed scenario 3: a line inserted above another user's edit merges.
SELECT status, version FROM concurrent_edit.write(:'f', E'Line 1\nLine 2A\nLine 3 edited\nLine 4B\nLine 5\n', 4, :alice);
SELECT status, version, content FROM concurrent_edit.write(:'f', E'Line 1\nNew line\nLine 2A\nLine 3\nLine 4B\nLine 5\n', 4, :bob);

-- Seed scenario 2: both edit the same line: conflict, nothing written, recorded.
SELECT status, version FROM concurrent_edit.write(:'f', E'Line 1\nNew line\nLine 2 by alice\nLine 3 edited\nLine 4B\nLine 5\n', 6, :alice);
SELECT status, version, conflicts, content, conflict_id IS NOT NULL AS has_conflict_id, base_version, head_version
FROM concurrent_edit.write(:'f', E'Line 1\nNew line\nLine 2 by bob\nLine 3 edited\nLine 4B\nLine 5\n', 6, :bob);
SELECT head_version FROM concurrent_edit.files WHERE id = :'f';
SELECT conflict_id AS c, kind, base_version, ours_version, strategy, conflicts, created_by = :bob AS by_bob,
       details -> 'regions' AS regions, details -> 'labels' AS labels
FROM concurrent_edit.list_conflicts(:'f') ORDER BY created_at DESC LIMIT 1 \gset
SELECT :'kind' AS kind, :base_version AS base, :ours_version AS ours, :'strategy' AS strategy, :conflicts AS conflicts,
       :'by_bob' AS by_bob, :'regions' AS regions, :'labels' AS labels;
SELECT theirs_content FROM concurrent_edit.conflict_history WHERE id = :'c';
-- Resolve it on top of the head (which did not move): a new version.
SELECT concurrent_edit.resolve_conflict(:'c', E'Line 1\nNew line\nLine 2 by alice and bob\nLine 3 edited\nLine 4B\nLine 5\n', :bob) AS resolved_version;
-- The adjacent-lines conflict is still open.
SELECT count(*) AS open_conflicts FROM concurrent_edit.list_conflicts(:'f');
SELECT resolved_by = :bob AS by_bob, resolution_version FROM concurrent_edit.list_conflicts(:'f', include_resolved => true);
SELECT pg_temp.try(format('SELECT concurrent_edit.resolve_conflict(%L, %L, %L)', :'c', 'again', :bob));

-- A conflict resolved after the head moved on: the resolution is merged onto it.
SELECT concurrent_edit.create_file(:p, 'b.txt', E'a\nb\nc\nd\ne\n', :alice) AS g \gset
SELECT status FROM concurrent_edit.write(:'g', E'a\nB1\nc\nd\ne\n', 1, :alice);
SELECT conflict_id AS c2 FROM concurrent_edit.write(:'g', E'a\nB2\nc\nd\ne\n', 1, :bob) \gset
SELECT status, version FROM concurrent_edit.write(:'g', E'a\nB1\nc\nd\nE\n', 2, :alice);
SELECT concurrent_edit.resolve_conflict(:'c2', E'a\nB1+B2\nc\nd\ne\n', :bob) AS v;
SELECT content FROM concurrent_edit.read(:'g');

-- ETags: expected_hash instead of a version.
SELECT content_hash AS h3 FROM concurrent_edit.read(:'g', 3) \gset
SELECT content_hash AS h1 FROM concurrent_edit.read(:'g', 1) \gset
SELECT status, version FROM concurrent_edit.write(:'g', E'a\nB1+B2\nc\nd\nE\nf\n', NULL, :alice, expected_hash => :'h3');
SELECT status, version, content FROM concurrent_edit.write(:'g', E'zero\na\nb\nc\nd\ne\n', NULL, :bob, expected_hash => :'h1');
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, NULL, %L, expected_hash => %L)', :'g', 'x', :bob, repeat('0', 64)), false);
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, NULL, %L, expected_hash => %L)', :'g', 'x', :bob, 'not-a-hash'));

-- Errors carry data: fail-fast on a stale base (VC001) with a JSON DETAIL.
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, 1, %L, strategy => %L)', :'g', 'x', :bob, 'fail-fast'), false);
SELECT d - 'last_modified_at' - 'file_id' AS detail, d ->> 'file_id' = :'g' AS names_file, d ? 'last_modified_at' AS has_time, d ->> 'last_modified_by' = :bob AS last_by_bob
FROM pg_temp.error_detail(format('SELECT concurrent_edit.write(%L, %L, 1, %L, strategy => %L)', :'g', 'x', :bob, 'fail-fast')) d;
-- fail-fast with a current base writes.
SELECT status, version FROM concurrent_edit.write(:'g', E'ff\n', 6, :bob, strategy => 'fail-fast');

-- The other strategies on a stale base.
SELECT concurrent_edit.create_file(:p, 's.txt', E'one\ntwo\nthree\n', :alice) AS s \gset
SELECT status FROM concurrent_edit.write(:'s', E'one\nTWO-alice\nthree\n', 1, :alice);
SELECT status, version, content FROM concurrent_edit.write(:'s', E'one\nTWO-bob\nthree\n', 1, :bob, strategy => 'first-write-wins');
SELECT status, version, content FROM concurrent_edit.write(:'s', E'one\nTWO-bob\nthree\nfour\n', 1, :bob, strategy => 'keep-both');
SELECT status, version, content FROM concurrent_edit.write(:'s', E'ONE\nTWO-queue\nthree\nfour\n', 2, :bob, strategy => 'queue');
-- timestamp: conflicting hunks go to the newer side; the other side's separate edits still merge.
SELECT status, version, content FROM concurrent_edit.write(:'s', E'ONE\nTWO-old\nthree\nfour\nfive\n', 3, :bob,
       strategy => 'timestamp', edited_at => '2000-01-01 00:00:00+00');
SELECT status, version, content FROM concurrent_edit.write(:'s', E'ONE\nTWO-new\nthree\nfour\nfive\nsix\n', 4, :bob,
       strategy => 'timestamp');
SELECT status, version, content FROM concurrent_edit.write(:'s', E'last\n', 1, :bob, strategy => 'last-write-wins');
SELECT status, version FROM concurrent_edit.write(:'s', E'last\n', 2, :bob, strategy => 'last-write-wins');
SELECT status, version FROM concurrent_edit.write(:'s', E'one\n', 7, :bob, strategy => 'merge');
SELECT version, created_by = :alice AS by_alice FROM concurrent_edit.history(:'s') ORDER BY version;

-- Sessions: the author comes from the session; the session must be open and in the project.
INSERT INTO concurrent_edit.edit_sessions (project_id, id, user_id) VALUES
  (:p, '5e551011-0000-0000-0000-000000000001', :bob),
  ('22222222-2222-2222-2222-222222222222', '5e551011-0000-0000-0000-000000000002', :bob);
INSERT INTO concurrent_edit.edit_sessions (project_id, id, user_id, status, closed_at) VALUES
  (:p, '5e551011-0000-0000-0000-000000000003', :bob, 'closed', now());
SELECT status, version FROM concurrent_edit.write(:'s', E'by session\n', 8, session_id => '5e551011-0000-0000-0000-000000000001');
SELECT created_by = :bob AS author_from_session, session_id FROM concurrent_edit.file_versions WHERE file_id = :'s' AND version = 9;
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, 9, session_id => %L)', :'s', 'x', '5e551011-0000-0000-0000-000000000002'));
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, 9, session_id => %L)', :'s', 'x', '5e551011-0000-0000-0000-000000000003'));
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, 9, session_id => %L)', :'s', 'x', '5e551011-0000-0000-0000-00000000000f'));
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, 9, %L, %L)', :'s', 'x', :alice, '5e551011-0000-0000-0000-000000000001'), false);

-- A file another session holds an exclusive lock on is refused (VC004); its holder may write.
INSERT INTO concurrent_edit.edit_sessions (project_id, id, user_id) VALUES (:p, '5e551011-0000-0000-0000-000000000004', :alice);
INSERT INTO concurrent_edit.file_locks (project_id, file_id, session_id, holder, lock_type, expires_at)
VALUES (:p, :'s', '5e551011-0000-0000-0000-000000000004', :alice, 'exclusive', clock_timestamp() + interval '1 hour');
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, 9, %L)', :'s', 'x', :bob), false);
SELECT status, version FROM concurrent_edit.write(:'s', E'holder writes\n', 9, session_id => '5e551011-0000-0000-0000-000000000004');
-- An expired lock blocks no one, even before any cleanup ran.
UPDATE concurrent_edit.file_locks SET acquired_at = now() - interval '2 hours', expires_at = now() - interval '1 hour';
SELECT status, version FROM concurrent_edit.write(:'s', E'after expiry\n', 10, :bob);

-- Delete: soft delete; writes to the deleted file are delete conflicts.
SELECT status, version, open_sessions, draft_sessions FROM concurrent_edit.delete_file(:'g', :alice);
SELECT status, version, conflicts, conflict_id IS NOT NULL AS recorded FROM concurrent_edit.write(:'g', 'late edit', 7, :bob);
SELECT kind, strategy FROM concurrent_edit.list_conflicts(:'g');
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, 7, %L, strategy => %L)', :'g', 'x', :bob, 'fail-fast'), false);
SELECT pg_temp.try(format('SELECT concurrent_edit.delete_file(%L, %L)', :'g', :bob), false);
SELECT version, deleted_at IS NOT NULL AS deleted FROM concurrent_edit.read(:'g');
-- The path is free again.
SELECT concurrent_edit.create_file(:p, './b.txt', E'new b\n', :alice) IS NOT NULL AS recreated;
-- Delete while other sessions have the file open or hold drafts: reported, not deleted unless forced.
INSERT INTO concurrent_edit.session_files (project_id, session_id, file_id) VALUES (:p, '5e551011-0000-0000-0000-000000000001', :'s');
INSERT INTO concurrent_edit.pending_changes (project_id, session_id, file_id, base_version, content)
VALUES (:p, '5e551011-0000-0000-0000-000000000004', :'s', 10, 'draft');
SELECT status, version, open_sessions, draft_sessions FROM concurrent_edit.delete_file(:'s', :alice);
SELECT deleted_at IS NULL AS still_live FROM concurrent_edit.files WHERE id = :'s';
SELECT status, open_sessions, draft_sessions FROM concurrent_edit.delete_file(:'s', :alice, force => true);
-- A stale base_version refuses the delete.
SELECT concurrent_edit.create_file(:p, 'stale.txt', 'v1', :alice) AS t \gset
SELECT status FROM concurrent_edit.write(:'t', 'v2', 1, :alice);
SELECT pg_temp.try(format('SELECT concurrent_edit.delete_file(%L, %L, base_version => 1)', :'t', :bob), false);

-- Rename: onto a live path is a conflict naming the existing file; a deleted file cannot be renamed.
SELECT * FROM concurrent_edit.rename_file(:'t', 'docs/renamed.txt', :alice);
SELECT pg_temp.try(format('SELECT concurrent_edit.rename_file(%L, %L, %L)', :'t', 'src/notes.txt', :alice), false);
SELECT d ->> 'existing_file_id' = :'f' AS names_existing, d ->> 'normalized_path' AS target
FROM pg_temp.error_detail(format('SELECT concurrent_edit.rename_file(%L, %L, %L)', :'t', '/src//notes.txt', :alice)) d;
SELECT pg_temp.try(format('SELECT concurrent_edit.rename_file(%L, %L, %L)', :'s', 'x.txt', :alice), false);
SELECT pg_temp.try(format('SELECT concurrent_edit.create_file(%L, %L, %L, %L)', :p, 'docs\renamed.txt', 'x', :alice), false);

-- Bad input: clear errors with specific SQLSTATEs; nothing stored changes.
SELECT head_version AS before FROM concurrent_edit.files WHERE id = :'f' \gset
SELECT pg_temp.try($$SELECT concurrent_edit.write(NULL, 'x', 1, gen_random_uuid())$$);
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, 1, %L, strategy => %L)', :'f', 'x', :bob, 'coin-toss'));
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, 0, %L)', :'f', 'x', :bob), false);
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, 99, %L)', :'f', 'x', :bob), false);
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, NULL, %L)', :'f', 'x', :bob));
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, 7)', :'f', 'x'));
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, NULL, 7, %L)', :'f', :bob));
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, 7, %L)', '00000000-0000-0000-0000-000000000000', 'x', :bob));
SELECT pg_temp.try(format('SELECT concurrent_edit.read(%L, 42)', :'f'));
SELECT pg_temp.try($$SELECT concurrent_edit.read('00000000-0000-0000-0000-000000000000')$$);
SELECT pg_temp.try(format('SELECT concurrent_edit.create_file(%L, %L, %L, %L)', :p, '../up.txt', 'x', :alice));
SELECT pg_temp.try(format('SELECT concurrent_edit.create_file(%L, %L, %L, NULL)', :p, 'noauthor.txt', 'x'));
SET concurrent_edit.max_input_size = '1kB';
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, repeat(%L, 2000), 7, %L)', :'f', 'x', :bob));
RESET concurrent_edit.max_input_size;
SELECT head_version = :before AS unchanged FROM concurrent_edit.files WHERE id = :'f';

-- Diff between versions (git-style labels).
SELECT concurrent_edit.diff_versions(:'f', 1, 2);

-- The change feed: gapless cursors in commit order, ids only.
SELECT cursor, event, file_id = :'f' AS is_f, version, session_id IS NOT NULL AS with_session,
       details ? 'conflict_id' AS has_conflict_id
FROM concurrent_edit.changes_since(:p, 0) WHERE file_id = :'f' ORDER BY cursor;
SELECT max(cursor) = count(*) AS gapless, min(cursor) AS first FROM concurrent_edit.changes_since(:p, 0);
SELECT max(cursor) AS last FROM concurrent_edit.changes_since(:p, 0) \gset
-- Nothing is recorded for a rolled-back transaction or subtransaction.
BEGIN;
SELECT status, version FROM concurrent_edit.write(:'f', 'rolled back', 8, :alice);
ROLLBACK;
BEGIN;
SAVEPOINT sp;
SELECT status, version FROM concurrent_edit.write(:'f', 'rolled back to savepoint', 8, :alice);
ROLLBACK TO SAVEPOINT sp;
SELECT status, version FROM concurrent_edit.write(:'f', E'kept\n', 8, :alice);
COMMIT;
SELECT cursor - :last AS after_last, event, version FROM concurrent_edit.changes_since(:p, :last);
SELECT count(*) AS limited FROM concurrent_edit.changes_since(:p, 0, 3);
-- A negative cursor is bad input (22023), also for a project without a feed yet.
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.changes_since(%L, -1)', :p));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.changes_since(%L, -1)', gen_random_uuid()));
-- feed_position: the newest cursor (where to continue after reading), 0 without events.
SELECT concurrent_edit.feed_position(:p) = max(cursor) AS is_newest FROM concurrent_edit.changes_since(:p, 0);
SELECT concurrent_edit.feed_position('11111111-0000-0000-0000-00000000feed') AS no_events;
SELECT count(*) AS after_position FROM concurrent_edit.changes_since(:p, concurrent_edit.feed_position(:p));
SELECT pg_temp.try('SELECT concurrent_edit.feed_position(NULL)');
SELECT concurrent_edit.channel_name(:p);
-- Numbering at commit (docs/reference/feed.md): a transaction's events get
-- consecutive cursors in the order they were made, also across savepoints; an
-- inner savepoint released into an outer one that rolls back loses its events; a
-- REPEATABLE READ transaction's events wait in change_pending until the next READ
-- COMMITTED commit of the project, which numbers them before its own (they were
-- committed first: the feed keeps a file's versions in order); past 1,000 events a
-- transaction's later events wait there too and still follow the first ones.
\set e '''11111111-0000-0000-0000-0000000000e1'''
SELECT concurrent_edit.create_file(:e, 'e.txt', E'e1\n', :alice) AS ef \gset
BEGIN;
SELECT status FROM concurrent_edit.write(:'ef', E'e2\n', 1, :alice);
SAVEPOINT outer_sp;
SAVEPOINT inner_sp;
SELECT status FROM concurrent_edit.write(:'ef', E'e3\n', 2, :alice);
RELEASE SAVEPOINT inner_sp;
ROLLBACK TO SAVEPOINT outer_sp;
SELECT status FROM concurrent_edit.rename_file(:'ef', 'e2.txt', :alice);
SELECT status, version FROM concurrent_edit.write(:'ef', E'e3 kept\n', 2, :alice);
COMMIT;
SELECT cursor, event, version, path FROM concurrent_edit.changes_since(:e, 0) ORDER BY cursor;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT status, version FROM concurrent_edit.write(:'ef', E'e4\n', 3, :alice);
COMMIT;
SELECT count(*) AS waiting FROM concurrent_edit.change_pending WHERE project_id = :e;
SELECT status, version FROM concurrent_edit.write(:'ef', E'e5\n', 4, :alice);
SELECT count(*) AS waiting FROM concurrent_edit.change_pending WHERE project_id = :e;
SELECT cursor, event, version FROM concurrent_edit.changes_since(:e, 4) ORDER BY cursor;
-- The same for a new project, whose feed row does not exist yet.
\set n '''11111111-0000-0000-0000-0000000000e2'''
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT concurrent_edit.create_file(:n, 'n.txt', E'n1\n', :alice) AS nf \gset
COMMIT;
SELECT status, version FROM concurrent_edit.write(:'nf', E'n2\n', 1, :alice);
SELECT cursor, event, version FROM concurrent_edit.changes_since(:n, 0) ORDER BY cursor;
BEGIN;
SELECT count(*) AS written FROM generate_series(6, 1010) v,
       LATERAL concurrent_edit.write(:'ef', 'e' || v, v - 1, :alice) w WHERE w.status = 'written';
COMMIT;
SELECT count(*) AS events, min(cursor) AS first, max(cursor) AS last,
       bool_and(version = cursor - 1) AS in_order, count(*) FILTER (WHERE event <> 'version') AS others
FROM concurrent_edit.changes_since(:e, 6);
SELECT count(*) AS waiting FROM concurrent_edit.change_pending WHERE project_id = :e;
-- A savepoint rolled back with the only pending events of a new project (the
-- lock released by close_session goes to change_pending_locks): the commit makes
-- no feed row for it (before, a row at last_cursor 0 for a project without events).
\set sp '''11111111-0000-0000-0000-0000000000e3'''
BEGIN;
SAVEPOINT s1;
SELECT concurrent_edit.create_file(:sp, 's.txt', E's\n', :alice) AS sf \gset
SELECT concurrent_edit.open_session(:alice, :sp) AS ss \gset
SELECT lock_type FROM concurrent_edit.acquire_lock(:'sf', :'ss');
SELECT concurrent_edit.close_session(:'ss') AS closed;
SELECT count(*) AS pending_in_savepoint FROM concurrent_edit.change_pending_locks WHERE project_id = :sp;
ROLLBACK TO SAVEPOINT s1;
COMMIT;
SELECT count(*) AS feed_rows FROM concurrent_edit.change_feeds WHERE project_id = :sp;
-- Retention: prune_changes() cuts old events; a cursor older than the cut is refused.
UPDATE concurrent_edit.change_log SET created_at = now() - interval '40 days' WHERE project_id = :p AND cursor <= 5;
SELECT concurrent_edit.prune_changes('30 days', :p) AS pruned;
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.changes_since(%L, 2)', :p));
SELECT min(cursor) AS first_kept FROM concurrent_edit.changes_since(:p, 5);
SELECT pg_temp.try($$SELECT concurrent_edit.prune_changes('-1 day')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.prune_changes(NULL)$$);
-- An old event after a newer one (a long transaction commits late with its start
-- time): the cut stops before the first event that is not old (before, every
-- cursor up to the last old one was deleted, the newer event 7 included).
UPDATE concurrent_edit.change_log SET created_at = now() - interval '40 days' WHERE project_id = :p AND cursor IN (6, 8);
SELECT concurrent_edit.prune_changes('30 days', :p) AS pruned;
SELECT min(cursor) AS first_kept FROM concurrent_edit.changes_since(:p, 6);

-- list_files: live files ordered by key (byte order), with their head; a prefix is
-- compared as a key (slash kept, so src/ is not srcx), in a case-insensitive
-- project in any case; deleted files are not listed; an index range, not a scan.
\set lp '''11111111-0000-0000-0000-0000000011f1'''
\set lq '''11111111-0000-0000-0000-0000000011f2'''
SELECT count(*) FROM (SELECT concurrent_edit.create_file(:lp, p, c, :alice)
                      FROM (VALUES ('src/a.ts', 'a'), ('src/B.ts', 'bb'), ('src/sub/c.ts', 'ccc'), ('srcx', 'x'),
                                   ('src.txt', 't'), ('docs/README.md', 'readme'), ('gone/old.txt', 'o')) v(p, c)) c;
SELECT status FROM concurrent_edit.delete_file(concurrent_edit.file_at(:lp, 'gone/old.txt'), :alice);
SELECT status, version FROM concurrent_edit.write(concurrent_edit.file_at(:lp, 'src/a.ts'), 'a2', 1, :bob);
SELECT l.path, l.normalized_path, l.version, l.bytes, l.content_hash = concurrent_edit.content_hash(r.content) AS hash_is_head,
       l.file_id = concurrent_edit.file_at(:lp, l.path) AS id_ok, l.updated_by = :bob AS by_bob,
       CASE l.path WHEN 'src/a.ts' THEN l.updated_at > l.created_at ELSE l.updated_at = l.created_at END AS times_ok
FROM concurrent_edit.list_files(:lp) l CROSS JOIN LATERAL concurrent_edit.read(l.file_id) r;
SELECT string_agg(path, ' ' ORDER BY ordinality) FROM concurrent_edit.list_files(:lp, 'src/') WITH ORDINALITY;
SELECT string_agg(path, ' ' ORDER BY ordinality) FROM concurrent_edit.list_files(:lp, './src\') WITH ORDINALITY;
SELECT string_agg(path, ' ' ORDER BY ordinality) FROM concurrent_edit.list_files(:lp, 'src') WITH ORDINALITY;
SELECT string_agg(path, ' ' ORDER BY ordinality) FROM concurrent_edit.list_files(:lp, 'src/sub/c.ts') WITH ORDINALITY;
SELECT count(*) AS none FROM concurrent_edit.list_files(:lp, 'SRC/');
SELECT count(*) AS all_live FROM concurrent_edit.list_files(:lp, '');
SELECT count(*) AS no_files FROM concurrent_edit.list_files(:lq);
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.list_files(%L, %L)', :lp, '/'));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.list_files(%L, %L)', :lp, E'src/\u202e'));
SELECT pg_temp.try('SELECT * FROM concurrent_edit.list_files(NULL)');
-- Case-insensitive, NFC: the prefix is folded like the keys.
SELECT concurrent_edit.create_file(:lq, p, 'x', :alice) IS NOT NULL AS created
FROM (VALUES ('Src/Main.TS'), (E'Caf\u00e9/Menu.md'), ('SRCX.md')) v(p) ORDER BY p;
SELECT case_insensitive FROM concurrent_edit.set_project_options(:lq, case_insensitive => true);
SELECT string_agg(path, ' ' ORDER BY ordinality) FROM concurrent_edit.list_files(:lq, 'SRC/') WITH ORDINALITY;
SELECT string_agg(path, ' ' ORDER BY ordinality) FROM concurrent_edit.list_files(:lq, E'CAFE\u0301/') WITH ORDINALITY;
-- The plan: a range of files_live_key_c_idx, whatever the size of the table (here
-- small enough for a sequential scan to be cheaper).
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT f.id FROM concurrent_edit.files f
WHERE f.project_id = :lp AND f.deleted_at IS NULL AND f.normalized_path COLLATE "C" >= 'src/'
  AND f.normalized_path COLLATE "C" < 'src0' ORDER BY f.normalized_path COLLATE "C";
BEGIN;
SELECT pg_stat_get_xact_numscans('concurrent_edit.files_live_key_c_idx'::regclass) AS before \gset
SELECT count(*) AS src_files FROM concurrent_edit.list_files(:lp, 'src/');
SELECT pg_stat_get_xact_numscans('concurrent_edit.files_live_key_c_idx'::regclass) - :before AS index_scans;
COMMIT;
RESET enable_seqscan;
RESET enable_bitmapscan;
-- Drivers select a version's clock as jsonb (docs/reference/vclock.md).
SELECT jsonb_typeof(vector_clock::jsonb) AS clock_type, vector_clock::jsonb = vector_clock::text::jsonb AS same_object,
       vector_clock::jsonb::concurrent_edit.vclock::text = vector_clock::text AS round_trip, vector_clock::jsonb AS clock
FROM concurrent_edit.read(concurrent_edit.file_at(:lp, 'src/a.ts'));
-- Key lookups of the extension are planned with index scans whatever the costs
-- say (IndexScansOnly, src/pg/spi.hpp: a plan a backend keeps must not depend on
-- how small a table was when it was made), and only its own statements: here a
-- sequential scan costs nothing, in a new backend (no plan kept yet).
SELECT concurrent_edit.file_at(:lp, 'src/a.ts') AS fa \gset
\c
SET seq_page_cost = 0;
SET cpu_tuple_cost = 0;
SET cpu_operator_cost = 0;
BEGIN;
SELECT pg_stat_get_xact_numscans('concurrent_edit.files_id_idx'::regclass) AS before \gset
SELECT count(*) AS found FROM concurrent_edit.files WHERE id = :'fa';
SELECT pg_stat_get_xact_numscans('concurrent_edit.files_id_idx'::regclass) - :before AS index_scans_of_the_query;
SELECT length(content) > 0 AS read FROM concurrent_edit.read(:'fa');
SELECT pg_stat_get_xact_numscans('concurrent_edit.files_id_idx'::regclass) - :before AS index_scans_after_read;
SHOW enable_seqscan;
COMMIT;

-- Many events of one project numbered at one commit (300 writes in one
-- transaction): the feed row gets a new version per event, and once its page is
-- full (the transaction's own old versions cannot be pruned) the next versions go
-- to other pages, each with its own index entry. The row is still found by its
-- key (an index scan) with the feed's last cursor, and it is the only one.
RESET seq_page_cost;
RESET cpu_tuple_cost;
RESET cpu_operator_cost;
\set mp '''11111111-1111-1111-1111-0000000000ff'''
SELECT concurrent_edit.create_file(:mp, 'many.txt', E'0\n', :alice) AS fm \gset
BEGIN;
SELECT count(*) FILTER (WHERE w.status = 'written') AS written
FROM generate_series(1, 300) i, LATERAL concurrent_edit.write(:'fm', i || E'\n', i, :alice) w;
COMMIT;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT f.last_cursor,
       (SELECT max(l.cursor) FROM concurrent_edit.change_log l WHERE l.project_id = :mp) AS last_logged,
       (SELECT count(*) FROM concurrent_edit.change_log l WHERE l.project_id = :mp) AS events
FROM concurrent_edit.change_feeds f WHERE f.project_id = :mp;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*) AS feed_rows FROM concurrent_edit.change_feeds WHERE project_id = :mp;
-- The file row got a new version per write in that transaction too, most of them
-- on other pages than the one before (not heap-only: the transaction's own old
-- versions cannot be pruned). A write stores them from C (src/pg/version_rows.cpp)
-- with their entries in every index of files, the partial ones included: the row
-- is found through each, at its last head.
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET plan_cache_mode = force_generic_plan;  -- plans without the file's (random) id
PREPARE by_key(uuid, uuid) AS SELECT head_version FROM concurrent_edit.files WHERE project_id = $1 AND id = $2;
EXPLAIN (COSTS OFF) EXECUTE by_key(:mp, :'fm');
EXECUTE by_key(:mp, :'fm');
PREPARE by_id(uuid) AS SELECT head_version FROM concurrent_edit.files WHERE id = $1;
EXPLAIN (COSTS OFF) EXECUTE by_id(:'fm');
EXECUTE by_id(:'fm');
RESET plan_cache_mode;
BEGIN;  -- files_live_path_key, without the other partial index to choose
DROP INDEX concurrent_edit.files_live_key_c_idx;
EXPLAIN (COSTS OFF) SELECT head_version FROM concurrent_edit.files
WHERE project_id = :mp AND normalized_path = 'many.txt' AND deleted_at IS NULL;
SELECT head_version FROM concurrent_edit.files WHERE project_id = :mp AND normalized_path = 'many.txt' AND deleted_at IS NULL;
ROLLBACK;
EXPLAIN (COSTS OFF) SELECT head_version FROM concurrent_edit.files
WHERE project_id = :mp AND deleted_at IS NULL ORDER BY normalized_path COLLATE "C";
SELECT head_version FROM concurrent_edit.files WHERE project_id = :mp AND deleted_at IS NULL ORDER BY normalized_path COLLATE "C";
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*) AS versions, max(version) AS last, count(*) FILTER (WHERE content IS NULL) AS deltas
FROM concurrent_edit.file_versions WHERE project_id = :mp AND file_id = :'fm';

-- A version stored from C is the row the statement would store: the CHECK
-- functions of the two tables are not called (track_functions counts every call
-- of a C function), their rules are applied by the C path itself.
\i sql/include/helpers.sql
SET track_functions = 'all';
\set vp '''11111111-1111-1111-1111-0000000000fe'''
SELECT concurrent_edit.create_file(:vp, 'c.txt', E'a\n', :alice) AS fc \gset
CREATE VIEW pg_temp.check_calls AS SELECT coalesce(sum(calls), 0) AS calls FROM pg_stat_xact_user_functions
WHERE schemaname = 'concurrent_edit' AND funcname IN ('_file_row_ok', '_file_version_row_ok');
BEGIN;
SELECT calls AS before FROM pg_temp.check_calls \gset
SELECT status, version FROM concurrent_edit.write(:'fc', E'a\nb\n', 1, :alice);
SELECT calls - :before AS check_calls FROM pg_temp.check_calls;
SELECT v.version, v.content IS NULL AS as_delta, v.delta_base, v.depth, v.bytes,
       v.content_hash = concurrent_edit.content_hash(E'a\nb\n') AS hash_ok, v.created_by = :alice AS by_alice,
       v.session_id IS NULL AS no_session, v.created_at = now() AS created_now,
       v.vector_clock::text = f.head_clock::text AS clock_is_head, v.vector_clock::text, f.head_version, f.head_content = E'a\nb\n' AS head_text,
       f.head_hash = v.content_hash AS head_hash, f.updated_by = :alice AS updated_by, f.updated_at = now() AS updated_now
FROM concurrent_edit.file_versions v JOIN concurrent_edit.files f ON f.project_id = v.project_id AND f.id = v.file_id
WHERE v.file_id = :'fc' AND v.version = 2;
COMMIT;
SELECT version, content FROM concurrent_edit.read(:'fc', 1);

-- A table that is not as the extension made it sends the write back to the
-- statement, which applies what the C path would not keep: another CHECK under
-- the constraint's name (23514), a trigger (it fires). Nothing is stored.
BEGIN;
ALTER TABLE concurrent_edit.file_versions DROP CONSTRAINT file_versions_row_check,
    ADD CONSTRAINT file_versions_row_check CHECK (bytes < 4) NOT VALID;
SELECT split_part(pg_temp.try(format('SELECT status FROM concurrent_edit.write(%L, %L, 2, %L)', :'fc', E'a\nb\nc\n',
                                     :alice)), ' | ', 1) AS refused;  -- without the DETAIL's failing row
ROLLBACK;
BEGIN;
CREATE FUNCTION pg_temp.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the trigger ran'; END $$;
CREATE TRIGGER refuse BEFORE UPDATE ON concurrent_edit.files FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse();
SELECT pg_temp.try(format('SELECT status FROM concurrent_edit.write(%L, %L, 2, %L)', :'fc', E'a\nb\nc\n', :alice));
ROLLBACK;
BEGIN;
CREATE FUNCTION pg_temp.pass() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER pass BEFORE INSERT ON concurrent_edit.file_versions FOR EACH ROW EXECUTE FUNCTION pg_temp.pass();
SELECT calls AS before FROM pg_temp.check_calls \gset
SELECT status, version FROM concurrent_edit.write(:'fc', E'a\nb\nc\n', 2, :alice);
SELECT calls - :before AS check_calls FROM pg_temp.check_calls;
ROLLBACK;
SELECT version, content FROM concurrent_edit.read(:'fc');
-- With a session: its id stored with the version.
SELECT concurrent_edit.open_session(:alice, :vp) AS s \gset
SELECT status, version FROM concurrent_edit.write(:'fc', E'a\nd\n', 2, :alice, session_id => :'s');
SELECT session_id = :'s' AS session_stored, created_by = :alice AS by_alice
FROM concurrent_edit.file_versions WHERE file_id = :'fc' AND version = 3;
RESET track_functions;
