/* The window kernels' shared body (LAM_WINDOW_KERNELS in
 * simd/kernel-list.h: dwconv2d, maxpool2d, avgpool2d), included by each
 * ISA's kernel files after the ISA's vector primitives (vwin-<isa>.h), and
 * by the scalar twins with LAM__W_SCALAR defined (no vectors).
 *
 * One output is one chain over its window's taps in window order (kernel
 * rows, then columns), the same operations whichever path computes it:
 *   - lam__w_out: one output, any position (edges, padding, scalar twins);
 *   - the vector path: the outputs whose taps all lie inside the input row
 *     (the "interior" columns [lo, hi)), L outputs per vector, every lane
 *     its own chain; four vectors at once (independent chains hide the FMA
 *     latency), then the rest four vectors at a time, lane-masked where a
 *     vector's reads would leave the row;
 *   - dwconv2d_nc (lam__w_dw_nc, below): L channels of one pixel a vector,
 *     for planes too small to fill vectors of one channel's pixels.
 * A vector lane reads input columns (ow0 + t) sw - pw + b dw: one unaligned
 * load at stride 1, a two-vector load and deinterleave at stride 2, a
 * gather (or lane by lane) otherwise.  fmaf is one fused operation on every
 * target (an instruction where the ISA flags have FMA, libm's exact fmaf in
 * the scalar twins), so each ISA gives the scalar twin's bits.
 *
 * The ISA header defines: LW_V (vector type), LW_L (lanes), LW_LD(p),
 * LW_LDN(p, n) (lanes [0, n) from p[0, n), reading nothing else),
 * LW_LDR(p, a, e) (lanes [a, e) from p[a, e), the others 0, reading
 * nothing else; a <= e <= L),
 * LW_LDS2(p) (p[0], p[2], .. from p[0, 2L)), LW_EVEN(a, b) (the even lanes
 * of a, then those of b), LW_LDS2N(p, n) (n lanes from
 * p[0, 2n - 1)), LW_LDSG(p, s, n) (n lanes p[t s]), LW_ST(p, v),
 * LW_STN(p, v, n), LW_SET1(f), LW_FMA(a, b, c) (a b + c, fused), LW_ADD,
 * LW_DIV, LW_MAXNAN(m, v) (v where v > m or v is NaN, else m),
 * LW_TRANSPOSE(r) (the L vectors r[0, L) transposed in place: lane j of
 * r[i] becomes lane i of r[j]; dwconv2d_nc's channels-last blocks); optionally
 * LW_STNT(p, v) (a non-temporal store to a vector-aligned p) and
 * LW_SFENCE() (which orders them), used where lam__win2d.stream is set. */
#ifndef LAMINA_SIMD_WINDOW_WINDOW_IMPL_H
#define LAMINA_SIMD_WINDOW_WINDOW_IMPL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "simd/kernels.h"

#define LAM__W_INLINE static inline __attribute__((always_inline))

/* A whole vector of output at p: a non-temporal store where the geometry
 * says the output streams (lam__win2d.stream) and p is vector-aligned
 * (the ISA header's optional LW_STNT, then LW_SFENCE at the kernel's end),
 * else LW_ST. */
#ifdef LW_STNT
#define LAM__W_ST(st, p, v)                                                       \
    do {                                                                          \
        float *lam__w_p = (p);                                                    \
        if ((st) && (uintptr_t)lam__w_p % (sizeof(float) * (size_t)LW_L) == 0)    \
            LW_STNT(lam__w_p, (v));                                               \
        else                                                                      \
            LW_ST(lam__w_p, (v));                                                 \
    } while (0)
#else
#define LAM__W_ST(st, p, v)                                                       \
    do {                                                                          \
        (void)(st);                                                               \
        LW_ST((p), (v));                                                          \
    } while (0)
#endif

/* LAM__W_AAVG: the adaptive average pool's uniform windows (no padding,
 * dilation 1): the sum, then / kh / kw (two divisions, as PyTorch) */
enum { LAM__W_DW, LAM__W_MAX, LAM__W_AVG, LAM__W_AAVG };

typedef ptrdiff_t lam__wi;

/* The taps [*first, *last) of a window starting at `start` (dilation d, k
 * taps) that fall inside [0, n). */
LAM__W_INLINE void lam__w_taps(lam__wi start, lam__wi d, lam__wi k, lam__wi n, lam__wi *first,
                               lam__wi *last)
{
    lam__wi a, b;
    if (d == 1) { /* no division */
        a = start < 0 ? -start : 0;
        b = start < n ? n - start : 0;
    } else {
        a = start < 0 ? (-start + d - 1) / d : 0;
        b = start < n ? (n - start + d - 1) / d : 0;
    }
    *first = a;
    *last = b < k ? b : k;
}

/* The average pool's divisor for output (oh, ow), or 0 when its window holds
 * no input (the output is then 0): cpu_avg_pool's formula. */
LAM__W_INLINE int64_t lam__w_avg_div(const lam__win2d *g, lam__wi oh, lam__wi ow, int cip,
                                     int64_t divisor)
{
    lam__wi H = (lam__wi)g->h, W = (lam__wi)g->w;
    lam__wi h0 = oh * (lam__wi)g->sh - (lam__wi)g->ph, w0 = ow * (lam__wi)g->sw - (lam__wi)g->pw;
    lam__wi h1 = h0 + (lam__wi)g->kh, w1 = w0 + (lam__wi)g->kw;
    if (h1 > H + (lam__wi)g->ph)
        h1 = H + (lam__wi)g->ph;
    if (w1 > W + (lam__wi)g->pw)
        w1 = W + (lam__wi)g->pw;
    int64_t pool = (int64_t)(h1 - h0) * (int64_t)(w1 - w0);
    h0 = h0 > 0 ? h0 : 0, w0 = w0 > 0 ? w0 : 0;
    h1 = h1 < H ? h1 : H, w1 = w1 < W ? w1 : W;
    if (h0 >= h1 || w0 >= w1)
        return 0;
    return divisor ? divisor : cip ? pool : (int64_t)(h1 - h0) * (int64_t)(w1 - w0);
}

