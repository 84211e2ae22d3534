/* Models shared by the threading tests: the canonical examples and an MLP. */
#ifndef LAMINA_TESTS_THREADS_MODELS_H
#define LAMINA_TESTS_THREADS_MODELS_H

#include <lamina/lamina.h>
#include <stdlib.h>

/* Sequential(Linear(10,50), ReLU(), Linear(50,2), Sigmoid()) */
static inline lam_module *make_seed_model(void)
{
    lam_module *l[4], *m = NULL;
    if (lam_linear_create(&l[0], 10, 50, true) || lam_relu_create(&l[1]) ||
        lam_linear_create(&l[2], 50, 2, true) || lam_sigmoid_create(&l[3]))
        return NULL;
    lam_sequential_create(&m, 4, l);
    for (int i = 0; i < 4; i++)
        lam_module_release(l[i]);
    if (m)
        lam_module_eval(m);
    return m;
}

/* MLP 784-1024-1024-10 with ReLU, or smaller widths for quick tests */
static inline lam_module *make_mlp(int64_t in, int64_t hidden, int64_t out)
{
    lam_module *l[5], *m = NULL;
    if (lam_linear_create(&l[0], in, hidden, true) || lam_relu_create(&l[1]) ||
        lam_linear_create(&l[2], hidden, hidden, true) || lam_relu_create(&l[3]) ||
        lam_linear_create(&l[4], hidden, out, true))
        return NULL;
    lam_sequential_create(&m, 5, l);
    for (int i = 0; i < 5; i++)
        lam_module_release(l[i]);
    if (m)
        lam_module_eval(m);
    return m;
}

/* MyModel: a custom forward that loops over a ModuleList child "layers" */
static inline lam_status loop_forward(lam_module *self, const lam_tensor *x, void *args,
                                      lam_tensor **out)
{
    (void)args;
    lam_module *layers = lam_module_child(self, "layers");
    const lam_tensor *cur = x;
    lam_tensor *owned = NULL;
    for (size_t i = 0; i < lam_container_len(layers); i++) {
        lam_module *layer;
        lam_tensor *next = NULL;
        lam_status st = lam_container_get(layers, (int64_t)i, &layer);
        if (!st)
            st = lam_module_forward(layer, cur, &next);
        lam_tensor_release(owned);
        if (st)
            return st;
        cur = owned = next;
    }
    *out = owned;
    return LAM_OK;
}

static inline lam_module *make_loop_model(int64_t in, int64_t hidden, int64_t out)
{
    lam_module *l[4], *list = NULL, *m = NULL;
    if (lam_linear_create(&l[0], in, hidden, true) || lam_relu_create(&l[1]) ||
        lam_linear_create(&l[2], hidden, out, true) || lam_sigmoid_create(&l[3]))
        return NULL;
    lam_modulelist_create(&list, 4, l);
    for (int i = 0; i < 4; i++)
        lam_module_release(l[i]);
    lam_custom_spec spec = {.type_name = "MyModel", .forward = loop_forward};
    if (!list || lam_custom_create(&m, &spec) || lam_module_add_child(m, "layers", list)) {
        lam_module_release(list);
        lam_module_release(m);
        return NULL;
    }
    lam_module_release(list);
    lam_module_eval(m);
    return m;
}

/* A deterministic input in [-2, 2) */
static inline lam_tensor *make_input(int64_t rows, int64_t cols, unsigned seed)
{
    int64_t shape[2] = {rows, cols};
    lam_tensor *t;
    if (lam_tensor_create(&t, 2, shape))
        return NULL;
    float *d = lam_tensor_data(t);
    unsigned s = seed * 2654435761u + 1;
    for (int64_t i = 0; i < rows * cols; i++) {
        s = s * 1664525u + 1013904223u;
        d[i] = (float)((s >> 8) & 0xffff) / 16384.0f - 2.0f;
    }
    return t;
}

/* MyModel.output_shape: the layers' shapes in turn */
static inline lam_status loop_shape(lam_module *self, int ndim, const int64_t *shape,
                                    int *out_ndim, int64_t *out_shape)
{
    lam_module *layers = lam_module_child(self, "layers");
    int nd = ndim;
    int64_t cur[LAM_MAX_DIMS];
    for (int i = 0; i < ndim; i++)
        cur[i] = shape[i];
    for (size_t i = 0; i < lam_container_len(layers); i++) {
        lam_module *layer;
        lam_status st = lam_container_get(layers, (int64_t)i, &layer);
        if (!st)
            st = lam_module_output_shape(layer, nd, cur, &nd, cur);
        if (st)
            return st;
    }
    *out_ndim = nd;
    for (int i = 0; i < nd; i++)
        out_shape[i] = cur[i];
    return LAM_OK;
}

/* MyModel with an output_shape, declared row-independent when `rowwise`
 * (what a plan needs to run it with a forward pool, on row blocks) */
