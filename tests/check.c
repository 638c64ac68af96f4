/*
 * check.c - counters and printing for the test suite. Failures are printed
 * as they happen; the run ends with "N passed, N failed" and a non-zero exit
 * status if anything failed.
 */
#include "check.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

static int npassed, nfailed;
static const char *suite = "";

static int record(int ok, const char *what)
{
    if (ok)
        npassed++;
    else {
        nfailed++;
        printf("FAIL [%s] %s\n", suite, what);
    }
    return ok;
}

int check_close(const char *what, double got, double want, double rtol, double atol,
                const char *why)
{
    int ok;

    if (isinf(got) || isinf(want))
        ok = got == want;
    else
        ok = fabs(got - want) <= atol + rtol * fabs(want);
    if (!ok)
        printf("  %s: got %.17g, want %.17g (rtol %g, atol %g: %s)\n", what, got, want, rtol,
               atol, why);
    return record(ok, what);
}

int check_below(const char *what, double got, double bound, const char *why)
{
    int ok = got <= bound; /* false for NaN */

    if (!ok)
        printf("  %s: %.6g exceeds %.6g (%s)\n", what, got, bound, why);
    return record(ok, what);
}

int check_true(const char *what, int cond)
{
    return record(cond != 0, what);
}

int check_ok(const char *what, int status)
{
    if (status != AMAML_OK)
        printf("  %s: status %d (%s): %s\n", what, status, amaml_strerror(status),
               amaml_errmsg());
    return record(status == AMAML_OK, what);
}

int check_fails(const char *what, int status, int want, const char *needle)
{
    int ok = status == want && (!needle || strstr(amaml_errmsg(), needle));

    if (!ok)
        printf("  %s: status %d, message \"%s\"; wanted status %d with \"%s\"\n", what, status,
               amaml_errmsg(), want, needle ? needle : "");
    return record(ok, what);
}

void check_note(const char *fmt, ...)
{
    va_list ap;

    printf("  [%s] ", suite);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

double check_rel_err(const double *a, const double *b, size_t n, double floor)
{
    double num = 0, den = floor;

    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);

        if (isnan(d))
            return INFINITY;
        num = d > num ? d : num;
        den = fabs(b[i]) > den ? fabs(b[i]) : den;
    }
    return num / den;
}

void check_suite(const char *name, void (*fn)(void))
{
    int before = nfailed;

    suite = name;
    printf("%s\n", name);
    fflush(stdout);
    fn();
    if (nfailed > before)
        printf("  %s: %d failed\n", name, nfailed - before);
    fflush(stdout);
}

int check_summary(void)
{
    printf("%d passed, %d failed\n", npassed, nfailed);
    return nfailed ? 1 : 0;
}
