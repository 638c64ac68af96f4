/*
 * act.h - activation kernels over arrays (act.c): a = act(z), and, where
 * not NULL, d1 = act'(z) and d2 = act''(z). a may be z (in place).
 */
#ifndef AMAML_MODELS_ACT_H
#define AMAML_MODELS_ACT_H

#include <stddef.h>

void act_tanh(size_t m, const double *z, double *a, double *d1, double *d2);
void act_sigmoid(size_t m, const double *z, double *a, double *d1, double *d2);
void act_relu(size_t m, const double *z, double *a, double *d1, double *d2);
void act_softplus(size_t m, const double *z, double *a, double *d1, double *d2);

#endif
