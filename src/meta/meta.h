/*
 * meta.h - the internals shared by the meta-gradient methods: the working
 * memory of struct amaml_meta, counted objective calls, the forward
 * trajectory with its state storage (trajectory.c), the adjoint passes
 * (adjoint.c), and the table of methods (registry.c).
 *
 * A method is one file defining a `const struct meta_method`; registering it
 * is one line in registry.c.
 */
#ifndef AMAML_META_META_H
#define AMAML_META_META_H

#include "amaml.h"

/* One task as the methods see it. */
struct meta_task {
    const struct amaml_objective *obj;
    const double *theta;
    const struct amaml_batch *support, *query;
};

struct amaml_meta;

struct meta_method {
    const char *name;
    const char *summary;
    /* Writes the meta-gradient into grad and fills res (loss, dJdT). */
    int (*run)(struct amaml_meta *mg, const struct meta_task *task, double *grad,
               struct amaml_meta_result *res);
    /* The method's inner rule: the scheme, proximal strength and steps with
     * which it adapts theta to a task (amaml_meta_adapt). */
    void (*inner)(struct amaml_meta *mg, struct amaml_ode **ode, double *beta, size_t *nsteps);
};

const struct meta_method *meta_method_find(const char *name);

/*
 * The forward trajectory u_0 .. u_N of du/dt = -g(u) - beta (u - theta) and
 * the states it keeps. Step k goes from t_k to t_k + h_k. The grid is
 * uniform for fixed-step schemes; an adaptive solve records its accepted
 * steps so that a recomputation replays them exactly.
 */
struct meta_traj {
    size_t P, N;
    double beta;
    const struct amaml_tableau *tab;
    struct amaml_ode *ode;
    int adaptive;
    double h;         /* fixed grid */
    double *tgrid;    /* [N + 1] times of an adaptive solve, else NULL */
    double *hgrid;    /* [N] its accepted steps, h_k from u_k */
    size_t tcap;

    int keep;          /* whether states are kept for a reverse sweep */
    enum amaml_checkpoint mode;
    size_t arg;        /* K or C */
    double *store;     /* states kept by the mode, see trajectory.c */
    size_t store_cap;  /* states the store can hold */
    double *work;      /* [P] state being recomputed */
    size_t bytes, peak_bytes;
};

/* The working memory of the meta-gradient, made once per amaml_meta. */
struct amaml_meta {
    struct amaml_meta_config cfg;
    const struct meta_method *method;
    size_t P;
    struct meta_traj traj;
    struct amaml_ode *fwd_ode; /* forward scheme of amaml */
    struct amaml_ode *gd_ode;  /* Euler, for the gradient-descent methods */
    const struct amaml_tableau *back_tab;
    double *vec[12];           /* [P] scratch vectors for the methods */
    double *stage;             /* [2 stages_max][P] adjoint stage storage */

    /* per call */
    const struct meta_task *task;
    size_t grads, hvps, steps;
};

/* Counted calls of the task's objective. Both check the result for
 * non-finite values and say at which u-evaluation it happened. */
int meta_grad(struct amaml_meta *mg, const double *u, const struct amaml_batch *b,
              double *loss, double *grad);
int meta_hvp(struct amaml_meta *mg, const double *u, const struct amaml_batch *b,
             const double *v, double *hv, double *grad);

/* f(u) = -g(u) - beta (u - theta) on the support set; g may be NULL. */
int meta_flow_rhs(struct amaml_meta *mg, double beta, const double *u, double *f);

/* Runs the forward solve of nsteps from u_0 = theta with ode's scheme
 * (fixed step h, or adaptive on [0, nsteps h]), keeping states as the config
 * says if keep, else none; uN receives the final state. */
int meta_traj_forward(struct amaml_meta *mg, struct amaml_ode *ode, double beta,
                      size_t nsteps, int keep, double *uN);

/* Visits the states u_k for k = N - 1 down to 0, recomputing from
 * checkpoints as needed; visit gets k and u_k (valid during the call). */
typedef int (*meta_visit)(struct amaml_meta *mg, void *ctx, size_t k, const double *uk);
int meta_traj_reverse(struct amaml_meta *mg, meta_visit visit, void *ctx);

double meta_traj_time(const struct meta_traj *tr, size_t k);
double meta_traj_step(const struct meta_traj *tr, size_t k);
void meta_traj_release(struct meta_traj *tr);

/*
 * The adjoint passes. On entry aN holds a(T) = dJ/du_N, and for the
 * continuous one uN the final state and fN = f(u_N); on return grad holds
 * dJ/dtheta except the explicit term -beta (u_N - theta), which the caller
 * adds.
 */
int meta_adjoint_discrete(struct amaml_meta *mg, double beta, const double *aN, double *grad);
int meta_adjoint_continuous(struct amaml_meta *mg, double beta, const double *uN,
                            const double *fN, const double *aN, double *grad);

/*
 * The whole flow meta-gradient: the forward solve of nsteps with ode and
 * proximal strength beta, J = L(u_N; query) + beta/2 |u_N - theta|^2, the
 * horizon gradient dJ/dT = a(T) . f(u_N), then the discrete or continuous
 * adjoint. Fills res->loss and res->dJdT.
 */
int meta_flow_metagrad(struct amaml_meta *mg, struct amaml_ode *ode, double beta,
                       size_t nsteps, int discrete, double *grad,
                       struct amaml_meta_result *res);

/* The inner rule of N plain gradient steps (fomaml, reptile). */
void meta_inner_gd(struct amaml_meta *mg, struct amaml_ode **ode, double *beta, size_t *nsteps);

/* Helpers on vectors of P doubles. */
double meta_dot(const double *a, const double *b, size_t n);
void meta_axpy(double alpha, const double *x, double *y, size_t n);

#endif
