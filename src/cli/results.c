/*
 * results.c - the CLI's result files: JSON objects (with Jansson) of a run's
 * settings and of meta-test results, written atomically, and the rewrite of
 * a CSV log up to a step when a run resumes.
 */
#include "cli/results.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

json_t *cli_json_task(const struct amaml_model *m)
{
    const struct amaml_taskset_config *t = &m->task;

    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s?}", "family", t->family,
                     "dim", (json_int_t)t->dim, "shots", (json_int_t)t->shots, "queries",
                     (json_int_t)t->queries, "seed", (json_int_t)t->seed, "ntrain",
                     (json_int_t)t->ntrain, "ntest", (json_int_t)t->ntest, "pool",
                     (json_int_t)t->pool, "data", t->data);
}

json_t *cli_json_settings(const struct amaml_model *m)
{
    const struct amaml_meta_config *c = &m->meta;
    const struct amaml_train_config *t = &m->train;
    const char *ck[] = {"all", "every", "binomial"};

    return json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:I, s:f, s:f, s:s, s:I, s:I, s:f,"
                     " s:f, s:I, s:s, s:f, s:I, s:I}",
                     "arch", m->arch, "act", m->act, "task", cli_json_task(m), "method",
                     c->method, "solver", c->solver, "adjoint",
                     c->adjoint == AMAML_ADJOINT_DISCRETE ? "discrete" : "continuous",
                     "backward", c->backward, "steps", (json_int_t)c->steps, "inner_lr",
                     c->inner_lr, "prox", c->prox, "checkpoint", ck[c->checkpoint],
                     "checkpoint_arg", (json_int_t)c->checkpoint_arg, "cg_steps",
                     (json_int_t)c->cg_steps, "cg_damping", c->cg_damping, "imaml_lambda",
                     c->imaml_lambda, "meta_batch", (json_int_t)t->meta_batch, "optimizer",
                     t->opt == AMAML_ADAM ? "adam" : "sgd", "meta_lr", t->meta_lr,
                     "meta_steps", (json_int_t)t->meta_steps, "seed", (json_int_t)t->seed);
}

static json_t *stat_json(struct amaml_stat s, double scale)
{
    return json_pack("{s:f, s:f, s:f, s:f}", "mean", s.mean, "stderr", s.se, "rmse_mean",
                     s.mean * scale, "rmse_stderr", s.se * scale);
}

static json_t *arm_json(const struct amaml_eval_arm *a, double scale)
{
    json_t *curve = json_array();

    for (size_t k = 0; k < a->npoints; k++) {
        json_t *p = stat_json(a->curve[k], scale);

        json_object_set_new(p, "step", json_integer((json_int_t)a->steps[k]));
        json_array_append_new(curve, p);
    }
    return json_pack("{s:o, s:o}", "curve", curve, "inner_rule",
                     stat_json(a->inner_rule, scale));
}

json_t *cli_json_eval(const struct amaml_eval_result *r)
{
    json_t *o = json_pack("{s:I, s:f, s:o, s:o}", "n_tasks", (json_int_t)r->ntasks,
                          "y_scale", r->y_scale, "meta", arm_json(&r->meta, r->y_scale),
                          "random_init", arm_json(&r->random_init, r->y_scale));

    if (o && r->has_baseline)
        json_object_set_new(o, "item_mean", stat_json(r->baseline, r->y_scale));
    return o;
}

int cli_json_write(const char *cmd, json_t *obj, const char *path)
{
    char tmp[4096];
    int rc;

    if (!obj)
        return cli_error(cmd, CLI_EXIT_FAIL, "%s: out of memory building JSON", path);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    rc = json_dump_file(obj, tmp, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
    json_decref(obj);
    if (rc != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        return cli_error(cmd, CLI_EXIT_FAIL, "%s: cannot write: %s", path, strerror(errno));
    }
    return CLI_EXIT_OK;
}

int cli_csv_truncate(const char *cmd, const char *path, uint64_t step)
{
    char tmp[4096], *line = NULL;
    size_t cap = 0;
    FILE *in = fopen(path, "r"), *out;
    int ok = 1;

    if (!in)
        return CLI_EXIT_OK; /* nothing logged yet */
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (!(out = fopen(tmp, "w"))) {
        fclose(in);
        return cli_error(cmd, CLI_EXIT_FAIL, "%s: cannot write: %s", tmp, strerror(errno));
    }
    while (getline(&line, &cap, in) > 0) {
        char *end;
        unsigned long long s = strtoull(line, &end, 10);

        /* the header, and rows up to the saved step */
        if (end == line || (*end == ',' && s <= step))
            ok &= fputs(line, out) >= 0;
    }
    free(line);
    fclose(in);
    ok &= fclose(out) == 0;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return cli_error(cmd, CLI_EXIT_FAIL, "%s: cannot rewrite: %s", path, strerror(errno));
    }
    return CLI_EXIT_OK;
}
