/* Upsample(size=None, scale_factor=None, mode='nearest', align_corners=None)
 * (torch/nn/modules/upsampling.py, F.interpolate) for modes nearest
 * ((N, C, L) and (N, C, H, W)), linear ((N, C, L)) and bilinear
 * ((N, C, H, W)), with PyTorch 1.13's checks and messages and its CPU
 * index arithmetic (UpSample.h: nearest_idx, area_pixel_compute_scale,
 * area_pixel_compute_source_index; the scales in float as PyTorch's). */
#include "runtime/layers/layers.h"
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { U_NEAREST, U_LINEAR, U_BILINEAR, U_OTHER };

typedef struct up_state {
    int mode;
    char mode_name[24];
    int nsize, nscale;      /* 0: a single value; else a tuple of that many */
    bool has_size, has_scale;
    int64_t size[4];
    double scale[4];
    int align;              /* -1 None, 0 False, 1 True */
} up_state;

typedef struct up_geom {
    int sp;                 /* spatial dims: 1 or 2 */
    int64_t in[2], out[2];  /* H, W (H = 1 for 1 spatial dim) */
    double scale[2];        /* the scale factors given, 0 when none */
} up_geom;

static void tuple_str(const up_state *s, bool scale, char *buf, size_t size)
{
    int n = scale ? s->nscale : s->nsize;
    size_t len = 0;
    char f[40];
    if (n)
        len += (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < (n ? n : 1) && len < size; i++) {
        if (scale)
            len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "",
                                    lam__py_float(s->scale[i], f, sizeof f));
        else
            len += (size_t)snprintf(buf + len, size - len, "%s%" PRId64, i ? ", " : "", s->size[i]);
    }
    if (n && len < size)
        snprintf(buf + len, size - len, "%s", n == 1 ? ",)" : ")");
}

static lam_status up_geom_of(const up_state *s, int ndim, const int64_t *in, up_geom *g)
{
    const char *tn = "Upsample";
    char a[128], b[128];
    if (s->mode == U_NEAREST && s->align >= 0)
        return lam__error(LAM_ERR_SHAPE,
                          "%s: align_corners option can only be set with the interpolating "
                          "modes: linear | bilinear | bicubic | trilinear",
                          tn);
    int dim = ndim - 2;
    int64_t sp[LAM_MAX_DIMS];
    int nsp = dim > 0 ? dim : 0;
    for (int i = 0; i < nsp; i++)
        sp[i] = in[2 + i];
    if (s->has_size && s->has_scale)
        return lam__error(LAM_ERR_SHAPE, "%s: only one of size or scale_factor should be defined",
                          tn);
    if (s->has_size && s->nsize && s->nsize != dim) {
        tuple_str(s, false, b, sizeof b);
        return lam__error(LAM_ERR_SHAPE,
                          "%s: Input and output must have the same number of spatial dimensions, "
                          "but got input with spatial dimensions of %s and output size of %s. "
                          "Please provide input tensor in (N, C, d1, d2, ...,dK) format and output "
                          "size in (o1, o2, ...,oK) format.",
                          tn, lam_shape_str(nsp, sp, a, sizeof a), b);
    }
    if (s->has_scale && s->nscale && s->nscale != dim) {
        tuple_str(s, true, b, sizeof b);
        return lam__error(LAM_ERR_SHAPE,
                          "%s: Input and scale_factor must have the same number of spatial "
                          "dimensions, but got input with spatial dimensions of %s and "
                          "scale_factor of shape %s. Please provide input tensor in (N, C, d1, "
                          "d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format.",
                          tn, lam_shape_str(nsp, sp, a, sizeof a), b);
    }
    if (!s->has_size && !s->has_scale)
        return lam__error(LAM_ERR_SHAPE, "%s: either size or scale_factor should be defined", tn);
    bool ok = (ndim == 3 && (s->mode == U_NEAREST || s->mode == U_LINEAR)) ||
              (ndim == 4 && (s->mode == U_NEAREST || s->mode == U_BILINEAR));
    if (!ok) {
        if (ndim == 3 && s->mode == U_BILINEAR)
            return lam__error(LAM_ERR_SHAPE, "%s: Got 3D input, but bilinear mode needs 4D input",
                              tn);
        if (ndim == 4 && s->mode == U_LINEAR)
            return lam__error(LAM_ERR_SHAPE, "%s: Got 4D input, but linear mode needs 3D input",
                              tn);
        return lam__error(LAM_ERR_SHAPE,
                          "%s: Input Error: Only 3D, 4D and 5D input Tensors supported (got %dD) "
                          "for the modes: nearest | linear | bilinear | bicubic | trilinear | area "
                          "| nearest-exact (got %s)",
                          tn, ndim, s->mode_name);
    }
    g->sp = dim;
    g->in[0] = dim == 2 ? in[2] : 1;
    g->in[1] = in[ndim - 1];
    for (int i = 0; i < dim; i++) {
        int o = dim == 2 ? i : 1;
        if (s->has_size) {
            g->out[o] = s->size[s->nsize ? i : 0];
            g->scale[o] = 0;
        } else {
            double f = s->scale[s->nscale ? i : 0], prod = (double)in[2 + i] * f;
            if (!(prod > -9e18 && prod < 9e18))
                return lam__error(LAM_ERR_SHAPE,
                                  "%s: scale_factor %g gives an output size out of range", tn, f);
            g->out[o] = (int64_t)prod;
            g->scale[o] = f;
        }
    }
    if (dim == 1)
        g->out[0] = 1, g->scale[0] = 0;
    bool pos = g->in[0] > 0 && g->in[1] > 0 && g->out[0] > 0 && g->out[1] > 0;
    if (!pos) {
        if (dim == 2)
            return lam__error(LAM_ERR_SHAPE,
                              "%s: Input and output sizes should be greater than 0, but got input "
                              "(H: %" PRId64 ", W: %" PRId64 ") output (H: %" PRId64 ", W: %" PRId64
                              ")",
                              tn, g->in[0], g->in[1], g->out[0], g->out[1]);
        return lam__error(LAM_ERR_SHAPE,
                          "%s: Input and output sizes should be greater than 0, but got input (W: "
                          "%" PRId64 ") and output (W: %" PRId64 ")",
                          tn, g->in[1], g->out[1]);
    }
    return LAM_OK;
}

