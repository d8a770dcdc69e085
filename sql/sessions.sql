-- Edit sessions, presence, drafts and file locks (without the background worker:
-- the lazy paths and the cleanup functions).
\set VERBOSITY terse
SET client_min_messages = warning;
-- Events left in the pending tables (REPEATABLE READ) wait for the next READ
-- COMMITTED commit of their project here: no on-demand sequencer takes them in
-- between (TAP 018_sequencer covers it).
SET concurrent_edit.on_demand_sequencer = off;
\i sql/include/helpers.sql
\set p '''33333333-3333-3333-3333-333333333333'''
\set q '''44444444-4444-4444-4444-444444444444'''
\set alice '''aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'''
\set bob '''bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'''
\set carol '''cccccccc-cccc-cccc-cccc-cccccccccccc'''

SELECT concurrent_edit.create_file(:p, 'app.ts', E'a\nb\nc\nd\ne\n', :alice) AS f \gset
SELECT concurrent_edit.create_file(:q, 'other.ts', E'x\n', :alice) AS other \gset

-- Sessions
SELECT concurrent_edit.open_session(:alice, :p, 'tab-1', '{"editor": "web"}') AS sa \gset
SELECT concurrent_edit.open_session(:bob, :p) AS sb \gset
SELECT concurrent_edit.open_session(:carol, :p, 'agent-7') AS sc \gset
SELECT user_id = :alice AS alice, sandbox_id, status, metadata FROM concurrent_edit.edit_sessions WHERE id = :'sa';
UPDATE concurrent_edit.edit_sessions SET last_active_at = now() - interval '10 minutes' WHERE id = :'sa';
SELECT concurrent_edit.touch_session(:'sa');
SELECT status, last_active_at > now() - interval '1 minute' AS touched FROM concurrent_edit.edit_sessions WHERE id = :'sa';
SELECT pg_temp.try($$SELECT concurrent_edit.open_session(NULL, gen_random_uuid())$$);
SELECT pg_temp.try($$SELECT concurrent_edit.open_session(gen_random_uuid(), gen_random_uuid(), metadata => '[1]')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.open_session(gen_random_uuid(), gen_random_uuid(), '')$$);
-- A sandbox_id is shown to other users (file_editors, active_sessions): no
-- control, direction-changing or invisible character, as in a path; the DETAIL
-- echoes it with such characters escaped.
SELECT pg_temp.try($$SELECT concurrent_edit.open_session(gen_random_uuid(), gen_random_uuid(), E'agent-\u202Egnp.exe')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.open_session(gen_random_uuid(), gen_random_uuid(), E'tab\n1')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.open_session(gen_random_uuid(), gen_random_uuid(), E'tab\u200B1')$$);
SELECT concurrent_edit.open_session(gen_random_uuid(), gen_random_uuid(), E'caf\u00e9 \u263A\uFE0F agent') AS shown \gset
SELECT sandbox_id FROM concurrent_edit.edit_sessions WHERE id = :'shown';
SELECT pg_temp.try($$SELECT concurrent_edit.touch_session('00000000-0000-0000-0000-00000000dead')$$);

-- Presence: open_file records the session and returns what the editor should show.
SELECT * FROM concurrent_edit.open_file(:'sa', :'f');
SELECT count(*) AS opened FROM concurrent_edit.open_file(:'sb', :'f');
SELECT user_id = :alice OR user_id = :bob AS known, status, has_draft, lock_type FROM concurrent_edit.file_editors(:'f');
SELECT pg_temp.try(format('SELECT concurrent_edit.open_file(%L, %L)', :'sa', :'other'), false);

-- Locks: exclusive excludes everything else; shared locks coexist.
SELECT lock_type, expires_at > now() AS live FROM concurrent_edit.acquire_lock(:'f', :'sa', ttl => '1 minute');
SELECT pg_temp.try(format('SELECT concurrent_edit.acquire_lock(%L, %L)', :'f', :'sb'), false);
SELECT pg_temp.try(format('SELECT concurrent_edit.acquire_lock(%L, %L, %L)', :'f', :'sb', 'shared'), false);
-- The 55P03 DETAIL names the holder and the expiry.
SELECT d ->> 'requested' AS requested, jsonb_array_length(d -> 'holders') AS holders,
       d -> 'holders' -> 0 ->> 'session_id' = :'sa' AS names_holder, d -> 'holders' -> 0 ? 'expires_at' AS has_expiry
