/*
 * bench.c - `amaml bench`: the cost of one meta-update against the inner
 * trajectory length N, for each method and adjoint and checkpointing
 * variant, with 1 thread and with all cores, side by side with a PyTorch
 * implementation of the same meta-update (bench/torch_metaupdate.py) on the
 * same data in the same run.
 *
 * Every configuration runs in a process of its own (this program with
 * --one), so that its peak resident memory is its own. A meta-update is the
 * meta-gradients of the meta-batch's tasks (in parallel), their average, and
 * the SGD step; its time is the median of --repeats after one warm-up.
 * Writes OUT/bench.csv, a table on stdout, and OUT/time.png, OUT/memory.png.
 */
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/results.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const char synopsis[] =
    "Measures seconds per meta-update and peak memory against the number of inner\n"
    "steps N for every method and variant, with 1 thread and all cores, beside a\n"
    "PyTorch implementation (python3-torch) on the same data. Default workload: the\n"
    "A-MAML paper's (cosmixture, 100-shot, 100-query, 1-32-32-1 tanh, meta-batch 5,\n"
    "float64, prox 1, rk4 forward and Euler adjoint).";

#define MAX_LIST 32
#define MAX_TIMES 64

struct bench_args {
    const char *out, *steps_list, *variants, *threads_list, *arch, *torch_script, *one, *cas;
    const char *grad_out;
    size_t shots, queries, batch, repeats, slots, nthreads, steps;
    double inner_lr, prox, max_seconds;
    uint64_t seed;
    int no_torch;
};

/* ------------------------------------------------------------ variants */

/* Fills the meta-gradient settings of a variant, or fails on an unknown
 * name. "torch-*" variants run the PyTorch script instead. */
static int variant_config(const struct bench_args *a, const char *v, size_t N,
                          struct amaml_meta_config *c)
{
    amaml_meta_config_default(c);
    c->steps = N;
    c->inner_lr = a->inner_lr;
    c->prox = a->prox;
    if (strcmp(v, "amaml") == 0)
        return 0;
    if (strcmp(v, "amaml-discrete") == 0) {
        c->adjoint = AMAML_ADJOINT_DISCRETE;
        return 0;
    }
    if (strcmp(v, "amaml-every") == 0) {
        c->checkpoint = AMAML_CKPT_EVERY;
        c->checkpoint_arg = (size_t)ceil(sqrt((double)N));
        return 0;
    }
    if (strcmp(v, "amaml-binomial") == 0) {
        c->checkpoint = AMAML_CKPT_BINOMIAL;
        c->checkpoint_arg = a->slots;
        return 0;
    }
    c->prox = 0;
    c->method = strcmp(v, "maml") == 0     ? "maml"
                : strcmp(v, "fomaml") == 0  ? "fomaml"
                : strcmp(v, "reptile") == 0 ? "reptile"
                : strcmp(v, "imaml") == 0   ? "imaml"
                                            : NULL;
    return c->method ? 0 : -1;
}

/* ------------------------------------------------- one configuration */

struct case_data {
    double *theta;
    size_t P, B;
    double *mem[2 * 64];
    struct amaml_batch s[64], q[64];
};

