-- Access per project: grants, refusals (42501 with a JSON DETAIL), sessions that
-- belong to their role, conflicts of other roles, row-level security on the tables.
\set VERBOSITY terse
SET client_min_messages = warning;
\i sql/include/helpers.sql
\set p1 '''a1a1a1a1-0000-0000-0000-000000000001'''
\set p2 '''a2a2a2a2-0000-0000-0000-000000000002'''
\set alice '''aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'''
\set bob '''bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'''

CREATE ROLE regress_writer1;      -- write on P1
CREATE ROLE regress_reader1;      -- read on P1
CREATE ROLE regress_admin1;       -- admin on P1
CREATE ROLE regress_app;          -- grant_access: write on every project
CREATE ROLE regress_nobody;       -- PUBLIC's defaults only
CREATE ROLE regress_team;         -- a group: its members have its rights
CREATE ROLE regress_member IN ROLE regress_team;

SELECT concurrent_edit.create_file(:p1, 'one.txt', E'a\nb\nc\n', :alice) AS f1 \gset
SELECT concurrent_edit.create_file(:p2, 'two.txt', E'x\ny\n', :alice) AS f2 \gset
SELECT concurrent_edit.grant_project(:p1, 'regress_writer1', 'write');
SELECT concurrent_edit.grant_project(:p1, 'regress_reader1', 'read');
SELECT concurrent_edit.grant_project(:p1, 'regress_admin1', 'admin');
SELECT concurrent_edit.grant_project(:p2, 'regress_team', 'write');
SELECT concurrent_edit.grant_access('regress_app');
SELECT project_id = :p1 AS p1, role, rights FROM concurrent_edit.project_access(:p1) ORDER BY role::text;
-- Granting again replaces; bad rights and unknown roles are refused.
SELECT concurrent_edit.grant_project(:p1, 'regress_reader1', 'read');
SELECT pg_temp.try(format('SELECT concurrent_edit.grant_project(%L, %L, %L)', :p1, 'regress_reader1', 'owner'));
SELECT pg_temp.try(format('SELECT concurrent_edit.grant_project(%L, %L, %L)', :p1, 'no_such_role', 'read'));
SELECT pg_temp.try(format('SELECT concurrent_edit.grant_project(NULL, %L, %L)', 'regress_reader1', 'read'));

-- A role with write on P1 reads and writes P1's files...
SET ROLE regress_writer1;
SELECT concurrent_edit.has_project_right(:p1, 'write') AS w1, concurrent_edit.has_project_right(:p2) AS r2;
SELECT concurrent_edit.has_project_right(:p1, NULL) IS NULL AS null_right_is_null;
SELECT content FROM concurrent_edit.read(:'f1');
SELECT concurrent_edit.file_at(:p1, './one.txt') = :'f1' AS finds_by_path, case_insensitive FROM concurrent_edit.project_options(:p1);
SELECT status, version FROM concurrent_edit.write(:'f1', E'a\nB\nc\n', 1, :alice);
SELECT concurrent_edit.open_session(:bob, :p1) AS s1 \gset
-- The input limits are a superuser's: a role cannot raise its own.
SELECT pg_temp.try($$SET concurrent_edit.max_input_size = '1GB'$$);
SELECT pg_temp.try($$SET concurrent_edit.max_merge_memory = '4GB'$$);
-- ... and gets 42501 with the project and the right it needs for P2's.
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.read(%L)', :'f2'));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.write(%L, %L, 1, %L)', :'f2', 'z', :alice));
SELECT pg_temp.try(format('SELECT concurrent_edit.create_file(%L, %L, %L, %L)', :p2, 'x.txt', 'x', :alice));
SELECT pg_temp.try(format('SELECT concurrent_edit.open_session(%L, %L)', :bob, :p2));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.changes_since(%L, 0)', :p2));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.history(%L)', :'f2'));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.lock_status(%L)', :'f2'));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.project_sessions(%L)', :p2));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.preview_write(%L, %L, 1, %L)', :'f2', 'z', :alice));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.write_many(%L)',
       jsonb_build_array(jsonb_build_object('file_id', :'f1', 'content', 'one', 'base_version', 2, 'author', :alice),
                         jsonb_build_object('file_id', :'f2', 'content', 'two', 'base_version', 1, 'author', :alice))));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.revert_version(%L, 1, %L)', :'f2', :alice));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.rename_file(%L, %L, %L)', :'f2', 'y.txt', :alice));
