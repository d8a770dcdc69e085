# Sharding by project with PL/Proxy (docs/scale-out.md): one router and three
# shard clusters on Unix sockets. Through the router, files are created in 100
# projects, and:
#  * every project's rows are on exactly one shard, the one project_shard() names;
#  * writes from stale bases merge, conflicts are recorded and resolved, locks
#    exclude, changes_since catches up, and a shard's errors keep their SQLSTATE,
#    message and JSON DETAIL;
#  * calls run as the calling role: the shard checks its rights on the project;
#  * the pure functions run on the router itself, which holds no data;
#  * with one shard stopped, only its projects fail, with 08006 naming the shard;
#    the others keep working (ids never routed before included); once it is back,
#    its projects work again.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CETest;

my @shards = map { new_node("shard$_") } 1 .. 3;
for my $s (@shards) {
    $s->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
    $s->safe_psql('postgres', 'CREATE ROLE alice LOGIN');
}
my $router = new_node('router');
$router->safe_psql('postgres', 'CREATE ROLE alice LOGIN');
$router->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit_router CASCADE');
# The router's script keeps the rules of the extension's: functions that run SQL
# pin search_path, every object has a comment, internal helpers that are not
# called as the caller are not executable by PUBLIC.
my $members = q{FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'concurrent_edit_router'
                WHERE d.deptype = 'e'};
is($router->safe_psql('postgres', qq{SELECT coalesce(string_agg(d.objid::regprocedure::text, ', '), '') $members
    AND d.classid = 'pg_proc'::regclass AND d.objid IN (SELECT p2.oid FROM pg_proc p2
        JOIN pg_language l ON l.oid = p2.prolang AND l.lanname IN ('sql', 'plpgsql')
        WHERE p2.prosqlbody IS NULL AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p2.proconfig), false))}),
    '', 'router: every SQL and PL/pgSQL function pins search_path');
is($router->safe_psql('postgres', qq{SELECT count(*) $members
    AND d.classid IN ('pg_proc'::regclass, 'pg_class'::regclass, 'pg_type'::regclass)
    AND obj_description(d.objid, d.classid::regclass::name) IS NULL
    AND NOT (d.classid = 'pg_type'::regclass AND EXISTS (SELECT 1 FROM pg_type t WHERE t.oid = d.objid AND t.typelem <> 0))
    AND NOT (d.classid = 'pg_class'::regclass AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = d.objid AND c.relkind = 'i'))}),
    '0', 'router: every function, table and type has a comment');
is($router->safe_psql('postgres', q{SELECT string_agg(proname, ',' ORDER BY proname) FROM pg_proc
    WHERE pronamespace = 'concurrent_edit'::regnamespace AND proname IN ('_locate', '_px_owning_project', 'router_configure', '_setting')
    AND has_function_privilege('public', oid, 'EXECUTE')}), '', 'router: its owner-only helpers are not executable by PUBLIC');
my ($rc0, $out0, $err0) = $router->psql('postgres',
    "\\set VERBOSITY verbose\nSELECT * FROM concurrent_edit.read('99999999-9999-9999-9999-999999999999')");
like($err0, qr/ERROR:  55000: the router has no shards/, 'before router_configure: 55000, not PL/Proxy\'s XX000');
my $conninfos = join(', ', map { "'host=" . $_->host . ' port=' . $_->port . " dbname=postgres'" } @shards);
is($router->safe_psql('postgres', "SELECT concurrent_edit.router_configure(ARRAY[$conninfos], 16)"), '16',
    'router_configure: 3 shards, 16 partitions');
is($router->safe_psql('postgres', "SELECT to_regclass('concurrent_edit.files') IS NULL"), 't',
    'the router holds no file table');

