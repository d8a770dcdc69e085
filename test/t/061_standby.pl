# Read replicas (docs/scale-out.md#read-replicas). A streaming hot standby of a
# primary that runs the worker:
#  * serves the read API (read, history, diff_versions, list_files, file_at,
#    changes_since, feed_position, list_conflicts, conflict_texts, session_drafts,
#    has_project_right) with the primary's data, and the pure functions (merge3,
#    diff, vclock, operations);
#  * refuses every function that writes, and the lock/presence functions (their
#    leases are unlogged, so a standby has none), at once with 25006 and a hint
#    naming the primary by host and port, never its password; a refused call
#    changes nothing;
#  * runs no worker; after promotion, writes work and the worker starts and
#    sequences events (a REPEATABLE READ write's event goes through it).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CETest;

my $conf = "shared_preload_libraries = 'concurrent_edit'\nconcurrent_edit.worker_interval = 200ms\n";
my $primary = new_node('primary', $conf, { allows_streaming => 1 });
$primary->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');

my $project = '11111111-2222-3333-4444-555555555555';
my $alice = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
my $bob = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb';
my $file = $primary->safe_psql('postgres',
    "SELECT concurrent_edit.create_file('$project', 'doc.txt', E'one\\ntwo\\nthree\\n', '$alice')");
$primary->safe_psql('postgres', "SELECT concurrent_edit.write('$file', E'one\\nTWO\\nthree\\n', 1, '$alice')");
# A stale write of the same line from version 1: a recorded conflict.
my $conflict = $primary->safe_psql('postgres',
    "SELECT conflict_id FROM concurrent_edit.write('$file', E'one\\n2\\nthree\\n', 1, '$bob')");
like($conflict, qr/^[0-9a-f-]{36}$/, 'primary: a conflict is recorded');
my $session = $primary->safe_psql('postgres', "SELECT concurrent_edit.open_session('$bob', '$project')");
$primary->safe_psql('postgres', "SELECT concurrent_edit.save_draft('$session', '$file', 2, E'draft\\n')");
# A large head (above 256 kB): the standby reads it out of TOAST like the primary.
my $big = $primary->safe_psql('postgres',
    "SELECT concurrent_edit.create_file('$project', 'big.txt', repeat(E'line of text\\n', 30000), '$alice')");
# (Numbered at commit, or by the worker if it serves the database already: the
# project's first event then goes to it, and it makes the feed row.)
ok($primary->poll_query_until('postgres', 'SELECT pending_events = 0 FROM concurrent_edit.worker_status()'),
   'primary: no event is left pending');
my $position = $primary->safe_psql('postgres', "SELECT concurrent_edit.feed_position('$project')");
cmp_ok($position, '>=', 4, 'primary: the events are numbered');

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
# Its own log file (the copied configuration names the primary's).
my ($standby_log) = $standby->logfile =~ m{([^/]+)$};
$standby->append_conf('postgresql.conf', "log_filename = '$standby_log'\n");
# A password in primary_conninfo (the primary trusts local connections, so it is
# not checked): the refusal's hint must not show it.
$standby->append_conf('postgresql.conf', "primary_conninfo = 'host=" . $primary->host . ' port=' . $primary->port
    . " password=standby-secret-pw application_name=standby'\n");
$standby->start;
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');

