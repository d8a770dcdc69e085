# The client recipes of examples/python (psycopg2) and examples/node (pg from
# npm), run as a user would run them:
#  * both writers edit one file at once: stale writes get VC001, are retried
#    with a merge, and the final content has every round of both writers;
#  * each listener follows a project's feed; its backend is terminated in the
#    middle, events are written while it is away, and its output still has
#    every cursor exactly once, in order.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use File::Copy;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep);
use CETest;

my $root = $ENV{CE_ROOT} // "$FindBin::Bin/../..";
my $python = '/usr/bin/python3';
my $rounds = 30;

my $node = new_node('recipes',
    "shared_preload_libraries = 'concurrent_edit'\nconcurrent_edit.worker_interval = 200ms\n");
$node->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit; CREATE ROLE mallory LOGIN');
$ENV{PGHOST} = $node->host;
$ENV{PGPORT} = $node->port;
$ENV{PGDATABASE} = 'postgres';

# --- the node recipe's dependencies, as its README says: npm ci -------------
# Everything npm writes (the cache, node_modules) stays in the test's directory.
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $nodedir = "$tmp/node";
mkdir $nodedir or die "mkdir $nodedir: $!";
copy("$root/examples/node/$_", "$nodedir/$_") or die "copy $_: $!"
  for qw(package.json package-lock.json writer.js listener.js);
my ($npm_out, $npm_err) = ('', '');
my $npm_ok = IPC::Run::run(
    [ 'npm', 'ci', '--no-audit', '--no-fund', '--cache', "$tmp/npm-cache" ],
    '<', \undef, '>', \$npm_out, '2>', \$npm_err, init => sub { chdir $nodedir or die $!; });
ok($npm_ok && -d "$nodedir/node_modules/pg", 'npm ci installed pg for examples/node')
  or BAIL_OUT("npm ci could not install pg (the node recipe cannot be tested):\n$npm_out$npm_err");
ok(system($python, '-c', 'import psycopg2') == 0, "psycopg2 importable by $python")
  or BAIL_OUT("$python cannot import psycopg2 (scripts/bootstrap.sh installs python3-psycopg2)");

my %writer = (
    python => [ $python, "$root/examples/python/writer.py" ],
    node   => [ 'node', "$nodedir/writer.js" ],
);
my %listener = (
    python => [ $python, "$root/examples/python/listener.py" ],
    node   => [ 'node', "$nodedir/listener.js" ],
);

# --- two writers, one file ---------------------------------------------------
my $project = '41414141-4141-4141-4141-414141414141';
my %author = (python => 'aaaaaaaa-0000-0000-0000-00000000000a', node => 'bbbbbbbb-0000-0000-0000-00000000000b');
my $file = $node->safe_psql('postgres',
    "SELECT concurrent_edit.create_file('$project', 'shared.md', "
  . "E'# shared\\npython: 0\\n\\none\\ntwo\\nthree\\n\\nnode: 0\\n', '$author{python}')");

