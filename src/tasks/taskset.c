/*
 * taskset.c - what all task families share: the table of rows, drawing a
 * task's support, query and test sets, buffers, and the family registry.
 */
#include "core/error.h"
#include "tasks/tasks.h"

#include <stdlib.h>
#include <string.h>

static const struct task_family *const families[] = {
    &task_family_sinusoid,  &task_family_cosmixture,  &task_family_alpine,
    &task_family_movielens, &task_family_movielens1m, &task_family_jester,
};

#define NFAMILIES (sizeof families / sizeof families[0])

const char *amaml_family_name(size_t i)
{
    return i < NFAMILIES ? families[i]->name : NULL;
}

void amaml_taskset_config_default(struct amaml_taskset_config *cfg)
{
    struct amaml_taskset_config d = {"cosmixture", 1, 50, 50, 1, 100, 100, 1000, NULL, 100};

    *cfg = d;
}

static int check_config(const struct amaml_taskset_config *c, const struct task_family **fam)
{
    *fam = NULL;
    for (size_t i = 0; c->family && i < NFAMILIES; i++)
        if (strcmp(families[i]->name, c->family) == 0)
            *fam = families[i];
    if (!*fam)
        return amaml_fail(AMAML_EINVAL, "unknown task family '%s' (sinusoid, cosmixture, "
                          "alpine, movielens, movielens1m, jester)",
                          c->family ? c->family : "(null)");
    if (c->shots == 0 || c->queries == 0)
        return amaml_fail(AMAML_EINVAL, "a task needs at least one support and one query "
                          "sample (shots %zu, queries %zu)", c->shots, c->queries);
    if (c->ntest == 0)
        return amaml_fail(AMAML_EINVAL, "at least one meta-test task is needed");
    return AMAML_OK;
}

struct amaml_taskset *amaml_taskset_create(const struct amaml_taskset_config *cfg)
{
    const struct task_family *fam;
    struct amaml_taskset *ts;

    if (!cfg) {
        amaml_fail(AMAML_EINVAL, "NULL task set configuration");
        return NULL;
    }
    if (check_config(cfg, &fam) != AMAML_OK)
        return NULL;
    if (!(ts = calloc(1, sizeof *ts))) {
        amaml_fail(AMAML_ENOMEM, "out of memory for a task set");
        return NULL;
    }
    ts->cfg = *cfg;
    ts->y_scale = 1;
    if (fam->build(ts) != AMAML_OK) {
        amaml_taskset_free(ts);
        return NULL;
    }
    if (ts->ntrain == 0 || ts->ntest == 0) {
        amaml_fail(AMAML_EINVAL, "%s: the data give %zu meta-train and %zu meta-test tasks",
                   cfg->family, ts->ntrain, ts->ntest);
        amaml_taskset_free(ts);
        return NULL;
    }
    return ts;
}

void amaml_taskset_free(struct amaml_taskset *ts)
{
    if (!ts)
        return;
    free(ts->x);
    free(ts->y);
    free(ts->base);
    free(ts->tasks);
    free(ts);
}

const struct amaml_taskset_config *amaml_taskset_get_config(const struct amaml_taskset *ts)
{
    return &ts->cfg;
}

size_t amaml_taskset_din(const struct amaml_taskset *ts)
{
    return ts->din;
}

size_t amaml_taskset_count(const struct amaml_taskset *ts, enum amaml_split split)
{
    return split == AMAML_TRAIN ? ts->ntrain : ts->ntest;
}

double amaml_taskset_y_scale(const struct amaml_taskset *ts)
{
    return ts->y_scale;
}

size_t amaml_taskset_max_rows(const struct amaml_taskset *ts)
{
    return ts->max_task_rows;
}

const char *amaml_taskset_describe(const struct amaml_taskset *ts)
{
    return ts->desc;
}

/* ------------------------------------------------------ building */

static int grow(void **p, size_t cap, size_t elem)
{
    void *q;

    if (cap > SIZE_MAX / elem || !(q = realloc(*p, cap * elem)))
        return amaml_fail(AMAML_ENOMEM, "out of memory building a task set");
    *p = q;
    return AMAML_OK;
}

int taskset_add_rows(struct amaml_taskset *ts, const double *x, const double *y,
                     const double *base, size_t n, struct task_rows *rows)
{
    size_t d = ts->din;

    if (ts->nrows + n > ts->cap) {
        size_t cap = ts->nrows + n > 2 * ts->cap ? ts->nrows + n : 2 * ts->cap;
        int rc = grow((void **)&ts->x, cap, d * sizeof *ts->x);

        if (rc == AMAML_OK)
            rc = grow((void **)&ts->y, cap, sizeof *ts->y);
        if (rc == AMAML_OK && (base || ts->base))
            rc = grow((void **)&ts->base, cap, sizeof *ts->base);
        if (rc != AMAML_OK)
            return rc;
        ts->cap = cap;
    }
    memcpy(ts->x + ts->nrows * d, x, n * d * sizeof *x);
    memcpy(ts->y + ts->nrows, y, n * sizeof *y);
    if (ts->base && base)
        memcpy(ts->base + ts->nrows, base, n * sizeof *base);
    rows->off = ts->nrows;
    rows->n = n;
    ts->nrows += n;
    return AMAML_OK;
}

