#!/usr/bin/python3
"""make_case.py - a random test case for `amaml metagrad` and metagrad_ref.py.

Writes DIR/theta.txt (uniform in +-1/sqrt(fan_in) for weights and biases, as
torch.nn.Linear initializes them), DIR/support.csv and DIR/query.csv for an
architecture and loss. The numbers come from Python's own generator, seeded,
so a case is the same on every machine and every torch version. It needs no
torch, and it holds the flat parameter layout that metagrad_ref.py imports.

    make_case.py --arch 2-8-8-1 --loss mse --seed 1 --n-support 5 \\
        --n-query 12 --dir case1
"""

import argparse
import math
import os
import random
import sys

LOSSES = ("mse", "ce")
INPUT_RANGE = 2.0  # inputs uniform in +-2, where tanh and sigmoid still bend


def parse_arch(text):
    """'2-32-32-1' -> [2, 32, 32, 1]; None if it is not such a string."""
    parts = text.split("-")
    if len(parts) < 2 or not all(p.isascii() and p.isdigit() and int(p) > 0 for p in parts):
        return None
    return [int(p) for p in parts]


def layer_shapes(widths):
    """(out, in) of each layer; the flat layout is W (out x in) then b, layer by layer."""
    return list(zip(widths[1:], widths[:-1]))


def random_theta(rng, widths):
    theta = []
    for nout, nin in layer_shapes(widths):
        bound = 1.0 / math.sqrt(nin)
        theta += [rng.uniform(-bound, bound) for _ in range(nout * nin + nout)]
    return theta


def sine_teacher(rng, din, dout):
    """A smooth random target x -> sin(A x + c), so the inner steps have something to fit."""
    a = [[rng.uniform(-1.5, 1.5) for _ in range(din)] for _ in range(dout)]
    c = [rng.uniform(0.0, math.pi) for _ in range(dout)]
    return lambda x: [math.sin(sum(ai * xi for ai, xi in zip(row, x)) + ci)
                      for row, ci in zip(a, c)]


def random_rows(rng, widths, loss, n, teacher):
    rows = []
    for _ in range(n):
        x = [rng.uniform(-INPUT_RANGE, INPUT_RANGE) for _ in range(widths[0])]
        y = teacher(x) if loss == "mse" else [rng.randrange(widths[-1])]
        rows.append((x, y))
    return rows


def write_csv(path, rows, loss):
    # The comment and the blank line are there on purpose: readers must skip them.
    target = "targets" if loss == "mse" else "class index"
    with open(path, "w", encoding="ascii") as f:
        f.write(f"# inputs, then {target}\n\n")
        for x, y in rows:
            ys = ["%.17g" % v for v in y] if loss == "mse" else [str(y[0])]
            f.write(",".join(["%.17g" % v for v in x] + ys) + "\n")


def main(argv):
    p = argparse.ArgumentParser(prog="make_case.py", description=__doc__.split("\n")[0])
    p.add_argument("--arch", required=True)
    p.add_argument("--loss", required=True, choices=LOSSES)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--n-support", type=int, default=5)
    p.add_argument("--n-query", type=int, default=12)
    p.add_argument("--dir", required=True, help="created if missing")
    args = p.parse_args(argv)
    widths = parse_arch(args.arch)
    if widths is None:
        p.error(f"--arch {args.arch}: want positive widths like 2-32-32-1")
    if args.n_support < 1 or args.n_query < 1:
        p.error("--n-support and --n-query must be >= 1")

    rng = random.Random(args.seed)
    os.makedirs(args.dir, exist_ok=True)
    with open(os.path.join(args.dir, "theta.txt"), "w", encoding="ascii") as f:
        f.writelines("%.17g\n" % t for t in random_theta(rng, widths))
    teacher = sine_teacher(rng, widths[0], widths[-1])
    for name, n in (("support", args.n_support), ("query", args.n_query)):
        rows = random_rows(rng, widths, args.loss, n, teacher)
        write_csv(os.path.join(args.dir, name + ".csv"), rows, args.loss)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
