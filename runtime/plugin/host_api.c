/* The host table handed to plugins (lam_host_api in <lamina/plugin.h>):
 * thin, checked wrappers over the public API and the kernel table, so that a
 * plugin needs neither liblamina at link time nor ISA flags. */
#include "runtime/plugin/plugin.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lam_status h_register_type(lam_registry *reg, const lam_layer_type *type)
{
    return lam__registry_add(reg, type);
}

static lam_status h_error(lam_status st, const char *fmt, ...)
{
    st = lam__plugin_status(st);
    if (!fmt)
        return lam__error(st, "(no message)");
    va_list ap;
    va_start(ap, fmt);
    lam__verror(st, fmt, ap);
    va_end(ap);
    return st;
}

static void h_log(lam_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lam__vlog(level, fmt, ap);
    va_end(ap);
}

/* What a plugin allocates through the table while a model file is being
 * built counts against the file's parameter limit, before it is allocated
 * (lam__budget_charge; no budget outside lam_model_parse). */
static void *h_alloc(size_t bytes)
{
    int64_t floats = (int64_t)(bytes / sizeof(float) + (bytes % sizeof(float) != 0));
    if (bytes > INT64_MAX / 2 ||
        lam__budget_charge(floats, "a plugin allocation of %zu bytes", bytes) != LAM_OK)
        return NULL;
    return lam__aligned_alloc(bytes);
}

static lam_status h_tensor_create(lam_tensor **out, int ndim, const int64_t *shape)
{
    int64_t numel;
    char sh[96];
    lam_status st = lam__check_shape(ndim, shape, &numel);
    if (!st)
        st = lam__budget_charge(numel, "a plugin tensor of shape %s",
                                lam_shape_str(ndim, shape, sh, sizeof sh));
    if (st) {
        if (out)
            *out = NULL;
        return st;
    }
    return lam_tensor_create(out, ndim, shape);
}

static lam_status h_tensor_create_dtype(lam_tensor **out, lam_dtype dtype, int ndim,
                                        const int64_t *shape)
{
    int64_t numel;
    char sh[96];
    lam_status st = lam__check_shape(ndim, shape, &numel);
    if (!st) /* counted in floats, as everything the budget sees */
        st = lam__budget_charge(dtype == LAM_INT64 ? 2 * numel : numel,
                                "a plugin tensor of shape %s",
                                lam_shape_str(ndim, shape, sh, sizeof sh));
    if (st) {
        if (out)
            *out = NULL;
        return st;
    }
    return lam_tensor_create_dtype(out, dtype, ndim, shape);
}

static lam_status h_tensor_clone(lam_tensor **out, const lam_tensor *src)
{
    char sh[96];
    lam_status st = src ? lam__budget_charge(src->numel, "a plugin copy of a tensor of shape %s",
                                             lam_shape_str(src->ndim, src->shape, sh, sizeof sh))
                        : LAM_OK;
    if (st) {
        if (out)
            *out = NULL;
        return st;
    }
    return lam_tensor_clone(out, src);
}
static void h_free(void *p) { lam__aligned_free(p); }

static char *h_format_float(double v, bool int_style, char *buf, size_t size)
{
    if (!buf || !size)
        return buf;
    return lam__py_number(v, int_style, buf, size);
}

/* ---- kernels ---- */

static const char *h_kernel_isa(void) { return lam__kernels()->isa; }

static lam_status h_activation(lam_activation f, size_t n, const float *x, float *y, float alpha,
                               float beta)
{
    if (n && (!x || !y))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "activation: NULL array");
    const lam__kernel_table *k = lam__kernels();
    switch (f) {
    case LAM_ACTIVATION_IDENTITY:
        if (n && x != y)
            memmove(y, x, n * sizeof(float));
        return LAM_OK;
    case LAM_ACTIVATION_RELU: k->relu(n, x, y); return LAM_OK;
    case LAM_ACTIVATION_LEAKY_RELU: k->leaky_relu(n, x, y, alpha); return LAM_OK;
    case LAM_ACTIVATION_RELU6: k->relu6(n, x, y); return LAM_OK;
    case LAM_ACTIVATION_SIGMOID: k->sigmoid(n, x, y); return LAM_OK;
    case LAM_ACTIVATION_TANH: k->tanh(n, x, y); return LAM_OK;
    case LAM_ACTIVATION_GELU: k->gelu(n, x, y); return LAM_OK;
    case LAM_ACTIVATION_GELU_TANH: k->gelu_tanh(n, x, y); return LAM_OK;
    case LAM_ACTIVATION_SILU: k->silu(n, x, y); return LAM_OK;
    case LAM_ACTIVATION_ELU: k->elu(n, x, y, alpha); return LAM_OK;
    case LAM_ACTIVATION_SOFTPLUS: k->softplus(n, x, y, alpha, beta); return LAM_OK;
    case LAM_ACTIVATION_EXP: k->exp(n, x, y); return LAM_OK;
    }
    return lam__error(LAM_ERR_INVALID_ARGUMENT, "activation: unknown function %d", (int)f);
}

