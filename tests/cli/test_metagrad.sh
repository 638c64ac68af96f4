# test_metagrad.sh - `amaml metagrad` on files: it runs for every method,
# writes one number a line, reports its cost, and rejects bad files and bad
# option combinations with one line naming the file and line.
. "$(dirname "$0")/lib.sh"

# 1-3-1: 10 parameters. The task: y = x^2 on a few points.
printf '0.1 -0.2 0.3\n0.4 0.5 -0.6\n0.05 -0.1 0.2 0.15\n' >"$tmp/theta.txt"
printf '# x,y\n-1,1\n-0.5,0.25\n\n0.2,0.04\r\n1,1\n' >"$tmp/s.csv"
printf '0.3,0.09\n-0.7,0.49\n0.9,0.81\n' >"$tmp/q.csv"
base="--arch 1-3-1 --act tanh --params $tmp/theta.txt --support $tmp/s.csv --query $tmp/q.csv"

for m in amaml maml maml1 fomaml reptile imaml; do
    # shellcheck disable=SC2086
    expect_status 0 "metagrad $m" -- "$AMAML" metagrad $base --method $m --steps 20 \
        --inner-lr 0.1 --out "$tmp/g.txt"
    expect_lines "$tmp/g.txt" 10 "metagrad $m writes 10 numbers"
    expect_text "$tmp/err" "meta-loss" "metagrad $m reports the meta-loss"
    expect_text "$tmp/err" "Hessian-vector products" "metagrad $m reports the cost"
done

# Checkpointing must not change a single bit of the output.
# shellcheck disable=SC2086
"$AMAML" metagrad $base --prox 1 --steps 30 --out "$tmp/all.txt" 2>/dev/null
for ck in every:5 binomial:2; do
    # shellcheck disable=SC2086
    expect_status 0 "checkpoint $ck" -- "$AMAML" metagrad $base --prox 1 --steps 30 \
        --checkpoint $ck --out "$tmp/ck.txt"
    cmp -s "$tmp/all.txt" "$tmp/ck.txt" && ok || bad "checkpoint $ck changes the output"
done

# Bad files: each names the file and the line.
printf '0.1 0.2\n' >"$tmp/short.txt"
printf '0.1 0.2 x\n' >"$tmp/nan.txt"
printf '0.1 nan 0.3\n' >"$tmp/nonfinite.txt"
printf '1,1\n2,oops\n' >"$tmp/badfield.csv"
printf '1,1\n2,2,2\n' >"$tmp/extra.csv"
printf '1,1\n2\n' >"$tmp/missing.csv"
printf '1,1\n1,inf\n' >"$tmp/inf.csv"
while IFS='|' read -r what args want; do
    # shellcheck disable=SC2086
    expect_status 1 "$what" -- "$AMAML" metagrad --arch 1-3-1 $args --out "$tmp/g.txt"
    expect_text "$tmp/err" "$want" "$what: message"
done <<EOF2
short-theta|--params $tmp/short.txt --support $tmp/s.csv --query $tmp/q.csv|short.txt: 2 numbers
bad-number|--params $tmp/nan.txt --support $tmp/s.csv --query $tmp/q.csv|nan.txt:1:
non-finite|--params $tmp/nonfinite.txt --support $tmp/s.csv --query $tmp/q.csv|nonfinite.txt:1:
bad-field|--params $tmp/theta.txt --support $tmp/badfield.csv --query $tmp/q.csv|badfield.csv:2: field 2
extra-field|--params $tmp/theta.txt --support $tmp/s.csv --query $tmp/extra.csv|extra.csv:2:
missing-field|--params $tmp/theta.txt --support $tmp/missing.csv --query $tmp/q.csv|missing.csv:2:
inf-field|--params $tmp/theta.txt --support $tmp/inf.csv --query $tmp/q.csv|inf.csv:2:
no-file|--params $tmp/none.txt --support $tmp/s.csv --query $tmp/q.csv|none.txt: cannot open
EOF2

# Class labels for cross-entropy: an integer in [0, k).
printf '0.5,3\n' >"$tmp/label.csv"
expect_status 1 "label out of range" -- "$AMAML" metagrad --arch 1-3 --loss ce \
    --params "$tmp/short.txt" --support "$tmp/label.csv" --query "$tmp/label.csv" --out "$tmp/g"
printf '0.1 0.2 0.3\n0.4 0.5 0.6\n' >"$tmp/theta13.txt"
expect_status 1 "label out of range" -- "$AMAML" metagrad --arch 1-3 --loss ce \
    --params "$tmp/theta13.txt" --support "$tmp/label.csv" --query "$tmp/label.csv" \
    --out "$tmp/g"
expect_text "$tmp/err" "label.csv:1: class label 3" "the bad label is named"

# Usage errors: exit status 2, one line.
for args in "--method sgd" "--solver rk5" "--method maml --solver rk4" \
    "--method fomaml --prox 1" "--adjoint sideways" "--checkpoint every:0" \
    "--checkpoint some" "--steps 0" "--inner-lr -1" "--backward dopri5" \
    "--adjoint discrete --backward rk4"; do
    # shellcheck disable=SC2086
    expect_status 2 "metagrad $args" -- "$AMAML" metagrad $base $args --out "$tmp/g.txt"
    n=$(wc -l <"$tmp/err")
    [ "$n" -eq 1 ] && ok || bad "metagrad $args: error is $n lines, wanted one"
done
expect_status 2 "missing --out" -- "$AMAML" metagrad --params x

# Divergence stops cleanly, naming where.
printf '0,1000\n1,-1000\n' >"$tmp/big.csv"
# shellcheck disable=SC2086
expect_status 1 "divergence" -- "$AMAML" metagrad --arch 1-3-1 --params "$tmp/theta.txt" \
    --support "$tmp/big.csv" --query "$tmp/q.csv" --method maml --steps 500 --inner-lr 10 \
    --out "$tmp/div.txt"
expect_text "$tmp/err" "diverged" "divergence is named"
[ ! -e "$tmp/div.txt" ] && ok || bad "a diverged run wrote an output file"

cli_summary
