/* f32 GEMM tile, NEON (AArch64): 6 rows x 16 columns (one panel), the
 * microkernel of the NEON descriptor (f32-gemm-neon.c; contract and
 * blocking in simd/gemm/gemm-ukernel.h and f32-gemm-driver.c).
 *
 * 24 q-register accumulators (6 rows x 4 quarters of 16 columns): per k, 4
 * loads of W, one 4-float and one 2-float load of x, 24 vfmaq_laneq.  It
 * loads all 6 packed x values per k (rows past mr are loaded, never used).  Column tails compute the full panel and store
 * through a buffer (gemm-epilogue-neon.c).  Accuracy: one fused chain per
 * output (gemm-ukernel.h), then the activation's error (vmath-neon.h). */
#include "config.h"

#include "simd/gemm/gemm-ukernel.h"
#include "simd/arm/neon/gemm-neon.h"

#define LAM__MR 6

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

void lam__f32_gemm_6x16_neon(size_t mr, size_t kc, const float *a, const float *b,
                             const float *pf, float *y, size_t ldy, size_t lo, size_t hi,
                             int flags, const float *bias, lam__epilogue ep)
{
    const int first = flags & LAM__GEMM_FIRST, last = (flags & LAM__GEMM_LAST) != 0;
    (void)pf;
    switch (mr) {
#define LAM__CASE(n) \
    case n: lam__tile_neon(n, kc, a, b, y, ldy, lo, hi, first, last, bias, ep); break;
    LAM__CASE(1) LAM__CASE(2) LAM__CASE(3) LAM__CASE(4) LAM__CASE(5) LAM__CASE(6)
#undef LAM__CASE
    default: break;
    }
}