/* One output (oh, ow), through the taps inside the input. */
LAM__W_INLINE float lam__w_out(int kind, const lam__win2d *g, const float *x, const float *w,
                               float bias, lam__wi oh, lam__wi ow, int cip, int64_t divisor)
{
    lam__wi kh = (lam__wi)g->kh, kw = (lam__wi)g->kw, dh = (lam__wi)g->dh, dw = (lam__wi)g->dw;
    lam__wi h0 = oh * (lam__wi)g->sh - (lam__wi)g->ph, w0 = ow * (lam__wi)g->sw - (lam__wi)g->pw;
    lam__wi i0, i1, j0, j1;
    lam__w_taps(h0, dh, kh, (lam__wi)g->h, &i0, &i1);
    lam__w_taps(w0, dw, kw, (lam__wi)g->w, &j0, &j1);
    int64_t div = 1;
    if (kind == LAM__W_AVG) {
        div = lam__w_avg_div(g, oh, ow, cip, divisor);
        if (div == 0)
            return 0.0f;
    }
    float acc = kind == LAM__W_MAX ? -INFINITY : 0.0f;
    for (lam__wi i = i0; i < i1; i++) {
        const float *row = x + (h0 + i * dh) * (lam__wi)g->w + w0;
        for (lam__wi j = j0; j < j1; j++) {
            float v = row[j * dw];
            if (kind == LAM__W_DW)
                acc = fmaf(w[i * kw + j], v, acc);
            else if (kind == LAM__W_MAX) {
                if (v > acc || isnan(v))
                    acc = v;
            } else
                acc += v;
        }
    }
    if (kind == LAM__W_DW)
        return acc + bias;
    if (kind == LAM__W_AVG)
        return 0.0f + acc / (float)div;
    if (kind == LAM__W_AAVG)
        return acc / (float)g->kh / (float)g->kw;
    return acc;
}

/* Output rows [oh_begin, oh_end) one output at a time (the scalar twins). */
LAM__W_INLINE void lam__w_plane_scalar(int kind, const lam__win2d *g, const float *x,
                                       const float *w, float bias, float *y, size_t oh_begin,
                                       size_t oh_end, int cip, int64_t divisor)
{
    for (size_t oh = oh_begin; oh < oh_end; oh++)
        for (size_t ow = 0; ow < g->ow; ow++)
            y[oh * g->ow + ow] =
                lam__w_out(kind, g, x, w, bias, (lam__wi)oh, (lam__wi)ow, cip, divisor);
}

/* ---- the adaptive pools: PyTorch's AdaptivePooling.h windows ----
 * output o of n over an input of c: [floor(o c / n), ceil((o + 1) c / n)) */
LAM__W_INLINE lam__wi lam__w_astart(lam__wi a, lam__wi b, lam__wi c)
{
    return (lam__wi)((a / b) * (__int128)c + ((a % b) * (__int128)c) / b);
}
LAM__W_INLINE lam__wi lam__w_aend(lam__wi a, lam__wi b, lam__wi c)
{
    return (lam__wi)(1 + ((a + 1) * (__int128)c - 1) / b);
}

/* Output rows [oh_begin, oh_end) one output at a time, PyTorch's loops:
 * max m = -inf, m = x where x > m or x is NaN; average sum = 0, sum += x,
 * y = sum / kh / kw; the window's rows, then columns, in order. */
LAM__W_INLINE void lam__w_adaptive_scalar(int max, const lam__win2d *g, const float *x, float *y,
                                          size_t oh_begin, size_t oh_end)
{
    lam__wi H = (lam__wi)g->h, W = (lam__wi)g->w, OH = (lam__wi)g->oh, OW = (lam__wi)g->ow;
    for (lam__wi oh = (lam__wi)oh_begin; oh < (lam__wi)oh_end; oh++) {
        lam__wi h0 = lam__w_astart(oh, OH, H), h1 = lam__w_aend(oh, OH, H);
        for (lam__wi ow = 0; ow < OW; ow++) {
            lam__wi w0 = lam__w_astart(ow, OW, W), w1 = lam__w_aend(ow, OW, W);
            float acc = max ? -INFINITY : 0.0f;
            for (lam__wi ih = h0; ih < h1; ih++)
                for (lam__wi iw = w0; iw < w1; iw++) {
                    float v = x[ih * W + iw];
                    if (!max)
                        acc += v;
                    else if (v > acc || isnan(v))
                        acc = v;
                }
            y[oh * OW + ow] = max ? acc : acc / (float)(h1 - h0) / (float)(w1 - w0);
        }
    }
}

#ifndef LAM__W_SCALAR

/* The taps of column tap b for L lanes from p (the lane-0 input column). */
#define LAM__W_LOAD(p, s)                                                                          \
    ((s) == 1 ? LW_LD(p) : (s) == 2 ? LW_LDS2(p) : LW_LDSG((p), (s), LW_L))
#define LAM__W_LOADN(p, s, n)                                                                      \
    ((s) == 1 ? LW_LDN((p), (n)) : (s) == 2 ? LW_LDS2N((p), (n)) : LW_LDSG((p), (s), (n)))

/* One tap into accumulator a. */
#define LAM__W_STEP(kind, a, wv, v)                                                                \
    do {                                                                                           \
        if ((kind) == LAM__W_DW)                                                                   \
            (a) = LW_FMA((wv), (v), (a));                                                          \
        else if ((kind) == LAM__W_MAX)                                                             \
            (a) = LW_MAXNAN((a), (v));                                                             \
        else                                                                                       \
            (a) = LW_ADD((a), (v));                                                                \
    } while (0)

