# pg_dump of a database with rows in every table of the extension, restored into
# a new database (custom and plain formats), keeps every row.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CETest;

my $node = new_node('dump');
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', 'CREATE EXTENSION concurrent_edit');

# Rows in every table, with the awkward values a dump must keep: multi-line and
# non-ASCII text, JSON, NULLs, backslashes in paths.
$node->safe_psql('src', q{
  INSERT INTO concurrent_edit.files (project_id, id, path, normalized_path, head_version, head_hash, head_content, created_by, updated_by)
  VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000f1', 'src\Main.ts', 'src/Main.ts', 2,
          concurrent_edit.content_hash(E'line 1\nline 2 \u00e9\n'), E'line 1\nline 2 \u00e9\n', gen_random_uuid(), gen_random_uuid()),
         ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000f2', 'docs/old.md', 'docs/old.md', 1,
          concurrent_edit.content_hash('gone'), 'gone', gen_random_uuid(), gen_random_uuid());
  UPDATE concurrent_edit.files SET deleted_at = now(), deleted_by = gen_random_uuid()
   WHERE id = '00000000-0000-0000-0000-0000000000f2';
  INSERT INTO concurrent_edit.file_versions (project_id, file_id, version, content, content_hash, created_by, bytes)
  VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000f1', 1, E'line 1\n',
          concurrent_edit.content_hash(E'line 1\n'), gen_random_uuid(), 7),
         ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000f1', 2, E'line 1\nline 2 \u00e9\n',
          concurrent_edit.content_hash(E'line 1\nline 2 \u00e9\n'), gen_random_uuid(), 16),
         ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000f2', 1, 'gone',
          concurrent_edit.content_hash('gone'), gen_random_uuid(), 4);
  INSERT INTO concurrent_edit.edit_sessions (project_id, id, user_id, sandbox_id, metadata)
  VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000c1', gen_random_uuid(), 'box-1',
          '{"editor": "vim", "tabs": [1, 2]}');
  INSERT INTO concurrent_edit.file_locks (project_id, file_id, session_id, holder, lock_type, expires_at)
  VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000f1',
          '00000000-0000-0000-0000-0000000000c1', gen_random_uuid(), 'shared', now() + interval '1 hour');
  INSERT INTO concurrent_edit.pending_changes (project_id, session_id, file_id, base_version, content)
  VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000c1',
          '00000000-0000-0000-0000-0000000000f1', 1, E'draft\twith tab\n');
  INSERT INTO concurrent_edit.conflict_history (project_id, file_id, base_version, ours_version, theirs_content, strategy, details)
  VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000f1', 1, 2, E'theirs\n', 'merge',
          '{"regions": [{"base_start": 1}]}');
});
# Grants: one project, and all projects (roles live in the cluster, so they
# exist again at restore).
$node->safe_psql('src', q{
  CREATE ROLE dump_reader; CREATE ROLE dump_app;
  SELECT concurrent_edit.grant_project('00000000-0000-0000-0000-0000000000a1', 'dump_reader', 'read');
  SELECT concurrent_edit.grant_access('dump_app');
});
# Path options: the project becomes case-insensitive (project_options), which
# recomputes the stored keys; a restore keeps both as they were.
$node->safe_psql('src', q{
  SELECT concurrent_edit.set_project_options('00000000-0000-0000-0000-0000000000a1', case_insensitive => true);
});
# A user table under optimistic concurrency (merge mode): its trigger configuration
# lives in the table's triggers, its row images in occ_row_versions.
$node->safe_psql('src', q{
  CREATE TABLE orders (id int PRIMARY KEY, version int NOT NULL, doc jsonb);
  INSERT INTO orders VALUES (1, 1, '{"items": ["a"], "note": "x"}');
  SELECT concurrent_edit.enable_occ('orders', mode => 'merge', notify => true);
  UPDATE orders SET doc = '{"items": ["a", "b"], "note": "x"}', version = 1;
});
# Through the API: a session with a file open (session_files), a lock taken and a
# version written (change_log, change_feeds); a write at REPEATABLE READ leaves its
# event pending (change_pending), and so does a lock refreshed there (change_pending_locks),
# when no worker runs (and no on-demand sequencer is started, which would move them).
# An event that cannot be sequenced (its kind violates change_log's check), pending
# before the write, is set aside in change_pending_rejected when the write sequences
# its project.
$node->safe_psql('src', q{
  INSERT INTO concurrent_edit.change_pending (project_id, event) VALUES ('00000000-0000-0000-0000-0000000000a1', 'bogus');
  SELECT concurrent_edit.open_file('00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-0000000000f1');
  SELECT concurrent_edit.write('00000000-0000-0000-0000-0000000000f1', E'line 1\nline 2 \u00e9\nline 3\n', 2,
                               session_id => '00000000-0000-0000-0000-0000000000c1');
  -- History stored as deltas, and a retention setting.
  SELECT concurrent_edit.create_file('00000000-0000-0000-0000-0000000000a1', 'big.txt',
                                     string_agg('line ' || i, E'\n'), gen_random_uuid(),
                                     file_id => '00000000-0000-0000-0000-0000000000f3')
  FROM generate_series(1, 500) i;
  SELECT concurrent_edit.write('00000000-0000-0000-0000-0000000000f3',
                               replace(content, E'line 250\n', E'line 250 changed\n'), 1, gen_random_uuid())
  FROM concurrent_edit.read('00000000-0000-0000-0000-0000000000f3');
  SELECT concurrent_edit.write('00000000-0000-0000-0000-0000000000f3',
                               replace(content, E'line 7\n', E'line 7 changed\n'), 2, gen_random_uuid())
  FROM concurrent_edit.read('00000000-0000-0000-0000-0000000000f3');
  SELECT concurrent_edit.set_retention('00000000-0000-0000-0000-0000000000a1', keep_days => 30);
});
$node->safe_psql('src', q{
  BEGIN ISOLATION LEVEL REPEATABLE READ;
  SET LOCAL concurrent_edit.on_demand_sequencer = off;
  SELECT concurrent_edit.write('00000000-0000-0000-0000-0000000000f1', E'line 1\nline 2 \u00e9\nline 3\nline 4\n', 3,
                               session_id => '00000000-0000-0000-0000-0000000000c1');
  SELECT concurrent_edit.acquire_lock('00000000-0000-0000-0000-0000000000f1', '00000000-0000-0000-0000-0000000000c1',
                                      'shared', ttl => '1 hour');
  COMMIT;
});
# Every table of the extension's schema, from the catalog: a table added later is
# covered without editing this test.
my @tables = split /\n/, $node->safe_psql('src', q{
  SELECT c.relname FROM pg_class c
  WHERE c.relnamespace = 'concurrent_edit'::regnamespace AND c.relkind = 'r' ORDER BY 1});
