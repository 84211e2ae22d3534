/* Elementwise activations (torch/nn/modules/activation.py) and Identity. */
#include "runtime/layers/layers.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum act_kind {
    A_IDENTITY, A_RELU, A_LEAKY, A_RELU6, A_ELU, A_SIGMOID, A_TANH, A_GELU, A_GELU_TANH, A_SILU,
    A_SOFTPLUS,
    /* kernel-table entries, not GEMM epilogues */
    A_HARDSWISH, A_HARDSIGMOID, A_HARDTANH, A_MISH,
} act_kind;

typedef struct act_state {
    act_kind kind;
    float a, b;  /* slope / alpha / beta, threshold */
    double a_repr, b_repr;
    bool a_int, b_int; /* print as Python ints: the user wrote 1, not 1.0 */
    bool inplace;      /* inplace=True as written (the output is new either way) */
} act_state;

static lam_status same_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                             int64_t *out)
{
    (void)m;
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    return LAM_OK;
}

static lam_status act_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    const act_state *s = m->state;
    const lam__kernel_table *k = lam__kernels();
    size_t n = (size_t)in->numel;
    const float *x = in->data;
    float *y = out->data;
    switch (s->kind) {
    case A_IDENTITY: if (y != x) memcpy(y, x, n * sizeof(float)); break;
    case A_RELU: k->relu(n, x, y); break;
    case A_LEAKY: k->leaky_relu(n, x, y, s->a); break;
    case A_RELU6: k->relu6(n, x, y); break;
    case A_ELU: k->elu(n, x, y, s->a); break;
    case A_SIGMOID: k->sigmoid(n, x, y); break;
    case A_TANH: k->tanh(n, x, y); break;
    case A_GELU: k->gelu(n, x, y); break;
    case A_GELU_TANH: k->gelu_tanh(n, x, y); break;
    case A_SILU: k->silu(n, x, y); break;
    case A_SOFTPLUS: k->softplus(n, x, y, s->a, s->b); break;
    case A_HARDSWISH: k->hardswish(n, x, y); break;
    case A_HARDSIGMOID: k->hardsigmoid(n, x, y); break;
    case A_HARDTANH: k->hardtanh(n, x, y, s->a, s->b); break; /* clamp: NaN stays NaN */
    case A_MISH: k->mish(n, x, y); break;
    }
    return LAM_OK;
}

static int act_repr(const lam_module *m, char *buf, size_t size)
{
    const act_state *s = m->state;
    char a[40], b[40];
    const char *ip = s->inplace ? ", inplace=True" : "";
    switch (s->kind) {
    case A_LEAKY:
        return snprintf(buf, size, "negative_slope=%s%s",
                        lam__py_number(s->a_repr, s->a_int, a, sizeof a), ip);
    case A_ELU:
        return snprintf(buf, size, "alpha=%s%s", lam__py_number(s->a_repr, s->a_int, a, sizeof a),
                        ip);
    case A_HARDTANH:
        return snprintf(buf, size, "min_val=%s, max_val=%s%s",
                        lam__py_number(s->a_repr, s->a_int, a, sizeof a),
                        lam__py_number(s->b_repr, s->b_int, b, sizeof b), ip);
    case A_RELU:
    case A_RELU6:
    case A_SILU:
    case A_MISH:
        return snprintf(buf, size, "%s", s->inplace ? "inplace=True" : "");
    case A_GELU:
        return snprintf(buf, size, "approximate='none'");
    case A_GELU_TANH:
        return snprintf(buf, size, "approximate='tanh'");
    case A_SOFTPLUS:
        return snprintf(buf, size, "beta=%s, threshold=%s",
                        lam__py_number(s->a_repr, s->a_int, a, sizeof a),
                        lam__py_number(s->b_repr, s->b_int, b, sizeof b));
    default:
        if (size)
            buf[0] = '\0';
        return 0;
    }
}

static void act_destroy(lam_module *m) { free(m->state); }

static bool act_rowwise(const lam_module *m, int ndim)
{
    (void)m, (void)ndim;
    return true;
}

