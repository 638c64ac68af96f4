/*
 * ratings.c - the meta collaborative filtering families movielens,
 * movielens1m and jester (protocol.md section 2): each user is a task whose
 * inputs are features of the items the user rated and whose targets are the
 * ratings. Data: MovieLens (Harper and Konstan, ACM TiiS 2015) and Jester
 * (Goldberg et al., Information Retrieval 2001), read by ratings_load.c.
 *
 * A build, in steps:
 *  1. load the file in the layout that has the family's name;
 *  2. split the users: a seeded Fisher-Yates permutation of all users,
 *     walked in order; a user with fewer than shots + queries + 1 ratings
 *     is left out, the first ntest others are meta-test, the rest
 *     meta-train. The split thus depends on the seed, the user ids and the
 *     counts, never on rating values or the order of the lines;
 *  3. statistics of the meta-train ratings: mean, standard deviation, and
 *     each item's mean (the item-mean baseline);
 *  4. item features: the top right singular vectors of the meta-train
 *     rating matrix R (users x items, centred by the training mean, missing
 *     entries 0), standardized per dimension over the items;
 *  5. one task per user, all the user's ratings one shared pool.
 * No meta-test rating enters steps 3 and 4. An item that only meta-test or
 * left-out users rated has a zero column in R: its features are those of
 * an item nobody rated, and its baseline the training mean.
 *
 * The singular vectors are the eigenvectors of the Gram matrix R^T R
 * (cblas_dsyrk over blocks of users, then LAPACKE_dsyevr for the top
 * eigenpairs only), which costs far less than an SVD of R. Squaring R
 * squares its condition: a vector's error is about eps sigma_1^2 /
 * (sigma_i^2 - sigma_j^2) (Golub and Van Loan, 4th ed., 8.6), small for the
 * leading vectors of rating data, whose spectrum is far above eps sigma_1.
 */
#include "core/error.h"
#include "tasks/tasks.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRAM_BLOCK 256 /* rows of R a dsyrk call takes in the tests' helper */
/* Doubles of a dense block of meta-train users (32 MB): big enough that
 * dsyrk does not re-read the n x n Gram once per few hundred users. */
#define BLOCK_DOUBLES ((size_t)1 << 22)
#define MAX_GRAM_ITEMS 20000 /* a dense Gram of more items would pass 3 GB */

static size_t user_count(const struct amaml_ratings *r, size_t u)
{
    return r->user_start[u + 1] - r->user_start[u];
}

/* ------------------------------------------------------ split */

