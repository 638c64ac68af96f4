/*
 * plot.c - `amaml plot`: PNG figures drawn with gnuplot (Debian's
 * gnuplot-nox): the meta-test nRMSE against fine-tuning steps for several
 * eval.json files on one figure, with standard-error bands, like the A-MAML
 * paper's figures; or the meta-training loss of one or more train.csv logs.
 * The data go to a temporary directory beside a gnuplot script, which is
 * kept on failure so that the figure can be redone by hand.
 */
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/results.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char synopsis[] =
    "Draws PNG figures with gnuplot: --eval A.json,B.json (meta-test nRMSE against\n"
    "fine-tuning steps, one curve per file, plus the random initialization of the\n"
    "first with --random) or --train A/train.csv,B/train.csv (meta-training loss).";

#define MAX_SERIES 16

struct plot_args {
    const char *eval, *train, *labels, *title, *out;
    int random, logy;
};

/* Splits a comma-separated list in place into at most MAX_SERIES items. */
static size_t split(char *s, char **items)
{
    size_t n = 0;

    for (char *tok = strtok(s, ","); tok && n < MAX_SERIES; tok = strtok(NULL, ","))
        items[n++] = tok;
    return n;
}

/* Writes the curve of arm ("meta" or "random_init") of an eval.json as
 * "step mean stderr" rows. */
static int write_curve(const char *json, const char *arm, const char *path)
{
    json_error_t err;
    json_t *root = json_load_file(json, 0, &err), *curve, *p;
    FILE *f;
    size_t i;

    if (!root)
        return cli_error("plot", CLI_EXIT_FAIL, "%s:%d: %s", json, err.line, err.text);
    curve = json_object_get(json_object_get(root, arm), "curve");
    if (!json_is_array(curve) || json_array_size(curve) == 0) {
        json_decref(root);
        return cli_error("plot", CLI_EXIT_FAIL, "%s: no \"%s\".\"curve\" array (is it an "
                         "eval.json from amaml eval?)", json, arm);
    }
    if (!(f = fopen(path, "w"))) {
        json_decref(root);
        return cli_error("plot", CLI_EXIT_FAIL, "%s: cannot write", path);
    }
    json_array_foreach(curve, i, p)
        fprintf(f, "%lld %.10g %.10g\n",
                (long long)json_integer_value(json_object_get(p, "step")),
                json_number_value(json_object_get(p, "mean")),
                json_number_value(json_object_get(p, "stderr")));
    fclose(f);
    json_decref(root);
    return CLI_EXIT_OK;
}

/* Single quotes would end a gnuplot string: they are dropped from labels. */
static void put_label(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++)
        if (*s != '\'')
            fputc(*s, f);
    fputc('\'', f);
}

static const char *base_label(const char *path, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');

    snprintf(buf, size, "%s", path);
    if (slash && slash != path) { /* runs/x/eval.json -> runs/x */
        size_t n = (size_t)(slash - path);

        buf[n < size ? n : size - 1] = '\0';
    }
    return buf;
}

static int eval_script(const struct plot_args *a, char **files, size_t n, char **labels,
                       size_t nl, const char *dir, FILE *gp)
{
    char path[4200], lab[256];
    int rc = CLI_EXIT_OK;

    fprintf(gp, "set xlabel 'fine-tuning steps'\nset ylabel 'meta-test nRMSE'\n");
    fprintf(gp, "plot ");
    for (size_t i = 0; i <= n && rc == CLI_EXIT_OK; i++) {
        int is_random = i == n;

        if (is_random && !a->random)
            break;
        snprintf(path, sizeof path, "%s/series%zu.dat", dir, i);
        rc = write_curve(files[is_random ? 0 : i], is_random ? "random_init" : "meta", path);
        fprintf(gp, "%s'%s' using 1:($2-$3):($2+$3) with filledcurves fs transparent solid "
                "0.2 noborder lc %zu notitle, '%s' using 1:2 with lines lw 2 lc %zu title ",
                i ? ", " : "", path, i + 1, path, i + 1);
        put_label(gp, is_random ? "random init" : i < nl ? labels[i]
                                                         : base_label(files[i], lab, sizeof lab));
    }
    fputc('\n', gp);
    return rc;
}