static int load_case(const char *dir, const struct amaml_mlp *m, size_t B, struct case_data *c)
{
    char path[4096];
    size_t din = amaml_mlp_width(m, 0);

    memset(c, 0, sizeof *c);
    snprintf(path, sizeof path, "%s/theta.txt", dir);
    if (amaml_read_vector(path, &c->theta, &c->P) != AMAML_OK)
        return cli_error("bench", CLI_EXIT_FAIL, "%s", amaml_errmsg());
    if (c->P != amaml_mlp_nparam(m))
        return cli_error("bench", CLI_EXIT_FAIL, "%s: %zu numbers for %zu parameters", path,
                         c->P, amaml_mlp_nparam(m));
    c->B = B;
    for (size_t k = 0; k < B; k++) {
        snprintf(path, sizeof path, "%s/task%zu_support.csv", dir, k);
        if (cli_read_batch("bench", path, din, 1, &c->mem[2 * k], &c->s[k], NULL))
            return CLI_EXIT_FAIL;
        snprintf(path, sizeof path, "%s/task%zu_query.csv", dir, k);
        if (cli_read_batch("bench", path, din, 1, &c->mem[2 * k + 1], &c->q[k], NULL))
            return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

static void free_case(struct case_data *c)
{
    free(c->theta);
    for (size_t i = 0; i < 2 * c->B; i++)
        free(c->mem[i]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

struct one_result {
    double times[MAX_TIMES];
    size_t grads, hvps, state_bytes;
    double loss;
    int status;
};

/* One meta-update: every task's meta-gradient, the average, the SGD step. */
static void meta_update(struct case_data *c, struct amaml_mlp **mlps, struct amaml_meta **mg,
                        double *grads, double *theta_new, int nthreads, struct one_result *r)
{
    size_t P = c->P;
    struct amaml_meta_result res[64];
    int status[64];

#pragma omp parallel for num_threads(nthreads) schedule(static)
    for (long k = 0; k < (long)c->B; k++) {
        int t = omp_get_thread_num();
        struct amaml_objective obj = amaml_mlp_objective(mlps[t]);

        status[k] = amaml_meta_grad(mg[t], &obj, c->theta, &c->s[k], &c->q[k],
                                    grads + (size_t)k * P, &res[k]);
    }
    r->grads = r->hvps = r->state_bytes = 0;
    r->loss = 0;
    for (size_t p = 0; p < P; p++)
        theta_new[p] = 0;
    for (size_t k = 0; k < c->B; k++) {
        r->status = r->status ? r->status : status[k];
        r->grads += res[k].grads;
        r->hvps += res[k].hvps;
        r->loss += res[k].loss / (double)c->B;
        r->state_bytes = res[k].state_bytes > r->state_bytes ? res[k].state_bytes
                                                             : r->state_bytes;
        for (size_t p = 0; p < P; p++)
            theta_new[p] += grads[k * P + p] / (double)c->B;
    }
    for (size_t p = 0; p < P; p++) /* the averaged gradient stays in grads[0..P) */
        grads[p] = theta_new[p], theta_new[p] = c->theta[p] - 0.01 * theta_new[p];
}

static int run_one(const struct bench_args *a)
{
    struct amaml_mlp *m = amaml_mlp_parse(a->arch, "tanh", AMAML_MSE), *mlps[64] = {0};
    struct amaml_meta *mg[64] = {0};
    struct amaml_meta_config cfg;
    struct case_data c;
    struct one_result r = {{0}, 0, 0, 0, 0, 0};
    int T = (int)(a->nthreads ? a->nthreads : 1), rc = CLI_EXIT_FAIL;
    double *grads = NULL, *theta_new = NULL, gf, hf, med;
    struct rusage ru;

    if (!m || variant_config(a, a->one, a->steps, &cfg) != 0 || T > 64 || a->batch > 64)
        return cli_error("bench", CLI_EXIT_USAGE, "--one: unknown variant '%s' or bad sizes",
                         a->one);
    if (load_case(a->cas, m, a->batch, &c) != CLI_EXIT_OK)
        goto done;
    grads = malloc(c.B * c.P * sizeof *grads);
    theta_new = malloc(c.P * sizeof *theta_new);
    for (int t = 0; t < T; t++) {
        mlps[t] = amaml_mlp_clone(m);
        mg[t] = mlps[t] ? amaml_meta_create(&cfg, c.P) : NULL;
        if (!mg[t]) {
            cli_error("bench", CLI_EXIT_FAIL, "%s", amaml_errmsg());
            goto done;
        }
    }
    for (size_t i = 0; i <= a->repeats && r.status == AMAML_OK; i++) {
        double t0 = cli_now();

        meta_update(&c, mlps, mg, grads, theta_new, T, &r);
        if (i > 0) /* the first is the warm-up */
            r.times[i - 1] = cli_now() - t0;
    }
    if (r.status != AMAML_OK) {
        cli_error("bench", CLI_EXIT_FAIL, "%s N=%zu: %s", a->one, a->steps, amaml_errmsg());
        goto done;
    }
    if (a->grad_out && amaml_write_vector(a->grad_out, grads, c.P) != AMAML_OK) {
        cli_error("bench", CLI_EXIT_FAIL, "%s", amaml_errmsg());
        goto done;
    }
    qsort(r.times, a->repeats, sizeof *r.times, cmp_double);
    med = a->repeats % 2 ? r.times[a->repeats / 2]
                         : 0.5 * (r.times[a->repeats / 2 - 1] + r.times[a->repeats / 2]);
    amaml_mlp_flops(m, c.s[0].n, &gf, &hf);
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"median_s\": %.9g, \"min_s\": %.9g, \"peak_rss_bytes\": %ld, \"grads\": %zu, "
           "\"hvps\": %zu, \"state_bytes\": %zu, \"flops\": %.9g, \"meta_loss\": %.17g}\n",
           med, r.times[0], ru.ru_maxrss * 1024L, r.grads, r.hvps, r.state_bytes,
           (double)r.grads * gf + (double)r.hvps * hf, r.loss);
    rc = CLI_EXIT_OK;
done:
    for (int t = 0; t < T; t++) {
        amaml_meta_free(mg[t]);
        amaml_mlp_free(mlps[t]);
    }
    free(grads);
    free(theta_new);
    free_case(&c);
    amaml_mlp_free(m);
    return rc;
}

/* --------------------------------------------------------- the sweep */

/* Writes the benchmark's data: theta and the meta-batch's tasks. */
static int write_case(const struct bench_args *a, const struct amaml_mlp *m, const char *dir)
{
    struct amaml_taskset_config tc;
    struct amaml_taskset *ts;
    struct amaml_task *task;
    struct amaml_rng rng;
    size_t P = amaml_mlp_nparam(m);
    double *theta = malloc(P * sizeof *theta);
    char path[4200];
    int rc = CLI_EXIT_OK;

    amaml_taskset_config_default(&tc);
    tc.shots = a->shots;
    tc.queries = a->queries;
    tc.dim = amaml_mlp_width(m, 0);
    if (!theta || !(ts = amaml_taskset_create(&tc)) || !(task = amaml_task_alloc(ts))) {
        free(theta);
        return cli_error("bench", CLI_EXIT_FAIL, "%s", amaml_errmsg());
    }
    amaml_rng_seed(&rng, a->seed);
    amaml_mlp_init(m, &rng, theta);
    snprintf(path, sizeof path, "%s/theta.txt", dir);
    if (amaml_write_vector(path, theta, P) != AMAML_OK)
        rc = cli_error("bench", CLI_EXIT_FAIL, "%s", amaml_errmsg());
    for (size_t k = 0; k < a->batch && rc == CLI_EXIT_OK; k++) {
        const struct amaml_batch *b[2] = {&task->support, &task->query};

        amaml_taskset_draw(ts, AMAML_TRAIN, k % amaml_taskset_count(ts, AMAML_TRAIN), &rng,
                           task);
        for (int j = 0; j < 2 && rc == CLI_EXIT_OK; j++) {
            FILE *f;

            snprintf(path, sizeof path, "%s/task%zu_%s.csv", dir, k,
                     j ? "query" : "support");
            if (!(f = fopen(path, "w"))) {
                rc = cli_error("bench", CLI_EXIT_FAIL, "%s: cannot write", path);
                break;
            }
            for (size_t i = 0; i < b[j]->n; i++) {
                for (size_t d = 0; d < tc.dim; d++)
                    fprintf(f, "%.17g,", b[j]->x[i * tc.dim + d]);
                fprintf(f, "%.17g\n", b[j]->y[i]);
            }
            fclose(f);
        }
    }
    amaml_task_free(task);
    amaml_taskset_free(ts);
    free(theta);
    return rc;
}

/* The machine's double-precision peak: cores x clock x flops a cycle,
 * from /proc/cpuinfo (the "cpu MHz" clock and the SIMD flags: AVX2 with
 * FMA gives 2 FMA units x 4 doubles x 2 = 16 flops a cycle). */
static double machine_peak(char *how, size_t size)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[4096];
    double mhz = 0;
    int avx2 = 0, fma = 0, avx512 = 0, cores = omp_get_num_procs(), fpc;

    while (f && fgets(line, sizeof line, f)) {
        if (!mhz && strncmp(line, "cpu MHz", 7) == 0)
            mhz = atof(strchr(line, ':') + 1);
        if (strncmp(line, "flags", 5) == 0) {
            avx2 |= strstr(line, " avx2") != NULL;
            fma |= strstr(line, " fma") != NULL;
            avx512 |= strstr(line, " avx512f") != NULL;
        }
    }
    if (f)
        fclose(f);
    fpc = avx512 && fma ? 32 : avx2 && fma ? 16 : avx2 ? 8 : 4;
    snprintf(how, size, "%d cores x %.3f GHz (cpu MHz in /proc/cpuinfo) x %d flops/cycle "
             "(%s)", cores, mhz / 1000, fpc, avx512 ? "AVX-512 FMA" : fma ? "AVX2 FMA" : "SSE2");
    return cores * mhz * 1e6 * fpc;
}

struct row {
    char variant[32], impl[8];
    size_t N, threads;
    double median, min, flops;
    long rss;
    size_t grads, hvps, state_bytes;
    double grad_err;
    int skipped;
};

/* Runs a command and parses the JSON object on the last line it prints. */
static json_t *run_json(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    char line[8192], last[8192] = "";
    json_error_t err;

    if (!p)
        return NULL;
    while (fgets(line, sizeof line, p))
        if (line[0] == '{')
            snprintf(last, sizeof last, "%s", line);
    if (pclose(p) != 0 || !last[0])
        return NULL;
    return json_loads(last, 0, &err);
}

static double grad_rel_err(const char *a, const char *b)
{
    double *x = NULL, *y = NULL, num = 0, den = 0;
    size_t n = 0, m = 0;

    if (amaml_read_vector(a, &x, &n) != AMAML_OK || amaml_read_vector(b, &y, &m) != AMAML_OK ||
        n != m) {
        free(x);
        free(y);
        return NAN;
    }
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs(x[i] - y[i]));
        den = fmax(den, fabs(y[i]));
    }
    free(x);
    free(y);
    return num / den;
}

