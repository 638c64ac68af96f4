/*
 * test_meta.c - the meta-gradients: the discrete adjoint against central
 * differences of the whole map J(theta); MAML against an independent
 * forward-mode (tangent) propagation; the continuous adjoint converging to
 * the discrete gradient at the backward scheme's order; checkpointing bit
 * for bit; iMAML against a dense solve; the baselines' definitions; the
 * cost accounting; divergence and bad configurations.
 */
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NS 8  /* support samples */
#define NQ 10 /* query samples */

/* A tiny regression task: 1-5-1 tanh (16 parameters) on a sine. */
struct fixture {
    struct amaml_mlp *mlp;
    struct amaml_objective obj;
    size_t P;
    double theta[64];
    double xs[NS], ys[NS], xq[NQ], yq[NQ];
    struct amaml_batch s, q;
};

static void fixture_init(struct fixture *f, const char *arch, uint64_t seed)
{
    struct amaml_rng rng;

    f->mlp = amaml_mlp_parse(arch, "tanh", AMAML_MSE);
    f->obj = amaml_mlp_objective(f->mlp);
    f->P = amaml_mlp_nparam(f->mlp);
    amaml_rng_seed(&rng, seed);
    amaml_mlp_init(f->mlp, &rng, f->theta);
    for (int i = 0; i < NS; i++) {
        f->xs[i] = 4 * amaml_rng_uniform(&rng) - 2;
        f->ys[i] = sin(2 * f->xs[i]);
    }
    for (int i = 0; i < NQ; i++) {
        f->xq[i] = 4 * amaml_rng_uniform(&rng) - 2;
        f->yq[i] = sin(2 * f->xq[i]);
    }
    f->s = (struct amaml_batch){NS, f->xs, f->ys};
    f->q = (struct amaml_batch){NQ, f->xq, f->yq};
}

static void config(struct amaml_meta_config *c, const char *method, const char *solver,
                   int discrete, size_t N, double h, double beta)
{
    amaml_meta_config_default(c);
    c->method = method;
    c->solver = solver;
    c->adjoint = discrete ? AMAML_ADJOINT_DISCRETE : AMAML_ADJOINT_CONTINUOUS;
    c->steps = N;
    c->inner_lr = h;
    c->prox = beta;
}

/* Runs one meta-gradient; returns the status. */
static int metagrad(struct fixture *f, const struct amaml_meta_config *c, const double *theta,
                    double *grad, struct amaml_meta_result *r)
{
    struct amaml_meta *mg = amaml_meta_create(c, f->P);
    struct amaml_meta_result tmp;
    int rc;

    if (!mg)
        return AMAML_EINVAL;
    rc = amaml_meta_grad(mg, &f->obj, theta, &f->s, &f->q, grad, r ? r : &tmp);
    amaml_meta_free(mg);
    return rc;
}

/* ------------------------------------------------ discrete vs FD */

/* Central differences of J, coordinate by coordinate. J is a smooth map of
 * theta with |J'''| of order 1 here; with step 1e-5 the truncation error is
 * ~1e-11 and rounding ~1e-16/1e-5 = 1e-11, so 1e-7 relative is safe. */
static void test_discrete_fd(void)
{
    const char *schemes[] = {"euler", "heun", "rk4", "rk38"};
    struct fixture f;

    fixture_init(&f, "1-5-1", 1);
    for (int si = 0; si < 4; si++) {
        for (int bi = 0; bi < 2; bi++) {
            struct amaml_meta_config c;
            double g[64], fd[64], th[64], eps = 1e-5;
            struct amaml_meta_result r;
            char what[96];
            int ok = 1;

            config(&c, "amaml", schemes[si], 1, 6, 0.2, bi ? 1.0 : 0.0);
            ok &= metagrad(&f, &c, f.theta, g, &r) == AMAML_OK;
            memcpy(th, f.theta, sizeof th);
            for (size_t p = 0; p < f.P && ok; p++) {
                double jp, jm, tmp[64];

                th[p] = f.theta[p] + eps;
                ok &= metagrad(&f, &c, th, tmp, &r) == AMAML_OK;
                jp = r.loss;
                th[p] = f.theta[p] - eps;
                ok &= metagrad(&f, &c, th, tmp, &r) == AMAML_OK;
                jm = r.loss;
                th[p] = f.theta[p];
                fd[p] = (jp - jm) / (2 * eps);
            }
            snprintf(what, sizeof what, "discrete adjoint %s beta %d vs central differences",
                     schemes[si], bi);
            check_true(what, ok);
            check_below(what, check_rel_err(g, fd, f.P, 1e-8), 1e-7, "FD error, see above");
        }
    }
    amaml_mlp_free(f.mlp);
}

