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
  libicu-dev            # ICU: NFC and case folding of path keys
  libipc-run-perl       # PostgreSQL's TAP test framework
  clang-14 llvm-14 libclang-rt-14-dev   # bitcode for JIT inlining; libFuzzer + sanitizers
  libgit2-dev           # benchmark peer (git_merge_file)
  gnuplot-nox           # benchmark charts (scripts/bench-charts.sh)
  util-linux procps     # runuser, pkill
  bzip2                 # unpacks the PostgreSQL source (memory-checked run)
  pgbouncer             # TAP 040_pgbouncer: the API through transaction pooling
  python3-psycopg2      # TAP 041_client_recipes: examples/python
  postgresql-15-plproxy # TAP 060_shard_router: the router extension routes by project
  chromium chromium-driver   # the editor demo's browser test (examples/editor)
)
# Node.js and npm (TAP 041_client_recipes: examples/node) come from Debian's
# archive unless a node and an npm are already installed (e.g. from NodeSource,
# whose nodejs package bundles npm and conflicts with Debian's npm package).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

# The source of PostgreSQL 15 from Debian's archive (deb-src), for the
# memory-checked test run on a server built with --enable-cassert
# (scripts/pg-cassert.sh). Kept in $SOURCE_CACHE; fetched once.
SOURCE_CACHE=${CE_SOURCE_CACHE:-/var/cache/concurrent_edit}
fetch_postgres_source() {
  if compgen -G "$SOURCE_CACHE/postgresql-15_*.orig.tar.bz2" >/dev/null; then
    echo "bootstrap: PostgreSQL 15 source present in $SOURCE_CACHE"
    return 0
  fi
  local apt=$SOURCE_CACHE/apt
  "${SUDO[@]}" mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
  "${SUDO[@]}" tee "$apt/debian.sources" >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  local opts=(-o "Dir::Etc::sourcelist=$apt/debian.sources" -o Dir::Etc::sourceparts=/dev/null
              -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root)
  echo "bootstrap: fetching the source of postgresql-15 from Debian's archive"
  "${SUDO[@]}" apt-get -qq "${opts[@]}" update
  # Newest first; a version the mirror no longer serves is skipped.
  local v
  for v in $("${SUDO[@]}" apt-cache "${opts[@]}" showsrc postgresql-15 | awk '/^Version:/ {print $2}' | sort -rV | uniq); do
    if (cd /tmp && "${SUDO[@]}" apt-get -qq "${opts[@]}" source --download-only "postgresql-15=$v" >/dev/null 2>&1); then
      "${SUDO[@]}" mv /tmp/postgresql-15_"${v%%-*}".orig.tar.bz2 "$SOURCE_CACHE/"
      "${SUDO[@]}" rm -f /tmp/postgresql-15_"$v"*.dsc /tmp/postgresql-15_"$v"*.debian.tar.*
      echo "bootstrap: PostgreSQL ${v%%-*} source in $SOURCE_CACHE"
      return 0
    fi
  done
  echo "bootstrap: could not fetch the source of postgresql-15 (the memory-checked test run will fail)" >&2
  return 0
}

if [[ $(id -u) -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  SUDO=(false)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "bootstrap: all ${#PACKAGES[@]} packages present"
else
  echo "bootstrap: installing ${missing[*]}"
  if [[ ${SUDO[0]:-} == false ]]; then
    echo "bootstrap: missing packages (${missing[*]}) and neither root nor sudo is available" >&2
    exit 1
  fi
  # No service of a package (pgbouncer's, postgresql's cluster) is started by the
  # installation: the tests start their own servers. A policy-rc.d that exits 101
  # tells invoke-rc.d and deb-systemd-invoke to start nothing; one already there
  # is left alone.
  policy_rc_d=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    policy_rc_d=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy_rc_d" >/dev/null
    "${SUDO[@]}" chmod 755 "$policy_rc_d"
    trap '"${SUDO[@]}" rm -f "$policy_rc_d"' EXIT
  fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if [[ -n "$policy_rc_d" ]]; then "${SUDO[@]}" rm -f "$policy_rc_d"; trap - EXIT; fi
fi
if [[ -z "${CE_NO_POSTGRES_SOURCE:-}" ]]; then
  fetch_postgres_source || echo "bootstrap: could not fetch the source of postgresql-15 (the memory-checked test run will fail)" >&2
fi
