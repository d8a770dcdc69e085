# Shared helpers of the test, demo and bench scripts (sourced, not run).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
if [[ -z "${PG_CONFIG:-}" ]]; then
  if [[ -x /usr/lib/postgresql/15/bin/pg_config ]]; then PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config; else PG_CONFIG=pg_config; fi
fi
PG_BINDIR=$($PG_CONFIG --bindir)
PG_PKGLIBDIR=$($PG_CONFIG --pkglibdir)
PG_SHAREDIR=$($PG_CONFIG --sharedir)
PGXS_DIR=$(dirname "$($PG_CONFIG --pgxs)")/..
JOBS=${JOBS:-2}

log() { printf '%s\n' "$*" >&2; }

# Re-executes the calling script as the postgres OS user on a private copy of the
# tree when run as root: PostgreSQL refuses to run as root, and the postgres user
# may not be able to read a checkout under /root. Returns only when not root.
reexec_as_postgres_if_root() {
  [[ $(id -u) -ne 0 || -n "${CE_AS_POSTGRES:-}" ]] && return 0
  local work script rc
  work=$(mktemp -d /tmp/concurrent_edit-run.XXXXXX)
  tar -C "$ROOT" --exclude=./build --exclude=./.git --exclude='*.o' --exclude='*.bc' \
      --exclude='*.so' --exclude='./concurrent_edit--*.sql' --exclude='./concurrent_edit_router--*.sql' --exclude=./results --exclude=./tmp_check -cf - . | tar -C "$work" -xf -
  chown -R postgres:postgres "$work"
  chmod 755 "$work"
  script="$work/scripts/$(basename "$0")"
  log "running as the postgres OS user in $work (PostgreSQL does not run as root)"
  local vars=(CE_AS_POSTGRES=1 "HOME=$work" "PATH=$PATH") v
  for v in FUZZ_SECONDS CE_SUITES CE_TAP_TESTS CE_REGRESS_TESTS CE_ISOLATION_TESTS CE_LOAD_SECONDS BENCH_SECONDS BENCH_CASES VCLOCK_BENCH_PAIRS VCLOCK_BENCH_REPS VCLOCK_BENCH_SIZES ACCESS_BENCH_SECONDS ACCESS_BENCH_ROUNDS ACCESS_BENCH_CLIENTS ACCESS_BENCH_WORKLOADS ACCESS_BENCH_COMMIT HASH_BENCH_REPS HISTORY_BENCH_VERSIONS HISTORY_BENCH_BYTES HISTORY_BENCH_SECONDS WRITES_BENCH_SECONDS WRITES_BENCH_ROUNDS PROJECTS_BENCH_SECONDS PROJECTS_BENCH_ROUNDS FEED_BENCH_WRITES LOCKS_BENCH_SECONDS LOCKS_BENCH_ROUNDS ROUTER_BENCH_SECONDS ROUTER_BENCH_ROUNDS CHART_DIR PGHOST PGPORT PGDATABASE PGUSER; do
    [[ -n "${!v:-}" ]] && vars+=("$v=${!v}")
  done
  set +e
  runuser -u postgres -- env "${vars[@]}" "$script" "$@"
  rc=$?
  set -e
  mkdir -p "$BUILD"
  rm -rf "$BUILD/last-run"
  cp -r "$work/build" "$BUILD/last-run" 2>/dev/null || true
  [[ -n "${CE_KEEP_RUN_DIR:-}" ]] || rm -rf "$work"
  exit $rc
}

# Builds the extension and installs it, with a copy of the PostgreSQL server, into
# $BUILD/tmp_install (like PostgreSQL's own "make check"): tests never touch the
# system installation, and several checkouts can be tested at once.
make_tmp_install() {
  local dest=$BUILD/tmp_install
  log "building and installing into $dest"
  make -C "$ROOT" -s -j"$JOBS" all >/dev/null
  rm -rf "$dest"
  mkdir -p "$dest$(dirname "$PG_PKGLIBDIR")" "$dest$(dirname "$PG_SHAREDIR")"
  # PostgreSQL finds its share and lib directories relative to the real path of
  # its executables, so the binaries are copied, not linked.
  cp -a "$(dirname "$PG_PKGLIBDIR")/." "$dest$(dirname "$PG_PKGLIBDIR")/"
  cp -a "$PG_SHAREDIR" "$dest$(dirname "$PG_SHAREDIR")/"
  make -C "$ROOT" -s install DESTDIR="$dest" >/dev/null
  TMP_BINDIR="$dest$PG_BINDIR"
  export PATH="$TMP_BINDIR:$PATH"
}

# Starts a throwaway cluster in $1 (unix socket only, in the data directory);
# extra postgresql.conf lines on stdin. Sets PGHOST/PGPORT for psql.
start_cluster() {
  local data=$1
  rm -rf "$data"
  initdb -D "$data" -A trust --no-locale -E UTF8 >"$data.initdb.log" 2>&1 || { cat "$data.initdb.log" >&2; return 1; }
  {
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$data'"
    echo "port = 5432"
    echo "fsync = off"
    cat
  } >>"$data/postgresql.conf"
  pg_ctl -D "$data" -l "$data.log" -w start >/dev/null || { cat "$data.log" >&2; return 1; }
  export PGHOST=$data PGPORT=5432
}

stop_cluster() {
  pg_ctl -D "$1" -m fast -w stop >/dev/null 2>&1 || true
}
