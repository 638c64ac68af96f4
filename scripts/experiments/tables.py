#!/usr/bin/env python3
"""tables.py - the markdown tables of docs/results.md from eval.json files.

    tables.py synthetic RUNS_DIR     one table per family and shot count
    tables.py ratings RUNS_DIR       one table per shot count and N

Each cell is the mean over the meta-test tasks with its standard error.
"""
import json
import os
import sys

METHODS = ["amaml", "maml", "maml1", "fomaml", "imaml", "reptile"]
NAMES = {"amaml": "A-MAML", "maml": "MAML", "maml1": "MAML-1", "fomaml": "FOMAML",
         "imaml": "iMAML", "reptile": "Reptile"}


def cell(s, key="mean", err="stderr"):
    return f"{s[key]:.3f} ± {s[err]:.3f}"


def load(path):
    with open(path) as f:
        return json.load(f)


def synthetic(root):
    for fam in ("cosmixture", "alpine"):
        for k in (50, 100):
            d = os.path.join(root, f"{fam}-{k}")
            if not os.path.isdir(d):
                continue
            print(f"\n**{fam}, {k}-shot** (nRMSE on the test grid, 100 meta-test functions)\n")
            print("| method | step 0 | after the inner rule | after 1000 Adam steps |")
            print("|---|---|---|---|")
            last = None
            for m in METHODS:
                p = os.path.join(d, m, "eval.json")
                if not os.path.exists(p):
                    continue
                e = last = load(p)
                c = e["meta"]["curve"]
                print(f"| {NAMES[m]} | {cell(c[0])} | {cell(e['meta']['inner_rule'])} "
                      f"| {cell(c[-1])} |")
            if last:
                r = last["random_init"]
                print(f"| random init | {cell(r['curve'][0])} | {cell(r['inner_rule'])} "
                      f"| {cell(r['curve'][-1])} |")


def ratings(root):
    for k in (10, 20):
        for n in (50, 100):
            d = os.path.join(root, f"{k}-shot", f"N{n}")
            if not os.path.isdir(d):
                continue
            print(f"\n**{k}-shot, N = {n}** (MAML {n // 10} steps; test ratings of the "
                  "100 meta-test users)\n")
            print("| method | nRMSE after the inner rule | RMSE (rating units) "
                  "| nRMSE after 100 Adam steps |")
            print("|---|---|---|---|")
            last = None
            for m in ("amaml", "imaml", "maml", "fomaml", "reptile"):
                p = os.path.join(d, m, "eval.json")
                if not os.path.exists(p):
                    continue
                e = last = load(p)
                ir = e["meta"]["inner_rule"]
                print(f"| {NAMES[m]} | {cell(ir)} | {cell(ir, 'rmse_mean', 'rmse_stderr')} "
                      f"| {cell(e['meta']['curve'][-1])} |")
            if last:
                r, b = last["random_init"], last["item_mean"]
                print(f"| random init, fine-tuned | {cell(r['curve'][-1])} "
                      f"| {cell(r['curve'][-1], 'rmse_mean', 'rmse_stderr')} | |")
                print(f"| item mean | {cell(b)} | {cell(b, 'rmse_mean', 'rmse_stderr')} | |")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("synthetic", "ratings"):
        sys.exit(__doc__)
    (synthetic if sys.argv[1] == "synthetic" else ratings)(sys.argv[2])
