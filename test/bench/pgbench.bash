# Helpers of the pgbench-based benchmarks (sourced; not a benchmark itself).
# The caller sets $secs, the duration of one run.

# server_cpu_ticks: CPU time (user + system, in clock ticks) used so far by every
# process of the server PGHOST and PGPORT point at: the live ones, and those that
# exited, which the postmaster reaped (its children's times). It asks as the OS
# user, the cluster's superuser, whatever role PGUSER names for the benchmark.
server_cpu_ticks() {
  local dir pm p sum=0
  dir=$(env -u PGUSER psql -qAtX -c "SHOW data_directory") || return 1
  pm=$(head -1 "$dir/postmaster.pid")
  for p in $(pgrep -P "$pm"); do
    sum=$((sum + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo $((sum + $(awk '{print $16 + $17}' "/proc/$pm/stat")))
}

# pgbench_run SCRIPT CLIENTS: the output of one pgbench run of $secs seconds. A run
# whose clients hit errors is a failed benchmark, not a low figure: its output is
# shown and the function fails.
pgbench_run() {
  local out
  out=$(pgbench -n -f "$1" -c "$2" -j "$(( $2 < 2 ? 1 : 2 ))" -T "$secs" 2>&1) || true
  if ! grep -q '^tps = ' <<<"$out" || grep -qE 'client [0-9]+ aborted|number of failed transactions: [1-9]' <<<"$out"; then
    echo "pgbench run of $1 with $2 clients failed:" >&2
    tail -20 <<<"$out" >&2
    return 1
  fi
  echo "$out"
}

# One client running script $1 for $secs seconds, its transactions logged: prints
# the average latency (pgbench's, in ms), the first transaction's and the median
# of all of them. The first transactions of a fresh backend can cost several times
# the later ones (its heap grows, page by page): the first and the median tell a
# run's warm-up from a cost paid at every transaction.
lat_detail() {
  local out dir
  dir=$(mktemp -d)
  out=$(cd "$dir" && pgbench -n -f "$1" -c 1 -T "$secs" -l --log-prefix=tx 2>&1) || true
  if ! grep -q '^latency average' <<<"$out" || ! ls "$dir"/tx.* >/dev/null 2>&1; then
    echo "pgbench run of $1 failed:" >&2
    tail -20 <<<"$out" >&2
    rm -rf "$dir"
    return 1
  fi
  awk '/^latency average/ {printf "%s ", $4; exit}' <<<"$out"
  local first med
  first=$(awk 'NR == 1 {print $3}' "$dir"/tx.*)
  med=$(awk '{print $3}' "$dir"/tx.* | sort -n | awk '{v[NR] = $1}
    END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
  awk -v f="$first" -v m="$med" 'BEGIN {printf "%.3f %.3f\n", f / 1000, m / 1000}'
  rm -rf "$dir"
}

# tps SCRIPT CLIENTS: transactions per second of one pgbench run.
tps() {
  local out
  out=$(pgbench_run "$@") || return 1
  awk '/^tps = / {print $3; exit}' <<<"$out"
}

# tps_cpu SCRIPT CLIENTS: "TPS CPU" of one pgbench run: transactions per second,
# and the server's CPU milliseconds per transaction (every server process: the
# backends, the worker, the WAL writer, autovacuum). The second figure does not
# depend on how long an idle CPU takes to wake up, which governs one client on a
# virtual machine (docs/benchmarks.md, locks).
tps_cpu() {
  local out before after
  before=$(server_cpu_ticks) || return 1
  out=$(pgbench_run "$@") || return 1
  sleep 0.2  # the backends of the run exit and are reaped
  after=$(server_cpu_ticks) || return 1
  awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
    /^tps = / { tps = $3 }
    /^number of transactions actually processed:/ { n = $6 }
    END { printf "%s %.4f\n", tps, (n > 0 ? ticks * 1000 / hz / n : 0) }' <<<"$out"
}

# lat SCRIPT: average latency (ms) of one single-client pgbench run (lat_detail's
# first figure).
lat() {
  local avg first med
  read -r avg first med < <(lat_detail "$1")
  [[ -n ${med:-} ]] || return 1
  echo "$avg"
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
