#!/usr/bin/env bash
# Throughput through the shard router (concurrent_edit_router, PL/Proxy) against
# the same calls made directly on the shard, at 8 clients, alternating runs.
# The bench cluster is the one shard; a second cluster is the router, configured
# with it (16 partitions, all served by it), so the difference is the router's
# hop: its routing (a router_directory lookup for a file id), the PL/Proxy call
# over a Unix socket, and the error relay's subtransaction. Each client writes its
# own file (200 lines, the first line changes; after a read of the head) or reads
# it. Then p50/p99 latency of one read at 1 client, both ways.
#
#   ROUTER_BENCH_SECONDS  duration of one pgbench run (default BENCH_SECONDS / 2, at least 2)
#   ROUTER_BENCH_ROUNDS   alternating rounds; the median is reported (default 3)
set -euo pipefail
bench_secs=${BENCH_SECONDS:-10}
secs=${ROUTER_BENCH_SECONDS:-$(( bench_secs / 2 > 2 ? bench_secs / 2 : 2 ))}
rounds=${ROUTER_BENCH_ROUNDS:-3}
work=$BUILD/bench/router
mkdir -p "$work"
source "$(dirname "$0")/pgbench.bash"
source "$ROOT/scripts/lib.sh"

shard_host=$PGHOST shard_port=$PGPORT
router_data=$BUILD/bench/router-cluster
start_cluster "$router_data" <<'CONF'
shared_buffers = 128MB
max_connections = 50
CONF
trap 'stop_cluster "$router_data"' EXIT
ROUTER_PGHOST=$PGHOST
export PGHOST=$shard_host PGPORT=$shard_port
on_router() { PGHOST=$ROUTER_PGHOST PGDATABASE=postgres "$@"; }
on_router psql -qX -v ON_ERROR_STOP=1 -o /dev/null \
  -c "CREATE EXTENSION concurrent_edit_router CASCADE" \
  -c "SELECT concurrent_edit.router_configure(ARRAY['host=$shard_host port=$shard_port dbname=$PGDATABASE'])"

psql -qX -v ON_ERROR_STOP=1 -o /dev/null <<'SQL'
SET client_min_messages = warning;
DELETE FROM concurrent_edit.files WHERE project_id BETWEEN 'eeeeeeee-0000-0000-0000-000000000000'
                                                      AND 'eeeeeeee-0000-0000-0000-ffffffffffff';
DROP TABLE IF EXISTS router_text;
CREATE TABLE router_text AS
SELECT string_agg('line ' || i || ' ' || md5(i::text), E'\n' ORDER BY i) || E'\n' AS t FROM generate_series(2, 200) i;
SELECT count(concurrent_edit.create_file(('eeeeeeee-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid,
       'r' || i || '.txt', E'edit 0\n' || (SELECT t FROM router_text), 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa',
       file_id => ('ffffffff-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid))
FROM generate_series(1, 8) i;
SQL
# The router learns each file's project once (router_directory): not timed.
on_router psql -qX -v ON_ERROR_STOP=1 -o /dev/null -c "SELECT count(*) FROM generate_series(1, 8) i,
  concurrent_edit.read(('ffffffff-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid)"

# The router database gets the same table of the 199 unchanging lines: each side
# builds the new text where the client is connected and passes it to write().
on_router psql -qX -v ON_ERROR_STOP=1 -o /dev/null -c "DROP TABLE IF EXISTS router_text" \
  -c "CREATE TABLE router_text AS SELECT string_agg('line ' || i || ' ' || md5(i::text), E'\\n' ORDER BY i) || E'\\n' AS t
      FROM generate_series(2, 200) i"

fid="('ffffffff-0000-0000-0000-' || lpad(:f::text, 12, '0'))::uuid"
cat > "$work/write.sql" <<SQL
\\set f :client_id + 1
\\set n random(1, 1000000000)
SELECT version AS v FROM concurrent_edit.read($fid) \\gset
SELECT status FROM concurrent_edit.write($fid, 'edit ' || :n || E'\\n' || (SELECT t FROM router_text), :v,
       'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa');
SQL
cat > "$work/read.sql" <<SQL
\\set f :client_id + 1
SELECT version, content FROM concurrent_edit.read($fid);
SQL

echo "throughput through the shard router (PL/Proxy) vs the same calls on the shard directly"
echo "pgbench, 8 clients, ${secs}s per run, $rounds alternating rounds, median tps; each client on its own file"
echo "(200 lines); one shard (the bench cluster, library preloaded) behind a router cluster on this machine"
printf '%-34s %12s %12s %8s\n' workload "router tps" "direct tps" ratio
for w in write read; do
  r=(); d=()
  for _ in $(seq 1 "$rounds"); do
    r+=("$(PGHOST=$ROUTER_PGHOST PGDATABASE=postgres tps "$work/$w.sql" 8)")
    d+=("$(tps "$work/$w.sql" 8)")
  done
  rm=$(median "${r[@]}"); dm=$(median "${d[@]}")
  label="read() + write(), 8 clients"; [[ $w == read ]] && label="read(), 8 clients"
  printf '%-34s %12.1f %12.1f %7sx   (runs: router %s / direct %s)\n' "$label" "$rm" "$dm" "$(ratio "$rm" "$dm")" \
    "${r[*]}" "${d[*]}"
done

# Latency of one read at 1 client: pgbench's per-transaction log.
latency() {
  local dir=$work/lat-$1
  rm -rf "$dir"; mkdir -p "$dir"
  (cd "$dir" && pgbench -n -f "$work/read.sql" -c 1 -T "$secs" -l >/dev/null 2>&1)
  cat "$dir"/pgbench_log.* | awk '{print $3 / 1000}' | sort -g |
    awk '{a[NR]=$1} END {printf "p50 %.3f ms  p99 %.3f ms  (%d reads)", a[int(NR*0.5)], a[int(NR*0.99)], NR}'
}
echo "read() latency, 1 client: router $(PGHOST=$ROUTER_PGHOST PGDATABASE=postgres latency router)"
echo "                          direct $(latency direct)"