FROM pg_temp.error_detail(format('SELECT concurrent_edit.acquire_lock(%L, %L)', :'f', :'sb')) d;
-- A wait of thousands of years waits (here until the statement timeout), not
-- failing at once (the deadline overflowed).
SET statement_timeout = '300ms';
SELECT pg_temp.try(format('SELECT concurrent_edit.acquire_lock(%L, %L, wait => %L)', :'f', :'sb', '300000 years'), false);
RESET statement_timeout;
-- Someone else's presence warnings now include the lock.
SELECT kind, session_id = :'sa' AS by_alice, user_id = :alice AS alice, until > now() AS until_later
FROM concurrent_edit.open_file(:'sc', :'f');
-- Writes by other sessions are refused while the lock is held; the holder writes.
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, 1, session_id => %L)', :'f', 'x', :'sb'), false);
SELECT status, version FROM concurrent_edit.write(:'f', E'a\nb\nC\nd\ne\n', 1, session_id => :'sa');
-- Re-acquiring refreshes the holder's own lock; extend_lock moves the expiry.
SELECT lock_id AS first_lock FROM concurrent_edit.lock_status(:'f') \gset
SELECT lock_id = :'first_lock' AS same_lock, lock_type FROM concurrent_edit.acquire_lock(:'f', :'sa', ttl => '2 minutes');
SELECT concurrent_edit.extend_lock(:'f', :'sa', '10 minutes') > now() + interval '9 minutes' AS extended;
SELECT pg_temp.try(format('SELECT concurrent_edit.extend_lock(%L, %L)', :'f', :'sb'), false);
-- Only the holder can release: another session gets false, never success.
SELECT concurrent_edit.release_lock(:'f', :'sb') AS released_by_other;
SELECT count(*) AS still_locked FROM concurrent_edit.lock_status(:'f');
SELECT concurrent_edit.release_lock(:'f', :'sa') AS released_by_holder;
SELECT concurrent_edit.release_lock(:'f', :'sa') AS released_twice;
-- Shared locks coexist; exclusive is then refused; a shared holder can upgrade only alone.
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'sa', 'shared');
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'sb', 'shared');
SELECT count(*) AS shared_holders FROM concurrent_edit.lock_status(:'f');
SELECT pg_temp.try(format('SELECT concurrent_edit.acquire_lock(%L, %L)', :'f', :'sc'), false);
SELECT pg_temp.try(format('SELECT concurrent_edit.acquire_lock(%L, %L)', :'f', :'sa'), false);
SELECT concurrent_edit.release_lock(:'f', :'sb');
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'sa', 'exclusive');
-- Shared locks do not stop writes by other sessions.
SELECT concurrent_edit.release_lock(:'f', :'sa');
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'sa', 'shared');
SELECT status FROM concurrent_edit.write(:'f', E'a\nb\nC\nd\nE\n', 2, session_id => :'sb');
-- require_version: lock only when holding the latest version.
SELECT pg_temp.try(format('SELECT concurrent_edit.acquire_lock(%L, %L, %L, require_version => 2)', :'f', :'sc', 'shared'), false);
SELECT d - 'last_modified_at' - 'last_modified_by' - 'current_hash' - 'file_id' AS detail, d ->> 'file_id' = :'f' AS names_file
FROM pg_temp.error_detail(format('SELECT concurrent_edit.acquire_lock(%L, %L, %L, require_version => 2)', :'f', :'sc', 'shared')) d;
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'sc', 'shared', require_version => 3);
-- An expired lock never blocks anyone, even before cleanup.
SELECT concurrent_edit.release_session_locks(:'sa') + concurrent_edit.release_session_locks(:'sc') AS released;
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'sb', ttl => '1 minute');
UPDATE concurrent_edit.file_locks SET acquired_at = now() - interval '2 minutes', expires_at = clock_timestamp() - interval '1 second'
WHERE session_id = :'sb';
SELECT count(*) AS live_locks FROM concurrent_edit.lock_status(:'f');
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'sa');
SELECT count(*) AS rows_left FROM concurrent_edit.file_locks WHERE file_id = :'f';
-- Waiting: a lock that expires during the wait is taken when it lapses.
UPDATE concurrent_edit.file_locks SET expires_at = clock_timestamp() + interval '300 milliseconds' WHERE session_id = :'sa';
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'sb', wait => '5 seconds');
SELECT session_id = :'sb' AS taken_by_bob FROM concurrent_edit.lock_status(:'f');
-- ... and one that does not is refused after the wait.
SELECT pg_temp.try(format('SELECT concurrent_edit.acquire_lock(%L, %L, wait => %L)', :'f', :'sa', '200 milliseconds'), false);
-- cleanup_expired_locks deletes lapsed locks and records it.
UPDATE concurrent_edit.file_locks SET acquired_at = now() - interval '2 minutes', expires_at = clock_timestamp() - interval '1 second'
WHERE project_id = :p;
SELECT concurrent_edit.cleanup_expired_locks() >= 1 AS expired;
SELECT count(*) AS rows_left FROM concurrent_edit.file_locks WHERE project_id = :p;
SELECT count(*) AS expiry_recorded FROM concurrent_edit.changes_since(:p, 0) WHERE event = 'lock_expired';
-- Bad lock arguments.
SELECT pg_temp.try(format('SELECT concurrent_edit.acquire_lock(%L, %L, %L)', :'f', :'sa', 'mine'));
SELECT pg_temp.try(format('SELECT concurrent_edit.acquire_lock(%L, %L, ttl => %L)', :'f', :'sa', '-1 second'));
SELECT pg_temp.try(format('SELECT concurrent_edit.acquire_lock(%L, %L, ttl => %L)', :'f', :'sa', '1000 days'));
SELECT pg_temp.try(format('SELECT concurrent_edit.acquire_lock(%L, %L, wait => %L)', :'f', :'sa', '-1 second'));
SELECT pg_temp.try(format('SELECT concurrent_edit.acquire_lock(%L, NULL)', :'f'));
SELECT pg_temp.try(format('SELECT concurrent_edit.acquire_lock(%L, %L)', :'other', :'sa'), false);
-- force_release_lock (administrators) removes every lock and records the reason.
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'sc');
SELECT concurrent_edit.force_release_lock(:'f', 'stuck agent') AS forced;
SELECT event, session_id = :'sc' AS holder_notified, details ->> 'reason' AS reason
FROM concurrent_edit.changes_since(:p, 0) WHERE event = 'lock_forced';
-- A timed-out session's lock keeps others out until the session is closed (here
-- no worker does it): its holder can still release it, without opening the
-- session again (before, VC005). A closed session holds nothing to release.
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'sc', ttl => '1 hour');
UPDATE concurrent_edit.edit_sessions SET last_active_at = now() - interval '2 hours' WHERE id = :'sc';
SELECT pg_temp.try(format('SELECT concurrent_edit.acquire_lock(%L, %L)', :'f', :'sb'), false) AS other_session;
SELECT concurrent_edit.release_lock(:'f', :'sc') AS released_timed_out;
SELECT status, last_active_at < now() - interval '1 hour' AS still_timed_out
FROM concurrent_edit.edit_sessions WHERE id = :'sc';
SELECT pg_temp.try(format('SELECT concurrent_edit.extend_lock(%L, %L)', :'f', :'sc'), false) AS extend_timed_out;
UPDATE concurrent_edit.edit_sessions SET last_active_at = now() WHERE id = :'sc';
SELECT concurrent_edit.open_session(:carol, :p) AS s_closed \gset
SELECT concurrent_edit.close_session(:'s_closed') AS closed;
SELECT concurrent_edit.release_lock(:'f', :'s_closed') AS released_closed;
-- A deleted file's lock is not extended (VC002): it would keep others from
-- restoring the file for as long as it is.
SELECT concurrent_edit.create_file(:p, 'gone.txt', E'g\n', :alice) AS gone \gset
SELECT lock_type FROM concurrent_edit.acquire_lock(:'gone', :'sc');
SELECT status FROM concurrent_edit.delete_file(:'gone', session_id => :'sc');
SELECT pg_temp.try(format('SELECT concurrent_edit.extend_lock(%L, %L)', :'gone', :'sc'));
SELECT concurrent_edit.release_lock(:'gone', :'sc') AS released_deleted;

