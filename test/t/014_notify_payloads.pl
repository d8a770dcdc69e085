# The payload of every kind of change event, as a listener receives it: the event,
# its cursor, the project and the file — ids only, whatever the event (any role may
# LISTEN, so a payload is public: docs/security.md). Every event kind of
# change_log's check is produced here, so a new kind that carried more would fail.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CETest;

my $node = new_node('payloads', "concurrent_edit.session_idle_timeout = 1s\n");
$node->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
my $p = '44444444-0000-0000-0000-000000000004';
my $alice = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
my $channel = 'concurrent_edit_' . ($p =~ s/-//gr);
my $secret_path = 'secret/payroll-2027.md';

my $listener = $node->background_psql('postgres');
$listener->query_safe("LISTEN $channel");

my $f = $node->safe_psql('postgres', "SELECT concurrent_edit.create_file('$p', '$secret_path', E'salary 1\\n', '$alice')");
my $s = $node->safe_psql('postgres', "SELECT concurrent_edit.open_session('$alice', '$p')");
my $s2 = $node->safe_psql('postgres', "SELECT concurrent_edit.open_session('$alice', '$p')");
$node->safe_psql('postgres', qq{
  SELECT concurrent_edit.open_file('$s', '$f');                                       -- file_opened
  SELECT concurrent_edit.write('$f', E'salary 2\\n', 1, session_id => '$s');          -- version
  SELECT concurrent_edit.write('$f', E'salary 3\\n', 1, '$alice');                    -- conflict
  SELECT concurrent_edit.resolve_conflict(c.conflict_id, E'salary 4\\n', '$alice')
  FROM concurrent_edit.list_conflicts('$f') c;                                        -- conflict_resolved, version
  SELECT concurrent_edit.write('$f', E'salary 5\\n', 2, '$alice');                    -- conflict
  SELECT concurrent_edit.discard_conflict(c.conflict_id, 'secret reason')
  FROM concurrent_edit.list_conflicts('$f') c;                                        -- conflict_discarded
  SELECT concurrent_edit.save_draft('$s', '$f', 3, E'draft salary\\n');               -- draft_saved
  SELECT concurrent_edit.discard_draft('$s', '$f');                                   -- draft_discarded
  SELECT concurrent_edit.acquire_lock('$f', '$s');                                    -- lock_acquired
  SELECT concurrent_edit.release_lock('$f', '$s');                                    -- lock_released
  SELECT concurrent_edit.acquire_lock('$f', '$s');
  SELECT concurrent_edit.force_release_lock('$f', 'secret reason');                   -- lock_forced
  SELECT concurrent_edit.acquire_lock('$f', '$s', ttl => '1 second');
});
sleep(1.2);
$node->safe_psql('postgres', qq{
  SELECT concurrent_edit.cleanup_expired_locks();                                     -- lock_expired
  SELECT concurrent_edit.close_file('$s', '$f');                                      -- file_closed
  UPDATE concurrent_edit.edit_sessions SET last_active_at = now() - interval '10 seconds' WHERE id = '$s2';
  SELECT concurrent_edit.cleanup_inactive_sessions();                                 -- session_idle
  SELECT concurrent_edit.close_session('$s');                                         -- session_left
  SELECT concurrent_edit.rename_file('$f', 'secret/renamed.md', '$alice');            -- renamed
  SELECT concurrent_edit.delete_file('$f', '$alice');                                 -- deleted
});

my $kinds = $node->safe_psql('postgres', q{
  SELECT string_agg(k, ',' ORDER BY k) FROM (
    SELECT unnest(regexp_matches(pg_get_constraintdef(oid), '''([a-z_]+)''', 'g')) k
    FROM pg_constraint WHERE conname = 'change_log_event_check') x});
my %expected = map { $_ => 1 } split /,/, $kinds;
cmp_ok(scalar(keys %expected), '>=', 17, 'the event kinds come from change_log\'s check');

my $last = $node->safe_psql('postgres', "SELECT max(cursor) FROM concurrent_edit.change_log WHERE project_id = '$p'");
my $seen = '';
for (1 .. 100) {
    $seen .= $listener->query('SELECT 1');
    last if $seen =~ /"cursor": "$last",/;
}
$listener->quit;
my @payloads = ($seen =~ /Asynchronous notification "\Q$channel\E" with payload "(.*?)" received/g);
is(scalar(@payloads), $last, 'one notification per event');

my %got;
for my $payload (@payloads) {
    my ($event) = $payload =~ /^\{"event": "([a-z_]+)"/;
    $got{$event // '?'}++;
    like($payload, qr/^\{"event": "[a-z_]+", "cursor": "\d+", "project_id": "$p", "file_id": (null|"[0-9a-f-]{36}")\}$/,
        "payload of $event: event, cursor (a JSON string), project and file ids only");
}
# The payloads' cursors are the strings of changes_since()'s cursor column (what
# node-postgres gives for that bigint), event for event.
my $payload_feed = join(',', map { /^\{"event": "([a-z_]+)", "cursor": "(\d+)"/ ? "$2:$1" : '?' } @payloads);
is($payload_feed, $node->safe_psql('postgres',
    "SELECT string_agg(cursor::text || ':' || event, ',' ORDER BY cursor) FROM concurrent_edit.changes_since('$p', 0)"),
    'payload cursors and events are changes_since()\'s, as strings');
for my $k (sort keys %expected) {
    ok($got{$k}, "an event of kind $k was received");
}
unlike(join("\n", @payloads), qr/secret|payroll|renamed\.md|salary|"reason"|[0-9a-f]{64}|"session_id"|"author"|"path"|"content_hash"|"details"/,
    'no path, content, hash, session, author or detail reaches a listener');
# The details are all there for whoever may read the project.
is($node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.changes_since('$p', 0) WHERE path LIKE 'secret/%'") > 0 ? 't' : 'f',
    't', 'changes_since() has the paths');

$node->stop;
done_testing();
