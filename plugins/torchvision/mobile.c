/* The inverted-residual families: MobileNetV2, MobileNetV3, ShuffleNetV2,
 * MNASNet and EfficientNet v1/v2 (torchvision/models/mobilenetv2.py,
 * mobilenetv3.py, shufflenetv2.py, mnasnet.py, efficientnet.py), with
 * torchvision.ops' SqueezeExcitation.
 *
 * Three torchvision classes print as "InvertedResidual": they are three
 * variants of the type, told apart by their children (`conv`, `block`,
 * `branch1` + `branch2`).  None of these blocks prints its stride or its
 * channel counts; the skip connection ("stride == 1 and in == out") is
 * asked of the body by shape inference (tv_keeps_shape), and ShuffleNet's
 * stride shows in whether branch1 is empty. */
#include "tv.h"

/* SqueezeExcitation: x * scale_activation(fc2(activation(fc1(avgpool(x))))) */
static lam_status squeeze_excitation(tv_ctx *c, tv_val *x)
{
    tv_val s;
    tv_copy(c, x, &s);
    lam_status st = tv_chain(c, "avgpool fc1 activation fc2 scale_activation", &s);
    if (!st)
        st = tv_mul_last(c, x, &s);
    tv_drop(c, &s);
    return st;
}

/* y = body(x); with the skip connection, y = x + stochastic_depth(y) */
static lam_status skip_block(tv_ctx *c, tv_val *x, const char *body, bool stochastic_depth)
{
    lam_module *m;
    lam_status st = tv_need(c, body, &m);
    if (st)
        return st;
    if (x->nd != 4)
        return c->h->error(LAM_ERR_SHAPE, "%s: expected a 4-d input (N, C, H, W), got %d-d",
                           c->h->module_type_name(c->self), x->nd);
    bool skip;
    if ((st = tv_keeps_shape(c, m, x->s[1], &skip)))
        return st;
    tv_val idn = {0};
    if (skip)
        tv_copy(c, x, &idn);
    st = tv_run(c, m, x);
    if (!st && skip && stochastic_depth) {
        /* torchvision's StochasticDepth is the identity in eval mode: skip
         * the call (and its copy); in training mode it runs (and refuses) */
        lam_module *sd;
        st = tv_need(c, "stochastic_depth", &sd);
        if (!st && (strcmp(c->h->module_type_name(sd), "StochasticDepth") ||
                    c->h->module_is_training(sd)))
            st = tv_run(c, sd, x);
    }
    if (!st && skip)
        st = tv_add_last(c, x, &idn);
    tv_drop(c, &idn);
    return st;
}

static lam_status ir_v2(tv_ctx *c, tv_val *x) { return skip_block(c, x, "conv", false); }
static lam_status ir_v3(tv_ctx *c, tv_val *x) { return skip_block(c, x, "block", false); }
static lam_status mnas_ir(tv_ctx *c, tv_val *x) { return skip_block(c, x, "layers", false); }
static lam_status mbconv(tv_ctx *c, tv_val *x) { return skip_block(c, x, "block", true); }

/* ShuffleNetV2's InvertedResidual: stride 1 (branch1 empty):
 * cat(x1, branch2(x2)) of x.chunk(2, dim=1); else cat(branch1(x), branch2(x));
 * then channel_shuffle(out, 2). */
static lam_status ir_shuffle(tv_ctx *c, tv_val *x)
{
    lam_module *b1, *b2;
    lam_status st = tv_need(c, "branch1", &b1);
    if (!st)
        st = tv_need(c, "branch2", &b2);
    if (st)
        return st;
    tv_val v[2] = {{0}, {0}};
    if (c->h->module_num_children(b1) == 0) {
        st = tv_chunk2(c, x, &v[0], &v[1]);
        tv_drop(c, x);
        if (!st)
            st = tv_run(c, b2, &v[1]);
    } else {
        tv_copy(c, x, &v[1]);
        v[0] = *x;
        x->t = NULL;
        st = tv_run(c, b1, &v[0]);
        if (!st)
            st = tv_run(c, b2, &v[1]);
    }
    if (st) {
        tv_drop(c, &v[0]);
        tv_drop(c, &v[1]);
        return st;
    }
    st = tv_cat(c, 2, v, x);
    return st ? st : tv_channel_shuffle(c, x, 2);
}