int taskset_add_task(struct amaml_taskset *ts, const struct task_entry *e, enum amaml_split s)
{
    size_t n = ts->ntrain + ts->ntest, most;

    if (s == AMAML_TRAIN && ts->ntest > 0)
        return amaml_fail(AMAML_EINVAL, "internal: train tasks must come first");
    if (n == ts->tcap) {
        size_t cap = n ? 2 * n : 256;
        int rc = grow((void **)&ts->tasks, cap, sizeof *ts->tasks);

        if (rc != AMAML_OK)
            return rc;
        ts->tcap = cap;
    }
    ts->tasks[n] = *e;
    if (s == AMAML_TRAIN)
        ts->ntrain++;
    else
        ts->ntest++;
    most = e->s.n > e->q.n ? e->s.n : e->q.n;
    most = most > e->t.n ? most : e->t.n;
    ts->max_task_rows = most > ts->max_task_rows ? most : ts->max_task_rows;
    return AMAML_OK;
}

/* ------------------------------------------------------ drawing */

/* The public task first, so that a task pointer is its buffers; the
 * writable views of what the task's batches show read-only. */
struct task_buffers {
    struct amaml_task task;
    double *x[3], *y[3]; /* support, query, test: [max][din] and [max] */
    double *base;        /* [max] or NULL */
    double *mem;
    size_t *perm;        /* [max_task_rows] */
};

struct amaml_task *amaml_task_alloc(const struct amaml_taskset *ts)
{
    struct task_buffers *b = calloc(1, sizeof *b);
    size_t m = ts->max_task_rows, d = ts->din;
    double *p;

    if (!b || !(b->mem = malloc(m * (3 * d + 4) * sizeof *b->mem)) ||
        !(b->perm = malloc(m * sizeof *b->perm))) {
        amaml_task_free(b ? &b->task : NULL);
        amaml_fail(AMAML_ENOMEM, "out of memory for task buffers");
        return NULL;
    }
    p = b->mem;
    for (int i = 0; i < 3; i++) {
        b->x[i] = p, p += m * d;
        b->y[i] = p, p += m;
    }
    b->base = ts->base ? p : NULL;
    b->task.support = (struct amaml_batch){0, b->x[0], b->y[0]};
    b->task.query = (struct amaml_batch){0, b->x[1], b->y[1]};
    b->task.test = (struct amaml_batch){0, b->x[2], b->y[2]};
    b->task.base = b->base;
    return &b->task;
}

void amaml_task_free(struct amaml_task *task)
{
    struct task_buffers *b = (struct task_buffers *)task; /* task is its first member */

    if (!b)
        return;
    free(b->mem);
    free(b->perm);
    free(b);
}

/* The first k entries of a random permutation of n (partial Fisher-Yates). */
static void draw_indices(struct amaml_rng *rng, size_t n, size_t k, size_t *perm)
{
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = 0; i < k && i < n; i++) {
        size_t j = i + (size_t)(amaml_rng_uniform(rng) * (double)(n - i));
        size_t t = perm[i];

        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* Copies the rows off + idx[0..n) of the table into buffers `which` of b
 * (0 support, 1 query, 2 test) and sets that batch's size. */
static void gather(const struct amaml_taskset *ts, struct task_buffers *b, int which,
                   size_t off, const size_t *idx, size_t n)
{
    struct amaml_batch *batch[3] = {&b->task.support, &b->task.query, &b->task.test};
    size_t d = ts->din;

    for (size_t i = 0; i < n; i++) {
        size_t r = off + (idx ? idx[i] : i);

        memcpy(b->x[which] + i * d, ts->x + r * d, d * sizeof *ts->x);
        b->y[which][i] = ts->y[r];
        if (which == 2 && b->base)
            b->base[i] = ts->base[r];
    }
    batch[which]->n = n;
}

int amaml_taskset_draw(const struct amaml_taskset *ts, enum amaml_split split, size_t index,
                       struct amaml_rng *rng, struct amaml_task *task)
{
    struct task_buffers *b = (struct task_buffers *)task;
    const struct task_entry *e;
    size_t ks = ts->cfg.shots, kq = ts->cfg.queries;

    if (index >= amaml_taskset_count(ts, split))
        return amaml_fail(AMAML_EINVAL, "task %zu of %zu %s tasks", index,
                          amaml_taskset_count(ts, split), split ? "meta-test" : "meta-train");
    e = &ts->tasks[(split == AMAML_TEST ? ts->ntrain : 0) + index];
    if (e->shared) { /* one pool: support, query, then the rest as test */
        draw_indices(rng, e->s.n, ks + kq, b->perm);
        gather(ts, b, 0, e->s.off, b->perm, ks);
        gather(ts, b, 1, e->s.off, b->perm + ks, kq);
        if (split == AMAML_TEST)
            gather(ts, b, 2, e->s.off, b->perm + ks + kq, e->s.n - ks - kq);
        return AMAML_OK;
    }
    draw_indices(rng, e->s.n, ks, b->perm);
    gather(ts, b, 0, e->s.off, b->perm, ks);
    draw_indices(rng, e->q.n, kq, b->perm);
    gather(ts, b, 1, e->q.off, b->perm, kq);
    if (split == AMAML_TEST)
        gather(ts, b, 2, e->t.off, NULL, e->t.n);
    return AMAML_OK;
}
