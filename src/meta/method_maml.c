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

const struct meta_method meta_method_maml = {
    "maml", "MAML: N gradient steps, exact second-order meta-gradient", maml_run,
};

const struct meta_method meta_method_maml1 = {
    "maml1", "MAML with a single inner gradient step", maml1_run,
};
