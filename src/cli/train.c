/*
 * train.c - `amaml train`: meta-training on a task family, with progress,
 * checkpoints, resumption, and evaluation along the way. Writes into the
 * --out directory:
 *   model.amaml   the model and training state (atomic; the last good one
 *                 is kept when a run diverges or is interrupted)
 *   train.csv     step, meta-loss, gradient norm, dJ/dT, seconds per step
 *   eval.csv      every --eval-every steps: the meta-test nRMSE after the
 *                 inner rule, and before any adaptation
 *   summary.json  settings, final figures, time, how the run ended
 */
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/results.h"

#include <cblas.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char synopsis[] =
    "Meta-trains an initialization on a task family with the chosen method and\n"
    "writes model.amaml, train.csv, eval.csv and summary.json into --out. With\n"
    "--resume, continues the run saved in --out with its own settings (only\n"
    "--meta-steps, --threads, --eval-every, --save-every and --quiet may be given).";

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct train_args {
    struct cli_task task;
    struct cli_method method;
    struct amaml_train_config train;
    const char *out, *optimizer;
    size_t eval_every, save_every, threads, meta_steps;
    int resume, quiet;
};

struct run {
    const struct train_args *a;
    struct amaml_trainer *tr;
    const struct amaml_taskset *ts;
    struct amaml_mlp *mlp;
    char path[3][4096]; /* model, train.csv, eval.csv */
    FILE *log, *evlog;
    double t0, last_draw;
    uint64_t first, last; /* steps at start and planned end */
    struct amaml_step_stats st;
    double eval_inner, eval_init;
    int have_eval;
};

/* ------------------------------------------------------------ progress */

static void progress(struct run *r, int force)
{
    double now = cli_now(), el = now - r->t0, frac;
    uint64_t done = r->st.step - r->first, todo = r->last - r->first;
    char left[32], spent[32], bar[31];
    int n;

    if (r->a->quiet || !isatty(2) || (!force && now - r->last_draw < 0.2))
        return;
    r->last_draw = now;
    frac = todo ? (double)done / (double)todo : 1;
    n = (int)(frac * 30);
    memset(bar, '#', (size_t)n);
    memset(bar + n, '.', (size_t)(30 - n));
    bar[30] = '\0';
    fprintf(stderr, "\r[%s] %llu/%llu loss %.4g  %s elapsed, %s left ", bar,
            (unsigned long long)r->st.step, (unsigned long long)r->last, r->st.loss,
            cli_format_seconds(el, spent, sizeof spent),
            cli_format_seconds(done ? el / (double)done * (double)(todo - done) : -1, left,
                               sizeof left));
    fflush(stderr);
}

/* Clears a progress bar on a terminal before a line is written. */
static void clear_bar(void)
{
    if (isatty(2))
        fprintf(stderr, "\r%90s\r", "");
}

