/*
 * model.c - the model file: a text file of "key value" lines (the model,
 * the task family, the method and training settings, the training state),
 * then the parameter vector and the optimizer moments one number a line
 * with %.17g, which round-trips doubles exactly, and a last line
 * "checksum XXXXXXXX" holding the CRC-32 (zlib) of everything before it.
 *
 * Text keeps the files readable and diffable; the checksum and the counts
 * catch truncation and corruption; the version line lets later formats be
 * told apart. Writes go to a temporary file that is renamed into place, so
 * an interrupted save leaves the previous file intact.
 */
#include "core/error.h"
#include "train/train.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define MODEL_MAGIC "amaml-model"
#define MODEL_VERSION 1

void amaml_train_config_default(struct amaml_train_config *cfg)
{
    struct amaml_train_config d = {5, AMAML_SGD, 0.01, 0.9, 0.999, 1e-8, 1000, 1};

    *cfg = d;
}

static int copy_string(char *dst, size_t size, const char *src, const char *what)
{
    if (!src)
        src = "";
    if (strlen(src) >= size)
        return amaml_fail(AMAML_EINVAL, "%s '%.40s...' is longer than %zu characters", what,
                          src, size - 1);
    memcpy(dst, src, strlen(src) + 1);
    return AMAML_OK;
}

/* Points the config strings at the struct's own arrays (train.h). */
void model_relink(struct amaml_model *m)
{
    m->task.family = m->family;
    m->task.data = m->data[0] ? m->data : NULL;
    m->meta.method = m->method;
    m->meta.solver = m->solver;
    m->meta.backward = m->backward;
}

int amaml_model_init(struct amaml_model *m, const struct amaml_mlp *mlp,
                     const struct amaml_taskset_config *task,
                     const struct amaml_meta_config *meta,
                     const struct amaml_train_config *train)
{
    struct amaml_model z = {0};
    int rc;

    *m = z;
    m->task = *task;
    m->meta = *meta;
    m->train = *train;
    m->nparam = amaml_mlp_nparam(mlp);
    amaml_mlp_arch_string(mlp, m->arch, sizeof m->arch);
    copy_string(m->act, sizeof m->act, amaml_act_name(amaml_mlp_act(mlp)), "activation");
    copy_string(m->loss, sizeof m->loss, amaml_mlp_loss(mlp) == AMAML_CE ? "ce" : "mse",
                "loss");
    if ((rc = copy_string(m->family, sizeof m->family, task->family, "task family")) ||
        (rc = copy_string(m->data, sizeof m->data, task->data, "data path")) ||
        (rc = copy_string(m->method, sizeof m->method, meta->method, "method")) ||
        (rc = copy_string(m->solver, sizeof m->solver, meta->solver, "solver")) ||
        (rc = copy_string(m->backward, sizeof m->backward, meta->backward, "backward")))
        return rc;
    model_relink(m);
    return AMAML_OK;
}

void amaml_model_clear(struct amaml_model *m)
{
    struct amaml_model z = {0};

    if (!m)
        return;
    free(m->theta);
    free(m->opt_m);
    free(m->opt_v);
    *m = z;
}

struct amaml_mlp *amaml_model_mlp(const struct amaml_model *m)
{
    return amaml_mlp_parse(m->arch, m->act, strcmp(m->loss, "ce") == 0 ? AMAML_CE : AMAML_MSE);
}

/* -------------------------------------------------------- the fields */

enum field_type { F_STR, F_SIZE, F_U64, F_DOUBLE, F_ENUM };

struct field {
    const char *key;
    enum field_type type;
    void *p;
    size_t size; /* F_STR: the array's size; F_ENUM: sizeof the enum */
};