/* ------------------------------------------- MAML vs forward mode */

/* dJ/dtheta_i by propagating the tangent du_k/dtheta_i forward through the
 * gradient steps, du_{k+1} = du_k - h H(u_k) du_k: forward mode, sharing
 * no code with the reverse sweep of the library. */
static void maml_forward_mode(struct fixture *f, size_t N, double h, double *grad)
{
    size_t P = f->P;
    double u[64], g[64], du[64], hdu[64], gq[64], traj[21][64];

    memcpy(u, f->theta, sizeof u);
    for (size_t k = 0; k < N; k++) {
        memcpy(traj[k], u, sizeof u);
        amaml_mlp_grad(f->mlp, u, &f->s, NULL, g);
        for (size_t p = 0; p < P; p++)
            u[p] -= h * g[p];
    }
    amaml_mlp_grad(f->mlp, u, &f->q, NULL, gq);
    for (size_t i = 0; i < P; i++) {
        memset(du, 0, sizeof du);
        du[i] = 1;
        for (size_t k = 0; k < N; k++) {
            amaml_mlp_hvp(f->mlp, traj[k], &f->s, du, hdu, NULL);
            for (size_t p = 0; p < P; p++)
                du[p] -= h * hdu[p];
        }
        grad[i] = 0;
        for (size_t p = 0; p < P; p++)
            grad[i] += gq[p] * du[p];
    }
}

static void test_maml_forward_mode(void)
{
    struct fixture f;
    struct amaml_meta_config c;
    double g[64], want[64];

    fixture_init(&f, "1-5-1", 2);
    config(&c, "maml", "euler", 1, 20, 0.1, 0);
    check_ok("maml", metagrad(&f, &c, f.theta, g, NULL));
    maml_forward_mode(&f, 20, 0.1, want);
    /* Same arithmetic in another order over 20 steps: rounding only. */
    check_below("MAML reverse vs forward mode", check_rel_err(g, want, f.P, 1e-12), 1e-12,
                "rounding of 20 chained steps");
    amaml_mlp_free(f.mlp);
}

/* -------------------------------------- continuous adjoint order */

/* With T fixed, the continuous adjoint differs from the exact gradient of
 * the discrete map by O(h^p) for a backward scheme of order p (the forward
 * rk4's own O(h^4) is smaller). The observed order over the last halving,
 * h = 1/40 to 1/80 on T = 1, must be within 0.2 of p, as for the forward
 * schemes; the first halvings are printed to show the approach. */
static void test_continuous_order(void)
{
    const char *back[] = {"euler", "heun", "rk4"};
    const int order[] = {1, 2, 4};
    struct fixture f;

    fixture_init(&f, "1-5-1", 3);
    for (int b = 0; b < 3; b++) {
        double err[4];
        char what[96];

        for (int j = 0; j < 4; j++) {
            struct amaml_meta_config c;
            size_t N = (size_t)(10 << j);
            double gd[64], gc[64];

            config(&c, "amaml", "rk4", 1, N, 1.0 / (double)N, 1.0);
            metagrad(&f, &c, f.theta, gd, NULL);
            c.adjoint = AMAML_ADJOINT_CONTINUOUS;
            c.backward = back[b];
            metagrad(&f, &c, f.theta, gc, NULL);
            err[j] = check_rel_err(gc, gd, f.P, 1e-12);
        }
        for (int j = 0; j < 3; j++)
            check_note("%s backward: h = 1/%d, error %.3e -> %.3e, observed order %.2f",
                       back[b], 10 << j, err[j], err[j + 1], log2(err[j] / err[j + 1]));
        snprintf(what, sizeof what, "continuous adjoint, %s backward: observed order",
                 back[b]);
        check_close(what, log2(err[2] / err[3]), order[b], 0, 0.2, "as for the schemes");
    }
    amaml_mlp_free(f.mlp);
}

/* --------------------------------------------- checkpointing */

