/* Concurrent use: several user threads run forwards on one shared model at
 * once (each call has its own activations) and every result must equal the
 * single-threaded reference bit for bit; and ten models, each run and
 * changed by its own thread while another thread builds and changes more
 * models: plans are per model, so no thread sees another's changes; and a
 * torchvision model whose forward a plan runs on row blocks, several threads
 * in it at once (its children's cached plans, folds and forward pools
 * shared), from two user threads.  A plain
 * program (not Criterion) so that it can also be built and run under
 * ThreadSanitizer: `make tsan-check`. */
#include <lamina/lamina.h>
#include <lamina/plugin.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "tests/threads/models.h"

#define USERS 4
#define ROUNDS 200

typedef struct job {
    lam_module *model;
    lam_tensor *inputs[3];
    lam_tensor *refs[3];
    int failures;
    int use_plan;
} job;

static void *user(void *arg)
{
    job *j = arg;
    lam_plan *plans[3] = {0};
    for (int r = 0; r < ROUNDS; r++) {
        int k = r % 3;
        lam_tensor *y = NULL;
        lam_status st;
        if (j->use_plan) {
            if (!plans[k] &&
                lam_plan_create(&plans[k], j->model, 2, lam_tensor_shape(j->inputs[k])) != LAM_OK) {
                j->failures++;
                continue;
            }
            st = lam_tensor_clone(&y, j->refs[k]);
            if (!st)
                st = lam_plan_run(plans[k], j->inputs[k], y);
        } else {
            st = lam_module_forward(j->model, j->inputs[k], &y);
        }
        if (st != LAM_OK || memcmp(lam_tensor_cdata(y), lam_tensor_cdata(j->refs[k]),
                                   (size_t)lam_tensor_numel(y) * sizeof(float)) != 0)
            j->failures++;
        lam_tensor_release(y);
    }
    for (int k = 0; k < 3; k++)
        lam_plan_free(plans[k]);
    return NULL;
}

static int run(const char *name, lam_module *m, int64_t cols, int use_plan)
{
    static const int64_t rows[3] = {1, 33, 700};
    job jobs[USERS];
    lam_tensor *inputs[3], *refs[3];
    lam_set_num_threads(1);
    for (int k = 0; k < 3; k++) {
        inputs[k] = make_input(rows[k], cols, (unsigned)k + 1);
        if (lam_module_forward(m, inputs[k], &refs[k]) != LAM_OK) {
            fprintf(stderr, "%s: reference forward failed: %s\n", name, lam_last_error());
            return 1;
        }
    }
    lam_set_num_threads(2);
    pthread_t th[USERS];
    for (int u = 0; u < USERS; u++) {
        jobs[u].model = m;
        jobs[u].failures = 0;
        jobs[u].use_plan = use_plan;
        memcpy(jobs[u].inputs, inputs, sizeof inputs);
        memcpy(jobs[u].refs, refs, sizeof refs);
        pthread_create(&th[u], NULL, user, &jobs[u]);
    }
    int failures = 0;
    for (int u = 0; u < USERS; u++) {
        pthread_join(th[u], NULL);
        failures += jobs[u].failures;
    }
    for (int k = 0; k < 3; k++) {
        lam_tensor_release(inputs[k]);
        lam_tensor_release(refs[k]);
    }
    printf("%-44s %d users x %d forwards: %d mismatches\n", name, USERS, ROUNDS, failures);
    return failures != 0;
}

/* ---- a torchvision model (a custom forward on row blocks): each user's
 * plan runs the ResNet's forward on 2 threads at once, those of the other
 * users meanwhile; every result is the single-threaded forward's ---- */

#define TV_USERS 2
#define TV_ROUNDS 20

typedef struct tv_job {
    lam_module *model;
    lam_tensor *x, *ref;
    int failures;
} tv_job;

static void *tv_user(void *arg)
{
    tv_job *j = arg;
    lam_plan *p = NULL;
    if (lam_plan_create(&p, j->model, 4, lam_tensor_shape(j->x)) != LAM_OK) {
        j->failures = TV_ROUNDS;
        return NULL;
    }
    for (int r = 0; r < TV_ROUNDS; r++) {
        lam_tensor *y = NULL;
        lam_status st = lam_tensor_clone(&y, j->ref);
        if (!st)
            memset(lam_tensor_data(y), 0, (size_t)lam_tensor_numel(y) * sizeof(float));
        if (!st)
            st = lam_plan_run(p, j->x, y);
        if (st != LAM_OK || memcmp(lam_tensor_cdata(y), lam_tensor_cdata(j->ref),
                                   (size_t)lam_tensor_numel(y) * sizeof(float)) != 0)
            j->failures++;
        lam_tensor_release(y);
    }
    lam_plan_free(p);
    return NULL;
}

