/*
 * ratings_load.c - reading rating data sets as their publishers ship them:
 * MovieLens 100K u.data and MovieLens 1M ratings.dat (F. M. Harper and
 * J. A. Konstan, "The MovieLens Datasets: History and Context", ACM TiiS
 * 5(4), 2015) and Jester-1 exported to CSV (K. Goldberg, T. Roeder,
 * D. Gupta, C. Perkins, "Eigentaste: A Constant Time Collaborative Filtering
 * Algorithm", Information Retrieval 4(2), 2001).
 *
 * The file is read in chunks of CHUNK bytes into one buffer and each line is
 * split and parsed in place, so a million ratings cost no allocation per
 * line; the rating arrays grow by doubling. Then ids become dense indices
 * (a hash table of the distinct ids, which are few, then a sort of them) and
 * the ratings are grouped by user with a counting sort, which also finds a
 * user rating an item twice.
 */
#include "core/error.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK ((size_t)1 << 20) /* bytes read at a time */
#define JESTER_JOKES 100
#define MAX_FIELDS (JESTER_JOKES + 1) /* Jester: the count and 100 ratings */
#define JESTER_UNRATED 99.0
#define SHOWN 32 /* characters of a bad value quoted in a message */

/* A field of a line: the bytes [s, e). */
struct field {
    const char *s, *e;
};

struct loader;

struct layout {
    const char *name;
    const char *shape; /* what a line holds, for messages */
    size_t nfields;
    double min, max;
    /* Splits the line [s, e) into at most MAX_FIELDS + 1 fields; returns
     * their number (MAX_FIELDS + 1 meaning "more"). */
    size_t (*split)(const char *s, const char *e, struct field *f);
    int (*parse)(struct loader *ld, const struct field *f);
};

/* The state of one load: where we are and the ratings so far, with raw
 * ids until remap() makes them dense. */
struct loader {
    const char *path;
    const struct layout *lay;
    size_t line; /* the current line, from 1 */
    size_t row;  /* data lines so far: Jester's user id */
    size_t n, cap;
    size_t *user, *item, *line_of; /* [cap] */
    double *rating;                /* [cap] */
};

/* ------------------------------------------------------ fields */

/* Where the separator sep (len 1 or 2 bytes) first occurs in [s, e), or e.
 * Written out rather than with memcmp, which costs a call per ':' here. */
static const char *find_sep(const char *s, const char *e, const char *sep, size_t len)
{
    for (const char *p = s; p + len <= e; p++)
        if (*p == sep[0] && (len == 1 || p[1] == sep[1]))
            return p;
    return e;
}

static size_t split_on(const char *s, const char *e, const char *sep, size_t len,
                       struct field *f)
{
    size_t n = 0;

    for (;;) {
        const char *p = find_sep(s, e, sep, len);

        f[n++] = (struct field){s, p};
        if (p == e || n > MAX_FIELDS)
            return n;
        s = p + len;
    }
}

static size_t split_tab(const char *s, const char *e, struct field *f)
{
    return split_on(s, e, "\t", 1, f);
}

static size_t split_colons(const char *s, const char *e, struct field *f)
{
    return split_on(s, e, "::", 2, f);
}

static const char *skip_blanks(const char *s, const char *e)
{
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    return s;
}

/* Jester exports differ: values are separated by a comma with blanks
 * around it or not, or by blanks alone. Two commas in a row make an empty
 * field, which parsing then rejects. */
