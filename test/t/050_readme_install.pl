# The README, followed as written, on a separately installed PostgreSQL 15: a
# private copy of the system's installation (bin, lib, share, server headers;
# PostgreSQL finds its directories relative to its executables, so the copy's
# pg_config names the copy), into which "make install PG_CONFIG=..." installs the
# extension. Then the README's postgresql.conf lines, CREATE EXTENSION in the
# database they name, its grants, and its getting-started example run as the
# application role, whose output must be the rows the README shows. Every piece
# of SQL and configuration is read from the README's marked blocks.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use File::Path qw(make_path remove_tree);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CETest;

my $root = $ENV{CE_ROOT} // '.';
# The PostgreSQL installation the tests use (scripts/test.sh passes lib.sh's).
my $sys_pg_config = $ENV{CE_PG_CONFIG} // '/usr/lib/postgresql/15/bin/pg_config';
plan skip_all => "no PostgreSQL installation at $sys_pg_config" unless -x $sys_pg_config;

# --- Build dependencies: bootstrap.sh installs every package the README names.
my $apt = readme_block('apt');
my ($apt_line) = $apt =~ /apt-get install\s+([^\n]+)/ or die "no apt-get install line in the README";
my @readme_pkgs = split ' ', $apt_line;
cmp_ok(scalar(@readme_pkgs), '>=', 3, "the README names the build packages (@readme_pkgs)");
open(my $bfh, '<', "$root/scripts/bootstrap.sh") or die "bootstrap.sh: $!";
my ($bootstrap_list) = do { local $/; <$bfh> } =~ /^PACKAGES=\((.*?)^\)/ms;
close $bfh;
my %bootstrap = map { $_ => 1 } map { s/#.*//r =~ /(\S+)/g } split /\n/, $bootstrap_list;
is_deeply([ grep { !$bootstrap{$_} } @readme_pkgs ], [], 'scripts/bootstrap.sh installs every package of the README');

# --- A separate PostgreSQL 15: a copy of that installation under a private prefix.
my %sys = map { my $d = `$sys_pg_config --$_`; chomp $d; ($_ => $d) } qw(bindir pkglibdir sharedir includedir-server);
my $prefix = PostgreSQL::Test::Utils::tempdir('pg');
my @dirs = (dirname_of($sys{bindir}), $sys{pkglibdir}, $sys{sharedir}, $sys{'includedir-server'});
for my $dir (@dirs) {
    next if grep { index($dir, "$_/") == 0 } @dirs;    # inside another one
    make_path($prefix . dirname_of($dir));
    system('cp', '-a', $dir, $prefix . dirname_of($dir) . '/') == 0 or die "copying $dir failed";
}
# Whatever the system has of concurrent_edit is not part of the copy: only make
# install may put it there.
unlink glob("$prefix$sys{pkglibdir}/concurrent_edit.so $prefix$sys{sharedir}/extension/concurrent_edit*");
remove_tree("$prefix$sys{pkglibdir}/bitcode/concurrent_edit");
unlink "$prefix$sys{pkglibdir}/bitcode/concurrent_edit.index.bc";
ok(!-e "$prefix$sys{pkglibdir}/concurrent_edit.so", 'the copied installation has no concurrent_edit');

my $pg_config = "$prefix$sys{bindir}/pg_config";
my $copy_sharedir = `$pg_config --sharedir`;
chomp $copy_sharedir;
is($copy_sharedir, "$prefix$sys{sharedir}", "the copy's pg_config names the copy's directories");

# --- README: make && make install PG_CONFIG=... (the copy belongs to this user: no sudo).
{
    # Not the make that runs the test suite: its jobserver and variables stay out.
    local @ENV{qw(MAKEFLAGS MFLAGS MAKELEVEL)};
    delete @ENV{qw(MAKEFLAGS MFLAGS MAKELEVEL)};
    ok(run_log([ 'make', '-C', $root, '-s', '-j2', "PG_CONFIG=$pg_config" ]), 'make PG_CONFIG=...');
    ok(run_log([ 'make', '-C', $root, '-s', 'install', "PG_CONFIG=$pg_config" ]), 'make install PG_CONFIG=...');
}
ok(-e "$prefix$sys{pkglibdir}/concurrent_edit.so", 'make install put the module into the copy');
ok(-e "$prefix$sys{sharedir}/extension/concurrent_edit.control", 'make install put the control file into the copy');

# --- postgresql.conf: the README's lines, appended as they are.
my $conf = readme_block('postgresql.conf');
my ($db) = $conf =~ /^\s*concurrent_edit\.database\s*=\s*'([^']+)'/m
    or die "the README's postgresql.conf lines name no concurrent_edit.database";
