/* f32 GEMM, NEON (AArch64), 6x16 microkernel: y = act(x . W^T + bias).
 *
 * Contract: as kernels.h and f32-gemm-6x16-avx2.c: any M, N, K (K = 0 gives
 * act(bias)); columns [n_begin, n_end) of every row; strides ldx, ldy in
 * floats; no alignment needed; bias may be NULL; y must not overlap x, W
 * or bias (K blocks keep partial sums in y); rows M <= 2 take the GEMV
 * path (f32-gemv-4p-neon.c); bit-identical results whatever the path, M or
 * column range.  Accuracy: the FMA chain's rounding, |err| <= K eps sum |x w|,
 * plus the activation's (vmath-neon.h).
 *
 * Blocking as the AVX2 kernel (KC = 256, MC = 96, 6-row x micro-panels on
 * the stack).  The microkernel keeps 24 q-register accumulators (6 rows x 4
 * quarters of 16 columns): per k, 4 loads of W, one 4-float and one 2-float
 * load of x, 24 vfmaq_laneq. */
#include "config.h"

#include "simd/arm/neon/gemm-neon.h"

#define LAM__KC 256
#define LAM__MC 96
#define LAM__MR 6

static void lam__pack_a_neon(int mr, size_t kc, const float *x, size_t ldx, float *a)
{
    for (size_t k = 0; k < kc; k++, a += LAM__MR) {
        int i = 0;
        for (; i < mr; i++)
            a[i] = x[i * ldx + k];
        for (; i < LAM__MR; i++)
            a[i] = 0.0f; /* the microkernel loads all 6 */
    }
}

#define LAM__ROW(i, fma, av, lane)                \
    if (mr > i) {                                 \
        c##i##0 = fma(c##i##0, b0, av, lane);     \
        c##i##1 = fma(c##i##1, b1, av, lane);     \
        c##i##2 = fma(c##i##2, b2, av, lane);     \
        c##i##3 = fma(c##i##3, b3, av, lane);     \
    }
#define LAM__IN(i)                                                                        \
    float32x4_t c##i##0 = mr > i ? c[4 * i] : vdupq_n_f32(0.0f),                          \
                c##i##1 = mr > i ? c[4 * i + 1] : vdupq_n_f32(0.0f),                      \
                c##i##2 = mr > i ? c[4 * i + 2] : vdupq_n_f32(0.0f),                      \
                c##i##3 = mr > i ? c[4 * i + 3] : vdupq_n_f32(0.0f);
#define LAM__OUT(i)                                                        \
    if (mr > i) {                                                          \
        c[4 * i] = c##i##0, c[4 * i + 1] = c##i##1, c[4 * i + 2] = c##i##2; \
        c[4 * i + 3] = c##i##3;                                            \
    }

/* Named locals, not an array: the tile array escapes to the epilogue. */
LAM__INLINE void lam__ukr_neon(const int mr, size_t kc, const float *a, const float *b,
                               float32x4_t *c)
{
    LAM__IN(0) LAM__IN(1) LAM__IN(2) LAM__IN(3) LAM__IN(4) LAM__IN(5)
#pragma GCC unroll 2
    for (size_t k = 0; k < kc; k++) {
        const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8),
                          b3 = vld1q_f32(b + 12);
        const float32x4_t a03 = vld1q_f32(a);
        const float32x2_t a45 = vld1_f32(a + 4);
        LAM__ROW(0, vfmaq_laneq_f32, a03, 0) LAM__ROW(1, vfmaq_laneq_f32, a03, 1)
        LAM__ROW(2, vfmaq_laneq_f32, a03, 2) LAM__ROW(3, vfmaq_laneq_f32, a03, 3)
        LAM__ROW(4, vfmaq_lane_f32, a45, 0) LAM__ROW(5, vfmaq_lane_f32, a45, 1)
        a += LAM__MR;
        b += LAM__GEMM_NR;
    }
    LAM__OUT(0) LAM__OUT(1) LAM__OUT(2) LAM__OUT(3) LAM__OUT(4) LAM__OUT(5)
}
#undef LAM__ROW
#undef LAM__IN
#undef LAM__OUT

