/*
 * test_rng.c - the random numbers: reproducible from a seed, distinct for
 * distinct seeds, and with the moments of their distributions.
 */
#include "check.h"

#include <math.h>

void test_rng(void)
{
    struct amaml_rng a, b;
    double sum = 0, sq = 0, nsum = 0, nsq = 0;
    int same = 1, n = 100000;

    amaml_rng_seed(&a, 42);
    amaml_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++)
        same &= amaml_rng_next(&a) == amaml_rng_next(&b);
    check_true("same seed, same stream", same);
    amaml_rng_seed(&b, 43);
    check_true("other seed, other stream", amaml_rng_next(&a) != amaml_rng_next(&b));

    for (int i = 0; i < n; i++) {
        double u = amaml_rng_uniform(&a), z = amaml_rng_normal(&a);

        sum += u, sq += u * u, nsum += z, nsq += z * z;
    }
    /* Sample means of 1e5 draws have standard errors 0.0009 (uniform) and
     * 0.003 (normal); 5 standard errors make a false failure negligible. */
    check_close("uniform mean", sum / n, 0.5, 0, 0.0046, "5 standard errors");
    check_close("uniform variance", sq / n - 0.25, 1.0 / 12, 0, 0.002, "5 standard errors");
    check_close("normal mean", nsum / n, 0, 0, 0.016, "5 standard errors");
    check_close("normal variance", nsq / n, 1, 0, 0.023, "5 standard errors");
}
