/* Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d with PyTorch 1.13's
 * constructor checks, weight layout, initialisation (reset_parameters:
 * kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), then
 * the bias with the same bound, drawn as Linear draws them), repr, and the
 * shape errors PyTorch raises at forward, in its words and order.  The
 * weight is packed for the kernel table's conv_gemm (a transposed one's for
 * its GEMM and, per output phase, for conv_gemm) once and again only when it changes, as Linear's is.  The arithmetic is in conv_compute.c. */
#include "runtime/layers/conv.h"
#include <inttypes.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *conv_name(const conv_state *s)
{
    static const char *const names[2][2] = {{"Conv1d", "Conv2d"},
                                            {"ConvTranspose1d", "ConvTranspose2d"}};
    return names[s->transposed][s->nsp - 1];
}

/* "(3,)" or "(3, 3)": PyTorch's tuples of the module's spatial entries */
static int tuple_str(const conv_state *s, const int64_t *v, char *buf, size_t size)
{
    if (s->nsp == 1)
        return snprintf(buf, size, "(%" PRId64 ",)", v[1]);
    return snprintf(buf, size, "(%" PRId64 ", %" PRId64 ")", v[0], v[1]);
}

static bool all_eq(const conv_state *s, const int64_t *v, int64_t x)
{
    return v[1] == x && (s->nsp == 1 || v[0] == x);
}

static int conv_repr(const lam_module *m, char *buf, size_t size)
{
    const conv_state *s = m->state;
    lam__sb sb = {0};
    char t[64];
    lam__sb_printf(&sb, "%" PRId64 ", %" PRId64, s->in_ch, s->out_ch);
    tuple_str(s, s->k, t, sizeof t);
    lam__sb_printf(&sb, ", kernel_size=%s", t);
    tuple_str(s, s->stride, t, sizeof t);
    lam__sb_printf(&sb, ", stride=%s", t);
    if (s->pad_str != CONV_PAD_NUMERIC) {
        lam__sb_printf(&sb, ", padding=%s", s->pad_str == CONV_PAD_SAME ? "same" : "valid");
    } else if (!all_eq(s, s->pad, 0)) {
        tuple_str(s, s->pad, t, sizeof t);
        lam__sb_printf(&sb, ", padding=%s", t);
    }
    if (!all_eq(s, s->dil, 1)) {
        tuple_str(s, s->dil, t, sizeof t);
        lam__sb_printf(&sb, ", dilation=%s", t);
    }
    if (!all_eq(s, s->opad, 0)) {
        tuple_str(s, s->opad, t, sizeof t);
        lam__sb_printf(&sb, ", output_padding=%s", t);
    }
    if (s->groups != 1)
        lam__sb_printf(&sb, ", groups=%" PRId64, s->groups);
    if (!s->bias)
        lam__sb_puts(&sb, ", bias=False");
    static const char *const modes[] = {"zeros", "reflect", "replicate", "circular"};
    if (s->mode != CONV_ZEROS)
        lam__sb_printf(&sb, ", padding_mode=%s", modes[s->mode]);
    int n = snprintf(buf, size, "%s", sb.buf ? sb.buf : "");
    free(sb.buf);
    return n;
}

/* Errors start with the module's repr line, as Linear's do:
 * "Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1)): Given groups=1, ..." */
static lam_status conv_error(const lam_module *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static lam_status conv_error(const lam_module *m, const char *fmt, ...)
{
    char head[512], msg[1024];
    conv_repr(m, head, sizeof head);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lam__error(LAM_ERR_SHAPE, "%s(%s): %s", conv_name(m->state), head, msg);
}

/* "[8, 3, 3, 3]" */
static void weight_shape_str(const conv_state *s, char *buf, size_t size)
{
    int64_t a = s->transposed ? s->in_ch : s->out_ch;
    int64_t b = (s->transposed ? s->out_ch : s->in_ch) / s->groups;
    if (s->nsp == 1)
        snprintf(buf, size, "[%" PRId64 ", %" PRId64 ", %" PRId64 "]", a, b, s->k[1]);
    else
        snprintf(buf, size, "[%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "]", a, b, s->k[0],
                 s->k[1]);
}

/* "(2 x 2)" or "(2)" */
static void size_str(int nsp, int64_t h, int64_t w, char *buf, size_t size)
{
    if (nsp == 1)
        snprintf(buf, size, "(%" PRId64 ")", w);
    else
        snprintf(buf, size, "(%" PRId64 " x %" PRId64 ")", h, w);
}

