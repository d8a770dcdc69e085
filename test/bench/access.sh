#!/usr/bin/env bash
# The cost of the rights check (docs/security.md): write() and an acquire_lock +
# release_lock cycle at 1 and 8 clients, run by a superuser (whose check stops at
# "superuser") and by a role that holds write on the project through
# grant_project (the full check: cached project right, session ownership), in
# alternating runs of the same cluster. The peer is the superuser run. The check
# costs CPU only, so the runs use synchronous_commit=off (fsync waits would hide
# it in noise); ACCESS_BENCH_COMMIT=on measures with flushes.
#
#   ACCESS_BENCH_SECONDS  duration of one pgbench run (default BENCH_SECONDS, 10)
#   ACCESS_BENCH_ROUNDS   alternating rounds; the median is reported (default 5)
#   ACCESS_BENCH_CLIENTS  client counts (default "1 8")
#   ACCESS_BENCH_WORKLOADS  "write lock" (default both)
set -euo pipefail
secs=${ACCESS_BENCH_SECONDS:-${BENCH_SECONDS:-10}}
rounds=${ACCESS_BENCH_ROUNDS:-5}
export PGOPTIONS="-c synchronous_commit=${ACCESS_BENCH_COMMIT:-off}"
work=$BUILD/bench/access
mkdir -p "$work"
source "$(dirname "$0")/pgbench.bash"

psql -qX -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
\o /dev/null
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_writer') THEN CREATE ROLE bench_writer LOGIN; END IF;
END $$;
DELETE FROM concurrent_edit.edit_sessions WHERE project_id = 'bbbbbbbb-0000-0000-0000-0000000000a5';
DELETE FROM concurrent_edit.files WHERE project_id = 'bbbbbbbb-0000-0000-0000-0000000000a5';
SELECT concurrent_edit.grant_project('bbbbbbbb-0000-0000-0000-0000000000a5', 'bench_writer', 'write');
-- 8 files (one per client) of ~2 kB, and for each role 8 sessions it owns.
SELECT concurrent_edit.create_file('bbbbbbbb-0000-0000-0000-0000000000a5', 'a' || i || '.txt',
       repeat(E'some line of text in the file\n', 64), 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa',
       file_id => ('00000000-0000-0000-0000-0000000005' || lpad(i::text, 2, '0'))::uuid)
FROM generate_series(1, 8) i;
INSERT INTO concurrent_edit.edit_sessions (project_id, id, user_id, role)
SELECT 'bbbbbbbb-0000-0000-0000-0000000000a5', ('00000000-0000-0000-0000-000000000' || r || lpad(i::text, 2, '0'))::uuid,
       'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', CASE r WHEN 6 THEN current_user ELSE 'bench_writer' END::regrole
FROM generate_series(1, 8) i, generate_series(6, 7) r;
SQL

fid="('00000000-0000-0000-0000-0000000005' || lpad(:f::text, 2, '0'))::uuid"
cat > "$work/write.sql" <<SQL
\\set f :client_id + 1
\\set n random(1, 1000000000)
SELECT status FROM concurrent_edit.write($fid, 'edit ' || :n || E'\\n' || repeat(E'some line of text in the file\\n', 63),
       (SELECT version FROM concurrent_edit.read($fid)), 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa');
SQL
for r in 6 7; do
  sid="('00000000-0000-0000-0000-000000000$r' || lpad(:f::text, 2, '0'))::uuid"
  printf '%s\nSELECT concurrent_edit.acquire_lock(%s, %s);\nSELECT concurrent_edit.release_lock(%s, %s);\n' \
    '\set f :client_id + 1' "$fid" "$sid" "$fid" "$sid" > "$work/lock_$r.sql"
done

echo "The rights check: superuser (check stops at once) vs a role with grant_project write (full check)"
echo "pgbench, ${secs}s per run, $rounds alternating rounds, median tps, synchronous_commit=${ACCESS_BENCH_COMMIT:-off}"
printf '%-22s %-8s %14s %14s %8s\n' workload clients "superuser tps" "granted tps" ratio
for w in ${ACCESS_BENCH_WORKLOADS:-write lock}; do
  for c in ${ACCESS_BENCH_CLIENTS:-1 8}; do
    su=(); gr=()
    for _ in $(seq 1 "$rounds"); do
      if [[ $w == write ]]; then
        su+=("$(tps "$work/write.sql" "$c")")
        gr+=("$(PGUSER=bench_writer tps "$work/write.sql" "$c")")
      else
        su+=("$(tps "$work/lock_6.sql" "$c")")
        gr+=("$(PGUSER=bench_writer tps "$work/lock_7.sql" "$c")")
      fi
    done
    s=$(median "${su[@]}"); g=$(median "${gr[@]}")
    printf '%-22s %-8s %14.1f %14.1f %7sx   (runs: superuser %s / granted %s)\n' \
      "$([[ $w == write ]] && echo 'write() (read+write)' || echo 'acquire+release lock')" "$c" "$s" "$g" \
      "$(ratio "$g" "$s")" "${su[*]}" "${gr[*]}"
  done
done
