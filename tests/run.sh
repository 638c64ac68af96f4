#!/bin/sh
# run.sh - the whole test suite: the C unit tests, then every command-line
# test script in tests/cli/ (test_*.sh, and the PyTorch cross-check). Adds
# up their "N passed, N failed" lines into one and fails if anything failed.
# Usage: sh tests/run.sh [BUILD_DIR]
build=${1:-build}
export AMAML="$build/amaml"
total_p=0
total_f=0
status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() {
    "$@" >"$log" 2>&1
    rc=$?
    cat "$log"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "FAIL: $* printed no summary (exit status $rc)"
        total_f=$((total_f + 1))
        status=1
        return
    fi
    p=${line%% passed*}
    f=${line#*passed, }
    f=${f%% failed*}
    total_p=$((total_p + p))
    total_f=$((total_f + f))
    [ "$rc" -eq 0 ] || status=1
}

run "$build/amaml_tests"
for t in tests/cli/test_*.sh tests/cli/torch_crosscheck.sh; do
    [ -f "$t" ] || continue
    echo "== $t"
    run sh "$t"
done
echo "$total_p passed, $total_f failed"
[ "$status" -eq 0 ] && [ "$total_f" -eq 0 ]
