# Prepared transactions (PREPARE TRANSACTION, then COMMIT or ROLLBACK PREPARED
# from another session): locks and the change feed.
#
# With the library preloaded (the worker):
# 1. A lock released by a prepared transaction: a waiter stays waiting while the
#    transaction is prepared, and gets the lock within a second of COMMIT
#    PREPARED (before the waiter looked again on its own within a second, it
#    slept on: 28 s here, nearly its whole 30 s wait; that COMMIT PREPARED wakes
#    it at once is 026_two_phase_locks.pl). The release's lock_released event is
#    numbered after COMMIT PREPARED, not before.
# 2. ROLLBACK PREPARED of a release: the lock is still held, no event.
# 3. A lock taken by a prepared transaction: a waiter waits for it, and gets the
#    lock within a second of ROLLBACK PREPARED; the rolled-back lock has no event.
# 4. write() in a prepared transaction: its version is invisible and has no event
#    until COMMIT PREPARED; then its version event is numbered. ROLLBACK PREPARED
#    of another write stores nothing and numbers nothing. The feed is gap-free.
# 4b. COMMIT PREPARED wakes the worker: a prepared write's event is numbered
#    within a second of it even with worker_interval at an hour.
# 4c. A prepared write and then a release: the feed has them in that order.
# Without the library preloaded:
# 5. COMMIT PREPARED in a session that has not loaded the library (nothing of
#    the extension runs there): the prepared write's event waits in
#    change_pending and is numbered by the next commit of its project, before
#    that commit's own event; the feed is gap-free. (In a session that loaded it,
#    the on-demand sequencer numbers it at once: 026_two_phase_locks.pl.)
# 5b. A prepared transaction past the 1,000 events kept in the backend: its
#     events in the order made.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use CETest;

my $project = '24242424-0000-0000-0000-000000000024';
my $user = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';

sub setup {
    my ($node) = @_;
    $node->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
    my $file = $node->safe_psql('postgres', "SELECT concurrent_edit.create_file('$project', 'a.txt', E'a\\n', '$user')");
    my @s = map {
        $node->safe_psql('postgres', "SELECT concurrent_edit.open_session('$user', '$project')")
    } 1 .. 2;
    return ($file, @s);
}

# The feed as "cursor:event:version" (version '-' when none).
sub feed {
    my ($node) = @_;
    return $node->safe_psql('postgres',
        "SELECT string_agg(cursor || ':' || event || ':' || coalesce(version::text, '-'), ',' ORDER BY cursor) "
        . "FROM concurrent_edit.changes_since('$project', 0)");
}

sub gap_free {
    my ($node) = @_;
    return $node->safe_psql('postgres',
        "SELECT count(*) = max(cursor) AND max(cursor) = (SELECT last_cursor FROM concurrent_edit.change_feeds "
        . "WHERE project_id = '$project') FROM concurrent_edit.change_log WHERE project_id = '$project'");
}


sub waiting {
    my ($node, $session) = @_;
    return $node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.lock_waits WHERE session_id = '$session'");
}

# Runs the statements and PREPARE TRANSACTION '$gid' in one session.
sub prepare {
    my ($node, $gid, $sql) = @_;
    $node->safe_psql('postgres', "BEGIN; $sql; PREPARE TRANSACTION '$gid';");
}

# COMMIT or ROLLBACK PREPARED; returns the epoch just before it.
sub finish_prepared {
    my ($node, $how, $gid) = @_;
    my $t = $node->safe_psql('postgres', 'SELECT extract(epoch FROM clock_timestamp())');
    $node->safe_psql('postgres', "$how PREPARED '$gid'");
    return $t;
}

my $node = new_node('two_phase', "shared_preload_libraries = 'concurrent_edit'\nmax_prepared_transactions = 4\n");
my ($file, $s1, $s2) = setup($node);
ok(worker_serving($node), 'worker is running');
my $held = sub {
    $node->safe_psql('postgres', "SELECT string_agg(session_id::text, ',') FROM concurrent_edit.file_locks "
        . "WHERE file_id = '$file' AND expires_at > now()");
};
my $events = sub {
    my ($kind) = @_;
    $node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.changes_since('$project', 0) WHERE event = '$kind'");
};

# 1. A release by COMMIT PREPARED reaches the waiter within a second.
$node->safe_psql('postgres', "SELECT concurrent_edit.acquire_lock('$file', '$s1', ttl => '1 minute')");
my $w = start_lock_waiter($node, $file, $s2);
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM concurrent_edit.lock_waits WHERE session_id = '$s2'"),
   'the second session waits for the lock');
prepare($node, 'release', "SELECT concurrent_edit.release_lock('$file', '$s1')");
sleep(1.5);
is(waiting($node, $s2), '1', 'it still waits while the release is only prepared');
ok($node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM concurrent_edit.change_pending_locks'),
   'the lock events before it are numbered');
