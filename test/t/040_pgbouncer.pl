# The API through pgbouncer in transaction pooling mode (pool of 2 server
# connections, more clients than that): what works (every API call: files,
# writes, merges, conflicts, locks across transactions, sessions, drafts, the
# change feed) and what does not (LISTEN, SET, SQL-level PREPARE), as
# docs/poolers.md says.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(sleep);
use CETest;

my $project = '40404040-4040-4040-4040-404040404040';
my $alice = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
my $bob = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb';

my $node = new_node('pgbouncer',
    "shared_preload_libraries = 'concurrent_edit'\nconcurrent_edit.worker_interval = 200ms\n");
$node->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
my $channel = $node->safe_psql('postgres', "SELECT concurrent_edit.channel_name('$project')");

my $bouncer = start_pgbouncer($node);
my $via = $bouncer->{connstr};

# Clients of the pool. Each is one client connection to pgbouncer; a server
# connection is lent to it for one transaction at a time.
my @c = map { client($node, $via) } 1 .. 4;

# --- the clients really share the two server connections -------------------
my %pids;
for my $i (0 .. 3) {
    for (1 .. 3) { $pids{ $c[$i]->query_safe('SELECT pg_backend_pid()') }{$i} = 1; }
}
cmp_ok(scalar(keys %pids), '<=', 2, 'four clients used at most two server backends');
ok((grep { keys %{ $pids{$_} } >= 2 } keys %pids), 'one server backend served several clients');

# --- files, writes, merges, history ----------------------------------------
my $file = $c[0]->query_safe(
    "SELECT concurrent_edit.create_file('$project', 'notes.md', E'one\\ntwo\\nthree\\nfour\\nfive\\n', '$alice')");
like($file, qr/^[0-9a-f-]{36}$/, 'create_file through the pool');
is($c[1]->query_safe("SELECT status || ':' || version FROM concurrent_edit.write('$file', E'ONE\\ntwo\\nthree\\nfour\\nfive\\n', 1, '$alice')"),
    'written:2', 'write on the head through the pool');
is($c[2]->query_safe("SELECT status || ':' || version FROM concurrent_edit.write('$file', E'one\\ntwo\\nthree\\nfour\\nFIVE\\n', 1, '$bob')"),
    'merged:3', 'a stale write merges through the pool');
is($c[3]->query_safe("SELECT content FROM concurrent_edit.read('$file')"),
    "ONE\ntwo\nthree\nfour\nFIVE\n", 'read returns the merged head');
is($c[0]->query_safe("SELECT string_agg(version::text, ',' ORDER BY version) FROM concurrent_edit.history('$file')"),
    '1,2,3', 'history through the pool');
is($c[1]->query_safe("SELECT clean || '|' || content FROM concurrent_edit.merge3(E'a\\nb\\nc\\n', E'A\\nb\\nc\\n', E'a\\nb\\nC\\n')"),
    "true|A\nb\nC\n", 'merge3 through the pool');

# --- a conflict: listed and resolved from other clients ---------------------
my $conflict = $c[2]->query_safe(
    "SELECT conflict_id FROM concurrent_edit.write('$file', E'uno\\ntwo\\nthree\\nfour\\nfive\\n', 1, '$bob') WHERE status = 'conflict'");
like($conflict, qr/^[0-9a-f-]{36}$/, 'a real conflict through the pool');
is($c[3]->query_safe("SELECT conflict_id FROM concurrent_edit.list_conflicts('$file')"),
    $conflict, 'list_conflicts from another client');
is($c[0]->query_safe("SELECT concurrent_edit.resolve_conflict('$conflict', E'Uno\\ntwo\\nthree\\nfour\\nFIVE\\n', '$bob')"),
    '4', 'resolve_conflict from a third client writes version 4');
is($c[1]->query_safe("SELECT count(*) FROM concurrent_edit.list_conflicts('$file')"), '0', 'no open conflict left');

# --- sessions, drafts, touch_session ---------------------------------------
my $sa = $c[0]->query_safe("SELECT concurrent_edit.open_session('$alice', '$project')");
my $sb = $c[1]->query_safe("SELECT concurrent_edit.open_session('$bob', '$project')");
is($c[2]->query_safe("SELECT concurrent_edit.touch_session('$sa')"), 'active', 'touch_session from another client');
$c[3]->query_safe("SELECT concurrent_edit.save_draft('$sa', '$file', 4, E'Uno\\ntwo\\ndraft\\nfour\\nFIVE\\n')");
is($c[0]->query_safe("SELECT base_version FROM concurrent_edit.session_drafts('$sa')"), '4',
    'a draft saved by one client is seen by another');
is($c[2]->query_safe("SELECT status || ':' || version FROM concurrent_edit.commit_draft('$sa', '$file')"),
    'written:5', 'commit_draft from a third client');

# --- a lock is a lease of a session, not of a connection --------------------
# Alice's client takes the lock in one transaction and releases it in a later
# one on another server backend; in between, Bob's session is excluded.
my ($lock_pid) = split /\|/, $c[0]->query_safe(
    "SELECT pg_backend_pid() || '|' || lock_type FROM concurrent_edit.acquire_lock('$file', '$sa', 'exclusive', '5 min')");
