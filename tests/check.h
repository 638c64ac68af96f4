/*
 * check.h - the test suite's one comparison helper and its counters. Every
 * numerical assertion goes through check_close() with a tolerance and the
 * reason for it; NaN and infinity never pass unless both sides are the same
 * infinity.
 */
#ifndef AMAML_TESTS_CHECK_H
#define AMAML_TESTS_CHECK_H

#include "amaml.h"

#include <stdio.h>

/* Passes when |got - want| <= atol + rtol |want|. */
int check_close(const char *what, double got, double want, double rtol, double atol,
                const char *why);
/* Passes when got <= bound (and got is a number). */
int check_below(const char *what, double got, double bound, const char *why);
/* Passes when cond is true. */
int check_true(const char *what, int cond);
/* Passes when status is AMAML_OK; prints amaml_errmsg() otherwise. */
int check_ok(const char *what, int status);
/* Passes when status equals want and the message contains needle (if not NULL). */
int check_fails(const char *what, int status, int want, const char *needle);
/* Prints a note that is not an assertion (measured figures, skips). */
void check_note(const char *fmt, ...);

/* A relative error max_i |a_i - b_i| / max(|b|_inf, floor). */
double check_rel_err(const double *a, const double *b, size_t n, double floor);

/* Runs a suite by name, counting its checks. */
void check_suite(const char *name, void (*fn)(void));
int check_summary(void);

/* The suites, one per tests/test_<module>.c, run by main.c. */
void test_rng(void);
void test_mlp(void);
void test_objective(void);
void test_ode(void);
void test_meta(void);
void test_ratings(void);
void test_train(void);

#endif
