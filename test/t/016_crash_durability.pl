# Durability under write load: a crash loses nothing that was acknowledged, and
# the change feed stays whole.
#
# How: for two configurations, (a) the library preloaded with its background
# worker (the worker sequences the events) and (b) not preloaded (the committing
# transaction sequences them, or the on-demand sequencer when the project's feed
# row is busy), 4 client processes write for a few seconds to 9
# files of 3 projects: each reads a file's head and writes it back with its own
# line's counter bumped (a stale base merges), some writes two files in one
# explicit transaction (BEGIN; write; write; COMMIT), and now and then a file is
# created. Each client appends every acknowledged result (psql exited 0, so the
# statement or the COMMIT returned: status, file_id, version, content_hash) to its
# own file, flushed at once. While they write the server is crashed twice: a
# backend running a write() is killed with SIGKILL (the postmaster resets every
# process and runs crash recovery), then the server is stopped in immediate mode
# and started again. The clients retry through both.
#
# Then, with the worker done with the pending events, the test checks that every
# acknowledged version is stored with its hash (and its text reads back to that
# hash), that each has exactly one 'version' event (each file one 'created'
# event) and no event names a version that does not exist, that each project's
# cursors are exactly 1..last_cursor, and that the next write gets the next
# cursor. A control run of the same checks on tampered data (an acknowledged
# version that is not stored, an event deleted from the middle of a feed) shows
# that they detect a loss.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use IO::Handle;
use IPC::Run;
use POSIX ();
use CETest;

my $clients = 4;
my $author  = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
my @projects = map { sprintf('16000000-0000-0000-0000-%012d', $_) } 1 .. 3;
my %project_of;    # file id => project id
my @files;
for my $p (0 .. $#projects) {
    for my $f (1 .. 3) {
        my $id = sprintf('f1600000-0000-0000-%04d-%012d', $p + 1, $f);
        push @files, $id;
        $project_of{$id} = $projects[$p];
    }
}

# One line per client, two untouched lines apart, so concurrent edits merge.
my $initial = join('', map { "client $_: 0\n--\n--\n" } (0 .. $clients - 1));

# The statement of one write by client $c: read the head, bump the client's
# counter and write from that base; prints one ACK line.
sub write_sql {
    my ($file, $c) = @_;
    return "SELECT 'ACK|version|' || w.status || '|' || w.file_id || '|' || w.version || '|' || w.content_hash "
      . "FROM concurrent_edit.read('$file') h, LATERAL concurrent_edit.write('$file', "
      . "regexp_replace(h.content, 'client $c: [0-9]+', 'client $c: ' || "
      . "(substring(h.content FROM 'client $c: ([0-9]+)')::int + 1)), h.version, '$author') w";
}

# A client process: loops until $stop exists, one psql per transaction, and
# appends "kind|status|file_id|version|content_hash|client|time" for every
# acknowledged result. Never returns.
sub client {
    my ($c, $connstr, $psql, $ackfile, $stop, $parent) = @_;
    srand($$ ^ time());
    open(STDOUT, '>', '/dev/null');
    open(STDERR, '>', '/dev/null');
    my $deadline = time() + 120;
    open(my $fh, '>>', $ackfile) or die "cannot open $ackfile: $!";
    $fh->autoflush(1);
    my ($tries, $failed, $n) = (0, 0, 0);
    # (It also stops when the test is gone, or after 2 minutes whatever happens.)
    while (!-e $stop && getppid() == $parent && time() < $deadline) {
        my $r = rand();
        my @sql;
        if ($r < 0.2) {
            my ($f1, $f2) = (int(rand(@files)), int(rand(@files - 1)));
            $f2++ if $f2 >= $f1;
            @sql = ('BEGIN', write_sql($files[$f1], $c), write_sql($files[$f2], $c), 'COMMIT');
        } elsif ($r < 0.24) {
            $n++;
            my $p = $projects[int(rand(@projects))];
            @sql = ("SELECT 'ACK|created|created|' || f || '|1|' || concurrent_edit.content_hash(\$t\$$initial\$t\$) "
                . "FROM concurrent_edit.create_file('$p', 'new-$c-$n.txt', \$t\$$initial\$t\$, '$author') f");
        } else {
            @sql = (write_sql($files[int(rand(@files))], $c));
        }
        my ($out, $err) = ('', '');
        $tries++;
        my $ok = eval {
            IPC::Run::run([ $psql, '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $connstr,
                            map { ('-c', $_) } @sql ],
                          '<', \undef, '>', \$out, '2>', \$err, IPC::Run::timeout(60));
        };
        if ($ok) {
            my $t = time();
            print $fh "$_|$c|$t\n" for $out =~ /^ACK\|(.*)$/mg;
        } else {
            $failed++;
            sleep(0.05);
        }
    }
    print $fh "STATS|$tries|$failed\n";
    close $fh;
    POSIX::_exit(0);
}

