# Bad input to every SQL function of the extension: for each argument of each
# function (taken from the catalog, so a new function is swept without editing
# this test), NULL, empty values, a 50 MB text, deeply nested JSON, extreme
# integers, intervals and timestamps, unknown ids — the other arguments valid.
# Every call must end in success or an error whose SQLSTATE docs/errors.md
# documents: no crash, no XX000.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CETest;

my $root = $ENV{CE_ROOT} // '.';
open(my $fh, '<', "$root/docs/errors.md") or die "docs/errors.md: $!";
my %documented;
while (<$fh>) { $documented{$1} = 1 if /^\|\s*`([0-9A-Z]{5})`/; }
close $fh;
cmp_ok(scalar(keys %documented), '>=', 20, 'docs/errors.md documents the SQLSTATEs');

my $node = new_node('bad_input');
$node->safe_psql('postgres', q{
  CREATE EXTENSION concurrent_edit;
  CREATE TABLE sweep_occ (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, doc jsonb);
  INSERT INTO sweep_occ VALUES (1, 1, '{}');
  CREATE VIEW sweep_view AS SELECT 1 AS id;
  -- Fixtures the valid arguments point at.
  CREATE TABLE fx AS SELECT '5eed0000-0000-0000-0000-000000000001'::uuid AS project,
                            'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'::uuid AS alice;
  SELECT concurrent_edit.create_file(project, 'f.txt', E'a\nb\nc\n', alice, file_id => '5eed0000-0000-0000-0000-0000000000f1')
  FROM fx;
  SELECT concurrent_edit.write('5eed0000-0000-0000-0000-0000000000f1', E'a\nB\nc\n', 1, alice) FROM fx;
  SELECT concurrent_edit.write('5eed0000-0000-0000-0000-0000000000f1', E'a\nC\nc\n', 1, alice) FROM fx;   -- a conflict
  INSERT INTO concurrent_edit.edit_sessions (project_id, id, user_id)
  SELECT project, '5eed0000-0000-0000-0000-0000000000c1', alice FROM fx;
  -- The values that are too big to spell in a statement.
  CREATE TABLE big (v text);
  INSERT INTO big VALUES (repeat('x', 50 * 1024 * 1024));
  CREATE TABLE deep (v jsonb);
  INSERT INTO deep VALUES ((repeat('[', 5000) || repeat(']', 5000))::jsonb);
});

