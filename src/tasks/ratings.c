/*
 * ratings.c - meta collaborative filtering families (placeholder until the
 * loaders land): each refuses with a clear message.
 */
#include "core/error.h"
#include "tasks/tasks.h"

static int not_yet(struct amaml_taskset *ts)
{
    return amaml_fail(AMAML_EINVAL, "task family '%s' is not available in this build",
                      ts->cfg.family);
}

const struct task_family task_family_movielens = {"movielens", not_yet};
const struct task_family task_family_movielens1m = {"movielens1m", not_yet};
const struct task_family task_family_jester = {"jester", not_yet};
