-- Path identity per project: keys under the project's options (NFC, case
-- folding), lookups, rename collisions, refused characters, set_project_options.
\set VERBOSITY terse
SET client_min_messages = warning;
\i sql/include/helpers.sql
\set nfc '''9a7b0000-0000-0000-0000-00000000000a'''
\set ci '''9a7b0000-0000-0000-0000-00000000000b'''
\set asis '''9a7b0000-0000-0000-0000-00000000000c'''
\set sw '''9a7b0000-0000-0000-0000-00000000000d'''
\set alice '''aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'''
-- "café" composed (U+00E9) and decomposed (e + U+0301): same look, other bytes.
\set cafe_nfc '''caf\\u00e9.txt'''
\set cafe_nfd '''cafe\\u0301.txt'''
SELECT octet_length(E:cafe_nfc) AS nfc_bytes, octet_length(E:cafe_nfd) AS nfd_bytes;

-- The rule, with every option: structure, NFC, full case folding; spaces kept.
SELECT p, concurrent_edit.normalize_path(p) AS nfc, concurrent_edit.normalize_path(p, true) AS folded,
       octet_length(concurrent_edit.normalize_path(p, false, 'none')) AS as_given_bytes,
       octet_length(concurrent_edit.normalize_path(p)) AS nfc_bytes
FROM (VALUES ('./Docs\README.md'), (E:cafe_nfd), (E'Stra\u00dfe.txt'), (E'F\u0130LE'), (E'f\u0131le'), (' a.txt '))
     AS v(p);
SELECT concurrent_edit.normalize_path(E:cafe_nfd) = E:cafe_nfc AS nfd_key_is_nfc,
       concurrent_edit.normalize_path(E:cafe_nfd, false, 'none') = E:cafe_nfc AS none_keeps_nfd,
       concurrent_edit.normalize_path('STRASSE.TXT', true) = concurrent_edit.normalize_path(E'stra\u00dfe.txt', true) AS sharp_s,
       concurrent_edit.normalize_path('a', unicode_normalization => 'nfc') AS lower_case_name;
SELECT pg_temp.try($$SELECT concurrent_edit.normalize_path('a', false, 'NFKC')$$);

-- Defaults of a project that never set options: NFC, case-sensitive.
SELECT project_id = :nfc AS same, case_insensitive, unicode_normalization, updated_by, updated_at
FROM concurrent_edit.project_options(:nfc);

-- NFC project (the default). The stored path keeps the spelling given, the key is NFC.
SELECT concurrent_edit.create_file(:nfc, E:cafe_nfd, 'menu', :alice) AS cafe \gset
SELECT octet_length(path) AS path_bytes, normalized_path = E:cafe_nfc AS key_is_nfc
FROM concurrent_edit.files WHERE id = :'cafe';
-- The other spelling is the same file: creation refused, lookup finds it.
SELECT pg_temp.try(format('SELECT concurrent_edit.create_file(%L, %L, %L, %L)', :nfc, E:cafe_nfc, 'x', :alice));
SELECT d ->> 'existing_file_id' = :'cafe' AS names_it, d ->> 'normalized_path' = E:cafe_nfc AS key,
       octet_length(d ->> 'existing_path') AS existing_path_bytes
FROM pg_temp.error_detail(format('SELECT concurrent_edit.create_file(%L, %L, %L, %L)', :nfc, E:cafe_nfc, 'x', :alice)) d;
SELECT concurrent_edit.file_at(:nfc, E:cafe_nfc) = :'cafe' AS nfc_finds,
       concurrent_edit.file_at(:nfc, E:cafe_nfd) = :'cafe' AS nfd_finds,
       concurrent_edit.file_at(:nfc, E'./CAFE\u0301.txt') IS NULL AS case_matters;
