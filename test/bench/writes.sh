#!/usr/bin/env bash
# write() against a hand-written PL/pgSQL peer doing the same work (UPDATE the head
# WHERE version = base, INSERT the history row, sha256, pg_notify), with pgbench at
# 1 and 8 clients, alternating runs in the same cluster; then write() latency on a
# file with 10 versions of history against one with 100,000, and against file size
# (1 kB to 10 MB) beside the peer's. Chart data: ratio-writes, write-latency-history,
# write-latency-size (test/bench/charts.bash).
#
#   WRITES_BENCH_SECONDS  duration of one pgbench run (default BENCH_SECONDS, 10)
#   WRITES_BENCH_ROUNDS   alternating rounds; the median is reported (default 3)
set -euo pipefail
secs=${WRITES_BENCH_SECONDS:-${BENCH_SECONDS:-10}}
rounds=${WRITES_BENCH_ROUNDS:-3}
work=$BUILD/bench/writes
mkdir -p "$work"
source "$(dirname "$0")/pgbench.bash"
source "$(dirname "$0")/charts.bash"
chart_reset ratio-writes
chart_reset write-latency-history
chart_reset write-latency-size

psql -qX -v ON_ERROR_STOP=1 -o /dev/null -f "$(dirname "$0")/peer_write.sql"
psql -qX -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
\o /dev/null
-- 8 files for each implementation, one per client, ~2 kB of text each.
DELETE FROM concurrent_edit.files WHERE project_id = 'bbbbbbbb-0000-0000-0000-000000000001';
SELECT concurrent_edit.create_file('bbbbbbbb-0000-0000-0000-000000000001', 'w' || i || '.txt',
       repeat(E'some line of text in the file\n', 64), 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa',
       file_id => ('00000000-0000-0000-0000-0000000000' || lpad(i::text, 2, '0'))::uuid)
FROM generate_series(1, 8) i;
INSERT INTO peer_files SELECT ('00000000-0000-0000-0000-0000000000' || lpad(i::text, 2, '0'))::uuid,
       'bbbbbbbb-0000-0000-0000-000000000001', 1, '', NULL, now() FROM generate_series(1, 8) i;
INSERT INTO peer_versions (file_id, version, content, content_hash)
SELECT id, 1, repeat(E'some line of text in the file\n', 64), '' FROM peer_files;
SQL

# Each client writes its own file from the current head: one line changes per write.
cat > "$work/ours.sql" <<'SQL'
\set f :client_id + 1
\set n random(1, 1000000000)
SELECT status FROM concurrent_edit.write(('00000000-0000-0000-0000-0000000000' || lpad(:f::text, 2, '0'))::uuid,
       'edit ' || :n || E'\n' || repeat(E'some line of text in the file\n', 63),
       (SELECT head_version FROM concurrent_edit.files WHERE id = ('00000000-0000-0000-0000-0000000000' || lpad(:f::text, 2, '0'))::uuid),
       'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa');
SQL
cat > "$work/peer.sql" <<'SQL'
\set f :client_id + 1
\set n random(1, 1000000000)
SELECT peer_write(('00000000-0000-0000-0000-0000000000' || lpad(:f::text, 2, '0'))::uuid,
       'edit ' || :n || E'\n' || repeat(E'some line of text in the file\n', 63),
       (SELECT head_version FROM peer_files WHERE id = ('00000000-0000-0000-0000-0000000000' || lpad(:f::text, 2, '0'))::uuid),
       'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa');
SQL


echo "write() vs PL/pgSQL peer (UPDATE ... WHERE version = base + INSERT history + sha256 + pg_notify)"
echo "pgbench, ${secs}s per run, $rounds alternating rounds, median tps; each client writes its own ~2 kB file"
printf '%-8s %12s %12s %8s\n' clients "write() tps" "peer tps" ratio
for c in 1 8; do
  ours=(); peer=()
  for _ in $(seq 1 "$rounds"); do
    ours+=("$(tps "$work/ours.sql" "$c")")
    peer+=("$(tps "$work/peer.sql" "$c")")
  done
  o=$(median "${ours[@]}"); p=$(median "${peer[@]}")
  printf '%-8s %12.1f %12.1f %7sx   (runs: ours %s / peer %s)\n' "$c" "$o" "$p" "$(ratio "$o" "$p")" \
    "${ours[*]}" "${peer[*]}"
  chart_speed ratio-writes "write(), $c client(s)" "$o" "$p" up
done

# Latency with 10 versus 100,000 versions of history (one client).
psql -qX -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
\o /dev/null
DELETE FROM concurrent_edit.files WHERE project_id = 'bbbbbbbb-0000-0000-0000-000000000002';
SELECT concurrent_edit.create_file('bbbbbbbb-0000-0000-0000-000000000002', 'short.txt', 'v1', 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa',
       file_id => '00000000-0000-0000-0000-00000000aa10');
SELECT concurrent_edit.create_file('bbbbbbbb-0000-0000-0000-000000000002', 'long.txt', 'v1', 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa',
       file_id => '00000000-0000-0000-0000-00000000aaff');
