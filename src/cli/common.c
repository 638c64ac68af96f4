/*
 * common.c - option tables and checks shared by the commands (common.h).
 */
#include "cli/common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

size_t cli_method_options(struct cli_method *m, struct cli_opt *o)
{
    struct amaml_meta_config *c = &m->cfg;
    const struct cli_opt opts[CLI_METHOD_NOPTS] = {
        {"method", CLI_STR, &c->method, "NAME",
         "amaml|maml|maml1|fomaml|reptile|imaml (default amaml)"},
        {"solver", CLI_STR, &m->solver, "NAME",
         "amaml forward: euler|heun|rk4|rk38|dopri5 (default rk4)"},
        {"adjoint", CLI_STR, &m->adjoint, "KIND",
         "amaml: continuous|discrete (default continuous)"},
        {"backward", CLI_STR, &m->backward, "NAME",
         "continuous adjoint scheme: euler|heun|rk4 (default euler)"},
        {"steps", CLI_SIZE, &c->steps, "N", "inner steps (default 100)"},
        {"inner-lr", CLI_DOUBLE, &c->inner_lr, "H", "inner step size (default 0.01)"},
        {"prox", CLI_DOUBLE, &m->prox, "BETA", "amaml proximal strength (default 0)"},
        {"checkpoint", CLI_STR, &m->ckpt, "MODE", "all|every:K|binomial:C (default all)"},
        {"rtol", CLI_DOUBLE, &c->rtol, "R", "dopri5 relative tolerance (default 1e-6)"},
        {"atol", CLI_DOUBLE, &c->atol, "A", "dopri5 absolute tolerance (default 1e-9)"},
        {"cg-steps", CLI_SIZE, &c->cg_steps, "K", "imaml CG iterations (default 5)"},
        {"cg-damping", CLI_DOUBLE, &c->cg_damping, "D", "imaml CG damping (default 0)"},
        {"imaml-lambda", CLI_DOUBLE, &c->imaml_lambda, "L", "imaml regularization (default 1)"},
    };

    amaml_meta_config_default(c);
    m->solver = m->adjoint = m->backward = NULL;
    m->ckpt = "all";
    m->prox = NAN;
    memcpy(o, opts, sizeof opts);
    return CLI_METHOD_NOPTS;
}

int cli_method_finish(const char *cmd, struct cli_method *m)
{
    struct amaml_meta_config *c = &m->cfg;
    const char *given = m->solver ? "--solver" : m->adjoint ? "--adjoint"
                        : m->backward ? "--backward" : !isnan(m->prox) ? "--prox" : NULL;

    if (strcmp(c->method, "amaml") != 0 && given)
        return cli_error(cmd, CLI_EXIT_USAGE, "%s applies to --method amaml only (%s adapts "
                         "by gradient steps)", given, c->method);
    if (m->adjoint && strcmp(m->adjoint, "continuous") && strcmp(m->adjoint, "discrete"))
        return cli_error(cmd, CLI_EXIT_USAGE, "--adjoint: unknown '%s' (continuous, "
                         "discrete)", m->adjoint);
    if (m->backward && m->adjoint && strcmp(m->adjoint, "discrete") == 0)
        return cli_error(cmd, CLI_EXIT_USAGE, "--backward applies to the continuous adjoint "
                         "only");
    if (amaml_checkpoint_parse(m->ckpt, &c->checkpoint, &c->checkpoint_arg) != AMAML_OK)
        return cli_error(cmd, CLI_EXIT_USAGE, "--checkpoint: %s", amaml_errmsg());
    c->solver = m->solver ? m->solver : c->solver;
    c->backward = m->backward ? m->backward : c->backward;
    c->adjoint = m->adjoint && strcmp(m->adjoint, "discrete") == 0 ? AMAML_ADJOINT_DISCRETE
                                                                   : AMAML_ADJOINT_CONTINUOUS;
    c->prox = isnan(m->prox) ? 0 : m->prox;
    {
        struct amaml_meta *probe = amaml_meta_create(c, 1); /* validates the settings */

        if (!probe)
            return cli_error(cmd, CLI_EXIT_USAGE, "%s", amaml_errmsg());
        amaml_meta_free(probe);
    }
    return CLI_EXIT_OK;
}

