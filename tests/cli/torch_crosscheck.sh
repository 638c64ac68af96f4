#!/bin/sh
# torch_crosscheck.sh - `amaml metagrad` against an independent PyTorch reference.
#
#     AMAML=build/amaml sh tests/cli/torch_crosscheck.sh
#
# tests/torch/metagrad_ref.py computes every meta-gradient by float64
# autograd through the unrolled inner trajectory; the C library uses
# hand-written adjoints and Hessian-vector products. For each small network,
# loss and inner horizon below, every method runs on both sides and the two
# gradient files must agree. The reference first checks itself against
# finite differences and closed forms (tests/torch/selftest_ref.py).
#
# Prints one PASS/FAIL line per case, then "N passed, N failed"; exits 1 on
# any failure. Skips (exit 0) when /usr/bin/python3 has no torch. KEEP=1
# keeps the working directory for a failing case to be rerun by hand.

set -u

# Both sides compute the same exact gradient of the discretized map, so they
# differ only by rounding: each entry is a chain of a few hundred float64
# operations per inner step, over at most 20 steps of a contracting flow, so
# errors of 1e-16 each add up to ~1e-13 relative to gradients of order max|b|.
# 1e-9 leaves room for that and for any summation order, and stays well below
# the smallest plausible mistake: taking rk4 for rk38 moves these gradients
# by 4e-7 to 1e-5, and a dropped prox term or stage by far more.
TOL=1e-9

PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1 # keep the source tree free of __pycache__
HERE=$(cd "$(dirname "$0")" && pwd)
TORCHDIR=$(cd "$HERE/../torch" && pwd)
AMAML=${AMAML:-build/amaml}

if ! "$PY" -c 'import torch' >/dev/null 2>&1; then
    echo "SKIP torch cross-check: python3-torch is not installed (apt-get install python3-torch)"
    exit 0
