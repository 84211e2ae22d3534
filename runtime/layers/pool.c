/* MaxPool1d/2d, AvgPool1d/2d and AdaptiveAvg/MaxPool1d/2d
 * (torch/nn/modules/pooling.py) on NCHW tensors, with PyTorch 1.13's output
 * sizes, index formulas and messages (aten/src/ATen/native/Pool.h,
 * DilatedMaxPool2d.cpp, AveragePool2d.cpp, AdaptivePooling.h).  Arguments
 * are kept as written (an int or a tuple) and checked at forward, as
 * PyTorch does: MaxPool2d(2, padding=2) is made, its forward fails with
 * "pad should be at most half of kernel size ...".  A 1d layer runs as the
 * 2d one with a height of 1.  The window pools run the kernel table's
 * maxpool2d / avgpool2d plane by plane (simd/kernel-list.h: PyTorch's CPU
 * arithmetic, float sums in window order, NaN propagating through max, the
 * same bits on every table); the adaptive pools its adaptive_maxpool2d /
 * adaptive_avgpool2d (PyTorch's windows and loop order, the same bits on
 * every table), except the global average pool (a 1 x 1 output: squeeze-
 * excitation and classifier heads), which sums the plane in 16 lanes in a
 * fixed order (plane_sum: the same bits on every table and thread count)
 * instead of one chain of H x W additions. */
#include "runtime/layers/layers.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct pool_state {
    lam__pool_cfg c;
} pool_state;

/* The numbers one forward uses. */
typedef struct geom {
    int64_t planes;     /* N * C (or C) */
    int64_t H, W, OH, OW;
    int64_t kH, kW, sH, sW, pH, pW, dH, dW;
} geom;

static const char *pool_name(int kind, int dims)
{
    static const char *const names[4][2] = {
        {"MaxPool1d", "MaxPool2d"},
        {"AvgPool1d", "AvgPool2d"},
        {"AdaptiveAvgPool1d", "AdaptiveAvgPool2d"},
        {"AdaptiveMaxPool1d", "AdaptiveMaxPool2d"},
    };
    return names[kind][dims - 1];
}

/* pooling_output_shape() of Pool.h, with its checks. */
static lam_status out_size(const char *tn, int64_t in, int64_t k, int64_t pad, int64_t s, int64_t d,
                           bool ceil, int64_t *out)
{
    if (s == 0)
        return lam__error(LAM_ERR_SHAPE, "%s: stride should not be zero", tn);
    if (pad < 0)
        return lam__error(LAM_ERR_SHAPE, "%s: pad must be non-negative, but got pad: %lld", tn,
                          (long long)pad);
    if (pad > k / 2)
        return lam__error(LAM_ERR_SHAPE,
                          "%s: pad should be at most half of kernel size, but got pad=%lld and "
                          "kernel_size=%lld",
                          tn, (long long)pad, (long long)k);
    /* in int128: a model file may give any int64 (the callers keep k, s, p
     * and d within int32, as PyTorch's safe_downcast<int> does for 2d) */
    __int128 num = (__int128)in + 2 * (__int128)pad - (__int128)d * (k - 1) - 1 + (ceil ? s - 1 : 0);
    __int128 q = num / s, r = num % s;
    if (r != 0 && ((r < 0) != (s < 0)))
        q--;
    if (q + 1 > INT64_MAX || q + 1 < -INT64_MAX)
        return lam__error(LAM_ERR_SHAPE, "%s: the output size is out of range", tn);
    int64_t o = (int64_t)q + 1;
    /* the last window must start inside the input or the left padding */
    if (ceil && (o - 1) * s >= in + pad)
        o--;
    *out = o;
    return LAM_OK;
}

/* N * C without undefined behaviour: used only when the input has elements
 * (then it fits); an empty input's other dims may multiply past int64. */
static int64_t wmul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }

/* Entry i of a field given as an int (n == 0) or a tuple of n. */
static int64_t entry(const int64_t *v, int n, int i) { return n == 0 || n == 1 ? v[0] : v[i]; }

static lam_status shape_error(const char *tn, const char *what, int ndim, const int64_t *in)
{
    char sb[96];
    return lam__error(LAM_ERR_SHAPE, "%s: %s%s", tn, what, lam_shape_str(ndim, in, sb, sizeof sb));
}

