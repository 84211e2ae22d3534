/* Window kernels (LAM_WINDOW_KERNELS in simd/kernel-list.h: dwconv2d,
 * maxpool2d, avgpool2d): every table this build and CPU have (one Criterion
 * test per ISA, skipped with the reason where it is missing).
 *   - the scalar twin against references written here from PyTorch's
 *     definitions: max pooling exactly (the NaN and first-of-equal rule),
 *     the convolution and the average against float64 within the chain's
 *     bound;
 *   - every table bit-identical to the scalar twin over a sweep of
 *     geometries (kernel 1-7, stride 1-4, dilation 1-3, padding, ceil-mode
 *     outputs, widths around every vector width), with NaN, infinities and
 *     signed zeros in the input, split row ranges giving the same bits,
 *     rows outside the range untouched, and the input plane ending at an
 *     unreadable page (a read past it would fault);
 *   - dwconv2d_nc (many planes at once) bit-identical to dwconv2d plane by
 *     plane. */
#include "config.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>

#include "tests/simd/kt-guard.h"
#include "tests/simd/kt.h"

enum { W_DW, W_MAX, W_AVG };
static const char *const wnames[] = {"dwconv2d", "maxpool2d", "avgpool2d"};

static void run(const lam__kernel_table *k, int kind, const lam__win2d *g, const float *x,
                const float *w, float bias, float *y, size_t o0, size_t o1, int cip, int64_t div)
{
    switch (kind) {
    case W_DW: k->dwconv2d(g, x, w, bias, y, o0, o1); break;
    case W_MAX: k->maxpool2d(g, x, y, o0, o1); break;
    default: k->avgpool2d(g, x, y, o0, o1, cip, div); break;
    }
}

/* PyTorch's output size (pooling_output_shape / conv), ceil mode optional */
static size_t out_len(size_t in, size_t k, size_t s, size_t d, size_t p, int ceil_mode)
{
    long num = (long)in + 2 * (long)p - (long)d * ((long)k - 1) - 1;
    if (num < 0)
        return 0;
    long o = (num + (ceil_mode ? (long)s - 1 : 0)) / (long)s + 1;
    if (ceil_mode && (o - 1) * (long)s >= (long)in + (long)p)
        o--;
    return (size_t)o;
}

/* References: each output from its definition (taps in window order). */
static float ref_max(const lam__win2d *g, const float *x, long oh, long ow)
{
    float m = -INFINITY;
    for (long a = 0; a < (long)g->kh; a++)
        for (long b = 0; b < (long)g->kw; b++) {
            long ih = oh * (long)g->sh - (long)g->ph + a * (long)g->dh;
            long iw = ow * (long)g->sw - (long)g->pw + b * (long)g->dw;
            if (ih < 0 || ih >= (long)g->h || iw < 0 || iw >= (long)g->w)
                continue;
            float v = x[ih * (long)g->w + iw];
            if (v > m || isnan(v))
                m = v;
        }
    return m;
}

/* float64 value and sum of |terms| */
static double ref_dw(const lam__win2d *g, const float *x, const float *w, float bias, long oh,
                     long ow, double *mag)
{
    double s = bias;
    *mag = fabs((double)bias);
    for (long a = 0; a < (long)g->kh; a++)
        for (long b = 0; b < (long)g->kw; b++) {
            long ih = oh * (long)g->sh - (long)g->ph + a * (long)g->dh;
            long iw = ow * (long)g->sw - (long)g->pw + b * (long)g->dw;
            if (ih < 0 || ih >= (long)g->h || iw < 0 || iw >= (long)g->w)
                continue;
            double t = (double)w[a * (long)g->kw + b] * (double)x[ih * (long)g->w + iw];
            s += t;
            *mag += fabs(t);
        }
    return s;
}

static double ref_avg(const lam__win2d *g, const float *x, long oh, long ow, int cip, int64_t dv,
                      double *mag)
{
    long H = (long)g->h, W = (long)g->w;
    long h0 = oh * (long)g->sh - (long)g->ph, w0 = ow * (long)g->sw - (long)g->pw;
    long h1 = h0 + (long)g->kh < H + (long)g->ph ? h0 + (long)g->kh : H + (long)g->ph;
    long w1 = w0 + (long)g->kw < W + (long)g->pw ? w0 + (long)g->kw : W + (long)g->pw;
    long pool = (h1 - h0) * (w1 - w0);
    h0 = h0 > 0 ? h0 : 0, w0 = w0 > 0 ? w0 : 0, h1 = h1 < H ? h1 : H, w1 = w1 < W ? w1 : W;
    *mag = 0;
    if (h0 >= h1 || w0 >= w1)
        return 0;
    double s = 0;
    for (long i = h0; i < h1; i++)
        for (long j = w0; j < w1; j++) {
            s += x[i * W + j];
            *mag += fabs((double)x[i * W + j]);
        }
    double d = dv ? (double)dv : cip ? (double)pool : (double)((h1 - h0) * (w1 - w0));
    *mag /= d;
    return s / d;
}

