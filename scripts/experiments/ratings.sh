#!/bin/sh
# ratings.sh - meta collaborative filtering (docs/results.md): every method
# on a rating file, 10-shot/15-val and 20-shot/30-val, N = 50 and N = 100
# inner steps of 0.01 for A-MAML, iMAML, FOMAML and Reptile; MAML with 5 and
# 10 steps of 0.1 (the same horizon T). MLP 100-40-40-1 tanh on 100 SVD item
# features, meta-batch 5, Adam 1e-3, 1000 meta-steps, A-MAML with prox 1.
# Then the meta-test protocol on the 100 meta-test users.
# Usage: scripts/experiments/ratings.sh FAMILY FILE [OUT]
set -eu
fam=$1
data=$2
out=${3:-runs/$fam}
amaml=${AMAML:-build/amaml}
metasteps=${META_STEPS:-1000}
mkdir -p "$out"

for kq in 10:15 20:30; do
    k=${kq%%:*} q=${kq#*:}
    for N in 50 100; do
        for m in amaml imaml maml fomaml reptile; do
            dir="$out/$k-shot/N$N/$m"
            [ -f "$dir/eval.json" ] && continue
            steps=$N lr=0.01 extra=""
            [ "$m" = maml ] && steps=$((N / 10)) lr=0.1
            [ "$m" = amaml ] && extra="--prox 1"
            echo "== $fam $k-shot N=$N $m" >&2
            # shellcheck disable=SC2086
            "$amaml" train --task "$fam" --data "$data" --shots "$k" --queries "$q" \
                --method "$m" --steps "$steps" --inner-lr "$lr" $extra --meta-batch 5 \
                --meta-lr 0.001 --optimizer adam --meta-steps "$metasteps" --seed 1 \
                --quiet --out "$dir"
            "$amaml" eval --model "$dir/model.amaml" --adapt-steps 100 --out "$dir/eval.json" \
                --quiet
        done
    done
done
