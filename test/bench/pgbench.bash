# Helpers of the pgbench-based benchmarks (sourced; not a benchmark itself).
# The caller sets $secs, the duration of one run.

# tps SCRIPT CLIENTS: transactions per second of one pgbench run. A run whose
# clients hit errors is a failed benchmark, not a low figure: its output is shown.
tps() {
  local out
  out=$(pgbench -n -f "$1" -c "$2" -j "$(( $2 < 2 ? 1 : 2 ))" -T "$secs" 2>&1) || true
  if ! grep -q '^tps = ' <<<"$out" || grep -qE 'client [0-9]+ aborted|number of failed transactions: [1-9]' <<<"$out"; then
    echo "pgbench run of $1 with $2 clients failed:" >&2
    tail -20 <<<"$out" >&2
    return 1
  fi
  awk '/^tps = / {print $3; exit}' <<<"$out"
}

# lat SCRIPT: average latency (ms) of one single-client pgbench run.
lat() {
  local out
  out=$(pgbench -n -f "$1" -c 1 -T "$secs" 2>&1) || true
  if ! grep -q '^latency average' <<<"$out"; then
    echo "pgbench run of $1 failed:" >&2
    tail -20 <<<"$out" >&2
    return 1
  fi
  awk '/^latency average/ {print $4; exit}' <<<"$out"
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
