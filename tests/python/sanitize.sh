#!/usr/bin/env bash
# The Python binding under the sanitizers: the pytest suite against an
# extension built with ASan+UBSan (ctest python_asan), and valgrind memcheck
# over tests/python/valgrind_smoke.py, a short run of every data path (ctest
# python_memcheck runs the same through packaging/memcheck.cmake).
#   tests/python/sanitize.sh [asan|valgrind|all] [pytest args...]   (default: all)
# Environment: PYTHON (default: the python3 on PATH), CELLARDB_SANITIZE_DIR
# (build the extensions there and keep them, so a second run only rebuilds
# what changed; default: a temp dir, removed at exit). Nothing is written into
# the source tree.
# Exits non-zero on a failing test, any ASan/UBSan report, or any memcheck
# error (invalid access, uninitialised value, definitely lost block) in the
# binding or the core (CPython's own noise is not counted).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
what="${1:-all}"
[ $# -gt 0 ] && shift
# the real binary, not a pyenv shim: LD_PRELOAD and valgrind must reach it
PY="$("${PYTHON:-python3}" -c 'import sys; print(sys.executable)')"
if [ -n "${CELLARDB_SANITIZE_DIR:-}" ]; then
  work="$CELLARDB_SANITIZE_DIR"
  mkdir -p "$work"
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/cellardb-py-sanitize-XXXXXX")"
  trap 'rm -rf "$work"' EXIT
fi
status=0

build() { # build(dir, env...): the extension and the package into $work/dir
  local dir="$1"
  shift
  (cd "$repo" && env "$@" "$PY" setup.py -q build_py --build-lib "$work/$dir" \
     build_ext --build-lib "$work/$dir" --build-temp "$work/$dir-tmp" -j 2 >"$work/$dir-build.log" 2>&1) \
    || { cat "$work/$dir-build.log" >&2; echo "sanitize: building the extension ($dir) failed" >&2; exit 1; }
}

if [ "$what" = asan ] || [ "$what" = all ]; then
  build asan CELLARDB_PY_SANITIZE=address
  libasan="$(gcc -print-file-name=libasan.so)"
  libubsan="$(gcc -print-file-name=libubsan.so)"
  if [ ! -e "$libasan" ] || [ ! -e "$libubsan" ]; then
    echo "sanitize: gcc's libasan/libubsan not found" >&2
    exit 1
  fi
  # PYTHONMALLOC=malloc: Python objects are ASan-checked malloc blocks too.
  # Leaks are left to valgrind: CPython itself does not free everything at
  # exit. Child processes the tests start inherit the preload. pytest
  # captures only Python-level output (--capture=sys), so a report written to
  # fd 2 by a test that then aborts is not lost with its captured output;
  # ASan also writes its reports to files (child processes' included).
  reports="$work/asan-reports"
  rm -rf "$reports" && mkdir -p "$reports"
  if ! LD_PRELOAD="$libasan:$libubsan" PYTHONMALLOC=malloc \
       ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$reports/asan" \
       UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan" \
       PYTHONPATH="$work/asan" "$PY" -m pytest "$repo/tests/python" -q -p no:cacheprovider --capture=sys "$@" 2>&1 \
       | tee "$work/asan.log"; then
    status=1
  fi
  if [ -n "$(ls -A "$reports")" ] || grep -qE "runtime error|AddressSanitizer" "$work/asan.log"; then
    cat "$reports"/* >&2 2>/dev/null || true
    echo "sanitize: ASan/UBSan reported errors" >&2
    status=1
  fi
fi

if [ "$what" = valgrind ] || [ "$what" = all ]; then
  if ! command -v valgrind >/dev/null; then
    echo "sanitize: valgrind not installed: the memcheck run is SKIPPED" >&2
    [ "$what" = valgrind ] && exit 77
  else
    build plain
    # PYTHONMALLOC=malloc: every object is a malloc block memcheck can see.
    if ! PYTHONMALLOC=malloc PYTHONPATH="$work/plain" cmake -DVALGRIND="$(command -v valgrind)" \
         -DLOG_DIR="$work/memcheck" "-DFRAMES=/bindings/python/|/core/src/" \
         -P "$repo/packaging/memcheck.cmake" -- "$PY" "$repo/tests/python/valgrind_smoke.py"; then
      status=1
    fi
  fi
fi
exit "$status"
