/*
 * mlp_kern.c - the matrix products of the MLP's passes for small layers
 * (32-unit layers, 10-100 samples), where a BLAS call costs more in its
 * overhead (argument checks, packing copies, scaling by beta, locks) than in
 * its arithmetic. Layout and shapes: mlp_kern.h; measurements:
 * docs/performance.md, "MLP kernels".
 *
 * Each product is cut into register tiles: a few rows of the result by one
 * or two vectors of 4 columns, whose accumulators stay in registers while the
 * shared dimension streams through. The vectors are GCC's generic vector
 * extension (no target intrinsics): gcc maps them to AVX2 registers in the
 * AVX2 clone and to pairs of SSE2 registers in the baseline one, and
 * `#pragma GCC unroll` flattens the loops over a tile so that the
 * accumulators are registers. (Plain loops left to the vectorizer gave the
 * same code only by luck: one `restrict` more turned a tile back to scalar
 * code.) The functions are compiled for AVX2 and for the baseline and chosen
 * when the library loads, as in act.c.
 *
 * Results do not depend on the clone: a vector operation is the same
 * operation on each lane, every sum runs in a fixed order (a lane holds one
 * column, or one of MLP_KERN_LANES interleaved partial sums that are added
 * pairwise at the end), and multiplies and adds stay separate (the Makefile
 * compiles this file with -ffp-contract=off, so no clone fuses them).
 */
#include "models/mlp_kern.h"

#include <string.h>

#if !defined(__GNUC__)
#error "mlp_kern.c needs GCC's vector extension (gcc or clang)"
#endif

#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define KERN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define KERN_CLONES
#endif

#define KERN_TILE static inline __attribute__((always_inline))

/* MLP_KERN_LANES doubles, the width of an AVX2 register. Loads and stores
 * go through memcpy, which compiles to unaligned vector moves. */
typedef double vd __attribute__((vector_size(MLP_KERN_LANES * sizeof(double))));

#define NL MLP_KERN_LANES
#define VLOAD(v, p) memcpy(&(v), (p), sizeof(vd))
#define VSTORE(p, v) memcpy((p), &(v), sizeof(vd))
#define TR 4 /* rows of a register tile */
#define TV 2 /* vectors of columns of a tile; the last tile of a row may have 1 */

/* ------------------------------------------------- Z = W A + b, forward */

/* Rows [0, R) and vectors of columns [0, C) of Z = W A + b. */
KERN_TILE void affine_tile(int R, int C, size_t in, size_t ld, const double *restrict W,
                           const double *restrict b, const double *restrict A, double *restrict Z)
{
    vd acc[TR][TV], x[TV];

#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int t = 0; t < C; t++)
            acc[r][t] = (vd){0} + b[r];
    for (size_t k = 0; k < in; k++) {
#pragma GCC unroll 2
        for (int t = 0; t < C; t++)
            VLOAD(x[t], A + k * ld + (size_t)t * NL);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            double w = W[(size_t)r * in + k];

#pragma GCC unroll 2
            for (int t = 0; t < C; t++)
                acc[r][t] += w * x[t];
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int t = 0; t < C; t++)
            VSTORE(Z + (size_t)r * ld + (size_t)t * NL, acc[r][t]);
}

KERN_TILE void affine_rows(int R, size_t in, size_t ld, const double *W, const double *b,
                           const double *A, double *Z)
{
    size_t i = 0;

    for (; i + TV * NL <= ld; i += TV * NL)
        affine_tile(R, TV, in, ld, W, b, A + i, Z + i);
    if (i < ld)
        affine_tile(R, 1, in, ld, W, b, A + i, Z + i);
}

KERN_CLONES
void mlp_kern_affine(size_t out, size_t in, size_t ld, const double *W, const double *b,
                     const double *A, double *Z)
{
    size_t j = 0;

    for (; j + TR <= out; j += TR)
        affine_rows(TR, in, ld, W + j * in, b + j, A, Z + j * ld);
    for (; j < out; j++)
        affine_rows(1, in, ld, W + j * in, b + j, A, Z + j * ld);
}

/* ------------------------------------- R(Z) = V A + c + W R(A), R-forward */

/* With has_ra 0, R(A) = 0 (the first layer) and RA is not read; with d1
 * not NULL the epilogue also writes RN = d1 .* R(Z), the next layer's R(A). */
