/*
 * main.c - the test runner: every suite, in order, then the summary line.
 * A suite is a function in tests/test_<module>.c, declared in check.h; add
 * it to the list below.
 * With arguments, runs only the suites whose names are given.
 */
#include "check.h"

#include <cblas.h>

#include <string.h>

static const struct {
    const char *name;
    void (*fn)(void);
} suites[] = {
    {"rng", test_rng},
    {"mlp", test_mlp},
    {"objective", test_objective},
    {"ode", test_ode},
    {"meta", test_meta},
    {"ratings", test_ratings},
    {"train", test_train},
};

int main(int argc, char **argv)
{
    /* As the CLI does: the library parallelizes over tasks itself, and a
     * threaded OpenBLAS on these small products only spins on a busy machine. */
    openblas_set_num_threads(1);
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
        int wanted = argc < 2;

        for (int j = 1; j < argc; j++)
            wanted |= strcmp(argv[j], suites[i].name) == 0;
        if (wanted)
            check_suite(suites[i].name, suites[i].fn);
    }
    return check_summary();
}
