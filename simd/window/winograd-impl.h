/* The Winograd F(4x4, 3x3) and F(2x2, 3x3) tile transforms' shared body
 * (wino_in, wino_out, wino_store, wino2_*: LAM_CONV_KERNELS in simd/kernel-list.h, which gives the exact
 * order of operations), included by each ISA's file after its vector
 * primitives (vwin-<isa>.h: LW_V, LW_L, LW_LD, LW_LDN, LW_LDS2, LW_EVEN,
 * LW_LDSG, LW_ST, LW_STN, LW_SET1, LW_FMA, LW_ADD; LW_LDS4 optional; and
 * LW_ST4(p, v0, v1, v2, v3): p[4 t + b] = lane t of vb, 4 L floats;
 * LW_ST2(p, v0, v1): p[2 t + b] = lane t of vb, 2 L floats), and by the scalar twin with LAM__WG_SCALAR
 * defined (one lane, libm's fmaf).  Lane t of every vector is tile t: the
 * transforms never mix lanes, so each ISA gives the scalar twin's bits.
 * Defines lam__wg_in, lam__wg_out, lam__wg_store and their F(2x2, 3x3)
 * twins lam__wg2_* (static), and LAM__WG_KERNELS(isa), the kernels'
 * symbols. */
#ifndef LAMINA_SIMD_WINDOW_WINOGRAD_IMPL_H
#define LAMINA_SIMD_WINDOW_WINOGRAD_IMPL_H

#include <math.h>
#include <stddef.h>

#include "simd/kernels.h"

#ifdef LAM__WG_SCALAR
#define LW_V float
#define LW_L 1
#define LW_LD(p) (*(p))
#define LW_LDN(p, n) ((void)(n), *(p))
#define LW_ST(p, v) (*(p) = (v))
#define LW_STN(p, v, n) (*(p) = (v))
#define LW_SET1(f) (f)
#define LW_FMA(a, b, c) fmaf((a), (b), (c))
#define LW_ADD(a, b) ((a) + (b))
#define LW_LDS4(p) (*(p))
#define LW_LDS2(p) (*(p))
#define LW_LDSG(p, s, n) (*(p))
#define LW_ST4(p, v0, v1, v2, v3) \
    ((p)[0] = (v0), (p)[1] = (v1), (p)[2] = (v2), (p)[3] = (v3))
#define LW_ST2(p, v0, v1) ((p)[0] = (v0), (p)[1] = (v1))
#endif
/* p[0], p[4], .. from p[0, 4L) (an ISA may define a better one) */
#ifndef LW_LDS4
#define LW_LDS4(p) LW_EVEN(LW_LDS2(p), LW_LDS2((p) + 2 * LW_L))
#endif

#define LAM__WG_INLINE static inline __attribute__((always_inline))

/* The 1-d input transform of d[0..5] into u[0..5] (kernel-list.h's order). */
LAM__WG_INLINE void lam__wg_in6(const LW_V *d, LW_V *u)
{
    const LW_V m1 = LW_SET1(-1.0f), p2 = LW_SET1(2.0f), m2 = LW_SET1(-2.0f),
               p4 = LW_SET1(4.0f), m4 = LW_SET1(-4.0f), m5 = LW_SET1(-5.0f);
    LW_V t = LW_FMA(d[2], m1, d[4]); /* d4 - d2 */
    u[0] = LW_FMA(d[0], p4, LW_FMA(d[2], m5, d[4]));
    u[1] = LW_FMA(d[1], m4, LW_FMA(d[2], m4, LW_ADD(d[3], d[4])));
    u[2] = LW_FMA(d[1], p4, LW_FMA(d[2], m4, LW_FMA(d[3], m1, d[4])));
    u[3] = LW_FMA(d[1], m2, LW_FMA(d[3], p2, t));
    u[4] = LW_FMA(d[1], p2, LW_FMA(d[3], m2, t));
    u[5] = LW_FMA(d[1], p4, LW_FMA(d[3], m5, d[5]));
}

