/*
 * trajectory.c - the forward inner trajectory and the states it keeps for
 * the backward pass, in one of three modes:
 *
 *   all       u_0 .. u_N: N + 1 states, nothing recomputed.
 *   every:K   u_0, u_K, u_2K, ... and one segment of K states in the
 *             reverse sweep: N/K + K states (least near K = sqrt N) for one
 *             extra forward pass.
 *   binomial  u_0 and C slots, placed by the binomial rule of Revolve
 *             (A. Griewank and A. Walther, "Algorithm 799: Revolve", ACM TOMS
 *             26, 2000): C + 2 states whatever N is, for a number of
 *             recomputed steps that grows like N log N / log C.
 *
 * A recomputation replays a recorded step (t_k, h_k) with the same scheme
 * and the same arithmetic, so every mode hands the reverse sweep the same
 * states bit for bit.
 */
#include "core/error.h"
#include "meta/meta.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double meta_traj_time(const struct meta_traj *tr, size_t k)
{
    return tr->tgrid ? tr->tgrid[k] : (double)k * tr->h;
}

/* The step taken from u_k: recorded, not t_{k+1} - t_k, which may differ
 * from it in the last bit and would break the bit-for-bit replay. */
double meta_traj_step(const struct meta_traj *tr, size_t k)
{
    return tr->hgrid ? tr->hgrid[k] : tr->h;
}

static double *state(const struct meta_traj *tr, size_t i)
{
    return tr->store + i * tr->P;
}

void meta_traj_release(struct meta_traj *tr)
{
    free(tr->store);
    free(tr->work);
    free(tr->tgrid);
    free(tr->hgrid);
    memset(tr, 0, sizeof *tr);
}

/* Makes room for n states in the store; counts the bytes held. */
static int reserve_states(struct meta_traj *tr, size_t n)
{
    double *p;

    if (n > tr->store_cap) {
        size_t cap = n > 2 * tr->store_cap ? n : 2 * tr->store_cap;

        if (cap > SIZE_MAX / sizeof(double) / tr->P)
            return amaml_fail(AMAML_ENOMEM, "%zu stored states of %zu parameters overflow "
                              "memory", cap, tr->P);
        p = realloc(tr->store, cap * tr->P * sizeof *p);
        if (!p)
            return amaml_fail(AMAML_ENOMEM, "out of memory storing %zu states of %zu "
                              "parameters (try --checkpoint binomial:C)", cap, tr->P);
        tr->store = p;
        tr->store_cap = cap;
    }
    tr->bytes = (tr->keep ? (n + 1) * tr->P * sizeof(double) : 0) +
                (tr->tgrid ? 2 * tr->tcap * sizeof(double) : 0);
    if (tr->bytes > tr->peak_bytes)
        tr->peak_bytes = tr->bytes;
    return AMAML_OK;
}

/* States the store needs once N is known, before the reverse sweep. */
static size_t states_needed(const struct meta_traj *tr)
{
    if (!tr->keep)
        return 0;
    switch (tr->mode) {
    case AMAML_CKPT_ALL: return tr->N + 1;
    case AMAML_CKPT_EVERY: return tr->N / tr->arg + 1 + tr->arg;
    default: return tr->arg + 1;
    }
}

/* --------------------------------------------------------- forward */

static int rhs(void *ctx, double t, const double *u, double *f)
{
    struct amaml_meta *mg = ctx;

    (void)t;
    return meta_flow_rhs(mg, mg->traj.beta, u, f);
}

/* Records t_k and the step h that led to it (h_{k-1}). */
static int record_step(struct meta_traj *tr, size_t k, double t, double h)
{
    if (k >= tr->tcap) {
        size_t cap = tr->tcap ? 2 * tr->tcap : 256;
        double *pt = realloc(tr->tgrid, cap * sizeof *pt), *ph;

        if (pt)
            tr->tgrid = pt;
        ph = pt ? realloc(tr->hgrid, cap * sizeof *ph) : NULL;
        if (!ph)
            return amaml_fail(AMAML_ENOMEM, "out of memory recording %zu steps", cap);
        tr->hgrid = ph;
        tr->tcap = cap;
    }
    tr->tgrid[k] = t;
    if (k > 0)
        tr->hgrid[k - 1] = h;
    return AMAML_OK;
}

/* Keeps u_k as the mode says: all of them, every K-th, or only u_0. */
static int observe(void *ctx, size_t k, double t, const double *y, double h,
                   const double *stages)
{
    struct amaml_meta *mg = ctx;
    struct meta_traj *tr = &mg->traj;
    size_t slot;
    int rc;

    (void)stages;
    if (tr->adaptive && (rc = record_step(tr, k, t, h)) != AMAML_OK)
        return rc;
    if (k > 0)
        mg->steps++;
    tr->N = k;
    if (!tr->keep)
        return 0;
    if (tr->mode == AMAML_CKPT_ALL)
        slot = k;
    else if (tr->mode == AMAML_CKPT_EVERY && k % tr->arg == 0)
        slot = k / tr->arg;
    else if (k == 0)
        slot = 0;
    else
        return 0;
    if ((rc = reserve_states(tr, slot + 1)) != AMAML_OK)
        return rc;
    memcpy(state(tr, slot), y, tr->P * sizeof *y);
    return 0;
}

