/*
 * textio.c - reading and writing numbers as text: parameter vectors and
 * CSV data. Every error names the file and line (and field) at fault; files
 * are written atomically so an interrupted write never leaves a torn file.
 */
#include "core/error.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A growable array of doubles. */
struct dvec {
    double *v;
    size_t n, cap;
};

static int dvec_push(struct dvec *d, double x)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 1024;
        double *p = cap < SIZE_MAX / sizeof *p ? realloc(d->v, cap * sizeof *p) : NULL;

        if (!p)
            return amaml_fail(AMAML_ENOMEM, "out of memory reading numbers");
        d->v = p;
        d->cap = cap;
    }
    d->v[d->n++] = x;
    return AMAML_OK;
}

/* Parses one number starting at *s (after blanks), advancing *s past it. */
static int parse_number(const char **s, double *x)
{
    char *end;

    errno = 0;
    *x = strtod(*s, &end);
    if (end == *s)
        return -1;
    *s = end;
    return errno == ERANGE && fabs(*x) > 1 ? -2 : (isfinite(*x) ? 0 : -2);
}

static FILE *open_read(const char *path)
{
    FILE *f = fopen(path, "r");

    if (!f)
        amaml_fail(AMAML_EIO, "%s: cannot open: %s", path, strerror(errno));
    return f;
}

/* Reads a line (any length) into *buf; strips "\n" and "\r\n". 0 at EOF. */
static int read_line(FILE *f, char **buf, size_t *cap)
{
    ssize_t len = getline(buf, cap, f);

    if (len < 0)
        return 0;
    while (len > 0 && ((*buf)[len - 1] == '\n' || (*buf)[len - 1] == '\r'))
        (*buf)[--len] = '\0';
    return 1;
}

int amaml_read_vector(const char *path, double **out, size_t *n)
{
    FILE *f = open_read(path);
    struct dvec d = {0};
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    int rc = AMAML_OK;

    if (!f)
        return AMAML_EIO;
    while (rc == AMAML_OK && read_line(f, &line, &cap)) {
        const char *s = line;

        lineno++;
        for (;;) {
            double x;
            int bad;

            s += strspn(s, " \t");
            if (!*s || *s == '#')
                break;
            if ((bad = parse_number(&s, &x)) != 0 || (*s && !strchr(" \t", *s))) {
                rc = amaml_fail(AMAML_EFORMAT, "%s:%zu: %s '%.32s'", path, lineno,
                                bad == -2 ? "non-finite or out-of-range number" : "not a number",
                                s);
                break;
            }
            if ((rc = dvec_push(&d, x)) != AMAML_OK)
                break;
        }
    }
    if (rc == AMAML_OK && ferror(f))
        rc = amaml_fail(AMAML_EIO, "%s: read error", path);
    if (rc == AMAML_OK && d.n == 0)
        rc = amaml_fail(AMAML_EFORMAT, "%s: no numbers in the file", path);
    free(line);
    fclose(f);
    if (rc != AMAML_OK) {
        free(d.v);
        return rc;
    }
    *out = d.v;
    *n = d.n;
    return AMAML_OK;
}

/* Parses one CSV line of exactly ncols numbers. */
static int parse_csv_line(const char *path, size_t lineno, const char *s, size_t ncols,
                          struct dvec *d)
{
    for (size_t c = 0; c < ncols; c++) {
        double x;
        int bad;

        s += strspn(s, " \t");
        if (!*s)
            return amaml_fail(AMAML_EFORMAT, "%s:%zu: %zu values, expected %zu", path, lineno,
                              c, ncols);
        bad = parse_number(&s, &x);
        s += strspn(s, " \t");
        if (bad || (*s && *s != ','))
            return amaml_fail(AMAML_EFORMAT, "%s:%zu: field %zu is %s", path, lineno, c + 1,
                              bad == -2 ? "non-finite or out of range" : "not a number");
        if (*s == ',') {
            if (c + 1 == ncols)
                return amaml_fail(AMAML_EFORMAT, "%s:%zu: more than %zu values", path, lineno,
                                  ncols);
            s++;
        }
        if (dvec_push(d, x) != AMAML_OK)
            return AMAML_ENOMEM;
    }
    return AMAML_OK;
}

int amaml_read_csv(const char *path, size_t ncols, double **out, size_t *nrows,
                   size_t **lines)
{
    FILE *f;
    struct dvec d = {0}, ln = {0};
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    int rc = AMAML_OK;

    if (ncols == 0)
        return amaml_fail(AMAML_EINVAL, "%s: zero columns expected", path);
    if (!(f = open_read(path)))
        return AMAML_EIO;
    while (rc == AMAML_OK && read_line(f, &line, &cap)) {
        const char *s = line + strspn(line, " \t");

        lineno++;
        if (*s && *s != '#') {
            rc = parse_csv_line(path, lineno, s, ncols, &d);
            if (rc == AMAML_OK && lines)
                rc = dvec_push(&ln, (double)lineno); /* exact below 2^53 */
        }
    }
    if (rc == AMAML_OK && ferror(f))
        rc = amaml_fail(AMAML_EIO, "%s: read error", path);
    if (rc == AMAML_OK && d.n == 0)
        rc = amaml_fail(AMAML_EFORMAT, "%s: no data lines", path);
    free(line);
    fclose(f);
    if (rc == AMAML_OK && lines && !(*lines = malloc(ln.n * sizeof **lines)))
        rc = amaml_fail(AMAML_ENOMEM, "out of memory");
    if (rc != AMAML_OK) {
        free(d.v);
        free(ln.v);
        return rc;
    }
    for (size_t i = 0; lines && i < ln.n; i++)
        (*lines)[i] = (size_t)ln.v[i];
    free(ln.v);
    *out = d.v;
    *nrows = d.n / ncols;
    return AMAML_OK;
}

int amaml_write_vector(const char *path, const double *v, size_t n)
{
    size_t len = strlen(path) + 32;
    char *tmp = malloc(len);
    FILE *f;
    int ok;

    if (!tmp)
        return amaml_fail(AMAML_ENOMEM, "out of memory");
    snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());
    if (!(f = fopen(tmp, "w"))) {
        int rc = amaml_fail(AMAML_EIO, "%s: cannot write: %s", tmp, strerror(errno));

        free(tmp);
        return rc;
    }
    ok = 1;
    for (size_t i = 0; i < n && ok; i++)
        ok = fprintf(f, "%.17g\n", v[i]) > 0;
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int rc = amaml_fail(AMAML_EIO, "%s: write failed: %s", path, strerror(errno));

        remove(tmp);
        free(tmp);
        return rc;
    }
    free(tmp);
    return AMAML_OK;
}
