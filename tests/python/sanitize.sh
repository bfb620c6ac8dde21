#!/usr/bin/env bash
# Issue 9, Python binding: the pytest suite against an extension built with
# ASan+UBSan, and valgrind memcheck over a short run of every data path.
#   tests/python/sanitize.sh [asan|valgrind|all]     (default: all)
# Exits non-zero on any sanitizer report or definitely-lost leak in the
# binding or the core (CPython's own noise is not counted).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
what="${1:-all}"
PY="$(python3 -c 'import sys; print(sys.executable)')"   # the real binary, not a shim
work="$(mktemp -d "${TMPDIR:-/tmp}/cellardb-py-sanitize-XXXXXX")"
trap 'rm -rf "$work"' EXIT
status=0

if [ "$what" = asan ] || [ "$what" = all ]; then
  (cd "$repo" && CELLARDB_PY_SANITIZE=address "$PY" setup.py -q build_py --build-lib "$work/asan" \
     build_ext --build-lib "$work/asan" --build-temp "$work/asan-tmp" -j 2 >/dev/null)
  preload="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
  # Leaks are left to valgrind: CPython itself does not free everything at exit.
  if ! LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
       PYTHONPATH="$work/asan" "$PY" -m pytest "$repo/tests/python" -q -p no:cacheprovider 2>&1 \
       | tee "$work/asan.log"; then
    status=1
  fi
  if grep -qE "runtime error|AddressSanitizer" "$work/asan.log"; then
    echo "sanitize: ASan/UBSan reported errors" >&2
    status=1
  fi
fi

if [ "$what" = valgrind ] || [ "$what" = all ]; then
  if ! command -v valgrind >/dev/null; then
    echo "sanitize: valgrind not installed, skipped" >&2
  else
    (cd "$repo" && "$PY" setup.py -q build_py --build-lib "$work/plain" \
       build_ext --build-lib "$work/plain" --build-temp "$work/plain-tmp" -j 2 >/dev/null)
    PYTHONMALLOC=malloc PYTHONPATH="$work/plain" valgrind --leak-check=full \
      --show-leak-kinds=definite --num-callers=40 "$PY" "$repo/tests/python/valgrind_smoke.py" \
      >"$work/vg.log" 2>&1 || true
    # Count only error records with a cellardb frame (binding or core) in them.
    bad="$("$PY" - "$work/vg.log" <<'PYEOF'
import re, sys
log = open(sys.argv[1]).read()
blocks = re.split(r"==\d+== \n", log)
bad = [b for b in blocks if re.search(r"uninitialised|Invalid|definitely lost in", b)
       and re.search(r"cellar_|cdb_|_cellardb", b)]
for b in bad[:5]:
    print(b)
print(len(bad))
PYEOF
)"
    count="$(printf '%s\n' "$bad" | tail -1)"
    if [ "$count" != 0 ]; then
      printf '%s\n' "$bad" | head -200 >&2
      echo "sanitize: valgrind found $count problem(s) in cellardb code" >&2
      status=1
    else
      echo "sanitize: valgrind clean for cellardb code"
    fi
  fi
fi
exit "$status"
