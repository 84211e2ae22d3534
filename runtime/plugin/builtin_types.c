/* The built-in layer types, registered statically through the same
 * lam_layer_type descriptor that plugins use, with PyTorch 1.13's
 * constructor signatures.  Each create calls the layer's C constructor. */
#include "runtime/plugin/plugin.h"
#include "runtime/layers/layers.h"
#include <limits.h>
#include <string.h>
#include <math.h>

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

/* inplace=True changes the caller's tensor in PyTorch; lamina layers always
 * write a new output, which gives the same results, so it is accepted and
 * kept for the repr (ReLU(inplace=True), as torchvision writes it). */
static lam_status keep_inplace(lam_status st, lam_module **out, const lam_value *v)
{
    if (!st)
        lam__act_set_inplace(*out, v->b);
    return st;
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
        return keep_inplace(fn(out), out, &a[0]);                                                  \
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
    lam_status st = lam_leaky_relu_create(out, a[0].f);
    if (!st)
        lam__act_set_repr_style(*out, a[0].kind == LAM_VALUE_INT, false);
    return keep_inplace(st, out, &a[1]);
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
    lam_status st = lam_elu_create(out, a[0].f);
    if (!st)
        lam__act_set_repr_style(*out, a[0].kind == LAM_VALUE_INT, false);
    return keep_inplace(st, out, &a[1]);
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
    lam_status st = lam_dropout_create(out, a[0].f);
    if (!st)
        lam__dropout_set_inplace(*out, a[1].b);
    return st;
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

/* ---- vision layers (issue 14): pools, the hard activations, PReLU, Mish,
 * the channel dropouts.  Arguments that PyTorch takes as an int or a tuple
 * are LAM_ARG_ANY and kept as written, for the repr. ---- */

#define ANY(n, ...) {.name = n, .type = LAM_ARG_ANY, .default_value = __VA_ARGS__}
#define ANY_REQ(n) ARG_REQ(n, LAM_ARG_ANY, 0)

static const char *value_desc(const lam_value *v, char *buf, size_t size)
{
    switch (v->kind) {
    case LAM_VALUE_NONE: return "None";
    case LAM_VALUE_BOOL: return v->b ? "True" : "False";
    case LAM_VALUE_INT: snprintf(buf, size, "%lld", (long long)v->i); return buf;
    case LAM_VALUE_FLOAT: return lam__py_float(v->f, buf, size);
    case LAM_VALUE_STRING: snprintf(buf, size, "'%.60s'", v->s ? v->s : ""); return buf;
    case LAM_VALUE_TUPLE: return "a tuple";
    }
    return "?";
}

/* An int or a tuple of ints (and of Nones when none != NULL) into v[4] and
 * *n (0 for an int).  None alone is accepted when none != NULL. */
static lam_status int_or_tuple(const char *type, const char *arg, const lam_value *val,
                               int64_t *v, uint8_t *n, bool *none)
{
    char buf[64];
    if (val->kind == LAM_VALUE_INT || (none && val->kind == LAM_VALUE_NONE)) {
        *n = 0;
        v[0] = val->kind == LAM_VALUE_INT ? val->i : 0;
        if (none)
            none[0] = val->kind == LAM_VALUE_NONE;
        return LAM_OK;
    }
    if (val->kind == LAM_VALUE_TUPLE && val->len >= 1 && val->len <= 4) {
        for (size_t i = 0; i < val->len; i++) {
            const lam_value *it = &val->items[i];
            if (it->kind == LAM_VALUE_INT) {
                v[i] = it->i;
                if (none)
                    none[i] = false;
            } else if (none && it->kind == LAM_VALUE_NONE) {
                v[i] = 0;
                none[i] = true;
            } else {
                return lam__error(LAM_ERR_INVALID_ARGUMENT,
                                  "%s: %s must be an int or a tuple of ints%s, got an entry %s",
                                  type, arg, none ? " or Nones" : "",
                                  value_desc(it, buf, sizeof buf));
            }
        }
        *n = (uint8_t)val->len;
        return LAM_OK;
    }
    if (val->kind == LAM_VALUE_TUPLE)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "%s: %s must be an int or a tuple of 1 to 4 ints, got a tuple of %zu",
                          type, arg, val->len);
    return lam__error(LAM_ERR_INVALID_ARGUMENT, "%s: %s must be an int or a tuple of ints, got %s",
                      type, arg, value_desc(val, buf, sizeof buf));
}