-- An exclusive lock's row and events are written from C in READ COMMITTED, by the
-- statements otherwise (REPEATABLE READ, a shared lock, a file_locks table that is
-- not as the extension made it): the same either way. Re-acquiring keeps the id,
-- and acquired_at unless the type changes.
SELECT max(cursor) AS before_rows FROM concurrent_edit.changes_since(:p, 0) \gset
SELECT lock_id AS c1, acquired_at AS a1 FROM concurrent_edit.acquire_lock(:'f', :'sc') \gset
SELECT lock_id = :'c1' AS same_id, acquired_at = :'a1' AS same_since FROM concurrent_edit.acquire_lock(:'f', :'sc');
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT lock_id = :'c1' AS same_id, acquired_at = :'a1' AS same_since FROM concurrent_edit.acquire_lock(:'f', :'sc');
COMMIT;
SELECT concurrent_edit.release_lock(:'f', :'sc') AS released;
SELECT lock_id AS c2, acquired_at AS a2 FROM concurrent_edit.acquire_lock(:'f', :'sc', 'shared') \gset
SELECT lock_id = :'c2' AS same_id, acquired_at > :'a2' AS since_upgrade, lock_type
FROM concurrent_edit.acquire_lock(:'f', :'sc', 'exclusive');
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT concurrent_edit.release_lock(:'f', :'sc') AS released;
COMMIT;
-- The events so far (the REPEATABLE READ release's waits in change_pending_locks
-- for the project's next READ COMMITTED commit: no worker here).
SELECT event, details ->> 'lock_id' = CASE WHEN cursor - :before_rows <= 4 THEN :'c1' ELSE :'c2' END AS its_lock,
       details - 'lock_id' - 'expires_at' AS rest, (details ? 'expires_at') = (event = 'lock_acquired') AS expiry,
       path, session_id = :'sc' AS session
FROM concurrent_edit.changes_since(:p, :before_rows) ORDER BY cursor;
-- Lock ids are version 4 uuids, a new one at each acquisition (100 cycles: the
-- backend's pool of random bytes is refilled several times).
SELECT max(cursor) AS before_ids FROM concurrent_edit.changes_since(:p, 0) \gset
SELECT set_config('ce_test.f', :'f', false) IS NOT NULL AS f_set, set_config('ce_test.s', :'sc', false) IS NOT NULL AS s_set;
DO $$
BEGIN
    FOR i IN 1 .. 100 LOOP
        PERFORM concurrent_edit.acquire_lock(current_setting('ce_test.f')::uuid, current_setting('ce_test.s')::uuid);
        PERFORM concurrent_edit.release_lock(current_setting('ce_test.f')::uuid, current_setting('ce_test.s')::uuid);
    END LOOP;
END $$;
SELECT count(*) AS acquisitions, count(DISTINCT details ->> 'lock_id') AS ids,
       bool_and(substr(details ->> 'lock_id', 15, 1) = '4' AND substr(details ->> 'lock_id', 20, 1) IN ('8', '9', 'a', 'b'))
           AS version_4
FROM concurrent_edit.changes_since(:p, :before_ids) WHERE event = 'lock_acquired';
-- Neither writes in a read-only transaction (25006).
BEGIN READ ONLY;
SELECT pg_temp.try(format('SELECT concurrent_edit.acquire_lock(%L, %L)', :'f', :'sc'));
ROLLBACK;
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'sc');
BEGIN READ ONLY;
SELECT pg_temp.try(format('SELECT concurrent_edit.release_lock(%L, %L)', :'f', :'sc'));
ROLLBACK;
-- A trigger on file_locks (a table no longer as the extension made it): the
-- statements write the rows, and the trigger sees them.
CREATE TABLE lock_writes (op text, lock_type text);
CREATE FUNCTION note_lock_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.lock_writes VALUES (TG_OP, CASE WHEN TG_OP = 'DELETE' THEN OLD.lock_type ELSE NEW.lock_type END);
    RETURN NULL;
END $$;
CREATE TRIGGER note_lock_write AFTER INSERT OR UPDATE OR DELETE ON concurrent_edit.file_locks
    FOR EACH ROW EXECUTE FUNCTION note_lock_write();
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'sc');
SELECT concurrent_edit.release_lock(:'f', :'sc') AS released;
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'sc');
SELECT string_agg(op || ' ' || lock_type, ', ') AS trigger_saw FROM lock_writes;
DROP TRIGGER note_lock_write ON concurrent_edit.file_locks;
DROP FUNCTION note_lock_write();
SELECT concurrent_edit.release_lock(:'f', :'sc') AS released;
-- The same for the sequencer: pending events are moved into change_log from C
-- (above: the REPEATABLE READ release's event), by the statement when the queue
-- has a trigger.
CREATE FUNCTION note_pending_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.lock_writes VALUES (TG_OP, OLD.event);
    RETURN NULL;
END $$;
CREATE TRIGGER note_pending_move AFTER DELETE ON concurrent_edit.change_pending_locks
    FOR EACH ROW EXECUTE FUNCTION note_pending_move();
SELECT max(cursor) AS before_moves FROM concurrent_edit.changes_since(:p, 0) \gset
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'sc');
SELECT concurrent_edit.release_lock(:'f', :'sc') AS released;
COMMIT;
SELECT count(*) AS waiting FROM concurrent_edit.change_pending_locks WHERE project_id = :p;
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'sc');  -- its commit moves them first
SELECT string_agg(op || ' ' || lock_type, ', ') AS trigger_saw FROM lock_writes WHERE op = 'DELETE' AND lock_type LIKE 'lock%';
SELECT event, cursor - :before_moves AS after FROM concurrent_edit.changes_since(:p, :before_moves) ORDER BY cursor;
DROP TRIGGER note_pending_move ON concurrent_edit.change_pending_locks;
DROP FUNCTION note_pending_move();
DROP TABLE lock_writes;
SELECT concurrent_edit.release_lock(:'f', :'sc') AS released;
-- Tables changed by hand in ways the paths from C did not see (each restored after).
-- A primary key rebuilt in another order: the scans from C give their keys by
-- position, and two exclusive locks of one file were granted. Now refused (55000).
BEGIN;
ALTER TABLE concurrent_edit.file_locks DROP CONSTRAINT file_locks_pkey,
    ADD CONSTRAINT file_locks_pkey PRIMARY KEY (file_id, project_id, session_id);
