/* The built-in layer types, registered statically through the same
 * lam_layer_type descriptor that plugins use, with PyTorch 1.13's
 * constructor signatures.  Each create calls the layer's C constructor. */
#include "runtime/plugin/plugin.h"
#include "runtime/layers/layers.h"
#include <limits.h>
#include <string.h>

#define TYPE(var, name_, pymod, doc_, args_, n_, create_)                                          \
    static const lam_layer_type var = {                                                            \
        .struct_size = sizeof(lam_layer_type),                                                     \
        .name = name_,                                                                             \
        .py_module = pymod,                                                                        \
        .doc = doc_,                                                                               \
        .args = args_,                                                                             \
        .n_args = n_,                                                                              \
        .create = create_,                                                                         \
    }

#define ARG_REQ(n, t, f) {.name = n, .type = t, .flags = LAM_ARG_REQUIRED | (f)}
#define ARG(n, t, f, d) {.name = n, .type = t, .flags = (f), .default_value = d}
#define INPLACE ARG("inplace", LAM_ARG_BOOL, 0, LAM_DEFAULT_BOOL(false))

/* inplace=True would change the caller's tensor in PyTorch; lamina layers
 * always write a new output, so only the (equivalent) False is accepted and
 * the repr stays PyTorch's. */
static lam_status no_inplace(const char *type, const lam_value *v)
{
    if (v->b)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "%s: inplace=True is not supported (lamina layers never modify their "
                          "input); use inplace=False, which gives the same results",
                          type);
    return LAM_OK;
}

static lam_status to_dim(const char *type, const char *arg, const lam_value *v, int *out)
{
    if (v->kind == LAM_VALUE_NONE) {
        *out = LAM_DIM_NONE;
        return LAM_OK;
    }
    if (v->i <= INT_MIN || v->i > INT_MAX) /* INT_MIN is LAM_DIM_NONE */
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "%s: %s=%lld is out of range", type, arg,
                          (long long)v->i);
    *out = (int)v->i;
    return LAM_OK;
}

/* ---- Linear, Identity ---- */

static const lam_arg_spec linear_args[] = {
    ARG_REQ("in_features", LAM_ARG_INT, LAM_ARG_POSITIVE),
    ARG_REQ("out_features", LAM_ARG_INT, LAM_ARG_POSITIVE),
    ARG("bias", LAM_ARG_BOOL, 0, LAM_DEFAULT_BOOL(true)),
};
static lam_status linear_create(const lam_host_api *h, const lam_layer_type *t, const lam_value *a,
                                lam_module **out)
{
    (void)h, (void)t;
    return lam_linear_create(out, a[0].i, a[1].i, a[2].b);
}
TYPE(linear_type, "Linear", "torch.nn.modules.linear", "y = x Wᵀ + b over the last dim",
     linear_args, 3, linear_create);

static lam_status identity_create(const lam_host_api *h, const lam_layer_type *t,
                                  const lam_value *a, lam_module **out)
{
    (void)h, (void)t, (void)a;
    return lam_identity_create(out);
}
TYPE(identity_type, "Identity", "torch.nn.modules.linear", "y = x", NULL, 0, identity_create);

/* ---- activations ---- */

static const lam_arg_spec inplace_args[] = {INPLACE};

