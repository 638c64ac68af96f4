/*
 * ode.c - explicit Runge-Kutta integration driven by a Butcher tableau: one
 * step, a fixed-step solve with an observer, and an adaptive solve with an
 * embedded pair. Nothing here knows a particular scheme; the stepper reads
 * a, b, c and bhat from struct amaml_tableau (the built-ins are in
 * tableau.c), so a scheme is data.
 *
 * References:
 * - J. C. Butcher, "Numerical Methods for Ordinary Differential Equations",
 *   3rd ed., Wiley 2016: the explicit Runge-Kutta step.
 * - Hairer, Norsett, Wanner, "Solving Ordinary Differential Equations I",
 *   2nd ed., Springer 1993, Section II.4: the error norm, the step-size
 *   controller h_new = h min(facmax, max(facmin, fac err^(-1/(q+1)))) with no
 *   growth right after a rejection, and the starting step size.
 * - Dormand and Prince, J. Comput. Appl. Math. 6 (1980) 19-26: the 5(4)
 *   pair whose last stage is the next step's first (first same as last).
 *
 * Failure behaviour. The library's rule is that outputs are unchanged on
 * failure; the two solvers are the stated exception. They integrate in the
 * caller's y, so when a solve fails y holds the last accepted state (k = 0
 * is y(t0) itself) and the message names the step and time where it
 * stopped. Restoring y(t0) would cost another vector and would hide where
 * a diverging run went wrong. amaml_ode_step follows the rule: on failure y
 * and err are as they were.
 */
#include "core/error.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The step-size controller's constants (HNW I, Section II.4). facmax bounds
 * growth so that one lucky error estimate cannot send h far past the region
 * where it was measured; facmin bounds the cut after a rejection. */
#define SAFETY 0.9
#define FACMIN 0.2
#define FACMAX 5.0
#define DEFAULT_MAX_STEPS 100000

struct amaml_ode {
    const struct amaml_tableau *tab; /* borrowed: must outlive the handle */
    size_t dim;
    int keep_stages; /* pass K to observers */
    size_t nevals;   /* right-hand side calls since the solve began */
    double *mem;     /* the one allocation that the arrays below view */
    double *k;       /* [stages][dim] stage derivatives K_i of the step */
    double *ys;      /* [dim] the state at which a stage is evaluated */
    double *ynew;    /* [dim] the candidate y + h sum b_i K_i */
    double *err;     /* [dim] h sum (b_i - bhat_i) K_i, the error estimate */
};

/* ------------------------------------------------------------ tableaux */

/* Entries finite, a strictly lower triangular (explicit) and c_0 = 0, so
 * that the first stage is f(t, y) and may be reused after a rejection. */
static int check_entries(const struct amaml_tableau *tab, const char *name)
{
    int s = tab->stages;

    for (int i = 0; i < s; i++) {
        for (int j = 0; j < s; j++) {
            double aij = tab->a[i * s + j];

            if (!isfinite(aij) || (j >= i && aij != 0))
                return amaml_fail(AMAML_EINVAL,
                                  "tableau %s: a[%d][%d] = %g is not finite or not below the "
                                  "diagonal; only explicit schemes are supported",
                                  name, i, j, aij);
        }
        if (!isfinite(tab->b[i]) || !isfinite(tab->c[i]) || (tab->bhat && !isfinite(tab->bhat[i])))
            return amaml_fail(AMAML_EINVAL, "tableau %s: b, c or bhat at %d is not finite", name,
                              i);
    }
    if (tab->c[0] != 0)
        return amaml_fail(AMAML_EINVAL, "tableau %s: c[0] = %g, but an explicit scheme has 0", name,
                          tab->c[0]);
    return AMAML_OK;
}

/* A tableau that claims fsal must really evaluate its last stage at the new
 * solution, or reusing that stage would silently change the scheme. */
static int check_fsal(const struct amaml_tableau *tab, const char *name)
{
    int s = tab->stages;
    const double *last = tab->a + (size_t)(s - 1) * (size_t)s;

    if (s < 2 || tab->c[s - 1] != 1 || tab->b[s - 1] != 0)
        return amaml_fail(AMAML_EINVAL,
                          "tableau %s: fsal needs at least 2 stages, c[last] = 1 and b[last] = 0",
                          name);
    for (int j = 0; j < s - 1; j++) {
        if (last[j] != tab->b[j])
            return amaml_fail(AMAML_EINVAL,
                              "tableau %s: fsal needs the last row of a to equal b, but "
                              "a[%d][%d] = %g and b[%d] = %g",
                              name, s - 1, j, last[j], j, tab->b[j]);
    }
    return AMAML_OK;
}

