/*
 * test_ratings.c - the rating families (MovieLens: Harper and Konstan 2015;
 * Jester: Goldberg et al. 2001) on small files generated here: the three
 * loaders (counts, dense ids, Windows line endings, blank lines, and errors
 * that name file:line and the value), the user split (seeded, disjoint,
 * users with too few ratings left out and counted), a drawn task's support,
 * query and test sets (disjoint, together the user's ratings), the
 * item-mean baseline and the statistics against direct computations,
 * features that do not move when a meta-test user's ratings change, and
 * the Gram-matrix SVD against LAPACK's dense one.
 */
#include "check.h"
#include "tasks/tasks.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FILES 64
#define NU 40   /* users of the generated MovieLens files */
#define NI 30   /* their items, and item 999 of a user left out */
#define NFEW 3  /* users with too few ratings: the first three */
#define SHOTS 3 /* with 4 queries a user needs 8 ratings */
#define QUERIES 4
#define NTEST 6
#define NFEAT 8

static char tmpdir[64];
static char files[MAX_FILES][128];
static size_t nfiles;

/* ------------------------------------------------------ files */

/* A path in the suite's directory, remembered for removal at the end. */
static const char *path_of(const char *name)
{
    char *p = files[nfiles < MAX_FILES - 1 ? nfiles++ : MAX_FILES - 1];

    snprintf(p, sizeof files[0], "%s/%s", tmpdir, name);
    return p;
}

