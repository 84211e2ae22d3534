/* Sample blocks (runtime/exec/plan.c, plan_segments): a layer that computes
 * samples alone and splits its own work (a convolution, with its folded
 * BatchNorm and joined activation) and the plane-wise layers after it
 * (pools, activations) run block by block.  For several Sequentials, odd
 * batch sizes (a last block shorter than the others), ceil_mode, padding,
 * adaptive pools, 1-d layers and chains of convolutions and pools: the plan
 * with blocks, the plan made step by step (LAMINA_SAMPLE_BLOCKS=0) and
 * lam_module_forward give the same bits on 1, 2 and 3 threads; where no
 * norm is folded, so does running the children one by one.  The plan
 * description shows the blocks; a batch whose intermediates fit in cache is
 * not cut. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

/* (arrays, not pointers: Criterion copies the parameters into the test's
 * process) */
struct block_case {
    char name[32];
    char text[768];
    int ndim;
    int64_t shape[4]; /* shape[0]: the largest batch tried */
    bool folds;       /* a norm is folded: children one by one differ */
    char steps[160]; /* the description after "strategy/n: " at that batch */
};

static struct block_case cases[] = {
    {"vgg", /* VGG's block: Conv, BN, ReLU, MaxPool */
     "Sequential(\n"
     "  (0): Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
     "  (1): BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
     "  (2): ReLU(inplace=True)\n"
     "  (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
     ")",
     4, {7, 3, 40, 40}, true, "{blocks of 3: Conv2d+BatchNorm2d+ReLU, MaxPool2d}"},
    {"ceil_pad", /* padding and ceil_mode, a plane-wise activation between two pools, 7 channels */
     "Sequential(\n"
     "  (0): Conv2d(5, 7, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"
     "  (1): BatchNorm2d(7, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
     "  (2): ReLU()\n"
     "  (3): MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True)\n"
     "  (4): Hardswish()\n"
     "  (5): AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)\n"
     ")",
     4, {5, 5, 61, 59}, true,
     "{blocks of 3: Conv2d+BatchNorm2d+ReLU, MaxPool2d, Hardswish, AvgPool2d}"},
    {"lenet", /* two convolutions and pools in one segment, then Flatten and Linear */
     "Sequential(\n"
     "  (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))\n"
     "  (1): Tanh()\n"
     "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
     "  (3): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))\n"
     "  (4): ReLU()\n"
     "  (5): AvgPool2d(kernel_size=2, stride=2, padding=0)\n"
     "  (6): Flatten(start_dim=1, end_dim=-1)\n"
     "  (7): Linear(in_features=400, out_features=10, bias=True)\n"
     ")",
     4, {65, 1, 32, 32}, false,
     "{blocks of 17: Conv2d+Tanh, MaxPool2d, Conv2d+ReLU, AvgPool2d}, Flatten, Linear"},
    {"conv1d", /* 1-d, BatchNorm1d folded, ceil_mode */
     "Sequential(\n"
     "  (0): Conv1d(4, 9, kernel_size=(5,), stride=(1,), padding=(2,))\n"
     "  (1): BatchNorm1d(9, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
     "  (2): ReLU()\n"
     "  (3): MaxPool1d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True)\n"
     ")",
     3, {9, 4, 3000}, true, "{blocks of 3: Conv1d+BatchNorm1d+ReLU, MaxPool1d}"},
    {"adaptive", /* strided convolution (im2col), adaptive max then global average */
     "Sequential(\n"
     "  (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))\n"
     "  (1): ReLU()\n"
     "  (2): AdaptiveMaxPool2d(output_size=(5, 7))\n"
     "  (3): AdaptiveAvgPool2d(output_size=1)\n"
     ")",
     4, {6, 3, 130, 130}, false,
     "{blocks of 2: Conv2d+ReLU, AdaptiveMaxPool2d, AdaptiveAvgPool2d}"},
    {"transposed_depthwise", /* one sample a block; a transposed and a depthwise convolution */
     "Sequential(\n"
     "  (0): ConvTranspose2d(4, 6, kernel_size=(2, 2), stride=(2, 2))\n"
     "  (1): ReLU()\n"
     "  (2): AvgPool2d(kernel_size=2, stride=2, padding=0)\n"
     "  (3): Conv2d(6, 6, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), groups=6)\n"
     "  (4): ReLU6()\n"
     "  (5): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=True)\n"
     ")",
     4, {3, 4, 70, 70}, false,
     "{blocks of 1: ConvTranspose2d+ReLU, AvgPool2d, Conv2d+ReLU6, MaxPool2d}"},
};

