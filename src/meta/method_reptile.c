/*
 * method_reptile.c - Reptile (Nichol, Achiam, Schulman 2018): N gradient
 * steps, and theta - u_N as the meta-update direction, so that a meta-step
 * theta -= eps (theta - u_N) moves theta toward the adapted parameters.
 */
#include "meta/meta.h"

static int reptile_run(struct amaml_meta *mg, const struct meta_task *task, double *grad,
                       struct amaml_meta_result *res)
{
    double *uN = mg->vec[0];
    int rc = meta_traj_forward(mg, mg->gd_ode, 0.0, mg->cfg.steps, 0, uN);

    if (rc != AMAML_OK)
        return rc;
    for (size_t p = 0; p < mg->P; p++)
        grad[p] = task->theta[p] - uN[p];
    return meta_grad(mg, uN, task->query, &res->loss, NULL); /* reported, not used */
}

const struct meta_method meta_method_reptile = {
    "reptile", "Reptile: theta - u_N after N gradient steps", reptile_run, meta_inner_gd,
};