static lam_status h_softmax_rows(bool log, size_t rows, size_t n, const float *x, float *y)
{
    if (rows && n && (!x || !y))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "softmax_rows: NULL array");
    const lam__kernel_table *k = lam__kernels();
    lam__unary_fn row = log ? k->log_softmax : k->softmax;
    for (size_t r = 0; n && r < rows; r++)
        row(n, x + r * n, y + r * n);
    return LAM_OK;
}

static size_t h_gemm_packed_size(size_t N, size_t K) { return lam__kernels()->gemm_packed_size(N, K); }

static lam_status h_gemm_pack(size_t N, size_t K, const float *W, float *packed)
{
    if (N && K && (!W || !packed))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "gemm_pack: NULL array");
    lam__kernels()->gemm_pack(N, K, W, packed);
    return LAM_OK;
}

static lam_status h_gemm(size_t M, size_t N, size_t K, const float *x, size_t ldx,
                         const float *packed, const float *bias, float *y, size_t ldy,
                         lam_activation f, float alpha, size_t n_begin, size_t n_end)
{
    if ((unsigned)f >= LAM_ACTIVATION__EPILOGUE_COUNT)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "gemm: activation %d cannot be fused into the epilogue", (int)f);
    if (n_begin > n_end || n_end > N || ldx < K || ldy < N)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "gemm: bad ranges (N=%zu, K=%zu, ldx=%zu, ldy=%zu, columns [%zu, %zu))",
                          N, K, ldx, ldy, n_begin, n_end);
    if (M && n_end > n_begin && (!y || !packed || (K && !x)))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "gemm: NULL array");
    lam__epilogue ep = {.act = f, .alpha = alpha};
    lam__kernels()->gemm(M, N, K, x, ldx, packed, bias, y, ldy, ep, n_begin, n_end);
    return LAM_OK;
}

static const lam_host_ops host_ops = {
    .struct_size = sizeof(lam_host_ops),
    .add = lam_tensor_add,
    .sub = lam_tensor_sub,
    .mul = lam_tensor_mul,
    .div = lam_tensor_div,
    .add_scalar = lam_tensor_add_scalar,
    .sub_scalar = lam_tensor_sub_scalar,
    .rsub_scalar = lam_tensor_rsub_scalar,
    .mul_scalar = lam_tensor_mul_scalar,
    .div_scalar = lam_tensor_div_scalar,
    .rdiv_scalar = lam_tensor_rdiv_scalar,
    .sigmoid = lam_tensor_sigmoid,
    .tanh = lam_tensor_tanh,
    .relu = lam_tensor_relu,
    .gelu = lam_tensor_gelu,
    .silu = lam_tensor_silu,
    .softmax = lam_tensor_softmax,
    .log_softmax = lam_tensor_log_softmax,
    .matmul = lam_tensor_matmul,
    .linear = lam_tensor_linear,
    .cat = lam_tensor_cat,
    .split = lam_tensor_split,
    .split_sizes = lam_tensor_split_sizes,
    .chunk = lam_tensor_chunk,
    .view = lam_tensor_view,
    .flatten = lam_tensor_flatten,
    .narrow = lam_tensor_narrow,
    .transpose = lam_tensor_transpose,
    .permute = lam_tensor_permute,
    .contiguous = lam_tensor_contiguous,
    .sum = lam_tensor_sum,
    .mean = lam_tensor_mean,
};

static lam_tensor *host_forward_output(lam_module *self, int ndim, const int64_t *shape)
{
    lam_tensor *t = lam__forward_dest(self, ndim, shape);
    return t ? lam_tensor_retain(t) : NULL;
}

