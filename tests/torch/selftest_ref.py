#!/usr/bin/python3
"""selftest_ref.py - checks metagrad_ref.py against mathematics it does not share.

Before the reference is trusted to judge the C library, its gradients are
compared with central finite differences of the discretized J, with the
Euler discrete-adjoint recurrence of method.md written out by hand, with the
closed form of one-step MAML, and (for iMAML) with a dense solve against the
full Hessian. Prints one line per check and "N passed, N failed"; exits 1 on
any failure.
"""

import math
import sys
from types import SimpleNamespace

import torch
import torch.nn.functional as F

import metagrad_ref as ref

results = []  # (passed, line)


def check(name, err, tol, why):
    """Records err <= tol (NaN fails); why is the reason for tol."""
    ok = err <= tol
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'} {name}: err={err:.2e} (tol {tol:.0e}: {why})")


def check_far(name, dist, least, why):
    """Records dist >= least (NaN fails): two things that must not coincide."""
    ok = dist >= least
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'} {name}: dist={dist:.2e} (at least {least:.0e}: {why})")


def rel_err(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def random_problem(widths, act, loss, seed, n_support=5, n_query=12):
    """theta and the support and query losses of a random task."""
    gen = torch.Generator().manual_seed(seed)

    def data(n):
        x = 4 * torch.rand(n, widths[0], generator=gen, dtype=torch.float64) - 2
        if loss == "mse":
            y = torch.sin(x @ torch.randn(widths[0], widths[-1], generator=gen,
                                          dtype=torch.float64))
        else:
            y = torch.randint(widths[-1], (n,), generator=gen)
        return x, y

    theta = []
    for nout, nin in ref.layer_shapes(widths):
        bound = nin ** -0.5
        theta.append((2 * torch.rand(nout * (nin + 1), generator=gen,
                                     dtype=torch.float64) - 1) * bound)
    support = ref.make_loss(widths, act, loss, *data(n_support))
    query = ref.make_loss(widths, act, loss, *data(n_query))
    return torch.cat(theta), support, query


def options(steps, h, solver="euler", prox=0.0, cg_steps=5, cg_damping=0.0, lam=1.0):
    return SimpleNamespace(steps=steps, inner_lr=h, solver=solver, prox=prox,
                           cg_steps=cg_steps, cg_damping=cg_damping, imaml_lambda=lam)


def objective_value(theta, support, query, opts):
    """J(theta) of the discretized map, without any graph."""
    u = ref.trajectory(theta, opts, opts.solver, opts.prox, support, graph=False)
    return ref.meta_objective(theta, u, opts.prox, query).item()


def check_losses():
    """The two losses against torch's own definitions of them."""
    gen = torch.Generator().manual_seed(11)
    z = torch.randn(7, 3, generator=gen, dtype=torch.float64)
    y = torch.randint(3, (7,), generator=gen)
    t = torch.randn(7, 3, generator=gen, dtype=torch.float64)
    ident = torch.cat([torch.eye(3, dtype=torch.float64).view(-1),
                       torch.zeros(3, dtype=torch.float64)])
    ce = ref.make_loss([3, 3], "tanh", "ce", z, y)(ident)
    mse = ref.make_loss([3, 3], "tanh", "mse", z, t)(ident)
    err = max(abs(ce - F.cross_entropy(z, y)).item(),
              abs(mse - 0.5 * F.mse_loss(z, t)).item())
    check("losses match torch.nn.functional", err, 1e-15, "a few roundings")


def check_scheme_orders():
    """Each tableau shows its order on du/dt = -sin u (the flow of -sum cos u).

    The gradient checks cannot see a wrong tableau, since any scheme's map has
    a gradient; a wrong coefficient breaks the order, and rk4 and rk38 must
    differ, since on a nonlinear flow their error constants do.
    """
    u0 = torch.tensor([1.0, 2.0, 2.8], dtype=torch.float64)
    exact = 2 * torch.atan(torch.tan(u0 / 2) * math.exp(-1.0))  # u(1)

    def final(scheme, n):
        return ref.trajectory(u0, options(n, 1.0 / n), scheme, 0.0,
                              lambda u: -torch.sum(torch.cos(u)), graph=False)

    for scheme, order in (("euler", 1), ("heun", 2), ("rk4", 4), ("rk38", 4)):
        e1 = (final(scheme, 20) - exact).abs().max()
        e2 = (final(scheme, 40) - exact).abs().max()
        observed = torch.log2(e1 / e2).item()
        check(f"{scheme} has order {order}", abs(observed - order), 0.1,
              "h = 1/20 and 1/40 are in the asymptotic range")
    check_far("rk4 and rk38 are different schemes",
              rel_err(final("rk4", 5), final("rk38", 5)), 1e-8,
              "at h = 1/5 their h^5 error terms differ by ~1e-6")


def check_finite_differences():
    """dJ . d against central differences of J along a random direction d."""
    cases = [([2, 8, 8, 1], "tanh", "mse", 8, 0.1),
             ([3, 6, 1], "sigmoid", "mse", 5, 0.1),
             ([3, 6, 1], "relu", "mse", 4, 0.05),
             ([3, 8, 3], "softplus", "ce", 6, 0.1)]
    for seed, (widths, act, loss, steps, h) in enumerate(cases, 1):
        theta, support, query = random_problem(widths, act, loss, seed)
        d = torch.randn(theta.numel(), generator=torch.Generator().manual_seed(seed),
                        dtype=torch.float64)
        for solver in ref.TABLEAUX:
            for beta in (0.0, 1.0):
                opts = options(steps, h, solver, beta)
                g = ref.grad_amaml(theta, support, query, opts)
                eps = 1e-5
                fd = (objective_value(theta + eps * d, support, query, opts)
                      - objective_value(theta - eps * d, support, query, opts)) / (2 * eps)
                exact = torch.dot(g, d).item()
                name = f"fd {'-'.join(map(str, widths))} {act} {loss} {solver} beta={beta:g}"
                check(name, abs(fd - exact) / abs(exact), 1e-7,
                      "eps^2 truncation and 1e-16/eps rounding at eps=1e-5")


def euler_adjoint(theta, support, query, steps, h, beta):
    """The discrete adjoint of Euler as method.md writes it, with explicit H v."""
    us = [theta]
    for _ in range(steps):
        u = us[-1]
        us.append(u - h * (ref.loss_grad(support, u) + beta * (u - theta)))
    a = ref.loss_grad(query, us[-1]) + beta * (us[-1] - theta)
    acc = -beta * (us[-1] - theta)
    for k in range(steps - 1, -1, -1):
        acc = acc + h * beta * a
        a = a - h * (ref.hvp_operator(support, us[k])(a) + beta * a)
    return a + acc


def check_euler_recurrence():
    theta, support, query = random_problem([2, 8, 8, 1], "tanh", "mse", 21)
    for beta in (0.0, 1.0):
        opts = options(12, 0.1, "euler", beta)
        method = ref.grad_amaml if beta else ref.grad_maml
        err = rel_err(method(theta, support, query, opts),
                      euler_adjoint(theta, support, query, 12, 0.1, beta))
        check(f"euler unrolled = adjoint recurrence, beta={beta:g}", err, 1e-12,
              "rounding of 12 steps, two orders of evaluation")


def check_maml1():
    """One step: (I - h H(theta)) grad L_q(theta - h grad L_s(theta))."""
    theta, support, query = random_problem([3, 8, 3], "tanh", "ce", 31)
    h = 0.1
    hess = torch.autograd.functional.hessian(support, theta)
    u1 = theta - h * ref.loss_grad(support, theta)
    want = ref.loss_grad(query, u1) - h * (hess @ ref.loss_grad(query, u1))
    err = rel_err(ref.grad_maml(theta, support, query, options(1, h)), want)
    check("maml1 = closed form with the dense Hessian", err, 1e-13, "a few roundings")


def check_first_order():
    """FOMAML and Reptile against plain gradient descent."""
    theta, support, query = random_problem([3, 6, 1], "softplus", "mse", 41)
    u = theta
    for _ in range(7):
        u = u - 0.1 * ref.loss_grad(support, u)
    opts = options(7, 0.1)
    err = max(rel_err(ref.grad_fomaml(theta, support, query, opts), ref.loss_grad(query, u)),
              rel_err(ref.grad_reptile(theta, support, query, opts), theta - u))
    check("fomaml and reptile = gradient descent", err, 1e-14, "the same operations")


def check_imaml():
    """CG run long converges to the dense solve; H v equals the dense Hessian times v."""
    theta, support, query = random_problem([2, 8, 8, 1], "tanh", "mse", 51)
    lam, damping = 2.0, 0.1
    opts = options(10, 0.1, lam=lam, cg_damping=damping, cg_steps=4 * theta.numel())
    u = ref.trajectory(theta, opts, "euler", lam, support, graph=False)
    hess = torch.autograd.functional.hessian(support, u)
    v = torch.randn(theta.numel(), generator=torch.Generator().manual_seed(5),
                    dtype=torch.float64)
    check("hvp = dense Hessian times v", rel_err(ref.hvp_operator(support, u)(v), hess @ v),
          1e-13, "one matrix product's rounding")
    a = (1 + damping) * torch.eye(theta.numel(), dtype=torch.float64) + hess / lam
    want = torch.linalg.solve(a, ref.loss_grad(query, u))
    err = rel_err(ref.grad_imaml(theta, support, query, opts), want)
    check("imaml with 4P CG steps = dense solve", err, 1e-10,
          "CG run far past convergence on a system of condition ~3")
    few = ref.grad_imaml(theta, support, query,
                         options(10, 0.1, lam=lam, cg_damping=damping, cg_steps=5))
    check_far("imaml with 5 CG steps is not the solve", rel_err(few, want), 1e-6,
              "the fixed iteration count is honoured, not run to convergence")


def main():
    torch.set_num_threads(1)
    check_losses()
    check_scheme_orders()
    check_finite_differences()
    check_euler_recurrence()
    check_maml1()
    check_first_order()
    check_imaml()
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