KERN_TILE void raffine_tile(int R, int C, int has_ra, size_t in, size_t ld,
                            const double *restrict W, const double *restrict V,
                            const double *restrict c, const double *restrict A,
                            const double *restrict RA, const double *restrict d1,
                            double *restrict RZ, double *restrict RN)
{
    vd acc[TR][TV], x[TV], rx[TV], f;

#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int t = 0; t < C; t++)
            acc[r][t] = (vd){0} + c[r];
    for (size_t k = 0; k < in; k++) {
#pragma GCC unroll 2
        for (int t = 0; t < C; t++) {
            VLOAD(x[t], A + k * ld + (size_t)t * NL);
            if (has_ra)
                VLOAD(rx[t], RA + k * ld + (size_t)t * NL);
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            double v = V[(size_t)r * in + k], w = W[(size_t)r * in + k];

#pragma GCC unroll 2
            for (int t = 0; t < C; t++) {
                acc[r][t] += v * x[t];
                if (has_ra)
                    acc[r][t] += w * rx[t];
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int t = 0; t < C; t++) {
            size_t p = (size_t)r * ld + (size_t)t * NL;

            VSTORE(RZ + p, acc[r][t]);
            if (d1) {
                VLOAD(f, d1 + p);
                acc[r][t] *= f;
                VSTORE(RN + p, acc[r][t]);
            }
        }
}

KERN_TILE void raffine_rows(int R, int has_ra, size_t in, size_t ld, const double *W,
                            const double *V, const double *c, const double *A, const double *RA,
                            const double *d1, double *RZ, double *RN)
{
    size_t i = 0;

    for (; i + TV * NL <= ld; i += TV * NL)
        raffine_tile(R, TV, has_ra, in, ld, W, V, c, A + i, RA + i, d1 ? d1 + i : NULL, RZ + i,
                     d1 ? RN + i : NULL);
    if (i < ld)
        raffine_tile(R, 1, has_ra, in, ld, W, V, c, A + i, RA + i, d1 ? d1 + i : NULL, RZ + i,
                     d1 ? RN + i : NULL);
}

KERN_TILE void raffine_all(int has_ra, size_t out, size_t in, size_t ld, const double *W,
                           const double *V, const double *c, const double *A, const double *RA,
                           const double *d1, double *RZ, double *RN)
{
    size_t j = 0;

    for (; j + TR <= out; j += TR)
        raffine_rows(TR, has_ra, in, ld, W + j * in, V + j * in, c + j, A, RA,
                     d1 ? d1 + j * ld : NULL, RZ + j * ld, d1 ? RN + j * ld : NULL);
    for (; j < out; j++)
        raffine_rows(1, has_ra, in, ld, W + j * in, V + j * in, c + j, A, RA,
                     d1 ? d1 + j * ld : NULL, RZ + j * ld, d1 ? RN + j * ld : NULL);
}

KERN_CLONES
void mlp_kern_raffine(size_t out, size_t in, size_t ld, const double *W, const double *V,
                      const double *c, const double *A, const double *RA, const double *d1,
                      double *RZ, double *RN)
{
    if (RA)
        raffine_all(1, out, in, ld, W, V, c, A, RA, d1, RZ, RN);
    else
        raffine_all(0, out, in, ld, W, V, c, A, A, d1, RZ, RN);
}

/* ------------------------------------------ gW = D A^T, gb = D 1, backward */

/* The lanes of a partial-sum vector, added pairwise: the same on every
 * clone. (A macro: a vector argument would trip gcc's ABI note, -Wpsabi.) */
#define LANES_SUM(s) (((s)[0] + (s)[1]) + ((s)[2] + (s)[3]))

#if defined(__clang__)
#define SHUFFLE(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#else
typedef long long vi __attribute__((vector_size(MLP_KERN_LANES * sizeof(long long))));
#define SHUFFLE(a, b, i, j, k, l) __builtin_shuffle(a, b, (vi){i, j, k, l})
#endif

/* o = {LANES_SUM(a), LANES_SUM(b), LANES_SUM(c), LANES_SUM(d)}, the same
 * sums in the same order, with 6 vector operations instead of 12 scalar. */
#define LANES_SUM4(a, b, c, d, o)                                                                  \
    do {                                                                                           \
        vd ab_ = SHUFFLE(a, b, 0, 4, 2, 6) + SHUFFLE(a, b, 1, 5, 3, 7);                            \
        vd cd_ = SHUFFLE(c, d, 0, 4, 2, 6) + SHUFFLE(c, d, 1, 5, 3, 7);                            \
        (o) = SHUFFLE(ab_, cd_, 0, 1, 4, 5) + SHUFFLE(ab_, cd_, 2, 3, 6, 7);                       \
    } while (0)

/* Stores the S <= 4 sums of acc[0..S) at g (S a constant: the tests fold). */
#define STORE_SUMS(S, acc, g)                                                                      \
    do {                                                                                           \
        if ((S) == 4) {                                                                            \
            vd o_;                                                                                 \
                                                                                                   \
            LANES_SUM4((acc)[0], (acc)[1], (acc)[2], (acc)[3], o_);                                \
            VSTORE(g, o_);                                                                         \
        } else {                                                                                   \
            if ((S) > 0)                                                                           \
                (g)[0] = LANES_SUM((acc)[0]);                                                      \
            if ((S) > 1)                                                                           \
                (g)[1] = LANES_SUM((acc)[1]);                                                      \
            if ((S) > 2)                                                                           \
                (g)[2] = LANES_SUM((acc)[2]);                                                      \
        }                                                                                          \
    } while (0)

/* gW[r][s] for rows [0, R) of D and [0, S) of A: dot products over all ld
 * columns, lane t summing the columns i = t mod NL. */
KERN_TILE void wgrad_tile(int R, int S, size_t in, size_t ld, const double *restrict D,
                          const double *restrict A, double *restrict gW)
{
    vd acc[3][4], d[3], a[4];

#pragma GCC unroll 3
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int s = 0; s < S; s++)
            acc[r][s] = (vd){0};
    for (size_t i = 0; i < ld; i += NL) {
#pragma GCC unroll 3
        for (int r = 0; r < R; r++)
            VLOAD(d[r], D + (size_t)r * ld + i);
#pragma GCC unroll 4
        for (int s = 0; s < S; s++)
            VLOAD(a[s], A + (size_t)s * ld + i);
#pragma GCC unroll 3
        for (int r = 0; r < R; r++)
#pragma GCC unroll 4
            for (int s = 0; s < S; s++)
                acc[r][s] += d[r] * a[s];
    }
#pragma GCC unroll 3
    for (int r = 0; r < R; r++)
        STORE_SUMS(S, acc[r], gW + (size_t)r * in);
}

/* Rows [0, R) of D against every row of A. */
KERN_TILE void wgrad_rows(int R, size_t in, size_t ld, const double *D, const double *A, double *gW)
{
    size_t k = 0;

    for (; k + 4 <= in; k += 4)
        wgrad_tile(R, 4, in, ld, D, A + k * ld, gW + k);
    for (; k < in; k++)
        wgrad_tile(R, 1, in, ld, D, A + k * ld, gW + k);
}

/* The row sums of rows [0, R) of D, in lanes as above. R rows at once keep
 * R additions in flight: one row alone waits on the latency of each add. */
KERN_TILE void row_sums_tile(int R, size_t ld, const double *restrict D, double *restrict sum)
{
    vd acc[4], d;

#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        acc[r] = (vd){0};
    for (size_t i = 0; i < ld; i += NL)
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            VLOAD(d, D + (size_t)r * ld + i);
            acc[r] += d;
        }
    STORE_SUMS(R, acc, sum);
}

