/*
 * common.h - what several commands share: the options that choose a
 * meta-gradient method, the options that choose a task family, and their
 * checks, so that metagrad, train, eval and bench read them alike.
 */
#ifndef AMAML_CLI_COMMON_H
#define AMAML_CLI_COMMON_H

#include "amaml.h"
#include "cli/opts.h"

/* The method options as given; finished into cfg by cli_method_finish. */
struct cli_method {
    const char *solver, *adjoint, *backward, *ckpt;
    double prox; /* NAN when not given */
    struct amaml_meta_config cfg;
};

/* Appends the method options to opts (room for CLI_METHOD_NOPTS) and sets
 * the defaults; returns the count appended. */
#define CLI_METHOD_NOPTS 13
size_t cli_method_options(struct cli_method *m, struct cli_opt *opts);
int cli_method_finish(const char *cmd, struct cli_method *m);

/* The task options; `arch` defaults by family (d-32-32-1 synthetic,
 * F-40-40-1 ratings) when left NULL. */
struct cli_task {
    const char *arch, *act;
    uint64_t data_seed;
    struct amaml_taskset_config cfg;
};

#define CLI_TASK_NOPTS 12
size_t cli_task_options(struct cli_task *t, struct cli_opt *opts);
/* Fills in the architecture default; builds the MLP into *mlp. */
int cli_task_finish(const char *cmd, struct cli_task *t, char *arch, size_t size,
                    struct amaml_mlp **mlp);
/* Whether the family reads a rating file. */
int cli_task_is_ratings(const char *family);

/* Reads a CSV of din inputs and dy targets a line into one new block
 * (*mem, freed by the caller) viewed as batch b; *lines (if not NULL, freed
 * by the caller) gets each row's line number. Errors are printed for cmd. */
int cli_read_batch(const char *cmd, const char *path, size_t din, size_t dy, double **mem,
                   struct amaml_batch *b, size_t **lines);

/* "1.2s", "3m04s", "1h02m" into buf. */
const char *cli_format_seconds(double s, char *buf, size_t size);
/* Wall-clock seconds since an arbitrary origin. */
double cli_now(void);
/* Creates directory path and its parents where they do not exist. */
int cli_make_dir(const char *cmd, const char *path);

#endif
