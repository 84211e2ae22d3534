/* ConstantPad1d/2d, ZeroPad2d, ReflectionPad1d/2d and ReplicationPad1d/2d
 * (torch/nn/modules/padding.py): F.pad with PyTorch 1.13's checks and
 * messages (_pad_enum, constant_pad_nd and its narrow() for negative
 * padding, ReflectionPad.cpp, ReplicationPadding.cpp).  padding is
 * (left, right[, top, bottom]) for the last dims, last dim first; negative
 * entries crop. */
#include "runtime/layers/layers.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum { P_CONSTANT, P_REFLECT, P_REPLICATE };

typedef struct pad_state {
    int type;  /* LAM__PAD_* */
    int mode;  /* P_* */
    int n;     /* padding entries */
    int64_t pad[8];
    double value;
    bool value_int;
} pad_state;

static const char *const names[] = {"ConstantPad1d", "ConstantPad2d", "ZeroPad2d",
                                    "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d",
                                    "ReplicationPad2d"};

/* "[ torch.FloatTensor{1,2,0} ]": how PyTorch prints a tensor in a message. */
static const char *tensor_desc(int ndim, const int64_t *in, char *buf, size_t size)
{
    size_t len = (size_t)snprintf(buf, size, "[ torch.FloatTensor{");
    for (int i = 0; i < ndim && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%" PRId64, i ? "," : "", in[i]);
    if (len < size)
        snprintf(buf + len, size - len, "} ]");
    return buf;
}

static lam_status constant_shape(const pad_state *s, const char *tn, int ndim, const int64_t *in,
                                 int64_t *out)
{
    int k = s->n / 2, diff = ndim - k;
    const int64_t *p = s->pad;
    bool all_nonpos = true;
    for (int i = diff; i < ndim; i++) {
        int idx = 2 * (ndim - i - 1);
        int64_t cur = in[i];
        for (int side = 0; side < 2; side++) {
            int64_t v = p[idx + side];
            if (v > 0)
                all_nonpos = false;
            if (v >= 0)
                continue;
            /* narrow(i, start, length) */
            int64_t start = side == 0 ? -v : 0, length = cur + v;
            if (start != cur && start >= cur)
                return lam__error(LAM_ERR_SHAPE,
                                  "%s: Dimension out of range (expected to be in range of "
                                  "[%" PRId64 ", %" PRId64 "], but got %" PRId64 ")",
                                  tn, -cur, cur - 1, start);
            if (length < 0 || start > cur - length)
                return lam__error(LAM_ERR_SHAPE,
                                  "%s: start (%" PRId64 ") + length (%" PRId64
                                  ") exceeds dimension size (%" PRId64 ").",
                                  tn, start, length, cur);
            cur = length;
        }
        out[i] = cur;
    }
    if (all_nonpos)
        return LAM_OK;
    for (int i = diff; i < ndim; i++) {
        int idx = 2 * (ndim - i - 1);
        int64_t nd = in[i] + p[idx] + p[idx + 1];
        if (nd <= 0)
            return lam__error(LAM_ERR_SHAPE,
                              "%s: The input size %" PRId64 ", plus negative padding %" PRId64
                              " and %" PRId64 " resulted in a negative output size, which is "
                              "invalid. Check dimension %d of your input.",
                              tn, in[i], p[idx], p[idx + 1], i);
        out[i] = nd;
    }
    return LAM_OK;
}

static lam_status negative(const char *tn, int ndim, const int64_t *out)
{
    for (int i = 0; i < ndim; i++)
        if (out[i] < 0) {
            char sb[96];
            return lam__error(LAM_ERR_SHAPE,
                              "%s: Trying to create tensor with negative dimension %" PRId64 ": %s",
                              tn, out[i], lam_shape_str(ndim, out, sb, sizeof sb));
        }
    return LAM_OK;
}

static lam_status pad_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                            int64_t *out)
{
    const pad_state *s = m->state;
    const char *tn = names[s->type];
    char sb[128];
    if (s->n % 2)
        return lam__error(LAM_ERR_SHAPE, "%s: Padding length must be divisible by 2", tn);
    if (s->n > 2 * ndim)
        return lam__error(LAM_ERR_SHAPE, "%s: Padding length too large", tn);
    for (int i = 0; i < s->n; i++)
        if (s->pad[i] > ((int64_t)1 << 48) || s->pad[i] < -((int64_t)1 << 48))
            return lam__error(LAM_ERR_SHAPE, "%s: padding %" PRId64 " is too large", tn,
                              s->pad[i]);
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    if (s->mode == P_CONSTANT)
        return constant_shape(s, tn, ndim, in, out);
    bool one = s->n == 2 && (ndim == 2 || ndim == 3);
    bool two = s->n == 4 && (ndim == 3 || ndim == 4);
    if (!one && !two)
        return lam__error(LAM_ERR_SHAPE,
                          "%s: Only 2D, 3D, 4D, 5D padding with non-constant padding are supported "
                          "for now",
                          tn);
    int64_t l = s->pad[0], r = s->pad[1], t = two ? s->pad[2] : 0, b = two ? s->pad[3] : 0;
    int64_t W = in[ndim - 1], H = two ? in[ndim - 2] : 1;
    int64_t OW = W + l + r, OH = H + t + b;
    bool reflect = s->mode == P_REFLECT;
    if (reflect) {
        bool ok = one ? (ndim == 2 && in[1] != 0) || (ndim == 3 && in[1] != 0 && in[2] != 0)
                      : in[1] != 0 && in[2] != 0 && (ndim == 3 || in[3] != 0);
        if (!ok)
            return lam__error(LAM_ERR_SHAPE,
                              "%s: %s (batch mode) tensor expected for input, but got: %s", tn,
                              one ? "2D or 3D" : "3D or 4D", tensor_desc(ndim, in, sb, sizeof sb));
        if (!(l < W && r < W)) {
            char what[96];
            if (one)
                lam_shape_str(ndim, in, what, sizeof what);
            else
                snprintf(what, sizeof what, "%d", ndim);
            return lam__error(LAM_ERR_SHAPE,
                              "%s: Argument #4: Padding size should be less than the corresponding "
                              "input dimension, but got: padding (%" PRId64 ", %" PRId64
                              ") at dimension %d of input %s",
                              tn, l, r, ndim - 1, what);
        }
        if (two && !(t < H && b < H))
            return lam__error(LAM_ERR_SHAPE,
                              "%s: Argument #6: Padding size should be less than the corresponding "
                              "input dimension, but got: padding (%" PRId64 ", %" PRId64
                              ") at dimension %d of input %d",
                              tn, t, b, ndim - 2, ndim);
    } else {
        int d = one ? 1 : 2;
        bool batch = ndim == d + 2, ok = true;
        for (int i = batch ? 1 : 0; i < ndim; i++)
            ok = ok && in[i] != 0;
        if (!ok)
            return lam__error(LAM_ERR_SHAPE,
                              "%s: Expected %dD or %dD (batch mode) tensor with possibly 0 batch "
                              "size and other non-zero dimensions for input, but got: %s",
                              tn, d + 1, d + 2, lam_shape_str(ndim, in, sb, sizeof sb));
    }
    if (one && OW < 1) /* sic: ReflectionPad.cpp passes a stray 2 to the message */
        return lam__error(LAM_ERR_SHAPE,
                          reflect ? "%s: 2input (W: %" PRId64 ")is too small. Calculated output W: "
                                    "%" PRId64
                                  : "%s: input (W: %" PRId64 ") is too small. Calculated output "
                                    "W: %" PRId64,
                          tn, W, OW);
    if (two && OW < 1 && OH < 1)
        return lam__error(LAM_ERR_SHAPE,
                          reflect ? "%s: input (H: %" PRId64 ", W: %" PRId64 ")is too small. "
                                    "Calculated output H: %" PRId64 " W: %" PRId64
                                  : "%s: input (H: %" PRId64 ", W: %" PRId64 " ) is too small. "
                                    "Calculated output H: %" PRId64 " W: %" PRId64,
                          tn, H, W, OH, OW);
    out[ndim - 1] = OW;
    if (two)
        out[ndim - 2] = OH;
    /* PyTorch's reflection pad resizes its output with a negative size */
    if (reflect && (OW < 0 || OH < 0))
        return lam__error(LAM_ERR_SHAPE, "%s: numel: integer multiplication overflow", tn);
    return negative(tn, ndim, out);
}