/* The header fields of m, in file order. */
static size_t fields(struct amaml_model *m, struct field *f)
{
    struct field all[] = {
        {"arch", F_STR, m->arch, sizeof m->arch},
        {"act", F_STR, m->act, sizeof m->act},
        {"loss", F_STR, m->loss, sizeof m->loss},
        {"family", F_STR, m->family, sizeof m->family},
        {"data", F_STR, m->data, sizeof m->data},
        {"dim", F_SIZE, &m->task.dim, 0},
        {"shots", F_SIZE, &m->task.shots, 0},
        {"queries", F_SIZE, &m->task.queries, 0},
        {"task-seed", F_U64, &m->task.seed, 0},
        {"ntrain", F_SIZE, &m->task.ntrain, 0},
        {"ntest", F_SIZE, &m->task.ntest, 0},
        {"pool", F_SIZE, &m->task.pool, 0},
        {"features", F_SIZE, &m->task.features, 0},
        {"method", F_STR, m->method, sizeof m->method},
        {"solver", F_STR, m->solver, sizeof m->solver},
        {"adjoint", F_ENUM, &m->meta.adjoint, sizeof m->meta.adjoint},
        {"backward", F_STR, m->backward, sizeof m->backward},
        {"steps", F_SIZE, &m->meta.steps, 0},
        {"inner-lr", F_DOUBLE, &m->meta.inner_lr, 0},
        {"prox", F_DOUBLE, &m->meta.prox, 0},
        {"checkpoint", F_ENUM, &m->meta.checkpoint, sizeof m->meta.checkpoint},
        {"checkpoint-arg", F_SIZE, &m->meta.checkpoint_arg, 0},
        {"rtol", F_DOUBLE, &m->meta.rtol, 0},
        {"atol", F_DOUBLE, &m->meta.atol, 0},
        {"cg-steps", F_SIZE, &m->meta.cg_steps, 0},
        {"cg-damping", F_DOUBLE, &m->meta.cg_damping, 0},
        {"imaml-lambda", F_DOUBLE, &m->meta.imaml_lambda, 0},
        {"meta-batch", F_SIZE, &m->train.meta_batch, 0},
        {"optimizer", F_ENUM, &m->train.opt, sizeof m->train.opt},
        {"meta-lr", F_DOUBLE, &m->train.meta_lr, 0},
        {"adam-beta1", F_DOUBLE, &m->train.adam_beta1, 0},
        {"adam-beta2", F_DOUBLE, &m->train.adam_beta2, 0},
        {"adam-eps", F_DOUBLE, &m->train.adam_eps, 0},
        {"meta-steps", F_SIZE, &m->train.meta_steps, 0},
        {"seed", F_U64, &m->train.seed, 0},
        {"step", F_U64, &m->step, 0},
        {"nparam", F_SIZE, &m->nparam, 0},
    };
    size_t n = sizeof all / sizeof all[0];

    if (f)
        memcpy(f, all, sizeof all);
    return n;
}

#define MAX_FIELDS 64

/* ------------------------------------------------------------- save */

static void put_field(FILE *f, const struct field *fl)
{
    switch (fl->type) {
    case F_STR: fprintf(f, "%s %s\n", fl->key, (const char *)fl->p); break;
    case F_SIZE: fprintf(f, "%s %zu\n", fl->key, *(const size_t *)fl->p); break;
    case F_U64: fprintf(f, "%s %" PRIu64 "\n", fl->key, *(const uint64_t *)fl->p); break;
    case F_DOUBLE: fprintf(f, "%s %.17g\n", fl->key, *(const double *)fl->p); break;
    case F_ENUM: fprintf(f, "%s %d\n", fl->key, *(const int *)fl->p); break;
    }
}

static void put_vector(FILE *f, const char *name, const double *v, size_t n)
{
    fprintf(f, "%s\n", name);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%.17g\n", v[i]);
}

/* The whole file but its checksum line, in a memory buffer. */
static int serialize(const struct amaml_model *m, char **buf, size_t *len)
{
    struct field f[MAX_FIELDS];
    size_t nf = fields((struct amaml_model *)(uintptr_t)m, f);
    FILE *mem = open_memstream(buf, len);

    if (!mem)
        return amaml_fail(AMAML_ENOMEM, "out of memory writing a model file");
    fprintf(mem, "%s %d\n", MODEL_MAGIC, MODEL_VERSION);
    for (size_t i = 0; i < nf; i++)
        put_field(mem, &f[i]);
    fprintf(mem, "rng %016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016" PRIx64 "\n",
            m->rng.s[0], m->rng.s[1], m->rng.s[2], m->rng.s[3]);
    put_vector(mem, "theta", m->theta, m->nparam);
    put_vector(mem, "opt-m", m->opt_m, m->nparam);
    put_vector(mem, "opt-v", m->opt_v, m->nparam);
    if (fclose(mem) != 0)
        return amaml_fail(AMAML_ENOMEM, "out of memory writing a model file");
    return AMAML_OK;
}

