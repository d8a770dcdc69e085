#!/usr/bin/env bash
# Operation ordering benchmark (run by scripts/bench.sh; see docs/benchmarks.md).
#  1. The core (ce::ops::order_operations, resolve_operations) on generated sets of
#     1k to 1M operations: best and median of RUNS, and the time per n*log2(n) --
#     flat when the growth is O(n log n).
#  2. SQL: concurrent_edit.order_operations on the same 10k and 100k operations (a
#     jsonb array read from a table) beside the peer an application would write: a
#     plain ORDER BY on the same keys (blockId COLLATE "C", priority by CASE,
#     timestamp, replicaId, then the other fields) over jsonb_array_elements. Both
#     must return the same array. Also resolve_operations and
#     detect_operation_conflicts on the same input.
set -euo pipefail
source "$(dirname "$0")/charts.bash"
chart_reset ratio-ops
: "${ROOT:?}" "${BUILD:?}"
RUNS=${OPS_BENCH_RUNS:-7}
div() { awk -v a="$1" -v b="$2" -v m="${3:-1}" 'BEGIN { printf "%.6f", a * m / b }'; }
nlogn_ns() { awk -v ms="$1" -v n="$2" 'BEGIN { printf "%.2f", ms * 1e6 / (n * log(n) / log(2)) }'; }
bin=$BUILD/bench/ops_bench
mkdir -p "$BUILD/bench"
g++ -std=c++17 -O2 -I"$ROOT/include" "$ROOT/test/bench/ops_bench.cpp" \
    "$ROOT"/src/core/*.cpp -licuuc -o "$bin"

echo "core: best and median of $RUNS runs; ns/(n log2 n) of the best run"
printf '%-8s %9s %10s %10s %14s\n' mode n best_ms median_ms ns_per_nlog2n
for n in 1000 10000 100000 1000000; do
  read -r mode _ best median per _ < <("$bin" order "$n" "$RUNS")
  printf '%-8s %9d %10.2f %10.2f %14.2f\n' "$mode" "$n" "$best" "$median" "$per"
done
for n in 1000 10000 100000; do
  read -r mode _ best median per _ < <("$bin" resolve "$n" "$RUNS")
  printf '%-8s %9d %10.2f %10.2f %14.2f\n' "$mode" "$n" "$best" "$median" "$per"
done
echo "set: n operations over n/100 blocks; 1/4 splits (about 25 per block, so most are"
echo "remapped through earlier splits), the rest text and mark edits; Lamport timestamps"
echo "with collisions, 8 replicas"

# Best "Execution Time" (ms) of RUNS runs of a query in one session, after one
# warm-up run (a new backend first loads the library and grows its memory).
best_ms() {
  local q=$1
  for _ in $(seq 0 "$RUNS"); do echo "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) $q;"; done |
    psql -qXAt | grep -o '"Execution Time": [0-9.]*' | awk 'NR > 1 { v = $3 + 0; if (best == "" || v < best) best = v } END { print best }'
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
psql -qX -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE IF NOT EXISTS ops_bench (n integer PRIMARY KEY, ops jsonb NOT NULL);
CREATE OR REPLACE FUNCTION ops_bench_peer(ops jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(jsonb_agg(e ORDER BY
           e->>'blockId' COLLATE "C",
           CASE e->>'opCode' WHEN 'OP_BLOCK_SPLIT' THEN 1 WHEN 'OP_BLOCK_JOIN' THEN 2 WHEN 'OP_BLOCK_CONVERT' THEN 3
                             WHEN 'OP_LIST_REPARENT' THEN 4 WHEN 'OP_TABLE_STRUCT' THEN 5 WHEN 'OP_REORDER' THEN 6
                             WHEN 'OP_TEXT_EDIT' THEN 7 WHEN 'OP_MARK_EDIT' THEN 7 WHEN 'OP_PASTE' THEN 8
                             WHEN 'OP_IMMUTABLE_REWRITE' THEN 9 END,
           (e->>'timestamp')::bigint,
           e->>'replicaId' COLLATE "C" NULLS FIRST,
           e->>'opCode' COLLATE "C",
           (e->>'offset')::bigint NULLS FIRST,
           e->>'targetBlockId' COLLATE "C" NULLS FIRST,
           e::text COLLATE "C"), '[]')
  FROM jsonb_array_elements(ops) e
$$;
SQL

echo
echo "SQL: order_operations vs a plain ORDER BY in SQL (best of $RUNS in one session, Execution Time of EXPLAIN ANALYZE)"
printf '%9s %12s %12s %8s %12s %12s %10s %12s\n' n order_ms peer_ms ratio us_per_op ns_nlog2n resolve_ms detect_ms
for n in 10000 100000; do
  "$bin" json "$n" "$tmp/ops-$n.json"
  chmod 644 "$tmp/ops-$n.json"
  psql -qX -v ON_ERROR_STOP=1 -c "INSERT INTO ops_bench VALUES ($n, pg_read_file('$tmp/ops-$n.json')::jsonb)
                                  ON CONFLICT (n) DO UPDATE SET ops = excluded.ops" >/dev/null
  same=$(psql -qXAt -c "SELECT concurrent_edit.order_operations(ops) = ops_bench_peer(ops) FROM ops_bench WHERE n = $n")
  [[ "$same" == t ]] || { echo "order_operations and the peer disagree for n=$n" >&2; exit 1; }
  ours=$(best_ms "SELECT concurrent_edit.order_operations(ops) IS NULL FROM ops_bench WHERE n = $n")
  peer=$(best_ms "SELECT ops_bench_peer(ops) IS NULL FROM ops_bench WHERE n = $n")
  resolve=$(best_ms "SELECT concurrent_edit.resolve_operations(ops) IS NULL FROM ops_bench WHERE n = $n")
  detect=$(best_ms "SELECT count(*) FROM ops_bench, concurrent_edit.detect_operation_conflicts(ops) WHERE n = $n")
  printf '%9d %12.1f %12.1f %8.2f %12.2f %12.2f %10.1f %12.1f\n' "$n" "$ours" "$peer" "$(div "$ours" "$peer")" \
    "$(div "$ours" "$n" 1000)" "$(nlogn_ns "$ours" "$n")" "$resolve" "$detect"
  chart_speed ratio-ops "order_operations, $n operations, vs ORDER BY" "$ours" "$peer" down
done
echo "ratio = order_operations / peer (below 1: faster). The SQL times include reading the"
echo "jsonb (detoasting about 9 MB at 100k) and building the result; both return the same array."
psql -qX -c "DROP TABLE ops_bench; DROP FUNCTION ops_bench_peer(jsonb)" >/dev/null