/* Output rows [oh_begin, oh_end): the interior by vectors, the edges one
 * output at a time.  S and KW are compile-time specialisations (0: take
 * sw, kw from g; KW != 0 means kw = KW with dw = 1). */
LAM__W_INLINE void lam__w_plane(int kind, lam__wi S, lam__wi KW, const lam__win2d *g,
                                const float *x, const float *w, float bias, float *y,
                                size_t oh_begin, size_t oh_end, int cip, int64_t divisor)
{
    const lam__wi W = (lam__wi)g->w, OW = (lam__wi)g->ow, kh = (lam__wi)g->kh,
                  kw = KW ? KW : (lam__wi)g->kw, sw = S ? S : (lam__wi)g->sw,
                  dh = (lam__wi)g->dh, dw = KW ? 1 : (lam__wi)g->dw, pw = (lam__wi)g->pw,
                  L = LW_L;
    /* [lo, hi): the columns all of whose taps are inside the row */
    lam__wi lo = (pw + sw - 1) / sw, last = (kw - 1) * dw - pw;
    lam__wi hi = W - last > 0 ? (W - last - 1) / sw + 1 : 0;
    if (hi > OW)
        hi = OW;
    if (lo > hi)
        lo = hi;
    /* full vectors read s L floats from a tap's first column at stride <= 2
     * (one past the last lane's at stride 2): ow0 + n <= vend keeps them in
     * the row; a gather reads only the lanes' own columns */
    lam__wi span = sw <= 2 ? sw * L : (L - 1) * sw + 1;
    lam__wi vend = hi;
    {
        lam__wi room = W + pw - (kw - 1) * dw - span; /* ow0 sw <= room */
        lam__wi v = room >= 0 ? room / sw + L : 0;    /* ow0 + L <= v */
        if (v < vend)
            vend = v;
    }
    const LW_V init = LW_SET1(kind == LAM__W_MAX ? -INFINITY : 0.0f);
    const LW_V fkh = LW_SET1((float)g->kh), fkw = LW_SET1((float)g->kw); /* AAVG */
    for (size_t ohu = oh_begin; ohu < oh_end; ohu++) {
        lam__wi oh = (lam__wi)ohu;
        float *yr = y + oh * OW;
        lam__wi h0 = oh * (lam__wi)g->sh - (lam__wi)g->ph, i0, i1;
        lam__w_taps(h0, dh, kh, (lam__wi)g->h, &i0, &i1);
        for (lam__wi ow = 0; ow < lo; ow++)
            yr[ow] = lam__w_out(kind, g, x, w, bias, oh, ow, cip, divisor);
        for (lam__wi ow = hi; ow < OW; ow++)
            yr[ow] = lam__w_out(kind, g, x, w, bias, oh, ow, cip, divisor);
        if (lo >= hi)
            continue;
        LW_V fin = LW_SET1(kind == LAM__W_DW ? bias : 0.0f);
        if (kind == LAM__W_AVG) {
            int64_t div = lam__w_avg_div(g, oh, lo, cip, divisor);
            if (div == 0) { /* no input row in the window */
                for (lam__wi ow = lo; ow < hi; ow++)
                    yr[ow] = 0.0f;
                continue;
            }
            fin = LW_SET1((float)div);
        }
        lam__wi ow = lo;
        /* four vectors */
        for (; ow + 4 * L <= vend; ow += 4 * L) {
            LW_V a0 = init, a1 = init, a2 = init, a3 = init;
            for (lam__wi i = i0; i < i1; i++) {
                const float *p = x + (h0 + i * dh) * W + ow * sw - pw;
                const float *wr = kind == LAM__W_DW ? w + i * kw : NULL; /* w: DW only */
#pragma GCC unroll 4
                for (lam__wi b = 0; b < kw; b++) {
                    const float *q = p + b * dw;
                    LW_V wv = kind == LAM__W_DW ? LW_SET1(wr[b]) : init;
                    LAM__W_STEP(kind, a0, wv, LAM__W_LOAD(q, sw));
                    LAM__W_STEP(kind, a1, wv, LAM__W_LOAD(q + L * sw, sw));
                    LAM__W_STEP(kind, a2, wv, LAM__W_LOAD(q + 2 * L * sw, sw));
                    LAM__W_STEP(kind, a3, wv, LAM__W_LOAD(q + 3 * L * sw, sw));
                }
            }
            if (kind == LAM__W_DW) {
                a0 = LW_ADD(a0, fin), a1 = LW_ADD(a1, fin);
                a2 = LW_ADD(a2, fin), a3 = LW_ADD(a3, fin);
            } else if (kind == LAM__W_AVG) {
                const LW_V z = LW_SET1(0.0f);
                a0 = LW_ADD(z, LW_DIV(a0, fin)), a1 = LW_ADD(z, LW_DIV(a1, fin));
                a2 = LW_ADD(z, LW_DIV(a2, fin)), a3 = LW_ADD(z, LW_DIV(a3, fin));
            } else if (kind == LAM__W_AAVG) {
                a0 = LW_DIV(LW_DIV(a0, fkh), fkw), a1 = LW_DIV(LW_DIV(a1, fkh), fkw);
                a2 = LW_DIV(LW_DIV(a2, fkh), fkw), a3 = LW_DIV(LW_DIV(a3, fkh), fkw);
            }
            LW_ST(yr + ow, a0);
            LW_ST(yr + ow + L, a1);
            LW_ST(yr + ow + 2 * L, a2);
            LW_ST(yr + ow + 3 * L, a3);
        }
        /* the rest, at most four vectors at a time (four chains again),
         * full ones where their reads stay in the row, else lane-masked
         * (exact reads) */
        while (ow < hi) {
            lam__wi n[4], o[4];
            int full[4];
            for (int u = 0; u < 4; u++) {
                o[u] = ow + u * L;
                lam__wi r = hi - o[u];
                n[u] = r < 0 ? 0 : r > L ? L : r;
                full[u] = n[u] == L && o[u] + L <= vend;
            }
            LW_V a0 = init, a1 = init, a2 = init, a3 = init;
            for (lam__wi i = i0; i < i1; i++) {
                const float *p = x + (h0 + i * dh) * W + ow * sw - pw;
                const float *wr = kind == LAM__W_DW ? w + i * kw : NULL; /* w: DW only */
#pragma GCC unroll 4
                for (lam__wi b = 0; b < kw; b++) {
                    const float *q = p + b * dw;
                    LW_V wv = kind == LAM__W_DW ? LW_SET1(wr[b]) : init;
#define LAM__W_LD_U(u)                                                                             \
    (full[u] ? LAM__W_LOAD(q + (u) * L * sw, sw) : LAM__W_LOADN(q + (u) * L * sw, sw, (size_t)n[u]))
                    LAM__W_STEP(kind, a0, wv, LAM__W_LD_U(0));
                    if (n[1]) /* the same way for every tap: predicted */
                        LAM__W_STEP(kind, a1, wv, LAM__W_LD_U(1));
                    if (n[2])
                        LAM__W_STEP(kind, a2, wv, LAM__W_LD_U(2));
                    if (n[3])
                        LAM__W_STEP(kind, a3, wv, LAM__W_LD_U(3));
#undef LAM__W_LD_U
                }
            }
            LW_V acc[4] = {a0, a1, a2, a3};
            for (int u = 0; u < 4 && n[u]; u++) {
                LW_V v = acc[u];
                if (kind == LAM__W_DW)
                    v = LW_ADD(v, fin);
                else if (kind == LAM__W_AVG)
                    v = LW_ADD(LW_SET1(0.0f), LW_DIV(v, fin));
                else if (kind == LAM__W_AAVG)
                    v = LW_DIV(LW_DIV(v, fkh), fkw);
                if (n[u] == L)
                    LW_ST(yr + o[u], v);
                else
                    LW_STN(yr + o[u], v, (size_t)n[u]);
            }
            ow += n[0] + n[1] + n[2] + n[3];
        }
    }
}

