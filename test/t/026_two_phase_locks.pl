# What COMMIT PREPARED and ROLLBACK PREPARED wake (src/pg/feed.cpp, the utility
# hook): the prepared transaction's commit and abort callbacks never run, and the
# session that finishes it does not know its files.
#
# With the library preloaded (the only case with shared memory to wake a waiter):
# 1. Lock waiters at COMMIT PREPARED of a release (release_lock,
#    force_release_lock, release_session_locks): the waiter gets the lock at once.
#    A waiter asleep on its latch looks again on its own after a second at most
#    (kLookAgainMs): before the hook woke it, it took what was left of that second
#    (0.1 to 0.9 s here, the COMMIT PREPARED placed at five points of it: median
#    0.5 s). Required: the median under 0.2 s and at most one trial over 0.3 s.
# 2. ROLLBACK PREPARED of an acquisition: the waiter gets the lock at once, in
#    the same five trials. (It waits in PostgreSQL's lock manager for the file's
#    acquisition lock, which the prepared transaction holds to its end, so this
#    was already prompt before the hook: it guards against a regression.)
# 3. The feed in a database the worker does not serve: the events of a write
#    committed by COMMIT PREPARED are handed to the on-demand sequencer and
#    numbered within a few seconds, with no later commit (before, they waited in
#    change_pending for the next commit of their project: for ever here); with
#    the on-demand sequencer off, COMMIT PREPARED still succeeds, and the event
#    waits, until the next hand-over.
# Without preloading, the library loaded in the session by
# session_preload_libraries:
# 4. The same for the feed: the on-demand sequencer numbers the events after
#    COMMIT PREPARED. (In a session that has not loaded the library nothing runs
#    at COMMIT PREPARED: 024_two_phase.pl part 5.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use CETest;

my $project = '26262626-0000-0000-0000-000000000026';
my $user = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';

# The extension, a file and two sessions in database $db.
sub setup {
    my ($node, $db) = @_;
    $node->safe_psql($db, 'CREATE EXTENSION concurrent_edit');
    my $file = $node->safe_psql($db, "SELECT concurrent_edit.create_file('$project', 'a.txt', E'a\\n', '$user')");
    my @s = map { $node->safe_psql($db, "SELECT concurrent_edit.open_session('$user', '$project')") } 1 .. 2;
    return ($file, @s);
}

