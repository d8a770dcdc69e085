#!/usr/bin/env bash
# Runs every test suite, each on its own throwaway cluster, and ends with one line
# "N passed, N failed" summed over all suites. Exit status 1 on any failure.
#
#   CE_SUITES="unit fuzz regress isolation tap memcheck errors"   suites to run (default: all;
#                                                   errors checks the server logs of the others)
#   FUZZ_SECONDS=10                                 budget per fuzz target in this run
#   CE_TAP_TESTS="011_worker"                       only these TAP scripts (default: all)
#   CE_REGRESS_TESTS="occ" CE_ISOLATION_TESTS="lock_race"   only these pg_regress / isolation tests
set -uo pipefail
source "$(dirname "$0")/lib.sh"
reexec_as_postgres_if_root "$@"
set -e

SUITES=${CE_SUITES:-unit fuzz regress isolation tap memcheck errors}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
LOGS=$BUILD/test-logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
touch "$LOGS/started"  # the errors suite reads the server logs written after this

TOTAL_PASSED=0
TOTAL_FAILED=0
SUMMARY=()
FAILURES=()  # what failed, a line each, printed again just above the last lines (CI shows the end of the output)
failure() { FAILURES+=("$*"); }
record() {  # suite passed failed
  TOTAL_PASSED=$((TOTAL_PASSED + $2))
  TOTAL_FAILED=$((TOTAL_FAILED + $3))
  SUMMARY+=("$(printf '%-10s %5d passed, %d failed' "$1" "$2" "$3")")
  log "== $1: $2 passed, $3 failed"
}

make_tmp_install

# postgresql.conf lines for a test server whose log goes to $1/postmaster.log (the
# file pg_regress itself writes) and, one JSON object a line, to $1/postmaster.json
# (jsonlog), which the errors suite reads. Written to $1.conf; prints its path.
logging_conf() {
  mkdir -p "$1"
  printf '%s\n' "logging_collector = on" "log_destination = 'stderr,jsonlog'" "log_directory = '$1'" \
      "log_filename = 'postmaster.log'" "log_rotation_age = 0" "log_rotation_size = 0" >"$1.conf"
  echo "$1.conf"
}
PGXS_REGRESS=$(dirname "$($PG_CONFIG --pgxs)")/../test/regress/pg_regress
PGXS_ISOLATION=$(dirname "$($PG_CONFIG --pgxs)")/../test/isolation/pg_isolation_regress
PGXS_PERL=$(dirname "$($PG_CONFIG --pgxs)")/../test/perl

suite_unit() {
  log "== unit (GoogleTest, core only, no server)"
  make -C "$ROOT" -s -j"$JOBS" build/unit_tests >"$LOGS/unit-build.log" 2>&1 || { cat "$LOGS/unit-build.log" >&2; record unit 0 1; return; }
  set +e
  "$BUILD/unit_tests" --gtest_color=no >"$LOGS/unit.log" 2>&1
  set -e
  local passed failed
  passed=$(grep -c '^\[       OK \]' "$LOGS/unit.log" || true)
  failed=$(grep -cE '^\[  FAILED  \] [A-Za-z0-9_/]+\.[A-Za-z0-9_/]+( \(|$|,)' "$LOGS/unit.log" || true)
  # Each failed test appears twice (when it fails and in the final list).
  failed=$((failed / 2))
  if ! grep -q '^\[==========\] .* ran\.' "$LOGS/unit.log"; then failed=$((failed + 1)); failure "unit: crashed"; fi
  local line
  while IFS= read -r line; do failure "unit: $line"; done < <(grep -E '^\[  FAILED  \] [A-Za-z0-9_/]+\.' "$LOGS/unit.log" | sort -u | head -5)
  grep -E '^\[  FAILED  \]|Failure|crash' "$LOGS/unit.log" | head -40 >&2 || true
  record unit "$passed" "$failed"
}

