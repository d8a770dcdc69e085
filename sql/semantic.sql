-- Semantic warnings: merge3, write, preview_write, write_many and revert_version
-- report the blocks (functions, sections) in which both sides of a clean merge
-- changed lines. Real C, Python and Markdown files: test/data/semantic (base, ours,
-- and theirs changing the same or another function / method / section).
\set VERBOSITY terse
SET client_min_messages = warning;
\i sql/include/helpers.sql
\getenv abs_srcdir PG_ABS_SRCDIR
\set p '''5e3a5e3a-0000-0000-0000-000000000001'''
\set alice '''aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'''
\set bob '''bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'''
\set carol '''cccccccc-cccc-cccc-cccc-cccccccccccc'''

CREATE TEMP TABLE src AS
SELECT name, pg_read_file(:'abs_srcdir' || '/test/data/semantic/' || name) AS text
FROM unnest(ARRAY['base.c', 'ours.c', 'theirs_same_function.c', 'theirs_other_function.c',
                  'base.py', 'ours.py', 'theirs_same_def.py', 'theirs_other_def.py',
                  'base.md', 'ours.md', 'theirs_same_section.md', 'theirs_other_section.md']) name;
CREATE FUNCTION pg_temp.f(n text) RETURNS text LANGUAGE sql AS $$ SELECT text FROM src WHERE name = n $$;
-- Line n of a text, trimmed.
CREATE FUNCTION pg_temp.line_of(t text, n int) RETURNS text LANGUAGE sql AS
$$ SELECT btrim((string_to_array(t, E'\n'))[n], E' \t\r') $$;

-- merge3: one warning when both sides changed one function / method / section, none
-- when they changed different ones; the kind comes from the path's extension.
SELECT v.path, v.theirs, m.clean, m.conflicts, m.semantic_warnings
FROM (VALUES ('ini.c', 'base.c', 'ours.c', 'theirs_same_function.c'),
             ('ini.c', 'base.c', 'ours.c', 'theirs_other_function.c'),
             ('inventory.py', 'base.py', 'ours.py', 'theirs_same_def.py'),
             ('inventory.py', 'base.py', 'ours.py', 'theirs_other_def.py'),
             ('README.md', 'base.md', 'ours.md', 'theirs_same_section.md'),
             ('README.md', 'base.md', 'ours.md', 'theirs_other_section.md')) v(path, base, ours, theirs),
     LATERAL concurrent_edit.merge3(pg_temp.f(v.base), pg_temp.f(v.ours), pg_temp.f(v.theirs), path => v.path) m
ORDER BY v.path, v.theirs;
-- The example of docs/reference/merge.md.
SELECT clean, semantic_warnings ->> 0 FROM concurrent_edit.merge3(
  E'def f():\n    a = 1\n    b = 2\n    return a + b\n',
  E'def f():\n    a = 10\n    b = 2\n    return a + b\n',
  E'def f():\n    a = 1\n    b = 2\n    return a * b\n', path => 'f.py');
-- Without a path the base's content decides: the same warnings.
SELECT v.base, w ->> 'kind' AS kind, w ->> 'block' AS block
FROM (VALUES ('base.c', 'ours.c', 'theirs_same_function.c'), ('base.py', 'ours.py', 'theirs_same_def.py'),
             ('base.md', 'ours.md', 'theirs_same_section.md')) v(base, ours, theirs),
     LATERAL concurrent_edit.merge3(pg_temp.f(v.base), pg_temp.f(v.ours), pg_temp.f(v.theirs)) m,
     LATERAL jsonb_array_elements(m.semantic_warnings) w
ORDER BY v.base;
-- The path wins over the content: the C file read as Markdown has no heading, so no block.
SELECT semantic_warnings FROM concurrent_edit.merge3(pg_temp.f('base.c'), pg_temp.f('ours.c'),
    pg_temp.f('theirs_same_function.c'), path => 'notes.md');
-- "line" is where the block starts in the merged content; "base_line" in the base.
SELECT w ->> 'base_line' AS base_line, w ->> 'line' AS line,
       pg_temp.line_of(pg_temp.f('base.py'), (w ->> 'base_line')::int) = w ->> 'block' AS base_has_it,
       pg_temp.line_of(m.content, (w ->> 'line')::int) = w ->> 'block' AS merged_has_it
FROM concurrent_edit.merge3(pg_temp.f('base.py'),
         E'"""A module line above everything."""\n\n' || pg_temp.f('ours.py'), pg_temp.f('theirs_same_def.py')) m,
     LATERAL jsonb_array_elements(m.semantic_warnings) w;
-- A conflict is reported as a conflict, and favor settles it as a conflict: no warning.
SELECT clean, conflicts, semantic_warnings
FROM concurrent_edit.merge3(E'int f(void)\n{\n    return 1;\n}\n', E'int f(void)\n{\n    return 2;\n}\n',
                            E'int f(void)\n{\n    return 3;\n}\n');
SELECT clean, conflicts, semantic_warnings
FROM concurrent_edit.merge3(E'int f(void)\n{\n    return 1;\n}\n', E'int f(void)\n{\n    return 2;\n}\n',
                            E'int f(void)\n{\n    return 3;\n}\n', favor => 'union');