static int train_script(char **files, size_t n, char **labels, size_t nl, FILE *gp)
{
    char lab[256];

    fprintf(gp, "set datafile separator ','\nset key autotitle columnhead\n");
    fprintf(gp, "set xlabel 'meta-step'\nset ylabel 'meta-loss'\nplot ");
    for (size_t i = 0; i < n; i++) {
        if (access(files[i], R_OK) != 0)
            return cli_error("plot", CLI_EXIT_FAIL, "%s: cannot read: %s", files[i],
                             strerror(errno));
        fprintf(gp, "%s'%s' using 1:2 with lines lw 1.5 title ", i ? ", " : "", files[i]);
        put_label(gp, i < nl ? labels[i] : base_label(files[i], lab, sizeof lab));
    }
    fputc('\n', gp);
    return CLI_EXIT_OK;
}

static int draw(const struct plot_args *a, char *list, char *labels_s)
{
    char dir[] = "/tmp/amaml-plot-XXXXXX", script[64], cmd[128];
    char *files[MAX_SERIES], *labels[MAX_SERIES];
    size_t n = split(list, files), nl = labels_s ? split(labels_s, labels) : 0;
    FILE *gp;
    int rc;

    if (!mkdtemp(dir))
        return cli_error("plot", CLI_EXIT_FAIL, "cannot make a temporary directory");
    snprintf(script, sizeof script, "%s/plot.gp", dir);
    if (!(gp = fopen(script, "w")))
        return cli_error("plot", CLI_EXIT_FAIL, "%s: cannot write", script);
    fprintf(gp, "set terminal pngcairo size 900,600 font ',11'\nset output '%s'\n", a->out);
    fprintf(gp, "set grid\nset key top right\n%s", a->logy ? "set logscale y\n" : "");
    if (a->title) {
        fprintf(gp, "set title ");
        put_label(gp, a->title);
        fputc('\n', gp);
    }
    rc = a->eval ? eval_script(a, files, n, labels, nl, dir, gp)
                 : train_script(files, n, labels, nl, gp);
    fclose(gp);
    if (rc != CLI_EXIT_OK)
        return rc;
    snprintf(cmd, sizeof cmd, "gnuplot %s", script);
    if (system(cmd) != 0)
        return cli_error("plot", CLI_EXIT_FAIL, "gnuplot failed on %s (kept for a look)",
                         script);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? CLI_EXIT_OK : CLI_EXIT_OK; /* a left temp dir is harmless */
}

int cmd_plot(int argc, char **argv)
{
    struct plot_args a = {0};
    const struct cli_opt opts[] = {
        {"eval", CLI_STR, &a.eval, "A.json,..", "eval.json files: nRMSE curves"},
        {"train", CLI_STR, &a.train, "A.csv,..", "train.csv files: meta-loss curves"},
        {"labels", CLI_STR, &a.labels, "A,..", "legend labels (default: the directories)"},
        {"title", CLI_STR, &a.title, "TEXT", "figure title"},
        {"random", CLI_FLAG, &a.random, NULL, "with --eval: add the random initialization"},
        {"logy", CLI_FLAG, &a.logy, NULL, "logarithmic y axis"},
        {"out", CLI_STR, &a.out, "FILE.png", "the figure (required)"},
    };
    char *list, *labels;
    int rc;

    rc = cli_parse(argc, argv, "plot", synopsis, opts, sizeof opts / sizeof opts[0]);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (!a.out || !a.eval == !a.train)
        return cli_error("plot", CLI_EXIT_USAGE, "--out and one of --eval or --train are "
                         "required");
    if (strchr(a.out, '\''))
        return cli_error("plot", CLI_EXIT_USAGE, "--out: a quote in the file name");
    if (system("gnuplot --version >/dev/null 2>&1") != 0)
        return cli_error("plot", CLI_EXIT_FAIL, "gnuplot is not installed (apt-get install "
                         "gnuplot-nox, or run scripts/setup)");
    list = strdup(a.eval ? a.eval : a.train);
    labels = a.labels ? strdup(a.labels) : NULL;
    rc = list ? draw(&a, list, labels) : cli_error("plot", CLI_EXIT_FAIL, "out of memory");
    free(list);
    free(labels);
    return rc;
}