#define SIMPLE_INPLACE(var, name_, fn)                                                             \
    static lam_status var##_create(const lam_host_api *h, const lam_layer_type *t,                 \
                                   const lam_value *a, lam_module **out)                           \
    {                                                                                              \
        (void)h, (void)t;                                                                          \
        lam_status st = no_inplace(name_, &a[0]);                                                  \
        return st ? st : fn(out);                                                                  \
    }                                                                                              \
    TYPE(var##_type, name_, "torch.nn.modules.activation", NULL, inplace_args, 1, var##_create)

#define SIMPLE(var, name_, fn)                                                                     \
    static lam_status var##_create(const lam_host_api *h, const lam_layer_type *t,                 \
                                   const lam_value *a, lam_module **out)                           \
    {                                                                                              \
        (void)h, (void)t, (void)a;                                                                 \
        return fn(out);                                                                            \
    }                                                                                              \
    TYPE(var##_type, name_, "torch.nn.modules.activation", NULL, NULL, 0, var##_create)

SIMPLE_INPLACE(relu, "ReLU", lam_relu_create);
SIMPLE_INPLACE(relu6, "ReLU6", lam_relu6_create);
SIMPLE_INPLACE(silu, "SiLU", lam_silu_create);
SIMPLE(sigmoid, "Sigmoid", lam_sigmoid_create);
SIMPLE(tanh, "Tanh", lam_tanh_create);

static const lam_arg_spec leaky_args[] = {
    ARG("negative_slope", LAM_ARG_FLOAT, LAM_ARG_FINITE, LAM_DEFAULT_FLOAT(0.01)),
    INPLACE,
};
static lam_status leaky_create(const lam_host_api *h, const lam_layer_type *t, const lam_value *a,
                               lam_module **out)
{
    (void)h, (void)t;
    lam_status st = no_inplace("LeakyReLU", &a[1]);
    if (!st && !(st = lam_leaky_relu_create(out, a[0].f)))
        lam__act_set_repr_style(*out, a[0].kind == LAM_VALUE_INT, false);
    return st;
}
TYPE(leaky_type, "LeakyReLU", "torch.nn.modules.activation", NULL, leaky_args, 2, leaky_create);

static const lam_arg_spec elu_args[] = {
    ARG("alpha", LAM_ARG_FLOAT, LAM_ARG_FINITE, LAM_DEFAULT_FLOAT(1.0)),
    INPLACE,
};
static lam_status elu_create(const lam_host_api *h, const lam_layer_type *t, const lam_value *a,
                             lam_module **out)
{
    (void)h, (void)t;
    lam_status st = no_inplace("ELU", &a[1]);
    if (!st && !(st = lam_elu_create(out, a[0].f)))
        lam__act_set_repr_style(*out, a[0].kind == LAM_VALUE_INT, false);
    return st;
}
TYPE(elu_type, "ELU", "torch.nn.modules.activation", NULL, elu_args, 2, elu_create);

static const char *const gelu_choices[] = {"none", "tanh", NULL};
static const lam_arg_spec gelu_args[] = {
    {.name = "approximate", .type = LAM_ARG_STRING, .default_value = LAM_DEFAULT_STRING("none"),
     .choices = gelu_choices},
};
static lam_status gelu_create(const lam_host_api *h, const lam_layer_type *t, const lam_value *a,
                              lam_module **out)
{
    (void)h, (void)t;
    return lam_gelu_create(out, a[0].s);
}
TYPE(gelu_type, "GELU", "torch.nn.modules.activation", NULL, gelu_args, 1, gelu_create);

/* PyTorch's defaults are the ints beta=1, threshold=20 (and print so). */
static const lam_arg_spec softplus_args[] = {
    ARG("beta", LAM_ARG_FLOAT, LAM_ARG_FINITE, LAM_DEFAULT_INT(1)),
    ARG("threshold", LAM_ARG_FLOAT, LAM_ARG_FINITE, LAM_DEFAULT_INT(20)),
};
static lam_status softplus_create(const lam_host_api *h, const lam_layer_type *t,
                                  const lam_value *a, lam_module **out)
{
    (void)h, (void)t;
    lam_status st = lam_softplus_create(out, a[0].f, a[1].f);
    if (!st)
        lam__act_set_repr_style(*out, a[0].kind == LAM_VALUE_INT, a[1].kind == LAM_VALUE_INT);
    return st;
}
TYPE(softplus_type, "Softplus", "torch.nn.modules.activation", NULL, softplus_args, 2,
     softplus_create);

static const lam_arg_spec dim_args[] = {
    ARG("dim", LAM_ARG_INT, LAM_ARG_NONE_OK, LAM_DEFAULT_NONE),
};
static lam_status softmax_create(const lam_host_api *h, const lam_layer_type *t,
                                 const lam_value *a, lam_module **out)
{
    (void)h, (void)t;
    int dim = 0;
    lam_status st = to_dim("Softmax", "dim", &a[0], &dim);
    return st ? st : lam_softmax_create(out, dim);
}
TYPE(softmax_type, "Softmax", "torch.nn.modules.activation", NULL, dim_args, 1, softmax_create);

static lam_status log_softmax_create(const lam_host_api *h, const lam_layer_type *t,
                                     const lam_value *a, lam_module **out)
{
    (void)h, (void)t;
    int dim = 0;
    lam_status st = to_dim("LogSoftmax", "dim", &a[0], &dim);
    return st ? st : lam_log_softmax_create(out, dim);
}
TYPE(log_softmax_type, "LogSoftmax", "torch.nn.modules.activation", NULL, dim_args, 1,
     log_softmax_create);

/* ---- LayerNorm, Dropout, Flatten ---- */

static const lam_arg_spec layer_norm_args[] = {
    ARG_REQ("normalized_shape", LAM_ARG_SHAPE, LAM_ARG_POSITIVE),
    ARG("eps", LAM_ARG_FLOAT, LAM_ARG_NONNEGATIVE | LAM_ARG_FINITE, LAM_DEFAULT_FLOAT(1e-05)),
    ARG("elementwise_affine", LAM_ARG_BOOL, 0, LAM_DEFAULT_BOOL(true)),
};
static lam_status layer_norm_create(const lam_host_api *h, const lam_layer_type *t,
                                    const lam_value *a, lam_module **out)
{
    (void)h, (void)t;
    if (a[0].len > LAM_MAX_DIMS)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "LayerNorm: normalized_shape has %zu dimensions, at most %d supported",
                          a[0].len, LAM_MAX_DIMS);
    int64_t shape[LAM_MAX_DIMS];
    for (size_t i = 0; i < a[0].len; i++)
        shape[i] = a[0].items[i].i;
    return lam_layer_norm_create(out, (int)a[0].len, shape, a[1].f, a[2].b);
}
TYPE(layer_norm_type, "LayerNorm", "torch.nn.modules.normalization", NULL, layer_norm_args, 3,
     layer_norm_create);

