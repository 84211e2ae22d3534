/* RegNet X/Y (torchvision/models/regnet.py): SimpleStemIN, AnyStage and
 * BottleneckTransform are nn.Sequential subclasses (Sequentials under
 * their own names); ResBottleneckBlock adds the projection shortcut.  The
 * Y models' squeeze-excitation is torchvision.ops' SqueezeExcitation
 * (mobile.c). */
#include "tv.h"

/* activation((proj(x) if proj else x) + f(x)) */
static lam_status res_bottleneck(tv_ctx *c, tv_val *x)
{
    tv_val idn;
    tv_copy(c, x, &idn);
    lam_module *proj = c->h->module_child(c->self, "proj");
    lam_status st = proj ? tv_run(c, proj, &idn) : LAM_OK;
    if (!st)
        st = tv_call(c, "f", x);
    if (!st)
        st = tv_add(c, x, &idn); /* (into the convolution's epilogue, with the ReLU) */
    if (!st)
        st = tv_call_inplace_last(c, "activation", x);
    tv_drop(c, &idn);
    return st;
}

TV_CONTAINER(res_bottleneck)

static const lam_layer_type res_bottleneck_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "ResBottleneckBlock",
    .py_module = "torchvision.models.regnet",
    .doc = "activation((proj(x) or x) + f(x))",
    .create = tv_create_plain,
    .output_shape = res_bottleneck_shape,
    .forward = res_bottleneck_forward,
};

TV_SEQUENTIAL(stem_type, "SimpleStemIN");
TV_SEQUENTIAL(stage_type, "AnyStage");
TV_SEQUENTIAL(transform_type, "BottleneckTransform");
TV_TOP(regnet_type, "RegNet", "stem trunk_output avgpool @flatten fc");

static const lam_layer_type *const types[] = {&res_bottleneck_type, &stem_type, &stage_type,
                                              &transform_type, &regnet_type};
const tv_family tv_regnet_family = {types, TV_COUNT(types)};