KERN_TILE void row_sums(size_t out, size_t ld, const double *restrict D, double *restrict sum)
{
    size_t j = 0;

    for (; j + 4 <= out; j += 4)
        row_sums_tile(4, ld, D + j * ld, sum + j);
    for (; j < out; j++)
        row_sums_tile(1, ld, D + j * ld, sum + j);
}

KERN_CLONES
void mlp_kern_rowsums(size_t out, size_t ld, const double *D, double *sum)
{
    row_sums(out, ld, D, sum);
}

/* Tiles of 3 rows of D by 4 of A: 12 accumulators, the most that fit in
 * the 16 AVX2 registers beside the loaded rows (measured best of 4 x 2,
 * 2 x 4, 4 x 3, 3 x 3 and 3 x 4).
 * TODO: for a wide first layer with few samples (collaborative filtering:
 * 100 inputs, 10-45 samples) the short dot products spend much of their time
 * in lane reductions; gW_0 = D_0 X from the caller's sample-major X, vectors
 * along the inputs, would have none, but needs a kernel with a column tail. */
KERN_CLONES
void mlp_kern_wgrad(size_t out, size_t in, size_t ld, const double *D, const double *A, double *gW,
                    double *gb)
{
    size_t j = 0;

    for (; j + 3 <= out; j += 3)
        wgrad_rows(3, in, ld, D + j * ld, A, gW + j * in);
    if (j + 2 == out)
        wgrad_rows(2, in, ld, D + j * ld, A, gW + j * in);
    else if (j + 1 == out)
        wgrad_rows(1, in, ld, D + j * ld, A, gW + j * in);
    row_sums(out, ld, D, gb);
}

