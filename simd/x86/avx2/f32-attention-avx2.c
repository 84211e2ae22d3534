/* f32 fused attention, AVX2+FMA: the portable driver (simd/attn/) with
 * 6-row x 16-column ymm tiles (simd/attn/attn-tile.h) and SLEEF's exp.
 * Contract and accuracy: LAM_ATTN_KERNELS in simd/kernel-list.h. */
#include "config.h"

#include "simd/attn/attn-ukernel.h"
#include "simd/simd.h"
#include "simd/x86/avx2/vmath-avx2.h"

typedef __m256 V;
#define LAM__ATT_VF 8
#define LAM__ATT_NAME(x) lam__attn_##x##_avx2
#define VZERO() _mm256_setzero_ps()
#define VSET1(f) _mm256_set1_ps(f)
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps((p), (v))
#define VBCAST(p) _mm256_broadcast_ss(p)
#define VLOADM(p, n) _mm256_maskload_ps((p), lam__mask_avx2(n))
#define VSTOREM(p, v, n) _mm256_maskstore_ps((p), lam__mask_avx2(n), (v))
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VMUL(a, b) _mm256_mul_ps((a), (b))
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VMAX(a, b) _mm256_max_ps((a), (b))
#define VEXP(v) lam__attn_exp_le0_avx2(v)

/* e^x for x <= 0 or NaN (the softmax's x - max): SLEEF's xexpf inlined (q =
 * rint(x / ln 2), s = x - q ln 2 in two FMAs, its degree-6 polynomial, 2^q
 * put into the exponent), <= 1 ULP; x < -87 gives 0 (e^x < 2^-125 there, far
 * below a softmax's sum >= 1).  Inlined, it costs a third of Sleef_expf8_u10
 * through the call. */
static inline __m256 lam__attn_exp_le0_avx2(__m256 x)
{
    const __m256 lo = _mm256_set1_ps(-87.0f);
    const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_max_ps(lo, x); /* NaN passes: the input goes second */
    const __m256 q = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.442695040888963407f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 s = _mm256_fmadd_ps(q, _mm256_set1_ps(-0.693145751953125f), x);
    s = _mm256_fmadd_ps(q, _mm256_set1_ps(-1.428606765330187045e-06f), s);
    __m256 u = _mm256_set1_ps(0.000198527617612853646278381f);
    u = _mm256_fmadd_ps(u, s, _mm256_set1_ps(0.00139304355252534151077271f));
    u = _mm256_fmadd_ps(u, s, _mm256_set1_ps(0.00833336077630519866943359f));
    u = _mm256_fmadd_ps(u, s, _mm256_set1_ps(0.0416664853692054748535156f));
    u = _mm256_fmadd_ps(u, s, _mm256_set1_ps(0.166666671633720397949219f));
    u = _mm256_fmadd_ps(u, s, _mm256_set1_ps(0.5f));
    u = _mm256_add_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(_mm256_mul_ps(s, s), u, s));
    /* q in [-126, 0]: 2^q is a normal float built from its exponent */
    const __m256i e = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_cvtps_epi32(q), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(under, _mm256_mul_ps(u, _mm256_castsi256_ps(e)));
}

static inline float lam__attn_hmax_avx2(__m256 v)
{
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}
static inline float lam__attn_hsum_avx2(__m256 v)
{
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}
#define VHMAX(v) lam__attn_hmax_avx2(v)
#define VHSUM(v) lam__attn_hsum_avx2(v)

#include "simd/attn/attn-tile.h"

void lam__f32_attention_avx2(const lam__attn_args *a, size_t i_begin, size_t i_end)
{
    static const lam__attn_ukernel u = {LAM__ATT_MR, lam__attn_score_avx2, lam__attn_rowstep_avx2,
                                        lam__attn_pv_avx2, lam__f32_softmax_avx2};
    lam__attn_run(&u, a, i_begin, i_end);
}