suite_fuzz() {
  log "== fuzz (libFuzzer + ASan + UBSan, ${FUZZ_SECONDS}s per target)"
  local passed=0 failed=0 bin
  if ! make -C "$ROOT" -s -j"$JOBS" fuzz-build >"$LOGS/fuzz-build.log" 2>&1; then
    cat "$LOGS/fuzz-build.log" >&2; record fuzz 0 1; return
  fi
  for bin in "$BUILD"/fuzz/*; do
    [[ -x "$bin" ]] || continue
    if FUZZ_SECONDS=$FUZZ_SECONDS "$ROOT/scripts/run-fuzzers.sh" "$bin" >"$LOGS/fuzz-$(basename "$bin").log" 2>&1; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1)); failure "fuzz: $(basename "$bin")"; tail -30 "$LOGS/fuzz-$(basename "$bin").log" >&2
    fi
  done
  record fuzz "$passed" "$failed"
}

count_pg_regress() {  # log file -> "passed failed"
  local p f
  p=$(grep -cE '\.\.\. ok( |$)' "$1" || true)
  f=$(grep -cE '\.\.\. FAILED|\.\.\. failed' "$1" || true)
  echo "$p $f"
}
name_pg_regress_failures() {  # suite log file: a failure line for each failed test
  local line
  while IFS= read -r line; do failure "$1: $line"; done < <(grep -E '\.\.\. FAILED|\.\.\. failed' "$2" | sed 's/  */ /g' | head -5)
}

