-- Merge engine: merge3, merge_conflicts, diff, diff_stat, changes_overlap, resolve.
\set VERBOSITY terse
SET client_min_messages = warning;
\i sql/include/helpers.sql

-- The seed's three scenarios.
-- 1. Different lines merge cleanly.
SELECT * FROM concurrent_edit.merge3(E'Line 1\nLine 2\nLine 3\nLine 4\nLine 5\n',
                                     E'Line 1\nLine 2A\nLine 3\nLine 4\nLine 5\n',
                                     E'Line 1\nLine 2\nLine 3\nLine 4B\nLine 5\n');
-- 2. Same line: a conflict with git's markers.
SELECT * FROM concurrent_edit.merge3(E'Line 1\nLine 2\nLine 3\nLine 4\n',
                                     E'Line 1\nLine 2A\nLine 3\nLine 4\n',
                                     E'Line 1\nLine 2B\nLine 3\nLine 4\n');
-- (The seed draws scenario 1 with two adjacent lines; such edits touch, and git,
-- hence merge3, reports them as one conflict.)
SELECT * FROM concurrent_edit.merge3(E'Line 1\nLine 2\nLine 3\nLine 4\n',
                                     E'Line 1\nLine 2A\nLine 3\nLine 4\n',
                                     E'Line 1\nLine 2\nLine 3B\nLine 4\n');
-- 3. A line inserted above an edit: merges.
SELECT * FROM concurrent_edit.merge3(E'Line 1\nLine 2\nLine 3\nLine 4\n',
                                     E'Line 1\nLine 2\nLine 3A\nLine 4\n',
                                     E'Line 1\nNew Line\nLine 2\nLine 3\nLine 4\n');

-- Identical changes on both sides are not a conflict.
SELECT * FROM concurrent_edit.merge3(E'a\nb\nc\n', E'a\nB\nc\n', E'a\nB\nc\n');
-- The dtl::Diff3 failure cases merge correctly: 100 / 0 / 200 is a conflict ...
SELECT * FROM concurrent_edit.merge3(E'100\n', E'0\n', E'200\n');
-- ... and an insertion next to a deletion is a conflict, as in git.
SELECT * FROM concurrent_edit.merge3(E'a\nb\nc\n', E'a\nc\n', E'a\nb\nX\nc\n');

-- Styles, labels, marker size.
SELECT content FROM concurrent_edit.merge3(E'a\nb\nc\n', E'a\nX\nc\n', E'a\nY\nc\n', style => 'diff3');
SELECT content FROM concurrent_edit.merge3(E'1\n2\n3\n4\n5\n', E'1\nA\nB\nC\n5\n', E'1\nA\nZ\nC\n5\n',
                                           style => 'zdiff3', ours_label => 'HEAD', base_label => 'v1',
                                           theirs_label => 'feature');
SELECT content FROM concurrent_edit.merge3(E'a\nb\nc\n', E'a\nX\nc\n', E'a\nY\nc\n', marker_size => 3);
-- Zealous refinement: only the differing middle line conflicts (merge style).
SELECT content FROM concurrent_edit.merge3(E'1\n2\n3\n4\n5\n', E'1\nA\nB\nC\n5\n', E'1\nA\nZ\nC\n5\n');

-- Favor modes resolve conflicts in content; nothing is left to count.
SELECT f, m.* FROM unnest(ARRAY['ours', 'theirs', 'union']) f,
    LATERAL concurrent_edit.merge3(E'a\nb\nc\n', E'a\nX\nc\n', E'a\nY\nc\n', favor => f) m
ORDER BY f COLLATE "C";

