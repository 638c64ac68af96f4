/*
 * synthetic.c - the synthetic regression families of the A-MAML paper and
 * of MAML (Finn et al. 2017), in any input dimension d:
 *
 *   sinusoid    sum_i A sin(x_i - phi)        A in [0.1, 5], phi in [0, pi], x in [-5, 5]^d
 *   cosmixture  -c sum_i cos(w pi x_i + p) - sum_i x_i^2
 *                                 c in [0.1, 1], p in [0.5, 2], w in [3, 6], x in [-1, 1]^d
 *   alpine      sum_i |x_i sin(x_i + pi + s_i) + 0.1 x_i|
 *                                 s_i = k_i pi / 12, k_i an integer in [-5, 5] drawn
 *                                 for each dimension, x in [-10, 10]^d
 *
 * The meta-data set follows the authors: ntrain + ntest functions, each with
 * `pool` support and `pool` query candidates drawn uniformly over the domain,
 * and for meta-test functions a test grid (d = 1: `pool` evenly spaced
 * points; d = 2: 32 x 32; in general ceil(pool^(1/d)) points a side, or
 * `pool` uniform points where such a grid would exceed 4 pool points). x and
 * y are standardized by the mean and standard deviation of all pooled data of
 * all functions, x per dimension.
 */
#include "core/error.h"
#include "tasks/tasks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846
#define MAX_DIM 64 /* parameters of one function live on the stack */

struct synth_fn {
    double a, b, c;        /* sinusoid: A, phi; cosmixture: c, p, w */
    double s[MAX_DIM];     /* alpine: phase per dimension */
};

struct synth_family {
    double lo, hi; /* the domain [lo, hi]^d */
    void (*draw)(struct amaml_rng *rng, size_t d, struct synth_fn *fn);
    double (*eval)(const struct synth_fn *fn, const double *x, size_t d);
};

static double uniform(struct amaml_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * amaml_rng_uniform(rng);
}

static void sinusoid_draw(struct amaml_rng *rng, size_t d, struct synth_fn *fn)
{
    (void)d;
    fn->a = uniform(rng, 0.1, 5);
    fn->b = uniform(rng, 0, PI);
}

static double sinusoid_eval(const struct synth_fn *fn, const double *x, size_t d)
{
    double y = 0;

    for (size_t i = 0; i < d; i++)
        y += fn->a * sin(x[i] - fn->b);
    return y;
}

static void cosmixture_draw(struct amaml_rng *rng, size_t d, struct synth_fn *fn)
{
    (void)d;
    fn->a = uniform(rng, 0.1, 1);
    fn->b = uniform(rng, 0.5, 2);
    fn->c = uniform(rng, 3, 6);
}

static double cosmixture_eval(const struct synth_fn *fn, const double *x, size_t d)
{
    double y = 0;

    for (size_t i = 0; i < d; i++)
        y += -fn->a * cos(fn->c * PI * x[i] + fn->b) - x[i] * x[i];
    return y;
}

static void alpine_draw(struct amaml_rng *rng, size_t d, struct synth_fn *fn)
{
    for (size_t i = 0; i < d; i++) /* k uniform over the 11 integers -5 .. 5 */
        fn->s[i] = (floor(11 * amaml_rng_uniform(rng)) - 5) * PI / 12;
}

static double alpine_eval(const struct synth_fn *fn, const double *x, size_t d)
{
    double y = 0;

    for (size_t i = 0; i < d; i++)
        y += fabs(x[i] * sin(x[i] + PI + fn->s[i]) + 0.1 * x[i]);
    return y;
}

static const struct synth_family sinusoid = {-5, 5, sinusoid_draw, sinusoid_eval};
static const struct synth_family cosmixture = {-1, 1, cosmixture_draw, cosmixture_eval};
static const struct synth_family alpine = {-10, 10, alpine_draw, alpine_eval};

/* Points a side of the test grid, or 0 for uniform test points. */
static size_t grid_side(size_t pool, size_t d)
{
    size_t m = (size_t)ceil(pow((double)pool, 1.0 / (double)d) - 1e-9), total = 1;

    if (m < 2)
        return 0;
    for (size_t i = 0; i < d; i++) {
        if (total > 4 * pool / m)
            return 0;
        total *= m;
    }
    return m;
}

/* The raw data of all functions, before standardization. */
struct raw {
    double *x, *y;   /* rows of all pools, then all test sets */
    size_t npool, ntest_rows, side;
};

static void fill_grid(const struct synth_family *f, size_t d, size_t side, size_t pool,
                      struct amaml_rng *rng, double *x)
{
    size_t n = side ? 1 : pool;

    for (size_t i = 0; side && i < d; i++)
        n *= side;
    for (size_t r = 0; r < n; r++) {
        size_t rest = r;

        for (size_t i = 0; i < d; i++) {
            if (side) {
                x[r * d + i] = f->lo + (f->hi - f->lo) * (double)(rest % side) /
                                           (double)(side - 1);
                rest /= side;
            } else {
                x[r * d + i] = uniform(rng, f->lo, f->hi);
            }
        }
    }
}

static size_t grid_rows(size_t d, size_t side, size_t pool)
{
    size_t n = 1;

    if (!side)
        return pool;
    for (size_t i = 0; i < d; i++)
        n *= side;
    return n;
}

