#!/usr/bin/env bash
# UPDATE throughput on a table under the OCC trigger (enable_occ, reject mode)
# against the same table with the check written by hand:
#   ours: UPDATE t SET qty = qty + 1, version = :read WHERE id = :id   (the trigger checks and bumps)
#   peer: UPDATE t SET qty = qty + 1, version = version + 1 WHERE id = :id AND version = :read
# Each transaction first reads the row's version, as a client does. pgbench at 1
# and 8 clients over 10,000 rows (each client its own 1,250, so no update is stale), alternating runs in the same cluster; once with
# durable commits (the default) and once with synchronous_commit = off, where the
# commit no longer hides the per-row CPU cost of the trigger. Also merge mode,
# which keeps a row image per update, for information.
#
#   OCC_BENCH_SECONDS  duration of one pgbench run (default BENCH_SECONDS, 10)
#   OCC_BENCH_ROUNDS   alternating rounds; the median is reported (default 3)
set -euo pipefail
secs=${OCC_BENCH_SECONDS:-${BENCH_SECONDS:-10}}
rounds=${OCC_BENCH_ROUNDS:-3}
work=$BUILD/bench/occ
mkdir -p "$work"
source "$(dirname "$0")/pgbench.bash"
source "$(dirname "$0")/charts.bash"
chart_reset ratio-occ

psql -qX -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS occ_ours, occ_peer, occ_merge;
CREATE TABLE occ_ours (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, qty int NOT NULL, title text, doc jsonb);
INSERT INTO occ_ours SELECT i, 1, 0, 'row ' || i, jsonb_build_object('tags', jsonb_build_array('a', 'b'), 'n', i)
FROM generate_series(1, 10000) i;
CREATE TABLE occ_peer (LIKE occ_ours INCLUDING ALL);
INSERT INTO occ_peer SELECT * FROM occ_ours;
CREATE TABLE occ_merge (LIKE occ_ours INCLUDING ALL);
INSERT INTO occ_merge SELECT * FROM occ_ours;
DO $$ BEGIN
  PERFORM concurrent_edit.enable_occ('occ_ours');
  PERFORM concurrent_edit.enable_occ('occ_merge', mode => 'merge');
END $$;
VACUUM ANALYZE occ_ours, occ_peer, occ_merge;
SQL

for t in ours merge; do
  cat > "$work/$t.sql" <<SQL
\\set id :client_id * 1250 + random(1, 1250)
SELECT version AS v FROM occ_$t WHERE id = :id \\gset
UPDATE occ_$t SET qty = qty + 1, version = :v WHERE id = :id;
SQL
done
cat > "$work/peer.sql" <<'SQL'
\set id :client_id * 1250 + random(1, 1250)
SELECT version AS v FROM occ_peer WHERE id = :id \gset
UPDATE occ_peer SET qty = qty + 1, version = version + 1 WHERE id = :id AND version = :v;
SQL


echo "UPDATE under enable_occ (reject) vs hand-written WHERE version = :read; read + update per transaction"
echo "pgbench, ${secs}s per run, $rounds alternating rounds, median tps, 10,000 rows, random row of the client's own 1,250 per transaction"
printf '%-26s %-8s %12s %12s %8s %14s\n' commit clients "trigger tps" "peer tps" ratio "merge-mode tps"
for sc in on off; do
  export PGOPTIONS="-c synchronous_commit=$sc"
  for c in 1 8; do
    ours=(); peer=(); merge=()
    for _ in $(seq 1 "$rounds"); do
      ours+=("$(tps "$work/ours.sql" "$c")")
      peer+=("$(tps "$work/peer.sql" "$c")")
      merge+=("$(tps "$work/merge.sql" "$c")")
    done
    o=$(median "${ours[@]}"); p=$(median "${peer[@]}"); m=$(median "${merge[@]}")
    printf '%-26s %-8s %12.1f %12.1f %7sx %14.1f   (runs: ours %s / peer %s)\n' "synchronous_commit=$sc" "$c" \
      "$o" "$p" "$(ratio "$o" "$p")" "$m" "${ours[*]}" "${peer[*]}"
    chart_speed ratio-occ "OCC trigger, $c client(s), sync commit $sc" "$o" "$p" up
  done
done
unset PGOPTIONS
# Sanity: every update of every run was applied exactly once per version bump.
psql -qAtX -c "SELECT 'consistency: ' || bool_and(version = qty + 1) FROM (SELECT version, qty FROM occ_ours UNION ALL SELECT version, qty FROM occ_peer UNION ALL SELECT version, qty FROM occ_merge) x"