SELECT pg_temp.try(format('SELECT concurrent_edit.file_at(%L, %L)', :p2, 'two.txt'));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.project_options(%L)', :p2));
SELECT d FROM pg_temp.error_detail(format('SELECT * FROM concurrent_edit.read(%L)', :'f2')) d;
-- Administration needs admin.
SELECT pg_temp.try(format('SELECT concurrent_edit.force_release_lock(%L, %L)', :'f1', 'x'));
SELECT pg_temp.try(format('SELECT concurrent_edit.prune_history(%L, 1)', :'f1'));
SELECT pg_temp.try(format('SELECT concurrent_edit.prune_history(project_id => %L)', :p1));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.set_retention(%L, keep_versions => 1)', :p1));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.set_project_options(%L, true)', :p1));
SELECT pg_temp.try(format('SELECT concurrent_edit.grant_project(%L, %L, %L)', :p1, 'regress_nobody', 'read'));
SELECT pg_temp.try('SELECT concurrent_edit.cleanup_expired_locks()');
SELECT pg_temp.try($$SELECT concurrent_edit.grant_access('regress_nobody')$$);
RESET ROLE;

-- A reader reads but does not write, open sessions or take locks.
SET ROLE regress_reader1;
SELECT version FROM concurrent_edit.read(:'f1');
SELECT count(*) > 0 AS has_history FROM concurrent_edit.history(:'f1');
SELECT path FROM concurrent_edit.list_files(:p1);
SELECT concurrent_edit.feed_position(:p1) > 0 AS has_position;
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.list_files(%L)', :p2));
SELECT pg_temp.try(format('SELECT concurrent_edit.feed_position(%L)', :p2));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.write(%L, %L, 2, %L)', :'f1', 'r', :alice));
SELECT pg_temp.try(format('SELECT concurrent_edit.open_session(%L, %L)', :bob, :p1));
RESET ROLE;

-- Sessions belong to the role that opened them: another role with write on the
-- project cannot write, lock, touch, close or read the drafts of it...
SET ROLE regress_app;
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.write(%L, %L, 2, session_id => %L)', :'f1', 'w', :'s1'));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.acquire_lock(%L, %L)', :'f1', :'s1'));
SELECT pg_temp.try(format('SELECT concurrent_edit.release_lock(%L, %L)', :'f1', :'s1'));
SELECT pg_temp.try(format('SELECT concurrent_edit.touch_session(%L)', :'s1'));
SELECT pg_temp.try(format('SELECT concurrent_edit.close_session(%L)', :'s1'));
SELECT pg_temp.try(format('SELECT concurrent_edit.save_draft(%L, %L, 2, %L)', :'s1', :'f1', 'd'));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.session_drafts(%L)', :'s1'));
SELECT d ->> 'needs' AS needs, d ->> 'reason' LIKE 'session % belongs to another role' AS reason
FROM pg_temp.error_detail(format('SELECT concurrent_edit.touch_session(%L)', :'s1')) d;
RESET ROLE;
-- ... its own role can ...
SET ROLE regress_writer1;
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f1', :'s1');
SELECT concurrent_edit.save_draft(:'s1', :'f1', 2, E'a\nB\nc\nd\n') IS NOT NULL AS drafted;
RESET ROLE;
-- ... and an admin of the project can (force release, close).
SET ROLE regress_admin1;
SELECT concurrent_edit.release_lock(:'f1', :'s1') AS released_by_admin;
SELECT concurrent_edit.close_session(:'s1') AS closed_by_admin;
SELECT case_insensitive, rekeyed_files FROM concurrent_edit.set_project_options(:p1, true);
SELECT case_insensitive, rekeyed_files FROM concurrent_edit.set_project_options(:p1, false);
RESET ROLE;

