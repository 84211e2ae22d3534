/* Concurrent use: several user threads run forwards on one shared model at
 * once (each call has its own activations) and every result must equal the
 * single-threaded reference bit for bit.  A plain program (not Criterion) so
 * that it can also be built and run under ThreadSanitizer: `make tsan-check`. */
#include <lamina/lamina.h>
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
    failed += run("rowwise custom forward, lam_module_forward", rowwise, 10, 0);
    failed += run("rowwise custom forward, one plan per user", rowwise, 10, 1);
    lam_module_release(rowwise);
    lam_module_release(seed);
    lam_module_release(mlp);
    lam_module_release(loop);
    printf("%d passed, %d failed\n", 6 - failed, failed);
    return failed ? 1 : 0;
}
