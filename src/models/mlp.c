/*
 * mlp.c - the multilayer perceptron: forward pass, loss, gradient by
 * backpropagation and the exact Hessian-vector product by Pearlmutter's
 * R-operator (B. A. Pearlmutter, "Fast exact multiplication by the Hessian",
 * Neural Computation 6, 1994), i.e. forward-mode differentiation of the
 * backward pass along a direction v.
 *
 * Notation for a batch of n samples and layers l = 0 .. L-1 with widths
 * in = w[l], out = w[l+1], written per sample as columns:
 *     A_0 = X^T,  Z_l = W_l A_l + b_l,  A_{l+1} = act(Z_l) (hidden layers),
 *     output = Z_{L-1} (linear).
 * Backward: delta_l = dL/dZ_l, gW_l = delta_l A_l^T, gb_l = delta_l 1,
 *     dA_l = W_l^T delta_l, delta_{l-1} = dA_l .* act'(Z_{l-1}).
 * The R-pass differentiates every line above along v = (V_l, c_l), writing
 * R(.) for the directional derivative; each R-line sits beside the line it
 * differentiates.
 *
 * Per-sample matrices are kept feature-major, one row per unit and one
 * column per sample (the transpose of the batch's layout), with rows ld
 * apart, ld = n rounded up to MLP_KERN_LANES: every product then runs along
 * contiguous rows of samples, whatever the widths (mlp_kern.h). The padding
 * columns hold the network evaluated at input 0 (X^T's padding is zero) and
 * their deltas are exactly zero, so they add nothing to a gradient.
 * Products of small layers use the fused kernels of mlp_kern.c, large ones
 * CBLAS (prod_* below). Scratch memory belongs to the model and grows to the
 * largest batch seen, so no call allocates once warmed up.
 */
#include "core/error.h"
#include "models/act.h"
#include "models/mlp_kern.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Widths above this are refused: they would not fit any sensible memory and
 * keep the size arithmetic below far from overflow. */
#define MLP_MAX_WIDTH 1000000u
#define MLP_MAX_LAYERS 64u

struct amaml_mlp {
    size_t nw;       /* number of widths = layers + 1 */
    size_t *w;       /* [nw] */
    size_t *woff;    /* [nw - 1] offset of W_l in the parameter vector */
    size_t nparam;
    size_t maxw;     /* widest layer */
    enum amaml_act act;
    enum amaml_loss loss;

    /* scratch for cap samples; per-sample matrices are w x ld (see above) */
    size_t cap;
    double *mem;
    double **a;      /* [nw - 1] A_l, w[l] x ld (a[0]: X^T) */
    double **d1;     /* [nw - 1] act'(Z_{l-1}) for l >= 1, w[l] x ld */
    double **d2;     /* [nw - 1] act''(Z_{l-1}) for l >= 1, w[l] x ld */
    double **rz;     /* [nw - 1] R(Z_{l-1}) for l >= 1, w[l] x ld */
    double **ra;     /* [nw - 1] R(A_l) for l >= 1, w[l] x ld */
    double *out;     /* w[L] x ld network output Z_{L-1} */
    double *rout;    /* w[L] x ld R(Z_{L-1}) */
    double *delta[2], *rdelta[2]; /* maxw x ld, ping-pong buffers */
    double *prob;    /* n x w[L] softmax (cross-entropy), sample-major */
    double *gtmp;    /* [nparam] the gradient when an HVP caller wants none */
};

/* ------------------------------------------------------------ activations */

static const char *const act_names[] = {"tanh", "relu", "sigmoid", "softplus"};

const char *amaml_act_name(enum amaml_act act)
{
    return (unsigned)act < 4 ? act_names[act] : "?";
}

int amaml_act_parse(const char *name, enum amaml_act *act)
{
    for (int i = 0; i < 4; i++) {
        if (name && strcmp(name, act_names[i]) == 0) {
            *act = (enum amaml_act)i;
            return AMAML_OK;
        }
    }
    return amaml_fail(AMAML_EINVAL, "unknown activation '%s' (tanh, relu, sigmoid, softplus)",
                      name ? name : "(null)");
}