static void fill(kt_rng *r, float *x, size_t n, int specials)
{
    for (size_t i = 0; i < n; i++)
        x[i] = kt_uniform(r, -4.0f, 4.0f);
    if (specials && n > 4) {
        static const float sp[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, -NAN};
        for (size_t i = 0; i < n / 16 + 1; i++)
            x[kt_next(r) % n] = sp[kt_next(r) % 6];
    }
    if (n > 8 && !specials) /* ties and signed zeros in the max pool's windows */
        for (size_t i = 0; i < n / 8; i++)
            x[kt_next(r) % n] = (kt_next(r) & 1) ? 0.0f : -0.0f;
}

/* A random geometry for kind (pools: padding <= k/2, avg dilation 1). */
static int random_geom(kt_rng *r, int kind, lam__win2d *g)
{
    g->kh = 1 + kt_next(r) % 5, g->kw = 1 + kt_next(r) % 7;
    g->sh = 1 + kt_next(r) % 3, g->sw = 1 + kt_next(r) % 4;
    g->dh = kind == W_AVG ? 1 : 1 + kt_next(r) % 2;
    g->dw = kind == W_AVG ? 1 : 1 + kt_next(r) % 3;
    if (kt_next(r) % 3 == 0) /* the 3x3 and 5x5 fast paths */
        g->kh = g->kw = kt_next(r) % 3 ? 3 : 5, g->dh = g->dw = 1,
        g->sh = g->sw = 1 + kt_next(r) % 2;
    size_t pmax_h = kind == W_DW ? g->kh : g->kh / 2, pmax_w = kind == W_DW ? g->kw : g->kw / 2;
    g->ph = kt_next(r) % (pmax_h + 1), g->pw = kt_next(r) % (pmax_w + 1);
    g->h = 1 + kt_next(r) % 12;
    static const size_t widths[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 47, 64, 65, 70, 97, 130};
    g->w = widths[kt_next(r) % (sizeof widths / sizeof widths[0])] + kt_next(r) % 3;
    int ceil_mode = kind != W_DW && (kt_next(r) & 1);
    g->oh = out_len(g->h, g->kh, g->sh, g->dh, g->ph, ceil_mode);
    g->ow = out_len(g->w, g->kw, g->sw, g->dw, g->pw, ceil_mode);
    return g->oh > 0 && g->ow > 0;
}

/* The scalar twin against the references. */
Test(window, scalar_twin_against_definitions)
{
    const lam__kernel_table *s = kt_scalar();
    kt_rng r = {99};
    for (int kind = 0; kind < 3; kind++)
        for (int it = 0; it < 300; it++) {
            lam__win2d g;
            if (!random_geom(&r, kind, &g))
                continue;
            size_t nx = g.h * g.w, ny = g.oh * g.ow;
            float *x = malloc(nx * sizeof *x), *y = malloc(ny * sizeof *y), w[35];
            fill(&r, x, nx, kind == W_MAX && (it & 1));
            for (int i = 0; i < 35; i++)
                w[i] = kt_uniform(&r, -1.0f, 1.0f);
            float bias = kt_uniform(&r, -1.0f, 1.0f);
            int cip = it & 1;
            int64_t dv = it % 5 == 0 ? 3 : 0;
            run(s, kind, &g, x, w, bias, y, 0, g.oh, cip, dv);
            size_t taps = g.kh * g.kw;
            for (long oh = 0; oh < (long)g.oh; oh++)
                for (long ow = 0; ow < (long)g.ow; ow++) {
                    float got = y[oh * (long)g.ow + ow];
                    double mag = 0, ref;
                    if (kind == W_MAX) {
                        float e = ref_max(&g, x, oh, ow);
                        cr_assert(kt_same_bits(got, e) && signbit(got) == signbit(e),
                                  "maxpool2d (%ld, %ld): %g, expected %g", oh, ow, got, e);
                        continue;
                    }
                    ref = kind == W_DW ? ref_dw(&g, x, w, bias, oh, ow, &mag)
                                       : ref_avg(&g, x, oh, ow, cip, dv, &mag);
                    double tol = (double)(taps + 2) * FLT_EPSILON * mag + 1e-30;
                    cr_assert(fabs((double)got - ref) <= tol,
                              "%s (%ld, %ld) k %zux%zu: %.9g, exact %.17g (tolerance %.3g)",
                              wnames[kind], oh, ow, g.kh, g.kw, got, ref, tol);
                    if (kind == W_AVG && ref == 0 && mag == 0)
                        cr_assert(!signbit(got), "avgpool2d: an empty window gives +0");
                }
            free(x);
            free(y);
        }
}