/* Standardizes x per dimension and y over the first npool rows' statistics. */
static void standardize(double *x, double *y, size_t n, size_t npool, size_t d,
                        double *y_std)
{
    for (size_t i = 0; i <= d; i++) { /* i == d: the targets */
        double mean = 0, var = 0, sd;

        for (size_t r = 0; r < npool; r++)
            mean += i < d ? x[r * d + i] : y[r];
        mean /= (double)npool;
        for (size_t r = 0; r < npool; r++) {
            double v = (i < d ? x[r * d + i] : y[r]) - mean;

            var += v * v;
        }
        sd = sqrt(var / (double)npool);
        sd = sd > 0 ? sd : 1;
        for (size_t r = 0; r < n; r++) {
            double *v = i < d ? &x[r * d + i] : &y[r];

            *v = (*v - mean) / sd;
        }
        if (i == d)
            *y_std = sd;
    }
}

static int build(struct amaml_taskset *ts, const struct synth_family *f, const char *name)
{
    const struct amaml_taskset_config *c = &ts->cfg;
    size_t d = c->dim, nfn = c->ntrain + c->ntest, pool = c->pool;
    size_t side = grid_side(pool, d), ng = grid_rows(d, side, pool);
    size_t npool = nfn * 2 * pool, nrows = npool + c->ntest * ng;
    struct amaml_rng rng;
    double *x, *y;
    int rc = AMAML_OK;

    if (d == 0 || d > MAX_DIM)
        return amaml_fail(AMAML_EINVAL, "%s: input dimension %zu must be 1 to %d", name, d,
                          MAX_DIM);
    if (c->shots > pool || c->queries > pool)
        return amaml_fail(AMAML_EINVAL, "%s: %zu shots and %zu queries need pools of at "
                          "least that many (pool %zu)", name, c->shots, c->queries, pool);
    if (nrows > SIZE_MAX / sizeof(double) / (d + 1) || c->ntrain > 1000000)
        return amaml_fail(AMAML_ENOMEM, "%s: %zu functions of %zu points are too many",
                          name, nfn, 2 * pool + ng);
    x = malloc(nrows * d * sizeof *x);
    y = malloc(nrows * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        return amaml_fail(AMAML_ENOMEM, "%s: out of memory for %zu points", name, nrows);
    }

    /* 1. per function: its parameters, its two pools, its test set */
    amaml_rng_seed(&rng, c->seed);
    for (size_t k = 0; k < nfn; k++) {
        struct synth_fn fn;
        double *px = x + k * 2 * pool * d, *py = y + k * 2 * pool;

        f->draw(&rng, d, &fn);
        for (size_t r = 0; r < 2 * pool * d; r++)
            px[r] = uniform(&rng, f->lo, f->hi);
        for (size_t r = 0; r < 2 * pool; r++)
            py[r] = f->eval(&fn, px + r * d, d);
        if (k >= c->ntrain) {
            double *gx = x + (npool + (k - c->ntrain) * ng) * d, *gy = y + npool +
                                                                        (k - c->ntrain) * ng;

            fill_grid(f, d, side, pool, &rng, gx);
            for (size_t r = 0; r < ng; r++)
                gy[r] = f->eval(&fn, gx + r * d, d);
        }
    }

    /* 2. standardize everything by the pooled statistics, then the tasks */
    standardize(x, y, nrows, npool, d, &ts->y_scale);
    ts->din = d;
    for (size_t k = 0; k < nfn && rc == AMAML_OK; k++) {
        struct task_entry e = {{0, 0}, {0, 0}, {0, 0}, 0};

        rc = taskset_add_rows(ts, x + k * 2 * pool * d, y + k * 2 * pool, NULL, pool, &e.s);
        if (rc == AMAML_OK)
            rc = taskset_add_rows(ts, x + (k * 2 + 1) * pool * d, y + (k * 2 + 1) * pool,
                                  NULL, pool, &e.q);
        if (rc == AMAML_OK && k >= c->ntrain)
            rc = taskset_add_rows(ts, x + (npool + (k - c->ntrain) * ng) * d,
                                  y + npool + (k - c->ntrain) * ng, NULL, ng, &e.t);
        if (rc == AMAML_OK)
            rc = taskset_add_task(ts, &e, k < c->ntrain ? AMAML_TRAIN : AMAML_TEST);
    }
    free(x);
    free(y);
    snprintf(ts->desc, sizeof ts->desc, "%s d=%zu: %zu meta-train and %zu meta-test "
             "functions, pools of %zu, %zu test points (%s), y std %.4g", name, d, c->ntrain,
             c->ntest, pool, ng, side ? "grid" : "uniform", ts->y_scale);
    return rc;
}

static int build_sinusoid(struct amaml_taskset *ts)
{
    return build(ts, &sinusoid, "sinusoid");
}

static int build_cosmixture(struct amaml_taskset *ts)
{
    return build(ts, &cosmixture, "cosmixture");
}

static int build_alpine(struct amaml_taskset *ts)
{
    return build(ts, &alpine, "alpine");
}

const struct task_family task_family_sinusoid = {"sinusoid", build_sinusoid};
const struct task_family task_family_cosmixture = {"cosmixture", build_cosmixture};
const struct task_family task_family_alpine = {"alpine", build_alpine};