/* a = act(z) for m values (in place allowed), with the first and second
 * derivatives when d1, d2 are not NULL (act.c). */
static void act_eval(enum amaml_act act, size_t m, const double *z, double *a, double *d1,
                     double *d2)
{
    static void (*const kernels[])(size_t, const double *, double *, double *, double *) = {
        act_tanh, act_relu, act_sigmoid, act_softplus};

    kernels[act](m, z, a, d1, d2);
}

/* ---------------------------------------------------------- construction */

struct amaml_mlp *amaml_mlp_create(const size_t *widths, size_t nwidths, enum amaml_act act,
                                   enum amaml_loss loss)
{
    struct amaml_mlp *m;
    size_t np = 0;

    if (!widths || nwidths < 2 || nwidths > MLP_MAX_LAYERS + 1) {
        amaml_fail(AMAML_EINVAL, "an MLP needs 2 to %u widths, got %zu", MLP_MAX_LAYERS + 1,
                   nwidths);
        return NULL;
    }
    for (size_t i = 0; i < nwidths; i++) {
        if (widths[i] == 0 || widths[i] > MLP_MAX_WIDTH) {
            amaml_fail(AMAML_EINVAL, "width %zu of the MLP is %zu (must be 1 to %u)", i + 1,
                       widths[i], MLP_MAX_WIDTH);
            return NULL;
        }
    }
    if ((unsigned)act > AMAML_SOFTPLUS || (loss != AMAML_MSE && loss != AMAML_CE)) {
        amaml_fail(AMAML_EINVAL, "unknown activation or loss code");
        return NULL;
    }
    if (loss == AMAML_CE && widths[nwidths - 1] < 2) {
        amaml_fail(AMAML_EINVAL, "cross-entropy needs at least 2 outputs, got %zu",
                   widths[nwidths - 1]);
        return NULL;
    }

    m = calloc(1, sizeof *m);
    if (!m)
        goto nomem;
    m->nw = nwidths;
    m->act = act;
    m->loss = loss;
    m->w = malloc(nwidths * sizeof *m->w);
    m->woff = malloc(nwidths * sizeof *m->woff);
    m->a = calloc(nwidths, sizeof *m->a);
    m->d1 = calloc(nwidths, sizeof *m->d1);
    m->d2 = calloc(nwidths, sizeof *m->d2);
    m->rz = calloc(nwidths, sizeof *m->rz);
    m->ra = calloc(nwidths, sizeof *m->ra);
    if (!m->w || !m->woff || !m->a || !m->d1 || !m->d2 || !m->rz || !m->ra)
        goto nomem;
    memcpy(m->w, widths, nwidths * sizeof *m->w);
    for (size_t l = 0; l + 1 < nwidths; l++) {
        m->woff[l] = np;
        np += widths[l + 1] * (widths[l] + 1); /* widths <= 1e6: no overflow */
    }
    m->nparam = np;
    m->gtmp = malloc(np * sizeof *m->gtmp);
    if (!m->gtmp)
        goto nomem;
    for (size_t i = 0; i < nwidths; i++)
        m->maxw = widths[i] > m->maxw ? widths[i] : m->maxw;
    return m;

nomem:
    amaml_mlp_free(m);
    amaml_fail(AMAML_ENOMEM, "out of memory creating an MLP");
    return NULL;
}

struct amaml_mlp *amaml_mlp_parse(const char *arch, const char *act, enum amaml_loss loss)
{
    size_t w[MLP_MAX_LAYERS + 2];
    size_t n = 0;
    enum amaml_act a;
    const char *p = arch;

