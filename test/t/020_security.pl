# Attacks on the security model (docs/security.md). Roles: one without any grant
# (mallory), one with write on project P1 (writer1), one with every project
# (app), and a table owner (owner). Each attack must be refused, no code of theirs
# may run as another role, and no attacker may end as superuser.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CETest;
use Time::HiRes qw(sleep);

my $node = new_node('security', "shared_preload_libraries = 'concurrent_edit'\nmax_prepared_transactions = 5\n");
my $db = 'postgres';
my $p1 = '11111111-1111-1111-1111-111111111111';
my $p2 = '22222222-2222-2222-2222-222222222222';
my $alice = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';

$node->safe_psql($db, qq{
  CREATE EXTENSION concurrent_edit;
  CREATE ROLE mallory LOGIN; CREATE ROLE writer1 LOGIN; CREATE ROLE app LOGIN; CREATE ROLE owner LOGIN;
  -- An old-style database: everyone may create objects in public (the attacks plant theirs there).
  GRANT CREATE ON SCHEMA public TO PUBLIC;
  -- Every attack function records who it ran as.
  CREATE TABLE public.ran_as (who name, what text);
  GRANT INSERT, SELECT ON public.ran_as TO PUBLIC;
  SELECT concurrent_edit.grant_project('$p1', 'writer1', 'write');
  SELECT concurrent_edit.grant_access('app');
});
my $f1 = $node->safe_psql($db, "SELECT concurrent_edit.create_file('$p1', 'secret/plan.md', E'one\\ntwo\\n', '$alice')");
my $f2 = $node->safe_psql($db, "SELECT concurrent_edit.create_file('$p2', 'other.md', E'x\\n', '$alice')");

