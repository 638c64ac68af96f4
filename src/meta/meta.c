/*
 * meta.c - the public face of the meta-gradients: configuration, the
 * working memory, dispatch to the chosen method, and the counted, checked
 * calls of the task's objective that every method goes through.
 */
#include "core/error.h"
#include "meta/meta.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void amaml_meta_config_default(struct amaml_meta_config *cfg)
{
    struct amaml_meta_config d = {
        .method = "amaml",
        .solver = "rk4",
        .adjoint = AMAML_ADJOINT_CONTINUOUS,
        .backward = "euler",
        .steps = 100,
        .inner_lr = 0.01,
        .prox = 0,
        .checkpoint = AMAML_CKPT_ALL,
        .checkpoint_arg = 0,
        .rtol = 1e-6,
        .atol = 1e-9,
        .cg_steps = 5,
        .cg_damping = 0,
        .imaml_lambda = 1,
    };

    *cfg = d;
}

int amaml_checkpoint_parse(const char *s, enum amaml_checkpoint *mode, size_t *arg)
{
    const char *num = NULL;
    enum amaml_checkpoint m;
    char *end;
    unsigned long long v;

    if (s && strcmp(s, "all") == 0) {
        *mode = AMAML_CKPT_ALL;
        *arg = 0;
        return AMAML_OK;
    }
    if (s && strncmp(s, "every:", 6) == 0)
        m = AMAML_CKPT_EVERY, num = s + 6;
    else if (s && strncmp(s, "binomial:", 9) == 0)
        m = AMAML_CKPT_BINOMIAL, num = s + 9;
    else
        return amaml_fail(AMAML_EINVAL, "unknown checkpointing '%s' (all, every:K, "
                          "binomial:C)", s ? s : "(null)");
    v = *num >= '0' && *num <= '9' ? strtoull(num, &end, 10) : 0;
    if (v == 0 || *end || v > 1000000000ULL)
        return amaml_fail(AMAML_EINVAL, "checkpointing '%s': the count must be an integer "
                          "from 1 to 1e9", s);
    *mode = m;
    *arg = (size_t)v;
    return AMAML_OK;
}

/* -------------------------------------------------- validation */

static int check_scheme(const char *what, const char *name, int fixed_only)
{
    const struct amaml_tableau *t = name ? amaml_tableau_find(name) : NULL;

    if (!t)
        return amaml_fail(AMAML_EINVAL, "unknown %s scheme '%s' (euler, heun, rk4, rk38%s)",
                          what, name ? name : "(null)", fixed_only ? "" : ", dopri5");
    if (fixed_only && t->bhat)
        return amaml_fail(AMAML_EINVAL, "the %s scheme must be a fixed-step one, not '%s'",
                          what, name);
    return AMAML_OK;
}

static int check_config(const struct amaml_meta_config *c)
{
    int rc;

    if (!meta_method_find(c->method))
        return amaml_fail(AMAML_EINVAL, "unknown method '%s' (amaml, maml, maml1, fomaml, "
                          "reptile, imaml)", c->method ? c->method : "(null)");
    if ((rc = check_scheme("forward", c->solver, 0)) || (rc = check_scheme("backward",
                                                                          c->backward, 1)))
        return rc;
    if (c->steps == 0 || c->steps > 100000000)
        return amaml_fail(AMAML_EINVAL, "inner steps %zu must be from 1 to 1e8", c->steps);
    if (!(c->inner_lr > 0) || !isfinite(c->inner_lr))
        return amaml_fail(AMAML_EINVAL, "inner step size %g must be positive", c->inner_lr);
    if (!(c->prox >= 0) || !isfinite(c->prox))
        return amaml_fail(AMAML_EINVAL, "proximal strength %g must be >= 0", c->prox);
    if (c->checkpoint != AMAML_CKPT_ALL && c->checkpoint_arg == 0)
        return amaml_fail(AMAML_EINVAL, "checkpointing needs a count of at least 1");
    if (!(c->rtol >= 0) || !(c->atol >= 0) || c->rtol + c->atol == 0)
        return amaml_fail(AMAML_EINVAL, "tolerances rtol %g, atol %g must be >= 0 and not "
                          "both 0", c->rtol, c->atol);
    if (c->cg_steps == 0 && strcmp(c->method, "imaml") == 0)
        return amaml_fail(AMAML_EINVAL, "iMAML needs at least one CG step");
    if (!(c->cg_damping >= 0) || !isfinite(c->cg_damping))
        return amaml_fail(AMAML_EINVAL, "CG damping %g must be >= 0", c->cg_damping);
    if (!(c->imaml_lambda > 0) || !isfinite(c->imaml_lambda))
        return amaml_fail(AMAML_EINVAL, "iMAML lambda %g must be positive", c->imaml_lambda);
    return AMAML_OK;
}

