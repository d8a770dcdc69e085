# The update path 1.0 -> 1.1: a database created at 1.0 (with the current
# library) and holding 1.0 data becomes, after ALTER EXTENSION ... UPDATE, exactly
# what CREATE EXTENSION creates at 1.1, and its data stays readable and usable.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CETest;
use Digest::MD5 qw(md5_hex);

my $node = new_node('upgrade');
my $P  = '00000000-0000-0000-0000-00000000a001';
my $F  = '00000000-0000-0000-0000-00000000f001';
my $S  = '00000000-0000-0000-0000-00000000c001';
my $U  = '00000000-0000-0000-0000-00000000b001';
my $C  = '00000000-0000-0000-0000-00000000d001';
my $F2 = '00000000-0000-0000-0000-00000000f002';

$node->safe_psql('postgres', 'CREATE DATABASE old; CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION concurrent_edit');
is($node->safe_psql('fresh', q{SELECT extversion FROM pg_extension WHERE extname = 'concurrent_edit'}), '1.1',
    'the default version is 1.1');
$node->safe_psql('old', q{CREATE EXTENSION concurrent_edit VERSION '1.0'});
is($node->safe_psql('old', q{SELECT extversion FROM pg_extension WHERE extname = 'concurrent_edit'}), '1.0',
    'version 1.0 installs with the current library (every C symbol it names exists)');
is($node->safe_psql('old', q{SELECT source || '>' || target || '=' || path FROM pg_extension_update_paths('concurrent_edit') WHERE path IS NOT NULL}),
    '1.0>1.1=1.0--1.1', 'pg_extension_update_paths: 1.0 -> 1.1');