/* ---- the 3x3 depthwise convolution at stride 1, dilation 1 ----
 * A block of RR output rows (LW_DW_R, then 4, then 1 for the rest of the
 * range) one vector of L output columns at a time, straight from the
 * input: every vector loaded from the block's RR + 2 input rows feeds each
 * of the (up to 3) output rows of the block that reads it, RR + 2 rows of
 * loads for RR output rows instead of 3 RR, and RR independent chains.
 * The vectors whose taps all lie inside the input (interior rows and
 * columns) load without a check; the others (the first and last vectors
 * of a row, the blocks at the top and bottom) skip the rows outside the
 * input and load each tap lane-masked, 0 outside the row.  A skipped row
 * is what lam__w_out does; a masked lane meets a zero instead of being
 * skipped: fmaf(w, 0, acc) is acc when w is finite (acc starts at +0 and a
 * chain never reaches -0, so adding a signed zero changes nothing), so
 * this path runs only when the nine weights are finite and gives
 * lam__w_out's bits; otherwise lam__w_plane runs.  Each accumulator takes
 * its taps in window order (input rows in order, columns in order), then
 * + bias.  (The other sizes and stride 2: lam__w_dwk below.) */
#ifndef LW_DW_R
#define LW_DW_R 4 /* output rows per block: LW_DW_R independent chains */
#endif

/* Output rows [oh0, oh0 + RR), output columns [c, c + n) (n <= L): input
 * rows ih0 + t, t in [tlo, thi) (the others outside the input), columns
 * from col (lane 0, tap 0).  EDGE: rows and columns checked; else all
 * RR + 2 rows are inside and every load p[0, L + 2) stays in its row. */
LAM__W_INLINE void lam__w_dw3_vec(int RR, int EDGE, const float *x, lam__wi W, lam__wi ih0,
                                  int tlo, int thi, lam__wi col, const LW_V *wv, LW_V fin,
                                  float *y, lam__wi OW, lam__wi n, int st)
{
    const lam__wi L = LW_L;
    LW_V acc[LW_DW_R > 4 ? LW_DW_R : 4];
    lam__wi a[3], e[3];
    if (EDGE)
#pragma GCC unroll 3
        for (int b = 0; b < 3; b++) { /* tap b reads lanes [a, e) of the row */
            lam__wi o = col + b;
            a[b] = o < 0 ? (-o < L ? -o : L) : 0;
            e[b] = W - o < L ? (W - o > a[b] ? W - o : a[b]) : L;
        }
#pragma GCC unroll 16
    for (int j = 0; j < RR; j++)
        acc[j] = LW_SET1(0.0f);
#pragma GCC unroll 16
    for (int t = 0; t < RR + 2; t++) {
        if (EDGE && (t < tlo || t >= thi))
            continue;
        const float *p = x + (ih0 + t) * W + col;
#pragma GCC unroll 3
        for (int b = 0; b < 3; b++) {
            LW_V xv = EDGE ? LW_LDR(p + b, (size_t)a[b], (size_t)e[b]) : LW_LD(p + b);
            LW_PIN(xv);
#pragma GCC unroll 16
            for (int j = 0; j < RR; j++) {
                int i = t - j;
                if (i >= 0 && i < 3)
                    acc[j] = LW_FMA(wv[i * 3 + b], xv, acc[j]);
            }
        }
    }
#pragma GCC unroll 16
    for (int j = 0; j < RR; j++) {
        if (n == L)
            LAM__W_ST(st, y + j * OW, LW_ADD(acc[j], fin));
        else
            LW_STN(y + j * OW, LW_ADD(acc[j], fin), (size_t)n);
    }
}