static const lam_arg_spec dropout_args[] = {
    ARG("p", LAM_ARG_FLOAT, 0, LAM_DEFAULT_FLOAT(0.5)),
    INPLACE,
};
static lam_status dropout_create(const lam_host_api *h, const lam_layer_type *t,
                                 const lam_value *a, lam_module **out)
{
    (void)h, (void)t;
    lam_status st = no_inplace("Dropout", &a[1]);
    return st ? st : lam_dropout_create(out, a[0].f);
}
TYPE(dropout_type, "Dropout", "torch.nn.modules.dropout", NULL, dropout_args, 2, dropout_create);

static const lam_arg_spec flatten_args[] = {
    ARG("start_dim", LAM_ARG_INT, 0, LAM_DEFAULT_INT(1)),
    ARG("end_dim", LAM_ARG_INT, 0, LAM_DEFAULT_INT(-1)),
};
static lam_status flatten_create(const lam_host_api *h, const lam_layer_type *t,
                                 const lam_value *a, lam_module **out)
{
    (void)h, (void)t;
    int s = 0, e = 0;
    lam_status st = to_dim("Flatten", "start_dim", &a[0], &s);
    if (!st)
        st = to_dim("Flatten", "end_dim", &a[1], &e);
    return st ? st : lam_flatten_create(out, s, e);
}
TYPE(flatten_type, "Flatten", "torch.nn.modules.flatten", NULL, flatten_args, 2, flatten_create);

