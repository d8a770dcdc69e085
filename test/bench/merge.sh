#!/usr/bin/env bash
# Merge engine benchmark (run by scripts/bench.sh; see docs/benchmarks.md).
#  1. The core merge (ce::merge3) against libgit2's git_merge_file (git merge-file's
#     xdiff merge) on the same inputs, one process per case and implementation:
#     median time of RUNS merges, peak RSS of the process, and the ratio ce/libgit2.
#     The output hashes are compared: both must produce the same bytes.
#  2. The SQL-level cost of concurrent_edit.merge3 per call, beside the core's own
#     time for the same inputs.
set -euo pipefail
source "$(dirname "$0")/charts.bash"
chart_reset ratio-merge
: "${ROOT:?}" "${BUILD:?}"
RUNS=${MERGE_BENCH_RUNS:-21}
div() { awk -v a="$1" -v b="$2" -v m="${3:-1}" 'BEGIN { printf "%.6f", a * m / b }'; }
bin=$BUILD/bench/merge_bench
mkdir -p "$BUILD/bench"
g++ -std=c++17 -O2 -I"$ROOT/include" "$ROOT/test/bench/merge_bench.cpp" \
    "$ROOT"/src/core/*.cpp -licuuc -lgit2 -o "$bin"

echo "core merge vs libgit2 git_merge_file (median of $RUNS runs; peak RSS of the whole process, inputs included)"
printf '%-9s %12s %12s %8s %10s %10s %9s %s\n' case ce_ms libgit2_ms ratio ce_MB libgit2_MB conflicts same_output
for c in a10 a100 a1000 b2000 rewrite repeated; do
  read -r _ _ ce_ms ce_mb _ ce_conf ce_hash < <("$bin" ce "$c" "$RUNS")
  read -r _ _ g_ms g_mb _ g_conf g_hash < <("$bin" libgit2 "$c" "$RUNS")
  same=no; [[ "$ce_hash" == "$g_hash" && "$ce_conf" == "$g_conf" ]] && same=yes
  printf '%-9s %12.3f %12.3f %8.2f %10.1f %10.1f %9s %s\n' "$c" "$ce_ms" "$g_ms" \
    "$(div "$ce_ms" "$g_ms")" "$ce_mb" "$g_mb" "$ce_conf" "$same"
  chart_speed ratio-merge "merge $c vs libgit2" "$ce_ms" "$g_ms" down
done
echo "cases: a10/a100/a1000 = 10,000-line file with 10/100/1,000 scattered edits per side;"
echo "       b2000 = 100,000 lines, 2,000 edits per side; rewrite = ours rewrites all 10,000"
echo "       lines, theirs makes 100 edits; repeated = 5,000 lines of 4 repeated values, 100 edits per side"

echo
echo "SQL concurrent_edit.merge3 per call vs the core merge on the same inputs"
printf '%-9s %14s %14s %8s\n' case sql_us_per_call core_us_per_call ratio
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for c in small a100; do
  "$bin" dump "$c" "$tmp"
  calls=$([[ $c == small ]] && echo 20000 || echo 200)
  core_ms=$("$bin" ce "$c" 1001 | awk '{print $3}')
  chmod 755 "$tmp"; chmod 644 "$tmp"/*
  psql -qX -v ON_ERROR_STOP=1 -c "CREATE TABLE merge_bench_$c AS SELECT
      pg_read_file('$tmp/base') AS base, pg_read_file('$tmp/ours') AS ours,
      pg_read_file('$tmp/theirs') AS theirs" >/dev/null
  # Text read from a table column, one call per row of generate_series (no constant folding).
  ms=$(psql -qXAt -c "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON)
        SELECT sum((concurrent_edit.merge3(t.base, t.ours, t.theirs)).conflicts)
        FROM merge_bench_$c t, generate_series(1, $calls)" | grep -o '"Execution Time": [0-9.]*' | awk '{print $3}')
  sql_us=$(div "$ms" "$calls" 1000)
  core_us=$(div "$core_ms" 1 1000)
  printf '%-9s %14.1f %14.1f %8.2f\n' "$c" "$sql_us" "$core_us" "$(div "$sql_us" "$core_us")"
done
echo "cases: small = 100-line file with 2 edits per side; a100 as above. The SQL figure"
echo "includes detoasting the three inputs and building the result record."