-- CRLF: markers take the files' line ends; a missing final newline; empty inputs.
SELECT replace(content, E'\r', '\r') AS content
FROM concurrent_edit.merge3(E'a\r\nb\r\nc\r\n', E'a\r\nX\r\nc\r\n', E'a\r\nY\r\nc\r\n');
SELECT * FROM concurrent_edit.merge3(E'a\nb', E'a\nX', E'a\nY');
SELECT * FROM concurrent_edit.merge3(E'a\nb', E'A\nb', E'a\nb\n');
SELECT * FROM concurrent_edit.merge3('', '', '');
SELECT * FROM concurrent_edit.merge3('', E'x\n', '');
SELECT * FROM concurrent_edit.merge3('', E'x\n', E'y\n');
-- A whole-file rewrite on one side only is taken as is.
SELECT * FROM concurrent_edit.merge3(E'a\nb\n', E'a\nb\n', E'completely\nnew\n');

-- merge_conflicts: one row per region, hunk by hunk.
SELECT * FROM concurrent_edit.merge_conflicts(
    E'h\n1\n2\n3\n4\n5\n6\n7\n8\nt\n',
    E'h\n1\nA\n3\n4\n5\n6\nC\n8\nt\n',
    E'h\n1\nB\n3\n4\n5\n6\n7\nD\nt\n');
SELECT count(*) AS regions FROM concurrent_edit.merge_conflicts(E'a\n', E'a\nb\n', E'c\na\n');
-- An empty range starts at the line it sits before.
SELECT base_start, base_count, ours_start, ours_count, theirs_start, theirs_count
FROM concurrent_edit.merge_conflicts(E'a\nb\nc\n', E'a\nc\n', E'a\nB\nc\n');

-- changes_overlap: a real diff, so an insertion above an edit does not overlap.
SELECT count(*) AS overlaps FROM concurrent_edit.changes_overlap(
    E'Line 1\nLine 2\nLine 3\nLine 4\n', E'Line 1\nLine 2\nLine 3A\nLine 4\n',
    E'Line 1\nNew Line\nLine 2\nLine 3\nLine 4\n');
SELECT * FROM concurrent_edit.changes_overlap(
    E'Line 1\nLine 2\nLine 3\nLine 4\n', E'Line 1\nLine 2A\nLine 3\nLine 4\n',
    E'Line 1\nLine 2B\nLine 3\nLine 4\n');
-- Touching edits overlap (as git reports them).
SELECT * FROM concurrent_edit.changes_overlap(E'a\nb\nc\nd\n', E'a\nB\nc\nd\n', E'a\nb\nC\nd\n');

-- diff and diff_stat.
SELECT concurrent_edit.diff(E'a\nb\nc\nd\ne\nf\ng\nh\n', E'a\nB\nc\nd\ne\nf\ng\nh\nI\n');
SELECT concurrent_edit.diff(E'a\nb', E'a\nc', context => 0, old_label => 'a/f.txt', new_label => 'b/f.txt');
SELECT concurrent_edit.diff(E'same\n', E'same\n') = '' AS equal_is_empty;
SELECT * FROM concurrent_edit.diff_stat(E'a\nb\nc\n', E'a\nB\nc\nd\n');
SELECT * FROM concurrent_edit.diff_stat('', '');

-- resolve: every strategy.
SELECT r.* FROM unnest(ARRAY['last-write-wins', 'first-write-wins', 'merge-with-markers', 'smart-merge',
                             'keep-both']) s,
    LATERAL concurrent_edit.resolve(s, E'a\nb\nc\n', E'a\nX\nc\n', E'a\nY\nc\n') r;
SELECT strategy, content, auto_resolved, manual_intervention_required
FROM concurrent_edit.resolve('smart-merge', E'1\n2\n3\n4\n5\n', E'1\nA\n3\n4\n5\n', E'1\n2\n3\n4\nB\n');
-- merge-with-markers asks for a person only when a conflict remains (docs/reference/merge.md).
SELECT strategy, content, auto_resolved, manual_intervention_required, conflicts
FROM concurrent_edit.resolve('merge-with-markers', E'1\n2\n3\n4\n5\n', E'1\nA\n3\n4\n5\n', E'1\n2\n3\n4\nB\n');
SELECT content FROM concurrent_edit.resolve('timestamp', 'b', 'ours', 'theirs',
    '2024-01-02 00:00+00', '2024-01-01 00:00+00');