/* MaxPool2d / AvgPool2d (and the 1d ones through them). */
static lam_status window_geom(const lam__pool_cfg *c, int ndim, const int64_t *in, geom *g)
{
    const char *tn = pool_name(c->kind, c->dims);
    bool max = c->kind == LAM__POOL_MAX;
    if (c->dims == 1) {
        if (max) {
            if (!(ndim == 2 && in[0] != 0 && in[1] != 0) &&
                !(ndim == 3 && in[1] != 0 && in[2] != 0))
                return shape_error(tn,
                                   "max_pool1d: Expected 2D or 3D (batch mode) tensor with "
                                   "optional 0 dim batch size for input, but got:",
                                   ndim, in);
            if (c->nk > 1)
                return lam__error(LAM_ERR_SHAPE,
                                  "%s: max_pool1d() kernel_size must be an int, list of ints or "
                                  "tuple of ints of size 1 but got size %d",
                                  tn, c->nk);
            if (c->ns > 1)
                return lam__error(LAM_ERR_SHAPE,
                                  "%s: max_pool1d() stride must be None, an int, list of ints, "
                                  "or tuple of ints of size 1 but got size %d",
                                  tn, c->ns);
            if (c->np > 1)
                return lam__error(LAM_ERR_SHAPE,
                                  "%s: max_pool1d() padding must be an int, list of ints, or "
                                  "tuple of ints of size 1 but got size %d",
                                  tn, c->np);
            if (c->nd > 1)
                return lam__error(LAM_ERR_SHAPE,
                                  "%s: max_pool1d() dilation must be an int, list of ints or "
                                  "tuple of ints of size 1 but got size %d",
                                  tn, c->nd);
            int64_t k = c->k[0], s = c->s_none ? k : c->s[0], p = c->p[0], d = c->d[0];
            if (k <= 0)
                return lam__error(LAM_ERR_SHAPE,
                                  "%s: max_pool1d() kernel_size must be greater than zero, but "
                                  "got %lld",
                                  tn, (long long)k);
            if (s <= 0)
                return lam__error(LAM_ERR_SHAPE,
                                  "%s: max_pool1d() stride must be greater than zero, but got %lld",
                                  tn, (long long)s);
            if (p < 0)
                return lam__error(LAM_ERR_SHAPE,
                                  "%s: max_pool1d() padding must be non-negative, but got %lld", tn,
                                  (long long)p);
            if (p > k / 2)
                return lam__error(LAM_ERR_SHAPE,
                                  "%s: max_pool1d() padding should be at most half of kernel "
                                  "size, but got padding=%lld and kernel_size=%lld",
                                  tn, (long long)p, (long long)k);
            if (d <= 0)
                return lam__error(LAM_ERR_SHAPE,
                                  "%s: max_pool1d() dilation must be greater than zero, but got "
                                  "%lld",
                                  tn, (long long)d);
            int64_t L = in[ndim - 1], o = 0;
            lam_status st = out_size(tn, L, k, p, s, d, c->ceil_mode, &o);
            if (st)
                return st;
            if (o < 0)
                return lam__error(LAM_ERR_SHAPE,
                                  "%s: max_pool1d() Invalid computed output size: %lld", tn,
                                  (long long)o);
            *g = (geom){.planes = ndim == 3 ? wmul(in[0], in[1]) : in[0], .H = 1, .W = L, .OH = 1,
                        .OW = o, .kH = 1, .kW = k, .sH = 1, .sW = s, .pH = 0, .pW = p, .dH = 1,
                        .dW = d};
            return LAM_OK;
        }
        /* avg_pool1d: avg_pool2d on the input unsqueezed at -2 */
        if (ndim < 2 || ndim > 3) {
            return lam__error(LAM_ERR_SHAPE,
                              "%s: Expected 2 to 3 dimensions, but got %d-dimensional tensor for "
                              "argument #1 'self' (while checking arguments for avg_pool1d)",
                              tn, ndim);
        }
        const char *field = c->nk != 0 && c->nk != 1 ? "kernel_size"
                            : !c->s_none && c->ns != 0 && c->ns != 1 ? "stride"
                            : c->np != 0 && c->np != 1 ? "padding" : NULL;
        if (field)
            return lam__error(LAM_ERR_SHAPE,
                              "%s: avg_pool1d() argument '%s' should contain one int (got %d)", tn,
                              field,
                              field[0] == 'k' ? c->nk : field[0] == 's' ? c->ns : c->np);
    } else if (max) {
        if (c->nk > 2)
            return lam__error(LAM_ERR_SHAPE,
                              "%s: max_pool2d: kernel_size must either be a single int, or a "
                              "tuple of two ints",
                              tn);
        if (!c->s_none && c->ns > 2)
            return lam__error(LAM_ERR_SHAPE,
                              "%s: max_pool2d: stride must either be omitted, a single int, or a "
                              "tuple of two ints",
                              tn);
        if (c->np > 2)
            return lam__error(LAM_ERR_SHAPE,
                              "%s: max_pool2d: padding must be either be a single int, or a tuple of "
                              "two ints",
                              tn);
        if (c->nd > 2)
            return lam__error(LAM_ERR_SHAPE,
                              "%s: max_pool2d: dilation must be either a single int, or a tuple "
                              "of two ints",
                              tn);
        if (ndim != 3 && ndim != 4)
            return lam__error(LAM_ERR_SHAPE,
                              "%s: non-empty 3D or 4D (batch mode) tensor expected for input", tn);
    } else {
        if (c->nk > 2)
            return lam__error(LAM_ERR_SHAPE,
                              "%s: avg_pool2d: kernel_size must either be a single int, or a "
                              "tuple of two ints",
                              tn);
        if (!c->s_none && c->ns > 2)
            return lam__error(LAM_ERR_SHAPE,
                              "%s: avg_pool2d: stride must either be omitted, a single int, or a "
                              "tuple of two ints",
                              tn);
        if (c->np > 2)
            return lam__error(LAM_ERR_SHAPE,
                              "%s: avg_pool2d: padding must either be a single int, or a tuple of "
                              "two ints",
                              tn);
        if (c->has_divisor && c->divisor == 0)
            return lam__error(LAM_ERR_SHAPE, "%s: divisor must be not zero", tn);
        if (ndim < 3)
            return lam__error(LAM_ERR_SHAPE,
                              "%s: Dimension out of range (expected to be in range of [%d, %d], "
                              "but got -3)",
                              tn, -ndim, ndim - 1);
    }

    /* PyTorch narrows each to int (safe_downcast<int, int64_t>) */
    const int64_t *fields[4] = {c->k, c->s, c->p, c->d};
    for (int f = 0; f < 4; f++)
        for (int i = 0; i < 4; i++)
            if (fields[f][i] > INT32_MAX || fields[f][i] < INT32_MIN)
                return lam__error(LAM_ERR_SHAPE,
                                  "%s: value cannot be converted to type int32_t without overflow",
                                  tn);

    /* the 2d computation (avg_pool1d's with a height of 1) */
    int64_t kH, kW, sH, sW, pH, pW, dH = 1, dW = 1, H, W, C;
    if (c->dims == 1) {
        kH = 1, kW = c->k[0];
        sH = 1, sW = c->s_none ? kW : c->s[0];
        pH = 0, pW = c->p[0];
        H = 1, W = in[ndim - 1], C = ndim == 3 ? in[1] : in[0];
    } else {
        kH = entry(c->k, c->nk, 0), kW = entry(c->k, c->nk, 1);
        sH = c->s_none ? kH : entry(c->s, c->ns, 0);
        sW = c->s_none ? kW : entry(c->s, c->ns, 1);
        pH = entry(c->p, c->np, 0), pW = entry(c->p, c->np, 1);
        if (max)
            dH = entry(c->d, c->nd, 0), dW = entry(c->d, c->nd, 1);
        H = in[ndim - 2], W = in[ndim - 1], C = in[ndim - 3];
    }
    int64_t OH = 0, OW = 0;
    lam_status st = out_size(tn, H, kH, pH, sH, dH, c->ceil_mode, &OH);
    if (!st)
        st = out_size(tn, W, kW, pW, sW, dW, c->ceil_mode, &OW);
    if (st)
        return st;
    /* pool2d_shape_check */
    if (kW <= 0 || kH <= 0)
        return lam__error(LAM_ERR_SHAPE,
                          "%s: kernel size should be greater than zero, but got kH: %lld kW: %lld",
                          tn, (long long)kH, (long long)kW);
    if (sW <= 0 || sH <= 0)
        return lam__error(LAM_ERR_SHAPE,
                          "%s: stride should be greater than zero, but got dH: %lld dW: %lld", tn,
                          (long long)sH, (long long)sW);
    if (dH <= 0 || dW <= 0)
        return lam__error(LAM_ERR_SHAPE,
                          "%s: dilation should be greater than zero, but got dilationH: %lld "
                          "dilationW: %lld",
                          tn, (long long)dH, (long long)dW);
    int64_t s4[4] = {1, C, H, W};
    int nd4 = c->dims == 1 ? ndim + 1 : ndim;
    const int64_t *sz = s4;
    if (c->dims == 1 && ndim == 3)
        s4[0] = in[0];
    else if (c->dims == 2)
        sz = in;
    else
        sz = s4 + 1;
    bool ok = sz[nd4 - 3] != 0 && H != 0 && W != 0 && (nd4 == 3 || nd4 == 4);
    if (!ok)
        return shape_error(tn,
                           "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size "
                           "for input, but got:",
                           nd4, sz);
    if (kW / 2 < pW || kH / 2 < pH)
        return lam__error(LAM_ERR_SHAPE,
                          "%s: pad should be smaller than or equal to half of kernel size, but got "
                          "padW = %lld, padH = %lld, kW = %lld, kH = %lld",
                          tn, (long long)pW, (long long)pH, (long long)kW, (long long)kH);
    if (OW < 1 || OH < 1)
        return lam__error(LAM_ERR_SHAPE,
                          "%s: Given input size: (%lldx%lldx%lld). Calculated output size: "
                          "(%lldx%lldx%lld). Output size is too small",
                          tn, (long long)C, (long long)H, (long long)W, (long long)C,
                          (long long)OH, (long long)OW);
    *g = (geom){.planes = nd4 == 4 ? wmul(sz[0], C) : C, .H = H, .W = W, .OH = OH, .OW = OW,
                .kH = kH, .kW = kW, .sH = sH, .sW = sW, .pH = pH, .pW = pW, .dH = dH, .dW = dW};
    return LAM_OK;
}

