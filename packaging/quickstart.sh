#!/usr/bin/env bash
# quickstart.sh - from a fresh checkout to a working cellardb in one command:
# installs what is missing, builds the library and the `cellardb` tool, then
# runs a short demo: loads a sample data set of 300,000 records (generated
# here, deterministic) with a progress display, prints stats, reads some
# records back, and checks the file.
#
#   packaging/quickstart.sh               deps + build (library and tool) + demo
#   packaging/quickstart.sh --full        also build everything and run ctest
#   packaging/quickstart.sh --skip-deps   do not run packaging/install-deps.sh
#   packaging/quickstart.sh --records N   size of the sample (default 300000)
#
# Build directory: build/ (the demo's files go to build/quickstart/).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
build="$root/build"
FULL=0
DEPS=1
N=300000
while [ $# -gt 0 ]; do
  case "$1" in
    --full) FULL=1 ;;
    --skip-deps) DEPS=0 ;;
    --records) N="${2:?--records needs a number}"; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "quickstart.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
case "$N" in ''|*[!0-9]*) echo "quickstart.sh: --records needs a number" >&2; exit 2 ;; esac

jobs=2 # this project builds with at most two jobs by default (shared machines)
if [ -n "${CELLAR_JOBS:-}" ]; then jobs="$CELLAR_JOBS"; fi

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
if [ -t 1 ]; then bold=$'\033[1m'; plain=$'\033[0m'; else bold=""; plain=""; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
t_start="$(now)"

# ---- 1. dependencies ----
if [ "$DEPS" = 1 ]; then
  step "Dependencies (packaging/install-deps.sh)"
  bash "$here/install-deps.sh"
fi

# ---- 2. configure and build ----
step "Configure and build (build dir: build/)"
t0="$(now)"
log="$(mktemp)"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; exit 1; }
mv -f "$log" "$build/configure.log"
if [ "$FULL" = 1 ]; then
  cmake --build "$build" -j "$jobs"
else
  cmake --build "$build" -j "$jobs" --target cellardb cellardb_static cellardb_cli
fi
CLI="$build/core/tools/cellardb"
echo "built $("$CLI" --version) in $(since "$t0")s: $CLI"
if [ "$FULL" = 1 ]; then
  step "Tests (ctest)"
  (cd "$build" && ctest --output-on-failure -j "$jobs")
fi

# ---- 3. demo ----
demo="$build/quickstart"
rm -rf "$demo"
mkdir -p "$demo"
DB="$demo/cellar.db"

step "Generate a sample data set: $N wine records (deterministic)"
# The dump format (see core/src/db/dump.c): a header line, then KEY<TAB>VALUE.
t0="$(now)"
awk -v n="$N" 'BEGIN {
  split("Bordeaux Burgundy Champagne Rioja Tuscany Piedmont Mosel Napa Barossa Douro Loire Rhone", region, " ")
  split("Cabernet Merlot Pinot Syrah Tempranillo Sangiovese Nebbiolo Riesling Chardonnay Grenache", grape, " ")
  print "cellardb-dump 1"
  print "# quickstart sample: wine:NNNNNN -> a small JSON document"
  for (i = 0; i < n; i++) {
    r = region[(i * 7) % 12 + 1]; g = grape[(i * 13) % 10 + 1]
    printf "wine:%06d\t{\"id\":%d,\"name\":\"%s %s %d\",\"region\":\"%s\",\"vintage\":%d,\"bottles\":%d,\"rack\":\"%c%02d\"}\n",
      i, i, r, g, i % 997, r, 1950 + (i * 37) % 75, (i * 11) % 48, 65 + (i % 26), (i / 26) % 100
  }
}' >"$demo/sample.dump"
echo "wrote $demo/sample.dump ($(du -h "$demo/sample.dump" | cut -f1), $(since "$t0")s)"

step "Load it: cellardb $DB load sample.dump"
t0="$(now)"
"$CLI" --progress --sync off "$DB" load "$demo/sample.dump"
load_secs="$(since "$t0")"

