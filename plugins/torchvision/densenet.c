/* DenseNet (torchvision/models/densenet.py): _DenseLayer, _DenseBlock (a
 * ModuleDict whose forward concatenates every layer's output onto its
 * input), _Transition (an nn.Sequential) and the DenseNet model.  Eval mode:
 * the layers' drop_rate (not printed) is a no-op there. */
#include "tv.h"

static lam_status dense_layer(tv_ctx *c, tv_val *x)
{
    return tv_chain(c, "norm1 relu1 conv1 norm2 relu2 conv2", x);
}

/* features = [x]; for layer in self: features.append(layer(features));
 * return torch.cat(features, 1) -- each layer sees the concatenation so far */
static lam_status dense_block(tv_ctx *c, tv_val *x)
{
    size_t n = c->h->module_num_children(c->self);
    for (size_t i = 0; i < n; i++) {
        tv_val v[2];
        tv_copy(c, x, &v[1]);
        lam_status st = tv_run(c, c->h->module_child_at(c->self, i, NULL), &v[1]);
        if (st) {
            tv_drop(c, &v[1]);
            return st;
        }
        v[0] = *x;
        x->t = NULL;
        if ((st = tv_cat(c, 2, v, x)))
            return st;
    }
    return LAM_OK;
}

TV_CONTAINER(dense_layer)
TV_CONTAINER(dense_block)

static const lam_layer_type dense_layer_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "_DenseLayer",
    .py_module = "torchvision.models.densenet",
    .doc = "conv2(relu2(norm2(conv1(relu1(norm1(x))))))",
    .create = tv_create_plain,
    .output_shape = dense_layer_shape,
    .forward = dense_layer_forward,
};

static const lam_layer_type dense_block_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "_DenseBlock",
    .py_module = "torchvision.models.densenet",
    .doc = "each layer's output concatenated onto its input, on dim 1",
    .create = tv_create_plain,
    .output_shape = dense_block_shape,
    .forward = dense_block_forward,
};

TV_SEQUENTIAL(transition_type, "_Transition");
TV_TOP(densenet_type, "DenseNet", "features @relu @gap @flatten classifier");

static const lam_layer_type *const types[] = {&dense_layer_type, &dense_block_type,
                                              &transition_type, &densenet_type};
const tv_family tv_densenet_family = {types, TV_COUNT(types)};
