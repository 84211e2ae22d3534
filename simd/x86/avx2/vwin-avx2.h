/* AVX2+FMA primitives of the window kernels' shared body
 * (simd/window/window-impl.h): 8 lanes, maskload/maskstore for the tails
 * (never touching memory outside the lanes' own floats), a shuffle and a
 * cross-lane permute for stride 2, a masked gather otherwise.  Only for
 * files built with -mavx2 -mfma. */
#ifndef LAMINA_SIMD_X86_AVX2_VWIN_AVX2_H
#define LAMINA_SIMD_X86_AVX2_VWIN_AVX2_H

#include <immintrin.h>
#include <stddef.h>

#define LW_V __m256
#define LW_L 8
#define LAM__WV static inline __attribute__((always_inline))

/* lanes [0, n) set, n in [0, 8] */
LAM__WV __m256i lam__w_mask256(size_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
/* the even floats of a and b, in order */
LAM__WV __m256 lam__w_even256(__m256 a, __m256 b)
{
    __m256 t = _mm256_shuffle_ps(a, b, 0x88); /* a0 a2 b0 b2 | a4 a6 b4 b6 */
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), 0xD8));
}
LAM__WV __m256 lam__w_lds2_256(const float *p)
{
    return lam__w_even256(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8));
}
/* n lanes (n <= 8) from p[0, 2n - 1); n = 0 reads nothing */
LAM__WV __m256 lam__w_lds2n_256(const float *p, size_t n)
{
    if (n == 0)
        return _mm256_setzero_ps();
    size_t m = 2 * n - 1; /* <= 15 */
    __m256 a = _mm256_maskload_ps(p, lam__w_mask256(m < 8 ? m : 8));
    __m256 b = m > 8 ? _mm256_maskload_ps(p + 8, lam__w_mask256(m - 8)) : _mm256_setzero_ps();
    return lam__w_even256(a, b);
}
LAM__WV __m256 lam__w_ldsg_256(const float *p, ptrdiff_t s, size_t n)
{
    __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)s));
    return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), p, idx,
                                    _mm256_castsi256_ps(lam__w_mask256(n)), 4);
}
/* v where v > m or v is NaN, else m: max_ps(v, m) is v > m ? v : m */
LAM__WV __m256 lam__w_maxnan256(__m256 m, __m256 v)
{
    return _mm256_blendv_ps(_mm256_max_ps(v, m), v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

/* r[0..8) transposed in place: lane j of r[i] <-> lane i of r[j] */
LAM__WV void lam__w_tr256(__m256 *r)
{
    __m256 t[8], u[8];
#pragma GCC unroll 16
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 16
    for (int i = 0; i < 2; i++) {
        u[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
#pragma GCC unroll 16
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x20);
        r[4 + i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x31);
    }
}

#define LW_LD(p) _mm256_loadu_ps(p)
#define LW_LDN(p, n) _mm256_maskload_ps((p), lam__w_mask256(n))
#define LW_LDR(p, a, e) _mm256_maskload_ps((p), _mm256_andnot_si256(lam__w_mask256(a), lam__w_mask256(e)))
#define LW_LDS2(p) lam__w_lds2_256(p)
#define LW_EVEN(a, b) lam__w_even256((a), (b))
#define LW_PREFETCH(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
#define LW_LDS2N(p, n) lam__w_lds2n_256((p), (n))
#define LW_LDSG(p, s, n) lam__w_ldsg_256((p), (s), (size_t)(n))
#define LW_ST(p, v) _mm256_storeu_ps((p), (v))
#define LW_STNT(p, v) _mm256_stream_ps((p), (v))
#define LW_SFENCE() _mm_sfence()
#define LW_STN(p, v, n) _mm256_maskstore_ps((p), lam__w_mask256(n), (v))
#define LW_SET1(f) _mm256_set1_ps(f)
#define LW_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define LW_ADD(a, b) _mm256_add_ps((a), (b))
#define LW_DIV(a, b) _mm256_div_ps((a), (b))
#define LW_MAXNAN(m, v) lam__w_maxnan256((m), (v))
#define LW_TRANSPOSE(r) lam__w_tr256(r)

/* keep a loaded vector in a register (the compiler would fold it into
 * every FMA that uses it: one load per use) */
#define LW_PIN(v) __asm__("" : "+x"(v))

#endif
