/*
 * trainer.c - the meta-training loop: a meta-step draws a meta-batch of
 * tasks, computes their meta-gradients in parallel, averages them in a fixed
 * order and updates the initialization with SGD or Adam (Kingma and Ba
 * 2015).
 *
 * Reproducibility: the tasks of a meta-step are drawn one after another from
 * the run's random-number state before any parallel work, each task's
 * meta-gradient is computed by one thread alone, and the average is summed in
 * task order. So the parameters after any step do not depend on the number
 * of threads, and a run resumed from a saved state continues exactly.
 */
#include "core/error.h"
#include "train/train.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* What one thread needs for a task: its own model scratch and workspace. */
struct worker {
    struct amaml_mlp *mlp;
    struct amaml_meta *meta;
};

struct amaml_trainer {
    struct amaml_model m;
    const struct amaml_taskset *ts;
    int nthreads;
    struct worker *workers;      /* [nthreads] */
    struct amaml_task **tasks;   /* [meta_batch] */
    double *grads;               /* [meta_batch][nparam] */
    struct amaml_meta_result *res; /* [meta_batch] */
    int *status;                 /* [meta_batch] */
    char (*msg)[512];            /* [meta_batch] the failing task's message */
    double *g;                   /* [nparam] the averaged meta-gradient */
};

static int copy_state(struct amaml_model *dst, const struct amaml_model *src)
{
    size_t bytes = src->nparam * sizeof(double);

    *dst = *src;
    dst->theta = malloc(bytes);
    dst->opt_m = calloc(src->nparam, sizeof(double));
    dst->opt_v = calloc(src->nparam, sizeof(double));
    if (!dst->theta || !dst->opt_m || !dst->opt_v)
        return amaml_fail(AMAML_ENOMEM, "out of memory for %zu parameters", src->nparam);
    if (src->theta)
        memcpy(dst->theta, src->theta, bytes);
    if (src->opt_m)
        memcpy(dst->opt_m, src->opt_m, bytes);
    if (src->opt_v)
        memcpy(dst->opt_v, src->opt_v, bytes);
    model_relink(dst); /* point into our own copy */
    return AMAML_OK;
}

static int make_workers(struct amaml_trainer *tr)
{
    struct amaml_mlp *proto = amaml_model_mlp(&tr->m);

    if (!proto)
        return AMAML_EINVAL;
    if (!(tr->workers = calloc((size_t)tr->nthreads, sizeof *tr->workers))) {
        amaml_mlp_free(proto);
        return amaml_fail(AMAML_ENOMEM, "out of memory for workers");
    }
    for (int i = 0; i < tr->nthreads; i++) {
        struct worker *w = &tr->workers[i];

        w->mlp = i == 0 ? proto : amaml_mlp_clone(proto);
        w->meta = w->mlp ? amaml_meta_create(&tr->m.meta, tr->m.nparam) : NULL;
        if (!w->meta)
            return AMAML_EINVAL; /* the message is set */
    }
    return AMAML_OK;
}

static int make_buffers(struct amaml_trainer *tr)
{
    size_t B = tr->m.train.meta_batch, P = tr->m.nparam;

    tr->tasks = calloc(B, sizeof *tr->tasks);
    tr->grads = malloc(B * P * sizeof *tr->grads);
    tr->res = calloc(B, sizeof *tr->res);
    tr->status = calloc(B, sizeof *tr->status);
    tr->msg = calloc(B, sizeof *tr->msg);
    tr->g = malloc(P * sizeof *tr->g);
    if (!tr->tasks || !tr->grads || !tr->res || !tr->status || !tr->msg || !tr->g)
        return amaml_fail(AMAML_ENOMEM, "out of memory for a meta-batch of %zu", B);
    for (size_t b = 0; b < B; b++)
        if (!(tr->tasks[b] = amaml_task_alloc(tr->ts)))
            return AMAML_ENOMEM;
    return AMAML_OK;
}