static lam_status no_indices(const char *type, const lam_value *v)
{
    if (v->b)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "%s: return_indices=True is not supported (a lamina layer has one "
                          "output); use return_indices=False",
                          type);
    return LAM_OK;
}

/* MaxPool(kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False) */
static const lam_arg_spec maxpool_args[] = {
    ANY_REQ("kernel_size"),
    ANY("stride", LAM_DEFAULT_NONE),
    ANY("padding", LAM_DEFAULT_INT(0)),
    ANY("dilation", LAM_DEFAULT_INT(1)),
    ARG("return_indices", LAM_ARG_BOOL, 0, LAM_DEFAULT_BOOL(false)),
    ARG("ceil_mode", LAM_ARG_BOOL, 0, LAM_DEFAULT_BOOL(false)),
};
/* AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False,
 * count_include_pad=True, divisor_override=None); AvgPool1d without the last */
static const lam_arg_spec avgpool_args[] = {
    ANY_REQ("kernel_size"),
    ANY("stride", LAM_DEFAULT_NONE),
    ANY("padding", LAM_DEFAULT_INT(0)),
    ARG("ceil_mode", LAM_ARG_BOOL, 0, LAM_DEFAULT_BOOL(false)),
    ARG("count_include_pad", LAM_ARG_BOOL, 0, LAM_DEFAULT_BOOL(true)),
    ARG("divisor_override", LAM_ARG_INT, LAM_ARG_NONE_OK, LAM_DEFAULT_NONE),
};
static const lam_arg_spec adaptive_args[] = {ANY_REQ("output_size")};
static const lam_arg_spec adaptive_max_args[] = {
    ANY_REQ("output_size"),
    ARG("return_indices", LAM_ARG_BOOL, 0, LAM_DEFAULT_BOOL(false)),
};

static lam_status pool_create(const lam_layer_type *t, const lam_value *a, int kind, int dims,
                              lam_module **out)
{
    const char *tn = t->name;
    lam__pool_cfg c = {.kind = kind, .dims = dims};
    lam_status st = LAM_OK;
    if (kind == LAM__POOL_ADAPTIVE_AVG || kind == LAM__POOL_ADAPTIVE_MAX) {
        if (kind == LAM__POOL_ADAPTIVE_MAX && (st = no_indices(tn, &a[1])))
            return st;
        st = int_or_tuple(tn, "output_size", &a[0], c.out, &c.nout, c.out_none);
        c.lists = a[0].kind == LAM_VALUE_TUPLE && a[0].b ? 16 : 0;
        return st ? st : lam__pool_create(out, &c);
    }
    bool max = kind == LAM__POOL_MAX;
    if (max && (st = no_indices(tn, &a[4])))
        return st;
    st = int_or_tuple(tn, "kernel_size", &a[0], c.k, &c.nk, NULL);
    c.s_none = a[1].kind == LAM_VALUE_NONE;
    if (!st && !c.s_none)
        st = int_or_tuple(tn, "stride", &a[1], c.s, &c.ns, NULL);
    if (!st)
        st = int_or_tuple(tn, "padding", &a[2], c.p, &c.np, NULL);
    if (st)
        return st;
    for (int i = 0; i < (max ? 4 : 3); i++) /* a list prints as a list: [2, 2] */
        if (a[i].kind == LAM_VALUE_TUPLE && a[i].b)
            c.lists |= (uint8_t)(1u << i);
    if (max) {
        if ((st = int_or_tuple(tn, "dilation", &a[3], c.d, &c.nd, NULL)))
            return st;
        c.ceil_mode = a[5].b;
    } else {
        c.d[0] = 1;
        c.ceil_mode = a[3].b;
        c.count_include_pad = a[4].b;
        if (dims == 2 && a[5].kind != LAM_VALUE_NONE)
            c.has_divisor = true, c.divisor = a[5].i;
    }
    return lam__pool_create(out, &c);
}