    if (!arch || !*arch) {
        amaml_fail(AMAML_EINVAL, "empty architecture (expected widths like 2-32-32-1)");
        return NULL;
    }
    while (*p) {
        char *end;
        unsigned long long v;

        if (*p < '0' || *p > '9' || n == MLP_MAX_LAYERS + 1)
            goto bad;
        v = strtoull(p, &end, 10);
        if (v == 0 || v > MLP_MAX_WIDTH) {
            amaml_fail(AMAML_EINVAL, "width %zu in architecture '%s' is %.*s (must be 1 to %u)",
                       n + 1, arch, (int)(end - p), p, MLP_MAX_WIDTH);
            return NULL;
        }
        w[n++] = (size_t)v;
        p = end;
        if (*p == '-' && p[1])
            p++;
        else if (*p)
            goto bad;
    }
    if (amaml_act_parse(act, &a) != AMAML_OK)
        return NULL;
    return amaml_mlp_create(w, n, a, loss);

bad:
    amaml_fail(AMAML_EINVAL, "bad architecture '%s' (expected 2 to %u widths like 2-32-32-1)",
               arch, MLP_MAX_LAYERS + 1);
    return NULL;
}

struct amaml_mlp *amaml_mlp_clone(const struct amaml_mlp *mlp)
{
    return amaml_mlp_create(mlp->w, mlp->nw, mlp->act, mlp->loss);
}

void amaml_mlp_free(struct amaml_mlp *mlp)
{
    if (!mlp)
        return;
    free(mlp->mem);
    free(mlp->w);
    free(mlp->woff);
    free(mlp->a);
    free(mlp->d1);
    free(mlp->d2);
    free(mlp->rz);
    free(mlp->ra);
    free(mlp->gtmp);
    free(mlp);
}

size_t amaml_mlp_nparam(const struct amaml_mlp *mlp)
{
    return mlp->nparam;
}

size_t amaml_mlp_nwidths(const struct amaml_mlp *mlp)
{
    return mlp->nw;
}

size_t amaml_mlp_width(const struct amaml_mlp *mlp, size_t i)
{
    return i < mlp->nw ? mlp->w[i] : 0;
}

enum amaml_act amaml_mlp_act(const struct amaml_mlp *mlp)
{
    return mlp->act;
}

enum amaml_loss amaml_mlp_loss(const struct amaml_mlp *mlp)
{
    return mlp->loss;
}

int amaml_mlp_arch_string(const struct amaml_mlp *mlp, char *buf, size_t size)
{
    size_t used = 0;

    for (size_t i = 0; i < mlp->nw; i++) {
        int k = snprintf(buf + used, size - used, i ? "-%zu" : "%zu", mlp->w[i]);

        if (k < 0 || (size_t)k >= size - used)
            return amaml_fail(AMAML_EINVAL, "buffer of %zu bytes too small for the "
                              "architecture string", size);
        used += (size_t)k;
    }
    return AMAML_OK;
}

void amaml_mlp_init(const struct amaml_mlp *mlp, struct amaml_rng *rng, double *theta)
{
    for (size_t l = 0; l + 1 < mlp->nw; l++) {
        size_t cnt = mlp->w[l + 1] * (mlp->w[l] + 1);
        double bound = 1.0 / sqrt((double)mlp->w[l]);
        double *p = theta + mlp->woff[l];

        for (size_t i = 0; i < cnt; i++)
            p[i] = bound * (2.0 * amaml_rng_uniform(rng) - 1.0);
    }
}

/* The row stride of per-sample matrices for a batch of n. */
static size_t mlp_ld(size_t n)
{
    return (n + MLP_KERN_LANES - 1) / MLP_KERN_LANES * MLP_KERN_LANES;
}

/* Grows the scratch memory to hold n samples; one block, views carved out,
 * aligned so that rows of per-sample matrices start on 32-byte boundaries. */