/* Hand-checked values. */
Test(window, known_values)
{
    const lam__kernel_table *s = kt_scalar();
    const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float y[9];
    /* 3x3 ones kernel, padding 1: the sums of each 3x3 neighbourhood */
    lam__win2d g = {3, 3, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 0};
    const float ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    s->dwconv2d(&g, x, ones, 0.5f, y, 0, 3);
    cr_assert(y[0] == 12.5f && y[4] == 45.5f && y[8] == 28.5f);
    s->maxpool2d(&g, x, y, 0, 3);
    cr_assert(y[0] == 5 && y[4] == 9 && y[6] == 8);
    s->avgpool2d(&g, x, y, 0, 3, 1, 0); /* count_include_pad: the corner / 9 */
    cr_assert(y[0] == 12.0f / 9.0f && y[4] == 5.0f);
    s->avgpool2d(&g, x, y, 0, 3, 0, 0); /* the corner's 4 taps */
    cr_assert(y[0] == 3.0f);
}

ParameterizedTestParameters(window, same_bits_as_scalar) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, window, same_bits_as_scalar)
{
    const lam__kernel_table *k, *s = kt_scalar();
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    kt_rng r = {1234 + (uint64_t)*isa};
    long checked = 0;
    for (int kind = 0; kind < 3; kind++)
        for (int it = 0; it < 1500; it++) {
            lam__win2d g;
            if (!random_geom(&r, kind, &g))
                continue;
            size_t nx = g.h * g.w, ny = g.oh * g.ow;
            guarded gx = guarded_alloc(nx);
            float *ys = malloc((ny + 16) * sizeof *ys), *yk = malloc((ny + 16) * sizeof *yk), w[35];
            fill(&r, gx.x, nx, it & 1);
            for (int i = 0; i < 35; i++)
                w[i] = kt_uniform(&r, -1.0f, 1.0f);
            if (it % 7 == 0)
                w[kt_next(&r) % 35] = INFINITY; /* never meets a padding tap */
            float bias = kt_uniform(&r, -1.0f, 1.0f);
            int cip = (it >> 1) & 1;
            int64_t dv = it % 5 == 0 ? 7 : 0;
            for (size_t i = 0; i < ny + 16; i++)
                ys[i] = yk[i] = 1234.5f;
            run(s, kind, &g, gx.x, w, bias, ys, 0, g.oh, cip, dv);
            /* the table's kernel in two row ranges; rows after the first
             * range untouched by it */
            size_t split = g.oh / 2;
            run(k, kind, &g, gx.x, w, bias, yk, 0, split, cip, dv);
            for (size_t i = split * g.ow; i < ny + 16; i++)
                cr_assert(yk[i] == 1234.5f, "%s %s wrote outside its rows", k->isa, wnames[kind]);
            run(k, kind, &g, gx.x, w, bias, yk, split, g.oh, cip, dv);
            for (size_t i = 0; i < ny; i++)
                cr_assert(kt_same_bits(yk[i], ys[i]) &&
                              (isnan(ys[i]) || signbit(yk[i]) == signbit(ys[i])),
                          "%s %s h %zu w %zu k %zux%zu s %zu,%zu d %zu,%zu p %zu,%zu -> %zux%zu: "
                          "[%zu] %.9g vs scalar %.9g",
                          k->isa, wnames[kind], g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.ph,
                          g.pw, g.oh, g.ow, i, yk[i], ys[i]);
            for (size_t i = ny; i < ny + 16; i++)
                cr_assert(yk[i] == 1234.5f, "%s %s wrote past the plane", k->isa, wnames[kind]);
            checked += (long)ny;
            free(ys);
            free(yk);
            kt_guard_free(gx);
        }
    cr_log_info("%s: %ld outputs bit-identical to the scalar twin", k->isa, checked);
}

