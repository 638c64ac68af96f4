/*
 * results.h - result files of the CLI: JSON (Jansson) and CSV logs.
 */
#ifndef AMAML_CLI_RESULTS_H
#define AMAML_CLI_RESULTS_H

#include "amaml.h"
#include "cli/opts.h"

#include <jansson.h>

/* New JSON objects (caller owns the reference). */
json_t *cli_json_task(const struct amaml_model *m);
json_t *cli_json_settings(const struct amaml_model *m);
/* The eval.json shape: {"n_tasks", "y_scale", "meta": {"curve": [{"step", "mean",
 * "stderr", "rmse_mean", "rmse_stderr"}...], "inner_rule": {...}}, "random_init":
 * {...}, "item_mean": {...} (families with a baseline)}. */
json_t *cli_json_eval(const struct amaml_eval_result *r);
/* Writes obj atomically and drops the reference. */
int cli_json_write(const char *cmd, json_t *obj, const char *path);
/* Keeps the header and the rows whose first column is <= step. */
int cli_csv_truncate(const char *cmd, const char *path, uint64_t step);

#endif
