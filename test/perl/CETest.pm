# Helpers shared by the TAP tests of concurrent_edit.
package CETest;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Exporter 'import';

our @EXPORT = qw(new_node table_fingerprints ce_tables);

# The tables whose rows pg_dump must keep.
sub ce_tables {
    return qw(files file_versions edit_sessions file_locks pending_changes conflict_history);
}

# A started cluster; extra postgresql.conf lines may be given. The server logs to
# $node->logfile as usual (the logging collector appends to that same file, so
# slurp_file, log_contains and wait_for_log read it; lines reach it a moment after
# the statement, so tests poll with wait_for_log) and, with jsonlog, one JSON object
# a line to the same name with .json: scripts/check-error-details.pl reads those.
sub new_node {
    my ($name, $conf) = @_;
    my $node = PostgreSQL::Test::Cluster->new($name);
    $node->init;
    my ($dir, $file) = $node->logfile =~ m{^(.*)/([^/]+)$};
    $node->append_conf('postgresql.conf', join("\n",
        "logging_collector = on", "log_destination = 'stderr,jsonlog'", "log_directory = '$dir'",
        "log_filename = '$file'", "log_rotation_age = 0", "log_rotation_size = 0", ""));
    $node->append_conf('postgresql.conf', $conf) if defined $conf;
    $node->start;
    return $node;
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

1;
