#!/usr/bin/env bash
# acquire_lock()+release_lock() cycles per second against a hand-written lock table
# (INSERT ... ON CONFLICT DO NOTHING / DELETE) and against pg_advisory_lock, with
# pgbench at 1 and 8 clients, uncontended (each client its own file) and contended
# (all clients one file, waiting for it), alternating runs in the same cluster, ours
# also with concurrent_edit.lock_events = off ("quiet"); then
# p50/p99 latency of an uncontended acquire. Chart data: ratio-locks, lock-latency
# (test/bench/charts.bash).
#
#   LOCKS_BENCH_SECONDS  duration of one pgbench run (default BENCH_SECONDS, 10)
#   LOCKS_BENCH_ROUNDS   alternating rounds; the median is reported (default 3)
set -euo pipefail
secs=${LOCKS_BENCH_SECONDS:-${BENCH_SECONDS:-10}}
rounds=${LOCKS_BENCH_ROUNDS:-3}
work=$BUILD/bench/locks
mkdir -p "$work"
source "$(dirname "$0")/pgbench.bash"
source "$(dirname "$0")/charts.bash"
chart_reset ratio-locks
chart_reset lock-latency

psql -qX -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
\o /dev/null
DROP TABLE IF EXISTS peer_locks;
-- The peer: a lock table written by hand.
CREATE TABLE peer_locks (file_id uuid PRIMARY KEY, session_id uuid NOT NULL, expires_at timestamptz NOT NULL);
-- Waiting on a hand-written table means polling.
CREATE OR REPLACE FUNCTION peer_acquire_wait(f uuid, s uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  LOOP
    INSERT INTO peer_locks VALUES (f, s, now() + interval '30 seconds') ON CONFLICT DO NOTHING;
    EXIT WHEN FOUND;
    PERFORM pg_sleep(0.0005);
  END LOOP;
END $$;
DELETE FROM concurrent_edit.edit_sessions WHERE project_id = 'bbbbbbbb-0000-0000-0000-000000000003';
DELETE FROM concurrent_edit.files WHERE project_id = 'bbbbbbbb-0000-0000-0000-000000000003';
SELECT count(concurrent_edit.create_file('bbbbbbbb-0000-0000-0000-000000000003', 'l' || i || '.txt', 'x',
       'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', file_id => ('00000000-0000-0000-0000-0000000001' || lpad(i::text, 2, '0'))::uuid))
FROM generate_series(0, 8) i;
INSERT INTO concurrent_edit.edit_sessions (project_id, id, user_id)
SELECT 'bbbbbbbb-0000-0000-0000-000000000003', ('00000000-0000-0000-0000-0000000002' || lpad(i::text, 2, '0'))::uuid,
       'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'
FROM generate_series(1, 8) i;
SQL

# :f is the client's own file (1..8), or file 0 for the contended runs.
common='\set s :client_id + 1
\set f :client_id + 1'
fid="('00000000-0000-0000-0000-0000000001' || lpad(:f::text, 2, '0'))::uuid"
sid="('00000000-0000-0000-0000-0000000002' || lpad(:s::text, 2, '0'))::uuid"
for mode in unc con; do
  f='\set f :client_id + 1'; [[ $mode == con ]] && f='\set f 0'
  printf '%s\n%s\nSELECT concurrent_edit.acquire_lock(%s, %s%s);\nSELECT concurrent_edit.release_lock(%s, %s);\n' \
    '\set s :client_id + 1' "$f" "$fid" "$sid" "$([[ $mode == con ]] && echo ", wait => '1 minute'")" "$fid" "$sid" > "$work/ours_$mode.sql"
  if [[ $mode == unc ]]; then
    printf '%s\n%s\nINSERT INTO peer_locks VALUES (%s, %s, now() + interval %s) ON CONFLICT DO NOTHING;\nDELETE FROM peer_locks WHERE file_id = %s AND session_id = %s;\n' \
      '\set s :client_id + 1' "$f" "$fid" "$sid" "'30 seconds'" "$fid" "$sid" > "$work/table_$mode.sql"
  else
    printf '%s\n%s\nSELECT peer_acquire_wait(%s, %s);\nDELETE FROM peer_locks WHERE file_id = %s AND session_id = %s;\n' \
      '\set s :client_id + 1' "$f" "$fid" "$sid" "$fid" "$sid" > "$work/table_$mode.sql"
  fi
  printf '%s\nSELECT pg_advisory_lock(4242, :f);\nSELECT pg_advisory_unlock(4242, :f);\n' "$f" > "$work/advisory_$mode.sql"
done


# The quiet side must really run without lock events (the setting needs a
# superuser and the library loaded at connection).
[[ $(PGOPTIONS="-c concurrent_edit.lock_events=off" psql -XAtc "LOAD 'concurrent_edit'; SHOW concurrent_edit.lock_events" 2>&1 | tail -1) == off ]] \
  || { echo "locks: cannot run with concurrent_edit.lock_events = off" >&2; exit 1; }

for commit in on off; do
  export PGOPTIONS="-c synchronous_commit=$commit"
  echo "acquire+release cycles/s (pgbench, ${secs}s per run, median of $rounds alternating rounds, synchronous_commit=$commit)"
  echo "cpu: the server's CPU ms per cycle (all its processes, our worker included); cpu vs table = table's / ours"
  echo "quiet: ours with concurrent_edit.lock_events = off (no lock events in the feed)"
  printf '%-12s %-8s %12s %12s %12s %10s %10s %9s %9s %9s %10s %9s %9s %9s\n' workload clients ours table advisory "vs table" \
    "vs advis." "cpu ours" "cpu table" "cpu vs t." quiet "vs table" "cpu quiet" "cpu vs t."
  for mode in unc con; do
    for c in 1 8; do
      [[ $mode == con && $c == 1 ]] && continue
      o=(); t=(); a=(); oc=(); tc=(); q=(); qc=()
      for _ in $(seq 1 "$rounds"); do
        r=$(tps_cpu "$work/ours_$mode.sql" "$c"); read -r x u <<<"$r"; o+=("$x"); oc+=("$u")
        r=$(tps_cpu "$work/table_$mode.sql" "$c"); read -r x u <<<"$r"; t+=("$x"); tc+=("$u")
        r=$(PGOPTIONS="$PGOPTIONS -c concurrent_edit.lock_events=off" tps_cpu "$work/ours_$mode.sql" "$c")
        read -r x u <<<"$r"; q+=("$x"); qc+=("$u")
        a+=("$(tps "$work/advisory_$mode.sql" "$c")")
      done
      mo=$(median "${o[@]}"); mt=$(median "${t[@]}"); ma=$(median "${a[@]}"); mq=$(median "${q[@]}")
      moc=$(median "${oc[@]}"); mtc=$(median "${tc[@]}"); mqc=$(median "${qc[@]}")
      printf '%-12s %-8s %12.1f %12.1f %12.1f %9sx %9sx %9.3f %9.3f %8sx %10.1f %8sx %9.3f %8sx\n' \
        "$([[ $mode == unc ]] && echo uncontended || echo contended)" \
        "$c" "$mo" "$mt" "$ma" "$(ratio "$mo" "$mt")" "$(ratio "$mo" "$ma")" "$moc" "$mtc" "$(ratio "$mtc" "$moc")" \
        "$mq" "$(ratio "$mq" "$mt")" "$mqc" "$(ratio "$mtc" "$mqc")"
      chart_speed ratio-locks "locks, $([[ $mode == unc ]] && echo uncontended || echo contended), $c client(s), sync commit $commit" "$mo" "$mt" up
    done
  done
  echo
done
unset PGOPTIONS

# Latency of an uncontended acquire: 2000 acquire/commit/release/commit cycles in a
# procedure, clock_timestamp() around the acquire call (execution) and around the
# acquire plus its commit (synchronous_commit as set).
psql -qX -v ON_ERROR_STOP=1 -v chartfile="$CHART_DIR/lock-latency.tsv" <<'SQL'
SET client_min_messages = warning;
\o /dev/null
CREATE TEMP TABLE lat (kind text, ms float8);
CREATE OR REPLACE PROCEDURE lock_latency(n int) LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; t1 timestamptz; t2 timestamptz;
BEGIN
  FOR i IN 1 .. n LOOP
    t0 := clock_timestamp();
    PERFORM concurrent_edit.acquire_lock('00000000-0000-0000-0000-000000000101', '00000000-0000-0000-0000-000000000201');
    t1 := clock_timestamp();
    COMMIT;
    t2 := clock_timestamp();
    INSERT INTO lat VALUES ('acquire', extract(epoch FROM t1 - t0) * 1000), ('acquire+commit', extract(epoch FROM t2 - t0) * 1000);
    PERFORM concurrent_edit.release_lock('00000000-0000-0000-0000-000000000101', '00000000-0000-0000-0000-000000000201');
    COMMIT;
  END LOOP;
END $$;
CREATE OR REPLACE PROCEDURE table_latency(n int) LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; t1 timestamptz; t2 timestamptz;
BEGIN
  FOR i IN 1 .. n LOOP
    t0 := clock_timestamp();
    INSERT INTO peer_locks VALUES ('00000000-0000-0000-0000-000000000101', '00000000-0000-0000-0000-000000000201', now() + interval '30 seconds') ON CONFLICT DO NOTHING;
    t1 := clock_timestamp();
    COMMIT;
    t2 := clock_timestamp();
    INSERT INTO lat VALUES ('table insert', extract(epoch FROM t1 - t0) * 1000), ('table insert+commit', extract(epoch FROM t2 - t0) * 1000);
    DELETE FROM peer_locks;
    COMMIT;
  END LOOP;
END $$;
SET synchronous_commit = off;
CALL lock_latency(2000);
CALL table_latency(2000);
\o
\echo 'uncontended acquire latency (2000 cycles, synchronous_commit=off), ms:'
SELECT kind, round(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 3) AS p50,
       round(percentile_disc(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 3) AS p99
FROM lat GROUP BY kind ORDER BY kind;
\pset format unaligned
\pset tuples_only on
\pset fieldsep '\t'
\o :chartfile
SELECT kind, p, round(percentile_disc(q) WITHIN GROUP (ORDER BY ms)::numeric, 3)
FROM lat, (VALUES ('p50', 0.5), ('p99', 0.99)) x(p, q) GROUP BY kind, p, q ORDER BY kind, p;
\o
SQL