-- Case-sensitive: README.md and readme.md are two files.
SELECT concurrent_edit.create_file(:nfc, 'README.md', 'upper', :alice) AS upper \gset
SELECT concurrent_edit.create_file(:nfc, 'readme.md', 'lower', :alice) AS lower \gset
SELECT concurrent_edit.file_at(:nfc, 'README.md') = :'upper' AS upper, concurrent_edit.file_at(:nfc, 'readme.md') = :'lower' AS lower;
-- Rename collisions: onto the other spelling of café is refused (VC003)...
SELECT concurrent_edit.create_file(:nfc, 'menu.txt', 'm', :alice) AS menu \gset
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.rename_file(%L, %L, %L)', :'menu', E:cafe_nfc, :alice), false);
-- ... and the file itself may take the other spelling: renamed, same key.
SELECT octet_length(path) AS path_bytes, normalized_path = E:cafe_nfc AS same_key, status
FROM concurrent_edit.rename_file(:'cafe', E:cafe_nfc, :alice, expected_path => E:cafe_nfd);

-- Leading and trailing spaces are part of the name: three files.
SELECT concurrent_edit.create_file(:nfc, ' notes.txt', '1', :alice) IS NOT NULL AS leading,
       concurrent_edit.create_file(:nfc, 'notes.txt ', '2', :alice) IS NOT NULL AS trailing,
       concurrent_edit.create_file(:nfc, 'notes.txt', '3', :alice) IS NOT NULL AS bare;
SELECT '[' || path || ']' AS path, '[' || normalized_path || ']' AS key FROM concurrent_edit.files
WHERE project_id = :nfc AND path LIKE '%notes%' ORDER BY path;

-- Case-insensitive project.
SELECT project_id = :ci AS same, case_insensitive, unicode_normalization, rekeyed_files
FROM concurrent_edit.set_project_options(:ci, case_insensitive => true);
SELECT case_insensitive, unicode_normalization, updated_by = current_user AS by_me, updated_at IS NOT NULL AS dated
FROM concurrent_edit.project_options(:ci);
SELECT concurrent_edit.create_file(:ci, 'Docs/README.md', 'r', :alice) AS readme \gset
SELECT path, normalized_path FROM concurrent_edit.files WHERE id = :'readme';
SELECT pg_temp.try(format('SELECT concurrent_edit.create_file(%L, %L, %L, %L)', :ci, 'docs/readme.md', 'x', :alice));
SELECT d ->> 'path' AS path, d ->> 'normalized_path' AS key, d ->> 'existing_path' AS existing_path
FROM pg_temp.error_detail(format('SELECT concurrent_edit.create_file(%L, %L, %L, %L)', :ci, 'DOCS/Readme.MD', 'x', :alice)) d;
SELECT concurrent_edit.file_at(:ci, 'docs\readme.md') = :'readme' AS lookup_any_case,
       concurrent_edit.file_at(:ci, 'docs/readme.txt') IS NULL AS other_name;
-- NFC and folding together: CAFÉ typed decomposed meets café composed.
SELECT concurrent_edit.create_file(:ci, E:cafe_nfc, 'c', :alice) AS ci_cafe \gset
SELECT concurrent_edit.file_at(:ci, E'CAFE\u0301.TXT') = :'ci_cafe' AS caseless_canonical;
SELECT pg_temp.try(format('SELECT concurrent_edit.create_file(%L, %L, %L, %L)', :ci, 'STRASSE', 'x', :alice), false),
       pg_temp.try(format('SELECT concurrent_edit.create_file(%L, %L, %L, %L)', :ci, E'stra\u00dfe', 'x', :alice), false);
-- A case-only rename renames the file (its spelling); the key stays.
SELECT path, normalized_path, old_path, status
FROM concurrent_edit.rename_file(:'readme', 'docs/ReadMe.md', :alice, expected_path => 'DOCS/README.MD');
SELECT event, path, details ->> 'spelling' AS spelling, details ->> 'old_spelling' AS old_spelling
FROM concurrent_edit.changes_since(:ci, 0) WHERE event = 'renamed';
-- A diff is labelled with the path as spelled, not its key.
SELECT status FROM concurrent_edit.write(:'readme', 'r2', 1, :alice);
SELECT split_part(concurrent_edit.diff_versions(:'readme', 1, 2), E'\n', 1) AS diff_label;
-- Renaming another file onto any case of it is a collision.
SELECT concurrent_edit.create_file(:ci, 'notes.txt', 'n', :alice) AS notes \gset
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.rename_file(%L, %L, %L)', :'notes', 'DOCS/README.MD', :alice), false);
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.rename_file(%L, %L, %L, strategy => %L, expected_path => %L)',
                          :'notes', 'Docs/Notes.txt', :alice, 'fail-fast', 'NOTES.TXT'));

