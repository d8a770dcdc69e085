#!/usr/bin/env bash
# Content hashes: concurrent_edit.content_hash(text) (the hash every version stores)
# beside PostgreSQL's own sha256(bytea) on the same texts, in one session: 200 texts
# of 1 MB and 20,000 of 2 kB, read from a table (so detoasting is in both). Best of
# HASH_BENCH_REPS runs (default 5).
set -euo pipefail
source "$(dirname "$0")/charts.bash"
chart_reset ratio-hash
reps=${HASH_BENCH_REPS:-5}
psql -qX -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS hash_big, hash_small;
CREATE TABLE hash_big AS SELECT i, repeat(md5(i::text) || E' some line of text\n', 20000) AS t FROM generate_series(1, 200) i;
CREATE TABLE hash_small AS SELECT i, repeat(md5(i::text) || E' some line of text\n', 40) AS t FROM generate_series(1, 20000) i;
ALTER TABLE hash_big SET (parallel_workers = 0);
ALTER TABLE hash_small SET (parallel_workers = 0);
VACUUM ANALYZE hash_big, hash_small;
SQL
best() {  # best of $reps timings (ms) of a query
  local q=$1 b=""
  for _ in $(seq 1 "$reps"); do
    local t
    t=$(psql -qAtX -c "SET max_parallel_workers_per_gather = 0" -c "SET jit = off" -c '\timing on' -c "$q" 2>&1 |
        awk '/^Time:/ {print $2}' | tail -1)
    if [[ -z $b ]] || awk -v a="$t" -v b="$b" 'BEGIN { exit !(a < b) }'; then b=$t; fi
  done
  echo "$b"
}
printf '%-28s %16s %22s %8s\n' workload content_hash "sha256(convert_to())" ratio
for tbl in big small; do
  ours=$(best "SELECT count(DISTINCT concurrent_edit.content_hash(t)) FROM hash_$tbl")
  peer=$(best "SELECT count(DISTINCT encode(sha256(convert_to(t, 'UTF8')), 'hex')) FROM hash_$tbl")
  label=$([[ $tbl == big ]] && echo "200 texts of 1 MB" || echo "20,000 texts of 2 kB")
  printf '%-28s %13s ms %19s ms %8s\n' "$label" "$ours" "$peer" "$(awk -v a="$ours" -v b="$peer" 'BEGIN { printf "%.2f", a / b }')"
  chart_speed ratio-hash "content_hash, $label" "$ours" "$peer" down
done