static lam_status empty_dim(const char *tn, const char *fn, int ndim, const int64_t *sz, int first)
{
    for (int i = first; i < ndim; i++)
        if (sz[i] == 0) {
            char sb[96];
            return lam__error(LAM_ERR_SHAPE,
                              "%s: %s(): Expected input to have non-zero size for non-batch "
                              "dimensions, but input has sizes %s with dimension %d being empty",
                              tn, fn, lam_shape_str(ndim, sz, sb, sizeof sb), i);
        }
    return LAM_OK;
}

/* The output could not be allocated (adaptive_max_pool2d's negative size). */
static lam_status negative_out(const char *tn, int ndim, const int64_t *in, int64_t oh, int64_t ow)
{
    int64_t o[4];
    memcpy(o, in, sizeof(int64_t) * (size_t)ndim);
    o[ndim - 2] = oh, o[ndim - 1] = ow;
    char sb[96];
    return lam__error(LAM_ERR_SHAPE, "%s: Trying to create tensor with negative dimension %lld: %s",
                      tn, (long long)(oh < 0 ? oh : ow), lam_shape_str(ndim, o, sb, sizeof sb));
}

/* _list_with_default() and the adaptive pools' checks, in PyTorch's order
 * (adaptive_avg_pool2d checks the output size first, adaptive_max_pool2d
 * the input; the 1d ones run the 2d ones on the input unsqueezed at -2). */