-- Bidirectional controls, zero-width characters and C1 controls are refused in
-- every project (22023, DETAIL with the code point and its position).
SELECT pg_temp.try(format('SELECT concurrent_edit.create_file(%L, %L, %L, %L)', p, E'evil\u202etxt.exe', 'x', :alice))
FROM (VALUES (:nfc), (:ci)) AS v(p);
SELECT d ->> 'code_point' AS code_point, d ->> 'position' AS position, d ->> 'kind' AS kind
FROM (VALUES (E'evil\u202etxt.exe'), (E'a/\u2066b'), (E'\u200fx'), (E're\u200bad.me'), (E'\ufeffa'), (E'a\u0085b'), (E'a\u009fb'))
     AS v(p), pg_temp.error_detail(format('SELECT concurrent_edit.create_file(%L, %L, %L, %L)', :ci, p, 'x', :alice)) d;
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.rename_file(%L, %L, %L)', :'notes', E'no\u200dtes.txt', :alice));
-- Even in a rename that would only be recorded as a conflict.
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.rename_file(%L, %L, %L, expected_path => %L)',
                          :'notes', E'x\u202a.txt', :alice, 'old.txt'));
SELECT pg_temp.try(format('SELECT concurrent_edit.file_at(%L, %L)', :ci, E'x\u2069'));
SELECT count(*) AS files_with_refused_characters FROM concurrent_edit.files
WHERE project_id IN (:nfc, :ci) AND path ~ E'[\u0080-\u009f\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\u061c\ufeff]';

-- 'none': paths compared as given (before per-project options this was the rule).
SELECT case_insensitive, unicode_normalization FROM concurrent_edit.set_project_options(:asis, unicode_normalization => 'none');
SELECT concurrent_edit.create_file(:asis, E:cafe_nfc, '1', :alice) IS NOT NULL AS composed,
       concurrent_edit.create_file(:asis, E:cafe_nfd, '2', :alice) IS NOT NULL AS decomposed;
SELECT pg_temp.try(format('SELECT concurrent_edit.create_file(%L, %L, %L, %L)', :asis, E'bad\u202e', 'x', :alice));

-- set_project_options refuses a change under which two live files would share a
-- key: 23505, the DETAIL lists them, nothing changes.
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.set_project_options(%L, true)', :nfc), false);
SELECT d ->> 'count' AS count, d ->> 'case_insensitive' AS case_insensitive, c ->> 'normalized_path' AS key,
       jsonb_path_query_array(c, '$.files[*].path') AS paths,
       jsonb_path_query_array(c, '$.files[*].file_id') = jsonb_build_array(:'upper'::text, :'lower'::text) AS ids
FROM pg_temp.error_detail(format('SELECT * FROM concurrent_edit.set_project_options(%L, true)', :nfc)) d,
     jsonb_array_elements(d -> 'collisions') c;