static lam_status up_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim, int64_t *out)
{
    up_geom g;
    lam_status st = up_geom_of(m->state, ndim, in, &g);
    if (st)
        return st;
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    out[ndim - 1] = g.out[1];
    if (g.sp == 2)
        out[ndim - 2] = g.out[0];
    return LAM_OK;
}

/* compute_scales_value<float> */
static float scales_value(double scale, int64_t in, int64_t out)
{
    return scale > 0.0 ? (float)(1.0 / scale) : (float)in / (float)out;
}

static int64_t nearest_idx(int64_t o, int64_t in, int64_t out, double scale)
{
    if (out == in)
        return o;
    if (out == 2 * in)
        return o >> 1;
    float sc = scales_value(scale, in, out);
    int64_t i = (int64_t)floorf((float)o * sc);
    return i < in - 1 ? i : in - 1;
}

/* compute_source_index_and_lambda */
static void linear_idx(int64_t o, int64_t in, int64_t out, double scale, bool align, int64_t *i0,
                       int64_t *i1, float *l0, float *l1)
{
    if (out == in) {
        *i0 = *i1 = o;
        *l0 = 1.0f, *l1 = 0.0f;
        return;
    }
    float sc = align ? (out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f)
                     : scales_value(scale, in, out);
    float real;
    if (align) {
        real = sc * (float)o;
    } else {
        real = (float)((double)sc * ((double)o + 0.5) - 0.5);
        if (real < 0)
            real = 0;
    }
    *i0 = (int64_t)real;
    *i1 = *i0 + (*i0 < in - 1 ? 1 : 0);
    float d = real - (float)*i0;
    *l1 = d < 0 ? 0 : d > 1 ? 1 : d;
    *l0 = 1.0f - *l1;
}

