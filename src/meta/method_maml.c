/*
 * method_maml.c - MAML (Finn, Abbeel, Levine, ICML 2017) with its exact
 * second-order meta-gradient through N steps of gradient descent, and
 * MAML-1 with one step. Gradient descent with step h is explicit Euler on
 * the gradient flow, so the exact MAML gradient is the discrete adjoint of
 * Euler with beta = 0: N Hessian-vector products, no computational graph.
 */
#include "meta/meta.h"

static int maml_run(struct amaml_meta *mg, const struct meta_task *task, double *grad,
                    struct amaml_meta_result *res)
{
    (void)task;
    return meta_flow_metagrad(mg, mg->gd_ode, 0.0, mg->cfg.steps, 1, grad, res);
}

static int maml1_run(struct amaml_meta *mg, const struct meta_task *task, double *grad,
                     struct amaml_meta_result *res)
{
    (void)task;
    return meta_flow_metagrad(mg, mg->gd_ode, 0.0, 1, 1, grad, res);
}

static void maml_inner(struct amaml_meta *mg, struct amaml_ode **ode, double *beta,
                       size_t *nsteps)
{
    *ode = mg->gd_ode;
    *beta = 0;
    *nsteps = mg->cfg.steps;
}

static void maml1_inner(struct amaml_meta *mg, struct amaml_ode **ode, double *beta,
                        size_t *nsteps)
{
    maml_inner(mg, ode, beta, nsteps);
    *nsteps = 1;
}

const struct meta_method meta_method_maml = {
    "maml", "MAML: N gradient steps, exact second-order meta-gradient", maml_run, maml_inner,
};

const struct meta_method meta_method_maml1 = {
    "maml1", "MAML with a single inner gradient step", maml1_run, maml1_inner,
};
