#!/usr/bin/env bash
# write() against a hand-written PL/pgSQL peer doing the same work (UPDATE the head
# WHERE version = base, INSERT the history row, sha256, pg_notify): pgbench at 1
# and 8 clients, each transaction a read of the head then a write on it, each
# client on its own 200-line file; with the library preloaded (and its worker, to
# which a committing writer hands its events when the project's feed row is busy)
# and not preloaded (a second throwaway cluster), at synchronous_commit on and off: 8
# configurations, alternating runs of both sides in the same cluster. Then
# write() latency on a file with 10 versions of history against one with 100,000,
# and against file size (1 kB to 10 MB) beside the peer's. Chart data:
# ratio-writes, write-latency-history, write-latency-size (test/bench/charts.bash).
#
#   WRITES_BENCH_SECONDS  duration of one throughput run (default BENCH_SECONDS / 2,
#                         at least 2); a latency run lasts a third of BENCH_SECONDS
#                         (at least 2)
#   WRITES_BENCH_ROUNDS   alternating rounds; the median is reported (default 3)
set -euo pipefail
bench_secs=${BENCH_SECONDS:-10}
tput_secs=${WRITES_BENCH_SECONDS:-$(( bench_secs / 2 > 2 ? bench_secs / 2 : 2 ))}
lat_secs=${WRITES_BENCH_SECONDS:-$(( bench_secs / 3 > 2 ? bench_secs / 3 : 2 ))}
rounds=${WRITES_BENCH_ROUNDS:-3}
work=$BUILD/bench/writes
mkdir -p "$work"
source "$(dirname "$0")/pgbench.bash"
source "$(dirname "$0")/charts.bash"
source "$(dirname "$0")/plain_cluster.bash"
chart_reset ratio-writes
chart_reset write-latency-history
chart_reset write-latency-size

# The same files on both clusters: 8 for each implementation, one per client,
# 200 lines (~8.6 kB). bench_text holds the 199 lines after the first: pgbench
# cannot put a variable inside a quoted literal, so both scripts build the new
# text on the server from it.
setup_throughput() {
  psql -qX -v ON_ERROR_STOP=1 -o /dev/null -f "$(dirname "$0")/peer_write.sql"
  psql -qX -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
\o /dev/null
DROP TABLE IF EXISTS bench_text;
CREATE TABLE bench_text AS
SELECT string_agg('line ' || i || ' ' || md5(i::text), E'\n' ORDER BY i) || E'\n' AS t FROM generate_series(2, 200) i;
DELETE FROM concurrent_edit.files WHERE project_id = 'bbbbbbbb-0000-0000-0000-000000000001';
SELECT concurrent_edit.create_file('bbbbbbbb-0000-0000-0000-000000000001', 'w' || i || '.txt',
       E'edit 0\n' || (SELECT t FROM bench_text), 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa',
       file_id => ('00000000-0000-0000-0000-0000000000' || lpad(i::text, 2, '0'))::uuid)
FROM generate_series(1, 8) i;
INSERT INTO peer_files SELECT ('00000000-0000-0000-0000-0000000000' || lpad(i::text, 2, '0'))::uuid,
       'bbbbbbbb-0000-0000-0000-000000000001', 1, '', NULL, now() FROM generate_series(1, 8) i;
INSERT INTO peer_versions (file_id, version, content, content_hash)
SELECT id, 1, E'edit 0\n' || (SELECT t FROM bench_text), '' FROM peer_files;
SQL
}
start_plain_cluster writes
setup_throughput
on_plain setup_throughput

# One transaction = read the head (version and text) then write on it: the first
# line changes. Both sides run the same two statements, each its own transaction.
fid="('00000000-0000-0000-0000-0000000000' || lpad(:f::text, 2, '0'))::uuid"
cat > "$work/ours.sql" <<SQL
\\set f :client_id + 1
\\set n random(1, 1000000000)
SELECT version AS v, content AS c FROM concurrent_edit.read($fid) \\gset
SELECT status FROM concurrent_edit.write($fid, 'edit ' || :n || E'\\n' || (SELECT t FROM bench_text), :v,
       'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa');
SQL
cat > "$work/peer.sql" <<SQL
\\set f :client_id + 1
\\set n random(1, 1000000000)
SELECT f.head_version AS v, pv.content AS c FROM peer_files f
  JOIN peer_versions pv ON pv.file_id = f.id AND pv.version = f.head_version WHERE f.id = $fid \\gset
