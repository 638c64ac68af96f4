/*
 * act.c - the hidden activations with their first and second derivatives,
 * over arrays, fast.
 *
 * At the sizes of meta-learning (32-unit layers, 50-100 samples) the
 * activation of every hidden unit of every sample costs more than the
 * matrix products: with glibc's tanh, 70% of a gradient. So tanh and the
 * logistic function are computed here from one exponential, by argument
 * reduction y = k ln 2 + r, |r| <= ln(2)/2, and the Taylor polynomial of
 * expm1(r) to degree 14 (truncation below 2e-17 relative; Estrin's scheme),
 * then
 *     tanh |x| = e / (e + 2),  e = expm1(2 |x|)   (no cancellation near 0),
 *     sigmoid z = 1 / (1 + e) or e / (1 + e) by the sign, e = exp(-|z|),
 * with exp(-|z|) taken as 0 below 3e-308, where glibc's would be subnormal.
 * The loops have no branches and vectorize (this file is compiled with
 * -fno-trapping-math for that); the functions are compiled for AVX2 and for
 * the baseline and chosen when the library loads. Measured
 * against glibc over [-30, 30] (tests/test_mlp.c): relative error below
 * 4 ulp for tanh and sigmoid. Softplus keeps glibc's log1p.
 *
 * Derivatives are written in terms of the value (tanh' = 1 - a^2, ...),
 * which are the derivatives of the exact functions: with values accurate to
 * a few ulp the difference is far below what any derivative check resolves.
 */
#include "models/act.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define ACT_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define ACT_CLONES
#endif

#define LOG2E 1.4426950408889634
#define LN2_HI 6.93147180369123816490e-01 /* ln 2 split so k LN2_HI is exact */
#define LN2_LO 1.90821492927058770002e-10
#define ROUND_MAGIC 6755399441055744.0    /* 1.5 * 2^52: adding it rounds to an integer */

/* For y in [-708, 708]: s = 2^k and p = expm1(r) with y = k ln 2 + r. k is
 * rounded with the magic constant, whose sum with y/ln 2 also holds k in its
 * low mantissa bits: 2^k is built from those, with integer operations that
 * vectorize (a double-to-integer conversion would not, before AVX-512). */
static inline void reduce_exp(double y, double *s, double *p)
{
    double kd = y * LOG2E + ROUND_MAGIC, k = kd - ROUND_MAGIC;
    double r = (y - k * LN2_HI) - k * LN2_LO;
    double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4, q;
    uint64_t bits;

    memcpy(&bits, &kd, sizeof bits);
    bits = (bits + 1023) << 52; /* the low bits hold k: k + 1023 is 2^k's exponent */
    memcpy(s, &bits, sizeof *s);
    /* q = sum_{j=2}^{14} r^(j-2) / j! by Estrin's scheme: pairs, then pairs
     * of pairs, so that the additions do not wait on one long chain. */
    q = ((1.0 / 2 + r * (1.0 / 6)) + r2 * (1.0 / 24 + r * (1.0 / 120))) +
        r4 * ((1.0 / 720 + r * (1.0 / 5040)) + r2 * (1.0 / 40320 + r * (1.0 / 362880)));
    q += r8 * (((1.0 / 3628800 + r * (1.0 / 39916800)) +
                r2 * (1.0 / 479001600 + r * (1.0 / 6227020800.0))) +
               r4 * (1.0 / 87178291200.0));
    *p = (q * r) * r + r;
}

/* expm1(y) = 2^k (expm1(r) + 1) - 1: exact near 0, where k = 0. */
static inline double fast_expm1(double y)
{
    double s, p;

    reduce_exp(y, &s, &p);
    return s * p + (s - 1.0);
}

/* exp(y) = 2^k (expm1(r) + 1), for y <= 0 here; 0 below -708 (3e-308),
 * where glibc's exp would give a subnormal number. */
static inline double fast_exp_neg(double y)
{
    double s, p;

    reduce_exp(y > -708 ? y : -708, &s, &p);
    return y > -708 ? s * p + s : 0.0;
}

/* The derivatives from the values, in loops of their own so that the
 * value loops have no branches. */
ACT_CLONES
static void tanh_derivs(size_t m, const double *a, double *d1, double *d2)
{
    if (d1)
#pragma omp simd
        for (size_t i = 0; i < m; i++)
            d1[i] = 1 - a[i] * a[i];
    if (d2)
#pragma omp simd
        for (size_t i = 0; i < m; i++)
            d2[i] = -2 * a[i] * (1 - a[i] * a[i]);
}

ACT_CLONES
static void logistic_derivs(size_t m, const double *s, double *d1, double *d2)
{
    if (d1)
#pragma omp simd
        for (size_t i = 0; i < m; i++)
            d1[i] = s[i] * (1 - s[i]);
    if (d2)
#pragma omp simd
        for (size_t i = 0; i < m; i++)
            d2[i] = s[i] * (1 - s[i]) * (1 - 2 * s[i]);
}

ACT_CLONES
void act_tanh(size_t m, const double *z, double *a, double *d1, double *d2)
{
#pragma omp simd
    for (size_t i = 0; i < m; i++) {
        double ax = fabs(z[i]), e;

        ax = ax < 20 ? ax : 20; /* tanh(20) is 1 in double */
        e = fast_expm1(2 * ax);
        a[i] = copysign(e / (e + 2), z[i]);
    }
    tanh_derivs(m, a, d1, d2);
}

ACT_CLONES
void act_sigmoid(size_t m, const double *z, double *a, double *d1, double *d2)
{
#pragma omp simd
    for (size_t i = 0; i < m; i++) {
        double ax = fabs(z[i]), e;

        e = fast_exp_neg(-ax); /* exp(-|z|) in [0, 1] */
        a[i] = (z[i] >= 0 ? 1 : e) / (1 + e); /* a select, then one division */
    }
    logistic_derivs(m, a, d1, d2);
}

void act_relu(size_t m, const double *z, double *a, double *d1, double *d2)
{
    for (size_t i = 0; d1 && i < m; i++)
        d1[i] = z[i] > 0 ? 1.0 : 0.0;
    for (size_t i = 0; d2 && i < m; i++)
        d2[i] = 0.0;
    for (size_t i = 0; i < m; i++)
        a[i] = z[i] > 0 ? z[i] : 0.0;
}

/* softplus(z) = log(1 + e^z) = max(z, 0) + log1p(e^-|z|), without overflow;
 * its derivative is the logistic function, kept in d1 (or a scratch pass). */
ACT_CLONES
void act_softplus(size_t m, const double *z, double *a, double *d1, double *d2)
{
    for (size_t i = 0; i < m; i++) {
        double e = fast_exp_neg(-fabs(z[i])), s = (z[i] >= 0 ? 1 : e) / (1 + e);

        a[i] = (z[i] > 0 ? z[i] : 0.0) + log1p(e);
        if (d1)
            d1[i] = s;
        if (d2)
            d2[i] = s * (1 - s);
    }
}
