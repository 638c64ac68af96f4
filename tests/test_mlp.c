/*
 * test_mlp.c - the MLP: layout, initialization, the forward pass against a
 * hand computation, gradient and Hessian-vector product against central
 * differences for every activation and both losses, Hessian symmetry, and
 * bad input.
 */
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Random data for an MLP: x uniform in [-1, 1], y normal (MSE) or a class. */
static void random_batch(const struct amaml_mlp *m, size_t n, struct amaml_rng *rng, double *x,
                         double *y)
{
    size_t din = amaml_mlp_width(m, 0), dout = amaml_mlp_width(m, amaml_mlp_nwidths(m) - 1);

    for (size_t i = 0; i < n * din; i++)
        x[i] = 2 * amaml_rng_uniform(rng) - 1;
    if (amaml_mlp_loss(m) == AMAML_MSE)
        for (size_t i = 0; i < n * dout; i++)
            y[i] = amaml_rng_normal(rng);
    else
        for (size_t i = 0; i < n; i++)
            y[i] = floor(amaml_rng_uniform(rng) * (double)dout);
}

static void test_layout(void)
{
    struct amaml_mlp *m = amaml_mlp_parse("2-32-32-1", "tanh", AMAML_MSE);
    char buf[64];

    check_true("2-32-32-1 parses", m != NULL);
    if (!m)
        return;
    /* (2+1)*32 + (32+1)*32 + (32+1)*1 */
    check_true("2-32-32-1 has 1185 parameters", amaml_mlp_nparam(m) == 1185);
    check_ok("arch string", amaml_mlp_arch_string(m, buf, sizeof buf));
    check_true("arch string round-trips", strcmp(buf, "2-32-32-1") == 0);
    check_fails("arch string into a short buffer", amaml_mlp_arch_string(m, buf, 5),
                AMAML_EINVAL, "too small");
    amaml_mlp_free(m);
}

/* A 2-2-1 tanh network computed by hand against the documented layout. */
static void test_forward_by_hand(void)
{
    struct amaml_mlp *m = amaml_mlp_parse("2-2-1", "tanh", AMAML_MSE);
    /* W0 = [[1, 2], [3, 4]], b0 = [0.1, 0.2], W1 = [[0.5, -1]], b1 = [0.3] */
    double theta[] = {1, 2, 3, 4, 0.1, 0.2, 0.5, -1, 0.3};
    double x[] = {0.1, -0.2, 0.3, 0.05}, out[2], want[2];

    for (int i = 0; i < 2; i++) {
        double h0 = tanh(1 * x[2 * i] + 2 * x[2 * i + 1] + 0.1);
        double h1 = tanh(3 * x[2 * i] + 4 * x[2 * i + 1] + 0.2);

        want[i] = 0.5 * h0 - 1 * h1 + 0.3;
    }
    check_ok("forward 2-2-1", amaml_mlp_forward(m, theta, x, 2, out));
    /* One tanh and a few products per output: rounding is a few ulps. */
    check_close("forward sample 1", out[0], want[0], 1e-14, 0, "a few roundings");
    check_close("forward sample 2", out[1], want[1], 1e-14, 0, "a few roundings");
    amaml_mlp_free(m);
}

static void test_init(void)
{
    struct amaml_mlp *m = amaml_mlp_parse("3-5-2", "relu", AMAML_MSE);
    size_t P = amaml_mlp_nparam(m);
    double a[32], b[32];
    struct amaml_rng r1, r2;
    int inside = 1;

    amaml_rng_seed(&r1, 7);
    amaml_rng_seed(&r2, 7);
    amaml_mlp_init(m, &r1, a);
    amaml_mlp_init(m, &r2, b);
    check_true("init is reproducible from the seed", memcmp(a, b, P * sizeof *a) == 0);
    for (size_t i = 0; i < 20; i++) /* layer 0: fan_in 3 */
        inside &= fabs(a[i]) <= 1 / sqrt(3.0);
    for (size_t i = 20; i < P; i++) /* layer 1: fan_in 5 */
        inside &= fabs(a[i]) <= 1 / sqrt(5.0);
    check_true("init within +-1/sqrt(fan_in)", inside);
    amaml_mlp_free(m);
}