/* Rejects a tableau that the stepper cannot run as described. */
static int check_tableau(const struct amaml_tableau *tab)
{
    const char *name = tab->name ? tab->name : "(unnamed)";

    if (tab->stages < 1 || !tab->a || !tab->b || !tab->c)
        return amaml_fail(AMAML_EINVAL, "tableau %s: needs stages >= 1 (has %d) and a, b, c", name,
                          tab->stages);
    if (tab->order < 1 || (tab->bhat && tab->order_embedded < 1))
        return amaml_fail(AMAML_EINVAL,
                          "tableau %s: order %d and, with bhat, order_embedded %d must be >= 1",
                          name, tab->order, tab->order_embedded);

    if (check_entries(tab, name) != AMAML_OK)
        return AMAML_EINVAL;
    return tab->fsal ? check_fsal(tab, name) : AMAML_OK;
}

/* ------------------------------------------------------------- handle */

struct amaml_ode *amaml_ode_create(const struct amaml_tableau *tab, size_t dim)
{
    struct amaml_ode *ode;
    double *mem;
    size_t nvec;

    if (!tab) {
        amaml_fail(AMAML_EINVAL, "amaml_ode_create: tableau is NULL (see amaml_tableau_find)");
        return NULL;
    }
    if (dim == 0) {
        amaml_fail(AMAML_EINVAL, "amaml_ode_create: dim is 0");
        return NULL;
    }
    if (check_tableau(tab) != AMAML_OK)
        return NULL;

    /* K has one row per stage; ys, ynew and err add three more. */
    nvec = (size_t)tab->stages + 3;
    if (dim > SIZE_MAX / sizeof(double) / nvec) {
        amaml_fail(AMAML_ENOMEM, "amaml_ode_create: dim %zu with %d stages overflows size_t", dim,
                   tab->stages);
        return NULL;
    }

    ode = malloc(sizeof *ode);
    mem = malloc(nvec * dim * sizeof *mem);
    if (!ode || !mem) {
        free(ode);
        free(mem);
        amaml_fail(AMAML_ENOMEM, "amaml_ode_create: no memory for %zu x %zu doubles", nvec, dim);
        return NULL;
    }

    ode->tab = tab;
    ode->dim = dim;
    ode->keep_stages = 0;
    ode->nevals = 0;
    ode->mem = mem;
    ode->k = mem;
    ode->ys = ode->k + (size_t)tab->stages * dim;
    ode->ynew = ode->ys + dim;
    ode->err = ode->ynew + dim;
    return ode;
}

void amaml_ode_free(struct amaml_ode *ode)
{
    if (!ode)
        return;
    free(ode->mem);
    free(ode);
}

const struct amaml_tableau *amaml_ode_tableau(const struct amaml_ode *ode)
{
    return ode ? ode->tab : NULL;
}

void amaml_ode_set_keep_stages(struct amaml_ode *ode, int keep)
{
    if (ode)
        ode->keep_stages = keep != 0;
}

/* ------------------------------------------------------------ the step */

/* out = sum_{j < n} (w_j - v_j) K_j, v optional. Zero weights are skipped,
 * which also makes the FSAL stage state and ynew the same sums, bit for bit. */
static void lincomb(size_t dim, int n, const double *w, const double *v, const double *k,
                    double *out)
{
    for (size_t i = 0; i < dim; i++)
        out[i] = 0;
    for (int j = 0; j < n; j++) {
        double wj = v ? w[j] - v[j] : w[j];
        const double *kj = k + (size_t)j * dim;

        if (wj == 0)
            continue;
        for (size_t i = 0; i < dim; i++)
            out[i] += wj * kj[i];
    }
}

/* inc = y + h inc. */
static void add_scaled(size_t dim, const double *y, double h, double *inc)
{
    for (size_t i = 0; i < dim; i++)
        inc[i] = y[i] + h * inc[i];
}

static int all_finite(size_t dim, const double *v)
{
    for (size_t i = 0; i < dim; i++) {
        if (!isfinite(v[i]))
            return 0;
    }
    return 1;
}