static void shuffle(size_t *perm, size_t n, uint64_t seed)
{
    struct amaml_rng rng;

    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    amaml_rng_seed(&rng, seed);
    for (size_t i = n; i > 1; i--) { /* Fisher-Yates: slot i - 1 from the first i */
        size_t j = (size_t)(amaml_rng_uniform(&rng) * (double)i), t = perm[i - 1];

        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

static int split_users(const struct amaml_taskset_config *c, struct ratings_parts *p)
{
    const struct amaml_ratings *r = p->data;
    size_t nu = r->nusers, need = c->shots + c->queries + 1;
    size_t *perm = malloc(nu * sizeof *perm);

    p->train = malloc(nu * sizeof *p->train);
    p->test = malloc(nu * sizeof *p->test);
    if (!perm || !p->train || !p->test) {
        free(perm);
        return amaml_fail(AMAML_ENOMEM, "%s: out of memory for %zu users", c->data, nu);
    }

    shuffle(perm, nu, c->seed);
    for (size_t i = 0; i < nu; i++) {
        size_t u = perm[i];

        if (user_count(r, u) < need)
            p->nleft++;
        else if (p->ntest < c->ntest)
            p->test[p->ntest++] = u;
        else
            p->train[p->ntrain++] = u;
    }
    free(perm);

    if (p->ntest < c->ntest || p->ntrain == 0)
        return amaml_fail(AMAML_EINVAL, "%s: %zu of %zu users have the %zu ratings that %zu "
                          "shots and %zu queries need; %zu meta-test users and some "
                          "meta-train users are needed", c->data, nu - p->nleft, nu, need,
                          c->shots, c->queries, c->ntest);
    return AMAML_OK;
}

/* ------------------------------------------------------ statistics */

/* Mean and standard deviation of the meta-train ratings, then each item's
 * mean over them. */
static int train_stats(const struct amaml_taskset_config *c, struct ratings_parts *p)
{
    const struct amaml_ratings *r = p->data;
    const size_t *start = r->user_start;
    size_t *cnt = calloc(r->nitems, sizeof *cnt), n = 0;
    double sum = 0, var = 0;

    p->item_mean = calloc(r->nitems, sizeof *p->item_mean);
    if (!cnt || !p->item_mean) {
        free(cnt);
        return amaml_fail(AMAML_ENOMEM, "%s: out of memory for %zu items", c->data, r->nitems);
    }

    for (size_t t = 0; t < p->ntrain; t++)
        for (size_t j = start[p->train[t]]; j < start[p->train[t] + 1]; j++) {
            sum += r->rating[j];
            p->item_mean[r->item[j]] += r->rating[j];
            cnt[r->item[j]]++;
            n++;
        }
    p->mean = sum / (double)n;

    for (size_t t = 0; t < p->ntrain; t++)
        for (size_t j = start[p->train[t]]; j < start[p->train[t] + 1]; j++)
            var += (r->rating[j] - p->mean) * (r->rating[j] - p->mean);
    p->sd = sqrt(var / (double)n);
    p->sd = p->sd > 0 ? p->sd : 1; /* every rating the same: nothing to scale */

    for (size_t i = 0; i < r->nitems; i++)
        p->item_mean[i] = cnt[i] ? p->item_mean[i] / (double)cnt[i] : p->mean;
    free(cnt);
    return AMAML_OK;
}

/* ------------------------------------------------------ features */

/* G (n x n, column-major, upper triangle) += A^T A for the b x n row-major
 * block A: read column-major, A is the n x b matrix A^T, hence NoTrans. */
static void gram_add(double *G, const double *A, size_t b, size_t n)
{
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, (int)n, (int)b, 1.0, A, (int)n, 1.0,
                G, (int)n);
}

/* Column k - 1 - f of Z (n x k column-major, eigenvalues ascending) as
 * column f of V (n x k row-major). An eigenvector's sign is arbitrary, so
 * each is signed by its entry of largest magnitude, which keeps features
 * from flipping between LAPACK builds. */
static void copy_signed(const double *Z, size_t n, size_t k, double *V)
{
    for (size_t f = 0; f < k; f++) {
        const double *z = Z + (k - 1 - f) * n;
        size_t top = 0;
        double s;

        for (size_t i = 1; i < n; i++)
            top = fabs(z[i]) > fabs(z[top]) ? i : top;
        s = z[top] < 0 ? -1 : 1;
        for (size_t i = 0; i < n; i++)
            V[i * k + f] = s * z[i];
    }
}

/* The eigenvectors of the k largest eigenvalues of G (upper triangle,
 * destroyed) into V, largest first. */
static int top_eigvecs(double *G, size_t n, size_t k, double *V)
{
    lapack_int m = 0, info, *isuppz = malloc(2 * k * sizeof *isuppz);
    double *w = malloc(k * sizeof *w), *Z = malloc(n * k * sizeof *Z);
    int rc = AMAML_OK;

    if (!isuppz || !w || !Z) {
        rc = amaml_fail(AMAML_ENOMEM, "out of memory for %zu eigenvectors of %zu", k, n);
    } else {
        info = LAPACKE_dsyevr(LAPACK_COL_MAJOR, 'V', 'I', 'U', (lapack_int)n, G,
                              (lapack_int)n, 0, 0, (lapack_int)(n - k + 1), (lapack_int)n, 0,
                              &m, w, Z, (lapack_int)n, isuppz);
        if (info == LAPACK_WORK_MEMORY_ERROR)
            rc = amaml_fail(AMAML_ENOMEM, "out of memory in dsyevr (%zu items)", n);
        else if (info != 0 || (size_t)m != k)
            rc = amaml_fail(AMAML_EINVAL, "dsyevr failed (info %d) with %d of %zu vectors "
                            "of the %zu x %zu Gram matrix", (int)info, (int)m, k, n, n);
        else
            copy_signed(Z, n, k, V);
    }
    free(isuppz);
    free(w);
    free(Z);
    return rc;
}

int ratings_top_right_singular(const double *R, size_t m, size_t n, size_t k, double *V)
{
    double *G;
    int rc;

    if (k == 0 || k > n || n > MAX_GRAM_ITEMS)
        return amaml_fail(AMAML_EINVAL, "%zu singular vectors of %zu columns (at most %d)", k,
                          n, MAX_GRAM_ITEMS);
    if (!(G = calloc(n * n, sizeof *G)))
        return amaml_fail(AMAML_ENOMEM, "out of memory for a %zu x %zu Gram matrix", n, n);
    for (size_t r0 = 0; r0 < m; r0 += GRAM_BLOCK)
        gram_add(G, R + r0 * n, m - r0 < GRAM_BLOCK ? m - r0 : GRAM_BLOCK, n);
    rc = top_eigvecs(G, n, k, V);
    free(G);
    return rc;
}

/* Each column of F (n x k) to mean 0 and standard deviation 1. */
static void standardize_columns(double *F, size_t n, size_t k)
{
    for (size_t f = 0; f < k; f++) {
        double mean = 0, var = 0, sd;

        for (size_t i = 0; i < n; i++)
            mean += F[i * k + f];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++)
            var += (F[i * k + f] - mean) * (F[i * k + f] - mean);
        sd = sqrt(var / (double)n);
        sd = sd > 0 ? sd : 1;
        for (size_t i = 0; i < n; i++)
            F[i * k + f] = (F[i * k + f] - mean) / sd;
    }
}