static lam_status adaptive_geom(const lam__pool_cfg *c, int ndim, const int64_t *in, geom *g)
{
    const char *tn = pool_name(c->kind, c->dims);
    bool max = c->kind == LAM__POOL_ADAPTIVE_MAX;
    const char *fn2 = max ? "adaptive_max_pool2d" : "adaptive_avg_pool2d";
    lam_status st;
    if (c->dims == 1) {
        const char *fn = max ? "adaptive_max_pool1d" : "adaptive_avg_pool1d";
        if (ndim < 2 || ndim > 3)
            return lam__error(LAM_ERR_SHAPE,
                              "%s: Expected 2 to 3 dimensions, but got %d-dimensional tensor for "
                              "argument #1 'self' (while checking arguments for %s)",
                              tn, ndim, fn);
        if (c->nout > 1)
            return lam__error(LAM_ERR_SHAPE,
                              "%s: %s() argument 'output_size' should contain one int (got %d)", tn,
                              fn, c->nout);
        if (c->out_none[0])
            return lam__error(LAM_ERR_SHAPE,
                              "%s: %s(): argument 'output_size' (position 2) must be tuple of "
                              "ints, not NoneType",
                              tn, fn);
        int64_t OW = c->out[0], L = in[ndim - 1], C = in[ndim - 2], sz[4];
        int nd4 = ndim + 1;
        if (ndim == 3)
            sz[0] = in[0], sz[1] = in[1], sz[2] = 1, sz[3] = L;
        else
            sz[0] = in[0], sz[1] = 1, sz[2] = L;
        if (!max && OW < 0)
            return lam__error(LAM_ERR_SHAPE,
                              "%s: %s: elements of output_size must be greater than or equal to 0 "
                              "but received {1, %lld}",
                              tn, fn2, (long long)OW);
        if ((st = empty_dim(tn, fn2, nd4, sz, max ? 1 : nd4 - 2)))
            return st;
        if (OW < 0)
            return negative_out(tn, nd4, sz, 1, OW);
        *g = (geom){.planes = ndim == 3 ? wmul(in[0], C) : C, .H = 1, .W = L, .OH = 1, .OW = OW};
        return LAM_OK;
    }
    if (c->nout && ndim <= c->nout)
        return lam__error(LAM_ERR_SHAPE, "%s: Input dimension should be at least %d", tn,
                          c->nout + 1);
    if (c->nout == 0 && c->out_none[0])
        return lam__error(LAM_ERR_SHAPE, "%s: object of type 'NoneType' has no len()", tn);
    int64_t o[2];
    for (int i = 0; i < 2; i++)
        o[i] = c->nout == 0 ? c->out[0]
               : i < c->nout && c->out_none[i] ? in[ndim - c->nout + i] : c->out[i];
    bool size_ok = c->nout == 0 || c->nout == 2;
    char sb[96];
    if (!max) {
        if (!size_ok)
            return lam__error(LAM_ERR_SHAPE, "%s: adaptive_avg_pool2d: output_size must be 2", tn);
        if (o[0] < 0 || o[1] < 0)
            return lam__error(LAM_ERR_SHAPE,
                              "%s: adaptive_avg_pool2d: elements of output_size must be greater "
                              "than or equal to 0 but received {%lld, %lld}",
                              tn, (long long)o[0], (long long)o[1]);
    }
    if (ndim != 3 && ndim != 4)
        return lam__error(LAM_ERR_SHAPE, "%s: %s(): Expected 3D or 4D tensor, but got%s %s", tn, fn2,
                          max ? ":" : "", lam_shape_str(ndim, in, sb, sizeof sb));
    if ((st = empty_dim(tn, fn2, ndim, in, max ? 1 : ndim - 2)))
        return st;
    if (max && !size_ok)
        return lam__error(LAM_ERR_SHAPE,
                          "%s: adaptive_max_pool2d(): internal error: output_size.size() must be 2",
                          tn);
    if (o[0] < 0 || o[1] < 0)
        return negative_out(tn, ndim, in, o[0], o[1]);
    *g = (geom){.planes = ndim == 4 ? wmul(in[0], in[1]) : in[0], .H = in[ndim - 2], .W = in[ndim - 1],
                .OH = o[0], .OW = o[1]};
    return LAM_OK;
}