/* A callback that fails with a library status has recorded its own
 * message, which says more than the solver could: both are kept. */
static int passes_through(int rc)
{
    return rc < 0 && rc >= AMAML_ECALLBACK;
}

/* Calls the right-hand side and turns its failure into a status naming t. */
static int eval(struct amaml_ode *ode, amaml_ode_rhs f, void *ctx, double t, const double *y,
                double *dydt)
{
    int rc = f(ctx, t, y, dydt);

    ode->nevals++;
    if (passes_through(rc))
        return rc;
    if (rc != 0)
        return amaml_fail(AMAML_ECALLBACK, "the ODE right-hand side returned %d at t = %.17g", rc,
                          t);
    return AMAML_OK;
}

/*
 * A step of size h from (t, y), leaving y untouched:
 * 1. the stage derivatives K_first..K_{s-1} (first = 1 when K_0 = f(t, y)
 *    is already known, after a rejection or from an fsal stage);
 * 2. the candidate ynew = y + h sum b_i K_i;
 * 3. with an embedded pair, err = h sum (b_i - bhat_i) K_i, summed directly
 *    rather than as a difference of two solutions to avoid cancellation.
 */
static int rk_attempt(struct amaml_ode *ode, amaml_ode_rhs f, void *ctx, double t, double h,
                      const double *y, int first)
{
    const struct amaml_tableau *tab = ode->tab;
    int s = tab->stages;
    size_t dim = ode->dim;

    for (int i = first; i < s; i++) {
        const double *yi = y;
        int status;

        if (i > 0) {
            lincomb(dim, i, tab->a + (size_t)i * (size_t)s, NULL, ode->k, ode->ys);
            add_scaled(dim, y, h, ode->ys);
            yi = ode->ys;
        }
        status = eval(ode, f, ctx, t + tab->c[i] * h, yi, ode->k + (size_t)i * dim);
        if (status != AMAML_OK)
            return status;
    }

    lincomb(dim, s, tab->b, NULL, ode->k, ode->ynew);
    add_scaled(dim, y, h, ode->ynew);

    if (tab->bhat) {
        lincomb(dim, s, tab->b, tab->bhat, ode->k, ode->err);
        for (size_t i = 0; i < dim; i++)
            ode->err[i] *= h;
    }
    return AMAML_OK;
}

int amaml_ode_step(struct amaml_ode *ode, amaml_ode_rhs f, void *ctx, double t, double h, double *y,
                   double *err)
{
    int status;

    if (!ode || !f || !y)
        return amaml_fail(AMAML_EINVAL, "amaml_ode_step: ode, f and y must not be NULL");
    if (!isfinite(t) || !isfinite(h))
        return amaml_fail(AMAML_EINVAL, "amaml_ode_step: t = %g and h = %g must be finite", t, h);

    ode->nevals = 0;
    status = rk_attempt(ode, f, ctx, t, h, y, 0);
    if (status != AMAML_OK)
        return status;
    if (!all_finite(ode->dim, ode->ynew))
        return amaml_fail(AMAML_ENONFINITE,
                          "amaml_ode_step: the state after the step from t = %.17g with h = %g "
                          "is not finite",
                          t, h);

    memcpy(y, ode->ynew, ode->dim * sizeof *y);
    if (err && ode->tab->bhat)
        memcpy(err, ode->err, ode->dim * sizeof *err);
    return AMAML_OK;
}

/* ----------------------------------------------------- fixed-step solve */

/* Hands an accepted state to the observer, with K when asked for. */
static int observe(const struct amaml_ode *ode, amaml_ode_observer obs, void *ctx, size_t k,
                   double t, const double *y, double h)
{
    const double *stages = ode->keep_stages && k > 0 ? ode->k : NULL;
    int rc;

    if (!obs)
        return AMAML_OK;
    rc = obs(ctx, k, t, y, h, stages);
    if (passes_through(rc))
        return rc;
    if (rc != 0)
        return amaml_fail(AMAML_ECALLBACK, "the ODE observer returned %d at step %zu (t = %.17g)",
                          rc, k, t);
    return AMAML_OK;
}

/* Moves the last stage, f at the new state, into K_0 for the next step. */
static void reuse_last_stage(struct amaml_ode *ode)
{
    size_t dim = ode->dim;

    memcpy(ode->k, ode->k + (size_t)(ode->tab->stages - 1) * dim, dim * sizeof *ode->k);
}

