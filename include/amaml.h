/*
 * amaml.h - the one public header of amaml, a library for gradient-based
 * meta-learning centred on Adjoint MAML (Li, Wang, Narayan, Kirby, Zhe,
 * "Meta-Learning with Adjoint Methods", AISTATS 2023, arXiv 2110.08432).
 *
 * Conventions that hold for every function below:
 * - Functions that can fail return an int status: AMAML_OK (0) on success, a
 *   negative AMAML_E* code on failure. On failure a message naming what was
 *   wrong is recorded for the calling thread; amaml_errmsg() returns it.
 *   Outputs are left unchanged on failure unless the function says otherwise.
 * - The library never prints and never exits.
 * - Handles (struct amaml_mlp, struct amaml_ode, ...) are opaque, made by a
 *   *_create function and released by the matching *_free, which accepts NULL.
 * - Pointers passed in are borrowed: the caller keeps ownership and the
 *   library does not keep them past the call, unless a function says so.
 * - Vectors are arrays of double; a parameter vector has amaml_*_nparam()
 *   entries. Matrices are row-major.
 * - Training and evaluation run tasks in parallel on OpenMP threads. Large
 *   layers go through CBLAS: use a single-threaded BLAS, or call
 *   openblas_set_num_threads(1) as the CLI does, or its threads will fight
 *   the task threads for the cores.
 */
#ifndef AMAML_H
#define AMAML_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AMAML_VERSION "0.1.0"

/* ---------------------------------------------------------------- errors */

enum amaml_status {
    AMAML_OK = 0,
    AMAML_EINVAL = -1,     /* an argument is out of its domain */
    AMAML_ENOMEM = -2,     /* an allocation failed or a size overflowed */
    AMAML_EIO = -3,        /* a file could not be read or written */
    AMAML_EFORMAT = -4,    /* a file's contents are malformed */
    AMAML_ENONFINITE = -5, /* a NaN or infinity appeared: the run diverged */
    AMAML_ESTEP = -6,      /* an adaptive solver could not meet its tolerance */
    AMAML_ECALLBACK = -7   /* a user callback returned a failure */
};

/* A fixed description of a status code ("invalid argument", ...). */
const char *amaml_strerror(int status);

/* The message recorded by the last failing call on this thread ("" if none).
 * The string belongs to the library and is valid until the next failing call
 * on the same thread. */
const char *amaml_errmsg(void);

/* ------------------------------------------------------ random numbers */

/* xoshiro256** seeded through splitmix64: the same seed gives the same
 * stream on every platform. A plain struct so that it can be saved. */
struct amaml_rng {
    uint64_t s[4];
};

void amaml_rng_seed(struct amaml_rng *rng, uint64_t seed);
uint64_t amaml_rng_next(struct amaml_rng *rng);
double amaml_rng_uniform(struct amaml_rng *rng); /* in [0, 1) */
double amaml_rng_normal(struct amaml_rng *rng);  /* standard normal */

/* ---------------------------------------------- model-agnostic objective */

/* A batch of n samples. x is n x din. y is n x dout for regression, or n
 * class indices (stored as doubles) for classification: the model decides.
 * The batch borrows its arrays. */
struct amaml_batch {
    size_t n;
    const double *x; /* [n][din] */
    const double *y; /* [n][dout] or [n] */
};

/*
 * A loss L(u; batch) on a parameter vector u in R^nparam, given as
 * callbacks with a context pointer. Everything above the model (the
 * derivative checks, the ODE right-hand side, the meta-gradients) uses only
 * this. Callbacks return 0 on success and non-zero on failure.
 *
 * grad: writes L into *loss if loss is not NULL and grad L into grad if
 *       grad is not NULL.
 * hvp:  writes H(u) v into hv, where H is the exact Hessian of L; if grad is
 *       not NULL also writes grad L(u) there (it comes at no extra cost from
 *       forward-over-reverse differentiation).
 *
 * A context may hold scratch memory, so one objective must not be used by
 * two threads at once: give each thread its own context.
 */