static lam_status get_geom(const lam__pool_cfg *c, int ndim, const int64_t *in, geom *g)
{
    if (c->kind == LAM__POOL_MAX || c->kind == LAM__POOL_AVG)
        return window_geom(c, ndim, in, g);
    return adaptive_geom(c, ndim, in, g);
}

static lam_status pool_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                             int64_t *out)
{
    const pool_state *s = m->state;
    geom g;
    lam_status st = get_geom(&s->c, ndim, in, &g);
    if (st)
        return st;
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    if (s->c.dims == 2)
        out[ndim - 2] = g.OH;
    out[ndim - 1] = g.OW;
    return LAM_OK;
}

/* The pools' geometry for the kernel table's window kernels (window_geom
 * keeps every size within int32; the adaptive kernels read h, w, oh, ow). */
static lam__win2d win_of(const geom *g)
{
    return (lam__win2d){.h = (size_t)g->H, .w = (size_t)g->W, .oh = (size_t)g->OH,
                        .ow = (size_t)g->OW, .kh = (size_t)g->kH, .kw = (size_t)g->kW,
                        .sh = (size_t)g->sH, .sw = (size_t)g->sW, .dh = (size_t)g->dH,
                        .dw = (size_t)g->dW, .ph = (size_t)g->pH, .pw = (size_t)g->pW};
}

/* The sum of x[0, n) in 16 lanes (lane j adds x[j], x[j + 16], ...; then
 * the lanes in a fixed tree): independent chains the compiler vectorizes,
 * a fixed order (the same bits on every thread count and split) and a
 * smaller rounding error than one chain.  The global average pool of
 * squeeze-excitation blocks and classifier heads. */
