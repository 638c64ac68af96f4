/*
 * mlp_kernels.c - times amaml_mlp_grad and amaml_mlp_hvp at the sizes of
 * meta-learning and reports microseconds per call and GFLOP/s, with the flop
 * counts of amaml_mlp_flops (docs/performance.md, "MLP kernels").
 *
 *     build/mlp_kernels                    the default sizes
 *     build/mlp_kernels 1-32-32-1:50 ...   chosen architectures and batches
 *     build/mlp_kernels -s 201             more timed samples per figure
 *     build/mlp_kernels -c 1000 1-32-32-1:50
 *         no timing: 1000 calls of each, for valgrind --tool=callgrind
 *     build/mlp_kernels -k                 no timing: the derivative checks
 *         (amaml_check_derivatives) at each size, which reach the BLAS path
 *         of the large layers that the unit tests do not
 *
 * Each figure is the median over samples of the time per call, a sample
 * timing enough back-to-back calls to last about 0.2 ms; the machine is
 * shared, so the median (and the minimum, printed beside it) is what is
 * stable. Results go to stdout, one line per size.
 */
#include "amaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SAMPLE_SECONDS 2e-4

static const char *const default_cases[] = {
    "1-32-32-1:50",   "1-32-32-1:100",  "2-32-32-1:50",   "2-32-32-1:100",   "100-40-40-1:10",
    "100-40-40-1:25", "100-40-40-1:45", "1-128-128-1:50", "1-128-128-1:100",
};

/* One benchmark case: a model, its parameters, a direction and a batch. */
struct bench_case {
    struct amaml_mlp *mlp;
    double *theta, *v, *g, *hv, *x, *y;
    struct amaml_batch batch;
};

static double now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void case_free(struct bench_case *c)
{
    amaml_mlp_free(c->mlp);
    free(c->theta);
    free(c->v);
    free(c->g);
    free(c->hv);
    free(c->x);
    free(c->y);
}

/* Parses "ARCH:N" and fills c with random data (tanh, MSE); 0 on success. */
static int case_setup(const char *spec, struct bench_case *c)
{
    char arch[128];
    const char *colon = strchr(spec, ':');
    size_t n, P, din, dout;
    struct amaml_rng rng;

    memset(c, 0, sizeof *c);
    if (!colon || (size_t)(colon - spec) >= sizeof arch || sscanf(colon + 1, "%zu", &n) != 1 ||
        n == 0) {
        fprintf(stderr, "mlp_kernels: bad case '%s' (expected ARCH:N like 1-32-32-1:50)\n", spec);
        return -1;
    }
    memcpy(arch, spec, (size_t)(colon - spec));
    arch[colon - spec] = '\0';
    if (!(c->mlp = amaml_mlp_parse(arch, "tanh", AMAML_MSE))) {
        fprintf(stderr, "mlp_kernels: %s\n", amaml_errmsg());
        return -1;
    }
    P = amaml_mlp_nparam(c->mlp);
    din = amaml_mlp_width(c->mlp, 0);
    dout = amaml_mlp_width(c->mlp, amaml_mlp_nwidths(c->mlp) - 1);
    c->theta = malloc(P * sizeof *c->theta);
    c->v = malloc(P * sizeof *c->v);
    c->g = malloc(P * sizeof *c->g);
    c->hv = malloc(P * sizeof *c->hv);
    c->x = malloc(n * din * sizeof *c->x);
    c->y = malloc(n * dout * sizeof *c->y);
    if (!c->theta || !c->v || !c->g || !c->hv || !c->x || !c->y) {
        fprintf(stderr, "mlp_kernels: out of memory\n");
        case_free(c);
        return -1;
    }
    amaml_rng_seed(&rng, 42);
    amaml_mlp_init(c->mlp, &rng, c->theta);
    for (size_t i = 0; i < P; i++)
        c->v[i] = amaml_rng_normal(&rng);
    for (size_t i = 0; i < n * din; i++)
        c->x[i] = 2 * amaml_rng_uniform(&rng) - 1;
    for (size_t i = 0; i < n * dout; i++)
        c->y[i] = amaml_rng_normal(&rng);
    c->batch.n = n;
    c->batch.x = c->x;
    c->batch.y = c->y;
    return 0;
}

/* One call of the gradient (hvp = 0) or the HVP (hvp = 1). */
static int run_once(struct bench_case *c, int hvp)
{
    double loss;

    if (hvp)
        return amaml_mlp_hvp(c->mlp, c->theta, &c->batch, c->v, c->hv, c->g);
    return amaml_mlp_grad(c->mlp, c->theta, &c->batch, &loss, c->g);
}