/* ----------------------------- hW = RD A^T + D RA^T, hb = RD 1, R-backward */

KERN_TILE void rwgrad_tile(int R, int S, size_t in, size_t ld, const double *restrict D,
                           const double *restrict RD, const double *restrict A,
                           const double *restrict RA, double *restrict hW)
{
    vd acc[2][4], d[2], rd[2], a, ra;

#pragma GCC unroll 2
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int s = 0; s < S; s++)
            acc[r][s] = (vd){0};
    for (size_t i = 0; i < ld; i += NL) {
#pragma GCC unroll 2
        for (int r = 0; r < R; r++) {
            VLOAD(d[r], D + (size_t)r * ld + i);
            VLOAD(rd[r], RD + (size_t)r * ld + i);
        }
#pragma GCC unroll 4
        for (int s = 0; s < S; s++) {
            VLOAD(a, A + (size_t)s * ld + i);
            VLOAD(ra, RA + (size_t)s * ld + i);
#pragma GCC unroll 2
            for (int r = 0; r < R; r++) {
                acc[r][s] += rd[r] * a;
                acc[r][s] += d[r] * ra;
            }
        }
    }
#pragma GCC unroll 2
    for (int r = 0; r < R; r++)
        STORE_SUMS(S, acc[r], hW + (size_t)r * in);
}

KERN_TILE void rwgrad_rows(int R, size_t in, size_t ld, const double *D, const double *RD,
                           const double *A, const double *RA, double *hW)
{
    size_t k = 0;

    for (; k + 4 <= in; k += 4)
        rwgrad_tile(R, 4, in, ld, D, RD, A + k * ld, RA + k * ld, hW + k);
    for (; k < in; k++)
        rwgrad_tile(R, 1, in, ld, D, RD, A + k * ld, RA + k * ld, hW + k);
}

/* Tiles of 2 rows of D by 4 of A (the two deltas double the rows held). */
KERN_CLONES
void mlp_kern_rwgrad(size_t out, size_t in, size_t ld, const double *D, const double *RD,
                     const double *A, const double *RA, double *hW, double *hb)
{
    size_t j = 0;

    for (; j + 2 <= out; j += 2)
        rwgrad_rows(2, in, ld, D + j * ld, RD + j * ld, A, RA, hW + j * in);
    if (j < out)
        rwgrad_rows(1, in, ld, D + j * ld, RD + j * ld, A, RA, hW + j * in);
    row_sums(out, ld, RD, hb);
}

/* ------------------------------------- P = (W^T D) .* act', backward */

/* Rows [0, R) of P from columns [0, R) of W (W's column k at W + k). */
KERN_TILE void back_tile(int R, int C, size_t out, size_t in, size_t ld, const double *restrict W,
                         const double *restrict D, const double *restrict d1, double *restrict P)
{
    vd acc[TR][TV], x[TV], f;

#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int t = 0; t < C; t++)
            acc[r][t] = (vd){0};
    for (size_t j = 0; j < out; j++) {
#pragma GCC unroll 2
        for (int t = 0; t < C; t++)
            VLOAD(x[t], D + j * ld + (size_t)t * NL);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            double w = W[j * in + (size_t)r];

#pragma GCC unroll 2
            for (int t = 0; t < C; t++)
                acc[r][t] += w * x[t];
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int t = 0; t < C; t++) {
            size_t p = (size_t)r * ld + (size_t)t * NL;

            VLOAD(f, d1 + p);
            acc[r][t] *= f;
            VSTORE(P + p, acc[r][t]);
        }
}