static size_t split_jester(const char *s, const char *e, struct field *f)
{
    size_t n = 0;

    s = skip_blanks(s, e);
    for (;;) {
        const char *p = s;

        while (p < e && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        f[n++] = (struct field){s, p};
        s = skip_blanks(p, e);
        if (s == e || n > MAX_FIELDS)
            return n;
        if (*s == ',')
            s = skip_blanks(s + 1, e);
    }
}

/* The length of the decimal number that starts s: [+-]d[.d][(e|E)[+-]d]
 * with digits on at least one side of the point, or 0. Checked by hand so
 * that strtod's other forms (blanks, "inf", "nan", hexadecimal) fail. */
static size_t decimal_len(const char *s, const char *e)
{
    const char *p = s, *digits;

    if (p < e && (*p == '+' || *p == '-'))
        p++;
    digits = p;
    while (p < e && *p >= '0' && *p <= '9')
        p++;
    if (p < e && *p == '.')
        for (p++; p < e && *p >= '0' && *p <= '9';)
            p++;
    if (p == digits || (p == digits + 1 && *digits == '.'))
        return 0;
    if (p < e && (*p == 'e' || *p == 'E')) {
        const char *q = p + 1;

        if (q < e && (*q == '+' || *q == '-'))
            q++;
        if (q < e && *q >= '0' && *q <= '9') {
            while (q < e && *q >= '0' && *q <= '9')
                q++;
            p = q;
        }
    }
    return (size_t)(p - s);
}

/* A short plain decimal [-]d[.d] of at most 15 digits as m / 10^k, or -1.
 * m < 2^53 and 10^k <= 10^15 are exact and the division is correctly
 * rounded, so this is the double strtod gives, at a fraction of its cost
 * (ratings are "4" or "-7.82"). */
static int short_decimal(const char *s, const char *e, double *v)
{
    static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    int neg = s < e && *s == '-', digits = 0, frac = -1;
    int64_t m = 0;

    for (const char *p = s + neg; p < e; p++) {
        if (*p == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (*p < '0' || *p > '9' || ++digits > 15)
            return -1;
        m = 10 * m + (*p - '0');
        if (frac >= 0)
            frac++;
    }
    *v = (double)m / pow10[frac > 0 ? frac : 0];
    *v = neg ? -*v : *v;
    return 0;
}

/* A whole field as a decimal number. The byte after a field is a
 * separator or the line end, so strtod stops at the field's end. */
static int field_real(const struct field *f, double *v)
{
    size_t len = decimal_len(f->s, f->e);
    char *end;

    if (len == 0 || f->s + len != f->e)
        return -1;
    if (short_decimal(f->s, f->e, v) == 0)
        return 0;
    *v = strtod(f->s, &end);
    return end == f->e ? 0 : -1;
}

/* A whole field as an unsigned decimal integer (an id or a timestamp);
 * -2 if it does not fit in a size_t below SIZE_MAX. */
static int field_uint(const struct field *f, size_t *v)
{
    size_t x = 0;

    if (f->s == f->e)
        return -1;
    for (const char *p = f->s; p < f->e; p++) {
        size_t d = (size_t)(unsigned char)*p - '0';

        if (d > 9)
            return -1;
        if (x > (SIZE_MAX - 1 - d) / 10)
            return -2;
        x = 10 * x + d;
    }
    *v = x;
    return 0;
}

/* ------------------------------------------------------ messages */

static void field_name(const struct layout *lay, size_t k, char *buf, size_t size)
{
    static const char *const ml[] = {"user", "item", "rating", "timestamp"};

    if (lay->nfields == 4)
        snprintf(buf, size, "%s", ml[k]);
    else if (k == 0)
        snprintf(buf, size, "count");
    else
        snprintf(buf, size, "joke %zu", k);
}

/* Field k of the current line is wrong: "what" says how. */
static int bad_field(const struct loader *ld, const struct field *f, size_t k, const char *what)
{
    size_t len = (size_t)(f[k].e - f[k].s);
    char name[32];

    field_name(ld->lay, k, name, sizeof name);
    return amaml_fail(AMAML_EFORMAT, "%s:%zu: field %zu (%s) %s: '%.*s'%s", ld->path, ld->line,
                      k + 1, name, what, (int)(len < SHOWN ? len : SHOWN), f[k].s,
                      len > SHOWN ? "..." : "");
}

static int off_scale(const struct loader *ld, const struct field *f, size_t k)
{
    char what[64];

    snprintf(what, sizeof what, "is off the rating scale [%g, %g]", ld->lay->min,
             ld->lay->max);
    return bad_field(ld, f, k, what);
}

/* The layout a line seems to be in, to tell a user who named the wrong
 * one; NULL if it seems to be the expected one or nothing known. */
static const char *layout_guess(const struct layout *lay, const char *s, const char *e)
{
    const char *guess = NULL;

    if (find_sep(s, e, "::", 2) != e)
        guess = "movielens1m";
    else if (memchr(s, ',', (size_t)(e - s)))
        guess = "jester";
    else if (memchr(s, '\t', (size_t)(e - s)))
        guess = "movielens";
    return guess && strcmp(guess, lay->name) != 0 ? guess : NULL;
}

static int bad_count(const struct loader *ld, size_t n, const char *s, const char *e)
{
    const char *guess = layout_guess(ld->lay, s, e);
    char hint[96] = "";

    if (guess)
        snprintf(hint, sizeof hint, "; the line looks like layout '%s'", guess);
    return amaml_fail(AMAML_EFORMAT, "%s:%zu: %s%zu field%s, layout '%s' expects %zu (%s)%s",
                      ld->path, ld->line, n > MAX_FIELDS ? "more than " : "",
                      n > MAX_FIELDS ? MAX_FIELDS : n, n == 1 ? "" : "s", ld->lay->name,
                      ld->lay->nfields, ld->lay->shape, hint);
}

/* ------------------------------------------------------ lines */

/* Doubles the four arrays; cap grows only when all four have, and each
 * array that did is kept, so the loader stays consistent either way. */
static int grow_arrays(struct loader *ld)
{
    size_t cap = ld->cap ? 2 * ld->cap : 4096, *u, *i, *l;
    double *r;

    if (cap > SIZE_MAX / sizeof(size_t) / 2)
        return amaml_fail(AMAML_ENOMEM, "%s: too many ratings", ld->path);
    if ((u = realloc(ld->user, cap * sizeof *u)))
        ld->user = u;
    if ((i = realloc(ld->item, cap * sizeof *i)))
        ld->item = i;
    if ((l = realloc(ld->line_of, cap * sizeof *l)))
        ld->line_of = l;
    if ((r = realloc(ld->rating, cap * sizeof *r)))
        ld->rating = r;
    if (!u || !i || !l || !r)
        return amaml_fail(AMAML_ENOMEM, "%s: out of memory after %zu ratings", ld->path,
                          ld->n);
    ld->cap = cap;
    return AMAML_OK;
}

static int push(struct loader *ld, size_t user, size_t item, double r)
{
    if (ld->n == ld->cap && grow_arrays(ld) != AMAML_OK)
        return AMAML_ENOMEM;
    ld->user[ld->n] = user;
    ld->item[ld->n] = item;
    ld->line_of[ld->n] = ld->line;
    ld->rating[ld->n] = r;
    ld->n++;
    return AMAML_OK;
}

/* u.data and ratings.dat: user, item, rating, timestamp. */
static int parse_movielens(struct loader *ld, const struct field *f)
{
    size_t user, item, stamp;
    double r;
    int bad;

    if ((bad = field_uint(&f[0], &user)) != 0)
        return bad_field(ld, f, 0, bad == -2 ? "is too large" : "is not an id");
    if ((bad = field_uint(&f[1], &item)) != 0)
        return bad_field(ld, f, 1, bad == -2 ? "is too large" : "is not an id");
    if (field_real(&f[2], &r) != 0)
        return bad_field(ld, f, 2, "is not a number");
    if (!(r >= ld->lay->min && r <= ld->lay->max)) /* also catches NaN */
        return off_scale(ld, f, 2);
    if ((bad = field_uint(&f[3], &stamp)) != 0)
        return bad_field(ld, f, 3, bad == -2 ? "is too large" : "is not a time in seconds");
    return push(ld, user, item, r);
}

/* A Jester line: the count, then joke 1 to 100. The count is checked
 * loosely, as a number in [0, 100], and not compared with the ratings that
 * follow: it is the sheet's own column, and exports and later editions of
 * the data do not all keep it in step with the ratings. */
static int parse_jester(struct loader *ld, const struct field *f)
{
    double count, r;

    ld->row++;
    if (field_real(&f[0], &count) != 0)
        return bad_field(ld, f, 0, "is not a number");
    if (!(count >= 0 && count <= JESTER_JOKES))
        return bad_field(ld, f, 0, "is not a count of at most 100 jokes");
    for (size_t k = 1; k <= JESTER_JOKES; k++) {
        int rc;

        if (field_real(&f[k], &r) != 0)
            return bad_field(ld, f, k, "is not a number");
        if (r == JESTER_UNRATED)
            continue;
        if (!(r >= ld->lay->min && r <= ld->lay->max))
            return off_scale(ld, f, k);
        if ((rc = push(ld, ld->row, k, r)) != AMAML_OK)
            return rc;
    }
    return AMAML_OK;
}

static const struct layout layouts[] = {
    {"movielens", "user<TAB>item<TAB>rating<TAB>timestamp", 4, 1, 5, split_tab,
     parse_movielens},
    {"movielens1m", "UserID::MovieID::Rating::Timestamp", 4, 1, 5, split_colons,
     parse_movielens},
    {"jester", "count, then 100 ratings in [-10, 10] or 99", MAX_FIELDS, -10, 10,
     split_jester, parse_jester},
};

/* The line [s, e), e pointing at its '\n' (or a sentinel one). */
static int parse_line(struct loader *ld, const char *s, const char *e)
{
    struct field f[MAX_FIELDS + 1];
    size_t n;

    ld->line++;
    if (ld->line == 1 && e - s >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3; /* the byte-order mark some spreadsheet exports start with */
    if (e > s && e[-1] == '\r')
        e--;
    if (skip_blanks(s, e) == e)
        return AMAML_OK;
    n = ld->lay->split(s, e, f);
    if (n != ld->lay->nfields)
        return bad_count(ld, n, s, e);
    return ld->lay->parse(ld, f);
}

/* Every line of fp through parse_line. A line is parsed where it lies in
 * the buffer; a line cut by the end of a chunk moves to the front first,
 * and a line longer than the buffer doubles it. */
static int read_lines(struct loader *ld, FILE *fp)
{
    size_t cap = CHUNK, have = 0;
    char *buf = malloc(cap + 1); /* + 1: a sentinel '\n' after an unended last line */
    int rc = AMAML_OK, eof = 0;

    if (!buf)
        return amaml_fail(AMAML_ENOMEM, "%s: out of memory for a read buffer", ld->path);
    while (rc == AMAML_OK && !eof) {
        size_t got = fread(buf + have, 1, cap - have, fp);
        char *p = buf, *end, *nl;

        eof = got < cap - have;
        end = buf + have + got;
        while (rc == AMAML_OK && (nl = memchr(p, '\n', (size_t)(end - p)))) {
            rc = parse_line(ld, p, nl);
            p = nl + 1;
        }
        if (rc == AMAML_OK && eof && p < end) {
            *end = '\n';
            rc = parse_line(ld, p, end);
            p = end;
        }
        have = (size_t)(end - p);
        memmove(buf, p, have);
        if (rc == AMAML_OK && have == cap) {
            char *q = cap < SIZE_MAX / 4 ? realloc(buf, 2 * cap + 1) : NULL;

            if (!q)
                rc = amaml_fail(AMAML_ENOMEM, "%s:%zu: out of memory for a line of over %zu "
                                "bytes", ld->path, ld->line + 1, cap);
            else
                buf = q, cap *= 2;
        }
    }
    free(buf);
    if (rc == AMAML_OK && ferror(fp))
        rc = amaml_fail(AMAML_EIO, "%s: read error after line %zu", ld->path, ld->line);
    return rc;
}

/* ------------------------------------------------------ dense ids */

/* Open addressing with linear probing from id to the index of its first
 * appearance; keys are id + 1 so that 0 marks an empty slot. */
struct idmap {
    size_t *key, *val; /* [cap] */
    size_t *ids;       /* [n] the distinct ids in order of first appearance */
    size_t cap, n;
};

/* Fibonacci hashing: the middle bits of the product depend on every low
 * bit of the id, so consecutive ids, the usual case, spread out. */
static size_t slot_of(const struct idmap *m, size_t id)
{
    size_t h = (size_t)(((uint64_t)id * 0x9E3779B97F4A7C15ULL) >> 17) & (m->cap - 1);

    while (m->key[h] != 0 && m->key[h] != id + 1)
        h = (h + 1) & (m->cap - 1);
    return h;
}

/* Doubles the table, or makes the first one, and re-inserts the ids. */
static int idmap_grow(struct idmap *m)
{
    struct idmap g = {NULL, NULL, NULL, m->cap ? 2 * m->cap : 1024, m->n};

    g.key = calloc(g.cap, sizeof *g.key);
    g.val = malloc(g.cap * sizeof *g.val);
    g.ids = malloc(g.cap / 2 * sizeof *g.ids);
    if (!g.key || !g.val || !g.ids) {
        free(g.key);
        free(g.val);
        free(g.ids);
        return amaml_fail(AMAML_ENOMEM, "out of memory for %zu ids", m->n);
    }
    for (size_t i = 0; i < m->n; i++) {
        size_t h = slot_of(&g, m->ids[i]);

        g.key[h] = m->ids[i] + 1;
        g.val[h] = i;
        g.ids[i] = m->ids[i];
    }
    free(m->key);
    free(m->val);
    free(m->ids);
    *m = g;
    return AMAML_OK;
}

/* The index of id, inserting it if new; the table stays at most half full. */
static int idmap_index(struct idmap *m, size_t id, size_t *index)
{
    size_t h;

    if (2 * (m->n + 1) > m->cap && idmap_grow(m) != AMAML_OK)
        return AMAML_ENOMEM;
    h = slot_of(m, id);
    if (m->key[h] == 0) {
        m->key[h] = id + 1;
        m->val[h] = m->n;
        m->ids[m->n++] = id;
    }
    *index = m->val[h];
    return AMAML_OK;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return (x > y) - (x < y);
}

/* Replaces id[0..n) by dense indices in ascending order of id, so that
 * they do not depend on the order of the lines; *ids receives the distinct
 * ids in that order (caller frees) and *count their number. */
static int remap(size_t *id, size_t n, size_t **ids, size_t *count)
{
    struct idmap m = {NULL, NULL, NULL, 0, 0};
    size_t *sorted = NULL, *rank = NULL;
    int rc = AMAML_OK;

    for (size_t i = 0; i < n && rc == AMAML_OK; i++)
        rc = idmap_index(&m, id[i], &id[i]);
    if (rc == AMAML_OK && (!(sorted = malloc(m.n * sizeof *sorted)) ||
                           !(rank = malloc(m.n * sizeof *rank))))
        rc = amaml_fail(AMAML_ENOMEM, "out of memory for %zu ids", m.n);
    if (rc == AMAML_OK) {
        memcpy(sorted, m.ids, m.n * sizeof *sorted);
        qsort(sorted, m.n, sizeof *sorted, cmp_size);
        for (size_t j = 0; j < m.n; j++) {
            const size_t *at = bsearch(&m.ids[j], sorted, m.n, sizeof *sorted, cmp_size);

            rank[j] = (size_t)(at - sorted);
        }
        for (size_t i = 0; i < n; i++)
            id[i] = rank[id[i]];
        *ids = sorted;
        *count = m.n;
        sorted = NULL;
    }
    free(sorted);
    free(rank);
    free(m.key);
    free(m.val);
    free(m.ids);
    return rc;
}

/* ------------------------------------------------------ the result */

void amaml_ratings_free(struct amaml_ratings *r)
{
    if (!r)
        return;
    free(r->user);
    free(r->item);
    free(r->rating);
    free(r->user_start);
    free(r->user_id);
    free(r->item_id);
    free(r);
}

/* The allocations of a result with n ratings, all or none. */
static struct amaml_ratings *ratings_alloc(size_t n, size_t nusers)
{
    struct amaml_ratings *r = calloc(1, sizeof *r);

    if (!r)
        return NULL;
    r->user = malloc(n * sizeof *r->user);
    r->item = malloc(n * sizeof *r->item);
    r->rating = malloc(n * sizeof *r->rating);
    r->user_start = calloc(nusers + 1, sizeof *r->user_start);
    if (!r->user || !r->item || !r->rating || !r->user_start) {
        amaml_ratings_free(r);
        return NULL;
    }
    return r;
}

/* A second rating of an item by the same user, found with seen[item] = 1 +
 * the position of the item's latest rating in the grouped order; 0 if none. */
static int find_twice(const struct loader *ld, const struct amaml_ratings *r,
                      const size_t *line_of)
{
    size_t *seen = calloc(r->nitems, sizeof *seen);
    int rc = AMAML_OK;

    if (!seen)
        return amaml_fail(AMAML_ENOMEM, "%s: out of memory", ld->path);
    for (size_t u = 0; u < r->nusers && rc == AMAML_OK; u++)
        for (size_t j = r->user_start[u]; j < r->user_start[u + 1] && rc == AMAML_OK; j++) {
            size_t i = r->item[j];

            if (seen[i] > r->user_start[u])
                rc = amaml_fail(AMAML_EFORMAT, "%s:%zu: user %zu rates item %zu a second "
                                "time (first on line %zu)", ld->path, line_of[j],
                                r->user_id[u], r->item_id[i], line_of[seen[i] - 1]);
            seen[i] = j + 1;
        }
    free(seen);
    return rc;
}

/* Groups the loader's ratings by user (counting sort, stable, so each
 * user's ratings stay in file order) into r, whose user_start is zero. */
static int group_by_user(const struct loader *ld, struct amaml_ratings *r)
{
    size_t *next = malloc((r->nusers + 1) * sizeof *next);
    size_t *line_of = malloc(ld->n * sizeof *line_of);
    int rc;

    if (!next || !line_of) {
        free(next);
        free(line_of);
        return amaml_fail(AMAML_ENOMEM, "%s: out of memory", ld->path);
    }
    for (size_t i = 0; i < ld->n; i++)
        r->user_start[ld->user[i] + 1]++;
    for (size_t u = 0; u < r->nusers; u++)
        r->user_start[u + 1] += r->user_start[u];
    memcpy(next, r->user_start, (r->nusers + 1) * sizeof *next);
    for (size_t i = 0; i < ld->n; i++) {
        size_t j = next[ld->user[i]]++;

        r->user[j] = ld->user[i];
        r->item[j] = ld->item[i];
        r->rating[j] = ld->rating[i];
        line_of[j] = ld->line_of[i];
    }
    rc = find_twice(ld, r, line_of);
    free(next);
    free(line_of);
    return rc;
}

/* Dense ids, then the grouped result. */
static int finish(struct loader *ld, struct amaml_ratings **out)
{
    size_t *user_id = NULL, *item_id = NULL, nusers = 0, nitems = 0;
    struct amaml_ratings *r = NULL;
    int rc;

    if (ld->n == 0)
        return amaml_fail(AMAML_EFORMAT, "%s: no ratings in %zu lines", ld->path, ld->line);
    rc = remap(ld->user, ld->n, &user_id, &nusers);
    if (rc == AMAML_OK)
        rc = remap(ld->item, ld->n, &item_id, &nitems);
    if (rc == AMAML_OK && !(r = ratings_alloc(ld->n, nusers)))
        rc = amaml_fail(AMAML_ENOMEM, "%s: out of memory for %zu ratings", ld->path, ld->n);
    if (rc == AMAML_OK) {
        r->n = ld->n;
        r->nusers = nusers;
        r->nitems = nitems;
        r->user_id = user_id;
        r->item_id = item_id;
        r->min = ld->lay->min;
        r->max = ld->lay->max;
        user_id = item_id = NULL;
        rc = group_by_user(ld, r);
    }
    free(user_id);
    free(item_id);
    if (rc != AMAML_OK) {
        amaml_ratings_free(r);
        return rc;
    }
    *out = r;
    return AMAML_OK;
}

int amaml_ratings_load(const char *path, const char *layout, struct amaml_ratings **out)
{
    struct loader ld = {path, NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL};
    FILE *fp;
    int rc;

    for (size_t i = 0; layout && i < sizeof layouts / sizeof layouts[0]; i++)
        if (strcmp(layouts[i].name, layout) == 0)
            ld.lay = &layouts[i];
    if (!ld.lay)
        return amaml_fail(AMAML_EINVAL, "unknown rating layout '%s' (movielens, movielens1m, "
                          "jester)", layout ? layout : "(null)");
    if (!path || !out)
        return amaml_fail(AMAML_EINVAL, "NULL path or output for rating data");
    if (!(fp = fopen(path, "rb")))
        return amaml_fail(AMAML_EIO, "%s: cannot open: %s", path, strerror(errno));
    rc = read_lines(&ld, fp);
    fclose(fp);
    if (rc == AMAML_OK)
        rc = finish(&ld, out);
    free(ld.user);
    free(ld.item);
    free(ld.line_of);
    free(ld.rating);
    return rc;
}