# 1.0 data, as 1.0's functions stored it: rows written directly (the 1.0 SQL
# functions that record events are refused by this library, see below).
my $v = sub { my $n = shift; join('', map { "line $_" . ($_ == 2 ? " v$n" : '') . "\n" } 1 .. 5) };
my $ins_versions = join(",\n", map {
    my $c = $v->($_);
    "('$P', '$F', $_, '$c', concurrent_edit.content_hash('$c'), '$U', now() - interval '1 hour' + $_ * interval '1 minute', '$S', '{\"a\": $_}')"
} 1 .. 3);
my $head = $v->(3);
$node->safe_psql('old', qq{
  INSERT INTO concurrent_edit.edit_sessions (project_id, id, user_id, sandbox_id) VALUES ('$P', '$S', '$U', 'box');
  INSERT INTO concurrent_edit.files (project_id, id, path, head_version, head_hash, head_clock, created_by, updated_by)
  VALUES ('$P', '$F', 'docs/a.txt', 3, concurrent_edit.content_hash('$head'), '{"a": 3}', '$U', '$U'),
         ('$P', '$F2', 'docs/deleted.txt', 1, concurrent_edit.content_hash('x'), NULL, '$U', '$U');
  UPDATE concurrent_edit.files SET deleted_at = now(), deleted_by = '$U' WHERE id = '$F2';
  INSERT INTO concurrent_edit.file_versions (project_id, file_id, version, content, content_hash, created_by, created_at, session_id, vector_clock)
  VALUES $ins_versions;
  INSERT INTO concurrent_edit.file_versions (project_id, file_id, version, content, content_hash, created_by)
  VALUES ('$P', '$F2', 1, 'x', concurrent_edit.content_hash('x'), '$U');
  INSERT INTO concurrent_edit.session_files (project_id, session_id, file_id) VALUES ('$P', '$S', '$F');
  INSERT INTO concurrent_edit.pending_changes (project_id, session_id, file_id, base_version, content)
  VALUES ('$P', '$S', '$F', 2, 'draft text');
  INSERT INTO concurrent_edit.file_locks (project_id, file_id, session_id, holder, lock_type, expires_at)
  VALUES ('$P', '$F', '$S', '$U', 'exclusive', now() + interval '1 day');
  INSERT INTO concurrent_edit.conflict_history (project_id, id, file_id, base_version, ours_version, theirs_content, strategy, details, created_by)
  VALUES ('$P', '$C', '$F', 2, 3, 'their text', 'merge', '{"conflicts": 1}', '$U');
  INSERT INTO concurrent_edit.change_feeds (project_id, last_cursor) VALUES ('$P', 2);
  INSERT INTO concurrent_edit.change_log (project_id, cursor, event, file_id, path, version)
  VALUES ('$P', 1, 'created', '$F', 'docs/a.txt', 1), ('$P', 2, 'conflict', '$F', 'docs/a.txt', 3);
  SELECT nextval('concurrent_edit.change_pending_id_seq') FROM generate_series(1, 5);
  CREATE TABLE public.clocks (id int PRIMARY KEY, c concurrent_edit.vclock);
  INSERT INTO public.clocks VALUES (1, '{"n1": 4, "n2": 7}');
  CREATE TABLE public.docs (id int PRIMARY KEY, body text, version int NOT NULL DEFAULT 1);
  INSERT INTO public.docs VALUES (1, 'hello', 1);
  SELECT concurrent_edit.enable_occ('public.docs', mode => 'merge');
  CREATE TABLE public.notes (id int PRIMARY KEY, a text, b text, version int NOT NULL DEFAULT 1);
  INSERT INTO public.notes VALUES (1, 'a0', 'b0', 1);
  SELECT concurrent_edit.enable_occ('public.notes', mode => 'merge');
  UPDATE public.notes SET a = 'a1', version = 1;
  CREATE TABLE public.pdocs (region text, id int, body text, version int NOT NULL DEFAULT 1, PRIMARY KEY (region, id))
    PARTITION BY LIST (region);
  CREATE TABLE public.pdocs_eu PARTITION OF public.pdocs FOR VALUES IN ('eu');
  INSERT INTO public.pdocs VALUES ('eu', 1, 'x', 1);
  SELECT concurrent_edit.enable_occ('public.pdocs', mode => 'merge');
});
is($node->safe_psql('old', q{SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.docs'::regclass}), '2',
    '1.0 enable_occ put its triggers on a table');

# Before the update: pure functions answer, changed declarations are refused.
is($node->safe_psql('old', q{SELECT concurrent_edit.normalize_path('a//b/./c')}), 'a/b/c',
    '1.0 normalize_path(text) answers');
is($node->safe_psql('old', q{SELECT concurrent_edit.vclock_compare('{"a":1}', '{"a":2}')}),
   $node->safe_psql('fresh', q{SELECT concurrent_edit.vclock_compare('{"a":1}', '{"a":2}')}), '1.0 vclock functions answer');
for my $call ("concurrent_edit.merge3('a', 'b', 'c')", "concurrent_edit.rename_file('$F', 'b.txt')",
              "concurrent_edit.resolve_conflict('$C', 'x', '$U')",
              "concurrent_edit.open_session('$U', '$P')") {
    my ($rc, $out, $err) = $node->psql('old', "\\set VERBOSITY verbose\nSELECT * FROM $call");
    like($err, qr/0A000: .*not served by this library.*\n.*DETAIL:  \{"function": "concurrent_edit\.\w+", "installed_version": "1\.0".*\n.*HINT:  ALTER EXTENSION concurrent_edit UPDATE/s,
        "1.0 call refused with 0A000, JSON DETAIL and HINT: $call");
}

my $versions_before = $node->safe_psql('old',
    q{SELECT string_agg(version || ':' || content_hash || ':' || md5(content), ',' ORDER BY file_id, version) FROM concurrent_edit.file_versions});

# A row conflict at 1.0 with this library: its recorder cannot store it in 1.0's
# conflict_history (another layout) and must leave it in the spool, not set it
# aside for good.
my $log_at = -s $node->logfile;
my (undef, undef, $conflict_err) = $node->psql('old', q{UPDATE public.notes SET a = 'a2', version = 1});
like($conflict_err, qr/changes conflict/, 'at 1.0, a stale UPDATE that conflicts is refused (its conflict is spooled)');
$node->wait_for_log(qr/row conflict record "[^"]+" could not be recorded/, $log_at);
unlike(slurp_file($node->logfile, $log_at), qr/set aside/, 'the recorder left the record in the spool');

# Two 1.0 configurations the update treats in its own way (docs/upgrading.md).
# A modified-by column that is the version column (1.0's enable_occ took it; the
# trigger of this library refuses every update of such a table) stops the update
# with 22023, changing nothing: reconfigured (or disable_occ) at 1.0, the update
# goes through. merge_columns => '{}' was stored by 1.0 as "every column" (as
# NULL): the updated table keeps merging every column (below).
$node->safe_psql('old', q{
  CREATE TABLE public.stamped (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, body text);
  SELECT concurrent_edit.enable_occ('public.stamped', modified_by_column => 'version');
  CREATE TABLE public.every (id int PRIMARY KEY, a text, version int NOT NULL DEFAULT 1);
  INSERT INTO public.every VALUES (1, E'1\n2\n3\n', 1);
  SELECT concurrent_edit.enable_occ('public.every', mode => 'merge', merge_columns => '{}');
});
# The query of docs/upgrading.md finds it.
is($node->safe_psql('old', q{
  SELECT t.tbl, t.modified_by_column, t.modified_at_column
  FROM concurrent_edit.occ_tables() t
  WHERE ARRAY[t.modified_by_column, t.modified_at_column]
        && (ARRAY[t.version_column, t.project_column]
            || ARRAY(SELECT a.attname FROM pg_index i
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                     WHERE i.indrelid = t.tbl AND i.indisprimary))
     OR t.modified_by_column = t.modified_at_column}), 'stamped|version|', 'the query of docs/upgrading.md finds the table');
my (undef, undef, $update_err) = $node->psql('old', "\\set VERBOSITY verbose\nALTER EXTENSION concurrent_edit UPDATE");
like($update_err, qr/22023: modified_by_column "version" is also the version column.*\n.*DETAIL:  \{[^\n]*"public\.stamped"[^\n]*"conflicts_with": "version column"\}/,
    'a 1.0 modified-by column that is the version column stops the update (22023, JSON DETAIL)');
is($node->safe_psql('old', q{SELECT extversion FROM pg_extension WHERE extname = 'concurrent_edit'}), '1.0',
    'and the database stays at 1.0');
$node->safe_psql('old', q{SELECT concurrent_edit.enable_occ('public.stamped')});
$node->safe_psql('old', 'ALTER EXTENSION concurrent_edit UPDATE');
is($node->safe_psql('old', q{SELECT extversion FROM pg_extension WHERE extname = 'concurrent_edit'}), '1.1', 'updated to 1.1');
is($node->safe_psql('old', q{SELECT count(*) FROM pg_namespace WHERE nspname = 'concurrent_edit_1_0'}), '0',
    'the scratch schema is gone');

# --- The schema is exactly a fresh 1.1 one. pg_dump does not show extension
# members, so a copy of each database has them detached first; pg_dump then
# shows every object with its definition, ACL, comment, policies and triggers.
my $detach = q{
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT i.type, i.identity FROM pg_depend d, pg_identify_object(d.classid, d.objid, 0) i
           WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
             AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'concurrent_edit') LOOP
    EXECUTE format('ALTER EXTENSION concurrent_edit DROP %s %s', r.type, r.identity);
  END LOOP;
END $$;};
my $catalog = q{
SELECT 'member ' || pg_describe_object(classid, objid, objsubid) FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'concurrent_edit')
UNION ALL
SELECT 'config ' || c::regclass::text || ' ' || coalesce(e.extcondition[i], 'NULL')
  FROM pg_extension e, unnest(e.extconfig) WITH ORDINALITY u(c, i) WHERE e.extname = 'concurrent_edit'
UNION ALL
SELECT 'function ' || p.oid::regprocedure::text || ' ' || p.provolatile::text || p.prosecdef::text || coalesce(p.proconfig::text, '')
       || ' ' || coalesce(p.proacl::text, 'default') || ' ' || coalesce(obj_description(p.oid, 'pg_proc'), 'NO COMMENT')
  FROM pg_proc p WHERE p.pronamespace = 'concurrent_edit'::regnamespace
UNION ALL
SELECT 'comment ' || pg_describe_object(d.classoid, d.objoid, d.objsubid) || ' ' || d.description
  FROM pg_description d WHERE pg_describe_object(d.classoid, d.objoid, d.objsubid) ~ 'concurrent_edit'
ORDER BY 1};
my (%dump, %cat);
for my $db ('old', 'fresh') {
    $cat{$db} = $node->safe_psql($db, $catalog);
    # A template must have no session: the conflict recorder (it lingers 2 s
    # after its spool empties) or a sequencer may still be connected to it, and
    # CREATE DATABASE waits only 5 s for them.
    ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE datname = '$db'"),
       "no session left in $db");
    $node->safe_psql('postgres', "CREATE DATABASE ${db}_copy TEMPLATE $db");
    $node->safe_psql("${db}_copy", $detach);
    my ($out, $dumperr) = run_command(['pg_dump', '--schema-only', '-d', $node->connstr("${db}_copy")]);
    $out =~ s/^--[^\n]*$//mg;
    $out =~ s/^(SET |SELECT pg_catalog\.set_config|\\restrict|\\unrestrict)[^\n]*$//mg;
    # Objects of the test itself (public schema) are not the extension's.
    my @st = sort grep { /\S/ && !/\bpublic\.(clocks|docs|notes|pdocs|stamped|every)\w*\b/ } map { s/^\s+|\s+$//gr } split /;\n/, $out;
    $dump{$db} = join("\n", @st) . "\n";
}
sub show_diff {
    my ($a, $b) = @_;
    my $dir = PostgreSQL::Test::Utils::tempdir();
    open(my $x, '>', "$dir/updated") or die; print $x $a; close $x;
    open(my $y, '>', "$dir/fresh") or die; print $y $b; close $y;
    return scalar `diff -u $dir/updated $dir/fresh`;
}
cmp_ok(length($dump{fresh}), '>', 50000, 'pg_dump of the detached members shows the whole schema');
is($dump{old}, $dump{fresh}, 'pg_dump --schema-only: the updated database equals a fresh 1.1 one')
    or diag(show_diff($dump{old}, $dump{fresh}));
is($cat{old}, $cat{fresh}, 'members, config tables, function settings, ACLs and comments equal a fresh 1.1 install')
    or diag(show_diff($cat{old}, $cat{fresh}));

# --- The data survived and works.
is($node->safe_psql('old',
    q{SELECT string_agg(version || ':' || content_hash || ':' || md5(content), ',' ORDER BY file_id, version) FROM concurrent_edit.file_versions}),
    $versions_before, 'every version row kept (stored in full)');
is($node->safe_psql('old', qq{SELECT string_agg(md5(r.content), ',' ORDER BY v) FROM generate_series(1, 3) v, LATERAL concurrent_edit.read('$F', v) r}),
    join(',', map { md5_hex($v->($_)) } 1 .. 3), 'read() gives every version back');
is($node->safe_psql('old', qq{SELECT head_content = '$head' AND normalized_path = 'docs/a.txt' FROM concurrent_edit.files WHERE id = '$F'}),
    't', 'files.head_content and normalized_path filled');
is($node->safe_psql('old', qq{SELECT depth || '/' || bytes || '/' || (delta IS NULL) FROM concurrent_edit.file_versions WHERE file_id = '$F' AND version = 1}),
    '0/' . length($v->(1)) . '/true', 'a 1.0 version is a depth-0 row with its byte length');
my $stale = $v->(2) =~ s/line 5/line 5 edited/r;
is($node->safe_psql('old', qq{SELECT status || ' ' || version FROM concurrent_edit.write('$F', '$stale', 2, '$U', '$S')}),
    'merged 4', 'a write from a stale base (by the lock\'s session) merges with the migrated history');
is($node->safe_psql('old', qq{SELECT lock_type || ' ' || session_id FROM concurrent_edit.lock_status('$F')}),
    "exclusive $S", 'the lock is still held');
my $resolution = $head =~ s/line 1/line 1 resolved/r;
my ($rc, $out, $err) = $node->psql('old', qq{SELECT concurrent_edit.resolve_conflict('$C', '$resolution', '$U')});
like($err, qr/locked exclusively by another session/, 'the migrated lock holds off a resolution (VC004)');
is($node->safe_psql('old', qq{SELECT concurrent_edit.release_lock('$F', '$S')}), 't', 'the lock is released');
is($node->safe_psql('old', qq{SELECT concurrent_edit.resolve_conflict('$C', '$resolution', '$U')}), '5',
    'the migrated conflict resolves, merged onto the moved head');
like($node->safe_psql('old', qq{SELECT (concurrent_edit.read('$F')).content}), qr/line 1 resolved\n.*line 2 v3\n.*line 5 edited/s,
    'the merge kept both changes');
is($node->safe_psql('old', qq{SELECT base_version || ' ' || content FROM concurrent_edit.pending_changes WHERE session_id = '$S'}),
    '2 draft text', 'the draft is kept');
is($node->safe_psql('old', qq{SELECT min(cursor) FROM concurrent_edit.changes_since('$P', 2)}), '3',
    'changes_since continues with the next cursor');
is($node->safe_psql('old', q{SELECT nextval('concurrent_edit.change_pending_id_seq') > 5}), 't',
    'the event id sequence continues');
is($node->safe_psql('old', q{SELECT concurrent_edit.vclock_get(c, 'n2') FROM public.clocks}), '7',
    'a vclock column of a caller\'s table keeps its value');
is($node->safe_psql('old', q{SELECT string_agg(tbl || ' ' || mode, ', ' ORDER BY tbl::text) FROM concurrent_edit.occ_tables()}),
    'docs merge, every merge, notes merge, pdocs merge, pdocs_eu merge, stamped reject',
    'the OCC tables keep their configuration (a partitioned one too)');
is($node->safe_psql('old', q{SELECT merge_columns IS NULL FROM concurrent_edit.occ_tables() WHERE tbl = 'public.every'::regclass}),
    't', "a table given merge_columns => '{}' at 1.0 merges every column after the update (NULL)");
$node->safe_psql('old', q{UPDATE public.every SET a = E'1\n2\n3\nX\n', version = 1});
is($node->safe_psql('old', q{UPDATE public.every SET a = E'Y\n1\n2\n3\n', version = 1 RETURNING version || ' ' || replace(a, E'\n', '')}),
    '3 Y123X', 'and its text column merges');
is($node->safe_psql('old', q{UPDATE public.notes SET b = 'b1', version = 1 RETURNING version || ' ' || a || ' ' || b}),
    '3 a1 b1', 'a stale UPDATE read before the update still merges (the 1.0 merge bases are kept)');
($rc, $out, $err) = $node->psql('old', q{UPDATE public.notes SET b = 'b9', version = 2});
like($err, qr/changes conflict/, 'after the update, another conflicting UPDATE is refused');
ok($node->poll_query_until('old', q{SELECT count(*) = 2 FROM concurrent_edit.conflict_history
    WHERE kind = 'row' AND row_relation = 'public.notes'}), 'both row conflicts are recorded, the one spooled at 1.0 too');
($rc, $out, $err) = $node->psql('old', q{UPDATE public.pdocs SET body = 'y', version = 0});
like($err, qr/row of public\.pdocs(_eu)? was modified/, 'a partitioned OCC table is still protected after the update');
($rc, $out, $err) = $node->psql('old', q{UPDATE public.docs SET body = 'x', version = 0 WHERE id = 1});
like($err, qr/row of public\.docs was modified/, 'the OCC trigger (merge mode) still refuses a stale UPDATE after the update');

# A 1.0 database whose live paths collide under 1.1's key rule (NFC) is refused
# with the colliding files named; nothing changes.
$node->safe_psql('postgres', 'CREATE DATABASE clash');
$node->safe_psql('clash', q{CREATE EXTENSION concurrent_edit VERSION '1.0'});
# (The current library computes 1.0's keys with NFC already: the unique index of
# 1.0 is dropped here to store what the 1.0 library stored.)
$node->safe_psql('clash', qq{
  DROP INDEX concurrent_edit.files_live_path_key;
  INSERT INTO concurrent_edit.files (project_id, id, path, head_version, head_hash, created_by, updated_by) VALUES
    ('$P', '$F', U&'caf\\00E9.txt', 1, concurrent_edit.content_hash('a'), '$U', '$U'),
    ('$P', '$F2', U&'cafe\\0301.txt', 1, concurrent_edit.content_hash('b'), '$U', '$U');
  INSERT INTO concurrent_edit.file_versions (project_id, file_id, version, content, content_hash, created_by) VALUES
    ('$P', '$F', 1, 'a', concurrent_edit.content_hash('a'), '$U'), ('$P', '$F2', 1, 'b', concurrent_edit.content_hash('b'), '$U');
});
($rc, $out, $err) = $node->psql('clash', "\\set VERBOSITY verbose\nALTER EXTENSION concurrent_edit UPDATE");
like($err, qr/23505: .*same key.*DETAIL:  \{.*"collisions".*"$F".*"$F2"/s, 'colliding paths refuse the update (23505, JSON DETAIL)');
is($node->safe_psql('clash', q{SELECT extversion || ' ' || (SELECT count(*) FROM concurrent_edit.files) FROM pg_extension WHERE extname = 'concurrent_edit'}),
    '1.0 2', 'still 1.0 with both files');

# Row images and row conflicts are found by their table's name. 1.0 did not
# follow renames and drops: what a table renamed or dropped at 1.0 left stays
# under its old name, and a table another role creates with that name must not
# receive it at the update (security.md, "The update from 1.0"). Before, the
# update kept every 1.0 image and row conflict whose name resolved: mallory's new
# public.salaries read the dropped table's row conflict (its row data) and merged
# against its images, testing guesses of its values (the right guess merged).
my $NIL = '00000000-0000-0000-0000-000000000000';
$node->safe_psql('postgres', 'CREATE DATABASE stale');
$node->safe_psql('stale', qq{
  CREATE EXTENSION concurrent_edit VERSION '1.0';
  CREATE ROLE mallory LOGIN;
  GRANT CREATE ON SCHEMA public TO mallory;
  CREATE TABLE public.salaries (id int PRIMARY KEY, amount int, version int NOT NULL DEFAULT 1);
  INSERT INTO public.salaries VALUES (1, 100, 1);
  SELECT concurrent_edit.enable_occ('public.salaries', mode => 'merge');
  UPDATE public.salaries SET amount = 120, version = 1 WHERE id = 1;
  INSERT INTO concurrent_edit.conflict_history (project_id, kind, row_relation, row_key, base_version, ours_version, strategy, details)
  VALUES ('$NIL', 'row', 'public.salaries', '{"id": 1}', 1, 2, 'trigger-merge',
          '{"theirs": {"id": 1, "amount": 130, "version": 1}, "table": "public.salaries"}');
  -- A live table's row conflict, whose table continues the 1.0 images: kept.
  CREATE TABLE public.docs (id int PRIMARY KEY, body text, version int NOT NULL DEFAULT 1);
  INSERT INTO public.docs VALUES (1, 'hello', 1);
  SELECT concurrent_edit.enable_occ('public.docs', mode => 'merge');
  UPDATE public.docs SET body = 'hello 2', version = 1 WHERE id = 1;
  INSERT INTO concurrent_edit.conflict_history (project_id, kind, row_relation, row_key, base_version, ours_version, strategy, details)
  VALUES ('$NIL', 'row', 'public.docs', '{"id": 1}', 1, 2, 'trigger-merge',
          '{"theirs": {"id": 1, "body": "hello 3", "version": 1}, "table": "public.docs"}');
});
my $defs = $node->safe_psql('stale', q{
  SELECT string_agg(pg_get_triggerdef(oid), E';\n') FROM pg_trigger WHERE tgrelid = 'public.salaries'::regclass AND NOT tgisinternal});
$node->safe_psql('stale', 'DROP TABLE public.salaries');
# mallory's own table under the same name, with the OCC triggers written by hand
# (enable_occ would have dropped the images of the name).
my ($mrc, $mout, $merr) = $node->psql('stale', qq{
  CREATE TABLE public.salaries (id int PRIMARY KEY, amount int, version int NOT NULL DEFAULT 1);
  INSERT INTO public.salaries VALUES (1, 5, 3);
  $defs;}, extra_params => ['-U', 'mallory']);
is($merr, '', 'mallory made her table and its triggers at 1.0');
$node->safe_psql('stale', 'ALTER EXTENSION concurrent_edit UPDATE');
is($node->psql('stale', qq{SELECT count(*) FROM concurrent_edit.list_conflicts(NULL, '$NIL')
                           WHERE row_relation = 'public.salaries'}, extra_params => ['-U', 'mallory'],
               stdout => \my $seen), 0, 'mallory lists the row conflicts of the nil project');
is($seen, '0', 'the dropped table\'s row conflict is not hers after the update');
is($node->safe_psql('stale', q{SELECT count(*) FROM concurrent_edit.conflict_history WHERE row_relation = 'public.salaries'}),
   '0', 'the update removed it (no role sees it)');
($rc, $out, $err) = $node->psql('stale', q{UPDATE public.salaries SET amount = 100, version = 1 WHERE id = 1},
                                extra_params => ['-U', 'mallory']);
like($err, qr/version 1 it was read at is no longer kept for merging/,
    'nor are its row images: a stale UPDATE of her row finds no merge base (the right guess no longer merges)');
is($node->safe_psql('stale', q{SELECT amount || ' ' || version FROM public.salaries}), '5 3', 'her row is unchanged');
is($node->safe_psql('stale', q{SELECT count(*) FROM concurrent_edit.conflict_history WHERE row_relation = 'public.docs'}),
   '1', 'the row conflict of a table that continues its 1.0 images is kept');
is($node->safe_psql('stale', q{UPDATE public.docs SET body = 'hello', version = 1 RETURNING version || ' ' || body}),
   '3 hello 2', 'and its 1.0 images stay merge bases');

# 1.0's check of a client's file_id was not serialized: two projects could store
# one id. 1.1 finds a file by its id alone, so the update refuses them (23505,
# JSON DETAIL). Before, it kept both: read() of the id returned both projects'
# files, a reader of one project was refused its own file (42501 on the other
# project), and a write meant for one file landed in the other project's.
my ($PA, $PB, $FD) = ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a2',
                      '00000000-0000-0000-0000-0000000000f1');
$node->safe_psql('postgres', 'CREATE DATABASE dupid');
$node->safe_psql('dupid', qq{
  CREATE EXTENSION concurrent_edit VERSION '1.0';
  INSERT INTO concurrent_edit.files (project_id, id, path, head_version, head_hash, created_by, updated_by) VALUES
    ('$PA', '$FD', 'mine.txt', 1, concurrent_edit.content_hash('a'), '$U', '$U'),
    ('$PB', '$FD', 'secret.txt', 1, concurrent_edit.content_hash('b'), '$U', '$U');
  INSERT INTO concurrent_edit.file_versions (project_id, file_id, version, content, content_hash, created_by) VALUES
    ('$PA', '$FD', 1, 'a', concurrent_edit.content_hash('a'), '$U'), ('$PB', '$FD', 1, 'b', concurrent_edit.content_hash('b'), '$U');
});
($rc, $out, $err) = $node->psql('dupid', "\\set VERBOSITY verbose\nALTER EXTENSION concurrent_edit UPDATE");
like($err, qr/23505: file ids are shared.*DETAIL:  \{.*"shared_ids".*"$FD".*"$PA".*"$PB"/s,
    'a file id of two projects refuses the update (23505, JSON DETAIL)');
is($node->safe_psql('dupid', q{SELECT extversion || ' ' || (SELECT count(*) FROM concurrent_edit.files) FROM pg_extension WHERE extname = 'concurrent_edit'}),
    '1.0 2', 'still 1.0 with both files');
$node->safe_psql('dupid', qq{DELETE FROM concurrent_edit.files WHERE project_id = '$PA'; ALTER EXTENSION concurrent_edit UPDATE});
is($node->safe_psql('dupid', qq{SELECT string_agg(content, ',') FROM concurrent_edit.read('$FD')}), 'b',
    'with one file per id the update goes through');

# The OCC trigger functions are executable by every role (CREATE TRIGGER needs
# it), so a table's owner can make an OCC trigger by hand, with a WHEN condition.
# The update made the triggers again by executing their definitions as the
# superuser running it: the constant '{a}'::evil_dom[] of eve's condition was read
# again, and reading it ran her domain's check, her function, as that superuser
# (eve made herself superuser). Now such a trigger stops the update (0A000, JSON
# DETAIL naming it) and no definition is executed.
$node->safe_psql('postgres', 'CREATE DATABASE whenq');
$node->safe_psql('whenq', q{
  CREATE EXTENSION concurrent_edit VERSION '1.0';
  CREATE ROLE eve LOGIN;
  GRANT CREATE ON SCHEMA public TO eve;
  CREATE TABLE public.ran_as (who name, what text);
  GRANT INSERT ON public.ran_as TO PUBLIC;
});
($rc, $out, $err) = $node->psql('whenq', q{
  CREATE FUNCTION public.evil(v text) RETURNS boolean LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO public.ran_as VALUES (current_user, 'domain check');
    BEGIN EXECUTE 'ALTER ROLE eve SUPERUSER'; EXCEPTION WHEN OTHERS THEN NULL; END;
    RETURN true;
  END $$;
  CREATE DOMAIN public.evil_dom AS text CHECK (public.evil(VALUE));
  CREATE TABLE public.mt (id int PRIMARY KEY, x text, version int NOT NULL DEFAULT 1);
  CREATE TRIGGER concurrent_edit_occ BEFORE UPDATE ON public.mt FOR EACH ROW
    WHEN (NEW.x = ANY ('{a}'::public.evil_dom[]))
    EXECUTE FUNCTION concurrent_edit._occ_trigger('version', 'reject', 'f', '', '', '', 'f', '', 'auto', 'id');},
  extra_params => ['-U', 'eve']);
is($err, '', 'eve made her trigger at 1.0 (her domain check ran as her)');
$node->safe_psql('whenq', 'DELETE FROM public.ran_as');
($rc, $out, $err) = $node->psql('whenq', "\\set VERBOSITY verbose\nALTER EXTENSION concurrent_edit UPDATE");
like($err, qr/0A000: triggers on the optimistic concurrency functions that enable_occ did not make.*DETAIL:  \{.*"public\.mt".*"concurrent_edit_occ"/s,
    'an OCC trigger with a WHEN condition stops the update (0A000, JSON DETAIL)');
is($node->safe_psql('whenq', q{SELECT count(*) FROM public.ran_as}), '0', 'nothing of eve\'s ran during the update');
is($node->safe_psql('whenq', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'eve'}), 'f', 'eve is not superuser');
$node->safe_psql('whenq', q{DROP TRIGGER concurrent_edit_occ ON public.mt; ALTER EXTENSION concurrent_edit UPDATE});
is($node->safe_psql('whenq', q{SELECT extversion FROM pg_extension WHERE extname = 'concurrent_edit'}), '1.1',
    'without it the update goes through');

# An OCC trigger made by hand in enable_occ's shape but with arguments enable_occ
# never gives (a boolean that is none, an unknown mode, a missing argument): the
# update remade it and then called 1.1's enable_occ with what occ_tables() read
# of it, which failed as the superuser's ALTER EXTENSION UPDATE with an error
# naming neither the table nor the trigger (22004 "tbl, version_column and mode
# must not be NULL", 22023 "unknown optimistic concurrency mode"): any table's
# owner kept the database at 1.0 that way, its DBA left to guess why. Such a
# trigger is refused before anything is done, as one of another shape (0A000,
# JSON DETAIL naming it).
$node->safe_psql('postgres', 'CREATE DATABASE badargs');
$node->safe_psql('badargs', q{
  CREATE EXTENSION concurrent_edit VERSION '1.0';
  CREATE ROLE eve2 LOGIN;
  GRANT CREATE ON SCHEMA public TO eve2;
});
($rc, $out, $err) = $node->psql('badargs', q{
  CREATE TABLE public.b1 (id int PRIMARY KEY, x text, version int NOT NULL DEFAULT 1);
  CREATE TRIGGER concurrent_edit_occ BEFORE UPDATE ON public.b1 FOR EACH ROW
    EXECUTE FUNCTION concurrent_edit._occ_trigger('version', 'reject', 'maybe', '', '', '', 'f', '', 'auto', 'id');
  CREATE TABLE public.b2 (id int PRIMARY KEY, x text, version int NOT NULL DEFAULT 1);
  CREATE TRIGGER concurrent_edit_occ BEFORE UPDATE ON public.b2 FOR EACH ROW
    EXECUTE FUNCTION concurrent_edit._occ_trigger('version', 'rejekt', 'f', '', '', '', 'f', '', 'auto', 'id');
  CREATE TABLE public.b3 (id int PRIMARY KEY, x text, version int NOT NULL DEFAULT 1);
  CREATE TRIGGER concurrent_edit_occ BEFORE UPDATE ON public.b3 FOR EACH ROW
    EXECUTE FUNCTION concurrent_edit._occ_trigger('version');},
  extra_params => ['-U', 'eve2']);
is($err, '', 'eve2 made OCC triggers with arguments enable_occ never gives at 1.0');
($rc, $out, $err) = $node->psql('badargs', "\\set VERBOSITY verbose\nALTER EXTENSION concurrent_edit UPDATE");
like($err, qr/0A000: triggers on the optimistic concurrency functions that enable_occ did not make.*DETAIL:  \{.*"public\.b1".*"public\.b2".*"public\.b3"/s,
    'OCC triggers with arguments enable_occ does not make stop the update (0A000, JSON DETAIL naming them)');
is($node->safe_psql('badargs', q{SELECT extversion FROM pg_extension WHERE extname = 'concurrent_edit'}), '1.0',
   'the database stays at 1.0');
$node->safe_psql('badargs', q{DROP TABLE public.b1, public.b2, public.b3;
  CREATE TABLE public.ok (id int PRIMARY KEY, x text, version int NOT NULL DEFAULT 1);
  SELECT concurrent_edit.enable_occ('public.ok', mode => 'merge', notify => true);
  ALTER EXTENSION concurrent_edit UPDATE});
is($node->safe_psql('badargs', q{SELECT mode || ' ' || notify FROM concurrent_edit.occ_tables() WHERE tbl = 'public.ok'::regclass}),
   'merge true', 'without them the update goes through, the triggers enable_occ made kept');

# An object of the caller depending on a replaced 1.0 object refuses the update.
$node->safe_psql('clash', q{CREATE VIEW public.my_files AS SELECT id, path FROM concurrent_edit.files});
($rc, $out, $err) = $node->psql('clash', "\\set VERBOSITY verbose\nALTER EXTENSION concurrent_edit UPDATE");
like($err, qr/2BP01: .*depend.*"object": "rule _RETURN on view (public\.)?my_files"/s, 'a view over a 1.0 table refuses the update (2BP01)');

$node->stop;
done_testing();