static int run_tv(void)
{
#ifdef LAM_TEST_TV_PLUGIN
    lam_plugin *pl = NULL;
    lam_module *m = NULL;
    if (lam_plugin_load(LAM_TEST_TV_PLUGIN, &pl) != LAM_OK ||
        lam_model_parse(TV_RESNET, sizeof TV_RESNET - 1, "resnet.lam", &m) != LAM_OK) {
        fprintf(stderr, "torchvision ResNet: %s\n", lam_last_error());
        return 1;
    }
    lam_module_eval(m);
    int64_t shape[4] = {9, 8, 8, 6};
    lam_tensor *x = NULL, *ref = NULL;
    if (lam_tensor_create(&x, 4, shape) != LAM_OK)
        return 1;
    float *d = lam_tensor_data(x);
    for (int64_t i = 0; i < lam_tensor_numel(x); i++)
        d[i] = (float)((i * 37) % 23) / 11.0f - 1.0f;
    lam_set_num_threads(1);
    if (lam_module_forward(m, x, &ref) != LAM_OK) {
        fprintf(stderr, "torchvision ResNet: reference forward failed: %s\n", lam_last_error());
        return 1;
    }
    lam_set_num_threads(2);
    tv_job jobs[TV_USERS];
    pthread_t th[TV_USERS];
    for (int u = 0; u < TV_USERS; u++) {
        jobs[u] = (tv_job){m, x, ref, 0};
        pthread_create(&th[u], NULL, tv_user, &jobs[u]);
    }
    int failures = 0;
    for (int u = 0; u < TV_USERS; u++) {
        pthread_join(th[u], NULL);
        failures += jobs[u].failures;
    }
    printf("%-44s %d users x %d forwards: %d mismatches\n", "torchvision ResNet, row blocks on 2 threads",
           TV_USERS, TV_ROUNDS, failures);
    lam_tensor_release(x);
    lam_tensor_release(ref);
    lam_module_release(m);
    return failures != 0;
#else
    return 0;
#endif
}

/* ---- ten models, one thread each, and a thread building more ---- */

#define OWNERS 10

typedef struct owner_job {
    lam_module *model;
    lam_tensor *x, *ref;
    int failures, stale_seen;
} owner_job;

static int same(const lam_tensor *a, const lam_tensor *b)
{
    return lam_tensor_same_shape(a, b) &&
           memcmp(lam_tensor_cdata(a), lam_tensor_cdata(b),
                  (size_t)lam_tensor_numel(a) * sizeof(float)) == 0;
}

/* Runs its model through a plan and lam_module_forward; every 20 rounds
 * flips the model's train/eval mode, which its plan must notice (once). */
static void *owner(void *arg)
{
    owner_job *j = arg;
    lam_plan *p = NULL;
    lam_tensor *y = NULL;
    if (lam_plan_create(&p, j->model, 2, lam_tensor_shape(j->x)) || lam_tensor_clone(&y, j->ref)) {
        j->failures++;
        return NULL;
    }
    for (int r = 1; r <= ROUNDS; r++) {
        if (r % 20 == 0) {
            lam_module_train(j->model, (r / 20) % 2);
            if (lam_plan_run(p, j->x, y) == LAM_ERR_RUNTIME)
                j->stale_seen++;
            lam_plan_free(p);
            if (lam_plan_create(&p, j->model, 2, lam_tensor_shape(j->x))) {
                j->failures++;
                break;
            }
        }
        lam_tensor *f = NULL;
        if (lam_plan_run(p, j->x, y) || !same(y, j->ref))
            j->failures++;
        if (lam_module_forward(j->model, j->x, &f) || !same(f, j->ref))
            j->failures++;
        lam_tensor_release(f);
    }
    lam_plan_free(p);
    lam_tensor_release(y);
    return NULL;
}

static volatile int owners_running;
/* A ReLU at the end of owner 1's model that the builder also puts at the
 * end of its models: owner 1's mode changes reach it (and stamp every
 * model holding it) while the builder links it into models and frees them. */
static lam_module *shared_relu;