/* The 1-d output transform of m[0..5] into o[0..3]. */
LAM__WG_INLINE void lam__wg_out6(const LW_V *m, LW_V *o)
{
    const LW_V m1 = LW_SET1(-1.0f), p2 = LW_SET1(2.0f), p4 = LW_SET1(4.0f),
               p8 = LW_SET1(8.0f);
    LW_V a = LW_ADD(m[1], m[2]), b = LW_FMA(m[2], m1, m[1]);
    LW_V c = LW_ADD(m[3], m[4]), e = LW_FMA(m[4], m1, m[3]);
    o[0] = LW_ADD(LW_ADD(m[0], a), c);
    o[1] = LW_FMA(e, p2, b);
    o[2] = LW_FMA(c, p4, a);
    o[3] = LW_ADD(LW_FMA(e, p8, b), m[5]);
}

/* Tiles [t, t + k) (k <= LW_L lanes) of wino_in. */
LAM__WG_INLINE void lam__wg_in_block(size_t t, size_t k, const float *d, size_t rs, size_t cs,
                                     size_t ts, float *v, size_t vs)
{
    LW_V w[36], col[6], u[6];
    for (int c = 0; c < 6; c++) {
        for (int r = 0; r < 6; r++) {
            const float *p = d + (size_t)r * rs + (size_t)c * cs + ts * t;
            if (ts == 1)
                col[r] = k == (size_t)LW_L ? LW_LD(p) : LW_LDN(p, k);
            else if (ts == 4 && k == (size_t)LW_L)
                col[r] = LW_LDS4(p);
            else
                col[r] = LW_LDSG(p, (ptrdiff_t)ts, k);
        }
        lam__wg_in6(col, u);
        for (int i = 0; i < 6; i++)
            w[i * 6 + c] = u[i];
    }
    for (int i = 0; i < 6; i++) {
        lam__wg_in6(w + i * 6, u);
        for (int j = 0; j < 6; j++) {
            float *p = v + (size_t)(i * 6 + j) * vs + t;
            if (k == (size_t)LW_L)
                LW_ST(p, u[j]);
            else
                LW_STN(p, u[j], k);
        }
    }
}

/* Tiles [t, t + k) of wino_out. */
LAM__WG_INLINE void lam__wg_out_block(size_t t, size_t k, const float *m, size_t ms, float *q,
                                      size_t qs)
{
    LW_V w[24], col[6], o[4];
    for (int j = 0; j < 6; j++) {
        for (int i = 0; i < 6; i++)
            col[i] = k == (size_t)LW_L ? LW_LD(m + (size_t)(i * 6 + j) * ms + t)
                                       : LW_LDN(m + (size_t)(i * 6 + j) * ms + t, k);
        lam__wg_out6(col, o);
        for (int a = 0; a < 4; a++)
            w[a * 6 + j] = o[a];
    }
    for (int a = 0; a < 4; a++) {
        lam__wg_out6(w + a * 6, o);
        for (int b = 0; b < 4; b++) {
            float *p = q + (size_t)(a * 4 + b) * qs + t;
            if (k == (size_t)LW_L)
                LW_ST(p, o[b]);
            else
                LW_STN(p, o[b], k);
        }
    }
}

static void lam__wg_in(size_t n, const float *d, size_t rs, size_t cs, size_t ts, float *v,
                       size_t vs)
{
    size_t t = 0;
    for (; t + LW_L <= n; t += LW_L)
        lam__wg_in_block(t, LW_L, d, rs, cs, ts, v, vs);
    if (t < n)
        lam__wg_in_block(t, n - t, d, rs, cs, ts, v, vs);
}

static void lam__wg_out(size_t n, const float *m, size_t ms, float *q, size_t qs)
{
    size_t t = 0;
    for (; t + LW_L <= n; t += LW_L)
        lam__wg_out_block(t, LW_L, m, ms, q, qs);
    if (t < n)
        lam__wg_out_block(t, n - t, m, ms, q, qs);
}

/* wino_store: row a < ra of the n tiles' outputs q[(a 4 + b) qs + t],
 * interleaved into y[a ys + 4 t + b] for 4 t + b < wl.  Whole vectors of
 * tiles whose 4 L outputs all lie before wl go through LW_ST4 (the ISA's
 * 4-way interleaving store), the rest through a stack buffer. */
