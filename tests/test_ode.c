/*
 * test_ode.c - tests of the Runge-Kutta integrators (src/ode): the built-in
 * tables satisfy their order conditions (Butcher 2016, Section 3.1), each
 * scheme shows its order on a non-autonomous linear problem with a known
 * solution, dopri5's adaptive solve (Dormand and Prince 1980; controller of
 * Hairer, Norsett, Wanner I, Section II.4) meets its tolerance, observers
 * see the right states and stages, and bad input, failing callbacks and
 * blow-ups stop with the right status and a message.
 */
#include "check.h"
#include "core/error.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define MAXDIM 2

void test_ode(void); /* the suite, run by tests/main.c */

/* ------------------------------------------------------------ problems */

/* y1' = -y1 + cos t and y2' = -2 t y2 with y(0) = (1, 1): linear in y, and
 * the explicit t makes wrong nodes c show up as a lost order. */
static int rhs_linear(void *ctx, double t, const double *y, double *dydt)
{
    (void)ctx;
    dydt[0] = -y[0] + cos(t);
    dydt[1] = -2 * t * y[1];
    return 0;
}

static void exact_linear(double t, double *y)
{
    y[0] = 0.5 * exp(-t) + 0.5 * (cos(t) + sin(t));
    y[1] = exp(-t * t);
}

/* A rotation, y(0) = (1, 0), y(t) = (cos t, -sin t): errors do not decay. */
static int rhs_rotation(void *ctx, double t, const double *y, double *dydt)
{
    (void)ctx;
    (void)t;
    dydt[0] = y[1];
    dydt[1] = -y[0];
    return 0;
}

/* y' = -50 (y - cos t) from y(0) = 0: a fast transient onto cos t. */
static int rhs_transient(void *ctx, double t, const double *y, double *dydt)
{
    (void)ctx;
    dydt[0] = -50 * (y[0] - cos(t));
    return 0;
}

/* y' = y^2: from y(0) = 1 the solution 1 / (1 - t) is singular at t = 1. */
static int rhs_square(void *ctx, double t, const double *y, double *dydt)
{
    (void)ctx;
    (void)t;
    dydt[0] = y[0] * y[0];
    return 0;
}

/* rhs_linear, failing (returning 3, not a library status) once t exceeds
 * *(double *)ctx. */
static int rhs_fails_late(void *ctx, double t, const double *y, double *dydt)
{
    if (t > *(const double *)ctx)
        return 3;
    return rhs_linear(NULL, t, y, dydt);
}

/* A callback failing with a library status and its own message. */
static int rhs_fails_status(void *ctx, double t, const double *y, double *dydt)
{
    (void)ctx, (void)t, (void)y, (void)dydt;
    return amaml_fail(AMAML_ENOMEM, "model scratch memory exhausted");
}

/* Passes when the recorded message contains needle; prints it otherwise. */
static void check_message(const char *what, const char *needle)
{
    if (!check_true(what, strstr(amaml_errmsg(), needle) != NULL))
        printf("  message \"%s\" lacks \"%s\"\n", amaml_errmsg(), needle);
}

static double max_abs_diff(const double *a, const double *b, size_t n)
{
    double d = 0;

    /* Not fmax, which would drop a NaN. */
    for (size_t i = 0; i < n; i++) {
        double di = fabs(a[i] - b[i]);

        if (isnan(di))
            return HUGE_VAL;
        d = di > d ? di : d;
    }
    return d;
}

/* ------------------------------------------------------------- tableaux */

static double dot(const double *u, const double *v, int n)
{
    double s = 0;

    for (int i = 0; i < n; i++)
        s += u[i] * v[i];
    return s;
}

/* out = a v for the s x s matrix a. */
static void matvec(const double *a, const double *v, int s, double *out)
{
    for (int i = 0; i < s; i++)
        out[i] = dot(a + i * s, v, s);
}

/* The residuals of the order conditions up to order 4 for the weights w
 * (Butcher trees with up to 4 nodes); res[k] is 0 for an exact scheme. */