SELECT pg_temp.try(format('SELECT concurrent_edit.acquire_lock(%L, %L)', :'f', :'sc'));
ROLLBACK;
-- A CHECK redefined under the extension's own name, or a default changed: the
-- paths from C recognise their table's CHECKs and defaults by expression, not by
-- name, and leave the row to the statement (the CHECK was not applied, the
-- default not used).
BEGIN;
ALTER TABLE concurrent_edit.file_locks DROP CONSTRAINT file_locks_expiry_check,
    ADD CONSTRAINT file_locks_expiry_check CHECK (expires_at > acquired_at AND expires_at <= acquired_at + interval '10 seconds') NOT VALID;
SELECT pg_temp.try(format('SELECT concurrent_edit.acquire_lock(%L, %L, ttl => %L)', :'f', :'sc', '60 seconds'), false);
ROLLBACK;
BEGIN;
ALTER TABLE concurrent_edit.file_locks ALTER COLUMN acquired_at SET DEFAULT '2000-01-01';
SELECT acquired_at < '2001-01-01' AS default_used FROM concurrent_edit.acquire_lock(:'f', :'sc');
ROLLBACK;
-- A change_log column of another type: the events are numbered by the statement,
-- which converts the value (from C, a uuid written as the text column's value
-- crashed the server).
ALTER TABLE concurrent_edit.change_log ALTER COLUMN file_id TYPE text;
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'sc');
SELECT concurrent_edit.release_lock(:'f', :'sc') AS released;
SELECT event, file_id = :'f' AS file_as_text FROM concurrent_edit.change_log
WHERE project_id = :p ORDER BY cursor DESC LIMIT 2;
ALTER TABLE concurrent_edit.change_log ALTER COLUMN file_id TYPE uuid USING file_id::uuid;
-- A stored generated column on change_feeds: the feed row is advanced by the
-- statement, which computes it (from C it kept the first value).
ALTER TABLE concurrent_edit.change_feeds ADD COLUMN events_seen bigint GENERATED ALWAYS AS (last_cursor) STORED;
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'sc');
SELECT concurrent_edit.release_lock(:'f', :'sc') AS released;
SELECT last_cursor = events_seen AS generated_kept FROM concurrent_edit.change_feeds WHERE project_id = :p;
ALTER TABLE concurrent_edit.change_feeds DROP COLUMN events_seen;
-- A column added to one pending queue: the statement that moves both queues names
-- their columns (SELECT * of the two failed, 42601, and the project's events waited).
ALTER TABLE concurrent_edit.change_pending_locks ADD COLUMN note text DEFAULT 'x';
SELECT max(cursor) AS before_note FROM concurrent_edit.changes_since(:p, 0) \gset
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'sc');
SELECT concurrent_edit.release_lock(:'f', :'sc') AS released;
COMMIT;
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'sc');  -- its commit moves them first
SELECT event, cursor - :before_note AS after FROM concurrent_edit.changes_since(:p, :before_note) ORDER BY cursor;
SELECT count(*) AS waiting FROM concurrent_edit.change_pending_locks WHERE project_id = :p;
ALTER TABLE concurrent_edit.change_pending_locks DROP COLUMN note;
SELECT concurrent_edit.release_lock(:'f', :'sc') AS released;

