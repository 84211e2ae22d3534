/* Threading: outputs are bit-identical for 1, 2, 3 and 4 threads, from the
 * simple forward and from plans; lamina called inside an OpenMP region runs
 * serially and gives the same answer. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "tests/threads/models.h"

static lam_tensor *forward_with(lam_module *m, const lam_tensor *x, int threads)
{
    lam_set_num_threads(threads);
    lam_tensor *y = NULL;
    lam_status st = lam_module_forward(m, x, &y);
    cr_assert_eq(st, LAM_OK, "forward with %d threads: %s", threads, lam_last_error());
    return y;
}

static void assert_same_bits(const lam_tensor *a, const lam_tensor *b, const char *what, int threads)
{
    cr_assert(lam_tensor_same_shape(a, b), "%s: shapes differ", what);
    cr_assert(memcmp(lam_tensor_cdata(a), lam_tensor_cdata(b),
                     (size_t)lam_tensor_numel(a) * sizeof(float)) == 0,
              "%s: output with %d threads differs from 1 thread", what, threads);
}

static void check_model(lam_module *m, int64_t in_features, const char *name)
{
    static const int64_t batches[] = {1, 7, 64, 1000};
    for (size_t b = 0; b < sizeof batches / sizeof *batches; b++) {
        lam_tensor *x = make_input(batches[b], in_features, (unsigned)b);
        cr_assert_not_null(x);
        lam_tensor *ref = forward_with(m, x, 1);
        for (int t = 2; t <= 4; t++) {
            lam_tensor *y = forward_with(m, x, t);
            assert_same_bits(ref, y, name, t);
            lam_tensor_release(y);
            /* and the same again: run to run */
            y = forward_with(m, x, t);
            assert_same_bits(ref, y, name, t);
            lam_tensor_release(y);
        }
        lam_tensor_release(ref);
        lam_tensor_release(x);
    }
    lam_set_num_threads(0);
}

Test(threads, seed_model_bit_identical)
{
    lam_manual_seed(1);
    lam_module *m = make_seed_model();
    cr_assert_not_null(m);
    check_model(m, 10, "seed Sequential");
    lam_module_release(m);
}

Test(threads, modulelist_model_bit_identical)
{
    lam_manual_seed(2);
    lam_module *m = make_loop_model(10, 50, 2);
    cr_assert_not_null(m);
    check_model(m, 10, "ModuleList custom forward");
    lam_module_release(m);
}

Test(threads, mlp_bit_identical)
{
    lam_manual_seed(3);
    lam_module *m = make_mlp(784, 1024, 10);
    cr_assert_not_null(m);
    check_model(m, 784, "MLP 784-1024-1024-10");
    lam_module_release(m);
}

Test(threads, plan_matches_forward_for_every_thread_count)
{
    lam_manual_seed(4);
    lam_module *m = make_mlp(64, 256, 10);
    cr_assert_not_null(m);
    static const int64_t batches[] = {1, 7, 64, 1000};
    for (size_t b = 0; b < 4; b++) {
        lam_tensor *x = make_input(batches[b], 64, 7);
        lam_tensor *ref = forward_with(m, x, 1);
        for (int t = 1; t <= 4; t++) {
            lam_set_num_threads(t);
            lam_plan *p;
            cr_assert_eq(lam_plan_create(&p, m, 2, lam_tensor_shape(x)), LAM_OK, "%s",
                         lam_last_error());
            int nth;
            const char *strategy = lam_plan_strategy(p, &nth);
            cr_assert(nth >= 1 && nth <= t, "%s uses %d threads with %d allowed", strategy, nth, t);
            lam_tensor *y;
            int64_t oshape[LAM_MAX_DIMS];
            int ond;
            cr_assert_eq(lam_plan_output_shape(p, &ond, oshape), LAM_OK);
            cr_assert_eq(lam_tensor_create(&y, ond, oshape), LAM_OK);
            cr_assert_eq(lam_plan_run(p, x, y), LAM_OK, "%s", lam_last_error());
            assert_same_bits(ref, y, strategy, t);
            lam_tensor_release(y);
            lam_plan_free(p);
        }
        lam_tensor_release(ref);
        lam_tensor_release(x);
    }
    lam_set_num_threads(0);
    lam_module_release(m);
}

