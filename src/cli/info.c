/*
 * info.c - `amaml info`: what a model file holds (settings, training step,
 * parameter count and norm), as JSON on stdout. Also a quick check that a
 * model file is intact: it is loaded with every check of `eval`.
 */
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/results.h"

#include <math.h>
#include <stdio.h>

int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    const struct cli_opt opts[] = {
        {"model", CLI_STR, &path, "FILE", "a model file (required)"},
    };
    struct amaml_model m;
    double norm = 0;
    json_t *o;
    int rc;

    rc = cli_parse(argc, argv, "info", "Prints the settings and state of a model file as "
                   "JSON.", opts, 1);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (!path)
        return cli_error("info", CLI_EXIT_USAGE, "--model is required");
    if (amaml_model_load(path, &m) != AMAML_OK)
        return cli_error("info", CLI_EXIT_FAIL, "%s", amaml_errmsg());
    for (size_t p = 0; p < m.nparam; p++)
        norm += m.theta[p] * m.theta[p];
    o = json_pack("{s:s, s:o, s:I, s:I, s:f}", "model", path, "settings",
                  cli_json_settings(&m), "step", (json_int_t)m.step, "nparam",
                  (json_int_t)m.nparam, "theta_norm", sqrt(norm));
    rc = o && json_dumpf(o, stdout, JSON_INDENT(1)) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    putchar('\n');
    json_decref(o);
    amaml_model_clear(&m);
    return rc;
}