/* Builds, runs, changes and frees models while the owners run theirs. */
static void *builder(void *arg)
{
    int *failures = arg;
    lam_tensor *x = make_input(3, 64, 5);
    int built = 0;
    while (__atomic_load_n(&owners_running, __ATOMIC_ACQUIRE) || built < 10) {
        lam_module *m = make_mlp(64, 32, 4), *relu = NULL;
        lam_tensor *y = NULL;
        if (!m || lam_module_forward(m, x, &y) || lam_relu_create(&relu) ||
            lam_container_append(m, relu))
            (*failures)++;
        lam_tensor_release(y);
        lam_module_release(relu);
        lam_module_train(m, true);
        /* no mode changes from here: owner 1 changes the shared ReLU's */
        y = NULL;
        if (lam_container_append(m, shared_relu) || lam_module_forward(m, x, &y))
            (*failures)++;
        lam_tensor_release(y);
        lam_module_release(m);
        built++;
    }
    lam_tensor_release(x);
    return NULL;
}

static int run_owners(void)
{
    owner_job jobs[OWNERS];
    pthread_t th[OWNERS], b;
    lam_set_num_threads(1);
    for (int i = 0; i < OWNERS; i++) {
        jobs[i].model = i % 2 ? make_seed_model() : make_mlp(16, 8 + i, 3);
        jobs[i].x = make_input(1 + i, i % 2 ? 10 : 16, (unsigned)i);
        jobs[i].failures = jobs[i].stale_seen = 0;
        if (i == 1 && (lam_relu_create(&shared_relu) ||
                       lam_container_append(jobs[i].model, shared_relu))) /* after a Sigmoid */
            return 1;
        if (!jobs[i].model || !jobs[i].x ||
            lam_module_forward(jobs[i].model, jobs[i].x, &jobs[i].ref) != LAM_OK) {
            fprintf(stderr, "owner %d: setup failed: %s\n", i, lam_last_error());
            return 1;
        }
    }
    lam_set_num_threads(2);
    int builder_failures = 0;
    __atomic_store_n(&owners_running, 1, __ATOMIC_RELEASE);
    pthread_create(&b, NULL, builder, &builder_failures);
    for (int i = 0; i < OWNERS; i++)
        pthread_create(&th[i], NULL, owner, &jobs[i]);
    int failures = 0, stale = 0;
    for (int i = 0; i < OWNERS; i++) {
        pthread_join(th[i], NULL);
        failures += jobs[i].failures;
        stale += jobs[i].stale_seen;
        lam_module_release(jobs[i].model);
        lam_tensor_release(jobs[i].x);
        lam_tensor_release(jobs[i].ref);
    }
    __atomic_store_n(&owners_running, 0, __ATOMIC_RELEASE);
    pthread_join(b, NULL);
    lam_module_release(shared_relu);
    /* each owner changed its mode ROUNDS / 20 times and saw each change once */
    int want_stale = OWNERS * (ROUNDS / 20);
    printf("%-44s %d users x %d rounds: %d mismatches, %d/%d changes seen\n",
           "10 models, each changed by its own thread", OWNERS, ROUNDS, failures + builder_failures,
           stale, want_stale);
    return failures + builder_failures != 0 || stale != want_stale;
}

int main(void)
{
    lam_manual_seed(9);
    lam_module *seed = make_seed_model(), *mlp = make_mlp(64, 256, 10),
               *loop = make_loop_model(10, 50, 2);
    /* planned custom forward: forward pools, row blocks on worker threads */
    lam_module *rowwise = make_loop_model_shaped(10, 50, 2, true);
    if (!seed || !mlp || !loop || !rowwise)
        return 1;
    int failed = 0;
    failed += run("seed Sequential, lam_module_forward", seed, 10, 0);
    failed += run("MLP 64-256-256-10, lam_module_forward", mlp, 64, 0);
    failed += run("MLP 64-256-256-10, one plan per user", mlp, 64, 1);
    failed += run("ModuleList custom forward", loop, 10, 0);
    failed += run_owners();
    failed += run("rowwise custom forward, lam_module_forward", rowwise, 10, 0);
    failed += run("rowwise custom forward, one plan per user", rowwise, 10, 1);
    failed += run_tv();
    lam_module_release(rowwise);
    lam_module_release(seed);
    lam_module_release(mlp);
    lam_module_release(loop);
    printf("%d passed, %d failed\n", 8 - failed, failed);
    return failed ? 1 : 0;
}