static void test_checkpointing(void)
{
    const char *modes[] = {"every:1", "every:4", "every:17", "every:100", "binomial:1",
                           "binomial:2", "binomial:5", "binomial:40"};
    const char *solvers[] = {"rk4", "heun", "dopri5"};
    struct fixture f;

    fixture_init(&f, "1-5-1", 4);
    for (int s = 0; s < 3; s++) {
        for (int disc = 0; disc < 2; disc++) {
            struct amaml_meta_config c;
            double ref[64];

            config(&c, "amaml", solvers[s], disc, 17, 0.05, 1.0);
            if (s == 2) /* dopri5 on [0, 0.85] takes its own steps */
                c.rtol = 1e-10, c.atol = 1e-12;
            c.backward = "rk4";
            metagrad(&f, &c, f.theta, ref, NULL);
            for (int m = 0; m < 8; m++) {
                double g[64];
                char what[96];

                amaml_checkpoint_parse(modes[m], &c.checkpoint, &c.checkpoint_arg);
                snprintf(what, sizeof what, "%s %s adjoint, %s: bit-identical to all",
                         solvers[s], disc ? "discrete" : "continuous", modes[m]);
                check_true(what, metagrad(&f, &c, f.theta, g, NULL) == AMAML_OK &&
                                     memcmp(g, ref, f.P * sizeof *g) == 0);
            }
        }
    }
    amaml_mlp_free(f.mlp);
}

/* Bytes held for states: all grows with N, binomial does not. */
static void test_checkpoint_memory(void)
{
    struct fixture f;
    struct amaml_meta_config c;
    struct amaml_meta_result r50, r500, a50, a500;
    double g[64];

    fixture_init(&f, "1-5-1", 5);
    config(&c, "amaml", "rk4", 0, 50, 0.01, 1.0);
    metagrad(&f, &c, f.theta, g, &a50);
    c.steps = 500;
    metagrad(&f, &c, f.theta, g, &a500);
    amaml_checkpoint_parse("binomial:4", &c.checkpoint, &c.checkpoint_arg);
    metagrad(&f, &c, f.theta, g, &r500);
    c.steps = 50;
    metagrad(&f, &c, f.theta, g, &r50);
    check_true("all: bytes grow with N", a500.state_bytes > 9 * a50.state_bytes);
    check_true("binomial: bytes do not grow with N", r500.state_bytes == r50.state_bytes);
    check_true("binomial:4 holds 6 states", r50.state_bytes == 6 * f.P * sizeof(double));
    check_note("state bytes: all %zu (N=50) %zu (N=500); binomial:4 %zu (N=50) %zu (N=500), "
               "forward steps %zu at N=500", a50.state_bytes, a500.state_bytes,
               r50.state_bytes, r500.state_bytes, r500.steps);
    amaml_mlp_free(f.mlp);
}

/* ---------------------------------------------------- iMAML */

/* Solves the dense system A x = b by Gaussian elimination with pivoting. */
static void dense_solve(size_t n, double *A, double *b, double *x)
{
    for (size_t k = 0; k < n; k++) {
        size_t piv = k;

        for (size_t i = k + 1; i < n; i++)
            piv = fabs(A[i * n + k]) > fabs(A[piv * n + k]) ? i : piv;
        for (size_t j = 0; j < n; j++) {
            double t = A[k * n + j];

            A[k * n + j] = A[piv * n + j], A[piv * n + j] = t;
        }
        double t = b[k];
        b[k] = b[piv], b[piv] = t;
        for (size_t i = k + 1; i < n; i++) {
            double l = A[i * n + k] / A[k * n + k];

            for (size_t j = k; j < n; j++)
                A[i * n + j] -= l * A[k * n + j];
            b[i] -= l * b[k];
        }
    }
    for (size_t k = n; k-- > 0;) {
        x[k] = b[k];
        for (size_t j = k + 1; j < n; j++)
            x[k] -= A[k * n + j] * x[j];
        x[k] /= A[k * n + k];
    }
}