struct amaml_objective {
    size_t nparam;
    void *ctx;
    int (*grad)(void *ctx, const double *u, const struct amaml_batch *batch, double *loss,
                double *grad);
    int (*hvp)(void *ctx, const double *u, const struct amaml_batch *batch, const double *v,
               double *hv, double *grad);
};

/* ------------------------------------------------------ derivative checks */

/* What a derivative check measured. Errors are relative:
 * max_i |analytic_i - fd_i| / max(|fd|_inf, floor), with the floor 1e-8
 * keeping a vanishing derivative from turning rounding into a huge ratio. */
struct amaml_check_result {
    double grad_err;     /* gradient against central differences of L */
    double hvp_err;      /* H v against central differences of grad L along v */
    double symmetry_err; /* |u.(Hv) - v.(Hu)| / max(|u||Hv|, |v||Hu|) */
};

/* Checks obj at theta on batch along random directions drawn from rng,
 * with central differences of step eps (0 picks a step for double). */
int amaml_check_derivatives(const struct amaml_objective *obj, const double *theta,
                            const struct amaml_batch *batch, double eps,
                            struct amaml_rng *rng, struct amaml_check_result *out);

/* ------------------------------------------------ multilayer perceptron */

enum amaml_act { AMAML_TANH, AMAML_RELU, AMAML_SIGMOID, AMAML_SOFTPLUS };
enum amaml_loss { AMAML_MSE, AMAML_CE };

struct amaml_mlp;

/*
 * An MLP with nlayers + 1 widths (input, hidden..., output), the given hidden
 * activation and a linear output layer. Parameter layout, one flat vector:
 * for each layer l in order, W_l as out x in row-major, then b_l (out).
 * Losses: AMAML_MSE is 0.5 * mean over all n * dout entries of (pred - y)^2;
 * AMAML_CE is the mean over samples of softmax cross-entropy, with y the
 * class index in [0, dout).
 */
struct amaml_mlp *amaml_mlp_create(const size_t *widths, size_t nwidths, enum amaml_act act,
                                   enum amaml_loss loss);
/* Parses "2-32-32-1" and "tanh" (relu, sigmoid, softplus); NULL and a
 * message on bad input. */
struct amaml_mlp *amaml_mlp_parse(const char *arch, const char *act, enum amaml_loss loss);
/* A model with the same architecture and its own scratch memory. */
struct amaml_mlp *amaml_mlp_clone(const struct amaml_mlp *mlp);
void amaml_mlp_free(struct amaml_mlp *mlp);

size_t amaml_mlp_nparam(const struct amaml_mlp *mlp);
size_t amaml_mlp_nwidths(const struct amaml_mlp *mlp);
size_t amaml_mlp_width(const struct amaml_mlp *mlp, size_t i);
enum amaml_act amaml_mlp_act(const struct amaml_mlp *mlp);
enum amaml_loss amaml_mlp_loss(const struct amaml_mlp *mlp);
/* Writes "2-32-32-1" into buf (at most size bytes, NUL-terminated). */
int amaml_mlp_arch_string(const struct amaml_mlp *mlp, char *buf, size_t size);
const char *amaml_act_name(enum amaml_act act);
int amaml_act_parse(const char *name, enum amaml_act *act);

/* Uniform in +-1/sqrt(fan_in) for weights and biases, as torch.nn.Linear. */
void amaml_mlp_init(const struct amaml_mlp *mlp, struct amaml_rng *rng, double *theta);

/* out[n][dout] = network(theta, x[n][din]). */
int amaml_mlp_forward(struct amaml_mlp *mlp, const double *theta, const double *x, size_t n,
                      double *out);
/* L and grad L (either may be NULL) by backpropagation. */
int amaml_mlp_grad(struct amaml_mlp *mlp, const double *theta, const struct amaml_batch *batch,
                   double *loss, double *grad);
/* H v exactly, by Pearlmutter's R-operator (forward-over-reverse); grad may
 * be NULL. */
int amaml_mlp_hvp(struct amaml_mlp *mlp, const double *theta, const struct amaml_batch *batch,
                  const double *v, double *hv, double *grad);