static int64_t src_index(int mode, int64_t o, int64_t pad_l, int64_t n)
{
    int64_t i = o - pad_l;
    if (mode == P_REFLECT) {
        if (i < 0)
            i = -i;
        if (i >= n)
            i = 2 * (n - 1) - i;
        return i;
    }
    if (mode == P_REPLICATE)
        return i < 0 ? 0 : i >= n ? n - 1 : i;
    return i >= 0 && i < n ? i : -1;
}

static lam_status pad_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    const pad_state *s = m->state;
    int ndim = in->ndim;
    if (out->numel == 0)
        return LAM_OK;
    /* as 4-D, the padded dims last; pl[d] is the left padding of dim d */
    int64_t is[4] = {1, 1, 1, 1}, os[4] = {1, 1, 1, 1}, pl[4] = {0, 0, 0, 0};
    for (int i = 0; i < ndim; i++) {
        is[4 - ndim + i] = in->shape[i];
        os[4 - ndim + i] = out->shape[i];
    }
    for (int j = 0; j < s->n / 2; j++)
        pl[3 - j] = s->pad[2 * j];
    float value = (float)s->value;
    const float *x = in->data;
    float *y = out->data;
    for (int64_t a = 0; a < os[0]; a++) {
        int64_t ia = src_index(s->mode, a, pl[0], is[0]);
        for (int64_t b = 0; b < os[1]; b++) {
            int64_t ib = src_index(s->mode, b, pl[1], is[1]);
            for (int64_t c = 0; c < os[2]; c++) {
                int64_t ic = src_index(s->mode, c, pl[2], is[2]);
                float *yr = y + ((a * os[1] + b) * os[2] + c) * os[3];
                if (ia < 0 || ib < 0 || ic < 0) {
                    for (int64_t d = 0; d < os[3]; d++)
                        yr[d] = value;
                    continue;
                }
                const float *xr = x + ((ia * is[1] + ib) * is[2] + ic) * is[3];
                for (int64_t d = 0; d < os[3]; d++) {
                    int64_t id = src_index(s->mode, d, pl[3], is[3]);
                    yr[d] = id < 0 ? value : xr[id];
                }
            }
        }
    }
    return LAM_OK;
}