fi
case $AMAML in
/*) ;;
*) AMAML=$(pwd)/$AMAML ;;
esac
if [ ! -f "$AMAML" ] || [ ! -x "$AMAML" ]; then
    echo "torch_crosscheck: $AMAML does not exist or is not executable;" \
        "build it with make, or set AMAML=path/to/amaml" >&2
    exit 1
fi

WORK=$(mktemp -d) || exit 1
cleanup() {
    if [ "${KEEP:-0}" = 1 ]; then
        echo "torch_crosscheck: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
# Data paths are relative to $WORK, so no path in an argument list has spaces.
cd "$WORK" || exit 1

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

# Prints "err=E" with E = max_i |a_i - b_i| / max_i |b_i| of file $1 against
# the reference $2 (the absolute difference if the reference is all zeros);
# exits 0 if E <= TOL. Otherwise, or if the files do not hold the same number
# of finite numbers, exits 1 (with the reason printed instead).
relerr() {
    awk -v tol="$TOL" '
    function finite(s) { return s ~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/ }
    function abs(x) { return x < 0 ? -x : x }
    FILENAME == ARGV[1] { for (i = 1; i <= NF; i++) a[++na] = $i; next }
    { for (i = 1; i <= NF; i++) b[++nb] = $i }
    END {
        if (na != nb || na == 0) {
            printf "%d numbers, the reference has %d\n", na, nb
            exit 1
        }
        for (i = 1; i <= na; i++) {
            if (!finite(a[i]) || !finite(b[i])) {
                printf "entry %d is %s, the reference has %s\n", i, a[i], b[i]
                exit 1
            }
            d = abs(a[i] - b[i]); m = abs(b[i] + 0)
            if (d > dmax) dmax = d
            if (m > bmax) bmax = m
        }
        e = bmax > 0 ? dmax / bmax : dmax
        printf "err=%.2e\n", e
        exit (e <= tol + 0) ? 0 : 1
    }' "$1" "$2"
}

# 1. The reference checks itself; a wrong judge would make every line below meaningless.
if "$PY" "$TORCHDIR/selftest_ref.py" >selftest.log 2>&1; then
    pass "reference self-test: $(tail -n 1 selftest.log)"
else
    cat selftest.log
    fail "reference self-test: $(tail -n 1 selftest.log)"
fi

# 2. The problems: id, architecture, activation, loss, inner steps N, step h,
# seed. The horizon N h runs from 0.1 to 2, long enough for the trajectory
# (and so every Hessian term of the adjoint) to change the gradient by far
# more than the tolerance; p3 has two outputs for the mean over n * dout.
cat >problems.txt <<'EOF'
p1 2-8-8-1 tanh     mse 10 0.1  1
p2 2-8-8-1 sigmoid  mse 20 0.1  2
p3 3-6-2   relu     mse 5  0.05 3
p4 3-6-1   softplus mse 1  0.1  4
p5 3-8-3   tanh     ce  8  0.1  5
p6 3-8-3   relu     ce  15 0.08 6
p7 2-5-5-4 softplus ce  12 0.1  7
EOF

# The methods: name and flags. maml1 fixes N = 1, so it gets no --steps.
cat >methods.txt <<'EOF'
amaml-euler|--method amaml --adjoint discrete --solver euler --prox 0
amaml-euler-prox1|--method amaml --adjoint discrete --solver euler --prox 1
amaml-heun|--method amaml --adjoint discrete --solver heun --prox 0
amaml-heun-prox1|--method amaml --adjoint discrete --solver heun --prox 1
amaml-rk4|--method amaml --adjoint discrete --solver rk4 --prox 0
amaml-rk4-prox1|--method amaml --adjoint discrete --solver rk4 --prox 1
amaml-rk38|--method amaml --adjoint discrete --solver rk38 --prox 0
amaml-rk38-prox1|--method amaml --adjoint discrete --solver rk38 --prox 1
maml|--method maml
maml1|--method maml1
fomaml|--method fomaml
reptile|--method reptile
imaml|--method imaml
imaml-tuned|--method imaml --cg-steps 12 --cg-damping 0.1 --imaml-lambda 2
EOF

# 3. The data of each problem, and one line per case: name|description|flags|output stem.
: >cases.txt
while read -r id arch act loss steps h seed; do
    if ! "$PY" "$TORCHDIR/make_case.py" --arch "$arch" --loss "$loss" --seed "$seed" \
        --n-support 5 --n-query 12 --dir "$id" </dev/null; then
        echo "torch_crosscheck: make_case.py failed for $id" >&2
        exit 1
    fi
    common="--arch $arch --act $act --loss $loss --params $id/theta.txt"
    common="$common --support $id/support.csv --query $id/query.csv --inner-lr $h"
    while IFS='|' read -r name flags; do
        case $name in
        maml1) nflag= ;;
        *) nflag="--steps $steps" ;;
        esac
        echo "$id-$name|$arch $act $loss N=$steps h=$h|$common $nflag $flags|$id/$name" \
            >>cases.txt
    done <methods.txt
done <problems.txt

# 4. The reference for all cases in one process: torch takes a second to import.
: >jobs.txt
while IFS='|' read -r name desc flags out; do
    echo "$flags --out $out.ref" >>jobs.txt
done <cases.txt
"$PY" "$TORCHDIR/metagrad_ref.py" --batch jobs.txt </dev/null

# 5. The C side, case by case. A first case failing with "unknown command"
# means this build has no metagrad yet: that is an error, not a pass.
first=1
while IFS='|' read -r name desc flags out; do
    # shellcheck disable=SC2086 # flags is a word list by design
    if ! "$AMAML" metagrad $flags --out "$out.c" >"$out.log" 2>"$out.err" </dev/null; then
        if [ "$first" = 1 ] && grep -qiE 'unknown (sub)?command' "$out.err"; then
            echo "torch_crosscheck: $AMAML has no metagrad command:" \
                "$(head -n 1 "$out.err")" >&2
            exit 1
        fi
        fail "$name ($desc): amaml metagrad failed: $(head -n 1 "$out.err")"
        echo "    in $WORK: $AMAML metagrad $flags --out $out.c" >&2
    elif [ ! -f "$out.c" ]; then
        fail "$name ($desc): amaml metagrad exited 0 but wrote no $out.c"
    elif [ ! -f "$out.ref" ]; then
        fail "$name ($desc): the reference failed (its message is above)"
    elif msg=$(relerr "$out.c" "$out.ref"); then
        pass "$name ($desc) $msg"
    else
        fail "$name ($desc) $msg"
        echo "    in $WORK: $AMAML metagrad $flags --out $out.c" >&2
    fi
    first=0
done <cases.txt

if [ "$failed" -gt 0 ] && [ "${KEEP:-0}" != 1 ]; then
    echo "torch_crosscheck: rerun with KEEP=1 to keep the files of the failing cases" >&2
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