# How many results the clients acknowledged between $t0 and $t1.
sub acks_between {
    my ($dir, $t0, $t1) = @_;
    my $n = 0;
    for my $c (0 .. $clients - 1) {
        open(my $fh, '<', "$dir/acks.$c") or die "acks.$c: $!";
        while (<$fh>) {
            my @a = split /\|/;
            $n++ if @a == 7 && $a[6] > $t0 && $a[6] <= $t1;
        }
        close $fh;
    }
    return $n;
}

# The checks, as "name => query giving the count of violations".
my %check = (
    'acknowledged versions missing' => q{
        SELECT count(*) FROM crash.acks a WHERE NOT EXISTS (
          SELECT 1 FROM concurrent_edit.file_versions v WHERE v.file_id = a.file_id AND v.version = a.version)},
    'acknowledged versions stored with another hash' => q{
        SELECT count(*) FROM crash.acks a JOIN concurrent_edit.file_versions v USING (file_id, version)
        WHERE v.content_hash <> a.content_hash},
    'acknowledged versions whose text reads back to another hash' => q{
        SELECT count(*) FROM crash.acks a
        WHERE CASE WHEN EXISTS (SELECT 1 FROM concurrent_edit.file_versions v
                                WHERE v.file_id = a.file_id AND v.version = a.version)
                   THEN concurrent_edit.content_hash((SELECT content FROM concurrent_edit.read(a.file_id, a.version)))
                        IS DISTINCT FROM a.content_hash END},
    'files whose head is below their highest acknowledged version' => q{
        SELECT count(*) FROM (SELECT file_id, max(version) AS v FROM crash.acks GROUP BY 1) a
        LEFT JOIN concurrent_edit.files f ON f.id = a.file_id WHERE f.head_version IS NULL OR f.head_version < a.v},
    'versions acknowledged twice' => q{
        SELECT count(*) FROM (SELECT 1 FROM crash.acks GROUP BY file_id, version HAVING count(*) > 1) d},
    'acknowledged versions without exactly one event' => q{
        SELECT count(*) FROM crash.acks a
        WHERE (SELECT count(*) FROM concurrent_edit.change_log l
               WHERE l.project_id = a.project_id AND l.file_id = a.file_id AND l.version = a.version
                 AND l.event = CASE a.kind WHEN 'created' THEN 'created' ELSE 'version' END
                 AND l.content_hash = a.content_hash) <> 1},
    'stored versions (acknowledged or not) without exactly one event' => q{
        SELECT count(*) FROM concurrent_edit.file_versions v
        WHERE (SELECT count(*) FROM concurrent_edit.change_log l
               WHERE l.project_id = v.project_id AND l.file_id = v.file_id AND l.version = v.version
                 AND l.event = CASE v.version WHEN 1 THEN 'created' ELSE 'version' END) <> 1},
    'events naming no stored version' => q{
        SELECT count(*) FROM concurrent_edit.change_log l
        WHERE l.event IN ('created', 'version') AND NOT EXISTS (
          SELECT 1 FROM concurrent_edit.file_versions v
          WHERE v.project_id = l.project_id AND v.file_id = l.file_id AND v.version = l.version
            AND v.content_hash = l.content_hash)},
    'events present twice for one (file_id, version, event)' => q{
        SELECT count(*) FROM (SELECT 1 FROM concurrent_edit.change_log WHERE file_id IS NOT NULL
                              GROUP BY project_id, file_id, version, event HAVING count(*) > 1) d},
    'projects whose cursors are not exactly 1..last_cursor' => q{
        SELECT count(*) FROM concurrent_edit.change_feeds f
        LEFT JOIN (SELECT project_id, count(*) n, count(DISTINCT cursor) d, min(cursor) lo, max(cursor) hi
                   FROM concurrent_edit.change_log GROUP BY 1) l USING (project_id)
        WHERE f.pruned_through <> 0 OR l.n IS DISTINCT FROM f.last_cursor OR l.d IS DISTINCT FROM f.last_cursor
           OR l.lo IS DISTINCT FROM 1 OR l.hi IS DISTINCT FROM f.last_cursor},
);
my @check_names = sort keys %check;

