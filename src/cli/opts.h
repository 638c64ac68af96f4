/*
 * opts.h - the CLI's option parsing: each command declares a table of
 * options, and cli_parse() fills them from argv with strict checks, so every
 * bad value is reported the same way, with the option and the value.
 */
#ifndef AMAML_CLI_OPTS_H
#define AMAML_CLI_OPTS_H

#include <stddef.h>
#include <stdint.h>

enum cli_type { CLI_STR, CLI_SIZE, CLI_DOUBLE, CLI_U64, CLI_FLAG };

struct cli_opt {
    const char *name; /* without the leading "--" */
    enum cli_type type;
    void *dst;        /* const char **, size_t *, double *, uint64_t *, int * */
    const char *meta; /* value placeholder in --help, e.g. "N" */
    const char *help;
};

/* Exit statuses of the CLI. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

/*
 * Parses argv[1..argc-1] against opts. Returns CLI_EXIT_OK, or CLI_EXIT_USAGE
 * after printing a one-line error to stderr, or -1 after printing help to
 * stdout for --help (the caller then exits 0).
 */
int cli_parse(int argc, char **argv, const char *cmd, const char *synopsis,
              const struct cli_opt *opts, size_t nopts);

/* Prints "amaml CMD: message" to stderr and returns status. */
int cli_error(const char *cmd, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses a whole string as a finite double; 0 on success. */
int cli_to_double(const char *s, double *out);

#endif