typedef float pool_v4f __attribute__((vector_size(16)));

static float plane_sum(const float *x, int64_t n)
{
    /* lane j of the 16: a<j / 4>[j % 4] */
    pool_v4f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, v0, v1, v2, v3;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        memcpy(&v0, x + i, sizeof v0);
        memcpy(&v1, x + i + 4, sizeof v1);
        memcpy(&v2, x + i + 8, sizeof v2);
        memcpy(&v3, x + i + 12, sizeof v3);
        a0 += v0, a1 += v1, a2 += v2, a3 += v3;
    }
    pool_v4f a[4] = {a0, a1, a2, a3};
    float acc[16];
    memcpy(acc, a, sizeof acc);
    for (int j = 0; i < n; i++, j++)
        acc[j] += x[i];
    for (int w = 8; w > 0; w /= 2)
        for (int j = 0; j < w; j++)
            acc[j] += acc[j + w];
    return acc[0];
}

static lam_status pool_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    const pool_state *s = m->state;
    geom g;
    lam_status st = get_geom(&s->c, in->ndim, in->shape, &g);
    if (st || out->numel == 0) /* empty: other dims may multiply past int64 */
        return st;
    int64_t isz = g.H * g.W, osz = g.OH * g.OW;
    const lam__kernel_table *k = lam__kernels();
    lam__win2d w2 = win_of(&g);
    int64_t dv = s->c.has_divisor ? s->c.divisor : 0;
    for (int64_t p = 0; p < g.planes; p++) {
        const float *x = in->data + p * isz;
        float *y = out->data + p * osz;
        switch (s->c.kind) {
        case LAM__POOL_MAX: k->maxpool2d(&w2, x, y, 0, (size_t)g.OH); break;
        case LAM__POOL_AVG:
            k->avgpool2d(&w2, x, y, 0, (size_t)g.OH, s->c.count_include_pad, dv);
            break;
        case LAM__POOL_ADAPTIVE_AVG:
            if (g.OH == 1 && g.OW == 1) /* the whole plane: one contiguous run */
                y[0] = plane_sum(x, isz) / (float)g.H / (float)g.W;
            else
                k->adaptive_avgpool2d(&w2, x, y, 0, (size_t)g.OH);
            break;
        default: k->adaptive_maxpool2d(&w2, x, y, 0, (size_t)g.OH); break;
        }
    }
    return LAM_OK;
}

/* "3", "(3, 2)", "(3,)"; None entries print None. */
static void put_field(lam__sb *sb, const char *name, const int64_t *v, int n, const bool *none,
                      bool first, bool list)
{
    lam__sb_printf(sb, "%s%s=", first ? "" : ", ", name);
    if (n == 0) {
        if (none && none[0])
            lam__sb_puts(sb, "None");
        else
            lam__sb_printf(sb, "%lld", (long long)v[0]);
        return;
    }
    lam__sb_puts(sb, list ? "[" : "(");
    for (int i = 0; i < n; i++) {
        if (none && none[i])
            lam__sb_printf(sb, "%sNone", i ? ", " : "");
        else
            lam__sb_printf(sb, "%s%lld", i ? ", " : "", (long long)v[i]);
    }
    lam__sb_puts(sb, list ? "]" : n == 1 ? ",)" : ")");
}

static int pool_repr(const lam_module *m, char *buf, size_t size)
{
    const lam__pool_cfg *c = &((const pool_state *)m->state)->c;
    lam__sb sb = {0};
    if (c->kind == LAM__POOL_ADAPTIVE_AVG || c->kind == LAM__POOL_ADAPTIVE_MAX) {
        put_field(&sb, "output_size", c->out, c->nout, c->out_none, true, c->lists & 16);
    } else {
        /* AvgPool1d keeps _single() of each argument: always a tuple */
        bool single = c->kind == LAM__POOL_AVG && c->dims == 1;
        int nk = single && !c->nk ? 1 : c->nk;
        unsigned l = single ? 0 : c->lists;
        put_field(&sb, "kernel_size", c->k, nk, NULL, true, l & 1);
        if (c->s_none)
            put_field(&sb, "stride", c->k, nk, NULL, false, l & 1);
        else
            put_field(&sb, "stride", c->s, single && !c->ns ? 1 : c->ns, NULL, false, l & 2);
        put_field(&sb, "padding", c->p, single && !c->np ? 1 : c->np, NULL, false, l & 4);
        if (c->kind == LAM__POOL_MAX) {
            put_field(&sb, "dilation", c->d, c->nd, NULL, false, l & 8);
            lam__sb_printf(&sb, ", ceil_mode=%s", c->ceil_mode ? "True" : "False");
        }
    }
    int n = 0;
    if (sb.failed || !sb.buf) {
        if (size)
            buf[0] = '\0';
    } else {
        n = snprintf(buf, size, "%s", sb.buf);
    }
    free(sb.buf);
    return n;
}