static const char *put_file(const char *name, const char *text)
{
    const char *path = path_of(name);
    FILE *f = fopen(path, "wb");

    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

static void remove_files(void)
{
    check_true("temporary file slots sufficed", nfiles < MAX_FILES - 1);
    for (size_t i = 0; i < nfiles; i++)
        unlink(files[i]);
    rmdir(tmpdir);
}

/* The MovieLens ratings the generated files hold: user u has id 3u + 2
 * (sparse ids, not from 1) and rates cnt[u] distinct items of ids 10 + 7j;
 * ratings follow a rank-2 model rounded into 1..5. The first NFEW users
 * rate too few items for a task (5, 7 and 5; 8 are needed) and user NFEW
 * exactly 8, on the boundary; user 0 also rates item 999, which nobody
 * else rates, so no meta-train user does. */
struct ml_fixture {
    size_t cnt[NU];
    size_t item[NU][NI + 1];
    int rating[NU][NI + 1];
};

static void ml_fixture_make(struct ml_fixture *fx)
{
    struct amaml_rng rng;
    double a[NU][2], b[NI][2];

    amaml_rng_seed(&rng, 7);
    for (size_t i = 0; i < NI; i++)
        b[i][0] = amaml_rng_normal(&rng), b[i][1] = amaml_rng_normal(&rng);
    for (size_t u = 0; u < NU; u++) {
        size_t perm[NI];
        static const size_t first[NFEW + 1] = {5, 7, 5, SHOTS + QUERIES + 1};

        a[u][0] = amaml_rng_normal(&rng), a[u][1] = amaml_rng_normal(&rng);
        fx->cnt[u] = u <= NFEW ? first[u] : 10 + (size_t)(16 * amaml_rng_uniform(&rng));
        for (size_t j = 0; j < NI; j++)
            perm[j] = j;
        for (size_t j = 0; j < fx->cnt[u]; j++) {
            size_t k = j + (size_t)(amaml_rng_uniform(&rng) * (double)(NI - j)), t = perm[j];
            double r = 3 + a[u][0] * b[perm[k]][0] + 0.5 * a[u][1] * b[perm[k]][1];

            perm[j] = perm[k];
            perm[k] = t;
            fx->item[u][j] = 10 + 7 * perm[j];
            r = floor(r + 0.3 * amaml_rng_normal(&rng) + 0.5);
            fx->rating[u][j] = r < 1 ? 1 : r > 5 ? 5 : (int)r;
        }
    }
    fx->item[0][fx->cnt[0]] = 999;
    fx->rating[0][fx->cnt[0]++] = 4;
}

/* Writes fx with separator sep ("\t" for u.data, "::" for ratings.dat),
 * users interleaved as in u.data; the user of id `flip` (0: none) gets
 * 6 - r for each rating r. */
static const char *ml_fixture_write(const struct ml_fixture *fx, const char *name,
                                    const char *sep, size_t flip)
{
    const char *path = path_of(name);
    FILE *f = fopen(path, "wb");

    for (size_t j = 0; f && j <= NI; j++)
        for (size_t u = 0; u < NU; u++) {
            int r = fx->rating[u][j];

            if (j >= fx->cnt[u])
                continue;
            fprintf(f, "%zu%s%zu%s%d%s%zu\n", 3 * u + 2, sep, fx->item[u][j], sep,
                    3 * u + 2 == flip ? 6 - r : r, sep, 881250949 + 10 * j + u);
        }
    if (f)
        fclose(f);
    return path;
}

/* A Jester CSV of 31 lines: 30 users rating about 60% of the jokes, with
 * ", ", "," or blanks between values, and a line of 99s (a user without
 * ratings) third. The count column is right except on the first line. */
static const char *jester_write(const char *name)
{
    static const char *const seps[] = {", ", ",", "  "};
    const char *path = path_of(name);
    FILE *f = fopen(path, "wb");
    struct amaml_rng rng;

    amaml_rng_seed(&rng, 11);
    for (size_t u = 0; f && u < 31; u++) {
        double v[100];
        size_t rated = 0;

        for (size_t k = 0; k < 100; k++) {
            v[k] = u == 2 || amaml_rng_uniform(&rng) < 0.4
                       ? 99 : round(2000 * amaml_rng_uniform(&rng) - 1000) / 100;
            rated += v[k] != 99;
        }
        fprintf(f, "%zu", u == 0 ? 100 : rated);
        for (size_t k = 0; k < 100; k++)
            fprintf(f, "%s%.2f", seps[u % 3], v[k]);
        fprintf(f, "\r\n");
    }
    if (f)
        fclose(f);
    return path;
}

/* ------------------------------------------------------ loaders */

static void check_small_movielens(const char *path, const char *what)
{
    static const size_t uid[] = {3, 7, 12}, iid[] = {3, 5, 12}, start[] = {0, 1, 3, 4};
    static const size_t item[] = {0, 0, 2, 1};
    static const double rating[] = {5, 4, 1, 2};
    struct amaml_ratings *r = NULL;
    char msg[128];

    snprintf(msg, sizeof msg, "%s loads", what);
    if (!check_ok(msg, amaml_ratings_load(path, "movielens", &r)))
        return;
    snprintf(msg, sizeof msg, "%s: 4 ratings of 3 users on 3 items", what);
    check_true(msg, r->n == 4 && r->nusers == 3 && r->nitems == 3);
    snprintf(msg, sizeof msg, "%s: ids dense in ascending order, grouped by user", what);
    check_true(msg, r->n == 4 && !memcmp(r->user_id, uid, sizeof uid) &&
                        !memcmp(r->item_id, iid, sizeof iid) &&
                        !memcmp(r->user_start, start, sizeof start) &&
                        !memcmp(r->item, item, sizeof item) &&
                        !memcmp(r->rating, rating, sizeof rating) && r->user[2] == 1);
    amaml_ratings_free(r);
}

static void test_load_movielens(void)
{
    const char *lf = "7\t3\t4\t881250949\n3\t3\t5\t881250950\n7\t12\t1\t881250951\n"
                     "12\t5\t2\t881250952\n";
    const char *crlf = "7\t3\t4\t881250949\r\n3\t3\t5\t881250950\r\n7\t12\t1\t881250951\r\n"
                       "12\t5\t2\t881250952\r\n\r\n";
    const char *unended = "7\t3\t4\t881250949\n3\t3\t5\t881250950\n\n7\t12\t1\t881250951\n"
                          "12\t5\t2\t881250952";

    check_small_movielens(put_file("lf.data", lf), "u.data");
    check_small_movielens(put_file("crlf.data", crlf), "u.data, CRLF, trailing blank line");
    check_small_movielens(put_file("unended.data", unended), "u.data, blank line, no last \\n");
}

static void test_load_movielens1m(void)
{
    const char *text = "1::1193::5::978300760\r\n1::661::3::978302109\r\n"
                       "2::1193::4::978298413\r\n\r\n";
    struct amaml_ratings *r = NULL;

    if (!check_ok("ratings.dat loads", amaml_ratings_load(put_file("ratings.dat", text),
                                                          "movielens1m", &r)))
        return;
    check_true("ratings.dat: 3 ratings, 2 users, 2 items",
               r->n == 3 && r->nusers == 2 && r->nitems == 2);
    check_true("ratings.dat: item ids ascending, ratings in file order",
               r->item_id[0] == 661 && r->item_id[1] == 1193 && r->item[0] == 1 &&
                   r->rating[0] == 5 && r->rating[1] == 3 && r->rating[2] == 4);
    amaml_ratings_free(r);
}

static void test_load_jester(void)
{
    struct amaml_ratings *r = NULL;
    char line[1024], *p = line;
    int ok = 1;

    /* one user with commas and spaces, the count off (loose check) */
    p += sprintf(p, "7, 1.5, 99, -2.25");
    for (int k = 3; k < 100; k++)
        p += sprintf(p, ", %s", k == 50 ? "10" : "99");
    sprintf(p, "\r\n\r\n");
    if (!check_ok("jester line loads", amaml_ratings_load(put_file("j1.csv", line), "jester",
                                                          &r)))
        return;
    check_true("jester: 3 ratings of user 1, 99 skipped, count not compared",
               r->n == 3 && r->nusers == 1 && r->nitems == 3 && r->user_id[0] == 1);
    check_true("jester: jokes 1, 3 and 51", r->n == 3 && r->item_id[0] == 1 &&
                                                r->item_id[1] == 3 && r->item_id[2] == 51);
    check_true("jester: decimals parsed exactly as strtod",
               r->n == 3 && r->rating[0] == 1.5 && r->rating[1] == -2.25 && r->rating[2] == 10);
    amaml_ratings_free(r);

    if (!check_ok("generated jester CSV loads",
                  amaml_ratings_load(jester_write("jester.csv"), "jester", &r)))
        return;
    check_true("jester: 30 users (the line of 99s has none), 100 jokes",
               r->nusers == 30 && r->nitems == 100 && r->user_id[2] == 4);
    for (size_t j = 0; j < r->n; j++)
        ok &= r->rating[j] >= -10 && r->rating[j] <= 10 &&
              fabs(r->rating[j] * 100 - round(r->rating[j] * 100)) < 1e-9;
    check_true("jester: ratings in [-10, 10] with two decimals", ok);
    amaml_ratings_free(r);
}

/* Files larger than the loader's 1 MiB read chunk: lines cut by a chunk's
 * end, and a line longer than the buffer (blanks between Jester values). */
static void test_load_large(void)
{
    const char *path = path_of("large.dat");
    FILE *f = fopen(path, "wb");
    struct amaml_ratings *r = NULL;
    int ok = 1;

    for (size_t i = 0; f && i < 70000; i++) /* 1.4 MB */
        fprintf(f, "%zu::%zu::%zu::97830%04zu\n", i / 50 + 1, i % 50 + 1, i % 5 + 1, i % 9973);
    if (f)
        fclose(f);
    if (check_ok("1.4 MB ratings.dat loads", amaml_ratings_load(path, "movielens1m", &r))) {
        check_true("70000 ratings of 1400 users on 50 items",
                   r->n == 70000 && r->nusers == 1400 && r->nitems == 50);
        for (size_t j = 0; j < r->n && r->n == 70000; j++)
            ok &= r->user[j] == j / 50 && r->item[j] == j % 50 && r->rating[j] == j % 5 + 1;
        check_true("every rating where it belongs", ok);
        amaml_ratings_free(r);
    }

    path = path_of("long-line.csv");
    if ((f = fopen(path, "wb"))) {
        fprintf(f, "1%*s", 3 << 20, ""); /* a 3 MiB gap before the first value */
        for (int k = 0; k < 100; k++)
            fprintf(f, ",%s", k == 99 ? "-3.5" : "99");
        fclose(f);
    }
    if (check_ok("a 3 MiB Jester line loads", amaml_ratings_load(path, "jester", &r))) {
        check_true("its one rating", r->n == 1 && r->item_id[0] == 100 && r->rating[0] == -3.5);
        amaml_ratings_free(r);
    }
}

/* Loading text as layout fails with status want and a message containing
 * "<path>:<where>"; the output pointer stays as it was. */
static void check_load_fails(const char *name, const char *layout, const char *text,
                             int want, const char *where)
{
    static struct amaml_ratings untouched;
    struct amaml_ratings *r = &untouched;
    const char *path = put_file(name, text);
    char needle[256];

    snprintf(needle, sizeof needle, "%s:%s", path, where);
    check_fails(name, amaml_ratings_load(path, layout, &r), want, needle);
    check_true("output untouched on failure", r == &untouched);
}

static void jester_line(char *buf, size_t nvalues, const char *bad, size_t at)
{
    char *p = buf + sprintf(buf, "1");

    for (size_t k = 1; k <= nvalues; k++)
        p += sprintf(p, ",%s", k == at ? bad : "0.5");
    sprintf(p, "\n");
}

static void test_load_errors(void)
{
    char j[2048], text[4096];
    struct amaml_ratings *r;

    check_load_fails("bad-item.data", "movielens", "1\t2\t3\t881250949\n1\tx\t3\t881250949\n",
                     AMAML_EFORMAT, "2: field 2 (item) is not an id: 'x'");
    check_load_fails("off-scale.data", "movielens", "1\t2\t3\t1\n\n1\t3\t6\t2\n", AMAML_EFORMAT,
                     "3: field 3 (rating) is off the rating scale [1, 5]: '6'");
    check_load_fails("missing.data", "movielens", "1\t2\t3\n", AMAML_EFORMAT,
                     "1: 3 fields, layout 'movielens' expects 4");
    check_load_fails("nonnum.data", "movielens", "1\t2\tinf\t1\n", AMAML_EFORMAT,
                     "1: field 3 (rating) is not a number: 'inf'");
    check_load_fails("hex.data", "movielens", "1\t2\t0x3\t1\n", AMAML_EFORMAT,
                     "1: field 3 (rating) is not a number: '0x3'");
    check_load_fails("stamp.data", "movielens", "1\t2\t3\t2001-01-01\n", AMAML_EFORMAT,
                     "1: field 4 (timestamp) is not a time in seconds: '2001-01-01'");
    check_load_fails("dat-as-data", "movielens", "1::1193::5::978300760\n", AMAML_EFORMAT,
                     "1: 1 field, layout 'movielens' expects 4 (user<TAB>item<TAB>rating<TAB>"
                     "timestamp); the line looks like layout 'movielens1m'");
    check_load_fails("data-as-dat", "movielens1m", "196\t242\t3\t881250949\n", AMAML_EFORMAT,
                     "1: 1 field, layout 'movielens1m' expects 4");
    check_load_fails("five.dat", "movielens1m", "1::1193::5::978300760\n1::1::five::1\n",
                     AMAML_EFORMAT, "2: field 3 (rating) is not a number: 'five'");
    check_load_fails("twice.dat", "movielens1m", "1::2::5::1\n2::2::5::1\n1::2::4::1\n",
                     AMAML_EFORMAT, "3: user 1 rates item 2 a second time (first on line 1)");
    check_load_fails("blank.dat", "movielens1m", "\r\n\r\n", AMAML_EFORMAT,
                     " no ratings in 2 lines");

    jester_line(j, 100, "11", 4);
    check_load_fails("j-off.csv", "jester", j, AMAML_EFORMAT,
                     "1: field 5 (joke 4) is off the rating scale [-10, 10]: '11'");
    jester_line(j, 99, "0", 0);
    check_load_fails("j-short.csv", "jester", j, AMAML_EFORMAT,
                     "1: 100 fields, layout 'jester' expects 101");
    jester_line(j, 102, "0", 0);
    check_load_fails("j-long.csv", "jester", j, AMAML_EFORMAT,
                     "1: more than 101 fields, layout 'jester' expects 101");
    jester_line(j, 100, "nan", 7);
    snprintf(text, sizeof text, "\n%s", j);
    check_load_fails("j-nan.csv", "jester", text, AMAML_EFORMAT,
                     "2: field 8 (joke 7) is not a number: 'nan'");
    jester_line(j, 100, "", 9);
    check_load_fails("j-empty.csv", "jester", j, AMAML_EFORMAT,
                     "1: field 10 (joke 9) is not a number: ''");
    check_load_fails("data-as-jester", "jester", "196\t242\t3\t881250949\n", AMAML_EFORMAT,
                     "1: 4 fields, layout 'jester' expects 101");

    r = NULL;
    check_fails("unknown layout", amaml_ratings_load(path_of("x"), "netflix", &r), AMAML_EINVAL,
                "unknown rating layout 'netflix'");
    check_fails("missing file", amaml_ratings_load(path_of("absent"), "movielens", &r),
                AMAML_EIO, "cannot open");
    check_true("no output on failure", r == NULL);
}

/* ------------------------------------------------------ the protocol */

static void config(struct amaml_taskset_config *c, const char *family, const char *path)
{
    amaml_taskset_config_default(c);
    c->family = family;
    c->data = path;
    c->shots = SHOTS;
    c->queries = QUERIES;
    c->ntest = NTEST;
    c->features = NFEAT;
    c->seed = 5;
}

/* role[u]: 1 meta-train, 2 meta-test, 0 left out; -1 if a user is in two
 * lists or a list holds a bad index. */
static int roles(const struct ratings_parts *p, int *role)
{
    size_t nu = p->data->nusers;

    memset(role, 0, nu * sizeof *role);
    for (size_t t = 0; t < p->ntrain + p->ntest; t++) {
        size_t u = t < p->ntrain ? p->train[t] : p->test[t - p->ntrain];

        if (u >= nu || role[u] != 0)
            return -1;
        role[u] = t < p->ntrain ? 1 : 2;
    }
    return 0;
}

static void test_split(const char *path)
{
    struct amaml_taskset_config c;
    struct ratings_parts p, q;
    int role[NU], ok = 1;
    size_t left = 0;

    config(&c, "movielens", path);
    if (!check_ok("prepare", ratings_prepare(&c, &p)))
        return;
    check_true("every user in at most one split", roles(&p, role) == 0);
    for (size_t u = 0; u < p.data->nusers; u++) {
        size_t n = p.data->user_start[u + 1] - p.data->user_start[u];

        left += role[u] == 0;
        ok &= role[u] == 0 ? n < SHOTS + QUERIES + 1 : n >= SHOTS + QUERIES + 1;
    }
    check_true("left out exactly the users with too few ratings", ok);
    check_true("left-out users counted", p.nleft == NFEW && left == NFEW);
    check_true("ntest meta-test users, the rest meta-train",
               p.ntest == NTEST && p.ntrain == NU - NFEW - NTEST);

    if (check_ok("prepare again", ratings_prepare(&c, &q))) {
        check_true("same seed, same split", p.ntest == q.ntest && p.ntrain == q.ntrain &&
                                                !memcmp(p.test, q.test, NTEST * sizeof *p.test) &&
                                                !memcmp(p.train, q.train,
                                                        p.ntrain * sizeof *p.train));
        ratings_parts_free(&q);
    }
    c.seed = 6;
    if (check_ok("prepare, other seed", ratings_prepare(&c, &q))) {
        check_true("other seed, other meta-test users",
                   memcmp(p.test, q.test, NTEST * sizeof *p.test) != 0);
        ratings_parts_free(&q);
    }
    ratings_parts_free(&p);
}

/* Mean, standard deviation and item means of the meta-train ratings,
 * computed directly from the ratings and the roles. */
static void check_statistics(const struct ratings_parts *p)
{
    const struct amaml_ratings *r = p->data;
    double sum = 0, sq = 0, isum[NI + 1] = {0}, err = 0, mean;
    size_t n = 0, icnt[NI + 1] = {0};
    int role[NU];

    roles(p, role);
    for (size_t j = 0; j < r->n; j++)
        if (role[r->user[j]] == 1) {
            sum += r->rating[j], sq += r->rating[j] * r->rating[j], n++;
            isum[r->item[j]] += r->rating[j], icnt[r->item[j]]++;
        }
    mean = sum / (double)n;
    /* Sums of a few hundred small integers: the two ways of computing
     * differ by rounding of order 1e-15 relative. */
    check_close("training mean", p->mean, mean, 1e-12, 0, "summation order");
    check_close("training std", p->sd, sqrt(sq / (double)n - mean * mean), 1e-10, 0,
                "one-pass variance loses a few digits to cancellation");
    for (size_t i = 0; i < r->nitems; i++)
        err = fmax(err, fabs(p->item_mean[i] - (icnt[i] ? isum[i] / (double)icnt[i] : p->mean)));
    check_below("item means, global mean where no meta-train rating", err, 1e-13,
                "means of at most 40 ratings in 1..5: rounding only");
    check_true("item 999 (left-out user only) gets the training mean",
               r->item_id[r->nitems - 1] == 999 && p->item_mean[r->nitems - 1] == p->mean);
}

static void check_features(const struct ratings_parts *p)
{
    size_t n = p->data->nitems, k = p->din;
    double worst_mean = 0, worst_sd = 0;

    for (size_t f = 0; f < k; f++) {
        double m = 0, v = 0;

        for (size_t i = 0; i < n; i++)
            m += p->feat[i * k + f];
        m /= (double)n;
        for (size_t i = 0; i < n; i++)
            v += (p->feat[i * k + f] - m) * (p->feat[i * k + f] - m);
        worst_mean = fmax(worst_mean, fabs(m));
        worst_sd = fmax(worst_sd, fabs(sqrt(v / (double)n) - 1));
    }
    check_true("NFEAT features", k == NFEAT);
    check_below("features have mean 0", worst_mean, 1e-14, "rounding of 31 values of order 1");
    check_below("features have std 1", worst_sd, 1e-14, "rounding of 31 values of order 1");
}

/* The features, the statistics and the split do not move when a meta-test
 * user's ratings change; they do when a meta-train user's do. */
static void test_no_leak(const struct ml_fixture *fx, const struct ratings_parts *p)
{
    size_t test_id = p->data->user_id[p->test[0]], train_id = p->data->user_id[p->train[0]];
    struct amaml_taskset_config c;
    struct ratings_parts q;
    size_t bytes = p->data->nitems * p->din * sizeof *p->feat;

    config(&c, "movielens", ml_fixture_write(fx, "flip-test.data", "\t", test_id));
    if (!check_ok("prepare with a meta-test user's ratings changed", ratings_prepare(&c, &q)))
        return;
    check_true("the change reached the data",
               memcmp(q.data->rating, p->data->rating, q.data->n * sizeof *q.data->rating));
    check_true("features bit-identical", q.din == p->din && !memcmp(q.feat, p->feat, bytes));
    check_true("training mean and std bit-identical", q.mean == p->mean && q.sd == p->sd);
    check_true("item means bit-identical",
               !memcmp(q.item_mean, p->item_mean, q.data->nitems * sizeof *q.item_mean));
    check_true("split unchanged", !memcmp(q.test, p->test, NTEST * sizeof *q.test) &&
                                      !memcmp(q.train, p->train, q.ntrain * sizeof *q.train));
    ratings_parts_free(&q);

    config(&c, "movielens", ml_fixture_write(fx, "flip-train.data", "\t", train_id));
    if (check_ok("prepare with a meta-train user's ratings changed", ratings_prepare(&c, &q))) {
        check_true("then the features do change (the check above can fail)",
                   memcmp(q.feat, p->feat, bytes) != 0);
        ratings_parts_free(&q);
    }
}

/* ------------------------------------------------------ draws */

/* Matches each drawn row (x, y) to an unused rating j of user u, marking
 * it; the number of rows that found none. For test rows (base not NULL)
 * also checks the baseline against the item mean. */
static size_t match_rows(const struct ratings_parts *p, size_t u, const struct amaml_batch *b,
                         const double *base, int *used, double *base_err)
{
    const struct amaml_ratings *r = p->data;
    size_t d = p->din, j0 = r->user_start[u], n = r->user_start[u + 1] - j0, bad = 0;

    for (size_t i = 0; i < b->n; i++) {
        size_t hit = n;

        for (size_t t = 0; t < n && hit == n; t++) {
            size_t it = r->item[j0 + t];

            if (!used[t] && b->y[i] == (r->rating[j0 + t] - p->mean) / p->sd &&
                !memcmp(b->x + i * d, p->feat + it * d, d * sizeof *b->x))
                hit = t;
        }
        if (hit == n) {
            bad++;
            continue;
        }
        used[hit] = 1;
        if (base)
            *base_err = fmax(*base_err, fabs(base[i] - (p->item_mean[r->item[j0 + hit]] -
                                                        p->mean) / p->sd));
    }
    return bad;
}

static void test_draw(const char *path, const struct ratings_parts *p)
{
    struct amaml_taskset_config c;
    struct amaml_taskset *ts;
    struct amaml_task *task;
    struct amaml_rng rng;
    size_t u = p->test[1], n = p->data->user_start[u + 1] - p->data->user_start[u], bad;
    int used[NI + 1] = {0}, all = 1;
    double base_err = 0;

    config(&c, "movielens", path);
    if (!(ts = amaml_taskset_create(&c))) {
        check_ok("task set", AMAML_EINVAL);
        return;
    }
    check_true("task counts and din", amaml_taskset_count(ts, AMAML_TRAIN) == p->ntrain &&
                                          amaml_taskset_count(ts, AMAML_TEST) == NTEST &&
                                          amaml_taskset_din(ts) == NFEAT);
    check_true("y scale is the training std", amaml_taskset_y_scale(ts) == p->sd);
    check_true("description counts users, items, ratings, left out",
               strstr(amaml_taskset_describe(ts), "40 users (31 meta-train, 6 meta-test, 3 "
                                                  "left out with fewer than 8 ratings), 31 "
                                                  "items") != NULL);
    task = amaml_task_alloc(ts);
    amaml_rng_seed(&rng, 3);
    if (task && check_ok("draw meta-test task 1", amaml_taskset_draw(ts, AMAML_TEST, 1, &rng,
                                                                     task))) {
        check_true("sizes: shots, queries, the rest", task->support.n == SHOTS &&
                                                          task->query.n == QUERIES &&
                                                          task->test.n == n - SHOTS - QUERIES);
        bad = match_rows(p, u, &task->support, NULL, used, &base_err);
        bad += match_rows(p, u, &task->query, NULL, used, &base_err);
        bad += match_rows(p, u, &task->test, task->base, used, &base_err);
        for (size_t t = 0; t < n; t++)
            all &= used[t];
        check_true("support, query, test disjoint: each row a distinct rating", bad == 0);
        check_true("and together all the user's ratings", all);
        check_below("test baseline = standardized item mean", base_err, 1e-15,
                    "the same expression; 0 expected, rounding allowed");
    }
    amaml_task_free(task);
    amaml_taskset_free(ts);
}

/* ------------------------------------------------------ SVD */

/* The top 5 right singular vectors of a 12 x 8 matrix from the Gram
 * matrix against LAPACK's dgesvd, vector by vector. */
static void test_svd_dense(void)
{
    double R[12 * 8], A[12 * 8], V[8 * 5], s[8], VT[8 * 8], superb[8], worst = 0, gap = 1;
    struct amaml_rng rng;
    int signed_ok = 1;

    amaml_rng_seed(&rng, 21);
    for (int i = 0; i < 12 * 8; i++)
        R[i] = A[i] = amaml_rng_normal(&rng);
    if (!check_ok("Gram SVD", ratings_top_right_singular(R, 12, 8, 5, V)) ||
        !check_true("dgesvd", LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'A', 12, 8, A, 8, s, NULL,
                                             1, VT, 8, superb) == 0))
        return;
    for (int f = 0; f < 5; f++) {
        double dot = 0, top = 0;

        for (int i = 0; i < 8; i++) {
            dot += V[i * 5 + f] * VT[f * 8 + i];
            top = fabs(V[i * 5 + f]) > fabs(top) ? V[i * 5 + f] : top;
        }
        worst = fmax(worst, 1 - fabs(dot));
        signed_ok &= top > 0;
        gap = fmin(gap, (s[f] * s[f] - s[f + 1] * s[f + 1]) / (s[0] * s[0]));
    }
    check_note("smallest relative gap sigma_i^2 - sigma_(i+1)^2 over sigma_1^2: %.3g", gap);
    /* An eigenvector of R^T R is off by about eps / gap (here ~1e-15), so
     * 1 - |cos| ~ 1e-30; what is left is the dot product's rounding. */
    check_below("1 - |cos| per singular vector", worst, 1e-13, "rounding of 8-term dot products");
    check_true("each vector's largest entry positive", signed_ok);
}

