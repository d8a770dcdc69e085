# Optimistic concurrency in a database whose encoding is not UTF-8 (LATIN1): the
# row images are in the database's encoding and the merge core reads UTF-8, so
# stale updates are merged after a conversion and their results converted back.
# Before, a stale update of a row holding a non-ASCII character failed with 22032
# (invalid UTF-8).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CETest;

my $node = new_node('encoding');
$node->safe_psql('postgres', "CREATE DATABASE lat ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'");
sub sql {
    my ($q) = @_;
    my ($rc, $out, $err) = $node->psql('lat', "SET client_encoding = 'UTF8'; $q");
    return ($out, $err // '');
}
my ($out, $err) = sql(q{
  CREATE EXTENSION concurrent_edit;
  CREATE TABLE enc (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, doc jsonb, note text, "clé" text);
  INSERT INTO enc VALUES (1, 1, '{"titre": "café", "n": 1, "clé": "a"}', E'ligne 1 é\nligne 2\nligne 3 à\n', 'x');
  SELECT concurrent_edit.enable_occ('enc', mode => 'merge');
  SELECT pg_catalog.getdatabaseencoding();
});
is((split /\n/, $out)[-1], 'LATIN1', 'a LATIN1 database under merge mode') or diag($err);

# Two stale updates of different lines and different keys merge.
($out, $err) = sql(q{
  UPDATE enc SET doc = '{"titre": "café", "n": 2, "clé": "a"}', note = E'LIGNE 1 é\nligne 2\nligne 3 à\n', version = 1;
  UPDATE enc SET doc = '{"titre": "thé", "n": 1, "clé": "a"}', note = E'ligne 1 é\nligne 2\nligne 3 À\n', version = 1
    RETURNING version;
  SELECT doc::text, note FROM enc;
});
is($err, '', 'stale updates with non-ASCII text merge without an error');
is($out, "3\n" . '{"n": 2, "clé": "a", "titre": "thé"}' . "|LIGNE 1 é\nligne 2\nligne 3 À\n",
   'the merged document and text keep their characters');

# A conflict on a key with a non-ASCII name: VC001, the path in the DETAIL intact.
($out, $err) = sql(q{
  UPDATE enc SET doc = '{"titre": "thé", "n": 2, "clé": "b"}', version = 3;
  \set VERBOSITY verbose
  UPDATE enc SET doc = '{"titre": "thé", "n": 2, "clé": "c"}', version = 3;
});
like($err, qr/VC001/, 'a conflicting stale update is refused (VC001)');
like($err, qr/"path": \["doc", "clé"\]/, 'its DETAIL names the path, characters intact');
# A column with a non-ASCII name merges too.
($out, $err) = sql(q{
  UPDATE enc SET "clé" = E'un\ndeux\ntrois\n', version = 4;
  UPDATE enc SET "clé" = E'UN\ndeux\ntrois\n', version = 5;
  UPDATE enc SET "clé" = E'un\ndeux\nTROIS é\n', version = 5 RETURNING "clé";
});
is($err, '', 'a column named clé merges') or diag($err);
is($out, "UN\ndeux\nTROIS é\n", 'with both changes');

# merge_columns naming a non-ASCII column: its list is read in the database's
# encoding (before, every UPDATE of the table failed with 22032).
($out, $err) = sql(q{
  CREATE TABLE mc (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, "clé" text, other text);
  INSERT INTO mc VALUES (1, 1, E'un\ndeux\ntrois\n', 'o');
  SELECT concurrent_edit.enable_occ('mc', mode => 'merge', merge_columns => ARRAY['clé']::name[]);
  UPDATE mc SET other = 'z', version = 1;
  UPDATE mc SET "clé" = E'UN\ndeux\ntrois\n', version = 2;
  UPDATE mc SET "clé" = E'un\ndeux\nTROIS\n', version = 2 RETURNING "clé";
});
is($err, '', 'merge_columns with a non-ASCII name') or diag($err);
like($out, qr/UN\ndeux\nTROIS$/, 'merges that column');

# Path keys are computed in UTF-8 and converted back: a file with a non-ASCII
# path is found again by it, and a second one with the same path is refused.
($out, $err) = sql(q{
  SELECT concurrent_edit.create_file('23232323-0000-0000-0000-000000000023', 'dossier/café.txt', E'x\n',
         'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa') IS NOT NULL;
  SELECT concurrent_edit.file_at('23232323-0000-0000-0000-000000000023', 'dossier/café.txt') IS NOT NULL;
});
is($out, "t\nt", 'a non-ASCII path is stored and found again') or diag($err);
($out, $err) = sql(q{SELECT concurrent_edit.create_file('23232323-0000-0000-0000-000000000023', './dossier/café.txt',
  E'y\n', 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa')});
like($err, qr/23505|already exists/, 'the same path key twice is refused');

# A vclock in binary whose node id has no LATIN1 form (U+65E5) is refused (22P05),
# not stored where it could never be printed or dumped; one with a LATIN1 node
# (U+00E9) is kept and prints.
($out, $err) = sql(q{CREATE TABLE vc (c concurrent_edit.vclock);
  INSERT INTO vc SELECT concurrent_edit.vclock_recv('\x010102e697a501'::bytea)});
like($err, qr/no equivalent in the database encoding/, 'a binary vclock with an unprintable node is refused') or diag($err);
($out, $err) = sql(q{INSERT INTO vc SELECT concurrent_edit.vclock_recv(concurrent_edit.vclock_send('{"é": 2}'));
  SELECT count(*), min(c::text) FROM vc});
is($out, "1|{\"é\": 2}", 'only the printable one is stored') or diag($err);
# The same for a clock read from text: a \u escape names any character (before,
# '{"\u65e5": 1}' was stored, and every read of it, pg_dump's too, failed).
($out, $err) = sql(q{INSERT INTO vc VALUES ('{"\u65e5": 1}')});
like($err, qr/no equivalent in the database encoding/, 'a text vclock with an unprintable node is refused') or diag($err);
like($err, qr/DETAIL:\s+\{"entry": 1, "encoding": "LATIN1"\}/, 'with its JSON DETAIL') or diag($err);
($out, $err) = sql(q{INSERT INTO vc VALUES ('{"\u00e9t\u00e9": 3}'); SELECT count(*), max(c::text) FROM vc});
is($out, "2|{\"été\": 3}", 'a \u escape with a LATIN1 form is stored and prints') or diag($err);

# Files with non-ASCII text in a LATIN1 database: conflict hunks, a rename
# conflict's path and semantic warnings are in the database's encoding. Before,
# preview_write and write_many failed with 22032 (invalid UTF-8) on a conflict of
# such text, a rename conflict with 'é' in its path could never be resolved with
# 'theirs', and a warning's block read 'caf\x{FFFD}' (found by review).
my $p = '5e5e5e5e-0000-0000-0000-000000000001';
my $a = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
($out, $err) = sql(qq{SELECT concurrent_edit.create_file('$p', 'menu.txt', E'entrée\nplat\ndessert\n', '$a');});
my $f = (split /\n/, $out)[-1];
($out, $err) = sql(qq{SELECT status FROM concurrent_edit.write('$f', E'entrée froide\nplat\ndessert\n', 1, '$a');});
($out, $err) = sql(qq{SELECT status, hunks->0->>'ours_text', hunks->0->>'theirs_text'
  FROM concurrent_edit.preview_write('$f', E'entrée chaude ü\nplat\ndessert\n', 1, '$a');});
is($out, "conflict|entrée froide\n|entrée chaude ü\n", 'preview_write: the hunks of a conflict keep their characters')
  or diag($err);
($out, $err) = sql(qq{SELECT status, hunks->0->>'theirs_text' FROM concurrent_edit.write_many(jsonb_build_array(
  jsonb_build_object('file_id', '$f', 'content', E'entrée chaude ü\nplat\ndessert\n', 'base_version', 1,
                     'author', '$a')), 'merge', false);});
is($out, "conflict|entrée chaude ü\n", 'write_many: the same conflict, recorded, with its hunks') or diag($err);
($out, $err) = sql(qq{SELECT concurrent_edit.create_file('$p', 'thé.txt', E'x\n', '$a');});
my $r = (split /\n/, $out)[-1];
($out, $err) = sql(qq{SELECT status FROM concurrent_edit.rename_file('$r', 'thé-vert.txt', '$a', expected_path => 'thé.txt');
  SELECT conflict_id FROM concurrent_edit.rename_file('$r', 'thé-noir.txt', '$a', expected_path => 'thé.txt');});
my $rc = (split /\n/, $out)[-1];
($out, $err) = sql(qq{SELECT concurrent_edit.resolve_conflict('$rc', choose => 'theirs') IS NOT NULL;
  SELECT path FROM concurrent_edit.files WHERE id = '$r';});
is($out, "t\nthé-noir.txt", "a rename conflict's 'theirs' moves the file to its path") or diag($err);
($out, $err) = sql(qq{SELECT concurrent_edit.create_file('$p', 'cuisine.py', E'def café():\n    a = 1\n    b = 2\n    c = 3\n', '$a');});
my $py = (split /\n/, $out)[-1];
($out, $err) = sql(qq{SELECT status FROM concurrent_edit.write('$py', E'def café():\n    a = 10\n    b = 2\n    c = 3\n', 1, '$a');
  SELECT status, semantic_warnings->0->>'block' FROM concurrent_edit.write('$py',
    E'def café():\n    a = 1\n    b = 2\n    c = 30\n', 1, '$a');});
is($out, "written\nmerged|def café():", 'a semantic warning names the block in its characters') or diag($err);

# A SQL_ASCII database stores any bytes; the merge reads UTF-8 only. A stale
# update of a row holding others is refused as stale (VC001 with a JSON DETAIL),
# not with the conversion's bare 22021; a row of UTF-8 text still merges there.
$node->safe_psql('postgres', "CREATE DATABASE ascii ENCODING 'SQL_ASCII' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'");
$node->safe_psql('ascii', q{
  CREATE EXTENSION concurrent_edit;
  CREATE TABLE a (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, t text, u text);
  INSERT INTO a VALUES (1, 1, E'x\\xff\n', 'c'), (2, 1, E'caf\\xc3\\xa9\n', 'c');
  SELECT concurrent_edit.enable_occ('a', mode => 'merge');
  UPDATE a SET t = E'l0\n' || t, version = 1;});
my ($arc, $aout, $aerr) = $node->psql('ascii', 'UPDATE a SET u = $$d$$, version = 1 WHERE id = 1',
                                      extra_params => ['-v', 'VERBOSITY=verbose']);
like($aerr, qr/VC001: row of public.a was modified by another writer; a row holding text that is not UTF-8 is not merged/,
     'SQL_ASCII: a stale update of a row holding bytes that are not UTF-8 is VC001');
like($aerr, qr/DETAIL:\s+\{.*"not_merged_reason": "not UTF-8"/, '... with a JSON DETAIL');
is($node->safe_psql('ascii', 'SELECT version, u FROM a WHERE id = 1'), '2|c', '... and the row is unchanged');
$node->safe_psql('ascii', 'UPDATE a SET u = $$d$$, version = 1 WHERE id = 2');
is($node->safe_psql('ascii', q{SELECT version, u, t = E'l0\ncaf\xc3\xa9\n' FROM a WHERE id = 2}),
   '3|d|t', 'SQL_ASCII: a row of UTF-8 text merges');
# A clean merge whose semantic warning names a block header holding bytes that
# are not UTF-8: the header with U+FFFD, as the core reads it (before, the
# conversion of the header failed the whole merge with 22021).
($arc, $aout, $aerr) = $node->psql('ascii', q{SELECT clean, semantic_warnings->0->>'block' = E'def f\xef\xbf\xbd\xef\xbf\xbd():'
  FROM concurrent_edit.merge3(E'def f\xff\xfe():\n  a\n  b\n  c\n  d\n', E'def f\xff\xfe():\n  A\n  b\n  c\n  d\n',
                              E'def f\xff\xfe():\n  a\n  b\n  c\n  D\n', path => 'x.py')});
is("$aout$aerr", 't|t', 'SQL_ASCII: a semantic warning of a header that is not UTF-8 does not fail the merge');
# A path that is not UTF-8 is refused as in a UTF-8 database (22023 with the
# byte's place in a JSON DETAIL), not with the conversion's bare 22021; a UTF-8
# path is kept as given.
($arc, $aout, $aerr) = $node->psql('ascii', q{SELECT concurrent_edit.create_file('23232323-0000-0000-0000-0000000000a5',
  E'enc/caf\xc3', E'x\n', 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa')}, extra_params => ['-v', 'VERBOSITY=verbose']);
like($aerr, qr/22023:.*\n.*DETAIL:\s+\{.*"byte_offset"/, 'SQL_ASCII: a path that is not UTF-8 is 22023 with a JSON DETAIL');
$node->safe_psql('ascii', q{SELECT concurrent_edit.create_file('23232323-0000-0000-0000-0000000000a5',
  E'enc/caf\xc3\xa9.txt', E'x\n', 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa')});
is($node->safe_psql('ascii', q{SELECT path = E'enc/caf\xc3\xa9.txt' FROM concurrent_edit.files}), 't',
   '... and a UTF-8 path is kept');
# vclock text and node ids that are not UTF-8: 22021 with the first bad byte's
# place in a JSON DETAIL (before, the conversion's 22021 without a DETAIL, its
# message echoing the bytes); UTF-8 node ids are read.
($arc, $aout, $aerr) = $node->psql('ascii', q{SELECT E'{"caf\xc3": 1}'::concurrent_edit.vclock},
                                   extra_params => ['-v', 'VERBOSITY=verbose']);
like($aerr, qr/22021: vclock input is not valid UTF-8\n[\s\S]*DETAIL:\s+\{"argument": "vclock input", "encoding": "SQL_ASCII", "byte_offset": 5\}/,
     'SQL_ASCII: vclock text that is not UTF-8 is 22021 with a JSON DETAIL');
($arc, $aout, $aerr) = $node->psql('ascii', q{SELECT concurrent_edit.vclock_increment('{}', E'n\xff')},
                                   extra_params => ['-v', 'VERBOSITY=verbose']);
like($aerr, qr/22021: node is not valid UTF-8\n[\s\S]*DETAIL:\s+\{"argument": "node", "encoding": "SQL_ASCII", "byte_offset": 1\}/,
     '... and so is such a node id');
is($node->safe_psql('ascii', q{SELECT concurrent_edit.vclock_increment(E'{"caf\xc3\xa9": 1}', E'caf\xc3\xa9')::text = E'{"caf\xc3\xa9": 2}'}),
   't', '... UTF-8 node ids are read');

# A sandbox_id is refused control, direction-changing and invisible characters
# whatever the database's encoding: in LATIN1 after its conversion (U+0085, a C1
# control, has a LATIN1 byte), in SQL_ASCII as bytes that must be UTF-8.
($out, $err) = sql(q{SELECT FROM pg_catalog.set_config('x.s', concurrent_edit.open_session('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa',
  '23232323-0000-0000-0000-0000000000b1', 'café')::text, false);
  SELECT sandbox_id FROM concurrent_edit.edit_sessions WHERE id = current_setting('x.s')::uuid;});
is("$out$err", 'café', 'LATIN1: a sandbox_id with accents is kept');
($out, $err) = sql(q{\set VERBOSITY verbose
  SELECT concurrent_edit.open_session('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', '23232323-0000-0000-0000-0000000000b1', E'tab\u00851');});
like($err, qr/22023: sandbox_id contains an invisible or direction-changing character U\+0085\n[\s\S]*"kind": "c1_control"/,
     'LATIN1: a C1 control in a sandbox_id is 22023 with a JSON DETAIL');
($arc, $aout, $aerr) = $node->psql('ascii', q{SELECT concurrent_edit.open_session('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa',
  '23232323-0000-0000-0000-0000000000b1', E'caf\xc3')}, extra_params => ['-v', 'VERBOSITY=verbose']);
like($aerr, qr/22023: sandbox_id is not valid UTF-8\n[\s\S]*DETAIL:\s+\{"argument": "sandbox_id", "byte_offset": 3, "position": 4\}/,
     'SQL_ASCII: a sandbox_id that is not UTF-8 is 22023 with a JSON DETAIL');
($arc, $aout, $aerr) = $node->psql('ascii', q{SELECT concurrent_edit.open_session('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa',
  '23232323-0000-0000-0000-0000000000b1', E'agent-\xe2\x80\xaegnp.exe')}, extra_params => ['-v', 'VERBOSITY=verbose']);
like($aerr, qr/22023: sandbox_id contains an invisible or direction-changing character U\+202E/,
     '... and so is one with a right-to-left override');
is($node->safe_psql('ascii', 'SELECT count(*) FROM concurrent_edit.edit_sessions'), '0', '... and no session is stored');

$node->stop;
done_testing();