static void lam__wg_store(size_t n, const float *q, size_t qs, float *y, size_t ys, size_t ra,
                          size_t wl)
{
    size_t w = 4 * n < wl ? 4 * n : wl;
    for (size_t a = 0; a < ra; a++) {
        const float *q0 = q + 4 * a * qs, *q1 = q0 + qs, *q2 = q1 + qs, *q3 = q2 + qs;
        float *ya = y + a * ys;
        size_t t = 0;
        for (; 4 * (t + LW_L) <= w; t += LW_L)
            LW_ST4(ya + 4 * t, LW_LD(q0 + t), LW_LD(q1 + t), LW_LD(q2 + t), LW_LD(q3 + t));
        if (4 * t < w) { /* the rest: the tiles' vectors interleaved on the stack */
            size_t k = n - t < (size_t)LW_L ? n - t : (size_t)LW_L;
            float buf[4 * LW_L] __attribute__((aligned(64)));
            LW_ST4(buf, LW_LDN(q0 + t, k), LW_LDN(q1 + t, k), LW_LDN(q2 + t, k),
                   LW_LDN(q3 + t, k));
            for (size_t x = 4 * t; x < w; x++)
                ya[x] = buf[x - 4 * t];
        }
    }
}

/* ---- F(2x2, 3x3): 4 x 4 patches, 2 x 2 outputs (wino2_*) ---- */

/* The 1-d input transform of d[0..3] (kernel-list.h's order). */
LAM__WG_INLINE void lam__wg2_in4(const LW_V *d, LW_V *u)
{
    const LW_V m1 = LW_SET1(-1.0f);
    u[0] = LW_FMA(d[2], m1, d[0]);
    u[1] = LW_ADD(d[1], d[2]);
    u[2] = LW_FMA(d[1], m1, d[2]);
    u[3] = LW_FMA(d[3], m1, d[1]);
}

/* The 1-d output transform of m[0..3] into o[0..1]. */
LAM__WG_INLINE void lam__wg2_out4(const LW_V *m, LW_V *o)
{
    const LW_V m1 = LW_SET1(-1.0f);
    o[0] = LW_ADD(LW_ADD(m[0], m[1]), m[2]);
    o[1] = LW_FMA(m[3], m1, LW_FMA(m[2], m1, m[1]));
}

LAM__WG_INLINE void lam__wg2_in_block(size_t t, size_t k, const float *d, size_t rs, size_t cs,
                                      size_t ts, float *v, size_t vs)
{
    LW_V w[16], col[4], u[4];
    for (int c = 0; c < 4; c++) {
        for (int r = 0; r < 4; r++) {
            const float *p = d + (size_t)r * rs + (size_t)c * cs + ts * t;
            if (ts == 1)
                col[r] = k == (size_t)LW_L ? LW_LD(p) : LW_LDN(p, k);
            else if (ts == 2 && k == (size_t)LW_L)
                col[r] = LW_LDS2(p);
            else
                col[r] = LW_LDSG(p, (ptrdiff_t)ts, k);
        }
        lam__wg2_in4(col, u);
        for (int i = 0; i < 4; i++)
            w[i * 4 + c] = u[i];
    }
    for (int i = 0; i < 4; i++) {
        lam__wg2_in4(w + i * 4, u);
        for (int j = 0; j < 4; j++) {
            float *p = v + (size_t)(i * 4 + j) * vs + t;
            if (k == (size_t)LW_L)
                LW_ST(p, u[j]);
            else
                LW_STN(p, u[j], k);
        }
    }
}

LAM__WG_INLINE void lam__wg2_out_block(size_t t, size_t k, const float *m, size_t ms, float *q,
                                       size_t qs)
{
    LW_V w[8], col[4], o[2];
    for (int j = 0; j < 4; j++) {
        for (int i = 0; i < 4; i++)
            col[i] = k == (size_t)LW_L ? LW_LD(m + (size_t)(i * 4 + j) * ms + t)
                                       : LW_LDN(m + (size_t)(i * 4 + j) * ms + t, k);
        lam__wg2_out4(col, o);
        for (int a = 0; a < 2; a++)
            w[a * 4 + j] = o[a];
    }
    for (int a = 0; a < 2; a++) {
        lam__wg2_out4(w + a * 4, o);
        for (int b = 0; b < 2; b++) {
            float *p = q + (size_t)(a * 2 + b) * qs + t;
            if (k == (size_t)LW_L)
                LW_ST(p, o[b]);
            else
                LW_STN(p, o[b], k);
        }
    }
}