-- Drafts: autosave keeps the session active; commit_draft writes from the draft's base.
SELECT concurrent_edit.save_draft(:'sb', :'f', 3, E'a\nb\nC\nD by bob\nE\n') IS NOT NULL AS saved;
SELECT concurrent_edit.save_draft(:'sb', :'f', 3, E'a\nb\nC\nD by bob\nE\nf\n') IS NOT NULL AS saved_again;
SELECT file_id = :'f' AS f, base_version, head_version, bytes FROM concurrent_edit.session_drafts(:'sb');
SELECT kind, session_id = :'sb' AS bobs_draft FROM concurrent_edit.open_file(:'sa', :'f');
SELECT status, version FROM concurrent_edit.write(:'f', E'A\nb\nC\nd\nE\n', 3, :alice);
SELECT status, version, content FROM concurrent_edit.commit_draft(:'sb', :'f');
SELECT count(*) AS drafts_left FROM concurrent_edit.session_drafts(:'sb');
-- A draft whose commit conflicts is kept, with the conflict recorded.
SELECT concurrent_edit.save_draft(:'sc', :'f', 5, E'A by carol\nb\nC\nD by bob\nE\nf\n') IS NOT NULL AS saved;
SELECT status FROM concurrent_edit.write(:'f', E'A by alice\nb\nC\nD by bob\nE\nf\n', 5, :alice);
SELECT status, conflicts FROM concurrent_edit.commit_draft(:'sc', :'f');
SELECT count(*) AS draft_kept FROM concurrent_edit.session_drafts(:'sc');
SELECT concurrent_edit.discard_draft(:'sc', :'f') AS discarded, concurrent_edit.discard_draft(:'sc', :'f') AS again;
SELECT pg_temp.try(format('SELECT concurrent_edit.commit_draft(%L, %L)', :'sc', :'f'), false);
SELECT pg_temp.try(format('SELECT concurrent_edit.save_draft(%L, %L, 99, %L)', :'sc', :'f', 'x'));
SELECT pg_temp.try(format('SELECT concurrent_edit.save_draft(%L, %L, 1, %L)', :'sc', :'other', 'x'), false);
-- History cleanup never removes a version a draft or a recorded conflict needs.
SELECT concurrent_edit.save_draft(:'sc', :'f', 2, E'old base draft\n') IS NOT NULL AS saved;
SELECT concurrent_edit.prune_history(:'f', 1) AS pruned;
SELECT array_agg(version ORDER BY version) AS kept FROM concurrent_edit.history(:'f');
SELECT pg_temp.try(format('SELECT concurrent_edit.prune_history(%L, 0)', :'f'));

-- Closing a session releases its locks, closes its files, keeps its drafts by default.
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'sc');
SELECT concurrent_edit.close_session(:'sc') AS closed, concurrent_edit.close_session(:'sc') AS closed_twice;
SELECT count(*) AS locks_left FROM concurrent_edit.lock_status(:'f');
SELECT count(*) AS drafts_kept FROM concurrent_edit.session_drafts(:'sc');
SELECT count(*) AS warnings_from_closed FROM concurrent_edit.open_file(:'sa', :'f') WHERE session_id = :'sc';
SELECT pg_temp.try(format('SELECT concurrent_edit.save_draft(%L, %L, 6, %L)', :'sc', :'f', 'x'), false);
-- Discarding drafts at the close records a draft_discarded event for each.
SELECT concurrent_edit.save_draft(:'sb', :'f', 2, E'draft to discard\n') IS NOT NULL AS saved;
SELECT max(cursor) AS before_discard FROM concurrent_edit.changes_since(:p, 0) \gset
SELECT concurrent_edit.close_session(:'sb', discard_drafts => true);
SELECT event, file_id = :'f' AS of_f, session_id = :'sb' AS of_sb
FROM concurrent_edit.changes_since(:p, :before_discard) ORDER BY cursor;
SELECT count(*) AS drafts_of_sb FROM concurrent_edit.session_drafts(:'sb');
SELECT session_id = :'sa' AS alice_only, open_files, drafts, locks FROM concurrent_edit.project_sessions(:p);

