# A client LISTENs on its project's channel, receives the change events (ids
# only), disconnects, misses some, and catches up with changes_since() from the
# last cursor it saw. Run without and with the background worker (which then
# sequences and sends the events).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CETest;

my $project = '77777777-7777-7777-7777-777777777777';
my $alice = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
my $channel = 'concurrent_edit_' . ($project =~ s/-//gr);

for my $mode ('without worker', 'with worker') {
    my $conf = $mode eq 'with worker'
      ? "shared_preload_libraries = 'concurrent_edit'\nconcurrent_edit.worker_interval = 200ms\n"
      : undef;
    my $node = new_node($mode eq 'with worker' ? 'notify_worker' : 'notify_plain', $conf);
    $node->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
    if ($mode eq 'with worker') {
        ok(worker_serving($node), "$mode: worker running");
    }

    my $listener = $node->background_psql('postgres');
    $listener->query_safe("LISTEN $channel");

    my $file = $node->safe_psql('postgres',
        "SELECT concurrent_edit.create_file('$project', 'notes.md', E'one\\ntwo\\n', '$alice')");
    $node->safe_psql('postgres',
        "SELECT concurrent_edit.write('$file', E'one\\nTWO\\n', 1, '$alice')");
    # A rolled-back write sends nothing.
    $node->safe_psql('postgres',
        "BEGIN; SELECT concurrent_edit.write('$file', E'rolled back\\n', 2, '$alice'); ROLLBACK;");

    # psql prints notifications after the next command; poll until both arrived.
    my $seen = '';
    my $deadline = time() + 30;
    while (time() < $deadline) {
        $seen .= $listener->query('SELECT 1');
        last if ($seen =~ /"cursor": "2"/);
        sleep(0.2) if $mode eq 'with worker';
    }
    my @payloads = ($seen =~ /Asynchronous notification "\Q$channel\E" with payload "(.*?)" received/g);
    is(scalar(@payloads), 2, "$mode: two notifications (created, version), none for the rollback");
    like($payloads[0] // '', qr/"event": "created", "cursor": "1", "project_id": "$project", "file_id": "$file"/,
        "$mode: first payload: created, cursor 1 (a JSON string), ids");
    is($payloads[1] // '', qq({"event": "version", "cursor": "2", "project_id": "$project", "file_id": "$file"}),
        "$mode: second payload: ids and the cursor only (no path, no hash)");
    unlike(join('', @payloads), qr/TWO|rolled back|notes\.md|content_hash|[0-9a-f]{64}/,
        "$mode: payloads carry no content, path or hash");

    # Disconnect, miss events, reconnect and catch up from cursor 2.
    $listener->quit;
    $node->safe_psql('postgres', "SELECT concurrent_edit.write('$file', E'one\\nTWO\\nthree\\n', 2, '$alice')");
    $node->safe_psql('postgres', "SELECT concurrent_edit.rename_file('$file', 'docs/notes.md', '$alice')");
    $node->safe_psql('postgres', "SELECT concurrent_edit.delete_file('$file', '$alice')");
    my $q = "SELECT string_agg(cursor || ':' || event || ':' || coalesce(version::text, '-'), ',' ORDER BY cursor) "
      . "FROM concurrent_edit.changes_since('$project', 2)";
    if ($mode eq 'with worker') {
        ok($node->poll_query_until('postgres', "SELECT ($q) = '3:version:3,4:renamed:3,5:deleted:3'"),
            "$mode: the worker sequenced the missed events");
    }
    is($node->safe_psql('postgres', $q), '3:version:3,4:renamed:3,5:deleted:3',
        "$mode: changes_since(2) returns exactly the missed events, in order");
    is($node->safe_psql('postgres',
        "SELECT count(*) FROM concurrent_edit.change_pending WHERE project_id = '$project'"), '0',
        "$mode: nothing left pending");
    $node->stop;
}

done_testing();
