/*
 * tasks.h - the internals of a task set shared by the families: all rows of
 * all tasks in one standardized table, and per task the rows of its pools.
 * A family is a builder that fills the table (synthetic.c, ratings.c); its
 * registration is one line in taskset.c.
 */
#ifndef AMAML_TASKS_TASKS_H
#define AMAML_TASKS_TASKS_H

#include "amaml.h"

/* rows [off, off + n) of the table */
struct task_rows {
    size_t off, n;
};

/*
 * A task's pools. Synthetic tasks have separate support and query pools
 * and a fixed test set. A shared task (a user of a rating data set) has one
 * pool `s`: support, query and test are drawn from it disjointly, the test
 * set being all that the support and query did not take.
 */
struct task_entry {
    struct task_rows s, q, t;
    int shared;
};

struct amaml_taskset {
    struct amaml_taskset_config cfg;
    size_t din;
    double *x;     /* [cap][din] all rows, standardized */
    double *y;     /* [cap] */
    double *base;  /* [cap] baseline prediction per row, or NULL */
    size_t nrows, cap;
    struct task_entry *tasks; /* the train tasks, then the test tasks */
    size_t ntrain, ntest, tcap;
    size_t max_task_rows;     /* the largest pool, for buffer sizes */
    double y_scale;
    char desc[256];
};

struct task_family {
    const char *name;
    /* Fills ts (din, rows, tasks, y_scale, desc) from ts->cfg. */
    int (*build)(struct amaml_taskset *ts);
};

extern const struct task_family task_family_sinusoid, task_family_cosmixture,
    task_family_alpine, task_family_movielens, task_family_movielens1m, task_family_jester;

/* Appends n rows (x: n x din, y: n; base may be NULL) and returns their
 * place in *rows. */
int taskset_add_rows(struct amaml_taskset *ts, const double *x, const double *y,
                     const double *base, size_t n, struct task_rows *rows);
/* Appends a task; all train tasks must come before the test tasks. */
int taskset_add_task(struct amaml_taskset *ts, const struct task_entry *e, enum amaml_split s);

/*
 * What a rating family computes before it fills the table (ratings.c),
 * apart so that the tests can check the split, the statistics and the
 * features themselves. Meta-test task i is user test[i].
 */
struct ratings_parts {
    struct amaml_ratings *data;
    size_t *train, *test;        /* dense user indices of the tasks, in task order */
    size_t ntrain, ntest, nleft; /* nleft: users left out for too few ratings */
    double mean, sd;             /* of the meta-train ratings */
    double *item_mean;           /* [nitems] over meta-train ratings; mean if none */
    double *feat;                /* [nitems][din] standardized item features */
    size_t din;
};

/* Loads cfg->data in the layout named cfg->family and computes the parts;
 * on failure *p is left empty (ratings_parts_free accepts it). */
int ratings_prepare(const struct amaml_taskset_config *cfg, struct ratings_parts *p);
void ratings_parts_free(struct ratings_parts *p);
/* The top k <= n right singular vectors of the m x n row-major R as the
 * columns of V (n x k row-major), largest singular value first, each signed
 * so that its entry of largest magnitude is positive. */
int ratings_top_right_singular(const double *R, size_t m, size_t n, size_t k, double *V);

#endif