/* The objective view of mlp; it borrows mlp, which must outlive it. */
struct amaml_objective amaml_mlp_objective(struct amaml_mlp *mlp);
/*
 * The floating-point operations of one amaml_mlp_grad (*grad_flops) and one
 * amaml_mlp_hvp (*hvp_flops, its gradient included) on n samples, for
 * reporting achieved rates; either pointer may be NULL. Counted as the
 * passes do the work: a multiply-add of a matrix product counts 2, any other
 * arithmetic 1, the value of a hidden unit's activation a constant per unit
 * and sample (40 for tanh and sigmoid, about what their exponential costs in
 * act.c; 80 for softplus, which adds glibc's log1p; 1 for relu), act' 2 and
 * act'' 2 more, and an exponential or logarithm of the cross-entropy 40.
 * docs/performance.md lists the terms.
 */
void amaml_mlp_flops(const struct amaml_mlp *mlp, size_t n, double *grad_flops,
                     double *hvp_flops);

/* ---------------------------------------------------------- ODE solvers */

/*
 * An explicit Runge-Kutta scheme as a Butcher tableau. a is stages x stages
 * row-major and strictly lower triangular; b the weights; c the nodes;
 * bhat, if not NULL, the weights of an embedded solution of order
 * order_embedded, used for error control. fsal: the last stage is evaluated
 * at the new solution, so it is the next step's first stage.
 */
struct amaml_tableau {
    const char *name;
    int stages;
    int order;
    int order_embedded; /* 0 without an embedded pair */
    int fsal;
    const double *a;
    const double *b;
    const double *c;
    const double *bhat;
};

/* The built-in schemes: "euler", "heun", "rk4", "rk38" (Kutta's 3/8 rule),
 * "dopri5" (Dormand-Prince 5(4), fsal). The tables are static and live for
 * the whole program. An unknown name gives NULL and a message listing the
 * known ones. */
const struct amaml_tableau *amaml_tableau_find(const char *name);
/* The i-th built-in scheme, NULL past the last (for listing). */
const struct amaml_tableau *amaml_tableau_at(size_t i);

/* dy/dt = f(t, y), y in R^dim. Returns 0 on success. A failing callback
 * (here and for observers) that returns a negative AMAML_E* status stops
 * the solve with that status and the message it recorded; any other
 * non-zero return stops it with AMAML_ECALLBACK. */
typedef int (*amaml_ode_rhs)(void *ctx, double t, const double *y, double *dydt);

/*
 * Called with each accepted state: step index k (0 for the initial state),
 * time t, state y, the step h just taken (0 for k = 0) and, if the solver was
 * asked for them, the stage derivatives K[stages][dim] of that step (NULL
 * otherwise or for k = 0). Pointers are valid only during the call. A
 * non-zero return stops the solve (see amaml_ode_rhs).
 */
typedef int (*amaml_ode_observer)(void *ctx, size_t k, double t, const double *y, double h,
                                  const double *stages);

struct amaml_ode;

/*
 * A solver for systems of dim equations with scheme tab. The handle keeps
 * the pointer tab (an exception to the borrowing rule above): tab must
 * outlive it, which the built-in tables do. NULL and a message if tab is
 * NULL or not an explicit scheme (a not strictly lower triangular, c[0] not
 * 0, fsal without a last row of a equal to b), dim is 0, or the scratch
 * memory ((stages + 3) dim doubles, allocated here once) overflows. The
 * scratch makes a handle single-threaded: give each thread its own.
 */
struct amaml_ode *amaml_ode_create(const struct amaml_tableau *tab, size_t dim);
void amaml_ode_free(struct amaml_ode *ode);
const struct amaml_tableau *amaml_ode_tableau(const struct amaml_ode *ode);
/* Whether observers receive the stage derivatives (default: no). */
void amaml_ode_set_keep_stages(struct amaml_ode *ode, int keep);

