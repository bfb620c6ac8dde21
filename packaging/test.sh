#!/usr/bin/env bash
# Run every test suite of every language: installs what is missing, builds
# (build dir: build/), runs ctest with output on failure, and prints one line
# "N passed, N failed" adding up every suite.
#   packaging/test.sh [--sanitize address|thread] [--build-dir DIR] [-- ctest args]
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
san=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) san="$2"; shift 2 ;;
    --build-dir) build="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
"$root/packaging/install-deps.sh" --bench || exit 1
mkdir -p "$build" && build="$(cd "$build" && pwd)"
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCELLAR_SANITIZE="$san" >"$build.configure.log" 2>&1 \
  || { cat "$build.configure.log"; exit 1; }
grep -E "WARNING|skipp" -A2 "$build.configure.log" || true
cmake --build "$build" -j"$jobs" || exit 1
junit="$build/ctest-junit.xml"
rm -f "$junit"
(cd "$build" && ctest --output-on-failure --output-junit "$junit" \
   --test-output-size-passed 4000000 --test-output-size-failed 4000000 -j"$jobs" "${extra[@]}")
status=$?
# The closing line adds up the tests of every suite (each runner's own counts).
echo "== summary ($(basename "$build"))"
if [ -f "$junit" ]; then
  python3 "$root/packaging/sum_results.py" -v "$junit" || true
else
  echo "0 passed, 1 failed"
fi
exit "$status"
