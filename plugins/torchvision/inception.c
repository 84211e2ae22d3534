/* GoogLeNet and Inception v3 (torchvision/models/googlenet.py,
 * inception.py), in eval mode: BasicConv2d, GoogLeNet's Inception, Inception
 * v3's InceptionA..E, the two InceptionAux (variants of one name, told apart
 * by their children) and the two models, whose forwards skip the auxiliary
 * classifiers (eval mode returns the main logits only).
 *
 * The pools these forwards call as functions (F.avg_pool2d(x, 3, 1, 1),
 * F.max_pool2d(x, 3, 2), ...) are lamina's pooling layers, made by the
 * block's create and kept in its state: not children, so neither the repr
 * nor the state_dict shows them, as in torchvision.
 *
 * transform_input (not printed) is taken as False, the constructors'
 * default without pretrained weights. */
#include "tv.h"

enum { POOL_AVG3, POOL_MAX3S2, POOL_AVG5S3, POOL_ADAPT4, POOL_ADAPT1, N_POOLS };

typedef struct pools {
    lam_module *m[N_POOLS];
} pools;

static lam_status make_pool(const lam_host_api *h, int which, lam_module **out)
{
    lam_value k3 = LAM_INT(3), s1 = LAM_INT(1), p1 = LAM_INT(1), s2 = LAM_INT(2);
    switch (which) {
    case POOL_AVG3: {
        lam_kwarg a[] = {{"kernel_size", k3}, {"stride", s1}, {"padding", p1}};
        return h->module_create(out, "AvgPool2d", 3, a);
    }
    case POOL_MAX3S2: {
        lam_kwarg a[] = {{"kernel_size", k3}, {"stride", s2}};
        return h->module_create(out, "MaxPool2d", 2, a);
    }
    case POOL_AVG5S3: {
        lam_kwarg a[] = {{"kernel_size", LAM_INT(5)}, {"stride", LAM_INT(3)}};
        return h->module_create(out, "AvgPool2d", 2, a);
    }
    case POOL_ADAPT4: {
        lam_kwarg a[] = {{"output_size", LAM_INT(4)}};
        return h->module_create(out, "AdaptiveAvgPool2d", 1, a);
    }
    default: {
        lam_kwarg a[] = {{"output_size", LAM_INT(1)}};
        return h->module_create(out, "AdaptiveAvgPool2d", 1, a);
    }
    }
}

/* create for the blocks that call pools: every block gets the pools it
 * uses (a few bytes of state each) */
static lam_status pools_create(const lam_host_api *h, const lam_layer_type *type,
                               const lam_value *args, lam_module **out)
{
    (void)args;
    pools *p = h->alloc(sizeof *p);
    if (!p)
        return h->error(LAM_ERR_NO_MEMORY, "%s: out of memory", type->name);
    memset(p, 0, sizeof *p);
    lam_status st = h->module_new(out, type, p);
    if (st) {
        h->free(p);
        return st;
    }
    for (int i = 0; i < N_POOLS && !st; i++)
        st = make_pool(h, i, &p->m[i]);
    return st;
}

static void pools_destroy(const lam_host_api *h, void *state)
{
    pools *p = state;
    for (int i = 0; i < N_POOLS; i++)
        if (p->m[i])
            h->module_release(p->m[i]);
    h->free(p);
}

static lam_status pool(tv_ctx *c, int which, tv_val *v)
{
    const pools *p = c->h->module_state(c->self);
    return tv_run(c, p->m[which], v);
}

/* ---- BasicConv2d: relu(bn(conv(x))) ---- */

static lam_status basic_conv(tv_ctx *c, tv_val *x)
{
    lam_status st = tv_chain(c, "conv bn", x);
    return st ? st : tv_relu(c, x);
}

/* ---- branches: each branch starts from x (a pool first when `pool_first`
 * is not -1) and runs its children; the outputs are concatenated ---- */

typedef struct branch {
    int pool_first;     /* -1: none */
    const char *chain;  /* child names; NULL: the pooled x itself */
    const char *split[2]; /* Inception v3's E: then cat(split[0](y), split[1](y)) */
} branch;