cmp_ok(scalar(@tables), '>=', 13, 'the schema has its tables');

my $before = table_fingerprints($node, 'src', @tables);
for my $t (@tables) {
    isnt((split /\|/, $before->{$t})[0], '0', "source has rows in $t");
}

my $dir = $PostgreSQL::Test::Utils::tmp_check;
for my $format (qw(custom plain)) {
    my $db = "dst_$format";
    my $file = "$dir/dump.$format";
    $node->safe_psql('postgres', "CREATE DATABASE $db");
    if ($format eq 'custom') {
        $node->command_ok(['pg_dump', '-Fc', '-f', $file, '-d', $node->connstr('src')], 'pg_dump -Fc');
        $node->command_ok(['pg_restore', '--exit-on-error', '-d', $node->connstr($db), $file], 'pg_restore');
    } else {
        $node->command_ok(['pg_dump', '-f', $file, '-d', $node->connstr('src')], 'pg_dump plain');
        $node->command_ok(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($db), '-f', $file],
            'psql restore of the plain dump');
    }
    my $after = table_fingerprints($node, $db, @tables);
    # Versions stored as deltas read back after the restore.
    is($node->safe_psql($db, q{SELECT max(depth) > 0 FROM concurrent_edit.file_versions
         WHERE file_id = '00000000-0000-0000-0000-0000000000f3'}), 't', "$format: the file has versions stored as deltas");
    is($node->safe_psql($db, q{
         SELECT string_agg(v.version || ':' || v.depth || ':' || md5(r.content), ' ' ORDER BY v.version)
         FROM concurrent_edit.file_versions v, concurrent_edit.read(v.file_id, v.version) r
         WHERE v.file_id = '00000000-0000-0000-0000-0000000000f3'}),
       $node->safe_psql('src', q{
         SELECT string_agg(v.version || ':' || v.depth || ':' || md5(r.content), ' ' ORDER BY v.version)
         FROM concurrent_edit.file_versions v, concurrent_edit.read(v.file_id, v.version) r
         WHERE v.file_id = '00000000-0000-0000-0000-0000000000f3'}),
       "$format: versions stored as deltas read back");
    is($after->{$_}, $before->{$_}, "$format: every row of $_ restored") for @tables;
    is($node->safe_psql($db, q{SELECT tbl || ' ' || mode || ' ' || notify FROM concurrent_edit.occ_tables()}),
       'orders merge true', "$format: OCC configuration restored");
    # A stale update based on version 1 merges against the restored image of version 1.
    $node->safe_psql($db, q{UPDATE orders SET doc = '{"items": ["a"], "note": "y"}', version = 1});
    is($node->safe_psql($db, q{SELECT version || ' ' || doc::text FROM orders}),
       '3 {"note": "y", "items": ["a", "b"]}', "$format: stale update merged after restore");
    # The project's path options and the keys came back: lookups still fold case,
    # and a creation in another case is still the same file.
    is($node->safe_psql($db, q{
         SELECT concurrent_edit.file_at('00000000-0000-0000-0000-0000000000a1', 'SRC/MAIN.TS')::text || ' '
             || (SELECT case_insensitive FROM concurrent_edit.project_options('00000000-0000-0000-0000-0000000000a1'))}),
       '00000000-0000-0000-0000-0000000000f1 true', "$format: path options and keys restored");
    my ($prc, $pout, $perr) = $node->psql($db, q{
      SELECT concurrent_edit.create_file('00000000-0000-0000-0000-0000000000a1', 'src/MAIN.ts', 'x', gen_random_uuid())});
    like($perr, qr/already exists at path "src\/main.ts"/, "$format: keys claimed under the restored options");
    # The restored database still enforces the model (constraints came from CREATE EXTENSION).
    my ($rc, $out, $err) = $node->psql($db, q{
      INSERT INTO concurrent_edit.files (project_id, path, normalized_path, head_hash, head_content, created_by, updated_by)
      VALUES ('00000000-0000-0000-0000-0000000000a1', 'src/main.ts', 'src/main.ts', concurrent_edit.content_hash('x'), 'x',
              gen_random_uuid(), gen_random_uuid())});
    like($err, qr/files_live_path_key/, "$format: live path uniqueness enforced after restore");
}

$node->stop;
done_testing();
