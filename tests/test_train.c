/*
 * test_train.c - the training loop and model files at the library level:
 * a resumed trainer continues bit for bit; the thread count changes
 * nothing; a failing step leaves the state as it was; model files round-trip
 * exactly and refuse a parameter count that does not fit the architecture;
 * the evaluation is independent of threads and refuses a mismatched model.
 */
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct setup {
    struct amaml_taskset *ts;
    struct amaml_mlp *mlp;
    struct amaml_model init;
};

static int setup(struct setup *s, const char *method, double inner_lr)
{
    struct amaml_taskset_config tc;
    struct amaml_meta_config mc;
    struct amaml_train_config trc;

    amaml_taskset_config_default(&tc);
    tc.family = "sinusoid";
    tc.shots = tc.queries = 10;
    tc.ntrain = tc.ntest = 8;
    tc.pool = 50;
    amaml_meta_config_default(&mc);
    mc.method = method;
    mc.steps = 5;
    mc.inner_lr = inner_lr;
    amaml_train_config_default(&trc);
    trc.meta_batch = 3;
    trc.opt = AMAML_ADAM;
    s->ts = amaml_taskset_create(&tc);
    s->mlp = amaml_mlp_parse("1-8-8-1", "tanh", AMAML_MSE);
    return s->ts && s->mlp && amaml_model_init(&s->init, s->mlp, &tc, &mc, &trc) == AMAML_OK;
}

static void teardown(struct setup *s)
{
    amaml_model_clear(&s->init);
    amaml_mlp_free(s->mlp);
    amaml_taskset_free(s->ts);
}

/* Runs n steps on a trainer made from init with the given threads. */
static struct amaml_trainer *run(const struct amaml_model *init, const struct amaml_taskset *ts,
                                 int threads, int n)
{
    struct amaml_trainer *tr = amaml_trainer_create(init, ts, threads);

    for (int i = 0; tr && i < n; i++)
        if (amaml_trainer_step(tr, NULL) != AMAML_OK) {
            amaml_trainer_free(tr);
            return NULL;
        }
    return tr;
}

static int same_state(const struct amaml_model *a, const struct amaml_model *b)
{
    size_t bytes = a->nparam * sizeof(double);

    return a->step == b->step && memcmp(&a->rng, &b->rng, sizeof a->rng) == 0 &&
           memcmp(a->theta, b->theta, bytes) == 0 && memcmp(a->opt_m, b->opt_m, bytes) == 0 &&
           memcmp(a->opt_v, b->opt_v, bytes) == 0;
}

static void test_resume_and_threads(void)
{
    struct setup s;
    struct amaml_trainer *straight, *first, *second, *two;
    struct amaml_model saved;
    char path[] = "/tmp/amaml-test-XXXXXX";
    int fd = mkstemp(path);

    if (!check_true("setup", fd >= 0 && setup(&s, "amaml", 0.1)))
        return;
    close(fd);
    straight = run(&s.init, s.ts, 1, 6);
    first = run(&s.init, s.ts, 1, 3);
    check_ok("save", amaml_model_save(amaml_trainer_model(first), path));
    check_ok("load", amaml_model_load(path, &saved));
    check_true("a saved state loads back bit for bit",
               same_state(&saved, amaml_trainer_model(first)));
    second = run(&saved, s.ts, 1, 3);
    check_true("3 steps, save, load, 3 steps = 6 steps",
               straight && second &&
                   same_state(amaml_trainer_model(straight), amaml_trainer_model(second)));
    two = run(&s.init, s.ts, 2, 6);
    check_true("2 threads = 1 thread", two && same_state(amaml_trainer_model(straight),
                                                         amaml_trainer_model(two)));
    amaml_trainer_free(straight);
    amaml_trainer_free(first);
    amaml_trainer_free(second);
    amaml_trainer_free(two);
    amaml_model_clear(&saved);
    teardown(&s);
    remove(path);
}

