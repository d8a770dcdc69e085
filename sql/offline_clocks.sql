-- Vector clocks on versions, and clock-driven merges for offline edits: every
-- version's clock is the head's clock incremented for the writing actor (the
-- session, else the author); write(client_clock) picks as merge base the newest
-- version the client's clock dominates.
\set VERBOSITY terse
SET client_min_messages = warning;
SET search_path = public, concurrent_edit;  -- vclock operators and functions
\i sql/include/helpers.sql
\set p '''55555555-5555-5555-5555-555555555555'''
\set alice '''aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'''
\set bob '''bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'''
\set f '''f5555555-0000-0000-0000-000000000001'''

SELECT concurrent_edit.create_file(:p, 'offline.txt', E'a\nb\nc\nd\ne\n', :alice, file_id => :f) = :f AS created;
SELECT version, vector_clock FROM concurrent_edit.read(:f);
-- A write through a session increments the session's entry.
INSERT INTO concurrent_edit.edit_sessions (project_id, id, user_id) VALUES (:p, '5e551011-5555-0000-0000-000000000001', :bob);
SELECT status, version, vector_clock FROM concurrent_edit.write(:f, E'a\nb\nc\nd\ne\nf\n', 1, session_id => '5e551011-5555-0000-0000-000000000001');
SELECT head_clock = (SELECT vector_clock FROM concurrent_edit.read(:f)) AS head_clock_copied FROM concurrent_edit.files WHERE id = :f;

-- Two offline clients (a laptop and a phone) both read version 2 and keep its clock.
SELECT vector_clock AS c2 FROM concurrent_edit.read(:f) \gset
-- The laptop edits line 1, the phone line 5; they reconnect one after the other
-- and send only the clock they started from (no version number).
SELECT status, version, base_version, vector_clock FROM concurrent_edit.write(:f, E'A (laptop)\nb\nc\nd\ne\nf\n', NULL, :alice, client_clock => :'c2');
SELECT status, version, base_version, vector_clock FROM concurrent_edit.write(:f, E'a\nb\nc\nd\nE (phone)\nf\n', NULL, :bob, client_clock => :'c2');
-- Both edits landed: the phone's base was chosen by its clock (version 2).
SELECT content FROM concurrent_edit.read(:f);
-- Each version's clock descends from the previous one (the server linearizes).
SELECT a.version, b.version AS next, a.vector_clock < b.vector_clock AS happened_before
FROM concurrent_edit.history(:f) a JOIN concurrent_edit.history(:f) b ON b.version = a.version + 1 ORDER BY 1;

-- A client clock that dominates the head fast-forwards: the writing session's own
-- node may count edits made offline.
\set laptop '''5e551011-5555-0000-0000-00000000000a'''
INSERT INTO concurrent_edit.edit_sessions (project_id, id, user_id) VALUES (:p, :laptop, :alice);
SELECT vector_clock AS c4 FROM concurrent_edit.read(:f) \gset
SELECT status, version, base_version FROM concurrent_edit.write(:f, E'A (laptop)\nb\nc\nd\nE (phone)\nf\ng\n', NULL,
       session_id => :laptop, client_clock => vclock_increment(vclock_increment(:'c4', :laptop), :laptop));
-- The offline count is kept (and incremented for this write) in the new version's clock.
SELECT vclock_get(vector_clock, :laptop) - vclock_get(:'c4', :laptop) AS laptop_ahead FROM concurrent_edit.read(:f);
-- A clock that names nodes the file has never seen, or is ahead of every version on
-- another writer's node, is refused (22023) and never merged into the head clock:
-- a crafted clock would otherwise make other writers' counters overflow or fill the
-- clock up to its entry limit.
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, NULL, %L, client_clock => %L)', :f, 'x', :alice, '{"elsewhere": 3}'));
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, NULL, %L, client_clock => %L)', :f, 'x', :alice,
                          jsonb_build_object(:bob, 9223372036854775807)::text));
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, 5, %L, client_clock => %L)', :f, 'x', :alice,
                          (SELECT jsonb_object_agg('junk-' || i, 1) FROM generate_series(1, 1000) i)::text), false);