static void test_imaml_dense(void)
{
    struct fixture f;
    struct amaml_meta_config c;
    double u[64], g[64], A[64 * 64], b[64], x[64], e[64], hv[64], lambda = 2, damp = 0.1;
    double prev = INFINITY;
    size_t P;
    int falls = 1;

    fixture_init(&f, "1-3-1", 6); /* 10 parameters: CG is exact in 10 steps */
    P = f.P;

    /* u* by 30 gradient steps on L + lambda/2 |u - theta|^2, then the dense
     * ((1 + damp) I + H/lambda) x = grad L(u*; query). */
    memcpy(u, f.theta, sizeof u);
    for (int k = 0; k < 30; k++) {
        amaml_mlp_grad(f.mlp, u, &f.s, NULL, g);
        for (size_t p = 0; p < P; p++)
            u[p] += 0.1 * (-g[p] - lambda * (u[p] - f.theta[p]));
    }
    for (size_t j = 0; j < P; j++) {
        memset(e, 0, sizeof e);
        e[j] = 1;
        amaml_mlp_hvp(f.mlp, u, &f.s, e, hv, NULL);
        for (size_t i = 0; i < P; i++)
            A[i * P + j] = (i == j) * (1 + damp) + hv[i] / lambda;
    }
    amaml_mlp_grad(f.mlp, u, &f.q, NULL, b);
    dense_solve(P, A, b, x);

    config(&c, "imaml", "euler", 0, 30, 0.1, 0);
    c.imaml_lambda = lambda;
    c.cg_damping = damp;
    for (size_t K = 1; K <= P; K++) {
        double err;

        c.cg_steps = K;
        metagrad(&f, &c, f.theta, g, NULL);
        err = check_rel_err(g, x, P, 1e-12);
        falls &= err <= prev * 1.0001 || err < 1e-10;
        prev = err;
        if (K == 1 || K == 3 || K == P)
            check_note("iMAML, %zu CG steps: error against the dense solve %.3e", K, err);
    }
    check_true("iMAML's error falls as CG steps grow", falls);
    /* CG on an SPD 10x10 system converges in 10 steps up to rounding,
     * amplified by the condition number (here < 1e3). */
    check_below("iMAML with P CG steps equals the dense solve", prev, 1e-9, "rounding");
    amaml_mlp_free(f.mlp);
}

/* ------------------------------------- the first-order baselines */

static void test_first_order(void)
{
    struct fixture f;
    struct amaml_meta_config c;
    double u[64], g[64], want[64], out[64];

    fixture_init(&f, "1-5-1", 7);
    memcpy(u, f.theta, sizeof u);
    for (int k = 0; k < 12; k++) {
        amaml_mlp_grad(f.mlp, u, &f.s, NULL, g);
        for (size_t p = 0; p < f.P; p++)
            u[p] += 0.1 * -g[p];
    }
    config(&c, "fomaml", "euler", 0, 12, 0.1, 0);
    metagrad(&f, &c, f.theta, out, NULL);
    amaml_mlp_grad(f.mlp, u, &f.q, NULL, want);
    /* The same operations in the same order: identical to the last bit is
     * expected, 1e-15 allows a compiler's contraction. */
    check_below("fomaml is grad L(u_N; query)", check_rel_err(out, want, f.P, 1e-12), 1e-15,
                "same operations");
    c.method = "reptile";
    metagrad(&f, &c, f.theta, out, NULL);
    for (size_t p = 0; p < f.P; p++)
        want[p] = f.theta[p] - u[p];
    check_below("reptile is theta - u_N", check_rel_err(out, want, f.P, 1e-12), 1e-15,
                "same operations");
    amaml_mlp_free(f.mlp);
}

/* --------------------------------------------------------- cost */

static void test_cost(void)
{
    struct fixture f;
    struct amaml_meta_config c;
    struct amaml_meta_result r;
    double g[64];

    fixture_init(&f, "1-5-1", 8);
    /* rk4 forward: 4 gradients a step, + query + f(u_N); Euler backward:
     * one HVP a step. */
    config(&c, "amaml", "rk4", 0, 25, 0.01, 1.0);
    metagrad(&f, &c, f.theta, g, &r);
    check_true("amaml rk4/euler: 4N + 2 gradients", r.grads == 4 * 25 + 2);
    check_true("amaml rk4/euler: N HVPs", r.hvps == 25);
    /* rk4 backward: + f(u_k) each step for the interpolant (f(u_N) is the
     * one computed for dJ/dT) */
    c.backward = "rk4";
    metagrad(&f, &c, f.theta, g, &r);
    check_true("amaml rk4/rk4: 5N + 2 gradients", r.grads == 5 * 25 + 2);
    check_true("amaml rk4/rk4: 4N HVPs", r.hvps == 4 * 25);
    /* discrete rk4: the 3 stage points rebuilt from u_k, 4 HVPs a step */
    c.adjoint = AMAML_ADJOINT_DISCRETE;
    metagrad(&f, &c, f.theta, g, &r);
    check_true("amaml rk4 discrete: 7N + 2 gradients", r.grads == 7 * 25 + 2);
    check_true("amaml rk4 discrete: 4N HVPs", r.hvps == 4 * 25);
    config(&c, "maml", "euler", 1, 25, 0.01, 0);
    metagrad(&f, &c, f.theta, g, &r);
    check_true("maml: N + 2 gradients, N HVPs", r.grads == 25 + 2 && r.hvps == 25);
    check_true("maml stores N + 1 states (+ work)", r.state_bytes == 27 * f.P * sizeof(double));
    config(&c, "imaml", "euler", 0, 25, 0.01, 0);
    metagrad(&f, &c, f.theta, g, &r);
    check_true("imaml: N + 1 gradients, 5 HVPs, no states",
               r.grads == 26 && r.hvps == 5 && r.state_bytes == 0);
    amaml_mlp_free(f.mlp);
}

