/* AVX-512 primitives of the window kernels' shared body
 * (simd/window/window-impl.h): 16 lanes, masked loads and stores for the
 * tails (never touching memory outside the lanes' own floats), a
 * two-register permute for stride 2, a masked gather otherwise.  Only for
 * files built with the AVX-512 flags. */
#ifndef LAMINA_SIMD_X86_AVX512_VWIN_AVX512_H
#define LAMINA_SIMD_X86_AVX512_VWIN_AVX512_H

#include <immintrin.h>
#include <stddef.h>

#define LW_V __m512
#define LW_L 16
#define LAM__WV static inline __attribute__((always_inline))

LAM__WV __mmask16 lam__w_mask512(size_t n) { return (__mmask16)((1u << n) - 1u); }
/* the even floats of a and b, in order */
LAM__WV __m512 lam__w_even512(__m512 a, __m512 b)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(a, even, b);
}
LAM__WV __m512 lam__w_lds2_512(const float *p)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_loadu_ps(p + 16));
}
/* n lanes (n <= 16) from p[0, 2n - 1); n = 0 reads nothing */
LAM__WV __m512 lam__w_lds2n_512(const float *p, size_t n)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    if (n == 0)
        return _mm512_setzero_ps();
    size_t m = 2 * n - 1; /* floats to read, <= 31 */
    __m512 a = _mm512_maskz_loadu_ps(lam__w_mask512(m < 16 ? m : 16), p);
    __m512 b = m > 16 ? _mm512_maskz_loadu_ps(lam__w_mask512(m - 16), p + 16) : _mm512_setzero_ps();
    return _mm512_permutex2var_ps(a, even, b);
}
LAM__WV __m512 lam__w_ldsg_512(const float *p, ptrdiff_t s, size_t n)
{
    __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                     _mm512_set1_epi32((int)s));
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lam__w_mask512(n), idx, p, 4);
}
/* v where v > m or v is NaN, else m (PyTorch's max-pool rule) */
LAM__WV __m512 lam__w_maxnan512(__m512 m, __m512 v)
{
    __mmask16 k = _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    return _mm512_mask_mov_ps(m, k, v);
}

/* r[0..16) transposed in place: lane j of r[i] <-> lane i of r[j] */
LAM__WV void lam__w_tr512(__m512 *r)
{
    __m512 t[16];
#pragma GCC unroll 16
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 16
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
#pragma GCC unroll 16
    for (int h = 0; h < 2; h++)
#pragma GCC unroll 16
        for (int i = 0; i < 4; i++) {
            t[8 * h + i] = _mm512_shuffle_f32x4(r[8 * h + i], r[8 * h + 4 + i], 0x88);
            t[8 * h + 4 + i] = _mm512_shuffle_f32x4(r[8 * h + i], r[8 * h + 4 + i], 0xDD);
        }
#pragma GCC unroll 16
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
        r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xDD);
    }
}

#define LW_LD(p) _mm512_loadu_ps(p)
#define LW_LDN(p, n) _mm512_maskz_loadu_ps(lam__w_mask512(n), (p))
#define LW_LDR(p, a, e) _mm512_maskz_loadu_ps(lam__w_mask512(e) & ~lam__w_mask512(a), (p))
#define LW_LDS2(p) lam__w_lds2_512(p)
#define LW_EVEN(a, b) lam__w_even512((a), (b))
#define LW_LDS2N(p, n) lam__w_lds2n_512((p), (n))
#define LW_LDSG(p, s, n) lam__w_ldsg_512((p), (s), (size_t)(n))
#define LW_ST(p, v) _mm512_storeu_ps((p), (v))
#define LW_STNT(p, v) _mm512_stream_ps((p), (v))
#define LW_SFENCE() _mm_sfence()
#define LW_STN(p, v, n) _mm512_mask_storeu_ps((p), lam__w_mask512(n), (v))
#define LW_SET1(f) _mm512_set1_ps(f)
#define LW_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define LW_ADD(a, b) _mm512_add_ps((a), (b))
#define LW_DIV(a, b) _mm512_div_ps((a), (b))
#define LW_MAXNAN(m, v) lam__w_maxnan512((m), (v))
#define LW_TRANSPOSE(r) lam__w_tr512(r)

/* keep a loaded vector in a register (the compiler would fold it into
 * every FMA that uses it: one load per use) */
#define LW_PIN(v) __asm__("" : "+v"(v))

#endif