/* The build's features, before standardization, are the top right singular
 * vectors of the centred meta-train matrix: each standardized feature has
 * |correlation| 1 with the centred dgesvd vector. */
static void test_svd_build(const struct ratings_parts *p)
{
    const struct amaml_ratings *r = p->data;
    size_t n = r->nitems, m = p->ntrain, k = p->din;
    double *A = calloc(m * n, sizeof *A), *VT = malloc(n * n * sizeof *VT);
    double s[NI + 1], superb[NI + 1], worst = 0;

    for (size_t t = 0; A && t < m; t++)
        for (size_t j = r->user_start[p->train[t]]; j < r->user_start[p->train[t] + 1]; j++)
            A[t * n + r->item[j]] = r->rating[j] - p->mean;
    if (!A || !VT || !check_true("dgesvd of the meta-train matrix",
                                 LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'A', (int)m, (int)n, A,
                                                (int)n, s, NULL, 1, VT, (int)n, superb) == 0)) {
        free(A);
        free(VT);
        return;
    }
    for (size_t f = 0; f < k; f++) {
        double mean = 0, dot = 0, sq = 0;

        for (size_t i = 0; i < n; i++)
            mean += VT[f * n + i] / (double)n;
        for (size_t i = 0; i < n; i++) {
            dot += (VT[f * n + i] - mean) * p->feat[i * k + f];
            sq += (VT[f * n + i] - mean) * (VT[f * n + i] - mean);
        }
        worst = fmax(worst, 1 - fabs(dot) / sqrt(sq * (double)n));
    }
    /* The features are unit-variance over n items, so |dot| / sqrt(sq n)
     * is |cos|; the Gram route's error eps sigma_1^2 / gap is below 1e-12
     * for this spectrum, squared in 1 - |cos|; the rest is rounding. */
    check_below("features span the dense SVD's vectors", worst, 1e-12,
                "rounding of 31-term sums");
    free(A);
    free(VT);
}

