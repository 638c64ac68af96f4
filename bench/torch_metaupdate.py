#!/usr/bin/python3
"""torch_metaupdate.py - one meta-update in PyTorch, timed beside the C library.

The cost benchmark (protocol section 4) compares the C library's meta-updates
with what a competent PyTorch user would write. This is that program: float64,
the B tasks of a meta-batch stacked into (B, n, d) tensors and the parameters
into a (B, P) tensor, one copy of theta per task, so that every gradient and
Hessian-vector product serves the whole meta-batch through batched matmuls.
Because the tasks' parameters are separate rows, the gradient of the sum of
the task losses holds each task's own gradient in its row.

Methods (the mathematics: /work/shared/method.md):
  amaml    RK4 gradient flow du/dt = -g(u) - beta (u - theta), all N+1 states
           stored, then the continuous adjoint by explicit Euler backward on
           the same grid, Hessian-vector products by double backward, each
           step's graph freed. The same algorithm as `amaml metagrad --method
           amaml --solver rk4 --adjoint continuous --backward euler --prox BETA`.
  maml     N gradient steps built with create_graph=True, then one backward
           through the whole kept graph: the standard autograd way, whose
           memory grows with N.
  fomaml   the query gradient at u_N.
  reptile  theta - u_N.
  imaml    N steps on L + lambda/2 |u - theta|^2, then K CG iterations on
           ((1 + damping) I + H/lambda) x = grad L(u*; query) from x = 0.

    torch_metaupdate.py --case DIR --method amaml --steps 100 --threads 1 \\
        --repeats 5 --warmup 1 [--grad-out g.txt]

DIR holds theta.txt and task{K}_support.csv, task{K}_query.csv for
K = 0 .. B-1 (bench/make_bench_case.py writes one). Prints one JSON object
on stdout; the meta-gradient averaged over the tasks goes to --grad-out.
"""

import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

try:
    import torch
except ImportError:
    print("torch_metaupdate.py: /usr/bin/python3 has no torch "
          "(apt-get install python3-torch)", file=sys.stderr)
    sys.exit(1)

DTYPE = torch.float64
METHODS = ("amaml", "maml", "fomaml", "reptile", "imaml")


class InputError(Exception):
    """A case file that cannot be used; the message names it."""


# ------------------------------------------------------------------ case


def parse_arch(text):
    """'1-32-32-1' -> [1, 32, 32, 1]; None if it is not such a string."""
    parts = text.split("-")
    if len(parts) < 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        return None
    return [int(p) for p in parts]


def read_text(path):
    try:
        with open(path, encoding="ascii") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: {e.strerror if isinstance(e, OSError) else e}") from e


def read_theta(path, nparam, arch):
    words = read_text(path).split()
    try:
        values = [float(w) for w in words]
    except ValueError as e:
        raise InputError(f"{path}: {e}") from e
    if len(values) != nparam:
        raise InputError(f"{path}: {len(values)} numbers, the architecture {arch} "
                         f"has {nparam} parameters")
    return torch.tensor(values, dtype=DTYPE)