my $sweep = q{
CREATE TEMP TABLE outcome (fn text, arg int, label text, sqlstate text, message text, detail text, json boolean);
DO $sweep$
DECLARE
  f record;
  n int;
  t regtype;
  i int;
  b record;
  args text[];
  q text;
  x text;
  st text; msg text; det text; dj boolean;
  conflict uuid := (SELECT id FROM concurrent_edit.conflict_history LIMIT 1);
BEGIN
  FOR f IN SELECT p.oid, p.oid::regprocedure::text AS sig, p.proname,
                  ARRAY(SELECT unnest(p.proargtypes::regtype[])) AS types,  -- from 1 (an oidvector counts from 0)
                  p.proargnames AS names, p.proretset, p.prokind
           FROM pg_proc p
           WHERE p.pronamespace = 'concurrent_edit'::regnamespace AND p.prokind = 'f'
             AND p.prorettype <> 'trigger'::regtype
             -- (a PL/pgSQL event trigger function called directly gets PL/pgSQL's own refusal)
             AND NOT (p.prorettype = 'event_trigger'::regtype AND p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'c'))
             AND NOT ('internal'::regtype = ANY (p.proargtypes::regtype[]))
             AND NOT ('cstring'::regtype = ANY (p.proargtypes::regtype[]))
           ORDER BY 2
  LOOP
    n := coalesce(array_length(f.types, 1), 0);
    -- Valid arguments, by name, then by type.
    args := ARRAY[]::text[];
    FOR i IN 1 .. n LOOP
      t := f.types[i];
      args := args || CASE
        WHEN f.names[i] IN ('file_id') THEN '''5eed0000-0000-0000-0000-0000000000f1''::uuid'
        WHEN f.names[i] IN ('project_id') THEN '''5eed0000-0000-0000-0000-000000000001''::uuid'
        WHEN f.names[i] IN ('session_id') THEN '''5eed0000-0000-0000-0000-0000000000c1''::uuid'
        WHEN f.names[i] IN ('conflict_id') THEN quote_literal(conflict) || '::uuid'
        WHEN t = 'uuid'::regtype THEN '''aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa''::uuid'
        WHEN f.names[i] IN ('strategy') AND f.proname = 'resolve' THEN '''merge-with-markers'''
        WHEN f.names[i] IN ('strategy') THEN '''merge'''
        WHEN f.names[i] IN ('lock_type') THEN '''shared'''
        WHEN f.names[i] IN ('style') THEN '''merge'''
        WHEN f.names[i] IN ('favor') THEN '''none'''
        WHEN f.names[i] IN ('array_mode') THEN '''auto'''
        WHEN f.names[i] IN ('policy') THEN '''fail-closed'''
        WHEN f.names[i] IN ('rights') THEN '''read'''
        WHEN f.names[i] IN ('mode') THEN '''merge'''
        WHEN f.names[i] IN ('kind') THEN '''ok'''
        WHEN f.names[i] IN ('name') THEN '''concurrent_edit.lock_ttl'''
        WHEN f.names[i] IN ('path', 'new_path') THEN '''dir/file.txt'''
        WHEN f.names[i] IN ('version_column') THEN '''version'''
        WHEN f.names[i] IN ('marker_size') THEN '7'
        WHEN f.names[i] IN ('context') THEN '3'
        WHEN f.names[i] IN ('version', 'base_version', 'from_version', 'to_version', 'keep_versions') THEN '1'
        WHEN t = 'text'::regtype THEN quote_literal(E'a\nb\n')
        WHEN t = 'name'::regtype THEN '''version'''
        WHEN t = 'name[]'::regtype THEN 'NULL::name[]'
        WHEN t = 'integer'::regtype THEN '1'
        WHEN t = 'bigint'::regtype THEN '1'
        WHEN t = 'boolean'::regtype THEN 'false'
        WHEN t = 'interval'::regtype THEN '''1 minute''::interval'
        WHEN t = 'timestamptz'::regtype THEN 'now()'
        WHEN t = 'jsonb'::regtype AND f.names[i] IN ('ops') THEN '''[{"opCode": "OP_TEXT_EDIT", "blockId": "b", "timestamp": 1}]''::jsonb'
        WHEN t = 'jsonb'::regtype AND f.names[i] IN ('priorities') THEN 'NULL::jsonb'
        WHEN t = 'jsonb'::regtype THEN '''{"a": 1}''::jsonb'
        WHEN t = 'regclass'::regtype THEN '''sweep_occ''::regclass'
        WHEN t = 'regrole'::regtype THEN 'current_user::text::regrole'
        WHEN t = 'concurrent_edit.vclock'::regtype THEN '''{"a": 1}''::concurrent_edit.vclock'
        WHEN t = 'bytea'::regtype THEN 'concurrent_edit.vclock_send(''{"a": 1}'')'
        WHEN t = 'oid'::regtype THEN '0::oid'
        ELSE 'NULL::' || t::text END;
    END LOOP;
    -- Each argument in turn gets each bad value of its type.
    FOR i IN 0 .. n LOOP
      FOR b IN
        SELECT * FROM (VALUES
          ('none', NULL::text, NULL::regtype),
          ('null', 'NULL', NULL),
          ('empty', '''''', 'text'), ('50 MB', '(SELECT v FROM big)', 'text'),
          ('control', quote_literal(E'a\x01\x1b[31m\u202e'), 'text'), ('64 kB', quote_literal(repeat('y', 65536)), 'text'),
          ('empty', '''''', 'name'), ('empty', '''{}''', 'name[]'), ('nulls', '''{NULL,""}''', 'name[]'),
          ('zero', '0', 'integer'), ('-1', '-1', 'integer'), ('max', '2147483647', 'integer'), ('min', '(-2147483648)', 'integer'),
          ('zero', '0', 'bigint'), ('-1', '-1', 'bigint'), ('max', '9223372036854775807', 'bigint'), ('min', '(-9223372036854775808)', 'bigint'),
          ('negative', '''-1 day''', 'interval'), ('huge', '''100000 years''', 'interval'), ('zero', '''0''', 'interval'),
          ('months', '''-178000000 years''', 'interval'),
          ('-infinity', '''-infinity''', 'timestamptz'), ('infinity', '''infinity''', 'timestamptz'),
          ('ancient', '''4713-01-01 BC''', 'timestamptz'),
          ('nil', '''00000000-0000-0000-0000-000000000000''', 'uuid'), ('unknown', 'gen_random_uuid()', 'uuid'),
          ('empty object', '''{}''', 'jsonb'), ('array', '''[]''', 'jsonb'), ('scalar', '''null''', 'jsonb'),
          ('deep', '(SELECT v FROM deep)', 'jsonb'), ('string', '''"x"''', 'jsonb'),
          ('a view', '''sweep_view''', 'regclass'), ('a catalog', '''pg_class''', 'regclass'),
          ('no role', '0', 'regrole'),
          ('empty', '''{}''', 'concurrent_edit.vclock'), ('max', '''{"b": 9223372036854775807}''', 'concurrent_edit.vclock'),
          ('junk', '''\x0102''::bytea', 'bytea'),
          ('bogus', '4294967295', 'oid')
        ) v(label, expr, typ)
      LOOP
        CONTINUE WHEN (i = 0) <> (b.label = 'none');
        CONTINUE WHEN i > 0 AND b.typ IS NOT NULL AND b.typ <> f.types[i];
        q := 'SELECT ' || CASE WHEN f.proretset THEN 'count(*) FROM ' ELSE '' END || 'concurrent_edit.' || quote_ident(f.proname) || '(';
        q := q || (SELECT string_agg(CASE WHEN k = i THEN CASE WHEN b.expr = 'NULL' THEN 'NULL::' || f.types[k]::text
                                                              ELSE b.expr || '::' || f.types[k]::text END
                                          ELSE args[k] END, ', ' ORDER BY k)
                   FROM generate_series(1, n) k) || ')';
        IF n = 0 THEN  -- string_agg over no argument is NULL
          q := 'SELECT ' || CASE WHEN f.proretset THEN 'count(*) FROM ' ELSE '' END || 'concurrent_edit.' || quote_ident(f.proname) || '()';
        END IF;
        BEGIN
          EXECUTE q;
          INSERT INTO outcome VALUES (f.sig, i, b.label, 'ok', NULL, NULL, NULL);
        EXCEPTION WHEN OTHERS THEN
          GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
          BEGIN
            dj := jsonb_typeof(det::jsonb) = 'object';
          EXCEPTION WHEN OTHERS THEN
            dj := false;
          END;
          INSERT INTO outcome VALUES (f.sig, i, b.label, st, left(msg, 200), left(det, 200), coalesce(dj, false));
        END;
      END LOOP;
    END LOOP;
  END LOOP;