static int pad_repr(const lam_module *m, char *buf, size_t size)
{
    const pad_state *s = m->state;
    char p[200] = "(", v[40];
    size_t len = 1;
    for (int i = 0; i < s->n; i++)
        len += (size_t)snprintf(p + len, sizeof p - len, "%s%" PRId64, i ? ", " : "", s->pad[i]);
    snprintf(p + len, sizeof p - len, "%s", s->n == 1 ? ",)" : ")");
    if (s->type == LAM__PAD_CONSTANT1D || s->type == LAM__PAD_CONSTANT2D)
        return snprintf(buf, size, "padding=%s, value=%s", p,
                        lam__py_number(s->value, s->value_int, v, sizeof v));
    return snprintf(buf, size, "%s", p);
}

static void pad_destroy(lam_module *m) { free(m->state); }

static bool pad_rowwise(const lam_module *m, int ndim)
{
    const pad_state *s = m->state;
    return ndim > s->n / 2;
}

#define PAD_OPS(var, name)                                                                         \
    static const lam__module_ops var = {                                                            \
        .type_name = name,                                                                         \
        .py_module = "torch.nn.modules.padding",                                                   \
        .output_shape = pad_shape,                                                                 \
        .forward_into = pad_forward,                                                               \
        .extra_repr = pad_repr,                                                                    \
        .destroy = pad_destroy,                                                                    \
        .rowwise = pad_rowwise,                                                                    \
    }
PAD_OPS(const1_ops, "ConstantPad1d");
PAD_OPS(const2_ops, "ConstantPad2d");
PAD_OPS(zero2_ops, "ZeroPad2d");
PAD_OPS(refl1_ops, "ReflectionPad1d");
PAD_OPS(refl2_ops, "ReflectionPad2d");
PAD_OPS(repl1_ops, "ReplicationPad1d");
PAD_OPS(repl2_ops, "ReplicationPad2d");

lam_status lam__pad_create(lam_module **out, int type, int n, const int64_t *padding, double value,
                           bool value_int)
{
    static const lam__module_ops *const ops[] = {&const1_ops, &const2_ops, &zero2_ops, &refl1_ops,
                                                 &refl2_ops,  &repl1_ops,  &repl2_ops};
    static const int modes[] = {P_CONSTANT, P_CONSTANT, P_CONSTANT, P_REFLECT,
                                P_REFLECT,  P_REPLICATE, P_REPLICATE};
    *out = NULL;
    if (type < 0 || type > LAM__PAD_REPLICATION2D)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "pad: unknown type %d", type);
    if (n < 1 || n > 8)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "%s: padding has %d entries, 1 to 8 supported", names[type], n);
    pad_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom(names[type]);
    s->type = type;
    s->mode = modes[type];
    s->n = n;
    memcpy(s->pad, padding, sizeof(int64_t) * (size_t)n);
    s->value = value;
    s->value_int = value_int;
    lam_status st = lam__module_new(out, ops[type], s);
    if (st)
        free(s);
    return st;
}

LAM_API lam_status lam_constant_pad1d_create(lam_module **out, const int64_t padding[2],
                                             double value)
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(padding);
    return lam__pad_create(out, LAM__PAD_CONSTANT1D, 2, padding, value, false);
}
LAM_API lam_status lam_constant_pad2d_create(lam_module **out, const int64_t padding[4],
                                             double value)
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(padding);
    return lam__pad_create(out, LAM__PAD_CONSTANT2D, 4, padding, value, false);
}
LAM_API lam_status lam_zero_pad2d_create(lam_module **out, const int64_t padding[4])
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(padding);
    return lam__pad_create(out, LAM__PAD_ZERO2D, 4, padding, 0.0, false);
}
LAM_API lam_status lam_reflection_pad1d_create(lam_module **out, const int64_t padding[2])
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(padding);
    return lam__pad_create(out, LAM__PAD_REFLECTION1D, 2, padding, 0.0, false);
}
LAM_API lam_status lam_reflection_pad2d_create(lam_module **out, const int64_t padding[4])
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(padding);
    return lam__pad_create(out, LAM__PAD_REFLECTION2D, 4, padding, 0.0, false);
}
LAM_API lam_status lam_replication_pad1d_create(lam_module **out, const int64_t padding[2])
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(padding);
    return lam__pad_create(out, LAM__PAD_REPLICATION1D, 2, padding, 0.0, false);
}
LAM_API lam_status lam_replication_pad2d_create(lam_module **out, const int64_t padding[4])
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(padding);
    return lam__pad_create(out, LAM__PAD_REPLICATION2D, 4, padding, 0.0, false);
}