my (%h, %out, %err);
for my $w (qw(python node)) {
    ($out{$w}, $err{$w}) = ('', '');
    $h{$w} = IPC::Run::start([ @{ $writer{$w} }, $file, $author{$w}, $w, $rounds, 100 ],
        '<', \undef, '>', \$out{$w}, '2>', \$err{$w},
        IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
}
for my $w (qw(python node)) {
    my $ok = eval { $h{$w}->finish };
    ok($ok, "the $w writer finished without error") or diag("$w: $out{$w}$err{$w}$@");
    is(scalar(() = $out{$w} =~ /^round \d+: (?:written|merged) /mg), $rounds,
        "the $w writer stored each of its $rounds rounds once");
}
my $log = $out{python} . $out{node};
note($log);
cmp_ok(scalar(() = $log =~ /: VC001 stale base v\d+, head v\d+ by [0-9a-f-]{36}$/mg), '>', 0,
    'the writers met each other: VC001 with its DETAIL parsed');
cmp_ok(scalar(() = $log =~ /: merged v\d+ \(merge of base/mg), '>', 0, 'and retried with a merge');
my $content = $node->safe_psql('postgres', "SELECT content FROM concurrent_edit.read('$file')");
is($content, "# shared\npython: $rounds\n\none\ntwo\nthree\n\nnode: $rounds\n",
    'the final content has the last change of both writers');
is($node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.history('$file')"), 1 + 2 * $rounds,
    'one version per round of each writer, none lost');
is($node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.list_conflicts('$file')"), '0',
    'no open conflict left behind');

# --- listeners: terminated in the middle, they catch up ----------------------
my %lproject = (python => '41414141-0000-0000-0000-0000000000f1', node => '41414141-0000-0000-0000-0000000000f2');
for my $l (qw(python node)) {
    my $p = $lproject{$l};
    my $outf = "$tmp/listener-$l.out";
    my $errf = "$tmp/listener-$l.err";
    my $lh = IPC::Run::start([ @{ $listener{$l} }, $p ], '<', \undef, '>', $outf, '2>', $errf);
    my $pid1 = wait_for($errf, qr/listening on \S+ pid=(\d+)/, "$l listener: connected");

    my $f = $node->safe_psql('postgres',
        "SELECT concurrent_edit.create_file('$p', 'feed.md', E'v1\\n', '$author{python}')");
    write_versions($f, 1, 5);
    my $last = sequenced($p);
    wait_for_cursor($outf, $last, "$l listener: received the events up to cursor $last");

    # The connection drops; events go on while the listener is away.
    is($node->safe_psql('postgres', "SELECT pg_terminate_backend($pid1)"), 't',
        "$l listener: its backend terminated");
    write_versions($f, 5, 10);
    $node->safe_psql('postgres', "SELECT concurrent_edit.rename_file('$f', 'feed2.md', '$author{python}')");
    my $pid2 = wait_for($errf, qr/listening on \S+ pid=(?!$pid1\b)(\d+)/, "$l listener: reconnected");
    my $caught = wait_for($errf, qr/connection 2: caught up (\d+) events/, "$l listener: caught up");
    cmp_ok($caught, '>', 0, "$l listener: the catch-up returned the events written while it was away");

    # Live again. A payload's cursor may be a JSON number or a string of digits:
    # an old one (either form) is skipped, a newer one makes the listener fetch.
    my $chan = $node->safe_psql('postgres', "SELECT concurrent_edit.channel_name('$p')");
    $node->safe_psql('postgres', qq{SELECT pg_notify('$chan', '{"event": "version", "cursor": "1", "project_id": "$p", "file_id": "$f"}')});
    $node->safe_psql('postgres', qq{SELECT pg_notify('$chan', '{"event": "version", "cursor": 2, "project_id": "$p", "file_id": "$f"}')});
    # Any role may NOTIFY on any channel: one without any right forges payloads.
    # Before, the first of these ended the listener (Python: a JSON error; node:
    # BigInt() of a non-number, thrown out of the connection's event handler). A
    # payload that is not a JSON object with a cursor is now ignored.
    for my $forged ('not json', '[]', 'null', '{}', '{"cursor": "x"}', '{"cursor": 1.5}', '{"cursor": true}',
                    '{"cursor": -1}', '{"cursor": "1e3"}') {
        $node->safe_psql('postgres', "SELECT pg_notify('$chan', \$\$$forged\$\$)", extra_params => [ '-U', 'mallory' ]);
    }
    write_versions($f, 10, 13);
    $last = sequenced($p);
    wait_for_cursor($outf, $last, "$l listener: received the events up to cursor $last after the reconnect");
    $lh->kill_kill;

    my @lines = split /\n/, slurp_file($outf);
    my @cursors = map { (split / /)[0] } @lines;
    is(join(',', @cursors), join(',', 1 .. $last), "$l listener: every cursor exactly once, in order");
    my $expected = $node->safe_psql('postgres',
        "SELECT string_agg(cursor || ' ' || event || ' ' || coalesce(file_id::text, 'null') || ' ' || coalesce(version::text, 'null'), E'\\n' ORDER BY cursor) "
      . "FROM concurrent_edit.changes_since('$p', 0)");
    $expected =~ s/ null$/ None/mg if $l eq 'python';
    is(join("\n", @lines), $expected, "$l listener: the events are those of changes_since");
    like(slurp_file($errf), qr/connection lost .*; reconnecting from cursor \d+$/m, "$l listener: said it reconnected");

    # The feed pruned: a listener starting from cursor 0 gets VC012, prints a
    # resync line with the feed's newest cursor and follows the feed from there
    # (before, the Python recipe ended with the error, and the node one
    # reconnected from the same cursor every second for ever).
    $node->safe_psql('postgres', "SELECT concurrent_edit.prune_changes('0 s', '$p')");
    my ($outp, $errp) = ("$tmp/listener-$l-pruned.out", "$tmp/listener-$l-pruned.err");
    my $lh2 = IPC::Run::start([ @{ $listener{$l} }, $p, '0' ], '<', \undef, '>', $outp, '2>', $errp);
    wait_for($outp, qr/^($last) resync - -$/m, "$l listener: a pruned feed gives a resync line at cursor $last");
    write_versions($f, 13, 14);
    my $next = sequenced($p);
    wait_for_cursor($outp, $next, "$l listener: after the resync it follows the feed (cursor $next)");
    $lh2->kill_kill;
    is(slurp_file($outp), "$last resync - -\n" . ($next) . " version $f 14\n",
        "$l listener: the resync line, then the new event");
}

$node->stop;
done_testing();

# Writes versions from+1 .. to of file $f (its head is version $from).
sub write_versions {
    my ($f, $from, $to) = @_;
    for my $v ($from .. $to - 1) {
        $node->safe_psql('postgres',
            "SELECT concurrent_edit.write('$f', E'v@{[ $v + 1 ]}\\n', $v, '$author{python}')");
    }
}

# The last cursor of project $p once the worker has sequenced everything.
sub sequenced {
    my ($p) = @_;
    $node->poll_query_until('postgres',
        "SELECT count(*) = 0 FROM concurrent_edit.change_pending WHERE project_id = '$p'")
      or die "events of $p not sequenced";
    return $node->safe_psql('postgres', "SELECT concurrent_edit.feed_position('$p')");
}

# Waits until file $f matches $re; returns its first capture.
sub wait_for {
    my ($f, $re, $name) = @_;
    my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
    while (time() < $deadline) {
        my $text = -e $f ? slurp_file($f) : '';
        if ($text =~ $re) { pass($name); return $1; }
        sleep(0.1);
    }
    fail($name);
    diag(-e $f ? slurp_file($f) : "$f missing");
    return undef;
}

sub wait_for_cursor {
    my ($f, $cursor, $name) = @_;
    return wait_for($f, qr/^$cursor /m, $name);
}
