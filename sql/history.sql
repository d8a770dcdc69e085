-- History: versions stored as deltas (read back exactly, merged from, diffed),
-- damaged chains reported, and retention (set_retention, prune_history) that
-- never removes the head, a draft's base, a conflict's version or a version
-- that was the head within keep_days.
\set VERBOSITY terse
SET client_min_messages = warning;
\i sql/include/helpers.sql
\set p '''41570000-0000-0000-0000-000000000001'''
\set q '''41570000-0000-0000-0000-000000000002'''
\set alice '''aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'''
\set bob '''bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'''

-- Version i of a 200-line text: lines 1 .. i-1 edited, one more per version.
CREATE FUNCTION pg_temp.text_at(i int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(CASE WHEN j < i THEN 'edited line ' || j ELSE 'line ' || j END || E'\n', '' ORDER BY j)
    FROM generate_series(1, 200) j $$;
SELECT concurrent_edit.create_file(:p, 'big.txt', pg_temp.text_at(1), :alice) AS f \gset
DO $$
BEGIN
    FOR i IN 2..40 LOOP
        PERFORM concurrent_edit.write(f.id, pg_temp.text_at(i), i - 1, 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa')
        FROM concurrent_edit.files f WHERE f.project_id = '41570000-0000-0000-0000-000000000001';
    END LOOP;
END $$;
-- One snapshot (version 1); every other version a delta from the version the
-- skip layout names (16 back at multiples of 16), small, with its chain depth.
SELECT version, delta_base, depth, content IS NOT NULL AS snapshot, octet_length(delta) < 100 AS small, bytes
FROM concurrent_edit.file_versions WHERE file_id = :'f' AND version IN (1, 2, 16, 17, 18, 33, 40) ORDER BY version;
SELECT count(*) FILTER (WHERE content IS NOT NULL) AS snapshots, max(depth) AS longest_chain,
       sum(octet_length(delta)) < 40 * 100 AS deltas_small
FROM concurrent_edit.file_versions WHERE file_id = :'f';
-- The head's text is kept whole in the file row.
SELECT head_content = pg_temp.text_at(40) AS head_kept FROM concurrent_edit.files WHERE id = :'f';
-- Every version reads back exactly; history() gives the sizes.
SELECT count(*) AS exact FROM generate_series(1, 40) i
WHERE (SELECT content FROM concurrent_edit.read(:'f', i)) = pg_temp.text_at(i);
SELECT bool_and(bytes = octet_length(pg_temp.text_at(version))) AS sizes FROM concurrent_edit.history(:'f');
SELECT concurrent_edit.diff_versions(:'f', 3, 5);
-- A write from an old base (rebuilt from its deltas) merges.
SELECT status, version FROM concurrent_edit.write(:'f', replace(pg_temp.text_at(3), E'line 150\n', E'line 150 by bob\n'), 3, :bob);
SELECT content = replace(pg_temp.text_at(40), E'line 150\n', E'line 150 by bob\n') AS merged FROM concurrent_edit.read(:'f');

-- A damaged delta is reported (XX001, JSON DETAIL), not applied.
SELECT concurrent_edit.create_file(:q, 'damaged.txt', pg_temp.text_at(1), :alice) AS g \gset
SELECT status FROM concurrent_edit.write(:'g', pg_temp.text_at(2), 1, :alice);
SELECT status FROM concurrent_edit.write(:'g', pg_temp.text_at(3), 2, :alice);
UPDATE concurrent_edit.file_versions SET delta = '\x4401ffff'::bytea WHERE file_id = :'g' AND version = 2;
SELECT pg_temp.try(format('SELECT content FROM concurrent_edit.read(%L, 2)', :'g'));
SELECT (SELECT content FROM concurrent_edit.read(:'g')) = pg_temp.text_at(3) AS head_still_readable;

-- Retention.
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.set_retention(%L, keep_versions => 0)', :p));
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.set_retention(%L, keep_days => -1)', :p));
SELECT pg_temp.try(format('SELECT concurrent_edit.prune_history(%L, project_id => %L)', :'f', :p));
SELECT pg_temp.try('SELECT concurrent_edit.prune_history()');
-- Without a retention setting nothing is removed.
SELECT concurrent_edit.prune_history(project_id => :p) AS removed;
-- A draft based on version 4 and a conflict based on version 5 pin those versions.
SELECT concurrent_edit.open_session(:bob, :p) AS s \gset
SELECT concurrent_edit.save_draft(:'s', :'f', 4, replace(pg_temp.text_at(4), E'line 190\n', E'line 190 drafted\n')) IS NOT NULL AS drafted;
SELECT status, base_version FROM concurrent_edit.write(:'f', replace(pg_temp.text_at(5), E'line 10\n', E'line 10 by bob\n'), 5, :bob);
-- The clocks of versions 5, 10 and 36, as clients that read them hold them.
SELECT (SELECT vector_clock FROM concurrent_edit.read(:'f', 5)) AS c5,
       (SELECT vector_clock FROM concurrent_edit.read(:'f', 10)) AS c10,
       (SELECT vector_clock FROM concurrent_edit.read(:'f', 36)) AS c36 \gset
SELECT * FROM concurrent_edit.set_retention(:p, keep_versions => 10);
SELECT concurrent_edit.prune_history(project_id => :p) AS removed;
SELECT array_agg(version ORDER BY version) AS kept FROM concurrent_edit.history(:'f');
-- Kept versions still read back, and the chains they needed were re-stored.
SELECT count(*) AS exact FROM generate_series(33, 40) i
WHERE (SELECT content FROM concurrent_edit.read(:'f', i)) = pg_temp.text_at(i);
SELECT (SELECT content FROM concurrent_edit.read(:'f', 4)) = pg_temp.text_at(4) AS draft_base_readable;
SELECT max(depth) <= 64 AS bounded, count(*) FILTER (WHERE delta_base IS NOT NULL
         AND delta_base NOT IN (SELECT version FROM concurrent_edit.file_versions WHERE file_id = :'f')) AS dangling
FROM concurrent_edit.file_versions WHERE file_id = :'f';
-- A removed base gives VC006 to read() and to a write from it.
SELECT pg_temp.try(format('SELECT content FROM concurrent_edit.read(%L, 10)', :'f'));
SELECT pg_temp.try(format('SELECT status FROM concurrent_edit.write(%L, %L, 10, %L)', :'f', 'x', :alice), false);
-- So does a write whose client_clock comes from a removed version. The newest
-- kept version that clock dominates is 5 (a conflict's base), older than the
-- one read: a merge from there takes what versions 6 to 10 changed for the
-- client's own edits, and so undoes a later version that changed them back
-- (before: merged from version 5, silently).
SELECT pg_temp.try(format('SELECT status FROM concurrent_edit.write(%L, %L, NULL, %L, client_clock => %L)',
                          :'f', 'x', :alice, :'c10'), false);
SELECT d ->> 'newest_dominated_version' AS dominated, d ->> 'missing_version' AS missing
FROM pg_temp.error_detail(format('SELECT status FROM concurrent_edit.write(%L, %L, NULL, %L, client_clock => %L)',
                                 :'f', 'x', :alice, :'c10')) d;
-- Version 5's own clock is a base though version 6 was removed: it comes from
-- version 5 itself (each version's clock is above the one before it).
BEGIN;
SELECT status, base_version FROM concurrent_edit.write(:'f', replace(pg_temp.text_at(5), E'line 1\n', E'line 1 offline\n'),
                                                       NULL, :alice, client_clock => :'c5');
ROLLBACK;
-- A clock of a kept version whose next one is kept too is a base as before.
BEGIN;
SELECT status, base_version FROM concurrent_edit.write(:'f', replace(pg_temp.text_at(36), E'line 1\n', E'line 1 offline\n'),
                                                       NULL, :alice, client_clock => :'c36');
ROLLBACK;
-- The draft whose base is older than keep_versions still commits by merge.
SELECT status FROM concurrent_edit.commit_draft(:'s', :'f');
SELECT version, content = replace(replace(pg_temp.text_at(40), E'line 150\n', E'line 150 by bob\n'),
                                  E'line 190\n', E'line 190 drafted\n') AS merged
FROM concurrent_edit.read(:'f');
-- A complete rewrite is stored in full (a delta would not be smaller).
SELECT status FROM concurrent_edit.write(:'f', repeat(E'something else entirely\n', 10), 42, :alice);
SELECT content IS NOT NULL AS snapshot, depth FROM concurrent_edit.file_versions WHERE file_id = :'f' AND version = 43;
-- keep_days keeps every version that was the head within that many days.
SELECT * FROM concurrent_edit.set_retention(:q, keep_days => 1);
SELECT concurrent_edit.prune_history(:'g') AS removed_recent;
UPDATE concurrent_edit.file_versions SET created_at = now() - interval '10 days' WHERE file_id = :'g' AND version <= 2;
UPDATE concurrent_edit.file_versions SET delta = NULL, content = pg_temp.text_at(2), delta_base = NULL, depth = 0
WHERE file_id = :'g' AND version = 2;
-- Version 1 stopped being the head 10 days ago: removed; version 2 stopped
-- being the head today (version 3 is new): kept.
SELECT concurrent_edit.prune_history(:'g') AS removed_old;
SELECT array_agg(version ORDER BY version) AS kept FROM concurrent_edit.history(:'g');
-- No retention any more.
SELECT * FROM concurrent_edit.set_retention(:q);
SELECT count(*) AS settings FROM concurrent_edit.project_retention WHERE project_id = :q;
-- keep_days is at most 1,000,000: a cut-off further back is outside the
-- timestamp range (before: accepted, then 22008 at every retention round, which
-- stopped retention for every project).
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.set_retention(%L, keep_days => 2147483647)', :q));
SELECT keep_days FROM concurrent_edit.set_retention(:q, keep_days => 1000000);
SELECT concurrent_edit.prune_history(:'g') AS removed_with_max_days;
SELECT * FROM concurrent_edit.set_retention(:q);

-- A delete or rename conflict whose base version was removed by retention is
-- recorded on the head version (its details keep the base given); a rename's
-- base outside the file's versions is VC006 (before: 23503 from the conflict's
-- foreign key, for both).
SELECT concurrent_edit.create_file(:q, 'pruned-base.txt', E'v1\n', :alice) AS pb \gset
SELECT status FROM concurrent_edit.write(:'pb', E'v2\n', 1, :alice);
SELECT status FROM concurrent_edit.rename_file(:'pb', 'pruned-base-2.txt', :alice);
SELECT status FROM concurrent_edit.write(:'pb', E'v3\n', 2, :alice);
SELECT concurrent_edit.prune_history(:'pb', 1) AS pruned;
SELECT pg_temp.try(format('SELECT status FROM concurrent_edit.rename_file(%L, %L, %L, base_version => 0)', :'pb', 'x.txt', :alice), false);
SELECT d ->> 'expected_version' AS expected, d ->> 'current_version' AS current
FROM pg_temp.error_detail(format('SELECT status FROM concurrent_edit.rename_file(%L, %L, %L, base_version => 9)', :'pb', 'x.txt', :alice)) d;
SELECT status, path FROM concurrent_edit.rename_file(:'pb', 'x.txt', :alice, base_version => 1);
SELECT status FROM concurrent_edit.delete_file(:'pb', :alice);
SELECT status, version FROM concurrent_edit.write(:'pb', E'late\n', 2, :alice);
SELECT kind, base_version, ours_version, details ->> 'base_version' AS given_base
FROM concurrent_edit.conflict_history WHERE file_id = :'pb' ORDER BY created_at, kind;
