/*
 * method_fomaml.c - first-order MAML (Finn et al. 2017): N gradient steps,
 * then the query gradient at u_N taken as the meta-gradient, ignoring how
 * u_N depends on theta.
 */
#include "meta/meta.h"

static int fomaml_run(struct amaml_meta *mg, const struct meta_task *task, double *grad,
                      struct amaml_meta_result *res)
{
    double *uN = mg->vec[0];
    int rc = meta_traj_forward(mg, mg->gd_ode, 0.0, mg->cfg.steps, 0, uN);

    return rc ? rc : meta_grad(mg, uN, task->query, &res->loss, grad);
}

/* N plain gradient steps: the inner rule of fomaml and reptile. */
void meta_inner_gd(struct amaml_meta *mg, struct amaml_ode **ode, double *beta, size_t *nsteps)
{
    *ode = mg->gd_ode;
    *beta = 0;
    *nsteps = mg->cfg.steps;
}

const struct meta_method meta_method_fomaml = {
    "fomaml", "first-order MAML: the query gradient after N gradient steps", fomaml_run,
    meta_inner_gd,
};