/* One step of size h from (t, y), y overwritten; err, if not NULL and the
 * scheme has an embedded pair, receives the difference of the two solutions,
 * h sum (b_i - bhat_i) K_i (left alone otherwise). h may be negative. Every
 * stage is evaluated (no fsal reuse across calls), yet the step from a state
 * (t, y) that a solver passed to its observer, with the h of the next call,
 * gives that call's y bit for bit, so checkpoints can be replayed. (One
 * exception: a fixed solve with an fsal scheme reuses f evaluated at
 * t_{k-1} + h, which can differ from t0 + k h in the last bit; it matters
 * only if f depends on t.) Fails with
 * AMAML_ECALLBACK if f fails and AMAML_ENONFINITE if the new state is not
 * finite; y and err are then unchanged. */
int amaml_ode_step(struct amaml_ode *ode, amaml_ode_rhs f, void *ctx, double t, double h,
                   double *y, double *err);

/* nsteps steps of size h > 0 from t0; y holds y(t0) and receives
 * y(t0 + nsteps h). obs may be NULL; it sees t_k = t0 + k h. AMAML_ECALLBACK
 * if f or obs returns non-zero, AMAML_ENONFINITE if a state is not finite.
 * Unlike the rule above, on failure y holds the last state that was accepted
 * (the one last given to obs, y(t0) if none) and the message names the step
 * and time. */
int amaml_ode_solve_fixed(struct amaml_ode *ode, amaml_ode_rhs f, void *ctx, double t0,
                          double h, size_t nsteps, double *y, amaml_ode_observer obs,
                          void *obs_ctx);

/* Error control for adaptive solves: a step is accepted when
 * max_i |err_i| / (atol + rtol max(|y_i|, |y_new_i|)) <= 1, with rtol, atol
 * >= 0 and not both 0. The next step is h min(5, max(0.2, 0.9 e^(-1/(q+1))))
 * for the error norm e and embedded order q, not growing right after a
 * rejection (Hairer, Norsett, Wanner I, II.4). The max norm is strict for
 * long vectors: every component must meet the tolerance. */
struct amaml_ode_control {
    double rtol, atol;
    double h0;        /* first trial step; 0 picks one */
    double hmin;      /* smallest step allowed before AMAML_ESTEP */
    double hmax;      /* largest step; 0 means t1 - t0 */
    size_t max_steps; /* accepted plus rejected; 0 means 100000 */
};

struct amaml_ode_stats {
    size_t accepted, rejected, evals;
};

/*
 * Adaptive solve from t0 to t1 > t0 (forward only) with a scheme that has
 * an embedded pair (AMAML_EINVAL otherwise); y holds y(t0) and receives
 * y(t1). The last step lands on t1 exactly. obs, if not NULL, sees each
 * accepted state: k counts accepted steps, h is the step just taken (use it,
 * not the difference of two times, to replay a step). stats may be NULL;
 * after valid arguments it receives the counts, also on failure (evals
 * counts every call of f, including the one or two that start the solve).
 * AMAML_ESTEP when h falls below hmin or to the rounding level of t (a
 * singularity or stiffness), or after max_steps attempts; AMAML_ECALLBACK
 * as for fixed solves. Unlike the rule above, on failure y holds the last
 * accepted state.
 */
int amaml_ode_solve_adaptive(struct amaml_ode *ode, amaml_ode_rhs f, void *ctx, double t0,
                             double t1, double *y, const struct amaml_ode_control *ctl,
                             amaml_ode_observer obs, void *obs_ctx,
                             struct amaml_ode_stats *stats);

/* ------------------------------------------------------ meta-gradients */

/*
 * The meta-gradient of one task: the derivative of the post-adaptation
 * query loss with respect to the initialization theta, through N inner
 * steps on the support set (see docs/method.md for the definitions).
 *
 * Methods, chosen by name:
 *   amaml    gradient flow du/dt = -grad L(u; support) - prox (u - theta),
 *            u(0) = theta, on [0, N h] with the forward scheme `solver`, then
 *            the continuous adjoint (backward scheme `backward` on the
 *            forward grid) or the discrete adjoint (the exact gradient of the
 *            discretized map). J = L(u(T); query) + prox/2 |u(T) - theta|^2.
 *   maml     N steps of gradient descent, exact second-order gradient (the
 *            discrete adjoint of Euler with prox 0).
 *   maml1    maml with one inner step.
 *   fomaml   N gradient steps; returns grad L(u_N; query).
 *   reptile  N gradient steps; returns theta - u_N.
 *   imaml    u* by N gradient steps on L(u; support) + lambda/2 |u - theta|^2,
 *            then ((1 + damping) I + H(u*)/lambda) x = grad L(u*; query) by
 *            cg_steps conjugate-gradient iterations from x = 0; returns x.
 * Only amaml uses solver, adjoint, backward and prox; the others take plain
 * gradient steps of size h, as they are defined.
 */