/* One configuration in a process of its own. */
static int measure(const struct bench_args *a, const char *self, const char *dir,
                   struct row *r)
{
    char cmd[16384], grad[4200];
    int torch = strncmp(r->variant, "torch-", 6) == 0;
    json_t *o;

    snprintf(grad, sizeof grad, "%s/grads/%s-%zu-%zu.txt", dir, r->variant, r->N, r->threads);
    if (torch)
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s --case %s/case --arch %s --method %s "
                 "--steps %zu --inner-lr %g --prox %g --threads %zu --repeats %zu --warmup 1 "
                 "--grad-out %s", a->torch_script, dir, a->arch, r->variant + 6, r->N,
                 a->inner_lr, strcmp(r->variant, "torch-amaml") == 0 ? a->prox : 0.0,
                 r->threads, a->repeats, grad);
    else
        snprintf(cmd, sizeof cmd, "%s bench --one %s --case %s/case --arch %s --meta-batch %zu "
                 "--steps %zu --inner-lr %g --prox %g --slots %zu --threads %zu --repeats %zu "
                 "--grad-out %s", self, r->variant, dir, a->arch, a->batch, r->N, a->inner_lr,
                 a->prox, a->slots, r->threads, a->repeats, grad);
    if (!(o = run_json(cmd)))
        return cli_error("bench", CLI_EXIT_FAIL, "failed: %s", cmd);
    r->median = json_number_value(json_object_get(o, "median_s"));
    r->min = json_number_value(json_object_get(o, "min_s"));
    r->rss = (long)json_integer_value(json_object_get(o, "peak_rss_bytes"));
    r->grads = (size_t)json_integer_value(json_object_get(o, "grads"));
    r->hvps = (size_t)json_integer_value(json_object_get(o, "hvps"));
    r->state_bytes = (size_t)json_integer_value(json_object_get(o, "state_bytes"));
    r->flops = json_number_value(json_object_get(o, "flops"));
    json_decref(o);
    if (torch) { /* the same meta-update by amaml, for the comparison */
        char mine[4200];

        snprintf(mine, sizeof mine, "%s/grads/%s-%zu-%zu.txt", dir, r->variant + 6, r->N,
                 r->threads);
        r->grad_err = grad_rel_err(grad, mine);
    }
    return CLI_EXIT_OK;
}