/* ------------------------------------------------ horizon dJ/dT */

/* dJ/dT of the exact flow, against a central difference of J in T with
 * the fine-grid rk4 solution standing in for the flow (its O(h^4) error is
 * far below the difference's). */
static void test_horizon(void)
{
    struct fixture f;
    struct amaml_meta_config c;
    struct amaml_meta_result r, rp, rm;
    double g[64], T = 1.0, dT = 1e-3;
    size_t N = 1000;

    fixture_init(&f, "1-5-1", 9);
    config(&c, "amaml", "rk4", 0, N, T / (double)N, 0.5);
    metagrad(&f, &c, f.theta, g, &r);
    c.inner_lr = (T + dT) / (double)N;
    metagrad(&f, &c, f.theta, g, &rp);
    c.inner_lr = (T - dT) / (double)N;
    metagrad(&f, &c, f.theta, g, &rm);
    /* The difference errs by dT^2 J'''/6 ~ 1e-7 relative. */
    check_close("dJ/dT against a difference in T", r.dJdT, (rp.loss - rm.loss) / (2 * dT),
                1e-5, 1e-9, "central difference in T");
    amaml_mlp_free(f.mlp);
}

/* ------------------------------------------- failures */

static void test_failures(void)
{
    struct fixture f;
    struct amaml_meta_config c;
    double g[64], before[64];
    enum amaml_checkpoint m;
    size_t arg;

    fixture_init(&f, "1-5-1", 10);
    for (int i = 0; i < NS; i++)
        f.ys[i] *= 1e3; /* large targets: gradient descent with h = 5 blows up */
    config(&c, "maml", "euler", 1, 200, 5.0, 0);
    memset(g, 0, sizeof g);
    memcpy(before, g, sizeof g);
    check_fails("divergence is reported", metagrad(&f, &c, f.theta, g, NULL),
                AMAML_ENONFINITE, "step");
    check_true("the output is untouched on failure", memcmp(g, before, sizeof g) == 0);

    config(&c, "sgd", "rk4", 0, 10, 0.1, 0);
    check_true("unknown method rejected", amaml_meta_create(&c, 16) == NULL);
    check_true("message names the method", strstr(amaml_errmsg(), "'sgd'") != NULL);
    config(&c, "amaml", "rk5", 0, 10, 0.1, 0);
    check_true("unknown scheme rejected", amaml_meta_create(&c, 16) == NULL);
    config(&c, "amaml", "rk4", 0, 10, 0.1, 0);
    c.backward = "dopri5";
    check_true("adaptive backward rejected", amaml_meta_create(&c, 16) == NULL);
    config(&c, "amaml", "rk4", 0, 0, 0.1, 0);
    check_true("zero steps rejected", amaml_meta_create(&c, 16) == NULL);
    config(&c, "amaml", "rk4", 0, 10, -0.1, 0);
    check_true("negative step rejected", amaml_meta_create(&c, 16) == NULL);
    config(&c, "amaml", "rk4", 0, 10, 0.1, -1);
    check_true("negative prox rejected", amaml_meta_create(&c, 16) == NULL);
    check_fails("checkpoint 'every:0'", amaml_checkpoint_parse("every:0", &m, &arg),
                AMAML_EINVAL, "every:0");
    check_fails("checkpoint 'some'", amaml_checkpoint_parse("some", &m, &arg), AMAML_EINVAL,
                "some");
    check_fails("checkpoint 'binomial:3x'", amaml_checkpoint_parse("binomial:3x", &m, &arg),
                AMAML_EINVAL, NULL);
    check_ok("checkpoint 'binomial:3'", amaml_checkpoint_parse("binomial:3", &m, &arg));
    check_true("binomial:3 parsed", m == AMAML_CKPT_BINOMIAL && arg == 3);
    amaml_mlp_free(f.mlp);
}

void test_meta(void)
{
    test_discrete_fd();
    test_maml_forward_mode();
    test_continuous_order();
    test_checkpointing();
    test_checkpoint_memory();
    test_imaml_dense();
    test_first_order();
    test_cost();
    test_horizon();
    test_failures();
}