int amaml_ode_solve_fixed(struct amaml_ode *ode, amaml_ode_rhs f, void *ctx, double t0, double h,
                          size_t nsteps, double *y, amaml_ode_observer obs, void *obs_ctx)
{
    int fsal;
    int status;

    if (!ode || !f || !y)
        return amaml_fail(AMAML_EINVAL, "amaml_ode_solve_fixed: ode, f and y must not be NULL");
    if (!isfinite(t0) || !isfinite(h) || h <= 0)
        return amaml_fail(AMAML_EINVAL,
                          "amaml_ode_solve_fixed: need a finite t0 and a finite h > 0, got "
                          "t0 = %g, h = %g",
                          t0, h);

    ode->nevals = 0;
    fsal = ode->tab->fsal;
    status = observe(ode, obs, obs_ctx, 0, t0, y, 0);

    /* Times are t0 + k h rather than a running sum, so they do not drift. */
    for (size_t k = 1; k <= nsteps && status == AMAML_OK; k++) {
        double t = t0 + (double)(k - 1) * h;

        status = rk_attempt(ode, f, ctx, t, h, y, fsal && k > 1);
        if (status != AMAML_OK)
            break;
        if (!all_finite(ode->dim, ode->ynew)) {
            status = amaml_fail(AMAML_ENONFINITE,
                                "the ODE state is not finite after step %zu of %zu (t = %.17g, "
                                "h = %g): the solution diverged; a smaller h may help",
                                k, nsteps, t0 + (double)k * h, h);
            break;
        }

        memcpy(y, ode->ynew, ode->dim * sizeof *y);
        status = observe(ode, obs, obs_ctx, k, t0 + (double)k * h, y, h);
        if (fsal)
            reuse_last_stage(ode);
    }
    return status;
}

/* ------------------------------------------------------- adaptive solve */

/* One adaptive solve in progress, kept together so that the loop's helpers
 * take few arguments. */
struct adaptive {
    struct amaml_ode *ode;
    amaml_ode_rhs f;
    void *ctx;
    double rtol, atol, hmin, hmax;
    size_t max_steps;
    double t, t1, h; /* current time, end time, next trial step */
    int have_k0;     /* K_0 holds f(t, y) */
    int rejected;    /* the previous attempt was rejected: do not grow h */
    struct amaml_ode_stats st;
};

static int check_control(const struct amaml_ode_control *ctl)
{
    if (!isfinite(ctl->rtol) || !isfinite(ctl->atol) || ctl->rtol < 0 || ctl->atol < 0)
        return amaml_fail(AMAML_EINVAL,
                          "adaptive solve: rtol = %g and atol = %g must be finite and >= 0",
                          ctl->rtol, ctl->atol);
    if (ctl->rtol == 0 && ctl->atol == 0)
        return amaml_fail(AMAML_EINVAL, "adaptive solve: rtol and atol are both 0; set one");
    if (!isfinite(ctl->h0) || !isfinite(ctl->hmin) || !isfinite(ctl->hmax) || ctl->h0 < 0 ||
        ctl->hmin < 0 || ctl->hmax < 0)
        return amaml_fail(AMAML_EINVAL,
                          "adaptive solve: h0 = %g, hmin = %g, hmax = %g must be finite and >= 0",
                          ctl->h0, ctl->hmin, ctl->hmax);
    if (ctl->hmax > 0 && ctl->hmin > ctl->hmax)
        return amaml_fail(AMAML_EINVAL, "adaptive solve: hmin = %g exceeds hmax = %g", ctl->hmin,
                          ctl->hmax);
    return AMAML_OK;
}

static int check_adaptive(const struct amaml_ode *ode, amaml_ode_rhs f, double t0, double t1,
                          const double *y, const struct amaml_ode_control *ctl)
{
    if (!ode || !f || !y || !ctl)
        return amaml_fail(AMAML_EINVAL, "adaptive solve: ode, f, y and ctl must not be NULL");
    if (!ode->tab->bhat)
        return amaml_fail(AMAML_EINVAL,
                          "adaptive solve: scheme %s has no embedded pair to estimate the error; "
                          "use dopri5, or amaml_ode_solve_fixed",
                          ode->tab->name ? ode->tab->name : "(unnamed)");
    if (!isfinite(t0) || !isfinite(t1) || t1 <= t0)
        return amaml_fail(AMAML_EINVAL, "adaptive solve: need finite t0 < t1, got t0 = %g, t1 = %g",
                          t0, t1);
    return check_control(ctl);
}