int amaml_model_save(const struct amaml_model *m, const char *path)
{
    char *buf = NULL, tmp[4096];
    size_t len = 0;
    FILE *f;
    int rc, ok;

    if (!m || !m->theta || !m->opt_m || !m->opt_v)
        return amaml_fail(AMAML_EINVAL, "amaml_model_save: the model has no parameters");
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return amaml_fail(AMAML_EINVAL, "%s: path too long", path);
    if ((rc = serialize(m, &buf, &len)) != AMAML_OK)
        return rc;
    if (!(f = fopen(tmp, "w"))) {
        free(buf);
        return amaml_fail(AMAML_EIO, "%s: cannot write: %s", tmp, strerror(errno));
    }
    ok = fwrite(buf, 1, len, f) == len;
    ok = ok && fprintf(f, "checksum %08lx\n", crc32(0L, (const Bytef *)buf, (uInt)len)) > 0;
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    free(buf);
    if (!ok || rename(tmp, path) != 0) {
        rc = amaml_fail(AMAML_EIO, "%s: write failed: %s", path, strerror(errno));
        remove(tmp);
        return rc;
    }
    return AMAML_OK;
}

/* ------------------------------------------------------------- load */

struct reader {
    const char *path;
    char *p, *end; /* the unread part */
    size_t line;
};

/* The next line, NUL-terminated in place, or NULL at the end. */
static char *next_line(struct reader *r)
{
    char *s = r->p, *nl;

    if (r->p >= r->end)
        return NULL;
    nl = memchr(s, '\n', (size_t)(r->end - s));
    if (!nl)
        nl = r->end;
    *nl = '\0';
    r->p = nl + 1;
    r->line++;
    return s;
}

static int bad(const struct reader *r, const char *what, const char *s)
{
    return amaml_fail(AMAML_EFORMAT, "%s:%zu: %s (got '%.40s')", r->path, r->line, what,
                      s ? s : "end of file");
}

static int parse_field(struct reader *r, const struct field *fl)
{
    char *s = next_line(r), *end = NULL;
    size_t klen = strlen(fl->key);

    if (!s || strncmp(s, fl->key, klen) != 0 || (s[klen] != ' ' && s[klen] != '\0'))
        return bad(r, fl->key, s);
    s += klen + (s[klen] == ' ');
    errno = 0;
    switch (fl->type) {
    case F_STR:
        if (strlen(s) >= fl->size)
            return bad(r, "value too long", s);
        memcpy(fl->p, s, strlen(s) + 1);
        return AMAML_OK;
    case F_SIZE: *(size_t *)fl->p = (size_t)strtoull(s, &end, 10); break;
    case F_U64: *(uint64_t *)fl->p = (uint64_t)strtoull(s, &end, 10); break;
    case F_DOUBLE: *(double *)fl->p = strtod(s, &end); break;
    case F_ENUM: *(int *)fl->p = (int)strtol(s, &end, 10); break;
    }
    if (end == s || *end || errno)
        return bad(r, "not a number", s);
    return AMAML_OK;
}

static int parse_vector(struct reader *r, const char *name, size_t n, double **out)
{
    char *s = next_line(r);

    if (!s || strcmp(s, name) != 0)
        return bad(r, name, s);
    if (!(*out = malloc((n ? n : 1) * sizeof **out)))
        return amaml_fail(AMAML_ENOMEM, "out of memory reading %s", r->path);
    for (size_t i = 0; i < n; i++) {
        char *end;

        if (!(s = next_line(r)))
            return bad(r, "the file ends inside a vector", NULL);
        (*out)[i] = strtod(s, &end);
        if (end == s || *end)
            return bad(r, "not a number", s);
    }
    return AMAML_OK;
}