/* The Gram matrix of the centred meta-train ratings, a block of users at
 * a time so that R is never dense whole (6040 x 3706 for MovieLens 1M). */
static int train_gram(const struct ratings_parts *p, double *G)
{
    const struct amaml_ratings *r = p->data;
    size_t n = r->nitems, b = BLOCK_DOUBLES / n > 0 ? BLOCK_DOUBLES / n : 1;
    double *A;

    b = b < p->ntrain ? b : p->ntrain;
    A = malloc(b * n * sizeof *A); /* [b][n] */
    if (!A)
        return amaml_fail(AMAML_ENOMEM, "out of memory for %zu x %zu ratings", b, n);
    for (size_t t0 = 0; t0 < p->ntrain; t0 += b) {
        size_t bn = p->ntrain - t0 < b ? p->ntrain - t0 : b;

        memset(A, 0, bn * n * sizeof *A);
        for (size_t t = 0; t < bn; t++) {
            size_t u = p->train[t0 + t];

            for (size_t j = r->user_start[u]; j < r->user_start[u + 1]; j++)
                A[t * n + r->item[j]] = r->rating[j] - p->mean;
        }
        gram_add(G, A, bn, n);
    }
    free(A);
    return AMAML_OK;
}

static int item_features(const struct amaml_taskset_config *c, struct ratings_parts *p,
                         size_t k)
{
    size_t n = p->data->nitems;
    double *G = calloc(n * n, sizeof *G); /* [n][n] */
    int rc;

    p->feat = malloc(n * k * sizeof *p->feat);
    if (!G || !p->feat) {
        free(G);
        return amaml_fail(AMAML_ENOMEM, "%s: out of memory for the Gram matrix of %zu items",
                          c->data, n);
    }
    rc = train_gram(p, G);
    if (rc == AMAML_OK)
        rc = top_eigvecs(G, n, k, p->feat);
    free(G);
    if (rc != AMAML_OK)
        return rc;
    standardize_columns(p->feat, n, k);
    p->din = k;
    return AMAML_OK;
}

/* ------------------------------------------------------ the parts */

void ratings_parts_free(struct ratings_parts *p)
{
    amaml_ratings_free(p->data);
    free(p->train);
    free(p->test);
    free(p->item_mean);
    free(p->feat);
    memset(p, 0, sizeof *p);
}

static int check_settings(const struct amaml_taskset_config *c)
{
    if (!c->data)
        return amaml_fail(AMAML_EINVAL, "task family %s needs a rating file (the data path)",
                          c->family);
    if (c->features == 0)
        return amaml_fail(AMAML_EINVAL, "%s: at least one item feature is needed", c->data);
    if (c->shots >= SIZE_MAX / 2 || c->queries >= SIZE_MAX / 2)
        return amaml_fail(AMAML_EINVAL, "%s: %zu shots and %zu queries are too many", c->data,
                          c->shots, c->queries);
    return AMAML_OK;
}