# --- the read API on the standby ---------------------------------------------
sub both {  # the same query on both servers gives the same rows
    my ($sql, $name) = @_;
    my $p = $primary->safe_psql('postgres', $sql);
    my ($rc, $s, $err) = $standby->psql('postgres', $sql);
    is($rc, 0, "standby runs $name") or diag($err);
    is($s, $p, "standby: $name gives the primary's rows");
}
both("SELECT version, content, content_hash FROM concurrent_edit.read('$file')", 'read (head)');
both("SELECT content FROM concurrent_edit.read('$file', 1)", 'read (an old version)');
both("SELECT md5(content), length(content) FROM concurrent_edit.read('$big')", 'read (a 390 kB head)');
both("SELECT version, content_hash, is_head FROM concurrent_edit.history('$file') ORDER BY version", 'history');
both("SELECT concurrent_edit.diff_versions('$file', 1, 2)", 'diff_versions');
both("SELECT path, version FROM concurrent_edit.list_files('$project') ORDER BY path", 'list_files');
both("SELECT concurrent_edit.file_at('$project', 'doc.txt')", 'file_at');
both("SELECT cursor, event, file_id FROM concurrent_edit.changes_since('$project', 0) ORDER BY cursor", 'changes_since');
both("SELECT concurrent_edit.feed_position('$project')", 'feed_position');
both("SELECT conflict_id, kind, conflicts FROM concurrent_edit.list_conflicts(project_id => '$project')", 'list_conflicts');
both("SELECT base_text, ours_text, theirs_text FROM concurrent_edit.conflict_texts('$conflict')", 'conflict_texts');
both("SELECT file_id, base_version, bytes FROM concurrent_edit.session_drafts('$session')", 'session_drafts');
both("SELECT concurrent_edit.has_project_right('$project', 'write')", 'has_project_right');
both("SELECT (concurrent_edit.merge3(E'a\\nb\\nc\\n', E'A\\nb\\nc\\n', E'a\\nb\\nC\\n')).content", 'merge3');
both("SELECT concurrent_edit.diff(E'a\\n', E'b\\n')", 'diff');
both("SELECT concurrent_edit.vclock_merge('{\"a\":1}', '{\"b\":2}')::text", 'vclock_merge');
both(q{SELECT concurrent_edit.order_operations('[{"opCode":"OP_BLOCK_SPLIT","blockId":"b","timestamp":2},
       {"opCode":"OP_BLOCK_SPLIT","blockId":"a","timestamp":1}]')}, 'order_operations');

# --- what runs on the primary only is refused at once ----------------------
my $unknown = '99999999-9999-9999-9999-999999999999';
my %refused = (
    create_file => "concurrent_edit.create_file('$project', 'new.txt', 'x', '$alice')",
    write => "concurrent_edit.write('$file', 'x', 2, '$alice')",
    'write (an unknown file: refused before it is looked up)' => "concurrent_edit.write('$unknown', 'x', 1)",
    write_many => "concurrent_edit.write_many('[]')",
    rename_file => "concurrent_edit.rename_file('$file', 'other.txt')",
    delete_file => "concurrent_edit.delete_file('$file')",
    revert_version => "concurrent_edit.revert_version('$file', 1)",
    resolve_conflict => "concurrent_edit.resolve_conflict('$conflict', choose => 'ours')",
    discard_conflict => "concurrent_edit.discard_conflict('$conflict', 'no')",
    save_draft => "concurrent_edit.save_draft('$session', '$file', 2, 'y')",
    commit_draft => "concurrent_edit.commit_draft('$session', '$file')",
    open_session => "concurrent_edit.open_session('$alice', '$project')",
    touch_session => "concurrent_edit.touch_session('$session')",
    close_session => "concurrent_edit.close_session('$session')",
    open_file => "concurrent_edit.open_file('$session', '$file')",
    acquire_lock => "concurrent_edit.acquire_lock('$file', '$session')",
    release_lock => "concurrent_edit.release_lock('$file', '$session')",
    lock_status => "concurrent_edit.lock_status('$file')",
    file_editors => "concurrent_edit.file_editors('$file')",
    project_sessions => "concurrent_edit.project_sessions('$project')",
    grant_project => "concurrent_edit.grant_project('$project', 'pg_monitor', 'read')",
    set_retention => "concurrent_edit.set_retention('$project', 10)",
    set_project_options => "concurrent_edit.set_project_options('$project', true)",
    prune_changes => "concurrent_edit.prune_changes()",
    prune_history => "concurrent_edit.prune_history('$file')",
    cleanup_expired_locks => "concurrent_edit.cleanup_expired_locks()",
);
my $primary_host = $primary->host;
my $primary_port = $primary->port;
for my $name (sort keys %refused) {
    my ($fn) = $refused{$name} =~ /^concurrent_edit\.(\w+)\(/;
    my ($rc, $out, $err) = $standby->psql('postgres', "\\set VERBOSITY verbose\nSELECT * FROM $refused{$name}");
    like($err, qr/ERROR:  25006: cannot run concurrent_edit\.$fn\(\) on a hot standby/, "standby refuses $name with 25006");
    like($err, qr/HINT:  Run it on the primary server \(host=\Q$primary_host\E port=$primary_port\)\./,
        "$name: the hint names the primary");
    unlike($err, qr/standby-secret-pw/, "$name: the hint does not show primary_conninfo's password");
}
my ($rc, $out, $err) = $standby->psql('postgres', "SELECT concurrent_edit.write('$file', 'x', 2)");
like($err, qr/DETAIL:  \{"function": "concurrent_edit.write", "primary": "host=\Q$primary_host\E port=$primary_port"\}/,
    'the DETAIL is a JSON object naming the function and the primary');
both("SELECT version, content FROM concurrent_edit.read('$file')", 'read after the refusals (nothing changed)');

# --- no worker on the standby; after promotion, the worker and writes ---------
my $worker_q = q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'concurrent_edit worker'};
is($primary->safe_psql('postgres', $worker_q), '1', 'the primary runs the worker');
is($standby->safe_psql('postgres', $worker_q), '0', 'the standby runs no worker');
is($standby->safe_psql('postgres', 'SELECT running FROM concurrent_edit.worker_status()'), 'f',
    'worker_status on the standby: not running');

$primary->stop('fast');
$standby->promote;
ok($standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()'), 'the standby was promoted');
ok($standby->poll_query_until('postgres', "SELECT ($worker_q) = 1"), 'after promotion the worker runs');
my $v = $standby->safe_psql('postgres',
    "SELECT version FROM concurrent_edit.write('$file', E'one\\nTWO\\nthree\\nfour\\n', 2, '$alice')");
is($v, '3', 'after promotion write() works');
# A REPEATABLE READ transaction's event is numbered by the worker.
$standby->safe_psql('postgres', "BEGIN ISOLATION LEVEL REPEATABLE READ;
    SELECT concurrent_edit.write('$file', E'one\\nTWO\\nthree\\nfour\\nfive\\n', 3, '$alice'); COMMIT;");
ok($standby->poll_query_until('postgres',
    "SELECT count(*) = 2 FROM concurrent_edit.changes_since('$project', $position) WHERE event = 'version'"),
    'after promotion the worker sequences a REPEATABLE READ write\'s event');
is($standby->safe_psql('postgres', "SELECT pending_events FROM concurrent_edit.worker_status()"), '0',
    'no event is left pending');
my $s2 = $standby->safe_psql('postgres', "SELECT concurrent_edit.open_session('$alice', '$project')");
is($standby->safe_psql('postgres', "SELECT lock_type FROM concurrent_edit.acquire_lock('$file', '$s2')"), 'exclusive',
    'after promotion locks work');
is($standby->safe_psql('postgres',
    "SELECT string_agg(c::text, ',' ORDER BY c) FROM (SELECT cursor AS c FROM concurrent_edit.changes_since('$project', 0)) s"),
    join(',', 1 .. $standby->safe_psql('postgres', "SELECT concurrent_edit.feed_position('$project')")),
    'the promoted server\'s cursors continue the primary\'s without a gap');

$standby->stop;
done_testing();
