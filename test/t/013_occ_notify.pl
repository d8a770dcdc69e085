# Tables under enable_occ(notify => true): each committed UPDATE sends
# {"table", "key", "version"} on occ_channel(table), ids only; a rejected or
# rolled-back update sends nothing. A merge conflict (whose transaction rolls
# back) is still recorded in conflict_history and announced on the change feed.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CETest;

my $node = new_node('occ_notify');
$node->safe_psql('postgres', q{
    CREATE EXTENSION concurrent_edit;
    CREATE TABLE docs (org int, id int, version bigint NOT NULL DEFAULT 1, body jsonb, secret text,
                       PRIMARY KEY (org, id));
    INSERT INTO docs VALUES (7, 1, 1, '{"a": 1}', 'top secret');
    SELECT concurrent_edit.enable_occ('docs', mode => 'merge', notify => true);
});
my $channel = $node->safe_psql('postgres', "SELECT concurrent_edit.occ_channel('docs')");
like($channel, qr/^concurrent_edit_occ_\d+$/, 'channel name from occ_channel()');

my $listener = $node->background_psql('postgres');
$listener->query_safe(qq{LISTEN "$channel"});

$node->safe_psql('postgres', q{UPDATE docs SET body = '{"a": 2}', secret = 'new secret', version = 1 WHERE org = 7 AND id = 1});
# Rolled back: nothing.
$node->safe_psql('postgres', q{BEGIN; UPDATE docs SET body = '{"a": 3}', version = 2; ROLLBACK;});
# A real conflict (stale, both changed "a"): refused, nothing sent on the table's channel.
my ($ret, $out, $err) = $node->psql('postgres', q{UPDATE docs SET body = '{"a": 9}', version = 1 WHERE org = 7 AND id = 1});
like($err, qr/changes conflict/, 'stale conflicting update refused');
# A clean stale update merges: notified with the new version.
$node->safe_psql('postgres', q{UPDATE docs SET body = '{"a": 1, "b": 1}', version = 1 WHERE org = 7 AND id = 1});

my $seen = '';
my $deadline = time() + 30;
while (time() < $deadline) {
    $seen .= $listener->query('SELECT 1');
    last if $seen =~ /"version": 3/;
    sleep(0.2);
}
my @payloads = ($seen =~ /Asynchronous notification "\Q$channel\E" with payload "(.*?)" received/g);
is(scalar(@payloads), 2, 'two notifications: the update and the merged update');
is($payloads[0] // '', '{"table": "public.docs", "key": {"id": 1, "org": 7}, "version": 2}', 'first payload: table, key, version');
is($payloads[1] // '', '{"table": "public.docs", "key": {"id": 1, "org": 7}, "version": 3}', 'second payload: merged version');
unlike(join('', @payloads), qr/secret|"a"/, 'payloads carry no content');
is($node->safe_psql('postgres', q{SELECT version || ' ' || body::text FROM docs}), '3 {"a": 2, "b": 1}',
   'the merge kept both changes');
$listener->quit;

# The conflict was recorded by a separate worker, since its transaction rolled back.
ok($node->poll_query_until('postgres',
    q{SELECT count(*) = 1 FROM concurrent_edit.conflict_history WHERE kind = 'row' AND row_relation = 'public.docs'}),
   'row conflict recorded in conflict_history');
is($node->safe_psql('postgres', q{SELECT row_key::text || ' ' || base_version || ' ' || ours_version || ' '
    || (details -> 'theirs' -> 'body')::text || ' ' || (details -> 'conflicts')::text
    FROM concurrent_edit.conflict_history WHERE kind = 'row'}),
   '{"id": 1, "org": 7} 1 2 {"a": 9} [{"kind": "modify/modify", "path": ["body", "a"]}]',
   'conflict keeps the key, the versions, the refused row and the conflicting path');
ok($node->poll_query_until('postgres',
    q{SELECT count(*) = 1 FROM concurrent_edit.changes_since('00000000-0000-0000-0000-000000000000', 0) WHERE event = 'conflict'}),
   'conflict announced on the change feed');

# Retention: only occ_history_versions images per row are kept.
$node->safe_psql('postgres', q{SET concurrent_edit.occ_history_versions = 2;
    UPDATE docs SET body = '{"x": 1}', version = 3; UPDATE docs SET body = '{"x": 2}', version = 4;
    UPDATE docs SET body = '{"x": 3}', version = 5;});
is($node->safe_psql('postgres', q{SELECT string_agg(version::text, ',' ORDER BY version) FROM concurrent_edit.occ_row_versions}),
   '5,6', 'two images kept');

$node->stop;
done_testing();
