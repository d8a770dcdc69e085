# A second throwaway cluster WITHOUT the library preloaded (sourced by
# test/bench/*.sh; not a benchmark itself). There is no background worker: a
# transaction that queued change events sequences them itself at pre-commit and
# sends the NOTIFY from its own commit (docs/architecture.md, the sequencer).
#
#   start_plain_cluster NAME   starts $BUILD/bench/NAME-plain (same durability and
#                              memory settings as scripts/bench.sh's cluster), creates
#                              database bench with the extension, and sets PLAIN_PGHOST;
#                              PGHOST keeps pointing at scripts/bench.sh's cluster.
#                              The cluster is stopped when the calling script exits.
#   on_plain CMD ARGS...       runs CMD against that cluster.
source "$ROOT/scripts/lib.sh"

start_plain_cluster() {
  local main_host=$PGHOST main_port=$PGPORT
  plain_data=$BUILD/bench/$1-plain
  mkdir -p "$BUILD/bench"
  # Its own unix socket directory (the data directory), so the port may be the same.
  start_cluster "$plain_data" <<'CONF'
shared_buffers = 256MB
max_connections = 50
fsync = on
CONF
  trap 'stop_cluster "$plain_data"' EXIT
  PLAIN_PGHOST=$PGHOST
  export PGHOST=$main_host PGPORT=$main_port
  on_plain createdb bench
  on_plain psql -qX -v ON_ERROR_STOP=1 -c "CREATE EXTENSION concurrent_edit"
}

on_plain() { PGHOST=$PLAIN_PGHOST "$@"; }