static int mlp_reserve(struct amaml_mlp *m, size_t n)
{
    size_t L = m->nw - 1, per = m->w[0], off = 0, ld, bytes;
    double *mem;

    if (n <= m->cap)
        return AMAML_OK;
    for (size_t l = 1; l < L; l++)
        per += 5 * m->w[l];          /* a, d1, d2, rz, ra */
    per += 3 * m->w[L] + 4 * m->maxw; /* out, rout, prob, delta x2, rdelta x2 */
    if (n > SIZE_MAX / sizeof(double) / per - 2 * MLP_KERN_LANES)
        return amaml_fail(AMAML_ENOMEM, "batch of %zu samples is too large", n);
    ld = mlp_ld(n);
    bytes = (ld * per * sizeof(double) + 63) / 64 * 64; /* aligned_alloc wants a multiple */
    mem = aligned_alloc(64, bytes);
    if (!mem)
        return amaml_fail(AMAML_ENOMEM, "out of memory for a batch of %zu samples", n);

    free(m->mem);
    m->mem = mem;
    m->cap = n;
    m->a[0] = mem + off, off += ld * m->w[0];
    for (size_t l = 1; l < L; l++) {
        m->a[l] = mem + off, off += ld * m->w[l];
        m->d1[l] = mem + off, off += ld * m->w[l];
        m->d2[l] = mem + off, off += ld * m->w[l];
        m->rz[l] = mem + off, off += ld * m->w[l];
        m->ra[l] = mem + off, off += ld * m->w[l];
    }
    m->out = mem + off, off += ld * m->w[L];
    m->rout = mem + off, off += ld * m->w[L];
    m->prob = mem + off, off += ld * m->w[L];
    for (int k = 0; k < 2; k++) {
        m->delta[k] = mem + off, off += ld * m->maxw;
        m->rdelta[k] = mem + off, off += ld * m->maxw;
    }
    return AMAML_OK;
}

/* ---------------------------------------------------------- the products */

/*
 * Each product of a layer with in x out weights over ld columns goes to the
 * kernels of mlp_kern.c when in * out * ld is at most MLP_BLAS_WORK, else to
 * CBLAS. Measured on an AMD Zen 3 against OpenBLAS 0.3.21 (one thread): the
 * kernels are 15-40% faster up to 1e5 (32 x 32 x 100), even at 2e5 (the
 * 40 x 100 layer at 48 samples, 64 x 64 x 52), and 10-40% slower from 4e5
 * (64 x 64 x 100, 128 x 128), where BLAS's fused multiply-adds and its cache
 * blocking pay for its fixed costs (checks, packing copies, beta scaling,
 * locks: microseconds a call). docs/performance.md, "MLP kernels".
 */
#ifndef MLP_BLAS_WORK
#define MLP_BLAS_WORK 2e5
#endif

static int use_blas(size_t out, size_t in, size_t ld)
{
    return (double)out * (double)in * (double)ld > MLP_BLAS_WORK;
}

/* Fills the rows of M[rows][ld] with v[row]. */
static void fill_rows(size_t rows, size_t ld, const double *v, double *M)
{
    for (size_t j = 0; j < rows; j++)
        for (size_t i = 0; i < ld; i++)
            M[j * ld + i] = v[j];
}

/* z = x .* y over m entries (the elementwise steps of the BLAS path); z may
 * be y. (gcc 12 vectorizes a loop of unknown length at -O2 only when told.) */
static void hadamard(size_t m, const double *x, const double *y, double *z)
{
#pragma omp simd
    for (size_t i = 0; i < m; i++)
        z[i] = x[i] * y[i];
}

/* Z = W A + b. */
static void prod_affine(size_t out, size_t in, size_t ld, const double *W, const double *b,
                        const double *A, double *Z)
{
    if (!use_blas(out, in, ld)) {
        mlp_kern_affine(out, in, ld, W, b, A, Z);
        return;
    }
    fill_rows(out, ld, b, Z);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)out, (int)ld, (int)in, 1.0, W,
                (int)in, A, (int)ld, 1.0, Z, (int)ld);
}

/* R(Z) = V A + c + W R(A), RA NULL meaning R(A) = 0 (the first layer);
 * with d1 not NULL also RN = d1 .* R(Z). */
static void prod_raffine(size_t out, size_t in, size_t ld, const double *W, const double *V,
                         const double *c, const double *A, const double *RA, const double *d1,
                         double *RZ, double *RN)
{
    if (!use_blas(out, in, ld)) {
        mlp_kern_raffine(out, in, ld, W, V, c, A, RA, d1, RZ, RN);
        return;
    }
    prod_affine(out, in, ld, V, c, A, RZ);
    if (RA)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)out, (int)ld, (int)in, 1.0,
                    W, (int)in, RA, (int)ld, 1.0, RZ, (int)ld);
    if (d1)
        hadamard(out * ld, d1, RZ, RN);
}