/* Elementwise: every plane alone, whatever the rank. */
static bool act_planewise(const lam_module *m, int ndim)
{
    (void)m;
    return ndim >= 2;
}

/* The activations a GEMM epilogue computes (the others run on their own). */
static lam_activation act_epilogue(const lam_module *m, float *alpha)
{
    const act_state *s = m->state;
    *alpha = 0.0f;
    switch (s->kind) {
    case A_RELU: return LAM_ACTIVATION_RELU;
    case A_LEAKY: *alpha = s->a; return LAM_ACTIVATION_LEAKY_RELU;
    case A_RELU6: return LAM_ACTIVATION_RELU6;
    case A_SIGMOID: return LAM_ACTIVATION_SIGMOID;
    case A_TANH: return LAM_ACTIVATION_TANH;
    case A_GELU: return LAM_ACTIVATION_GELU;
    case A_GELU_TANH: return LAM_ACTIVATION_GELU_TANH;
    case A_SILU: return LAM_ACTIVATION_SILU;
    default: return LAM_ACTIVATION_IDENTITY;
    }
}

#define ACT_OPS(var, name, pymod)                                                                  \
    static const lam__module_ops var = {                                                            \
        .type_name = name,                                                                         \
        .py_module = pymod,                                                                        \
        .output_shape = same_shape,                                                                \
        .forward_into = act_forward,                                                               \
        .extra_repr = act_repr,                                                                    \
        .destroy = act_destroy,                                                                    \
        .rowwise = act_rowwise,                                                                    \
        .epilogue_act = act_epilogue,                                                              \
        .planewise = act_planewise,                                                                \
    }

ACT_OPS(identity_ops, "Identity", "torch.nn.modules.linear");
ACT_OPS(relu_ops, "ReLU", "torch.nn.modules.activation");
ACT_OPS(leaky_ops, "LeakyReLU", "torch.nn.modules.activation");
ACT_OPS(relu6_ops, "ReLU6", "torch.nn.modules.activation");
ACT_OPS(elu_ops, "ELU", "torch.nn.modules.activation");
ACT_OPS(sigmoid_ops, "Sigmoid", "torch.nn.modules.activation");
ACT_OPS(tanh_ops, "Tanh", "torch.nn.modules.activation");
ACT_OPS(gelu_ops, "GELU", "torch.nn.modules.activation");
ACT_OPS(silu_ops, "SiLU", "torch.nn.modules.activation");
ACT_OPS(softplus_ops, "Softplus", "torch.nn.modules.activation");
ACT_OPS(hardswish_ops, "Hardswish", "torch.nn.modules.activation");
ACT_OPS(hardsigmoid_ops, "Hardsigmoid", "torch.nn.modules.activation");
ACT_OPS(hardtanh_ops, "Hardtanh", "torch.nn.modules.activation");
ACT_OPS(mish_ops, "Mish", "torch.nn.modules.activation");

static bool is_act(const lam_module *m)
{
    const lam__module_ops *o = m->ops;
    return o == &identity_ops || o == &relu_ops || o == &leaky_ops || o == &relu6_ops ||
           o == &elu_ops || o == &sigmoid_ops || o == &tanh_ops || o == &gelu_ops ||
           o == &silu_ops || o == &softplus_ops || o == &hardswish_ops || o == &hardsigmoid_ops ||
           o == &hardtanh_ops || o == &mish_ops;
}

static lam_status make(lam_module **out, const lam__module_ops *ops, act_kind kind, double a,
                       double b)
{
    if (!out)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "%s: output pointer is NULL", ops->type_name);
    *out = NULL;
    act_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom(ops->type_name);
    s->kind = kind;
    s->a = (float)a;
    s->b = (float)b;
    s->a_repr = a;
    s->b_repr = b;
    s->a_int = s->b_int = kind == A_SOFTPLUS; /* PyTorch's defaults: beta=1, threshold=20 */
    lam_status st = lam__module_new(out, ops, s);
    if (st)
        free(s);
    return st;
}