/* Output rows [oh0, oh0 + RR), all columns. */
LAM__W_INLINE void lam__w_dw3_rows(int RR, const lam__win2d *g, const float *x, const LW_V *wv,
                                   LW_V fin, float *y, lam__wi oh0)
{
    const lam__wi L = LW_L, H = (lam__wi)g->h, W = (lam__wi)g->w, OW = (lam__wi)g->ow,
                  pw = (lam__wi)g->pw, ih0 = oh0 - (lam__wi)g->ph;
    float *yr = y + oh0 * OW;
    if (ih0 >= 0 && ih0 + RR + 2 <= H) {
#ifdef LW_PREFETCH
        /* the next block's new input rows, in address order */
        const float *pf = x + (ih0 + RR + 2) * W - pw;
        lam__wi npf = ih0 + 2 * RR + 2 <= H ? RR : H - (ih0 + RR + 2);
#endif
        for (lam__wi c = 0; c < OW; c += L) {
            lam__wi col = c - pw;
#ifdef LW_PREFETCH
            if (c % 16 < L) /* once per 64-byte line */
                for (lam__wi t = 0; t < npf; t++)
                    LW_PREFETCH(pf + t * W + c);
#endif
            if (col >= 0 && col + L + 2 <= W && c + L <= OW)
                lam__w_dw3_vec(RR, 0, x, W, ih0, 0, RR + 2, col, wv, fin, yr + c, OW, L,
                               g->stream);
            else
                lam__w_dw3_vec(RR, 1, x, W, ih0, 0, RR + 2, col, wv, fin, yr + c, OW,
                               OW - c < L ? OW - c : L, g->stream);
        }
    } else {
        int tlo = ih0 < 0 ? (int)(-ih0 < RR + 2 ? -ih0 : RR + 2) : 0;
        int thi = H - ih0 < RR + 2 ? (int)(H - ih0 > tlo ? H - ih0 : tlo) : RR + 2;
        for (lam__wi c = 0; c < OW; c += L)
            lam__w_dw3_vec(RR, 1, x, W, ih0, tlo, thi, c - pw, wv, fin, yr + c, OW,
                           OW - c < L ? OW - c : L, g->stream);
    }
}

LAM__W_INLINE void lam__w_dw3(const lam__win2d *g, const float *x, const float *w, float bias,
                              float *y, size_t oh_begin, size_t oh_end)
{
    LW_V wv[9];
    for (int k = 0; k < 9; k++)
        wv[k] = LW_SET1(w[k]);
    const LW_V fin = LW_SET1(bias);
    lam__wi oh = (lam__wi)oh_begin, end = (lam__wi)oh_end;
    while (oh < end) {
        if (end - oh >= LW_DW_R) {
            lam__w_dw3_rows(LW_DW_R, g, x, wv, fin, y, oh);
            oh += LW_DW_R;
        } else if (LW_DW_R > 4 && end - oh >= 4) {
            lam__w_dw3_rows(4, g, x, wv, fin, y, oh);
            oh += 4;
        } else {
            lam__w_dw3_rows(1, g, x, wv, fin, y, oh);
            oh += 1;
        }
    }
}

/* ---- the other K x K depthwise convolutions (K = 3, 5) at stride S
 * (1, 2), dilation 1: lam__w_dw3's blocks, generalised ----
 * A block of RR output rows reads the T = (RR - 1) S + K input rows from
 * ih0 = oh0 S - ph; every vector loaded from input row t (one unaligned
 * load at stride 1, two and a deinterleave at stride 2) feeds each output
 * row j of the block with 0 <= t - j S < K, tap (t - j S, b).  Each
 * accumulator still takes its taps in window order, then + bias.  The
 * vectors at the plane's edges skip the rows outside the input and load
 * lane-masked (zeros outside the row, reading nothing outside it; at
 * stride 2 both halves masked, then deinterleaved), so this path too runs
 * only when the K K weights are finite. */

/* Output rows [oh0, oh0 + RR), output columns [c, c + n) (n <= L): input
 * rows ih0 + t, t in [tlo, thi), columns from col (lane 0, tap 0).  EDGE:
 * rows and columns checked; else all T rows are inside and every load
 * p[0, S L + K - 1) stays in its row. */
LAM__W_INLINE void lam__w_dwk_vec(int K, int S, int RR, int EDGE, const float *x, lam__wi W,
                                  lam__wi ih0, int tlo, int thi, lam__wi col, const LW_V *wv,
                                  LW_V fin, float *y, lam__wi OW, lam__wi n, int st)
{
    const lam__wi L = LW_L;
    const int T = (RR - 1) * S + K;
    LW_V acc[4];
    lam__wi a[2][5], e[2][5]; /* tap b, half h: lanes [a, e) inside the row */
    if (EDGE)
#pragma GCC unroll 5
        for (int b = 0; b < K; b++)
#pragma GCC unroll 2
            for (int h = 0; h < S; h++) {
                lam__wi o = col + b + h * L;
                a[h][b] = o < 0 ? (-o < L ? -o : L) : 0;
                e[h][b] = W - o < L ? (W - o > a[h][b] ? W - o : a[h][b]) : L;
            }
#pragma GCC unroll 4
    for (int j = 0; j < RR; j++)
        acc[j] = LW_SET1(0.0f);
#pragma GCC unroll 16
    for (int t = 0; t < T; t++) {
        if (EDGE && (t < tlo || t >= thi))
            continue;
        const float *p = x + (ih0 + t) * W + col;
#pragma GCC unroll 5
        for (int b = 0; b < K; b++) {
            LW_V xv;
            if (S == 1)
                xv = EDGE ? LW_LDR(p + b, (size_t)a[0][b], (size_t)e[0][b]) : LW_LD(p + b);
            else if (EDGE)
                xv = LW_EVEN(LW_LDR(p + b, (size_t)a[0][b], (size_t)e[0][b]),
                             LW_LDR(p + b + L, (size_t)a[1][b], (size_t)e[1][b]));
            else
                xv = LW_LDS2(p + b);
            LW_PIN(xv);
#pragma GCC unroll 4
            for (int j = 0; j < RR; j++) {
                int i = t - j * S;
                if (i >= 0 && i < K)
                    acc[j] = LW_FMA(wv[i * K + b], xv, acc[j]);
            }
        }
    }
#pragma GCC unroll 4
    for (int j = 0; j < RR; j++) {
        if (n == L)
            LAM__W_ST(st, y + j * OW, LW_ADD(acc[j], fin));
        else
            LW_STN(y + j * OW, LW_ADD(acc[j], fin), (size_t)n);
    }
}

