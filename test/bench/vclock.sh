#!/usr/bin/env bash
# vclock_compare (and the || operator) against two PL/pgSQL implementations of the
# seed's VectorClockManager.compare over jsonb, on the same 200,000 pairs of 3-, 16-
# and 128-entry clocks, in one session; and vclock_merge_agg against an SQL merge
# aggregate over jsonb on 10,000 of those clocks. Run by scripts/bench.sh
# (BENCH_CASES=vclock scripts/bench.sh); the timed queries are test/bench/vclock.sql.
#
#   VCLOCK_BENCH_PAIRS  pairs per size (default 200000)
#   VCLOCK_BENCH_REPS   executions of each query; the best is reported (default 5)
#   VCLOCK_BENCH_SIZES  entries per clock (default "3 16 128")
# (scripts/bench.sh run as root re-executes as postgres and does not pass these on.)
set -euo pipefail
pairs=${VCLOCK_BENCH_PAIRS:-200000}
reps=${VCLOCK_BENCH_REPS:-5}
sizes=${VCLOCK_BENCH_SIZES:-3 16 128}
echo "vclock_compare vs two PL/pgSQL compares over jsonb: $pairs pairs per size, best of $reps runs, one session, no parallel workers, jit off"
psql -qX -v pairs="$pairs" -v reps="$reps" -v sizes="$sizes" -f "$ROOT/test/bench/vclock.sql"
