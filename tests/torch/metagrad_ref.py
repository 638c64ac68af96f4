#!/usr/bin/python3
"""metagrad_ref.py - an independent PyTorch reference for `amaml metagrad`.

The C library computes meta-gradients with hand-written adjoints and
Hessian-vector products (docs: /work/shared/method.md). This script computes
the same quantities the plain way: float64 autograd through the unrolled,
discretized inner trajectory, so a bug in the C adjoint cannot hide in a
shared derivation. It takes the flags of `amaml metagrad` and writes the
gradient in the same flat layout, one %.17g number per line.

    metagrad_ref.py --arch 2-8-8-1 --act tanh --params theta.txt \\
        --support s.csv --query q.csv --method amaml --adjoint discrete \\
        --solver rk4 --prox 1 --steps 10 --inner-lr 0.1 --out grad.txt
    metagrad_ref.py --batch jobs.txt    # one argument list a line, one torch import

Only exact gradients of the discretized map are computed; the continuous
adjoint (an approximation of it) is rejected.
"""

import argparse
import math
import shlex
import sys

import torch

# The flat layout is defined once, in make_case.py, which runs without torch.
from make_case import LOSSES, layer_shapes, parse_arch

ACTS = ("tanh", "relu", "sigmoid", "softplus")
METHODS = ("amaml", "maml", "maml1", "fomaml", "reptile", "imaml")

# Explicit Runge-Kutta schemes as (a, b): a lists, for each stage after the
# first, its coefficients on the stages before it; b holds the weights.
TABLEAUX = {
    "euler": ([], [1.0]),
    "heun": ([[1.0]], [0.5, 0.5]),
    "rk4": ([[0.5], [0.0, 0.5], [0.0, 0.0, 1.0]], [1 / 6, 1 / 3, 1 / 3, 1 / 6]),
    # Kutta's 3/8 rule, which the authors' code runs under the name "rk4".
    "rk38": ([[1 / 3], [-1 / 3, 1.0], [1.0, -1.0, 1.0]], [1 / 8, 3 / 8, 3 / 8, 1 / 8]),
}

# What `amaml metagrad` assumes when a flag is absent.
DEFAULTS = {
    "loss": "mse", "solver": "rk4", "adjoint": "continuous", "steps": 100,
    "inner_lr": 0.01, "prox": 0.0, "cg_steps": 5, "cg_damping": 0.0,
    "imaml_lambda": 1.0,
}


class InputError(Exception):
    """A file that cannot be read as the flags say it should be."""


# ------------------------------------------------------------------ model


def param_count(widths):
    return sum(nout * nin + nout for nout, nin in layer_shapes(widths))


def activation(name):
    # torch's softplus turns linear above 20, which moves its derivative by
    # ~1e-9 there; logaddexp is log(1 + e^z) without that switch.
    table = {
        "tanh": torch.tanh,
        "relu": torch.relu,
        "sigmoid": torch.sigmoid,
        "softplus": lambda z: torch.logaddexp(z, torch.zeros_like(z)),
    }
    return table[name]


def forward(u, widths, act, x):
    """Network output (n x dout) at the flat parameter vector u."""
    shapes = layer_shapes(widths)
    h, off = x, 0
    for i, (nout, nin) in enumerate(shapes):
        w = u[off:off + nout * nin].view(nout, nin)
        off += nout * nin
        b = u[off:off + nout]
        off += nout
        h = h @ w.T + b
        if i < len(shapes) - 1:
            h = act(h)
    return h


def make_loss(widths, act_name, loss, x, y):
    """The closure u -> L(u; (x, y)) for the mse or ce loss of the spec."""
    act = activation(act_name)

    def mse(u):
        return 0.5 * torch.mean((forward(u, widths, act, x) - y) ** 2)

    def ce(u):
        z = forward(u, widths, act, x)
        picked = z.gather(1, y.view(-1, 1)).view(-1)
        return torch.mean(torch.logsumexp(z, dim=1) - picked)

    return mse if loss == "mse" else ce


# ------------------------------------------------------------------ files


def parse_number(word, where):
    """A finite float, as strtod reads it (Python alone would also take '1_0' and 'nan')."""
    try:
        v = float(word) if "_" not in word else math.nan
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        raise InputError(f"{where}: '{word.strip()}' is not a finite number")
    return v


def read_numbers(path):
    try:
        with open(path, encoding="ascii") as f:
            words = f.read().split()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: {e}") from e
    return [parse_number(w, f"{path}: number {i}") for i, w in enumerate(words, 1)]


def read_theta(path, widths):
    values = read_numbers(path)
    want = param_count(widths)
    if len(values) != want:
        raise InputError(f"{path}: {len(values)} numbers, the architecture "
                         f"{'-'.join(map(str, widths))} has {want} parameters")
    return torch.tensor(values, dtype=torch.float64)