/* Output rows [oh0, oh0 + RR), all columns. */
LAM__W_INLINE void lam__w_dwk_rows(int K, int S, int RR, const lam__win2d *g, const float *x,
                                   const LW_V *wv, LW_V fin, float *y, lam__wi oh0)
{
    const lam__wi L = LW_L, H = (lam__wi)g->h, W = (lam__wi)g->w, OW = (lam__wi)g->ow,
                  pw = (lam__wi)g->pw, ih0 = oh0 * S - (lam__wi)g->ph;
    const int T = (RR - 1) * S + K;
    float *yr = y + oh0 * OW;
    if (ih0 >= 0 && ih0 + T <= H) {
#ifdef LW_PREFETCH
        /* the next block's new input rows, in address order */
        const float *pf = x + (ih0 + T) * W - pw;
        lam__wi npf = ih0 + T + RR * S <= H ? RR * S : H - (ih0 + T);
        const lam__wi span = S * L < 16 ? S * L : 16;
#endif
        for (lam__wi c = 0; c < OW; c += L) {
            lam__wi col = c * S - pw;
#ifdef LW_PREFETCH
            for (lam__wi u = 0; u < S * L; u += 16)
                if ((c * S + u) % 16 < span) /* once per 64-byte line */
                    for (lam__wi t = 0; t < npf; t++)
                        LW_PREFETCH(pf + t * W + c * S + u);
#endif
            if (col >= 0 && col + S * L + K - 1 <= W && c + L <= OW)
                lam__w_dwk_vec(K, S, RR, 0, x, W, ih0, 0, T, col, wv, fin, yr + c, OW, L,
                               g->stream);
            else
                lam__w_dwk_vec(K, S, RR, 1, x, W, ih0, 0, T, col, wv, fin, yr + c, OW,
                               OW - c < L ? OW - c : L, g->stream);
        }
    } else {
        int tlo = ih0 < 0 ? (int)(-ih0 < T ? -ih0 : T) : 0;
        int thi = H - ih0 < T ? (int)(H - ih0 > tlo ? H - ih0 : tlo) : T;
        for (lam__wi c = 0; c < OW; c += L)
            lam__w_dwk_vec(K, S, RR, 1, x, W, ih0, tlo, thi, c * S - pw, wv, fin, yr + c, OW,
                           OW - c < L ? OW - c : L, g->stream);
    }
}

LAM__W_INLINE void lam__w_dwk(int K, int S, const lam__win2d *g, const float *x, const float *w,
                              float bias, float *y, size_t oh_begin, size_t oh_end)
{
    LW_V wv[25];
    for (int k = 0; k < K * K; k++)
        wv[k] = LW_SET1(w[k]);
    const LW_V fin = LW_SET1(bias);
    lam__wi oh = (lam__wi)oh_begin, end = (lam__wi)oh_end;
    for (; end - oh >= 4; oh += 4)
        lam__w_dwk_rows(K, S, 4, g, x, wv, fin, y, oh);
    for (; oh < end; oh++)
        lam__w_dwk_rows(K, S, 1, g, x, wv, fin, y, oh);
}

/* The n weights of a window are finite (the fast paths' condition). */
LAM__W_INLINE int lam__w_finite(const float *w, int n)
{
    int ok = 1;
    for (int k = 0; k < n; k++)
        ok &= isfinite(w[k]) != 0;
    return ok;
}

/* The kernel: the 3x3 and 5x5 depthwise convolutions at stride 1 and 2
 * with finite weights, the 3-wide stride-1 and stride-2 windows (the
 * other 3x3 convolutions and pools) specialised, then stride 1, stride 2,
 * any. */