-- Inactivity: active -> idle -> closed (locks released), via cleanup_inactive_sessions().
SELECT concurrent_edit.open_session(:bob, :p) AS s2 \gset
SELECT concurrent_edit.open_session(:carol, :p) AS s3 \gset
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'s3', 'shared', ttl => '1 hour');
UPDATE concurrent_edit.edit_sessions SET last_active_at = now() - interval '10 minutes' WHERE id = :'s2';
UPDATE concurrent_edit.edit_sessions SET last_active_at = now() - interval '2 hours' WHERE id = :'s3';
SELECT pg_temp.try(format('SELECT concurrent_edit.touch_session(%L)', :'s3'), false);
SELECT concurrent_edit.cleanup_inactive_sessions() AS changed;
SELECT id = :'s2' AS is_s2, status FROM concurrent_edit.edit_sessions WHERE id IN (:'s2', :'s3') ORDER BY id = :'s2';
SELECT count(*) AS locks_of_closed FROM concurrent_edit.lock_status(:'f') WHERE session_id = :'s3';
SELECT concurrent_edit.touch_session(:'s2') AS back;
SELECT status, last_active_at > now() - interval '1 minute' AS touched FROM concurrent_edit.edit_sessions WHERE id = :'s2';
SELECT close_file AS closed_file FROM concurrent_edit.close_file(:'sa', :'f');

-- The events of this project, in order (ids only).
SELECT event, count(*) FROM concurrent_edit.changes_since(:p, 0) GROUP BY event ORDER BY event COLLATE "C";

-- concurrent_edit.lock_events = off: locks work as before (acquire, a refused
-- second holder, release, expiry, forced release, the release by a closed
-- session), but none of their changes is in
-- the feed, whose cursors stay consecutive; other events still are. A superuser
-- setting: a role without it cannot turn events off for its own locks.
SELECT max(cursor) AS before_quiet FROM concurrent_edit.changes_since(:p, 0) \gset
SET concurrent_edit.lock_events = off;
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'s2', ttl => '1 minute');
SELECT pg_temp.try(format('SELECT concurrent_edit.acquire_lock(%L, %L)', :'f', :'sa'), false);
SELECT concurrent_edit.release_lock(:'f', :'s2') AS released;
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'s2', ttl => '1 minute');
UPDATE concurrent_edit.file_locks SET acquired_at = now() - interval '2 seconds', expires_at = now() - interval '1 second'
 WHERE file_id = :'f';
SELECT concurrent_edit.cleanup_expired_locks() AS expired;
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'s2', ttl => '1 minute');
SELECT concurrent_edit.force_release_lock(:'f', 'quiet test') AS forced;
SELECT concurrent_edit.open_session(:carol, :p) AS s4 \gset
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'s4', ttl => '1 minute');
SELECT concurrent_edit.close_session(:'s4');  -- releases its lock
SELECT count(*) AS locks_left FROM concurrent_edit.lock_status(:'f');
SELECT status FROM concurrent_edit.write(:'f', E'quiet\n', (SELECT version FROM concurrent_edit.read(:'f')), :bob);
RESET concurrent_edit.lock_events;
SELECT event, cursor - :before_quiet AS after FROM concurrent_edit.changes_since(:p, :before_quiet) ORDER BY cursor;
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'s2', ttl => '1 minute');
SELECT concurrent_edit.release_lock(:'f', :'s2') AS released;
SELECT event, cursor - :before_quiet AS after FROM concurrent_edit.changes_since(:p, :before_quiet) ORDER BY cursor;
CREATE ROLE ce_quiet_locker;
SET ROLE ce_quiet_locker;
SELECT pg_temp.try('SET concurrent_edit.lock_events = off', false);
RESET ROLE;
DROP ROLE ce_quiet_locker;

-- A closed session's drafts: kept, no longer unsaved work for delete_file, and
-- committed by commit_draft as the session's user (before, VC005: nothing could
-- bring them back, and delete_file kept answering conflict).
SELECT concurrent_edit.create_file(:p, 'kept-draft.txt', E'one\ntwo\n', :alice) AS kd \gset
SELECT concurrent_edit.create_file(:p, 'drafted-then-deleted.txt', E'x\n', :alice) AS dd \gset
SELECT concurrent_edit.open_session(:carol, :p) AS sx \gset
SELECT concurrent_edit.save_draft(:'sx', :'kd', 1, E'one\ntwo by carol\n') IS NOT NULL AS saved;
SELECT concurrent_edit.save_draft(:'sx', :'dd', 1, E'y\n') IS NOT NULL AS saved;
SELECT concurrent_edit.close_session(:'sx') AS closed;
SELECT status, draft_sessions FROM concurrent_edit.delete_file(:'dd', :alice);
SELECT status, version, content FROM concurrent_edit.commit_draft(:'sx', :'kd');
SELECT created_by = :carol AS by_carol, session_id IS NULL AS without_session
FROM concurrent_edit.file_versions WHERE file_id = :'kd' AND version = 2;
SELECT count(*) AS drafts_left FROM concurrent_edit.session_drafts(:'sx');

-- Retention of closed sessions: cleanup_inactive_sessions() (and the worker)
-- deletes a session closed longer than concurrent_edit.closed_session_retention
-- ago, unless it still has drafts; -1 keeps them all. A deleted session is
-- unknown (VC005) to every call.
UPDATE concurrent_edit.edit_sessions SET closed_at = now() - interval '2 hours' WHERE id IN (:'sb', :'sc', :'sx');
SET concurrent_edit.closed_session_retention = -1;
SELECT concurrent_edit.cleanup_inactive_sessions() AS changed;
SET concurrent_edit.closed_session_retention = '1h';
SELECT concurrent_edit.cleanup_inactive_sessions() AS changed;
SELECT CASE id WHEN :'sb' THEN 'sb' WHEN :'sc' THEN 'sc' WHEN :'sx' THEN 'sx' WHEN :'s4' THEN 's4' END AS session, status
FROM concurrent_edit.edit_sessions WHERE id IN (:'sb', :'sc', :'sx', :'s4') ORDER BY 1;
SELECT (SELECT count(*) FROM concurrent_edit.session_drafts(:'sc')) AS drafts_of_sc,
       (SELECT count(*) FROM concurrent_edit.session_drafts(:'sx')) AS drafts_of_sx;