# A waiter for the file's lock (30 s at most) in a background session; returns
# it once lock_waits shows it waiting.
sub start_waiter {
    my ($node, $file, $session) = @_;
    my $w = start_lock_waiter($node, $file, $session);
    ok($node->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM concurrent_edit.lock_waits WHERE session_id = '$session'"), 'a waiter waits');
    return $w;
}

# "COMMIT PREPARED '$gid'" (or ROLLBACK) in the session $ctl; returns the server's
# epoch just before it.
sub finish_prepared {
    my ($ctl, $how, $gid) = @_;
    my ($t0) = $ctl->query_safe('SELECT extract(epoch FROM clock_timestamp())::numeric(20,6)') =~ /([0-9.]+)/;
    $ctl->query_safe("$how PREPARED '$gid'");
    return $t0;
}

# The latencies (sorted): the median under 0.2 s, at most one over 0.3 s.
sub prompt {
    my ($what, @lat) = @_;
    @lat = sort { $a <=> $b } @lat;
    my $list = join(', ', map { sprintf('%.3f', $_) } @lat);
    cmp_ok($lat[int(@lat / 2)], '<', 0.2, "$what: the median wait after it is well under a second ($list s)");
    cmp_ok($lat[-2], '<', 0.3, "$what: at most one wait over 0.3 s ($list s)");
}

my $node = new_node('two_phase_locks', "shared_preload_libraries = 'concurrent_edit'\nmax_prepared_transactions = 4\n");
my ($file, $s1, $s2) = setup($node, 'postgres');
ok(worker_serving($node), 'worker is running');
my $ctl = $node->background_psql('postgres');
my $held = sub {
    $node->safe_psql('postgres', "SELECT string_agg(session_id::text, ',') FROM concurrent_edit.file_locks "
        . "WHERE file_id = '$file' AND expires_at > now()");
};

# 1. COMMIT PREPARED of a release: the COMMIT PREPARED comes 0.1, 0.3, 0.5, 0.7
#    and 0.9 s after the waiter is seen waiting, so that, without a wake-up,
#    what is left of its second of sleep differs from trial to trial.
my @releases = (
    "SELECT concurrent_edit.release_lock('$file', '$s1')",
    "SELECT concurrent_edit.force_release_lock('$file', 'two-phase test')",
    "SELECT concurrent_edit.release_session_locks('$s1')",
    "SELECT concurrent_edit.release_lock('$file', '$s1')",
    "SELECT concurrent_edit.force_release_lock('$file', 'two-phase test')",
);
my @lat;
for my $i (0 .. $#releases) {
    $node->safe_psql('postgres', "SELECT concurrent_edit.acquire_lock('$file', '$s1', ttl => '1 minute')");
    my $w = start_waiter($node, $file, $s2);
    $node->safe_psql('postgres', "BEGIN; $releases[$i]; PREPARE TRANSACTION 'release$i';");
    sleep(0.1 + 0.2 * $i);
    my $t0 = finish_prepared($ctl, 'COMMIT', "release$i");
    my ($type, $t1) = end_lock_waiter($w);
    is($type, 'exclusive', "trial $i: after COMMIT PREPARED of \"$releases[$i]\" the waiter gets the lock");
    push @lat, $t1 - $t0;
    is($held->(), $s2, "trial $i: the second session holds the file");
    $node->safe_psql('postgres', "SELECT concurrent_edit.release_lock('$file', '$s2')");
}
prompt('COMMIT PREPARED of a release', @lat);

# 2. ROLLBACK PREPARED of an acquisition.
@lat = ();
for my $i (0 .. 4) {
    $node->safe_psql('postgres',
        "BEGIN; SELECT concurrent_edit.acquire_lock('$file', '$s1', ttl => '1 minute'); PREPARE TRANSACTION 'take$i';");
    my $w = start_waiter($node, $file, $s2);
    sleep(0.1 + 0.2 * $i);
    my $t0 = finish_prepared($ctl, 'ROLLBACK', "take$i");
    my ($type, $t1) = end_lock_waiter($w);
    is($type, 'exclusive', "trial $i: after ROLLBACK PREPARED the waiter gets the lock");
    push @lat, $t1 - $t0;
    $node->safe_psql('postgres', "SELECT concurrent_edit.release_lock('$file', '$s2')");
}
prompt('ROLLBACK PREPARED of an acquisition', @lat);
$ctl->quit;

# The feed: a write (of version $base + 1) prepared in database $db and committed
# by COMMIT PREPARED in another session; its version event is numbered within a
# few seconds, with no later commit of the project, and with those of the $base - 1
# versions before it that were left pending.
sub prepared_write_numbered {
    my ($node, $db, $file, $base, $what) = @_;
    my $versions = "SELECT count(*) FROM concurrent_edit.changes_since('$project', 0) WHERE event = 'version'";
    $node->safe_psql($db, "BEGIN; SELECT concurrent_edit.write('$file', E'v$base\\n', $base, '$user'); "
        . "PREPARE TRANSACTION 'w$db';");
    my $t = time();
    my ($rc, $out, $err) = $node->psql($db, "COMMIT PREPARED 'w$db'");
    is("$rc:$err", '0:', "$what: COMMIT PREPARED succeeds with no warning");
    my $numbered_at;
    while (time() - $t < 10) {
        if ($node->safe_psql($db, $versions) eq $base) { $numbered_at = time(); last; }
        sleep(0.05);
    }
    ok(defined $numbered_at, "$what: the event of the write committed by COMMIT PREPARED is numbered");
    cmp_ok(($numbered_at // 1e10) - $t, '<', 3, "$what: within a few seconds ("
           . (defined $numbered_at ? sprintf('%.3f s', $numbered_at - $t) : 'not in 10 s') . '), with no later commit');
    is($node->safe_psql($db, 'SELECT count(*) FROM concurrent_edit.change_pending'), '0', "$what: nothing is left pending");
    is($node->safe_psql($db,
        "SELECT count(*) = max(cursor) AND max(cursor) = (SELECT last_cursor FROM concurrent_edit.change_feeds "
        . "WHERE project_id = '$project') FROM concurrent_edit.change_log WHERE project_id = '$project'"),
       't', "$what: the feed is gap-free");
}

# 3. A database the worker does not serve. With the on-demand sequencer turned
#    off, COMMIT PREPARED hands nothing over and still succeeds: the event waits.
$node->safe_psql('postgres', 'CREATE DATABASE other');
my ($other_file) = setup($node, 'other');
$node->safe_psql('postgres', 'ALTER DATABASE other SET concurrent_edit.on_demand_sequencer = off');
$node->safe_psql('other', "BEGIN; SELECT concurrent_edit.write('$other_file', E'v1\\n', 1, '$user'); "
    . "PREPARE TRANSACTION 'woff';");
my ($rc, $out, $err) = $node->psql('other', "COMMIT PREPARED 'woff'");
is("$rc:$err", '0:', 'on_demand_sequencer off: COMMIT PREPARED succeeds with no warning');
sleep(1.5);
is($node->safe_psql('other', 'SELECT count(*) FROM concurrent_edit.change_pending'), '1',
   'and its event waits in change_pending');
$node->safe_psql('postgres', 'ALTER DATABASE other RESET concurrent_edit.on_demand_sequencer');
prepared_write_numbered($node, 'other', $other_file, 2, 'preloaded, no worker for the database');
$node->stop;

# 4. Not preloaded; session_preload_libraries loads the library in every session.
my $plain = new_node('two_phase_locks_plain',
    "max_prepared_transactions = 4\nsession_preload_libraries = 'concurrent_edit'\n");
($file) = setup($plain, 'postgres');
prepared_write_numbered($plain, 'postgres', $file, 1, 'not preloaded, session_preload_libraries');
$plain->stop;

done_testing();