static inline lam_module *make_loop_model_shaped(int64_t in, int64_t hidden, int64_t out,
                                                 bool rowwise)
{
    lam_module *l[4], *list = NULL, *m = NULL;
    if (lam_linear_create(&l[0], in, hidden, true) || lam_relu_create(&l[1]) ||
        lam_linear_create(&l[2], hidden, out, true) || lam_sigmoid_create(&l[3]))
        return NULL;
    lam_modulelist_create(&list, 4, l);
    for (int i = 0; i < 4; i++)
        lam_module_release(l[i]);
    lam_custom_spec spec = {.type_name = "MyModel", .forward = loop_forward,
                            .output_shape = loop_shape};
    if (!list || lam_custom_create(&m, &spec) || lam_module_add_child(m, "layers", list) ||
        lam_custom_set_flags(m, rowwise ? LAM_CUSTOM_ROWWISE : 0)) {
        lam_module_release(list);
        lam_module_release(m);
        return NULL;
    }
    lam_module_release(list);
    lam_module_eval(m);
    return m;
}

#ifdef LAM_TEST_GATED_PLUGIN
/* GatedResidual (tests/plugins/gated.c) over a ModuleList of three
 * Linear(n, n); NULL when it cannot load */
static inline lam_module *make_gated_plugin(int64_t n)
{
    if (!lam_layer_type_exists("GatedResidual") && lam_plugin_load(LAM_TEST_GATED_PLUGIN, NULL))
        return NULL;
    lam_module *l[3] = {NULL, NULL, NULL}, *list = NULL, *m = NULL;
    for (int i = 0; i < 3; i++)
        if (lam_linear_create(&l[i], n, n, true))
            return NULL;
    lam_modulelist_create(&list, 3, l);
    for (int i = 0; i < 3; i++)
        lam_module_release(l[i]);
    if (!list || lam_module_create(&m, "GatedResidual", 0, NULL) ||
        lam_module_add_child(m, "layers", list)) {
        lam_module_release(list);
        lam_module_release(m);
        return NULL;
    }
    lam_module_release(list);
    lam_module_eval(m);
    return m;
}

#endif

/* A top-level torchvision model type (the shipped torchvision plugin's
 * ResNet: resnet18 at an eighth of its widths, 8 input channels), for inputs
 * [N, 8, 8, 6]: row-independent in eval mode, so a plan runs a batch in row
 * blocks, the custom forward on several threads at once. */
static const char TV_RESNET[] __attribute__((unused)) =
    "ResNet(\n"
    "  (conv1): Conv2d(8, 8, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)\n"
    "  (bn1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "  (relu): ReLU(inplace=True)\n"
    "  (maxpool): MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)\n"
    "  (layer1): Sequential(\n"
    "    (0): BasicBlock(\n"
    "      (conv1): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"
    "      (bn1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "      (relu): ReLU(inplace=True)\n"
    "      (conv2): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"
    "      (bn2): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "    )\n"
    "  )\n"
    "  (layer2): Sequential(\n"
    "    (0): BasicBlock(\n"
    "      (conv1): Conv2d(8, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)\n"
    "      (bn1): BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "      (relu): ReLU(inplace=True)\n"
    "      (conv2): Conv2d(16, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"
    "      (bn2): BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "      (downsample): Sequential(\n"
    "        (0): Conv2d(8, 16, kernel_size=(1, 1), stride=(2, 2), bias=False)\n"
    "        (1): BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "      )\n"
    "    )\n"
    "  )\n"
    "  (layer3): Sequential(\n"
    "    (0): BasicBlock(\n"
    "      (conv1): Conv2d(16, 32, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)\n"
    "      (bn1): BatchNorm2d(32, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "      (relu): ReLU(inplace=True)\n"
    "      (conv2): Conv2d(32, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"
    "      (bn2): BatchNorm2d(32, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "      (downsample): Sequential(\n"
    "        (0): Conv2d(16, 32, kernel_size=(1, 1), stride=(2, 2), bias=False)\n"
    "        (1): BatchNorm2d(32, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "      )\n"
    "    )\n"
    "  )\n"
    "  (layer4): Sequential(\n"
    "    (0): BasicBlock(\n"
    "      (conv1): Conv2d(32, 64, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)\n"
    "      (bn1): BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "      (relu): ReLU(inplace=True)\n"
    "      (conv2): Conv2d(64, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"
    "      (bn2): BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "      (downsample): Sequential(\n"
    "        (0): Conv2d(32, 64, kernel_size=(1, 1), stride=(2, 2), bias=False)\n"
    "        (1): BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "      )\n"
    "    )\n"
    "  )\n"
    "  (avgpool): AdaptiveAvgPool2d(output_size=(1, 1))\n"
    "  (fc): Linear(in_features=64, out_features=10, bias=True)\n"
    ")\n";

#endif
