/*
 * mlp_kern.h - the MLP's matrix products for small layers (mlp_kern.c),
 * each fused with the elementwise work beside it in the passes of mlp.c.
 *
 * Every per-sample matrix is feature-major: one row per unit, one column
 * per sample, rows ld doubles apart, where ld is the batch size rounded up
 * to a multiple of MLP_KERN_LANES and every row spans all ld columns (the
 * padding columns are computed like the others). Weights are the model's,
 * W out x in row-major. A row of a per-sample matrix starts 32-byte aligned
 * if the matrix does.
 */
#ifndef AMAML_MODELS_MLP_KERN_H
#define AMAML_MODELS_MLP_KERN_H

#include <stddef.h>

#define MLP_KERN_LANES 4

/* Z[out][ld] = W[out][in] A[in][ld] + b[out] (b added to every column). */
void mlp_kern_affine(size_t out, size_t in, size_t ld, const double *W, const double *b,
                     const double *A, double *Z);

/* R(Z)[out][ld] = V A + c + W R(A): the R-operator of mlp_kern_affine along
 * (V, c), with A, R(A) in x ld; RA NULL means R(A) = 0. If d1 (out x ld) is
 * not NULL, also RN = d1 .* R(Z): the next layer's R(A) when d1 = act'(Z). */
void mlp_kern_raffine(size_t out, size_t in, size_t ld, const double *W, const double *V,
                      const double *c, const double *A, const double *RA, const double *d1,
                      double *RZ, double *RN);

/* gW[out][in] = D[out][ld] A[in][ld]^T and gb[out] = D 1: the weight and bias
 * gradients of a layer from its delta D. Sums over the columns run in
 * MLP_KERN_LANES interleaved partial sums, added pairwise at the end. */
void mlp_kern_wgrad(size_t out, size_t in, size_t ld, const double *D, const double *A, double *gW,
                    double *gb);

/* sum[out] = D[out][ld] 1, in the partial sums of mlp_kern_wgrad. */
void mlp_kern_rowsums(size_t out, size_t ld, const double *D, double *sum);

/* hW = RD A^T + D RA^T, hb = RD 1: the R-operator of mlp_kern_wgrad. */
void mlp_kern_rwgrad(size_t out, size_t in, size_t ld, const double *D, const double *RD,
                     const double *A, const double *RA, double *hW, double *hb);

/* P[in][ld] = (W^T D) .* d1: the delta of the layer below from D[out][ld],
 * with d1 = act'(Z) of that layer. */
void mlp_kern_back(size_t out, size_t in, size_t ld, const double *W, const double *D,
                   const double *d1, double *P);

/* With dA = W^T D and R(dA) = W^T RD + V^T D:
 *     P = dA .* d1,   RP = R(dA) .* d1 + dA .* d2 .* rz,
 * the delta of the layer below and its R-operator (d2 = act''(Z), rz = R(Z)). */
void mlp_kern_rback(size_t out, size_t in, size_t ld, const double *W, const double *V,
                    const double *D, const double *RD, const double *d1, const double *d2,
                    const double *rz, double *P, double *RP);

#endif
