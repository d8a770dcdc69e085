# CREATE / DROP / CREATE again, and refusal to adopt pre-existing objects.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CETest;

my $node = new_node('lifecycle');
my $db = 'postgres';

$node->safe_psql($db, 'CREATE EXTENSION concurrent_edit');
is($node->safe_psql($db, q{SELECT count(*) FROM pg_namespace WHERE nspname = 'concurrent_edit'}), '1',
    'schema created');
$node->safe_psql($db, 'DROP EXTENSION concurrent_edit');
is($node->safe_psql($db, q{SELECT count(*) FROM pg_namespace WHERE nspname = 'concurrent_edit'}), '0',
    'DROP EXTENSION removes the schema and everything in it');
$node->safe_psql($db, 'CREATE EXTENSION concurrent_edit');
is($node->safe_psql($db, q{SELECT concurrent_edit.normalize_path('a//b/')}), 'a/b',
    'CREATE EXTENSION works again after DROP');
$node->safe_psql($db, 'DROP EXTENSION concurrent_edit');

# A pre-existing schema with a clashing object: CREATE EXTENSION fails and the
# user's objects are neither adopted nor changed.
$node->safe_psql($db, q{
  CREATE SCHEMA concurrent_edit;
  CREATE TABLE concurrent_edit.files (precious text);
  INSERT INTO concurrent_edit.files VALUES ('keep me');
});
my ($rc, $out, $err) = $node->psql($db, 'CREATE EXTENSION concurrent_edit');
isnt($rc, 0, 'CREATE EXTENSION fails when schema concurrent_edit already exists');
like($err, qr/schema "concurrent_edit" already exists/, 'error names the clash');
is($node->safe_psql($db, 'SELECT precious FROM concurrent_edit.files'), 'keep me', 'existing table untouched');
is($node->safe_psql($db, q{SELECT count(*) FROM pg_extension WHERE extname = 'concurrent_edit'}), '0',
    'extension not created');
is($node->safe_psql($db, q{SELECT count(*) FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
    WHERE c.relname = 'files' AND d.deptype = 'e'}), '0', 'the existing table was not adopted');

# Even an empty pre-existing schema is refused (its owner could add objects later).
$node->safe_psql($db, 'DROP SCHEMA concurrent_edit CASCADE; CREATE SCHEMA concurrent_edit');
($rc, $out, $err) = $node->psql($db, 'CREATE EXTENSION concurrent_edit');
isnt($rc, 0, 'an empty pre-existing schema is refused too');
like($err, qr/schema "concurrent_edit" already exists/, 'the error names the clash');
$node->safe_psql($db, 'DROP SCHEMA concurrent_edit');
$node->safe_psql($db, 'CREATE EXTENSION concurrent_edit');
is($node->safe_psql($db, q{SELECT count(*) FROM pg_extension WHERE extname = 'concurrent_edit'}), '1',
   'CREATE EXTENSION succeeds once the foreign schema is gone');

# Not preloaded here: the settings exist once the library is loaded, and a new
# session's first call may be a PL/pgSQL function that reads them (each
# safe_psql below is a new session).
my $sid = $node->safe_psql($db,
    q{SELECT concurrent_edit.open_session('00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-0000000000e2')});
is($node->safe_psql($db, "SELECT concurrent_edit.touch_session('$sid')"), 'active',
    'touch_session as the first call of a new session');
is($node->safe_psql($db, 'SELECT concurrent_edit.cleanup_inactive_sessions()'), '0',
    'cleanup_inactive_sessions as the first call of a new session');
is($node->safe_psql($db, "SELECT concurrent_edit._setting('concurrent_edit.session_close_timeout')"), '1h',
    '_setting gives the value as SHOW does (with its unit)');

# concurrent_edit.database in postgresql.conf without the preload (removed, or
# not yet in effect): no session that loads the library warns about it (before,
# each one did: "invalid configuration parameter name ..., removing it"), and
# worker_status shows no database.
$node->append_conf('postgresql.conf', "concurrent_edit.database = 'postgres'\n");
$node->reload;
my ($wrc, $wout, $werr) = $node->psql($db, q{SELECT concurrent_edit.normalize_path('a//b')});
is($wout, 'a/b', 'a function works with concurrent_edit.database set and the library not preloaded');
is($werr, '', 'and the session gets no warning about the setting');
is($node->safe_psql($db, q{SELECT concurrent_edit.normalize_path('a'); SELECT context FROM pg_settings
    WHERE name = 'concurrent_edit.database'}), "a\nsighup", 'the setting exists (reload level, no effect)');
is($node->safe_psql($db, q{SELECT coalesce(database, 'null') || ' ' || preloaded FROM concurrent_edit.worker_status}),
   'null false', 'worker_status names no database without the preload');

# Non-superusers cannot create it (not trusted) nor call internal diagnostics.
$node->safe_psql($db, 'CREATE ROLE app LOGIN');
($rc, $out, $err) = $node->psql($db, q{SET ROLE app; SELECT concurrent_edit._boundary_probe('ok')});
like($err, qr/permission denied/, 'internal diagnostics are not executable by PUBLIC');
is($node->safe_psql($db, q{SET ROLE app; SELECT concurrent_edit.normalize_path('x/./y')}), 'x/y',
    'pure helper functions are usable by any role');
$node->safe_psql($db, 'DROP EXTENSION concurrent_edit; CREATE DATABASE other');
($rc, $out, $err) = $node->psql('other', 'SET ROLE app; CREATE EXTENSION concurrent_edit');
like($err, qr/permission denied|must be superuser/, 'CREATE EXTENSION requires a superuser');

$node->stop;
done_testing();
