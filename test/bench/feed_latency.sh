#!/usr/bin/env bash
# Change-feed delivery latency: from a write's COMMIT to the NOTIFY received by a
# client LISTENing on the project's channel, p50 and p99, with the library preloaded
# and its worker and without them (a second cluster, not preloaded); a write's
# transaction numbers and notifies its event at commit in both. In the preloaded
# cluster also the worker's path: a REPEATABLE READ write, whose event waits in
# change_pending until the worker, woken by the commit, numbers and notifies it
# from its own transaction. Beside each, the
# peer in the same cluster and the same run: peer_write (test/bench/peer_write.sql)
# whose pg_notify is in the writing transaction. One write at a time, ours and the
# peer alternating; the client program is test/bench/feed_latency.py. Chart data:
# feed-latency, ratio-feed (test/bench/charts.bash).
#
#   FEED_BENCH_WRITES  writes of each side in each cluster (default 20 x BENCH_SECONDS, 200)
set -euo pipefail
count=${FEED_BENCH_WRITES:-$(( 20 * ${BENCH_SECONDS:-10} ))}
python=/usr/bin/python3
source "$(dirname "$0")/pgbench.bash"   # ratio
source "$(dirname "$0")/charts.bash"
source "$(dirname "$0")/plain_cluster.bash"
chart_reset feed-latency
chart_reset ratio-feed
"$python" -c 'import psycopg2' 2>/dev/null ||
  { echo "feed_latency: $python cannot import psycopg2 (scripts/bootstrap.sh installs python3-psycopg2)" >&2; exit 1; }

ours_project=eeeeeeee-0000-0000-0000-000000000001
peer_project=eeeeeeee-0000-0000-0000-000000000002
ours_prefix=eeeeeeee-0000-0000-0001-
peer_prefix=eeeeeeee-0000-0000-0002-
worker_prefix=eeeeeeee-0000-0000-0003-

# COUNT files for each side, at version 1, a file per write (the payload of a
# write's event names its file, not its version).
setup() {
  psql -qX -v ON_ERROR_STOP=1 -o /dev/null -f "$(dirname "$0")/peer_write.sql"
  psql -qX -v ON_ERROR_STOP=1 -o /dev/null <<SQL
SET client_min_messages = warning;
DELETE FROM concurrent_edit.files WHERE project_id = '$ours_project';
SELECT concurrent_edit.create_file('$ours_project', 'f' || i || '.txt', E'first line\nsecond line\n',
       'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', file_id => ('$ours_prefix' || lpad(to_hex(i), 12, '0'))::uuid)
FROM generate_series(1, $count) i;
SELECT concurrent_edit.create_file('$ours_project', 'w' || i || '.txt', E'first line\nsecond line\n',
       'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', file_id => ('$worker_prefix' || lpad(to_hex(i), 12, '0'))::uuid)
FROM generate_series(1, $count) i;
INSERT INTO peer_files SELECT ('$peer_prefix' || lpad(to_hex(i), 12, '0'))::uuid, '$peer_project', 1, '', NULL, now()
FROM generate_series(1, $count) i;
INSERT INTO peer_versions (file_id, version, content, content_hash)
SELECT id, 1, E'first line\nsecond line\n', '' FROM peer_files;
SQL
  # The "created" events are sequenced (by the worker, or already at commit) before
  # the timed writes start.
  for _ in $(seq 1 100); do
    [[ $(psql -qAtX -c "SELECT count(*) FROM concurrent_edit.change_pending WHERE project_id = '$ours_project'") == 0 ]] && break
    sleep 0.2
  done
}
start_plain_cluster feed_latency
setup
on_plain setup

echo "Change-feed delivery latency: COMMIT of a write to its NOTIFY at a LISTENing client, ms"
echo "$count writes per side and cluster, one at a time, ours and the peer alternating, a file per write;"
echo "ours: write(), the event numbered and notified by the committing transaction (with and without the worker);"
echo "worker path: the same write in REPEATABLE READ, its event numbered and notified by the worker after the commit;"
echo "peer: peer_write with pg_notify in the same transaction. 'returned': from the client seeing COMMIT return"
echo "(negative: the NOTIFY arrived first); 'sent': from just before COMMIT was sent. Nothing is clamped."
printf '%-10s %-18s %6s %9s %9s %9s %9s %5s %8s %8s\n' cluster side writes "p50 ret" "p99 ret" "p50 sent" "p99 sent" \
  "neg" "p50 vs" "p99 vs"
for cl in worker plain; do
  if [[ $cl == worker ]]; then
    out=$("$python" "$(dirname "$0")/feed_latency.py" "$count" "$ours_project" "$ours_prefix" "$peer_project" "$peer_prefix" \
      "$worker_prefix")
    label=worker; ours_label="write(), preloaded"; peer_label="peer"
  else
    out=$(on_plain "$python" "$(dirname "$0")/feed_latency.py" "$count" "$ours_project" "$ours_prefix" "$peer_project" "$peer_prefix")
    label="no preload"; ours_label="write(), no preload"; peer_label="peer, no preload"
  fi
  # Lines: SIDE N LOST p50_returned p99_returned p50_sent p99_sent NEGATIVE.
  read -r _ _ _ _ _ pp50 pp99 _ <<<"$(grep '^peer ' <<<"$out")"
  while read -r side n lost r50 r99 s50 s99 neg; do
    if [[ $lost != 0 ]]; then
      echo "feed_latency: $lost of the $side notifications did not arrive within 10 s ($label)" >&2
      exit 1
    fi
    if [[ $side == ours || $side == ours_worker ]]; then
      name=$ours_label; [[ $side == ours_worker ]] && name="write() RR, worker"
      v50="$(ratio "$s50" "$pp50")x"; v99="$(ratio "$s99" "$pp99")x"
      chart_speed ratio-feed "feed latency p50, $name" "$s50" "$pp50" down
      chart_speed ratio-feed "feed latency p99, $name" "$s99" "$pp99" down
    else
      name=$peer_label; v50=""; v99=""
    fi
    printf '%-10s %-18s %6s %9s %9s %9s %9s %5s %8s %8s\n' "$label" "$name" "$n" "$r50" "$r99" "$s50" "$s99" "$neg" \
      "$v50" "$v99"
    chart_point feed-latency "$name" p50 "$s50"
    chart_point feed-latency "$name" p99 "$s99"
  done <<<"$out"
done
echo "p50 vs, p99 vs: ours / the peer's in the same cluster, from COMMIT sent (below 1: faster)"
