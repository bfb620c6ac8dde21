#!/usr/bin/env bash
# Debian packages for the Lua binding's tests and benchmark beyond lua5.4,
# liblua5.4-dev and luarocks (which install-deps.sh installs), only when
# missing (idempotent; quick when everything is there).
#   lua-busted        the test runner of tests/lua (Debian's serves Lua 5.4)
#   lua-dbi-sqlite3   the SQLite peer of tests/bench/lua_bench.lua (BENCH=1 or
#                     --bench only; Debian has no lsqlite3 for Lua 5.4)
set -euo pipefail
BENCH="${BENCH:-0}"
for a in "$@"; do
  case "$a" in
    --bench) BENCH=1 ;;
    *) echo "lua.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

pkgs=(lua-busted)
if [ "$BENCH" = 1 ]; then pkgs+=(lua-dbi-sqlite3); fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "deps/lua.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