size_t cli_task_options(struct cli_task *t, struct cli_opt *o)
{
    struct amaml_taskset_config *c = &t->cfg;
    const struct cli_opt opts[CLI_TASK_NOPTS] = {
        {"task", CLI_STR, &c->family, "NAME",
         "sinusoid|cosmixture|alpine|movielens|movielens1m|jester (default cosmixture)"},
        {"dim", CLI_SIZE, &c->dim, "D", "input dimension of a synthetic family (default 1)"},
        {"shots", CLI_SIZE, &c->shots, "K", "support samples a task (default 50)"},
        {"queries", CLI_SIZE, &c->queries, "Q", "query samples a task (default 50)"},
        {"data", CLI_STR, &c->data, "FILE", "the rating file of a ratings family"},
        {"data-seed", CLI_U64, &t->data_seed, "S", "seed of the meta-data set (default 1)"},
        {"ntrain", CLI_SIZE, &c->ntrain, "N", "synthetic meta-train functions (default 100)"},
        {"ntest", CLI_SIZE, &c->ntest, "N", "meta-test functions or users (default 100)"},
        {"pool", CLI_SIZE, &c->pool, "N", "synthetic candidates a pool (default 1000)"},
        {"features", CLI_SIZE, &c->features, "F", "ratings: SVD item features (default 100)"},
        {"arch", CLI_STR, &t->arch, "W-W-..", "MLP widths (default D-32-32-1, ratings "
         "F-40-40-1)"},
        {"act", CLI_STR, &t->act, "NAME", "tanh|relu|sigmoid|softplus (default tanh)"},
    };

    amaml_taskset_config_default(c);
    t->arch = NULL;
    t->act = "tanh";
    t->data_seed = 1;
    memcpy(o, opts, sizeof opts);
    return CLI_TASK_NOPTS;
}

int cli_task_is_ratings(const char *family)
{
    return strcmp(family, "movielens") == 0 || strcmp(family, "movielens1m") == 0 ||
           strcmp(family, "jester") == 0;
}

static int check_family(const char *cmd, const char *family)
{
    char list[256] = "";

    for (size_t i = 0; amaml_family_name(i); i++) {
        if (strcmp(family, amaml_family_name(i)) == 0)
            return CLI_EXIT_OK;
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 amaml_family_name(i));
    }
    return cli_error(cmd, CLI_EXIT_USAGE, "--task: unknown family '%s' (%s)", family, list);
}

int cli_task_finish(const char *cmd, struct cli_task *t, char *arch, size_t size,
                    struct amaml_mlp **mlp)
{
    struct amaml_taskset_config *c = &t->cfg;
    int ratings = cli_task_is_ratings(c->family), rc;
    size_t din;

    c->seed = t->data_seed;
    if ((rc = check_family(cmd, c->family)) != CLI_EXIT_OK)
        return rc;
    if (ratings && !c->data)
        return cli_error(cmd, CLI_EXIT_USAGE, "--task %s needs --data FILE (see README: where "
                         "to get the data)", c->family);
    if (t->arch)
        snprintf(arch, size, "%s", t->arch);
    else if (ratings)
        snprintf(arch, size, "%zu-40-40-1", c->features);
    else
        snprintf(arch, size, "%zu-32-32-1", c->dim);
    *mlp = amaml_mlp_parse(arch, t->act, AMAML_MSE);
    if (!*mlp)
        return cli_error(cmd, CLI_EXIT_USAGE, "%s", amaml_errmsg());
    din = ratings ? c->features : c->dim;
    if (amaml_mlp_width(*mlp, 0) != din || amaml_mlp_width(*mlp, amaml_mlp_nwidths(*mlp) - 1)
        != 1) {
        amaml_mlp_free(*mlp);
        *mlp = NULL;
        return cli_error(cmd, CLI_EXIT_USAGE, "--arch %s: the tasks have %zu inputs and one "
                         "output", arch, din);
    }
    return CLI_EXIT_OK;
}

int cli_read_batch(const char *cmd, const char *path, size_t din, size_t dy, double **mem,
                   struct amaml_batch *b, size_t **lines)
{
    double *rows, *x;
    size_t n;

    if (amaml_read_csv(path, din + dy, &rows, &n, lines) != AMAML_OK)
        return cli_error(cmd, CLI_EXIT_FAIL, "%s (the model expects %zu values a line)",
                         amaml_errmsg(), din + dy);
    if (!(x = malloc(n * (din + dy) * sizeof *x))) {
        free(rows);
        return cli_error(cmd, CLI_EXIT_FAIL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) { /* x rows first, then the y rows */
        memcpy(x + i * din, rows + i * (din + dy), din * sizeof *x);
        memcpy(x + n * din + i * dy, rows + i * (din + dy) + din, dy * sizeof *x);
    }
    free(rows);
    *mem = x;
    *b = (struct amaml_batch){n, x, x + n * din};
    return CLI_EXIT_OK;
}

const char *cli_format_seconds(double s, char *buf, size_t size)
{
    if (!(s >= 0) || s > 1e8)
        snprintf(buf, size, "?");
    else if (s < 60)
        snprintf(buf, size, "%.1fs", s);
    else if (s < 3600)
        snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, size, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    return buf;
}

double cli_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* mkdir -p: each prefix ending at a '/' first, then the whole path. */
int cli_make_dir(const char *cmd, const char *path)
{
    char buf[4096];
    struct stat st;
    size_t n = strlen(path);

    if (n >= sizeof buf)
        return cli_error(cmd, CLI_EXIT_FAIL, "%s: path too long", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && !(errno == EEXIST && stat(buf, &st) == 0 &&
                                        S_ISDIR(st.st_mode)))
            return cli_error(cmd, CLI_EXIT_FAIL, "%s: cannot create the directory: %s", buf,
                             strerror(errno));
        buf[i] = path[i];
    }
    return CLI_EXIT_OK;
}
