/*
 * error.h - how library code records a failure: amaml_fail() stores a
 * message for the calling thread and returns the status, so that a failing
 * path reads `return amaml_fail(AMAML_EINVAL, "width %zu is 0", i);`.
 */
#ifndef AMAML_CORE_ERROR_H
#define AMAML_CORE_ERROR_H

#include "amaml.h"

#if defined(__GNUC__)
#define AMAML_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define AMAML_PRINTF(f, a)
#endif

/* Records the message for this thread and returns status. */
int amaml_fail(int status, const char *fmt, ...) AMAML_PRINTF(2, 3);

/* Clears this thread's message (done by the CLI before a command). */
void amaml_clear_error(void);

#endif
