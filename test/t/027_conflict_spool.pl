# The conflict spool under attack and under failure (docs/security.md,
# docs/reference/occ.md): records the worker's recorder imports into
# conflict_history. Roles: one without any grant (mallory) and a table owner
# (owner). Split from 020_security.pl, whose part numbers these keep.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CETest;
use Time::HiRes qw(sleep);

my $node = new_node('spool', "shared_preload_libraries = 'concurrent_edit'\n");
my $db = 'postgres';

$node->safe_psql($db, q{
  CREATE EXTENSION concurrent_edit;
  CREATE ROLE mallory LOGIN; CREATE ROLE owner LOGIN;
  GRANT CREATE ON SCHEMA public TO PUBLIC;
});

# Runs SQL as a role (its own login); returns (stdout, stderr).
sub as_role {
    my ($role, $sql) = @_;
    my ($rc, $out, $err) = $node->psql($db, $sql, extra_params => ['-U', $role, '-v', 'VERBOSITY=verbose']);
    return ($out, $err // '');
}

# A table of the owner's under enable_occ (merge) and a stale UPDATE of its row
# that conflicts; returns that UPDATE's stderr.
sub owner_conflict {
    my ($table) = @_;
    as_role('owner', qq{
      CREATE TABLE public.$table (id int PRIMARY KEY, version int NOT NULL, body text);
      INSERT INTO public.$table VALUES (1, 1, 'a');
      SELECT concurrent_edit.enable_occ('public.$table', mode => 'merge');
      UPDATE public.$table SET body = 'b', version = 1;});
    my (undef, $err) = as_role('owner', qq{UPDATE public.$table SET body = 'c', version = 1});
    return $err;
}

# A first conflict makes the database's spool directory and is recorded.
like(owner_conflict('first'), qr/VC001/, 'a stale update conflicts');
ok($node->poll_query_until($db, q{SELECT EXISTS (SELECT FROM concurrent_edit.conflict_history
    WHERE row_relation = 'public.first')}), 'and its record is imported from the spool');

# A conflict still in the spool when its table is renamed or dropped: imported
# under the table's name at import time, or not at all (the record carries the
# table's oid). Two records are put into the spool as the trigger writes them.
my $dboid = $node->safe_psql($db, "SELECT oid FROM pg_database WHERE datname = '$db'");
my $spool = $node->data_dir . "/pg_concurrent_edit/conflicts/$dboid";
$node->safe_psql($db, q{CREATE TABLE public.renamed_later (id int PRIMARY KEY)});
my $relid = $node->safe_psql($db, q{SELECT 'public.renamed_later'::regclass::oid});
$node->safe_psql($db, q{ALTER TABLE public.renamed_later RENAME TO renamed_now});
my $nil = '00000000-0000-0000-0000-000000000000';
my %records = ('5a000000-0000-0000-0000-000000000001' => [$relid, 'public.renamed_later'],
               '5a000000-0000-0000-0000-000000000002' => [4000000000, 'public.dropped_meanwhile']);
for my $id (sort keys %records) {
    my ($oid, $name) = @{ $records{$id} };
    open(my $fh, '>', "$spool/0-$id.json") or die "spool: $!";
    print $fh qq({"id": "$id", "project_id": "$nil", "role": 10, "relid": $oid, "relation": "$name", "row_key": {"id": 1}, )
        . qq("base_version": 1, "ours_version": 2, "details": {"conflicts": [], "theirs": {"card": "secret"}}});
    close $fh;
}
ok($node->poll_query_until($db, "SELECT NOT EXISTS (SELECT FROM pg_ls_dir('pg_concurrent_edit/conflicts/$dboid') f
    WHERE f LIKE '0-5a%')"), 'the worker imports the spooled records');
is($node->safe_psql($db, q{SELECT string_agg(row_relation, ',' ORDER BY id) FROM concurrent_edit.conflict_history
    WHERE id::text LIKE '5a000000-%'}), 'public.renamed_now',
    'under the name its table has now; none for a table dropped meanwhile');
# A record names the installation that spooled it (pg_extension's oid): one of an
# installation dropped since (DROP EXTENSION took its conflicts, CREATE EXTENSION
# made a new one) is skipped. Before, the new installation imported it.
my $other_install = '5a000000-0000-0000-0000-000000000003';
open(my $ofh, '>', "$spool/0-$other_install.json") or die "spool: $!";
print $ofh qq({"id": "$other_install", "extension": 1, "project_id": "$nil", "role": 10, "relid": $relid, )
    . qq("relation": "public.renamed_later", "row_key": {"id": 1}, "base_version": 1, "ours_version": 2, )
    . qq("details": {"conflicts": []}});
close $ofh;
ok($node->poll_query_until($db, "SELECT NOT EXISTS (SELECT FROM pg_ls_dir('pg_concurrent_edit/conflicts/$dboid') f
    WHERE f LIKE '0-5a%')"), 'the record of another installation leaves the spool');
is($node->safe_psql($db, "SELECT count(*) FROM concurrent_edit.conflict_history WHERE id = '$other_install'"), '0',
   'without being recorded');
ok(!-e "$spool/bad/0-$other_install.json", 'nor set aside');

# 2c. The spool stays bounded for a role without any right (mallory), with
# concurrent_edit.conflict_spool_limit = 5. Before, a record that failed to
# import was moved to bad/ without a bound: a bigint version column below
# integer's range (the import clamped versions from above only) made every
# merge conflict of mallory's table fail with 22003 and stay in bad/, filling
# the data directory.
$node->safe_psql($db, q{ALTER SYSTEM SET concurrent_edit.conflict_spool_limit = 5; SELECT pg_reload_conf()});
ok($node->poll_query_until($db, q{SELECT count(*) = 0 FROM pg_stat_activity
    WHERE backend_type = 'concurrent_edit conflict recorder'}), 'no recorder of the old setting is left');
my $bad = "$spool/bad";
my $spool_json = sub {  # the records of a directory of the spool
    my ($dir) = @_;
    opendir(my $dh, $dir) or die "$dir: $!";
    my @names = sort grep { /\.json$/ } readdir $dh;
    closedir $dh;
    return @names;
};
my @bad_before = $spool_json->($bad);
as_role('mallory', q{
  CREATE TABLE public.neg (id int PRIMARY KEY, version bigint NOT NULL, body text);
  INSERT INTO public.neg VALUES (1, -9000000000000000000, 'a');
  SELECT concurrent_edit.enable_occ('public.neg', mode => 'merge');
  UPDATE public.neg SET body = 'b', version = -9000000000000000000;});
my $neg_conflicts = 8;
for my $i (1 .. $neg_conflicts) {
    my ($o, $e) = as_role('mallory', qq{UPDATE public.neg SET body = 'c$i', version = -9000000000000000000});
    like($e, qr/VC001/, "mallory's stale update $i conflicts");
    # Imported (or set aside) before the next: none is dropped for a full spool.
    ok($node->poll_query_until($db, "SELECT count(*) = 0 FROM pg_ls_dir('pg_concurrent_edit/conflicts/$dboid') f
        WHERE f LIKE '%.json'"), "conflict $i leaves the spool");
}
is($node->safe_psql($db, q{SELECT count(*) || ' ' || min(base_version) || ' ' || max(ours_version)
    FROM concurrent_edit.conflict_history WHERE row_relation = 'public.neg'}), "$neg_conflicts -2147483648 -2147483648",
    'conflicts of versions below integer\'s range are recorded, their versions clamped to integer\'s range');
is_deeply([$spool_json->($bad)], \@bad_before, 'and none of them is set aside');
# Records that cannot be recorded (an id that is not a uuid: 22P02), put into
# the spool as the trigger writes them: bad/ keeps the newest 5.
my $log_at = -s $node->logfile;
my @crafted = map { sprintf('0-bad-%02d.json', $_) } 1 .. 12;
for my $name (@crafted) {
    open(my $fh, '>', "$spool/.$name.tmp") or die "spool: $!";
    print $fh qq({"id": "not-a-uuid", "project_id": "$nil", "role": 10, "relid": $relid, "relation": "public.renamed_now", )
        . qq("row_key": {"id": 1}, "base_version": 1, "ours_version": 2, "details": {"conflicts": []}});
    close $fh;
    rename("$spool/.$name.tmp", "$spool/$name") or die "spool: $!";
}
ok($node->poll_query_until($db, "SELECT count(*) = 0 FROM pg_ls_dir('pg_concurrent_edit/conflicts/$dboid') f
    WHERE f LIKE '0-bad-%'"), 'the worker takes the records that cannot be recorded out of the spool');
my @kept = (sort(@bad_before, @crafted))[-5 .. -1];
is_deeply([$spool_json->($bad)], \@kept, 'bad/ keeps at most conflict_spool_limit (5) of them, the newest');
my $removed = 0;
for (1 .. 100) {
    $removed = 0;
    $removed += $1 for slurp_file($node->logfile, $log_at) =~ /(\d+) row conflict record\(s\) set aside in \S+ removed/g;
    last if $removed >= @bad_before + @crafted - 5;
    sleep 0.1;
}
is($removed, @bad_before + @crafted - 5, 'and the log says how many set-aside records were removed');
$node->safe_psql($db, q{ALTER SYSTEM RESET concurrent_edit.conflict_spool_limit; SELECT pg_reload_conf()});

# 2d. What a crash or a passing error leaves in the spool. A temporary file left
# between a record's write and its rename (a crash) was neither counted nor ever
# removed: one older than 10 minutes is removed when the spool is read, a younger
# one (a record being written) is left. A record that could not be read (here:
# no read permission) was set aside for good at the first failed read: it is
# read again (for a minute, then set aside); a file too large for a record is set
# aside at once.
$log_at = -s $node->logfile;
my $long_ago = time - 3600;
for my $tmp ('.0-crashed.json.tmp', '.0-writing.json.tmp') {
    open(my $fh, '>', "$spool/$tmp") or die "spool: $!";
    print $fh '{"id": "5b000000-0000-0000-0000-0000000000';  # cut short by the crash
    close $fh;
}
utime($long_ago, $long_ago, "$spool/.0-crashed.json.tmp") or die "utime: $!";
my $unreadable_id = '5b000000-0000-0000-0000-000000000001';
my $unreadable = "0-a-unreadable-$unreadable_id.json";
open(my $ufh, '>', "$spool/.$unreadable.tmp") or die "spool: $!";
print $ufh qq({"id": "$unreadable_id", "project_id": "$nil", "role": 10, "relid": $relid, "relation": "public.renamed_now", )
    . qq("row_key": {"id": 1}, "base_version": 1, "ours_version": 2, "details": {"conflicts": []}});
close $ufh;
chmod(0000, "$spool/.$unreadable.tmp") or die "chmod: $!";
rename("$spool/.$unreadable.tmp", "$spool/$unreadable") or die "spool: $!";
open(my $hfh, '>', "$spool/.0-huge.json.tmp") or die "spool: $!";
print $hfh '{"details": "' . ('x' x (2 * 1024 * 1024 + 16)) . '"}';
close $hfh;
rename("$spool/.0-huge.json.tmp", "$spool/0-huge.json") or die "spool: $!";
# The same pass reads the unreadable record (its name sorts first) and the huge one.
# (A pass that began before the old file's time was set removes it at the next.)
ok($node->poll_query_until($db, "SELECT NOT EXISTS (SELECT FROM pg_ls_dir('pg_concurrent_edit/conflicts/$dboid') f
    WHERE f IN ('0-huge.json', '.0-crashed.json.tmp'))"), 'the spool is read');
ok(-e "$bad/0-huge.json", 'a file too large for a record is set aside at once');
ok(!-e "$spool/.0-crashed.json.tmp", 'a temporary file older than 10 minutes (a crash) is removed');
ok(-e "$spool/.0-writing.json.tmp", 'a younger one (a record being written) is left');
# The logging collector writes the line to the file a little after the server logged it.
ok(eval { $node->wait_for_log(qr/1 temporary row conflict file\(s\) left in \S+ by an interrupted write removed/, $log_at) },
    'and the log says so');
ok(-e "$spool/$unreadable" && !-e "$bad/$unreadable", 'a record that cannot be read now stays in the spool');
if (-e "$spool/$unreadable") {
    chmod(0600, "$spool/$unreadable") or die "chmod: $!";
    ok($node->poll_query_until($db, "SELECT EXISTS (SELECT FROM concurrent_edit.conflict_history
        WHERE id = '$unreadable_id')"), 'read again once it can be, it is recorded');
} else {
    fail('read again once it can be, it is recorded');
}
unlink("$spool/.0-writing.json.tmp", "$bad/0-huge.json", "$bad/$unreadable");

# 2e. A record whose import keeps failing (not for its own data: here a trigger
# on conflict_history raises P0001) stays in the spool and is tried again after
# a wait that doubles (1 s, 2 s, 4 s ... up to 5 minutes). Before, the recorder
# tried it every 100 ms for as long as it failed, logging its error and a WARNING
# each time (some 20 lines a second).
$node->safe_psql($db, q{
  CREATE FUNCTION public.refuse_conflicts() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN RAISE EXCEPTION 'conflict_history is closed for maintenance'; END $$;
  CREATE TRIGGER refuse_conflicts BEFORE INSERT ON concurrent_edit.conflict_history
      FOR EACH ROW EXECUTE FUNCTION public.refuse_conflicts();
});
$log_at = -s $node->logfile;
my $conflict_at = Time::HiRes::time();
like(owner_conflict('retried'), qr/VC001/, 'a stale update conflicts; its record goes to the spool');
# The second try, however long the recorder took to start on this machine, then
# 3 s more: tried every 100 ms, the record would be tried some 30 times in that
# window alone; with a wait that doubles, about log2 of the time since it came.
$node->wait_for_log(qr/tried again in 2 s/, $log_at);
sleep 3;
my $retried_for = Time::HiRes::time() - $conflict_at;
my $retried_log = slurp_file($node->logfile, $log_at);
my $tries = () = $retried_log =~ /row conflict record "[^"]+" could not be recorded now/g;
my $most = 4 + int(2 * log($retried_for + 1) / log(2));  # the worker may try it too between the recorder's rounds, with its own waits
ok($tries >= 2 && $tries <= $most,
   sprintf('a failing record is tried a few times in %.1f s, not every 100 ms (%d tries, at most %d)', $retried_for, $tries, $most));
like($retried_log, qr/tried again in 1 s.*tried again in 2 s/s, 'the wait doubles from one try to the next');
is($node->safe_psql($db, qq{SELECT count(*) FROM pg_ls_dir('pg_concurrent_edit/conflicts/$dboid') f WHERE f LIKE '%.json'}),
   '1', 'the record stays in the spool meanwhile');
$node->safe_psql($db, q{DROP TRIGGER refuse_conflicts ON concurrent_edit.conflict_history;
                        DROP FUNCTION public.refuse_conflicts()});
ok($node->poll_query_until($db, q{SELECT EXISTS (SELECT FROM concurrent_edit.conflict_history
    WHERE row_relation = 'public.retried')}), 'once the failure is gone, the record is recorded');
as_role('owner', q{DROP TABLE public.retried});

is($node->safe_psql($db, q{SELECT string_agg(rolname, ',') FROM pg_roles
    WHERE rolname IN ('mallory', 'owner') AND rolsuper}), '', 'no attacker is superuser');

$node->stop;
done_testing();
