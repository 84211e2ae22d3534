/* f32 wino_in, wino_out, wino_store and the wino2_ twins, avx2: the
 * Winograd F(4x4, 3x3) and F(2x2, 3x3) tile transforms,
 * one tile a lane (simd/window/winograd-impl.h).
 *
 * Contract: LAM_CONV_KERNELS (simd/kernel-list.h).
 * Accuracy: exact (bit-identical to the scalar twin: the same operations
 * per lane). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx2/vwin-avx2.h"
/* p[4 t + b] = lane t of vb: 32 floats (unpacks, then the 128-bit lanes
 * paired) */
static inline __attribute__((always_inline)) void lam__wg_st4_256(float *p, __m256 v0, __m256 v1,
                                                                  __m256 v2, __m256 v3)
{
    __m256 t0 = _mm256_unpacklo_ps(v0, v1), t1 = _mm256_unpackhi_ps(v0, v1);
    __m256 t2 = _mm256_unpacklo_ps(v2, v3), t3 = _mm256_unpackhi_ps(v2, v3);
    /* per 128-bit lane k: u0 tile 4k, u1 4k + 1, u2 4k + 2, u3 4k + 3 */
    __m256 u0 = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(t0), _mm256_castps_pd(t2)));
    __m256 u1 = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t0), _mm256_castps_pd(t2)));
    __m256 u2 = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(t1), _mm256_castps_pd(t3)));
    __m256 u3 = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t1), _mm256_castps_pd(t3)));
    _mm256_storeu_ps(p, _mm256_permute2f128_ps(u0, u1, 0x20));
    _mm256_storeu_ps(p + 8, _mm256_permute2f128_ps(u2, u3, 0x20));
    _mm256_storeu_ps(p + 16, _mm256_permute2f128_ps(u0, u1, 0x31));
    _mm256_storeu_ps(p + 24, _mm256_permute2f128_ps(u2, u3, 0x31));
}
#define LW_ST4(p, v0, v1, v2, v3) lam__wg_st4_256((p), (v0), (v1), (v2), (v3))
/* p[2 t + b] = lane t of vb: 16 floats */
static inline __attribute__((always_inline)) void lam__wg_st2_256(float *p, __m256 v0, __m256 v1)
{
    __m256 a = _mm256_unpacklo_ps(v0, v1), b = _mm256_unpackhi_ps(v0, v1);
    _mm256_storeu_ps(p, _mm256_permute2f128_ps(a, b, 0x20));
    _mm256_storeu_ps(p + 8, _mm256_permute2f128_ps(a, b, 0x31));
}
#define LW_ST2(p, v0, v1) lam__wg_st2_256((p), (v0), (v1))
#include "simd/window/winograd-impl.h"

LAM__WG_KERNELS(avx2)