static int order_residuals(const struct amaml_tableau *tab, const double *w, int order, double *res)
{
    int s = tab->stages;
    double ones[8], c2[8], c3[8], ac[8], ac2[8], aac[8], cac[8];
    int n = 0;

    for (int i = 0; i < s; i++) {
        ones[i] = 1;
        c2[i] = tab->c[i] * tab->c[i];
        c3[i] = c2[i] * tab->c[i];
    }
    matvec(tab->a, tab->c, s, ac);
    matvec(tab->a, c2, s, ac2);
    matvec(tab->a, ac, s, aac);
    for (int i = 0; i < s; i++)
        cac[i] = tab->c[i] * ac[i];

    res[n++] = dot(w, ones, s) - 1;
    if (order >= 2)
        res[n++] = dot(w, tab->c, s) - 1.0 / 2;
    if (order >= 3) {
        res[n++] = dot(w, c2, s) - 1.0 / 3;
        res[n++] = dot(w, ac, s) - 1.0 / 6;
    }
    if (order >= 4) {
        res[n++] = dot(w, c3, s) - 1.0 / 4;
        res[n++] = dot(w, cac, s) - 1.0 / 8;
        res[n++] = dot(w, ac2, s) - 1.0 / 12;
        res[n++] = dot(w, aac, s) - 1.0 / 24;
    }
    return n;
}

static void check_conditions(const struct amaml_tableau *tab, const double *w, int order,
                             const char *which)
{
    double res[8];
    int n = order_residuals(tab, w, order > 4 ? 4 : order, res);
    char what[96];

    for (int k = 0; k < n; k++) {
        snprintf(what, sizeof what, "%s %s order condition %d", tab->name, which, k + 1);
        check_close(what, res[k], 0, 0, 1e-15, "fractions rounded to double, summed over 7");
    }
}

/* The c_i are the row sums of a: every stage is consistent in t. */
static void check_row_sums(const struct amaml_tableau *tab)
{
    int s = tab->stages;
    char what[96];

    for (int i = 0; i < s; i++) {
        double sum = 0;

        for (int j = 0; j < s; j++)
            sum += tab->a[i * s + j];
        snprintf(what, sizeof what, "%s row %d of a sums to c", tab->name, i);
        check_close(what, sum, tab->c[i], 0, 1e-15, "fractions rounded to double");
    }
}

static void test_tableaux(void)
{
    static const char *const names[] = {"euler", "heun", "rk4", "rk38", "dopri5"};
    const size_t n = sizeof names / sizeof names[0];

    for (size_t i = 0; i < n; i++) {
        const struct amaml_tableau *tab = amaml_tableau_at(i);

        check_true("tableau listed", tab && strcmp(tab->name, names[i]) == 0);
        check_true("tableau found by name", tab && amaml_tableau_find(names[i]) == tab);
        if (!tab || tab->stages > 8)
            continue;
        check_row_sums(tab);
        check_conditions(tab, tab->b, tab->order, "b");
        if (tab->bhat)
            check_conditions(tab, tab->bhat, tab->order_embedded, "bhat");
    }
    check_true("no tableau past the last", amaml_tableau_at(n) == NULL);
    check_true("unknown scheme not found", amaml_tableau_find("rk5") == NULL);
    check_message("unknown scheme: message lists the known", "dopri5");
    check_true("NULL name not found", amaml_tableau_find(NULL) == NULL);
}

/* ------------------------------------------------------ observed order */

/* The error at T = 2 of nsteps fixed steps with the scheme of ode. */
static double fixed_error(struct amaml_ode *ode, size_t nsteps)
{
    const double T = 2;
    double y[MAXDIM] = {1, 1}, want[MAXDIM];

    if (amaml_ode_solve_fixed(ode, rhs_linear, NULL, 0, T / (double)nsteps, nsteps, y, NULL,
                              NULL) != AMAML_OK)
        return HUGE_VAL;
    exact_linear(T, want);
    return max_abs_diff(y, want, MAXDIM);
}

/*
 * Observed order log2(e_h / e_{h/2}) over `halvings` halvings from n0 steps.
 * The first n0 are where the measured order is already within 0.1 of the
 * theory (pre-asymptotic terms are O(h) relative); dopri5 stops after two
 * halvings because at 640 steps its error (2e-15) is near the rounding floor.
 */