def csv_rows(path, ncol):
    """(line number, values) of each sample, skipping blank lines and '#' comments."""
    rows = []
    try:
        with open(path, encoding="ascii") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: {e}") from e
    for lineno, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        fields = text.split(",")
        if len(fields) != ncol:
            raise InputError(f"{path}:{lineno}: {len(fields)} fields, want {ncol}")
        rows.append((lineno, [parse_number(v, f"{path}:{lineno}") for v in fields]))
    if not rows:
        raise InputError(f"{path}: no samples")
    return rows


def read_data(path, widths, loss):
    """(x, y): inputs n x din; targets n x dout (mse) or class indices n (ce)."""
    din, dout = widths[0], widths[-1]
    rows = csv_rows(path, din + (dout if loss == "mse" else 1))
    x = torch.tensor([r[:din] for _, r in rows], dtype=torch.float64)
    if loss == "mse":
        return x, torch.tensor([r[din:] for _, r in rows], dtype=torch.float64)
    for lineno, r in rows:
        if not (r[din].is_integer() and 0 <= r[din] < dout):
            raise InputError(f"{path}:{lineno}: class {r[din]:g} is not in [0, {dout})")
    return x, torch.tensor([int(r[din]) for _, r in rows], dtype=torch.int64)


def write_vector(path, v):
    with open(path, "w", encoding="ascii") as f:
        f.writelines("%.17g\n" % t for t in v.tolist())


# ------------------------------------------------------- inner trajectory


def flow(u, theta, beta, loss, graph):
    """f(u) = -grad L(u) - beta (u - theta); with graph, differentiable in u and theta."""
    if not graph:
        u = u.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(loss(u), u, create_graph=graph)
    f = -g - beta * (u - theta)
    return f if graph else f.detach()


def rk_step(u, theta, beta, h, scheme, loss, graph):
    """One explicit Runge-Kutta step of size h for the flow."""
    a, b = TABLEAUX[scheme]
    k = [flow(u, theta, beta, loss, graph)]
    for row in a:
        y = u
        for aij, kj in zip(row, k):
            if aij != 0.0:
                y = y + (h * aij) * kj
        k.append(flow(y, theta, beta, loss, graph))
    step = sum(bi * ki for bi, ki in zip(b, k))
    return u + h * step


def trajectory(theta, opts, scheme, beta, loss, graph):
    """u_N after opts.steps steps from u(0) = theta."""
    u = theta
    for _ in range(opts.steps):
        u = rk_step(u, theta, beta, opts.inner_lr, scheme, loss, graph)
    return u


def meta_objective(theta, u, beta, query):
    """J = L(u_N; query) + beta/2 ||u_N - theta||^2."""
    d = u - theta
    return query(u) + 0.5 * beta * torch.dot(d, d)


# -------------------------------------------------------------- methods


def grad_unrolled(theta0, support, query, opts, scheme, beta):
    """dJ/dtheta through every stage of the scheme (theta enters u(0), f and J)."""
    theta = theta0.detach().clone().requires_grad_(True)
    u = trajectory(theta, opts, scheme, beta, support, graph=True)
    (g,) = torch.autograd.grad(meta_objective(theta, u, beta, query), theta)
    return g


def grad_amaml(theta, support, query, opts):
    return grad_unrolled(theta, support, query, opts, opts.solver, opts.prox)


def grad_maml(theta, support, query, opts):
    return grad_unrolled(theta, support, query, opts, "euler", 0.0)


def loss_grad(loss, u):
    u = u.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(loss(u), u)
    return g


def grad_fomaml(theta, support, query, opts):
    u = trajectory(theta, opts, "euler", 0.0, support, graph=False)
    return loss_grad(query, u)


def grad_reptile(theta, support, query, opts):
    return theta - trajectory(theta, opts, "euler", 0.0, support, graph=False)


def hvp_operator(loss, u):
    """v -> H(u) v by double backward, reusing one graph of grad L."""
    u = u.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(loss(u), u, create_graph=True)

    def hvp(v):
        (hv,) = torch.autograd.grad(g, u, grad_outputs=v, retain_graph=True)
        return hv

    return hvp


def conjugate_gradient(apply_a, b, iters):
    """Exactly iters CG iterations from x = 0, stopping only on a zero residual."""
    x = torch.zeros_like(b)
    r = b.clone()
    p = r.clone()
    rr = torch.dot(r, r)
    for _ in range(iters):
        if rr == 0:
            break
        ap = apply_a(p)
        alpha = rr / torch.dot(p, ap)
        x = x + alpha * p
        r = r - alpha * ap
        rr_new = torch.dot(r, r)
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def grad_imaml(theta, support, query, opts):
    """((1 + damping) I + H(u*)/lambda)^{-1} grad L(u*; query) by K CG steps."""
    lam = opts.imaml_lambda
    u = trajectory(theta, opts, "euler", lam, support, graph=False)
    hvp = hvp_operator(support, u)

    def apply_a(v):
        return (1.0 + opts.cg_damping) * v + hvp(v) / lam

    return conjugate_gradient(apply_a, loss_grad(query, u), opts.cg_steps)


METHOD_FUNCS = {
    "amaml": grad_amaml,
    "maml": grad_maml,
    "maml1": grad_maml,
    "fomaml": grad_fomaml,
    "reptile": grad_reptile,
    "imaml": grad_imaml,
}