SELECT pg_temp.try(format('SELECT concurrent_edit.close_session(%L)', :'sb'), false);
RESET concurrent_edit.closed_session_retention;

-- A call examines at most 1,000 closed sessions past the retention, resuming
-- after the last one its previous call examined: 1,000 sessions kept by their
-- drafts hold up the one behind them for one call only, and are not read again at
-- every call. The next call reaches it; the one after starts from the oldest.
SELECT concurrent_edit.create_file(:p, 'kept-by-drafts.txt', E'k\n', :alice) AS kf \gset
INSERT INTO concurrent_edit.edit_sessions (project_id, id, user_id, status, closed_at)
SELECT :p, ('dddddddd-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid, :carol, 'closed',
       now() - interval '3 hours' + i * interval '1 ms'
FROM generate_series(1, 1000) i;
INSERT INTO concurrent_edit.pending_changes (project_id, session_id, file_id, base_version, content)
SELECT :p, ('dddddddd-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid, :'kf', 1, E'draft\n'
FROM generate_series(1, 1000) i;
INSERT INTO concurrent_edit.edit_sessions (project_id, id, user_id, status, closed_at)
VALUES (:p, 'dddddddd-0000-0000-0000-100000000000', :carol, 'closed', now() - interval '2 hours');
SET concurrent_edit.closed_session_retention = '1h';
CREATE FUNCTION pg_temp.left_of(pattern text) RETURNS bigint LANGUAGE sql
    AS $$SELECT count(*) FROM concurrent_edit.edit_sessions s WHERE s.id::text LIKE pattern$$;
SELECT concurrent_edit.cleanup_inactive_sessions() AS first_call;
SELECT pg_temp.left_of('dddddddd-0000-0000-0000-1%') AS behind_left;
SELECT concurrent_edit.cleanup_inactive_sessions() AS second_call;
SELECT pg_temp.left_of('dddddddd-0000-0000-0000-1%') AS behind_left;
-- From the oldest again: the drafted sessions are examined and kept; the call
-- after them finds none behind and starts over, and the next one deletes them
-- once their drafts are gone.
SELECT concurrent_edit.cleanup_inactive_sessions() AS third_call;
SELECT pg_temp.left_of('dddddddd-%') AS drafted_kept;
DELETE FROM concurrent_edit.pending_changes WHERE session_id::text LIKE 'dddddddd-%';
SELECT concurrent_edit.cleanup_inactive_sessions() AS fourth_call;
SELECT concurrent_edit.cleanup_inactive_sessions() AS fifth_call;
SELECT pg_temp.left_of('dddddddd-%') AS left_after;
RESET concurrent_edit.closed_session_retention;

-- A draft saved before concurrent_edit.max_input_size was lowered is refused
-- (54000), not fetched, and kept; under the limit again it commits.
SELECT concurrent_edit.create_file(:p, 'big-draft.txt', E'one\n', :alice) AS bd \gset
SELECT concurrent_edit.open_session(:carol, :p) AS sy \gset
SELECT concurrent_edit.save_draft(:'sy', :'bd', 1, repeat(E'a line of the draft\n', 100)) IS NOT NULL AS saved;
SET concurrent_edit.max_input_size = '1kB';
SELECT pg_temp.try(format('SELECT concurrent_edit.commit_draft(%L, %L)', :'sy', :'bd'));
RESET concurrent_edit.max_input_size;
SELECT base_version, bytes FROM concurrent_edit.session_drafts(:'sy');
SELECT status, version, length(content) AS chars FROM concurrent_edit.commit_draft(:'sy', :'bd');

-- Listings read their rows in batches of 1,000 (their memory stays bounded
-- however many sessions other roles open): every row, in order, past a batch.
\set many '''55555555-5555-5555-5555-555555555555'''
SELECT concurrent_edit.create_file(:many, 'crowded.txt', E'x\n', :alice) AS crowded \gset
SELECT count(*) AS opened
FROM (SELECT concurrent_edit.open_session(:bob, :many) AS s FROM generate_series(1, 2500)) x,
     LATERAL (SELECT count(*) FROM concurrent_edit.open_file(x.s, :'crowded')) w;
SELECT count(*) AS sessions, count(*) = count(DISTINCT session_id) AS distinct_sessions,
       bool_and(open_files = 1) AS one_file_each
FROM concurrent_edit.project_sessions(:many);
SELECT count(*) AS editors FROM concurrent_edit.file_editors(:'crowded');
SELECT array_agg(session_id) = (SELECT array_agg(id ORDER BY created_at, id) FROM concurrent_edit.edit_sessions
                               WHERE project_id = :many) AS in_order
FROM concurrent_edit.project_sessions(:many);

-- concurrent_edit.max_sessions_per_role: a role at its limit of open sessions is
-- refused another (53400), and nothing is stored. Closed sessions and those past
-- session_close_timeout do not count; other roles and superusers are not held.
CREATE ROLE regress_opener;
CREATE ROLE regress_other_opener;
SELECT concurrent_edit.grant_project(:p, 'regress_opener', 'write');
SELECT concurrent_edit.grant_project(:p, 'regress_other_opener', 'write');
SET concurrent_edit.max_sessions_per_role = 3;
SET ROLE regress_opener;
SELECT concurrent_edit.open_session(:alice, :p) AS o1 \gset
SELECT concurrent_edit.open_session(:alice, :p) AS o2 \gset
SELECT concurrent_edit.open_session(:bob, :p) AS o3 \gset
SELECT pg_temp.try(format('SELECT concurrent_edit.open_session(%L, %L)', :carol, :p));
SELECT pg_temp.error_detail(format('SELECT concurrent_edit.open_session(%L, %L)', :carol, :p)) AS detail;
RESET ROLE;
SELECT count(*) AS stored FROM concurrent_edit.edit_sessions
WHERE role = 'regress_opener'::regrole;
SET ROLE regress_other_opener;
SELECT concurrent_edit.open_session(:carol, :p) IS NOT NULL AS other_role_opens;
RESET ROLE;
SELECT concurrent_edit.open_session(:carol, :p) IS NOT NULL AS superuser_opens;
SET ROLE regress_opener;
SELECT concurrent_edit.close_session(:'o1') AS closed;
SELECT concurrent_edit.open_session(:carol, :p) IS NOT NULL AS opens_after_a_close;
SELECT pg_temp.try(format('SELECT concurrent_edit.open_session(%L, %L)', :carol, :p), false);
RESET ROLE;
UPDATE concurrent_edit.edit_sessions SET last_active_at = now() - interval '2 hours' WHERE id = :'o2';
SET ROLE regress_opener;
SELECT concurrent_edit.open_session(:carol, :p) IS NOT NULL AS opens_past_a_timed_out_one;
-- A transaction's own opens count: the fourth of one statement is refused, and
-- the statement's earlier sessions go with it.
RESET ROLE;
SET concurrent_edit.max_sessions_per_role = 5;
SET ROLE regress_opener;
SELECT pg_temp.try(format('SELECT count(concurrent_edit.open_session(%L, %L)) FROM generate_series(1, 3)', :carol, :p), false);
RESET ROLE;
SELECT count(*) AS open_after_the_refusal FROM concurrent_edit.edit_sessions
WHERE role = 'regress_opener'::regrole AND status <> 'closed' AND last_active_at > now() - interval '1 hour';
SET ROLE regress_opener;
SELECT concurrent_edit.open_session(:carol, :p) IS NOT NULL AS opens_below_the_limit;
RESET ROLE;
SET concurrent_edit.max_sessions_per_role = 0;
SET ROLE regress_opener;
SELECT pg_temp.try(format('SELECT concurrent_edit.open_session(%L, %L)', :carol, :p), false);
RESET ROLE;
SET concurrent_edit.max_sessions_per_role = -1;
SET ROLE regress_opener;
SELECT count(concurrent_edit.open_session(:carol, :p)) AS opened_without_a_limit FROM generate_series(1, 3);
-- Only a superuser sets it (ALTER ROLE ... SET, for one role).
SELECT pg_temp.try('SET concurrent_edit.max_sessions_per_role = 100', false);
RESET ROLE;
RESET concurrent_edit.max_sessions_per_role;
SELECT pg_catalog.current_setting('concurrent_edit.max_sessions_per_role') AS default_limit;
-- A role's own setting (ALTER ROLE ... SET) is its limit whoever opens as it: a
-- session that took the role with SET ROLE does not bring its own (here the
-- default, 10,000). The setting for this database comes before the one for all.
ALTER ROLE regress_opener SET concurrent_edit.max_sessions_per_role = 2;
SET ROLE regress_opener;
SELECT pg_catalog.current_setting('concurrent_edit.max_sessions_per_role') AS in_this_session;
SELECT pg_temp.try(format('SELECT concurrent_edit.open_session(%L, %L)', :carol, :p));
RESET ROLE;
ALTER ROLE regress_opener IN DATABASE :"DBNAME" SET concurrent_edit.max_sessions_per_role = 100;
SET ROLE regress_opener;
SELECT concurrent_edit.open_session(:carol, :p) IS NOT NULL AS opens_under_the_database_setting;
RESET ROLE;
ALTER ROLE regress_opener IN DATABASE :"DBNAME" SET concurrent_edit.max_sessions_per_role = -1;
ALTER ROLE regress_opener SET concurrent_edit.max_sessions_per_role = 0;
SET ROLE regress_opener;
SELECT concurrent_edit.open_session(:carol, :p) IS NOT NULL AS opens_without_a_limit;
RESET ROLE;
ALTER ROLE regress_opener IN DATABASE :"DBNAME" RESET ALL;
ALTER ROLE regress_opener RESET ALL;
SELECT concurrent_edit.revoke_project(:p, 'regress_opener') IS NOT NULL AS revoked,
       concurrent_edit.revoke_project(:p, 'regress_other_opener') IS NOT NULL AS revoked_other;
DELETE FROM concurrent_edit.edit_sessions WHERE role IN ('regress_opener'::regrole, 'regress_other_opener'::regrole);
DROP ROLE regress_opener, regress_other_opener;
