#!/usr/bin/env bash
# write() throughput against the number of projects written to (1, 100, 10,000),
# beside the hand-written PL/pgSQL peer (test/bench/peer_write.sql) on files with
# the same ids and projects, alternating runs in the same cluster (the library
# preloaded, its worker sequencing each project's feed).
#
# 10,000 projects: project 1 holds files 0-7, project p (2..10,000) file p + 6, so
# the files of the first N projects are 0 .. N + 6. pgbench at 8 clients; a
# transaction reads the head of a random file among those and writes on it (the
# first line changes). Client c only picks files whose number is c modulo 8:
# no two clients ever write the same file, at every N, so what changes with N is
# only how many projects the writes spread over (N = 1: all 8 clients in one
# project, each on its own file). Chart data: write-throughput-projects,
# ratio-projects (test/bench/charts.bash).
#
#   PROJECTS_BENCH_SECONDS  duration of one pgbench run (default BENCH_SECONDS / 2, at least 2)
#   PROJECTS_BENCH_ROUNDS   alternating rounds; the median is reported (default 3)
set -euo pipefail
bench_secs=${BENCH_SECONDS:-10}
secs=${PROJECTS_BENCH_SECONDS:-$(( bench_secs / 2 > 2 ? bench_secs / 2 : 2 ))}
rounds=${PROJECTS_BENCH_ROUNDS:-3}
work=$BUILD/bench/projects
mkdir -p "$work"
source "$(dirname "$0")/pgbench.bash"
source "$(dirname "$0")/charts.bash"
chart_reset write-throughput-projects
chart_reset ratio-projects

# Removes the projects of this benchmark (their files, feeds and events).
cleanup() {
  psql -qX -v ON_ERROR_STOP=1 -o /dev/null <<'SQL'
SET client_min_messages = warning;
DELETE FROM concurrent_edit.files WHERE project_id BETWEEN 'cccccccc-0000-0000-0000-000000000000'
                                                      AND 'cccccccc-0000-0000-0000-ffffffffffff';
DELETE FROM concurrent_edit.change_pending WHERE project_id BETWEEN 'cccccccc-0000-0000-0000-000000000000'
                                                               AND 'cccccccc-0000-0000-0000-ffffffffffff';
DELETE FROM concurrent_edit.change_log WHERE project_id BETWEEN 'cccccccc-0000-0000-0000-000000000000'
                                                           AND 'cccccccc-0000-0000-0000-ffffffffffff';
DELETE FROM concurrent_edit.change_feeds WHERE project_id BETWEEN 'cccccccc-0000-0000-0000-000000000000'
                                                             AND 'cccccccc-0000-0000-0000-ffffffffffff';
SQL
}

start=$(date +%s)
cleanup
psql -qX -v ON_ERROR_STOP=1 -o /dev/null -f "$(dirname "$0")/peer_write.sql"
psql -qX -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
\o /dev/null
-- The same 200-line text as writes.sh: the first line, then bench_text.
DROP TABLE IF EXISTS bench_text;
CREATE TABLE bench_text AS
SELECT string_agg('line ' || i || ' ' || md5(i::text), E'\n' ORDER BY i) || E'\n' AS t FROM generate_series(2, 200) i;
CREATE TEMP TABLE pf AS
SELECT ('dddddddd-0000-0000-0000-' || lpad(g::text, 12, '0'))::uuid AS id,
       ('cccccccc-0000-0000-0000-' || lpad((CASE WHEN g < 8 THEN 1 ELSE g - 6 END)::text, 12, '0'))::uuid AS project_id,
       g
FROM generate_series(0, 10006) g;
-- In batches of 500, each its own transaction (one transaction for all would
-- run out of lock table slots).
DO $$
BEGIN
  FOR b IN 0..10006 BY 500 LOOP
    PERFORM concurrent_edit.create_file(project_id, 'p' || g || '.txt', E'edit 0\n' || (SELECT t FROM bench_text),
                                        'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', file_id => id)
    FROM pf WHERE g >= b AND g < b + 500 ORDER BY g;
    COMMIT;
  END LOOP;
END $$;
INSERT INTO peer_files SELECT id, project_id, 1, '', NULL, now() FROM pf;
INSERT INTO peer_versions (file_id, version, content, content_hash)
SELECT id, 1, E'edit 0\n' || (SELECT t FROM bench_text), '' FROM pf;
VACUUM ANALYZE peer_files, peer_versions, concurrent_edit.files, concurrent_edit.file_versions;
SQL
# The worker sequences the 10,007 "created" events; wait until it is done so that
# the runs measure the writes only.
for _ in $(seq 1 600); do
  [[ $(psql -qAtX -c "SELECT count(*) FROM concurrent_edit.change_pending WHERE project_id
        BETWEEN 'cccccccc-0000-0000-0000-000000000000' AND 'cccccccc-0000-0000-0000-ffffffffffff'") == 0 ]] && break
  sleep 0.5
done
# The setup wrote a few hundred MB of WAL: checkpoint now rather than during a run.
psql -qX -c CHECKPOINT

fid="('dddddddd-0000-0000-0000-' || lpad(:g::text, 12, '0'))::uuid"
for n in 1 100 10000; do
  nf=$((n + 7))
  pick="\\set g :client_id + 8 * random(0, ($nf - 1 - :client_id) / 8)"
  cat > "$work/ours_$n.sql" <<SQL
$pick
\\set n random(1, 1000000000)
SELECT version AS v, content AS c FROM concurrent_edit.read($fid) \\gset
SELECT status FROM concurrent_edit.write($fid, 'edit ' || :n || E'\\n' || (SELECT t FROM bench_text), :v,
       'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa');
SQL
  cat > "$work/peer_$n.sql" <<SQL
$pick
\\set n random(1, 1000000000)
SELECT f.head_version AS v, pv.content AS c FROM peer_files f
  JOIN peer_versions pv ON pv.file_id = f.id AND pv.version = f.head_version WHERE f.id = $fid \\gset
SELECT peer_write($fid, 'edit ' || :n || E'\\n' || (SELECT t FROM bench_text), :v,
       'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa');
SQL
done

echo "write() throughput against the number of projects written to, vs PL/pgSQL peer (same files, same projects)"
echo "setup: 10,000 projects, 10,007 files of 200 lines each side ($(( $(date +%s) - start )) s)"
echo "pgbench, 8 clients, ${secs}s per run, $rounds alternating rounds, median tps; a transaction = read the head of a"
echo "random file of the first N projects, write on it; no two clients on one file; library preloaded (worker)"
printf '%-9s %-7s %12s %12s %8s\n' projects files "write() tps" "peer tps" ratio
for n in 1 100 10000; do
  ours=(); peer=()
  for _ in $(seq 1 "$rounds"); do
    ours+=("$(tps "$work/ours_$n.sql" 8)")
    peer+=("$(tps "$work/peer_$n.sql" 8)")
  done
  o=$(median "${ours[@]}"); p=$(median "${peer[@]}")
  printf '%-9s %-7s %12.1f %12.1f %7sx   (runs: ours %s / peer %s)\n' "$n" "$((n + 7))" "$o" "$p" \
    "$(ratio "$o" "$p")" "${ours[*]}" "${peer[*]}"
  chart_point write-throughput-projects ours "$n" "$o"
  chart_point write-throughput-projects peer "$n" "$p"
  chart_speed ratio-projects "write(), 8 clients, $n project(s)" "$o" "$p" up
done
cleanup