# Runs SQL as a role (its own login); returns (stdout, stderr).
sub as_role {
    my ($role, $sql) = @_;
    my ($rc, $out, $err) = $node->psql($db, $sql, extra_params => ['-U', $role, '-v', 'VERBOSITY=verbose']);
    return ($out, $err // '');
}
sub refused_like {
    my ($role, $sql, $code, $name) = @_;
    my ($out, $err) = as_role($role, $sql);
    like($err, qr/ERROR:\s+$code/, "$name: refused with $code");
}

# The attack payload: a function that tries to make mallory superuser and records
# the role it ran as.
as_role('mallory', q{
  CREATE FUNCTION public.become_superuser(what text) RETURNS boolean LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO public.ran_as VALUES (current_user, what);
    BEGIN
      ALTER ROLE mallory SUPERUSER;
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
    RETURN true;
  END $$;
});

# 1. Internal helpers: not executable by a role with PUBLIC's defaults. The
#    historical one read a relation (even a TEMP view calling the caller's
#    function) as the extension owner.
my @helpers = split /\n/, $node->safe_psql($db, q{
  SELECT p.oid::regprocedure FROM pg_proc p
  WHERE p.pronamespace = 'concurrent_edit'::regnamespace AND p.proname LIKE '\_%'
    AND p.prorettype <> 'trigger'::regtype ORDER BY 1});
cmp_ok(scalar(@helpers), '>', 0, 'there are internal helpers to attack');
for my $h (@helpers) {
    my $ok = $node->safe_psql($db, "SELECT has_function_privilege('mallory', '$h', 'EXECUTE')");
    is($ok, 'f', "internal helper $h is not executable by mallory");
}
# Of the trigger functions, only the two OCC triggers are executable by every
# role (enable_occ creates them as the table's owner, and CREATE TRIGGER needs
# EXECUTE); the triggers of the extension's own tables are not.
is($node->safe_psql($db, q{
  SELECT string_agg(p.proname, ',' ORDER BY p.proname) FROM pg_proc p
  WHERE p.pronamespace = 'concurrent_edit'::regnamespace AND p.prorettype = 'trigger'::regtype
    AND has_function_privilege('mallory', p.oid, 'EXECUTE')}), '_occ_after,_occ_trigger',
   'the trigger functions mallory may execute: the OCC triggers only');
as_role('mallory', q{CREATE TEMP VIEW v AS SELECT 1 AS id, 1 AS version, public.become_superuser('view') AS x});
refused_like('mallory', q{CREATE TEMP VIEW v AS SELECT 1 AS id, public.become_superuser('view') AS x;
                          SELECT concurrent_edit.occ_refresh_images('v')}, '42809', 'a view passed to occ_refresh_images');
refused_like('mallory', q{CREATE TEMP VIEW v AS SELECT 1 AS id, 1 AS version, public.become_superuser('view') AS x;
                          SELECT concurrent_edit.enable_occ('v')}, '42809', 'a view passed to enable_occ');
refused_like('mallory', q{SELECT concurrent_edit.occ_refresh_images('public.ran_as')}, '42501',
    'a table of another owner passed to occ_refresh_images');
# The lock-cleanup trigger function cannot be attached to mallory's own table
# (no EXECUTE; were it granted, it would run as mallory, without rights on the locks).
as_role('mallory', q{CREATE TABLE public.mine (project_id uuid, id uuid)});
refused_like('mallory', q{
  CREATE TRIGGER t AFTER DELETE ON public.mine REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
    EXECUTE FUNCTION concurrent_edit._drop_locks_of_files();
  INSERT INTO public.mine VALUES (gen_random_uuid(), gen_random_uuid());
  DELETE FROM public.mine}, '42501', 'a trigger function attached to an attacker table');

# 2. A caller-defined cast met while a row is converted (to_jsonb runs it): in
#    enable_occ's capture and in the trigger on every later UPDATE. (to_jsonb uses
#    a type's cast to json for user-defined scalar types such as enums.)
as_role('mallory', q{
  CREATE TYPE public.evil AS ENUM ('a', 'b');
  CREATE FUNCTION public.evil_json(public.evil) RETURNS json LANGUAGE plpgsql AS $$
  BEGIN PERFORM public.become_superuser('cast');
        PERFORM set_config('search_path', 'public, pg_catalog', false);  -- for the caller's session
        RETURN '"a"'::json; END $$;
  CREATE CAST (public.evil AS json) WITH FUNCTION public.evil_json(public.evil);
  CREATE TABLE public.victim (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, e public.evil, note text);
  INSERT INTO public.victim VALUES (1, 1, 'a', 'a');
  SELECT concurrent_edit.enable_occ('public.victim', mode => 'merge');
  UPDATE public.victim SET note = 'b', version = 1 WHERE id = 1;
  UPDATE public.victim SET note = 'c', version = 1 WHERE id = 1;
});
is($node->safe_psql($db, q{SELECT count(*) > 0 FROM public.ran_as WHERE what = 'cast'}), 't',
    'the cast ran (row images are computed)');
is($node->safe_psql($db, q{SELECT string_agg(DISTINCT who, ',') FROM public.ran_as WHERE what = 'cast'}), 'mallory',
    'the cast ran as the caller only, never as the extension owner');
# The same table's images refreshed by a superuser (a DBA after a bulk load, or
# enable_occ run by one, as the update from 1.0 does): the rows are read as the
# table's owner, in a security-restricted operation, so mallory's cast never runs
# with the superuser's rights.
$node->safe_psql($db, q{DELETE FROM public.ran_as WHERE what = 'cast'});
is($node->safe_psql($db, q{SELECT concurrent_edit.occ_refresh_images('public.victim') > 0; SHOW search_path}),
   "t\n\"\$user\", public", 'the cast\'s settings do not outlive the refresh in the superuser\'s session');
is($node->safe_psql($db, q{SELECT concurrent_edit.enable_occ('public.victim', mode => 'merge'); SHOW search_path}),
   "\n\"\$user\", public", 'nor enable_occ');
is($node->safe_psql($db, q{SELECT string_agg(DISTINCT who, ',') FROM public.ran_as WHERE what = 'cast'}), 'mallory',
    'a superuser refreshing the images: the cast runs as the table owner');
is($node->safe_psql($db, q{SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'}), 'f',
    'and mallory did not become superuser');

# 2b. Row conflicts and images are found by the table's name: a table renamed
#     (or dropped) took none of them along, and a new table given the old name
#     inherited both (its owner read the conflict's row data). Now they follow the
#     rename and go with the drop.
my ($o2b, $e2b) = as_role('owner', q{
  CREATE TABLE public.orders (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, doc jsonb, card text);
  INSERT INTO public.orders VALUES (1, 1, '{"a": 1}', 'card 4111');
  SELECT concurrent_edit.enable_occ('public.orders', mode => 'merge');
  UPDATE public.orders SET doc = '{"a": 2}', version = 1 WHERE id = 1;
  UPDATE public.orders SET doc = '{"a": 3}', card = 'card 5555 cvv 123', version = 1 WHERE id = 1;
});
like($e2b, qr/VC001/, 'the owner\'s conflicting update is refused (VC001)');
ok($node->poll_query_until($db,
    q{SELECT count(*) = 1 FROM concurrent_edit.conflict_history WHERE row_relation = 'public.orders'}),
    'its row conflict is recorded');
as_role('owner', q{ALTER TABLE public.orders RENAME TO orders_2025});
is($node->safe_psql($db, q{SELECT string_agg(DISTINCT row_relation, ',') FROM concurrent_edit.conflict_history
    WHERE row_relation LIKE 'public.orders%'}), 'public.orders_2025', 'the conflict follows the rename');
is($node->safe_psql($db, q{SELECT string_agg(DISTINCT relation, ',') FROM concurrent_edit.occ_row_versions
    WHERE relation LIKE 'public.orders%'}), 'public.orders_2025', 'and so do the images');
my ($o2c, $e2c) = as_role('mallory', q{
  CREATE TABLE public.orders (id int PRIMARY KEY);
  SELECT count(*) FROM concurrent_edit.list_conflicts(project_id => '00000000-0000-0000-0000-000000000000')
  WHERE row_relation LIKE 'public.orders%';
});
is($o2c, '0', 'a new table given the old name: its owner sees no conflict of the old one') or diag($e2c);
my ($o2d, $e2d) = as_role('owner', q{SELECT count(*) FROM concurrent_edit.list_conflicts(
    project_id => '00000000-0000-0000-0000-000000000000') WHERE row_relation = 'public.orders_2025'});
is($o2d, '1', 'the renamed table\'s owner still does') or diag($e2d);
# A rename another role attempts (refused by PostgreSQL) moves nothing; a rename
# through ALTER INDEX (PostgreSQL accepts it for a table) moves them too.
my ($o2e, $e2e) = as_role('mallory', q{ALTER TABLE public.orders_2025 RENAME TO hijack});
like($e2e, qr/must be owner/, 'another role\'s rename is refused');
is($node->safe_psql($db, q{SELECT string_agg(DISTINCT row_relation, ',') FROM concurrent_edit.conflict_history
    WHERE row_relation IN ('public.orders_2025', 'public.hijack')}), 'public.orders_2025', 'and moved nothing');
as_role('owner', q{ALTER INDEX public.orders_2025 RENAME TO orders_old});
is($node->safe_psql($db, q{SELECT string_agg(DISTINCT row_relation, ',') || ' ' || (SELECT string_agg(DISTINCT relation, ',')
    FROM concurrent_edit.occ_row_versions WHERE relation LIKE 'public.orders_%') FROM concurrent_edit.conflict_history
    WHERE row_relation LIKE 'public.orders_%'}), 'public.orders_old public.orders_old',
    'ALTER INDEX ... RENAME of the table: conflicts and images follow');
as_role('owner', q{DROP TABLE public.orders_old});
is($node->safe_psql($db, q{SELECT (SELECT count(*) FROM concurrent_edit.conflict_history WHERE row_relation LIKE 'public.orders_%')
    + (SELECT count(*) FROM concurrent_edit.occ_row_versions WHERE relation LIKE 'public.orders_%')}), '0',
    'the table dropped: its conflicts and images are gone');

# 3. Functions and operators planted in public and pg_temp, met by callers whose
#    search_path puts them first (the superuser included).
as_role('mallory', q{
  CREATE FUNCTION public.evil_eq(uuid, uuid) RETURNS boolean LANGUAGE plpgsql AS $$
  BEGIN PERFORM public.become_superuser('operator'); RETURN $1::text = $2::text; END $$;
  CREATE OPERATOR public.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = public.evil_eq);
  CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
  BEGIN PERFORM public.become_superuser('function'); RETURN clock_timestamp(); END $$;
  CREATE FUNCTION public.to_jsonb(anyelement) RETURNS jsonb LANGUAGE plpgsql AS $$
  BEGIN PERFORM public.become_superuser('function'); RETURN '{}'; END $$;
});
for my $caller ('postgres', 'writer1') {
    my ($out, $err) = as_role($caller, qq{
      SET search_path = public, pg_catalog;
      CREATE FUNCTION pg_temp.now() RETURNS timestamptz LANGUAGE sql AS 'SELECT public.now()';
      CREATE OPERATOR pg_temp.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = public.evil_eq);
      SELECT status FROM concurrent_edit.write('$f1', E'one\\nTWO\\n', 1, '$alice');
      SELECT version FROM concurrent_edit.read('$f1');
      SELECT count(*) FROM concurrent_edit.history('$f1');
      SELECT concurrent_edit.open_session('$alice', '$p1');
      SELECT count(*) FROM concurrent_edit.changes_since('$p1', 0);
    });
    is($err, '', "$caller: the API works with planted objects first in search_path");
}
is($node->safe_psql($db, q{SELECT count(*) FROM public.ran_as WHERE what IN ('operator', 'function')}), '0',
    'no planted function or operator ran inside the API');

# 3b. The OCC triggers of a partitioned table (cloned triggers) found the table
#     whose images they keep with a statement that ran with the updater's
#     search_path: an operator on oid planted by mallory ran as whoever updated a
#     row (a superuser: mallory became one). It is now read from C, and every
#     statement of the extension refuses to run without the pinned search_path.
as_role('mallory', q{
  CREATE FUNCTION public.evil_oideq(oid, oid) RETURNS boolean LANGUAGE plpgsql AS $$
  BEGIN PERFORM public.become_superuser('operator'); RETURN $1::int8 = $2::int8; END $$;
  CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = public.evil_oideq);
});
my ($o3, $e3) = as_role('owner', q{
  CREATE TABLE public.parted (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, body text) PARTITION BY RANGE (id);
  CREATE TABLE public.parted_1 PARTITION OF public.parted FOR VALUES FROM (0) TO (1000);
  INSERT INTO public.parted VALUES (1, 1, E'a\nb\nc\n');
  SELECT concurrent_edit.enable_occ('public.parted', mode => 'merge', notify => true);
  GRANT SELECT, UPDATE ON public.parted TO PUBLIC;
});
is($e3, '', 'a partitioned table under enable_occ');
for my $caller ('postgres', 'writer1') {
    my ($out, $err) = as_role($caller, q{
      SET search_path = public, pg_catalog;
      UPDATE public.parted SET body = body || 'x', version = version;
      UPDATE public.parted SET body = E'A\nb\nc\n', version = 1;
      SELECT body FROM public.parted;
    });
    unlike($err, qr/ERROR/, "$caller: current and stale updates of a partition with planted operators first");
}
is($node->safe_psql($db, q{SELECT count(*) FROM public.ran_as WHERE what = 'operator'}), '0',
    'no planted operator ran in the OCC triggers of a partition');