/* gW = D A^T, gb = D 1. */
static void prod_wgrad(size_t out, size_t in, size_t ld, const double *D, const double *A,
                       double *gW, double *gb)
{
    if (!use_blas(out, in, ld)) {
        mlp_kern_wgrad(out, in, ld, D, A, gW, gb);
        return;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)out, (int)in, (int)ld, 1.0, D,
                (int)ld, A, (int)ld, 0.0, gW, (int)in);
    mlp_kern_rowsums(out, ld, D, gb);
}

/* hW = RD A^T + D RA^T, hb = RD 1; RA NULL means R(A) = 0. */
static void prod_rwgrad(size_t out, size_t in, size_t ld, const double *D, const double *RD,
                        const double *A, const double *RA, double *hW, double *hb)
{
    if (!RA || use_blas(out, in, ld))
        prod_wgrad(out, in, ld, RD, A, hW, hb);
    else
        mlp_kern_rwgrad(out, in, ld, D, RD, A, RA, hW, hb);
    if (RA && use_blas(out, in, ld))
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)out, (int)in, (int)ld, 1.0,
                    D, (int)ld, RA, (int)ld, 1.0, hW, (int)in);
}

/* P = (W^T D) .* d1. */
static void prod_back(size_t out, size_t in, size_t ld, const double *W, const double *D,
                      const double *d1, double *P)
{
    if (!use_blas(out, in, ld)) {
        mlp_kern_back(out, in, ld, W, D, d1, P);
        return;
    }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)in, (int)ld, (int)out, 1.0, W,
                (int)in, D, (int)ld, 0.0, P, (int)ld);
    hadamard(in * ld, d1, P, P);
}

/* dA = W^T D, R(dA) = W^T RD + V^T D; P = dA .* d1,
 * RP = R(dA) .* d1 + dA .* d2 .* rz. */
static void prod_rback(size_t out, size_t in, size_t ld, const double *W, const double *V,
                       const double *D, const double *RD, const double *d1, const double *d2,
                       const double *rz, double *P, double *RP)
{
    if (!use_blas(out, in, ld)) {
        mlp_kern_rback(out, in, ld, W, V, D, RD, d1, d2, rz, P, RP);
        return;
    }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)in, (int)ld, (int)out, 1.0, W,
                (int)in, D, (int)ld, 0.0, P, (int)ld);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)in, (int)ld, (int)out, 1.0, W,
                (int)in, RD, (int)ld, 0.0, RP, (int)ld);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)in, (int)ld, (int)out, 1.0, V,
                (int)in, D, (int)ld, 1.0, RP, (int)ld);
#pragma omp simd
    for (size_t i = 0; i < in * ld; i++) {
        RP[i] = RP[i] * d1[i] + P[i] * d2[i] * rz[i];
        P[i] *= d1[i];
    }
}

/* ------------------------------------------------------------ the passes */

/* Forward pass over x (n x w[0], sample-major); keeps A_l and act', act''
 * for the backward and R passes (the second derivative only if want_d2). */
static void mlp_forward_pass(struct amaml_mlp *m, const double *theta, const double *x,
                             size_t n, int want_d2)
{
    size_t L = m->nw - 1, ld = mlp_ld(n), din = m->w[0];

    for (size_t k = 0; k < din; k++) { /* A_0 = X^T, zero padding */
        for (size_t i = 0; i < n; i++)
            m->a[0][k * ld + i] = x[i * din + k];
        for (size_t i = n; i < ld; i++)
            m->a[0][k * ld + i] = 0;
    }
    for (size_t l = 0; l < L; l++) {
        size_t in = m->w[l], out = m->w[l + 1];
        const double *W = theta + m->woff[l], *b = W + out * in;
        double *Z = l + 1 < L ? m->a[l + 1] : m->out;

        prod_affine(out, in, ld, W, b, m->a[l], Z);
        if (l + 1 < L)
            act_eval(m->act, out * ld, Z, Z, m->d1[l + 1], want_d2 ? m->d2[l + 1] : NULL);
    }
}

