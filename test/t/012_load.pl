# Load test: 8 clients for 30 seconds each repeatedly read the head of one file,
# change their own line, and write() from that (often stale) base. Every
# acknowledged edit must be in the final text, and no write may end in conflict.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CETest;

my $clients = 8;
my $seconds = $ENV{CE_LOAD_SECONDS} // 30;
my $node = new_node('load', "max_connections = 50\n");
$node->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');

# One line per client, separated by two untouched lines so edits never touch.
my $initial = join('', map { "client $_: 0\n--\n--\n" } (0 .. $clients - 1));
$node->safe_psql('postgres', qq{
  SELECT concurrent_edit.create_file('99999999-9999-9999-9999-999999999999', 'load.txt',
         \$t\$$initial\$t\$, 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa',
         file_id => 'f9999999-0000-0000-0000-000000000001');
  CREATE TABLE acks (client int, n int, status text, base int, version int);
  -- One edit: read the head, bump this client's counter in its own line, wait a
  -- little (so other clients commit in between) and write from the read base.
  CREATE FUNCTION edit(client int) RETURNS text LANGUAGE plpgsql AS \$\$
  DECLARE
    h record;
    n int;
    r concurrent_edit.write_result;
  BEGIN
    SELECT * INTO h FROM concurrent_edit.read('f9999999-0000-0000-0000-000000000001');
    n := substring(h.content from 'client ' || client || ': ([0-9]+)')::int + 1;
    PERFORM pg_sleep(random() * 0.005);
    r := concurrent_edit.write('f9999999-0000-0000-0000-000000000001',
           regexp_replace(h.content, 'client ' || client || ': [0-9]+', 'client ' || client || ': ' || n),
           h.version, ('00000000-0000-0000-0000-00000000000' || client)::uuid);
    INSERT INTO acks VALUES (client, n, r.status, h.version, r.version);
    RETURN r.status;
  END \$\$;
});

$node->pgbench("--no-vacuum --client=$clients --jobs=2 --time=$seconds", 0,
    [qr/number of failed transactions: 0/], [qr/^$/], 'pgbench: 8 clients edit for ' . $seconds . ' s',
    { 'edit' => 'SELECT edit(:client_id);' });

my ($acks, $stale, $conflicts) = split /\|/, $node->safe_psql('postgres',
    "SELECT count(*), count(*) FILTER (WHERE status = 'merged'), count(*) FILTER (WHERE status = 'conflict') FROM acks");
cmp_ok($acks, '>', 100, "$acks acknowledged writes");
cmp_ok($stale, '>', 0, "$stale of them were written from a stale base and merged");
is($conflicts, '0', 'no write ended in conflict');

my $final = $node->safe_psql('postgres', "SELECT content FROM concurrent_edit.read('f9999999-0000-0000-0000-000000000001')");
for my $c (0 .. $clients - 1) {
    my $last = $node->safe_psql('postgres', "SELECT coalesce(max(n), 0) FROM acks WHERE client = $c");
    like($final, qr/^client $c: $last$/m, "client $c: its last acknowledged edit ($last) is in the final text");
}
is($node->safe_psql('postgres', "SELECT count(*) FROM acks a WHERE a.n <> (SELECT count(*) FROM acks b WHERE b.client = a.client AND b.n <= a.n)"),
    '0', 'every client\'s acknowledged edits are consecutive (none lost in between)');
is($node->safe_psql('postgres',
    "SELECT head_version = (SELECT count(*) + 1 FROM acks WHERE status IN ('written', 'merged')) FROM concurrent_edit.files WHERE id = 'f9999999-0000-0000-0000-000000000001'"),
    't', 'one version per acknowledged write');

$node->stop;
done_testing();