step "Stats: cellardb $DB stats"
"$CLI" "$DB" stats

step "Read some records back"
for k in wine:000000 wine:000042 wine:123456 "wine:$(printf '%06d' $((N - 1)))"; do
  printf '%-12s ' "$k"
  "$CLI" "$DB" get "$k" || true
  [ -t 1 ] || echo
done
printf '%-12s ' "wine:missing"
if "$CLI" "$DB" get wine:missing 2>/dev/null; then echo "(unexpected)"; else echo "not found (exit $?)"; fi
echo "count:            $("$CLI" "$DB" count)"
echo "incr cellar:visits $("$CLI" "$DB" incr cellar:visits), again: $("$CLI" "$DB" incr cellar:visits)"
"$CLI" "$DB" put --ttl 60000 cellar:session demo
echo "ttl cellar:session $("$CLI" "$DB" ttl cellar:session) ms"
"$CLI" --hex "$DB" put 00ff6b6579 deadbeef
echo "binary key 00ff6b6579 -> $("$CLI" --hex "$DB" get 00ff6b6579) (--hex)"
echo "scan --prefix wine:00000:"
"$CLI" "$DB" scan --prefix wine:00000 --keys | sort | head -3 | sed 's/^/  /'

step "Check: cellardb $DB check"
t0="$(now)"
check_out="$("$CLI" "$DB" check)" && check_rc=0 || check_rc=$?
echo "$check_out"
check_secs="$(since "$t0")"

step "One file for every language: the same database from Python, Lua and Node"
# Each binding is built by the same CMake tree (a missing toolchain is skipped
# with a message); each opens the demo file read-only and reads one record.
langs_ok=""
build_binding() { cmake --build "$build" -j "$jobs" --target "$1" >/dev/null 2>&1; }
if build_binding cellardb_python; then
  PYTHONPATH="$build/bindings/python/lib" python3 - "$DB" <<'PY' && langs_ok="$langs_ok python"
import sys, cellardb
with cellardb.open(sys.argv[1], "r") as db:
    print(f"  python: {len(db)} records; wine:000042 -> {db[b'wine:000042'].decode()[:60]}...")
PY
else echo "  python: skipped (the Python module did not build: see $build/configure.log)"; fi
if build_binding cellardb_lua && command -v lua5.4 >/dev/null; then
  LUA_CPATH="$build/bindings/lua/?.so;;" lua5.4 - "$DB" <<'LUA' && langs_ok="$langs_ok lua"
local cellardb = require "cellardb"
local db <close> = assert(cellardb.open(arg[1], { flag = "r" }))
print(("  lua:    %d records; wine:000042 -> %s..."):format(#db, db:get("wine:000042"):sub(1, 60)))
LUA
else echo "  lua:    skipped (Lua 5.4 or its module is missing: see $build/configure.log)"; fi
if build_binding cellardb_node && command -v node >/dev/null; then
  node - "$DB" "$root/bindings/node" <<'JS' && langs_ok="$langs_ok node"
const { open } = require(process.argv[3]);
const db = open(process.argv[2], { flag: 'r', encoding: 'utf8' });
console.log(`  node:   ${db.size} records; wine:000042 -> ${db.get('wine:000042').slice(0, 60)}...`);
db.close();
JS
else echo "  node:   skipped (Node.js or its addon is missing: see $build/configure.log)"; fi

records="$("$CLI" "$DB" count)"
size="$(du -h "$DB" | cut -f1)"
rate="$(awk -v n="$N" -v s="$load_secs" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "-" }')"
step "Summary"
cat <<EOF
  database:     $DB ($size)
  records:      $records (sample: $N)
  load:         ${load_secs}s ($rate records/s)
  check:        $([ "$check_rc" = 0 ] && echo "ok" || echo "FAILED (exit $check_rc)") in ${check_secs}s
  read from:    C (the cellardb tool)${langs_ok:+,}${langs_ok}
  total time:   $(since "$t_start")s
  next:         $CLI --help
                $CLI $DB get wine:000042
EOF
[ "$check_rc" = 0 ]