LAM_API lam_status lam_identity_create(lam_module **out)
{
    LAM__CHECK_ARG(out);
    return make(out, &identity_ops, A_IDENTITY, 0, 0);
}
LAM_API lam_status lam_relu_create(lam_module **out)
{
    LAM__CHECK_ARG(out);
    return make(out, &relu_ops, A_RELU, 0, 0);
}
LAM_API lam_status lam_relu6_create(lam_module **out)
{
    LAM__CHECK_ARG(out);
    return make(out, &relu6_ops, A_RELU6, 0, 0);
}
LAM_API lam_status lam_sigmoid_create(lam_module **out)
{
    LAM__CHECK_ARG(out);
    return make(out, &sigmoid_ops, A_SIGMOID, 0, 0);
}
LAM_API lam_status lam_tanh_create(lam_module **out)
{
    LAM__CHECK_ARG(out);
    return make(out, &tanh_ops, A_TANH, 0, 0);
}
LAM_API lam_status lam_silu_create(lam_module **out)
{
    LAM__CHECK_ARG(out);
    return make(out, &silu_ops, A_SILU, 0, 0);
}

LAM_API lam_status lam_leaky_relu_create(lam_module **out, double negative_slope)
{
    LAM__CHECK_ARG(out);
    if (!isfinite(negative_slope))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "LeakyReLU: negative_slope must be finite");
    return make(out, &leaky_ops, A_LEAKY, negative_slope, 0);
}

LAM_API lam_status lam_elu_create(lam_module **out, double alpha)
{
    LAM__CHECK_ARG(out);
    if (!isfinite(alpha))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "ELU: alpha must be finite");
    return make(out, &elu_ops, A_ELU, alpha, 0);
}

LAM_API lam_status lam_gelu_create(lam_module **out, const char *approximate)
{
    LAM__CHECK_ARG(out);
    if (!approximate || strcmp(approximate, "none") == 0)
        return make(out, &gelu_ops, A_GELU, 0, 0);
    if (strcmp(approximate, "tanh") == 0)
        return make(out, &gelu_ops, A_GELU_TANH, 0, 0);
    return lam__error(LAM_ERR_INVALID_ARGUMENT,
                      "GELU: approximate must be 'none' or 'tanh', got '%s'", approximate);
}

LAM_API lam_status lam_softplus_create(lam_module **out, double beta, double threshold)
{
    LAM__CHECK_ARG(out);
    if (!isfinite(beta) || beta == 0 || !isfinite(threshold))
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "Softplus: beta must be finite and non-zero and threshold finite");
    return make(out, &softplus_ops, A_SOFTPLUS, beta, threshold);
}

void lam__act_set_repr_style(lam_module *m, bool a_int, bool b_int)
{
    if (m && is_act(m)) {
        act_state *s = m->state;
        s->a_int = a_int;
        s->b_int = b_int;
    }
}

LAM_API lam_status lam_hardswish_create(lam_module **out)
{
    LAM__CHECK_ARG(out);
    return make(out, &hardswish_ops, A_HARDSWISH, 0, 0);
}
LAM_API lam_status lam_hardsigmoid_create(lam_module **out)
{
    LAM__CHECK_ARG(out);
    return make(out, &hardsigmoid_ops, A_HARDSIGMOID, 0, 0);
}
LAM_API lam_status lam_mish_create(lam_module **out)
{
    LAM__CHECK_ARG(out);
    return make(out, &mish_ops, A_MISH, 0, 0);
}

LAM_API lam_status lam_hardtanh_create(lam_module **out, double min_val, double max_val)
{
    LAM__CHECK_ARG(out);
    if (!isfinite(min_val) || !isfinite(max_val))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "Hardtanh: min_val and max_val must be finite");
    /* PyTorch: assert self.max_val > self.min_val */
    if (!(max_val > min_val)) {
        char a[40], b[40];
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "Hardtanh: max_val (%s) must be greater than min_val (%s)",
                          lam__py_float(max_val, b, sizeof b), lam__py_float(min_val, a, sizeof a));
    }
    return make(out, &hardtanh_ops, A_HARDTANH, min_val, max_val);
}

void lam__act_set_inplace(lam_module *m, bool inplace)
{
    if (m && is_act(m))
        ((act_state *)m->state)->inplace = inplace;
}