/* A line of the log, unless --quiet. */
static void say(const struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(const struct run *r, const char *fmt, ...)
{
    va_list ap;

    if (r->a->quiet)
        return;
    clear_bar();
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ------------------------------------------------------------ the run */

/* The nRMSE of the initialization on meta-test tasks: after the inner rule
 * and before any adaptation (no fine-tuning: cheap enough to run often). */
static int evaluate(struct run *r)
{
    const struct amaml_model *m = amaml_trainer_model(r->tr);
    struct amaml_eval_config ec;
    struct amaml_eval_result res;
    int rc;

    amaml_eval_config_default(&ec);
    ec.adapt_steps = 0;
    ec.threads = (int)r->a->threads;
    if ((rc = amaml_eval_run(r->mlp, m->theta, &m->meta, r->ts, &ec, &res)) != AMAML_OK)
        return cli_error("train", CLI_EXIT_FAIL, "evaluation at meta-step %llu: %s",
                         (unsigned long long)m->step, amaml_errmsg());
    r->eval_inner = res.meta.inner_rule.mean;
    r->eval_init = res.meta.curve[0].mean;
    r->have_eval = 1;
    fprintf(r->evlog, "%llu,%.10g,%.10g,%.10g,%.10g\n", (unsigned long long)m->step,
            res.meta.inner_rule.mean, res.meta.inner_rule.se, res.meta.curve[0].mean,
            res.meta.curve[0].se);
    fflush(r->evlog);
    say(r, "meta-step %llu: loss %.5g, meta-test nRMSE after the inner rule %.4f (at the "
        "initialization %.4f)", (unsigned long long)m->step, r->st.loss, r->eval_inner,
        r->eval_init);
    amaml_eval_result_clear(&res);
    return CLI_EXIT_OK;
}

static int save(const struct run *r)
{
    if (amaml_model_save(amaml_trainer_model(r->tr), r->path[0]) != AMAML_OK)
        return cli_error("train", CLI_EXIT_FAIL, "%s", amaml_errmsg());
    return CLI_EXIT_OK;
}

static int write_summary(const struct run *r, const char *status, double seconds)
{
    const struct amaml_model *m = amaml_trainer_model(r->tr);
    char path[4096];
    json_t *o = json_pack("{s:o, s:s, s:I, s:f, s:f, s:f}", "settings", cli_json_settings(m),
                          "status", status, "meta_steps_done", (json_int_t)m->step,
                          "final_loss", isfinite(r->st.loss) ? r->st.loss : -1, "seconds",
                          seconds, "seconds_per_step",
                          m->step > r->first ? seconds / (double)(m->step - r->first) : 0);

    if (o && r->have_eval)
        json_object_set_new(o, "final_eval",
                            json_pack("{s:f, s:f}", "inner_rule_nrmse", r->eval_inner,
                                      "init_nrmse", r->eval_init));
    snprintf(path, sizeof path, "%s/summary.json", r->a->out);
    return cli_json_write("train", o, path);
}

/* The loop: step, log, evaluate, save; stops early on a signal or divergence. */
static int loop(struct run *r, const char **status)
{
    const struct train_args *a = r->a;
    int rc = CLI_EXIT_OK;

    while (r->st.step < r->last && !stop_requested) {
        double t = cli_now();

        if (amaml_trainer_step(r->tr, &r->st) != AMAML_OK) {
            clear_bar();
            cli_error("train", 0, "%s; the last good state is kept in %s", amaml_errmsg(),
                      r->path[0]);
            *status = "diverged";
            fflush(r->log);
            save(r);
            return CLI_EXIT_FAIL;
        }
        fprintf(r->log, "%llu,%.10g,%.10g,%.10g,%.6f\n", (unsigned long long)r->st.step,
                r->st.loss, r->st.grad_norm, r->st.dJdT, cli_now() - t);
        if (a->eval_every && r->st.step % a->eval_every == 0 && (rc = evaluate(r)))
            return rc;
        if (a->save_every && r->st.step % a->save_every == 0) {
            fflush(r->log);
            if ((rc = save(r)) != CLI_EXIT_OK)
                return rc;
        }
        progress(r, 0);
    }
    progress(r, 1);
    *status = stop_requested ? "interrupted" : "completed";
    fflush(r->log);
    return save(r);
}

static int open_logs(struct run *r, int resume)
{
    const char *hdr[2] = {"step,loss,grad_norm,dJdT,seconds\n",
                          "step,inner_rule_nrmse,inner_rule_stderr,init_nrmse,init_stderr\n"};
    FILE **f[2] = {&r->log, &r->evlog};

    for (int i = 0; i < 2; i++) {
        if (resume && cli_csv_truncate("train", r->path[i + 1], r->first) != CLI_EXIT_OK)
            return CLI_EXIT_FAIL;
        *f[i] = fopen(r->path[i + 1], resume ? "a" : "w");
        if (!*f[i])
            return cli_error("train", CLI_EXIT_FAIL, "%s: cannot write", r->path[i + 1]);
        if (!resume)
            fputs(hdr[i], *f[i]);
    }
    return CLI_EXIT_OK;
}

/* Builds the run from the model state m (fresh or loaded) and trains. */
static int train(const struct train_args *a, struct amaml_model *m, int resume)
{
    struct run r = {.a = a};
    struct amaml_taskset *ts = NULL;
    const char *status = "failed";
    double t0 = cli_now();
    int rc = CLI_EXIT_FAIL;

    snprintf(r.path[0], sizeof r.path[0], "%s/model.amaml", a->out);
    snprintf(r.path[1], sizeof r.path[1], "%s/train.csv", a->out);
    snprintf(r.path[2], sizeof r.path[2], "%s/eval.csv", a->out);
    if (a->meta_steps)
        m->train.meta_steps = a->meta_steps;
    if (!(ts = amaml_taskset_create(&m->task)) || !(r.mlp = amaml_model_mlp(m)) ||
        !(r.tr = amaml_trainer_create(m, ts, (int)a->threads))) {
        cli_error("train", CLI_EXIT_FAIL, "%s", amaml_errmsg());
        goto done;
    }
    r.ts = ts;
    r.first = r.st.step = amaml_trainer_model(r.tr)->step;
    r.last = m->train.meta_steps;
    r.t0 = cli_now();
    if (open_logs(&r, resume) != CLI_EXIT_OK)
        goto done;
    if (!a->quiet)
        fprintf(stderr, "amaml train: %s; %s %s, %s; %s %llu to %llu into %s\n",
                amaml_taskset_describe(ts), m->arch, m->act, m->meta.method,
                resume ? "resuming, meta-steps" : "meta-steps", (unsigned long long)r.first,
                (unsigned long long)r.last, a->out);
    rc = loop(&r, &status);
    if (rc == CLI_EXIT_OK && a->eval_every && !r.have_eval)
        rc = evaluate(&r);
    if (write_summary(&r, status, cli_now() - t0) != CLI_EXIT_OK)
        rc = CLI_EXIT_FAIL;
    if (!a->quiet && rc == CLI_EXIT_OK)
        fprintf(stderr, "\namaml train: %s after meta-step %llu, final loss %.5g; wrote %s\n",
                status, (unsigned long long)r.st.step, r.st.loss, r.path[0]);
    if (stop_requested && rc == CLI_EXIT_OK)
        rc = 130; /* the shell's code for an interrupted job */
done:
    if (r.log)
        fclose(r.log);
    if (r.evlog)
        fclose(r.evlog);
    amaml_trainer_free(r.tr);
    amaml_mlp_free(r.mlp);
    amaml_taskset_free(ts);
    return rc;
}

/* ------------------------------------------------------------ options */

static int start_fresh(struct train_args *a)
{
    struct amaml_model m;
    struct amaml_mlp *mlp = NULL;
    char arch[128];
    int rc;

    if ((rc = cli_task_finish("train", &a->task, arch, sizeof arch, &mlp)) != CLI_EXIT_OK)
        return rc;
    rc = amaml_model_init(&m, mlp, &a->task.cfg, &a->method.cfg, &a->train);
    amaml_mlp_free(mlp);
    if (rc != AMAML_OK)
        return cli_error("train", CLI_EXIT_USAGE, "%s", amaml_errmsg());
    if ((rc = cli_make_dir("train", a->out)) != CLI_EXIT_OK)
        return rc;
    rc = train(a, &m, 0);
    amaml_model_clear(&m);
    return rc;
}

static int resume(struct train_args *a)
{
    struct amaml_model m;
    char path[4096];
    int rc;

    snprintf(path, sizeof path, "%s/model.amaml", a->out);
    if (amaml_model_load(path, &m) != AMAML_OK)
        return cli_error("train", CLI_EXIT_FAIL, "--resume: %s", amaml_errmsg());
    rc = train(a, &m, 1);
    amaml_model_clear(&m);
    return rc;
}

/* On --resume the settings come from the model file: any other option
 * would be silently ignored, so it is refused. */
static int check_resume_args(int argc, char **argv)
{
    static const char *const allowed[] = {"--resume", "--out", "--meta-steps", "--threads",
                                          "--eval-every", "--save-every", "--quiet"};

    for (int i = 1; i < argc; i++) {
        int ok = strncmp(argv[i], "--", 2) != 0; /* a value */

        for (size_t j = 0; j < sizeof allowed / sizeof *allowed && !ok; j++)
            ok = strncmp(argv[i], allowed[j], strlen(allowed[j])) == 0 &&
                 (argv[i][strlen(allowed[j])] == '\0' || argv[i][strlen(allowed[j])] == '=');
        if (!ok)
            return cli_error("train", CLI_EXIT_USAGE, "%s cannot be given with --resume: "
                             "the run's settings come from its model file", argv[i]);
    }
    return CLI_EXIT_OK;
}

static int finish_args(struct train_args *a)
{
    int rc;

    if (!a->out)
        return cli_error("train", CLI_EXIT_USAGE, "--out DIR is required");
    if (strcmp(a->optimizer, "sgd") == 0)
        a->train.opt = AMAML_SGD;
    else if (strcmp(a->optimizer, "adam") == 0)
        a->train.opt = AMAML_ADAM;
    else
        return cli_error("train", CLI_EXIT_USAGE, "--optimizer: unknown '%s' (sgd, adam)",
                         a->optimizer);
    if (a->train.meta_batch == 0)
        return cli_error("train", CLI_EXIT_USAGE, "--meta-batch must be at least 1");
    if (!(a->train.meta_lr > 0))
        return cli_error("train", CLI_EXIT_USAGE, "--meta-lr must be positive");
    if (a->threads > 1024)
        return cli_error("train", CLI_EXIT_USAGE, "--threads %zu is too many", a->threads);
    if ((rc = cli_method_finish("train", &a->method)) != CLI_EXIT_OK)
        return rc;
    if (a->meta_steps)
        a->train.meta_steps = a->meta_steps;
    return CLI_EXIT_OK;
}

int cmd_train(int argc, char **argv)
{
    struct train_args a = {.optimizer = "sgd", .save_every = 100};
    struct cli_opt opts[16 + CLI_TASK_NOPTS + CLI_METHOD_NOPTS] = {
        {"out", CLI_STR, &a.out, "DIR", "the run's directory (required)"},
        {"meta-batch", CLI_SIZE, &a.train.meta_batch, "B", "tasks a meta-step (default 5)"},
        {"meta-lr", CLI_DOUBLE, &a.train.meta_lr, "R", "meta learning rate (default 0.01)"},
        {"optimizer", CLI_STR, &a.optimizer, "NAME", "meta-optimizer sgd|adam (default sgd)"},
        {"meta-steps", CLI_SIZE, &a.meta_steps, "N", "meta-steps to reach (default 1000)"},
        {"seed", CLI_U64, &a.train.seed, "S", "initialization and task draws (default 1)"},
        {"eval-every", CLI_SIZE, &a.eval_every, "K",
         "meta-test evaluation every K steps (default 0: none)"},
        {"save-every", CLI_SIZE, &a.save_every, "K", "save the model every K steps (100)"},
        {"threads", CLI_SIZE, &a.threads, "T", "threads (default: all cores)"},
        {"resume", CLI_FLAG, &a.resume, NULL, "continue the run saved in --out"},
        {"quiet", CLI_FLAG, &a.quiet, NULL, "no progress or log lines"},
    };
    size_t n = 11;
    int rc;

    amaml_train_config_default(&a.train);
    n += cli_task_options(&a.task, opts + n);
    n += cli_method_options(&a.method, opts + n);
    rc = cli_parse(argc, argv, "train", synopsis, opts, n);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (a.resume && (rc = check_resume_args(argc, argv)) != CLI_EXIT_OK)
        return rc;
    if ((rc = finish_args(&a)) != CLI_EXIT_OK)
        return rc;

    /* Tasks run in parallel over OpenMP threads; a multi-threaded BLAS
     * inside each would only oversubscribe the cores at these sizes. */
    openblas_set_num_threads(1);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    return a.resume ? resume(&a) : start_fresh(&a);
}