# The violation counts of every check, run after $prefix in one transaction that
# is rolled back.
sub run_checks {
    my ($node, $prefix) = @_;
    my $sql = "BEGIN;\n$prefix\n" . join('', map { "$check{$_};\n" } @check_names) . "ROLLBACK;\n";
    my @counts = split /\n/, $node->safe_psql('postgres', $sql);
    is(scalar(@counts), scalar(@check_names), 'every check gave a count') or diag(join("\n", @counts));
    return { map { ($check_names[$_] => $counts[$_]) } 0 .. $#check_names };
}

sub crash_round {
    my ($label, $node, $worker) = @_;
    my $dir = $node->basedir;
    my $stop = "$dir/stop-clients";
    unlink $stop;
    unlink "$dir/acks.$_" for 0 .. $clients - 1;

    $node->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
    ok(worker_serving($node), "$label: the worker runs") if $worker;
    for my $f (@files) {
        $node->safe_psql('postgres', "SELECT concurrent_edit.create_file('$project_of{$f}', 'f-' || right('$f', 2) || '.txt', "
            . "\$t\$$initial\$t\$, '$author', file_id => '$f')");
    }

    my $connstr = $node->connstr('postgres') . ' application_name=ce_crash_client connect_timeout=10';
    my $psql = $node->installed_command('psql');
    my @pids;
    my $parent = $$;
    for my $c (0 .. $clients - 1) {
        my $pid = fork();
        die "fork: $!" unless defined $pid;
        client($c, $connstr, $psql, "$dir/acks.$c", $stop, $parent) if $pid == 0;
        push @pids, $pid;
    }
    my $t_start = time();
    sleep(2.5);

    # Round 1: SIGKILL of a backend that is running a write().
    my $log_off = -s $node->logfile;
    my $victim;
    # A write takes a millisecond or two: the backend seen running one may have
    # finished and exited (its client disconnects after each transaction) before the
    # signal arrives, and a process that already exited normally is no crash. So
    # try again until the postmaster reports the signal.
    ATTEMPT: for (1 .. 100) {
        accepting($node);    # (a kill whose report came late may have reset the server)
        my $pid = $node->safe_psql('postgres', q{
            SELECT pid FROM pg_stat_activity WHERE application_name = 'ce_crash_client' AND state = 'active'
               AND query LIKE '%concurrent_edit.write(%' ORDER BY random() LIMIT 1});
        if ($pid ne '' && kill('KILL', $pid)) {
            for (1 .. 50) {
                if (slurp_file($node->logfile, $log_off) =~ /server process \(PID $pid\) was terminated by signal 9/) {
                    $victim = $pid;
                    last ATTEMPT;
                }
                sleep(0.1);
            }
        }
        sleep(0.02);
    }
    my $t_kill = time();
    ok(defined $victim, "$label: a backend running write() was killed with SIGKILL");
    $victim //= 0;
    ok($node->wait_for_log(qr/server process \(PID $victim\) was terminated by signal 9/, $log_off),
        "$label: the postmaster saw the backend die");
    ok($node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_off),
        "$label: the postmaster reset the cluster");
    ok(accepting($node), "$label: the server accepts connections after crash recovery");
    my $t_back1 = time();
    ok($node->wait_for_log(qr/database system was not properly shut down; automatic recovery in progress/, $log_off),
        "$label: crash recovery ran after the SIGKILL");
    ok(worker_serving($node), "$label: the worker is back after the SIGKILL") if $worker;
    sleep(2);

    # Round 2: immediate stop under load, then start.
    $log_off = -s $node->logfile;
    my $t_stop = time();
    $node->stop('immediate');
    $node->start;
    my $t_back2 = time();
    ok($node->wait_for_log(qr/database system was not properly shut down; automatic recovery in progress/, $log_off),
        "$label: crash recovery ran after the immediate stop");
    ok(worker_serving($node), "$label: the worker is back after the immediate stop") if $worker;
    sleep(1.5);

    open(my $sf, '>', $stop) or die "$stop: $!";
    close $sf;
    waitpid($_, 0) for @pids;
    my $t_end = time();

    my ($tries, $failed) = (0, 0);
    for my $c (0 .. $clients - 1) {
        my ($st) = grep { /^STATS\|/ } do { open(my $fh, '<', "$dir/acks.$c") or die; <$fh> };
        my (undef, $t, $f) = split /\|/, $st // 'STATS|0|0';
        $tries += $t;
        $failed += $f;
    }
    my @windows = ([ 'before the SIGKILL', $t_start, $t_kill ], [ 'between recovery and the immediate stop', $t_back1, $t_stop ],
                   [ 'after the restart', $t_back2, $t_end ]);
    for my $w (@windows) {
        cmp_ok(acks_between($dir, $w->[1], $w->[2]), '>', 0, "$label: writes were acknowledged $w->[0]");
    }
    cmp_ok($failed, '>', 0, "$label: the crashes cut client transactions ($failed of $tries failed, with wait-die refusals)");

    # Events are sequenced: by the worker, or at commit and by the on-demand
    # sequencer (commits that found the feed row busy): wait for it.
    ok($node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM concurrent_edit.change_pending'),
        $worker ? "$label: the worker sequenced every pending event" : "$label: no event is left pending");
    is($node->safe_psql('postgres', 'SELECT count(*) FROM concurrent_edit.change_pending_rejected'), '0',
        "$label: no event was set aside");

    # The acknowledgements, into a table.
    $node->safe_psql('postgres', q{
        CREATE SCHEMA crash;
        CREATE TABLE crash.raw (kind text, status text, file_id uuid, version int, content_hash text, client int, t float8);});
    open(my $all, '>', "$dir/acks.all") or die "acks.all: $!";
    for my $c (0 .. $clients - 1) {
        open(my $fh, '<', "$dir/acks.$c") or die "acks.$c: $!";
        print $all grep { !/^STATS\|/ } <$fh>;
        close $fh;
    }
    close $all;
    $node->safe_psql('postgres', "COPY crash.raw FROM '$dir/acks.all' WITH (DELIMITER '|')");
    $node->safe_psql('postgres', q{
        CREATE TABLE crash.acks AS
          SELECT r.*, coalesce(f.project_id, '00000000-0000-0000-0000-000000000000') AS project_id
          FROM crash.raw r LEFT JOIN concurrent_edit.files f ON f.id = r.file_id
          WHERE r.status IN ('written', 'merged', 'created');});
    my ($n_acks, $n_created, $n_merged, $n_tx, $n_other) = split /\|/, $node->safe_psql('postgres', q{
        SELECT count(*), count(*) FILTER (WHERE kind = 'created'), count(*) FILTER (WHERE status = 'merged'),
               (SELECT count(*) FROM crash.acks a JOIN crash.acks b ON a.client = b.client AND a.t = b.t AND a.file_id < b.file_id),
               (SELECT count(*) FROM crash.raw WHERE status NOT IN ('written', 'merged', 'created'))
        FROM crash.acks});
    cmp_ok($n_acks, '>=', 50, "$label: $n_acks acknowledged results to check");
    cmp_ok($n_tx, '>', 0, "$label: $n_tx of them pairs committed in one explicit transaction");
    note("$label: $n_acks acknowledged ($n_created created files, $n_merged merged from a stale base, "
        . "$n_tx two-write transactions); $n_other writes with another status (not checked)");

    my $r = run_checks($node, '');
    is($r->{$_}, '0', "$label: $_: none") for @check_names;
    for my $p (@projects) {
        my ($last, $stats) = split /;/, $node->safe_psql('postgres', qq{
            SELECT last_cursor || ';' || (SELECT count(*) || '|' || min(cursor) || '|' || max(cursor) || '|' || count(DISTINCT cursor)
                                          FROM concurrent_edit.change_log WHERE project_id = '$p')
            FROM concurrent_edit.change_feeds WHERE project_id = '$p'});
        is($stats, "$last|1|$last|$last", "$label: project $p: change_log holds cursors 1..$last once each");
        is($node->safe_psql('postgres', qq{
            SELECT count(*) || '|' || bool_and(c.cursor = c.o)
            FROM concurrent_edit.changes_since('$p', 0) WITH ORDINALITY
                 AS c(cursor, event, file_id, path, version, content_hash, session_id, author, details, created_at, o)}),
            "$last|true", "$label: project $p: changes_since(0) returns cursors 1..$last in order");
    }

    # Control: the same checks see an acknowledged version that is not stored, and
    # the loss of an acknowledged version's event from the middle of a feed.
    my $gap_p = $projects[1];
    my $bad = run_checks($node, qq{
        INSERT INTO crash.acks (kind, status, file_id, version, content_hash, project_id)
          SELECT 'version', 'written', id, head_version + 1, head_hash, project_id FROM concurrent_edit.files
          WHERE id = '$files[0]';
        DELETE FROM concurrent_edit.change_log WHERE (project_id, cursor) = (
          SELECT l.project_id, l.cursor FROM concurrent_edit.change_log l
          JOIN crash.acks a ON a.file_id = l.file_id AND a.version = l.version AND l.event = 'version'
          WHERE l.project_id = '$gap_p' ORDER BY l.cursor
          OFFSET (SELECT count(*) / 2 FROM crash.acks WHERE project_id = '$gap_p' AND kind = 'version') LIMIT 1);});
    my %more = map { ($_ => $bad->{$_} - $r->{$_}) } @check_names;
    is($more{'acknowledged versions missing'}, 1, "$label: control: a missing acknowledged version is detected");
    is($more{'acknowledged versions without exactly one event'}, 2,
        "$label: control: the events missing for it and for the deleted event are detected");
    is($more{'stored versions (acknowledged or not) without exactly one event'}, 1,
        "$label: control: the stored version whose event was deleted is detected");
    is($more{'projects whose cursors are not exactly 1..last_cursor'}, 1, "$label: control: the cursor gap is detected");

    # Writes go on after the crashes, with the next cursor.
    my $f = $files[0];
    my $last = $node->safe_psql('postgres', "SELECT last_cursor FROM concurrent_edit.change_feeds WHERE project_id = '$project_of{$f}'");
    my $v = $node->safe_psql('postgres', "SELECT (w).status || '|' || (w).version FROM (SELECT concurrent_edit.write('$f', "
        . "content || E'after\\n', version, '$author') w FROM concurrent_edit.read('$f')) s");
    like($v, qr/^written\|\d+$/, "$label: a write after the crashes succeeds");
    my ($ver) = $v =~ /\|(\d+)$/;
    $ver //= 0;
    ok($node->poll_query_until('postgres', "SELECT cursor FROM concurrent_edit.change_log WHERE project_id = '$project_of{$f}' "
        . "AND file_id = '$f' AND version = $ver AND event = 'version'", $last + 1),
        "$label: its event got the next cursor (" . ($last + 1) . ")");
    $node->stop;
}

crash_round('worker', new_node('crash_worker', "shared_preload_libraries = 'concurrent_edit'\n"
    . "concurrent_edit.database = 'postgres'\nconcurrent_edit.worker_interval = 250ms\n"
    . "restart_after_crash = on\nmax_connections = 40\nlog_statement = none\n"), 1);
crash_round('no worker', new_node('crash_noworker', "restart_after_crash = on\nmax_connections = 40\nlog_statement = none\n"), 0);

done_testing();
