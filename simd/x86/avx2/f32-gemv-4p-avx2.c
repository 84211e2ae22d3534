/* f32 GEMM for M <= 2 rows (batch 1 and 2), AVX2+FMA: the GEMV path.
 *
 * Contract: as lam__f32_gemm_avx2 (kernels.h), for M in {1, 2}.  Nothing is
 * packed or buffered: x rows are read in place and the packed W streams
 * through once (this is bandwidth-bound: W comes from L2/L3 or memory).
 * One row: 4 panels (64 columns, 8 accumulators) per pass, so 8 independent
 * FMA chains hide the FMA latency and 4 W streams keep the prefetchers busy.
 * Two rows: 2 panels x 2 rows (8 accumulators) per pass, each W load used
 * twice.  Each y element is the same in-order FMA chain as in the blocked
 * path (gemm-avx2.h), so results are bit-identical to it.
 * Accuracy: as lam__f32_gemm_avx2. */
#include "config.h"

#include "simd/x86/avx2/gemm-avx2.h"

/* np panels (np <= 4) x mr rows (mr * np <= 4), chains over all K.  Named
 * locals, not an array, keep the accumulators in registers (c escapes). */
LAM__INLINE void lam__gemv_block_avx2(const int mr, const int np, size_t K, const float *x,
                                      size_t ldx, const float *b, __m256 c[4][2])
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
           c30 = c00, c31 = c00;
    const size_t ps = K * LAM__GEMM_NR;
    const float *x1 = x + ldx;
#pragma GCC unroll 2
    for (size_t k = 0; k < K; k++, b += LAM__GEMM_NR) {
        /* W streams from L3 or memory: one line per panel per k, 16 k ahead */
        if (mr == 1 && np == 4) {
            _mm_prefetch((const char *)(b + 256), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + ps + 256), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + 2 * ps + 256), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + 3 * ps + 256), _MM_HINT_T0);
        }
        const __m256 a0 = _mm256_broadcast_ss(x + k);
        const __m256 b00 = _mm256_loadu_ps(b), b01 = _mm256_loadu_ps(b + 8);
        c00 = _mm256_fmadd_ps(a0, b00, c00);
        c01 = _mm256_fmadd_ps(a0, b01, c01);
        if (mr == 1) {
            if (np > 1) {
                c10 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(b + ps), c10);
                c11 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(b + ps + 8), c11);
            }
            if (np > 2) {
                c20 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(b + 2 * ps), c20);
                c21 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(b + 2 * ps + 8), c21);
            }
            if (np > 3) {
                c30 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(b + 3 * ps), c30);
                c31 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(b + 3 * ps + 8), c31);
            }
        } else { /* rows 0, 1 x panels 0 (c0*, c2*) and 1 (c1*, c3*) */
            const __m256 a1 = _mm256_broadcast_ss(x1 + k);
            c20 = _mm256_fmadd_ps(a1, b00, c20);
            c21 = _mm256_fmadd_ps(a1, b01, c21);
            if (np > 1) {
                const __m256 b10 = _mm256_loadu_ps(b + ps), b11 = _mm256_loadu_ps(b + ps + 8);
                c10 = _mm256_fmadd_ps(a0, b10, c10);
                c11 = _mm256_fmadd_ps(a0, b11, c11);
                c30 = _mm256_fmadd_ps(a1, b10, c30);
                c31 = _mm256_fmadd_ps(a1, b11, c31);
            }
        }
    }
    /* c[r * np + p]: row r, panel p */
    if (mr == 1) {
        c[0][0] = c00, c[0][1] = c01, c[1][0] = c10, c[1][1] = c11;
        c[2][0] = c20, c[2][1] = c21, c[3][0] = c30, c[3][1] = c31;
    } else if (np == 2) {
        c[0][0] = c00, c[0][1] = c01, c[1][0] = c10, c[1][1] = c11;
        c[2][0] = c20, c[2][1] = c21, c[3][0] = c30, c[3][1] = c31;
    } else {
        c[0][0] = c00, c[0][1] = c01, c[1][0] = c20, c[1][1] = c21;
    }
}

/* Run and store np panels starting at panel p0 for rows [0, mr). */
LAM__INLINE void lam__gemv_run_avx2(const int mr, const int np, size_t K, const float *x,
                                    size_t ldx, const float *packed, size_t p0, const float *bias,
                                    float *y, size_t ldy, lam__epilogue ep, size_t n_begin,
                                    size_t n_end)
{
    __m256 c[4][2];
    lam__gemv_block_avx2(mr, np, K, x, ldx, packed + p0 * LAM__GEMM_NR * K, c);
    const int simple = ep.act == LAM_ACTIVATION_IDENTITY || ep.act == LAM_ACTIVATION_RELU;
    for (int p = 0; p < np; p++) {
        const size_t n0 = (p0 + p) * LAM__GEMM_NR;
        const size_t lo = n_begin > n0 ? n_begin - n0 : 0;
        const size_t hi = n_end - n0 < LAM__GEMM_NR ? n_end - n0 : LAM__GEMM_NR;
        const float *bp = bias ? bias + n0 : NULL;
        for (int r = 0; r < mr; r++) {
            float *yp = y + r * ldy + n0;
            if (simple && lo == 0 && hi == LAM__GEMM_NR) {
                /* batch-1 fast path (tiny layers): no call, same arithmetic */
                __m256 v0 = c[r * np + p][0], v1 = c[r * np + p][1];
                if (bp) {
                    v0 = _mm256_add_ps(v0, _mm256_loadu_ps(bp));
                    v1 = _mm256_add_ps(v1, _mm256_loadu_ps(bp + 8));
                }
                if (ep.act == LAM_ACTIVATION_RELU) {
                    v0 = lam__v_relu(v0);
                    v1 = lam__v_relu(v1);
                }
                _mm256_storeu_ps(yp, v0);
                _mm256_storeu_ps(yp + 8, v1);
            } else {
                lam__gemm_store_tile_avx2(1, c[r * np + p], yp, ldy, lo, hi, 1, bp, ep);
            }
        }
    }
}

void lam__f32_gemv_avx2(size_t M, size_t K, const float *x, size_t ldx, const float *packed,
                        const float *bias, float *y, size_t ldy, lam__epilogue ep, size_t n_begin,
                        size_t n_end)
{
    const size_t p_begin = n_begin / LAM__GEMM_NR, p_end = (n_end + LAM__GEMM_NR - 1) / LAM__GEMM_NR;
    size_t p = p_begin;
    if (M == 1) {
        for (; p + 4 <= p_end; p += 4)
            lam__gemv_run_avx2(1, 4, K, x, ldx, packed, p, bias, y, ldy, ep, n_begin, n_end);
        switch (p_end - p) {
        case 3: lam__gemv_run_avx2(1, 3, K, x, ldx, packed, p, bias, y, ldy, ep, n_begin, n_end); break;
        case 2: lam__gemv_run_avx2(1, 2, K, x, ldx, packed, p, bias, y, ldy, ep, n_begin, n_end); break;
        case 1: lam__gemv_run_avx2(1, 1, K, x, ldx, packed, p, bias, y, ldy, ep, n_begin, n_end); break;
        default: break;
        }
    } else {
        for (; p + 2 <= p_end; p += 2)
            lam__gemv_run_avx2(2, 2, K, x, ldx, packed, p, bias, y, ldy, ep, n_begin, n_end);
        if (p < p_end)
            lam__gemv_run_avx2(2, 1, K, x, ldx, packed, p, bias, y, ldy, ep, n_begin, n_end);
    }
}
