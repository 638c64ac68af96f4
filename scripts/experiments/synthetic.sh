#!/bin/sh
# synthetic.sh - the paper's synthetic experiment (docs/results.md): every
# method on cosmixture and alpine, 50- and 100-shot, the authors' settings
# (1-32-32-1 tanh, meta-batch 5, SGD 0.01, 100 inner steps of 0.01, A-MAML
# with prox 1, rk4 forward and an Euler adjoint), then the meta-test
# protocol (1000 Adam steps at 1e-3 on 100 meta-test functions).
# Runs already finished (eval.json present) are skipped, so the script can
# be rerun after an interruption. Usage: scripts/experiments/synthetic.sh [OUT]
set -eu
out=${1:-runs/synthetic}
amaml=${AMAML:-build/amaml}
metasteps=${META_STEPS:-1000}
mkdir -p "$out"

for fam in cosmixture alpine; do
    for k in 50 100; do
        for m in amaml maml maml1 fomaml reptile imaml; do
            dir="$out/$fam-$k/$m"
            [ -f "$dir/eval.json" ] && continue
            extra=""
            [ "$m" = amaml ] && extra="--prox 1"
            echo "== $fam $k-shot $m" >&2
            # shellcheck disable=SC2086
            "$amaml" train --task "$fam" --dim 1 --shots "$k" --queries "$k" --method "$m" \
                --steps 100 --inner-lr 0.01 $extra --meta-batch 5 --meta-lr 0.01 \
                --optimizer sgd --meta-steps "$metasteps" --seed 1 --eval-every 250 \
                --quiet --out "$dir"
            "$amaml" eval --model "$dir/model.amaml" --out "$dir/eval.json" --quiet
        done
    done
done