my ($rc, $out, $err) = $node->psql('postgres',
    "\\set VERBOSITY verbose\nSELECT concurrent_edit.write('$file', E'bob\\n', 5, '$bob', '$sb')", connstr => $via);
like($err, qr/VC004/, 'another client: the write of another session is refused (VC004) while the lock is held');
($rc, $out, $err) = $node->psql('postgres',
    "\\set VERBOSITY verbose\nSELECT concurrent_edit.acquire_lock('$file', '$sb')", connstr => $via);
like($err, qr/55P03/, 'another client: acquire_lock of another session fails (55P03)');
is($c[3]->query_safe("SELECT session_id FROM concurrent_edit.lock_status('$file')"), $sa,
    'lock_status from another client names the holder session');
# Pin the server backend the lock was taken on inside another client's open
# transaction, so that the release runs on the other one.
$c[1]->query_safe('BEGIN');
my $pinned = $c[1]->query_safe('SELECT pg_backend_pid()');
my $release_pid = $c[0]->query_safe('SELECT pg_backend_pid()');
is($c[0]->query_safe("SELECT concurrent_edit.release_lock('$file', '$sa')"), 't',
    'release_lock in a later transaction');
$c[1]->query_safe('COMMIT');
is($pinned, $lock_pid, 'the backend that took the lock was pinned by another client');
isnt($release_pid, $lock_pid, 'so the release ran on another server backend');
is($c[2]->query_safe("SELECT status FROM concurrent_edit.write('$file', E'Uno\\ntwo\\ndraft\\nfour\\nbob\\n', 5, '$bob', '$sb')"),
    'written', 'after the release Bob\'s session writes');

# --- changes_since catch-up through the pool --------------------------------
ok($node->poll_query_until('postgres',
    "SELECT count(*) = 0 FROM concurrent_edit.change_pending WHERE project_id = '$project'"),
    'the worker sequenced every event');
my $feed = $c[3]->query_safe(
    "SELECT string_agg(cursor::text, ',' ORDER BY cursor) || '|' || bool_and(cursor > 0) || '|' || max(cursor) "
  . "FROM concurrent_edit.changes_since('$project', 0)");
my ($cursors, undef, $max) = split /\|/, $feed;
is($cursors, join(',', 1 .. $max), 'changes_since through the pool: every cursor once, in order');
is($c[0]->query_safe(
    "SELECT string_agg(event, ',' ORDER BY cursor) FROM concurrent_edit.changes_since('$project', $max - 3)"),
    'lock_acquired,lock_released,version', 'catch-up from a cursor returns the latest events');

# --- LISTEN through transaction pooling -------------------------------------
# The LISTEN stays on the server backend the pool lent for that transaction; the
# client is not attached to it afterwards. A notification reaches whichever
# client is using that backend when it is delivered (pgbouncer drops it when no
# client is): not the one that listened.
my $pooled_listener = client($node, $via);
my $listen_pid = $pooled_listener->query_safe(qq{BEGIN; LISTEN "$channel"; SELECT pg_backend_pid(); COMMIT});
my $direct_listener = $node->background_psql('postgres');
$direct_listener->query_safe(qq{LISTEN "$channel"});
$c[0]->query_safe('BEGIN');
is($c[0]->query_safe('SELECT pg_backend_pid()'), $listen_pid,
    'another client got the server backend that ran the LISTEN');
$node->safe_psql('postgres', "SELECT concurrent_edit.write('$file', E'after listen\\n', 6, '$bob')");
my $direct = '';
my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
while (time() < $deadline) {
    $direct .= $direct_listener->query('SELECT 1');
    last if $direct =~ /Asynchronous notification "\Q$channel\E"/;
    sleep(0.2);
}
like($direct, qr/Asynchronous notification "\Q$channel\E" with payload "[^"]*"event": "version"/,
    'a direct connection receives the notification');
# Delivered when that client's transaction ends, to that client.
like($c[0]->query('COMMIT'), qr/Asynchronous notification "\Q$channel\E"/,
    'the client using the listening backend receives it, though it never LISTENed');
my $pooled = '';
for (1 .. 10) { $pooled .= $pooled_listener->query('SELECT 1'); sleep(0.1); }
unlike($pooled, qr/Asynchronous notification/, 'the client that LISTENed through the pool receives nothing');
$pooled_listener->query_safe(qq{UNLISTEN "$channel"});
$pooled_listener->quit;
$direct_listener->quit;

# --- SET leaks to the next client of the server backend; SET LOCAL does not --
my $stale = "Uno\ntwo\nours\nfour\nbob\n";    # on version 5: conflicts with version 7
my ($p0, $style0) = split /\|/, $c[0]->query_safe(
    "SET concurrent_edit.conflict_style = 'diff3'; SELECT pg_backend_pid() || '|' || current_setting('concurrent_edit.conflict_style')");