is($events->('lock_released'), '0', 'the prepared release has no event yet');
my $t = finish_prepared($node, 'COMMIT', 'release');
my ($type, $t1) = end_lock_waiter($w);
is($type, 'exclusive', 'after COMMIT PREPARED the waiter gets the lock');
cmp_ok($t1 - $t, '<', 1.6, sprintf('within a second or so of it (%.3f s)', $t1 - $t));
is($held->(), $s2, 'the second session holds the file');
ok($node->poll_query_until('postgres',
    "SELECT count(*) = 1 FROM concurrent_edit.changes_since('$project', 0) WHERE event = 'lock_released'"),
   'the committed release has its lock_released event');

# 2. ROLLBACK PREPARED of a release: still held, no event.
prepare($node, 'release2', "SELECT concurrent_edit.release_lock('$file', '$s2')");
finish_prepared($node, 'ROLLBACK', 'release2');
is($held->(), $s2, 'a release rolled back by ROLLBACK PREPARED leaves the lock held');
$node->safe_psql('postgres', "SELECT concurrent_edit.release_lock('$file', '$s2')");
ok($node->poll_query_until('postgres',
    "SELECT count(*) = 2 FROM concurrent_edit.changes_since('$project', 0) WHERE event = 'lock_released'"),
   'only the committed releases have events');

# 3. A lock taken by a prepared transaction, rolled back while another waits.
prepare($node, 'take', "SELECT concurrent_edit.acquire_lock('$file', '$s1', ttl => '1 minute')");
my $acquired_before = $events->('lock_acquired');
$w = start_lock_waiter($node, $file, $s2);
sleep(1.5);
is(waiting($node, $s2), '1', 'a lock taken by a prepared transaction keeps the second session waiting');
$t = finish_prepared($node, 'ROLLBACK', 'take');
($type, $t1) = end_lock_waiter($w);
is($type, 'exclusive', 'after ROLLBACK PREPARED the waiter gets the lock');
cmp_ok($t1 - $t, '<', 1.6, sprintf('within a second or so (%.3f s)', $t1 - $t));
is($held->(), $s2, 'the second session holds the file');
ok($node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM concurrent_edit.change_pending_locks'),
   'every lock event is numbered');
is($events->('lock_acquired'), $acquired_before + 1, 'the rolled-back lock has no lock_acquired event');
$node->safe_psql('postgres', "SELECT concurrent_edit.release_lock('$file', '$s2')");

# 4. write() in a prepared transaction.
my $write = sub {
    my ($base, $text) = @_;
    return "SELECT concurrent_edit.write('$file', E'$text\\n', $base, '$user')";
};
prepare($node, 'w2', $write->(1, 'b'));
is($node->safe_psql('postgres', "SELECT version FROM concurrent_edit.read('$file')"), '1',
   'a prepared write is not visible');
sleep(1.5);
unlike(feed($node), qr/:version:/, 'and has no event');
finish_prepared($node, 'COMMIT', 'w2');
is($node->safe_psql('postgres', "SELECT version FROM concurrent_edit.read('$file')"), '2',
   'after COMMIT PREPARED the version is the head');
ok($node->poll_query_until('postgres',
    "SELECT count(*) = 1 FROM concurrent_edit.changes_since('$project', 0) WHERE event = 'version' AND version = 2"),
   'and its version event is numbered');
prepare($node, 'w3', $write->(2, 'c'));
finish_prepared($node, 'ROLLBACK', 'w3');
is($node->safe_psql('postgres', "SELECT max(version) FROM concurrent_edit.file_versions WHERE file_id = '$file'"),
   '2', 'ROLLBACK PREPARED of a write stores no version');
$node->safe_psql('postgres', $write->(2, 'd'));
ok($node->poll_query_until('postgres',
    "SELECT count(*) = 1 FROM concurrent_edit.changes_since('$project', 0) WHERE event = 'version' AND version = 3"),
   'the next write is version 3 with its event');
is($node->safe_psql('postgres',
    "SELECT string_agg(version::text, ',' ORDER BY cursor) FROM concurrent_edit.changes_since('$project', 0) "
    . "WHERE event IN ('created', 'version')"), '1,2,3', 'the feed has versions 1, 2 and 3 in order');
is(gap_free($node), 't', 'the feed is gap-free');

