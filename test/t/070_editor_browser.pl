# The collaborative editor of examples/editor in a real browser: the gateway
# (server.js, Node with pg and ws, as an ordinary role with `write` on the
# project) serves the page with two editors side by side, each its own session;
# test/editor/browser.js drives them in headless Chromium (Debian's, through
# playwright-core) and records what each step showed; this test asserts on it and
# on the database:
#  * A types and saves, B shows the text without a reload;
#  * B's autosaved draft shows in A's presence; B saves from a stale base and
#    merges cleanly;
#  * B saves the line A changed from a stale base: 409 with the conflict markers,
#    then B resolves (theirs) and A shows the resolution; a second conflict is
#    resolved with the text as B edits it;
#  * A locks; B's save is refused with 423 naming alice;
#  * history with a diff;
#  * the gateway is killed, a version is written while it is down, and B
#    reconnects and catches up from its cursor to the feed's position;
#  * the events the gateway has not read are pruned (VC012): its feed goes on and
#    both tabs re-read the file;
#  * B saves while A's answer is held: A ends on the head, not its older version;
#  * A types while its save is on its way: the typing is kept, unsaved;
#  * B's session is closed underneath (VC005): B opens a new one and saves;
#  * 100 saves of A, timed until B shows them (p50 and p99 printed).
# Before the browser, over HTTP and WebSockets: the refusals (SQLSTATE -> HTTP),
# bodies that are not JSON objects, other origins, file requests and sockets
# without a session of the file's project, /conflicts/resolve through another
# file or session, drafts without content, and sockets: bounded, and none leaves
# a tab or a LISTEN channel behind (GET /api/v1/status); sessions used without
# their token, projects the gateway does not serve, Hosts it does not answer to
# (DNS rebinding), bad frames and floods, and at most 4 sockets per session.
# Screenshots of each step: the test's log folder, screenshots/.
# Without Chromium this test fails (it never skips).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use File::Copy;
use File::Path qw(make_path);
use File::Temp ();
use HTTP::Tiny;
use IO::Socket::INET;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use CETest;

my $started = time();
my $root = $ENV{CE_ROOT} // "$FindBin::Bin/../..";
my $chromium = $ENV{CE_CHROMIUM} // '/usr/bin/chromium';

ok(-x $chromium, "Chromium is installed at $chromium")
  or BAIL_OUT("no Chromium at $chromium: scripts/bootstrap.sh installs Debian's chromium (make deps)");

my $node = new_node('editor',
    "shared_preload_libraries = 'concurrent_edit'\nconcurrent_edit.worker_interval = 200ms\n");
$node->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
my $project = '70707070-7070-7070-7070-707070707070';
my $other = '71717171-7171-7171-7171-717171717171';
$node->safe_psql('postgres', qq{
    CREATE ROLE editor_gateway LOGIN; CREATE ROLE mallory LOGIN;
    SELECT concurrent_edit.grant_project('$project', 'editor_gateway', 'write');});
my $file = $node->safe_psql('postgres',
    "SELECT concurrent_edit.create_file('$project', 'notes.md', E'Title\\nline two\\nline three\\nline four\\n', "
  . "'00000000-0000-0000-0000-0000000000c0')");
my $foreign = $node->safe_psql('postgres',
    "SELECT concurrent_edit.create_file('$other', 'secret.md', E'no\\n', '00000000-0000-0000-0000-0000000000c0')");
# A second project the gateway's role writes too: its sessions are no key to the first.
my $second = '72727272-7272-7272-7272-727272727272';
$node->safe_psql('postgres', "SELECT concurrent_edit.grant_project('$second', 'editor_gateway', 'write')");
my $second_file = $node->safe_psql('postgres',
    "SELECT concurrent_edit.create_file('$second', 'other.md', E'other\\n', '00000000-0000-0000-0000-0000000000c0')");
# A third the role writes but the gateway does not serve (not in EDITOR_PROJECTS).
my $third = '74747474-7474-7474-7474-747474747474';
$node->safe_psql('postgres', "SELECT concurrent_edit.grant_project('$third', 'editor_gateway', 'write')");
# The session tokens the gateway gave (session id -> token): http() and wsq() show them.
my %token;

# --- npm ci of the example's locked dependencies, in the test's directory ------
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $dir = "$tmp/editor";
make_path("$dir/public");
copy("$root/examples/editor/$_", "$dir/$_") or die "copy $_: $!"
  for qw(package.json package-lock.json server.js live.js public/index.html public/app.js public/style.css);
copy("$root/test/editor/$_", "$dir/$_") or die "copy $_: $!" for qw(browser.js ws_probe.js);
my ($npm_out, $npm_err) = ('', '');
my $npm_ok = IPC::Run::run(
    [ 'npm', 'ci', '--no-audit', '--no-fund', '--cache', "$tmp/npm-cache" ],
    '<', \undef, '>', \$npm_out, '2>', \$npm_err, init => sub { chdir $dir or die $!; });
