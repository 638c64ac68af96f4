# lib.sh - helpers for the command-line tests, sourced by tests/cli/*.sh.
# Each check prints a FAIL line with what happened, and counts into
# $passed and $failed; cli_summary prints "N passed, N failed".

passed=0
failed=0
: "${AMAML:=build/amaml}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL [cli] $*"; }

# expect_status WANT DESCRIPTION -- CMD...: runs CMD, stdout and stderr to
# $tmp/out and $tmp/err, and checks the exit status. (Variables here start
# with _ since sh functions share the caller's.)
expect_status() {
    _want=$1 _what=$2
    shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"
    _got=$?
    if [ "$_got" -eq "$_want" ]; then ok; else
        bad "$_what: exit status $_got, wanted $_want"
        sed 's/^/    /' "$tmp/err" | head -5
    fi
}

# expect_text FILE PATTERN DESCRIPTION: FILE contains the fixed string.
expect_text() {
    if grep -qF -- "$2" "$1"; then ok; else
        bad "$3: '$2' not in $(basename "$1")"
        sed 's/^/    /' "$1" | head -5
    fi
}

# expect_lines FILE N DESCRIPTION: FILE has exactly N lines.
expect_lines() {
    _n=$(wc -l <"$1")
    if [ "$_n" -eq "$2" ]; then ok; else bad "$3: $_n lines, wanted $2"; fi
}

cli_summary() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
