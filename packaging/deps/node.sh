#!/usr/bin/env bash
# npm packages for the Node.js binding's tests and benchmark, installed only
# when missing (idempotent; quick when everything is there).
#   bindings/node/node_modules  node-api-headers (the package's one dependency:
#                               Node-API headers for the addon build)
#   tests/node/node_modules     typescript (tsc --noEmit on the typed usage file)
#   tests/bench/node_modules    lmdb, better-sqlite3, classic-level (the peers of
#                               tests/bench/node_bench.js; only with BENCH=1 or
#                               when asked with --bench)
# No node/npm on the machine: say so and succeed (the binding is skipped).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BENCH="${BENCH:-0}"
for a in "$@"; do
  case "$a" in
    --bench) BENCH=1 ;;
    *) echo "node.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "deps/node.sh: node or npm not found; the Node.js binding will be skipped"
  exit 0
fi

# Native peers that fall back to node-gyp must not try to download Node's
# headers (no network but the registries): point them at the installed ones.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ]; then
  export npm_config_nodedir=/usr
fi

npm_q() { npm --no-fund --no-audit --loglevel=error "$@"; }

# install_into DIR PKG... : install the packages missing from DIR/node_modules
# without writing a package.json or lock file there.
install_into() {
  local dir="$1"; shift
  local missing=()
  for p in "$@"; do
    [ -f "$dir/node_modules/$p/package.json" ] || missing+=("$p")
  done
  [ "${#missing[@]}" -gt 0 ] || return 0
  echo "deps/node.sh: installing ${missing[*]} into ${dir#"$root"/}"
  mkdir -p "$dir"
  local had_pkg=0
  [ -f "$dir/package.json" ] && had_pkg=1
  (cd "$dir" && npm_q install --prefix "$dir" --no-save --no-package-lock "${missing[@]}")
  if [ "$had_pkg" = 0 ]; then rm -f "$dir/package.json"; fi
}

# The package's own dependency, without running its install (build) script.
if [ ! -f "$root/bindings/node/node_modules/node-api-headers/package.json" ]; then
  echo "deps/node.sh: npm install in bindings/node"
  (cd "$root/bindings/node" && npm_q install --ignore-scripts --no-package-lock)
fi

install_into "$root/tests/node" typescript @types/node

if [ "$BENCH" = 1 ]; then
  install_into "$root/tests/bench" lmdb better-sqlite3 classic-level
fi
echo "deps/node.sh: node packages present"
