#!/usr/bin/python3
"""make_bench_case.py - a meta-batch of cosmixture tasks for the cost benchmark.

Writes DIR/theta.txt and DIR/task{K}_support.csv, DIR/task{K}_query.csv for
K = 0 .. B-1, the case format that bench/torch_metaupdate.py reads (and that
the C benchmark writes for itself). Each task is one function of the
cosmixture family of the paper's regression benchmark,

    y = -c sum_i cos(w pi x_i + p) - sum_i x_i^2,
    c in [0.1, 1], p in [0.5, 2], w in [3, 6], x uniform in [-1, 1]^d,

with its support and query points drawn from the same function. Nothing is
standardized: the data only has to be realistic enough to time a meta-update.
theta is uniform in +-1/sqrt(fan_in), as torch.nn.Linear initializes it.
The numbers come from Python's own seeded generator (no torch needed), so a
case is the same on every machine.

    make_bench_case.py --dir case --tasks 5 --shots 100 --queries 100 --seed 1
"""

import argparse
import math
import os
import random
import sys


def parse_arch(text):
    """'1-32-32-1' -> [1, 32, 32, 1]; None if it is not such a string."""
    parts = text.split("-")
    if len(parts) < 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        return None
    return [int(p) for p in parts]


def random_theta(rng, widths):
    """The flat layout: per layer W (out x in) row-major, then b (out)."""
    theta = []
    for nin, nout in zip(widths[:-1], widths[1:]):
        bound = 1.0 / math.sqrt(nin)
        theta += [rng.uniform(-bound, bound) for _ in range(nout * nin + nout)]
    return theta


def cosmixture(rng):
    """One task: the function x -> y with its own c, p, w."""
    c, p, w = rng.uniform(0.1, 1.0), rng.uniform(0.5, 2.0), rng.uniform(3.0, 6.0)
    return lambda x: sum(-c * math.cos(w * math.pi * xi + p) - xi * xi for xi in x)


def write_samples(path, rng, fn, din, n):
    with open(path, "w", encoding="ascii") as f:
        f.write("# cosmixture: %d input(s), then the target\n" % din)
        for _ in range(n):
            x = [rng.uniform(-1.0, 1.0) for _ in range(din)]
            f.write(",".join("%.17g" % v for v in x + [fn(x)]) + "\n")


def write_case(args, widths):
    rng = random.Random(args.seed)
    os.makedirs(args.dir, exist_ok=True)
    with open(os.path.join(args.dir, "theta.txt"), "w", encoding="ascii") as f:
        f.writelines("%.17g\n" % t for t in random_theta(rng, widths))
    for k in range(args.tasks):
        fn = cosmixture(rng)
        for name, n in (("support", args.shots), ("query", args.queries)):
            path = os.path.join(args.dir, "task%d_%s.csv" % (k, name))
            write_samples(path, rng, fn, widths[0], n)


def main(argv):
    p = argparse.ArgumentParser(prog="make_bench_case.py",
                                description=__doc__.split("\n")[0])
    p.add_argument("--dir", required=True, help="created if missing")
    p.add_argument("--tasks", type=int, default=5, help="meta-batch size B (default 5)")
    p.add_argument("--shots", type=int, default=100, help="support rows (default 100)")
    p.add_argument("--queries", type=int, default=100, help="query rows (default 100)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--arch", default="1-32-32-1", help="widths (default 1-32-32-1)")
    args = p.parse_args(argv)
    widths = parse_arch(args.arch)
    if widths is None or widths[-1] != 1:
        p.error(f"--arch {args.arch}: want positive widths ending in 1, like 1-32-32-1")
    if min(args.tasks, args.shots, args.queries) < 1:
        p.error("--tasks, --shots and --queries must be >= 1")
    try:
        write_case(args, widths)
    except OSError as e:
        print(f"make_bench_case.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
