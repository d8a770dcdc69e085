-- Scale-out: owning_project() (the shard router finds the project of a file,
-- session or conflict id with it), and the refusal of primary-only functions on
-- a hot standby (tested on a real standby in TAP 061; here: nothing changes on a
-- primary).
\set VERBOSITY terse
SET client_min_messages = warning;
\i sql/include/helpers.sql
\set p '''5ca1e000-0000-0000-0000-000000000001'''
\set q '''5ca1e000-0000-0000-0000-000000000002'''
\set alice '''aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'''
CREATE ROLE regress_scale_reader;
CREATE ROLE regress_scale_nobody;

SELECT concurrent_edit.create_file(:p, 'a.txt', E'one\ntwo\n', :alice) AS f \gset
SELECT concurrent_edit.create_file(:q, 'b.txt', E'x\n', :alice) AS g \gset
SELECT status FROM concurrent_edit.write(:'f', E'ONE\ntwo\n', 1, :alice);
SELECT conflict_id AS c FROM concurrent_edit.write(:'f', E'1\ntwo\n', 1, :alice) \gset
SELECT concurrent_edit.open_session(:alice, :p) AS s \gset

-- Each kind gives its project; an unknown id gives NULL.
SELECT concurrent_edit.owning_project('file', :'f') = :p AS file,
       concurrent_edit.owning_project('file', :'g') = :q AS other_project,
       concurrent_edit.owning_project('session', :'s') = :p AS session,
       concurrent_edit.owning_project('conflict', :'c') = :p AS conflict,
       concurrent_edit.owning_project('file', :'s') IS NULL AS session_is_no_file,
       concurrent_edit.owning_project('file', gen_random_uuid()) IS NULL AS unknown,
       concurrent_edit.owning_project('file', NULL) IS NULL AS strict;
SELECT pg_temp.try($$SELECT concurrent_edit.owning_project('lock', gen_random_uuid())$$);

-- A deleted file still has its project.
SELECT status FROM concurrent_edit.delete_file(:'g', :alice, force => true);
SELECT concurrent_edit.owning_project('file', :'g') = :q AS deleted_file;

-- Only what the caller may read: NULL otherwise, the same as an unknown id.
SELECT concurrent_edit.grant_project(:p, 'regress_scale_reader', 'read');
SET ROLE regress_scale_reader;
SELECT concurrent_edit.owning_project('file', :'f') = :p AS reader_sees_p,
       concurrent_edit.owning_project('file', :'g') IS NULL AS reader_not_q;
SET ROLE regress_scale_nobody;
SELECT concurrent_edit.owning_project('file', :'f') IS NULL AS nobody_sees_nothing,
       concurrent_edit.owning_project('session', :'s') IS NULL AS nor_sessions;
RESET ROLE;

-- On a primary the functions that a standby refuses run as always.
SELECT pg_is_in_recovery() AS in_recovery;
SELECT lock_type FROM concurrent_edit.acquire_lock(:'f', :'s');
SELECT count(*) AS holders FROM concurrent_edit.lock_status(:'f');

SELECT concurrent_edit.revoke_project(:p, 'regress_scale_reader');
DROP ROLE regress_scale_reader, regress_scale_nobody;