-- Conflicts: their own writer resolves them with write, others need admin.
SET ROLE regress_writer1;
SELECT status FROM concurrent_edit.write(:'f1', E'a\nW\nc\n', 1, :alice);
SELECT conflict_id AS c1 FROM concurrent_edit.list_conflicts(:'f1') \gset
RESET ROLE;
SET ROLE regress_app;
SELECT pg_temp.try(format('SELECT concurrent_edit.resolve_conflict(%L, %L, %L)', :'c1', 'r', :bob));
SELECT pg_temp.try(format('SELECT concurrent_edit.discard_conflict(%L, %L)', :'c1', 'not mine'));
SELECT pg_temp.try(format('SELECT concurrent_edit.resolve_conflict(%L, choose => %L)', :'c1', 'theirs'));
RESET ROLE;
SET ROLE regress_writer1;
SELECT concurrent_edit.resolve_conflict(:'c1', E'a\nB and W\nc\n', :alice) AS resolved_version;
RESET ROLE;

-- Rights through role membership; revocation is seen at once.
SET ROLE regress_member;
SELECT status FROM concurrent_edit.write(:'f2', E'x\nY\n', 1, :bob);
RESET ROLE;
SELECT concurrent_edit.revoke_project(:p2, 'regress_team') AS revoked, concurrent_edit.revoke_project(:p2, 'regress_team') AS again;
SET ROLE regress_member;
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.write(%L, %L, 2, %L)', :'f2', 'z', :bob));
RESET ROLE;

-- Nobody gets 42501 everywhere; the pure functions stay open to every role.
SET ROLE regress_nobody;
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.read(%L)', :'f1'));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.list_files(%L)', :p1));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.list_files(%L, %L)', :p1, 'one'));
SELECT pg_temp.try(format('SELECT concurrent_edit.feed_position(%L)', :p1));
SELECT pg_temp.try(format('SELECT concurrent_edit.open_session(%L, %L)', :bob, :p1));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.project_access(%L)', :p1));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.conflict_hunks(%L)', :'c1'));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.conflict_texts(%L)', :'c1'));
SELECT count(*) AS grants_visible FROM concurrent_edit.project_access();
SELECT clean FROM concurrent_edit.merge3(E'a\n', E'b\n', E'a\n');
SELECT pg_temp.try('SELECT count(*) FROM concurrent_edit.files');
RESET ROLE;

-- Direct SELECTs: only rows of readable projects (row-level security).
SET ROLE regress_writer1;
SELECT concurrent_edit.open_session(:bob, :p1) AS s2 \gset
SELECT concurrent_edit.save_draft(:'s2', :'f1', (SELECT version FROM concurrent_edit.read(:'f1')), 'a draft') IS NOT NULL AS drafted;
RESET ROLE;
GRANT SELECT ON ALL TABLES IN SCHEMA concurrent_edit TO regress_reader1, regress_writer1, regress_admin1;
SET ROLE regress_reader1;
SELECT project_id = :p1 AS only_p1, count(*) FROM concurrent_edit.files WHERE project_id IN (:p1, :p2) GROUP BY 1;
SELECT count(*) AS events_of_p2 FROM concurrent_edit.change_log WHERE project_id = :p2;
SELECT count(*) AS row_images_visible FROM concurrent_edit.occ_row_versions;
-- Drafts are their session's: a reader of the project does not see another
-- role's (session_drafts() refuses it too); the session's role and an admin do.
SELECT count(*) AS drafts_seen_by_a_reader FROM concurrent_edit.pending_changes WHERE project_id = :p1;
SELECT concurrent_edit.draft_visible(:p1, :'s2') AS visible_to_a_reader;
SET ROLE regress_writer1;
SELECT content AS own_draft FROM concurrent_edit.pending_changes WHERE project_id = :p1;
SELECT concurrent_edit.draft_visible(:p2, :'s2') AS visible_under_another_project;
-- Answers are kept for the rest of a query, per session and per role.
SELECT array_agg(concurrent_edit.draft_visible(p, s) ORDER BY n) AS visible_in_one_query
FROM (VALUES (1, :p1::uuid, :'s2'::uuid), (2, :p1, gen_random_uuid()), (3, :p2, :'s2'::uuid),
             (4, :p1, :'s2'::uuid), (5, :p2, :'s2'::uuid)) v(n, p, s);
BEGIN;
DECLARE drafts_cursor CURSOR FOR
    SELECT n, concurrent_edit.draft_visible(:p1, :'s2') AS visible FROM generate_series(1, 3) n;
