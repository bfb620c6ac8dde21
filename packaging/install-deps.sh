#!/usr/bin/env bash
# Install everything cellardb needs, only what is missing (idempotent, quick
# when all is there). Debian packages through apt; each ecosystem's extra
# packages through packaging/deps/*.sh (each idempotent too).
#   packaging/install-deps.sh          build + test dependencies
#   packaging/install-deps.sh --bench  also the peers' -dev packages for tests/bench
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH=0
for a in "$@"; do
  case "$a" in
    --bench) BENCH=1 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# Debian packages: build, C tests, every binding's toolchain.
pkgs=(build-essential cmake pkg-config check swig lua5.4 liblua5.4-dev tcl-dev
      clang libclang-rt-14-dev valgrind cppcheck clang-tidy luarocks)
# The peers, for the benchmark harness (and the interop/bench tests that use them).
bench_pkgs=(libgdbm-dev liblmdb-dev libtkrzw-dev libkyotocabinet-dev libdb-dev
            libleveldb-dev librocksdb-dev libsqlite3-dev)
if [ "$BENCH" = 1 ]; then pkgs+=("${bench_pkgs[@]}"); fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for f in "$here"/deps/*.sh; do
  [ -e "$f" ] || continue
  BENCH="$BENCH" bash "$f"
done
echo "install-deps: all dependencies present"