/* max_i |err_i| / (atol + rtol max(|y_i|, |ynew_i|)), the header's norm. A
 * non-finite candidate counts as an infinite error, so that a step into a
 * blow-up is retried smaller instead of accepted. A component with a zero
 * scale (atol = 0 and y_i = 0) counts only if its error is not zero. */
static double error_norm(const struct adaptive *run, const double *y)
{
    const struct amaml_ode *ode = run->ode;
    double norm = 0;

    for (size_t i = 0; i < ode->dim; i++) {
        double e = fabs(ode->err[i]);
        double sc = run->atol + run->rtol * fmax(fabs(y[i]), fabs(ode->ynew[i]));

        if (!isfinite(ode->ynew[i]) || !isfinite(e))
            return HUGE_VAL;
        if (e > 0)
            norm = fmax(norm, e / sc);
    }
    return norm;
}

/* The factor by which h changes after an attempt whose error norm is e. */
static double step_factor(double e, int order_embedded, int after_reject)
{
    double fac;

    if (!isfinite(e))
        return FACMIN;
    fac = e > 0 ? SAFETY * pow(e, -1.0 / (order_embedded + 1)) : FACMAX;
    fac = fmin(FACMAX, fmax(FACMIN, fac));
    return after_reject ? fmin(fac, 1.0) : fac;
}

/* The scaled max norm of v, skipping components whose scale is 0 (atol = 0
 * and y_i = 0), where the heuristic has nothing to measure against. */
static double scaled_norm(const struct adaptive *run, const double *y, const double *v)
{
    double norm = 0;

    for (size_t i = 0; i < run->ode->dim; i++) {
        double sc = run->atol + run->rtol * fabs(y[i]);

        if (sc > 0)
            norm = fmax(norm, fabs(v[i]) / sc);
    }
    return norm;
}

/*
 * The starting step of HNW I, Section II.4: h0 makes the explicit Euler
 * increment about 1% of y in the tolerance's scale; a second evaluation at
 * t0 + h0 estimates y'' and gives h1 with err(h1) ~ 0.01; the result is
 * min(100 h0, h1). Uses K_0 = f(t0, y0); ys and err serve as scratch.
 */
static int initial_step(struct adaptive *run, const double *y, double *h)
{
    struct amaml_ode *ode = run->ode;
    const double *f0 = ode->k;
    double d0 = scaled_norm(run, y, y);
    double d1 = scaled_norm(run, y, f0);
    double h0, h1, d2;
    int status;

    h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
    h0 = fmin(h0, run->hmax);

    for (size_t i = 0; i < ode->dim; i++)
        ode->ys[i] = y[i] + h0 * f0[i];
    status = eval(ode, run->f, run->ctx, run->t + h0, ode->ys, ode->err);
    if (status != AMAML_OK)
        return status;

    for (size_t i = 0; i < ode->dim; i++)
        ode->err[i] -= f0[i];
    d2 = scaled_norm(run, y, ode->err) / h0;
    d1 = fmax(d1, d2);
    h1 = d1 <= 1e-15 ? fmax(1e-6, h0 * 1e-3) : pow(0.01 / d1, 1.0 / (ode->tab->order + 1));

    /* A non-finite y'' estimate (f blew up at t0 + h0) leaves the
     * controller to shrink h0 by rejections. */
    *h = h1 > 0 && isfinite(h1) ? fmin(100 * h0, h1) : h0;
    return AMAML_OK;
}

/* Stops a solve whose budget is spent or whose step can no longer advance
 * t; near a singularity the loop would otherwise never end. */
static int check_budget(const struct adaptive *run)
{
    size_t tried = run->st.accepted + run->st.rejected;

    if (tried >= run->max_steps)
        return amaml_fail(AMAML_ESTEP,
                          "adaptive solve: %zu steps (accepted and rejected) reached t = %.17g "
                          "but not t1 = %.17g; raise max_steps or loosen rtol/atol",
                          tried, run->t, run->t1);
    if (run->h < run->hmin)
        return amaml_fail(AMAML_ESTEP,
                          "adaptive solve: step %g fell below hmin = %g at t = %.17g; the "
                          "problem may be stiff or singular there",
                          run->h, run->hmin, run->t);
    if (0.1 * run->h <= fabs(run->t) * DBL_EPSILON)
        return amaml_fail(AMAML_ESTEP,
                          "adaptive solve: step %g is at the rounding level of t = %.17g; the "
                          "solution may be singular there",
                          run->h, run->t);
    return AMAML_OK;
}

