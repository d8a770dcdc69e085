# A session that LISTENs and stays in a transaction holds PostgreSQL's
# notification queue: once the queue is full, every commit that NOTIFYs fails,
# and before concurrent_edit.notify_queue_limit every write, lock call and OCC
# update of the database failed with it. Above the limit a transaction now sends
# none of its change notifications, the write succeeds, the feed keeps every
# event, and a listener catches up at the next notification once the queue is
# read again. (Filling PostgreSQL's queue, gigabytes, takes too long for a test:
# the limit is set to 0 here, so that one page the stuck session has not read is
# above it.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CETest;
use Time::HiRes qw(sleep);

my $node = new_node('notify_queue', "session_preload_libraries = 'concurrent_edit'\nconcurrent_edit.notify_queue_limit = 0\n");
my $db = 'postgres';
$node->safe_psql($db, 'CREATE EXTENSION concurrent_edit');
my $p = '28282828-0000-0000-0000-000000000028';
my $alice = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
my $channel = 'concurrent_edit_' . ($p =~ s/-//gr);
my $f = $node->safe_psql($db, "SELECT concurrent_edit.create_file('$p', 'a.md', E'one\\n', '$alice')");
$node->safe_psql($db, q{
  CREATE TABLE public.cards (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, body text);
  INSERT INTO public.cards VALUES (1, 1, 'a');
  SELECT concurrent_edit.enable_occ('public.cards', notify => true);
});
my $cards = $node->safe_psql($db, q{SELECT 'public.cards'::regclass::oid});

my $listener = $node->background_psql($db);
$listener->query_safe("LISTEN $channel; LISTEN concurrent_edit_occ_$cards");
# Notifications a listener has received so far (each query reads them).
my $received = sub { my $out = ''; $out .= $listener->query('SELECT 1') for 1 .. 3; return $out };

# Below the limit (an empty queue is 0 %): notified as before.
$node->safe_psql($db, "SELECT concurrent_edit.write('$f', E'two\\n', 1, '$alice')");
like($received->(), qr/"event": "version", "cursor": "2"/, 'an empty queue: the write is notified');

# The stuck session: LISTENs, then stays in a transaction, so it reads nothing
# and the queue's tail stays where it is. Three notifications of 7,900 bytes fill
# pages past it.
my $stuck = $node->background_psql($db);
$stuck->query_safe('LISTEN anything; BEGIN; SELECT 1');
my $big = 'x' x 7900;
$node->safe_psql($db, "NOTIFY anything, '$big'; NOTIFY anything, '${big}y'; NOTIFY anything, '${big}z'");
cmp_ok($node->safe_psql($db, 'SELECT pg_notification_queue_usage()'), '>', 0, 'the queue holds pages the stuck session has not read');

my ($rc, $out, $err) = $node->psql($db, "SELECT concurrent_edit.write('$f', E'three\\n', 2, '$alice');
                                         SELECT concurrent_edit.write('$f', E'four\\n', 3, '$alice')");
is($rc, 0, 'two writes while the queue is above the limit succeed');
like($err, qr/WARNING:  concurrent_edit sends no change notifications while PostgreSQL's notification queue is [\d.e+-]+% full, above concurrent_edit.notify_queue_limit \(0%\)/,
    'with a WARNING that says why they are not notified');
is(scalar(() = $err =~ /WARNING/g), 1, 'once: a backend warns at most once a minute');
$node->safe_psql($db, q{UPDATE public.cards SET body = 'b', version = 1 WHERE id = 1});
my $while_full = $received->();
unlike($while_full, qr/"cursor": "[34]"|concurrent_edit_occ_/, 'neither write nor the OCC update is notified meanwhile');
is($node->safe_psql($db, "SELECT string_agg(cursor || ':' || event, ',' ORDER BY cursor) FROM concurrent_edit.changes_since('$p', 2)"),
    '3:version,4:version', 'the feed has both events');
like(slurp_file($node->logfile), qr/"queue_usage": [\d.]+, "notify_queue_limit": 0\.000000/, 'the DETAIL (server log) gives the usage and the limit');

# The stuck session ends its transaction and reads its notifications: the queue
# empties, and the next write is notified; its cursor tells the listener to catch up.
$stuck->query_safe('COMMIT');
$stuck->query_safe('SELECT 1');
my $usage;
for (1 .. 100) {  # every listener reads up to the head (the listener only when it runs a query)
    $stuck->query_safe('SELECT 1');
    $listener->query('SELECT 1');
    $usage = $node->safe_psql($db, 'SELECT pg_notification_queue_usage()');
    last if $usage == 0;
    sleep 0.1;
}
is($usage, 0, 'the queue is read again');
$stuck->quit;
$node->safe_psql($db, "SELECT concurrent_edit.write('$f', E'five\\n', 4, '$alice')");
like($received->(), qr/"event": "version", "cursor": "5"/, 'the next write is notified again');
is($node->safe_psql($db, "SELECT string_agg(cursor::text, ',' ORDER BY cursor) FROM concurrent_edit.changes_since('$p', 2)"),
    '3,4,5', 'and a listener that last saw cursor 2 catches up with every event');

# At 1 the extension always notifies, whatever the queue holds.
$stuck = $node->background_psql($db);
$stuck->query_safe('LISTEN anything; BEGIN; SELECT 1');
$node->safe_psql($db, "NOTIFY anything, '$big'; NOTIFY anything, '${big}y'; NOTIFY anything, '${big}z'");
($rc, $out, $err) = $node->psql($db, "SET concurrent_edit.notify_queue_limit = 1; SELECT concurrent_edit.write('$f', E'six\\n', 5, '$alice')");
is($err, '', 'at limit 1 no warning');
like($received->(), qr/"cursor": "6"/, 'and the write is notified');
# Only a superuser may change it: a role's setting could silence its own writes.
$node->safe_psql($db, 'CREATE ROLE plain LOGIN');
($rc, $out, $err) = $node->psql($db, 'SET concurrent_edit.notify_queue_limit = 1', extra_params => ['-U', 'plain']);
like($err, qr/permission denied to set parameter "concurrent_edit.notify_queue_limit"/, 'a role without superuser cannot set it');
$stuck->query_safe('COMMIT');
$stuck->quit;
$listener->quit;

$node->stop;
done_testing();
