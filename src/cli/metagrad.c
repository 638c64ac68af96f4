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

/* For cross-entropy, the target must be a class index. */
static int check_labels(const char *path, const struct amaml_batch *b, const size_t *lines,
                        size_t nclass)
{
    for (size_t i = 0; i < b->n; i++) {
        double y = b->y[i];

        if (!(y >= 0 && y < (double)nclass && y == floor(y)))
            return cli_error("metagrad", CLI_EXIT_FAIL, "%s:%zu: class label %g is not an "
                             "integer in [0, %zu)", path, lines[i], y, nclass);
    }
    return CLI_EXIT_OK;
}

static int read_theta(const char *path, const struct amaml_mlp *m, double **theta)
{
    size_t n;
    char arch[256];

    if (amaml_read_vector(path, theta, &n) != AMAML_OK)
        return cli_error("metagrad", CLI_EXIT_FAIL, "%s", amaml_errmsg());
    if (n == amaml_mlp_nparam(m))
        return CLI_EXIT_OK;
    amaml_mlp_arch_string(m, arch, sizeof arch);
    return cli_error("metagrad", CLI_EXIT_FAIL, "%s: %zu numbers, but the architecture %s has "
                     "%zu parameters", path, n, arch, amaml_mlp_nparam(m));
}

/* A support or query file as a batch, its labels checked for cross-entropy. */
static int read_set(const char *path, const struct amaml_mlp *m, double **mem,
                    struct amaml_batch *b)
{
    size_t din = amaml_mlp_width(m, 0), dout = amaml_mlp_width(m, amaml_mlp_nwidths(m) - 1);
    int ce = amaml_mlp_loss(m) == AMAML_CE, rc;
    size_t *lines = NULL;

    rc = cli_read_batch("metagrad", path, din, ce ? 1 : dout, mem, b, ce ? &lines : NULL);
    if (rc == CLI_EXIT_OK && ce)
        rc = check_labels(path, b, lines, dout);
    free(lines);
    return rc;
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
    struct amaml_batch bs, bq;
    double *theta = NULL, *smem = NULL, *qmem = NULL, *grad = NULL;
    struct amaml_objective obj = amaml_mlp_objective(m);
    struct amaml_meta *mg = NULL;
    struct amaml_meta_result r;
    size_t P = amaml_mlp_nparam(m);
    int status = read_theta(a->params, m, &theta);

    if (status == CLI_EXIT_OK)
        status = read_set(a->support, m, &smem, &bs);
    if (status == CLI_EXIT_OK)
        status = read_set(a->query, m, &qmem, &bq);
    if (status == CLI_EXIT_OK && !(mg = amaml_meta_create(&a->m.cfg, P)))
        status = cli_error("metagrad", CLI_EXIT_USAGE, "%s", amaml_errmsg());
    if (status == CLI_EXIT_OK && !(grad = malloc(P * sizeof *grad)))
        status = cli_error("metagrad", CLI_EXIT_FAIL, "out of memory");
    if (status == CLI_EXIT_OK && amaml_meta_grad(mg, &obj, theta, &bs, &bq, grad, &r))
        status = cli_error("metagrad", CLI_EXIT_FAIL, "%s", amaml_errmsg());
    if (status == CLI_EXIT_OK && amaml_write_vector(a->out, grad, P) != AMAML_OK)
        status = cli_error("metagrad", CLI_EXIT_FAIL, "%s", amaml_errmsg());
    if (status == CLI_EXIT_OK)
        print_cost(&a->m.cfg, &r);

    amaml_meta_free(mg);
    free(grad);
    free(theta);
    free(smem);
    free(qmem);
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
