/*
 * metagrad.c - `amaml metagrad`: the meta-gradient of one task from files,
 * for scripting and for checking against other tools. Results go to the
 * --out file; the meta-loss, dJ/dT and the cost go to stderr.
 */
#include "amaml.h"
#include "cli/commands.h"
#include "cli/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char synopsis[] =
    "Computes the meta-gradient of one task: N inner steps from the initialization\n"
    "in --params on the --support set, differentiated through to the loss on the\n"
    "--query set. CSV files hold one sample a line: the inputs, then the targets\n"
    "(one class index for --loss ce). The gradient is written to --out, one number\n"
    "a line in the flat parameter layout.";

struct task_files {
    double *theta, *s, *q;
    size_t *slines, *qlines;
    size_t ns, nq;
};

static void task_files_free(struct task_files *t)
{
    free(t->theta);
    free(t->s);
    free(t->q);
    free(t->slines);
    free(t->qlines);
}

/* For cross-entropy, the target column must hold a class index. */
static int check_labels(const char *path, const double *d, size_t n, size_t ncols,
                        const size_t *lines, size_t nclass)
{
    for (size_t i = 0; i < n; i++) {
        double y = d[i * ncols + ncols - 1];

        if (!(y >= 0 && y < (double)nclass && y == floor(y)))
            return cli_error("metagrad", CLI_EXIT_FAIL, "%s:%zu: class label %g is not an "
                             "integer in [0, %zu)", path, lines[i], y, nclass);
    }
    return CLI_EXIT_OK;
}

static int load(struct task_files *t, const struct amaml_mlp *m, const char *params,
                const char *support, const char *query)
{
    size_t din = amaml_mlp_width(m, 0), dout = amaml_mlp_width(m, amaml_mlp_nwidths(m) - 1);
    int ce = amaml_mlp_loss(m) == AMAML_CE;
    size_t ncols = din + (ce ? 1 : dout), n;

    if (amaml_read_vector(params, &t->theta, &n) != AMAML_OK)
        return cli_error("metagrad", CLI_EXIT_FAIL, "%s", amaml_errmsg());
    if (n != amaml_mlp_nparam(m)) {
        char arch[256];

        amaml_mlp_arch_string(m, arch, sizeof arch);
        return cli_error("metagrad", CLI_EXIT_FAIL, "%s: %zu numbers, but the architecture "
                         "%s has %zu parameters", params, n, arch, amaml_mlp_nparam(m));
    }
    if (amaml_read_csv(support, ncols, &t->s, &t->ns, &t->slines) != AMAML_OK ||
        amaml_read_csv(query, ncols, &t->q, &t->nq, &t->qlines) != AMAML_OK)
        return cli_error("metagrad", CLI_EXIT_FAIL, "%s (the architecture expects %zu values "
                         "a line)", amaml_errmsg(), ncols);
    if (ce && (check_labels(support, t->s, t->ns, ncols, t->slines, dout) ||
               check_labels(query, t->q, t->nq, ncols, t->qlines, dout)))
        return CLI_EXIT_FAIL;
    return CLI_EXIT_OK;
}

/* Splits rows of [x, y] into the x and y arrays of a batch (in place of
 * copies, the batch holds both halves in one new block). */
static int to_batch(const double *rows, size_t n, size_t din, size_t dy, double **mem,
                    struct amaml_batch *b)
{
    double *x = malloc(n * (din + dy) * sizeof *x), *y;

    if (!x)
        return cli_error("metagrad", CLI_EXIT_FAIL, "out of memory");
    y = x + n * din;
    for (size_t i = 0; i < n; i++) {
        memcpy(x + i * din, rows + i * (din + dy), din * sizeof *x);
        memcpy(y + i * dy, rows + i * (din + dy) + din, dy * sizeof *y);
    }
    *mem = x;
    b->n = n;
    b->x = x;
    b->y = y;
    return CLI_EXIT_OK;
}

static void print_cost(const struct amaml_meta_config *c, const struct amaml_meta_result *r)
{
    fprintf(stderr, "metagrad %s: N = %zu, h = %g", c->method,
            strcmp(c->method, "maml1") == 0 ? 1 : c->steps, c->inner_lr);
    if (strcmp(c->method, "amaml") == 0)
        fprintf(stderr, ", %s forward, %s adjoint%s%s, prox %g", c->solver,
                c->adjoint == AMAML_ADJOINT_DISCRETE ? "discrete" : "continuous",
                c->adjoint == AMAML_ADJOINT_DISCRETE ? "" : " with ",
                c->adjoint == AMAML_ADJOINT_DISCRETE ? "" : c->backward, c->prox);
    fprintf(stderr, "\nmeta-loss %.17g\ndJ/dT %.17g\n", r->loss, r->dJdT);
    fprintf(stderr, "cost %zu gradients, %zu Hessian-vector products, %zu forward steps, "
            "%zu bytes of states\n", r->grads, r->hvps, r->steps, r->state_bytes);
}