static void test_order(void)
{
    static const struct {
        const char *name;
        size_t n0;
        int halvings;
    } runs[] = {
        {"euler", 10, 3}, {"heun", 40, 3}, {"rk4", 40, 3}, {"rk38", 40, 3}, {"dopri5", 80, 2}};

    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        const struct amaml_tableau *tab = amaml_tableau_find(runs[r].name);
        struct amaml_ode *ode = amaml_ode_create(tab, MAXDIM);
        size_t n = runs[r].n0;
        double e = fixed_error(ode, n);
        char what[64];

        for (int k = 0; k < runs[r].halvings; k++, n *= 2) {
            double e2 = fixed_error(ode, 2 * n);
            double p = log2(e / e2);

            check_note("%-6s n %4zu -> %4zu: error %.3e -> %.3e, observed order %.3f", runs[r].name,
                       n, 2 * n, e, e2, p);
            snprintf(what, sizeof what, "%s observed order at n = %zu", runs[r].name, n);
            check_close(what, p, tab->order, 0, 0.2,
                        "the leading error term's O(h) correction shifts the ratio");
            e = e2;
        }
        amaml_ode_free(ode);
    }
}

/* rk38 is a different scheme from rk4, not an alias (method.md): at h = 0.1
 * their errors differ by about 1e-7, far above rounding. */
static void test_rk38_is_not_rk4(void)
{
    struct amaml_ode *a = amaml_ode_create(amaml_tableau_find("rk4"), MAXDIM);
    struct amaml_ode *b = amaml_ode_create(amaml_tableau_find("rk38"), MAXDIM);
    double ya[MAXDIM] = {1, 1}, yb[MAXDIM] = {1, 1};

    check_ok("rk4 solve", amaml_ode_solve_fixed(a, rhs_linear, NULL, 0, 0.1, 20, ya, NULL, NULL));
    check_ok("rk38 solve", amaml_ode_solve_fixed(b, rhs_linear, NULL, 0, 0.1, 20, yb, NULL, NULL));
    check_true("rk38 and rk4 differ beyond rounding", max_abs_diff(ya, yb, MAXDIM) > 1e-10);
    amaml_ode_free(a);
    amaml_ode_free(b);
}

/* ------------------------------------------------- single step, fsal */

/* err from one dopri5 step equals the fifth- minus the fourth-order
 * solution, the latter computed by a user tableau whose b is dopri5's bhat. */
static void test_embedded_error(void)
{
    const struct amaml_tableau *dp = amaml_tableau_find("dopri5");
    struct amaml_tableau emb = *dp;
    struct amaml_ode *o5 = amaml_ode_create(dp, MAXDIM), *o4;
    double y5[MAXDIM] = {1, 1}, y4[MAXDIM] = {1, 1}, err[MAXDIM], diff[MAXDIM];

    emb.name = "dopri5-order4";
    emb.b = dp->bhat;
    emb.bhat = NULL;
    emb.order = 4;
    emb.order_embedded = 0;
    emb.fsal = 0; /* the last row of a is b, not bhat */
    o4 = amaml_ode_create(&emb, MAXDIM);

    check_ok("dopri5 step", amaml_ode_step(o5, rhs_linear, NULL, 0.3, 0.2, y5, err));
    check_ok("order-4 step", amaml_ode_step(o4, rhs_linear, NULL, 0.3, 0.2, y4, NULL));
    for (int i = 0; i < MAXDIM; i++)
        diff[i] = y5[i] - y4[i];
    check_note("dopri5 step h = 0.2: |err| = %.3e", fmax(fabs(err[0]), fabs(err[1])));
    check_below("err = y5 - y4", max_abs_diff(err, diff, MAXDIM), 1e-15,
                "rounding of two 7-term sums of size ~1");
    check_true("err is not zero", fabs(err[0]) + fabs(err[1]) > 1e-12);
    amaml_ode_free(o4);
    amaml_ode_free(o5);
}

/* A scheme without bhat leaves err alone, as the header says. */
static void test_err_untouched(void)
{
    struct amaml_ode *ode = amaml_ode_create(amaml_tableau_find("rk4"), MAXDIM);
    double y[MAXDIM] = {1, 1}, err[MAXDIM] = {42, 42};

    check_ok("rk4 step", amaml_ode_step(ode, rhs_linear, NULL, 0, 0.1, y, err));
    check_true("err untouched without bhat", err[0] == 42 && err[1] == 42);
    amaml_ode_free(ode);
}

/* A fixed dopri5 solve reuses the last stage; separate steps do not. */
static void test_fsal_fixed(void)
{
    struct amaml_ode *ode = amaml_ode_create(amaml_tableau_find("dopri5"), MAXDIM);
    double y[MAXDIM] = {1, 1}, z[MAXDIM] = {1, 1};
    const double h = 0.1;

    check_ok("dopri5 fixed", amaml_ode_solve_fixed(ode, rhs_linear, NULL, 0, h, 20, y, NULL, NULL));
    for (int k = 0; k < 20; k++)
        check_ok("dopri5 step", amaml_ode_step(ode, rhs_linear, NULL, k * h, h, z, NULL));
    check_below("fsal reuse gives the same solution", max_abs_diff(y, z, MAXDIM), 1e-15,
                "the reused stage is f at the same state; t differs by rounding");
    amaml_ode_free(ode);
}