LAM__INLINE void lam__tile_neon(const int mr, size_t kc, const float *a, const float *b, float *y,
                                size_t ldy, size_t lo, size_t hi, int first, int last,
                                const float *bias, lam__epilogue ep)
{
    float32x4_t c[4 * LAM__MR];
    if (first)
        for (int i = 0; i < 4 * mr; i++)
            c[i] = vdupq_n_f32(0.0f);
    else
        lam__gemm_load_tile_neon(mr, c, y, ldy, lo, hi);
    lam__ukr_neon(mr, kc, a, b, c);
    lam__gemm_store_tile_neon(mr, c, y, ldy, lo, hi, last, bias, ep);
}

static void lam__tile_any_neon(int mr, size_t kc, const float *a, const float *b, float *y,
                               size_t ldy, size_t lo, size_t hi, int first, int last,
                               const float *bias, lam__epilogue ep)
{
    switch (mr) {
    case 1: lam__tile_neon(1, kc, a, b, y, ldy, lo, hi, first, last, bias, ep); break;
    case 2: lam__tile_neon(2, kc, a, b, y, ldy, lo, hi, first, last, bias, ep); break;
    case 3: lam__tile_neon(3, kc, a, b, y, ldy, lo, hi, first, last, bias, ep); break;
    case 4: lam__tile_neon(4, kc, a, b, y, ldy, lo, hi, first, last, bias, ep); break;
    case 5: lam__tile_neon(5, kc, a, b, y, ldy, lo, hi, first, last, bias, ep); break;
    default: lam__tile_neon(6, kc, a, b, y, ldy, lo, hi, first, last, bias, ep); break;
    }
}

void lam__f32_gemm_neon(size_t M, size_t N, size_t K, const float *x, size_t ldx,
                        const float *packed, const float *bias, float *y, size_t ldy,
                        lam__epilogue ep, size_t n_begin, size_t n_end)
{
    (void)N;
    if (M == 0 || n_begin >= n_end)
        return;
    if (M <= 2) {
        lam__f32_gemv_neon(M, K, x, ldx, packed, bias, y, ldy, ep, n_begin, n_end);
        return;
    }
    float abuf[LAM__MC * LAM__KC] __attribute__((aligned(64)));
    const size_t p_begin = n_begin / LAM__GEMM_NR, p_end = (n_end + LAM__GEMM_NR - 1) / LAM__GEMM_NR;
    size_t pc = 0;
    do {
        const size_t kc = K - pc < LAM__KC ? K - pc : LAM__KC;
        const int first = pc == 0, last = pc + kc >= K;
        for (size_t ic = 0; ic < M; ic += LAM__MC) {
            const size_t mc = M - ic < LAM__MC ? M - ic : LAM__MC;
            for (size_t ir = 0; ir < mc; ir += LAM__MR) {
                const int mr = mc - ir < LAM__MR ? (int)(mc - ir) : LAM__MR;
                lam__pack_a_neon(mr, kc, x + (ic + ir) * ldx + pc, ldx, abuf + ir * kc);
            }
            for (size_t p = p_begin; p < p_end; p++) {
                const size_t n0 = p * LAM__GEMM_NR;
                const size_t lo = n_begin > n0 ? n_begin - n0 : 0;
                const size_t hi = n_end - n0 < LAM__GEMM_NR ? n_end - n0 : LAM__GEMM_NR;
                const float *b = packed + n0 * K + pc * LAM__GEMM_NR;
                const float *bp = bias ? bias + n0 : NULL;
                float *yp = y + ic * ldy + n0;
                size_t ir = 0;
                for (; ir + LAM__MR <= mc; ir += LAM__MR)
                    lam__tile_neon(LAM__MR, kc, abuf + ir * kc, b, yp + ir * ldy, ldy, lo, hi,
                                   first, last, bp, ep);
                if (ir < mc)
                    lam__tile_any_neon((int)(mc - ir), kc, abuf + ir * kc, b, yp + ir * ldy, ldy,
                                       lo, hi, first, last, bp, ep);
            }
        }
        pc += kc;
    } while (pc < K);
}