/* Checks the last line's CRC-32 against the bytes before it. */
static int check_sum(struct reader *r, char *buf, size_t len)
{
    char *last;
    unsigned long want;

    while (len > 0 && buf[len - 1] == '\n')
        len--;
    buf[len] = '\0';
    last = strrchr(buf, '\n');
    if (!last || sscanf(last + 1, "checksum %lx", &want) != 1)
        return amaml_fail(AMAML_EFORMAT, "%s: no checksum line at the end: the file is "
                          "truncated or not a model file", r->path);
    if (crc32(0L, (const Bytef *)buf, (uInt)(last + 1 - buf)) != want)
        return amaml_fail(AMAML_EFORMAT, "%s: checksum mismatch: the file is corrupted",
                          r->path);
    r->end = last + 1;
    return AMAML_OK;
}

/* The first line, before anything else: a file of another version may
 * not even have a checksum where this one looks for it. */
static int check_version(const struct reader *r)
{
    int version;

    if (sscanf(r->p, MODEL_MAGIC " %d", &version) != 1)
        return amaml_fail(AMAML_EFORMAT, "%s:1: not an amaml model file", r->path);
    if (version != MODEL_VERSION)
        return amaml_fail(AMAML_EFORMAT, "%s: model format version %d; this build reads "
                          "version %d", r->path, version, MODEL_VERSION);
    return AMAML_OK;
}

static int parse(struct reader *r, struct amaml_model *m)
{
    struct field f[MAX_FIELDS];
    size_t nf = fields(m, f);
    char *s = next_line(r); /* the version line, checked */
    int rc = AMAML_OK;
    struct amaml_mlp *mlp;

    (void)s;
    for (size_t i = 0; i < nf && rc == AMAML_OK; i++)
        rc = parse_field(r, &f[i]);
    if (rc != AMAML_OK)
        return rc;
    s = next_line(r);
    if (!s || sscanf(s, "rng %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64, &m->rng.s[0],
                     &m->rng.s[1], &m->rng.s[2], &m->rng.s[3]) != 4)
        return bad(r, "rng state", s);
    model_relink(m);

    if (!(mlp = amaml_model_mlp(m)))
        return amaml_fail(AMAML_EFORMAT, "%s: %s", r->path, amaml_errmsg());
    if (amaml_mlp_nparam(mlp) != m->nparam)
        rc = amaml_fail(AMAML_EFORMAT, "%s: nparam %zu does not match the architecture %s "
                        "(%zu parameters)", r->path, m->nparam, m->arch, amaml_mlp_nparam(mlp));
    amaml_mlp_free(mlp);
    if (rc == AMAML_OK)
        rc = parse_vector(r, "theta", m->nparam, &m->theta);
    if (rc == AMAML_OK)
        rc = parse_vector(r, "opt-m", m->nparam, &m->opt_m);
    if (rc == AMAML_OK)
        rc = parse_vector(r, "opt-v", m->nparam, &m->opt_v);
    if (rc == AMAML_OK && next_line(r))
        rc = bad(r, "unexpected line after the vectors", r->p);
    return rc;
}

/* Reads a whole file into a NUL-terminated buffer. */
static int slurp(const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 1 << 16, n = 0;
    char *b;

    if (!f)
        return amaml_fail(AMAML_EIO, "%s: cannot open: %s", path, strerror(errno));
    b = malloc(cap + 1);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
        char *nb = realloc(b, cap + 1);

        if (!nb)
            free(b);
        b = nb;
    }
    if (!b || ferror(f)) {
        free(b);
        fclose(f);
        return amaml_fail(b ? AMAML_EIO : AMAML_ENOMEM, "%s: cannot read", path);
    }
    fclose(f);
    b[n] = '\0';
    *buf = b;
    *len = n;
    return AMAML_OK;
}

int amaml_model_load(const char *path, struct amaml_model *m)
{
    struct amaml_model z = {0};
    struct reader r = {path, NULL, NULL, 0};
    char *buf = NULL;
    size_t len = 0;
    int rc;

    *m = z;
    if ((rc = slurp(path, &buf, &len)) != AMAML_OK)
        return rc;
    r.p = buf;
    r.end = buf + len;
    rc = check_version(&r);
    if (rc == AMAML_OK)
        rc = check_sum(&r, buf, len);
    if (rc == AMAML_OK)
        rc = parse(&r, m);
    free(buf);
    if (rc != AMAML_OK)
        amaml_model_clear(m);
    return rc;
}