/* The padding-mode checks F.pad makes before the convolution (PyTorch pads
 * first for reflect/replicate/circular). */
static lam_status check_pad_mode(const lam_module *m, int ndim, const int64_t *in)
{
    const conv_state *s = m->state;
    int hd = ndim - 2, wd = ndim - 1; /* dims of H and W in the input */
    if (s->mode == CONV_REFLECT) {
        char shape[160];
        lam_shape_str(ndim, in, shape, sizeof shape);
        for (int d = 1; d >= 2 - s->nsp; d--) {
            int64_t size = in[d == 1 ? wd : hd];
            if (s->pad_lo[d] >= size || s->pad_hi[d] >= size) {
                char where[180];
                if (s->nsp == 1)
                    snprintf(where, sizeof where, "%s", shape);
                else
                    snprintf(where, sizeof where, "%d", ndim);
                return conv_error(m,
                                  "Argument #%d: Padding size should be less than the "
                                  "corresponding input dimension, but got: padding (%" PRId64
                                  ", %" PRId64 ") at dimension %d of input %s",
                                  d == 1 ? 4 : 6, s->pad_lo[d], s->pad_hi[d], d == 1 ? wd : hd,
                                  where);
            }
        }
    } else if (s->mode == CONV_CIRCULAR) {
        if (ndim == s->nsp + 1) /* PyTorch 1.13 pads unbatched input circularly as batched */
            return conv_error(m, "Invalid padding size, expected %d but got %d",
                              2 * (ndim - 2), 2 * s->nsp);
        for (int d = 2 - s->nsp; d < 2; d++)
            if (s->pad_lo[d] > in[d ? wd : hd] || s->pad_hi[d] > in[d ? wd : hd])
                return conv_error(m, "Padding value causes wrapping around more than once.");
    } else if (s->mode == CONV_REPLICATE) {
        for (int d = 0; d < ndim; d++)
            if (in[d] == 0 && (d >= ndim - s->nsp || d == ndim - s->nsp - 1)) {
                char shape[160];
                return conv_error(m,
                                  "Expected %dD or %dD (batch mode) tensor with possibly 0 batch "
                                  "size and other non-zero dimensions for input, but got: %s",
                                  s->nsp + 1, s->nsp + 2,
                                  lam_shape_str(ndim, in, shape, sizeof shape));
            }
    }
    return LAM_OK;
}