SELECT content FROM concurrent_edit.resolve('timestamp', 'b', 'ours', 'theirs',
    '2024-01-01 00:00+00', '2024-01-02 00:00+00');
SELECT content AS tie FROM concurrent_edit.resolve('timestamp', 'b', 'ours', 'theirs',
    '2024-01-01 00:00+00', '2024-01-01 00:00+00');

-- NULL handling: the STRICT functions return NULL; resolve names the argument.
SELECT (concurrent_edit.merge3(NULL, 'a', 'b')).content IS NULL AS strict_merge3;
SELECT concurrent_edit.diff('a', NULL) IS NULL AS strict_diff;
SELECT count(*) AS strict_srf FROM concurrent_edit.merge_conflicts('a', NULL, 'b');
SELECT pg_temp.try($$SELECT concurrent_edit.resolve(NULL, 'b', 'o', 't')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.resolve('last-write-wins', 'b', NULL, 't')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.resolve('timestamp', 'b', 'o', 't', now(), NULL)$$);
SELECT content FROM concurrent_edit.resolve('last-write-wins', 'b', 'o', 't', NULL, NULL);

-- Bad input: a specific SQLSTATE, never XX000.
SELECT pg_temp.try($$SELECT concurrent_edit.merge3('a', 'b', 'c', style => 'git')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.merge3('a', 'b', 'c', favor => 'mine')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.merge3('a', 'b', 'c', marker_size => 0)$$);
SELECT pg_temp.try($$SELECT concurrent_edit.merge3('a', 'b', 'c', marker_size => 101)$$);
SELECT pg_temp.try($$SELECT concurrent_edit.merge3('a', 'b', 'c', ours_label => E'x\ny')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.diff('a', 'b', context => -1)$$);
SELECT pg_temp.try($$SELECT concurrent_edit.resolve('coin-flip', 'b', 'o', 't')$$);
-- The HINT lists the valid values.
\set VERBOSITY default
SELECT concurrent_edit.merge3('a', 'b', 'c', style => 'git');
SELECT concurrent_edit.resolve('coin-flip', 'b', 'o', 't');
\set VERBOSITY terse

-- Inputs above concurrent_edit.max_input_size are refused before any work.
SET concurrent_edit.max_input_size = '1kB';
SELECT pg_temp.try($$SELECT concurrent_edit.merge3(repeat('x', 2000), 'a', 'b')$$);
SELECT pg_temp.try($$SELECT concurrent_edit.diff('a', repeat(E'y\n', 600))$$);
SELECT length(content) FROM concurrent_edit.merge3(repeat('x', 1000), 'a', repeat('x', 1000));
RESET concurrent_edit.max_input_size;

-- statement_timeout interrupts a long merge (57014) and the backend survives.
CREATE TEMP TABLE big AS
SELECT string_agg(CASE WHEN i % 3 = 0 THEN 'x' ELSE (i % 7)::text END, E'\n') AS base,
       string_agg(CASE WHEN i % 5 = 0 THEN 'y' ELSE (i % 7)::text END, E'\n') AS ours,
       string_agg(CASE WHEN i % 4 = 0 THEN 'z' ELSE (i % 6)::text END, E'\n') AS theirs
FROM generate_series(1, 3000000) i;
SELECT pg_backend_pid() AS pid \gset
SET statement_timeout = '100ms';
\set VERBOSITY sqlstate
SELECT clean FROM big, concurrent_edit.merge3(base, ours, theirs);
\set VERBOSITY terse
RESET statement_timeout;
SELECT pg_backend_pid() = :pid AS same_backend;

