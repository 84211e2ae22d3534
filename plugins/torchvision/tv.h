/* The torchvision plugin's shared pieces (plugins/torchvision/).
 *
 * Each block's forward is written once, over tv_val: a value that is either
 * a tensor (forward) or only its shape (output_shape), so the shape a plan
 * asks for and the tensor the forward makes cannot disagree.  The helpers
 * run children through the host's call machinery (host->module_forward,
 * whose outputs come from the plan's per-thread pools) and the math through
 * the host's tensor ops; a plugin type never computes a convolution itself. */
#ifndef LAMINA_PLUGINS_TORCHVISION_TV_H
#define LAMINA_PLUGINS_TORCHVISION_TV_H

#include <lamina/plugin.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef struct tv_ctx {
    const lam_host_api *h;
    bool shape_only; /* output_shape: values carry shapes, no tensors */
    lam_module *self;
} tv_ctx;

/* A tensor (owned: released with tv_drop) or, when shape_only, a shape. */
typedef struct tv_val {
    lam_tensor *t;
    int nd;
    int64_t s[LAM_MAX_DIMS];
} tv_val;

/* ---- values ---- */
void tv_drop(tv_ctx *c, tv_val *v);
/* a second owned handle to the same value */
void tv_copy(tv_ctx *c, const tv_val *v, tv_val *out);

/* ---- children ---- */
/* self's child `name`, or an error naming what the forward needs */
lam_status tv_need(tv_ctx *c, const char *name, lam_module **out);
/* *v = m(*v) */
lam_status tv_run(tv_ctx *c, lam_module *m, tv_val *v);
/* *v = self.name(*v) */
lam_status tv_call(tv_ctx *c, const char *name, tv_val *v);
/* *v = self.name(*v) where v's tensor is the forward's own (made by an op
 * in this forward, not a child's output it may keep): a ReLU child as
 * F.relu in place, any other child as tv_call */
lam_status tv_call_inplace(tv_ctx *c, const char *name, tv_val *v);
/* The same as the forward's final result: a ReLU child into the caller's
 * output buffer when it offers one (host->forward_output), else in place */
lam_status tv_call_inplace_last(tv_ctx *c, const char *name, tv_val *v);
/* *v = self.a(*v), self.b(...), ... for the space-separated names in `names` */
lam_status tv_chain(tv_ctx *c, const char *names, tv_val *v);

/* ---- ops ---- */
lam_status tv_add(tv_ctx *c, tv_val *a, const tv_val *b);   /* a += b (a new tensor) */
lam_status tv_mul(tv_ctx *c, tv_val *a, const tv_val *b);   /* a *= b, broadcasting */
/* The same, as the forward's final result: written into the caller's
 * output buffer when it offers one (host->forward_output), saving the copy */
lam_status tv_add_last(tv_ctx *c, tv_val *a, const tv_val *b);
lam_status tv_mul_last(tv_ctx *c, tv_val *a, const tv_val *b);
lam_status tv_relu(tv_ctx *c, tv_val *v);
lam_status tv_flatten(tv_ctx *c, tv_val *v);                /* torch.flatten(x, 1) */
lam_status tv_mean_hw(tv_ctx *c, tv_val *v, bool keepdim);  /* x.mean([2, 3]) */
/* torch.cat(vals, 1): consumes vals[0..n) */
lam_status tv_cat(tv_ctx *c, size_t n, tv_val *vals, tv_val *out);
/* x.chunk(2, dim=1) */
lam_status tv_chunk2(tv_ctx *c, const tv_val *x, tv_val *a, tv_val *b);
/* ShuffleNet's channel_shuffle(x, groups) */
lam_status tv_channel_shuffle(tv_ctx *c, tv_val *v, int64_t groups);

/* ---- strides that the repr of a block does not print ---- */
/* Whether module m keeps the spatial size and channel count of an input of
 * `channels` channels (asked by shape inference on a 16 x 16 probe):
 * torchvision's "stride == 1 and in_channels == out_channels", the rule of
 * every inverted residual's skip connection. */
