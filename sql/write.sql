-- write_many: several files together, all or nothing (the single write() is in
-- files.sql, offline clocks in offline_clocks.sql).
\set VERBOSITY terse
SET client_min_messages = warning;
\i sql/include/helpers.sql
\set p '''3a7e3a7e-0000-0000-0000-000000000001'''
\set alice '''aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'''
\set bob '''bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'''

SELECT concurrent_edit.create_file(:p, 'one.txt', E'one\n', :alice) AS f1 \gset
SELECT concurrent_edit.create_file(:p, 'two.txt', E'two\n', :alice) AS f2 \gset
SELECT concurrent_edit.create_file(:p, 'three.txt', E'three\n', :alice) AS f3 \gset
SELECT status FROM concurrent_edit.write(:'f2', E'two by alice\n', 1, :alice);
SELECT count(*) AS events FROM concurrent_edit.changes_since(:p, 0) \gset

-- File 2 of 3 conflicts: nothing is stored (not even the conflict), every outcome is reported.
SELECT ord, status, version, conflict_id, conflicts, stored, hunks -> 0 ->> 'theirs_text' AS theirs
FROM concurrent_edit.write_many(jsonb_build_array(
       jsonb_build_object('file_id', :'f1', 'content', E'one by bob\n', 'base_version', 1, 'author', :bob),
       jsonb_build_object('file_id', :'f2', 'content', E'two by bob\n', 'base_version', 1, 'author', :bob),
       jsonb_build_object('file_id', :'f3', 'content', E'three by bob\n', 'base_version', 1, 'author', :bob)))
     WITH ORDINALITY w(file_id, status, version, content_hash, conflict_id, conflicts, base_version, head_version,
                       vector_clock, stored, hunks, semantic_warnings, ord);
SELECT path, head_version FROM concurrent_edit.files WHERE project_id = :p ORDER BY path;
SELECT count(*) AS no_conflict_recorded FROM concurrent_edit.conflict_history WHERE project_id = :p;
SELECT count(*) - :events AS no_new_event FROM concurrent_edit.changes_since(:p, 0);

-- Without the conflict, all three are written together.
SELECT ord, status, version, stored
FROM concurrent_edit.write_many(jsonb_build_array(
       jsonb_build_object('file_id', :'f1', 'content', E'one by bob\n', 'base_version', 1, 'author', :bob),
       jsonb_build_object('file_id', :'f2', 'content', E'two by alice, then bob\n', 'base_version', 2, 'author', :bob),
       jsonb_build_object('file_id', :'f3', 'content', E'three by bob\n', 'expected_hash', concurrent_edit.content_hash(E'three\n'), 'author', :bob)))
     WITH ORDINALITY w(file_id, status, version, content_hash, conflict_id, conflicts, base_version, head_version,
                       vector_clock, stored, hunks, semantic_warnings, ord);

-- all_or_nothing => false: each file as write() would, the conflict recorded.
SELECT ord, status, conflict_id IS NOT NULL AS recorded, stored
FROM concurrent_edit.write_many(jsonb_build_array(
       jsonb_build_object('file_id', :'f1', 'content', E'one again\n', 'base_version', 2, 'author', :alice),
       jsonb_build_object('file_id', :'f2', 'content', E'two by carol\n', 'base_version', 2, 'author', :alice)),
     all_or_nothing => false)
     WITH ORDINALITY w(file_id, status, version, content_hash, conflict_id, conflicts, base_version, head_version,
                       vector_clock, stored, hunks, semantic_warnings, ord);

-- Bad input: 22023 naming the element.
SELECT pg_temp.try($$SELECT * FROM concurrent_edit.write_many('{"file_id": 1}')$$);
SELECT pg_temp.try($$SELECT * FROM concurrent_edit.write_many('[{"file_id": "not-a-uuid", "content": "x", "base_version": 1}]')$$);
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.write_many(%L)', jsonb_build_array(jsonb_build_object('file_id', :'f1', 'content', 'x'))));
-- A malformed client_clock is 22023 naming its element, like the other fields.
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.write_many(%L)', jsonb_build_array(jsonb_build_object('file_id', :'f1', 'content', 'x', 'client_clock', 'zz'))));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.write_many(%L)', jsonb_build_array(jsonb_build_object('file_id', :'f1', 'content', 'x', 'client_clock', '{"a": -1}'::jsonb))));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.write_many(%L)', jsonb_build_array(jsonb_build_object('file_id', :'f1', 'content', 'x', 'base_version', 1.5, 'author', :bob))));
-- The clock may also be given as its text in a JSON string (as a vector_clock
-- column reads in JSON), as order_operations takes it.
SELECT status, version, stored FROM concurrent_edit.write_many(jsonb_build_array(jsonb_build_object(
    'file_id', :'f1', 'content', E'one by the clock text\n', 'author', :bob,
    'client_clock', (SELECT head_clock::text FROM concurrent_edit.files WHERE id = :'f1'))));