/* Checks that class labels are integers in [0, k). */
static int check_labels(const struct amaml_batch *b, size_t k)
{
    for (size_t i = 0; i < b->n; i++) {
        double y = b->y[i];

        if (!(y >= 0 && y < (double)k && y == floor(y)))
            return amaml_fail(AMAML_EINVAL, "sample %zu: class label %g is not an integer in "
                              "[0, %zu)", i + 1, y, k);
    }
    return AMAML_OK;
}

/* Zeroes the padding columns [n, ld) of M[rows][ld]. */
static void zero_padding(size_t rows, size_t n, size_t ld, double *M)
{
    for (size_t j = 0; j < rows; j++)
        for (size_t i = n; i < ld; i++)
            M[j * ld + i] = 0;
}

/* The loss of the output and delta = dL/dZ_{L-1} (k x ld, zero padding).
 * For cross-entropy the softmax is kept in m->prob for the R-pass. */
static double loss_and_delta(const struct amaml_mlp *m, const struct amaml_batch *b,
                             double *delta)
{
    size_t n = b->n, k = m->w[m->nw - 1], ld = mlp_ld(n);
    double sum = 0;

    zero_padding(k, n, ld, delta);
    if (m->loss == AMAML_MSE) {
        double scale = 1.0 / ((double)n * (double)k);

        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < k; j++) {
                double r = m->out[j * ld + i] - b->y[i * k + j];

                sum += r * r;
                delta[j * ld + i] = r * scale;
            }
        }
        return 0.5 * sum * scale;
    }
    for (size_t i = 0; i < n; i++) {
        double *p = m->prob + i * k, zmax = m->out[i], s = 0;
        size_t c = (size_t)b->y[i];

        for (size_t j = 1; j < k; j++)
            zmax = m->out[j * ld + i] > zmax ? m->out[j * ld + i] : zmax;
        for (size_t j = 0; j < k; j++)
            s += (p[j] = exp(m->out[j * ld + i] - zmax));
        for (size_t j = 0; j < k; j++) {
            p[j] /= s;
            delta[j * ld + i] = (p[j] - (j == c)) / (double)n;
        }
        sum += log(s) + zmax - m->out[c * ld + i];
    }
    return sum / (double)n;
}

/* Backward pass from delta at the output; writes grad (nparam). With the
 * R-pass inputs (v not NULL), also differentiates it along v into hv:
 * rdelta at the output must hold R(delta_{L-1}) and ra[l] the R(A_l). */
static void mlp_backward_pass(struct amaml_mlp *m, const double *theta, size_t n,
                              double *delta, double *rdelta, const double *v, double *grad,
                              double *hv)
{
    size_t L = m->nw - 1, ld = mlp_ld(n);
    int cur = 0;

    for (size_t l = L; l-- > 0;) {
        size_t in = m->w[l], out = m->w[l + 1];
        const double *W = theta + m->woff[l];
        double *gW = grad + m->woff[l], *gb = gW + out * in;
        double *P = m->delta[1 - cur], *RP = m->rdelta[1 - cur];

        /* gW = delta A^T, gb = delta 1 */
        prod_wgrad(out, in, ld, delta, m->a[l], gW, gb);
        if (v) { /* R(gW) = R(delta) A^T + delta R(A)^T; R(gb) = R(delta) 1 */
            double *hW = hv + m->woff[l], *hb = hW + out * in;

            prod_rwgrad(out, in, ld, delta, rdelta, m->a[l], l > 0 ? m->ra[l] : NULL, hW, hb);
        }
        if (l == 0)
            break;

        /* delta_{l-1} = (W^T delta) .* act'(Z_{l-1}), and with v
         * R(delta_{l-1}) = R(dA) .* act' + dA .* act'' .* R(Z_{l-1}),
         * R(dA) = W^T R(delta) + V^T delta */
        if (v)
            prod_rback(out, in, ld, W, v + m->woff[l], delta, rdelta, m->d1[l], m->d2[l],
                       m->rz[l], P, RP);
        else
            prod_back(out, in, ld, W, delta, m->d1[l], P);
        delta = P;
        rdelta = RP;
        cur = 1 - cur;
    }
}