my $author = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
# Runs SQL on the router; returns (sqlstate or '', stdout, stderr).
sub on_router {
    my ($sql, $user) = @_;
    my ($rc, $out, $err) = $router->psql('postgres', "\\set VERBOSITY verbose\n$sql",
        extra_params => [ '-U', $user // 'postgres' ]);
    my ($state) = $err =~ /ERROR:  ([0-9A-Z]{5}):/;
    return ($state // '', $out, $err);
}

# --- 100 projects, one file each, created through the router -----------------
my $rows = $router->safe_psql('postgres', qq{
    SELECT p, concurrent_edit.create_file(p, 'notes.txt', E'one\\ntwo\\nthree\\nfour\\nfive\\n', '$author'),
           (concurrent_edit.project_shard(p)).shard
    FROM (SELECT md5('project ' || i)::uuid AS p FROM generate_series(1, 100) i) s ORDER BY p});
my (%file, %shard_of);
for (split /\n/, $rows) {
    my ($p, $f, $n) = split /\|/;
    ($file{$p}, $shard_of{$p}) = ($f, $n);
}
is(scalar(keys %file), 100, '100 projects created through the router');

my %found;  # project => [shards that hold a row of it]
for my $i (0 .. 2) {
    my $sql = 'SELECT DISTINCT project_id FROM (SELECT project_id FROM concurrent_edit.files '
        . 'UNION ALL SELECT project_id FROM concurrent_edit.file_versions '
        . 'UNION ALL SELECT project_id FROM concurrent_edit.change_log) r';
    push @{ $found{$_} }, $i + 1 for split /\n/, $shards[$i]->safe_psql('postgres', $sql);
}
my @misplaced = grep { !$found{$_} || @{ $found{$_} } != 1 || $found{$_}[0] != $shard_of{$_} } keys %file;
is(scalar(@misplaced), 0, "every project's rows are on exactly one shard, the one project_shard() names")
    or diag(join("\n", map { "$_: on " . join(',', @{ $found{$_} // [] }) . ", named $shard_of{$_}" } @misplaced));
is(scalar(keys %found), 100, 'the shards hold no other project');
my %per_shard;
$per_shard{$_}++ for values %shard_of;
ok((grep { ($per_shard{$_} // 0) >= 15 } 1 .. 3) == 3,
    'each shard owns a share of the projects (' . join('/', map { $per_shard{$_} // 0 } 1 .. 3) . ')');
# The hash is the documented one: the first 32 bits of md5(project id text).
my ($p1) = sort keys %file;
is($router->safe_psql('postgres', "SELECT concurrent_edit.project_hash('$p1')"),
    unpack('l>', pack('H8', substr(`printf '%s' '$p1' | md5sum`, 0, 8))),
    'project_hash is the first 32 bits of the MD5 of the id text');

# --- the API through the router ----------------------------------------------
my ($pa) = grep { $shard_of{$_} == 1 } sort keys %file;
my ($pb) = grep { $shard_of{$_} == 2 } sort keys %file;
my ($pc) = grep { $shard_of{$_} == 3 } sort keys %file;
my $f = $file{$pb};
is($router->safe_psql('postgres', "SELECT status || ' ' || version FROM concurrent_edit.write('$f', "
    . "E'ONE\\ntwo\\nthree\\nfour\\nfive\\n', 1, '$author')"), 'written 2', 'router: a write on a current base');
is($router->safe_psql('postgres', "SELECT status || ' ' || version FROM concurrent_edit.write('$f', "
    . "E'one\\ntwo\\nthree\\nfour\\nFIVE\\n', 1, '$author')"), 'merged 3', 'router: a write from a stale base merges');
is($router->safe_psql('postgres', "SELECT content FROM concurrent_edit.read('$f')"),
    "ONE\ntwo\nthree\nfour\nFIVE\n", 'router: read gives the merge');
my $conflict = $router->safe_psql('postgres', "SELECT conflict_id FROM concurrent_edit.write('$f', "
    . "E'1\\ntwo\\nthree\\nfour\\nfive\\n', 1, '$author')");
like($conflict, qr/^[0-9a-f-]{36}$/, 'router: a conflicting stale write records a conflict');
is($router->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.list_conflicts(project_id => '$pb')"), '1',
    'router: list_conflicts shows it');
like($router->safe_psql('postgres', "SELECT ours_text FROM concurrent_edit.conflict_texts('$conflict')"), qr/^ONE/,
    'router: conflict_texts by conflict id');
is($router->safe_psql('postgres', "SELECT concurrent_edit.resolve_conflict('$conflict', choose => 'theirs')"), '4',
    'router: resolve_conflict writes version 4');
is($shards[1]->safe_psql('postgres', "SELECT head_version FROM concurrent_edit.files WHERE id = '$f'"), '4',
    'the resolution is on the shard');
like($router->safe_psql('postgres', "SELECT concurrent_edit.diff_versions('$f', 3, 4)"), qr/^-ONE\n\+1$/m,
    'router: diff_versions');
is($router->safe_psql('postgres', "SELECT string_agg(version::text, ',' ORDER BY version) FROM concurrent_edit.history('$f')"),
    '1,2,3,4', 'router: history');

# --- row conflicts of OCC tables without a project column: the nil project -----
# Such a conflict's project is the nil uuid on every shard: routed by the shard
# that has its id, not by the nil project's hash; listed from every shard. (Before,
# a call by its id went to the nil project's shard: VC008 on the other shards'.)
my $nil = '00000000-0000-0000-0000-000000000000';
my $nil_shard = $router->safe_psql('postgres', "SELECT (concurrent_edit.project_shard('$nil')).shard");
my %row_conflict;
for my $n (reverse 1 .. 3) {  # made on shard 3 first: the oldest comes from the last shard asked
    my $s = $shards[$n - 1];
    $s->safe_psql('postgres', qq{CREATE TABLE prod_$n (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, doc jsonb);
        INSERT INTO prod_$n VALUES (1, 1, '{"a": 1}');
        SELECT concurrent_edit.enable_occ('prod_$n', mode => 'merge');
        UPDATE prod_$n SET doc = '{"a": 2}', version = 1 WHERE id = 1});
    my ($rc, $o, $e) = $s->psql('postgres',
        qq{\\set VERBOSITY verbose\nUPDATE prod_$n SET doc = '{"a": 3}', version = 1 WHERE id = 1});
    like($e, qr/ERROR:  VC001:/, "shard $n: a stale row update that conflicts is refused (VC001)");
    $s->poll_query_until('postgres', "SELECT count(*) = 1 FROM concurrent_edit.list_conflicts(project_id => '$nil')")
        or die "shard $n: the row conflict was not recorded";
    $row_conflict{$n} = $s->safe_psql('postgres', "SELECT conflict_id FROM concurrent_edit.list_conflicts(project_id => '$nil')");
}
is($router->safe_psql('postgres', "SELECT string_agg(row_relation, ',' ORDER BY row_relation) "
    . "FROM concurrent_edit.list_conflicts(project_id => '$nil')"), 'public.prod_1,public.prod_2,public.prod_3',
    'router: list_conflicts of the nil project lists the row conflicts of every shard');
is($router->safe_psql('postgres', "SELECT string_agg(row_relation, ',' ORDER BY ordinality) "
    . "FROM concurrent_edit.list_conflicts(project_id => '$nil') WITH ORDINALITY"),
    'public.prod_3,public.prod_2,public.prod_1', '... oldest first, across the shards');
for my $n (1 .. 3) {
    next if $n == $nil_shard;
    my ($st) = on_router("SELECT * FROM concurrent_edit.conflict_texts('$row_conflict{$n}')");
    is($st, '22023', "router: conflict_texts of the row conflict of shard $n reaches it: 22023, a row has no texts (not VC008)");
    is($router->safe_psql('postgres', "SELECT concurrent_edit.discard_conflict('$row_conflict{$n}', 'test')"), 't',
        "router: discard_conflict of the row conflict of shard $n");
    is($shards[$n - 1]->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.list_conflicts(project_id => '$nil')"),
        '0', "... discarded on shard $n");
}
is($router->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.router_directory WHERE project_id = '$nil'"), '0',
    'router: no nil-project route is kept');
is($router->safe_psql('postgres', "SELECT path FROM concurrent_edit.rename_file('$f', 'renamed.txt', '$author')"), 'renamed.txt',
    'router: rename_file');
is($router->safe_psql('postgres', "SELECT concurrent_edit.file_at('$pb', 'renamed.txt')"), $f, 'router: file_at');

# Locks exclude; sessions, drafts and presence through the router.
my $sa = $router->safe_psql('postgres', "SELECT concurrent_edit.open_session('$author', '$pb')");
my $sb = $router->safe_psql('postgres', "SELECT concurrent_edit.open_session('bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', '$pb')");
is($router->safe_psql('postgres', "SELECT lock_type FROM concurrent_edit.acquire_lock('$f', '$sa', ttl => '1 minute')"),
    'exclusive', 'router: session A takes the lock');
my ($state, $out, $err) = on_router("SELECT * FROM concurrent_edit.acquire_lock('$f', '$sb')");
is($state, '55P03', 'router: session B cannot take the lock (55P03)');
like($err, qr/DETAIL:  \{"file_id".*"holders".*"$sa"/, 'the refusal has the shard\'s JSON DETAIL naming the holder');
unlike($err, qr/REMOTE|Remote detail|_px_/, 'without PL/Proxy\'s prefixes');
($state, $out, $err) = on_router("SELECT * FROM concurrent_edit.write('$f', 'x', 4, session_id => '$sb')");
is($state, 'VC004', 'router: B\'s write to the locked file is refused (VC004)');
like($err, qr/"lock_session_id": "$sa"/, 'naming the lock\'s session');
is($router->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.lock_status('$f')"), '1', 'router: lock_status');
$router->safe_psql('postgres', "SELECT concurrent_edit.save_draft('$sb', '$f', 4, 'draft')");
is($router->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.session_drafts('$sb')"), '1',
    'router: save_draft and session_drafts by session id');
ok($router->safe_psql('postgres', "SELECT concurrent_edit.release_lock('$f', '$sa')") eq 't', 'router: release_lock');
is($router->safe_psql('postgres', "SELECT status FROM concurrent_edit.commit_draft('$sb', '$f')"), 'written',
    'router: commit_draft once the lock is gone');
($state, $out, $err) = on_router("SELECT * FROM concurrent_edit.read('99999999-9999-9999-9999-999999999999')");
is($state, 'VC007', 'router: an unknown file id gives the shard\'s VC007');
like($err, qr/ERROR:  VC007: file 99999999-9999-9999-9999-999999999999 does not exist\nDETAIL:  \{"file_id"/,
    'with the shard\'s message and JSON DETAIL');

# A NULL routing argument names no shard: 22004 with a JSON DETAIL, not PL/Proxy's error.
($state, $out, $err) = on_router("SELECT * FROM concurrent_edit.read(NULL)");
is($state, '22004', 'router: read(NULL) gives 22004');
like($err, qr/DETAIL:  \{"argument" : "file_id"\}/, 'naming the argument');
($state, $out, $err) = on_router("SELECT * FROM concurrent_edit.list_conflicts()");
is($state, '22004', 'router: list_conflicts() without a project or file gives 22004');
like($err, qr/DETAIL:  \{"arguments" : \["project_id","file_id"\]\}/, 'naming both arguments');

# write_many goes to the shard of its first file; every file of the call must be there.
my $fa = $file{$pa};
my $fa2 = $router->safe_psql('postgres', "SELECT concurrent_edit.create_file('$pa', 'second.txt', E'a\\n', '$author')");
my $va = $router->safe_psql('postgres', "SELECT version FROM concurrent_edit.read('$fa')");
my $many = sub {
    my (@w) = @_;
    return 'jsonb_build_array(' . join(', ', map { "jsonb_build_object('file_id', '$_->[0]', 'content', '$_->[1]', "
        . "'base_version', $_->[2], 'author', '$author')" } @w) . ')';
};
is($router->safe_psql('postgres', "SELECT string_agg(status || ' ' || version, ',') FROM concurrent_edit.write_many("
    . $many->([$fa, 'many a', $va], [$fa2, 'many b', 1]) . ')'), 'written ' . ($va + 1) . ',written 2',
    'router: write_many writes two files of a project on its shard');
is($shards[0]->safe_psql('postgres', "SELECT string_agg(head_version::text, ',' ORDER BY id = '$fa' DESC) "
    . "FROM concurrent_edit.files WHERE id IN ('$fa', '$fa2')"), ($va + 1) . ',2', 'both stored on shard 1');
($state, $out, $err) = on_router('SELECT * FROM concurrent_edit.write_many('
    . $many->([$fa, 'many c', $va + 1], [$file{$pc}, 'elsewhere', 1]) . ')');
is($state, 'VC007', 'router: a write_many with a file of another shard gives that shard\'s VC007');
like($err, qr/ERROR:  VC007: file $file{$pc} does not exist/, 'naming the file shard 1 does not have');
is($shards[0]->safe_psql('postgres', "SELECT head_version FROM concurrent_edit.files WHERE id = '$fa'"), $va + 1,
    'and nothing of the call is stored');
($state, $out, $err) = on_router(q{SELECT * FROM concurrent_edit.write_many('{}')});
is($state, '22023', 'router: write_many of a non-array gives the shard\'s 22023');
like($err, qr/DETAIL:  \{"argument": "writes", "type": "object"\}/, 'with its JSON DETAIL');
($state, $out, $err) = on_router('SELECT * FROM concurrent_edit.write_many(NULL)');
is($state, '22004', 'router: write_many(NULL) gives 22004');

# changes_since through the router is the shard's feed, and catches up by cursor.
my $direct = $shards[1]->safe_psql('postgres', "SELECT string_agg(cursor || ':' || event, ',' ORDER BY cursor) "
    . "FROM concurrent_edit.changes_since('$pb', 0)");
is($router->safe_psql('postgres', "SELECT string_agg(cursor || ':' || event, ',' ORDER BY cursor) "
    . "FROM concurrent_edit.changes_since('$pb', 0)"), $direct, 'router: changes_since is the shard\'s feed');
my $pos = $router->safe_psql('postgres', "SELECT concurrent_edit.feed_position('$pb')");
$router->safe_psql('postgres', "SELECT concurrent_edit.write('$f', 'caught up', 5, '$author')");
is($router->safe_psql('postgres', "SELECT string_agg(event, ',') FROM concurrent_edit.changes_since('$pb', $pos)"),
    'version', 'router: changes_since from the last cursor gives what came after');
is($router->safe_psql('postgres', "SELECT concurrent_edit.channel_name('$pb')"),
    $shards[1]->safe_psql('postgres', "SELECT concurrent_edit.channel_name('$pb')"),
    'router: channel_name, to LISTEN on the shard project_shard() names');

# Rights: the shard checks the calling role.
($state) = on_router("SELECT content FROM concurrent_edit.read('$f')", 'alice');
is($state, '42501', 'router: alice, without rights on the project, is refused by the shard');
$router->safe_psql('postgres', "SELECT concurrent_edit.grant_project('$pb', 'alice', 'read')");
($state, $out) = on_router("SELECT content FROM concurrent_edit.read('$f')", 'alice');
is("$state$out", 'caught up', 'router: after grant_project through the router, alice reads');
($state) = on_router("SELECT * FROM concurrent_edit.write('$f', 'x', 6)", 'alice');
is($state, '42501', 'router: alice cannot write with a read right');
($state) = on_router("SELECT * FROM concurrent_edit.router_configure(ARRAY['host=/tmp'])", 'alice');
is($state, '42501', 'router: alice cannot reconfigure the router');
($state) = on_router("INSERT INTO concurrent_edit.router_directory VALUES ('$f', 'file', '$pa')", 'alice');
is($state, '42501', 'router: alice cannot plant a route in the directory');

# --- attacks on the router's connections to the shards -----------------------
# PL/Proxy needs USAGE on the server for every caller, which lets a role create a
# user mapping for itself: naming user postgres, every call would reach the
# shards as a superuser (trust on the shards). An event trigger refuses it.
($state, $out, $err) = on_router("CREATE USER MAPPING FOR alice SERVER concurrent_edit_shards OPTIONS (user 'postgres')",
    'alice');
is($state, '42501', 'router: alice cannot create a user mapping of the shards\' server (it could name user postgres)');
like($err, qr/only a superuser may create or alter a user mapping for the server concurrent_edit_shards\n.*DETAIL:  \{"server": "concurrent_edit_shards"\}/s,
    '... refused by the router\'s guard, with its JSON DETAIL (not a permission error on a catalog)');
# The guard reads the mappings as the role making one: a mapping without options
# of the shards' server (it connects as alice) and one of another server are
# allowed. (Before, every mapping made by a role that is not a superuser was
# refused: the guard read pg_user_mapping, which only superusers may read.)
($state, $out, $err) = on_router("CREATE USER MAPPING FOR alice SERVER concurrent_edit_shards", 'alice');
is("$state$err", '', 'router: alice may create a user mapping without options of the shards\' server');
($state, $out, $err) = on_router("ALTER USER MAPPING FOR alice SERVER concurrent_edit_shards OPTIONS (ADD user 'postgres')",
    'alice');
like("$state $err", qr/^42501 .*only a superuser may create or alter a user mapping/s,
    'router: ... but not give it options (ALTER USER MAPPING)');
$router->safe_psql('postgres', q{CREATE FOREIGN DATA WRAPPER ce_test_wrapper; CREATE SERVER ce_test_other
    FOREIGN DATA WRAPPER ce_test_wrapper; GRANT USAGE ON FOREIGN SERVER ce_test_other TO alice});
($state, $out, $err) = on_router("CREATE USER MAPPING FOR alice SERVER ce_test_other OPTIONS (user 'bob')", 'alice');
is("$state$err", '', 'router: a user mapping of another server is none of the guard\'s business');
is($router->safe_psql('postgres', q{SELECT string_agg(srvname || ':' || coalesce(array_to_string(umoptions, ','), '-'), ' '
    ORDER BY srvname) FROM pg_user_mappings WHERE usename = 'alice'}), 'ce_test_other:user=bob concurrent_edit_shards:-',
    'router: ... both mappings made, the shards\' one still without options');
$router->safe_psql('postgres', q{DROP USER MAPPING FOR alice SERVER concurrent_edit_shards;
    DROP SERVER ce_test_other CASCADE; DROP FOREIGN DATA WRAPPER ce_test_wrapper});
($state) = on_router("SELECT content FROM concurrent_edit.read('$file{$pa}')", 'alice');
is($state, '42501', 'router: ... and still reaches the shards as herself (no right on project A)');
is($router->safe_psql('postgres', q{SELECT count(*) FROM pg_user_mappings WHERE srvname = 'concurrent_edit_shards'
    AND usename = 'alice'}), '0', 'router: no mapping was left behind');
# A connection string naming a user (every caller would connect as it), a
# password (published in router_partitions), options, or a URI is refused.
# So is a value holding "user=" (PL/Proxy adds the caller's user= only to a string
# without one: every caller connected as the router server's OS user).
for my $bad ("host=/tmp user=postgres", "host=/tmp password=secret", "host=/tmp options='-c search_path=public'",
             "host=/tmp application_name=ce_user=router",
             "postgresql:///postgres?host=/tmp", "this is garbage") {
    ($state, $out, $err) = on_router("SELECT concurrent_edit.router_configure(ARRAY[\$q\$$bad\$q\$])");
    is($state, '22023', "router_configure refuses the connection string \"$bad\"");
    like($err, qr/DETAIL:  \{"argument": "shards", "shard": 1/, '... with a JSON DETAIL naming the shard');
}
# Shards of two dimensions: 22023 with a JSON DETAIL (before: 0A000 from a search
# of the array, without one).
($state, $out, $err) = on_router(q{SELECT concurrent_edit.router_configure('{{"host=/tmp"},{"host=/tmp"}}', 4)});
is($state, '22023', 'router_configure refuses shards of two dimensions');
like($err, qr/DETAIL:  \{"argument": "shards", "dimensions": 2\}/, '... with a JSON DETAIL');
is($router->safe_psql('postgres', 'SELECT count(*) FROM concurrent_edit.router_partitions'), '16',
    'router: the refused configurations changed nothing');
# Shards whose array starts at another index than 1 are numbered from 1 in their
# order (before: 23502, the shard of index 1 missing).
my $layout = 'SELECT string_agg(partition || \':\' || shard || \':\' || conninfo, \',\' ORDER BY partition)
    FROM concurrent_edit.router_partitions';
my $before = $router->safe_psql('postgres', $layout);
my $shifted = '[2:4]={' . join(',', map { '"host=' . $_->host . ' port=' . $_->port . ' dbname=postgres"' } @shards) . '}';
is($router->safe_psql('postgres', "SELECT concurrent_edit.router_configure('$shifted', 16)"), '16',
   'router_configure takes shards of any lower bound');
is($router->safe_psql('postgres', $layout), $before, '... numbered from 1 in their order');
# A shard database's owner (not a superuser) sets its database's search_path so
# that the type names in PL/Proxy's remote queries ($1::text) resolve to its own
# domain, whose check runs as whoever connects: _route connects as the router's
# owner. Every shard session pins search_path, so nothing of it runs.
$shards[0]->safe_psql('postgres', q{
    CREATE ROLE mallory LOGIN;
    CREATE TABLE public.evil_log (who text);
    GRANT INSERT ON public.evil_log TO PUBLIC;
    ALTER DATABASE postgres OWNER TO mallory;
    SET ROLE mallory;
    CREATE FUNCTION public.evil(text) RETURNS boolean LANGUAGE plpgsql
        AS $$ BEGIN INSERT INTO public.evil_log VALUES (current_user); RETURN true; END $$;
    CREATE DOMAIN public.text AS pg_catalog.text CHECK (public.evil(VALUE));
    CREATE DOMAIN public.uuid AS pg_catalog.uuid CHECK (public.evil(VALUE::pg_catalog.text));
    ALTER DATABASE postgres SET search_path = public, pg_catalog;
    RESET ROLE;});
$shards[0]->safe_psql('postgres', q{SELECT 'armed'::text});
is($shards[0]->safe_psql('postgres', 'SELECT count(*) FROM public.evil_log'), '1',
    'shard: the trap is armed (a new session of the shard resolves text to the owner\'s domain)');
# The owner also sets the database's role: every session of it, the router
# owner's lookups of ids included, would run as mallory, who reads no project,
# so the shard would seem not to have the file (another shard's twin of it
# would then be kept in the directory for good). Every shard session sets role
# none: each connecting role keeps its own rights.
$shards[0]->safe_psql('postgres', q{SET ROLE mallory; ALTER DATABASE postgres SET role = mallory});
is($shards[0]->safe_psql('postgres', 'SELECT current_user'), 'mallory', 'shard: the database\'s role is armed too');
$router->safe_psql('postgres', "DELETE FROM concurrent_edit.router_directory WHERE id = '$file{$pa}'");
($state, $out) = on_router("SELECT length(content) > 0 FROM concurrent_edit.read('$file{$pa}')");
is("$state$out", 't', 'router: a call routed by its file id (asked of every shard) still works');
is($router->safe_psql('postgres', "SELECT project_id FROM concurrent_edit.router_directory WHERE id = '$file{$pa}'"),
   $pa, 'router: ... and the directory keeps the file\'s own project');
($state, $out) = on_router("SELECT content FROM concurrent_edit.read('$file{$pa}')", 'alice');
is($state, '42501', 'router: ... and alice is still refused');
is($shards[0]->safe_psql('postgres', 'SET ROLE NONE; SELECT count(*) FROM public.evil_log'), '1',
    'shard: the database owner\'s domain never ran for the router (search_path pinned in every shard session)');
$shards[0]->safe_psql('postgres', q{SET ROLE NONE; ALTER DATABASE postgres RESET role;
    ALTER DATABASE postgres RESET search_path; ALTER DATABASE postgres OWNER TO postgres;
    DROP DOMAIN public.text; DROP DOMAIN public.uuid; DROP FUNCTION public.evil(text); DROP TABLE public.evil_log;
    DROP ROLE mallory;});
# In a read-only transaction a call by id routes without keeping the route.
$router->safe_psql('postgres', "DELETE FROM concurrent_edit.router_directory WHERE id = '$file{$pa}'");
($state, $out) = on_router("BEGIN READ ONLY;\nSELECT length(content) > 0 FROM concurrent_edit.read('$file{$pa}');\nCOMMIT;");
is("$state$out", 't', 'router: a call by file id works in a read-only transaction');
is($router->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.router_directory WHERE id = '$file{$pa}'"), '0',
    'router: ... and keeps no route then');

# Every role may call _route, which keeps a route in the directory in the
# caller's transaction: a role holding that transaction open (or prepared) must
# not hold the routed calls of the same id meanwhile (before: they waited on its
# uncommitted entry, here until the statement timeout, 57014).
$router->safe_psql('postgres', "DELETE FROM concurrent_edit.router_directory WHERE id = '$file{$pa}'");
my $keeper = $router->background_psql('postgres', extra_params => [ '-U', 'alice' ]);
$keeper->query_safe("BEGIN; SELECT concurrent_edit._route('file', '$file{$pa}')");
($state, $out) = on_router("SET statement_timeout = '5s';\nSELECT length(content) > 0 FROM concurrent_edit.read('$file{$pa}')");
is("$state$out", 't', 'router: a call by id is not held by another role\'s open transaction that routed the same id');
$keeper->query_safe('COMMIT');
$keeper->quit;
is($router->safe_psql('postgres', "SELECT project_id FROM concurrent_edit.router_directory WHERE id = '$file{$pa}'"),
   $pa, 'router: ... the route is kept by the transaction that kept it first');
# Arguments and results cross to the shards as text: neither the caller's
# DateStyle nor the shard database's changes a date. (Before: a caller's
# 'SQL, DMY' sent 08/12 for 8 December and the shard read 12 August, so
# revert_author(since => in an hour) reverted versions of the past months; a
# shard database's 'SQL, DMY' sent created_at back for the router to misread.)
($state, $out) = on_router("SET DateStyle = 'SQL, DMY';\n"
    . "SELECT count(*) FROM concurrent_edit.revert_author('$f', '$author', since => now() + interval '1 hour')");
is("$state$out", '0', 'router: a caller\'s DateStyle does not change a date sent to the shard (nothing since the next hour)');
$shards[1]->safe_psql('postgres', q{ALTER DATABASE postgres SET DateStyle = 'SQL, DMY'});
($state, $out) = on_router("SELECT bool_and(abs(extract(epoch FROM now() - created_at)) < 3600) "
    . "FROM concurrent_edit.history('$f')");
is("$state$out", 't', 'router: nor a shard database\'s DateStyle a date it returns');
$shards[1]->safe_psql('postgres', q{ALTER DATABASE postgres RESET DateStyle});
# A _px_ function called directly with no hash: 22004, not PL/Proxy's XX000.
($state, $out, $err) = on_router("SELECT * FROM concurrent_edit._px_read(NULL, '$file{$pa}', NULL)", 'alice');
is($state, '22004', 'router: a _px_ function called without a hash gives 22004');

# --- one shard down ----------------------------------------------------------
# A file created on shard 1 directly: the router has never routed its id.
my $direct_file = $shards[0]->safe_psql('postgres',
    "SELECT concurrent_edit.create_file('$pa', 'direct.txt', 'direct', '$author')");
$shards[1]->stop('fast');
($state, $out, $err) = on_router("SELECT content FROM concurrent_edit.read('$f')");
is($state, '08006', 'shard 2 down: its file gives 08006');
like($err, qr/ERROR:  08006: shard 2 of the router is unreachable\nDETAIL:  \{"shard" : 2, /,
    'the error names the shard, with a JSON DETAIL');
($state) = on_router("SELECT * FROM concurrent_edit.list_files('$pb')");
is($state, '08006', 'shard 2 down: a project call of its project gives 08006');
my @p2 = grep { $shard_of{$_} == 2 } sort keys %file;
my @others = grep { $shard_of{$_} != 2 } sort keys %file;
my $ok_others = $router->safe_psql('postgres', 'SELECT count(*) FROM (VALUES '
    . join(',', map { "('$file{$_}'::uuid)" } @others)
    . ") v(f), LATERAL concurrent_edit.write(v.f, E'one\\ntwo\\n', 1, '$author') w WHERE w.version = 2");
is($ok_others, scalar(@others), 'shard 2 down: every project of shards 1 and 3 still writes ('
    . scalar(@others) . ')');
my $failed = 0;
for my $p (@p2[0 .. 4]) {
    my ($s) = on_router("SELECT version FROM concurrent_edit.read('$file{$p}')");
    $failed++ if $s eq '08006';
}
is($failed, 5, 'shard 2 down: each of its projects fails with 08006');
is($router->safe_psql('postgres', "SELECT content FROM concurrent_edit.read('$direct_file')"), 'direct',
    'shard 2 down: an id never routed before is found on the reachable shards');
($state, $out, $err) = on_router("SELECT * FROM concurrent_edit.read('77777777-7777-7777-7777-777777777777')");
is($state, '08006', 'shard 2 down: an id no reachable shard has gives 08006');
like($err, qr/was not found on the reachable shards, and shard 2 is unreachable/, 'naming the shard that is down');
is($router->safe_psql('postgres', "SELECT (concurrent_edit.merge3(E'a\\nb\\nc\\n', E'A\\nb\\nc\\n', E'a\\nb\\nC\\n')).content"),
    "A\nb\nC\n", 'the pure functions run on the router itself');
is($router->safe_psql('postgres', "SELECT string_agg(DISTINCT p.proname || ':' || l.lanname, ',') FROM pg_proc p "
    . "JOIN pg_language l ON l.oid = p.prolang WHERE p.pronamespace = 'concurrent_edit'::regnamespace "
    . "AND p.proname IN ('merge3', 'jsonb_merge3', 'vclock_merge')"), 'jsonb_merge3:c,merge3:c,vclock_merge:c',
    'the pure functions are the library\'s own on the router, not routed (PL/Proxy)');

$shards[1]->start;
is($router->safe_psql('postgres', "SELECT content FROM concurrent_edit.read('$f')"), 'caught up',
    'shard 2 back: its projects work again');
is($router->safe_psql('postgres', 'SELECT count(*) FROM (VALUES '
    . join(',', map { "('$file{$_}'::uuid)" } @p2)
    . ") v(f), LATERAL concurrent_edit.read(v.f) r"), scalar(@p2), 'shard 2 back: every one of its files reads');

# --- A file id planted in another project, on another shard ------------------
# Ids are unique on each shard only, and create_file takes a caller's file_id: a
# role writing project A (shard 1) makes a file with the id of B's file (shard 2).
# Through the router that is refused: the id exists on a shard (23505). Made
# directly on shard 1, the router still never sends calls on that id there: the
# directory knows B's file since B's file was made, and without it the router
# refuses the ambiguous id (21000) instead of routing to the first shard that
# answers.
my $victim = $file{$pb};
($state, $out, $err) = on_router("SELECT concurrent_edit.create_file('$pa', 'trap.txt', E'planted\\n', '$author', "
    . "file_id => '$victim')");
is($state, '23505', 'through the router, a file with B\'s file id is refused in A (23505)');
like($err, qr/DETAIL:  \{"file_id" : "$victim"\}/, 'with a JSON DETAIL naming the id') or diag($err);
is($shards[0]->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.files WHERE id = '$victim'"), '0',
   'and nothing is made on A\'s shard');
is($shards[0]->safe_psql('postgres', "SELECT concurrent_edit.create_file('$pa', 'trap.txt', E'planted\\n', '$author', "
    . "file_id => '$victim')"), $victim, 'a file with B\'s file id created in A directly on shard 1');
is($router->safe_psql('postgres', "SELECT content FROM concurrent_edit.read('$victim')"), 'caught up',
    'the router still reads B\'s file (its directory entry)');
$router->safe_psql('postgres', "DELETE FROM concurrent_edit.router_directory WHERE id = '$victim'");
($state, $out, $err) = on_router("SELECT content FROM concurrent_edit.read('$victim')");
is($state, '21000', 'directory emptied: the id claimed by two shards is refused (21000)');
like($err, qr/exists in more than one project, on shards 1, 2/, 'naming both shards');
unlike($out, qr/planted/, 'and the planted file is not read');
is($router->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.router_directory WHERE id = '$victim'"), '0',
    'nor kept in the directory');

# A file made through the router is in the directory at once, before any call
# names it: a twin made afterwards on another shard (its id learnt from the
# feed's NOTIFY) does not make it unreachable. (Before, the first routed call
# found two claims and refused the id: 21000 for every caller, for good.)
my $fresh = $router->safe_psql('postgres', "SELECT concurrent_edit.create_file('$pb', 'fresh.txt', 'mine', '$author')");
is($router->safe_psql('postgres', "SELECT project_id FROM concurrent_edit.router_directory WHERE id = '$fresh'"), $pb,
   'a file made through the router is kept in the directory at once');
$shards[0]->safe_psql('postgres', "SELECT concurrent_edit.create_file('$pa', 'twin.txt', E'twin\\n', '$author', "
    . "file_id => '$fresh')");
is($router->safe_psql('postgres', "SELECT content FROM concurrent_edit.read('$fresh')"), 'mine',
   'a twin made afterwards on another shard does not take its calls');
# A file id a caller gives is checked on every shard: while one is down, it is
# refused (the shard down could hold it in another project).
$shards[2]->stop;
($state, $out, $err) = on_router("SELECT concurrent_edit.create_file('$pb', 'chosen.txt', E'x\\n', '$author', "
    . "file_id => '12121212-1212-1212-1212-121212121212')");
is($state, '08006', 'a chosen file id while a shard is down: 08006');
$shards[2]->start;
is($router->safe_psql('postgres', "SELECT concurrent_edit.create_file('$pb', 'chosen.txt', E'x\\n', '$author', "
    . "file_id => '12121212-1212-1212-1212-121212121212')"), '12121212-1212-1212-1212-121212121212',
   'and accepted once every shard answers');

# The _px_ functions are executable by every role (PL/Proxy connects as the
# caller), but those routed by a project do not take their shard from their
# caller: a direct call with another partition's hash runs on its project's shard.
# (Before, _px_create_file put the project's file on the shard named: a twin of a
# file id of that shard, and that file refused to everyone.)
my $other_hash = $router->safe_psql('postgres', "SELECT concurrent_edit.project_hash('$pb')");
my $made = $router->safe_psql('postgres', "SELECT concurrent_edit._px_create_file($other_hash, '$pa', 'px-own.txt', "
    . "'y', '$author', NULL, NULL)");
my $pa_shard = $router->safe_psql('postgres', "SELECT (concurrent_edit.project_shard('$pa')).shard");
is($shards[$pa_shard - 1]->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.files WHERE id = '$made'"), '1',
   '_px_create_file runs on its project\'s shard, whatever hash it is given');

# DROP EXTENSION concurrent_edit_router leaves the server (it is data, made by
# router_configure), and with it no guard: a role with USAGE could create a
# mapping naming user postgres meanwhile. CREATE EXTENSION drops such a server.
$router->safe_psql('postgres', 'DROP EXTENSION concurrent_edit_router');
($state, $out, $err) = on_router("CREATE USER MAPPING FOR alice SERVER concurrent_edit_shards OPTIONS (user 'postgres')",
    'alice');
is("$state$err", '', 'extension dropped: no guard of the shards\' server (a mapping naming postgres is made)');
$router->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit_router');
is($router->safe_psql('postgres', q{SELECT count(*) FROM pg_foreign_server WHERE srvname = 'concurrent_edit_shards'}), '0',
   'CREATE EXTENSION drops the server left behind');
is($router->safe_psql('postgres', q{SELECT count(*) FROM pg_user_mappings WHERE usename = 'alice'}), '0',
   '... with the mapping made in the gap');
is($router->safe_psql('postgres', "SELECT concurrent_edit.router_configure(ARRAY[$conninfos], 16)"), '16',
   'router_configure again');
($state, $out) = on_router("SELECT concurrent_edit.has_project_right('$pb', 'admin')", 'alice');
is("$state$out", 'f', 'alice calls the shards as herself again');

$_->stop for @shards, $router;
done_testing();
