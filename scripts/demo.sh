#!/usr/bin/env bash
# make demo: builds and installs the extension, starts a throwaway cluster under
# build/ (as the postgres OS user when run as root: PostgreSQL never runs as
# root), and runs the scripted scenario scripts/demo.sql, printing what happens.
#
# To run the scenario against an existing server instead, set any of the usual
# libpq variables (PGHOST, PGPORT, PGDATABASE, PGUSER), e.g.
#   make demo PGDATABASE=mydb
# The extension is installed into that server's PostgreSQL (PG_CONFIG) when root
# or sudo allows it (otherwise it must be installed already) and created in the
# database if missing; connect as a superuser. The scenario uses a new project on
# every run.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

EXISTING_SERVER=
[[ -n "${PGHOST:-}${PGPORT:-}${PGDATABASE:-}${PGUSER:-}" ]] && EXISTING_SERVER=1

as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- env PATH="$PATH" "$@"; else "$@"; fi
}

log "== building"
make -C "$ROOT" -s -j"$JOBS" all >/dev/null

log "== installing into $($PG_CONFIG --pkglibdir)"
if [[ $(id -u) -eq 0 ]]; then
  make -C "$ROOT" -s install PG_CONFIG="$PG_CONFIG" >/dev/null
  SERVER_BIN=$PG_BINDIR
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo make -C "$ROOT" -s install PG_CONFIG="$PG_CONFIG" >/dev/null
  SERVER_BIN=$PG_BINDIR
elif [[ -n "$EXISTING_SERVER" ]]; then
  log "   (no root or sudo: not installing; the server must have concurrent_edit installed: sudo make install)"
  SERVER_BIN=$PG_BINDIR
else
  log "   (no root or sudo: using a private installation under build/ instead)"
  make_tmp_install
  SERVER_BIN=$TMP_BINDIR
fi
export PATH="$SERVER_BIN:$PATH"

if [[ -n "$EXISTING_SERVER" ]]; then
  log "== using the existing server (PGHOST=${PGHOST:-} PGPORT=${PGPORT:-} PGDATABASE=${PGDATABASE:-})"
  psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS concurrent_edit" >/dev/null
else
  mkdir -p "$BUILD"
  data="$BUILD/demo-cluster"
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres "$BUILD" 2>/dev/null || true
    if ! runuser -u postgres -- test -w "$BUILD"; then
      data="$(mktemp -d /tmp/concurrent_edit-demo.XXXXXX)/data"
      chown postgres "$(dirname "$data")"
    fi
  fi
  log "== starting a throwaway cluster in $data"
  as_postgres rm -rf "$data"
  as_postgres initdb -D "$data" -A trust -U postgres --no-locale -E UTF8 >/dev/null
  printf "listen_addresses = ''\nunix_socket_directories = '%s'\nport = 5432\n" "$data" >>"$data/postgresql.conf" \
    || as_postgres sh -c "printf \"listen_addresses = ''\nunix_socket_directories = '%s'\nport = 5432\n\" '$data' >> '$data/postgresql.conf'"
  as_postgres pg_ctl -D "$data" -l "$data/../demo-server.log" -w start >/dev/null
  trap 'as_postgres pg_ctl -D "$data" -m fast -w stop >/dev/null 2>&1 || true' EXIT
  export PGHOST=$data PGPORT=5432 PGUSER=postgres PGDATABASE=postgres
  psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION concurrent_edit" >/dev/null
fi

log "== running scripts/demo.sql"
echo
psql -X -q -v ON_ERROR_STOP=1 -P pager=off -f "$ROOT/scripts/demo.sql"