static int check_init(const struct amaml_model *m, const struct amaml_taskset *ts)
{
    const struct amaml_train_config *t = &m->train;
    struct amaml_mlp *mlp = amaml_model_mlp(m);
    size_t din = mlp ? amaml_mlp_width(mlp, 0) : 0;

    amaml_mlp_free(mlp);
    if (!mlp)
        return AMAML_EINVAL;
    if (din != amaml_taskset_din(ts))
        return amaml_fail(AMAML_EINVAL, "the model %s takes %zu inputs, the tasks have %zu",
                          m->arch, din, amaml_taskset_din(ts));
    if (t->meta_batch == 0 || t->meta_batch > 100000)
        return amaml_fail(AMAML_EINVAL, "meta-batch %zu must be 1 to 100000", t->meta_batch);
    if (!(t->meta_lr > 0) || !isfinite(t->meta_lr))
        return amaml_fail(AMAML_EINVAL, "meta learning rate %g must be positive", t->meta_lr);
    if (t->opt != AMAML_SGD && t->opt != AMAML_ADAM)
        return amaml_fail(AMAML_EINVAL, "unknown meta-optimizer code %d", (int)t->opt);
    return AMAML_OK;
}

struct amaml_trainer *amaml_trainer_create(const struct amaml_model *init,
                                           const struct amaml_taskset *ts, int threads)
{
    struct amaml_trainer *tr;
    int rc;

    if (!init || !ts) {
        amaml_fail(AMAML_EINVAL, "amaml_trainer_create: NULL argument");
        return NULL;
    }
    if (check_init(init, ts) != AMAML_OK)
        return NULL;
    if (!(tr = calloc(1, sizeof *tr))) {
        amaml_fail(AMAML_ENOMEM, "out of memory for a trainer");
        return NULL;
    }
    tr->ts = ts;
    tr->nthreads = threads > 0 ? threads : omp_get_max_threads();
    rc = copy_state(&tr->m, init);
    if (rc == AMAML_OK && !init->theta) { /* a fresh run */
        struct amaml_mlp *mlp = amaml_model_mlp(init);

        amaml_rng_seed(&tr->m.rng, init->train.seed);
        amaml_mlp_init(mlp, &tr->m.rng, tr->m.theta);
        amaml_mlp_free(mlp);
        tr->m.step = 0;
    }
    if (rc == AMAML_OK)
        rc = make_workers(tr);
    if (rc == AMAML_OK)
        rc = make_buffers(tr);
    if (rc != AMAML_OK) {
        amaml_trainer_free(tr);
        return NULL;
    }
    return tr;
}

void amaml_trainer_free(struct amaml_trainer *tr)
{
    if (!tr)
        return;
    for (int i = 0; tr->workers && i < tr->nthreads; i++) {
        amaml_meta_free(tr->workers[i].meta);
        amaml_mlp_free(tr->workers[i].mlp);
    }
    for (size_t b = 0; tr->tasks && b < tr->m.train.meta_batch; b++)
        amaml_task_free(tr->tasks[b]);
    free(tr->workers);
    free(tr->tasks);
    free(tr->grads);
    free(tr->res);
    free(tr->status);
    free(tr->msg);
    free(tr->g);
    amaml_model_clear(&tr->m);
    free(tr);
}

const struct amaml_model *amaml_trainer_model(const struct amaml_trainer *tr)
{
    return &tr->m;
}

/* ------------------------------------------------------- a meta-step */

/* Task b's meta-gradient on the calling thread's worker. */
static void task_grad(struct amaml_trainer *tr, struct worker *w, size_t b)
{
    struct amaml_objective obj = amaml_mlp_objective(w->mlp);
    const struct amaml_task *t = tr->tasks[b];
    double *g = tr->grads + b * tr->m.nparam;

    tr->status[b] = amaml_meta_grad(w->meta, &obj, tr->m.theta, &t->support, &t->query, g,
                                    &tr->res[b]);
    if (tr->status[b] != AMAML_OK)
        strncpy(tr->msg[b], amaml_errmsg(), sizeof tr->msg[b] - 1);
}

static void meta_batch_grads(struct amaml_trainer *tr)
{
    long B = (long)tr->m.train.meta_batch;

#pragma omp parallel for num_threads(tr->nthreads) schedule(static)
    for (long b = 0; b < B; b++)
        task_grad(tr, &tr->workers[omp_get_thread_num()], (size_t)b);
}