/* A wide plane (many full vectors, the four-vector loop) at the 3x3 fast
 * paths and a 7x7 stride-2 one, every table against the scalar twin. */
ParameterizedTestParameters(window, wide_planes) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, window, wide_planes)
{
    const lam__kernel_table *k, *s = kt_scalar();
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    /* {3, 1, 3, 1}: padding wider than the kernel (dwconv2d: windows of
     * padding only, at the buffered 3x3 path's edges) */
    static const size_t shapes[][4] = {{3, 1, 1, 1}, {3, 2, 1, 1}, {7, 2, 3, 1}, {3, 1, 1, 2},
                                       {5, 3, 2, 1}, {3, 1, 3, 1}, {3, 1, 0, 1}, {5, 1, 2, 1},
                                       {5, 2, 2, 1}, {5, 2, 6, 1}, {3, 2, 0, 1}};
    kt_rng r = {5};
    for (int kind = 0; kind < 3; kind++)
        for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
            size_t kk = shapes[c][0], st = shapes[c][1], p = shapes[c][2], d = shapes[c][3];
            if (kind == W_AVG && d > 1)
                continue;
            lam__win2d g = {37, 229, 0, 0, kk, kk, st, st, d, d, p, p, 0};
            g.oh = out_len(g.h, kk, st, d, p, 0), g.ow = out_len(g.w, kk, st, d, p, 0);
            size_t nx = g.h * g.w, ny = g.oh * g.ow;
            guarded gx = guarded_alloc(nx);
            float *ys = malloc(ny * sizeof *ys), *yk = malloc(ny * sizeof *yk), w[49];
            fill(&r, gx.x, nx, kind == W_MAX);
            for (int i = 0; i < 49; i++)
                w[i] = kt_uniform(&r, -1.0f, 1.0f);
            run(s, kind, &g, gx.x, w, 0.25f, ys, 0, g.oh, 0, 0);
            /* in two row ranges, the first not a whole number of blocks */
            size_t mid = g.oh < 5 ? g.oh : 5;
            run(k, kind, &g, gx.x, w, 0.25f, yk, 0, mid, 0, 0);
            run(k, kind, &g, gx.x, w, 0.25f, yk, mid, g.oh, 0, 0);
            for (size_t i = 0; i < ny; i++)
                cr_assert(kt_same_bits(yk[i], ys[i]), "%s %s k %zu s %zu p %zu [%zu]: %.9g vs %.9g",
                          k->isa, wnames[kind], kk, st, p, i, yk[i], ys[i]);
            free(ys);
            free(yk);
            kt_guard_free(gx);
        }
}

/* lam__win2d.stream (non-temporal stores where a row's vectors are
 * aligned): the depthwise fast paths (3x3 and 5x5, strides 1 and 2) and
 * the generic window write the bits of the scalar twin without it, into a
 * 64-byte-aligned plane whose rows are aligned (width 112, 64) or not (57),
 * row ranges split, and nothing written outside the range. */
