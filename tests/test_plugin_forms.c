/* Plugin ABI 1.4: types whose printed form carries less than they hold,
 * through the shipped torchvision plugin's types:
 *   - a type that is a Sequential under its own name (LAM_LAYER_SEQUENTIAL:
 *     Conv2dNormActivation) runs, plans, prints and is edited as one;
 *   - one printed name, several variants told apart by their children
 *     (InvertedResidual), with a clear error when none matches, in model
 *     files and through lam_module_bind by hand;
 *   - a parameter the repr never shows (CNBlock's layer_scale), declared by
 *     the type's bind and loaded from a state_dict;
 *   - what the repr does not print, recovered from the children (the stride
 *     of a block by shape inference, Permute's dims from its CNBlock). */
#include <criterion/criterion.h>
#include <lamina/lamina.h>
#include <lamina/plugin.h>
#include <lamina/registry.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/threads/models.h"

#ifndef LAM_TEST_SHIPPED_DIR
#define LAM_TEST_SHIPPED_DIR "plugins/.libs"
#endif

#define OK(call)                                                                                   \
    do {                                                                                           \
        lam_status st_ = (call);                                                                   \
        cr_assert(st_ == LAM_OK, "%s -> %s: %s", #call, lam_status_str(st_), lam_last_error());   \
    } while (0)

static void setup(void)
{
    lam_manual_seed(7);
    lam_plugin *p = NULL;
    OK(lam_plugin_load(LAM_TEST_SHIPPED_DIR "/torchvision.so", &p));
}

TestSuite(forms, .init = setup);

static lam_module *parse(const char *text)
{
    lam_module *m = NULL;
    OK(lam_model_parse(text, strlen(text), "t.lam", &m));
    lam_module_eval(m);
    return m;
}

static lam_status parse_fails(const char *text)
{
    lam_module *m = NULL;
    lam_status st = lam_model_parse(text, strlen(text), "t.lam", &m);
    cr_assert_neq(st, LAM_OK, "parsed: %s", text);
    cr_assert_null(m);
    return st;
}

static lam_tensor *input(int64_t n, int64_t c, int64_t h, int64_t w)
{
    int64_t shape[4] = {n, c, h, w};
    lam_tensor *t;
    OK(lam_tensor_create(&t, 4, shape));
    float *d = lam_tensor_data(t);
    for (int64_t i = 0; i < lam_tensor_numel(t); i++)
        d[i] = (float)sin(0.37 * (double)i) * 2.0f;
    return t;
}

static lam_tensor *run(lam_module *m, const lam_tensor *x)
{
    lam_tensor *y = NULL;
    OK(lam_module_forward(m, x, &y));
    return y;
}

static void expect_same(const lam_tensor *a, const lam_tensor *b)
{
    cr_assert_eq(lam_tensor_numel(a), lam_tensor_numel(b));
    cr_assert(memcmp(lam_tensor_cdata(a), lam_tensor_cdata(b),
                     sizeof(float) * (size_t)lam_tensor_numel(a)) == 0);
}

#define CNA                                                                                        \
    "Conv2dNormActivation(\n"                                                                      \
    "  (0): Conv2d(4, 6, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"         \
    "  (1): BatchNorm2d(6, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"     \
    "  (2): ReLU(inplace=True)\n"                                                                  \
    ")"

Test(forms, sequential_under_its_own_name)
{
    lam_module *m = parse(CNA);
    cr_expect_str_eq(lam_module_type_name(m), "Conv2dNormActivation");
    cr_expect(lam_module_is_sequential(m));
    char *r = lam_module_repr(m);
    cr_expect_str_eq(r, CNA); /* prints as torchvision does: the file back */
    lam_free(r);

    /* runs exactly as a plain Sequential of the same children */
    lam_module *kids[3];
    for (size_t i = 0; i < 3; i++)
        kids[i] = lam_module_child_at(m, i, NULL);
    lam_module *plain;
    OK(lam_sequential_create(&plain, 3, kids));
    lam_module_eval(plain);
    lam_tensor *x = input(2, 4, 5, 7);
    lam_tensor *a = run(m, x), *b = run(plain, x);
    expect_same(a, b);
    int nd;
    int64_t s[LAM_MAX_DIMS];
    OK(lam_module_output_shape(m, 4, lam_tensor_shape(x), &nd, s));
    cr_expect(nd == 4 && s[0] == 2 && s[1] == 6 && s[2] == 5 && s[3] == 7);

    /* the container API edits it; + makes a plain Sequential, as PyTorch's */
    lam_module *sum;
    OK(lam_container_concat(m, plain, &sum));
    cr_expect_str_eq(lam_module_type_name(sum), "Sequential");
    cr_expect_eq(lam_module_num_children(sum), 6);
    lam_module *relu;
    OK(lam_module_create(&relu, "ReLU", 0, NULL));
    OK(lam_container_append(m, relu));
    cr_expect_eq(lam_module_num_children(m), 4);
    lam_module_release(relu);
    lam_module_release(sum);
    lam_tensor_release(a);
    lam_tensor_release(b);
    lam_tensor_release(x);
    lam_module_release(plain);
    lam_module_release(m);
}

#define IR_V2(stride)                                                                              \
    "InvertedResidual(\n"                                                                          \
    "  (conv): Sequential(\n"                                                                      \
    "    (0): Conv2d(4, 4, kernel_size=(3, 3), stride=(" #stride ", " #stride                     \
    "), padding=(1, 1), groups=4, bias=False)\n"                                                   \
    "    (1): BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"   \
    "  )\n"                                                                                        \
    ")"

Test(forms, variant_by_children_and_stride_from_shapes)
{
    /* stride 1 and in == out: x + conv(x) */
    lam_module *m = parse(IR_V2(1));
    lam_module *conv = lam_module_child(m, "conv");
    lam_tensor *x = input(1, 4, 6, 5);
    lam_tensor *y = run(m, x), *c = run(conv, x);
    const float *xd = lam_tensor_cdata(x), *yd = lam_tensor_cdata(y), *cd = lam_tensor_cdata(c);
    for (int64_t i = 0; i < lam_tensor_numel(x); i++)
        cr_assert_eq(yd[i], xd[i] + cd[i], "at %lld", (long long)i);
    lam_tensor_release(y);
    lam_tensor_release(c);
    lam_module_release(m);

    /* stride 2 (printed only in the child): no skip connection */
    m = parse(IR_V2(2));
    y = run(m, x);
    c = run(lam_module_child(m, "conv"), x);
    cr_expect_eq(lam_tensor_shape(y)[2], 3);
    expect_same(y, c);
    lam_tensor_release(y);
    lam_tensor_release(c);
    lam_module_release(m);

    /* ShuffleNetV2's form: branch1 empty (stride 1), branch2 the identity:
     * channel_shuffle(cat(x1, x2), 2) interleaves the two halves */
    m = parse("InvertedResidual(\n  (branch1): Sequential()\n  (branch2): Sequential()\n)");
    y = run(m, x);
    yd = lam_tensor_cdata(y);
    int64_t hw = 30;
    for (int64_t ch = 0; ch < 4; ch++)
        for (int64_t p = 0; p < hw; p++) {
            int64_t from = (ch % 2) * 2 + ch / 2; /* out channel ch <- in channel */
            cr_assert_eq(yd[ch * hw + p], xd[from * hw + p]);
        }
    lam_tensor_release(y);
    lam_module_release(m);
    lam_tensor_release(x);
}

Test(forms, no_variant_matches)
{
    cr_expect_eq(parse_fails("Sequential(\n  (0): InvertedResidual(\n    (foo): ReLU()\n  )\n)"),
                 LAM_ERR_INVALID_ARGUMENT);
    const char *want =
        "t.lam:2:8: InvertedResidual: the children match none of the forms of "
        "InvertedResidual (MobileNetV2's, with a child 'conv'; MobileNetV3's, with a child "
        "'block'; ShuffleNetV2's, with children 'branch1' and 'branch2'; its children are foo: "
        "ReLU)";
    cr_expect_str_eq(lam_last_error(), want);
    parse_fails("InvertedResidual()");
    cr_expect(strstr(lam_last_error(), "its children are none)") != NULL, "%s", lam_last_error());
}

Test(forms, bind_by_hand)
{
    /* lam_module_create gives the first variant; bind finds the form the
     * children have and replaces the module by that variant's */
    lam_module *m, *b1, *b2;
    OK(lam_module_create(&m, "InvertedResidual", 0, NULL));
    OK(lam_sequential_create(&b1, 0, NULL));
    OK(lam_sequential_create(&b2, 0, NULL));
    OK(lam_module_add_child(m, "branch1", b1));
    OK(lam_module_add_child(m, "branch2", b2));
    lam_module *before = m;
    lam_module_retain(before);
    OK(lam_module_bind(&m, 0, NULL));
    cr_expect_neq(m, before);
    cr_expect_eq(lam_module_child(m, "branch1"), b1);
    lam_tensor *x = input(1, 4, 2, 2);
    lam_tensor *y = run(m, x);
    cr_expect_eq(lam_tensor_cdata(y)[4], lam_tensor_cdata(x)[8]); /* shuffled */
    /* a module of a type without variants or bind is left alone */
    lam_module *relu = NULL, *same;
    OK(lam_module_create(&relu, "ReLU", 0, NULL));
    same = relu;
    OK(lam_module_bind(&relu, 0, NULL));
    cr_expect_eq(relu, same);
    lam_module_release(relu);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(before);
    lam_module_release(b1);
    lam_module_release(b2);
    lam_module_release(m);
}

#define CNBLOCK                                                                                    \
    "CNBlock(\n"                                                                                   \
    "  (block): Sequential(\n"                                                                     \
    "    (0): Conv2d(4, 4, kernel_size=(7, 7), stride=(1, 1), padding=(3, 3), groups=4)\n"        \
    "    (1): Permute()\n"                                                                         \
    "    (2): LayerNorm((4,), eps=1e-06, elementwise_affine=True)\n"                               \
    "    (3): Linear(in_features=4, out_features=16, bias=True)\n"                                 \
    "    (4): GELU(approximate='none')\n"                                                          \
    "    (5): Linear(in_features=16, out_features=4, bias=True)\n"                                 \
    "    (6): Permute()\n"                                                                         \
    "  )\n"                                                                                        \
    "  (stochastic_depth): StochasticDepth(p=0.0, mode=row)\n"                                    \
    ")"

Test(forms, hidden_parameter_declared_by_bind)
{
    lam_module *m = parse(CNBLOCK);
    char *r = lam_module_repr(m);
    cr_expect_str_eq(r, CNBLOCK); /* layer_scale is not printed, as in PyTorch */
    lam_free(r);
    lam_state_dict *sd;
    OK(lam_module_state_dict(m, &sd));
    lam_tensor *ls = lam_state_dict_get(sd, "layer_scale");
    cr_assert_not_null(ls, "no layer_scale in the state_dict");
    cr_expect(lam_tensor_ndim(ls) == 3 && lam_tensor_shape(ls)[0] == 4 &&
              lam_tensor_shape(ls)[1] == 1 && lam_tensor_shape(ls)[2] == 1);
    cr_expect_eq(lam_tensor_cdata(ls)[0], 1e-6f);
    /* load a layer_scale of 0: the block is then the identity */
    float *d = lam_tensor_data(ls);
    memset(d, 0, 4 * sizeof(float));
    lam_incompatible_keys keys = {0};
    OK(lam_module_load_state_dict(m, sd, true, &keys));
    lam_incompatible_keys_clear(&keys);
    lam_tensor *x = input(2, 4, 5, 3);
    lam_tensor *y = run(m, x); /* Permute's dims came from the CNBlock */
    expect_same(y, x);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_state_dict_free(sd);
    lam_module_release(m);

    /* a Permute outside a CNBlock does not know its dims */
    m = parse("Sequential(\n  (0): Permute()\n)");
    x = input(1, 2, 3, 4);
    y = NULL;
    cr_expect_neq(lam_module_forward(m, x, &y), LAM_OK);
    cr_expect(strstr(lam_last_error(), "Permute: its dims are not known") != NULL, "%s",
              lam_last_error());
    lam_tensor_release(x);
    lam_module_release(m);

    /* bind's errors fail the file at the module */
    parse_fails("Sequential(\n  (0): CNBlock(\n    (block): Sequential()\n  )\n)");
    cr_expect(strstr(lam_last_error(), "t.lam:2:8: CNBlock: expected a child 'block' whose "
                                       "first module is the depthwise Conv2d") != NULL,
              "%s", lam_last_error());
}

/* RegNet names its blocks "block1-0": a child name with dashes reads back,
 * and "(0-1): 2 x M" is still a run */
Test(forms, child_names_with_dashes)
{
    const char *text = "Sequential(\n  (block1-0): ReLU()\n  (a-1-b): Tanh()\n)";
    lam_module *m = parse(text);
    cr_expect_not_null(lam_module_child(m, "block1-0"));
    cr_expect_not_null(lam_module_child(m, "a-1-b"));
    char *r = lam_module_repr(m);
    cr_expect_str_eq(r, text);
    lam_free(r);
    lam_module_release(m);
    m = parse("Sequential(\n  (0-1): 2 x ReLU()\n)");
    cr_expect_eq(lam_module_num_children(m), 2);
    lam_module_release(m);
    parse_fails("Sequential(\n  (block1 - 0): ReLU()\n)");
}

/* A top-level model type (TV_RESNET, tests/threads/models.h: a ResNet at
 * an eighth of resnet18's widths, 8 input channels) is row-independent in
 * eval mode: a plan runs a batch in row blocks (one
 * image per block: an image's activations stay in cache through the
 * network) and on several threads at once, with the bits of the whole batch
 * through lam_module_forward; in training mode it is not (BatchNorm sums
 * over the batch). */

Test(forms, top_level_model_runs_row_blocks_with_the_same_bits)
{
    lam_module *m = parse(TV_RESNET);
    int64_t shape[4] = {9, 8, 40, 36};
    lam_tensor *x = input(9, 8, 40, 36);
    int saved = lam_get_num_threads();
    lam_set_num_threads(1);
    lam_tensor *ref = run(m, x);
    cr_assert_eq(lam_tensor_ndim(ref), 2);
    for (int t = 1; t <= 3; t++) {
        lam_set_num_threads(t);
        lam_plan *p = NULL;
        OK(lam_plan_create(&p, m, 4, shape));
        cr_expect(lam_plan_rows_independent(p), "%d threads", t);
        int nth = 0;
        const char *strat = lam_plan_strategy(p, &nth);
        /* 9 images: blocks on 1 and 2 threads; on 3, a third of the rows each */
        if (t < 3)
            cr_expect_str_eq(strat, t == 1 ? "serial" : "batch", "%d threads", t);
        cr_expect_eq(nth, t, "%s/%d for %d threads", strat, nth, t);
        lam_tensor *y = NULL;
        OK(lam_tensor_create(&y, 2, lam_tensor_shape(ref)));
        OK(lam_plan_run(p, x, y));
        expect_same(ref, y);
        OK(lam_plan_run(p, x, y)); /* and again, from the pools */
        expect_same(ref, y);
        lam_tensor_release(y);
        lam_plan_free(p);
    }
    lam_module_train(m, true);
    lam_plan *p = NULL;
    OK(lam_plan_create(&p, m, 4, shape));
    cr_expect_not(lam_plan_rows_independent(p), "a model in training mode");
    lam_plan_free(p);
    lam_set_num_threads(saved);
    lam_tensor_release(ref);
    lam_tensor_release(x);
    lam_module_release(m);
}