suite_regress() {
  log "== regress (pg_regress)"
  local tests out=$BUILD/regress
  tests=${CE_REGRESS_TESTS:-$(ls "$ROOT"/sql/*.sql 2>/dev/null | xargs -rn1 basename | sed 's/\.sql$//' | sort)}
  rm -rf "$out"; mkdir -p "$out"
  set +e
  cd "$ROOT"
  "$PGXS_REGRESS" --temp-instance="$out/instance" --bindir= --inputdir="$ROOT" --outputdir="$out" \
      --temp-config="$ROOT/test/regress.conf" --temp-config="$(logging_conf "$out/log")" --no-locale --encoding=UTF8 \
      --load-extension=concurrent_edit --dbname=contrib_regression $tests >"$LOGS/regress.log" 2>&1
  set -e
  read -r p f < <(count_pg_regress "$LOGS/regress.log")
  name_pg_regress_failures regress "$LOGS/regress.log"
  if [[ -s "$out/regression.diffs" ]]; then head -120 "$out/regression.diffs" >&2; cp "$out/regression.diffs" "$LOGS/"; fi
  if ((p + f == 0)); then tail -20 "$LOGS/regress.log" >&2; f=1; fi
  record regress "$p" "$f"
}

suite_isolation() {
  log "== isolation (pg_isolation_regress)"
  local tests out=$BUILD/isolation
  tests=${CE_ISOLATION_TESTS:-$(ls "$ROOT"/test/isolation/specs/*.spec 2>/dev/null | xargs -rn1 basename | sed 's/\.spec$//' | sort)}
  if [[ -z "$tests" ]]; then record isolation 0 0; return; fi
  rm -rf "$out"; mkdir -p "$out"
  set +e
  cd "$ROOT"
  "$PGXS_ISOLATION" --temp-instance="$out/instance" --bindir= --inputdir="$ROOT/test/isolation" \
      --outputdir="$out" --temp-config="$ROOT/test/regress.conf" --temp-config="$(logging_conf "$out/log")" \
      --no-locale --encoding=UTF8 --load-extension=concurrent_edit --dbname=isolation_regression $tests \
      >"$LOGS/isolation.log" 2>&1
  set -e
  read -r p f < <(count_pg_regress "$LOGS/isolation.log")
  name_pg_regress_failures isolation "$LOGS/isolation.log"
  if [[ -s "$out/regression.diffs" ]]; then head -120 "$out/regression.diffs" >&2; cp "$out/regression.diffs" "$LOGS/isolation.diffs"; fi
  if ((p + f == 0)); then tail -20 "$LOGS/isolation.log" >&2; f=1; fi
  record isolation "$p" "$f"
}

suite_tap() {
  log "== tap (prove)"
  local passed=0 failed=0 t name rc ok notok
  for t in "$ROOT"/test/t/*.pl; do
    [[ -e "$t" ]] || continue
    name=$(basename "$t" .pl)
    if [[ -n "${CE_TAP_TESTS:-}" && " $CE_TAP_TESTS " != *" $name "* ]]; then continue; fi
    rm -rf "$BUILD/tap/$name"; mkdir -p "$BUILD/tap/$name"
    set +e
    (cd "$ROOT" && TESTDIR="$BUILD/tap/$name" PG_REGRESS="$PGXS_REGRESS" CE_ROOT="$ROOT" CE_PG_CONFIG="$PG_CONFIG" \
        PERL5LIB="$PGXS_PERL:$ROOT/test/perl${PERL5LIB:+:$PERL5LIB}" \
        prove -v "$t") >"$LOGS/tap-$name.log" 2>&1
    rc=$?
    set -e
    ok=$(grep -cE '^\s*ok [0-9]+' "$LOGS/tap-$name.log" || true)
    notok=$(grep -cE '^\s*not ok [0-9]+' "$LOGS/tap-$name.log" || true)
    passed=$((passed + ok))
    failed=$((failed + notok))
    if ((rc != 0 && notok == 0)); then failed=$((failed + 1)); fi
    # A script that ran no test (a skip_all, say) passes nothing: a skip that
    # became always true must not go unnoticed.
    if ((rc == 0 && ok == 0)); then
      failed=$((failed + 1))
      failure "tap $name: ran no test ($(grep -E '^1\.\.0|skip' "$LOGS/tap-$name.log" | head -1 | cut -c1-200))"
    fi
    if ((rc != 0)); then
      while IFS= read -r line; do failure "tap $name: $line"; done < <(grep -E '^\s*not ok [0-9]+' "$LOGS/tap-$name.log" | head -5)
      # (the message of a die or croak ends in "at FILE line N.")
      ((notok > 0)) || failure "tap $name: exited with status $rc ($(grep -E '^# (Looks like|Tests were run but|No tests run)|died| at \S+ line [0-9]+\.?$' "$LOGS/tap-$name.log" | head -2 | cut -c1-300 | paste -sd'|'))"
      tail -40 "$LOGS/tap-$name.log" >&2
      find "$BUILD/tap/$name" -name '*.log' -path '*log*' -exec tail -20 {} + 2>/dev/null | tail -60 >&2 || true
    fi
  done
  record tap "$passed" "$failed"
}

# The pg_regress and isolation suites again, on a PostgreSQL built with
# --enable-cassert (scripts/pg-cassert.sh): freed memory is clobbered and memory
# contexts are checked, so a value used after its SPI statement or after
# SPI_finish, or written past its allocation, fails the run whatever its size.
suite_memcheck() {
  log "== memcheck (pg_regress + isolation on a PostgreSQL built with --enable-cassert)"
  local prefix src=$BUILD/memcheck-src out=$BUILD/memcheck
  if ! prefix=$("$ROOT/scripts/pg-cassert.sh" 2>"$LOGS/memcheck-build.log"); then
    cat "$LOGS/memcheck-build.log" >&2; record memcheck 0 1; return
  fi
  # A private copy of that installation (PostgreSQL is relocatable), and a copy of
  # the sources built and installed into it; the main build stays as it is.
  rm -rf "$src" "$out"; mkdir -p "$src" "$out"
  cp -a "$prefix" "$out/pg"
  prefix=$out/pg
  tar -C "$ROOT" --exclude=./build --exclude=./.git --exclude='*.o' --exclude='*.bc' --exclude='*.so' \
      --exclude='./concurrent_edit--*.sql' -cf - . | tar -C "$src" -xf -
  if ! make -C "$src" -s -j"$JOBS" PG_CONFIG="$prefix/bin/pg_config" all install >"$LOGS/memcheck-build.log" 2>&1; then
    tail -30 "$LOGS/memcheck-build.log" >&2; record memcheck 0 1; return
  fi
  local p=0 f=0 tests
  tests=${CE_REGRESS_TESTS:-$(ls "$ROOT"/sql/*.sql | xargs -rn1 basename | sed 's/\.sql$//' | sort)}
  set +e
  (cd "$src" && PATH="$prefix/bin:$PATH" "$prefix/lib/pgxs/src/test/regress/pg_regress" \
      --temp-instance="$out/regress-instance" --bindir="$prefix/bin" --inputdir="$src" --outputdir="$out/regress" \
      --temp-config="$src/test/regress.conf" --temp-config="$(logging_conf "$out/regress/log")" --no-locale --encoding=UTF8 \
      --load-extension=concurrent_edit --dbname=contrib_regression $tests) >"$LOGS/memcheck-regress.log" 2>&1
  tests=${CE_ISOLATION_TESTS:-$(ls "$ROOT"/test/isolation/specs/*.spec | xargs -rn1 basename | sed 's/\.spec$//' | sort)}
  (cd "$src" && PATH="$prefix/bin:$PATH" "$prefix/lib/pgxs/src/test/isolation/pg_isolation_regress" \
      --temp-instance="$out/isolation-instance" --bindir="$prefix/bin" --inputdir="$src/test/isolation" \
      --outputdir="$out/isolation" --temp-config="$src/test/regress.conf" \
      --temp-config="$(logging_conf "$out/isolation/log")" --no-locale --encoding=UTF8 \
      --load-extension=concurrent_edit --dbname=isolation_regression $tests) >"$LOGS/memcheck-isolation.log" 2>&1
  set -e
  local rp rf ip if_
  read -r rp rf < <(count_pg_regress "$LOGS/memcheck-regress.log")
  read -r ip if_ < <(count_pg_regress "$LOGS/memcheck-isolation.log")
  name_pg_regress_failures "memcheck regress" "$LOGS/memcheck-regress.log"
  name_pg_regress_failures "memcheck isolation" "$LOGS/memcheck-isolation.log"
  p=$((rp + ip)); f=$((rf + if_))
  if ((rp + rf == 0)); then tail -20 "$LOGS/memcheck-regress.log" >&2; f=$((f + 1)); fi
  if ((ip + if_ == 0)); then tail -20 "$LOGS/memcheck-isolation.log" >&2; f=$((f + 1)); fi
  for d in regress isolation; do
    if [[ -s "$out/$d/regression.diffs" ]]; then
      head -80 "$out/$d/regression.diffs" >&2; cp "$out/$d/regression.diffs" "$LOGS/memcheck-$d.diffs"
    fi
  done
  # An assertion failure or a crash shows in the server logs, whatever the diffs say.
  if grep -hE 'TRAP:|server process .* was terminated by signal' "$out"/*/log/postmaster.log 2>/dev/null | head -5 >&2; then
    f=$((f + 1))
  fi
  record memcheck "$p" "$f"
}

# Every error of class VC in the jsonlog of the servers of the suites above has a
# DETAIL that is a JSON object (docs/errors.md); zero VC errors is a failure.
suite_errors() {
  log "== errors (the DETAIL of every VC error the other suites logged is a JSON object)"
  local p=0 f=0
  set +e
  perl "$ROOT/scripts/check-error-details.pl" "$BUILD" "$LOGS/started" >"$LOGS/errors.log" 2>&1
  set -e
  read -r p f < <(sed -n 's/^errors: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$LOGS/errors.log"; echo 0 1)
  if ((f > 0)); then tail -30 "$LOGS/errors.log" >&2; fi
  record errors "$p" "$f"
}

for s in $SUITES; do "suite_$s"; done

printf '\n'
if ((${#FAILURES[@]} > 0)); then printf 'failed: %s\n' "${FAILURES[@]}"; fi
printf '%s\n' "${SUMMARY[@]}"
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
((TOTAL_FAILED == 0))