ParameterizedTestParameters(window, stream) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, window, stream)
{
    const lam__kernel_table *k, *s = kt_scalar();
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    static const size_t widths[] = {112, 64, 57};
    static const size_t shapes[][3] = {{3, 1, 1}, {3, 2, 1}, {5, 1, 2}, {5, 2, 2}, {7, 1, 3}};
    kt_rng r = {11};
    long checked = 0;
    for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++)
        for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
            size_t kk = shapes[c][0], st = shapes[c][1], p = shapes[c][2];
            lam__win2d g = {widths[wi], widths[wi], 0, 0, kk, kk, st, st, 1, 1, p, p, 0};
            g.oh = out_len(g.h, kk, st, 1, p, 0), g.ow = out_len(g.w, kk, st, 1, p, 0);
            size_t nx = g.h * g.w, ny = g.oh * g.ow, split = g.oh / 3;
            guarded gx = guarded_alloc(nx);
            float *ys = malloc(ny * sizeof *ys), w[49];
            float *yk = aligned_alloc(64, (ny + 16 + 15) / 16 * 16 * sizeof *yk);
            cr_assert(ys && yk);
            fill(&r, gx.x, nx, 0);
            for (int i = 0; i < 49; i++)
                w[i] = kt_uniform(&r, -1.0f, 1.0f);
            run(s, W_DW, &g, gx.x, w, 0.5f, ys, 0, g.oh, 0, 0);
            for (size_t i = 0; i < ny + 16; i++)
                yk[i] = 1234.5f;
            g.stream = 1;
            run(k, W_DW, &g, gx.x, w, 0.5f, yk, split, g.oh, 0, 0);
            for (size_t i = 0; i < split * g.ow; i++)
                cr_assert(yk[i] == 1234.5f, "%s stream wrote outside its rows", k->isa);
            run(k, W_DW, &g, gx.x, w, 0.5f, yk, 0, split, 0, 0);
            for (size_t i = 0; i < ny; i++)
                cr_assert(kt_same_bits(yk[i], ys[i]),
                          "%s stream w %zu k %zu s %zu [%zu]: %.9g vs scalar %.9g", k->isa,
                          g.w, kk, st, i, yk[i], ys[i]);
            for (size_t i = ny; i < ny + 16; i++)
                cr_assert(yk[i] == 1234.5f, "%s stream wrote past the plane", k->isa);
            checked += (long)ny;
            free(ys);
            free(yk);
            kt_guard_free(gx);
        }
    cr_log_info("%s: %ld streamed outputs bit-identical to the scalar twin", k->isa, checked);
}

/* dwconv2d_nc (nc planes at once, channels last inside): every table's
 * output is the scalar dwconv2d's, plane by plane, bit for bit (NaN,
 * infinities and signed zeros in the input; in some calls a non-finite
 * weight in one channel, which sends its group plane by plane), for nc
 * around every vector width, planes and outputs at strides with gaps that
 * must stay untouched, bias or none, the small planes it is for and
 * random geometries; the last input plane ends at an unreadable page. */
ParameterizedTestParameters(window, dwconv_nc_same_bits_as_planes) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, window, dwconv_nc_same_bits_as_planes)
{
    const lam__kernel_table *k, *s = kt_scalar();
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    static const size_t ncs[] = {1, 3, 4, 5, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 50};
    kt_rng r = {61};
    long checked = 0;
    for (int it = 0; it < 400; it++) {
        lam__win2d g;
        if (it % 2 == 0) { /* the MobileNet / EfficientNet planes */
            static const size_t hw[] = {7, 14, 28, 5, 9, 13};
            size_t kk = kt_next(&r) % 3 ? 3 : 5, st = 1 + kt_next(&r) % 2;
            g = (lam__win2d){hw[kt_next(&r) % 6], hw[kt_next(&r) % 6], 0, 0, kk, kk, st, st,
                             1, 1, kk / 2, kk / 2, 0};
            g.h += kt_next(&r) % 2;
            g.oh = out_len(g.h, kk, st, 1, kk / 2, 0), g.ow = out_len(g.w, kk, st, 1, kk / 2, 0);
        } else if (!random_geom(&r, W_DW, &g))
            continue;
        if (g.w > 40) /* keep the sweep quick: the planes are small */
            g.w = 40, g.ow = out_len(g.w, g.kw, g.sw, g.dw, g.pw, 0);
        if (g.ow == 0)
            continue;
        size_t nc = ncs[kt_next(&r) % (sizeof ncs / sizeof ncs[0])], taps = g.kh * g.kw;
        size_t xs = g.h * g.w + kt_next(&r) % 3, ys = g.oh * g.ow + kt_next(&r) % 3;
        size_t nx = (nc - 1) * xs + g.h * g.w, ny = (nc - 1) * ys + g.oh * g.ow;
        guarded gx = guarded_alloc(nx);
        fill(&r, gx.x, nx, it % 3 == 0);
        float *w = malloc(nc * taps * sizeof *w), *bias = malloc(nc * sizeof *bias);
        float *yr = malloc((ny + 16) * sizeof *yr), *yk = malloc((ny + 16) * sizeof *yk);
        size_t sb = (lam__dwconv2d_nc_scratch(&g) * sizeof(float) + 63) / 64 * 64;
        float *scratch = aligned_alloc(64, sb ? sb : 64);
        cr_assert(w && bias && yr && yk && scratch);
        for (size_t i = 0; i < nc * taps; i++)
            w[i] = kt_uniform(&r, -1.0f, 1.0f);
        for (size_t c = 0; c < nc; c++)
            bias[c] = kt_uniform(&r, -1.0f, 1.0f);
        if (it % 5 == 1) /* a non-finite weight in one channel */
            w[kt_next(&r) % (nc * taps)] = (kt_next(&r) & 1) ? INFINITY : NAN;
        int nb = it % 4 == 3; /* no bias */
        for (size_t i = 0; i < ny + 16; i++)
            yr[i] = yk[i] = 1234.5f;
        for (size_t c = 0; c < nc; c++)
            s->dwconv2d(&g, gx.x + c * xs, w + c * taps, nb ? 0.0f : bias[c], yr + c * ys, 0,
                        g.oh);
        k->dwconv2d_nc(&g, nc, gx.x, xs, w, nb ? NULL : bias, yk, ys, scratch);
        for (size_t i = 0; i < ny + 16; i++) {
            size_t c = i / ys, o = i % ys;
            if (i >= ny || o >= g.oh * g.ow) {
                cr_assert(yk[i] == 1234.5f, "%s dwconv2d_nc nc %zu wrote outside the planes [%zu]",
                          k->isa, nc, i);
                continue;
            }
            cr_assert(kt_same_bits(yk[i], yr[i]) &&
                          (isnan(yr[i]) || signbit(yk[i]) == signbit(yr[i])),
                      "%s dwconv2d_nc nc %zu h %zu w %zu k %zux%zu s %zu,%zu d %zu,%zu p %zu,%zu "
                      "-> %zux%zu: channel %zu [%zu] %.9g vs scalar planes %.9g",
                      k->isa, nc, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.ph, g.pw, g.oh,
                      g.ow, c, o, yk[i], yr[i]);
        }
        checked += (long)(nc * g.oh * g.ow);
        free(w), free(bias), free(yr), free(yk), free(scratch);
        kt_guard_free(gx);
    }
    cr_log_info("%s: %ld dwconv2d_nc outputs bit-identical to the scalar planes", k->isa, checked);
}

