# test_ratings.sh - the rating families through train and eval, on small
# files made here in the three publishers' layouts: the runs complete,
# eval.json carries RMSE in rating units and the item-mean baseline, and a
# malformed file is refused naming its line.
. "$(dirname "$0")/lib.sh"

# 60 users x 30 items, each user rating 35..44 random items: ratings from a
# low-rank taste model, so that there is something to learn.
awk 'BEGIN {
    srand(7)
    for (i = 1; i <= 30; i++) q[i] = rand() - 0.5
    for (u = 1; u <= 60; u++) {
        p = rand() - 0.5
        n = 35 + int(rand() * 10); if (n > 30) n = 30
        for (i = 1; i <= n; i++) {
            r = int(3 + 4 * p * q[i] + (rand() - 0.5) * 2 + 0.5)
            if (r < 1) r = 1; if (r > 5) r = 5
            printf "%d\t%d\t%d\t%d\n", u, i, r, 880000000 + u * 100 + i
        }
    }
}' >"$tmp/u.data"
tr '\t' ' ' <"$tmp/u.data" | awk '{print $1 "::" $2 "::" $3 "::" $4}' >"$tmp/ratings.dat"
awk -F'\t' '{ r[$1, $2] = ($3 - 3) * 3.3; if ($1 > nu) nu = $1 }
END {
    for (u = 1; u <= nu; u++) {
        line = ""; c = 0
        for (i = 1; i <= 100; i++) {
            v = ((u, i) in r) ? sprintf("%.2f", r[u, i]) : "99"
            if (v != "99") c++
            line = line "," v
        }
        print c line
    }
}' "$tmp/u.data" >"$tmp/jester.csv"

opts="--shots 5 --queries 5 --ntest 10 --features 8 --steps 10 --inner-lr 0.05 \
    --meta-steps 20 --quiet"
for f in movielens:u.data movielens1m:ratings.dat jester:jester.csv; do
    fam=${f%%:*} file=${f#*:}
    # shellcheck disable=SC2086
    expect_status 0 "train $fam" -- "$AMAML" train --task "$fam" --data "$tmp/$file" $opts \
        --method amaml --prox 1 --out "$tmp/$fam"
    expect_status 0 "eval $fam" -- "$AMAML" eval --model "$tmp/$fam/model.amaml" \
        --adapt-steps 20 --out "$tmp/$fam/eval.json" --quiet
    expect_text "$tmp/$fam/eval.json" '"item_mean"' "$fam: the item-mean baseline"
    expect_text "$tmp/$fam/eval.json" '"rmse_mean"' "$fam: RMSE in rating units"
done
# The default architecture follows --features: 8-40-40-1 here.
expect_text "$tmp/movielens/summary.json" '"8-40-40-1"' "the default model follows --features"

# Malformed files: the line is named, the run does not start.
printf '1\t1\t5\t0\n1\t2\t9\t0\n' >"$tmp/bad.data"
# shellcheck disable=SC2086
expect_status 1 "out-of-range rating" -- "$AMAML" train --task movielens --data "$tmp/bad.data" \
    $opts --out "$tmp/bad"
expect_text "$tmp/err" "bad.data:2" "the bad line is named"
# shellcheck disable=SC2086
expect_status 1 "a ratings.dat given as u.data" -- "$AMAML" train --task movielens \
    --data "$tmp/ratings.dat" $opts --out "$tmp/bad"
expect_text "$tmp/err" "ratings.dat:1" "the layout error names the line"
expect_status 2 "no --data" -- "$AMAML" train --task jester --out "$tmp/bad" --quiet

cli_summary
