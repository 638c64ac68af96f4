/*
 * tableau.c - the built-in explicit Runge-Kutta schemes, as Butcher tableaux
 * (J. C. Butcher, "Numerical Methods for Ordinary Differential Equations",
 * 3rd ed., Wiley 2016, Chapter 3). A scheme is data, not code: the generic
 * stepper in ode.c runs any table, so a new scheme is one more entry in
 * `schemes` below and nothing else.
 *
 * Where the coefficients come from:
 * - euler, heun (explicit trapezoid), rk4 (the classic 1/6, 1/3, 1/3, 1/6)
 *   and rk38 (Kutta's 3/8 rule, 1901): Hairer, Norsett, Wanner, "Solving
 *   Ordinary Differential Equations I", 2nd ed., Springer 1993, Section II.1.
 *   rk38 is listed apart from rk4 because the A-MAML authors' "rk4" is in fact
 *   the 3/8 rule (see /work/shared/method.md).
 * - dopri5: Dormand and Prince, "A family of embedded Runge-Kutta formulae",
 *   J. Comput. Appl. Math. 6 (1980) 19-26; HNW I, Section II.5. b is the
 *   fifth-order solution that is propagated (local extrapolation), bhat the
 *   fourth-order one used only for the error estimate. The last row of a
 *   equals b, which is what makes the scheme first-same-as-last.
 *
 * The fractions are written as quotients of integers so that each entry is
 * the correctly rounded double of the exact coefficient; tests/test_ode.c
 * checks the order conditions on these tables.
 */
#include "core/error.h"

#include <stdio.h>
#include <string.h>

/* clang-format off */

static const double euler_a[] = {0};
static const double euler_b[] = {1};
static const double euler_c[] = {0};

static const double heun_a[] = {
    0, 0,
    1, 0,
};
static const double heun_b[] = {1.0 / 2, 1.0 / 2};
static const double heun_c[] = {0, 1};

static const double rk4_a[] = {
    0,       0,       0, 0,
    1.0 / 2, 0,       0, 0,
    0,       1.0 / 2, 0, 0,
    0,       0,       1, 0,
};
static const double rk4_b[] = {1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6};
static const double rk4_c[] = {0, 1.0 / 2, 1.0 / 2, 1};

static const double rk38_a[] = {
    0,        0,  0, 0,
    1.0 / 3,  0,  0, 0,
    -1.0 / 3, 1,  0, 0,
    1,        -1, 1, 0,
};
static const double rk38_b[] = {1.0 / 8, 3.0 / 8, 3.0 / 8, 1.0 / 8};
static const double rk38_c[] = {0, 1.0 / 3, 2.0 / 3, 1};

static const double dopri5_a[] = {
    0, 0, 0, 0, 0, 0, 0,
    1.0 / 5, 0, 0, 0, 0, 0, 0,
    3.0 / 40, 9.0 / 40, 0, 0, 0, 0, 0,
    44.0 / 45, -56.0 / 15, 32.0 / 9, 0, 0, 0, 0,
    19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729, 0, 0, 0,
    9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656, 0, 0,
    35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0,
};
static const double dopri5_b[] = {
    35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0,
};
static const double dopri5_bhat[] = {
    5179.0 / 57600, 0, 7571.0 / 16695, 393.0 / 640, -92097.0 / 339200, 187.0 / 2100, 1.0 / 40,
};
static const double dopri5_c[] = {0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1};

/* clang-format on */

/* The registry: name, stages, order, embedded order, fsal, a, b, c, bhat. */
static const struct amaml_tableau schemes[] = {
    {"euler", 1, 1, 0, 0, euler_a, euler_b, euler_c, NULL},
    {"heun", 2, 2, 0, 0, heun_a, heun_b, heun_c, NULL},
    {"rk4", 4, 4, 0, 0, rk4_a, rk4_b, rk4_c, NULL},
    {"rk38", 4, 4, 0, 0, rk38_a, rk38_b, rk38_c, NULL},
    {"dopri5", 7, 5, 4, 1, dopri5_a, dopri5_b, dopri5_c, dopri5_bhat},
};

#define NSCHEMES (sizeof schemes / sizeof schemes[0])

const struct amaml_tableau *amaml_tableau_at(size_t i)
{
    return i < NSCHEMES ? &schemes[i] : NULL;
}

/* Writes "euler, heun, ..." into buf, for messages that list the choices. */
static void list_names(char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < NSCHEMES && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", schemes[i].name);

        if (n < 0)
            break;
        used += (size_t)n;
    }
}

const struct amaml_tableau *amaml_tableau_find(const char *name)
{
    char names[128];

    if (!name) {
        amaml_fail(AMAML_EINVAL, "amaml_tableau_find: name is NULL");
        return NULL;
    }
    for (size_t i = 0; i < NSCHEMES; i++) {
        if (strcmp(schemes[i].name, name) == 0)
            return &schemes[i];
    }

    list_names(names, sizeof names);
    amaml_fail(AMAML_EINVAL, "unknown ODE scheme \"%s\" (known: %s)", name, names);
    return NULL;
}