/* ------------------------------------------------- create, free */

struct amaml_meta *amaml_meta_create(const struct amaml_meta_config *cfg, size_t nparam)
{
    struct amaml_meta *mg;
    const struct amaml_tableau *fwd, *euler = amaml_tableau_find("euler");
    size_t smax, nvec = sizeof mg->vec / sizeof mg->vec[0];

    if (!cfg || check_config(cfg) != AMAML_OK)
        return cfg ? NULL : (amaml_fail(AMAML_EINVAL, "NULL configuration"), NULL);
    if (nparam == 0 || nparam > SIZE_MAX / sizeof(double) / 64) {
        amaml_fail(AMAML_EINVAL, "parameter count %zu out of range", nparam);
        return NULL;
    }
    if (!(mg = calloc(1, sizeof *mg)))
        goto nomem;
    mg->cfg = *cfg;
    mg->method = meta_method_find(cfg->method);
    mg->P = nparam;
    mg->traj.P = nparam;
    fwd = amaml_tableau_find(cfg->solver);
    mg->back_tab = amaml_tableau_find(cfg->backward);
    mg->fwd_ode = amaml_ode_create(fwd, nparam);
    mg->gd_ode = amaml_ode_create(euler, nparam);
    smax = (size_t)(fwd->stages > mg->back_tab->stages ? fwd->stages : mg->back_tab->stages);
    mg->stage = malloc((2 * smax + 1) * nparam * sizeof *mg->stage);
    mg->traj.work = malloc(nparam * sizeof *mg->traj.work);
    if (!mg->fwd_ode || !mg->gd_ode || !mg->stage || !mg->traj.work)
        goto nomem;
    for (size_t i = 0; i < nvec; i++)
        if (!(mg->vec[i] = malloc(nparam * sizeof *mg->vec[i])))
            goto nomem;
    return mg;

nomem:
    amaml_meta_free(mg);
    amaml_fail(AMAML_ENOMEM, "out of memory for a meta-gradient of %zu parameters", nparam);
    return NULL;
}

void amaml_meta_free(struct amaml_meta *mg)
{
    if (!mg)
        return;
    for (size_t i = 0; i < sizeof mg->vec / sizeof mg->vec[0]; i++)
        free(mg->vec[i]);
    free(mg->stage);
    amaml_ode_free(mg->fwd_ode);
    amaml_ode_free(mg->gd_ode);
    meta_traj_release(&mg->traj);
    free(mg);
}

const struct amaml_meta_config *amaml_meta_get_config(const struct amaml_meta *mg)
{
    return &mg->cfg;
}

/* --------------------------------------------------- one task */

int amaml_meta_grad(struct amaml_meta *mg, const struct amaml_objective *obj,
                    const double *theta, const struct amaml_batch *support,
                    const struct amaml_batch *query, double *grad,
                    struct amaml_meta_result *res)
{
    struct meta_task task = {obj, theta, support, query};
    struct amaml_meta_result r = {0};
    int rc;

