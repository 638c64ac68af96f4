/*
 * eval.c - the meta-test protocol (the A-MAML paper's, after MAML's): per
 * meta-test task, fine-tune from an initialization on the task's support set
 * and record the test nRMSE along the way, and after the method's inner
 * rule; for the meta-learned and for a random initialization.
 *
 * Tasks run in parallel, one per thread at a time; per-task results go to
 * their own slots and are averaged in task order, so the figures do not
 * depend on the number of threads.
 */
#include "core/error.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

void amaml_eval_config_default(struct amaml_eval_config *cfg)
{
    struct amaml_eval_config d = {0, AMAML_ADAM, 1e-3, 1e-6, 1000, 10, 1, 0};

    *cfg = d;
}

void amaml_eval_result_clear(struct amaml_eval_result *r)
{
    struct amaml_eval_result z = {0};

    if (!r)
        return;
    free(r->meta.steps);
    free(r->meta.curve);
    free(r->random_init.steps);
    free(r->random_init.curve);
    *r = z;
}

/* What one thread needs. */
struct eval_worker {
    struct amaml_mlp *mlp;
    struct amaml_meta *meta;
    struct amaml_task *task;
    double *u, *g, *m, *v, *pred; /* [P] x 4, [test rows] */
};

struct eval_run {
    const struct amaml_eval_config *cfg;
    const struct amaml_taskset *ts;
    size_t P, ntasks, npoints;
    const double *init[2]; /* meta-learned, random */
    double *curves;        /* [2][ntasks][npoints] nRMSE */
    double *inner;         /* [2][ntasks] */
    double *base;          /* [ntasks] */
    int *status;           /* [ntasks] */
    char (*msg)[512];
};

/* RMSE of the network at u on the task's test set (standardized units). */
static int test_nrmse(struct eval_worker *w, const double *u, double *out)
{
    const struct amaml_batch *t = &w->task->test;
    double s = 0;
    int rc = amaml_mlp_forward(w->mlp, u, t->x, t->n, w->pred);

    if (rc != AMAML_OK)
        return rc;
    for (size_t i = 0; i < t->n; i++)
        s += (w->pred[i] - t->y[i]) * (w->pred[i] - t->y[i]);
    *out = sqrt(s / (double)t->n);
    return isfinite(*out) ? AMAML_OK
                          : amaml_fail(AMAML_ENONFINITE, "fine-tuning diverged (test nRMSE %g)",
                                       *out);
}

/* Fine-tunes from init, writing the curve; Adam as PyTorch's, with weight
 * decay added to the gradient. */
static int fine_tune(const struct eval_run *run, struct eval_worker *w, const double *init,
                     double *curve)
{
    const struct amaml_eval_config *c = run->cfg;
    size_t P = run->P;
    int rc = AMAML_OK;

    memcpy(w->u, init, P * sizeof *w->u);
    memset(w->m, 0, P * sizeof *w->m);
    memset(w->v, 0, P * sizeof *w->v);
    for (size_t k = 0; k <= c->adapt_steps && rc == AMAML_OK; k++) {
        double t = (double)k + 1, c1 = 1 - pow(0.9, t), c2 = 1 - pow(0.999, t);

        if (k % c->every == 0 && (rc = test_nrmse(w, w->u, &curve[k / c->every])))
            break;
        if (k == c->adapt_steps)
            break;
        if ((rc = amaml_mlp_grad(w->mlp, w->u, &w->task->support, NULL, w->g)))
            break;
        for (size_t p = 0; p < P; p++) {
            double g = w->g[p] + c->weight_decay * w->u[p];

            if (c->adapt == AMAML_SGD) {
                w->u[p] -= c->adapt_lr * g;
                continue;
            }
            w->m[p] = 0.9 * w->m[p] + 0.1 * g;
            w->v[p] = 0.999 * w->v[p] + 0.001 * g * g;
            w->u[p] -= c->adapt_lr * (w->m[p] / c1) / (sqrt(w->v[p] / c2) + 1e-8);
        }
    }
    return rc;
}