ok($npm_ok && -d "$dir/node_modules/ws" && -d "$dir/node_modules/playwright-core",
    'npm ci installed pg, ws and playwright-core for examples/editor')
  or BAIL_OUT("npm ci failed:\n$npm_out$npm_err");

# --- the gateway's refusals, over HTTP, before the browser ----------------------
my $port = PostgreSQL::Test::Cluster::get_free_port();
my %genv = (%ENV, PGHOST => $node->host, PGPORT => $node->port, PGDATABASE => 'postgres',
            PGUSER => 'editor_gateway', PORT => $port, ALLOWED_ORIGINS => 'http://allowed.example',
            MAX_SOCKETS => 6, EDITOR_PROJECTS => "$project,$second", EDITOR_ALLOWED_HOSTS => 'editor.example:8443');
my ($gout, $gerr) = ('', '');
{
    local %ENV = %genv;
    my $g = IPC::Run::start([ 'node', "$dir/server.js" ], '<', \undef, '>', \$gout, '2>', \$gerr);
    my $deadline = time() + 30;
    eval { $g->pump_nb }, select(undef, undef, undef, 0.1) while $gerr !~ /gateway listening/ && time() < $deadline;
    like($gerr, qr{gateway listening on http://localhost:$port/}, 'the gateway prints its URL');
    my $s = http('POST', '/api/v1/sessions', { name => 'carol', projectId => $project });
    is($s->{status}, 200, 'POST /api/v1/sessions opens a session as the gateway role');
    my $sid = $s->{body}{sessionId};
    like($s->{body}{token} // '', qr/^[A-Za-z0-9_-]{43}$/, '... and gives its tab a secret token (32 bytes, base64url)');
    my $r = http('POST', "/api/v1/files/$file/edit", { sessionId => $sid, baseVersion => 99, content => "x\n" });
    is($r->{status}, 410, 'a base version that does not exist: VC006 -> 410');
    is($r->{body}{sqlstate}, 'VC006', '... with the SQLSTATE');
    is(ref $r->{body}{detail}, 'HASH', '... and the DETAIL parsed as JSON');
    $r = http('GET', "/api/v1/files/00000000-0000-0000-0000-000000000077?sessionId=$sid");
    is("$r->{status} $r->{body}{sqlstate} $r->{body}{detail}{file_id}",
       '404 VC007 00000000-0000-0000-0000-000000000077', 'an unknown file: VC007 -> 404 with its id');
    $r = http('GET', "/api/v1/files/$foreign?sessionId=$sid");
    is("$r->{status} $r->{body}{sqlstate} $r->{body}{detail}{needs}", '403 42501 read',
       'a file of a project the gateway role has no right on: 42501 -> 403');
    # A draft needs its text and base version, as a save does (String(undefined) was
    # saved as the text "undefined").
    $r = http('POST', "/api/v1/files/$file/draft", { sessionId => $sid, baseVersion => 1 });
    is("$r->{status} $r->{body}{error}", '400 content must be a string', 'a draft without content: 400');
    $r = http('POST', "/api/v1/files/$file/draft", { sessionId => $sid, baseVersion => 'one', content => "x\n" });
    is("$r->{status} $r->{body}{error}", '400 baseVersion must be a version number', 'a draft with a bad base version: 400');
    is($node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.session_drafts('$sid')"), '0',
       '... and no draft was saved');
    # Every file request and socket needs a live session of the file's project.
    is(http('GET', "/api/v1/files/$file")->{status}, 400, 'GET of a file without a session: 400');
    is(http('GET', "/api/v1/files/$file/presence")->{status}, 400, 'presence without a session: 400');
    is(http('GET', "/api/v1/files/$file?sessionId=00000000-0000-0000-0000-000000000005")->{body}{sqlstate}, 'VC005',
       'GET of a file with an unknown session: VC005');
    my $sid2 = http('POST', '/api/v1/sessions', { name => 'dave', projectId => $second })->{body}{sessionId};
    # The session id is public (presence, locks, the feed): without its token it is no key.
    $r = http('GET', "/api/v1/files/$file?sessionId=$sid", undef, { 'x-session-token' => undef });
    is("$r->{status} $r->{body}{error}", '401 x-session-token is required', 'a session used without its token: 401');
    $r = http('POST', "/api/v1/files/$file/edit", { sessionId => $sid, baseVersion => 1, content => "x\n" },
              { 'x-session-token' => $token{$sid2} });
    is("$r->{status} $r->{body}{error}", '403 wrong session token', "... with another session's token: 403");
    my $wt = ws_probe([ { url => "project=$project&session=$sid" },
                        { url => "project=$project&session=$sid", token => $token{$sid2} },
                        { url => "project=$project&session=$sid&token=$token{$sid}" } ]);
    is(join(' ', map { ($_->{messages}[0]{status} // '') . ' ' . ($_->{close} // '') } @$wt), '401 1008 403 1008 401 1008',
       '... and its socket, without the token, with a wrong one or with its own in the URL (which logs keep), is refused');
    my $wok = ws_probe([ +{ wsq($project, $sid) } ]);
    is(($wok->[0]{messages}[0]{type} // '') . ' ' . ($wok->[0]{protocol} // ''), 'hello ce.v1',
       '... with its token as a subprotocol it is served, and the answer names ce.v1 only');
    # The gateway serves its projects only, whatever else its role may write.
    $r = http('POST', '/api/v1/sessions', { name => 'eve', projectId => $third });
    is("$r->{status} $r->{body}{error}", '403 the gateway does not serve this project',
       'a session of a project the role writes but the gateway does not serve: 403');
    is($node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.project_sessions('$third')"), '0',
       '... and none was opened');
    is(http('GET', "/api/v1/files/$second_file?sessionId=$sid2")->{status}, 200, "a session reads its project's file");
    $r = http('GET', "/api/v1/files/$file?sessionId=$sid2");
    is("$r->{status} $r->{body}{sqlstate} $r->{body}{detail}{project_id}", "403 42501 $second",
       "a session of another project of the gateway's role reads no file of this one: 403");
    is(http('GET', "/api/v1/files/$file/presence?sessionId=$sid2")->{status}, 403, '... nor its presence');
    is(http('POST', "/api/v1/files/$file/edit", { sessionId => $sid2, baseVersion => 1, content => "x\n" })->{status},
       403, '... nor writes it');
    my $ws2 = ws_probe([ +{ wsq($project, $sid2) } ]);
    is(join(' ', map { $_ // '' } $ws2->[0]{messages}[0]{type}, $ws2->[0]{messages}[0]{status}, $ws2->[0]{close}),
       'error 403 1008', "nor follows its feed: the socket is refused (403) and closed");
    # A conflict is resolved only by a valid session, through its own file's URL;
    # before, resolve_conflict ran first (and wrote), and the session was checked after.
    my ($cf, $another) = map {
        $node->safe_psql('postgres', "SELECT concurrent_edit.create_file('$project', '$_', E'one\\ntwo\\n', "
                                   . "'00000000-0000-0000-0000-0000000000c0')") } qw(conflicted.md another.md);
    http('POST', "/api/v1/files/$cf/edit", { sessionId => $sid, baseVersion => 1, content => "one by carol\ntwo\n" });
    $r = http('POST', "/api/v1/files/$cf/edit", { sessionId => $sid, baseVersion => 1, content => "one by eve\ntwo\n" });
    my $cid = $r->{body}{conflictId};
    is($r->{status}, 409, 'a conflict to resolve');
    my %attack = (conflictId => $cid, content => "attacker text\n");
    $r = http('POST', "/api/v1/files/$another/conflicts/resolve", { sessionId => '00000000-0000-0000-0000-000000000000', %attack });
    is("$r->{status} $r->{body}{sqlstate}", '401 VC005', "resolve with an unknown session, through another file's URL: 401");
    $r = http('POST', "/api/v1/files/$another/conflicts/resolve", { sessionId => $sid, %attack });
    is("$r->{status} $r->{body}{error}", '404 no such conflict of this file', "a valid session, through another file's URL: 404");
    is(http('POST', "/api/v1/files/$cf/conflicts/resolve", { sessionId => $sid2, %attack })->{status}, 403,
       "a session of another project, through the conflict's file: 403");
    is($node->safe_psql('postgres', "SELECT version || ' ' || content FROM concurrent_edit.read('$cf')"),
       "2 one by carol\ntwo\n", '... none of them wrote anything');
    is($node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.list_conflicts('$cf')"), '1',
       '... and the conflict is still open');
    $r = http('POST', "/api/v1/files/$cf/conflicts/resolve", { sessionId => $sid, conflictId => $cid, choose => 'theirs' });
    is("$r->{status} $r->{body}{version} $r->{body}{content}", "200 3 one by eve\ntwo\n", 'the session resolves its conflict');
    is($node->safe_psql('postgres', "SELECT resolved_by FROM concurrent_edit.list_conflicts('$cf', include_resolved => true)"),
       $s->{body}{userId}, '... as its user');
    $r = http('POST', "/api/v1/files/$file/lock", { sessionId => $sid, lockType => 'sideways' });
    is("$r->{status} $r->{body}{sqlstate}", '400 22023', 'an unknown lock type: 22023 -> 400');
    $r = http('POST', "/api/v1/files/$file/edit", 'not json');
    is($r->{status}, 400, 'a body that is not JSON: 400');
    $r = http('POST', "/api/v1/files/$file/edit", { sessionId => $sid, baseVersion => 1, content => 'x' x (1 << 21) });
    is($r->{status}, 413, 'a body over the limit: 413');
    $r = http('POST', "/api/v1/files/$file/edit",
              { sessionId => '00000000-0000-0000-0000-000000000005', baseVersion => 1, content => "x\n" });
    is("$r->{status} $r->{body}{sqlstate}", '401 VC005', 'an unknown session: VC005 -> 401');
    is(http('DELETE', "/api/v1/sessions/$sid")->{status}, 404, 'no route: 404');
    # Bodies are JSON objects sent as JSON; pages of other origins are refused.
    $r = http('POST', '/api/v1/sessions', 'null');
    is("$r->{status} $r->{body}{error}", '400 body must be a JSON object', 'a body of null: 400, not a TypeError');
    is(http('POST', '/api/v1/sessions', '[]')->{status}, 400, 'a body that is an array: 400');
    $r = http('POST', '/api/v1/sessions', encode_json({ name => 'eve', projectId => $project }),
              { 'content-type' => 'text/plain' });
    is($r->{status}, 415, 'a body sent as text/plain (a cross-site form may): 415');
    $r = http('POST', '/api/v1/sessions', { name => 'eve', projectId => $project }, { origin => 'http://evil.example' });
    is("$r->{status} $r->{body}{error}", '403 origin not allowed', 'a request from a page of another origin: 403');
    is(http('GET', '/api/v1/config', undef, { origin => 'http://evil.example' })->{status}, 403, '... a GET too');
    is(http('GET', '/api/v1/config', undef, { origin => "http://localhost:$port" })->{status}, 200,
       'the gateway\'s own origin is allowed');
    is(http('GET', '/api/v1/config', undef, { origin => 'http://allowed.example' })->{status}, 200,
       'and an origin of ALLOWED_ORIGINS');
    my $ws = ws_probe([ +{ wsq($project, $sid), origin => 'http://evil.example' },
                        +{ wsq($project, $sid), origin => "http://127.0.0.1:$port" },
                        +{ wsq($project, $sid), host => "evil.example:$port", origin => "http://evil.example:$port" } ]);
    like($ws->[0]{error} // '', qr/403/, 'a socket from a page of another origin: refused before the upgrade (403)');
    is($ws->[1]{messages}[0]{type}, 'hello', 'a socket from the gateway\'s own origin is served');
    like($ws->[2]{error} // '', qr/403/, 'a socket asked by another name (DNS rebinding), of that origin: 403');
    # DNS rebinding: a page of evil.example, its name rebound to this address, sends
    # Host: evil.example and the matching Origin. Before, that origin was "the gateway's own".
    is(raw_get("evil.example:$port", "http://evil.example:$port"), 403, 'a request asked by another name (Host): 403');
    is(raw_get("evil.example:$port", undef), 403, '... without Origin too');
    is(raw_get("localhost:$port", "http://evil.example:$port"), 403, 'an Origin of another host, Host allowed: 403');
    is(raw_get('editor.example:8443', 'https://editor.example:8443'), 200, 'a name of EDITOR_ALLOWED_HOSTS is served');
    is(raw_get("127.0.0.1:$port", undef), 200, 'and so is 127.0.0.1');
    # Bad frames, floods: a frame over 64 KiB, a text frame that is not UTF-8 (each
    # made ws emit an 'error' no one handled: the gateway exited), JSON null (a
    # TypeError's stack in the log), 500 heartbeats (each one a touch_session).
    my $bad = ws_probe([ +{ wsq($project, $sid), send => [ { size => 70000 } ] },
                         +{ wsq($project, $sid), send => [ { badUtf8 => JSON::PP::true } ] },
                         +{ wsq($project, $sid), send => [ 'null', '[]', 'not json', '{"type":"heartbeat"}' ] } ], 1500);
    is(join(' ', map { $_->{close} // 'open' } @$bad[0, 1]), '1009 1007',
       'a frame over 64 KiB (1009) and a text frame that is not UTF-8 (1007): the socket is closed');
    is(http('GET', "/api/v1/files/$file?sessionId=$sid")->{status}, 200, '... and the gateway still serves');
    eval { $g->pump_nb };
    unlike($gerr, qr/TypeError|at .*live\.js/, 'messages of null, [], not JSON: ignored, no stack in the log');
    my $flood = ws_probe([ +{ wsq($project, $sid), send => [ { repeat => 500, text => '{"type":"heartbeat"}' } ] } ], 1500);
    is(($flood->[0]{close} // 'open') . ' ' . ($flood->[0]{reason} // ''), '1008 too many messages',
       'a socket sending 500 heartbeats at once is closed (1008)');
    cmp_ok(scalar(grep { ref $_ && ($_->{type} // '') eq 'heartbeat' } @{ $flood->[0]{messages} }), '<=', 1,
       '... having run touch_session once at most');
    # Any role may NOTIFY on any channel: one without any right forges payloads on
    # the project's channel while a tab follows it. Before, BigInt() of a cursor
    # that is not a number threw out of the feed's notification handler and ended
    # the gateway with every tab it served; it now ignores them.
    my ($tout, $terr) = ('', '');
    my $tab = IPC::Run::start(
        [ 'node', '-e', 'const W = require("ws"); const w = new W(process.argv[1], ["ce.v1", "ce.token." + process.argv[2]]); '
                      . 'w.on("message", (m) => console.log(String(m))); w.on("close", () => console.log("closed"));',
          "ws://127.0.0.1:$port/ws?project=$project&session=$sid", $token{$sid} ],
        '<', \undef, '>', \$tout, '2>', \$terr, init => sub { chdir $dir or die $!; });
    $deadline = time() + 30;
    eval { $tab->pump_nb }, select(undef, undef, undef, 0.1) while $tout !~ /"hello"/ && time() < $deadline;
    like($tout, qr/"type":"hello"/, 'a tab follows the project');
    my $chan = $node->safe_psql('postgres', "SELECT concurrent_edit.channel_name('$project')");
    for my $forged (qq({"project_id": "$project", "cursor": "x"}), qq({"project_id": "$project", "cursor": 1.5}),
                    qq({"project_id": "$project"}), 'null', 'not json') {
        $node->safe_psql('postgres', "SELECT pg_notify('$chan', \$\$$forged\$\$)", extra_params => [ '-U', 'mallory' ]);
    }
    $deadline = time() + 1;
    (eval { $g->pump_nb }, eval { $tab->pump_nb }, select(undef, undef, undef, 0.1)) while time() < $deadline;
    is(http('GET', "/api/v1/files/$file?sessionId=$sid")->{status}, 200, 'forged notifications: the gateway still serves');
    eval { $tab->pump_nb };
    unlike($tout, qr/closed/, 'and the tab is still connected');
    $tab->kill_kill;

    # Sockets: at most MAX_SOCKETS (6 here) at once, and none leaves a tab or a
    # LISTEN channel behind, whether refused, cut during its setup, or closed after.
    # Before, a socket naming any project id added a channel (refused with 42501
    # only after its LISTEN), no channel was ever UNLISTENed, and a socket closed
    # before its tab was registered left the tab for good.
    my $st = gateway_idle();
    is("$st->{sockets} $st->{tabs} $st->{projects} $st->{channels}", '0 0 0 0',
       'the gateway, its sockets closed: no tab, no project followed, no LISTEN channel');
    my $refused = 0;
    for my $batch (0 .. 4) {
        my $got = ws_probe([ map { +{ wsq(sprintf('7300%04d-0000-4000-8000-000000000000', $batch * 6 + $_), $sid) } }
                             1 .. 6 ], 300);
        $refused += grep { ($_->{messages}[0]{status} // 0) == 403 && ($_->{close} // 0) == 1008 } @$got;
        gateway_idle();
    }
    is($refused, 30, 'sockets naming 30 other projects with a valid session: each refused (403) and closed');
    is(gateway_idle()->{channels}, 0, '... and none of them left a LISTEN channel');
    # At most 4 sockets per session: the fifth is refused (1008).
    my $per = ws_probe([ map { +{ wsq($project, $sid) } } 1 .. 5 ], 1500);
    is(scalar(grep { ($_->{messages}[0]{type} // '') eq 'hello' } @$per), 4, 'four sockets of one session are served');
    is(join(',', map { ($_->{close} // 'open') . " $_->{reason}" } grep { ($_->{messages}[0]{type} // '') ne 'hello' } @$per),
       '1008 too many sockets for this session', 'the fifth is closed with 1008') or diag(encode_json($per));
    gateway_idle();
    my @sids = ($sid, map { http('POST', '/api/v1/sessions', { name => "tab$_", projectId => $project })->{body}{sessionId} } 1, 2);
    my $full = ws_probe([ map { +{ wsq($project, $sids[$_ % 3]) } } 1 .. 7 ], 1500);
    is(scalar(grep { @{ $_->{messages} } && ($_->{messages}[0]{type} // '') eq 'hello' } @$full), 6,
       'MAX_SOCKETS = 6: six sockets are served');
    is(join(',', map { "$_->{close} $_->{reason}" } grep { !@{ $_->{messages} } } @$full), '1013 too many connections',
       'the seventh is closed with 1013 (try again later)') or do { eval { $g->pump_nb }; diag(encode_json($full), "\n", $gerr) };
    # Sockets without a token that never answer their close frame (raw TCP) take
    # no place of the tabs': only sockets past the token check count against
    # MAX_SOCKETS, and a refused one is cut 1 s after its close frame. (Before,
    # each held its place for 30 s, and a tab opened meanwhile got 1013.)
    my $flood = ws_probe([ (map { +{ url => "project=$project&session=$sid", raw => 1 } } 1 .. 8),
                           +{ wsq($project, $sid), delayMs => 500 } ], 1500);
    is($flood->[-1]{messages}[0]{type} // $flood->[-1]{close} // $flood->[-1]{error}, 'hello',
       '8 sockets without a token that never answer: a tab opened meanwhile is served (MAX_SOCKETS = 6)')
        or diag(encode_json($flood));
    is(gateway_idle()->{sockets}, 0, '... and the refused ones are cut');
    for (1 .. 4) {
        ws_probe([ map { +{ wsq($project, $sids[$_ % 3]), dropAtOpen => 1 } } 1 .. 6 ], 200);
        gateway_idle();
    }
    $st = gateway_idle();
    is("$st->{sockets} $st->{tabs} $st->{projects} $st->{channels}", '0 0 0 0',
       'after 24 sockets cut during their setup and 6 closed after it: no tab, no project, no channel left');
    $node->safe_psql('postgres', "SELECT concurrent_edit.close_session('$sid')");
    $g->kill_kill;
}
is($node->safe_psql('postgres', "SELECT count(*) > 1 AND bool_and(role = 'editor_gateway'::regrole) FROM concurrent_edit.edit_sessions"),
   't', 'the sessions belong to the gateway role, not a superuser');

# --- the browser ------------------------------------------------------------------
my $shots = "$PostgreSQL::Test::Utils::log_path/screenshots";
# Chromium's temporary directory holds its singleton socket, whose path must be
# short (a Unix socket's path has at most 107 bytes): not under the test's folder.
my $chromium_tmp = File::Temp::tempdir('/tmp/ce070-XXXXXX', CLEANUP => 1);
make_path($shots);
my $results_file = "$tmp/results.json";
my ($bout, $berr) = ('', '');
my $bok = do {
    local %ENV = (%ENV, PGHOST => $node->host, PGPORT => $node->port, PGDATABASE => 'postgres', PGUSER => $ENV{USER} // 'postgres',
        HOME => $tmp, GATEWAY => "$dir/server.js", GATEWAY_PORT => $port, GATEWAY_PGUSER => 'editor_gateway',
        PROJECT => $project, FILE => $file, CHROMIUM => $chromium, TMPDIR => $chromium_tmp,
        SHOTS => $shots, RESULTS => $results_file, SAVES => 100);
    delete $ENV{PGUSER} unless defined $ENV{USER};
    IPC::Run::run([ 'node', "$dir/browser.js" ], '<', \undef, '>', \$bout, '2>', \$berr,
        IPC::Run::timeout(150));
};
ok($bok, 'the browser run finished every step') or diag($berr);
note(join("\n", grep { !/console:/ } $berr =~ /^(browser\.js: .*)$/mg));
my $res = -e $results_file ? decode_json(slurp_file($results_file)) : {};
diag("failed at: $res->{error}") if $res->{error};

like($res->{presence}{alice} // '', qr/^Also here: bob \(active/, 'A sees B in the file');
like($res->{presence}{bob} // '', qr/^Also here: alice \(active/, 'B sees A in the file');
is($res->{initial}{bob}, "Title\nline two\nline three\nline four\n", 'B shows the file as created');

is($res->{live}{aliceStatus}, 200, 'A saved: 200');
is($res->{live}{bobText}, "Title by alice\nline two\nline three\nline four\n", "B shows A's text without a reload");
is($res->{live}{bobVersion}, 'v2', 'B shows version 2');
like($res->{live}{bobSync} // '', qr/up to date/, 'B is in sync');

like($res->{draft}{alicePresence} // '', qr/bob \(active, unsaved draft of v2, \d+ bytes\)/,
     "A sees B's unsaved draft (autosave)");
like($res->{behind}{bobSync} // '', qr/v3 is newer/, 'B, with unsaved changes, shows that a newer version exists');
is($res->{merge}{status}, 200, "B's save from the stale base: 200");
is($res->{merge}{bobText}, "Title by alice\nline two, by alice\nline three\nline four, by bob\n",
   'the clean merge has both changes');
is($res->{merge}{aliceText}, $res->{merge}{bobText}, 'and A shows the merge');

is($res->{conflict}{status}, 409, "B's save of the line A changed, from a stale base: 409");
is($res->{conflict}{body}{sqlstate}, 'VC001', '... with SQLSTATE VC001');
is($res->{conflict}{body}{detail}{current_version}, 5, '... the DETAIL names the head version');
like($res->{conflict}{bobText} // '',
     qr/^<<<<<<< version 5\nTitle, alice again\n=======\nTitle by bob\n>>>>>>> proposed\n/,
     "B's editor shows the conflict markers");
like($res->{conflict}{message} // '', qr/409 conflict with v5: 1 hunk/, 'and says so');
is($res->{resolved}{bobText}, "Title by bob\nline two, by alice\nline three\nline four, by bob\n",
   'resolved with theirs: B\'s line');
is($res->{resolved}{aliceText}, $res->{resolved}{bobText}, 'A shows the resolution');
is("$res->{resolved}{bobVersion} $res->{resolved}{aliceVersion}", 'v6 v6', 'both at version 6');
like($res->{conflict2}{bobText} // '',
     qr/^<<<<<<< version 7\nline three, by alice\n=======\nline three, by bob\n>>>>>>> proposed\n/m,
     'a second conflict, on line 3');
is($res->{resolvedEdited}{aliceText}, "Title by bob\nline two, by alice\nline three, by alice and bob\nline four, by bob\n",
   'resolved with the text as B edited it: A shows it');
is($res->{resolvedEdited}{bobText}, $res->{resolvedEdited}{aliceText}, 'and so does B');
like($res->{resolvedEdited}{message} // '', qr/^resolved \(edited\): v8$/, "B's editor says so");

like($res->{lockShown} // '', qr/^Locked by alice until /, "B sees A's lock with A's name");
is($res->{locked}{status}, 423, "B's save while A holds the lock: 423");
is($res->{locked}{body}{sqlstate}, 'VC004', '... SQLSTATE VC004');
is($res->{locked}{body}{holder}{name}, 'alice', '... naming the holder');
like($res->{locked}{message} // '', qr/^423 locked by alice until /, "B's editor says who holds the lock");
is("$res->{locked}{bobLock}{status} $res->{locked}{bobLock}{body}{sqlstate} $res->{locked}{bobLock}{body}{holder}{name}",
   '423 55P03 alice', "B's lock request is refused too: 55P03 -> 423, naming alice");
is($res->{afterUnlock}{status}, 200, 'after A unlocks, B saves');

cmp_ok($res->{history}{versions} // 0, '>=', 7, 'the history lists the versions');
like($res->{history}{diff} // '', qr/^\+bob tries while locked$/m, 'with the diff of the newest');

like($res->{offlineSync} // '', qr/offline/, 'B shows offline while the gateway is down');
cmp_ok($res->{reconnect}{after}{reconnects} // 0, '>', 0, 'B reconnected');
cmp_ok($res->{reconnect}{after}{caughtUp} // 0, '>', 0, 'and caught up the events written while it was away');
is($res->{reconnect}{after}{cursor}, $res->{reconnect}{feedPosition}, "B's cursor is the feed's position");
is($res->{reconnect}{after}{version}, $res->{reconnect}{written}, 'B shows the version written while it was away');
is($res->{reconnect}{bobText}, "Written while the gateway was down\n", '... its text');

ok($res->{pruned}{reset}, "the events the gateway had not read were pruned: its catch-up met VC012 and went on")
  or diag(encode_json($res->{pruned} // {}));
is(join(' ', @{ $res->{pruned}{versions} // [] }), join(' ', ($res->{pruned}{written} // 'none') x 2),
   'both tabs re-read the file and show the version whose event was pruned');
my $cs = $res->{concurrentSave} // {};
is($cs->{aliceSaved}, ($cs->{expected} // 0) - 1, "A's save answered after B's newer save (B's event came first)");
is($cs->{aliceVersion} // 'none', $cs->{expected} // 'no result', 'A then shows the head, not its own older version')
  or diag(encode_json($cs));
is($cs->{aliceText} // 'none', $cs->{bobText} // 'no result', '... with both saves, as B shows it');
like($cs->{aliceText} // '', qr/\AA's line, saved first\n.*B's line, saved second\n\z/s, '... both lines');
like($cs->{aliceSync} // '', qr/up to date/, '... and says it is up to date');

my $lt = $res->{lostTyping} // {};
is($lt->{status}, 200, 'A saves while it types on');
is($lt->{aliceText}, ($lt->{bobText} // '') . "Typed while the save was on its way\n",
   "A keeps what it typed while the save was on its way (B shows what was saved)") or diag(encode_json($lt));
is($lt->{aliceVersion} // 'none', $lt->{expectedVersion} // 'no result', '... on the saved version as its base');
like($lt->{aliceSync} // '', qr/^unsaved/, '... and says it is unsaved (not "up to date")');
like($lt->{after}{aliceSync} // '', qr/up to date/, 'saved again, A is up to date');
my $rn = $res->{renewed} // {};
is($rn->{status}, 200, "B's save after its session was closed (VC005): a new session, and the save retried") or diag(encode_json($rn));
isnt($rn->{newSid} // '', $rn->{oldSid} // '', '... B has a new session');
like($rn->{open} // '', qr/^(active|idle)$/, '... which is open');

my $lat = $res->{latency} // {};
is($lat->{n}, 100, '100 saves of A, each shown by B') or diag($lat->{error});
if ($lat->{n}) {
    my $line = sprintf('A save -> B screen over %d saves: p50 %.1f ms, p99 %.1f ms, max %.1f ms '
                     . "(A's save request alone: p50 %.1f ms, p99 %.1f ms)",
                       $lat->{n}, $lat->{p50}, $lat->{p99}, $lat->{max}, $lat->{saveP50}, $lat->{saveP99});
    diag($line);
    cmp_ok($lat->{p99}, '<', 1000, 'every save reached B within a second at p99');
}

is($node->safe_psql('postgres', "SELECT count(*) FROM concurrent_edit.list_conflicts('$file')"), '0',
   'no open conflict left');
is($node->safe_psql('postgres',
   "SELECT count(*) || ' ' || bool_and(resolved_by = (SELECT DISTINCT user_id FROM concurrent_edit.edit_sessions WHERE metadata->>'name' = 'bob')) "
 . "FROM concurrent_edit.list_conflicts('$file', include_resolved => true)"), '2 true', 'two conflicts, both resolved by bob');
for my $step (qw(01-two-editors 02-live-update 04-clean-merge 05-conflict 07-lock-refused 10-reconnected 10c-typing-kept)) {
    ok(-s "$shots/$step.png", "screenshot $step.png");
}
$node->stop;
note(sprintf('run time %.0f s', time() - $started));
done_testing();

# WebSockets to the gateway (test/editor/ws_probe.js): a list of {url (a query
# string of /ws, or a whole URL), origin, dropAtOpen}, kept $hold ms; what each got.
sub ws_probe {
    my ($specs, $hold) = @_;
    $_->{url} = "ws://127.0.0.1:$port/ws?$_->{url}" for grep { $_->{url} !~ /^ws:/ } @$specs;
    my ($out, $err) = ('', '');
    IPC::Run::run([ 'node', "$dir/ws_probe.js", encode_json($specs), $hold // 1000 ], '<', \undef, '>', \$out,
        '2>', \$err, IPC::Run::timeout(60)) or diag("ws_probe: $err");
    return eval { decode_json($out) } // [];
}

# A socket of a session (a list for ws_probe's spec): the query string (the
# project and the session) and its token, which ws_probe offers as a subprotocol.
sub wsq {
    my ($p, $sess) = @_;
    return (url => "project=$p&session=$sess", token => $token{$sess} // '');
}

# A GET of /api/v1/config with the Host (and Origin) given: the status.
sub raw_get {
    my ($host, $origin) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 10) or return 0;
    print $sock "GET /api/v1/config HTTP/1.1\r\nHost: $host\r\n" . (defined $origin ? "Origin: $origin\r\n" : '')
              . "Connection: close\r\n\r\n";
    my $line = <$sock> // '';
    close $sock;
    return $line =~ m{^HTTP/1\.1 (\d+)} ? $1 : 0;
}

# The gateway's counts (GET /api/v1/status) once its sockets are closed (10 s at most).
sub gateway_idle {
    my $deadline = time() + 10;
    my $st;
    for (;;) {
        $st = http('GET', '/api/v1/status')->{body};
        last if (defined $st->{sockets} && $st->{sockets} == 0 && !$st->{tabs}) || time() > $deadline;
        select(undef, undef, undef, 0.1);
    }
    $_ //= 'undef' for @{$st}{qw(sockets tabs projects channels)};
    return $st;
}

# One HTTP request to the gateway: {status, body (decoded JSON)}. A body goes as
# JSON unless the headers (a hash, last argument) say otherwise. A request naming a
# session the gateway opened here shows its token (x-session-token), unless the
# headers give one (undef: none); a new session's token is kept.
sub http {
    my ($method, $path, $body, $headers) = @_;
    my %opt = (headers => { %{ $headers // {} } });
    my ($sess) = (ref $body eq 'HASH' ? $body->{sessionId} : undef) // ($path =~ /sessionId=([0-9a-f-]{36})/);
    $opt{headers}{'x-session-token'} = $token{$sess} // 'not-a-token'
      if defined $sess && !exists $opt{headers}{'x-session-token'};
    defined $opt{headers}{$_} or delete $opt{headers}{$_} for keys %{ $opt{headers} };
    if (defined $body) {
        $opt{content} = ref $body ? encode_json($body) : $body;
        $opt{headers}{'content-type'} //= 'application/json';
    }
    my $r = HTTP::Tiny->new(timeout => 30)->request($method, "http://localhost:$port$path", \%opt);
    my $decoded = eval { decode_json($r->{content}) } // {};
    $token{ $decoded->{sessionId} } = $decoded->{token} if ref $decoded eq 'HASH' && $decoded->{token};
    return { status => $r->{status}, body => $decoded };
}