/* ------------------------------------------------------------ observer */

/* What an observer saw over one solve. */
struct seen {
    const struct amaml_tableau *tab;
    size_t dim;
    double t0, h;    /* for fixed solves: t_k should be t0 + k h */
    int want_stages; /* whether stages should be non-NULL for k > 0 */
    size_t fail_at;  /* return 1 at this k; SIZE_MAX never */
    size_t calls;
    int bad_k;       /* some k was not the number of earlier calls */
    int bad_start;   /* k = 0 came with h != 0 or stages */
    int bad_stages;  /* stages present or absent against want_stages */
    double t_err;    /* max |t_k - (t0 + k h)| over fixed solves */
    double step_err; /* max |y_k - (y_{k-1} + h sum b_i K_i)| */
    double hsum, last_t;
    double prev[MAXDIM];
};

static void seen_init(struct seen *s, const struct amaml_tableau *tab, size_t dim, double t0,
                      double h, int want_stages)
{
    memset(s, 0, sizeof *s);
    s->tab = tab;
    s->dim = dim;
    s->t0 = t0;
    s->h = h;
    s->want_stages = want_stages;
    s->fail_at = SIZE_MAX;
}

/* |y - (prev + h sum b_i K_i)|, the step rebuilt from the stages. */
static double step_misfit(const struct seen *s, const double *y, double h, const double *k)
{
    double m = 0;

    for (size_t i = 0; i < s->dim; i++) {
        double inc = 0;

        for (int j = 0; j < s->tab->stages; j++)
            inc += s->tab->b[j] * k[(size_t)j * s->dim + i];
        m = fmax(m, fabs(y[i] - (s->prev[i] + h * inc)));
    }
    return m;
}

static int observer(void *ctx, size_t k, double t, const double *y, double h, const double *stages)
{
    struct seen *s = ctx;

    s->bad_k |= k != s->calls;
    s->bad_start |= k == 0 && (h != 0 || stages);
    s->bad_stages |= k > 0 && (stages != NULL) != (s->want_stages != 0);
    if (k > 0 && stages)
        s->step_err = fmax(s->step_err, step_misfit(s, y, h, stages));
    if (s->h > 0)
        s->t_err = fmax(s->t_err, fabs(t - (s->t0 + (double)k * s->h)));
    s->hsum += h;
    s->last_t = t;
    memcpy(s->prev, y, s->dim * sizeof *y);
    s->calls++;
    return k == s->fail_at;
}

static void check_seen(const char *what, const struct seen *s, size_t calls)
{
    char buf[96];

    snprintf(buf, sizeof buf, "%s: %zu observer calls", what, calls);
    check_true(buf, s->calls == calls);
    snprintf(buf, sizeof buf, "%s: k counts the calls, k = 0 has h = 0", what);
    check_true(buf, !s->bad_k && !s->bad_start);
    snprintf(buf, sizeof buf, "%s: stages given exactly when asked", what);
    check_true(buf, !s->bad_stages);
    snprintf(buf, sizeof buf, "%s: stages rebuild each step", what);
    check_below(buf, s->step_err, 1e-15, "rounding of a 7-term sum of size ~1");
}

static void test_observer_fixed(void)
{
    const struct amaml_tableau *tab = amaml_tableau_find("rk4");
    struct amaml_ode *ode = amaml_ode_create(tab, MAXDIM);
    double y[MAXDIM] = {1, 1};
    struct seen s;

    seen_init(&s, tab, MAXDIM, 0.5, 0.1, 0);
    check_ok("fixed, no stages",
             amaml_ode_solve_fixed(ode, rhs_linear, NULL, 0.5, 0.1, 10, y, observer, &s));
    check_seen("fixed, no stages", &s, 11);

    amaml_ode_set_keep_stages(ode, 1);
    seen_init(&s, tab, MAXDIM, 0.5, 0.1, 1);
    y[0] = y[1] = 1;
    check_ok("fixed, stages",
             amaml_ode_solve_fixed(ode, rhs_linear, NULL, 0.5, 0.1, 10, y, observer, &s));
    check_seen("fixed, stages", &s, 11);
    check_close("fixed: t_k = t0 + k h", s.t_err, 0, 0, 1e-15, "rounding of t0 + k h");
    check_close("fixed: last t", s.last_t, 1.5, 0, 1e-15, "rounding of 0.5 + 10 * 0.1");

    /* A failing observer stops the solve; y is the state it was shown. */
    seen_init(&s, tab, MAXDIM, 0.5, 0.1, 1);
    s.fail_at = 3;
    check_fails("observer failure",
                amaml_ode_solve_fixed(ode, rhs_linear, NULL, 0.5, 0.1, 10, y, observer, &s),
                AMAML_ECALLBACK, "observer returned 1 at step 3");
    check_true("observer failure: stops at once", s.calls == 4);
    check_true("observer failure: y is the last observed state", memcmp(y, s.prev, sizeof y) == 0);
    amaml_ode_free(ode);
}