static void pool_destroy(lam_module *m) { free(m->state); }

/* Planes are independent: rows of dim 0 (a batch, or the channels of an
 * unbatched input) may be split. */
static bool pool_rowwise(const lam_module *m, int ndim)
{
    const pool_state *s = m->state;
    return ndim == s->c.dims + 2 || ndim == s->c.dims + 1;
}

/* And each (sample, channel) plane of a batched input alone, by the same
 * window arithmetic: a plan may run any block of planes. */
static bool pool_planewise(const lam_module *m, int ndim)
{
    const pool_state *s = m->state;
    return ndim == s->c.dims + 2;
}

static double pool_flops(const lam_module *m, int in_ndim, const int64_t *in, int out_ndim,
                         const int64_t *out)
{
    const lam__pool_cfg *c = &((const pool_state *)m->state)->c;
    double n = 1, win = 1;
    for (int i = 0; i < out_ndim; i++)
        n *= (double)out[i];
    if (c->kind == LAM__POOL_MAX || c->kind == LAM__POOL_AVG) {
        for (int i = 0; i < (c->nk ? c->nk : c->dims); i++)
            win *= (double)(c->nk ? c->k[i] : c->k[0]);
    } else if (in_ndim >= 1 && out_ndim >= 1 && out[out_ndim - 1] > 0) {
        win = (double)in[in_ndim - 1] / (double)out[out_ndim - 1] + 1;
        if (c->dims == 2 && in_ndim >= 2 && out[out_ndim - 2] > 0)
            win *= (double)in[in_ndim - 2] / (double)out[out_ndim - 2] + 1;
    }
    return n * (win > 1 ? win : 1);
}

#define POOL_OPS(var, name)                                                                        \
    static const lam__module_ops var = {                                                            \
        .type_name = name,                                                                         \
        .py_module = "torch.nn.modules.pooling",                                                   \
        .output_shape = pool_shape,                                                                \
        .forward_into = pool_forward,                                                              \
        .extra_repr = pool_repr,                                                                   \
        .destroy = pool_destroy,                                                                   \
        .rowwise = pool_rowwise,                                                                   \
        .flops = pool_flops,                                                                       \
        .planewise = pool_planewise,                                                               \
    }
POOL_OPS(maxpool1d_ops, "MaxPool1d");
POOL_OPS(maxpool2d_ops, "MaxPool2d");
POOL_OPS(avgpool1d_ops, "AvgPool1d");
POOL_OPS(avgpool2d_ops, "AvgPool2d");
POOL_OPS(aavg1d_ops, "AdaptiveAvgPool1d");
POOL_OPS(aavg2d_ops, "AdaptiveAvgPool2d");
POOL_OPS(amax1d_ops, "AdaptiveMaxPool1d");
POOL_OPS(amax2d_ops, "AdaptiveMaxPool2d");

lam_status lam__pool_create(lam_module **out, const lam__pool_cfg *cfg)
{
    static const lam__module_ops *const ops[4][2] = {
        {&maxpool1d_ops, &maxpool2d_ops},
        {&avgpool1d_ops, &avgpool2d_ops},
        {&aavg1d_ops, &aavg2d_ops},
        {&amax1d_ops, &amax2d_ops},
    };
    *out = NULL;
    if (cfg->kind < 0 || cfg->kind > 3 || cfg->dims < 1 || cfg->dims > 2)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "pool: unknown kind");
    const char *tn = pool_name(cfg->kind, cfg->dims);
    if (cfg->nk > 4 || cfg->ns > 4 || cfg->np > 4 || cfg->nd > 4 || cfg->nout > 4)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "%s: a tuple argument has more than 4 entries",
                          tn);
    pool_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom(tn);
    s->c = *cfg;
    lam_status st = lam__module_new(out, ops[cfg->kind][cfg->dims - 1], s);
    if (st)
        free(s);
    return st;
}

/* ---- the public constructors: a field whose entries are equal prints as
 * an int, as MaxPool2d(3) does ---- */