LAM__W_INLINE void lam__w_kernel(int kind, const lam__win2d *g, const float *x, const float *w,
                                 float bias, float *y, size_t oh_begin, size_t oh_end, int cip,
                                 int64_t divisor)
{
    int sq = kind == LAM__W_DW && g->kh == g->kw && g->dh == 1 && g->dw == 1 &&
             g->sh == g->sw && (g->sw == 1 || g->sw == 2);
    if (sq && g->kh == 3 && g->sw == 1 && lam__w_finite(w, 9))
        lam__w_dw3(g, x, w, bias, y, oh_begin, oh_end);
    else if (sq && g->kh == 3 && lam__w_finite(w, 9))
        lam__w_dwk(3, 2, g, x, w, bias, y, oh_begin, oh_end);
    else if (sq && g->kh == 5 && g->sw == 1 && lam__w_finite(w, 25))
        lam__w_dwk(5, 1, g, x, w, bias, y, oh_begin, oh_end);
    else if (sq && g->kh == 5 && lam__w_finite(w, 25))
        lam__w_dwk(5, 2, g, x, w, bias, y, oh_begin, oh_end);
    else if (g->kw == 3 && g->dw == 1 && g->sw == 1)
        lam__w_plane(kind, 1, 3, g, x, w, bias, y, oh_begin, oh_end, cip, divisor);
    else if (g->kw == 3 && g->dw == 1 && g->sw == 2)
        lam__w_plane(kind, 2, 3, g, x, w, bias, y, oh_begin, oh_end, cip, divisor);
    else if (g->sw == 1)
        lam__w_plane(kind, 1, 0, g, x, w, bias, y, oh_begin, oh_end, cip, divisor);
    else if (g->sw == 2)
        lam__w_plane(kind, 2, 0, g, x, w, bias, y, oh_begin, oh_end, cip, divisor);
    else
        lam__w_plane(kind, 0, 0, g, x, w, bias, y, oh_begin, oh_end, cip, divisor);
#ifdef LW_SFENCE
    if (g->stream)
        LW_SFENCE(); /* the non-temporal stores, before whoever reads y next */
#endif
}

/* ---- the depthwise convolution of nc channels at once, channels last
 * (dwconv2d_nc) ----
 * Small planes (a 7 x 7 or 14 x 14 plane is one or two vectors a row, the
 * first and last at the edges) waste most lanes plane by plane; here the
 * lanes are L channels of one pixel instead.  Per group of L channels: the
 * input planes are transposed (LW_TRANSPOSE, L x L blocks of L channels by
 * L consecutive pixels) into a zero-padded channels-last block xt (hp x wp
 * pixels of L floats, in the scratch; its border is zeroed once a call and
 * never written), each output pixel is one vector chain over the taps in
 * window order (LAM__W_NC_U pixels at once: independent chains), + bias, and
 * each L outputs are transposed back into the planes.  A lane that meets a
 * zero of the padding adds fmaf(w, 0, acc) = acc (w finite; acc never -0),
 * where the plane kernel skips the tap: the same bits, so a group whose
 * weights are not all finite, the channels past the last whole group, and
 * windows of more than LAM__W_NC_TAPS taps go plane by plane
 * (lam__w_kernel). */
#define LAM__W_NC_TAPS 32

/* One group's outputs, pixels [0, oh ow), KK = kh kw when a compile-time
 * constant (0: from g): L pixels at a time, in chains of LAM__W_NC_U
 * pixels (independent chains, each weight vector loaded once for them),
 * transposed out into the planes. */
#define LAM__W_NC_U (LW_L < 8 ? LW_L : 8)
LAM__W_INLINE void lam__w_nc_group(int KK, const lam__win2d *g, const float *xt, size_t wp,
                                   const LW_V *wv, const ptrdiff_t *toff, LW_V bv, float *y,
                                   size_t ys)
{
    const lam__wi L = LW_L, taps = KK ? KK : (lam__wi)(g->kh * g->kw);
    const size_t ohw = g->oh * g->ow;
    size_t oh = 0, ow = 0; /* the next pixel's */
    LW_V wk[KK ? KK : 1];
    if (KK)
#pragma GCC unroll 25
        for (int t = 0; t < KK; t++)
            wk[t] = wv[t];
    for (size_t p0 = 0; p0 < ohw; p0 += (size_t)L) {
        const size_t n = ohw - p0 < (size_t)L ? ohw - p0 : (size_t)L;
        const float *base[LW_L];
#pragma GCC unroll 16
        for (lam__wi u = 0; u < L; u++) {
            base[u] = xt; /* past the end: computed, not stored */
            if ((size_t)u < n) {
                base[u] = xt + (oh * g->sh * wp + ow * g->sw) * (size_t)L;
                if (++ow == g->ow)
                    ow = 0, oh++;
            }
        }
        LW_V r[LW_L];
#pragma GCC unroll 4
        for (lam__wi q = 0; q < L; q += LAM__W_NC_U) {
            LW_V acc[LAM__W_NC_U];
#pragma GCC unroll 8
            for (int u = 0; u < LAM__W_NC_U; u++)
                acc[u] = LW_SET1(0.0f);
#pragma GCC unroll 25
            for (lam__wi t = 0; t < taps; t++) {
                const LW_V wt = KK ? wk[t] : wv[t];
#pragma GCC unroll 8
                for (int u = 0; u < LAM__W_NC_U; u++)
                    acc[u] = LW_FMA(wt, LW_LD(base[q + u] + toff[t]), acc[u]);
            }
#pragma GCC unroll 8
            for (int u = 0; u < LAM__W_NC_U; u++)
                r[q + u] = LW_ADD(acc[u], bv);
        }
        LW_TRANSPOSE(r); /* r[i]: channel i's pixels p0 .. p0 + L - 1 */
#pragma GCC unroll 16
        for (lam__wi i = 0; i < L; i++) {
            if (n == (size_t)L)
                LW_ST(y + (size_t)i * ys + p0, r[i]);
            else
                LW_STN(y + (size_t)i * ys + p0, r[i], n);
        }
    }
}