struct metagrad_args {
    const char *arch, *act, *loss, *params, *support, *query, *out;
    struct cli_method m;
};

static int run(struct metagrad_args *a, struct amaml_mlp *m)
{
    struct task_files t = {0};
    struct amaml_batch bs, bq;
    double *smem = NULL, *qmem = NULL, *grad = NULL;
    struct amaml_objective obj = amaml_mlp_objective(m);
    struct amaml_meta *mg = NULL;
    struct amaml_meta_result r;
    size_t din = amaml_mlp_width(m, 0), P = amaml_mlp_nparam(m);
    size_t dy = amaml_mlp_loss(m) == AMAML_CE ? 1 : amaml_mlp_width(m, amaml_mlp_nwidths(m) - 1);
    int status = load(&t, m, a->params, a->support, a->query);

    if (status == CLI_EXIT_OK)
        status = to_batch(t.s, t.ns, din, dy, &smem, &bs);
    if (status == CLI_EXIT_OK)
        status = to_batch(t.q, t.nq, din, dy, &qmem, &bq);
    if (status == CLI_EXIT_OK && !(mg = amaml_meta_create(&a->m.cfg, P)))
        status = cli_error("metagrad", CLI_EXIT_USAGE, "%s", amaml_errmsg());
    if (status == CLI_EXIT_OK && !(grad = malloc(P * sizeof *grad)))
        status = cli_error("metagrad", CLI_EXIT_FAIL, "out of memory");
    if (status == CLI_EXIT_OK && amaml_meta_grad(mg, &obj, t.theta, &bs, &bq, grad, &r))
        status = cli_error("metagrad", CLI_EXIT_FAIL, "%s", amaml_errmsg());
    if (status == CLI_EXIT_OK && amaml_write_vector(a->out, grad, P) != AMAML_OK)
        status = cli_error("metagrad", CLI_EXIT_FAIL, "%s", amaml_errmsg());
    if (status == CLI_EXIT_OK)
        print_cost(&a->m.cfg, &r);

    amaml_meta_free(mg);
    free(grad);
    free(smem);
    free(qmem);
    task_files_free(&t);
    return status;
}

int cmd_metagrad(int argc, char **argv)
{
    struct metagrad_args a = {"2-32-32-1", "tanh", "mse", NULL, NULL, NULL, NULL, {0}};
    struct cli_opt opts[7 + CLI_METHOD_NOPTS] = {
        {"arch", CLI_STR, &a.arch, "W-W-..", "widths, input to output (default 2-32-32-1)"},
        {"act", CLI_STR, &a.act, "NAME", "tanh|relu|sigmoid|softplus (default tanh)"},
        {"loss", CLI_STR, &a.loss, "NAME", "mse|ce (default mse)"},
        {"params", CLI_STR, &a.params, "FILE", "initialization theta (required)"},
        {"support", CLI_STR, &a.support, "FILE", "support set CSV (required)"},
        {"query", CLI_STR, &a.query, "FILE", "query set CSV (required)"},
        {"out", CLI_STR, &a.out, "FILE", "where to write the gradient (required)"},
    };
    size_t nopts = 7 + cli_method_options(&a.m, opts + 7);
    struct amaml_mlp *m;
    int rc;

    rc = cli_parse(argc, argv, "metagrad", synopsis, opts, nopts);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (!a.params || !a.support || !a.query || !a.out)
        return cli_error("metagrad", CLI_EXIT_USAGE, "--params, --support, --query and --out "
                         "are required");
    if (strcmp(a.loss, "mse") != 0 && strcmp(a.loss, "ce") != 0)
        return cli_error("metagrad", CLI_EXIT_USAGE, "--loss: unknown loss '%s' (mse, ce)",
                         a.loss);
    if ((rc = cli_method_finish("metagrad", &a.m)) != CLI_EXIT_OK)
        return rc;

    m = amaml_mlp_parse(a.arch, a.act, strcmp(a.loss, "ce") == 0 ? AMAML_CE : AMAML_MSE);
    if (!m)
        return cli_error("metagrad", CLI_EXIT_USAGE, "%s", amaml_errmsg());
    rc = run(&a, m);
    amaml_mlp_free(m);
    return rc;
}