static int write_csv(const char *dir, const struct row *rows, size_t n, double peak)
{
    char path[4200], tmp[4300];
    FILE *f;

    snprintf(path, sizeof path, "%s/bench.csv", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!(f = fopen(tmp, "w")))
        return cli_error("bench", CLI_EXIT_FAIL, "%s: cannot write", tmp);
    fprintf(f, "variant,impl,steps,threads,median_s,min_s,peak_rss_bytes,grads,hvps,"
               "state_bytes,gflops_per_s,peak_fraction,grad_rel_err_vs_amaml\n");
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        double gfs = r->flops / r->median / 1e9;

        if (r->skipped)
            continue;
        fprintf(f, "%s,%s,%zu,%zu,%.6g,%.6g,%ld,%zu,%zu,%zu,%.4g,%.4g,%.3g\n", r->variant,
                r->impl, r->N, r->threads, r->median, r->min, r->rss, r->grads, r->hvps,
                r->state_bytes, gfs, gfs * 1e9 / (peak * (double)r->threads /
                                                  (double)omp_get_num_procs()),
                r->grad_err);
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return cli_error("bench", CLI_EXIT_FAIL, "%s: cannot write", path);
    return CLI_EXIT_OK;
}

/* The PyTorch row's work is that of amaml's row of the same method, N and
 * threads (the same algorithm), for its GFLOP/s and speed ratio. */