/* The output shape, or PyTorch's error for the input shape. */
static lam_status conv_shape_geom(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                                  int64_t *out, conv_geom *g)
{
    const conv_state *s = m->state;
    char shape[160];
    if (ndim != s->nsp + 1 && ndim != s->nsp + 2)
        return conv_error(m,
                          "Expected %dD (unbatched) or %dD (batched) input to %s%dd, but got input "
                          "of size: %s",
                          s->nsp + 1, s->nsp + 2, s->transposed ? "conv_transpose" : "conv",
                          s->nsp, lam_shape_str(ndim, in, shape, sizeof shape));
    bool batched = ndim == s->nsp + 2;
    if (s->mode != CONV_ZEROS) {
        lam_status st = check_pad_mode(m, ndim, in);
        if (st)
            return st;
    }
    int64_t c = in[batched ? 1 : 0];
    int64_t h = s->nsp == 2 ? in[ndim - 2] : 1, w = in[ndim - 1];
    if (c != s->in_ch) {
        /* PyTorch names the input as the kernel sees it: batched, and the
         * spatial size after padding_mode's padding */
        int64_t b[LAM_MAX_DIMS + 1];
        int bn = 0;
        if (!batched)
            b[bn++] = 1;
        for (int d = 0; d < ndim; d++)
            b[bn++] = in[d];
        if (s->mode != CONV_ZEROS) {
            b[bn - 1] += s->pad_lo[1] + s->pad_hi[1];
            if (s->nsp == 2)
                b[bn - 2] += s->pad_lo[0] + s->pad_hi[0];
        }
        char ws[96];
        weight_shape_str(s, ws, sizeof ws);
        lam_shape_str(bn, b, shape, sizeof shape);
        if (s->transposed)
            return conv_error(m,
                              "Given transposed=1, weight of size %s, expected input%s to have "
                              "%" PRId64 " channels, but got %" PRId64 " channels instead",
                              ws, shape, s->in_ch, c);
        return conv_error(m,
                          "Given groups=%" PRId64 ", weight of size %s, expected input%s to have "
                          "%" PRId64 " channels, but got %" PRId64 " channels instead",
                          s->groups, ws, shape, s->in_ch, c);
    }
    int64_t oh, ow;
    if (s->transposed) {
        /* in 128 bits: an empty input may have dims near 2^63 */
        __int128 o[2];
        for (int d = 0; d < 2; d++)
            o[d] = ((__int128)(d ? w : h) - 1) * s->stride[d] - 2 * s->pad[d] +
                   s->dil[d] * (s->k[d] - 1) + s->opad[d] + 1;
        if (o[0] > INT64_MAX || o[1] > INT64_MAX)
            return conv_error(m, "the output size per channel does not fit in 64 bits");
        oh = (int64_t)o[0];
        ow = (int64_t)o[1];
        if (oh <= 0 || ow <= 0) {
            char a[64], o[64];
            /* conv_transpose1d runs as a 2-d one in PyTorch, and says so */
            size_str(2, h, w, a, sizeof a);
            size_str(2, oh, ow, o, sizeof o);
            return conv_error(m,
                              "Given input size per channel: %s. Calculated output size per "
                              "channel: %s. Output size is too small",
                              a, o);
        }
        if (!(s->opad[0] < s->stride[0] || s->opad[0] < s->dil[0]) ||
            !(s->opad[1] < s->stride[1] || s->opad[1] < s->dil[1]))
            return conv_error(m,
                              "output padding must be smaller than either stride or dilation, "
                              "but got output_padding_height: %" PRId64
                              " output_padding_width: %" PRId64 " stride_height: %" PRId64
                              " stride_width: %" PRId64 " dilation_height: %" PRId64
                              " dilation_width: %" PRId64,
                              s->opad[0], s->opad[1], s->stride[0], s->stride[1], s->dil[0],
                              s->dil[1]);
    } else {
        if (h > INT64_MAX - (INT64_C(1) << 22) || w > INT64_MAX - (INT64_C(1) << 22))
            return conv_error(m, "the padded input size per channel does not fit in 64 bits");
        int64_t hp = h + s->pad_lo[0] + s->pad_hi[0], wp = w + s->pad_lo[1] + s->pad_hi[1];
        int64_t kh = s->dil[0] * (s->k[0] - 1) + 1, kw = s->dil[1] * (s->k[1] - 1) + 1;
        if (hp < kh || wp < kw) {
            char a[64], k[64];
            size_str(s->nsp, hp, wp, a, sizeof a);
            size_str(s->nsp, kh, kw, k, sizeof k);
            return conv_error(m,
                              "Calculated padded input size per channel: %s. Kernel size: %s. "
                              "Kernel size can't be greater than actual input size",
                              a, k);
        }
        oh = (hp - kh) / s->stride[0] + 1;
        ow = (wp - kw) / s->stride[1] + 1;
    }
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    out[batched ? 1 : 0] = s->out_ch;
    out[ndim - 1] = ow;
    if (s->nsp == 2)
        out[ndim - 2] = oh;
    int64_t numel;
    lam_status st = lam__check_shape(ndim, out, &numel);
    if (st)
        return st;
    if (g)
        *g = (conv_geom){.n = batched ? in[0] : 1, .h = h, .w = w, .oh = oh, .ow = ow};
    return LAM_OK;
}

static lam_status conv_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                             int64_t *out)
{
    return conv_shape_geom(m, ndim, in, out_ndim, out, NULL);
}

/* ---- the packed weight (as Linear's; see linear.c) ---- */