-- History built in bulk (the same rows write() would have left).
-- (Each version stored in full: a snapshot is a valid stored form.)
INSERT INTO concurrent_edit.file_versions (project_id, file_id, version, content, content_hash, created_by, bytes)
SELECT 'bbbbbbbb-0000-0000-0000-000000000002', f, v, repeat(E'some line of text in the file\n', 64) || v,
       concurrent_edit.content_hash(repeat(E'some line of text in the file\n', 64) || v), 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa',
       octet_length(repeat(E'some line of text in the file\n', 64) || v)
FROM (VALUES ('00000000-0000-0000-0000-00000000aa10'::uuid, 10), ('00000000-0000-0000-0000-00000000aaff'::uuid, 100000)) x(f, n),
     generate_series(2, n) v;
UPDATE concurrent_edit.files f SET head_version = x.n,
       head_hash = concurrent_edit.content_hash(repeat(E'some line of text in the file\n', 64) || x.n),
       head_content = repeat(E'some line of text in the file\n', 64) || x.n
FROM (VALUES ('00000000-0000-0000-0000-00000000aa10'::uuid, 10), ('00000000-0000-0000-0000-00000000aaff'::uuid, 100000)) x(f, n)
WHERE f.id = x.f;
VACUUM ANALYZE concurrent_edit.file_versions;
SQL
for name in aa10 aaff; do
  cat > "$work/hist_$name.sql" <<SQL
\\set n random(1, 1000000000)
SELECT status FROM concurrent_edit.write('00000000-0000-0000-0000-00000000$name',
       'edit ' || :n || E'\\n' || repeat(E'some line of text in the file\\n', 63),
       (SELECT head_version FROM concurrent_edit.files WHERE id = '00000000-0000-0000-0000-00000000$name'),
       'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa');
SQL
done
short=(); long=()
for _ in $(seq 1 "$rounds"); do
  short+=("$(lat "$work/hist_aa10.sql")"); long+=("$(lat "$work/hist_aaff.sql")")
done
s=$(median "${short[@]}"); l=$(median "${long[@]}")
echo
echo "write() latency, 1 client, median of $rounds runs: 10 versions ${s} ms, 100,000 versions ${l} ms, ratio $(ratio "$l" "$s")x"
chart_point write-latency-history write 10 "$s"
chart_point write-latency-history write 100000 "$l"

# Latency against file size: one line changes per write, the text built by the
# server (no multi-megabyte literal in the script). Each size has its own file for
# write() and for the peer.
echo
echo "write() latency against file size, 1 client, median of $rounds runs (ms)"
printf '%-10s %12s %12s %8s\n' bytes "write()" peer ratio
for kb in 1 100 1000 10000; do
  lines=$((kb * 1024 / 32))
  fid=$(printf '00000000-0000-0000-0000-000000b%05d' "$kb")
  psql -qX -v ON_ERROR_STOP=1 -o /dev/null <<SQL
SET client_min_messages = warning;
DELETE FROM concurrent_edit.files WHERE id = '$fid';
DELETE FROM peer_versions WHERE file_id = '$fid';
DELETE FROM peer_files WHERE id = '$fid';
SELECT concurrent_edit.create_file('bbbbbbbb-0000-0000-0000-000000000003', 'size$kb.txt',
       repeat(E'a line of exactly 32 bytes here\n', $lines), 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', file_id => '$fid');
INSERT INTO peer_files VALUES ('$fid', 'bbbbbbbb-0000-0000-0000-000000000003', 1, '', NULL, now());
INSERT INTO peer_versions (file_id, version, content, content_hash)
VALUES ('$fid', 1, repeat(E'a line of exactly 32 bytes here\n', $lines), '');
SQL
  printf '%s\n' '\set n random(1, 1000000000)' \
    "SELECT status FROM concurrent_edit.write('$fid', 'edit ' || :n || E'\\n' || repeat(E'a line of exactly 32 bytes here\\n', $lines - 1), (SELECT head_version FROM concurrent_edit.files WHERE id = '$fid'), 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa');" \
    > "$work/size_ours_$kb.sql"
  printf '%s\n' '\set n random(1, 1000000000)' \
    "SELECT peer_write('$fid', 'edit ' || :n || E'\\n' || repeat(E'a line of exactly 32 bytes here\\n', $lines - 1), (SELECT head_version FROM peer_files WHERE id = '$fid'), 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa');" \
    > "$work/size_peer_$kb.sql"
  o=(); p=()
  for _ in $(seq 1 "$rounds"); do
    o+=("$(lat "$work/size_ours_$kb.sql")"); p+=("$(lat "$work/size_peer_$kb.sql")")
  done
  mo=$(median "${o[@]}"); mp=$(median "${p[@]}")
  printf '%-10s %12s %12s %7sx\n' "$((kb * 1024))" "$mo" "$mp" "$(ratio "$mo" "$mp")"
  chart_point write-latency-size ours "$((kb * 1024))" "$mo"
  chart_point write-latency-size peer "$((kb * 1024))" "$mp"
done
