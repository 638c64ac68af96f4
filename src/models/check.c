/*
 * check.c - derivative checks on any objective, as library functions so the
 * tests and `amaml gradcheck` measure the same thing.
 *
 * The gradient is compared with central differences of L coordinate by
 * coordinate (all of them up to CHECK_MAX_COORDS, a random sample beyond,
 * since 2 P loss evaluations is otherwise the whole cost); H v with central
 * differences of grad L along a random unit v; symmetry with u.(Hv) = v.(Hu)
 * for random u, v, which holds for the exact Hessian to rounding.
 */
#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_MAX_COORDS 4096
/* A relative error is taken against max(|reference|_inf, CHECK_FLOOR), so
 * that a derivative that vanishes does not turn rounding into a huge ratio. */
#define CHECK_FLOOR 1e-8
/* Central differences err by h^2 f'''/6 + eps_mach |f| / h: balanced near
 * h = eps_mach^(1/3), about 6e-6. */
#define CHECK_DEFAULT_STEP 6e-6

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;

    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static void random_unit(struct amaml_rng *rng, double *v, size_t n)
{
    double norm;

    for (size_t i = 0; i < n; i++)
        v[i] = amaml_rng_normal(rng);
    norm = sqrt(dot(v, v, n));
    for (size_t i = 0; i < n; i++)
        v[i] /= norm;
}

static int call_loss(const struct amaml_objective *obj, const double *u,
                     const struct amaml_batch *b, double *loss)
{
    if (obj->grad(obj->ctx, u, b, loss, NULL) != 0)
        return amaml_fail(AMAML_ECALLBACK, "derivative check: the loss callback failed: %s",
                          amaml_errmsg());
    return AMAML_OK;
}

/* max_i |g_i - fd_i| / max(|fd|_inf, floor) over the checked coordinates. */
static int check_grad(const struct amaml_objective *obj, const double *theta,
                      const struct amaml_batch *b, double eps, struct amaml_rng *rng,
                      double *work, double *err)
{
    size_t P = obj->nparam, ncheck = P < CHECK_MAX_COORDS ? P : CHECK_MAX_COORDS;
    double *g = work, *u = work + P, num = 0, den = CHECK_FLOOR;

    if (obj->grad(obj->ctx, theta, b, NULL, g) != 0)
        return amaml_fail(AMAML_ECALLBACK, "derivative check: the gradient callback failed: "
                          "%s", amaml_errmsg());
    memcpy(u, theta, P * sizeof *u);
    for (size_t j = 0; j < ncheck; j++) {
        size_t i = ncheck == P ? j : (size_t)(amaml_rng_uniform(rng) * (double)P);
        double lp, lm, fd;
        int rc;

        u[i] = theta[i] + eps;
        rc = call_loss(obj, u, b, &lp);
        u[i] = theta[i] - eps;
        if (rc == AMAML_OK)
            rc = call_loss(obj, u, b, &lm);
        u[i] = theta[i];
        if (rc != AMAML_OK)
            return rc;
        fd = (lp - lm) / (2 * eps);
        num = fmax(num, fabs(g[i] - fd));
        den = fmax(den, fabs(fd));
    }
    *err = num / den;
    return AMAML_OK;
}

/* H v against (grad L(theta + eps v) - grad L(theta - eps v)) / (2 eps). */
static int check_hvp(const struct amaml_objective *obj, const double *theta,
                     const struct amaml_batch *b, double eps, struct amaml_rng *rng,
                     double *work, double *err)
{
    size_t P = obj->nparam;
    double *v = work, *hv = v + P, *u = hv + P, *gp = u + P, *gm = gp + P;
    double num = 0, den = CHECK_FLOOR;

    random_unit(rng, v, P);
    if (obj->hvp(obj->ctx, theta, b, v, hv, NULL) != 0)
        return amaml_fail(AMAML_ECALLBACK, "derivative check: the HVP callback failed: %s",
                          amaml_errmsg());
    for (size_t i = 0; i < P; i++)
        u[i] = theta[i] + eps * v[i];
    if (obj->grad(obj->ctx, u, b, NULL, gp) != 0)
        return amaml_fail(AMAML_ECALLBACK, "derivative check: the gradient callback failed");
    for (size_t i = 0; i < P; i++)
        u[i] = theta[i] - eps * v[i];
    if (obj->grad(obj->ctx, u, b, NULL, gm) != 0)
        return amaml_fail(AMAML_ECALLBACK, "derivative check: the gradient callback failed");
    for (size_t i = 0; i < P; i++) {
        double fd = (gp[i] - gm[i]) / (2 * eps);

        num = fmax(num, fabs(hv[i] - fd));
        den = fmax(den, fabs(fd));
    }
    *err = num / den;
    return AMAML_OK;
}

static int check_symmetry(const struct amaml_objective *obj, const double *theta,
                          const struct amaml_batch *b, struct amaml_rng *rng, double *work,
                          double *err)
{
    size_t P = obj->nparam;
    double *u = work, *v = u + P, *hu = v + P, *hv = hu + P, scale;

    random_unit(rng, u, P);
    random_unit(rng, v, P);
    if (obj->hvp(obj->ctx, theta, b, v, hv, NULL) != 0 ||
        obj->hvp(obj->ctx, theta, b, u, hu, NULL) != 0)
        return amaml_fail(AMAML_ECALLBACK, "derivative check: the HVP callback failed: %s",
                          amaml_errmsg());
    scale = fmax(sqrt(dot(hv, hv, P)), sqrt(dot(hu, hu, P))); /* |u| = |v| = 1 */
    *err = fabs(dot(u, hv, P) - dot(v, hu, P)) / fmax(scale, CHECK_FLOOR);
    return AMAML_OK;
}

int amaml_check_derivatives(const struct amaml_objective *obj, const double *theta,
                            const struct amaml_batch *batch, double eps,
                            struct amaml_rng *rng, struct amaml_check_result *out)
{
    struct amaml_check_result r;
    double *work;
    int rc;

    if (!obj || !obj->grad || !obj->hvp || obj->nparam == 0 || !theta || !rng || !out)
        return amaml_fail(AMAML_EINVAL, "amaml_check_derivatives: NULL or empty argument");
    if (eps == 0)
        eps = CHECK_DEFAULT_STEP;
    if (!(eps > 0) || !isfinite(eps))
        return amaml_fail(AMAML_EINVAL, "difference step %g must be positive", eps);
    if (obj->nparam > SIZE_MAX / sizeof(double) / 5 ||
        !(work = malloc(5 * obj->nparam * sizeof *work)))
        return amaml_fail(AMAML_ENOMEM, "out of memory for a derivative check");

    rc = check_grad(obj, theta, batch, eps, rng, work, &r.grad_err);
    if (rc == AMAML_OK)
        rc = check_hvp(obj, theta, batch, eps, rng, work, &r.hvp_err);
    if (rc == AMAML_OK)
        rc = check_symmetry(obj, theta, batch, rng, work, &r.symmetry_err);
    free(work);
    if (rc == AMAML_OK)
        *out = r;
    return rc;
}