-- concurrent_edit.diff_algorithm = dtl: the same merges on dtl's O(NP) core (which
-- may pick another of several equally short edit scripts than git; see the docs).
SET concurrent_edit.diff_algorithm = dtl;
SELECT content, clean, conflicts FROM concurrent_edit.merge3(E'a\nb\nc\nd\ne\n', E'a\nB\nc\nd\ne\n', E'a\nb\nc\nd\nE\n');
SELECT clean, conflicts FROM concurrent_edit.merge3(E'a\nb\nc\n', E'a\nX\nc\n', E'a\nY\nc\n');
SELECT concurrent_edit.diff(E'one\ntwo\nthree\n', E'one\n2\nthree\n');
SELECT * FROM concurrent_edit.diff_stat(E'a\nb\nc\n', E'a\nc\nd\ne\n');
RESET concurrent_edit.diff_algorithm;
SELECT pg_temp.try($$SET concurrent_edit.diff_algorithm = 'patience'$$);

-- The setting changes results (here the two cores keep different lines of the
-- same texts), so every merge and diff function is STABLE, not IMMUTABLE: an
-- index expression using one is refused (42P17).
SELECT concurrent_edit.diff(E'a\nb\n', E'c\na\na\nb\nb\na\nc\n', 0) AS myers;
SET concurrent_edit.diff_algorithm = dtl;
SELECT concurrent_edit.diff(E'a\nb\n', E'c\na\na\nb\nb\na\nc\n', 0) AS dtl;
RESET concurrent_edit.diff_algorithm;
SELECT p.proname, p.provolatile FROM pg_proc p
WHERE p.pronamespace = 'concurrent_edit'::regnamespace
  AND p.proname IN ('merge3', 'merge_conflicts', 'diff', 'diff_stat', 'changes_overlap', 'resolve')
ORDER BY 1;
CREATE TEMP TABLE diff_index_attempt (a text, b text);
SELECT pg_temp.try('CREATE INDEX ON diff_index_attempt ((concurrent_edit.diff(a, b)))');

-- concurrent_edit.max_merge_memory bounds one merge or diff: 54000 naming the
-- setting, before the limit is passed; the session goes on; the default lets the
-- same merge through. Only a superuser may change it.
CREATE TEMP TABLE big_texts AS
SELECT b, replace(b, 'row 10 ', 'row 10 O ') AS o, replace(b, 'row 90000 ', 'row 90000 T ') AS t
FROM (SELECT string_agg('row ' || i || E' of the text\n', '' ORDER BY i) AS b FROM generate_series(1, 100000) i) x;
SET concurrent_edit.max_merge_memory = '1MB';
SELECT pg_temp.try('SELECT concurrent_edit.merge3(b, o, t) FROM big_texts', false);
SELECT d ->> 'setting' AS setting, (d ->> 'limit_kb')::int AS limit_kb, (d ->> 'needed_kb')::int > 1024 AS over
FROM pg_temp.error_detail('SELECT concurrent_edit.merge3(b, o, t) FROM big_texts') d;
SELECT pg_temp.try('SELECT concurrent_edit.diff(b, o) FROM big_texts', false);
SELECT pg_temp.try('SELECT concurrent_edit.diff_stat(b, t) FROM big_texts', false);
SELECT pg_temp.try('SELECT concurrent_edit.merge_conflicts(b, o, t) FROM big_texts', false);
SELECT pg_temp.try('SELECT concurrent_edit.changes_overlap(b, o, t) FROM big_texts', false);
SELECT pg_temp.try($$SELECT concurrent_edit.resolve('smart-merge', b, o, t) FROM big_texts$$, false);
-- Small merges fit.
SELECT (concurrent_edit.merge3(E'a\nb\n', E'A\nb\n', E'a\nB\n')).content;
RESET concurrent_edit.max_merge_memory;
SELECT m.clean, m.content = replace(replace(b, 'row 10 ', 'row 10 O '), 'row 90000 ', 'row 90000 T ') AS both_edits
FROM big_texts, LATERAL concurrent_edit.merge3(b, o, t) m;
CREATE ROLE ce_merge_memory_user;
SET ROLE ce_merge_memory_user;
SET concurrent_edit.max_merge_memory = '64GB';
SET concurrent_edit.retained_free_memory = '1GB';
RESET ROLE;
DROP ROLE ce_merge_memory_user;
-- Malloc's thresholds are an int of bytes: at most just under 2 GB (4GB became 0).
SELECT pg_temp.try($$SET concurrent_edit.retained_free_memory = '4GB'$$);
SET concurrent_edit.retained_free_memory = '2097151kB';
RESET concurrent_edit.retained_free_memory;