/* The average in task order, and the first failure or non-finite value. */
static int reduce(struct amaml_trainer *tr, struct amaml_step_stats *st)
{
    size_t B = tr->m.train.meta_batch, P = tr->m.nparam;
    double norm = 0;

    memset(st, 0, sizeof *st);
    memset(tr->g, 0, P * sizeof *tr->g);
    for (size_t b = 0; b < B; b++) {
        const double *gb = tr->grads + b * P;

        if (tr->status[b] != AMAML_OK)
            return amaml_fail(tr->status[b], "meta-step %llu, task %zu of the meta-batch: %s",
                              (unsigned long long)tr->m.step + 1, b + 1, tr->msg[b]);
        for (size_t p = 0; p < P; p++)
            tr->g[p] += gb[p];
        st->loss += tr->res[b].loss;
        st->dJdT += tr->res[b].dJdT;
        st->grads += tr->res[b].grads;
        st->hvps += tr->res[b].hvps;
        if (tr->res[b].state_bytes > st->state_bytes)
            st->state_bytes = tr->res[b].state_bytes;
    }
    for (size_t p = 0; p < P; p++) {
        tr->g[p] /= (double)B;
        norm += tr->g[p] * tr->g[p];
    }
    st->loss /= (double)B;
    st->dJdT /= (double)B;
    st->grad_norm = sqrt(norm);
    if (!isfinite(st->loss) || !isfinite(st->grad_norm))
        return amaml_fail(AMAML_ENONFINITE, "meta-step %llu: the meta-%s is not finite (%g): "
                          "the run diverged; lower --meta-lr or --inner-lr",
                          (unsigned long long)tr->m.step + 1,
                          isfinite(st->loss) ? "gradient" : "loss",
                          isfinite(st->loss) ? st->grad_norm : st->loss);
    return AMAML_OK;
}

/* theta -= lr g (SGD), or the bias-corrected Adam update. */
static void update(struct amaml_trainer *tr)
{
    const struct amaml_train_config *c = &tr->m.train;
    size_t P = tr->m.nparam;
    double t = (double)(tr->m.step + 1);
    double c1 = 1 - pow(c->adam_beta1, t), c2 = 1 - pow(c->adam_beta2, t);

    for (size_t p = 0; p < P; p++) {
        double g = tr->g[p];

        if (c->opt == AMAML_SGD) {
            tr->m.theta[p] -= c->meta_lr * g;
            continue;
        }
        tr->m.opt_m[p] = c->adam_beta1 * tr->m.opt_m[p] + (1 - c->adam_beta1) * g;
        tr->m.opt_v[p] = c->adam_beta2 * tr->m.opt_v[p] + (1 - c->adam_beta2) * g * g;
        tr->m.theta[p] -= c->meta_lr * (tr->m.opt_m[p] / c1) /
                          (sqrt(tr->m.opt_v[p] / c2) + c->adam_eps);
    }
}

int amaml_trainer_step(struct amaml_trainer *tr, struct amaml_step_stats *stats)
{
    size_t B = tr->m.train.meta_batch, ntrain = amaml_taskset_count(tr->ts, AMAML_TRAIN);
    struct amaml_rng saved = tr->m.rng;
    struct amaml_step_stats st;
    int rc = AMAML_OK;

    /* 1. draw the meta-batch in order from the run's random state */
    for (size_t b = 0; b < B && rc == AMAML_OK; b++) {
        size_t i = (size_t)(amaml_rng_uniform(&tr->m.rng) * (double)ntrain);

        rc = amaml_taskset_draw(tr->ts, AMAML_TRAIN, i, &tr->m.rng, tr->tasks[b]);
    }

    /* 2. the meta-gradients in parallel, 3. their average in order */
    if (rc == AMAML_OK) {
        meta_batch_grads(tr);
        rc = reduce(tr, &st);
    }
    if (rc != AMAML_OK) {
        tr->m.rng = saved; /* the state stays that before the step */
        return rc;
    }

    /* 4. the update */
    update(tr);
    tr->m.step++;
    st.step = tr->m.step;
    if (stats)
        *stats = st;
    return AMAML_OK;
}
