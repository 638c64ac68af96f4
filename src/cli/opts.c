/*
 * opts.c - table-driven option parsing for the CLI (see opts.h). Values
 * are parsed whole: "10x", "", "nan" and out-of-range numbers are errors.
 */
#include "cli/opts.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_error(const char *cmd, int status, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "amaml %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return status;
}

int cli_to_double(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int to_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return -1; /* strtoull would accept "-1" as a huge number */
    errno = 0;
    v = strtoull(s, &end, 10);
    if (*end || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

static void print_help(const char *cmd, const char *synopsis, const struct cli_opt *opts,
                       size_t n)
{
    printf("usage: amaml %s [options]\n\n%s\n\noptions:\n", cmd, synopsis);
    for (size_t i = 0; i < n; i++) {
        char left[48];

        snprintf(left, sizeof left, "--%s%s%s", opts[i].name, opts[i].meta ? " " : "",
                 opts[i].meta ? opts[i].meta : "");
        printf("  %-26s %s\n", left, opts[i].help);
    }
    printf("  %-26s %s\n", "--help", "show this help");
}

static int set_value(const char *cmd, const struct cli_opt *o, const char *val)
{
    const char *want = NULL;

    switch (o->type) {
    case CLI_STR:
        *(const char **)o->dst = val;
        return 0;
    case CLI_DOUBLE:
        if (cli_to_double(val, o->dst) == 0)
            return 0;
        want = "a finite number";
        break;
    case CLI_U64:
        if (to_u64(val, o->dst) == 0)
            return 0;
        want = "a non-negative integer";
        break;
    case CLI_SIZE: {
        uint64_t v;

        if (to_u64(val, &v) == 0 && v <= SIZE_MAX) {
            *(size_t *)o->dst = (size_t)v;
            return 0;
        }
        want = "a non-negative integer";
        break;
    }
    case CLI_FLAG:
        break;
    }
    return cli_error(cmd, CLI_EXIT_USAGE, "--%s: '%s' is not %s", o->name, val, want);
}

int cli_parse(int argc, char **argv, const char *cmd, const char *synopsis,
              const struct cli_opt *opts, size_t nopts)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq, *val;
        const struct cli_opt *o = NULL;
        size_t len;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_help(cmd, synopsis, opts, nopts);
            return -1;
        }
        if (strncmp(arg, "--", 2) != 0)
            return cli_error(cmd, CLI_EXIT_USAGE, "unexpected argument '%s' (see amaml %s "
                             "--help)", arg, cmd);
        arg += 2;
        eq = strchr(arg, '=');
        len = eq ? (size_t)(eq - arg) : strlen(arg);
        for (size_t j = 0; j < nopts && !o; j++)
            if (strlen(opts[j].name) == len && strncmp(opts[j].name, arg, len) == 0)
                o = &opts[j];
        if (!o)
            return cli_error(cmd, CLI_EXIT_USAGE, "unknown option '--%.*s' (see amaml %s "
                             "--help)", (int)len, arg, cmd);
        if (o->type == CLI_FLAG) {
            if (eq)
                return cli_error(cmd, CLI_EXIT_USAGE, "--%s takes no value", o->name);
            *(int *)o->dst = 1;
            continue;
        }
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return cli_error(cmd, CLI_EXIT_USAGE, "--%s needs a value", o->name);
        if (set_value(cmd, o, val) != 0)
            return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}