/* The median and the minimum over nsamples of the seconds per call. */
static int time_calls(struct bench_case *c, int hvp, int nsamples, double *med, double *min)
{
    double *t = malloc((size_t)nsamples * sizeof *t), t0;
    long reps = 1;

    if (!t)
        return -1;
    /* Warm up (scratch allocation, caches), then calibrate reps. */
    for (;;) {
        t0 = now();
        for (long r = 0; r < reps; r++)
            if (run_once(c, hvp) != AMAML_OK)
                goto fail;
        if (now() - t0 >= SAMPLE_SECONDS || reps >= 1L << 24)
            break;
        reps *= 2;
    }
    for (int s = 0; s < nsamples; s++) {
        t0 = now();
        for (long r = 0; r < reps; r++)
            run_once(c, hvp);
        t[s] = (now() - t0) / (double)reps;
    }
    qsort(t, (size_t)nsamples, sizeof *t, cmp_double);
    *med = t[nsamples / 2];
    *min = t[0];
    free(t);
    return 0;

fail:
    fprintf(stderr, "mlp_kernels: %s\n", amaml_errmsg());
    free(t);
    return -1;
}

/* The derivative checks of c's objective at its parameters. */
static int check_one(const char *spec, struct bench_case *c)
{
    struct amaml_objective obj = amaml_mlp_objective(c->mlp);
    struct amaml_check_result r;
    struct amaml_rng rng;

    amaml_rng_seed(&rng, 7);
    if (amaml_check_derivatives(&obj, c->theta, &c->batch, 0, &rng, &r) != AMAML_OK) {
        fprintf(stderr, "mlp_kernels: %s\n", amaml_errmsg());
        return -1;
    }
    printf("%-16s grad %.2e  hvp %.2e  sym %.2e\n", spec, r.grad_err, r.hvp_err, r.symmetry_err);
    return 0;
}

static int bench_one(const char *spec, int nsamples, long count)
{
    struct bench_case c;
    double fg, fh, gmed, gmin, hmed, hmin;

    if (case_setup(spec, &c) != 0)
        return -1;
    if (count < 0) {
        int rc = check_one(spec, &c);

        case_free(&c);
        return rc;
    }
    amaml_mlp_flops(c.mlp, c.batch.n, &fg, &fh);
    if (count > 0) { /* fixed work for callgrind */
        for (int hvp = 0; hvp < 2; hvp++)
            for (long r = 0; r < count; r++)
                if (run_once(&c, hvp) != AMAML_OK) {
                    fprintf(stderr, "mlp_kernels: %s\n", amaml_errmsg());
                    case_free(&c);
                    return -1;
                }
        printf("%-16s %5zu  %ld grads (%.0f flops each), %ld hvps (%.0f flops each)\n", spec,
               c.batch.n, count, fg, count, fh);
        case_free(&c);
        return 0;
    }
    if (time_calls(&c, 0, nsamples, &gmed, &gmin) != 0 ||
        time_calls(&c, 1, nsamples, &hmed, &hmin) != 0) {
        case_free(&c);
        return -1;
    }
    printf("%-16s %6zu %9.2f %7.2f %7.2f %9.2f %7.2f %7.2f %6.2f\n", spec, amaml_mlp_nparam(c.mlp),
           1e6 * gmed, 1e6 * gmin, 1e-9 * fg / gmed, 1e6 * hmed, 1e6 * hmin, 1e-9 * fh / hmed,
           hmed / gmed);
    fflush(stdout);
    case_free(&c);
    return 0;
}

int main(int argc, char **argv)
{
    int nsamples = 101, first = 1, status = 0;
    long count = 0;

    while (first < argc && argv[first][0] == '-') {
        if (strcmp(argv[first], "-s") == 0 && first + 1 < argc) {
            nsamples = atoi(argv[first + 1]);
        } else if (strcmp(argv[first], "-c") == 0 && first + 1 < argc) {
            count = atol(argv[first + 1]);
        } else if (strcmp(argv[first], "-k") == 0) {
            count = -1;
            first--;
        } else {
            fprintf(stderr, "usage: mlp_kernels [-s samples] [-c calls | -k] [ARCH:N ...]\n");
            return 2;
        }
        first += 2;
    }
    if (nsamples < 1 || count < -1) {
        fprintf(stderr, "mlp_kernels: -s and -c need positive numbers\n");
        return 2;
    }
    if (count == 0)
        printf("%-16s %6s %9s %7s %7s %9s %7s %7s %6s\n", "arch:n", "param", "grad_us", "min",
               "GF/s", "hvp_us", "min", "GF/s", "h/g");
    if (first < argc) {
        for (int i = first; i < argc; i++)
            status |= bench_one(argv[i], nsamples, count);
    } else {
        for (size_t i = 0; i < sizeof default_cases / sizeof default_cases[0]; i++)
            status |= bench_one(default_cases[i], nsamples, count);
    }
    return status ? 1 : 0;
}