/* The R-forward pass along v: R(Z_l) = W_l R(A_l) + V_l A_l + c_l, and
 * R(A_{l+1}) = act'(Z_l) .* R(Z_l); R(A_0) = 0 since the data do not
 * depend on the parameters. Needs the forward pass done. */
static void mlp_rforward_pass(struct amaml_mlp *m, const double *theta, const double *v,
                              size_t n)
{
    size_t L = m->nw - 1, ld = mlp_ld(n);

    for (size_t l = 0; l < L; l++) {
        size_t in = m->w[l], out = m->w[l + 1];
        const double *W = theta + m->woff[l];
        const double *V = v + m->woff[l], *c = V + out * in;
        double *RZ = l + 1 < L ? m->rz[l + 1] : m->rout;

        prod_raffine(out, in, ld, W, V, c, m->a[l], l > 0 ? m->ra[l] : NULL,
                     l + 1 < L ? m->d1[l + 1] : NULL, RZ, m->ra[l + 1]);
    }
}

/* R(delta) at the output (k x ld, zero padding). MSE: R(out) / (n k).
 * Cross-entropy, per sample: d(softmax)/dz applied to R(z), i.e.
 * p .* (R(z) - p . R(z)), over n. */
static void loss_rdelta(const struct amaml_mlp *m, size_t n, double *rdelta)
{
    size_t k = m->w[m->nw - 1], ld = mlp_ld(n);

    zero_padding(k, n, ld, rdelta);
    if (m->loss == AMAML_MSE) {
        double scale = 1.0 / ((double)n * (double)k);

        for (size_t j = 0; j < k; j++)
            for (size_t i = 0; i < n; i++)
                rdelta[j * ld + i] = m->rout[j * ld + i] * scale;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const double *p = m->prob + i * k;
        double dot = 0;

        for (size_t j = 0; j < k; j++)
            dot += p[j] * m->rout[j * ld + i];
        for (size_t j = 0; j < k; j++)
            rdelta[j * ld + i] = p[j] * (m->rout[j * ld + i] - dot) / (double)n;
    }
}

static int check_batch(struct amaml_mlp *m, const struct amaml_batch *b)
{
    if (!b || !b->x || !b->y || b->n == 0)
        return amaml_fail(AMAML_EINVAL, "empty or NULL batch");
    if (m->loss == AMAML_CE && check_labels(b, m->w[m->nw - 1]) != AMAML_OK)
        return AMAML_EINVAL;
    return mlp_reserve(m, b->n);
}

int amaml_mlp_forward(struct amaml_mlp *mlp, const double *theta, const double *x, size_t n,
                      double *out)
{
    size_t k = mlp->w[mlp->nw - 1], ld = mlp_ld(n);
    int rc;

    if (!theta || !x || !out || n == 0)
        return amaml_fail(AMAML_EINVAL, "amaml_mlp_forward: NULL array or no samples");
    if ((rc = mlp_reserve(mlp, n)) != AMAML_OK)
        return rc;
    mlp_forward_pass(mlp, theta, x, n, 0);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < k; j++)
            out[i * k + j] = mlp->out[j * ld + i];
    return AMAML_OK;
}

int amaml_mlp_grad(struct amaml_mlp *mlp, const double *theta, const struct amaml_batch *batch,
                   double *loss, double *grad)
{
    double val;
    int rc;

    if (!theta)
        return amaml_fail(AMAML_EINVAL, "amaml_mlp_grad: NULL parameters");
    if ((rc = check_batch(mlp, batch)) != AMAML_OK)
        return rc;

    mlp_forward_pass(mlp, theta, batch->x, batch->n, 0);
    val = loss_and_delta(mlp, batch, mlp->delta[0]);
    if (grad)
        mlp_backward_pass(mlp, theta, batch->n, mlp->delta[0], NULL, NULL, grad, NULL);
    if (loss)
        *loss = val;
    return AMAML_OK;
}