/* ------------------------------------------------------- adaptive solve */

static void test_adaptive_observer(void)
{
    const struct amaml_tableau *tab = amaml_tableau_find("dopri5");
    struct amaml_ode *ode = amaml_ode_create(tab, MAXDIM);
    struct amaml_ode_control ctl = {1e-8, 1e-8, 0, 0, 0, 0};
    struct amaml_ode_stats st;
    double y[MAXDIM] = {1, 1};
    struct seen s;

    amaml_ode_set_keep_stages(ode, 1);
    seen_init(&s, tab, MAXDIM, 0, 0, 1);
    check_ok("adaptive, stages",
             amaml_ode_solve_adaptive(ode, rhs_linear, NULL, 0, 3, y, &ctl, observer, &s, &st));
    check_seen("adaptive, stages", &s, st.accepted + 1);
    check_true("adaptive: the last state is at t1 exactly", s.last_t == 3);
    check_close("adaptive: steps add up to t1 - t0", s.hsum, 3, 1e-14, 0,
                "rounding of one addition per step");

    /* A failing observer stops the adaptive solve too. */
    seen_init(&s, tab, MAXDIM, 0, 0, 1);
    s.fail_at = 2;
    y[0] = y[1] = 1;
    check_fails("adaptive: observer failure",
                amaml_ode_solve_adaptive(ode, rhs_linear, NULL, 0, 3, y, &ctl, observer, &s, &st),
                AMAML_ECALLBACK, "observer returned 1 at step 2");
    check_true("adaptive: observer failure stops at once", s.calls == 3 && st.accepted == 2);
    amaml_ode_free(ode);
}

/* What checkpointing relies on: amaml_ode_step from an observed (t_k, y_k)
 * with the observed h reproduces y_{k+1} bit for bit. */
struct replay {
    struct amaml_ode *ode;
    double t, y[MAXDIM];
    size_t mismatches;
};

static int replay_observer(void *ctx, size_t k, double t, const double *y, double h,
                           const double *stages)
{
    struct replay *r = ctx;
    double z[MAXDIM];

    (void)stages;
    memcpy(z, r->y, sizeof z);
    if (k > 0 && (amaml_ode_step(r->ode, rhs_linear, NULL, r->t, h, z, NULL) != AMAML_OK ||
                  memcmp(z, y, sizeof z) != 0))
        r->mismatches++;
    r->t = t;
    memcpy(r->y, y, sizeof r->y);
    return 0;
}

static void test_replay(void)
{
    const struct amaml_tableau *tab = amaml_tableau_find("dopri5");
    struct amaml_ode *ode = amaml_ode_create(tab, MAXDIM);
    struct amaml_ode_control ctl = {1e-7, 1e-7, 0, 0, 0, 0};
    struct replay r = {amaml_ode_create(tab, MAXDIM), 0, {0, 0}, 0};
    double y[MAXDIM] = {1, 1};

    check_ok("adaptive replay solve", amaml_ode_solve_adaptive(ode, rhs_linear, NULL, 0, 3, y, &ctl,
                                                               replay_observer, &r, NULL));
    check_true("each accepted step replays bit for bit", r.mismatches == 0);

    /* The same for a fixed solve with a scheme without fsal. */
    amaml_ode_free(r.ode);
    r.ode = amaml_ode_create(amaml_tableau_find("rk4"), MAXDIM);
    amaml_ode_free(ode);
    ode = amaml_ode_create(amaml_tableau_find("rk4"), MAXDIM);
    y[0] = y[1] = 1;
    check_ok("fixed replay solve",
             amaml_ode_solve_fixed(ode, rhs_linear, NULL, 0.25, 0.1, 30, y, replay_observer, &r));
    check_true("each fixed step replays bit for bit", r.mismatches == 0);
    amaml_ode_free(r.ode);
    amaml_ode_free(ode);
}