static const struct row *find_row(const struct row *rows, size_t n, const char *variant,
                                  size_t N, size_t threads)
{
    for (size_t i = 0; i < n; i++)
        if (!rows[i].skipped && rows[i].N == N && rows[i].threads == threads &&
            strcmp(rows[i].variant, variant) == 0)
            return &rows[i];
    return NULL;
}

static void print_row(const struct row *r, const struct row *rows, size_t n, double peak)
{
    const struct row *mine = strncmp(r->variant, "torch-", 6) == 0
                                 ? find_row(rows, n, r->variant + 6, r->N, r->threads)
                                 : NULL;
    double gfs = r->flops / r->median / 1e9;

    if (r->skipped) {
        printf("%-16s %6zu %3zu   skipped (over --max-seconds)\n", r->variant, r->N,
               r->threads);
        return;
    }
    printf("%-16s %6zu %3zu %11.4f %9.1f %8.2f %6.1f%%", r->variant, r->N, r->threads,
           r->median, (double)r->rss / 1048576.0, gfs,
           100 * gfs * 1e9 / (peak * (double)r->threads / (double)omp_get_num_procs()));
    if (mine)
        printf("   amaml %.1fx faster, gradients agree to %.1e", r->median / mine->median,
               r->grad_err);
    printf("\n");
    fflush(stdout);
}

static int plot(const char *dir)
{
    char path[4200], cmd[4300];
    FILE *gp;
    const char *what[2][3] = {{"time", "seconds per meta-update", "5"},
                              {"memory", "peak resident memory (MB)", "7/1048576"}};

    if (system("gnuplot --version >/dev/null 2>&1") != 0) {
        fprintf(stderr, "amaml bench: gnuplot is not installed: no plots\n");
        return CLI_EXIT_OK;
    }
    snprintf(path, sizeof path, "%s/plot.gp", dir);
    if (!(gp = fopen(path, "w")))
        return cli_error("bench", CLI_EXIT_FAIL, "%s: cannot write", path);
    for (int i = 0; i < 2; i++) {
        fprintf(gp, "set terminal pngcairo size 1000,650 font ',10'\nset output '%s/%s.png'\n"
                "set datafile separator ','\nset logscale xy\nset grid\nset key outside right\n"
                "set xlabel 'inner steps N'\nset ylabel '%s'\n", dir, what[i][0], what[i][1]);
        /* one line per variant and thread count that has rows */
        fprintf(gp, "plot for [k in system(\"tail -n +2 %s/bench.csv | cut -d, -f1,4 | "
                "sort -u | tr , :\")] '%s/bench.csv' using ((strcol(1).':'.strcol(4)) eq k ? "
                "$3 : 1/0):($%s) with linespoints title k.'T'\n", dir, dir, what[i][2]);
    }
    fclose(gp);
    snprintf(cmd, sizeof cmd, "gnuplot %s", path);
    if (system(cmd) != 0)
        return cli_error("bench", CLI_EXIT_FAIL, "gnuplot failed on %s", path);
    fprintf(stderr, "amaml bench: wrote %s/time.png and %s/memory.png\n", dir, dir);
    return CLI_EXIT_OK;
}

