#!/usr/bin/env bash
# make demo-web: the collaborative editor of examples/editor on a throwaway
# cluster. Builds and installs the extension (as make demo does; with
# CE_DEMO_PRIVATE=1, or without root or sudo, into a private installation under
# build/ instead), starts a cluster under build/ as the postgres OS user, creates
# an ordinary role for the gateway with `write` on a demo project and one file,
# installs the gateway's locked npm dependencies (npm ci, into build/), starts it
# and prints the URL to open. Ctrl-C stops the gateway and the cluster.
#
#   EDITOR_PORT=8080   the gateway's HTTP port
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PORT=${EDITOR_PORT:-8080}
PROJECT=6f1c0000-0000-0000-0000-00000000ed17
ROLE=editor_gateway

as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- env PATH="$PATH" "$@"; else "$@"; fi
}
command -v node >/dev/null && command -v npm >/dev/null || { log "node and npm are needed (scripts/bootstrap.sh installs them)"; exit 1; }

log "== building"
make -C "$ROOT" -s -j"$JOBS" all >/dev/null
if [[ -z "${CE_DEMO_PRIVATE:-}" && $(id -u) -eq 0 ]]; then
  log "== installing into $($PG_CONFIG --pkglibdir)"
  make -C "$ROOT" -s install PG_CONFIG="$PG_CONFIG" >/dev/null
  SERVER_BIN=$PG_BINDIR
elif [[ -z "${CE_DEMO_PRIVATE:-}" ]] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  log "== installing into $($PG_CONFIG --pkglibdir)"
  sudo make -C "$ROOT" -s install PG_CONFIG="$PG_CONFIG" >/dev/null
  SERVER_BIN=$PG_BINDIR
else
  log "== using a private installation under build/"
  make_tmp_install
  SERVER_BIN=$TMP_BINDIR
fi
export PATH="$SERVER_BIN:$PATH"

# The cluster lives where the postgres OS user can write.
mkdir -p "$BUILD"
work="$BUILD/demo-web"
if [[ $(id -u) -eq 0 ]]; then
  chown postgres "$BUILD" 2>/dev/null || true
  if ! runuser -u postgres -- test -w "$BUILD"; then work=$(mktemp -d /tmp/concurrent_edit-demo-web.XXXXXX); fi
fi
as_postgres rm -rf "$work/data"
as_postgres mkdir -p "$work"
data="$work/data"
log "== starting a throwaway cluster in $data"
as_postgres initdb -D "$data" -A trust -U postgres --no-locale -E UTF8 >/dev/null
as_postgres sh -c "printf \"listen_addresses = ''\nunix_socket_directories = '%s'\nport = 5432\nshared_preload_libraries = 'concurrent_edit'\n\" '$data' >> '$data/postgresql.conf'"
as_postgres pg_ctl -D "$data" -l "$work/server.log" -w start >/dev/null
gateway_pid=
cleanup() {
  [[ -n "$gateway_pid" ]] && kill "$gateway_pid" 2>/dev/null
  as_postgres pg_ctl -D "$data" -m fast -w stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 0' INT TERM
export PGHOST=$data PGPORT=5432 PGDATABASE=postgres

log "== the extension, the gateway's role ($ROLE, write on project $PROJECT) and a file"
FILE=$(PGUSER=postgres psql -X -q -At -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION concurrent_edit;
CREATE ROLE $ROLE LOGIN;
SELECT concurrent_edit.grant_project('$PROJECT', '$ROLE', 'write') \g /dev/null
SELECT concurrent_edit.create_file('$PROJECT', 'notes.md',
  E'# Meeting notes\n\nAgenda:\n1. Budget\n2. Hiring\n3. Launch date\n\nDecisions:\n- none yet\n',
  '00000000-0000-0000-0000-0000000000c0');
SQL
)

log "== the gateway's dependencies (npm ci into $BUILD/editor-gateway)"
app="$BUILD/editor-gateway"
rm -rf "$app"; mkdir -p "$app"
cp -r "$ROOT/examples/editor/." "$app/"
rm -rf "$app/node_modules"
(cd "$app" && npm ci --omit=dev --no-audit --no-fund --loglevel=error >/dev/null)

PGUSER=$ROLE PORT=$PORT DEMO_PROJECT=$PROJECT DEMO_FILE=$FILE node "$app/server.js" &
gateway_pid=$!
sleep 1
kill -0 "$gateway_pid" 2>/dev/null || { log "the gateway did not start"; exit 1; }
echo
echo "Open http://localhost:$PORT/ (two editors of notes.md: alice and bob; Ctrl-C stops the demo)"
echo "Each pane is its own session; ?users=alice,bob,carol shows three."
wait "$gateway_pid"
