/*
 * gradcheck.c - `amaml gradcheck`: the derivative checks of a random network
 * on random data, with a non-zero exit status above tolerance.
 */
#include "amaml.h"
#include "cli/commands.h"
#include "cli/opts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Random inputs in [-1, 1]; normal targets (MSE) or uniform classes (CE). */
static void random_data(const struct amaml_mlp *m, size_t n, struct amaml_rng *rng, double *x,
                        double *y)
{
    size_t din = amaml_mlp_width(m, 0), dout = amaml_mlp_width(m, amaml_mlp_nwidths(m) - 1);
    int ce = amaml_mlp_loss(m) == AMAML_CE;

    for (size_t i = 0; i < n * din; i++)
        x[i] = 2 * amaml_rng_uniform(rng) - 1;
    for (size_t i = 0; i < (ce ? n : n * dout); i++)
        y[i] = ce ? floor(amaml_rng_uniform(rng) * (double)dout) : amaml_rng_normal(rng);
}

static int run_check(struct amaml_mlp *m, const char *arch, const char *act, const char *loss,
                     size_t n, uint64_t seed, double tol)
{
    size_t P = amaml_mlp_nparam(m), din = amaml_mlp_width(m, 0);
    size_t dout = amaml_mlp_width(m, amaml_mlp_nwidths(m) - 1);
    double *theta = malloc(P * sizeof *theta), *x = malloc(n * din * sizeof *x);
    double *y = malloc(n * dout * sizeof *y);
    struct amaml_objective obj = amaml_mlp_objective(m);
    struct amaml_batch b = {n, x, y};
    struct amaml_check_result r;
    struct amaml_rng rng;
    int rc, status = CLI_EXIT_FAIL;

    if (!theta || !x || !y) {
        cli_error("gradcheck", 0, "out of memory");
        goto done;
    }
    amaml_rng_seed(&rng, seed);
    amaml_mlp_init(m, &rng, theta);
    random_data(m, n, &rng, x, y);
    rc = amaml_check_derivatives(&obj, theta, &b, 0, &rng, &r);
    if (rc != AMAML_OK) {
        cli_error("gradcheck", 0, "%s", amaml_errmsg());
        goto done;
    }

    printf("gradcheck %s %s %s: %zu parameters, %zu samples, seed %llu\n", arch, act, loss, P,
           n, (unsigned long long)seed);
    printf("  gradient                  max relative error %.3e\n", r.grad_err);
    printf("  Hessian-vector product    max relative error %.3e\n", r.hvp_err);
    printf("  symmetry u.(Hv) = v.(Hu)  relative error     %.3e\n", r.symmetry_err);
    if (r.grad_err <= tol && r.hvp_err <= tol && r.symmetry_err <= tol) {
        printf("ok: all below %g\n", tol);
        status = CLI_EXIT_OK;
    } else {
        printf("FAILED: above %g\n", tol);
    }
done:
    free(theta);
    free(x);
    free(y);
    return status;
}

int cmd_gradcheck(int argc, char **argv)
{
    const char *arch = "2-32-32-1", *act = "tanh", *loss = "mse";
    uint64_t seed = 1;
    size_t n = 20;
    double tol = 1e-6;
    const struct cli_opt opts[] = {
        {"arch", CLI_STR, &arch, "W-W-..", "widths, input to output (default 2-32-32-1)"},
        {"act", CLI_STR, &act, "NAME", "tanh|relu|sigmoid|softplus (default tanh)"},
        {"loss", CLI_STR, &loss, "NAME", "mse|ce (default mse)"},
        {"seed", CLI_U64, &seed, "S", "seed of the network and data (default 1)"},
        {"samples", CLI_SIZE, &n, "N", "samples in the batch (default 20)"},
        {"tol", CLI_DOUBLE, &tol, "T", "largest relative error accepted (default 1e-6)"},
    };
    struct amaml_mlp *m;
    enum amaml_loss lc;
    int rc;

    rc = cli_parse(argc, argv, "gradcheck",
                   "Checks the gradient and the Hessian-vector product of a random network on\n"
                   "random data against central finite differences, and the symmetry of the\n"
                   "Hessian. Exit status 1 if any error is above the tolerance.",
                   opts, sizeof opts / sizeof opts[0]);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (strcmp(loss, "mse") != 0 && strcmp(loss, "ce") != 0)
        return cli_error("gradcheck", CLI_EXIT_USAGE, "--loss: unknown loss '%s' (mse, ce)",
                         loss);
    if (n == 0)
        return cli_error("gradcheck", CLI_EXIT_USAGE, "--samples: must be at least 1");
    if (!(tol > 0))
        return cli_error("gradcheck", CLI_EXIT_USAGE, "--tol: must be positive, got %g", tol);
    lc = strcmp(loss, "ce") == 0 ? AMAML_CE : AMAML_MSE;
    m = amaml_mlp_parse(arch, act, lc);
    if (!m)
        return cli_error("gradcheck", CLI_EXIT_USAGE, "%s", amaml_errmsg());
    rc = run_check(m, arch, act, loss, n, seed, tol);
    amaml_mlp_free(m);
    return rc;
}