-- concurrent_edit.retained_free_memory: the memory a merge freed stays in the
-- backend for the next merges when it is less than the setting, and goes back to
-- the system otherwise. Seen in the backend's resident size (MB) after a merge of
-- the three 100,000-line texts, which frees about 16 MB: kept under 64MB, returned
-- under 1MB and 8MB.
SHOW concurrent_edit.retained_free_memory;
CREATE FUNCTION pg_temp.rss_mb() RETURNS numeric LANGUAGE sql AS $$
  SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmRSS:\s+(\d+)'))[1]::numeric / 1024 $$;
SET concurrent_edit.retained_free_memory = '64MB';
SELECT (concurrent_edit.merge3(b, o, t)).clean FROM big_texts;
SELECT pg_temp.rss_mb() AS kept \gset
SET concurrent_edit.retained_free_memory = '1MB';
SELECT (concurrent_edit.merge3(b, o, t)).clean FROM big_texts;
SELECT pg_temp.rss_mb() AS returned \gset
SET concurrent_edit.retained_free_memory = '8MB';
SELECT (concurrent_edit.merge3(b, o, t)).clean FROM big_texts;
SELECT pg_temp.rss_mb() AS capped \gset
SELECT :kept - :returned > 10 AS kept_with_64mb, :capped - :returned < 8 AS bounded_with_8mb;
RESET concurrent_edit.retained_free_memory;

-- Arguments stored compressed: pglz values (inline and out of line) are decoded by
-- the extension's own pglz decoder, the others by the server (an uncompressible
-- value is stored out of line as it is). Every form gives the text the server
-- reads: merging a text with itself returns it byte for byte, and a one-line
-- change on each side merges. (lz4 is left out: the memory-checked server is built
-- without it, and its values go through the server's detoasting anyway.)
CREATE TEMP TABLE stored (label text, t text COMPRESSION pglz);
ALTER TABLE stored ALTER COLUMN t SET STORAGE MAIN;  -- compressed, kept inline when it fits
CREATE TEMP TABLE stored_ext (label text, t text COMPRESSION pglz);
INSERT INTO stored SELECT 'pglz inline 6 kB', string_agg('line ' || i || E' of the file\n', '' ORDER BY i)
FROM generate_series(1, 300) i;
INSERT INTO stored_ext SELECT 'pglz out of line 300 kB',
       string_agg('    call_' || (i % 97) || '(' || i || E');\n', '' ORDER BY i) FROM generate_series(1, 12000) i;
INSERT INTO stored_ext SELECT 'not compressible 20 kB',
       string_agg(md5(i::text) || md5((i * 7)::text), '' ORDER BY i) FROM generate_series(1, 300) i;
CREATE TEMP VIEW all_stored AS
  SELECT label, t, pg_column_compression(t) AS method, pg_column_size(t) < octet_length(t) AS smaller FROM stored
  UNION ALL SELECT label, t, pg_column_compression(t), pg_column_size(t) < octet_length(t) FROM stored_ext;
SELECT label, method, smaller, (concurrent_edit.merge3(t, t, t)).content = t AS same_text,
       (concurrent_edit.merge3(t, regexp_replace(t, '^[^\n]*', 'first'), regexp_replace(t, '[^\n]*\n$', E'last\n'))).content
         = regexp_replace(regexp_replace(t, '^[^\n]*', 'first'), '[^\n]*\n$', E'last\n') AS merged,
       concurrent_edit.diff(t, t) = '' AS no_diff
FROM all_stored ORDER BY label;