static void set2(int64_t *dst, uint8_t *n, const int64_t *v, int64_t dflt)
{
    if (!v) {
        dst[0] = dst[1] = dflt;
        *n = 0;
    } else {
        dst[0] = v[0], dst[1] = v[1];
        *n = v[0] == v[1] ? 0 : 2;
    }
}

LAM_API lam_status lam_max_pool1d_create(lam_module **out, int64_t kernel_size, int64_t stride,
                                         int64_t padding, int64_t dilation, bool ceil_mode)
{
    LAM__CHECK_ARG(out);
    lam__pool_cfg c = {.kind = LAM__POOL_MAX, .dims = 1, .k = {kernel_size}, .s = {stride},
                       .s_none = stride == LAM_NONE_INT, .p = {padding}, .d = {dilation},
                       .ceil_mode = ceil_mode};
    return lam__pool_create(out, &c);
}

LAM_API lam_status lam_max_pool2d_create(lam_module **out, const int64_t kernel_size[2],
                                         const int64_t stride[2], const int64_t padding[2],
                                         const int64_t dilation[2], bool ceil_mode)
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(kernel_size);
    lam__pool_cfg c = {.kind = LAM__POOL_MAX, .dims = 2, .s_none = !stride, .ceil_mode = ceil_mode};
    set2(c.k, &c.nk, kernel_size, 0);
    set2(c.s, &c.ns, stride, 0);
    set2(c.p, &c.np, padding, 0);
    set2(c.d, &c.nd, dilation, 1);
    return lam__pool_create(out, &c);
}

LAM_API lam_status lam_avg_pool1d_create(lam_module **out, int64_t kernel_size, int64_t stride,
                                         int64_t padding, bool ceil_mode, bool count_include_pad)
{
    LAM__CHECK_ARG(out);
    lam__pool_cfg c = {.kind = LAM__POOL_AVG, .dims = 1, .k = {kernel_size}, .s = {stride},
                       .s_none = stride == LAM_NONE_INT, .p = {padding}, .d = {1},
                       .ceil_mode = ceil_mode, .count_include_pad = count_include_pad};
    return lam__pool_create(out, &c);
}

LAM_API lam_status lam_avg_pool2d_create(lam_module **out, const int64_t kernel_size[2],
                                         const int64_t stride[2], const int64_t padding[2],
                                         bool ceil_mode, bool count_include_pad,
                                         int64_t divisor_override)
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(kernel_size);
    lam__pool_cfg c = {.kind = LAM__POOL_AVG, .dims = 2, .s_none = !stride, .d = {1, 1},
                       .ceil_mode = ceil_mode, .count_include_pad = count_include_pad,
                       .has_divisor = divisor_override != LAM_NONE_INT,
                       .divisor = divisor_override};
    set2(c.k, &c.nk, kernel_size, 0);
    set2(c.s, &c.ns, stride, 0);
    set2(c.p, &c.np, padding, 0);
    return lam__pool_create(out, &c);
}

static lam_status adaptive(lam_module **out, int kind, int dims, const int64_t *size)
{
    lam__pool_cfg c = {.kind = kind, .dims = dims};
    c.out[0] = size[0];
    c.out_none[0] = size[0] == LAM_NONE_INT;
    if (dims == 2) {
        c.out[1] = size[1];
        c.out_none[1] = size[1] == LAM_NONE_INT;
        c.nout = size[0] == size[1] ? 0 : 2;
    }
    return lam__pool_create(out, &c);
}

LAM_API lam_status lam_adaptive_avg_pool1d_create(lam_module **out, int64_t output_size)
{
    LAM__CHECK_ARG(out);
    return adaptive(out, LAM__POOL_ADAPTIVE_AVG, 1, &output_size);
}
LAM_API lam_status lam_adaptive_avg_pool2d_create(lam_module **out, const int64_t output_size[2])
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(output_size);
    return adaptive(out, LAM__POOL_ADAPTIVE_AVG, 2, output_size);
}
LAM_API lam_status lam_adaptive_max_pool1d_create(lam_module **out, int64_t output_size)
{
    LAM__CHECK_ARG(out);
    return adaptive(out, LAM__POOL_ADAPTIVE_MAX, 1, &output_size);
}
LAM_API lam_status lam_adaptive_max_pool2d_create(lam_module **out, const int64_t output_size[2])
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(output_size);
    return adaptive(out, LAM__POOL_ADAPTIVE_MAX, 2, output_size);
}
