# Helpers shared by the TAP tests of concurrent_edit.
package CETest;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Exporter 'import';

our @EXPORT = qw(new_node table_fingerprints ce_tables readme_block readme_expected_rows psql_rows
                 start_lock_waiter end_lock_waiter worker_serving accepting);

# The tables whose rows pg_dump must keep.
sub ce_tables {
    return qw(files file_versions edit_sessions file_locks pending_changes conflict_history);
}

# A started cluster; extra postgresql.conf lines may be given. The server logs to
# $node->logfile as usual (the logging collector appends to that same file, so
# slurp_file, log_contains and wait_for_log read it; lines reach it a moment after
# the statement, so tests poll with wait_for_log) and, with jsonlog, one JSON object
# a line to the same name with .json: scripts/check-error-details.pl reads those.
# A third argument, a hash reference, is passed to init (allows_streaming => 1...).
sub new_node {
    my ($name, $conf, $init) = @_;
    my $node = PostgreSQL::Test::Cluster->new($name);
    $node->init(%{ $init // {} });
    my ($dir, $file) = $node->logfile =~ m{^(.*)/([^/]+)$};
    $node->append_conf('postgresql.conf', join("\n",
        "logging_collector = on", "log_destination = 'stderr,jsonlog'", "log_directory = '$dir'",
        "log_filename = '$file'", "log_rotation_age = 0", "log_rotation_size = 0", ""));
    $node->append_conf('postgresql.conf', $conf) if defined $conf;
    $node->start;
    return $node;
}

# Polls until the preloaded worker serves database $db (default postgres, where
# the extension must exist): its first round is done, and commits hand it their
# events. Its process in pg_stat_activity is not enough: a commit before that
# round starts an on-demand sequencer instead. With $old_pid: a worker other than
# that one (started again).
sub worker_serving {
    my ($node, $db, $old_pid) = @_;
    my $other = defined $old_pid ? " AND pid <> $old_pid" : '';
    return $node->poll_query_until($db // 'postgres', "SELECT serving$other FROM concurrent_edit.worker_status");
}

# Polls (up to the default timeout) until $connstr (default: $node's database
# postgres) accepts connections, with pg_isready. Use it before psql where the
# server or a pooler may not accept yet (just started, in crash recovery):
# $node->psql and poll_query_until write their input to psql's stdin, and a psql
# that could not connect may have exited before that write, which then fails
# with EPIPE and ends the whole script (Tests: 0, exit status 32).
sub accepting {
    my ($node, $connstr) = @_;
    $connstr //= $node->connstr('postgres');
    my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
    while (time() < $deadline) {
        my ($out, $err) = ('', '');
        return 1 if IPC::Run::run([ $node->installed_command('pg_isready'), '-q', '-t', '5', '-d', $connstr ],
                                  '<', '/dev/null', '>', \$out, '2>', \$err);
        select(undef, undef, undef, 0.1);
    }
    return 0;
}

# A waiter for a file's lock (30 s at most) in a background session of the
# database postgres; returns the session. end_lock_waiter reads its result.
sub start_lock_waiter {
    my ($node, $file, $session) = @_;
    # (on_error_stop => 0: a refused wait leaves psql running, for end_lock_waiter.)
    my $w = $node->background_psql('postgres', on_error_stop => 0);
    $w->query_until(qr/started/, "\\echo started\nSELECT (concurrent_edit.acquire_lock('$file', '$session', "
        . "wait => '30 seconds')).lock_type, extract(epoch FROM clock_timestamp())::numeric(20,6) AS t1;\n");
    return $w;
}

# The end of a start_lock_waiter session: (lock type, epoch when acquire_lock
# returned), ('', 0) when it did not return a lock.
sub end_lock_waiter {
    my ($w) = @_;
    my $out = $w->query('SELECT 1');
    $w->quit;
    my ($type, $t1) = $out =~ /(exclusive|shared)\|([0-9.]+)/;
    return ($type // '', $t1 // 0);
}

# { table => "count|md5 of all rows" } for every table of the extension.
sub table_fingerprints {
    my ($node, $db, @tables) = @_;
    @tables = ce_tables() unless @tables;
    my %fp;
    for my $t (@tables) {
        $fp{$t} = $node->safe_psql($db,
            "SELECT count(*) || '|' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE \"C\")), '')
             FROM concurrent_edit.$t t");
    }
    return \%fp;
}

# The README's fenced block that follows the line "<!-- readme-test: NAME -->"
# (the fence lines excluded). Dies when there is none, so a renamed or removed
# block fails the test that runs it.
sub readme_block {
    my ($name, $readme) = @_;
    $readme //= ($ENV{CE_ROOT} // '.') . '/README.md';
    open(my $fh, '<', $readme) or die "cannot open $readme: $!";
    my $text = do { local $/; <$fh> };
    close $fh;
    $text =~ /^<!-- readme-test: \Q$name\E -->\n```[^\n]*\n(.*?)^```[ \t]*$/ms
        or die "README.md has no block marked <!-- readme-test: $name -->";
    return $1;
}

# The rows a README example says psql prints: its lines "--> row", in order.
sub readme_expected_rows {
    my ($sql) = @_;
    return [ map { /^-->\s?(.*?)\s*$/ ? ($1) : () } split /\n/, $sql ];
}

# psql's unaligned output (-At with field separator " | ") as the README writes it:
# a value's trailing newlines are dropped before the next column, the other
# newlines of a value start new lines, and empty lines are left out.
sub psql_rows {
    my ($out) = @_;
    $out =~ s/\n+( \| )/$1/g;
    return [ grep { $_ ne '' } map { s/\s+$//r } split /\n/, $out ];
}

1;