/* Global error of an adaptive dopri5 solve of a problem with known solution. */
static void adaptive_accuracy(const char *label, amaml_ode_rhs f, const double *y0, double t1,
                              const double *want, double tol)
{
    struct amaml_ode *ode = amaml_ode_create(amaml_tableau_find("dopri5"), MAXDIM);
    struct amaml_ode_control ctl = {tol, tol, 0, 0, 0, 0};
    struct amaml_ode_stats st = {0, 0, 0};
    double y[MAXDIM] = {y0[0], y0[1]};
    char what[96];
    double e;

    snprintf(what, sizeof what, "%s tol %g", label, tol);
    check_ok(what, amaml_ode_solve_adaptive(ode, f, NULL, 0, t1, y, &ctl, NULL, NULL, &st));
    e = max_abs_diff(y, want, MAXDIM);
    check_note("%-8s tol %.0e: error %.3e (%.2f tol), accepted %zu, rejected %zu, evals %zu", label,
               tol, e, e / tol, st.accepted, st.rejected, st.evals);

    snprintf(what, sizeof what, "%s global error at tol %g", label, tol);
    check_below(what, e, 10 * tol,
                "local errors <= tol per step add up over a period; measured ~2 tol");
    snprintf(what, sizeof what, "%s evals = 2 + 6 attempts", label);
    check_true(what, st.evals == 2 + 6 * (st.accepted + st.rejected));
    amaml_ode_free(ode);
}

static void test_adaptive_accuracy(void)
{
    static const double tols[] = {1e-6, 1e-9};
    const double lin0[MAXDIM] = {1, 1}, rot0[MAXDIM] = {1, 0};
    const double two_pi = 6.283185307179586;
    /* The exact rotation at the double nearest 2 pi, not at 2 pi itself. */
    const double rot1[MAXDIM] = {cos(two_pi), -sin(two_pi)};
    double lin1[MAXDIM];

    exact_linear(4, lin1);
    for (size_t i = 0; i < 2; i++) {
        adaptive_accuracy("linear", rhs_linear, lin0, 4, lin1, tols[i]);
        adaptive_accuracy("rotation", rhs_rotation, rot0, two_pi, rot1, tols[i]);
    }
}

/* A first step as long as the interval, on a fast transient, is rejected;
 * the error is still met, and the counts show the FSAL and rejection reuse. */
static void test_adaptive_rejection(void)
{
    struct amaml_ode *ode = amaml_ode_create(amaml_tableau_find("dopri5"), 1);
    struct amaml_ode_control ctl = {1e-6, 1e-6, 1, 0, 0, 0};
    struct amaml_ode_stats st;
    double y = 0;
    const double c = 50.0 / 2501, s = 2500.0 / 2501;
    /* y = (2500 cos t + 50 sin t - 2500 e^{-50 t}) / 2501 */
    double want = s * cos(1) + c * sin(1) - s * exp(-50);

    check_ok("transient, h0 = 1",
             amaml_ode_solve_adaptive(ode, rhs_transient, NULL, 0, 1, &y, &ctl, NULL, NULL, &st));
    check_note("transient h0 = 1: error %.3e, accepted %zu, rejected %zu, evals %zu",
               fabs(y - want), st.accepted, st.rejected, st.evals);
    check_true("a large h0 is rejected at least once", st.rejected >= 1);
    check_true("evals = 1 + 6 attempts (K_0 kept)",
               st.evals == 1 + 6 * (st.accepted + st.rejected));
    check_below("transient error", fabs(y - want), 1e-5, "10 tol, as for the smooth problems");
    amaml_ode_free(ode);
}

/* ------------------------------------------------------------ bad input */

/* create returns NULL; the message must name the problem. */
static void check_create_fails(const char *what, const struct amaml_tableau *tab, size_t dim,
                               const char *needle)
{
    struct amaml_ode *ode = amaml_ode_create(tab, dim);

    check_true(what, ode == NULL);
    check_message(what, needle);
    amaml_ode_free(ode);
}

