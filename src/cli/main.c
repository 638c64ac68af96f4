/*
 * main.c - the amaml command: dispatch to a command, top-level help and
 * version. Only the CLI prints; the library reports through status codes.
 */
#include "amaml.h"
#include "cli/commands.h"
#include "cli/opts.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"gradcheck", cmd_gradcheck, "check a network's gradient and Hessian-vector products"},
    {"train", cmd_train, "meta-train an initialization on a task family"},
    {"eval", cmd_eval, "meta-test a trained model (nRMSE curves, JSON)"},
    {"plot", cmd_plot, "PNG figures of eval.json curves or training losses"},
    {"bench", cmd_bench, "cost of a meta-update against N, beside PyTorch"},
    {"info", cmd_info, "show what a model file holds"},
    {"metagrad", cmd_metagrad, "meta-gradient of one task from files, by any method"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: amaml COMMAND [options]\n\n"
                 "Meta-learning with adjoint methods (A-MAML) and its baselines.\n\n"
                 "commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n  amaml COMMAND --help   options of a command\n"
                 "  amaml --version        version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("amaml %s\n", AMAML_VERSION);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "amaml: unknown command '%s' (see amaml --help)\n", argv[1]);
    return CLI_EXIT_USAGE;
}