END
$sweep$;
};
my $pid = $node->safe_psql('postgres', 'SELECT pg_backend_pid()');
my ($rc, $out, $err) = $node->psql('postgres', $sweep . q{
  SELECT sqlstate || '|' || count(*) || '|' || min(fn || ' arg ' || arg || ' ' || label || ': ' || coalesce(message, ''))
  FROM outcome GROUP BY sqlstate ORDER BY sqlstate;
  SELECT 'calls|' || count(*) FROM outcome;
  SELECT 'nojson|' || sqlstate || '|' || fn || ' arg ' || arg || ' ' || label || ': ' || coalesce(message, '') || ' DETAIL: ' || coalesce(detail, '(none)')
  FROM outcome WHERE sqlstate <> 'ok' AND NOT json ORDER BY sqlstate, fn, arg;
}, timeout => 1800);
is($rc, 0, 'the sweep ran to its end (no crash)') or diag($err);
my %codes;
my $calls = 0;
my @nojson;
for my $line (split /\n/, $out) {
    my ($code, $count, $example) = split /\|/, $line, 3;
    if ($code eq 'calls') { $calls = $count; next; }
    if ($code eq 'nojson') { push @nojson, $example; next; }
    $codes{$code} = [$count, $example];
}
cmp_ok($calls, '>', 500, "the sweep made $calls calls");
note(join("\n", map { "$_: $codes{$_}[0] (e.g. $codes{$_}[1])" } sort keys %codes));
ok(!exists $codes{XX000}, 'no XX000') or diag("XX000: $codes{XX000}[1]");
for my $code (sort keys %codes) {
    next if $code eq 'ok';
    ok($documented{$code}, "SQLSTATE $code is documented in docs/errors.md") or diag("$code: $codes{$code}[1]");
}
# Every error carries a DETAIL that is a JSON object (docs/errors.md lists its keys).
is(scalar(@nojson), 0, 'every error of the sweep has a JSON object as DETAIL') or diag(join("\n", @nojson[0 .. ($#nojson < 40 ? $#nojson : 40)]));
$node->stop;  # the log is complete once the server has stopped
unlike(slurp_file($node->logfile), qr/terminated by signal|TRAP:/, 'no backend crashed');
done_testing();