enum amaml_adjoint { AMAML_ADJOINT_CONTINUOUS, AMAML_ADJOINT_DISCRETE };

/* How forward states are kept for the backward pass. */
enum amaml_checkpoint {
    AMAML_CKPT_ALL,     /* every state: N + 1 states */
    AMAML_CKPT_EVERY,   /* every K-th state, a segment recomputed at a time */
    AMAML_CKPT_BINOMIAL /* binomial checkpointing (Revolve) with C slots */
};

struct amaml_meta_config {
    const char *method;   /* default "amaml" */
    const char *solver;   /* forward scheme, default "rk4" */
    enum amaml_adjoint adjoint;
    const char *backward; /* scheme of the continuous adjoint, default "euler" */
    size_t steps;         /* N, default 100 */
    double inner_lr;      /* h, default 0.01; the horizon is T = N h */
    double prox;          /* beta >= 0, default 0 */
    enum amaml_checkpoint checkpoint;
    size_t checkpoint_arg; /* K for EVERY, C >= 1 for BINOMIAL */
    double rtol, atol;     /* adaptive forward solves, default 1e-6 and 1e-9 */
    size_t cg_steps;       /* imaml, default 5 */
    double cg_damping;     /* imaml, default 0 */
    double imaml_lambda;   /* imaml, default 1 */
};

/* What a meta-gradient cost and found. */
struct amaml_meta_result {
    double loss;        /* the meta-objective J of the task */
    double dJdT;        /* horizon gradient a(T) . f(u(T)) (amaml, maml); else 0 */
    size_t grads;       /* gradient evaluations (each also gives the loss) */
    size_t hvps;        /* Hessian-vector products */
    size_t steps;       /* forward steps taken, recomputations included */
    size_t state_bytes; /* peak bytes held for trajectory states */
};

void amaml_meta_config_default(struct amaml_meta_config *cfg);
/* Parses "all", "every:K" or "binomial:C". */
int amaml_checkpoint_parse(const char *s, enum amaml_checkpoint *mode, size_t *arg);
/* The name and a one-line summary of the i-th method, NULL past the last. */
const char *amaml_method_name(size_t i);
const char *amaml_method_summary(size_t i);

struct amaml_meta;

/* Validates cfg (copied; its strings must stay valid) and allocates the
 * working memory for parameter vectors of nparam entries. */
struct amaml_meta *amaml_meta_create(const struct amaml_meta_config *cfg, size_t nparam);
void amaml_meta_free(struct amaml_meta *meta);
const struct amaml_meta_config *amaml_meta_get_config(const struct amaml_meta *meta);

/* Writes the meta-gradient of one task into grad (nparam) and, if res is
 * not NULL, what it cost. obj->nparam must equal the nparam of create. A
 * non-finite state or loss stops with AMAML_ENONFINITE and a message that
 * names the step. */
int amaml_meta_grad(struct amaml_meta *meta, const struct amaml_objective *obj,
                    const double *theta, const struct amaml_batch *support,
                    const struct amaml_batch *query, double *grad,
                    struct amaml_meta_result *res);

/* Adapts theta to the support set with the method's inner rule (amaml: the
 * flow with its solver and prox; imaml: gradient steps with the lambda
 * term; maml1: one step; the others: N gradient steps) and writes the
 * adapted parameters into u. */
int amaml_meta_adapt(struct amaml_meta *meta, const struct amaml_objective *obj,
                     const double *theta, const struct amaml_batch *support, double *u);

/* ------------------------------------------------------------ text I/O */