    if (!mg || !obj || !obj->grad || !obj->hvp || !theta || !support || !query || !grad)
        return amaml_fail(AMAML_EINVAL, "amaml_meta_grad: NULL argument");
    if (obj->nparam != mg->P)
        return amaml_fail(AMAML_EINVAL, "the objective has %zu parameters, the meta-gradient "
                          "was made for %zu", obj->nparam, mg->P);

    mg->task = &task;
    mg->grads = mg->hvps = mg->steps = 0;
    mg->traj.peak_bytes = 0;
    rc = mg->method->run(mg, &task, mg->vec[5], &r);
    mg->task = NULL;
    if (rc != AMAML_OK)
        return rc;

    memcpy(grad, mg->vec[5], mg->P * sizeof *grad);
    if (res) {
        r.grads = mg->grads;
        r.hvps = mg->hvps;
        r.steps = mg->steps;
        r.state_bytes = mg->traj.peak_bytes;
        *res = r;
    }
    return AMAML_OK;
}

int amaml_meta_adapt(struct amaml_meta *mg, const struct amaml_objective *obj,
                     const double *theta, const struct amaml_batch *support, double *u)
{
    struct meta_task task = {obj, theta, support, support};
    struct amaml_ode *ode;
    double beta;
    size_t nsteps;
    int rc;

    if (!mg || !obj || !theta || !support || !u)
        return amaml_fail(AMAML_EINVAL, "amaml_meta_adapt: NULL argument");
    if (obj->nparam != mg->P)
        return amaml_fail(AMAML_EINVAL, "the objective has %zu parameters, the meta-gradient "
                          "was made for %zu", obj->nparam, mg->P);
    mg->task = &task;
    mg->grads = mg->hvps = mg->steps = 0;
    mg->method->inner(mg, &ode, &beta, &nsteps);
    rc = meta_traj_forward(mg, ode, beta, nsteps, 0, mg->vec[5]);
    mg->task = NULL;
    if (rc == AMAML_OK)
        memcpy(u, mg->vec[5], mg->P * sizeof *u);
    return rc;
}

/* ------------------------------------------- counted objective */

int meta_grad(struct amaml_meta *mg, const double *u, const struct amaml_batch *b,
              double *loss, double *grad)
{
    const struct amaml_objective *obj = mg->task->obj;
    double l = 0;

    mg->grads++;
    if (obj->grad(obj->ctx, u, b, &l, grad) != 0)
        return amaml_fail(AMAML_ECALLBACK, "the model's gradient failed: %s", amaml_errmsg());
    if (!isfinite(l))
        return amaml_fail(AMAML_ENONFINITE, "the %s loss is %g after %zu inner steps: the "
                          "inner trajectory diverged (try a smaller inner step)",
                          b == mg->task->support ? "support" : "query", l, mg->steps);
    if (loss)
        *loss = l;
    return AMAML_OK;
}

int meta_hvp(struct amaml_meta *mg, const double *u, const struct amaml_batch *b,
             const double *v, double *hv, double *grad)
{
    const struct amaml_objective *obj = mg->task->obj;

    mg->hvps++;
    if (obj->hvp(obj->ctx, u, b, v, hv, grad) != 0)
        return amaml_fail(AMAML_ECALLBACK, "the model's Hessian-vector product failed: %s",
                          amaml_errmsg());
    return AMAML_OK;
}

int meta_flow_rhs(struct amaml_meta *mg, double beta, const double *u, double *f)
{
    const double *theta = mg->task->theta;
    int rc = meta_grad(mg, u, mg->task->support, NULL, f);

    if (rc != AMAML_OK)
        return rc;
    for (size_t p = 0; p < mg->P; p++)
        f[p] = -f[p] - beta * (u[p] - theta[p]);
    return AMAML_OK;
}

double meta_dot(const double *a, const double *b, size_t n)
{
    double s = 0;

    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

void meta_axpy(double alpha, const double *x, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += alpha * x[i];
}