static void test_bad_create(void)
{
    /* Implicit midpoint: a on the diagonal, which the stepper cannot run. */
    static const double mid_a[] = {0.5}, mid_b[] = {1}, mid_c[] = {0.5};
    const struct amaml_tableau midpoint = {"midpoint", 1, 2, 0, 0, mid_a, mid_b, mid_c, NULL};
    const struct amaml_tableau *dp = amaml_tableau_find("dopri5");
    struct amaml_tableau bad = *dp;

    check_create_fails("create: NULL tableau", NULL, 2, "tableau is NULL");
    check_create_fails("create: dim 0", dp, 0, "dim is 0");
    check_create_fails("create: size overflow", dp, SIZE_MAX / 4, "overflows");

    bad.b = dp->bhat; /* fsal no longer holds */
    check_create_fails("create: false fsal", &bad, 2, "fsal");
    check_create_fails("create: implicit a", &midpoint, 2, "not below the diagonal");
    amaml_ode_free(NULL);
}

static void test_bad_fixed(void)
{
    struct amaml_ode *ode = amaml_ode_create(amaml_tableau_find("rk4"), MAXDIM);
    double y[MAXDIM] = {1, 1};

    check_fails("fixed: h = 0",
                amaml_ode_solve_fixed(ode, rhs_linear, NULL, 0, 0, 5, y, NULL, NULL), AMAML_EINVAL,
                "h > 0");
    check_fails("fixed: h < 0",
                amaml_ode_solve_fixed(ode, rhs_linear, NULL, 0, -0.1, 5, y, NULL, NULL),
                AMAML_EINVAL, "h > 0");
    check_fails("fixed: h NaN",
                amaml_ode_solve_fixed(ode, rhs_linear, NULL, 0, nan(""), 5, y, NULL, NULL),
                AMAML_EINVAL, "h > 0");
    check_fails("fixed: NULL y",
                amaml_ode_solve_fixed(ode, rhs_linear, NULL, 0, 0.1, 5, NULL, NULL, NULL),
                AMAML_EINVAL, "NULL");
    check_fails("fixed: NULL ode",
                amaml_ode_solve_fixed(NULL, rhs_linear, NULL, 0, 0.1, 5, y, NULL, NULL),
                AMAML_EINVAL, "NULL");
    check_fails("step: NULL f", amaml_ode_step(ode, NULL, NULL, 0, 0.1, y, NULL), AMAML_EINVAL,
                "NULL");
    check_fails("step: h infinite", amaml_ode_step(ode, rhs_linear, NULL, 0, HUGE_VAL, y, NULL),
                AMAML_EINVAL, "finite");
    check_true("bad input leaves y", y[0] == 1 && y[1] == 1);
    amaml_ode_free(ode);
}

/* Runs an adaptive dopri5 solve of rhs_linear over [t0, t1] with ctl. */
static int adaptive_with(double t0, double t1, const struct amaml_ode_control *ctl)
{
    struct amaml_ode *ode = amaml_ode_create(amaml_tableau_find("dopri5"), MAXDIM);
    double y[MAXDIM] = {1, 1};
    int status = amaml_ode_solve_adaptive(ode, rhs_linear, NULL, t0, t1, y, ctl, NULL, NULL, NULL);

    amaml_ode_free(ode);
    return status;
}

static void test_bad_adaptive(void)
{
    struct amaml_ode *rk4 = amaml_ode_create(amaml_tableau_find("rk4"), MAXDIM);
    const struct amaml_ode_control ok = {1e-6, 1e-6, 0, 0, 0, 0};
    struct amaml_ode_control ctl = ok;
    double y[MAXDIM] = {1, 1};

    check_fails("adaptive: no bhat",
                amaml_ode_solve_adaptive(rk4, rhs_linear, NULL, 0, 1, y, &ok, NULL, NULL, NULL),
                AMAML_EINVAL, "no embedded pair");
    check_fails("adaptive: t1 = t0", adaptive_with(1, 1, &ok), AMAML_EINVAL, "t0 < t1");
    check_fails("adaptive: t1 < t0", adaptive_with(1, 0, &ok), AMAML_EINVAL, "t0 < t1");
    check_fails("adaptive: NULL ctl", adaptive_with(0, 1, NULL), AMAML_EINVAL, "NULL");
    ctl.rtol = -1e-6;
    check_fails("adaptive: rtol < 0", adaptive_with(0, 1, &ctl), AMAML_EINVAL, "rtol");
    ctl.rtol = 0;
    ctl.atol = 0;
    check_fails("adaptive: tolerances both 0", adaptive_with(0, 1, &ctl), AMAML_EINVAL, "both 0");
    ctl = ok;
    ctl.h0 = -1;
    check_fails("adaptive: h0 < 0", adaptive_with(0, 1, &ctl), AMAML_EINVAL, "h0");
    ctl = ok;
    ctl.hmin = 0.5;
    ctl.hmax = 0.1;
    check_fails("adaptive: hmin > hmax", adaptive_with(0, 1, &ctl), AMAML_EINVAL, "exceeds");

    ctl = ok;
    ctl.rtol = ctl.atol = 1e-12;
    ctl.hmin = 0.1;
    check_fails("adaptive: h below hmin", adaptive_with(0, 1, &ctl), AMAML_ESTEP, "hmin");
    ctl = ok;
    ctl.max_steps = 3;
    check_fails("adaptive: max_steps", adaptive_with(0, 10, &ctl), AMAML_ESTEP, "max_steps");
    amaml_ode_free(rk4);
}