/* ------------------------------------------------------ families */

static void test_families(const struct ml_fixture *fx)
{
    struct amaml_taskset_config c;
    struct amaml_taskset *ts;
    struct ratings_parts p;

    config(&c, "movielens1m", ml_fixture_write(fx, "ratings1m.dat", "::", 0));
    ts = amaml_taskset_create(&c);
    check_true("movielens1m task set", ts && amaml_taskset_count(ts, AMAML_TEST) == NTEST);
    amaml_taskset_free(ts);

    config(&c, "movielens", ml_fixture_write(fx, "few-items.data", "\t", 0));
    c.features = 40;
    ts = amaml_taskset_create(&c);
    check_true("more features than items: as many as items, and said",
               ts && amaml_taskset_din(ts) == NI + 1 &&
                   strstr(amaml_taskset_describe(ts), "40 asked, but only 31 items"));
    amaml_taskset_free(ts);

    config(&c, "jester", jester_write("jester-ts.csv"));
    c.ntest = 5;
    c.features = 100;
    ts = amaml_taskset_create(&c);
    check_true("jester task set: 25 + 5 users, 100 features",
               ts && amaml_taskset_count(ts, AMAML_TRAIN) == 25 &&
                   amaml_taskset_count(ts, AMAML_TEST) == 5 && amaml_taskset_din(ts) == 100);
    amaml_taskset_free(ts);

    config(&c, "movielens", ml_fixture_write(fx, "too-few.data", "\t", 0));
    c.ntest = NU;
    check_fails("more meta-test users than eligible ones", ratings_prepare(&c, &p),
                AMAML_EINVAL, "37 of 40 users have the 8 ratings");
    ratings_parts_free(&p);
}

void test_ratings(void)
{
    struct ml_fixture fx;
    struct amaml_taskset_config c;
    struct ratings_parts p;
    const char *path;

    snprintf(tmpdir, sizeof tmpdir, "/tmp/amaml-ratings-XXXXXX");
    if (!check_true("temporary directory", mkdtemp(tmpdir) != NULL))
        return;
    test_load_movielens();
    test_load_movielens1m();
    test_load_jester();
    test_load_large();
    test_load_errors();

    ml_fixture_make(&fx);
    path = ml_fixture_write(&fx, "u.data", "\t", 0);
    test_split(path);
    config(&c, "movielens", path);
    if (check_ok("prepare the fixture", ratings_prepare(&c, &p))) {
        check_statistics(&p);
        check_features(&p);
        test_no_leak(&fx, &p);
        test_draw(path, &p);
        test_svd_build(&p);
        ratings_parts_free(&p);
    }
    test_svd_dense();
    test_families(&fx);
    remove_files();
}