int meta_traj_forward(struct amaml_meta *mg, struct amaml_ode *ode, double beta,
                      size_t nsteps, int keep, double *uN)
{
    struct meta_traj *tr = &mg->traj;
    const struct amaml_meta_config *cfg = &mg->cfg;
    double T = (double)nsteps * cfg->inner_lr;
    int rc;

    tr->ode = ode;
    tr->tab = amaml_ode_tableau(ode);
    tr->adaptive = tr->tab->bhat != NULL;
    tr->beta = beta;
    tr->h = cfg->inner_lr;
    tr->keep = keep;
    tr->mode = cfg->checkpoint;
    tr->arg = cfg->checkpoint_arg;
    tr->peak_bytes = 0;
    memcpy(uN, mg->task->theta, tr->P * sizeof *uN);

    if (tr->adaptive) {
        struct amaml_ode_control ctl = {cfg->rtol, cfg->atol, 0, 0, 0, 0};
        struct amaml_ode_stats st;

        rc = amaml_ode_solve_adaptive(ode, rhs, mg, 0.0, T, uN, &ctl, observe, mg, &st);
    } else {
        rc = amaml_ode_solve_fixed(ode, rhs, mg, 0.0, tr->h, nsteps, uN, observe, mg);
    }
    if (rc == AMAML_OK)
        rc = reserve_states(tr, states_needed(tr));
    return rc;
}

/* --------------------------------------------------------- reverse */

/* Advances y from step k by one recorded step. */
static int replay(struct amaml_meta *mg, size_t k, double *y)
{
    struct meta_traj *tr = &mg->traj;

    mg->steps++;
    return amaml_ode_step(tr->ode, rhs, mg, meta_traj_time(tr, k), meta_traj_step(tr, k), y,
                          NULL);
}

static int advance(struct amaml_meta *mg, size_t from, size_t to, double *y)
{
    int rc = AMAML_OK;

    for (size_t k = from; k < to && rc == AMAML_OK; k++)
        rc = replay(mg, k, y);
    return rc;
}

static int reverse_every(struct amaml_meta *mg, meta_visit visit, void *ctx)
{
    struct meta_traj *tr = &mg->traj;
    size_t K = tr->arg, nck = tr->N / K + 1;
    double *seg = state(tr, nck);
    int rc = AMAML_OK;

    for (size_t j = (tr->N - 1) / K + 1; j-- > 0 && rc == AMAML_OK;) {
        size_t lo = j * K, hi = lo + K < tr->N ? lo + K : tr->N;

        /* seg[i] = u_{lo + i} for i < hi - lo */
        memcpy(seg, state(tr, j), tr->P * sizeof *seg);
        for (size_t k = lo + 1; k < hi && rc == AMAML_OK; k++) {
            double *u = seg + (k - lo) * tr->P;

            memcpy(u, u - tr->P, tr->P * sizeof *u);
            rc = replay(mg, k - 1, u);
        }
        for (size_t k = hi; k-- > lo && rc == AMAML_OK;)
            rc = visit(mg, ctx, k, seg + (k - lo) * tr->P);
    }
    return rc;
}

/* C(s + t, s) saturating at SIZE_MAX: the number of steps that s slots
 * can reverse with every step advanced at most t + 1 times (Revolve). */
static size_t binom_steps(size_t s, size_t t)
{
    double r = 1;

    for (size_t i = 1; i <= s; i++)
        r = r * (double)(t + i) / (double)i;
    return r >= 9e15 ? (size_t)9e15 : (size_t)(r + 0.5);
}

/* Where to place the next checkpoint in a range of l steps with s free
 * slots: find the least t with C(s+t, s) >= l; the right part may then take
 * C(s-1+t, s-1) steps with one slot fewer, and the left part keeps s slots
 * with one advance fewer per step. */
static size_t binomial_split(size_t l, size_t s)
{
    size_t t = 0, right;

    while (binom_steps(s, t) < l)
        t++;
    right = binom_steps(s - 1, t);
    return right >= l ? 1 : l - right;
}

/* Visits k = hi - 1 .. lo given u_lo in y, with slots free ones left after
 * slot index `used`. y is restored to u_lo on return. */
static int reverse_binomial(struct amaml_meta *mg, meta_visit visit, void *ctx, size_t lo,
                            size_t hi, const double *y, size_t used)
{
    struct meta_traj *tr = &mg->traj;
    size_t P = tr->P, free_slots = tr->arg - used;
    int rc = AMAML_OK;

    while (hi > lo && rc == AMAML_OK) {
        size_t l = hi - lo, m;
        double *x;

        if (l == 1)
            return visit(mg, ctx, lo, y);
        if (free_slots == 0) { /* no slot: recompute each state from u_lo */
            memcpy(tr->work, y, P * sizeof *y);
            rc = advance(mg, lo, hi - 1, tr->work);
            if (rc == AMAML_OK)
                rc = visit(mg, ctx, hi - 1, tr->work);
            hi--;
            continue;
        }
        m = binomial_split(l, free_slots);
        x = state(tr, used + 1);
        memcpy(x, y, P * sizeof *y);
        rc = advance(mg, lo, lo + m, x);
        if (rc == AMAML_OK)
            rc = reverse_binomial(mg, visit, ctx, lo + m, hi, x, used + 1);
        hi = lo + m;
    }
    return rc;
}

int meta_traj_reverse(struct amaml_meta *mg, meta_visit visit, void *ctx)
{
    struct meta_traj *tr = &mg->traj;
    int rc = AMAML_OK;

    if (tr->N == 0)
        return AMAML_OK;
    switch (tr->mode) {
    case AMAML_CKPT_ALL:
        for (size_t k = tr->N; k-- > 0 && rc == AMAML_OK;)
            rc = visit(mg, ctx, k, state(tr, k));
        return rc;
    case AMAML_CKPT_EVERY:
        return reverse_every(mg, visit, ctx);
    default:
        return reverse_binomial(mg, visit, ctx, 0, tr->N, state(tr, 0), 0);
    }
}