#define POOL_TYPE(var, name_, kind, dims, args_, n_)                                               \
    static lam_status var##_create(const lam_host_api *h, const lam_layer_type *t,                 \
                                   const lam_value *a, lam_module **out)                           \
    {                                                                                              \
        (void)h;                                                                                   \
        return pool_create(t, a, kind, dims, out);                                                 \
    }                                                                                              \
    TYPE(var##_type, name_, "torch.nn.modules.pooling", NULL, args_, n_, var##_create)

POOL_TYPE(maxpool1d, "MaxPool1d", LAM__POOL_MAX, 1, maxpool_args, 6);
POOL_TYPE(maxpool2d, "MaxPool2d", LAM__POOL_MAX, 2, maxpool_args, 6);
POOL_TYPE(avgpool1d, "AvgPool1d", LAM__POOL_AVG, 1, avgpool_args, 5);
POOL_TYPE(avgpool2d, "AvgPool2d", LAM__POOL_AVG, 2, avgpool_args, 6);
POOL_TYPE(aavgpool1d, "AdaptiveAvgPool1d", LAM__POOL_ADAPTIVE_AVG, 1, adaptive_args, 1);
POOL_TYPE(aavgpool2d, "AdaptiveAvgPool2d", LAM__POOL_ADAPTIVE_AVG, 2, adaptive_args, 1);
POOL_TYPE(amaxpool1d, "AdaptiveMaxPool1d", LAM__POOL_ADAPTIVE_MAX, 1, adaptive_max_args, 2);
POOL_TYPE(amaxpool2d, "AdaptiveMaxPool2d", LAM__POOL_ADAPTIVE_MAX, 2, adaptive_max_args, 2);

SIMPLE_INPLACE(hardswish, "Hardswish", lam_hardswish_create);
SIMPLE_INPLACE(hardsigmoid, "Hardsigmoid", lam_hardsigmoid_create);
SIMPLE_INPLACE(mish, "Mish", lam_mish_create);

static const lam_arg_spec hardtanh_args[] = {
    ARG("min_val", LAM_ARG_FLOAT, LAM_ARG_FINITE, LAM_DEFAULT_FLOAT(-1.0)),
    ARG("max_val", LAM_ARG_FLOAT, LAM_ARG_FINITE, LAM_DEFAULT_FLOAT(1.0)),
    INPLACE,
};
static lam_status hardtanh_create(const lam_host_api *h, const lam_layer_type *t,
                                  const lam_value *a, lam_module **out)
{
    (void)h, (void)t;
    lam_status st = lam_hardtanh_create(out, a[0].f, a[1].f);
    if (!st)
        lam__act_set_repr_style(*out, a[0].kind == LAM_VALUE_INT, a[1].kind == LAM_VALUE_INT);
    return keep_inplace(st, out, &a[2]);
}
TYPE(hardtanh_type, "Hardtanh", "torch.nn.modules.activation", NULL, hardtanh_args, 3,
     hardtanh_create);

static const lam_arg_spec prelu_args[] = {
    ARG("num_parameters", LAM_ARG_INT, 0, LAM_DEFAULT_INT(1)),
    ARG("init", LAM_ARG_FLOAT, LAM_ARG_FINITE, LAM_DEFAULT_FLOAT(0.25)),
};
static lam_status prelu_create(const lam_host_api *h, const lam_layer_type *t, const lam_value *a,
                               lam_module **out)
{
    (void)h, (void)t;
    return lam_prelu_create(out, a[0].i, a[1].f);
}
TYPE(prelu_type, "PReLU", "torch.nn.modules.activation", NULL, prelu_args, 2, prelu_create);

#define DROPOUT_TYPE(var, name_, fn)                                                               \
    static lam_status var##_create(const lam_host_api *h, const lam_layer_type *t,                 \
                                   const lam_value *a, lam_module **out)                           \
    {                                                                                              \
        (void)h, (void)t;                                                                          \
        lam_status st = fn(out, a[0].f);                                                           \
        if (!st)                                                                                   \
            lam__dropout_set_inplace(*out, a[1].b);                                                \
        return st;                                                                                 \
    }                                                                                              \
    TYPE(var##_type, name_, "torch.nn.modules.dropout", NULL, dropout_args, 2, var##_create)
DROPOUT_TYPE(dropout1d, "Dropout1d", lam_dropout1d_create);
DROPOUT_TYPE(dropout2d, "Dropout2d", lam_dropout2d_create);
DROPOUT_TYPE(alpha_dropout, "AlphaDropout", lam_alpha_dropout_create);
DROPOUT_TYPE(feature_alpha_dropout, "FeatureAlphaDropout", lam_feature_alpha_dropout_create);

/* ---- shape layers: Unflatten, the shuffles, Upsample, padding ---- */

static const lam_arg_spec unflatten_args[] = {
    ARG_REQ("dim", LAM_ARG_INT, 0),
    ANY_REQ("unflattened_size"),
};
static lam_status unflatten_create(const lam_host_api *h, const lam_layer_type *t,
                                   const lam_value *a, lam_module **out)
{
    (void)h, (void)t;
    static const char *const kinds[] = {"NoneType", "bool", "int", "float", "str", "tuple"};
    const lam_value *v = &a[1];
    int dim = 0;
    lam_status st = to_dim("Unflatten", "dim", &a[0], &dim);
    if (st)
        return st;
    if (v->kind != LAM_VALUE_TUPLE)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "Unflatten: unflattened_size must be a tuple of ints, but found type %s",
                          v->kind <= LAM_VALUE_TUPLE ? kinds[v->kind] : "?");
    if (v->len > LAM_MAX_DIMS)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "Unflatten: unflattened_size has %zu entries, at most %d supported",
                          v->len, LAM_MAX_DIMS);
    int64_t sizes[LAM_MAX_DIMS];
    for (size_t i = 0; i < v->len; i++) {
        if (v->items[i].kind != LAM_VALUE_INT)
            return lam__error(LAM_ERR_INVALID_ARGUMENT,
                              "Unflatten: unflattened_size must be tuple of ints, but found "
                              "element of type %s at pos %zu",
                              v->items[i].kind <= LAM_VALUE_TUPLE ? kinds[v->items[i].kind] : "?",
                              i);
        sizes[i] = v->items[i].i;
    }
    st = lam_unflatten_create(out, dim, (int)v->len, sizes);
    if (!st)
        lam__unflatten_set_list(*out, v->b);
    return st;
}
TYPE(unflatten_type, "Unflatten", "torch.nn.modules.flatten", NULL, unflatten_args, 2,
     unflatten_create);