/* ---- adaptive pools (adaptive_maxpool2d, adaptive_avgpool2d) ---- */

/* AdaptivePooling.h's window of output o of n over c */
static long a_start(long o, long n, long c) { return o * c / n; }
static long a_end(long o, long n, long c) { return ((o + 1) * c + n - 1) / n; }

/* sizes: divisible ones (the vector path), others, outputs larger than the
 * input, 1-d (h = oh = 1), global (oh = ow = 1) */
static void adaptive_geom(kt_rng *r, lam__win2d *g)
{
    static const size_t sizes[] = {1, 2, 3, 5, 7, 8, 14, 16, 17, 28, 33, 56, 64, 97};
    memset(g, 0, sizeof *g);
    g->h = sizes[kt_next(r) % 14], g->w = sizes[kt_next(r) % 14];
    switch (kt_next(r) % 4) {
    case 0: /* divisible */
        g->oh = g->h / (1 + kt_next(r) % 4), g->ow = g->w / (1 + kt_next(r) % 5);
        g->oh = g->oh ? g->oh : 1, g->ow = g->ow ? g->ow : 1;
        if (g->h % g->oh)
            g->oh = 1;
        if (g->w % g->ow)
            g->ow = 1;
        break;
    case 1: g->oh = 1 + kt_next(r) % (g->h + 3), g->ow = 1 + kt_next(r) % (g->w + 3); break;
    case 2: g->h = g->oh = 1, g->ow = 1 + kt_next(r) % (g->w + 2); break;
    default: g->oh = g->ow = 1; break;
    }
}

/* The scalar twins against float64 definitions: the max exactly (NaN where
 * the window has one), the average within the float sum's bound. */