/*
 * Central differences with step 6e-6 err by about h^2 |L'''| / 6 +
 * 1e-16 |L| / h, i.e. ~1e-10 relative for derivatives of order 1; 1e-6
 * leaves room for derivatives two orders of magnitude below the loss,
 * and is the acceptance bound. Symmetry holds to rounding of the
 * dot products of ~1e3 terms: 1e-12 relative.
 */
static void check_model(const char *arch, enum amaml_act act, enum amaml_loss loss,
                        uint64_t seed)
{
    struct amaml_mlp *m = amaml_mlp_parse(arch, amaml_act_name(act), loss);
    struct amaml_objective obj = amaml_mlp_objective(m);
    size_t P = amaml_mlp_nparam(m), n = 20;
    double *theta = malloc(P * sizeof *theta), *x = malloc(n * 8 * sizeof *x);
    double *y = malloc(n * 8 * sizeof *y);
    struct amaml_batch b = {n, x, y};
    struct amaml_check_result r;
    struct amaml_rng rng;
    char what[128];

    amaml_rng_seed(&rng, seed);
    amaml_mlp_init(m, &rng, theta);
    random_batch(m, n, &rng, x, y);
    snprintf(what, sizeof what, "%s %s %s", arch, amaml_act_name(act),
             loss == AMAML_MSE ? "mse" : "ce");
    if (check_ok(what, amaml_check_derivatives(&obj, theta, &b, 0, &rng, &r))) {
        char w2[160];

        snprintf(w2, sizeof w2, "%s gradient", what);
        check_below(w2, r.grad_err, 1e-6, "central differences, see above");
        snprintf(w2, sizeof w2, "%s Hessian-vector product", what);
        check_below(w2, r.hvp_err, 1e-6, "central differences, see above");
        snprintf(w2, sizeof w2, "%s symmetry u.(Hv) = v.(Hu)", what);
        check_below(w2, r.symmetry_err, 1e-12, "rounding of the dot products");
        check_note("%-28s grad %.2e  hvp %.2e  sym %.2e", what, r.grad_err, r.hvp_err,
                   r.symmetry_err);
    }
    free(theta);
    free(x);
    free(y);
    amaml_mlp_free(m);
}

static void test_derivatives(void)
{
    for (int a = AMAML_TANH; a <= AMAML_SOFTPLUS; a++) {
        check_model("2-16-16-1", (enum amaml_act)a, AMAML_MSE, 11 + (uint64_t)a);
        check_model("3-8-8-4", (enum amaml_act)a, AMAML_CE, 21 + (uint64_t)a);
    }
    check_model("2-32-32-1", AMAML_TANH, AMAML_MSE, 1);
    check_model("3-128-128-2", AMAML_TANH, AMAML_MSE, 2); /* large layers: the BLAS path */
    check_model("2-4-3", AMAML_SIGMOID, AMAML_MSE, 5); /* two outputs, one hidden layer */
    check_model("4-3", AMAML_TANH, AMAML_CE, 6);       /* no hidden layer */
}

/* The gradient that the HVP returns equals the plain gradient, and a clone
 * computes the same numbers bit for bit. */
static void test_hvp_grad_and_clone(void)
{
    struct amaml_mlp *m = amaml_mlp_parse("2-6-6-1", "softplus", AMAML_MSE);
    struct amaml_mlp *c = amaml_mlp_clone(m);
    size_t P = amaml_mlp_nparam(m), n = 9;
    double theta[256], v[256], g1[256], g2[256], h1[256], h2[256], x[18], y[9];
    struct amaml_batch b = {n, x, y};
    struct amaml_rng rng;

    amaml_rng_seed(&rng, 3);
    amaml_mlp_init(m, &rng, theta);
    amaml_mlp_init(m, &rng, v);
    random_batch(m, n, &rng, x, y);
    check_ok("grad", amaml_mlp_grad(m, theta, &b, NULL, g1));
    check_ok("hvp with grad", amaml_mlp_hvp(c, theta, &b, v, h1, g2));
    check_true("HVP's gradient equals the gradient", memcmp(g1, g2, P * sizeof *g1) == 0);
    check_ok("hvp without grad", amaml_mlp_hvp(m, theta, &b, v, h2, NULL));
    check_true("clone gives identical HVP", memcmp(h1, h2, P * sizeof *h1) == 0);
    amaml_mlp_free(m);
    amaml_mlp_free(c);
}

