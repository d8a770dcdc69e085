#!/usr/bin/env bash
# Installs, from Debian 12's archive, every package that building, testing,
# fuzzing, benchmarking and the demo need. Idempotent: does nothing when all
# packages are present. Runs apt-get directly as root, through sudo otherwise.
set -euo pipefail

PACKAGES=(
  build-essential g++ make perl git ca-certificates
  postgresql-15 postgresql-server-dev-15 postgresql-client-15
  libdtl-dev            # the diff library of the merge engine
  libgtest-dev          # GoogleTest for the core
  libipc-run-perl       # PostgreSQL's TAP test framework
  clang-14 llvm-14 libclang-rt-14-dev   # bitcode for JIT inlining; libFuzzer + sanitizers
  libgit2-dev           # benchmark peer (git_merge_file)
  util-linux procps     # runuser, pkill
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "bootstrap: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "bootstrap: installing ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "bootstrap: missing packages (${missing[*]}) and neither root nor sudo is available" >&2
  exit 1
fi
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