/* Task j: its draw, then both initializations' curves and inner rules. */
static int eval_task(struct eval_run *run, struct eval_worker *w, size_t j)
{
    struct amaml_objective obj = amaml_mlp_objective(w->mlp);
    struct amaml_rng rng;
    int rc;

    /* the seed and the task index fix the draw, whatever thread runs it */
    amaml_rng_seed(&rng, run->cfg->seed * 0x9e3779b97f4a7c15ULL + j + 1);
    if ((rc = amaml_taskset_draw(run->ts, AMAML_TEST, j, &rng, w->task)) != AMAML_OK)
        return rc;
    for (int a = 0; a < 2 && rc == AMAML_OK; a++) {
        double *curve = run->curves + ((size_t)a * run->ntasks + j) * run->npoints;

        rc = fine_tune(run, w, run->init[a], curve);
        if (rc == AMAML_OK)
            rc = amaml_meta_adapt(w->meta, &obj, run->init[a], &w->task->support, w->u);
        if (rc == AMAML_OK)
            rc = test_nrmse(w, w->u, &run->inner[(size_t)a * run->ntasks + j]);
    }
    if (rc == AMAML_OK && w->task->base) {
        const struct amaml_batch *t = &w->task->test;
        double s = 0;

        for (size_t i = 0; i < t->n; i++)
            s += (w->task->base[i] - t->y[i]) * (w->task->base[i] - t->y[i]);
        run->base[j] = sqrt(s / (double)t->n);
    }
    return rc;
}

static struct amaml_stat stat_of(const double *v, size_t n, size_t stride)
{
    struct amaml_stat s = {0, 0};
    double var = 0;

    for (size_t i = 0; i < n; i++)
        s.mean += v[i * stride];
    s.mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        var += (v[i * stride] - s.mean) * (v[i * stride] - s.mean);
    s.se = n > 1 ? sqrt(var / (double)(n - 1) / (double)n) : 0;
    return s;
}

static int make_worker(struct eval_worker *w, const struct amaml_mlp *mlp,
                       const struct amaml_meta_config *meta, const struct amaml_taskset *ts)
{
    size_t P = amaml_mlp_nparam(mlp);

    w->mlp = amaml_mlp_clone(mlp);
    w->meta = w->mlp ? amaml_meta_create(meta, P) : NULL;
    w->task = w->meta ? amaml_task_alloc(ts) : NULL;
    if (!w->task)
        return AMAML_EINVAL; /* the message is set */
    w->u = malloc(4 * P * sizeof *w->u);
    w->pred = malloc(amaml_taskset_max_rows(ts) * amaml_mlp_width(mlp, amaml_mlp_nwidths(mlp) - 1) *
                     sizeof *w->pred);
    if (!w->u || !w->pred)
        return amaml_fail(AMAML_ENOMEM, "out of memory for the evaluation");
    w->g = w->u + P, w->m = w->g + P, w->v = w->m + P;
    return AMAML_OK;
}

static void free_worker(struct eval_worker *w)
{
    amaml_task_free(w->task);
    amaml_meta_free(w->meta);
    amaml_mlp_free(w->mlp);
    free(w->u);
    free(w->pred);
}

static int fill_arm(struct amaml_eval_arm *arm, const struct eval_run *run, int a)
{
    arm->npoints = run->npoints;
    arm->steps = malloc(run->npoints * sizeof *arm->steps);
    arm->curve = malloc(run->npoints * sizeof *arm->curve);
    if (!arm->steps || !arm->curve)
        return amaml_fail(AMAML_ENOMEM, "out of memory for the evaluation");
    for (size_t k = 0; k < run->npoints; k++) {
        arm->steps[k] = k * run->cfg->every;
        arm->curve[k] = stat_of(run->curves + (size_t)a * run->ntasks * run->npoints + k,
                                run->ntasks, run->npoints);
    }
    arm->inner_rule = stat_of(run->inner + (size_t)a * run->ntasks, run->ntasks, 1);
    return AMAML_OK;
}

/* Runs every task on the workers; the first failure in task order wins. */
static int run_tasks(struct eval_run *run, struct eval_worker *w, int nthreads)
{
    long n = (long)run->ntasks;

#pragma omp parallel for num_threads(nthreads) schedule(dynamic)
    for (long j = 0; j < n; j++) {
        struct eval_worker *mine = &w[omp_get_thread_num()];

        run->status[j] = eval_task(run, mine, (size_t)j);
        if (run->status[j] != AMAML_OK)
            strncpy(run->msg[j], amaml_errmsg(), sizeof run->msg[j] - 1);
    }
    for (size_t j = 0; j < run->ntasks; j++)
        if (run->status[j] != AMAML_OK)
            return amaml_fail(run->status[j], "meta-test task %zu: %s", j + 1, run->msg[j]);
    return AMAML_OK;
}