static const lam_host_kv_cache host_kv_cache = {
    .struct_size = sizeof(lam_host_kv_cache),
    .causal_attention = lam_causal_attention,
    .attention = lam_kv_cache_attention,
    .layer = lam_kv_cache_layer,
    .num_layers = lam_kv_cache_num_layers,
    .length = lam_kv_cache_length,
    .max_length = lam_kv_cache_max_length,
    .truncate = lam_kv_cache_truncate,
};

/* host->attention_default_args: the unknown ones of num_heads and
 * batch_first get the values given */
static lam_status h_attention_default_args(lam_module *m, int64_t num_heads, bool batch_first)
{
    if (!m || m->ops != &lam__mha_ops)
        return lam__error(LAM_ERR_TYPE, "attention_default_args: %s is not a MultiheadAttention",
                          m ? lam_module_type_name(m) : "NULL");
    lam__hidden cur, v;
    lam__mha_hidden(m, &cur);
    unsigned which = cur.takes & ~cur.known & (LAM__HID_NUM_HEADS | LAM__HID_BATCH_FIRST);
    if (num_heads <= 0)
        which &= ~(unsigned)LAM__HID_NUM_HEADS;
    if (!which)
        return LAM_OK;
    v = cur;
    v.num_heads = num_heads;
    v.batch_first = batch_first;
    return lam__mha_set_hidden(m, &v, which);
}

static const lam_host_api host = {
    .struct_size = sizeof(lam_host_api),
    .abi_major = LAM_PLUGIN_ABI_MAJOR,
    .abi_minor = LAM_PLUGIN_ABI_MINOR,
    .lamina_version = PACKAGE_VERSION,

    .register_type = h_register_type,
    .error = h_error,
    .log = h_log,
    .alloc = h_alloc,
    .free = h_free,

    .tensor_create = h_tensor_create,
    .tensor_clone = h_tensor_clone,
    .tensor_retain = lam_tensor_retain,
    .tensor_release = lam_tensor_release,
    .tensor_ndim = lam_tensor_ndim,
    .tensor_shape = lam_tensor_shape,
    .tensor_numel = lam_tensor_numel,
    .tensor_data = lam_tensor_data,
    .tensor_cdata = lam_tensor_cdata,
    .shape_str = lam_shape_str,

    .module_new = lam__plugin_module_new,
    .module_state = lam__plugin_module_state,
    .module_add_param = lam__plugin_module_add_param,
    .module_param = lam__module_param,
    .module_retain = lam_module_retain,
    .module_release = lam_module_release,
    .module_type_name = lam_module_type_name,
    .module_is_training = lam_module_is_training,
    .module_num_children = lam_module_num_children,
    .module_child_at = lam_module_child_at,
    .module_child = lam_module_child,
    .module_add_child = lam_module_add_child,
    .module_forward = lam_module_forward_args,
    .module_output_shape = lam_module_output_shape,
    .module_create = lam_module_create,

    .format_float = h_format_float,

    .kernel_isa = h_kernel_isa,
    .activation = h_activation,
    .softmax_rows = h_softmax_rows,
    .gemm_packed_size = h_gemm_packed_size,
    .gemm_pack = h_gemm_pack,
    .gemm = h_gemm,

    .ops = &host_ops,

    .module_forward_into = lam_module_forward_args_into,

    .tensor_dtype = lam_tensor_dtype,
    .tensor_create_dtype = h_tensor_create_dtype,
    .tensor_to_dtype = lam_tensor_to_dtype,
    .tensor_data_i64 = lam_tensor_data_i64,
    .tensor_cdata_i64 = lam_tensor_cdata_i64,
    .tensor_data_bool = lam_tensor_data_bool,
    .tensor_cdata_bool = lam_tensor_cdata_bool,
    .dtype_name = lam_dtype_name,

    .module_forward_multi = lam_module_forward_multi,
    .tuple_create = lam_tuple_create,
    .tuple_retain = lam_tuple_retain,
    .tuple_release = lam_tuple_release,
    .tuple_len = lam_tuple_len,
    .tuple_tensor = lam_tuple_tensor,
    .tuple_tuple = lam_tuple_tuple,
    .tuple_is_none = lam_tuple_is_none,
    .tuple_set_tensor = lam_tuple_set_tensor,
    .tuple_set_tuple = lam_tuple_set_tuple,

    .kv_cache = &host_kv_cache,
    .module_register_parameter = lam_module_register_parameter,
    .attention_default_args = h_attention_default_args,
    .forward_output = host_forward_output,
};

const lam_host_api *lam__host_api(void) { return &host; }