is($node->safe_psql($db, q{SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'}), 'f', 'mallory is no superuser');
as_role('mallory', q{DROP OPERATOR public.= (oid, oid); DROP FUNCTION public.evil_oideq(oid, oid);});

# 4. project_column pointing at another project: the conflict stays with its table.
my $before = $node->safe_psql($db, "SELECT count(*) FROM concurrent_edit.change_log WHERE project_id = '$p1'");
my ($o4, $e4) = as_role('owner', qq{
  CREATE TABLE public.inject (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, project uuid, doc jsonb);
  INSERT INTO public.inject VALUES (1, 1, '$p1', '{"a": 1}');
  SELECT concurrent_edit.enable_occ('public.inject', mode => 'merge', project_column => 'project');
  UPDATE public.inject SET doc = '{"a": 2}', version = 1 WHERE id = 1;
  UPDATE public.inject SET doc = '{"a": 3}', version = 1 WHERE id = 1;
});
like($e4, qr/VC001/, 'the conflicting update is refused (VC001)');
ok($node->poll_query_until($db,
    q{SELECT count(*) = 1 FROM concurrent_edit.conflict_history WHERE row_relation = 'public.inject'}),
    'the row conflict is recorded');
is($node->safe_psql($db, q{SELECT project_id FROM concurrent_edit.conflict_history WHERE row_relation = 'public.inject'}),
    '00000000-0000-0000-0000-000000000000', 'it is recorded without a project (the owner may not write P1)');
is($node->safe_psql($db, "SELECT count(*) FROM concurrent_edit.change_log WHERE project_id = '$p1'"), $before,
    'nothing entered P1\'s feed');
# With write on P1 the same table's conflicts belong to P1.
$node->safe_psql($db, "SELECT concurrent_edit.grant_project('$p1', 'owner', 'write')");
as_role('owner', q{UPDATE public.inject SET doc = '{"a": 4}', version = 2 WHERE id = 1;
                   UPDATE public.inject SET doc = '{"a": 5}', version = 2 WHERE id = 1;});
ok($node->poll_query_until($db,
    "SELECT count(*) = 1 FROM concurrent_edit.conflict_history WHERE row_relation = 'public.inject' AND project_id = '$p1'"),
    'with write on P1, the row conflict is P1\'s');

# 5. Another role's session id.
my ($sid) = as_role('writer1', "SELECT concurrent_edit.open_session('$alice', '$p1')");
chomp $sid;
for my $attempt (
    ["write(session_id)", "SELECT concurrent_edit.write('$f1', 'x', 2, session_id => '$sid')"],
    ["acquire_lock", "SELECT concurrent_edit.acquire_lock('$f1', '$sid')"],
    ["release_lock", "SELECT concurrent_edit.release_lock('$f1', '$sid')"],
    ["extend_lock", "SELECT concurrent_edit.extend_lock('$f1', '$sid')"],
    ["touch_session", "SELECT concurrent_edit.touch_session('$sid')"],
    ["close_session", "SELECT concurrent_edit.close_session('$sid')"],
    ["save_draft", "SELECT concurrent_edit.save_draft('$sid', '$f1', 1, 'x')"],
    ["commit_draft", "SELECT concurrent_edit.commit_draft('$sid', '$f1')"]) {
    refused_like('app', $attempt->[1], '42501', "another role's session: $attempt->[0]");
    refused_like('mallory', $attempt->[1], '42501', "an ungranted role with a session id: $attempt->[0]");
}
is($node->safe_psql($db, "SELECT status FROM concurrent_edit.edit_sessions WHERE id = '$sid'"), 'active',
    'the session is untouched');

# 6. P2 stays out of reach of P1's writer.
refused_like('writer1', "SELECT * FROM concurrent_edit.read('$f2')", '42501', 'writer of P1 reads P2');
refused_like('writer1', "SELECT * FROM concurrent_edit.write('$f2', 'y', 1, '$alice')", '42501', 'writer of P1 writes P2');
refused_like('mallory', "SELECT * FROM concurrent_edit.read('$f1')", '42501', 'an ungranted role reads P1');

# 6b. Lock tags are keyed (docs/security.md, "Lock tags"). Under the former
#     unkeyed hash these two file ids had the same tags (found in a second by a
#     meet-in-the-middle search): P1's writer, holding a write of its own file,
#     blocked the writes and lock requests of P2's file.
my $victim = '76c894a5-9651-4170-80c5-4131ce109451';
my $collider = '54e4dcca-21db-bbfc-a4f4-81f2cea4aeb9';
$node->safe_psql($db, "SELECT concurrent_edit.create_file('$p2', 'victim.md', E'v\n', '$alice', file_id => '$victim')");
as_role('writer1', "SELECT concurrent_edit.create_file('$p1', 'collider.md', E'c\n', '$alice', file_id => '$collider')");
my $holder = $node->background_psql($db, extra_params => [ '-U', 'writer1' ]);
is($holder->query_safe('SELECT current_user'), 'writer1', "the holder is P1's writer");
$holder->query_safe('BEGIN');
$holder->query_safe("SELECT status FROM concurrent_edit.write('$collider', E'c2\n', 1, '$alice')");
my ($o6, $e6) = as_role('app', "SET lock_timeout = '2s'; SELECT status FROM concurrent_edit.write('$victim', E'v2\n', 1, '$alice')");
is($o6, 'written', "a write of P2's file is not blocked by a writer of P1's file with a formerly colliding id")
    or diag($e6);
$holder->query_safe('ROLLBACK');
# Locks: P1's writer holds a shared lock of its file and waits for an exclusive
# one from a second session (it then holds the file's queue, ahead of later
# requests); a request for P2's file is not kept out.
my ($ws1, $ws2) = map { (as_role('writer1', "SELECT concurrent_edit.open_session('$alice', '$p1')"))[0] } 1 .. 2;
as_role('writer1', "SELECT concurrent_edit.acquire_lock('$collider', '$ws1', 'shared', ttl => '1 hour')");
$holder->query_until(qr/waiting/, "\\echo waiting\nSELECT concurrent_edit.acquire_lock('$collider', '$ws2', 'exclusive', "
    . "wait => '20 seconds');\n");
ok($node->poll_query_until($db, "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE query LIKE '%$ws2%' "
    . "AND wait_event_type IN ('Extension', 'Lock') AND pid <> pg_backend_pid())"), "P1's exclusive request waits");
my ($s2) = as_role('app', "SELECT concurrent_edit.open_session('$alice', '$p2')");
($o6, $e6) = as_role('app', "SELECT lock_type FROM concurrent_edit.acquire_lock('$victim', '$s2')");
is($o6, 'exclusive', "nor a lock request for P2's file") or diag($e6);
as_role('writer1', "SELECT concurrent_edit.release_lock('$collider', '$ws1')");
as_role('app', "SELECT concurrent_edit.release_lock('$victim', '$s2')");
$holder->quit;

# 6c. The checks come before the file's locks. P1's writer asked for a lock of
#     P2's file with its own session, whose row it held in another transaction:
#     the session's touch waited for the row while the request held the file's
#     acquisition lock, and every request for P2's file timed out (55P03) until
#     that transaction ended.
my ($ws3) = as_role('writer1', "SELECT concurrent_edit.open_session('$alice', '$p1')");
sleep(1.2);  # a touch after a second updates the session's row
my $rowholder = $node->background_psql($db, extra_params => [ '-U', 'writer1' ]);
$rowholder->query_safe('BEGIN');
is($rowholder->query_safe("SELECT concurrent_edit.touch_session('$ws3')"), 'active', "P1's writer holds its session's row");
# The session's activity is written only once the lock's row is taken (in
# release_lock's order, isolation spec lock_in_change): the request does not wait
# for the session's row at all, and is refused at once.
my ($rc7, $o7, $e7) = $node->psql($db, "SELECT concurrent_edit.acquire_lock('$victim', '$ws3')",
                                  extra_params => [ '-U', 'writer1', '-v', 'VERBOSITY=verbose' ], timeout => 20);
like($e7, qr/ERROR:\s+VC005/, "its request for P2's file is refused at once, not waiting for the session's row");
($o6, $e6) = as_role('app', "SELECT lock_type FROM concurrent_edit.acquire_lock('$victim', '$s2', wait => '3 seconds')");
is($o6, 'exclusive', "a request for P2's file is not kept out meanwhile") or diag($e6);
as_role('app', "SELECT concurrent_edit.release_lock('$victim', '$s2')");
$rowholder->query_safe('ROLLBACK');
$rowholder->quit;
my $keyfile = $node->data_dir . '/pg_concurrent_edit/lock_key';
ok(-s $keyfile == 16 && ((stat $keyfile)[2] & 0777) == 0600, 'the key: 16 bytes, readable by the server only');
# Another key, other tags: the tag of a file's write lock changes with the key.
my $tag_q = "BEGIN; SELECT FROM concurrent_edit.write('$victim', E'v3\n', 2, '$alice'); "
    . "SELECT classid || '/' || objid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 4 AND pid = pg_backend_pid(); ROLLBACK";
my $tag1 = $node->safe_psql($db, $tag_q);
$node->stop;
unlink $keyfile;
$node->start;
my $tag2 = $node->safe_psql($db, $tag_q);
ok($tag1 ne '' && $tag2 ne '' && $tag1 ne $tag2, "a new key gives the file's lock another tag ($tag1, $tag2)");

# 7. LISTEN by an ungranted role: PostgreSQL cannot refuse it, so the payload holds
#    ids and the cursor only.
my $channel = 'concurrent_edit_' . ($p1 =~ s/-//gr);
my $listener = $node->background_psql($db, extra_params => [ '-U', 'mallory' ]);
is($listener->query_safe('SELECT current_user'), 'mallory', 'the listener is the ungranted role');
$listener->query_safe("LISTEN $channel");
as_role('writer1', "SELECT concurrent_edit.write('$f1', E'one\\nTWO\\nthree\\n', 2, '$alice')");
my $seen = '';
for (1 .. 50) {
    $seen .= $listener->query('SELECT 1');
    last if $seen =~ /Asynchronous notification/;
    sleep(0.1);
}
$listener->quit;
my @payloads = ($seen =~ /with payload "(.*?)" received/g);
cmp_ok(scalar(@payloads), '>=', 1, 'the ungranted listener receives notifications');
like($payloads[0] // '', qr/^\{"event": "\w+", "cursor": "\d+", "project_id": "$p1", "file_id": "[0-9a-f-]+"\}$/,
    'payload: event, cursor and ids only');
unlike(join('', @payloads), qr/secret|plan\.md|TWO|[0-9a-f]{64}/, 'no path, content or hash reaches the listener');

# Grants of a dropped role are removed by the worker (its OID could be reused).
$node->safe_psql($db, qq{CREATE ROLE passing; SELECT concurrent_edit.grant_project('$p1', 'passing', 'admin')});
my $oid = $node->safe_psql($db, q{SELECT 'passing'::regrole::oid});
$node->safe_psql($db, q{DROP ROLE passing});
ok($node->poll_query_until($db, "SELECT count(*) = 0 FROM concurrent_edit.project_access WHERE role::oid = $oid"),
    'the grant of a dropped role is removed');
# A dropped role's grant that a session holds (a project admin's grant_project()
# left open) is skipped, not waited for: before, the worker waited for that
# transaction, and every project's feed with it. A role dropped meanwhile loses
# its grants at once; the held one goes once released.
$node->safe_psql($db, qq{CREATE ROLE first_gone; CREATE ROLE second_gone;
    SELECT concurrent_edit.grant_project('$p1', 'first_gone', 'read');
    SELECT concurrent_edit.grant_project('$p1', 'second_gone', 'read')});
my ($first_oid, $second_oid) = split /\|/, $node->safe_psql($db,
    q{SELECT 'first_gone'::regrole::oid, 'second_gone'::regrole::oid});
my $grant_holder = $node->background_psql($db);
$grant_holder->query_safe('BEGIN');
$grant_holder->query_safe("SELECT concurrent_edit.grant_project('$p1', 'first_gone', 'write')");
$node->safe_psql($db, 'DROP ROLE first_gone');
my $waited = 0;
for (1 .. 15) {
    $waited ||= $node->safe_psql($db, q{SELECT count(*) FROM pg_stat_activity
        WHERE backend_type = 'concurrent_edit worker' AND wait_event_type = 'Lock'});
    sleep(0.1);
}
is($waited, 0, 'the worker does not wait for the held grant of a dropped role');
$node->safe_psql($db, 'DROP ROLE second_gone');
ok($node->poll_query_until($db, "SELECT count(*) = 0 FROM concurrent_edit.project_access WHERE role::oid = $second_oid"),
    'a role dropped meanwhile loses its grants');
is($node->safe_psql($db, "SELECT count(*) FROM concurrent_edit.project_access WHERE role::oid = $first_oid"), '1',
    'the held grant stays while held');
$grant_holder->query_safe('COMMIT');
$grant_holder->quit;
ok($node->poll_query_until($db, "SELECT count(*) = 0 FROM concurrent_edit.project_access WHERE role::oid = $first_oid"),
    'and goes once released');
# Its sessions then belong to no role: a role later given the same OID could
# otherwise use them and commit their drafts as their user.
$node->safe_psql($db, qq{CREATE ROLE leaving; SELECT concurrent_edit.grant_project('$p1', 'leaving', 'write')});
my $left_session = $node->safe_psql($db, qq{SET ROLE leaving;
    SELECT concurrent_edit.open_session('$alice', '$p1')});
my $left_oid = $node->safe_psql($db, q{SELECT 'leaving'::regrole::oid});
# And a conflict it recorded loses its recording role (who may close it with write).
my $f3 = $node->safe_psql($db, "SELECT concurrent_edit.create_file('$p1', 'left.md', E'a\\n', '$alice')");
my $left_conflict = $node->safe_psql($db, qq{SET ROLE leaving;
    SELECT status FROM concurrent_edit.write('$f3', E'b\\n', 1, '$alice');
    SELECT conflict_id FROM concurrent_edit.write('$f3', E'c\\n', 1, '$alice')});
($left_conflict) = $left_conflict =~ /([0-9a-f-]{36})\s*$/;
is($node->safe_psql($db, "SELECT created_role::oid FROM concurrent_edit.conflict_history WHERE id = '$left_conflict'"),
    $left_oid, 'the conflict was recorded with the role');
$node->safe_psql($db, q{DROP OWNED BY leaving; DROP ROLE leaving});
ok($node->poll_query_until($db,
        "SELECT created_role IS NULL FROM concurrent_edit.conflict_history WHERE id = '$left_conflict'"),
    'the conflict of a dropped role keeps no role');
ok($node->poll_query_until($db,
        "SELECT role::oid = 0 FROM concurrent_edit.edit_sessions WHERE id = '$left_session'"),
    'the session of a dropped role belongs to no role');
is($node->safe_psql($db, "SELECT count(*) FROM concurrent_edit.edit_sessions WHERE role::oid = $left_oid"), '0',
    'no session keeps the dropped role\'s OID');
# The worker looks for rows of dropped roles only after a transaction that
# dropped one committed (an ALTER ROLE, which any role may run on itself, made it
# read every session and conflict); a role dropped in a prepared transaction is
# counted at its COMMIT PREPARED, and one created and dropped between two looks
# of the worker is seen too.
$node->safe_psql($db, qq{CREATE ROLE prepared_gone; SELECT concurrent_edit.grant_project('$p1', 'prepared_gone', 'read')});
my $prepared_oid = $node->safe_psql($db, q{SELECT 'prepared_gone'::regrole::oid});
$node->safe_psql($db, q{ALTER ROLE prepared_gone PASSWORD 'x'});
$node->safe_psql($db, q{BEGIN; DROP ROLE prepared_gone; PREPARE TRANSACTION 'drops_a_role'});
$node->safe_psql($db, q{COMMIT PREPARED 'drops_a_role'});
ok($node->poll_query_until($db, "SELECT count(*) = 0 FROM concurrent_edit.project_access WHERE role::oid = $prepared_oid"),
    'the grant of a role dropped in a prepared transaction is removed');
$node->safe_psql($db, qq{CREATE ROLE brief; SELECT concurrent_edit.grant_project('$p1', 'brief', 'read');
    DROP ROLE brief});
ok($node->poll_query_until($db, q{SELECT count(*) = 0 FROM concurrent_edit.project_access a
    WHERE NOT EXISTS (SELECT FROM pg_roles r WHERE r.oid = a.role::oid)}),
    'the grant of a role created and dropped at once is removed');

# 8. A trigger made by hand by a table owner (the OCC trigger functions are
#    executable by PUBLIC: CREATE TRIGGER needs it) crashed the server: a
#    modified-at argument naming a text column got a timestamp (signal 11, every
#    session of the cluster lost); naming the version column overwrote the
#    version with concurrent_edit.actor. Its arguments are now checked against
#    the table at every call.
my ($o8, $e8) = as_role('mallory', q{
  CREATE TABLE public.m_t (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, note text);
  INSERT INTO public.m_t VALUES (1, 1, 'x');
  CREATE TRIGGER evil BEFORE UPDATE ON public.m_t FOR EACH ROW EXECUTE FUNCTION
    concurrent_edit._occ_trigger('version','reject','f','','','note','f','','auto','["id"]');
  UPDATE public.m_t SET note = 'y', version = 1;
});
like($e8, qr/ERROR:\s+42804/, 'a hand-made trigger writing a timestamp into a text column: 42804');
unlike($e8, qr/server closed the connection|terminated abnormally/, 'and the server did not crash');
($o8, $e8) = as_role('mallory', q{
  DROP TRIGGER evil ON public.m_t;
  CREATE TRIGGER evil BEFORE UPDATE ON public.m_t FOR EACH ROW EXECUTE FUNCTION
    concurrent_edit._occ_trigger('version','reject','f','','version','','f','','auto','["id"]');
  SET concurrent_edit.actor = '1';
  UPDATE public.m_t SET note = 'z', version = 1;
  UPDATE public.m_t SET note = 'z', version = 1;
});
like($e8, qr/ERROR:\s+22023/, 'a modified-by argument naming the version column: 22023');
is($node->safe_psql($db, q{SELECT version || ' ' || note FROM public.m_t}), '1 x', 'the row is unchanged');
unlike(slurp_file($node->logfile), qr/terminated by signal/, 'no backend was terminated by a signal');

# 9. VC001 and VC009 showed the row's key and its last writer to a role with
#    UPDATE only, or one the table's row-level security filters. PostgreSQL's
#    rule for row values in its own errors now decides: SELECT on the table (or
#    on each column shown) and no row-level security enabled for the role.
as_role('owner', q{
  CREATE TABLE public.salaries (emp text PRIMARY KEY, version int NOT NULL DEFAULT 1, amount int, doc jsonb,
                                modified_by text);
  INSERT INTO public.salaries VALUES ('bob.smith', 3, 100000, '{"review": {"rating": "poor"}}', 'hr-admin');
  GRANT UPDATE (amount, doc, version) ON public.salaries TO mallory;
  SELECT concurrent_edit.enable_occ('public.salaries', modified_by_column => 'modified_by');
});
my ($o9, $e9) = as_role('mallory', q{UPDATE public.salaries SET amount = 1, version = 1});
like($e9, qr/VC001/, 'a stale update by a role with UPDATE only: VC001');
unlike($e9, qr/bob\.smith|hr-admin|current_version"?:/, 'its DETAIL shows neither key, last writer nor current version');
as_role('owner', q{SELECT concurrent_edit.enable_occ('public.salaries', mode => 'strict')});
($o9, $e9) = as_role('mallory', q{UPDATE public.salaries SET amount = 1});
like($e9, qr/VC009/, 'a blind update: VC009');
unlike($e9, qr/bob\.smith|current_version"?:/, 'its DETAIL shows neither key nor current version');
as_role('owner', q{SELECT concurrent_edit.enable_occ('public.salaries', mode => 'merge');
                   UPDATE public.salaries SET doc = '{"review": {"rating": "good"}}', version = 3});
($o9, $e9) = as_role('mallory', q{UPDATE public.salaries SET doc = '{}', version = 3});
like($e9, qr/VC001.*not_merged/s, 'a stale update of a column it may not read: VC001, not merged (part 10)');
unlike($e9, qr/bob\.smith|review|rating|at version \d+, not/, 'no key and no path inside the column it may not read');
as_role('owner', q{GRANT SELECT ON public.salaries TO mallory; ALTER TABLE public.salaries ENABLE ROW LEVEL SECURITY;
                   CREATE POLICY every_row ON public.salaries USING (true)});
($o9, $e9) = as_role('mallory', q{UPDATE public.salaries SET amount = 1, version = 1});
like($e9, qr/VC001/, 'with SELECT but under the table\'s row-level security: a stale update is VC001');
unlike($e9, qr/bob\.smith|hr-admin/, 'with SELECT but under the table\'s row-level security: nothing of the row');
is($node->safe_psql($db, q{SELECT amount FROM public.salaries}), '100000', 'and the row is unchanged');
($o9, $e9) = as_role('owner', q{UPDATE public.salaries SET amount = 1, version = 1});
like($e9, qr/bob\.smith/, 'the table\'s owner, whom its row-level security does not filter, sees the key');

# 10. A stale UPDATE in merge mode was merged against the row's values even when
#     it set a column the role may UPDATE but not SELECT: a wrong guess of the
#     hidden value conflicted (VC001, the row kept), the right one merged
#     (UPDATE 1, the value unchanged), so mallory read a salary by guessing. Such
#     an UPDATE is now refused as in mode reject, whatever the values.
as_role('owner', q{
  CREATE TABLE public.pay (emp int PRIMARY KEY, version int NOT NULL DEFAULT 1, amount int, note text);
  SELECT concurrent_edit.enable_occ('public.pay', mode => 'merge');
  INSERT INTO public.pay VALUES (1, 1, 5000, 'n');
  UPDATE public.pay SET amount = 6200, version = 1 WHERE emp = 1;
  UPDATE public.pay SET note = 'x', version = 2 WHERE emp = 1;
  GRANT SELECT (emp), UPDATE (amount, note, version) ON public.pay TO mallory;
});
my ($o10, $wrong) = as_role('mallory', q{UPDATE public.pay SET amount = 6100, version = 1 WHERE emp = 1});
my ($o10b, $right) = as_role('mallory', q{UPDATE public.pay SET amount = 6200, version = 1 WHERE emp = 1});
like($right, qr/VC001.*not_merged.*amount/s, 'the right guess of a value it may not read: VC001, not merged');
is($wrong, $right, 'a wrong guess gets the same answer as the right one');
my ($o10c, $old) = as_role('mallory', q{UPDATE public.pay SET amount = 5000, version = 1 WHERE emp = 1});
is($old, $right, 'so does the value of the version named');
my ($o10e, $above) = as_role('mallory', q{UPDATE public.pay SET amount = 6100, version = 99 WHERE emp = 1});
my $right_n = $right;
s/"expected_version": \d+/"expected_version": N/ for $above, $right_n;
is($above, $right_n, 'and a version above the current one: the refusal tells neither side');
is($node->safe_psql($db, q{SELECT version || ' ' || amount FROM public.pay}), '3 6200', 'the row is unchanged');
as_role('owner', q{GRANT SELECT (amount, note, version) ON public.pay TO mallory});
my ($o10d, $e10d) = as_role('mallory', q{UPDATE public.pay SET amount = 6200, version = 1 WHERE emp = 1});
is($e10d, '', 'with SELECT on the column the same stale update merges');
is($node->safe_psql($db, q{SELECT version || ' ' || amount FROM public.pay}), '4 6200', 'merged onto the current row');

# Nobody became superuser.
is($node->safe_psql($db, q{SELECT string_agg(rolname, ',') FROM pg_roles
    WHERE rolname IN ('mallory', 'writer1', 'app', 'owner') AND rolsuper}), '', 'no attacker is superuser');
is($node->safe_psql($db, q{SELECT count(*) FROM public.ran_as WHERE who NOT IN ('mallory')}), '0',
    'attack code never ran as another role');

$node->stop;
done_testing();