FETCH 1 FROM drafts_cursor;
SET LOCAL ROLE regress_reader1;
FETCH 1 FROM drafts_cursor;
SET LOCAL ROLE regress_writer1;
FETCH 1 FROM drafts_cursor;
COMMIT;
-- ... and per statement: PL/pgSQL keeps a call's state for the transaction, and
-- a revoke in it takes effect at the next statement.
CREATE FUNCTION pg_temp.draft_visible_in_plpgsql(p uuid, s uuid) RETURNS boolean LANGUAGE plpgsql
    AS $$ BEGIN RETURN concurrent_edit.draft_visible(p, s); END $$;
BEGIN;
SELECT pg_temp.draft_visible_in_plpgsql(:p1, :'s2') AS before_the_revoke;
RESET ROLE;
SELECT concurrent_edit.revoke_project(:p1, 'regress_writer1') IS NOT NULL AS revoked;
SET ROLE regress_writer1;
SELECT pg_temp.draft_visible_in_plpgsql(:p1, :'s2') AS after_the_revoke;
ROLLBACK;
DROP FUNCTION pg_temp.draft_visible_in_plpgsql(uuid, uuid);
-- A role whose right was revoked cannot keep its session active (before:
-- touch_session kept it listed as an active editor for ever), but it can leave it.
RESET ROLE;
BEGIN;
SET LOCAL ROLE regress_writer1;
SELECT concurrent_edit.open_session(:alice, :p1) AS s_revoked \gset
RESET ROLE;
SELECT concurrent_edit.revoke_project(:p1, 'regress_writer1') IS NOT NULL AS revoked;
SET LOCAL ROLE regress_writer1;
SELECT pg_temp.try(format('SELECT concurrent_edit.touch_session(%L)', :'s_revoked'), false);
SELECT concurrent_edit.close_session(:'s_revoked') AS left_its_session;
ROLLBACK;
SET ROLE regress_admin1;
SELECT count(*) AS drafts_seen_by_an_admin FROM concurrent_edit.pending_changes WHERE project_id = :p1;
RESET ROLE;
REVOKE SELECT ON ALL TABLES IN SCHEMA concurrent_edit FROM regress_reader1, regress_writer1, regress_admin1;

-- Internal helpers are not executable by PUBLIC (trigger functions only fire as triggers).
SELECT p.oid::regprocedure AS public_internal_helper
FROM pg_proc p
WHERE p.pronamespace = 'concurrent_edit'::regnamespace AND p.proname LIKE '\_%'
  AND p.prorettype <> 'trigger'::regtype
  AND has_function_privilege('public', p.oid, 'EXECUTE');
-- No function of the extension is SECURITY DEFINER (docs/security.md lists none).
SELECT p.oid::regprocedure AS security_definer FROM pg_proc p
WHERE p.pronamespace = 'concurrent_edit'::regnamespace AND p.prosecdef;

-- The row-level security policies call has_project_right in parallel workers too
-- (no latest snapshot there: the query's is used), also inside REPEATABLE READ.
CREATE ROLE regress_parallel;
GRANT USAGE ON SCHEMA concurrent_edit TO regress_parallel;
GRANT SELECT ON concurrent_edit.files TO regress_parallel;
SELECT concurrent_edit.grant_project(:p1, 'regress_parallel', 'read');
SET force_parallel_mode = on;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET ROLE regress_parallel;
SELECT count(*) > 0 AS sees_p1, bool_and(project_id = :p1) AS only_p1 FROM concurrent_edit.files;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) > 0 AS sees_p1 FROM concurrent_edit.files;
COMMIT;
RESET ROLE;
RESET force_parallel_mode;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
SELECT concurrent_edit.revoke_project(:p1, 'regress_parallel');
REVOKE SELECT ON concurrent_edit.files FROM regress_parallel;
REVOKE USAGE ON SCHEMA concurrent_edit FROM regress_parallel;
DROP ROLE regress_parallel;

-- Clean up (the other tests share the database).
SELECT concurrent_edit.revoke_access('regress_app');
DELETE FROM concurrent_edit.project_access WHERE project_id IN (:p1, :p2);
DELETE FROM concurrent_edit.conflict_history WHERE project_id IN (:p1, :p2);
DELETE FROM concurrent_edit.edit_sessions WHERE project_id IN (:p1, :p2);
DELETE FROM concurrent_edit.files WHERE project_id IN (:p1, :p2);
DROP ROLE regress_writer1, regress_reader1, regress_admin1, regress_app, regress_nobody, regress_member, regress_team;
