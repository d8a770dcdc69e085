#!/usr/bin/env bash
# Runs the benchmarks in test/bench against their peers, in the same run.
#
# Every executable test/bench/NAME.sh is run in name order with:
#   ROOT, BUILD            the source tree and build directory
#   PATH                   starting with the temporary installation's bin directory
#   PGHOST, PGPORT         a throwaway cluster with default durability settings
#   PGDATABASE=bench       a database where CREATE EXTENSION concurrent_edit was run
#   BENCH_SECONDS          suggested duration of one timed run (default 10)
# Benchmarks that compare with the library not preloaded start a second cluster
# of their own (test/bench/plain_cluster.bash).
# Select some with BENCH_CASES="merge vclock" (names without .sh).
# Figures are recorded in docs/benchmarks.md together with this command.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
reexec_as_postgres_if_root "$@"
set -e

export BENCH_SECONDS=${BENCH_SECONDS:-10}
make_tmp_install
export ROOT BUILD

data=$BUILD/bench-cluster
# Default durability (fsync on), and the extension preloaded with its background
# worker serving the bench database: the recommended production setup.
start_cluster "$data" <<'CONF'
shared_buffers = 256MB
max_connections = 50
fsync = on
shared_preload_libraries = 'concurrent_edit'
concurrent_edit.database = 'bench'
CONF
trap 'stop_cluster "$data"' EXIT
createdb bench
export PGDATABASE=bench
psql -qX -c "CREATE EXTENSION concurrent_edit"
# Wait for the worker (it retries until the database exists).
for _ in $(seq 1 50); do
  [[ $(psql -qAtX -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'concurrent_edit worker'") == 1 ]] && break
  sleep 0.2
done

echo "# concurrent_edit benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, PostgreSQL $(postgres --version | awk '{print $3}')"
for b in "$ROOT"/test/bench/*.sh; do
  [[ -x "$b" ]] || continue
  name=$(basename "$b" .sh)
  if [[ -n "${BENCH_CASES:-}" && " $BENCH_CASES " != *" $name "* ]]; then continue; fi
  echo
  echo "## $name"
  "$b"
done