static size_t parse_list(const char *s, size_t *v)
{
    size_t n = 0;
    char *end;

    while (*s && n < MAX_LIST) {
        v[n++] = (size_t)strtoull(s, &end, 10);
        if (end == s || (*end && *end != ','))
            return 0;
        s = *end ? end + 1 : end;
    }
    return n;
}

/* Whether the configuration would take over max_seconds: its time,
 * extrapolated linearly in N from the same variant's last measured row. */
static int too_long(const struct bench_args *a, const struct row *rows, size_t n,
                    const struct row *r)
{
    for (size_t i = n; i-- > 0;) {
        const struct row *p = &rows[i];

        if (strcmp(p->variant, r->variant) || p->threads != r->threads)
            continue;
        if (p->skipped)
            return 1;
        return p->median * (double)r->N / (double)p->N * (double)(a->repeats + 1) >
               a->max_seconds;
    }
    return 0;
}

static int sweep(const struct bench_args *a)
{
    size_t Ns[MAX_LIST], Ts[MAX_LIST], nN = parse_list(a->steps_list, Ns);
    size_t nT = parse_list(a->threads_list, Ts), n = 0;
    char variants[1024], *names[MAX_LIST], self[4096], how[256], dir[4096];
    struct row *rows;
    size_t nv = 0;
    double peak = machine_peak(how, sizeof how);
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    struct amaml_mlp *m = amaml_mlp_parse(a->arch, "tanh", AMAML_MSE);
    int rc, have_torch;

    if (!nN || !nT || len <= 0 || !m)
        return cli_error("bench", CLI_EXIT_USAGE, "bad --steps-list, --threads-list or --arch");
    self[len] = '\0';
    snprintf(variants, sizeof variants, "%s", a->variants);
    for (char *t = strtok(variants, ","); t && nv < MAX_LIST; t = strtok(NULL, ","))
        names[nv++] = t;
    snprintf(dir, sizeof dir, "%s/grads", a->out); /* the meta-gradients, compared */
    rc = cli_make_dir("bench", dir);
    snprintf(dir, sizeof dir, "%s/case", a->out);
    if (rc || (rc = cli_make_dir("bench", dir)) || (rc = write_case(a, m, dir))) {
        amaml_mlp_free(m);
        return rc;
    }
    amaml_mlp_free(m);
    have_torch = !a->no_torch && system("/usr/bin/python3 -c 'import torch' 2>/dev/null") == 0;
    if (!have_torch)
        fprintf(stderr, "amaml bench: %s: PyTorch rows skipped\n",
                a->no_torch ? "--no-torch" : "python3-torch is not installed");
    printf("machine peak %.1f GFLOP/s: %s\n", peak / 1e9, how);
    printf("%-16s %6s %3s %11s %9s %8s %7s\n", "variant", "N", "T", "median s", "peak MB",
           "GFLOP/s", "peak");
    rows = calloc(nv * nN * nT, sizeof *rows);
    for (size_t v = 0; v < nv && rows; v++) {
        if (strncmp(names[v], "torch-", 6) == 0 && !have_torch)
            continue;
        for (size_t t = 0; t < nT; t++) {
            for (size_t k = 0; k < nN; k++) {
                struct row *r = &rows[n];

                snprintf(r->variant, sizeof r->variant, "%s", names[v]);
                snprintf(r->impl, sizeof r->impl, "%s",
                         strncmp(names[v], "torch-", 6) == 0 ? "torch" : "amaml");
                r->N = Ns[k];
                r->threads = Ts[t];
                r->grad_err = NAN;
                r->skipped = too_long(a, rows, n, r);
                if (!r->skipped && (rc = measure(a, self, a->out, r)) != CLI_EXIT_OK) {
                    free(rows);
                    return rc;
                }
                if (r->impl[0] == 't' && find_row(rows, n, names[v] + 6, r->N, r->threads))
                    r->flops = find_row(rows, n, names[v] + 6, r->N, r->threads)->flops;
                print_row(r, rows, n, peak);
                n++;
                if ((rc = write_csv(a->out, rows, n, peak)) != CLI_EXIT_OK) {
                    free(rows);
                    return rc;
                }
            }
        }
    }
    free(rows);
    return plot(a->out);
}