ParameterizedTestParameters(blocks, same_bits)
{
    return cr_make_param_array(struct block_case, cases, sizeof cases / sizeof cases[0]);
}

static bool same_bits(lam_tensor *a, lam_tensor *b)
{
    return a && b && lam_tensor_numel(a) == lam_tensor_numel(b) &&
           memcmp(lam_tensor_data(a), lam_tensor_data(b),
                  sizeof(float) * (size_t)lam_tensor_numel(a)) == 0;
}

/* Every float parameter and buffer drawn again (variances positive), so a
 * folded norm is not the identity. */
static void scramble(lam_module *m, unsigned seed)
{
    lam_state_dict *sd = NULL;
    cr_assert_eq(lam_module_state_dict(m, &sd), LAM_OK, "%s", lam_last_error());
    for (size_t i = 0; i < lam_state_dict_len(sd); i++) {
        const char *key = lam_state_dict_key(sd, i);
        lam_tensor *t = lam_state_dict_get(sd, key);
        if (lam_tensor_dtype(t) != LAM_FLOAT32)
            continue;
        bool positive = strstr(key, "running_var") != NULL;
        float *d = lam_tensor_data(t);
        for (int64_t j = 0; j < lam_tensor_numel(t); j++) {
            seed = seed * 1103515245u + 12345u;
            float v = (float)((seed >> 9) % 2001) / 1000.0f - 1.0f; /* [-1, 1] */
            d[j] = positive ? 0.5f + v * v : v;
        }
        lam_tensor_mark_modified(t);
    }
    lam_state_dict_free(sd);
}

static lam_tensor *planned(lam_module *m, const lam_tensor *x, char **describe)
{
    lam_plan *p = NULL;
    cr_assert_eq(lam_plan_create(&p, m, lam_tensor_ndim(x), lam_tensor_shape(x)), LAM_OK, "%s",
                 lam_last_error());
    int nd;
    int64_t os[LAM_MAX_DIMS];
    lam_tensor *y = NULL;
    cr_assert_eq(lam_plan_output_shape(p, &nd, os), LAM_OK);
    cr_assert_eq(lam_tensor_create(&y, nd, os), LAM_OK);
    cr_assert_eq(lam_plan_run(p, x, y), LAM_OK, "%s", lam_last_error());
    if (describe)
        *describe = lam_plan_describe(p);
    lam_plan_free(p);
    return y;
}

