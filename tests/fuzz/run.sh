#!/bin/sh
# run.sh - build the libFuzzer targets with clang (ASan + UBSan) and run each
# for a bounded time; fails on any finding.
#
#   tests/fuzz/run.sh BUILD_DIR [TARGET...]
#
# BUILD_DIR  a separate build directory (configured here with CC=clang)
# TARGET     fuzz_open, fuzz_ops (default: both)
# Environment: FUZZ_SECONDS (default 60) per target; FUZZ_JOBS (default 2)
# build jobs; FUZZ_ARGS extra libFuzzer flags.
#
# Each target starts from its committed seed corpus and past findings
# (read-only) and grows a working corpus in BUILD_DIR/fuzz-corpus/TARGET.
# A finding is written to BUILD_DIR/fuzz-findings/TARGET/; minimise it
# (TARGET -minimize_crash=1 -runs=10000 FILE) and file it under
# tests/fuzz/regressions/NAME/, where the replay test runs it from then on.
set -eu

if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR [TARGET...]" >&2
    exit 2
fi
build=$1
shift
src=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}
targets=${*:-fuzz_open fuzz_ops}

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
CC=${CC:-clang} cmake -S "$src" -B "$build" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link $san" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DCELLAR_LIBFUZZER=ON -DCELLAR_BUILD_BINDINGS=OFF -DCELLAR_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target $targets

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for t in $targets; do
    name=${t#fuzz_}
    work="$build/fuzz-corpus/$t"
    findings="$build/fuzz-findings/$t"
    mkdir -p "$work" "$findings"
    # fuzz_open needs room for whole files; fuzz_ops gets long operation
    # sequences from the start (len_control=0), where the bugs of state are
    case $t in
    fuzz_ops) lenargs="-max_len=1024 -len_control=0" ;;
    *) lenargs="-max_len=65536" ;;
    esac
    echo "== $t: ${seconds}s"
    # -rss_limit_mb and -malloc_limit_mb turn unbounded allocation into a
    # finding; -timeout a hang.
    if ! "$build/tests/fuzz/$t" "$work" "$src/tests/fuzz/corpus/$name" "$src/tests/fuzz/regressions/$name" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=512 \
        $lenargs -print_final_stats=1 -artifact_prefix="$findings/" ${FUZZ_ARGS:-}; then
        echo "== $t: FINDING (see $findings)" >&2
        status=1
    fi
done
exit $status