TV_CONTAINER(squeeze_excitation)
TV_CONTAINER(ir_v2)
TV_CONTAINER(ir_v3)
TV_CONTAINER(ir_shuffle)
TV_CONTAINER(mnas_ir)
TV_CONTAINER(mbconv)

static bool has(const lam_host_api *h, const lam_module *self, const char *name)
{
    return h->module_child(self, name) != NULL;
}
static bool is_v2(const lam_host_api *h, const lam_module *self) { return has(h, self, "conv"); }
static bool is_v3(const lam_host_api *h, const lam_module *self) { return has(h, self, "block"); }
static bool is_shuffle(const lam_host_api *h, const lam_module *self)
{
    return has(h, self, "branch1") && has(h, self, "branch2");
}

#define CONTAINER(ident, type_name, module, fn, text, ...)                                        \
    static const lam_layer_type ident = {                                                          \
        .struct_size = sizeof(lam_layer_type),                                                     \
        .name = type_name,                                                                         \
        .py_module = module,                                                                       \
        .doc = text,                                                                               \
        .create = tv_create_plain,                                                                 \
        .output_shape = fn##_shape,                                                                \
        .forward = fn##_forward,                                                                   \
        __VA_ARGS__}

CONTAINER(se_type, "SqueezeExcitation", "torchvision.ops.misc", squeeze_excitation,
          "x * scale_activation(fc2(activation(fc1(avgpool(x)))))");
CONTAINER(ir_v2_type, "InvertedResidual", "torchvision.models.mobilenetv2", ir_v2,
          "MobileNetV2's: x + conv(x) when conv keeps the shape, else conv(x)",
          .variant = "MobileNetV2's, with a child 'conv'", .matches = is_v2);
CONTAINER(ir_v3_type, "InvertedResidual", "torchvision.models.mobilenetv3", ir_v3,
          "MobileNetV3's: x + block(x) when block keeps the shape, else block(x)",
          .variant = "MobileNetV3's, with a child 'block'", .matches = is_v3);
CONTAINER(ir_shuffle_type, "InvertedResidual", "torchvision.models.shufflenetv2", ir_shuffle,
          "ShuffleNetV2's: two branches concatenated, then channel_shuffle(2)",
          .variant = "ShuffleNetV2's, with children 'branch1' and 'branch2'",
          .matches = is_shuffle);
CONTAINER(mnas_ir_type, "_InvertedResidual", "torchvision.models.mnasnet", mnas_ir,
          "MNASNet's: x + layers(x) when layers keeps the shape, else layers(x)");
CONTAINER(mbconv_type, "MBConv", "torchvision.models.efficientnet", mbconv,
          "x + stochastic_depth(block(x)) when block keeps the shape, else block(x)");
CONTAINER(fused_mbconv_type, "FusedMBConv", "torchvision.models.efficientnet", mbconv,
          "x + stochastic_depth(block(x)) when block keeps the shape, else block(x)");

TV_TOP(mobilenet_v2_type, "MobileNetV2", "features @gap @flatten classifier");
TV_TOP(mobilenet_v3_type, "MobileNetV3", "features avgpool @flatten classifier");
TV_TOP(shufflenet_v2_type, "ShuffleNetV2", "conv1 maxpool stage2 stage3 stage4 conv5 @mean fc");
TV_TOP(mnasnet_type, "MNASNet", "layers @mean classifier");
TV_TOP(efficientnet_type, "EfficientNet", "features avgpool @flatten classifier");

static const lam_layer_type *const types[] = {
    &se_type,           &ir_v2_type,        &ir_v3_type,      &ir_shuffle_type,
    &mnas_ir_type,      &mbconv_type,       &fused_mbconv_type, &mobilenet_v2_type,
    &mobilenet_v3_type, &shufflenet_v2_type, &mnasnet_type,     &efficientnet_type};
const tv_family tv_mobile_family = {types, TV_COUNT(types)};