/* An inner step of 1e200 overflows: the step fails and changes nothing. */
static void test_divergence(void)
{
    struct setup s;
    struct amaml_trainer *tr;
    struct amaml_model before = {0};
    int rc;

    if (!check_true("setup", setup(&s, "maml", 1e200)))
        return;
    tr = amaml_trainer_create(&s.init, s.ts, 1);
    before.nparam = amaml_trainer_model(tr)->nparam;
    before.theta = malloc(before.nparam * sizeof(double));
    memcpy(before.theta, amaml_trainer_model(tr)->theta, before.nparam * sizeof(double));
    rc = amaml_trainer_step(tr, NULL);
    check_fails("a diverging step fails", rc, AMAML_ENONFINITE, "meta-step 1, task");
    check_true("and leaves the parameters", memcmp(before.theta, amaml_trainer_model(tr)->theta,
                                                   before.nparam * sizeof(double)) == 0);
    check_true("and the step count", amaml_trainer_model(tr)->step == 0);
    free(before.theta);
    amaml_trainer_free(tr);
    teardown(&s);
}

/* A file whose parameter count does not fit its architecture. */
static void test_model_mismatch(void)
{
    struct setup s;
    struct amaml_model m, back;
    double v[5] = {1, 2, 3, 4, 5};
    char path[] = "/tmp/amaml-test-XXXXXX";
    int fd = mkstemp(path);

    if (!check_true("setup", fd >= 0 && setup(&s, "amaml", 0.1)))
        return;
    close(fd);
    m = s.init;
    m.nparam = 5; /* 1-8-8-1 has 97 */
    m.theta = m.opt_m = m.opt_v = v;
    check_ok("save a mismatched model", amaml_model_save(&m, path));
    check_fails("a model of another architecture is refused", amaml_model_load(path, &back),
                AMAML_EFORMAT, "does not match the architecture");
    check_true("and the output is left empty", back.theta == NULL);
    teardown(&s);
    remove(path);
}

static void test_eval(void)
{
    struct setup s;
    struct amaml_eval_config ec;
    struct amaml_eval_result r1, r2;
    struct amaml_mlp *wrong = amaml_mlp_parse("2-8-1", "tanh", AMAML_MSE);
    double theta[256];
    struct amaml_rng rng;

    if (!check_true("setup", setup(&s, "amaml", 0.1)))
        return;
    amaml_rng_seed(&rng, 3);
    amaml_mlp_init(s.mlp, &rng, theta);
    amaml_eval_config_default(&ec);
    ec.adapt_steps = 30;
    ec.threads = 1;
    check_ok("eval, 1 thread", amaml_eval_run(s.mlp, theta, &s.init.meta, s.ts, &ec, &r1));
    ec.threads = 2;
    check_ok("eval, 2 threads", amaml_eval_run(s.mlp, theta, &s.init.meta, s.ts, &ec, &r2));
    check_true("eval: 4 curve points", r1.meta.npoints == 4 && r1.meta.steps[3] == 30);
    check_true("eval does not depend on threads",
               memcmp(r1.meta.curve, r2.meta.curve, 4 * sizeof *r1.meta.curve) == 0 &&
                   r1.meta.inner_rule.mean == r2.meta.inner_rule.mean &&
                   r1.random_init.curve[3].mean == r2.random_init.curve[3].mean);
    /* Adam on the support set lowers the test error of a smooth sinusoid
     * from a random start: 30 steps at 1e-3 must show it, if only a little. */
    check_true("fine-tuning lowers the nRMSE",
               r1.random_init.curve[3].mean < r1.random_init.curve[0].mean);
    check_fails("a model of another input size is refused",
                amaml_eval_run(wrong, theta, &s.init.meta, s.ts, &ec, &r2), AMAML_EINVAL,
                "inputs");
    amaml_eval_result_clear(&r1);
    amaml_eval_result_clear(&r2);
    amaml_mlp_free(wrong);
    teardown(&s);
}

void test_train(void)
{
    test_resume_and_threads();
    test_divergence();
    test_model_mismatch();
    test_eval();
}