static int check_eval_config(const struct amaml_eval_config *c, size_t count)
{
    if (c->every == 0 || c->adapt_steps % c->every != 0)
        return amaml_fail(AMAML_EINVAL, "the curve step %zu must divide the %zu fine-tuning "
                          "steps", c->every, c->adapt_steps);
    if (!(c->adapt_lr > 0) || !isfinite(c->adapt_lr) || !(c->weight_decay >= 0))
        return amaml_fail(AMAML_EINVAL, "fine-tuning rate %g must be positive and weight "
                          "decay %g >= 0", c->adapt_lr, c->weight_decay);
    if (c->ntasks > count)
        return amaml_fail(AMAML_EINVAL, "%zu meta-test tasks asked for, the task set has %zu",
                          c->ntasks, count);
    return AMAML_OK;
}

int amaml_eval_run(const struct amaml_mlp *mlp, const double *theta,
                   const struct amaml_meta_config *meta, const struct amaml_taskset *ts,
                   const struct amaml_eval_config *cfg, struct amaml_eval_result *out)
{
    struct eval_run run = {.cfg = cfg, .ts = ts, .P = amaml_mlp_nparam(mlp), .init = {theta}};
    int nthreads = cfg->threads > 0 ? cfg->threads : omp_get_max_threads();
    struct eval_worker *w = NULL;
    struct amaml_eval_result r = {0};
    double *random_init = NULL;
    struct amaml_rng rng;
    int rc;

    /* 1. settings and memory */
    if ((rc = check_eval_config(cfg, amaml_taskset_count(ts, AMAML_TEST))) != AMAML_OK)
        return rc;
    if (amaml_mlp_width(mlp, 0) != amaml_taskset_din(ts) ||
        amaml_mlp_width(mlp, amaml_mlp_nwidths(mlp) - 1) != 1)
        return amaml_fail(AMAML_EINVAL, "the model takes %zu inputs to %zu outputs; the tasks "
                          "have %zu inputs and one output", amaml_mlp_width(mlp, 0),
                          amaml_mlp_width(mlp, amaml_mlp_nwidths(mlp) - 1),
                          amaml_taskset_din(ts));
    run.ntasks = cfg->ntasks ? cfg->ntasks : amaml_taskset_count(ts, AMAML_TEST);
    run.npoints = cfg->adapt_steps / cfg->every + 1;
    run.curves = malloc(2 * run.ntasks * run.npoints * sizeof *run.curves);
    run.inner = malloc(2 * run.ntasks * sizeof *run.inner);
    run.base = calloc(run.ntasks, sizeof *run.base);
    run.status = calloc(run.ntasks, sizeof *run.status);
    run.msg = calloc(run.ntasks, sizeof *run.msg);
    random_init = malloc(run.P * sizeof *random_init);
    w = calloc((size_t)nthreads, sizeof *w);
    rc = run.curves && run.inner && run.base && run.status && run.msg && random_init && w
             ? AMAML_OK
             : amaml_fail(AMAML_ENOMEM, "out of memory for the evaluation");
    for (int i = 0; i < nthreads && rc == AMAML_OK; i++)
        rc = make_worker(&w[i], mlp, meta, ts);

    /* 2. the random initialization, then every task */
    if (rc == AMAML_OK) {
        amaml_rng_seed(&rng, cfg->seed ^ 0x5eed5eed5eed5eedULL);
        amaml_mlp_init(mlp, &rng, random_init);
        run.init[1] = random_init;
        rc = run_tasks(&run, w, nthreads);
    }

    /* 3. means and standard errors in task order */
    r.ntasks = run.ntasks;
    r.y_scale = amaml_taskset_y_scale(ts);
    if (rc == AMAML_OK)
        rc = fill_arm(&r.meta, &run, 0);
    if (rc == AMAML_OK)
        rc = fill_arm(&r.random_init, &run, 1);
    if (rc == AMAML_OK && (r.has_baseline = w[0].task->base != NULL))
        r.baseline = stat_of(run.base, run.ntasks, 1);

    for (int i = 0; w && i < nthreads; i++)
        free_worker(&w[i]);
    free(w);
    free(random_init);
    free(run.curves);
    free(run.inner);
    free(run.base);
    free(run.status);
    free(run.msg);
    if (rc != AMAML_OK) {
        amaml_eval_result_clear(&r);
        return rc;
    }
    *out = r;
    return AMAML_OK;
}