static lam_status run_branch(tv_ctx *c, const branch *b, tv_val *v)
{
    lam_status st = b->pool_first >= 0 ? pool(c, b->pool_first, v) : LAM_OK;
    if (!st && b->chain)
        st = tv_chain(c, b->chain, v);
    if (st || !b->split[0])
        return st;
    tv_val two[2];
    tv_copy(c, v, &two[0]);
    two[1] = *v;
    v->t = NULL;
    st = tv_call(c, b->split[0], &two[0]);
    if (!st)
        st = tv_call(c, b->split[1], &two[1]);
    if (st) {
        tv_drop(c, &two[0]);
        tv_drop(c, &two[1]);
        return st;
    }
    return tv_cat(c, 2, two, v);
}

static lam_status branches(tv_ctx *c, tv_val *x, size_t n, const branch *bs)
{
    tv_val v[4];
    lam_status st = LAM_OK;
    size_t made = 0;
    for (; made < n && !st; made++) {
        tv_copy(c, x, &v[made]);
        st = run_branch(c, &bs[made], &v[made]);
    }
    if (st) {
        for (size_t i = 0; i < made; i++)
            tv_drop(c, &v[i]);
        return st;
    }
    tv_drop(c, x);
    return tv_cat(c, n, v, x);
}

#define BR(...) {-1, __VA_ARGS__, {NULL, NULL}}

static lam_status googlenet_inception(tv_ctx *c, tv_val *x)
{
    static const branch b[] = {BR("branch1"), BR("branch2"), BR("branch3"), BR("branch4")};
    return branches(c, x, 4, b);
}

static lam_status inception_a(tv_ctx *c, tv_val *x)
{
    static const branch b[] = {BR("branch1x1"), BR("branch5x5_1 branch5x5_2"),
                               BR("branch3x3dbl_1 branch3x3dbl_2 branch3x3dbl_3"),
                               {POOL_AVG3, "branch_pool", {NULL, NULL}}};
    return branches(c, x, 4, b);
}

static lam_status inception_b(tv_ctx *c, tv_val *x)
{
    static const branch b[] = {BR("branch3x3"),
                               BR("branch3x3dbl_1 branch3x3dbl_2 branch3x3dbl_3"),
                               {POOL_MAX3S2, NULL, {NULL, NULL}}};
    return branches(c, x, 3, b);
}

static lam_status inception_c(tv_ctx *c, tv_val *x)
{
    static const branch b[] = {
        BR("branch1x1"), BR("branch7x7_1 branch7x7_2 branch7x7_3"),
        BR("branch7x7dbl_1 branch7x7dbl_2 branch7x7dbl_3 branch7x7dbl_4 branch7x7dbl_5"),
        {POOL_AVG3, "branch_pool", {NULL, NULL}}};
    return branches(c, x, 4, b);
}

static lam_status inception_d(tv_ctx *c, tv_val *x)
{
    static const branch b[] = {BR("branch3x3_1 branch3x3_2"),
                               BR("branch7x7x3_1 branch7x7x3_2 branch7x7x3_3 branch7x7x3_4"),
                               {POOL_MAX3S2, NULL, {NULL, NULL}}};
    return branches(c, x, 3, b);
}

static lam_status inception_e(tv_ctx *c, tv_val *x)
{
    static const branch b[] = {
        BR("branch1x1"),
        {-1, "branch3x3_1", {"branch3x3_2a", "branch3x3_2b"}},
        {-1, "branch3x3dbl_1 branch3x3dbl_2", {"branch3x3dbl_3a", "branch3x3dbl_3b"}},
        {POOL_AVG3, "branch_pool", {NULL, NULL}}};
    return branches(c, x, 4, b);
}

/* GoogLeNet's InceptionAux: fc2(dropout(relu(fc1(flatten(conv(adaptive_avg_pool(x, 4))))))) */
static lam_status aux_googlenet(tv_ctx *c, tv_val *x)
{
    lam_status st = pool(c, POOL_ADAPT4, x);
    if (!st)
        st = tv_call(c, "conv", x);
    if (!st)
        st = tv_flatten(c, x);
    if (!st)
        st = tv_call(c, "fc1", x);
    if (!st)
        st = tv_relu(c, x);
    if (!st)
        st = tv_chain(c, "dropout fc2", x);
    return st;
}

/* Inception v3's: fc(flatten(adaptive_avg_pool(conv1(conv0(avg_pool(x, 5, 3))), 1))) */
static lam_status aux_inception3(tv_ctx *c, tv_val *x)
{
    lam_status st = pool(c, POOL_AVG5S3, x);
    if (!st)
        st = tv_chain(c, "conv0 conv1", x);
    if (!st)
        st = pool(c, POOL_ADAPT1, x);
    if (!st)
        st = tv_flatten(c, x);
    return st ? st : tv_call(c, "fc", x);
}