-- write_many names the element whose clock is refused (before: the DETAIL named
-- the node only).
SELECT d ->> 'element' AS element, d ->> 'node' AS node
FROM pg_temp.error_detail(format('SELECT * FROM concurrent_edit.write_many(%L)', jsonb_build_array(
    jsonb_build_object('file_id', :f, 'content', 'x', 'author', :alice, 'client_clock',
                       (SELECT head_clock::jsonb FROM concurrent_edit.files WHERE id = :f)),
    jsonb_build_object('file_id', :f, 'content', 'x', 'author', :alice, 'client_clock', '{"elsewhere": 3}'::jsonb)))) d;
SELECT vclock_nodes(head_clock) AS head_nodes FROM concurrent_edit.files WHERE id = :f;
-- Bob's next write still works (his counter was not touched).
SELECT status FROM concurrent_edit.write(:f, E'A (laptop)\nb\nc\nd\nE (phone)\nf\ng\nh0\n', 5, :bob);
-- A stale clock with a conflicting edit is a recorded conflict like any stale write.
SELECT status, conflicts, base_version FROM concurrent_edit.write(:f, E'A (phone, late)\nb\nc\nd\ne\nf\n', NULL, :bob, client_clock => :'c2');
-- base_version wins over the clock when both are given; the clock still joins the new version's clock.
SELECT status, version, vclock_get(vector_clock, :laptop) - vclock_get(:'c4', :laptop) AS laptop_ahead
FROM concurrent_edit.write(:f, E'A (laptop)\nb\nc\nd\nE (phone)\nf\ng\nh0\ni\n', 6, session_id => :laptop,
                           client_clock => vclock_increment((SELECT head_clock FROM concurrent_edit.files WHERE id = :f), :laptop));

-- Without a session the actor is the author, whose node every device of the author
-- shares: a count there could reach another device's write that this client never
-- saw, and fast-forward over it. So no write without a session may count (22023).
-- Two devices of Alice read the same clock. Device 1 counted one offline edit,
-- device 2 two: after device 1's write, device 2's clock would equal the head's.
SELECT vector_clock AS c8, version AS v8 FROM concurrent_edit.read(:f) \gset
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, NULL, %L, client_clock => %L)', :f,
                          E'A (laptop)\nb\nc\nd\nE (phone)\nf\ng\nh0\ni\nj (device 1)\n', :alice,
                          vclock_increment(:'c8', :alice)));
SELECT pg_temp.try(format('SELECT concurrent_edit.write(%L, %L, NULL, %L, client_clock => %L)', :f,
                          E'a (device 2)\nb\nc\nd\nE (phone)\nf\ng\nh0\ni\n', :alice,
                          vclock_increment(vclock_increment(:'c8', :alice), :alice)));
SELECT version = :v8 AS nothing_written FROM concurrent_edit.read(:f);
-- With the clock they read, device 1's write is current, and device 2's merges
-- from the version both read: both edits are kept.
SELECT status FROM concurrent_edit.write(:f, E'A (laptop)\nb\nc\nd\nE (phone)\nf\ng\nh0\ni\nj (device 1)\n', NULL,
                                         :alice, client_clock => :'c8');
SELECT status, base_version = :v8 AS from_what_it_read
FROM concurrent_edit.write(:f, E'a (device 2)\nb\nc\nd\nE (phone)\nf\ng\nh0\ni\n', NULL, :alice, client_clock => :'c8');
SELECT content FROM concurrent_edit.read(:f);

-- Leave nothing behind for the other tests.
DELETE FROM concurrent_edit.edit_sessions WHERE project_id = :p;
DELETE FROM concurrent_edit.files WHERE project_id = :p;
