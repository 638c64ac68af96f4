/*
 * adjoint.c - the backward passes of A-MAML over the stored or recomputed
 * forward trajectory of du/dt = f(u) = -g(u) - beta (u - theta), where
 * g = grad L(u; support) and df/du = -(H(u) + beta I), df/dtheta = beta I.
 *
 * Discrete adjoint (the exact gradient of the explicit Runge-Kutta map
 * Y_i = u_k + h sum_{j<i} a_ij K_j, K_i = f(Y_i), u_{k+1} = u_k + h sum b_i K_i):
 * given abar = dJ/du_{k+1}, for i = s .. 1
 *     Kbar_i = h b_i abar + h sum_{j>i} a_ji Ybar_j
 *     Ybar_i = -(H(Y_i) + beta) Kbar_i,      thetabar += beta Kbar_i
 * and dJ/du_k = abar + sum_i Ybar_i. The stage points are rebuilt from u_k.
 *
 * Continuous adjoint (Li et al. 2023, eq. for a(t)): a(T) = dJ/du(T),
 *     da/dt = (H(u(t)) + beta I) a,   solved from T back to 0,
 *     dJ/dtheta = a(0) + beta int_0^T a dt - beta (u(T) - theta),
 * with the integral carried as a second component q, dq/ds = a in reversed
 * time s = T - t, so the quadrature has the order of the backward scheme.
 * The backward scheme runs on the forward grid; where a node falls between
 * two stored states, u is the cubic Hermite interpolant of u_k, u_{k+1} and
 * f(u_k), f(u_{k+1}), which is accurate to O(h^4), so it does not limit any
 * scheme up to order 4.
 */
#include "core/error.h"
#include "meta/meta.h"

#include <string.h>

/* Whether stage i of tab carries weight into the step: b_i or a later a_ji.
 * Stages without (dopri5's last, FSAL) need no Hessian-vector product. */
static int stage_used(const struct amaml_tableau *tab, int i)
{
    int s = tab->stages;

    if (tab->b[i] != 0)
        return 1;
    for (int j = i + 1; j < s; j++)
        if (tab->a[j * s + i] != 0)
            return 1;
    return 0;
}

/* -------------------------------------------------------- discrete */

struct discrete {
    double beta;
    double *a;   /* [P] abar, dJ/du_{k+1} then dJ/du_k */
    double *gth; /* [P] accumulated thetabar */
};

/* Y_i = u + h sum_{j<i} a_ij K_j for every stage; K_j in K (stage-major). */
static int rebuild_stages(struct amaml_meta *mg, double beta, const double *uk, double h,
                          double *Y, double *K)
{
    const struct amaml_tableau *tab = mg->traj.tab;
    size_t P = mg->P;
    int s = tab->stages;

    memcpy(Y, uk, P * sizeof *Y);
    for (int i = 1; i < s; i++) {
        double *Yi = Y + (size_t)i * P;
        int rc = meta_flow_rhs(mg, beta, Y + (size_t)(i - 1) * P, K + (size_t)(i - 1) * P);

        if (rc != AMAML_OK)
            return rc;
        memcpy(Yi, uk, P * sizeof *Yi);
        for (int j = 0; j < i; j++)
            if (tab->a[i * s + j] != 0)
                meta_axpy(h * tab->a[i * s + j], K + (size_t)j * P, Yi, P);
    }
    return AMAML_OK;
}

static int discrete_step(struct amaml_meta *mg, void *ctx, size_t k, const double *uk)
{
    struct discrete *d = ctx;
    const struct amaml_tableau *tab = mg->traj.tab;
    size_t P = mg->P;
    int s = tab->stages;
    double h = meta_traj_step(&mg->traj, k);
    double *Y = mg->stage, *Yb = Y + (size_t)s * P, *kbar = Yb + (size_t)s * P;
    int rc;

    /* 1. the stage points; the K_j are then overwritten by the Ybar_j */
    if ((rc = rebuild_stages(mg, d->beta, uk, h, Y, Yb)) != AMAML_OK)
        return rc;

    /* 2. the stage-wise recurrence, last stage first */
    for (int i = s; i-- > 0;) {
        double *Ybi = Yb + (size_t)i * P;

        if (!stage_used(tab, i)) {
            memset(Ybi, 0, P * sizeof *Ybi);
            continue;
        }
        for (size_t p = 0; p < P; p++)
            kbar[p] = h * tab->b[i] * d->a[p];
        for (int j = i + 1; j < s; j++)
            if (tab->a[j * s + i] != 0)
                meta_axpy(h * tab->a[j * s + i], Yb + (size_t)j * P, kbar, P);
        if ((rc = meta_hvp(mg, Y + (size_t)i * P, mg->task->support, kbar, Ybi, NULL)))
            return rc;
        for (size_t p = 0; p < P; p++)
            Ybi[p] = -Ybi[p] - d->beta * kbar[p];
        if (d->beta != 0)
            meta_axpy(d->beta, kbar, d->gth, P);
    }

    /* 3. dJ/du_k */
    for (int i = 0; i < s; i++)
        meta_axpy(1.0, Yb + (size_t)i * P, d->a, P);
    return AMAML_OK;
}