static void test_bad_input(void)
{
    struct amaml_mlp *m;
    double theta[64] = {0}, x[3] = {0}, y[1] = {3};
    struct amaml_batch b = {1, x, y};

    check_true("width 0 rejected", amaml_mlp_parse("2-0-1", "tanh", AMAML_MSE) == NULL);
    check_true("message names the width", strstr(amaml_errmsg(), "width 2") != NULL);
    check_true("empty width rejected", amaml_mlp_parse("2--1", "tanh", AMAML_MSE) == NULL);
    check_true("trailing dash rejected", amaml_mlp_parse("2-4-", "tanh", AMAML_MSE) == NULL);
    check_true("letters rejected", amaml_mlp_parse("2-x-1", "tanh", AMAML_MSE) == NULL);
    check_true("one width rejected", amaml_mlp_parse("5", "tanh", AMAML_MSE) == NULL);
    check_true("huge width rejected",
               amaml_mlp_parse("2-99999999999-1", "tanh", AMAML_MSE) == NULL);
    check_true("unknown activation rejected", amaml_mlp_parse("2-4-1", "gelu", AMAML_MSE) == NULL);
    check_true("message names the activation", strstr(amaml_errmsg(), "gelu") != NULL);
    check_true("CE with one output rejected", amaml_mlp_parse("2-4-1", "tanh", AMAML_CE) == NULL);

    m = amaml_mlp_parse("3-3", "tanh", AMAML_CE);
    check_fails("class label out of range", amaml_mlp_grad(m, theta, &b, NULL, theta),
                AMAML_EINVAL, "label 3");
    b.n = 0;
    check_fails("empty batch", amaml_mlp_grad(m, theta, &b, NULL, theta), AMAML_EINVAL, NULL);
    amaml_mlp_free(m);
    amaml_mlp_free(NULL); /* free accepts NULL */
}

void act_tanh(size_t m, const double *z, double *a, double *d1, double *d2);
void act_sigmoid(size_t m, const double *z, double *a, double *d1, double *d2);
void act_softplus(size_t m, const double *z, double *a, double *d1, double *d2);

/* The fast activations against glibc over [-30, 30] and a few extremes. */
static void test_activation_accuracy(void)
{
    enum { M = 60001 };
    static double z[M + 6], a[M + 6], d1[M + 6];
    double wt = 0, ws = 0, wp = 0, wd = 0;
    const double extremes[] = {1e-300, -1e-300, 1e-9, -800, 800, 0};

    for (int i = 0; i < M; i++)
        z[i] = -30 + 60.0 * i / (M - 1);
    memcpy(z + M, extremes, sizeof extremes);
    act_tanh(M + 6, z, a, NULL, NULL);
    for (int i = 0; i < M + 6; i++)
        wt = fmax(wt, fabs(a[i] - tanh(z[i])) / fmax(fabs(tanh(z[i])), 1e-300));
    act_sigmoid(M + 6, z, a, d1, NULL);
    for (int i = 0; i < M + 6; i++) {
        double s = 1 / (1 + exp(-z[i]));

        ws = fmax(ws, fabs(a[i] - s) / s);
        wd = fmax(wd, fabs(d1[i] - s * (1 - s)));
    }
    act_softplus(M + 6, z, a, NULL, NULL);
    for (int i = 0; i < M + 6; i++) {
        double sp = z[i] > 0 ? z[i] + log1p(exp(-z[i])) : log1p(exp(z[i]));

        wp = fmax(wp, fabs(a[i] - sp) / fmax(sp, 1e-300));
    }
    /* The design bound of act.c: a few ulp (2.2e-16 each). */
    check_below("tanh within 4 ulp of glibc", wt, 4 * 2.3e-16, "act.c's error analysis");
    check_below("sigmoid within 4 ulp of glibc", ws, 4 * 2.3e-16, "act.c's error analysis");
    /* s (1 - s) from the value cancels where s -> 1: its error is absolute */
    check_below("sigmoid' within 4e-16 absolute", wd, 4e-16, "rounding of 1 - s");
    check_below("softplus within 4 ulp of glibc", wp, 4 * 2.3e-16, "act.c's error analysis");
    check_note("max relative error: tanh %.2g, sigmoid %.2g, softplus %.2g", wt, ws, wp);
}

void test_mlp(void)
{
    test_activation_accuracy();
    test_layout();
    test_forward_by_hand();
    test_init();
    test_derivatives();
    test_hvp_grad_and_clone();
    test_bad_input();
}
