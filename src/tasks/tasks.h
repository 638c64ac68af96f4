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

#endif