/* ---- containers: created empty; children come from lam_module_add_child ---- */

static lam_status sequential_create(const lam_host_api *h, const lam_layer_type *t,
                                    const lam_value *a, lam_module **out)
{
    (void)h, (void)t, (void)a;
    return lam_sequential_create(out, 0, NULL);
}
TYPE(sequential_type, "Sequential", "torch.nn.modules.container",
     "runs its children in order (add them with lam_module_add_child)", NULL, 0,
     sequential_create);

static lam_status modulelist_create(const lam_host_api *h, const lam_layer_type *t,
                                    const lam_value *a, lam_module **out)
{
    (void)h, (void)t, (void)a;
    return lam_modulelist_create(out, 0, NULL);
}
TYPE(modulelist_type, "ModuleList", "torch.nn.modules.container",
     "holds children for a custom forward (add them with lam_module_add_child)", NULL, 0,
     modulelist_create);

/* ---- convolutions ---- */

/* An int or a tuple of nsp ints (a 1-tuple is taken as the int) into dst[2]
 * as (height, width); 1-d modules fill the width. */
static lam_status conv_tuple(const char *type, const char *arg, int nsp, const lam_value *v,
                             int64_t *dst)
{
    if (v->len != 1 && v->len != (size_t)nsp)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "%s: %s must be an int or a tuple of %d int%s, got %zu values", type,
                          arg, nsp, nsp == 1 ? "" : "s", v->len);
    dst[0] = nsp == 2 ? v->items[0].i : 1;
    dst[1] = v->items[v->len - 1].i;
    return LAM_OK;
}

/* padding: a tuple, or 'valid' / 'same' (any other string gets PyTorch's
 * message) */
static lam_status conv_padding(const char *type, int nsp, const lam_value *v, int64_t *dst)
{
    if (v->kind != LAM_VALUE_STRING)
        return conv_tuple(type, "padding", nsp, v, dst);
    if (strcmp(v->s, "same") && strcmp(v->s, "valid"))
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "%s: Invalid padding string '%.100s', should be one of {'valid', "
                          "'same'}",
                          type, v->s);
    dst[0] = dst[1] = v->s[0] == 's' ? LAM_CONV_PADDING_SAME : LAM_CONV_PADDING_VALID;
    return LAM_OK;
}

#define CONV_SHAPE(n, d) ARG(n, LAM_ARG_SHAPE, 0, LAM_DEFAULT_INT(d))
static const lam_arg_spec conv_args[] = {
    ARG_REQ("in_channels", LAM_ARG_INT, 0),
    ARG_REQ("out_channels", LAM_ARG_INT, 0),
    ARG_REQ("kernel_size", LAM_ARG_SHAPE, 0),
    CONV_SHAPE("stride", 1),
    ARG("padding", LAM_ARG_SHAPE, LAM_ARG_STRING_OK, LAM_DEFAULT_INT(0)),
    CONV_SHAPE("dilation", 1),
    ARG("groups", LAM_ARG_INT, 0, LAM_DEFAULT_INT(1)),
    ARG("bias", LAM_ARG_BOOL, 0, LAM_DEFAULT_BOOL(true)),
    ARG("padding_mode", LAM_ARG_STRING, 0, LAM_DEFAULT_STRING("zeros")),
};
static const lam_arg_spec conv_t_args[] = {
    ARG_REQ("in_channels", LAM_ARG_INT, 0),
    ARG_REQ("out_channels", LAM_ARG_INT, 0),
    ARG_REQ("kernel_size", LAM_ARG_SHAPE, 0),
    CONV_SHAPE("stride", 1),
    CONV_SHAPE("padding", 0),
    CONV_SHAPE("output_padding", 0),
    ARG("groups", LAM_ARG_INT, 0, LAM_DEFAULT_INT(1)),
    ARG("bias", LAM_ARG_BOOL, 0, LAM_DEFAULT_BOOL(true)),
    CONV_SHAPE("dilation", 1),
    ARG("padding_mode", LAM_ARG_STRING, 0, LAM_DEFAULT_STRING("zeros")),
};