/* Reads whitespace-separated numbers from path into a new array (*out,
 * freed by the caller with free()) of *n entries. Errors name the file and
 * line of a malformed or non-finite number. */
int amaml_read_vector(const char *path, double **out, size_t *n);

/* Reads a CSV file of numbers with ncols values a line into a new
 * row-major array (*out, caller frees) of *nrows rows. Blank lines and lines
 * starting with '#' are skipped; Windows line endings are accepted. If lines
 * is not NULL it receives a new array (caller frees) of each row's line
 * number, for later messages. Errors name the file, line and field. */
int amaml_read_csv(const char *path, size_t ncols, double **out, size_t *nrows,
                   size_t **lines);

/* Writes n numbers, one a line with %.17g, atomically: to a temporary file
 * in the same directory, flushed, then renamed over path. */
int amaml_write_vector(const char *path, const double *v, size_t n);

/* -------------------------------------------------------- task families */

/*
 * A meta-data set: meta-train and meta-test tasks of one family, with all
 * inputs and targets standardized. Families:
 *   sinusoid, cosmixture, alpine  synthetic regression in dim >= 1 inputs:
 *       ntrain + ntest functions, each with a pool of `pool` support and
 *       `pool` query candidates and a test grid (docs/tasks.md);
 *   movielens (u.data), movielens1m (ratings.dat), jester (CSV)
 *       meta collaborative filtering, each user a task: support, query and
 *       test are drawn disjointly from the user's ratings.
 * Everything is drawn from the seed: the same seed, the same data set.
 */
struct amaml_taskset_config {
    const char *family;
    size_t dim;            /* input dimension of the synthetic families (1) */
    size_t shots, queries; /* support and query sizes of a task (50, 50) */
    uint64_t seed;         /* (1) */
    size_t ntrain, ntest;  /* tasks (100, 100); ratings: ntest users, rest train */
    size_t pool;           /* synthetic candidates per pool (1000) */
    const char *data;      /* path of a rating file (ratings families) */
    size_t features;       /* ratings: SVD embedding dimension (100) */
};

enum amaml_split { AMAML_TRAIN = 0, AMAML_TEST = 1 };

/* One drawn task, in buffers sized by amaml_task_alloc for its task set.
 * x arrays are n x din row-major, y arrays n. base, if the family has a
 * non-meta baseline (the item mean for ratings), is its prediction for each
 * test point, else NULL. */
struct amaml_task {
    struct amaml_batch support, query, test;
    const double *base;
};

struct amaml_taskset;

void amaml_taskset_config_default(struct amaml_taskset_config *cfg);
/* The name of the i-th family, NULL past the last (for listing). */
const char *amaml_family_name(size_t i);
struct amaml_taskset *amaml_taskset_create(const struct amaml_taskset_config *cfg);
void amaml_taskset_free(struct amaml_taskset *ts);
const struct amaml_taskset_config *amaml_taskset_get_config(const struct amaml_taskset *ts);
size_t amaml_taskset_din(const struct amaml_taskset *ts);
size_t amaml_taskset_count(const struct amaml_taskset *ts, enum amaml_split split);
/* The standard deviation of the raw targets: RMSE in the data's units is
 * this times the RMSE of standardized predictions (the nRMSE). */
double amaml_taskset_y_scale(const struct amaml_taskset *ts);
/* A one-line description (sizes, users left out, ...), owned by ts. */
const char *amaml_taskset_describe(const struct amaml_taskset *ts);

/* The most rows a support, query or test set of ts can have. */
size_t amaml_taskset_max_rows(const struct amaml_taskset *ts);
/* Buffers able to hold any task of ts; amaml_task_free accepts NULL. */
struct amaml_task *amaml_task_alloc(const struct amaml_taskset *ts);
void amaml_task_free(struct amaml_task *task);

/* Draws task `index` of split with rng: support and query always, the test
 * set for AMAML_TEST. ts is only read, so threads may draw at once, each
 * into its own task and with its own rng. */
int amaml_taskset_draw(const struct amaml_taskset *ts, enum amaml_split split, size_t index,
                       struct amaml_rng *rng, struct amaml_task *task);

