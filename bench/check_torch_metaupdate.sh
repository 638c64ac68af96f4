#!/bin/sh
# check_torch_metaupdate.sh - the batched PyTorch meta-update against per-task references.
#
#     sh bench/check_torch_metaupdate.sh            # from anywhere
#     AMAML=path/to/amaml KEEP=1 STEPS="5" METHODS="amaml maml" \
#         sh bench/check_torch_metaupdate.sh        # a subset, files kept
#
# bench/torch_metaupdate.py is timed beside the C library, so it must compute
# the same meta-update. On a small meta-batch and for a few inner horizons N:
#   - maml, fomaml, reptile, imaml: the task average of the slow autograd
#     reference tests/torch/metagrad_ref.py, run task by task;
#   - every method, amaml's continuous adjoint included: the task average of
#     `amaml metagrad` (skipped, with a SKIP line, when there is no build);
#   - the meta-loss: the task average of J along the reference's own inner
#     trajectory (rk4 and the prox term for amaml), which checks amaml's
#     forward map without the C build;
#   - amaml against the reference's discrete adjoint: a loose check only, as
#     the continuous adjoint differs from the discrete gradient by O(h).
#
# Prints one PASS/FAIL/SKIP line per check and "N passed, N failed"; exits 1
# on any failure. Skips (exit 0) when /usr/bin/python3 has no torch.

set -u

# Same quantities by different summation orders (batched bmm against one
# task at a time, autograd against hand-written C): rounding of ~1e-16 per
# operation over at most 20 steps of a contracting flow, and 5 CG iterations
# for imaml, stays below ~1e-12 relative to max |g| (measured: 1e-16 to 3e-13);
# 1e-10 leaves room and is far below any real mistake (a wrong stage weight
# or a dropped prox term moves these by more than 1e-6).
TOL=1e-10
# Continuous against discrete adjoint: they differ at first order in h; with
# h = 0.05 the measured gap is 0.1% to 7%, while a sign error or a missing
# term is of order one.
TOL_ADJ=0.2
H=0.05
BETA=1
STEPS=${STEPS:-"1 5 20"}
METHODS=${METHODS:-"amaml maml fomaml reptile imaml"}
TASKS=3

PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
REF="$ROOT/tests/torch/metagrad_ref.py"
AMAML=${AMAML:-$ROOT/build/amaml}
case $AMAML in
/*) ;;
*) AMAML=$(pwd)/$AMAML ;;
esac

if ! "$PY" -c 'import torch' >/dev/null 2>&1; then
    echo "SKIP torch meta-update check: $PY has no torch (apt-get install python3-torch)"
    exit 0
fi
if [ ! -f "$REF" ]; then
    echo "check_torch_metaupdate: $REF is missing" >&2
    exit 1
fi

WORK=$(mktemp -d) || exit 1
cleanup() {
    if [ "${KEEP:-0}" = 1 ]; then
        echo "check_torch_metaupdate: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
cd "$WORK" || exit 1

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

# The comparisons, in Python because they average over tasks first.
#   helper.py grad TOL OUT REF0 REF1 ...  OUT against the mean of the REFs
#   helper.py loss TOL JSON REF           the JSON's meta_loss against REF's number
#   helper.py losses CASE H BETA N ...    writes refloss_METHOD_N.txt: the task
#                                         mean of J along the reference's trajectory
# err = max_i |a_i - b_i| / max_i |b_i|; prints "err=E", exits 1 above TOL.
cat >helper.py <<'PYEOF'
import json, math, os, sys
from types import SimpleNamespace

def numbers(path):
    with open(path) as f:
        return [float(w) for w in f.read().split()]

def verdict(tol, err):
    print("err=%.2e" % err)
    return 0 if math.isfinite(err) and err <= tol else 1

def grad(tol, out, refs):
    got, tables = numbers(out), [numbers(r) for r in refs]
    if any(len(t) != len(got) for t in tables):
        print("%d numbers, the references have %s" % (len(got), [len(t) for t in tables]))
        return 1
    want = [sum(col) / len(col) for col in zip(*tables)]
    scale = max(abs(w) for w in want) or 1.0
    return verdict(tol, max(abs(a - b) for a, b in zip(got, want)) / scale)

def loss(tol, report, ref):
    with open(report) as f:
        got = json.load(f)["meta_loss"]
    want = numbers(ref)[0]
    return verdict(tol, abs(got - want) / abs(want))

def task_sets(R, case, widths):
    """(support loss, query loss) of each task, as the reference builds them."""
    sets, k = [], 0
    while os.path.exists(os.path.join(case, "task%d_support.csv" % k)):
        sets.append([R.make_loss(widths, "tanh", "mse", *R.read_data(
            os.path.join(case, "task%d_%s.csv" % (k, w)), widths, "mse"))
            for w in ("support", "query")])
        k += 1
    return sets

def losses(case, h, beta, steps_list):
    import metagrad_ref as R
    widths = [1, 32, 32, 1]
    theta = R.read_theta(os.path.join(case, "theta.txt"), widths)
    sets = task_sets(R, case, widths)
    # Each method's inner problem: scheme, prox in the flow, prox in J.
    inner = {"amaml": ("rk4", beta, beta), "imaml": ("euler", 1.0, 0.0)}
    for n in steps_list:
        opts = SimpleNamespace(steps=n, inner_lr=h)
        for m in ("amaml", "maml", "fomaml", "reptile", "imaml"):
            scheme, b, bj = inner.get(m, ("euler", 0.0, 0.0))
            total = sum(float(R.meta_objective(theta, R.trajectory(
                theta, opts, scheme, b, s, graph=False), bj, q)) for s, q in sets)
            with open("refloss_%s_%d.txt" % (m, n), "w") as f:
                f.write("%.17g\n" % (total / len(sets)))
    return 0

if __name__ == "__main__":
    what = sys.argv[1]
    if what == "losses":
        sys.exit(losses(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]),
                        [int(n) for n in sys.argv[5:]]))
    tol = float(sys.argv[2])
    if what == "grad":
        sys.exit(grad(tol, sys.argv[3], sys.argv[4:]))
    sys.exit(loss(tol, sys.argv[3], sys.argv[4]))
PYEOF

# 1. A small meta-batch: support and query of different sizes, so a swap of
# the two sets or a mix-up of the tasks' rows cannot go unnoticed.
if ! "$PY" "$HERE/make_bench_case.py" --dir case --tasks $TASKS --shots 12 --queries 17 \
    --seed 11; then
    echo "check_torch_metaupdate: make_bench_case.py failed" >&2
    exit 1
fi
have_c=1
if [ ! -x "$AMAML" ]; then
    have_c=0
    echo "SKIP every check against the C library: $AMAML is missing" \
        "(build it with make -j2, or set AMAML=path/to/amaml)"
fi

# The flags of method $1 for metagrad_ref.py and for `amaml metagrad`.
ref_flags() {
    case $1 in
    amaml) echo "--method amaml --solver rk4 --adjoint discrete --prox $BETA" ;;
    *) echo "--method $1" ;;
    esac
}
c_flags() {
    case $1 in
    amaml) echo "--method amaml --solver rk4 --adjoint continuous --backward euler --prox $BETA" ;;
    *) echo "--method $1" ;;
    esac
}
task_files() {
    echo "--params case/theta.txt --support case/task$1_support.csv --query case/task$1_query.csv"
}

# 2. The references for every task, method and N, in two torch imports.
: >jobs.txt
for n in $STEPS; do
    for m in $METHODS; do
        k=0
        while [ $k -lt $TASKS ]; do
            echo "--arch 1-32-32-1 --act tanh $(task_files $k) $(ref_flags "$m")" \
                "--steps $n --inner-lr $H --out ref_${m}_${n}_$k.txt" >>jobs.txt
            k=$((k + 1))
        done
    done
done
"$PY" "$REF" --batch jobs.txt </dev/null
# shellcheck disable=SC2086 # STEPS is a word list by design
PYTHONPATH="$ROOT/tests/torch" "$PY" helper.py losses case $H $BETA $STEPS ||
    echo "check_torch_metaupdate: the reference meta-losses failed (see above)" >&2

# 3. Each method and N: the batched run, then its comparisons.
check_grad() { # description tol file reference-stem
    refs=
    k=0
    while [ $k -lt $TASKS ]; do
        if [ ! -f "$4_$k.txt" ]; then
            fail "$1: $4_$k.txt was not written (see the messages above)"
            return
        fi
        refs="$refs $4_$k.txt"
        k=$((k + 1))
    done
    # shellcheck disable=SC2086 # refs is a word list by design
    if msg=$("$PY" helper.py grad "$2" "$3" $refs); then
        pass "$1 $msg"
    else
        fail "$1 $msg"
    fi
}
check_loss() { # description json reference
    if [ ! -f "$3" ]; then
        fail "$1: $3 was not written (see the messages above)"
    elif msg=$("$PY" helper.py loss $TOL "$2" "$3"); then
        pass "$1 $msg"
    else
        fail "$1 $msg"
    fi
}
run_c() { # method n
    k=0
    while [ $k -lt $TASKS ]; do
        # shellcheck disable=SC2046 # the flag lists split by design
        "$AMAML" metagrad --arch 1-32-32-1 --act tanh $(task_files $k) $(c_flags "$1") \
            --steps "$2" --inner-lr $H --out "c_$1_$2_$k.txt" >/dev/null 2>"c_$1_$2_$k.err" ||
            cat "c_$1_$2_$k.err" >&2
        k=$((k + 1))
    done
}
for n in $STEPS; do
    for m in $METHODS; do
        desc="$m N=$n h=$H"
        if ! "$PY" "$HERE/torch_metaupdate.py" --case case --method "$m" --steps "$n" \
            --inner-lr $H --prox $BETA --repeats 1 --warmup 0 --grad-out "t_${m}_$n.txt" \
            >"t_${m}_$n.json"; then
            fail "$desc: torch_metaupdate.py failed"
            continue
        fi
        check_loss "$desc meta-loss against the reference's trajectory" \
            "t_${m}_$n.json" "refloss_${m}_$n.txt"
        if [ "$m" = amaml ]; then
            check_grad "$desc continuous adjoint near the reference's discrete one" \
                $TOL_ADJ "t_${m}_$n.txt" "ref_${m}_$n"
        else
            check_grad "$desc against the reference" $TOL "t_${m}_$n.txt" "ref_${m}_$n"
        fi
        if [ "$have_c" = 1 ]; then
            run_c "$m" "$n"
            check_grad "$desc against amaml metagrad" $TOL "t_${m}_$n.txt" "c_${m}_$n"
        fi
    done
done

if [ "$failed" -gt 0 ] && [ "${KEEP:-0}" != 1 ]; then
    echo "check_torch_metaupdate: rerun with KEEP=1 to keep the files" >&2
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