KERN_TILE void back_rows(int R, size_t out, size_t in, size_t ld, const double *W, const double *D,
                         const double *d1, double *P)
{
    size_t i = 0;

    for (; i + TV * NL <= ld; i += TV * NL)
        back_tile(R, TV, out, in, ld, W, D + i, d1 + i, P + i);
    if (i < ld)
        back_tile(R, 1, out, in, ld, W, D + i, d1 + i, P + i);
}

KERN_CLONES
void mlp_kern_back(size_t out, size_t in, size_t ld, const double *W, const double *D,
                   const double *d1, double *P)
{
    size_t k = 0;

    for (; k + TR <= in; k += TR)
        back_rows(TR, out, in, ld, W + k, D, d1 + k * ld, P + k * ld);
    for (; k < in; k++)
        back_rows(1, out, in, ld, W + k, D, d1 + k * ld, P + k * ld);
}

/* ---------------- P = dA .* act', RP = R(dA) .* act' + dA .* act'' .* R(Z) */

/* Two accumulators per entry (dA and R(dA)), so tiles of 2 rows. */
KERN_TILE void rback_tile(int R, int C, size_t out, size_t in, size_t ld, const double *restrict W,
                          const double *restrict V, const double *restrict D,
                          const double *restrict RD, const double *restrict d1,
                          const double *restrict d2, const double *restrict rz, double *restrict P,
                          double *restrict RP)
{
    vd acc[2][TV], racc[2][TV], x[TV], rx[TV], f1, f2, z;

#pragma GCC unroll 2
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int t = 0; t < C; t++)
            acc[r][t] = racc[r][t] = (vd){0};
    for (size_t j = 0; j < out; j++) {
#pragma GCC unroll 2
        for (int t = 0; t < C; t++) {
            VLOAD(x[t], D + j * ld + (size_t)t * NL);
            VLOAD(rx[t], RD + j * ld + (size_t)t * NL);
        }
#pragma GCC unroll 2
        for (int r = 0; r < R; r++) {
            double w = W[j * in + (size_t)r], v = V[j * in + (size_t)r];

#pragma GCC unroll 2
            for (int t = 0; t < C; t++) {
                acc[r][t] += w * x[t];
                racc[r][t] += w * rx[t];
                racc[r][t] += v * x[t];
            }
        }
    }
#pragma GCC unroll 2
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int t = 0; t < C; t++) {
            size_t p = (size_t)r * ld + (size_t)t * NL;

            VLOAD(f1, d1 + p);
            VLOAD(f2, d2 + p);
            VLOAD(z, rz + p);
            racc[r][t] = racc[r][t] * f1 + acc[r][t] * f2 * z;
            acc[r][t] *= f1;
            VSTORE(P + p, acc[r][t]);
            VSTORE(RP + p, racc[r][t]);
        }
}

KERN_TILE void rback_rows(int R, size_t out, size_t in, size_t ld, const double *W, const double *V,
                          const double *D, const double *RD, const double *d1, const double *d2,
                          const double *rz, double *P, double *RP)
{
    size_t i = 0;

    for (; i + TV * NL <= ld; i += TV * NL)
        rback_tile(R, TV, out, in, ld, W, V, D + i, RD + i, d1 + i, d2 + i, rz + i, P + i, RP + i);
    if (i < ld)
        rback_tile(R, 1, out, in, ld, W, V, D + i, RD + i, d1 + i, d2 + i, rz + i, P + i, RP + i);
}

KERN_CLONES
void mlp_kern_rback(size_t out, size_t in, size_t ld, const double *W, const double *V,
                    const double *D, const double *RD, const double *d1, const double *d2,
                    const double *rz, double *P, double *RP)
{
    size_t k = 0;

    for (; k + 2 <= in; k += 2) {
        size_t o = k * ld;

        rback_rows(2, out, in, ld, W + k, V + k, D, RD, d1 + o, d2 + o, rz + o, P + o, RP + o);
    }
    for (; k < in; k++) {
        size_t o = k * ld;

        rback_rows(1, out, in, ld, W + k, V + k, D, RD, d1 + o, d2 + o, rz + o, P + o, RP + o);
    }
}