SELECT case_insensitive, updated_at IS NULL AS never_set FROM concurrent_edit.project_options(:nfc);
SELECT path, normalized_path FROM concurrent_edit.files WHERE project_id = :nfc AND path ILIKE 'readme.md' ORDER BY path;
-- From 'none' back to NFC: the two café files of :asis would collide too.
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.set_project_options(%L, unicode_normalization => %L)', :asis, 'NFC'), false);
SELECT unicode_normalization FROM concurrent_edit.project_options(:asis);
-- Once one of them is deleted, the change is made and the keys recomputed (the
-- deleted file's too); the deleted file cannot come back under a taken key.
SELECT status FROM concurrent_edit.delete_file(:'lower', :alice);
SELECT case_insensitive, unicode_normalization, rekeyed_files FROM concurrent_edit.set_project_options(:nfc, true);
SELECT path, normalized_path, deleted_at IS NOT NULL AS deleted FROM concurrent_edit.files
WHERE project_id = :nfc AND path ILIKE 'readme.md' ORDER BY path;
SELECT concurrent_edit.file_at(:nfc, 'readme.md') = :'upper' AS upper_found_in_any_case;
SELECT status FROM concurrent_edit.write(:'lower', 'lower again', 1, :alice);
SELECT conflict_id AS restore FROM concurrent_edit.list_conflicts(:'lower') \gset
SELECT pg_temp.try(format('SELECT concurrent_edit.resolve_conflict(%L, content => %L)', :'restore', 'lower again'), false);
-- Switching back to case-sensitive recomputes them again.
SELECT case_insensitive, rekeyed_files FROM concurrent_edit.set_project_options(:nfc, case_insensitive => false);
SELECT concurrent_edit.file_at(:nfc, 'readme.md') IS NULL AS lower_gone, concurrent_edit.file_at(:nfc, 'README.md') = :'upper' AS upper;
-- Now the deleted readme.md can be restored by resolving its delete conflict.
SELECT concurrent_edit.resolve_conflict(:'restore', content => 'lower again') AS restored_version;
SELECT concurrent_edit.file_at(:nfc, 'readme.md') = :'lower' AS lower_back;
-- NULL arguments keep what is set.
SELECT case_insensitive, unicode_normalization, rekeyed_files FROM concurrent_edit.set_project_options(:nfc);
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.set_project_options(%L, unicode_normalization => %L)', :nfc, 'NFD'));

-- A change where one file's new key is another file's current key (both change):
-- "É.txt" and "e" + U+0301 ".txt" have the keys "É.txt" and "é.txt" under NFC; with
-- folding and no normalization they become "é.txt" (composed) and "é.txt"
-- (decomposed), distinct. The keys are swapped in without a transient collision
-- (the second path is spelled "ÿ/../..." so that it sorts after the first).
SELECT concurrent_edit.create_file(:sw, E'\u00c9.txt', '1', :alice) AS e_upper \gset
SELECT concurrent_edit.create_file(:sw, E'\u00ff/../e\u0301.txt', '2', :alice) AS e_nfd \gset
SELECT id = :'e_nfd' AS nfd_file, normalized_path = E'\u00e9.txt' AS key_composed_e
FROM concurrent_edit.files WHERE project_id = :sw ORDER BY 1;
SELECT rekeyed_files FROM concurrent_edit.set_project_options(:sw, true, 'none');
SELECT id = :'e_nfd' AS nfd_file, normalized_path = E'\u00e9.txt' AS key_composed_e,
       normalized_path = E'e\u0301.txt' AS key_decomposed_e
FROM concurrent_edit.files WHERE project_id = :sw ORDER BY 1;

-- Rights: setting options needs admin (42501), reading them read.
CREATE ROLE regress_paths_writer;
SELECT concurrent_edit.grant_project(:nfc, 'regress_paths_writer', 'write');
SET ROLE regress_paths_writer;
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.set_project_options(%L, true)', :nfc));
SELECT case_insensitive FROM concurrent_edit.project_options(:nfc);
SELECT concurrent_edit.file_at(:nfc, 'README.md') = :'upper' AS writer_finds;
SELECT pg_temp.try(format('SELECT * FROM concurrent_edit.project_options(%L)', :ci));
RESET ROLE;
SELECT concurrent_edit.revoke_project(:nfc, 'regress_paths_writer');
DROP ROLE regress_paths_writer;

-- A path's key is at most 2048 bytes (it is indexed; a btree entry holds about
-- 2.7 kB): 54000 with a JSON DETAIL, not the index's own error (a 3,200-byte path
-- of md5 digits failed with "index row size 3232 exceeds btree version 4
-- maximum 2704"). A long path whose key is short is fine.
SELECT pg_temp.try(format('SELECT concurrent_edit.create_file(%L, %L, %L, %L)', :nfc,
       (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 100) i), 'x', :alice));