int meta_adjoint_discrete(struct amaml_meta *mg, double beta, const double *aN, double *grad)
{
    struct discrete d = {beta, mg->vec[10], mg->vec[11]};
    int rc;

    memcpy(d.a, aN, mg->P * sizeof *d.a);
    memset(d.gth, 0, mg->P * sizeof *d.gth);
    rc = meta_traj_reverse(mg, discrete_step, &d);
    if (rc != AMAML_OK)
        return rc;
    for (size_t p = 0; p < mg->P; p++)
        grad[p] = d.a[p] + d.gth[p]; /* u_0 = theta, plus the prox terms */
    return AMAML_OK;
}

/* ------------------------------------------------------ continuous */

struct continuous {
    double beta;
    double *a, *q;     /* [P] adjoint at t_{k+1}, and int_{t_{k+1}}^T a dt */
    double *unext;     /* [P] u_{k+1} */
    double *fnext;     /* [P] f(u_{k+1}), valid if have_fnext */
    double *fk;        /* [P] f(u_k) */
    double *uint;      /* [P] interpolated state */
    int have_fnext;
};

/* Cubic Hermite interpolation at x in (0, 1) between (u0, f0) at t_k and
 * (u1, f1) at t_{k+1}, step h. */
static void hermite(size_t P, double x, double h, const double *u0, const double *f0,
                    const double *u1, const double *f1, double *out)
{
    double x2 = x * x, x3 = x2 * x;
    double h00 = 2 * x3 - 3 * x2 + 1, h10 = x3 - 2 * x2 + x;
    double h01 = -2 * x3 + 3 * x2, h11 = x3 - x2;

    for (size_t p = 0; p < P; p++)
        out[p] = h00 * u0[p] + h10 * h * f0[p] + h01 * u1[p] + h11 * h * f1[p];
}

/* The state at the backward node t_{k+1} - c h. */
static int node_state(struct amaml_meta *mg, struct continuous *c, const double *uk,
                      double cnode, double h, const double **u)
{
    int rc;

    if (cnode == 0) {
        *u = c->unext;
        return AMAML_OK;
    }
    if (cnode == 1) {
        *u = uk;
        return AMAML_OK;
    }
    if (!c->have_fnext) {
        if ((rc = meta_flow_rhs(mg, c->beta, c->unext, c->fnext)) != AMAML_OK)
            return rc;
        c->have_fnext = 1;
    }
    hermite(mg->P, 1 - cnode, h, uk, c->fk, c->unext, c->fnext, c->uint);
    *u = c->uint;
    return AMAML_OK;
}

/* Whether a backward scheme evaluates strictly between grid points. */
static int needs_interpolation(const struct amaml_tableau *tab)
{
    for (int i = 0; i < tab->stages; i++)
        if (tab->c[i] != 0 && tab->c[i] != 1)
            return 1;
    return 0;
}