int cmd_bench(int argc, char **argv)
{
    struct bench_args a = {
        .out = "bench/results",
        .steps_list = "1,10,20,50,100,200,300,500,1000,2000,5000",
        .variants = "amaml,amaml-binomial,amaml-every,amaml-discrete,maml,fomaml,reptile,imaml,"
                    "torch-amaml,torch-maml",
        .threads_list = NULL, .arch = "1-32-32-1", .torch_script = "bench/torch_metaupdate.py",
        .shots = 100, .queries = 100, .batch = 5, .repeats = 5, .slots = 8, .nthreads = 1,
        .inner_lr = 0.01, .prox = 1, .max_seconds = 120, .seed = 1,
    };
    const struct cli_opt opts[] = {
        {"out", CLI_STR, &a.out, "DIR", "results directory (default bench/results)"},
        {"steps-list", CLI_STR, &a.steps_list, "N,..", "inner steps (default 1,...,5000)"},
        {"variants", CLI_STR, &a.variants, "V,..", "amaml, amaml-binomial, amaml-every, "
         "amaml-discrete, maml, fomaml, reptile, imaml, torch-amaml, torch-maml, ..."},
        {"threads-list", CLI_STR, &a.threads_list, "T,..", "threads (default 1 and all)"},
        {"repeats", CLI_SIZE, &a.repeats, "R", "timed meta-updates, median taken (5)"},
        {"max-seconds", CLI_DOUBLE, &a.max_seconds, "S",
         "skip a configuration expected to take longer (120)"},
        {"slots", CLI_SIZE, &a.slots, "C", "binomial checkpointing slots (default 8)"},
        {"shots", CLI_SIZE, &a.shots, "K", "support samples a task (default 100)"},
        {"queries", CLI_SIZE, &a.queries, "Q", "query samples a task (default 100)"},
        {"meta-batch", CLI_SIZE, &a.batch, "B", "tasks a meta-update (default 5)"},
        {"arch", CLI_STR, &a.arch, "W-W-..", "MLP, tanh (default 1-32-32-1)"},
        {"inner-lr", CLI_DOUBLE, &a.inner_lr, "H", "inner step size (default 0.01)"},
        {"prox", CLI_DOUBLE, &a.prox, "BETA", "A-MAML proximal strength (default 1)"},
        {"seed", CLI_U64, &a.seed, "S", "data and initialization (default 1)"},
        {"torch-script", CLI_STR, &a.torch_script, "FILE", "the PyTorch implementation"},
        {"no-torch", CLI_FLAG, &a.no_torch, NULL, "skip the PyTorch rows"},
        {"one", CLI_STR, &a.one, "VARIANT", "(internal) measure one configuration here"},
        {"case", CLI_STR, &a.cas, "DIR", "(internal, with --one) the data"},
        {"steps", CLI_SIZE, &a.steps, "N", "(internal, with --one)"},
        {"threads", CLI_SIZE, &a.nthreads, "T", "(internal, with --one)"},
        {"grad-out", CLI_STR, &a.grad_out, "FILE", "(internal, with --one)"},
    };
    char threads[64];
    int rc;

    rc = cli_parse(argc, argv, "bench", synopsis, opts, sizeof opts / sizeof opts[0]);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (a.repeats < 1 || a.repeats > MAX_TIMES || a.batch < 1 || a.batch > 64)
        return cli_error("bench", CLI_EXIT_USAGE, "--repeats 1..%d and --meta-batch 1..64",
                         MAX_TIMES);
    openblas_set_num_threads(1); /* parallel over tasks, as in training */
    if (a.one)
        return a.cas ? run_one(&a) : cli_error("bench", CLI_EXIT_USAGE, "--one needs --case");
    snprintf(threads, sizeof threads, "1,%d", omp_get_num_procs());
    if (!a.threads_list)
        a.threads_list = omp_get_num_procs() > 1 ? threads : "1";
    if ((rc = cli_make_dir("bench", a.out)) != CLI_EXIT_OK)
        return rc;
    return sweep(&a);
}
