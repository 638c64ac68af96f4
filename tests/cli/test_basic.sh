# test_basic.sh - the CLI skeleton: help, version, gradcheck, and the
# one-line errors with exit status 2 for bad usage.
. "$(dirname "$0")/lib.sh"

expect_status 0 "--help" -- "$AMAML" --help
expect_text "$tmp/out" "gradcheck" "--help lists the commands"
expect_status 0 "--version" -- "$AMAML" --version
expect_text "$tmp/out" "amaml " "--version prints the version"
expect_status 2 "no command" -- "$AMAML"
expect_status 2 "unknown command" -- "$AMAML" frobnicate
expect_text "$tmp/err" "unknown command 'frobnicate'" "unknown command named"
expect_status 0 "gradcheck --help" -- "$AMAML" gradcheck --help
expect_text "$tmp/out" "--arch" "gradcheck --help lists its options"

expect_status 0 "gradcheck default" -- "$AMAML" gradcheck --arch 2-32-32-1 --act tanh
expect_text "$tmp/out" "ok: all below 1e-06" "gradcheck passes its tolerance"
for act in relu sigmoid softplus; do
    expect_status 0 "gradcheck $act ce" -- "$AMAML" gradcheck --arch 3-8-8-4 --act $act \
        --loss ce --seed 3
done
# An impossible tolerance must make the check fail with status 1.
expect_status 1 "gradcheck above tolerance" -- "$AMAML" gradcheck --arch 2-4-1 --tol 1e-20
expect_text "$tmp/out" "FAILED" "gradcheck reports the failure"

for args in "--arch 2-0-1" "--arch 2--1" "--arch abc" "--act gelu" "--loss hinge" \
    "--seed -1" "--seed 1x" "--samples 0" "--tol nan" "--bogus" "--arch"; do
    # shellcheck disable=SC2086
    expect_status 2 "gradcheck $args" -- "$AMAML" gradcheck $args
    n=$(wc -l <"$tmp/err")
    [ "$n" -eq 1 ] && ok || bad "gradcheck $args: error is $n lines, wanted one"
done
expect_status 2 "width 0" -- "$AMAML" gradcheck --arch 2-0-1
expect_text "$tmp/err" "is 0" "the error names the bad width"

cli_summary
