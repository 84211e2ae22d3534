/* f32 GEMM for M <= 2 rows, NEON (AArch64): the GEMV path.
 *
 * Contract: as lam__f32_gemm_neon, for M in {1, 2}; x read in place, packed W
 * streamed once.  One row: 2 panels (32 columns, 8 q accumulators) per
 * pass; two rows: 1 panel x 2 rows.  Each y element is the in-order fused
 * chain of the blocked path, so the results are bit-identical to it. */
#include "config.h"

#include "simd/arm/neon/gemm-neon.h"

LAM__INLINE void lam__gemv_run_neon(const int mr, const int np, size_t K, const float *x,
                                    size_t ldx, const float *packed, size_t p0, const float *bias,
                                    float *y, size_t ldy, lam__epilogue ep, size_t n_begin,
                                    size_t n_end)
{
    const float32x4_t z = vdupq_n_f32(0.0f);
    float32x4_t c0 = z, c1 = z, c2 = z, c3 = z, c4 = z, c5 = z, c6 = z, c7 = z;
    const size_t ps = K * LAM__GEMM_NR;
    const float *b = packed + p0 * ps, *x1 = x + ldx;
    for (size_t k = 0; k < K; k++, b += LAM__GEMM_NR) {
        const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8),
                          b3 = vld1q_f32(b + 12);
        const float a0 = x[k];
        c0 = vfmaq_n_f32(c0, b0, a0);
        c1 = vfmaq_n_f32(c1, b1, a0);
        c2 = vfmaq_n_f32(c2, b2, a0);
        c3 = vfmaq_n_f32(c3, b3, a0);
        if (mr == 2) {
            const float a1 = x1[k];
            c4 = vfmaq_n_f32(c4, b0, a1);
            c5 = vfmaq_n_f32(c5, b1, a1);
            c6 = vfmaq_n_f32(c6, b2, a1);
            c7 = vfmaq_n_f32(c7, b3, a1);
        } else if (np == 2) {
            c4 = vfmaq_n_f32(c4, vld1q_f32(b + ps), a0);
            c5 = vfmaq_n_f32(c5, vld1q_f32(b + ps + 4), a0);
            c6 = vfmaq_n_f32(c6, vld1q_f32(b + ps + 8), a0);
            c7 = vfmaq_n_f32(c7, vld1q_f32(b + ps + 12), a0);
        }
    }
    float32x4_t t[2][4] = {{c0, c1, c2, c3}, {c4, c5, c6, c7}};
    for (int s = 0; s < (mr == 2 ? 2 : np); s++) {
        const size_t p = p0 + (mr == 2 ? 0 : (size_t)s);
        const size_t n0 = p * LAM__GEMM_NR;
        const size_t lo = n_begin > n0 ? n_begin - n0 : 0;
        const size_t hi = n_end - n0 < LAM__GEMM_NR ? n_end - n0 : LAM__GEMM_NR;
        float *yr = y + (mr == 2 ? (size_t)s * ldy : 0) + n0;
        lam__gemm_store_tile_neon(1, t[s], yr, ldy, lo, hi, 1, bias ? bias + n0 : NULL, ep);
    }
}

void lam__f32_gemv_neon(size_t M, size_t K, const float *x, size_t ldx, const float *packed,
                        const float *bias, float *y, size_t ldy, lam__epilogue ep, size_t n_begin,
                        size_t n_end)
{
    const size_t p_begin = n_begin / LAM__GEMM_NR, p_end = (n_end + LAM__GEMM_NR - 1) / LAM__GEMM_NR;
    size_t p = p_begin;
    if (M == 1) {
        for (; p + 2 <= p_end; p += 2)
            lam__gemv_run_neon(1, 2, K, x, ldx, packed, p, bias, y, ldy, ep, n_begin, n_end);
        if (p < p_end)
            lam__gemv_run_neon(1, 1, K, x, ldx, packed, p, bias, y, ldy, ep, n_begin, n_end);
    } else {
        for (; p < p_end; p++)
            lam__gemv_run_neon(2, 1, K, x, ldx, packed, p, bias, y, ldy, ep, n_begin, n_end);
    }
}
