/* ResNet, ResNeXt and Wide ResNet (torchvision/models/resnet.py): BasicBlock,
 * Bottleneck and the ResNet model.  groups and width_per_group (ResNeXt,
 * Wide ResNet) live in the convolutions the repr prints; the stride lives in
 * conv1 (BasicBlock) or conv2 (Bottleneck) and in `downsample`, which is
 * there exactly when the identity needs a projection. */
#include "tv.h"

/* out = relu(body(x) + (downsample(x) if downsample else x)) */
static lam_status residual(tv_ctx *c, tv_val *x, const char *body)
{
    tv_val idn;
    tv_copy(c, x, &idn);
    lam_module *ds = c->h->module_child(c->self, "downsample");
    lam_status st = ds ? tv_run(c, ds, &idn) : LAM_OK;
    if (!st)
        st = tv_chain(c, body, x);
    if (!st)
        st = tv_add(c, x, &idn); /* (into the convolution's epilogue, with the ReLU) */
    if (!st)
        st = tv_call_inplace_last(c, "relu", x);
    tv_drop(c, &idn);
    return st;
}

static lam_status basic_block(tv_ctx *c, tv_val *x)
{
    return residual(c, x, "conv1 bn1 relu conv2 bn2");
}

static lam_status bottleneck(tv_ctx *c, tv_val *x)
{
    return residual(c, x, "conv1 bn1 relu conv2 bn2 relu conv3 bn3");
}

TV_CONTAINER(basic_block)
TV_CONTAINER(bottleneck)

static const lam_layer_type basic_block_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "BasicBlock",
    .py_module = "torchvision.models.resnet",
    .doc = "relu(bn2(conv2(relu(bn1(conv1(x))))) + (downsample(x) or x))",
    .create = tv_create_plain,
    .output_shape = basic_block_shape,
    .forward = basic_block_forward,
};

static const lam_layer_type bottleneck_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "Bottleneck",
    .py_module = "torchvision.models.resnet",
    .doc = "relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + (downsample(x) or x))",
    .create = tv_create_plain,
    .output_shape = bottleneck_shape,
    .forward = bottleneck_forward,
};

TV_TOP(resnet_type, "ResNet",
       "conv1 bn1 relu maxpool layer1 layer2 layer3 layer4 avgpool @flatten fc");

static const lam_layer_type *const types[] = {&basic_block_type, &bottleneck_type, &resnet_type};
const tv_family tv_resnet_family = {types, TV_COUNT(types)};