SELECT pg_temp.try(format('SELECT concurrent_edit.create_file(%L, %L, %L, %L)', :nfc, repeat('b', 2049), 'x', :alice), false);
SELECT concurrent_edit.create_file(:nfc, repeat('./', 1000) || 'long/' || repeat('k', 2000), 'x', :alice) AS longf \gset
SELECT length(path) AS path_bytes, length(normalized_path) AS key_bytes FROM concurrent_edit.files WHERE id = :'longf';
SELECT concurrent_edit.file_at(:nfc, repeat('/', 1000) || 'long/' || repeat('k', 2000)) IS NOT NULL AS found_by_another_spelling;

-- Invisible characters beyond the zero-width ones are refused too (a soft hyphen
-- made a look-alike of invoice.pdf); a variation selector only after an emoji.
SELECT pg_temp.try(format('SELECT concurrent_edit.create_file(%L, %L, %L, %L)', :nfc, E'in\u00advoice.pdf', 'x', :alice));
SELECT pg_temp.try(format('SELECT concurrent_edit.create_file(%L, %L, %L, %L)', :nfc, E'a\ufe0f.txt', 'x', :alice), false);
SELECT concurrent_edit.create_file(:nfc, E'\u2764\ufe0f.md', 'x', :alice) IS NOT NULL AS emoji_with_selector;

-- A change of options that rekeys live files announces each as renamed (its path
-- as given stays; old_path is the old key), so the feed's paths follow the keys.
\set rk '''9a7b0000-0000-0000-0000-0000000000e1'''
SELECT concurrent_edit.create_file(:rk, 'Docs/ReadMe.md', 'r', :alice) AS rkf \gset
SELECT concurrent_edit.create_file(:rk, 'lower.md', 'l', :alice) IS NOT NULL AS unchanged_key;
SELECT concurrent_edit.feed_position(:rk) AS rk_before \gset
SELECT rekeyed_files FROM concurrent_edit.set_project_options(:rk, case_insensitive => true);
SELECT event, file_id = :'rkf' AS readme, path, version, details ->> 'old_path' AS old_path,
       details ->> 'spelling' AS spelling, details ->> 'rekeyed' AS rekeyed
FROM concurrent_edit.changes_since(:rk, :rk_before);
SELECT rekeyed_files FROM concurrent_edit.set_project_options(:rk, case_insensitive => false);
SELECT event, path, details ->> 'old_path' AS old_path FROM concurrent_edit.changes_since(:rk, :rk_before + 1);

-- Paths stored before the current rules (an invisible character, a key over 2048
-- bytes; made here by hand): set_project_options names a live one (22023) instead
-- of failing on it, and a deleted one keeps its key.
\set old '''9a7b0000-0000-0000-0000-0000000000e2'''
SELECT concurrent_edit.create_file(:old, 'was-soft.txt', 'x', :alice) AS oldsoft \gset
SELECT concurrent_edit.create_file(:old, 'was-long.txt', 'x', :alice) AS oldlong \gset
UPDATE concurrent_edit.files SET path = E'in\u00advoice.pdf', normalized_path = E'in\u00advoice.pdf' WHERE id = :'oldsoft';
SELECT status FROM concurrent_edit.delete_file(:'oldsoft', :alice);
UPDATE concurrent_edit.files SET path = repeat('a', 3000), normalized_path = repeat('a', 3000) WHERE id = :'oldlong';
SELECT d ->> 'file_id' = :'oldlong' AS names_the_file, d -> 'refusal' ->> 'limit' AS limit
FROM pg_temp.error_detail(format('SELECT * FROM concurrent_edit.set_project_options(%L, true)', :old)) d;
SELECT status FROM concurrent_edit.delete_file(:'oldlong', :alice);
SELECT rekeyed_files FROM concurrent_edit.set_project_options(:old, true);
SELECT normalized_path = E'in\u00advoice.pdf' AS deleted_keeps_its_key FROM concurrent_edit.files WHERE id = :'oldsoft';