TV_CONTAINER(basic_conv)
TV_CONTAINER(googlenet_inception)
TV_CONTAINER(inception_a)
TV_CONTAINER(inception_b)
TV_CONTAINER(inception_c)
TV_CONTAINER(inception_d)
TV_CONTAINER(inception_e)
TV_CONTAINER(aux_googlenet)
TV_CONTAINER(aux_inception3)

static bool is_aux_googlenet(const lam_host_api *h, const lam_module *self)
{
    return h->module_child(self, "fc1") != NULL;
}
static bool is_aux_inception3(const lam_host_api *h, const lam_module *self)
{
    return h->module_child(self, "conv0") != NULL;
}

#define BLOCK(ident, type_name, module, fn, make, text, ...)                                      \
    static const lam_layer_type ident = {                                                          \
        .struct_size = sizeof(lam_layer_type),                                                     \
        .name = type_name,                                                                         \
        .py_module = module,                                                                       \
        .doc = text,                                                                               \
        .create = make,                                                                            \
        .output_shape = fn##_shape,                                                                \
        .forward = fn##_forward,                                                                   \
        __VA_ARGS__}
#define GN "torchvision.models.googlenet"
#define I3 "torchvision.models.inception"

BLOCK(basic_conv_type, "BasicConv2d", I3, basic_conv, tv_create_plain, "relu(bn(conv(x)))");
BLOCK(inception_type, "Inception", GN, googlenet_inception, tv_create_plain,
      "cat([branch1(x), branch2(x), branch3(x), branch4(x)], 1)");
BLOCK(inception_a_type, "InceptionA", I3, inception_a, pools_create, "Inception v3's A block",
      .destroy = pools_destroy);
BLOCK(inception_b_type, "InceptionB", I3, inception_b, pools_create, "Inception v3's B block",
      .destroy = pools_destroy);
BLOCK(inception_c_type, "InceptionC", I3, inception_c, pools_create, "Inception v3's C block",
      .destroy = pools_destroy);
BLOCK(inception_d_type, "InceptionD", I3, inception_d, pools_create, "Inception v3's D block",
      .destroy = pools_destroy);
BLOCK(inception_e_type, "InceptionE", I3, inception_e, pools_create, "Inception v3's E block",
      .destroy = pools_destroy);
BLOCK(aux_googlenet_type, "InceptionAux", GN, aux_googlenet, pools_create,
      "GoogLeNet's auxiliary classifier (not run by GoogLeNet in eval mode)",
      .destroy = pools_destroy, .variant = "GoogLeNet's, with children 'conv', 'fc1', 'fc2'",
      .matches = is_aux_googlenet);
BLOCK(aux_inception3_type, "InceptionAux", I3, aux_inception3, pools_create,
      "Inception v3's auxiliary classifier (not run by Inception3 in eval mode)",
      .destroy = pools_destroy, .variant = "Inception v3's, with children 'conv0', 'conv1', 'fc'",
      .matches = is_aux_inception3);

TV_TOP(googlenet_type, "GoogLeNet",
       "conv1 maxpool1 conv2 conv3 maxpool2 inception3a inception3b maxpool3 inception4a "
       "inception4b inception4c inception4d inception4e maxpool4 inception5a inception5b "
       "avgpool @flatten dropout fc");
TV_TOP(inception3_type, "Inception3",
       "Conv2d_1a_3x3 Conv2d_2a_3x3 Conv2d_2b_3x3 maxpool1 Conv2d_3b_1x1 Conv2d_4a_3x3 maxpool2 "
       "Mixed_5b Mixed_5c Mixed_5d Mixed_6a Mixed_6b Mixed_6c Mixed_6d Mixed_6e Mixed_7a "
       "Mixed_7b Mixed_7c avgpool dropout @flatten fc");

static const lam_layer_type *const types[] = {
    &basic_conv_type,  &inception_type,   &inception_a_type,   &inception_b_type,
    &inception_c_type, &inception_d_type, &inception_e_type,   &aux_googlenet_type,
    &aux_inception3_type, &googlenet_type, &inception3_type};
const tv_family tv_inception_family = {types, TV_COUNT(types)};