Test(threads, strategies_follow_the_work)
{
    lam_manual_seed(5);
    lam_module *seed = make_seed_model(), *mlp = make_mlp(784, 1024, 10);
    lam_set_num_threads(2);
    int nth;
    lam_plan *p;
    int64_t s1[2] = {1, 10};
    cr_assert_eq(lam_plan_create(&p, seed, 2, s1), LAM_OK);
    cr_assert_str_eq(lam_plan_strategy(p, &nth), "serial", "seed model at batch 1 must not wake threads");
    lam_plan_free(p);
    /* ~4 us of work: shorter than waking a thread and the barrier */
    int64_t s256[2] = {256, 10};
    cr_assert_eq(lam_plan_create(&p, seed, 2, s256), LAM_OK);
    cr_assert_str_eq(lam_plan_strategy(p, &nth), "serial", "seed model at batch 256 must not wake threads");
    lam_plan_free(p);
    int64_t s1k[2] = {1024, 10};
    cr_assert_eq(lam_plan_create(&p, seed, 2, s1k), LAM_OK);
    cr_assert_str_eq(lam_plan_strategy(p, &nth), "batch", "seed model at batch 1024 uses both threads");
    lam_plan_free(p);
    int64_t s2[2] = {65536, 10};
    cr_assert_eq(lam_plan_create(&p, seed, 2, s2), LAM_OK);
    cr_assert_str_eq(lam_plan_strategy(p, &nth), "batch");
    cr_assert_eq(nth, 2);
    lam_plan_free(p);
    int64_t s3[2] = {1, 784};
    cr_assert_eq(lam_plan_create(&p, mlp, 2, s3), LAM_OK);
    cr_assert_str_eq(lam_plan_strategy(p, &nth), "columns", "MLP at batch 1 splits columns");
    lam_plan_free(p);
    lam_set_num_threads(0);
    lam_module_release(seed);
    lam_module_release(mlp);
}

Test(threads, plan_rejects_wrong_shapes_and_stale_structure)
{
    lam_module *m = make_seed_model();
    int64_t s[2] = {4, 10}, bad[2] = {4, 11}, oshape[2] = {4, 2};
    lam_plan *p;
    cr_assert_eq(lam_plan_create(&p, m, 2, bad), LAM_ERR_SHAPE);
    cr_assert(strstr(lam_last_error(), "Sequential[0] Linear(in_features=10): input has 11 features"),
              "got: %s", lam_last_error());
    cr_assert_eq(lam_plan_create(&p, m, 2, s), LAM_OK);
    lam_tensor *x = make_input(4, 11, 1), *y;
    cr_assert_eq(lam_tensor_create(&y, 2, oshape), LAM_OK);
    cr_assert_eq(lam_plan_run(p, x, y), LAM_ERR_SHAPE);
    lam_tensor_release(x);
    x = make_input(4, 10, 1);
    cr_assert_eq(lam_plan_run(p, x, y), LAM_OK);
    lam_module *relu;
    lam_relu_create(&relu);
    lam_container_append(m, relu);
    cr_assert_eq(lam_plan_run(p, x, y), LAM_ERR_RUNTIME);
    cr_assert(strstr(lam_last_error(), "make a new plan"));
    lam_module_release(relu);
    lam_plan_free(p);
    lam_tensor_release(x);
    lam_tensor_release(y);
    lam_module_release(m);
}

Test(threads, nested_inside_openmp_region)
{
    lam_manual_seed(6);
    lam_module *m = make_mlp(64, 512, 10);
    lam_tensor *x = make_input(256, 64, 3);
    lam_set_num_threads(2);
    lam_tensor *ref = forward_with(m, x, 2);
    lam_set_num_threads(2);
    int ok = 0, serial = 0, ran = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(2) reduction(+ : ok, serial, ran)
#endif
    {
        ran = 1;
        lam_tensor *y = NULL;
        if (lam_module_forward(m, x, &y) == LAM_OK &&
            memcmp(lam_tensor_cdata(y), lam_tensor_cdata(ref),
                   (size_t)lam_tensor_numel(ref) * sizeof(float)) == 0)
            ok = 1;
        lam_tensor_release(y);
        lam_plan *p;
        int nth = 0;
        if (lam_plan_create(&p, m, 2, lam_tensor_shape(x)) == LAM_OK) {
            const char *s = lam_plan_strategy(p, &nth);
#ifdef _OPENMP
            serial = strcmp(s, "serial") == 0 && nth == 1;
#else
            serial = s != NULL;
#endif
            lam_plan_free(p);
        }
    }
    cr_assert_eq(ok, ran, "every caller thread gets the 1-thread answer");
    cr_assert_eq(serial, ran, "inside a parallel region lamina plans serially");
    lam_set_num_threads(0);
    lam_tensor_release(ref);
    lam_tensor_release(x);
    lam_module_release(m);
}

Test(threads, thread_count_precedence)
{
    /* each Criterion test runs in a fresh process: nothing has read the
     * environment yet */
    setenv("LAMINA_NUM_THREADS", "2", 1);
    setenv("OMP_NUM_THREADS", "1", 1);
    lam_set_num_threads(3);
    cr_assert_eq(lam_get_num_threads(), 3);
    lam_set_num_threads(0);
#ifdef _OPENMP
    cr_assert_eq(lam_get_num_threads(), 2, "LAMINA_NUM_THREADS wins over OMP_NUM_THREADS");
#else
    cr_assert_eq(lam_get_num_threads(), 1);
#endif
}

/* Plans run a Linear into a narrow Linear (at most 8 outputs, at most 64
 * inputs to the first) as one fused kernel where the ISA has it, and each
 * Linear with its following activation as one GEMM: the Sequential's output
 * must equal its children run one at a time (lam_module_forward on each),
 * bit for bit, at every batch size (row blocks below and above 8 and 16
 * rows), on 1 and 2 threads, and for a 3-D input. */
