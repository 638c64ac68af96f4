/*
 * test_objective.c - the model-agnostic objective with a model that is not
 * an MLP: linear least squares L(u) = 0.5 mean_i (x_i . u - y_i)^2, whose
 * Hessian X^T X / n is known in closed form. It passes the same derivative
 * checks as the MLP, and a deliberately wrong HVP is caught by them.
 */
#include "check.h"

#include <math.h>
#include <string.h>

#define LS_DIM 5

struct lsq {
    double hvp_scale; /* 1 for the true model; anything else is a broken one */
};

static int lsq_grad(void *ctx, const double *u, const struct amaml_batch *b, double *loss,
                    double *grad)
{
    double sum = 0;

    (void)ctx;
    if (grad)
        memset(grad, 0, LS_DIM * sizeof *grad);
    for (size_t i = 0; i < b->n; i++) {
        const double *x = b->x + i * LS_DIM;
        double r = -b->y[i];

        for (int j = 0; j < LS_DIM; j++)
            r += x[j] * u[j];
        sum += r * r;
        if (grad)
            for (int j = 0; j < LS_DIM; j++)
                grad[j] += r * x[j] / (double)b->n;
    }
    if (loss)
        *loss = 0.5 * sum / (double)b->n;
    return 0;
}

static int lsq_hvp(void *ctx, const double *u, const struct amaml_batch *b, const double *v,
                   double *hv, double *grad)
{
    const struct lsq *m = ctx;

    memset(hv, 0, LS_DIM * sizeof *hv);
    for (size_t i = 0; i < b->n; i++) {
        const double *x = b->x + i * LS_DIM;
        double xv = 0;

        for (int j = 0; j < LS_DIM; j++)
            xv += x[j] * v[j];
        for (int j = 0; j < LS_DIM; j++)
            hv[j] += m->hvp_scale * xv * x[j] / (double)b->n;
    }
    return grad ? lsq_grad(ctx, u, b, NULL, grad) : 0;
}

void test_objective(void)
{
    struct lsq good = {1.0}, bad = {1.001};
    struct amaml_objective obj = {LS_DIM, &good, lsq_grad, lsq_hvp};
    double x[30 * LS_DIM], y[30], u[LS_DIM], hv[LS_DIM], e[LS_DIM];
    struct amaml_batch b = {30, x, y};
    struct amaml_check_result r;
    struct amaml_rng rng;
    double worst = 0;

    amaml_rng_seed(&rng, 9);
    for (size_t i = 0; i < 30 * LS_DIM; i++)
        x[i] = amaml_rng_normal(&rng);
    for (size_t i = 0; i < 30; i++)
        y[i] = amaml_rng_normal(&rng);
    for (int j = 0; j < LS_DIM; j++)
        u[j] = amaml_rng_normal(&rng);

    /* Column j of the Hessian is H e_j; compare with (X^T X / n)_{kj}. */
    for (int j = 0; j < LS_DIM; j++) {
        memset(e, 0, sizeof e);
        e[j] = 1;
        lsq_hvp(&good, u, &b, e, hv, NULL);
        for (int k = 0; k < LS_DIM; k++) {
            double h = 0;

            for (size_t i = 0; i < 30; i++)
                h += x[i * LS_DIM + k] * x[i * LS_DIM + j] / 30.0;
            worst = fmax(worst, fabs(hv[k] - h));
        }
    }
    check_below("HVP reproduces X^T X / n", worst, 1e-14, "30-term sums of O(1) values");

    /* The checks are those of the MLP tests, with the same reasons: central
     * differences of a quadratic are exact up to rounding, so the bound
     * could be tighter, but the point is that the same check applies. */
    if (check_ok("derivative check on least squares",
                 amaml_check_derivatives(&obj, u, &b, 0, &rng, &r))) {
        check_below("least-squares gradient", r.grad_err, 1e-6, "central differences");
        check_below("least-squares HVP", r.hvp_err, 1e-6, "central differences");
        check_below("least-squares symmetry", r.symmetry_err, 1e-12, "rounding");
        check_note("least squares: grad %.2e  hvp %.2e  sym %.2e", r.grad_err, r.hvp_err,
                   r.symmetry_err);
    }

    /* A Hessian wrong by 0.1% must be caught: the check is able to fail. */
    obj.ctx = &bad;
    if (check_ok("derivative check on a broken model",
                 amaml_check_derivatives(&obj, u, &b, 0, &rng, &r)))
        check_true("a 0.1% error in H v is detected", r.hvp_err > 5e-4);

    obj.grad = NULL;
    check_fails("objective without callbacks", amaml_check_derivatives(&obj, u, &b, 0, &rng,
                &r), AMAML_EINVAL, NULL);
}
