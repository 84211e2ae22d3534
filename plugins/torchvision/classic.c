/* AlexNet, VGG (with and without batch norm) and SqueezeNet 1.0/1.1 (Fire)
 * (torchvision/models/alexnet.py, vgg.py, squeezenet.py). */
#include "tv.h"

TV_TOP(alexnet_type, "AlexNet", "features avgpool @flatten classifier");
TV_TOP(vgg_type, "VGG", "features avgpool @flatten classifier");
TV_TOP(squeezenet_type, "SqueezeNet", "features classifier @flatten");

/* Fire: s = squeeze_activation(squeeze(x));
 * cat([expand1x1_activation(expand1x1(s)), expand3x3_activation(expand3x3(s))], 1) */
static lam_status fire(tv_ctx *c, tv_val *x)
{
    lam_status st = tv_chain(c, "squeeze squeeze_activation", x);
    if (st)
        return st;
    tv_val b[2];
    tv_copy(c, x, &b[0]);
    b[1] = *x;
    x->t = NULL;
    st = tv_chain(c, "expand1x1 expand1x1_activation", &b[0]);
    if (!st)
        st = tv_chain(c, "expand3x3 expand3x3_activation", &b[1]);
    if (st) {
        tv_drop(c, &b[0]);
        tv_drop(c, &b[1]);
        return st;
    }
    return tv_cat(c, 2, b, x);
}

TV_CONTAINER(fire)

static const lam_layer_type fire_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "Fire",
    .py_module = "torchvision.models.squeezenet",
    .doc = "SqueezeNet's Fire: squeeze, then expand1x1 and expand3x3 concatenated",
    .create = tv_create_plain,
    .output_shape = fire_shape,
    .forward = fire_forward,
};

static const lam_layer_type *const types[] = {&alexnet_type, &vgg_type, &squeezenet_type,
                                              &fire_type};
const tv_family tv_classic_family = {types, TV_COUNT(types)};
