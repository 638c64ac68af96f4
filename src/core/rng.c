/*
 * rng.c - the project's random numbers: xoshiro256** (Blackman and Vigna,
 * 2018) seeded by splitmix64. Written here rather than taken from a library
 * so that a seed gives the same stream on every platform and the state is a
 * plain struct that a model file can store.
 */
#include "amaml.h"

#include <math.h>

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void amaml_rng_seed(struct amaml_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&seed);
}

uint64_t amaml_rng_next(struct amaml_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double amaml_rng_uniform(struct amaml_rng *rng)
{
    /* The top 53 bits give every double of the form k / 2^53. */
    return (double)(amaml_rng_next(rng) >> 11) * 0x1.0p-53;
}

double amaml_rng_normal(struct amaml_rng *rng)
{
    /* Box-Muller; 1 - u keeps the logarithm's argument in (0, 1]. */
    double u = 1.0 - amaml_rng_uniform(rng);
    double v = amaml_rng_uniform(rng);

    return sqrt(-2.0 * log(u)) * cos(2.0 * 3.14159265358979323846 * v);
}