Test(window, adaptive_scalar_against_definitions)
{
    const lam__kernel_table *s = kt_scalar();
    kt_rng r = {41};
    for (int it = 0; it < 400; it++) {
        lam__win2d g;
        adaptive_geom(&r, &g);
        size_t nx = g.h * g.w, ny = g.oh * g.ow;
        float *x = malloc(nx * sizeof *x), *ym = malloc(ny * sizeof *ym), *ya = malloc(ny * sizeof *ya);
        fill(&r, x, nx, it & 1);
        s->adaptive_maxpool2d(&g, x, ym, 0, g.oh);
        s->adaptive_avgpool2d(&g, x, ya, 0, g.oh);
        for (long oh = 0; oh < (long)g.oh; oh++)
            for (long ow = 0; ow < (long)g.ow; ow++) {
                long h0 = a_start(oh, (long)g.oh, (long)g.h), h1 = a_end(oh, (long)g.oh, (long)g.h);
                long w0 = a_start(ow, (long)g.ow, (long)g.w), w1 = a_end(ow, (long)g.ow, (long)g.w);
                double m = -INFINITY, sum = 0, mag = 0;
                int nan = 0;
                for (long i = h0; i < h1; i++)
                    for (long j = w0; j < w1; j++) {
                        float v = x[i * (long)g.w + j];
                        nan |= isnan(v);
                        m = v > m ? v : m;
                        sum += v, mag += fabs((double)v);
                    }
                double cnt = (double)((h1 - h0) * (w1 - w0));
                float gm = ym[oh * (long)g.ow + ow], ga = ya[oh * (long)g.ow + ow];
                if (nan) {
                    cr_assert(isnan(gm) && isnan(ga), "NaN window (%ld, %ld)", oh, ow);
                    continue;
                }
                cr_assert(gm == (float)m, "max (%ld, %ld): %g vs %g", oh, ow, gm, m);
                if (isinf(sum) || isnan(sum) || isinf(mag)) {
                    cr_assert(isinf(ga) || isnan(ga));
                    continue;
                }
                double tol = (cnt + 3) * 0x1p-24 * mag / cnt + 1e-30;
                cr_assert(fabs(ga - sum / cnt) <= tol, "avg %zux%zu->%zux%zu (%ld, %ld): %.9g vs %.9g",
                          g.h, g.w, g.oh, g.ow, oh, ow, ga, sum / cnt);
            }
        free(x), free(ym), free(ya);
    }
}

/* Every table bit-identical to the scalar twin (NaN, infinities, signed
 * zeros and ties included), in two row ranges, the input at the end of a
 * readable page. */
ParameterizedTestParameters(window, adaptive_same_bits_as_scalar) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, window, adaptive_same_bits_as_scalar)
{
    const lam__kernel_table *k, *s = kt_scalar();
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    kt_rng r = {43};
    long checked = 0;
    for (int it = 0; it < 600; it++) {
        lam__win2d g;
        adaptive_geom(&r, &g);
        size_t nx = g.h * g.w, ny = g.oh * g.ow, mid = kt_next(&r) % (g.oh + 1);
        guarded gx = guarded_alloc(nx);
        fill(&r, gx.x, nx, it & 1);
        float *ys = malloc(ny * sizeof *ys), *yk = malloc(ny * sizeof *yk);
        for (int max = 0; max < 2; max++) {
            lam__maxpool2d_fn fs = max ? s->adaptive_maxpool2d : s->adaptive_avgpool2d;
            lam__maxpool2d_fn fk = max ? k->adaptive_maxpool2d : k->adaptive_avgpool2d;
            fs(&g, gx.x, ys, 0, g.oh);
            fk(&g, gx.x, yk, 0, mid);
            fk(&g, gx.x, yk, mid, g.oh);
            for (size_t i = 0; i < ny; i++)
                cr_assert(kt_same_bits(yk[i], ys[i]), "%s adaptive %s %zux%zu->%zux%zu [%zu]: %.9g vs %.9g",
                          k->isa, max ? "max" : "avg", g.h, g.w, g.oh, g.ow, i, yk[i], ys[i]);
            checked += (long)ny;
        }
        free(ys), free(yk);
        kt_guard_free(gx);
    }
    cr_log_info("%s: %ld adaptive outputs bit-identical to the scalar twin", k->isa, checked);
}

/* NaN propagates through the adaptive max pool on every table (PyTorch's
 * rule), wherever it sits in the window. */
ParameterizedTestParameters(window, adaptive_max_nan) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, window, adaptive_max_nan)
{
    const lam__kernel_table *k;
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    lam__win2d g = {.h = 8, .w = 40, .oh = 2, .ow = 20}; /* 4 x 2 windows */
    for (int pos = 0; pos < 8; pos++) {
        float x[320], y[40];
        for (int i = 0; i < 320; i++)
            x[i] = (float)(i % 13);
        x[(pos / 2) * 40 + 6 + pos % 2] = NAN; /* window (0, 3) */
        k->adaptive_maxpool2d(&g, x, y, 0, 2);
        for (int o = 0; o < 40; o++)
            cr_assert(o == 3 ? isnan(y[o]) : !isnan(y[o]), "%s pos %d out %d", k->isa, pos, o);
    }
}