LAM__W_INLINE void lam__w_dw_nc(const lam__win2d *g, size_t nc, const float *x, size_t xs,
                                const float *w, const float *bias, float *y, size_t ys,
                                float *scratch)
{
    const lam__wi L = LW_L;
    const size_t taps = g->kh * g->kw, hw = g->h * g->w;
    if (g->oh == 0 || g->ow == 0 || nc == 0)
        return;
    size_t c0 = 0;
    if (taps <= LAM__W_NC_TAPS && nc >= (size_t)L) {
        const size_t hp = (g->oh - 1) * g->sh + (g->kh - 1) * g->dh + 1;
        const size_t wp = (g->ow - 1) * g->sw + (g->kw - 1) * g->dw + 1;
        float *xt = scratch;
        /* the border: padded rows and columns outside the input */
        for (size_t r = 0; r < hp; r++) {
            float *row = xt + r * wp * (size_t)L;
            if (r < g->ph || r >= g->ph + g->h) {
                for (size_t i = 0; i < wp * (size_t)L; i++)
                    row[i] = 0.0f;
                continue;
            }
            for (size_t c = 0; c < wp; c++)
                if (c < g->pw || c >= g->pw + g->w)
                    for (lam__wi i = 0; i < L; i++)
                        row[c * (size_t)L + (size_t)i] = 0.0f;
        }
        ptrdiff_t toff[LAM__W_NC_TAPS];
        for (size_t a = 0; a < g->kh; a++)
            for (size_t b = 0; b < g->kw; b++)
                toff[a * g->kw + b] = (ptrdiff_t)((a * g->dh * wp + b * g->dw) * (size_t)L);
        for (; c0 + (size_t)L <= nc; c0 += (size_t)L) {
            /* the group's weights, tap by tap (transposed L taps at a
             * time), all finite, or plane by plane */
            LW_V wv[LAM__W_NC_TAPS > LW_L ? LAM__W_NC_TAPS + LW_L : 2 * LW_L];
            if (!lam__w_finite(w + c0 * taps, (int)(taps * (size_t)L))) {
                for (size_t c = c0; c < c0 + (size_t)L; c++)
                    lam__w_kernel(LAM__W_DW, g, x + c * xs, w + c * taps, bias ? bias[c] : 0.0f,
                                  y + c * ys, 0, g->oh, 0, 0);
                continue;
            }
            for (size_t t0 = 0; t0 < taps; t0 += (size_t)L) {
                const size_t n = taps - t0 < (size_t)L ? taps - t0 : (size_t)L;
                for (lam__wi i = 0; i < L; i++) {
                    const float *wi = w + (c0 + (size_t)i) * taps + t0;
                    wv[t0 + (size_t)i] = n == (size_t)L ? LW_LD(wi) : LW_LDN(wi, n);
                }
                LW_TRANSPOSE(wv + t0);
            }
            /* the planes into xt: L pixels of the flattened plane a block */
            size_t ih = 0, iw = 0;
            for (size_t p0 = 0; p0 < hw; p0 += (size_t)L) {
                const size_t n = hw - p0 < (size_t)L ? hw - p0 : (size_t)L;
                LW_V r[LW_L];
                for (lam__wi i = 0; i < L; i++)
                    r[i] = n == (size_t)L ? LW_LD(x + (c0 + (size_t)i) * xs + p0)
                                          : LW_LDN(x + (c0 + (size_t)i) * xs + p0, n);
                LW_TRANSPOSE(r); /* r[j]: pixel p0 + j's L channels */
                for (size_t j = 0; j < n; j++) {
                    if (ih + g->ph < hp && iw + g->pw < wp)
                        LW_ST(xt + ((ih + g->ph) * wp + iw + g->pw) * (size_t)L, r[j]);
                    if (++iw == g->w)
                        iw = 0, ih++;
                }
            }
            /* while this group computes: the next group's input lines,
             * and this group's output lines for writing (16 planes at
             * once are more streams than the hardware prefetcher follows) */
            if (c0 + 2 * (size_t)L <= nc)
                for (lam__wi i = 0; i < L; i++)
                    for (size_t o = 0; o < hw; o += 16)
                        __builtin_prefetch(x + (c0 + (size_t)L + (size_t)i) * xs + o, 0, 3);
            for (lam__wi i = 0; i < L; i++)
                for (size_t o = 0; o < g->oh * g->ow; o += 16)
                    __builtin_prefetch(y + (c0 + (size_t)i) * ys + o, 1, 3);
            const LW_V bv = bias ? LW_LD(bias + c0) : LW_SET1(0.0f);
            if (taps == 9)
                lam__w_nc_group(9, g, xt, wp, wv, toff, bv, y + c0 * ys, ys);
            else if (taps == 25)
                lam__w_nc_group(25, g, xt, wp, wv, toff, bv, y + c0 * ys, ys);
            else
                lam__w_nc_group(0, g, xt, wp, wv, toff, bv, y + c0 * ys, ys);
        }
    }
    for (; c0 < nc; c0++) /* the rest, plane by plane */
        lam__w_kernel(LAM__W_DW, g, x + c0 * xs, w + c0 * taps, bias ? bias[c0] : 0.0f,
                      y + c0 * ys, 0, g->oh, 0, 0);
}

/* The adaptive pools: where the output divides the input (every window
 * k = in / out wide at stride k, no overlap), the window path of
 * maxpool2d, or of the average with PyTorch's two divisions; otherwise
 * (windows of two widths, overlapping) one output at a time. */
LAM__W_INLINE void lam__w_adaptive(int max, const lam__win2d *g, const float *x, float *y,
                                   size_t oh_begin, size_t oh_end)
{
    if (g->oh && g->ow && g->h % g->oh == 0 && g->w % g->ow == 0) {
        size_t kh = g->h / g->oh, kw = g->w / g->ow;
        lam__win2d u = {.h = g->h, .w = g->w, .oh = g->oh, .ow = g->ow, .kh = kh, .kw = kw,
                        .sh = kh, .sw = kw, .dh = 1, .dw = 1, .ph = 0, .pw = 0};
        lam__w_kernel(max ? LAM__W_MAX : LAM__W_AAVG, &u, x, NULL, 0.0f, y, oh_begin, oh_end, 0,
                      0);
    } else {
        lam__w_adaptive_scalar(max, g, x, y, oh_begin, oh_end);
    }
}

#endif /* LAM__W_SCALAR */
#endif
