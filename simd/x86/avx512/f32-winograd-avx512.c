/* f32 wino_in, wino_out, wino_store and the wino2_ twins, avx512: the
 * Winograd F(4x4, 3x3) and F(2x2, 3x3) tile transforms,
 * one tile a lane (simd/window/winograd-impl.h).
 *
 * Contract: LAM_CONV_KERNELS (simd/kernel-list.h).
 * Accuracy: exact (bit-identical to the scalar twin: the same operations
 * per lane). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vwin-avx512.h"
/* p[4 t + b] = lane t of vb: 64 floats (unpacks, then the 128-bit lanes
 * transposed) */
static inline __attribute__((always_inline)) void lam__wg_st4_512(float *p, __m512 v0, __m512 v1,
                                                                  __m512 v2, __m512 v3)
{
    __m512 t0 = _mm512_unpacklo_ps(v0, v1), t1 = _mm512_unpackhi_ps(v0, v1);
    __m512 t2 = _mm512_unpacklo_ps(v2, v3), t3 = _mm512_unpackhi_ps(v2, v3);
    /* per 128-bit lane k: u0 tile 4k, u1 4k + 1, u2 4k + 2, u3 4k + 3 */
    __m512 u0 = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t2)));
    __m512 u1 = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t2)));
    __m512 u2 = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t1), _mm512_castps_pd(t3)));
    __m512 u3 = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t1), _mm512_castps_pd(t3)));
    __m512 w0 = _mm512_shuffle_f32x4(u0, u1, 0x44), w1 = _mm512_shuffle_f32x4(u2, u3, 0x44);
    __m512 w2 = _mm512_shuffle_f32x4(u0, u1, 0xEE), w3 = _mm512_shuffle_f32x4(u2, u3, 0xEE);
    _mm512_storeu_ps(p, _mm512_shuffle_f32x4(w0, w1, 0x88));
    _mm512_storeu_ps(p + 16, _mm512_shuffle_f32x4(w0, w1, 0xDD));
    _mm512_storeu_ps(p + 32, _mm512_shuffle_f32x4(w2, w3, 0x88));
    _mm512_storeu_ps(p + 48, _mm512_shuffle_f32x4(w2, w3, 0xDD));
}
#define LW_ST4(p, v0, v1, v2, v3) lam__wg_st4_512((p), (v0), (v1), (v2), (v3))
/* p[2 t + b] = lane t of vb: 32 floats */
static inline __attribute__((always_inline)) void lam__wg_st2_512(float *p, __m512 v0, __m512 v1)
{
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30,
                                         15, 31);
    _mm512_storeu_ps(p, _mm512_permutex2var_ps(v0, lo, v1));
    _mm512_storeu_ps(p + 16, _mm512_permutex2var_ps(v0, hi, v1));
}
#define LW_ST2(p, v0, v1) lam__wg_st2_512((p), (v0), (v1))
#include "simd/window/winograd-impl.h"

LAM__WG_KERNELS(avx512)