/* -------------------------------------------------------- meta-training */

enum amaml_optimizer { AMAML_SGD, AMAML_ADAM };

struct amaml_train_config {
    size_t meta_batch;         /* tasks a meta-step (5) */
    enum amaml_optimizer opt;  /* meta-optimizer (SGD) */
    double meta_lr;            /* (0.01) */
    double adam_beta1, adam_beta2, adam_eps; /* (0.9, 0.999, 1e-8) */
    size_t meta_steps;         /* planned meta-steps (1000) */
    uint64_t seed;             /* initialization and task draws (1) */
};

void amaml_train_config_default(struct amaml_train_config *cfg);

/*
 * Everything a model file holds: the model, the task family it was trained
 * on, the method and training settings, and the training state (step,
 * random-number state, parameters, optimizer moments), so that a run can be
 * resumed exactly and evaluated without repeating its options. The string
 * fields of `task` and `meta` point into the char arrays of the struct.
 */
struct amaml_model {
    char arch[128], act[16], loss[8];
    char family[32], data[1024], method[16], solver[16], backward[16];
    struct amaml_taskset_config task;
    struct amaml_meta_config meta;
    struct amaml_train_config train;
    uint64_t step;
    struct amaml_rng rng;
    size_t nparam;
    double *theta; /* [nparam], owned */
    double *opt_m; /* [nparam] Adam moments (zeros for SGD), owned */
    double *opt_v;
};

/* Fills m from the settings, copying strings in; parameters stay NULL. */
int amaml_model_init(struct amaml_model *m, const struct amaml_mlp *mlp,
                     const struct amaml_taskset_config *task,
                     const struct amaml_meta_config *meta,
                     const struct amaml_train_config *train);
/* Writes m atomically (temporary file, flushed, renamed) with a CRC-32. */
int amaml_model_save(const struct amaml_model *m, const char *path);
/* Reads a model file; rejects another format version, a bad checksum, a
 * truncated file or counts that do not match the architecture, naming the
 * file and line. On failure m is left empty. */
int amaml_model_load(const char *path, struct amaml_model *m);
void amaml_model_clear(struct amaml_model *m);
/* The MLP a model file describes (amaml_mlp_free it). */
struct amaml_mlp *amaml_model_mlp(const struct amaml_model *m);

/* What one meta-step did. */
struct amaml_step_stats {
    uint64_t step;        /* meta-steps done after this one */
    double loss;          /* mean meta-loss over the meta-batch */
    double grad_norm;     /* norm of the averaged meta-gradient */
    double dJdT;          /* mean horizon gradient */
    size_t grads, hvps;   /* summed over the meta-batch */
    size_t state_bytes;   /* peak over the meta-batch's tasks */
};

struct amaml_trainer;

/*
 * A meta-training run on ts from the state in init: a fresh run if
 * init->theta is NULL (parameters drawn from train.seed), else a resumed
 * one. The tasks of a meta-batch run in parallel on up to `threads` OpenMP
 * threads (0: the OpenMP default); results do not depend on the number of
 * threads. ts is borrowed and must outlive the trainer.
 */
struct amaml_trainer *amaml_trainer_create(const struct amaml_model *init,
                                           const struct amaml_taskset *ts, int threads);
void amaml_trainer_free(struct amaml_trainer *tr);
/* One meta-step. On divergence (a non-finite loss or gradient) it returns
 * AMAML_ENONFINITE naming the meta-step and task, and leaves the state as
 * it was before the step. */
int amaml_trainer_step(struct amaml_trainer *tr, struct amaml_step_stats *stats);
/* The current state, valid until the next step; save it with
 * amaml_model_save. */
const struct amaml_model *amaml_trainer_model(const struct amaml_trainer *tr);

/* ---------------------------------------------------------- meta-testing */

/*
 * The meta-test protocol: for each meta-test task, draw its support set,
 * fine-tune from the initialization on it (full batch, Adam with weight
 * decay as in PyTorch, or SGD) and record the nRMSE on its test set every
 * `every` steps; also the nRMSE after the method's own inner rule. The same
 * for a random initialization, so that the gain of meta-learning shows.
 * Draws are seeded per task, so every initialization sees the same tasks.
 */