# ---------------------------------------------------------- command line


def build_parser():
    # Every option defaults to None so that check_options can tell an
    # explicit flag from an absent one; DEFAULTS fills the rest in.
    p = argparse.ArgumentParser(
        prog="metagrad_ref.py",
        description="PyTorch reference for `amaml metagrad` (exact gradients "
                    "of the discretized inner map).")
    p.add_argument("--arch", required=True, help="widths, e.g. 2-32-32-1")
    p.add_argument("--act", required=True, choices=ACTS)
    p.add_argument("--loss", choices=LOSSES)
    p.add_argument("--params", required=True, help="theta, flat layout")
    p.add_argument("--support", required=True, help="support set CSV")
    p.add_argument("--query", required=True, help="query set CSV")
    p.add_argument("--method", required=True, choices=METHODS)
    p.add_argument("--solver", choices=tuple(TABLEAUX))
    p.add_argument("--adjoint", choices=("continuous", "discrete"))
    p.add_argument("--steps", type=int)
    p.add_argument("--inner-lr", type=float)
    p.add_argument("--prox", type=float)
    p.add_argument("--cg-steps", type=int)
    p.add_argument("--cg-damping", type=float)
    p.add_argument("--imaml-lambda", type=float)
    p.add_argument("--out", required=True, help="where the gradient goes")
    return p


def combo_error(args):
    """Why these flags cannot be honoured, or None."""
    m = args.method
    if args.adjoint == "continuous" or (m == "amaml" and args.adjoint is None):
        return ("only the discrete adjoint is an exact gradient of the discretized map; "
                "pass --adjoint discrete")
    if m != "amaml" and args.solver not in (None, "euler"):
        return f"--method {m} steps with Euler; --solver {args.solver} needs --method amaml"
    if m != "amaml" and args.prox not in (None, 0.0):
        what = "--imaml-lambda" if m == "imaml" else "--method amaml"
        return f"--method {m} has no prox term (--prox {args.prox:g}); use {what}"
    if m == "maml1" and args.steps not in (None, 1):
        return f"--method maml1 takes one inner step; --steps {args.steps} needs --method maml"
    imaml_only = (args.cg_steps, args.cg_damping, args.imaml_lambda)
    if m != "imaml" and any(v is not None for v in imaml_only):
        return "--cg-steps, --cg-damping and --imaml-lambda apply only to --method imaml"
    return None


def range_error(args):
    """Which value is out of range, or None."""
    if args.steps is not None and args.steps < 0:
        return f"--steps {args.steps}: must be >= 0"
    checks = [("--inner-lr", args.inner_lr, lambda v: v > 0),
              ("--prox", args.prox, lambda v: v >= 0),
              ("--cg-steps", args.cg_steps, lambda v: v >= 0),
              ("--cg-damping", args.cg_damping, lambda v: v >= 0),
              ("--imaml-lambda", args.imaml_lambda, lambda v: v > 0)]
    for flag, v, ok in checks:
        if v is not None and not (math.isfinite(v) and ok(v)):
            return f"{flag} {v:g}: out of range"
    return None


def resolve(parser, argv):
    """Parsed, checked options with the defaults of `amaml metagrad` filled in."""
    args = parser.parse_args(argv)
    widths = parse_arch(args.arch)
    if widths is None:
        parser.error(f"--arch {args.arch}: want positive widths like 2-32-32-1")
    problem = combo_error(args) or range_error(args)
    if problem:
        parser.error(problem)
    for key, value in DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.method == "maml1":
        args.steps = 1
    args.widths = widths
    return args


def run(argv):
    """One metagrad computation, as `amaml metagrad` would do it."""
    args = resolve(build_parser(), argv)
    theta = read_theta(args.params, args.widths)
    support = make_loss(args.widths, args.act, args.loss,
                        *read_data(args.support, args.widths, args.loss))
    query = make_loss(args.widths, args.act, args.loss,
                      *read_data(args.query, args.widths, args.loss))
    grad = METHOD_FUNCS[args.method](theta, support, query, args)
    write_vector(args.out, grad)


def run_batch(path):
    """Runs every argument line of path; returns the number that failed."""
    failed = 0
    with open(path, encoding="ascii") as f:
        lines = f.read().splitlines()
    for lineno, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            run(shlex.split(line))
        except InputError as e:
            print(f"metagrad_ref.py: {path}:{lineno}: {e}", file=sys.stderr)
            failed += 1
        except SystemExit as e:  # argparse has already said why
            if e.code:
                print(f"metagrad_ref.py: {path}:{lineno}: bad arguments", file=sys.stderr)
                failed += 1
    return failed


def main(argv):
    torch.set_num_threads(1)  # one thread: the same reduction order on every run
    try:
        if len(argv) == 2 and argv[0] == "--batch":
            return 1 if run_batch(argv[1]) else 0
        run(argv)
    except (InputError, OSError) as e:
        print(f"metagrad_ref.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
