/* f32 lrn (LocalResponseNorm), avx2: 8 positions of a channel at a time
 * (contiguous in NCHW), as two ymm of float64: the window's squares summed
 * with fmadd in channel order (each square exact: the scalar twin's s), d =
 * fmadd(s, alpha / size, k), pow(d, -beta) by Sleef_powd4_u10avx2, x pow
 * rounded once by cvtpd_ps; beta = 0.75 (PyTorch's default) as x / (sqrt(d)
 * sqrt(sqrt(d))), IEEE operations: the scalar twin's bits.  The last block
 * of a channel is masked (loads and stores touch only positions < p_end).
 *
 * Contract: LAM_CHANNEL_KERNELS (simd/kernel-list.h).
 * Accuracy: <= 1 ULP of the exact value, and of the scalar twin (same s and
 * d; only pow differs: SLEEF u10, <= 1 ULP of float64); beta = 0.75: the
 * scalar twin's bits. */
#include "config.h"

#include <immintrin.h>
#include <sleef.h>

#include "simd/simd.h"

/* lanes [0, n) of 4 floats set, n in [0, 4] */
static inline __m128i mask4(ptrdiff_t n)
{
    return _mm_cmpgt_epi32(_mm_set1_epi32((int)n), _mm_setr_epi32(0, 1, 2, 3));
}

static inline __attribute__((always_inline)) __m256d ld4(const float *p, int full, __m128i m)
{
    return _mm256_cvtps_pd(full ? _mm_loadu_ps(p) : _mm_maskload_ps(p, m));
}

/* positions [i, i + 8) of channel c (n of them: 8 when full) */
static inline __attribute__((always_inline)) void block8(const float *x, float *y, size_t S,
                                                         size_t c, size_t c0, size_t c1, size_t i,
                                                         int full, ptrdiff_t n, __m256d q,
                                                         __m256d k, __m256d nb, int b34)
{
    __m128i ma = mask4(n), mb = mask4(n - 4);
    __m256d sa = _mm256_setzero_pd(), sb = sa;
    for (size_t j = c0; j <= c1; j++) {
        const float *p = x + j * S + i;
        __m256d va = ld4(p, full, ma), vb = ld4(p + 4, full, mb);
        sa = _mm256_fmadd_pd(va, va, sa);
        sb = _mm256_fmadd_pd(vb, vb, sb);
    }
    __m256d da = _mm256_fmadd_pd(sa, q, k), db = _mm256_fmadd_pd(sb, q, k);
    const float *xc = x + c * S + i;
    __m256d xa = ld4(xc, full, ma), xb = ld4(xc + 4, full, mb);
    __m128 ra, rb;
    if (b34) {
        __m256d qa = _mm256_sqrt_pd(da), qb = _mm256_sqrt_pd(db);
        ra = _mm256_cvtpd_ps(_mm256_div_pd(xa, _mm256_mul_pd(qa, _mm256_sqrt_pd(qa))));
        rb = _mm256_cvtpd_ps(_mm256_div_pd(xb, _mm256_mul_pd(qb, _mm256_sqrt_pd(qb))));
    } else {
        ra = _mm256_cvtpd_ps(_mm256_mul_pd(xa, Sleef_powd4_u10avx2(da, nb)));
        rb = _mm256_cvtpd_ps(_mm256_mul_pd(xb, Sleef_powd4_u10avx2(db, nb)));
    }
    float *yc = y + c * S + i;
    if (full) {
        _mm_storeu_ps(yc, ra);
        _mm_storeu_ps(yc + 4, rb);
    } else {
        _mm_maskstore_ps(yc, ma, ra);
        _mm_maskstore_ps(yc + 4, mb, rb);
    }
}

void lam__f32_lrn_avx2(size_t C, size_t S, const float *x, float *y, size_t size, double alpha,
                       double beta, double k, size_t p_begin, size_t p_end)
{
    const __m256d vq = _mm256_set1_pd(alpha / (double)size), vk = _mm256_set1_pd(k),
                  nb = _mm256_set1_pd(-beta);
    const size_t before = size / 2, after = (size - 1) / 2;
    const int b34 = beta == 0.75;
    for (size_t c = 0; c < C; c++) {
        size_t c0 = c < before ? 0 : c - before;
        size_t c1 = c + after >= C ? C - 1 : c + after;
        size_t i = p_begin;
        for (; i + 8 <= p_end; i += 8)
            block8(x, y, S, c, c0, c1, i, 1, 8, vq, vk, nb, b34);
        if (i < p_end)
            block8(x, y, S, c, c0, c1, i, 0, (ptrdiff_t)(p_end - i), vq, vk, nb, b34);
    }
}
