/*
 * eval.c - `amaml eval`: the meta-test protocol on a saved model, for the
 * meta-learned and a random initialization, written as JSON (and a table on
 * stderr). The task family and its settings come from the model file unless
 * given on the command line.
 */
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/results.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>

static const char synopsis[] =
    "Evaluates a meta-trained model on meta-test tasks: fine-tunes from it on each\n"
    "task's support set and records the test nRMSE every --every steps, and after\n"
    "the method's inner rule; the same from a random initialization. Writes JSON.";

struct eval_args {
    const char *model, *out, *adapt, *data, *family;
    size_t shots, dim, ntest;
    struct amaml_eval_config ec;
    size_t threads;
    int quiet;
};

/* Overrides of the model's task settings (0 or NULL: keep the model's). */
static void override_task(const struct eval_args *a, struct amaml_model *m)
{
    if (a->family)
        snprintf(m->family, sizeof m->family, "%s", a->family);
    if (a->data)
        snprintf(m->data, sizeof m->data, "%s", a->data);
    m->task.family = m->family;
    m->task.data = m->data[0] ? m->data : NULL;
    if (a->shots)
        m->task.shots = a->shots;
    if (a->dim)
        m->task.dim = a->dim;
    if (a->ntest)
        m->task.ntest = a->ntest;
}

static void print_table(const struct amaml_model *m, const struct amaml_eval_result *r)
{
    const struct amaml_eval_arm *arm[2] = {&r->meta, &r->random_init};
    const char *name[2] = {m->method, "random init"};
    size_t last = r->meta.npoints - 1;

    fprintf(stderr, "%-14s %22s %22s %22s\n", "", "nRMSE at step 0", "after inner rule",
            "after fine-tuning");
    for (int i = 0; i < 2; i++)
        fprintf(stderr, "%-14s %14.4f +- %.4f %14.4f +- %.4f %14.4f +- %.4f\n", name[i],
                arm[i]->curve[0].mean, arm[i]->curve[0].se, arm[i]->inner_rule.mean,
                arm[i]->inner_rule.se, arm[i]->curve[last].mean, arm[i]->curve[last].se);
    if (r->has_baseline)
        fprintf(stderr, "%-14s %14.4f +- %.4f\n", "item mean", r->baseline.mean,
                r->baseline.se);
}

static int run(struct eval_args *a)
{
    struct amaml_model m;
    struct amaml_taskset *ts = NULL;
    struct amaml_mlp *mlp = NULL;
    struct amaml_eval_result res;
    json_t *o;
    int rc = CLI_EXIT_FAIL;

    if (amaml_model_load(a->model, &m) != AMAML_OK)
        return cli_error("eval", CLI_EXIT_FAIL, "%s", amaml_errmsg());
    override_task(a, &m);
    if (!(ts = amaml_taskset_create(&m.task)) || !(mlp = amaml_model_mlp(&m)) ||
        amaml_eval_run(mlp, m.theta, &m.meta, ts, &a->ec, &res) != AMAML_OK) {
        cli_error("eval", CLI_EXIT_FAIL, "%s", amaml_errmsg());
        goto done;
    }
    o = cli_json_eval(&res);
    if (o) {
        json_object_set_new(o, "task", cli_json_task(&m));
        json_object_set_new(o, "model", json_string(a->model));
        json_object_set_new(o, "method", json_string(m.meta.method));
        json_object_set_new(o, "adapt", json_pack("{s:s, s:f, s:f, s:I, s:I, s:I}", "optimizer",
                                                  a->adapt, "lr", a->ec.adapt_lr,
                                                  "weight_decay", a->ec.weight_decay, "steps",
                                                  (json_int_t)a->ec.adapt_steps, "every",
                                                  (json_int_t)a->ec.every, "seed",
                                                  (json_int_t)a->ec.seed));
    }
    rc = cli_json_write("eval", o, a->out);
    if (rc == CLI_EXIT_OK && !a->quiet) {
        fprintf(stderr, "amaml eval: %s on %zu meta-test tasks (%s)\n", a->model, res.ntasks,
                amaml_taskset_describe(ts));
        print_table(&m, &res);
        fprintf(stderr, "wrote %s\n", a->out);
    }
    amaml_eval_result_clear(&res);
done:
    amaml_mlp_free(mlp);
    amaml_taskset_free(ts);
    amaml_model_clear(&m);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    struct eval_args a = {.adapt = "adam"};
    const struct cli_opt opts[] = {
        {"model", CLI_STR, &a.model, "FILE", "a model file from amaml train (required)"},
        {"out", CLI_STR, &a.out, "FILE", "where to write the JSON results (required)"},
        {"test-tasks", CLI_SIZE, &a.ec.ntasks, "N", "meta-test tasks (default: all)"},
        {"adapt", CLI_STR, &a.adapt, "NAME", "fine-tuning optimizer adam|sgd (default adam)"},
        {"adapt-lr", CLI_DOUBLE, &a.ec.adapt_lr, "R", "fine-tuning rate (default 1e-3)"},
        {"adapt-steps", CLI_SIZE, &a.ec.adapt_steps, "N", "fine-tuning steps (default 1000)"},
        {"weight-decay", CLI_DOUBLE, &a.ec.weight_decay, "W", "L2 weight decay (default 1e-6)"},
        {"every", CLI_SIZE, &a.ec.every, "K", "curve resolution in steps (default 10)"},
        {"seed", CLI_U64, &a.ec.seed, "S", "task draws and random init (default 1)"},
        {"threads", CLI_SIZE, &a.threads, "T", "threads (default: all cores)"},
        {"task", CLI_STR, &a.family, "NAME", "task family (default: the model's)"},
        {"data", CLI_STR, &a.data, "FILE", "rating file (default: the model's)"},
        {"shots", CLI_SIZE, &a.shots, "K", "support samples (default: the model's)"},
        {"dim", CLI_SIZE, &a.dim, "D", "input dimension (default: the model's)"},
        {"ntest", CLI_SIZE, &a.ntest, "N", "meta-test functions or users (the model's)"},
        {"quiet", CLI_FLAG, &a.quiet, NULL, "no table on stderr"},
    };
    int rc;

    amaml_eval_config_default(&a.ec);
    rc = cli_parse(argc, argv, "eval", synopsis, opts, sizeof opts / sizeof opts[0]);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (!a.model || !a.out)
        return cli_error("eval", CLI_EXIT_USAGE, "--model and --out are required");
    if (strcmp(a.adapt, "adam") != 0 && strcmp(a.adapt, "sgd") != 0)
        return cli_error("eval", CLI_EXIT_USAGE, "--adapt: unknown '%s' (adam, sgd)", a.adapt);
    a.ec.adapt = strcmp(a.adapt, "sgd") == 0 ? AMAML_SGD : AMAML_ADAM;
    a.ec.threads = (int)(a.threads > 1024 ? 1024 : a.threads);
    openblas_set_num_threads(1); /* tasks run in parallel; see train.c */
    return run(&a);
}