#define FACTOR_TYPE(var, name_, pymod, arg, fn)                                                    \
    static const lam_arg_spec var##_args[] = {ARG_REQ(arg, LAM_ARG_INT, 0)};                        \
    static lam_status var##_create(const lam_host_api *h, const lam_layer_type *t,                 \
                                   const lam_value *a, lam_module **out)                           \
    {                                                                                              \
        (void)h, (void)t;                                                                          \
        return fn(out, a[0].i);                                                                    \
    }                                                                                              \
    TYPE(var##_type, name_, pymod, NULL, var##_args, 1, var##_create)
FACTOR_TYPE(pixel_shuffle, "PixelShuffle", "torch.nn.modules.pixelshuffle", "upscale_factor",
            lam_pixel_shuffle_create);
FACTOR_TYPE(pixel_unshuffle, "PixelUnshuffle", "torch.nn.modules.pixelshuffle",
            "downscale_factor", lam_pixel_unshuffle_create);
FACTOR_TYPE(channel_shuffle, "ChannelShuffle", "torch.nn.modules.channelshuffle", "groups",
            lam_channel_shuffle_create);

static const lam_arg_spec upsample_args[] = {
    ANY("size", LAM_DEFAULT_NONE),
    ANY("scale_factor", LAM_DEFAULT_NONE),
    ARG("mode", LAM_ARG_STRING, 0, LAM_DEFAULT_STRING("nearest")),
    ARG("align_corners", LAM_ARG_BOOL, LAM_ARG_NONE_OK, LAM_DEFAULT_NONE),
    ARG("recompute_scale_factor", LAM_ARG_BOOL, LAM_ARG_NONE_OK, LAM_DEFAULT_NONE),
};
static lam_status upsample_create(const lam_host_api *h, const lam_layer_type *t,
                                  const lam_value *a, lam_module **out)
{
    (void)h, (void)t;
    const char *tn = "Upsample";
    if (a[4].kind == LAM_VALUE_BOOL && a[4].b)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "Upsample: recompute_scale_factor=True is not supported");
    int64_t size[4] = {0};
    double scale[4] = {0};
    uint8_t n = 0, ns = 0;
    bool has_size = a[0].kind != LAM_VALUE_NONE, has_scale = a[1].kind != LAM_VALUE_NONE;
    lam_status st;
    if (has_size && (st = int_or_tuple(tn, "size", &a[0], size, &n, NULL)))
        return st;
    if (has_scale) {
        const lam_value *v = &a[1];
        size_t len = v->kind == LAM_VALUE_TUPLE ? v->len : 1;
        const lam_value *items = v->kind == LAM_VALUE_TUPLE ? v->items : v;
        if (len < 1 || len > 4)
            return lam__error(LAM_ERR_INVALID_ARGUMENT,
                              "Upsample: scale_factor must be a number or a tuple of 1 to 4 "
                              "numbers");
        for (size_t i = 0; i < len; i++) {
            char buf[64];
            if (items[i].kind == LAM_VALUE_INT)
                scale[i] = (double)items[i].i;
            else if (items[i].kind == LAM_VALUE_FLOAT && isfinite(items[i].f))
                scale[i] = items[i].f;
            else
                return lam__error(LAM_ERR_INVALID_ARGUMENT,
                                  "Upsample: scale_factor must be a finite number or a tuple of "
                                  "them, got %s",
                                  value_desc(&items[i], buf, sizeof buf));
        }
        ns = v->kind == LAM_VALUE_TUPLE ? (uint8_t)len : 0;
    }
    if (has_size && has_scale && n != ns)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "Upsample: only one of size or scale_factor should be defined");
    int align = a[3].kind == LAM_VALUE_NONE ? -1 : a[3].b;
    return lam_upsample_create(out, has_size ? n : ns, has_size ? size : NULL,
                               has_scale ? scale : NULL, a[2].s, align);
}
TYPE(upsample_type, "Upsample", "torch.nn.modules.upsampling", NULL, upsample_args, 5,
     upsample_create);

