#!/usr/bin/env bash
# Benchmarks of the JSON three-way merge, each workload beside a peer measured in
# the same run (run by scripts/bench.sh: BENCH_CASES=json_merge scripts/bench.sh).
#
#   core: merge3 vs parsing + printing the same three documents; the sequence diff
#         (diff_match) vs dtl::Diff.
#   SQL:  concurrent_edit.jsonb_merge3 vs a PL/pgSQL three-way merge (objects key by
#         key, arrays of objects by id, no conflict report: what an application would
#         write without the extension), and vs PostgreSQL's built-in shallow merge
#         ours || theirs (which loses data; the floor of a jsonb operation).
set -euo pipefail
source "$(dirname "$0")/charts.bash"
chart_reset ratio-json_merge
SECS=${BENCH_SECONDS:-10}
mkdir -p "$BUILD/bench"

echo "### Core (C++, no server; per call, best of 3 runs)"
echo
g++ -std=c++17 -O2 -I"$ROOT/include" "$ROOT/test/bench/json_merge_core.cpp" "$ROOT"/src/core/*.cpp -licuuc \
    -o "$BUILD/bench/json_merge_core"
"$BUILD/bench/json_merge_core" "$(awk -v s="$SECS" 'BEGIN { print s / 4 }')"

psql -qX -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_docs;
CREATE TABLE bench_docs (name text PRIMARY KEY, b jsonb, o jsonb, t jsonb);
-- Seed 002: a production with 20 cameras and 20 sources; ours adds a camera, theirs
-- adds a source and edits the venue.
WITH base AS (
  SELECT jsonb_build_object(
    'name', 'Summer Festival 2026',
    'venue', jsonb_build_object('name', 'Riverside Park', 'city', 'Portland', 'capacity', 5000),
    'cameras', (SELECT jsonb_agg(jsonb_build_object('id', 'cam-' || i, 'model', 'Model ' || i, 'operator', 'Op ' || i, 'lens', 35.0) ORDER BY i) FROM generate_series(1, 20) i),
    'sources', (SELECT jsonb_agg(jsonb_build_object('id', 'src-' || i, 'name', 'Feed ' || i, 'type', 'SDI') ORDER BY i) FROM generate_series(1, 20) i)) AS b)
INSERT INTO bench_docs
SELECT 'seed', b,
       jsonb_set(b, '{cameras}', (b -> 'cameras') || '{"id": "cam-99", "model": "Sony A7", "operator": "Kevin", "lens": 50}'),
       jsonb_set(jsonb_set(b, '{sources}', (b -> 'sources') || '{"id": "src-99", "name": "Laptop 1", "type": "HDMI"}'),
                 '{venue,name}', '"North Gate"')
FROM base;
-- A list of 10000 items: ours edits item 10 and appends one, theirs edits item 5000
-- and deletes item 9000.
WITH items AS (
  SELECT i, jsonb_build_object('id', i, 'name', 'item ' || i, 'qty', i % 7) AS item FROM generate_series(1, 10000) i)
INSERT INTO bench_docs
SELECT 'list',
  jsonb_build_object('items', (SELECT jsonb_agg(item ORDER BY i) FROM items)),
  jsonb_build_object('items', (SELECT jsonb_agg(CASE WHEN i = 10 THEN item || '{"qty": 99}' ELSE item END ORDER BY i) FROM items)
                              || '[{"id": 10001, "name": "item 10001", "qty": 1}]'),
  jsonb_build_object('items', (SELECT jsonb_agg(CASE WHEN i = 5000 THEN item || '{"qty": 99}' ELSE item END ORDER BY i) FROM items WHERE i <> 9000));

DROP FUNCTION IF EXISTS bench_merge3_plpgsql(jsonb, jsonb, jsonb);
CREATE FUNCTION bench_merge3_plpgsql(b jsonb, o jsonb, t jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  k text; id text; e jsonb; bv jsonb; ov jsonb; tv jsonb;
  res jsonb := '{}'; acc jsonb[] := '{}'; bm jsonb; om jsonb; tm jsonb;
BEGIN
  IF o = t THEN RETURN o; END IF;
  IF b = o THEN RETURN t; END IF;
  IF b = t THEN RETURN o; END IF;
  IF jsonb_typeof(o) = 'object' AND jsonb_typeof(t) = 'object' AND coalesce(jsonb_typeof(b), 'object') = 'object' THEN
    FOR k IN SELECT jsonb_object_keys(o) UNION SELECT jsonb_object_keys(t) LOOP
      bv := b -> k; ov := o -> k; tv := t -> k;
      IF ov IS NOT NULL AND tv IS NOT NULL THEN
        res := res || jsonb_build_object(k, bench_merge3_plpgsql(bv, ov, tv));
      ELSIF ov IS NOT NULL THEN
        IF bv IS NULL OR bv <> ov THEN res := res || jsonb_build_object(k, ov); END IF;
      ELSIF bv IS NULL OR bv <> tv THEN
        res := res || jsonb_build_object(k, tv);
      END IF;
    END LOOP;
    RETURN res;
  END IF;
  IF jsonb_typeof(o) = 'array' AND jsonb_typeof(t) = 'array' AND coalesce(jsonb_typeof(b), 'array') = 'array'
     AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(o || t || coalesce(b, '[]')) x
                     WHERE jsonb_typeof(x) <> 'object' OR NOT x ? 'id') THEN
    SELECT coalesce(jsonb_object_agg(x ->> 'id', x), '{}') INTO bm FROM jsonb_array_elements(coalesce(b, '[]')) x;
    SELECT coalesce(jsonb_object_agg(x ->> 'id', x), '{}') INTO om FROM jsonb_array_elements(o) x;
    SELECT coalesce(jsonb_object_agg(x ->> 'id', x), '{}') INTO tm FROM jsonb_array_elements(t) x;
    FOR e IN SELECT x FROM jsonb_array_elements(o) x LOOP
      id := e ->> 'id'; bv := bm -> id; tv := tm -> id;
      IF tv IS NOT NULL THEN acc := acc || bench_merge3_plpgsql(bv, e, tv);
      ELSIF bv IS NULL OR bv <> e THEN acc := acc || e;
      END IF;
    END LOOP;
    FOR e IN SELECT x FROM jsonb_array_elements(t) x LOOP
      id := e ->> 'id';
      IF NOT om ? id AND (bm -> id IS NULL OR bm -> id <> e) THEN acc := acc || e; END IF;
    END LOOP;
    RETURN to_jsonb(acc);
  END IF;
  RETURN o;  -- a conflict: keep ours, without a report
END $$;
SQL

# Time of a query in microseconds (measured in the server session, so without psql
# start and connection), best of $2 (default 3) runs.
time_query() {
  local best="" d i
  for ((i = 0; i < ${2:-3}; i++)); do
    d=$(printf '%s\n' "SELECT clock_timestamp() AS t0 \\gset" "$1;" \
          "SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1e6);" |
        psql -qAtX -v ON_ERROR_STOP=1 | tail -1)
    if [[ -z $best || $d -lt $best ]]; then best=$d; fi
  done
  echo "$best"
}

# The expression is evaluated once per row of generate_series(1, N): its last
# argument depends on g, so the planner cannot fold the IMMUTABLE call.
query() {  # doc expression N
  echo "SELECT count(*) FROM bench_docs d, generate_series(1, $3) g, LATERAL (SELECT $2 AS r) x WHERE d.name = '$1' AND x.r IS NOT NULL"
}

declare -A LABEL=([seed]="seed production (20 cameras, 20 sources, ~4 kB)"
                  [list]="list of 10000 items by id (~450 kB), edits on both sides")
MERGE="(concurrent_edit.jsonb_merge3(d.b, d.o, CASE WHEN g > 0 THEN d.t END)).content"
PLPGSQL="bench_merge3_plpgsql(d.b, d.o, CASE WHEN g > 0 THEN d.t END)"
CONCAT="d.o || CASE WHEN g > 0 THEN d.t END"

echo
echo "### SQL (per call, best of 3 runs; N calls per run)"
echo
for w in seed list; do
  same=$(psql -qAtX -c "SELECT (concurrent_edit.jsonb_merge3(b, o, t)).content = bench_merge3_plpgsql(b, o, t) FROM bench_docs WHERE name = '$w'")
  # Calibrate N so that one run of jsonb_merge3 takes about BENCH_SECONDS / 20.
  n=1
  while us=$(time_query "$(query "$w" "$MERGE" "$n")" 1); ((us < 100000 && n < 10000000)); do n=$((n * 4)); done
  n=$(awk -v n="$n" -v us="$us" -v s="$SECS" 'BEGIN { n = int(n * s * 1e6 / 20 / us); print (n < 1 ? 1 : n) }')
  m=$(time_query "$(query "$w" "$MERGE" "$n")")
  p=$(time_query "$(query "$w" "$PLPGSQL" "$n")")
  c=$(time_query "$(query "$w" "$CONCAT" "$n")")
  echo "${LABEL[$w]}: N = $n, PL/pgSQL merge gives the same document: $same"
  chart_speed ratio-json_merge "jsonb_merge3, $([[ $w == seed ]] && echo '4 kB document' || echo '450 kB list'), vs PL/pgSQL merge" "$m" "$p" down
  echo
  echo "| workload | jsonb_merge3 | peer | ratio |"
  echo "|---|---|---|---|"
  awk -v w="${LABEL[$w]}" -v n="$n" -v m="$m" -v p="$p" -v c="$c" 'BEGIN {
    printf "| %s | %.1f us | PL/pgSQL merge %.1f us | %.2f |\n", w, m / n, p / n, m / p
    printf "| %s | %.1f us | ours \\|\\| theirs %.1f us | %.2f |\n", w, m / n, c / n, m / c
  }'
  echo
done

# Memory: how far one call raises the peak resident memory of a backend (VmHWM,
# reset with clear_refs after a warm-up call that reads the same documents), per
# JSON value of the three inputs. Documents: arrays of n objects {"id": i, "v": i}
# (3n + 1 values each). "shared": ours changes the first element, theirs appends one
# (the usual case: both sides are mostly their base). "disjoint": no element of one
# document equals one of another (every id differs): the worst case.
echo "### Memory (peak growth of the backend during one call, per value of the three inputs)"
echo
echo "| documents | values per input | jsonb_merge3 | per value | peer ours \\|\\| theirs | per value | ratio |"
echo "|---|---:|---:|---:|---:|---:|---:|"
peak_growth() {  # $1: a query over table bench_mem with one column; prints kB
  psql -qAtX <<SQL | tail -1
SELECT pg_backend_pid() AS pid \gset
SELECT count(*) FROM bench_mem WHERE (concurrent_edit.jsonb_merge3(a, a, a)).clean;
\setenv BACKEND :pid
\! echo 5 > /proc/\$BACKEND/clear_refs
SELECT regexp_replace(pg_read_file('/proc/' || :pid || '/status'), '.*VmRSS:\s*(\d+) kB.*', '\1', 's')::bigint AS rss \gset
SELECT count(*) FROM ($1) q(x) WHERE x IS NOT NULL;
SELECT regexp_replace(pg_read_file('/proc/' || :pid || '/status'), '.*VmHWM:\s*(\d+) kB.*', '\1', 's')::bigint - :rss;
SQL
}
for n in 10000 100000 300000; do
  for shape in shared disjoint; do
    if [[ $shape == shared ]]; then
      make="SELECT a, jsonb_set(a, '{0,v}', '-1') AS b, a || '[{\"id\": -1, \"v\": 0}]' AS c FROM (SELECT jsonb_agg(jsonb_build_object('id', i, 'v', i)) AS a FROM generate_series(1, $n) i) x"
    else
      make="SELECT (SELECT jsonb_agg(jsonb_build_object('id', i, 'v', i)) FROM generate_series(1, $n) i) AS a,
                   (SELECT jsonb_agg(jsonb_build_object('id', -i, 'v', i)) FROM generate_series(1, $n) i) AS b,
                   (SELECT jsonb_agg(jsonb_build_object('id', $n + i, 'v', i)) FROM generate_series(1, $n) i) AS c"
    fi
    psql -qX -v ON_ERROR_STOP=1 -c "DROP TABLE IF EXISTS bench_mem" -c "CREATE TABLE bench_mem AS $make" >/dev/null
    m=$(peak_growth "SELECT (concurrent_edit.jsonb_merge3(a, b, c)).clean FROM bench_mem")
    p=$(peak_growth "SELECT b || c FROM bench_mem")
    awk -v s="$shape" -v n="$n" -v m="$m" -v p="$p" 'BEGIN {
      v = 3 * (3 * n + 1)
      printf "| %s | %d | %.1f MB | %.0f B | %.1f MB | %.0f B | %.2f |\n", s, 3 * n + 1, m / 1024, m * 1024 / v, p / 1024, p * 1024 / v, m / p
    }'
  done
done
psql -qX -c "DROP TABLE bench_mem"
echo