/* ------------------------------------------------- failures mid-solve */

static void test_rhs_failure(void)
{
    struct amaml_ode *rk4 = amaml_ode_create(amaml_tableau_find("rk4"), MAXDIM);
    struct amaml_ode *dp = amaml_ode_create(amaml_tableau_find("dopri5"), MAXDIM);
    const struct amaml_ode_control ctl = {1e-6, 1e-6, 0, 0, 0, 0};
    /* The first evaluation past 0.52 is stage 2 of the step from 0.5. */
    double t_fail = 0.52, y[MAXDIM] = {1, 1};

    check_fails("fixed: rhs fails",
                amaml_ode_solve_fixed(rk4, rhs_fails_late, &t_fail, 0, 0.1, 10, y, NULL, NULL),
                AMAML_ECALLBACK, "right-hand side returned 3 at t = 0.55");
    check_true("fixed: y finite after rhs failure", isfinite(y[0]) && isfinite(y[1]));

    y[0] = y[1] = 1;
    check_fails(
        "adaptive: rhs fails",
        amaml_ode_solve_adaptive(dp, rhs_fails_late, &t_fail, 0, 1, y, &ctl, NULL, NULL, NULL),
        AMAML_ECALLBACK, "right-hand side returned 3 at t = ");
    check_fails("a library status passes through with its message",
                amaml_ode_solve_fixed(rk4, rhs_fails_status, NULL, 0, 0.1, 10, y, NULL, NULL),
                AMAML_ENOMEM, "scratch memory exhausted");
    amaml_ode_free(rk4);
    amaml_ode_free(dp);
}

/* Euler on y' = y^2 from 2 with h = 1 squares its way to infinity at step
 * 10 (2, 6, 42, 1806, ..., 2.7e208, inf); the adaptive solve instead runs
 * into the singularity of 1 / (1 - t) with ever smaller steps. */
static void test_blowup(void)
{
    struct amaml_ode *eu = amaml_ode_create(amaml_tableau_find("euler"), 1);
    struct amaml_ode *dp = amaml_ode_create(amaml_tableau_find("dopri5"), 1);
    const struct amaml_ode_control ctl = {1e-6, 1e-6, 0, 0, 0, 0};
    struct amaml_ode_stats st = {0, 0, 0};
    double y = 2;

    check_fails("fixed: blow-up",
                amaml_ode_solve_fixed(eu, rhs_square, NULL, 0, 1, 20, &y, NULL, NULL),
                AMAML_ENONFINITE, "after step 10 of 20");
    check_true("fixed: y is the last finite state", isfinite(y) && y > 1e200);

    y = 1;
    check_fails("adaptive: singularity",
                amaml_ode_solve_adaptive(dp, rhs_square, NULL, 0, 2, &y, &ctl, NULL, NULL, &st),
                AMAML_ESTEP, "singular");
    check_note("y' = y^2 adaptive stopped: %s (accepted %zu, rejected %zu)", amaml_errmsg(),
               st.accepted, st.rejected);
    check_true("adaptive: y is the last accepted state", isfinite(y) && y > 1e6);
    amaml_ode_free(eu);
    amaml_ode_free(dp);
}

void test_ode(void)
{
    test_tableaux();
    test_order();
    test_rk38_is_not_rk4();
    test_embedded_error();
    test_err_untouched();
    test_fsal_fixed();
    test_observer_fixed();
    test_adaptive_observer();
    test_replay();
    test_adaptive_accuracy();
    test_adaptive_rejection();
    test_bad_create();
    test_bad_fixed();
    test_bad_adaptive();
    test_rhs_failure();
    test_blowup();
}