static lam_module *seq_of(size_t n, lam_module **l)
{
    lam_module *m = NULL;
    cr_assert_eq(lam_sequential_create(&m, n, l), LAM_OK, "%s", lam_last_error());
    for (size_t i = 0; i < n; i++)
        lam_module_release(l[i]);
    lam_module_eval(m);
    return m;
}

static lam_module *lin(int64_t in, int64_t out, bool bias)
{
    lam_module *m = NULL;
    cr_assert_eq(lam_linear_create(&m, in, out, bias), LAM_OK);
    return m;
}

static lam_module *act(int which)
{
    lam_module *m = NULL;
    lam_status st = which == 0   ? lam_relu_create(&m)
                    : which == 1 ? lam_sigmoid_create(&m)
                    : which == 2 ? lam_gelu_create(&m, "none")
                    : which == 3 ? lam_tanh_create(&m)
                                 : lam_silu_create(&m);
    cr_assert_eq(st, LAM_OK);
    return m;
}

static void check_layer_by_layer(lam_module *seq, int ndim, const int64_t *shape, const char *name)
{
    lam_tensor *x;
    cr_assert_eq(lam_tensor_create(&x, ndim, shape), LAM_OK);
    float *d = lam_tensor_data(x);
    unsigned s = (unsigned)shape[0] * 7919u + 3;
    for (int64_t i = 0; i < lam_tensor_numel(x); i++) {
        s = s * 1664525u + 1013904223u;
        d[i] = (float)((s >> 8) & 0xffff) / 8192.0f - 4.0f;
    }
    /* reference: the children one at a time */
    lam_set_num_threads(1);
    lam_tensor *ref = NULL;
    const lam_tensor *cur = x;
    for (size_t i = 0; i < lam_container_len(seq); i++) {
        lam_module *child;
        cr_assert_eq(lam_container_get(seq, (int64_t)i, &child), LAM_OK);
        lam_tensor *next = NULL;
        cr_assert_eq(lam_module_forward(child, cur, &next), LAM_OK, "%s", lam_last_error());
        lam_tensor_release(ref);
        cur = ref = next;
    }
    for (int t = 1; t <= 2; t++) {
        lam_tensor *y = forward_with(seq, x, t);
        cr_assert(lam_tensor_same_shape(ref, y), "%s: shapes differ", name);
        const float *a = lam_tensor_cdata(ref), *b = lam_tensor_cdata(y);
        for (int64_t i = 0; i < lam_tensor_numel(y); i++)
            cr_assert(memcmp(&a[i], &b[i], sizeof(float)) == 0,
                      "%s, batch %lld, %d thread(s): element %lld is %.9g, layer by layer %.9g",
                      name, (long long)shape[0], t, (long long)i, b[i], a[i]);
        lam_tensor_release(y);
    }
    lam_tensor_release(ref);
    lam_tensor_release(x);
    lam_set_num_threads(0);
}

Test(threads, fused_layers_match_layer_by_layer)
{
    lam_manual_seed(5);
    struct {
        const char *name;
        lam_module *m;
        int64_t in;
    } models[] = {
        {"seed", make_seed_model(), 10},
        {"Linear(7,33)-GELU-Linear(33,5)", seq_of(3, (lam_module *[]){lin(7, 33, true), act(2), lin(33, 5, true)}), 7},
        {"Linear(64,16)-Tanh-Linear(16,8)-SiLU", seq_of(4, (lam_module *[]){lin(64, 16, true), act(3), lin(16, 8, false), act(4)}), 64},
        {"Linear(3,1)-Linear(1,1)", seq_of(2, (lam_module *[]){lin(3, 1, false), lin(1, 1, true)}), 3},
        {"Linear(65,10)-ReLU-Linear(10,2) (K > 64: not fused)", seq_of(3, (lam_module *[]){lin(65, 10, true), act(0), lin(10, 2, true)}), 65},
        {"Linear(10,20)-ReLU-Linear(20,3)-Linear(3,2)-Sigmoid", seq_of(5, (lam_module *[]){lin(10, 20, true), act(0), lin(20, 3, true), lin(3, 2, true), act(1)}), 10},
        {"Linear(12,40)-Sigmoid-Linear(40,9) (N > 8: not fused)", seq_of(3, (lam_module *[]){lin(12, 40, true), act(1), lin(40, 9, true)}), 12},
    };
    static const int64_t batches[] = {1, 7, 8, 9, 15, 16, 17, 40, 100, 1000, 4099};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        cr_assert_not_null(models[i].m);
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++)
            check_layer_by_layer(models[i].m, 2, (int64_t[]){batches[b], models[i].in}, models[i].name);
        check_layer_by_layer(models[i].m, 3, (int64_t[]){5, 13, models[i].in}, models[i].name);
        lam_module_release(models[i].m);
    }
}
