#!/usr/bin/env bash
# Run clang-tidy over every .c file of the core (core/src, core/tools) with the
# checked-in configuration (core/.clang-tidy, core/tools/.clang-tidy) and the
# build's compile_commands.json. Fails on any finding: the configuration makes
# every enabled check an error. The ctest `clang_tidy_core` runs it.
#   packaging/clang_tidy.sh CLANG_TIDY SOURCE_DIR BUILD_DIR [JOBS]
# Files are checked JOBS at a time (default: the number of CPUs).
set -uo pipefail
if [ $# -lt 3 ]; then
  sed -n '2,7p' "$0"
  exit 2
fi
tidy=$1 src=$2 build=$3
jobs=${4:-$(nproc 2>/dev/null || echo 2)}
if [ ! -f "$build/compile_commands.json" ]; then
  echo "clang_tidy.sh: no compile_commands.json in $build (configure with CMAKE_EXPORT_COMPILE_COMMANDS=ON)" >&2
  exit 1
fi
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
start=$(date +%s)
files=("$src"/core/src/*/*.c "$src"/core/tools/*.c)

# one log per file (named by its path), so parallel runs do not interleave
printf '%s\0' "${files[@]}" |
  xargs -0 -n 1 -P "$jobs" sh -c \
    'log="$3/$(printf %s "$4" | tr / _).log"
     "$1" -p "$2" --quiet --extra-arg=-Wno-unknown-warning-option "$4" >"$log" 2>&1 || echo "$4" >"$log.failed"' \
    sh "$tidy" "$build" "$logs"

bad=0
for f in "${files[@]}"; do
  log="$logs/$(printf %s "$f" | tr / _).log"
  # a finding fails the file even if clang-tidy exited 0 (belt and braces)
  if [ -e "$log.failed" ] || grep -qE '(warning|error):' "$log"; then
    bad=$((bad + 1))
    grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' "$log"
  fi
done
echo "clang-tidy $("$tidy" --version | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -n 1):" \
     "${#files[@]} files, $bad with findings, $(( $(date +%s) - start )) s with $jobs jobs"
[ "$bad" -eq 0 ]
