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

# DROP EXTENSION and CREATE EXTENSION again while clients and the worker use the
# tables: a call (or the worker's round) that looked a table up just before a
# drop committed opened an oid of no relation, XX000 "could not open relation
# with OID" (about one in ten drops here, before). The tables are now locked as
# they are looked up, and the worker holds the extension for its transaction: a
# call fails with 42P01 / 3F000, or the drop waits for it.
my $busy = new_node('drop_under_load', "shared_preload_libraries = 'concurrent_edit'\n"
    . "concurrent_edit.database = 'postgres'\nconcurrent_edit.worker_interval = 10ms\n");
$busy->safe_psql($db, 'CREATE EXTENSION concurrent_edit');
my $calls = join('', map {
    "SELECT concurrent_edit.create_file('12121212-0000-0000-0000-00000000000$_', gen_random_uuid()::text, 'x', "
    . "'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa');\n"
    . "SELECT concurrent_edit.release_session_locks(concurrent_edit.open_session("
    . "'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', '12121212-0000-0000-0000-00000000000$_'));\n"
} (1 .. 2)) x 200;
my $script = $busy->basedir . '/calls.sql';
PostgreSQL::Test::Utils::append_to_file($script, $calls);
# (Each client runs the script again and again: while the extension is away its
# calls fail at once.)
my $connstr = $busy->connstr($db);
my @clients = map {
    IPC::Run::start([ 'bash', '-c', "while :; do psql -X -q -d '$connstr' -f '$script'; done" ],
                    '>', '/dev/null', '2>', '/dev/null')
} (1 .. 2);
my $drops = 0;
for (1 .. 30) {
    select(undef, undef, undef, 0.1 + rand(0.2));
    # (A drop can be chosen as a deadlock's victim against the clients: again.)
    for my $try (1 .. 5) {
        my ($drc) = $busy->psql($db, 'DROP EXTENSION concurrent_edit CASCADE');
        if ($drc == 0) { $drops++; last; }
    }
    select(undef, undef, undef, 0.1);
    $busy->psql($db, 'CREATE EXTENSION IF NOT EXISTS concurrent_edit');
}
$_->kill_kill for @clients;
cmp_ok($drops, '>=', 20, "the extension was dropped under load ($drops times)");
my $json = slurp_file($busy->logfile =~ s/\.log$/.json/r);
my @internal = $json =~ /"state_code":"XX00\d"[^\n]*/g;
is(scalar(@internal), 0, 'no call and no round of the worker failed with an internal error')
    or diag(join("\n", @internal[0 .. ($#internal < 4 ? $#internal : 4)]));
unlike(slurp_file($busy->logfile), qr/could not open relation with OID/, 'nor opened a dropped table');
$busy->stop;
done_testing();