static int continuous_step(struct amaml_meta *mg, void *ctx, size_t k, const double *uk)
{
    struct continuous *c = ctx;
    const struct amaml_tableau *tab = mg->back_tab;
    size_t P = mg->P;
    int s = tab->stages, interp = needs_interpolation(tab);
    double h = meta_traj_step(&mg->traj, k);
    double *A = mg->stage, *Kd = A + (size_t)s * P, last_c = -1;
    const double *u = NULL;
    int rc;

    /* 1. f(u_k) for the interpolant */
    if (interp && (rc = meta_flow_rhs(mg, c->beta, uk, c->fk)) != AMAML_OK)
        return rc;

    /* 2. the stages: A_i = a + h sum a_ij Kd_j, Kd_i = -(H(u_i) + beta) A_i */
    for (int i = 0; i < s; i++) {
        double *Ai = A + (size_t)i * P, *Ki = Kd + (size_t)i * P;

        memcpy(Ai, c->a, P * sizeof *Ai);
        for (int j = 0; j < i; j++)
            if (tab->a[i * s + j] != 0)
                meta_axpy(h * tab->a[i * s + j], Kd + (size_t)j * P, Ai, P);
        if (tab->c[i] != last_c && (rc = node_state(mg, c, uk, tab->c[i], h, &u)))
            return rc;
        last_c = tab->c[i]; /* equal nodes share one interpolated state */
        if ((rc = meta_hvp(mg, u, mg->task->support, Ai, Ki, NULL)) != AMAML_OK)
            return rc;
        for (size_t p = 0; p < P; p++)
            Ki[p] = -Ki[p] - c->beta * Ai[p];
    }

    /* 3. a_k and the quadrature of the same order */
    for (int i = 0; i < s; i++) {
        if (tab->b[i] == 0)
            continue;
        meta_axpy(h * tab->b[i], Kd + (size_t)i * P, c->a, P);
        meta_axpy(h * tab->b[i], A + (size_t)i * P, c->q, P);
    }

    /* 4. u_k becomes the next step's right end */
    memcpy(c->unext, uk, P * sizeof *uk);
    if (interp)
        memcpy(c->fnext, c->fk, P * sizeof *c->fk);
    c->have_fnext = interp;
    return AMAML_OK;
}

int meta_adjoint_continuous(struct amaml_meta *mg, double beta, const double *uN,
                            const double *fN, const double *aN, double *grad)
{
    struct continuous c = {beta,        mg->vec[6], mg->vec[7], mg->vec[8], mg->vec[9],
                           mg->vec[10], mg->vec[11], 1};
    int rc;

    memcpy(c.a, aN, mg->P * sizeof *c.a);
    memset(c.q, 0, mg->P * sizeof *c.q);
    memcpy(c.unext, uN, mg->P * sizeof *c.unext);
    memcpy(c.fnext, fN, mg->P * sizeof *c.fnext); /* computed already for dJ/dT */
    rc = meta_traj_reverse(mg, continuous_step, &c);
    if (rc != AMAML_OK)
        return rc;
    for (size_t p = 0; p < mg->P; p++)
        grad[p] = c.a[p] + beta * c.q[p];
    return AMAML_OK;
}

/* ------------------------------------------------------- the driver */

int meta_flow_metagrad(struct amaml_meta *mg, struct amaml_ode *ode, double beta,
                       size_t nsteps, int discrete, double *grad,
                       struct amaml_meta_result *res)
{
    const double *theta = mg->task->theta;
    size_t P = mg->P;
    double *uN = mg->vec[0], *aN = mg->vec[1], *fN = mg->vec[2], lq, prox = 0;
    int rc;

    /* 1. forward, keeping states for the reverse sweep */
    if ((rc = meta_traj_forward(mg, ode, beta, nsteps, 1, uN)) != AMAML_OK)
        return rc;

    /* 2. J and a(T) = grad L(u_N; query) + beta (u_N - theta) */
    if ((rc = meta_grad(mg, uN, mg->task->query, &lq, aN)) != AMAML_OK)
        return rc;
    for (size_t p = 0; p < P; p++) {
        double d = uN[p] - theta[p];

        aN[p] += beta * d;
        prox += d * d;
    }
    res->loss = lq + 0.5 * beta * prox;

    /* 3. dJ/dT = a(T) . f(u(T)) */
    if ((rc = meta_flow_rhs(mg, beta, uN, fN)) != AMAML_OK)
        return rc;
    res->dJdT = meta_dot(aN, fN, P);

    /* 4. the adjoint, then the explicit term of J */
    rc = discrete ? meta_adjoint_discrete(mg, beta, aN, grad)
                  : meta_adjoint_continuous(mg, beta, uN, fN, aN, grad);
    if (rc != AMAML_OK)
        return rc;
    for (size_t p = 0; p < P; p++)
        grad[p] -= beta * (uN[p] - theta[p]);
    return AMAML_OK;
}
