/* f32 lrn (LocalResponseNorm), avx512: 16 positions of a channel at a time
 * (contiguous in NCHW), as two zmm of float64: the window's squares summed
 * with fmadd in channel order (each square exact: the scalar twin's s), d =
 * fmadd(s, alpha / size, k), pow(d, -beta) by Sleef_powd8_u10avx512f, x pow
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

static inline __attribute__((always_inline)) void ld16(const float *p, __mmask16 m, __m512d *a,
                                                       __m512d *b)
{
    __m512 v = m == 0xffff ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p);
    *a = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    *b = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

/* positions [i, i + 16) of channel c, lanes m */
static inline __attribute__((always_inline)) void block16(const float *x, float *y, size_t S,
                                                          size_t c, size_t c0, size_t c1, size_t i,
                                                          __mmask16 m, __m512d q, __m512d k,
                                                          __m512d nb, int b34)
{
    __m512d sa = _mm512_setzero_pd(), sb = sa, va, vb;
    for (size_t j = c0; j <= c1; j++) {
        ld16(x + j * S + i, m, &va, &vb);
        sa = _mm512_fmadd_pd(va, va, sa);
        sb = _mm512_fmadd_pd(vb, vb, sb);
    }
    __m512d da = _mm512_fmadd_pd(sa, q, k), db = _mm512_fmadd_pd(sb, q, k);
    ld16(x + c * S + i, m, &va, &vb);
    __m256 ra, rb;
    if (b34) {
        __m512d qa = _mm512_sqrt_pd(da), qb = _mm512_sqrt_pd(db);
        ra = _mm512_cvtpd_ps(_mm512_div_pd(va, _mm512_mul_pd(qa, _mm512_sqrt_pd(qa))));
        rb = _mm512_cvtpd_ps(_mm512_div_pd(vb, _mm512_mul_pd(qb, _mm512_sqrt_pd(qb))));
    } else {
        ra = _mm512_cvtpd_ps(_mm512_mul_pd(va, Sleef_powd8_u10avx512f(da, nb)));
        rb = _mm512_cvtpd_ps(_mm512_mul_pd(vb, Sleef_powd8_u10avx512f(db, nb)));
    }
    __m512 r = _mm512_insertf32x8(_mm512_castps256_ps512(ra), rb, 1);
    if (m == 0xffff)
        _mm512_storeu_ps(y + c * S + i, r);
    else
        _mm512_mask_storeu_ps(y + c * S + i, m, r);
}

void lam__f32_lrn_avx512(size_t C, size_t S, const float *x, float *y, size_t size, double alpha,
                         double beta, double k, size_t p_begin, size_t p_end)
{
    const __m512d vq = _mm512_set1_pd(alpha / (double)size), vk = _mm512_set1_pd(k),
                  nb = _mm512_set1_pd(-beta);
    const size_t before = size / 2, after = (size - 1) / 2;
    const int b34 = beta == 0.75;
    for (size_t c = 0; c < C; c++) {
        size_t c0 = c < before ? 0 : c - before;
        size_t c1 = c + after >= C ? C - 1 : c + after;
        size_t i = p_begin;
        for (; i + 16 <= p_end; i += 16)
            block16(x, y, S, c, c0, c1, i, 0xffff, vq, vk, nb, b34);
        if (i < p_end)
            block16(x, y, S, c, c0, c1, i, (__mmask16)((1u << (p_end - i)) - 1u), vq, vk, nb,
                    b34);
    }
}
