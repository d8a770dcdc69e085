#!/usr/bin/env bash
# Runs each libFuzzer binary for FUZZ_SECONDS with its seed corpus (test/fuzz/corpus/NAME).
# Exit status non-zero when a target finds a crash, a leak or a property violation.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
rc=0
for bin in "$@"; do
  name=$(basename "$bin")
  corpus=$(mktemp -d)
  [[ -d "$ROOT/test/fuzz/corpus/$name" ]] && cp -r "$ROOT/test/fuzz/corpus/$name/." "$corpus/"
  echo "fuzz: $name for ${FUZZ_SECONDS}s"
  if ! "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$(dirname "$bin")/$name-" "$corpus"; then
    echo "fuzz: $name FAILED" >&2
    rc=1
  fi
  rm -rf "$corpus"
done
exit $rc