my $node = PostgreSQL::Test::Cluster->new('readme', install_path => "$prefix" . dirname_of($sys{bindir}));
$node->init;
$node->append_conf('postgresql.conf', $conf);
$node->start;
like($node->safe_psql('postgres', 'SELECT version()'), qr/PostgreSQL 15\./, 'the copied PostgreSQL 15 runs');

$node->safe_psql('postgres', qq{CREATE DATABASE "$db"});
$node->safe_psql($db, readme_block('create-extension'));
is($node->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'concurrent_edit'}),
    $node->safe_psql($db, q{SELECT default_version FROM pg_available_extensions WHERE name = 'concurrent_edit'}),
    "CREATE EXTENSION in $db");
ok(worker_serving($node, $db), "the background worker runs and serves $db");

# --- The grants, as a superuser.
my $grant = readme_block('grant');
my ($app) = $grant =~ /CREATE ROLE (\w+)/ or die 'the grant block creates no role';
$node->safe_psql($db, $grant);
my $grant_project = readme_block('grant-project');
my ($reviewer) = $grant_project =~ /CREATE ROLE (\w+)/ or die 'the grant-project block creates no role';
my ($granted_project, $granted_right) = $grant_project =~ /grant_project\('([0-9a-f-]{36})', '\w+', '(\w+)'\)/
    or die 'the grant-project block grants no project';
$node->safe_psql($db, $grant_project);
is($node->safe_psql($db, "SET ROLE $reviewer; SELECT concurrent_edit.has_project_right('$granted_project', '$granted_right')"),
    't', "$reviewer has $granted_right on the project granted");
is($node->safe_psql($db, "SET ROLE $reviewer; SELECT concurrent_edit.has_project_right(gen_random_uuid(), 'read')"),
    'f', "$reviewer has nothing on another project");

# --- The getting-started example, pasted into psql as the application role.
my $example = readme_block('getting-started');
like($example, qr/create_file.*write.*write.*conflict_hunks.*resolve_conflict.*read\(/s,
    'the example creates, writes twice, sees and resolves a conflict, reads');
my $expected = readme_expected_rows($example);
my @statuses = map { /^(written|merged|conflict) \|/ ? ($1) : () } @$expected;
is_deeply(\@statuses, [qw(written merged conflict)], 'the README shows a write, a merge and a conflict');

my ($rc, $out, $err) = $node->psql($db, $example, extra_params => [ '-U', $app, '-F', ' | ' ]);
is($rc, 0, "the example runs as $app with ON_ERROR_STOP") or diag($err);
is($err, '', 'without errors or warnings');
is_deeply(psql_rows($out), $expected, 'psql prints the rows the README shows');
is($node->safe_psql($db, q{SELECT count(*) FROM concurrent_edit.conflict_history WHERE resolved_at IS NULL}),
    '0', 'the example leaves no open conflict');
is($node->safe_psql($db, q{SELECT string_agg(DISTINCT created_role::text, ',') FROM concurrent_edit.conflict_history}),
    $app, "the conflict was met by $app");

$node->stop;
done_testing();

sub dirname_of { my ($d) = @_; $d =~ s{/[^/]+/?$}{}; return $d; }