-- ... and so is a malformed expected_hash (it was 22023 without the element).
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.write_many(%L)', jsonb_build_array(jsonb_build_object('file_id', :'f1', 'content', 'x', 'expected_hash', 'zz', 'author', :bob))));
-- An element without an author or a session: 22023 naming it (write() gives 22004
-- for its own NULL argument); a NULL strategy is refused as by write(), not read as
-- the default.
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.write_many(%L)', jsonb_build_array(jsonb_build_object('file_id', :'f1', 'content', 'x', 'base_version', 1, 'author', :bob), jsonb_build_object('file_id', :'f2', 'content', 'y', 'base_version', 1))));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.write_many(%L, NULL)', jsonb_build_array(jsonb_build_object('file_id', :'f1', 'content', 'x', 'base_version', 1, 'author', :bob))));
SELECT count(*) AS empty FROM concurrent_edit.write_many('[]');

-- In a read-only transaction a write is refused (25006) when it would lock the
-- file's row, as SELECT ... FOR NO KEY UPDATE is, and nothing is stored.
BEGIN READ ONLY;
SELECT pg_temp.try(format('SELECT status FROM concurrent_edit.write(%L, %L, 1, %L)', :'f3', E'read only\n', :bob));
ROLLBACK;
SELECT version, content FROM concurrent_edit.read(:'f3');

-- concurrent_edit.max_input_size bounds every head, not only the arguments: a
-- merge that would make a larger text is refused (54000, the result's size in
-- the DETAIL) and nothing is written; before, it was stored, and every later
-- merge, diff or write-back of the file was refused.
SET concurrent_edit.max_input_size = '1kB';
SELECT concurrent_edit.create_file(:p, 'bounded.txt', repeat(E'line of text\n', 45), :bob) AS fb \gset
SELECT status, version, length(content) AS bytes
FROM concurrent_edit.write(:'fb', repeat(E'line of text\n', 45) || repeat(E'tail line xx\n', 25), 1, :bob);
SELECT pg_temp.try(format('SELECT status FROM concurrent_edit.write(%L, %L, 1, %L)', :'fb',
    repeat(E'head line xx\n', 25) || repeat(E'line of text\n', 45), :bob));
SELECT pg_temp.try(format('SELECT status FROM concurrent_edit.write(%L, %L, 1, %L, strategy => %L)', :'fb',
    repeat(E'line of text\n', 45) || repeat(E'other tail x\n', 25), :bob, 'keep-both'));
SELECT head_version, length(head_content) AS bytes FROM concurrent_edit.files WHERE id = :'fb';
RESET concurrent_edit.max_input_size;
SELECT status, version, length(content) AS bytes
FROM concurrent_edit.write(:'fb', repeat(E'head line xx\n', 25) || repeat(E'line of text\n', 45), 1, :bob);

-- write_many: at most concurrent_edit.max_writes_per_file elements write one file
-- (each updates the file's row again: the time grew with the square of their
-- number, the file locked throughout); more are refused before any write.
SET concurrent_edit.max_writes_per_file = 2;
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.write_many(%L)', jsonb_build_array(
    jsonb_build_object('file_id', :'fb', 'content', E'a\n', 'base_version', 3, 'author', :bob),
    jsonb_build_object('file_id', :'f1', 'content', E'b\n', 'base_version', 1, 'author', :bob),
    jsonb_build_object('file_id', :'fb', 'content', E'c\n', 'base_version', 4, 'author', :bob),
    jsonb_build_object('file_id', :'fb', 'content', E'd\n', 'base_version', 5, 'author', :bob)))) AS three_of_one_file;
SELECT head_version AS unchanged FROM concurrent_edit.files WHERE id = :'fb';
SELECT status, version FROM concurrent_edit.write_many(jsonb_build_array(
    jsonb_build_object('file_id', :'fb', 'content', E'a\n', 'base_version', 3, 'author', :bob),
    jsonb_build_object('file_id', :'fb', 'content', E'c\n', 'base_version', 4, 'author', :bob)));
RESET concurrent_edit.max_writes_per_file;

-- A file's clock holds at most 1,024 nodes: past 1,023 writing actors, new ones
-- are counted on the node "~others", and the file stays writable for everyone
-- (before, the 1,024th actor was refused with 54000, and with it every writer the
-- clock did not know yet: one role could lock a shared file).
SELECT concurrent_edit.create_file(:p, 'crowded.txt', E'x\n', :bob) AS fc \gset
SELECT set_config('ce_test.fc', :'fc', false) IS NOT NULL AS noted;
DO $$
DECLARE f uuid := current_setting('ce_test.fc')::uuid;
BEGIN
    FOR i IN 1..1030 LOOP
        PERFORM concurrent_edit.write(f, 'line ' || i || E'\n', i, gen_random_uuid());
    END LOOP;
END $$;
SELECT status, version FROM concurrent_edit.write(:'fc', E'by another\n', 1031, :alice);
SELECT count(*) AS nodes, max(v::bigint) FILTER (WHERE k = '~others') AS others,
       max(v::bigint) FILTER (WHERE k = :alice) AS alice
FROM concurrent_edit.files, jsonb_each_text(head_clock::text::jsonb) AS e(k, v) WHERE id = :'fc';
