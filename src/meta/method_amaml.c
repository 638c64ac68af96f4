/*
 * method_amaml.c - A-MAML (Li, Wang, Narayan, Kirby, Zhe, AISTATS 2023):
 * the inner adaptation as the gradient flow du/dt = -g(u) - beta (u - theta)
 * solved with any scheme, and the meta-gradient from the continuous adjoint
 * ODE or the discrete adjoint of the scheme (adjoint.c).
 */
#include "meta/meta.h"

static int amaml_run(struct amaml_meta *mg, const struct meta_task *task, double *grad,
                     struct amaml_meta_result *res)
{
    const struct amaml_meta_config *c = &mg->cfg;

    (void)task;
    return meta_flow_metagrad(mg, mg->fwd_ode, c->prox, c->steps,
                              c->adjoint == AMAML_ADJOINT_DISCRETE, grad, res);
}

static void amaml_inner(struct amaml_meta *mg, struct amaml_ode **ode, double *beta,
                        size_t *nsteps)
{
    *ode = mg->fwd_ode;
    *beta = mg->cfg.prox;
    *nsteps = mg->cfg.steps;
}

const struct meta_method meta_method_amaml = {
    "amaml", "adjoint MAML: gradient flow, continuous or discrete adjoint", amaml_run,
    amaml_inner,
};