static const lam_arg_spec pad_args[] = {ANY_REQ("padding")};
static const lam_arg_spec constant_pad_args[] = {
    ANY_REQ("padding"),
    ARG_REQ("value", LAM_ARG_FLOAT, LAM_ARG_FINITE),
};
/* An int is repeated (_pair / _quadruple); a tuple is kept as written. */
static lam_status pad_create(const lam_layer_type *t, const lam_value *a, int type, int width,
                             lam_module **out)
{
    int64_t p[8];
    uint8_t n = 0;
    const lam_value *v = &a[0];
    if (v->kind == LAM_VALUE_TUPLE && v->len > 4 && v->len <= 8) {
        for (size_t i = 0; i < v->len; i++) {
            if (v->items[i].kind != LAM_VALUE_INT)
                return lam__error(LAM_ERR_INVALID_ARGUMENT,
                                  "%s: padding must be an int or a tuple of ints", t->name);
            p[i] = v->items[i].i;
        }
        n = (uint8_t)v->len;
    } else {
        lam_status st = int_or_tuple(t->name, "padding", v, p, &n, NULL);
        if (st)
            return st;
        if (n == 0) {
            for (int i = 1; i < width; i++)
                p[i] = p[0];
            n = (uint8_t)width;
        }
    }
    bool constant = type == LAM__PAD_CONSTANT1D || type == LAM__PAD_CONSTANT2D;
    return lam__pad_create(out, type, n, p, constant ? a[1].f : 0.0,
                           constant && a[1].kind == LAM_VALUE_INT);
}
#define PAD_TYPE(var, name_, type, width, args_, n_)                                               \
    static lam_status var##_create(const lam_host_api *h, const lam_layer_type *t,                 \
                                   const lam_value *a, lam_module **out)                           \
    {                                                                                              \
        (void)h;                                                                                   \
        return pad_create(t, a, type, width, out);                                                 \
    }                                                                                              \
    TYPE(var##_type, name_, "torch.nn.modules.padding", NULL, args_, n_, var##_create)
PAD_TYPE(constant_pad1d, "ConstantPad1d", LAM__PAD_CONSTANT1D, 2, constant_pad_args, 2);
PAD_TYPE(constant_pad2d, "ConstantPad2d", LAM__PAD_CONSTANT2D, 4, constant_pad_args, 2);
PAD_TYPE(zero_pad2d, "ZeroPad2d", LAM__PAD_ZERO2D, 4, pad_args, 1);
PAD_TYPE(reflection_pad1d, "ReflectionPad1d", LAM__PAD_REFLECTION1D, 2, pad_args, 1);
PAD_TYPE(reflection_pad2d, "ReflectionPad2d", LAM__PAD_REFLECTION2D, 4, pad_args, 1);
PAD_TYPE(replication_pad1d, "ReplicationPad1d", LAM__PAD_REPLICATION1D, 2, pad_args, 1);
PAD_TYPE(replication_pad2d, "ReplicationPad2d", LAM__PAD_REPLICATION2D, 4, pad_args, 1);

/* ---- normalisation layers ---- */

#define NORM_ARGS(affine_default, track_default)                                                   \
    {                                                                                              \
        ARG_REQ("num_features", LAM_ARG_INT, LAM_ARG_NONNEGATIVE),                                 \
        ARG("eps", LAM_ARG_FLOAT, LAM_ARG_FINITE, LAM_DEFAULT_FLOAT(1e-05)),                       \
        ARG("momentum", LAM_ARG_FLOAT, LAM_ARG_FINITE | LAM_ARG_NONE_OK, LAM_DEFAULT_FLOAT(0.1)),   \
        ARG("affine", LAM_ARG_BOOL, 0, LAM_DEFAULT_BOOL(affine_default)),                          \
        ARG("track_running_stats", LAM_ARG_BOOL, 0, LAM_DEFAULT_BOOL(track_default)),              \
    }
static const lam_arg_spec batch_norm_args[] = NORM_ARGS(true, true);
static const lam_arg_spec instance_norm_args[] = NORM_ARGS(false, false);

#define NORM_TYPE(var, name_, pymod, args_, fn)                                                    \
    static lam_status var##_create(const lam_host_api *h, const lam_layer_type *t,                 \
                                   const lam_value *a, lam_module **out)                           \
    {                                                                                              \
        (void)h, (void)t;                                                                          \
        double momentum = a[2].kind == LAM_VALUE_NONE ? LAM_MOMENTUM_NONE : a[2].f;                \
        lam_status st = fn(out, a[0].i, a[1].f, momentum, a[3].b, a[4].b);                         \
        if (!st)                                                                                   \
            lam__norm_set_int_args(*out, (a[1].kind == LAM_VALUE_INT) |                            \
                                             (unsigned)(a[2].kind == LAM_VALUE_INT) << 1);         \
        return st;                                                                                 \
    }                                                                                              \
    TYPE(var##_type, name_, pymod, NULL, args_, 5, var##_create)

NORM_TYPE(batch_norm1d, "BatchNorm1d", "torch.nn.modules.batchnorm", batch_norm_args,
          lam_batch_norm1d_create);
NORM_TYPE(batch_norm2d, "BatchNorm2d", "torch.nn.modules.batchnorm", batch_norm_args,
          lam_batch_norm2d_create);
NORM_TYPE(instance_norm1d, "InstanceNorm1d", "torch.nn.modules.instancenorm", instance_norm_args,
          lam_instance_norm1d_create);
NORM_TYPE(instance_norm2d, "InstanceNorm2d", "torch.nn.modules.instancenorm", instance_norm_args,
          lam_instance_norm2d_create);

static const lam_arg_spec group_norm_args[] = {
    ARG_REQ("num_groups", LAM_ARG_INT, 0),
    ARG_REQ("num_channels", LAM_ARG_INT, LAM_ARG_NONNEGATIVE),
    ARG("eps", LAM_ARG_FLOAT, LAM_ARG_FINITE, LAM_DEFAULT_FLOAT(1e-05)),
    ARG("affine", LAM_ARG_BOOL, 0, LAM_DEFAULT_BOOL(true)),
};
static lam_status group_norm_create(const lam_host_api *h, const lam_layer_type *t,
                                    const lam_value *a, lam_module **out)
{
    (void)h, (void)t;
    lam_status st = lam_group_norm_create(out, a[0].i, a[1].i, a[2].f, a[3].b);
    if (!st)
        lam__norm_set_int_args(*out, a[2].kind == LAM_VALUE_INT);
    return st;
}
TYPE(group_norm_type, "GroupNorm", "torch.nn.modules.normalization", NULL, group_norm_args, 4,
     group_norm_create);

static const lam_arg_spec lrn_args[] = {
    ARG_REQ("size", LAM_ARG_INT, LAM_ARG_POSITIVE),
    ARG("alpha", LAM_ARG_FLOAT, LAM_ARG_FINITE, LAM_DEFAULT_FLOAT(0.0001)),
    ARG("beta", LAM_ARG_FLOAT, LAM_ARG_FINITE, LAM_DEFAULT_FLOAT(0.75)),
    ARG("k", LAM_ARG_FLOAT, LAM_ARG_FINITE, LAM_DEFAULT_FLOAT(1.0)),
};
static lam_status lrn_create(const lam_host_api *h, const lam_layer_type *t, const lam_value *a,
                             lam_module **out)
{
    (void)h, (void)t;
    lam_status st = lam_local_response_norm_create(out, a[0].i, a[1].f, a[2].f, a[3].f);
    if (!st)
        lam__norm_set_int_args(*out, (a[1].kind == LAM_VALUE_INT) |
                                         (unsigned)(a[2].kind == LAM_VALUE_INT) << 1 |
                                         (unsigned)(a[3].kind == LAM_VALUE_INT) << 2);
    return st;
}
TYPE(lrn_type, "LocalResponseNorm", "torch.nn.modules.normalization", NULL, lrn_args, 4,
     lrn_create);

/* ---- Embedding ---- */

static const lam_arg_spec embedding_args[] = {
    ARG_REQ("num_embeddings", LAM_ARG_INT, 0),
    ARG_REQ("embedding_dim", LAM_ARG_INT, 0),
    ARG("padding_idx", LAM_ARG_INT, LAM_ARG_NONE_OK, LAM_DEFAULT_NONE),
    ARG("max_norm", LAM_ARG_FLOAT, LAM_ARG_NONE_OK | LAM_ARG_FINITE, LAM_DEFAULT_NONE),
    ARG("norm_type", LAM_ARG_FLOAT, 0, LAM_DEFAULT_FLOAT(2.0)),
    ARG("scale_grad_by_freq", LAM_ARG_BOOL, 0, LAM_DEFAULT_BOOL(false)),
    ARG("sparse", LAM_ARG_BOOL, 0, LAM_DEFAULT_BOOL(false)),
};
static lam_status embedding_create(const lam_host_api *h, const lam_layer_type *t,
                                   const lam_value *a, lam_module **out)
{
    (void)h, (void)t;
    lam_status st = lam_embedding_create(
        out, a[0].i, a[1].i, a[2].kind == LAM_VALUE_NONE ? LAM_EMBEDDING_NO_PADDING : a[2].i,
        a[3].kind == LAM_VALUE_NONE ? LAM_EMBEDDING_NO_MAX_NORM : a[3].f, a[4].f, a[5].b, a[6].b);
    if (!st)
        lam__embedding_set_repr_style(*out, a[3].kind == LAM_VALUE_INT, a[4].kind == LAM_VALUE_INT);
    return st;
}
TYPE(embedding_type, "Embedding", "torch.nn.modules.sparse", NULL, embedding_args, 7,
     embedding_create);

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


/* ---- recurrent layers ---- */

/* RNNBase(input_size, hidden_size, num_layers=1, bias=True,
 * batch_first=False, dropout=0.0, bidirectional=False, proj_size=0);
 * RNN takes nonlinearity as a keyword; RNN and GRU refuse proj_size given
 * at all (PyTorch's "only supported for LSTM"). */
#define RNN_COMMON_ARGS                                                                            \
    ARG_REQ("input_size", LAM_ARG_INT, 0), ARG_REQ("hidden_size", LAM_ARG_INT, 0),                 \
        ARG("num_layers", LAM_ARG_INT, 0, LAM_DEFAULT_INT(1)),                                     \
        ARG("bias", LAM_ARG_BOOL, 0, LAM_DEFAULT_BOOL(true)),                                      \
        ARG("batch_first", LAM_ARG_BOOL, 0, LAM_DEFAULT_BOOL(false)),                              \
        ARG("dropout", LAM_ARG_FLOAT, 0, LAM_DEFAULT_FLOAT(0.0)),                                  \
        ARG("bidirectional", LAM_ARG_BOOL, 0, LAM_DEFAULT_BOOL(false))
static const lam_arg_spec lstm_args[] = {
    RNN_COMMON_ARGS,
    ARG("proj_size", LAM_ARG_INT, 0, LAM_DEFAULT_INT(0)),
};
static const lam_arg_spec gru_args[] = {
    RNN_COMMON_ARGS,
    ARG("proj_size", LAM_ARG_INT, LAM_ARG_NONE_OK, LAM_DEFAULT_NONE),
};
static const lam_arg_spec rnn_args[] = {
    RNN_COMMON_ARGS,
    ARG("proj_size", LAM_ARG_INT, LAM_ARG_NONE_OK, LAM_DEFAULT_NONE),
    {.name = "nonlinearity", .type = LAM_ARG_STRING, .flags = LAM_ARG_KEYWORD_ONLY,
     .default_value = LAM_DEFAULT_STRING("tanh")},
};
static lam_status no_proj(const lam_value *v)
{
    if (v->kind != LAM_VALUE_NONE)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "proj_size argument is only supported for LSTM, not RNN or GRU");
    return LAM_OK;
}
static lam_status rnn_type_create(const lam_host_api *h, const lam_layer_type *t,
                                  const lam_value *a, lam_module **out)
{
    (void)h, (void)t;
    lam_status st = no_proj(&a[7]);
    return st ? st
              : lam_rnn_create(out, a[0].i, a[1].i, a[2].i, a[8].s, a[3].b, a[4].b, a[5].f,
                               a[6].b);
}
TYPE(rnn_type, "RNN", "torch.nn.modules.rnn", "Elman RNN, tanh or relu", rnn_args, 9,
     rnn_type_create);