static lam_status conv_any_create(const lam_layer_type *t, const lam_value *a, int nsp,
                                  lam_module **out)
{
    const char *tn = t->name;
    int64_t k[2], st[2], pad[2], dil[2];
    lam_status s = conv_tuple(tn, "kernel_size", nsp, &a[2], k);
    if (!s)
        s = conv_tuple(tn, "stride", nsp, &a[3], st);
    if (!s)
        s = conv_padding(tn, nsp, &a[4], pad);
    if (!s)
        s = conv_tuple(tn, "dilation", nsp, &a[5], dil);
    if (s)
        return s;
    if (nsp == 1)
        return lam_conv1d_create(out, a[0].i, a[1].i, k[1], st[1], pad[1], dil[1], a[6].i,
                                 a[7].b, a[8].s);
    return lam_conv2d_create(out, a[0].i, a[1].i, k, st, pad, dil, a[6].i, a[7].b, a[8].s);
}

static lam_status conv_t_any_create(const lam_layer_type *t, const lam_value *a, int nsp,
                                    lam_module **out)
{
    const char *tn = t->name;
    int64_t k[2], st[2], pad[2], op[2], dil[2];
    lam_status s = conv_tuple(tn, "kernel_size", nsp, &a[2], k);
    if (!s)
        s = conv_tuple(tn, "stride", nsp, &a[3], st);
    if (!s)
        s = conv_tuple(tn, "padding", nsp, &a[4], pad);
    if (!s)
        s = conv_tuple(tn, "output_padding", nsp, &a[5], op);
    if (!s)
        s = conv_tuple(tn, "dilation", nsp, &a[8], dil);
    if (s)
        return s;
    if (nsp == 1)
        return lam_conv_transpose1d_create(out, a[0].i, a[1].i, k[1], st[1], pad[1], op[1],
                                           a[6].i, a[7].b, dil[1], a[9].s);
    return lam_conv_transpose2d_create(out, a[0].i, a[1].i, k, st, pad, op, a[6].i, a[7].b, dil,
                                       a[9].s);
}

#define CONV_TYPE(var, name_, fn, nsp, args_, n_)                                                  \
    static lam_status var##_create(const lam_host_api *h, const lam_layer_type *t,                 \
                                   const lam_value *a, lam_module **out)                           \
    {                                                                                              \
        (void)h;                                                                                   \
        return fn(t, a, nsp, out);                                                                 \
    }                                                                                              \
    TYPE(var##_type, name_, "torch.nn.modules.conv", NULL, args_, n_, var##_create)

CONV_TYPE(conv1d, "Conv1d", conv_any_create, 1, conv_args, 9);
CONV_TYPE(conv2d, "Conv2d", conv_any_create, 2, conv_args, 9);
CONV_TYPE(conv_t1d, "ConvTranspose1d", conv_t_any_create, 1, conv_t_args, 10);
CONV_TYPE(conv_t2d, "ConvTranspose2d", conv_t_any_create, 2, conv_t_args, 10);

static const lam_layer_type *const builtins[] = {
    &linear_type, &identity_type, &relu_type, &leaky_type, &relu6_type, &elu_type,
    &sigmoid_type, &tanh_type, &gelu_type, &silu_type, &softplus_type, &softmax_type,
    &log_softmax_type, &layer_norm_type, &dropout_type, &flatten_type, &sequential_type,
    &modulelist_type,
    &conv1d_type, &conv2d_type, &conv_t1d_type, &conv_t2d_type,
};

const lam_layer_type *const *lam__builtin_types(size_t *n)
{
    *n = sizeof builtins / sizeof builtins[0];
    return builtins;
}
