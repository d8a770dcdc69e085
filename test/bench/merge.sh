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

echo "core merge vs libgit2 git_merge_file (median of $RUNS runs; peak RSS of the whole process, inputs included;"
echo "faults: minor page faults per merge)"
printf '%-9s %12s %12s %8s %10s %10s %9s %11s %9s %9s\n' case ce_ms libgit2_ms ratio ce_MB libgit2_MB conflicts same_output \
  ce_faults g_faults
warm_rows=()
for c in a10 a100 a1000 b2000 rewrite repeated; do
  read -r _ _ ce_ms ce_mb _ ce_conf ce_hash _ ce_pf < <("$bin" ce "$c" "$RUNS")
  read -r _ _ g_ms g_mb _ g_conf g_hash _ g_pf < <("$bin" libgit2 "$c" "$RUNS")
  same=no; [[ "$ce_hash" == "$g_hash" && "$ce_conf" == "$g_conf" ]] && same=yes
  printf '%-9s %12.3f %12.3f %8.2f %10.1f %10.1f %9s %11s %9s %9s\n' "$c" "$ce_ms" "$g_ms" \
    "$(div "$ce_ms" "$g_ms")" "$ce_mb" "$g_mb" "$ce_conf" "$same" "$ce_pf" "$g_pf"
  chart_speed ratio-merge "merge $c vs libgit2" "$ce_ms" "$g_ms" down
  read -r _ _ cw_ms _ _ _ _ _ cw_pf < <("$bin" ce-warm "$c" "$RUNS")
  read -r _ _ gw_ms _ _ _ _ _ gw_pf < <("$bin" libgit2-warm "$c" "$RUNS")
  warm_rows+=("$(printf '%-9s %12.3f %12.3f %8.2f %9s %9s' "$c" "$cw_ms" "$gw_ms" "$(div "$cw_ms" "$gw_ms")" "$cw_pf" "$gw_pf")")
done
echo "cases: a10/a100/a1000 = 10,000-line file with 10/100/1,000 scattered edits per side;"
echo "       b2000 = 100,000 lines, 2,000 edits per side; rewrite = ours rewrites all 10,000"
echo "       lines, theirs makes 100 edits; repeated = 5,000 lines of 4 repeated values, 100 edits per side"
echo
echo "the same with a warm heap for both (malloc keeps freed memory: no page faults per merge)"
printf '%-9s %12s %12s %8s %9s %9s\n' case ce_ms libgit2_ms ratio ce_faults g_faults
printf '%s\n' "${warm_rows[@]}"
echo
echo "SQL concurrent_edit.merge3 per call vs the core merge on the same inputs"
printf '%-9s %-7s %9s %14s %14s %8s %14s %9s\n' case inputs retained sql_us_per_call core_us_per_call ratio core_cold_us cold_ratio
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for c in small a100; do
  "$bin" dump "$c" "$tmp"
  calls=$([[ $c == small ]] && echo 20000 || echo 500)
  # The same statistic as in SQL: the mean per merge over as many consecutive merges.
  core_ms=$("$bin" ce "$c" "$calls" | awk '{print $8}')
  cold_ms=$("$bin" ce-cold "$c" "$calls" | awk '{print $8}')
  core_us=$(div "$core_ms" 1 1000)
  cold_us=$(div "$cold_ms" 1 1000)
  chmod 755 "$tmp"; chmod 644 "$tmp"/*
  # The inputs three ways: read from a table column compressed with pglz (what a
  # table gets by default), from one compressed with lz4, and as values already in
  # memory (as parameters or computed values arrive: nothing to detoast).
  psql -qX -v ON_ERROR_STOP=1 >/dev/null <<SQL
SET default_toast_compression = pglz;
CREATE TABLE merge_bench_${c}_pglz AS SELECT pg_read_file('$tmp/base') AS base,
    pg_read_file('$tmp/ours') AS ours, pg_read_file('$tmp/theirs') AS theirs;
SET default_toast_compression = lz4;
CREATE TABLE merge_bench_${c}_lz4 AS SELECT base || '' AS base, ours || '' AS ours, theirs || '' AS theirs
  FROM merge_bench_${c}_pglz;
SQL
  # One call per row of generate_series (no constant folding), in a new backend:
  # with the default concurrent_edit.retained_free_memory, then (pglz) with 0
  # (glibc malloc's own policy).
  for run in "pglz default" "lz4 default" "memory default" "pglz 0"; do
    read -r form retained <<<"$run"
    from="merge_bench_${c}_$form"
    [[ $form == memory ]] && from="(SELECT base || '' AS base, ours || '' AS ours, theirs || '' AS theirs
      FROM merge_bench_${c}_pglz OFFSET 0) m"
    ms=$(psql -qXAt -c "SET concurrent_edit.retained_free_memory = $retained" -c "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON)
          WITH i AS MATERIALIZED (SELECT * FROM $from)
          SELECT sum((concurrent_edit.merge3(t.base, t.ours, t.theirs)).conflicts)
          FROM i t, generate_series(1, $calls)" | grep -o '"Execution Time": [0-9.]*' | awk '{print $3}')
    sql_us=$(div "$ms" "$calls" 1000)
    printf '%-9s %-7s %9s %14.1f %14.1f %8.2f %14.1f %9.2f\n' "$c" "$form" "$retained" "$sql_us" "$core_us" \
      "$(div "$sql_us" "$core_us")" "$cold_us" "$(div "$sql_us" "$cold_us")"
  done
done
echo "cases: small = 100-line file with 2 edits per side (a clean merge: merge3 also runs"
echo "the semantic-warnings analysis, which the core figure leaves out); a100 as above."
echo "Every figure is a mean per call over 20,000 (small) or 500 (a100) consecutive calls"
echo "on the same inputs. sql: one statement in a new backend, the first call included;"
echo "it includes detoasting the three inputs (inputs pglz, lz4: read from a table column"
echo "compressed so; memory: values already in memory, nothing to detoast) and building"
echo "the result record. retained:"
echo "concurrent_edit.retained_free_memory. core: one process, warm heap; core_cold: the"
echo "freed heap returned to the system (malloc_trim) before each merge."