ParameterizedTest(const struct block_case *c, blocks, same_bits)
{
    lam_module *m = NULL;
    cr_assert_eq(lam_model_parse(c->text, strlen(c->text), "<case>", &m), LAM_OK, "%s: %s",
                 c->name, lam_last_error());
    scramble(m, 7);
    lam_module_eval(m);
    const int64_t batches[] = {c->shape[0], 1, 2, c->shape[0] - 1};
    for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++) {
        int64_t shape[4];
        memcpy(shape, c->shape, sizeof shape);
        shape[0] = batches[bi];
        lam_tensor *x = NULL;
        cr_assert_eq(lam_tensor_create(&x, c->ndim, shape), LAM_OK);
        float *xd = lam_tensor_data(x);
        for (int64_t i = 0; i < lam_tensor_numel(x); i++)
            xd[i] = (float)((i * 53 + bi) % 97) / 13.0f - 3.5f;

        /* the reference: the plan step by step, 1 thread */
        lam_set_num_threads(1);
        setenv("LAMINA_SAMPLE_BLOCKS", "0", 1);
        char *d = NULL;
        lam_tensor *want = planned(m, x, &d);
        cr_expect(d && !strchr(d, '{'), "%s: LAMINA_SAMPLE_BLOCKS=0 plan %s", c->name, d);
        lam_free(d);
        lam_set_num_threads(2);
        lam_tensor *y0 = planned(m, x, NULL);
        cr_expect(same_bits(want, y0), "%s batch %lld: step by step, 2 threads differ", c->name,
                  (long long)shape[0]);
        lam_tensor_release(y0);
        unsetenv("LAMINA_SAMPLE_BLOCKS");

        if (!c->folds) { /* the children one by one */
            lam_set_num_threads(1);
            lam_tensor *h = x;
            lam_tensor_retain(h);
            for (size_t i = 0; i < lam_module_num_children(m); i++) {
                lam_tensor *next = NULL;
                cr_assert_eq(lam_module_forward(lam_module_child_at(m, i, NULL), h, &next), LAM_OK,
                             "%s", lam_last_error());
                lam_tensor_release(h);
                h = next;
            }
            cr_expect(same_bits(want, h), "%s batch %lld: the children one by one differ",
                      c->name, (long long)shape[0]);
            lam_tensor_release(h);
        }
        for (int threads = 1; threads <= 3; threads++) {
            lam_set_num_threads(threads);
            lam_tensor *y = planned(m, x, &d);
            cr_expect(same_bits(want, y), "%s batch %lld, %d threads: plan %s differs", c->name,
                      (long long)shape[0], threads, d);
            if (bi == 0 && threads == 1) {
                cr_expect(d && strchr(d, ':') && strcmp(strchr(d, ':') + 2, c->steps) == 0,
                          "%s: plan %s, want ...: %s", c->name, d, c->steps);
            } else if (bi == 0) { /* block sizes may follow the threads */
                cr_expect(d && strstr(d, "{blocks of "), "%s: plan %s has no blocks", c->name, d);
            } else if (shape[0] == 1) {
                cr_expect(d && !strchr(d, '{'), "%s: batch 1 cut into blocks: %s", c->name, d);
            }
            lam_free(d);
            lam_tensor *y2 = NULL;
            cr_assert_eq(lam_module_forward(m, x, &y2), LAM_OK, "%s", lam_last_error());
            cr_expect(same_bits(want, y2), "%s batch %lld, %d threads: lam_module_forward differs",
                      c->name, (long long)shape[0], threads);
            lam_tensor_release(y);
            lam_tensor_release(y2);
        }
        lam_tensor_release(want);
        lam_tensor_release(x);
    }
    lam_module_release(m);
}

/* After a BatchNorm's statistics change, a plan with blocks refolds: the
 * same plan gives the new numbers, still those of the step-by-step plan. */
Test(blocks, refold)
{
    const char *text = cases[0].text;
    lam_module *m = NULL;
    cr_assert_eq(lam_model_parse(text, strlen(text), "<case>", &m), LAM_OK, "%s",
                 lam_last_error());
    scramble(m, 3);
    lam_module_eval(m);
    lam_set_num_threads(2);
    int64_t shape[4] = {7, 3, 40, 40};
    lam_tensor *x = NULL, *y = NULL;
    cr_assert_eq(lam_tensor_create(&x, 4, shape), LAM_OK);
    float *xd = lam_tensor_data(x);
    for (int64_t i = 0; i < lam_tensor_numel(x); i++)
        xd[i] = (float)(i % 31) / 7.0f - 2.0f;
    lam_plan *p = NULL;
    cr_assert_eq(lam_plan_create(&p, m, 4, shape), LAM_OK, "%s", lam_last_error());
    int nd;
    int64_t os[LAM_MAX_DIMS];
    cr_assert_eq(lam_plan_output_shape(p, &nd, os), LAM_OK);
    cr_assert_eq(lam_tensor_create(&y, nd, os), LAM_OK);
    cr_assert_eq(lam_plan_run(p, x, y), LAM_OK, "%s", lam_last_error());
    scramble(m, 11);
    cr_assert_eq(lam_plan_run(p, x, y), LAM_OK, "%s", lam_last_error());
    setenv("LAMINA_SAMPLE_BLOCKS", "0", 1);
    lam_tensor *want = planned(m, x, NULL);
    unsetenv("LAMINA_SAMPLE_BLOCKS");
    cr_expect(same_bits(want, y), "after new statistics, the plan with blocks differs");
    lam_tensor_release(want);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_plan_free(p);
    lam_module_release(m);
}