int ratings_prepare(const struct amaml_taskset_config *cfg, struct ratings_parts *p)
{
    int rc;

    memset(p, 0, sizeof *p);
    if ((rc = check_settings(cfg)) != AMAML_OK)
        return rc;
    rc = amaml_ratings_load(cfg->data, cfg->family, &p->data);
    if (rc == AMAML_OK && p->data->nitems > MAX_GRAM_ITEMS)
        rc = amaml_fail(AMAML_EINVAL, "%s: %zu items; the dense Gram matrix of the item "
                        "features allows at most %d", cfg->data, p->data->nitems,
                        MAX_GRAM_ITEMS);
    if (rc == AMAML_OK)
        rc = split_users(cfg, p);
    if (rc == AMAML_OK)
        rc = train_stats(cfg, p);
    if (rc == AMAML_OK)
        rc = item_features(cfg, p, cfg->features < p->data->nitems ? cfg->features
                                                                   : p->data->nitems);
    if (rc != AMAML_OK)
        ratings_parts_free(p);
    return rc;
}

/* ------------------------------------------------------ the tasks */

/* The task of user u: x the features of the items u rated, y the
 * standardized ratings, base the standardized item means; x, y and base
 * are scratch for the largest user. */
static int add_user(struct amaml_taskset *ts, const struct ratings_parts *p, size_t u,
                    enum amaml_split s, double *x, double *y, double *base)
{
    const struct amaml_ratings *r = p->data;
    size_t j0 = r->user_start[u], n = user_count(r, u), d = p->din;
    struct task_entry e = {{0, 0}, {0, 0}, {0, 0}, 1};
    int rc;

    for (size_t t = 0; t < n; t++) {
        size_t i = r->item[j0 + t];

        memcpy(x + t * d, p->feat + i * d, d * sizeof *x);
        y[t] = (r->rating[j0 + t] - p->mean) / p->sd;
        base[t] = (p->item_mean[i] - p->mean) / p->sd;
    }
    rc = taskset_add_rows(ts, x, y, base, n, &e.s);
    return rc == AMAML_OK ? taskset_add_task(ts, &e, s) : rc;
}

static int fill_tasks(struct amaml_taskset *ts, const struct ratings_parts *p)
{
    size_t nt = p->ntrain + p->ntest, most = 0;
    double *x, *y, *base;
    int rc = AMAML_OK;

    for (size_t u = 0; u < p->data->nusers; u++)
        most = user_count(p->data, u) > most ? user_count(p->data, u) : most;
    x = malloc(most * p->din * sizeof *x); /* [most][din] */
    y = malloc(most * sizeof *y);          /* [most] */
    base = malloc(most * sizeof *base);    /* [most] */
    if (!x || !y || !base)
        rc = amaml_fail(AMAML_ENOMEM, "out of memory for a task of %zu ratings", most);
    for (size_t t = 0; t < nt && rc == AMAML_OK; t++)
        rc = t < p->ntrain ? add_user(ts, p, p->train[t], AMAML_TRAIN, x, y, base)
                           : add_user(ts, p, p->test[t - p->ntrain], AMAML_TEST, x, y, base);
    free(x);
    free(y);
    free(base);
    return rc;
}

static void describe(struct amaml_taskset *ts, const struct ratings_parts *p)
{
    const struct amaml_ratings *r = p->data;
    const struct amaml_taskset_config *c = &ts->cfg;
    char fewer[64] = "";

    if (p->din < c->features)
        snprintf(fewer, sizeof fewer, " (%zu asked, but only %zu items)", c->features,
                 r->nitems);
    snprintf(ts->desc, sizeof ts->desc, "%s: %zu users (%zu meta-train, %zu meta-test, %zu "
             "left out with fewer than %zu ratings), %zu items, %zu ratings, %zu SVD "
             "features%s, rating mean %.4g std %.4g", c->family, r->nusers, p->ntrain,
             p->ntest, p->nleft, c->shots + c->queries + 1, r->nitems, r->n, p->din, fewer,
             p->mean, p->sd);
}

/* The build of all three families: the layout has the family's name. */
static int build(struct amaml_taskset *ts)
{
    struct ratings_parts p;
    int rc = ratings_prepare(&ts->cfg, &p);

    if (rc != AMAML_OK)
        return rc;
    ts->din = p.din;
    ts->y_scale = p.sd;
    rc = fill_tasks(ts, &p);
    if (rc == AMAML_OK)
        describe(ts, &p);
    ratings_parts_free(&p);
    return rc;
}

const struct task_family task_family_movielens = {"movielens", build};
const struct task_family task_family_movielens1m = {"movielens1m", build};
const struct task_family task_family_jester = {"jester", build};
