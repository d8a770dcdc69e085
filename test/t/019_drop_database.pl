# DROP DATABASE leaves none of the extension's files behind in the data
# directory: the row conflict spool of the dropped database
# ($PGDATA/pg_concurrent_edit/conflicts/<oid>: records not yet recorded, each
# with the refused row, and bad/), its sequencer's pid file and the start markers
# of its sequencer and recorder are removed by the
# worker (every retention_interval). Before, they stayed for good: a dropped
# database's rows stayed on disk, up to 2 x conflict_spool_limit records of up to
# 1 MB. The files of databases that still exist are kept.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep);
use CETest;

# The worker takes the only worker slot: no conflict recorder can start, so the
# records stay in the spools.
my $node = new_node('drop_database', "shared_preload_libraries = 'concurrent_edit'\n"
    . "max_worker_processes = 1\nmax_logical_replication_workers = 0\n"
    . "concurrent_edit.retention_interval = 1s\n");
my $data = $node->data_dir;
$node->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');

# A database with a row conflict waiting in its spool.
sub conflict_in {
    my ($db) = @_;
    $node->safe_psql('postgres', "CREATE DATABASE $db");
    $node->safe_psql($db, q{
        CREATE EXTENSION concurrent_edit;
        CREATE TABLE docs (id int PRIMARY KEY, version bigint NOT NULL DEFAULT 1, body jsonb);
        INSERT INTO docs VALUES (1, 1, '{"secret": "row data"}');
        SELECT concurrent_edit.enable_occ('public.docs', mode => 'merge');
        UPDATE docs SET body = '{"secret": "second"}', version = 1 WHERE id = 1;
    });
    my ($rc, $out, $err) = $node->psql($db,
        q{UPDATE docs SET body = '{"secret": "third"}', version = 1 WHERE id = 1});
    like($err, qr/modified by another writer/, "$db: a stale update conflicts");
    my $oid = $node->safe_psql('postgres', "SELECT oid FROM pg_database WHERE datname = '$db'");
    my @records = glob("$data/pg_concurrent_edit/conflicts/$oid/*.json");
    is(scalar @records, 1, "$db: its record waits in the spool (no recorder could start)");
    return $oid;
}
my $gone = conflict_in('gone');
my $kept = conflict_in('kept');
# A sequencer's pid file left by a crash, start markers of a sequencer and a
# recorder that never started, and a set-aside record.
append_to_file("$data/pg_concurrent_edit/sequencer.$gone", "999999\n");
append_to_file("$data/pg_concurrent_edit/$_.$gone.start", "") for ('sequencer', 'recorder');
append_to_file("$data/pg_concurrent_edit/conflicts/$gone/bad/0.json", "{}");

my $log_at = -s $node->logfile;
$node->safe_psql('postgres', 'DROP DATABASE gone');
my $removed = 0;
for (1 .. 100) {
    if (!grep { -e "$data/pg_concurrent_edit/$_" }
        ("conflicts/$gone", "sequencer.$gone", "sequencer.$gone.start", "recorder.$gone.start")) {
        $removed = 1;
        last;
    }
    sleep(0.1);
}
ok($removed, 'the spool, the sequencer file and the start markers of the dropped database are removed');
ok($node->wait_for_log(qr/removed the row conflict spool "pg_concurrent_edit\/conflicts\/$gone" of dropped database $gone \(1 record\(s\) not recorded, 1 set aside\)/,
    $log_at), 'and the log says so, with what was never recorded');
is(scalar(my @k = glob("$data/pg_concurrent_edit/conflicts/$kept/*.json")), 1,
   'the spool of a database that exists is kept');
$node->safe_psql('postgres', 'DROP DATABASE kept');
ok($node->poll_query_until('postgres', "SELECT NOT EXISTS (SELECT FROM pg_ls_dir('pg_concurrent_edit/conflicts') d)"),
   'so is the next one dropped');

$node->stop;
done_testing();