lam_status tv_keeps_shape(tv_ctx *c, lam_module *m, int64_t channels, bool *keeps);

/* Give a Permute() that printed no dims (torchvision's Permute) these 4
 * dims; anything else is left as it is (convnext.c). */
void tv_permute_give(const lam_host_api *h, lam_module *m, const int dims[4]);

/* ---- types ---- */
/* A container type whose forward is tv_fn: TV_CONTAINER(basic_block) makes
 * basic_block_forward and basic_block_shape for a lam_layer_type. */
typedef lam_status (*tv_fn)(tv_ctx *c, tv_val *x);
lam_status tv_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                      lam_tensor **out, tv_fn fn);
lam_status tv_shape(const lam_host_api *h, lam_module *self, int ndim, const int64_t *in,
                    int *out_ndim, int64_t *out, tv_fn fn);
#define TV_CONTAINER(fn)                                                                           \
    static lam_status fn##_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in, \
                                   void *args, lam_tensor **out)                                  \
    {                                                                                              \
        (void)args;                                                                                \
        return tv_forward(h, self, in, out, fn);                                                   \
    }                                                                                              \
    static lam_status fn##_shape(const lam_host_api *h, lam_module *self, int ndim,               \
                                 const int64_t *in, int *out_ndim, int64_t *out)                  \
    {                                                                                              \
        return tv_shape(h, self, ndim, in, out_ndim, out, fn);                                     \
    }

/* create for a type without arguments or state */
lam_status tv_create_plain(const lam_host_api *h, const lam_layer_type *type,
                           const lam_value *args, lam_module **out);

/* A top-level model type (ResNet, VGG, ...): its forward is a script of
 * child names and functional steps, run in order (the type's doc, so that
 * `lamina info` shows it):
 *   @flatten  torch.flatten(x, 1)      @relu  F.relu(x)
 *   @gap      adaptive_avg_pool2d(x, 1) @mean  x.mean([2, 3])
 * Children the script does not name (GoogLeNet's aux1) are not run. */
#define TV_TOP(ident, type_name, script_text)                                                      \
    static const lam_layer_type ident = {                                                          \
        .struct_size = sizeof(lam_layer_type),                                                     \
        .name = type_name,                                                                         \
        .py_module = "torchvision.models",                                                         \
        .doc = script_text,                                                                        \
        .create = tv_top_create,                                                                   \
        .output_shape = tv_top_shape,                                                              \
        .forward = tv_top_forward,                                                                 \
        .rowwise = tv_top_rowwise,                                                                 \
    }
lam_status tv_top_create(const lam_host_api *h, const lam_layer_type *type, const lam_value *args,
                         lam_module **out);
lam_status tv_top_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                          void *args, lam_tensor **out);
lam_status tv_top_shape(const lam_host_api *h, lam_module *self, int ndim, const int64_t *in,
                        int *out_ndim, int64_t *out);
/* In eval mode a model's images are independent (BatchNorm uses its running
 * statistics): a plan may run a batch in row blocks, on several threads. */
bool tv_top_rowwise(const lam_host_api *h, const lam_module *self, int ndim);

/* A type that is a Sequential under its own name (an nn.Sequential subclass
 * that adds no forward: Conv2dNormActivation, _Transition, AnyStage). */
#define TV_SEQUENTIAL(ident, type_name)                                                            \
    static const lam_layer_type ident = {                                                          \
        .struct_size = sizeof(lam_layer_type),                                                     \
        .flags = LAM_LAYER_SEQUENTIAL,                                                             \
        .name = type_name,                                                                         \
        .py_module = "torchvision",                                                                \
        .doc = "torchvision's " type_name ", an nn.Sequential",                                    \
    }

/* Each family file's types. */
typedef struct tv_family {
    const lam_layer_type *const *types;
    size_t n;
} tv_family;
extern const tv_family tv_common_family, tv_resnet_family, tv_classic_family, tv_mobile_family,
    tv_densenet_family, tv_regnet_family, tv_convnext_family, tv_inception_family,
    tv_vit_family, tv_swin_family;

#define TV_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#endif