SELECT peer_write($fid, 'edit ' || :n || E'\\n' || (SELECT t FROM bench_text), :v,
       'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa');
SQL

echo "write() vs PL/pgSQL peer (UPDATE ... WHERE version = base + INSERT history + sha256 + pg_notify)"
echo "pgbench, ${tput_secs}s per run, $rounds alternating rounds, median tps; a transaction = read the head, write on it;"
echo "each client its own 200-line file. worker: library preloaded (a busy feed row hands the events to the worker);"
echo "no preload: a second cluster. In both the committing transaction numbers and notifies its events"
echo "cpu: the server's CPU ms per transaction (all its processes); cpu ratio = peer's / ours (above 1:"
echo "write() costs less CPU), a figure that does not depend on how fast an idle CPU wakes up"
printf '%-10s %-11s %-8s %12s %12s %8s %9s %9s %9s\n' cluster sync_commit clients "write() tps" "peer tps" ratio \
  "cpu ours" "cpu peer" "cpu ratio"
secs=$tput_secs
for sc in on off; do
  for cl in worker plain; do
    for c in 1 8; do
      ours=(); peer=(); ours_cpu=(); peer_cpu=()
      for _ in $(seq 1 "$rounds"); do
        run=tps_cpu; [[ $cl == plain ]] && run="on_plain tps_cpu"
        # (An assignment, so that a failed run stops the benchmark: set -e.)
        r=$(PGOPTIONS="-c synchronous_commit=$sc" $run "$work/ours.sql" "$c")
        read -r t u <<<"$r"; ours+=("$t"); ours_cpu+=("$u")
        r=$(PGOPTIONS="-c synchronous_commit=$sc" $run "$work/peer.sql" "$c")
        read -r t u <<<"$r"; peer+=("$t"); peer_cpu+=("$u")
      done
      o=$(median "${ours[@]}"); p=$(median "${peer[@]}")
      oc=$(median "${ours_cpu[@]}"); pc=$(median "${peer_cpu[@]}")
      label=$([[ $cl == worker ]] && echo worker || echo "no preload")
      printf '%-10s %-11s %-8s %12.1f %12.1f %7sx %9.3f %9.3f %8sx   (runs: ours %s / peer %s)\n' "$label" "$sc" "$c" \
        "$o" "$p" "$(ratio "$o" "$p")" "$oc" "$pc" "$(ratio "$pc" "$oc")" "${ours[*]}" "${peer[*]}"
      chart_speed ratio-writes "write(), $c client(s), $label, sync $sc" "$o" "$p" up
    done
  done
done
stop_cluster "$plain_data"
secs=$lat_secs

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
echo "write() latency against file size, 1 client, median of $rounds runs (ms), each run a new connection."
echo "avg: pgbench's average latency of the run; per write: the median of its writes; first: its first write"
printf '%-10s %12s %12s %8s   %10s %10s %8s   %10s %10s\n' bytes "write() avg" "peer avg" ratio \
  "per write" peer ratio first "peer first"
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
  o=(); p=(); om=(); pm=(); of=(); pf=()
  for _ in $(seq 1 "$rounds"); do
    read -r a f m < <(lat_detail "$work/size_ours_$kb.sql"); [[ -n ${m:-} ]] || exit 1
    o+=("$a"); of+=("$f"); om+=("$m")
    read -r a f m < <(lat_detail "$work/size_peer_$kb.sql"); [[ -n ${m:-} ]] || exit 1
    p+=("$a"); pf+=("$f"); pm+=("$m")
  done
  mo=$(median "${o[@]}"); mp=$(median "${p[@]}")
  mom=$(median "${om[@]}"); mpm=$(median "${pm[@]}")
  printf '%-10s %12s %12s %7sx   %10s %10s %7sx   %10s %10s\n' "$((kb * 1024))" "$mo" "$mp" "$(ratio "$mo" "$mp")" \
    "$mom" "$mpm" "$(ratio "$mom" "$mpm")" "$(median "${of[@]}")" "$(median "${pf[@]}")"
  chart_point write-latency-size ours "$((kb * 1024))" "$mo"
  chart_point write-latency-size peer "$((kb * 1024))" "$mp"
done