static lam_status lstm_type_create(const lam_host_api *h, const lam_layer_type *t,
                                   const lam_value *a, lam_module **out)
{
    (void)h, (void)t;
    return lam_lstm_create(out, a[0].i, a[1].i, a[2].i, a[3].b, a[4].b, a[5].f, a[6].b, a[7].i);
}
TYPE(lstm_type, "LSTM", "torch.nn.modules.rnn", "long short-term memory", lstm_args, 8,
     lstm_type_create);
static lam_status gru_type_create(const lam_host_api *h, const lam_layer_type *t,
                                  const lam_value *a, lam_module **out)
{
    (void)h, (void)t;
    lam_status st = no_proj(&a[7]);
    return st ? st
              : lam_gru_create(out, a[0].i, a[1].i, a[2].i, a[3].b, a[4].b, a[5].f, a[6].b);
}
TYPE(gru_type, "GRU", "torch.nn.modules.rnn", "gated recurrent unit", gru_args, 8,
     gru_type_create);

static const lam_layer_type *const builtins[] = {
    &linear_type, &identity_type, &relu_type, &leaky_type, &relu6_type, &elu_type,
    &sigmoid_type, &tanh_type, &gelu_type, &silu_type, &softplus_type, &softmax_type,
    &log_softmax_type, &layer_norm_type, &dropout_type, &flatten_type, &sequential_type,
    &modulelist_type, &batch_norm1d_type, &batch_norm2d_type, &instance_norm1d_type,
    &instance_norm2d_type, &group_norm_type, &lrn_type,
    &maxpool1d_type, &maxpool2d_type, &avgpool1d_type, &avgpool2d_type, &aavgpool1d_type,
    &aavgpool2d_type, &amaxpool1d_type, &amaxpool2d_type, &hardswish_type, &hardsigmoid_type,
    &hardtanh_type, &prelu_type, &mish_type, &dropout1d_type, &dropout2d_type,
    &alpha_dropout_type, &feature_alpha_dropout_type, &unflatten_type, &pixel_shuffle_type,
    &pixel_unshuffle_type, &channel_shuffle_type, &upsample_type, &constant_pad1d_type,
    &constant_pad2d_type, &zero_pad2d_type, &reflection_pad1d_type, &reflection_pad2d_type,
    &replication_pad1d_type, &replication_pad2d_type,
    &conv1d_type, &conv2d_type, &conv_t1d_type, &conv_t2d_type, &embedding_type,
    &rnn_type, &lstm_type, &gru_type,
};

const lam_layer_type *const *lam__builtin_types(size_t *n)
{
    *n = sizeof builtins / sizeof builtins[0];
    return builtins;
}