static __attribute__((noinline)) lam_status packed_slow(lam_module *m)
{
    conv_state *s = m->state;
    lam_status st = LAM_OK;
    pthread_mutex_lock(&s->lock);
    unsigned pv = __atomic_load_n(&m->params_version, __ATOMIC_ACQUIRE);
    const lam_tensor *w = m->params[0].tensor;
    uint64_t v = lam__tensor_version(w);
    if (!lam__stamp_current(&s->packed_stamp, pv, v)) {
        lam__stamp_clear(&s->packed_stamp);
        st = lam__conv_pack(s, w->data);
        if (!st)
            lam__stamp_set(&s->packed_stamp, pv, v);
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

static inline lam_status packed_weight(lam_module *m)
{
    conv_state *s = m->state;
    if (!s->packed)
        return LAM_OK; /* the direct path reads the weight itself */
    unsigned pv = __atomic_load_n(&m->params_version, __ATOMIC_ACQUIRE);
    if (__builtin_expect(
            lam__stamp_current(&s->packed_stamp, pv, lam__tensor_version(m->params[0].tensor)), 1))
        return LAM_OK;
    return packed_slow(m);
}

/* The weight packed for gemm too (conv_pw_tail), allocated at the first
 * forward that needs it; under the lock as packed_slow. */
static __attribute__((noinline)) lam_status gpacked_slow(lam_module *m)
{
    conv_state *s = m->state;
    lam_status st = LAM_OK;
    pthread_mutex_lock(&s->lock);
    unsigned pv = __atomic_load_n(&m->params_version, __ATOMIC_ACQUIRE);
    const lam_tensor *w = m->params[0].tensor;
    uint64_t v = lam__tensor_version(w);
    if (!lam__stamp_current(&s->gpacked_stamp, pv, v)) {
        lam__stamp_clear(&s->gpacked_stamp);
        const lam__kernel_table *k = lam__kernels();
        if (!s->gpacked)
            s->gpacked = lam__aligned_alloc(
                k->gemm_packed_size((size_t)s->out_ch, (size_t)s->in_ch) * sizeof(float) + 64);
        if (!s->gpacked) {
            st = lam__oom("convolution weight packing");
        } else {
            k->gemm_pack((size_t)s->out_ch, (size_t)s->in_ch, w->data, s->gpacked);
            lam__stamp_set(&s->gpacked_stamp, pv, v);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

static inline lam_status gpacked_weight(lam_module *m, const conv_geom *g)
{
    conv_state *s = m->state;
    if (!g->n || !conv_pw_tail(s, g))
        return LAM_OK;
    unsigned pv = __atomic_load_n(&m->params_version, __ATOMIC_ACQUIRE);
    if (__builtin_expect(
            lam__stamp_current(&s->gpacked_stamp, pv, lam__tensor_version(m->params[0].tensor)), 1))
        return LAM_OK;
    return gpacked_slow(m);
}

/* The weight transformed for Winograd with tiles of m (conv_winograd),
 * allocated at the first forward that needs it; under the lock as
 * packed_slow. */
static __attribute__((noinline)) lam_status wpacked_slow(lam_module *m, int wm)
{
    conv_state *s = m->state;
    float **buf = wm == 4 ? &s->wpacked : &s->w2packed;
    lam__stamp *stamp = wm == 4 ? &s->wpacked_stamp : &s->w2packed_stamp;
    lam_status st = LAM_OK;
    pthread_mutex_lock(&s->lock);
    unsigned pv = __atomic_load_n(&m->params_version, __ATOMIC_ACQUIRE);
    const lam_tensor *w = m->params[0].tensor;
    uint64_t v = lam__tensor_version(w);
    if (!lam__stamp_current(stamp, pv, v)) {
        lam__stamp_clear(stamp);
        size_t ne = (size_t)((wm + 2) * (wm + 2));
        if (!*buf)
            *buf = lam__aligned_alloc(ne * lam__conv_wino_floats(s) * sizeof(float) + 64);
        st = *buf ? lam__conv_wino_pack(s, w->data, wm, *buf)
                  : lam__oom("convolution weight packing");
        if (!st)
            lam__stamp_set(stamp, pv, v);
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

static inline lam_status wpacked_weight(lam_module *m, const conv_geom *g)
{
    conv_state *s = m->state;
    int wm = g->n ? conv_winograd(s, g) : 0;
    if (!wm)
        return LAM_OK;
    unsigned pv = __atomic_load_n(&m->params_version, __ATOMIC_ACQUIRE);
    if (__builtin_expect(lam__stamp_current(wm == 4 ? &s->wpacked_stamp : &s->w2packed_stamp, pv,
                                            lam__tensor_version(m->params[0].tensor)),
                         1))
        return LAM_OK;
    return wpacked_slow(m, wm);
}

static lam_status conv_forward_ep(lam_module *m, const lam_tensor *in, lam_tensor *out,
                                  lam__epilogue ep)
{
    conv_state *s = m->state;
    int ond;
    int64_t oshape[LAM_MAX_DIMS];
    conv_geom g;
    lam_status st = conv_shape_geom(m, in->ndim, in->shape, &ond, oshape, &g);
    if (!st)
        st = packed_weight(m);
    if (!st)
        st = gpacked_weight(m, &g);
    if (!st)
        st = wpacked_weight(m, &g);
    if (st)
        return st;
    if (in->numel && !s->transposed && (g.h > INT32_MAX || g.w > INT32_MAX))
        return conv_error(m, "an input size per channel above 2^31 - 1 is not supported (the "
                             "tap tables hold 32-bit indices)");
    const float *bias = s->bias ? m->params[1].tensor->data : NULL;
    return lam__conv_compute(s, &g, in->data, out->data, s->packed, m->params[0].tensor->data,
                             bias, ep);
}

static lam_status conv_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    return conv_forward_ep(m, in, out, (lam__epilogue){.act = LAM_ACTIVATION_IDENTITY});
}

/* No `rowwise`: the samples are independent, but a convolution splits its
 * own work across threads (sample x group x pixel chunk, or x channel), which
 * also serves batch 1; a plan that cut the batch into row blocks would run
 * it on one thread per block of at least 8 samples. */
/* But the samples are independent, and the convolution splits a block of
 * them across the threads itself: a plan may run it on sample blocks
 * (batched input only). */
static bool conv_sample_blocks(const lam_module *m, int ndim)
{
    const conv_state *s = m->state;
    return ndim == s->nsp + 2;
}

static double conv_flops(const lam_module *m, int in_ndim, const int64_t *in, int out_ndim,
                         const int64_t *out)
{
    const conv_state *s = m->state;
    double n = 2.0 * (double)(s->k[0] * s->k[1]);
    if (s->transposed) {
        n *= (double)(s->out_ch / s->groups);
        for (int i = 0; i < in_ndim; i++)
            n *= (double)in[i];
    } else {
        n *= (double)(s->in_ch / s->groups);
        for (int i = 0; i < out_ndim; i++)
            n *= (double)out[i];
    }
    return n;
}

static void conv_destroy(lam_module *m)
{
    conv_state *s = m->state;
    pthread_mutex_destroy(&s->lock);
    lam__aligned_free(s->packed);
    lam__aligned_free(s->gpacked);
    lam__aligned_free(s->wpacked);
    lam__aligned_free(s->w2packed);
    free(s);
}

/* A per-output-channel scale and shift (an eval-mode BatchNorm after it)
 * folds into the weight and the bias: every output of channel c is a sum
 * of products with weights of channel c, plus bias[c] (lam__module_ops). */
static int conv_affine_axis(const lam_module *m, int out_ndim, const int64_t *out)
{
    const conv_state *s = m->state;
    (void)out;
    return out_ndim == s->nsp + 2 ? 1 : -1; /* batched: [N, C, ...] */
}

static lam_status conv_fold_affine(const lam_module *m, const double *scale, const double *shift,
                                   lam_module **folded)
{
    const conv_state *s = m->state;
    const lam_tensor *w = m->params[0].tensor;
    lam_status st = LAM_OK;
    if (!*folded) { /* the same convolution with a bias, not drawn from the generator */
        conv_state *f = malloc(sizeof *f);
        if (!f)
            return lam__oom("folded convolution");
        *f = *s;
        f->bias = true;
        f->packed = NULL;
        f->packed_stamp.valid = false;
        f->gpacked = NULL;
        f->gpacked_stamp.valid = false;
        f->wpacked = NULL;
        f->wpacked_stamp.valid = false;
        f->w2packed = NULL;
        f->w2packed_stamp.valid = false;
        pthread_mutex_init(&f->lock, NULL);
        if (s->packed) {
            f->packed = lam__aligned_alloc(s->packed_group * (size_t)s->groups * sizeof(float));
            if (!f->packed) {
                pthread_mutex_destroy(&f->lock);
                free(f);
                return lam__oom("folded convolution");
            }
        }
        lam_module *fm = NULL;
        st = lam__module_new(&fm, m->ops, f);
        if (st) {
            conv_destroy(&(lam_module){.state = f});
            return st;
        }
        lam_tensor *fw = NULL, *fb = NULL;
        st = lam_tensor_create(&fw, w->ndim, w->shape);
        if (!st && (st = lam__module_add_param(fm, "weight", fw)))
            lam_tensor_release(fw);
        if (!st && !(st = lam_tensor_create(&fb, 1, &s->out_ch)) &&
            (st = lam__module_add_param(fm, "bias", fb)))
            lam_tensor_release(fb);
        if (st) {
            lam_module_release(fm);
            return st;
        }
        *folded = fm;
    }
    lam_tensor *fw = (*folded)->params[0].tensor, *fb = (*folded)->params[1].tensor;
    const float *b = s->bias ? m->params[1].tensor->data : NULL;
    /* weight [out, in/groups, kH, kW], or [in, out/groups, kH, kW] when
     * transposed: output channel (i / (in/groups)) * out/groups + j */
    int64_t rows = w->shape[0], per = w->shape[1];
    int64_t kk = rows > 0 && per > 0 ? w->numel / (rows * per) : 0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < per; j++) {
            int64_t c = s->transposed ? r / (s->in_ch / s->groups) * per + j : r;
            const float *src = w->data + (r * per + j) * kk;
            float *dst = fw->data + (r * per + j) * kk;
            for (int64_t q = 0; q < kk; q++)
                dst[q] = (float)((double)src[q] * scale[c]);
        }
    for (int64_t c = 0; c < s->out_ch; c++)
        fb->data[c] = (float)((b ? (double)b[c] * scale[c] : 0.0) + shift[c]);
    lam_tensor_mark_modified(fw); /* repacked at its next use */
    lam_tensor_mark_modified(fb);
    return LAM_OK;
}

#define CONV_OPS(var, name)                                                                        \
    static const lam__module_ops var = {                                                           \
        .type_name = name,                                                                         \
        .py_module = "torch.nn.modules.conv",                                                      \
        .output_shape = conv_shape,                                                                \
        .forward_into = conv_forward,                                                              \
        .extra_repr = conv_repr,                                                                   \
        .destroy = conv_destroy,                                                                   \
        .flops = conv_flops,                                                                       \
        .forward_ep = conv_forward_ep,                                                             \
        .affine_axis = conv_affine_axis,                                                           \
        .fold_affine = conv_fold_affine,                                                           \
        .sample_blocks = conv_sample_blocks,                                                       \
    }
CONV_OPS(conv1d_ops, "Conv1d");
CONV_OPS(conv2d_ops, "Conv2d");
CONV_OPS(conv_t1d_ops, "ConvTranspose1d");
CONV_OPS(conv_t2d_ops, "ConvTranspose2d");

/* ---- construction ---- */

/* Sizes beyond these are refused before anything is allocated. */
#define CONV_MAX_SIZE (INT64_C(1) << 20)
#define CONV_MAX_CHANNELS (INT64_C(1) << 31)

typedef struct conv_args {
    int nsp;
    bool transposed;
    int64_t in, out, groups;
    int64_t k[2], stride[2], pad[2], dil[2], opad[2];
    bool bias;
    const char *mode;
} conv_args;

static lam_status bad(const char *type, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static lam_status bad(const char *type, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lam__error(LAM_ERR_INVALID_ARGUMENT, "%s: %s", type, msg);
}

/* PyTorch's checks, in its order (_ConvTransposeNd, then _ConvNd), then the
 * ones PyTorch makes at the first forward, made here. */
static lam_status validate(const conv_args *a, const char *type, int *pad_str, int *mode)
{
    static const char *const modes[] = {"zeros", "reflect", "replicate", "circular"};
    const char *pm = a->mode ? a->mode : "zeros";
    if (a->transposed && strcmp(pm, "zeros") != 0)
        return bad(type, "Only \"zeros\" padding mode is supported for %s", type);
    if (a->groups <= 0)
        return bad(type, "groups must be a positive integer");
    if (a->in % a->groups != 0)
        return bad(type, "in_channels must be divisible by groups");
    if (a->out % a->groups != 0)
        return bad(type, "out_channels must be divisible by groups");
    *pad_str = CONV_PAD_NUMERIC;
    int first = 2 - a->nsp; /* the first spatial entry that counts */
    if (a->pad[1] == LAM_CONV_PADDING_SAME || a->pad[1] == LAM_CONV_PADDING_VALID) {
        if (a->transposed || (a->nsp == 2 && a->pad[0] != a->pad[1]))
            return bad(type, "padding must be non-negative%s",
                       a->transposed ? "" : " (or LAM_CONV_PADDING_SAME / _VALID in every entry)");
        *pad_str = a->pad[1] == LAM_CONV_PADDING_SAME ? CONV_PAD_SAME : CONV_PAD_VALID;
        if (*pad_str == CONV_PAD_SAME)
            for (int d = first; d < 2; d++)
                if (a->stride[d] != 1)
                    return bad(type, "padding='same' is not supported for strided convolutions");
    }
    *mode = -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(pm, modes[i]))
            *mode = i;
    if (*mode < 0)
        return bad(type,
                   "padding_mode must be one of {'zeros', 'reflect', 'replicate', 'circular'}, "
                   "but got padding_mode='%.100s'",
                   pm);
    if (a->in <= 0 || a->out <= 0 || a->in > CONV_MAX_CHANNELS || a->out > CONV_MAX_CHANNELS)
        return bad(type,
                   "in_channels and out_channels must be positive and at most 2^31, got "
                   "in_channels=%" PRId64 ", out_channels=%" PRId64,
                   a->in, a->out);
    for (int d = first; d < 2; d++) {
        if (a->k[d] <= 0) {
            if (a->nsp == 1)
                return bad(type, "kernel size should be greater than zero, but got kernel_size=%" PRId64,
                           a->k[1]);
            return bad(type,
                       "kernel size should be greater than zero, but got kernel_height: %" PRId64
                       " kernel_width: %" PRId64,
                       a->k[0], a->k[1]);
        }
        if (a->stride[d] <= 0)
            return bad(type, "non-positive stride is not supported");
        if (*pad_str == CONV_PAD_NUMERIC && a->pad[d] < 0)
            return bad(type, "negative padding is not supported");
        if (a->dil[d] <= 0) {
            char t[64];
            if (a->nsp == 1)
                snprintf(t, sizeof t, "[%" PRId64 "]", a->dil[1]);
            else
                snprintf(t, sizeof t, "[%" PRId64 ", %" PRId64 "]", a->dil[0], a->dil[1]);
            return bad(type, "dilation should be greater than zero, but got %s", t);
        }
        if (a->opad[d] < 0)
            return bad(type, "negative output_padding is not supported");
        if (a->k[d] > CONV_MAX_SIZE || a->stride[d] > CONV_MAX_SIZE ||
            a->pad[d] > CONV_MAX_SIZE || a->dil[d] > CONV_MAX_SIZE || a->opad[d] > CONV_MAX_SIZE)
            return bad(type,
                       "kernel_size, stride, padding, dilation and output_padding must be at "
                       "most 2^20");
    }
    int64_t kk = a->k[0] * a->k[1];
    int64_t per = (a->transposed ? a->out : a->in) / a->groups;
    int64_t rows = a->transposed ? a->in : a->out;
    if (per * kk > (INT64_C(1) << 31) || rows > (INT64_C(1) << 32) / (per * kk))
        return bad(type, "the weight has more than 2^32 elements");
    return LAM_OK;
}

static lam_status conv_create(lam_module **out, conv_args *a)
{
    static const char *const names[2][2] = {{"Conv1d", "Conv2d"},
                                            {"ConvTranspose1d", "ConvTranspose2d"}};
    const char *type = names[a->transposed][a->nsp - 1];
    if (a->nsp == 1) { /* the unused height entries: a 1-row kernel over 1 row */
        a->k[0] = a->stride[0] = a->dil[0] = 1;
        a->pad[0] = a->opad[0] = 0;
    }
    int pad_str = CONV_PAD_NUMERIC, mode = CONV_ZEROS;
    lam_status st = validate(a, type, &pad_str, &mode);
    if (st)
        return st;
    int64_t kk = a->k[0] * a->k[1];
    int64_t per = (a->transposed ? a->out : a->in) / a->groups;
    int64_t rows = a->transposed ? a->in : a->out;
    st = lam__budget_charge(rows * per * kk + (a->bias ? a->out : 0),
                            "%s(%" PRId64 ", %" PRId64 ")", type, a->in, a->out);
    if (st)
        return st;
    conv_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom(type);
    s->nsp = a->nsp;
    s->transposed = a->transposed;
    s->in_ch = a->in;
    s->out_ch = a->out;
    s->groups = a->groups;
    s->bias = a->bias;
    s->pad_str = pad_str;
    s->mode = mode;
    for (int d = 0; d < 2; d++) {
        s->k[d] = a->k[d];
        s->stride[d] = a->stride[d];
        s->dil[d] = a->dil[d];
        s->opad[d] = a->opad[d];
        s->pad[d] = pad_str == CONV_PAD_NUMERIC ? a->pad[d] : 0;
        if (pad_str == CONV_PAD_SAME) { /* as _ConvNd: the odd one goes at the end */
            int64_t total = a->dil[d] * (a->k[d] - 1);
            s->pad_lo[d] = total / 2;
            s->pad_hi[d] = total - total / 2;
        } else {
            s->pad_lo[d] = s->pad_hi[d] = s->pad[d];
        }
    }
    pthread_mutex_init(&s->lock, NULL);
    if (!conv_is_direct(s)) {
        int64_t N, K;
        conv_gemm_dims(s, &N, &K);
        s->packed_group = s->transposed ? lam__conv_t_packed_floats(s)
                                        : lam__kernels()->conv_packed_size((size_t)N, (size_t)K);
        s->packed = lam__aligned_alloc(s->packed_group * (size_t)s->groups * sizeof(float));
        if (!s->packed) {
            pthread_mutex_destroy(&s->lock);
            free(s);
            return lam__oom(type);
        }
    }
    const lam__module_ops *ops = a->transposed ? (a->nsp == 1 ? &conv_t1d_ops : &conv_t2d_ops)
                                               : (a->nsp == 1 ? &conv1d_ops : &conv2d_ops);
    lam_module *m = NULL;
    st = lam__module_new(&m, ops, s);
    if (st) {
        conv_destroy(&(lam_module){.state = s});
        return st;
    }
    int64_t wshape[4] = {rows, per, a->k[0], a->k[1]};
    if (a->nsp == 1)
        wshape[2] = a->k[1];
    lam_tensor *w = NULL, *b = NULL;
    st = lam_tensor_create(&w, 2 + a->nsp, wshape);
    if (!st && (st = lam__module_add_param(m, "weight", w)))
        lam_tensor_release(w);
    if (st) {
        lam_module_release(m);
        return st;
    }
    /* fan_in = weight.size(1) * kernel elements (init._calculate_fan_in_and_fan_out) */
    float bound = (float)(1.0 / sqrt((double)(per * kk)));
    lam__rand_uniform(w->data, (size_t)w->numel, -bound, bound);
    if (a->bias) {
        st = lam_tensor_create(&b, 1, &a->out);
        if (!st && (st = lam__module_add_param(m, "bias", b)))
            lam_tensor_release(b);
        if (st) {
            lam_module_release(m);
            return st;
        }
        lam__rand_uniform(b->data, (size_t)b->numel, -bound, bound);
    }
    if ((st = packed_weight(m))) { /* now, so that the first forward need not */
        lam_module_release(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}

static void copy2(int64_t *dst, const int64_t *src, int64_t dflt)
{
    dst[0] = src ? src[0] : dflt;
    dst[1] = src ? src[1] : dflt;
}

LAM_API lam_status lam_conv1d_create(lam_module **out, int64_t in_channels, int64_t out_channels,
                                     int64_t kernel_size, int64_t stride, int64_t padding,
                                     int64_t dilation, int64_t groups, bool bias,
                                     const char *padding_mode)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    conv_args a = {.nsp = 1, .in = in_channels, .out = out_channels, .groups = groups,
                   .k[1] = kernel_size, .stride[1] = stride, .pad[1] = padding,
                   .dil[1] = dilation, .bias = bias, .mode = padding_mode};
    return conv_create(out, &a);
}

LAM_API lam_status lam_conv2d_create(lam_module **out, int64_t in_channels, int64_t out_channels,
                                     const int64_t kernel_size[2], const int64_t stride[2],
                                     const int64_t padding[2], const int64_t dilation[2],
                                     int64_t groups, bool bias, const char *padding_mode)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    LAM__CHECK_ARG(kernel_size);
    conv_args a = {.nsp = 2, .in = in_channels, .out = out_channels, .groups = groups,
                   .bias = bias, .mode = padding_mode};
    copy2(a.k, kernel_size, 0);
    copy2(a.stride, stride, 1);
    copy2(a.pad, padding, 0);
    copy2(a.dil, dilation, 1);
    return conv_create(out, &a);
}

LAM_API lam_status lam_conv_transpose1d_create(lam_module **out, int64_t in_channels,
                                               int64_t out_channels, int64_t kernel_size,
                                               int64_t stride, int64_t padding,
                                               int64_t output_padding, int64_t groups, bool bias,
                                               int64_t dilation, const char *padding_mode)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    conv_args a = {.nsp = 1, .transposed = true, .in = in_channels, .out = out_channels,
                   .groups = groups, .k[1] = kernel_size, .stride[1] = stride,
                   .pad[1] = padding, .opad[1] = output_padding, .dil[1] = dilation,
                   .bias = bias, .mode = padding_mode};
    return conv_create(out, &a);
}

LAM_API lam_status lam_conv_transpose2d_create(lam_module **out, int64_t in_channels,
                                               int64_t out_channels, const int64_t kernel_size[2],
                                               const int64_t stride[2], const int64_t padding[2],
                                               const int64_t output_padding[2], int64_t groups,
                                               bool bias, const int64_t dilation[2],
                                               const char *padding_mode)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    LAM__CHECK_ARG(kernel_size);
    conv_args a = {.nsp = 2, .transposed = true, .in = in_channels, .out = out_channels,
                   .groups = groups, .bias = bias, .mode = padding_mode};
    copy2(a.k, kernel_size, 0);
    copy2(a.stride, stride, 1);
    copy2(a.pad, padding, 0);
    copy2(a.opad, output_padding, 0);
    copy2(a.dil, dilation, 1);
    return conv_create(out, &a);
}