static lam_status up_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    const up_state *s = m->state;
    up_geom g;
    lam_status st = up_geom_of(s, in->ndim, in->shape, &g);
    if (st || out->numel == 0)
        return st;
    int64_t planes = in->shape[0] * in->shape[1];
    int64_t IH = g.in[0], IW = g.in[1], OH = g.out[0], OW = g.out[1];
    bool align = s->align == 1;
    for (int64_t p = 0; p < planes; p++) {
        const float *x = in->data + p * IH * IW;
        float *y = out->data + p * OH * OW;
        for (int64_t oh = 0; oh < OH; oh++) {
            if (s->mode == U_NEAREST) {
                int64_t ih = g.sp == 2 ? nearest_idx(oh, IH, OH, g.scale[0]) : 0;
                for (int64_t ow = 0; ow < OW; ow++)
                    y[oh * OW + ow] = x[ih * IW + nearest_idx(ow, IW, OW, g.scale[1])];
                continue;
            }
            int64_t h0 = 0, h1 = 0;
            float a0 = 1, a1 = 0;
            if (g.sp == 2)
                linear_idx(oh, IH, OH, g.scale[0], align, &h0, &h1, &a0, &a1);
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t w0, w1;
                float b0, b1;
                linear_idx(ow, IW, OW, g.scale[1], align, &w0, &w1, &b0, &b1);
                float t0 = x[h0 * IW + w0] * b0 + x[h0 * IW + w1] * b1;
                if (g.sp == 1) {
                    y[ow] = t0;
                    continue;
                }
                float t1 = x[h1 * IW + w0] * b0 + x[h1 * IW + w1] * b1;
                y[oh * OW + ow] = t0 * a0 + t1 * a1;
            }
        }
    }
    return LAM_OK;
}

static int up_repr(const lam_module *m, char *buf, size_t size)
{
    const up_state *s = m->state;
    char v[160];
    if (s->has_scale) {
        tuple_str(s, true, v, sizeof v);
        return snprintf(buf, size, "scale_factor=%s, mode=%s", v, s->mode_name);
    }
    if (s->has_size)
        tuple_str(s, false, v, sizeof v);
    else
        snprintf(v, sizeof v, "None");
    return snprintf(buf, size, "size=%s, mode=%s", v, s->mode_name);
}

static void up_destroy(lam_module *m) { free(m->state); }

static bool up_rowwise(const lam_module *m, int ndim)
{
    (void)m;
    return ndim >= 3;
}

static const lam__module_ops upsample_ops = {
    .type_name = "Upsample",
    .py_module = "torch.nn.modules.upsampling",
    .output_shape = up_shape,
    .forward_into = up_forward,
    .extra_repr = up_repr,
    .destroy = up_destroy,
    .rowwise = up_rowwise,
};

LAM_API lam_status lam_upsample_create(lam_module **out, int n, const int64_t *size,
                                       const double *scale_factor, const char *mode,
                                       int align_corners)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    if (n < 0 || n > 4)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "Upsample: size or scale_factor has %d entries, at most 4 supported", n);
    if (!mode)
        mode = "nearest";
    if (strlen(mode) >= sizeof ((up_state *)0)->mode_name)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "Upsample: mode '%.40s...' is too long", mode);
    static const char *const unsupported[] = {"bicubic", "trilinear", "area", "nearest-exact"};
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
        if (strcmp(mode, unsupported[i]) == 0)
            return lam__error(LAM_ERR_INVALID_ARGUMENT,
                              "Upsample: mode '%s' is not supported by lamina (nearest, linear and "
                              "bilinear are)",
                              mode);
    up_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom("Upsample");
    snprintf(s->mode_name, sizeof s->mode_name, "%s", mode);
    s->mode = !strcmp(mode, "nearest")    ? U_NEAREST
              : !strcmp(mode, "linear")   ? U_LINEAR
              : !strcmp(mode, "bilinear") ? U_BILINEAR
                                          : U_OTHER;
    s->align = align_corners < 0 ? -1 : align_corners > 0;
    int k = n ? n : 1;
    if (size) {
        s->has_size = true;
        s->nsize = n;
        memcpy(s->size, size, sizeof(int64_t) * (size_t)k);
    }
    /* Upsample keeps float(scale_factor) if scale_factor else None */
    if (scale_factor && (n || scale_factor[0] != 0.0)) {
        s->has_scale = true;
        s->nscale = n;
        memcpy(s->scale, scale_factor, sizeof(double) * (size_t)k);
    }
    lam_status st = lam__module_new(out, &upsample_ops, s);
    if (st)
        free(s);
    return st;
}