static void lam__wg2_in(size_t n, const float *d, size_t rs, size_t cs, size_t ts, float *v,
                        size_t vs)
{
    size_t t = 0;
    for (; t + LW_L <= n; t += LW_L)
        lam__wg2_in_block(t, LW_L, d, rs, cs, ts, v, vs);
    if (t < n)
        lam__wg2_in_block(t, n - t, d, rs, cs, ts, v, vs);
}

static void lam__wg2_out(size_t n, const float *m, size_t ms, float *q, size_t qs)
{
    size_t t = 0;
    for (; t + LW_L <= n; t += LW_L)
        lam__wg2_out_block(t, LW_L, m, ms, q, qs);
    if (t < n)
        lam__wg2_out_block(t, n - t, m, ms, q, qs);
}

/* wino2_store: row a < ra of y[a ys + 2 t + b] = q[(a 2 + b) qs + t] for
 * 2 t + b < wl (LW_ST2: the ISA's 2-way interleaving store). */
static void lam__wg2_store(size_t n, const float *q, size_t qs, float *y, size_t ys, size_t ra,
                           size_t wl)
{
    size_t w = 2 * n < wl ? 2 * n : wl;
    for (size_t a = 0; a < ra; a++) {
        const float *q0 = q + 2 * a * qs, *q1 = q0 + qs;
        float *ya = y + a * ys;
        size_t t = 0;
        for (; 2 * (t + LW_L) <= w; t += LW_L)
            LW_ST2(ya + 2 * t, LW_LD(q0 + t), LW_LD(q1 + t));
        if (2 * t < w) {
            size_t k = n - t < (size_t)LW_L ? n - t : (size_t)LW_L;
            float buf[2 * LW_L] __attribute__((aligned(64)));
            LW_ST2(buf, LW_LDN(q0 + t, k), LW_LDN(q1 + t, k));
            for (size_t x = 2 * t; x < w; x++)
                ya[x] = buf[x - 2 * t];
        }
    }
}

/* The six kernels of ISA `isa` (lam__f32_wino_in_<isa> ..): every ISA's
 * file includes this header after its primitives and expands this once. */
#define LAM__WG_KERNELS(isa)                                                                    \
    void lam__f32_wino_in_##isa(size_t n, const float *d, size_t rs, size_t cs, size_t ts,      \
                                float *v, size_t vs)                                            \
    {                                                                                           \
        lam__wg_in(n, d, rs, cs, ts, v, vs);                                                    \
    }                                                                                           \
    void lam__f32_wino_out_##isa(size_t n, const float *m, size_t ms, float *q, size_t qs)      \
    {                                                                                           \
        lam__wg_out(n, m, ms, q, qs);                                                           \
    }                                                                                           \
    void lam__f32_wino_store_##isa(size_t n, const float *q, size_t qs, float *y, size_t ys,    \
                                   size_t ra, size_t wl)                                        \
    {                                                                                           \
        lam__wg_store(n, q, qs, y, ys, ra, wl);                                                 \
    }                                                                                           \
    void lam__f32_wino2_in_##isa(size_t n, const float *d, size_t rs, size_t cs, size_t ts,     \
                                 float *v, size_t vs)                                           \
    {                                                                                           \
        lam__wg2_in(n, d, rs, cs, ts, v, vs);                                                   \
    }                                                                                           \
    void lam__f32_wino2_out_##isa(size_t n, const float *m, size_t ms, float *q, size_t qs)     \
    {                                                                                           \
        lam__wg2_out(n, m, ms, q, qs);                                                          \
    }                                                                                           \
    void lam__f32_wino2_store_##isa(size_t n, const float *q, size_t qs, float *y, size_t ys,   \
                                    size_t ra, size_t wl)                                       \
    {                                                                                           \
        lam__wg2_store(n, q, qs, y, ys, ra, wl);                                                \
    }

#endif
