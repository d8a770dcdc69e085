#!/usr/bin/env bash
# Builds PostgreSQL 15 from Debian's source package with --enable-cassert (which
# turns on CLOBBER_FREED_MEMORY and MEMORY_CONTEXT_CHECKING: freed memory is
# overwritten, so a value read after its memory context was freed — for example
# after SPI_finish — is garbage at once, whatever its size) and prints its
# installation prefix. The build is cached per version in $CE_CASSERT_CACHE
# (default /tmp/concurrent_edit-pg-cassert); the source tarball comes from
# scripts/bootstrap.sh.
set -euo pipefail
src_cache=${CE_SOURCE_CACHE:-/var/cache/concurrent_edit}
cache=${CE_CASSERT_CACHE:-/tmp/concurrent_edit-pg-cassert}
tarball=$(ls "$src_cache"/postgresql-15_*.orig.tar.bz2 2>/dev/null | sort -V | tail -1 || true)
if [[ -z "$tarball" ]]; then
  echo "pg-cassert: no PostgreSQL 15 source in $src_cache (run scripts/bootstrap.sh as root)" >&2
  exit 1
fi
version=$(basename "$tarball" | sed 's/^postgresql-15_\(.*\)\.orig\.tar\.bz2$/\1/')
prefix=$cache/$version/install
if [[ -x "$prefix/bin/postgres" && -x "$prefix/lib/pgxs/src/test/isolation/pg_isolation_regress" ]]; then
  echo "$prefix"
  exit 0
fi
# Run from `make test`, this script inherits the outer make's MAKELEVEL and
# MAKEFLAGS: PostgreSQL's build then takes itself for a sub-make and skips
# generating its headers (utils/errcodes.h: "No such file or directory").
unset MAKELEVEL MAKEFLAGS MFLAGS
mkdir -p "$cache/$version"
cd "$cache/$version"
rm -rf src
mkdir src
tar -xjf "$tarball" -C src --strip-components=1
cd src
{
  # -O1: assertions and memory checks, a fast enough build and run. No readline,
  # zlib, ICU or LLVM: the server is only used by the regression suites.
  ./configure --prefix="$prefix" --enable-cassert --enable-debug --without-readline --without-zlib \
              --without-icu --without-llvm CFLAGS="-O1 -g"
  make -j"${JOBS:-2}" -s
  make -s install
  make -s -C src/test/regress install
  make -s -C src/test/isolation install
  # pg_regress and pg_isolation_regress where PGXS looks for them.
  mkdir -p "$prefix/lib/pgxs/src/test/regress" "$prefix/lib/pgxs/src/test/isolation"
  cp src/test/regress/pg_regress "$prefix/lib/pgxs/src/test/regress/"
  cp src/test/isolation/pg_isolation_regress src/test/isolation/isolationtester "$prefix/lib/pgxs/src/test/isolation/"
  cp src/test/isolation/isolationtester "$prefix/bin/"
} >"$cache/$version/build.log" 2>&1 || { tail -40 "$cache/$version/build.log" >&2; exit 1; }
cd ..
rm -rf src
echo "$prefix"