-- Existing calls keep working: positional arguments up to marker_size.
SELECT content, clean, conflicts, semantic_warnings
FROM concurrent_edit.merge3(E'a\nb\nc\n', E'a\nX\nc\n', E'a\nY\nc\n', 'merge', 'none', 'o', 'b', 't', 3);
-- The setting turns it off; the merge itself is unchanged.
SET concurrent_edit.semantic_warnings = off;
SELECT clean, semantic_warnings FROM concurrent_edit.merge3(pg_temp.f('base.c'), pg_temp.f('ours.c'),
    pg_temp.f('theirs_same_function.c'));
RESET concurrent_edit.semantic_warnings;
SHOW concurrent_edit.semantic_warnings;
-- STABLE (the result depends on that setting), STRICT; a NULL path gives NULL.
SELECT provolatile, proisstrict FROM pg_proc
WHERE oid = 'concurrent_edit.merge3(text, text, text, text, text, text, text, text, integer, text)'::regprocedure;
SELECT (concurrent_edit.merge3('a', 'b', 'c', path => NULL)).content IS NULL AS strict_path;
SELECT pg_temp.try(format('SELECT concurrent_edit.merge3(%L, %L, %L, path => %L)', 'a', 'b', 'c', repeat('p', 5000)));

-- write(): Alice writes her edit on version 1; Bob's edit of version 1 merges. The
-- warning names the block; the status stays merged and the merge is stored.
SELECT concurrent_edit.create_file(:p, 'src/ini.c', pg_temp.f('base.c'), :alice) AS c_file \gset
SELECT concurrent_edit.create_file(:p, 'shop/inventory.py', pg_temp.f('base.py'), :alice) AS py_file \gset
SELECT concurrent_edit.create_file(:p, 'README.md', pg_temp.f('base.md'), :alice) AS md_file \gset
SELECT concurrent_edit.create_file(:p, 'src/other.c', pg_temp.f('base.c'), :alice) AS other_file \gset
SELECT status, version, semantic_warnings FROM concurrent_edit.write(:'c_file', pg_temp.f('ours.c'), 1, :alice);
SELECT status, version, semantic_warnings FROM concurrent_edit.write(:'py_file', pg_temp.f('ours.py'), 1, :alice);
SELECT status, version, semantic_warnings FROM concurrent_edit.write(:'md_file', pg_temp.f('ours.md'), 1, :alice);
SELECT status, version, semantic_warnings FROM concurrent_edit.write(:'other_file', pg_temp.f('ours.c'), 1, :alice);
-- preview_write shows the warning and stores nothing.
SELECT status, version, hunks, semantic_warnings
FROM concurrent_edit.preview_write(:'c_file', pg_temp.f('theirs_same_function.c'), 1, :bob);
SELECT head_version FROM concurrent_edit.files WHERE id = :'c_file';
SELECT status, version, conflicts, semantic_warnings
FROM concurrent_edit.write(:'c_file', pg_temp.f('theirs_same_function.c'), 1, :bob);
SELECT status, semantic_warnings ->> 0 AS warning
FROM concurrent_edit.write(:'py_file', pg_temp.f('theirs_same_def.py'), 1, :bob);
SELECT status, semantic_warnings ->> 0 AS warning
FROM concurrent_edit.write(:'md_file', pg_temp.f('theirs_same_section.md'), 1, :bob);
-- Another function: merged, nothing to report.
SELECT status, semantic_warnings FROM concurrent_edit.write(:'other_file', pg_temp.f('theirs_other_function.c'), 1, :bob);
-- The stored merge holds both edits, and the warning's line is the block's line in it.
SELECT strpos(content, 'strncmp(s, "//", 2)') > 0 AS alices, strpos(content, 'if (*trim(eq + 1)') > 0 AS bobs,
       pg_temp.line_of(content, 47) AS line_47
FROM concurrent_edit.read(:'c_file');

-- The setting off: the same kind of write merges without warnings.
SELECT concurrent_edit.create_file(:p, 'src/quiet.c', pg_temp.f('base.c'), :alice) AS quiet \gset
SELECT status FROM concurrent_edit.write(:'quiet', pg_temp.f('ours.c'), 1, :alice);
SET concurrent_edit.semantic_warnings = off;
SELECT status, semantic_warnings FROM concurrent_edit.write(:'quiet', pg_temp.f('theirs_same_function.c'), 1, :bob);
RESET concurrent_edit.semantic_warnings;

-- write_many reports them per file.
SELECT concurrent_edit.create_file(:p, 'src/many.c', pg_temp.f('base.c'), :alice) AS many \gset
SELECT status FROM concurrent_edit.write(:'many', pg_temp.f('ours.c'), 1, :alice);
SELECT w.status, w.stored, w.semantic_warnings -> 0 ->> 'block' AS block
FROM concurrent_edit.write_many(jsonb_build_array(
       jsonb_build_object('file_id', :'many', 'content', pg_temp.f('theirs_same_function.c'), 'base_version', 1,
                          'author', :bob))) w;

-- revert_version: undoing Alice's edit of parse_line (version 2) after Bob's edit of
-- the same function merged (version 3) is a clean merge with a warning.
SELECT status, version, semantic_warnings -> 0 ->> 'block' AS block,
       (semantic_warnings -> 0 ->> 'ours_start')::int AS head_lines_from,
       (semantic_warnings -> 0 ->> 'theirs_start')::int AS undone_from
FROM concurrent_edit.revert_version(:'c_file', 2, :carol);

-- The new columns are documented.
SELECT c.relname, a.attname, col_description(c.oid, a.attnum) IS NOT NULL AS commented
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE c.relname IN ('write_result', 'preview_result') AND a.attname = 'semantic_warnings'
ORDER BY c.relname;