int amaml_mlp_hvp(struct amaml_mlp *mlp, const double *theta, const struct amaml_batch *batch,
                  const double *v, double *hv, double *grad)
{
    double *g = grad ? grad : mlp->gtmp;
    int rc;

    if (!theta || !v || !hv)
        return amaml_fail(AMAML_EINVAL, "amaml_mlp_hvp: NULL array");
    if ((rc = check_batch(mlp, batch)) != AMAML_OK)
        return rc;

    mlp_forward_pass(mlp, theta, batch->x, batch->n, 1);
    loss_and_delta(mlp, batch, mlp->delta[0]);
    mlp_rforward_pass(mlp, theta, v, batch->n);
    loss_rdelta(mlp, batch->n, mlp->rdelta[0]);
    mlp_backward_pass(mlp, theta, batch->n, mlp->delta[0], mlp->rdelta[0], v, g, hv);
    return AMAML_OK;
}

/* ------------------------------------------------------------ flop count */

/* Flops of one activation value per unit and sample (amaml.h). */
static double act_flops(enum amaml_act act)
{
    static const double per_unit[] = {40, 1, 40, 80}; /* tanh, relu, sigmoid, softplus */

    return per_unit[act];
}

/*
 * The terms, per layer of in x out with N = n samples (hidden: the layer has
 * an activation after it; l > 0: it is not the first layer):
 *   forward   Z 2 N in out; hidden: act N out (act + 2), HVP also act'' 2 N out
 *   loss      MSE 4 N k (residual, square-add, scale); CE per entry 45
 *             (shift, exp, sum, division, delta 2), per sample 42 (log, 2)
 *   backward  gW 2 N in out, gb N out; l > 0: dA 2 N in out, .* act' N in
 *   R-forward A V^T 2 N in out; l > 0: R(A) W^T 2 N in out; hidden: N out
 *   R-loss    MSE N k; CE 5 N k
 *   R-backward R(gW) 2 N in out, l > 0: 2 N in out more; R(gb) N out;
 *             l > 0: R(dA) 4 N in out, R(delta) 4 N in
 */
void amaml_mlp_flops(const struct amaml_mlp *mlp, size_t n, double *grad_flops,
                     double *hvp_flops)
{
    size_t L = mlp->nw - 1;
    double N = (double)n, k = (double)mlp->w[L], g = 0, h = 0;

    for (size_t l = 0; l < L; l++) {
        double in = (double)mlp->w[l], out = (double)mlp->w[l + 1], mac = 2 * N * in * out;
        int hidden = l + 1 < L, inner = l > 0;

        g += mac + (hidden ? N * out * (act_flops(mlp->act) + 2) : 0);
        g += mac + N * out + (inner ? mac + N * in : 0);
        h += hidden ? 2 * N * out : 0;
        h += mac + (inner ? mac : 0) + (hidden ? N * out : 0);
        h += mac + (inner ? mac : 0) + N * out + (inner ? 2 * mac + 4 * N * in : 0);
    }
    if (mlp->loss == AMAML_MSE) {
        g += 4 * N * k;
        h += N * k;
    } else {
        g += 45 * N * k + 42 * N;
        h += 5 * N * k;
    }
    if (grad_flops)
        *grad_flops = g;
    if (hvp_flops)
        *hvp_flops = g + h;
}

/* --------------------------------------------------- the objective view */

static int mlp_obj_grad(void *ctx, const double *u, const struct amaml_batch *batch,
                        double *loss, double *grad)
{
    return amaml_mlp_grad(ctx, u, batch, loss, grad);
}

static int mlp_obj_hvp(void *ctx, const double *u, const struct amaml_batch *batch,
                       const double *v, double *hv, double *grad)
{
    return amaml_mlp_hvp(ctx, u, batch, v, hv, grad);
}

struct amaml_objective amaml_mlp_objective(struct amaml_mlp *mlp)
{
    struct amaml_objective obj = {mlp->nparam, mlp, mlp_obj_grad, mlp_obj_hvp};

    return obj;
}
