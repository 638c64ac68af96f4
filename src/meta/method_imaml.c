/*
 * method_imaml.c - implicit MAML (Rajeswaran, Finn, Kakade, Levine,
 * NeurIPS 2019). The inner problem min L(u; support) + lambda/2 |u - theta|^2
 * is solved approximately by N gradient steps (Euler on the flow with
 * beta = lambda); at its solution u*, the implicit function theorem gives
 * dJ/dtheta = (I + H(u*)/lambda)^{-1} grad L(u*; query), solved here by a
 * fixed number of conjugate-gradient iterations with Hessian-vector
 * products, on the damped matrix (1 + damping) I + H/lambda.
 */
#include "meta/meta.h"

#include <string.h>

/* A v = (1 + damping) v + H(u) v / lambda */
static int apply(struct amaml_meta *mg, const double *u, const double *v, double *Av)
{
    const struct amaml_meta_config *c = &mg->cfg;
    int rc = meta_hvp(mg, u, mg->task->support, v, Av, NULL);

    if (rc != AMAML_OK)
        return rc;
    for (size_t p = 0; p < mg->P; p++)
        Av[p] = (1 + c->cg_damping) * v[p] + Av[p] / c->imaml_lambda;
    return AMAML_OK;
}

/* cg_steps iterations of conjugate gradients for A x = b from x = 0; stops
 * early only on an exactly zero residual, so the work is fixed. */
static int conjugate_gradient(struct amaml_meta *mg, const double *u, const double *b,
                              double *x)
{
    size_t P = mg->P;
    double *r = mg->vec[2], *p = mg->vec[3], *Ap = mg->vec[4], rr;
    int rc;

    memset(x, 0, P * sizeof *x);
    memcpy(r, b, P * sizeof *r);
    memcpy(p, b, P * sizeof *p);
    rr = meta_dot(r, r, P);
    for (size_t it = 0; it < mg->cfg.cg_steps && rr > 0; it++) {
        double alpha, rr_new;

        if ((rc = apply(mg, u, p, Ap)) != AMAML_OK)
            return rc;
        alpha = rr / meta_dot(p, Ap, P);
        meta_axpy(alpha, p, x, P);
        meta_axpy(-alpha, Ap, r, P);
        rr_new = meta_dot(r, r, P);
        for (size_t i = 0; i < P; i++)
            p[i] = r[i] + (rr_new / rr) * p[i];
        rr = rr_new;
    }
    return AMAML_OK;
}

static int imaml_run(struct amaml_meta *mg, const struct meta_task *task, double *grad,
                     struct amaml_meta_result *res)
{
    double *u = mg->vec[0], *b = mg->vec[1];
    int rc = meta_traj_forward(mg, mg->gd_ode, mg->cfg.imaml_lambda, mg->cfg.steps, 0, u);

    if (rc == AMAML_OK)
        rc = meta_grad(mg, u, task->query, &res->loss, b);
    return rc ? rc : conjugate_gradient(mg, u, b, grad);
}

static void imaml_inner(struct amaml_meta *mg, struct amaml_ode **ode, double *beta,
                        size_t *nsteps)
{
    *ode = mg->gd_ode;
    *beta = mg->cfg.imaml_lambda;
    *nsteps = mg->cfg.steps;
}

const struct meta_method meta_method_imaml = {
    "imaml", "implicit MAML: conjugate gradients on (I + H/lambda) x = grad", imaml_run,
    imaml_inner,
};