is($style0, 'diff3', 'SET applies to the client that ran it');
my ($p1, $style1) = split /\|/, $c[1]->query_safe(
    "SELECT pg_backend_pid() || '|' || current_setting('concurrent_edit.conflict_style')");
is($p1, $p0, 'the next client got the same server backend');
is($style1, 'diff3', 'SET leaks: another client sees conflict_style = diff3 it never set');
like($c[1]->query_safe("SELECT content FROM concurrent_edit.write('$file', E'$stale', 5, '$bob') WHERE status = 'conflict'"),
    qr/^\|\|\|\|\|\|\| /m, 'and its conflict text has diff3 markers');
$c[1]->query_safe('RESET concurrent_edit.conflict_style');
is($c[2]->query_safe("SELECT pg_backend_pid() || '|' || current_setting('concurrent_edit.conflict_style')"),
    "$p0|merge", 'RESET from whichever client holds that backend clears it');

my $local = $c[0]->query_safe(
    "BEGIN; SET LOCAL concurrent_edit.conflict_style = 'diff3'; "
  . "SELECT pg_backend_pid() || '|' || content FROM concurrent_edit.write('$file', E'$stale', 5, '$alice') WHERE status = 'conflict'; COMMIT");
my ($lp, $ltext) = split /\|/, $local, 2;
like($ltext, qr/^\|\|\|\|\|\|\| /m, 'SET LOCAL applies inside the transaction');
is($c[3]->query_safe("SELECT pg_backend_pid() || '|' || current_setting('concurrent_edit.conflict_style')"),
    "$lp|merge", 'SET LOCAL does not leak to the next client of that server backend');
unlike($c[3]->query_safe("SELECT content FROM concurrent_edit.write('$file', E'$stale', 5, '$bob') WHERE status = 'conflict'"),
    qr/^\|\|\|\|\|\|\| /m, 'its conflict text has the default markers');

# --- SQL-level prepared statements live on a server backend -----------------
$c[0]->query_safe("PREPARE head(uuid) AS SELECT version FROM concurrent_edit.read(\$1)");
$c[1]->query_safe('BEGIN');    # pins that backend (the pool lends the most recently used one)
is($c[1]->query_safe("EXECUTE head('$file')"), '7',
    'a client that never prepared the statement can execute it (it found another client\'s backend)');
($rc, $out, $err) = $node->psql('postgres', "EXECUTE head('$file')", connstr => $via);
like($err, qr/prepared statement "head" does not exist/,
    'while that backend is busy, EXECUTE on the other one fails');
$c[1]->query_safe('DEALLOCATE head');
$c[1]->query_safe('COMMIT');

$_->quit for @c;
stop_pgbouncer($bouncer);
$node->stop;
done_testing();

# A psql client connected through pgbouncer.
sub client {
    my ($node, $connstr) = @_;
    return $node->background_psql('postgres', extra_params => [ '-d', $connstr ]);
}

# pgbouncer in transaction pooling mode on a Unix socket in the test's
# directory, in front of $node, with a pool of 2 server connections.
sub start_pgbouncer {
    my ($node) = @_;
    my $dir = PostgreSQL::Test::Utils::tempdir_short();
    my $port = PostgreSQL::Test::Cluster::get_free_port();
    my $bin = -x '/usr/sbin/pgbouncer' ? '/usr/sbin/pgbouncer' : 'pgbouncer';
    my $user = $node->safe_psql('postgres', 'SELECT current_user');
    my $log = "$PostgreSQL::Test::Utils::tmp_check/pgbouncer.log";
    PostgreSQL::Test::Utils::append_to_file("$dir/userlist.txt", qq{"$user" ""\n});
    PostgreSQL::Test::Utils::append_to_file("$dir/pgbouncer.ini", <<"INI");
[databases]
postgres = host=@{[ $node->host ]} port=@{[ $node->port ]} dbname=postgres

[pgbouncer]
listen_addr =
listen_port = $port
unix_socket_dir = $dir
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 2
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 50
server_round_robin = 0
logfile = $log
pidfile = $dir/pgbouncer.pid
INI
    my $h = IPC::Run::start([ $bin, "$dir/pgbouncer.ini" ], '<', \undef, '>', "$log.out", '2>&1');
    my $connstr = "host=$dir port=$port dbname=postgres";
    # (pg_isready, not psql: see CETest::accepting.)
    my $up = accepting($node, $connstr);
    ok($up, 'pgbouncer accepts connections (transaction pooling, pool size 2)')
        or BAIL_OUT("pgbouncer did not start:\n" . (-e $log ? slurp_file($log) : '') . (-e "$log.out" ? slurp_file("$log.out") : ''));
    is(($node->psql('postgres', 'SELECT 1', connstr => $connstr))[1], '1', 'and serves a query');
    return { handle => $h, connstr => $connstr, log => $log };
}

sub stop_pgbouncer {
    my ($b) = @_;
    $b->{handle}->signal('INT');    # safe shutdown
    $b->{handle}->finish;
}