# 4b. COMMIT PREPARED wakes the worker: with worker_interval at an hour, the
#     prepared write's event is numbered within a second or so of COMMIT PREPARED
#     (before, it waited for the worker's next timed round: an hour here).
$node->safe_psql('postgres', "ALTER SYSTEM SET concurrent_edit.worker_interval = '1h'");
$node->reload;
sleep(3);  # the worker's last round at the old interval is over; it sleeps for an hour
my $version4 = "SELECT count(*) FROM concurrent_edit.changes_since('$project', 0) WHERE event = 'version' AND version = 4";
prepare($node, 'w4', $write->(3, 'e'));
sleep(1.5);
is($node->safe_psql('postgres', $version4), '0', 'a prepared write has no event');
$t = finish_prepared($node, 'COMMIT', 'w4');
my $numbered_at;
while (time() - $t < 10) {
    if ($node->safe_psql('postgres', $version4) eq '1') { $numbered_at = time(); last; }
    sleep(0.05);
}
ok(defined $numbered_at, 'the event of the write committed by COMMIT PREPARED is numbered');
cmp_ok(($numbered_at // 1e10) - $t, '<', 1.5,
       sprintf('within a second of COMMIT PREPARED (%.3f s), not at the worker\'s next round',
               ($numbered_at // 1e10) - $t));
is(gap_free($node), 't', 'the feed is still gap-free');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET concurrent_edit.worker_interval');
$node->reload;

# 4c. A prepared transaction's events in the order they were made: a write kept
#     in the backend until the commit, then a release whose event the worker
#     numbers (its row went to change_pending_locks at once). At PREPARE the write's
#     event went to the pending tables after the release's, and was numbered after
#     it: the feed said the lock was released before the write.
$node->safe_psql('postgres', "SELECT concurrent_edit.acquire_lock('$file', '$s1', ttl => '1 minute')");
ok($node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM concurrent_edit.change_pending_locks'),
   'the lock_acquired event is numbered');
my $before = $node->safe_psql('postgres', "SELECT concurrent_edit.feed_position('$project')");
prepare($node, 'w5', "SELECT concurrent_edit.write('$file', E'f\\n', 4, session_id => '$s1'); "
    . "SELECT concurrent_edit.release_lock('$file', '$s1')");
finish_prepared($node, 'COMMIT', 'w5');
ok($node->poll_query_until('postgres', "SELECT count(*) = 2 FROM concurrent_edit.changes_since('$project', $before)"),
   'both events of the prepared transaction are numbered');
is($node->safe_psql('postgres', "SELECT string_agg(event || ':' || coalesce(version::text, '-'), ',' ORDER BY cursor) "
    . "FROM concurrent_edit.changes_since('$project', $before)"), 'version:5,lock_released:-',
   'the write before the release, as made');
is(gap_free($node), 't', 'the feed is gap-free');
$node->stop;

# 5. Without the library preloaded.
my $plain = new_node('two_phase_plain', "max_prepared_transactions = 4\n");
($file) = setup($plain);
prepare($plain, 'w2', "SELECT concurrent_edit.write('$file', E'b\\n', 1, '$user')");
finish_prepared($plain, 'COMMIT', 'w2');
is($plain->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.change_pending WHERE version = 2"), '1',
   'not preloaded: after COMMIT PREPARED the event waits in change_pending');
$plain->safe_psql('postgres', "SELECT concurrent_edit.write('$file', E'c\\n', 2, '$user')");
is($plain->safe_psql('postgres',
    "SELECT string_agg(event || ':' || version, ',' ORDER BY cursor) FROM concurrent_edit.changes_since('$project', 0) "
    . "WHERE event IN ('created', 'version')"), 'created:1,version:2,version:3',
   'the next commit of the project numbers it, before its own event');
is($plain->safe_psql('postgres', 'SELECT count(*) FROM concurrent_edit.change_pending'), '0', 'nothing is left pending');
is(gap_free($plain), 't', 'the feed is gap-free');

# 5b. Not preloaded, past the 1,000 events a transaction keeps in the backend:
#     its later events go to change_pending at once. At PREPARE its first 1,000
#     went there after them, and after the next commit the feed gave versions
#     1,004 and 1,005 before version 4: a consumer applying it ended on 1,003.
prepare($plain, 'many', "SELECT count(*) FROM generate_series(4, 1005) v, "
    . "LATERAL concurrent_edit.write('$file', 'v' || v, v - 1, '$user') w WHERE w.status = 'written'");
finish_prepared($plain, 'COMMIT', 'many');
$plain->safe_psql('postgres', "SELECT concurrent_edit.write('$file', 'last', 1005, '$user')");
is($plain->safe_psql('postgres', "SELECT count(*) || ':' || count(*) FILTER (WHERE version <> prev + 1) FROM "
    . "(SELECT version, lag(version) OVER (ORDER BY cursor) AS prev FROM concurrent_edit.changes_since('$project', 0) "
    . "WHERE event IN ('created', 'version')) v WHERE prev IS NOT NULL"), '1005:0',
   'the 1,002 prepared versions and the next are in version order in the feed');
is(gap_free($plain), 't', 'the feed is gap-free');
$plain->stop;

done_testing();