struct amaml_eval_config {
    size_t ntasks;        /* meta-test tasks used (0: all) */
    enum amaml_optimizer adapt; /* (Adam) */
    double adapt_lr;      /* (1e-3) */
    double weight_decay;  /* (1e-6), added to the gradient as L2 */
    size_t adapt_steps;   /* (1000) */
    size_t every;         /* curve resolution in steps (10) */
    uint64_t seed;        /* task draws and the random initialization (1) */
    int threads;          /* (0: the OpenMP default) */
};

struct amaml_stat {
    double mean, se; /* mean and its standard error over the tasks */
};

/* One initialization's results. */
struct amaml_eval_arm {
    size_t npoints;
    size_t *steps;           /* [npoints] 0, every, 2 every, ..., adapt_steps */
    struct amaml_stat *curve; /* [npoints] nRMSE */
    struct amaml_stat inner_rule;
};

struct amaml_eval_result {
    size_t ntasks;
    double y_scale;            /* RMSE in data units = nRMSE * y_scale */
    struct amaml_eval_arm meta, random_init;
    int has_baseline;          /* the family's non-meta baseline (ratings: item mean) */
    struct amaml_stat baseline;
};

void amaml_eval_config_default(struct amaml_eval_config *cfg);
/* Evaluates theta (the architecture of mlp; inner rule from meta) on the
 * meta-test tasks of ts. */
int amaml_eval_run(const struct amaml_mlp *mlp, const double *theta,
                   const struct amaml_meta_config *meta, const struct amaml_taskset *ts,
                   const struct amaml_eval_config *cfg, struct amaml_eval_result *out);
void amaml_eval_result_clear(struct amaml_eval_result *r);

/* ---------------------------------------------------------- rating data */

/*
 * Ratings read from a file as its publisher ships it. Layouts, by name:
 *   movielens    MovieLens 100K u.data: user, item, rating 1-5, timestamp,
 *                separated by tabs (Harper and Konstan 2015);
 *   movielens1m  MovieLens 1M ratings.dat: UserID::MovieID::Rating::Timestamp;
 *   jester       Jester-1 exported to CSV (Goldberg et al. 2001): a line per
 *                user, the count of jokes rated, then 100 ratings in
 *                [-10, 10] with 99 for "not rated", separated by commas
 *                and/or blanks. The count is not compared with the ratings.
 * Windows line endings, blank lines and a UTF-8 byte-order mark are
 * accepted. Ids become dense indices in ascending order of id (Jester: the
 * user id is the data line's number from 1, the item id the joke's 1-100),
 * and the ratings are grouped by user, each user's in file order.
 * The struct and its arrays belong to the library: read them, release them
 * with amaml_ratings_free.
 */
struct amaml_ratings {
    size_t n;           /* ratings */
    size_t nusers;      /* users with at least one rating */
    size_t nitems;      /* items with at least one rating */
    size_t *user;       /* [n] dense user index, nondecreasing */
    size_t *item;       /* [n] dense item index */
    double *rating;     /* [n] */
    size_t *user_start; /* [nusers + 1] user u's ratings: [user_start[u], user_start[u + 1]) */
    size_t *user_id;    /* [nusers] the id in the file of each user */
    size_t *item_id;    /* [nitems] the id in the file of each item */
    double min, max;    /* the layout's rating scale */
};

/* Reads path in layout into a new *out (left alone on failure).
 * AMAML_EINVAL for an unknown layout, AMAML_EIO if the file cannot be read,
 * AMAML_EFORMAT with file:line and the value for a malformed line (a field
 * that is not a number, too few or too many fields, a line of another
 * layout), a rating off the scale, a user rating an item twice, or a file
 * without ratings. */
int amaml_ratings_load(const char *path, const char *layout, struct amaml_ratings **out);
void amaml_ratings_free(struct amaml_ratings *r);

#ifdef __cplusplus
}
#endif

#endif /* AMAML_H */