def read_samples(path, ncol):
    """The rows of a CSV file, skipping blank lines and '#' comments."""
    rows = []
    for lineno, line in enumerate(read_text(path).splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        fields = text.split(",")
        if len(fields) != ncol:
            raise InputError(f"{path}:{lineno}: {len(fields)} fields, want {ncol} "
                             f"(inputs, then targets)")
        try:
            rows.append([float(v) for v in fields])
        except ValueError as e:
            raise InputError(f"{path}:{lineno}: {e}") from e
    if not rows:
        raise InputError(f"{path}: no samples")
    return rows


def task_count(case):
    """B, from task0_support.csv .. task{B-1}_support.csv with no gaps."""
    try:
        names = set(os.listdir(case))
    except OSError as e:
        raise InputError(f"{case}: {e.strerror}") from e
    count = 0
    while f"task{count}_support.csv" in names:
        count += 1
    if count == 0:
        raise InputError(f"{os.path.join(case, 'task0_support.csv')}: missing")
    for name in names:
        stem = name[4:].split("_", 1)[0] if name.startswith("task") else ""
        if stem.isdigit() and int(stem) >= count:
            raise InputError(f"{os.path.join(case, name)}: task {stem} but no "
                             f"task{count}_support.csv before it")
    return count


def stack_sets(case, count, which, ncol):
    """(B, n, ncol) from task{K}_{which}.csv; every task must have n rows."""
    sets = []
    for k in range(count):
        path = os.path.join(case, f"task{k}_{which}.csv")
        rows = read_samples(path, ncol)
        if sets and len(rows) != len(sets[0]):
            raise InputError(f"{path}: {len(rows)} samples, task0_{which}.csv has "
                             f"{len(sets[0])}; the tasks of a batch need equal sizes")
        sets.append(rows)
    return torch.tensor(sets, dtype=DTYPE)


def load_case(case, widths, arch):
    """theta (P), and the support and query sets as (x, y) with x (B, n, din)."""
    din = widths[0]
    theta = read_theta(os.path.join(case, "theta.txt"), param_count(widths), arch)
    count = task_count(case)
    support = stack_sets(case, count, "support", din + widths[-1])
    query = stack_sets(case, count, "query", din + widths[-1])
    return theta, (support[..., :din], support[..., din:]), (query[..., :din], query[..., din:])


# ----------------------------------------------------------------- model


def layer_shapes(widths):
    """(out, in) of each layer."""
    return list(zip(widths[1:], widths[:-1]))


def param_count(widths):
    return sum(nout * nin + nout for nout, nin in layer_shapes(widths))


def mlp_forward(shapes, u, x):
    """Outputs (B, n, dout) of the B networks in the rows of u (B, P) on x (B, n, din)."""
    batch = u.shape[0]
    sizes = [n for nout, nin in shapes for n in (nout * nin, nout)]
    # One split rather than a slice per tensor: its backward writes all the
    # pieces into one gradient instead of zero-filling a (B, P) tensor for each.
    parts = torch.split(u, sizes, dim=1)
    h = x
    for i, (nout, nin) in enumerate(shapes):
        w = parts[2 * i].view(batch, nout, nin)
        b = parts[2 * i + 1].view(batch, 1, nout)
        h = torch.baddbmm(b, h, w.transpose(1, 2))
        if i < len(shapes) - 1:
            h = torch.tanh(h)
    return h


def make_loss(shapes, data):
    """u (B, P) -> the sum over tasks of 0.5 mean (pred - y)^2 of each task."""
    x, y = data
    scale = 0.5 / (y.shape[1] * y.shape[2])  # each task's mean over its entries

    def loss(u):
        return scale * torch.sum((mlp_forward(shapes, u, x) - y) ** 2)

    return loss


def value_and_grad(loss, u):
    """(sum of task losses, per-task gradients (B, P)); no graph survives."""
    u = u.detach().requires_grad_(True)
    value = loss(u)
    (g,) = torch.autograd.grad(value, u)
    return value.detach(), g


def hvp(loss, u, v):
    """H(u) v per task by double backward; the graph is freed on return."""
    u = u.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(loss(u), u, create_graph=True)
    (hv,) = torch.autograd.grad(g, u, grad_outputs=v)
    return hv


# --------------------------------------------------------- inner solves


def flow(support, u, theta, beta):
    """f(u) = -g(u) - beta (u - theta)."""
    return -value_and_grad(support, u)[1] - beta * (u - theta)


def rk4_trajectory(support, theta, beta, h, steps):
    """The N + 1 states (N+1, B, P) of classic RK4 on the gradient flow."""
    traj = torch.empty((steps + 1,) + theta.shape, dtype=DTYPE)
    traj[0] = theta
    for k in range(steps):
        u = traj[k]
        k1 = flow(support, u, theta, beta)
        k2 = flow(support, u + (0.5 * h) * k1, theta, beta)
        k3 = flow(support, u + (0.5 * h) * k2, theta, beta)
        k4 = flow(support, u + h * k3, theta, beta)
        traj[k + 1] = u + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return traj


def descend(support, theta, lam, h, steps):
    """u_N of gradient descent on L + lam/2 |u - theta|^2 from theta."""
    u = theta.clone()
    for _ in range(steps):
        u = u + h * flow(support, u, theta, lam)
    return u


# --------------------------------------------------------------- methods
# Each takes theta (B, P) and returns (per-task meta-gradients (B, P) or
# their mean (P), mean meta-loss).


def meta_amaml(theta, support, query, opts):
    """Continuous adjoint, explicit Euler in reversed time s = T - t.

    Euler in s evaluates at the start of each reversed step, which is the
    right end t_{k+1} of the forward interval: H at u_{k+1}, and the
    quadrature of q = int a dt takes the stage value a_{k+1}.
    """
    beta, h = opts.prox, opts.inner_lr
    traj = rk4_trajectory(support, theta, beta, h, opts.steps)
    u_n = traj[-1]
    d = u_n - theta
    value, gq = value_and_grad(query, u_n)
    a = gq + beta * d
    q = torch.zeros_like(a)
    for k in range(opts.steps - 1, -1, -1):
        q += h * a
        a = a - h * (hvp(support, traj[k + 1], a) + beta * a)
    meta_loss = (value + 0.5 * beta * torch.sum(d * d)) / theta.shape[0]
    return a + beta * q - beta * d, meta_loss


def meta_maml(theta, support, query, opts):
    """Reverse mode through the N unrolled steps, the whole graph kept."""
    batch = theta.shape[0]
    root = theta[0].detach().clone().requires_grad_(True)
    u = root.expand(batch, -1)  # one row per task, all the same theta
    for _ in range(opts.steps):
        (g,) = torch.autograd.grad(support(u), u, create_graph=True)
        u = u - opts.inner_lr * g
    meta_loss = query(u) / batch
    (grad,) = torch.autograd.grad(meta_loss, root)  # d(mean)/d theta: already averaged
    return grad, meta_loss.detach()


def meta_fomaml(theta, support, query, opts):
    u = descend(support, theta, 0.0, opts.inner_lr, opts.steps)
    value, gq = value_and_grad(query, u)
    return gq, value / theta.shape[0]


def meta_reptile(theta, support, query, opts):
    u = descend(support, theta, 0.0, opts.inner_lr, opts.steps)
    with torch.no_grad():
        value = query(u)
    return theta - u, value / theta.shape[0]


def row_ratio(num, den):
    """num / den for each row, 0 where den is 0."""
    nonzero = den != 0
    return torch.where(nonzero, num / torch.where(nonzero, den, torch.ones_like(den)),
                       torch.zeros_like(num))


def batched_cg(apply_a, b, iters):
    """iters CG iterations for each row's own system, from x = 0.

    A row that has converged exactly (r = 0, hence p = 0 next) takes zero
    steps from then on, where one system alone would stop.
    """
    x = torch.zeros_like(b)
    r = b.clone()
    p = r.clone()
    rr = torch.sum(r * r, dim=1, keepdim=True)
    for _ in range(iters):
        ap = apply_a(p)
        alpha = row_ratio(rr, torch.sum(p * ap, dim=1, keepdim=True))
        x = x + alpha * p
        r = r - alpha * ap
        rr_new = torch.sum(r * r, dim=1, keepdim=True)
        p = r + row_ratio(rr_new, rr) * p
        rr = rr_new
    return x


def meta_imaml(theta, support, query, opts):
    """The CG operator reuses one graph of grad L(u*), as the iMAML code does."""
    lam = opts.imaml_lambda
    u = descend(support, theta, lam, opts.inner_lr, opts.steps)
    value, gq = value_and_grad(query, u)
    u = u.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(support(u), u, create_graph=True)

    def apply_a(v):
        (hv,) = torch.autograd.grad(g, u, grad_outputs=v, retain_graph=True)
        return (1.0 + opts.cg_damping) * v + hv / lam

    return batched_cg(apply_a, gq, opts.cg_steps), value / theta.shape[0]


METHOD_FUNCS = {
    "amaml": meta_amaml,
    "maml": meta_maml,
    "fomaml": meta_fomaml,
    "reptile": meta_reptile,
    "imaml": meta_imaml,
}


def meta_update(method, theta, support, query, opts):
    """(mean meta-gradient (P), mean meta-loss) over the meta-batch."""
    grad, meta_loss = METHOD_FUNCS[method](theta, support, query, opts)
    if grad.dim() == 2:
        grad = grad.mean(dim=0)
    return grad, float(meta_loss)


# ---------------------------------------------------------- command line


def build_parser():
    p = argparse.ArgumentParser(prog="torch_metaupdate.py",
                                description="Times one PyTorch meta-update over a meta-batch.")
    p.add_argument("--case", required=True, help="directory with theta.txt and task files")
    p.add_argument("--arch", default="1-32-32-1", help="widths (default 1-32-32-1)")
    p.add_argument("--method", required=True, choices=METHODS)
    p.add_argument("--steps", type=int, default=100, help="inner steps N (default 100)")
    p.add_argument("--inner-lr", type=float, default=0.01, help="step size h (default 0.01)")
    p.add_argument("--prox", type=float, default=1.0,
                   help="amaml's beta (default 1); the other methods have none")
    p.add_argument("--imaml-lambda", type=float, default=1.0)
    p.add_argument("--cg-steps", type=int, default=5)
    p.add_argument("--cg-damping", type=float, default=0.0)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--repeats", type=int, default=5, help="timed meta-updates (default 5)")
    p.add_argument("--warmup", type=int, default=1, help="untimed first (default 1)")
    p.add_argument("--grad-out", help="averaged meta-gradient, one %%.17g a line")
    return p


def range_error(args):
    """The first option out of range, as a message, or None."""
    ints = [("--steps", args.steps, 0), ("--cg-steps", args.cg_steps, 0),
            ("--threads", args.threads, 1), ("--repeats", args.repeats, 1),
            ("--warmup", args.warmup, 0)]
    for flag, v, lo in ints:
        if v < lo:
            return f"{flag} {v}: must be >= {lo}"
    reals = [("--inner-lr", args.inner_lr, False), ("--prox", args.prox, True),
             ("--imaml-lambda", args.imaml_lambda, False),
             ("--cg-damping", args.cg_damping, True)]
    for flag, v, zero_ok in reals:
        if not math.isfinite(v) or v < 0 or (v == 0 and not zero_ok):
            return f"{flag} {v:g}: must be {'>= 0' if zero_ok else '> 0'}"
    return None


def time_updates(args, theta, support, query):
    """Warm-up runs, then the timed ones; returns (times, last gradient, meta-loss)."""
    times = []
    for i in range(args.warmup + args.repeats):
        start = time.perf_counter()
        grad, meta_loss = meta_update(args.method, theta, support, query, args)
        elapsed = time.perf_counter() - start
        if i >= args.warmup:
            times.append(elapsed)
    return times, grad, meta_loss


def run(args, widths):
    theta, sup_data, qry_data = load_case(args.case, widths, args.arch)
    theta = theta.expand(sup_data[0].shape[0], -1).contiguous()  # (B, P), a row per task
    shapes = layer_shapes(widths)
    support, query = make_loss(shapes, sup_data), make_loss(shapes, qry_data)
    # The interpreter, torch and the case alone: what the meta-updates add is the rest.
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    times, grad, meta_loss = time_updates(args, theta, support, query)
    if args.grad_out:
        try:
            with open(args.grad_out, "w", encoding="ascii") as f:
                f.writelines("%.17g\n" % v for v in grad.tolist())
        except OSError as e:
            raise InputError(f"{args.grad_out}: {e.strerror}") from e
    return {
        "method": args.method, "steps": args.steps, "threads": args.threads,
        "median_s": statistics.median(times), "times_s": times,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "meta_loss": meta_loss, "torch_version": torch.__version__,
        "rss_before_bytes": rss_before, "tasks": theta.shape[0],
    }


def main(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    widths = parse_arch(args.arch)
    if widths is None:
        parser.error(f"--arch {args.arch}: want positive widths like 1-32-32-1")
    problem = range_error(args)
    if problem:
        parser.error(problem)
    # Before any parallel work: torch refuses to change interop threads later.
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    try:
        report = run(args, widths)
    except InputError as e:
        print(f"torch_metaupdate.py: {e}", file=sys.stderr)
        return 1
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
