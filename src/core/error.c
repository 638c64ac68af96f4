/*
 * error.c - status codes, their descriptions, and the per-thread message of
 * the last failure. The message is thread-local so that tasks running on
 * several OpenMP threads do not overwrite each other's reports.
 */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char errmsg[512];

const char *amaml_strerror(int status)
{
    switch (status) {
    case AMAML_OK: return "success";
    case AMAML_EINVAL: return "invalid argument";
    case AMAML_ENOMEM: return "out of memory";
    case AMAML_EIO: return "input/output error";
    case AMAML_EFORMAT: return "malformed input";
    case AMAML_ENONFINITE: return "non-finite value (divergence)";
    case AMAML_ESTEP: return "step size too small for the tolerance";
    case AMAML_ECALLBACK: return "a callback failed";
    default: return "unknown status";
    }
}

const char *amaml_errmsg(void)
{
    return errmsg;
}

/* Formats into a local buffer first, so that a message may quote the
 * previous one (amaml_errmsg() as an argument) when it adds context. */
int amaml_fail(int status, const char *fmt, ...)
{
    char buf[sizeof errmsg];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    memcpy(errmsg, buf, sizeof buf);
    return status;
}

void amaml_clear_error(void)
{
    errmsg[0] = '\0';
}