/*
 * One attempt of the adaptive loop:
 * 1. stop if the budget is spent; clip h to hmax and, within 1% of t1,
 *    stretch it to land on t1 exactly rather than leave a sliver;
 * 2. take the step, reusing K_0;
 * 3. reject (shrink h) or accept: advance y and t, tell the observer, move
 *    the fsal stage into K_0, and choose the next h.
 */
static int adaptive_attempt(struct adaptive *run, double *y, amaml_ode_observer obs, void *obs_ctx,
                            int *done)
{
    struct amaml_ode *ode = run->ode;
    int q = ode->tab->order_embedded;
    int last = 0;
    double h, e;
    int status = check_budget(run);

    if (status != AMAML_OK)
        return status;
    h = fmin(run->h, run->hmax);
    if (run->t + 1.01 * h >= run->t1) {
        h = run->t1 - run->t;
        last = 1;
    }

    status = rk_attempt(ode, run->f, run->ctx, run->t, h, y, run->have_k0);
    if (status != AMAML_OK)
        return status;
    run->have_k0 = 1;
    e = error_norm(run, y);

    if (!(e <= 1)) {
        run->st.rejected++;
        run->rejected = 1;
        run->h = h * step_factor(e, q, 1);
        return AMAML_OK;
    }

    memcpy(y, ode->ynew, ode->dim * sizeof *y);
    run->t = last ? run->t1 : run->t + h;
    run->st.accepted++;
    run->h = h * step_factor(e, q, run->rejected);
    run->rejected = 0;
    *done = last;
    status = observe(ode, obs, obs_ctx, run->st.accepted, run->t, y, h);
    if (ode->tab->fsal)
        reuse_last_stage(ode);
    else
        run->have_k0 = 0;
    return status;
}

static void adaptive_init(struct adaptive *run, struct amaml_ode *ode, amaml_ode_rhs f, void *ctx,
                          double t0, double t1, const struct amaml_ode_control *ctl)
{
    memset(run, 0, sizeof *run);
    run->ode = ode;
    run->f = f;
    run->ctx = ctx;
    run->rtol = ctl->rtol;
    run->atol = ctl->atol;
    run->hmin = ctl->hmin;
    run->hmax = ctl->hmax > 0 ? ctl->hmax : t1 - t0;
    run->max_steps = ctl->max_steps > 0 ? ctl->max_steps : DEFAULT_MAX_STEPS;
    run->t = t0;
    run->t1 = t1;
    ode->nevals = 0;
}

/*
 * The adaptive solve:
 * 1. check the arguments (stats untouched if they are bad);
 * 2. report the initial state, evaluate K_0 = f(t0, y0) and pick h0 if the
 *    caller did not;
 * 3. attempt steps until one lands on t1 or a check fails;
 * 4. report the counts, also on failure, since they say why it failed.
 */
int amaml_ode_solve_adaptive(struct amaml_ode *ode, amaml_ode_rhs f, void *ctx, double t0,
                             double t1, double *y, const struct amaml_ode_control *ctl,
                             amaml_ode_observer obs, void *obs_ctx, struct amaml_ode_stats *stats)
{
    struct adaptive run;
    int done = 0;
    int status = check_adaptive(ode, f, t0, t1, y, ctl);

    if (status != AMAML_OK)
        return status;
    adaptive_init(&run, ode, f, ctx, t0, t1, ctl);

    status = observe(ode, obs, obs_ctx, 0, t0, y, 0);
    if (status == AMAML_OK)
        status = eval(ode, f, ctx, t0, y, ode->k);
    run.have_k0 = 1;
    run.h = ctl->h0;
    if (status == AMAML_OK && run.h == 0)
        status = initial_step(&run, y, &run.h);

    while (status == AMAML_OK && !done)
        status = adaptive_attempt(&run, y, obs, obs_ctx, &done);

    run.st.evals = ode->nevals;
    if (stats)
        *stats = run.st;
    return status;
}
