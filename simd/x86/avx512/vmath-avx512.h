/* AVX-512 vector activations: static inline, for the elementwise kernels
 * (the GEMM epilogue runs those kernels over a finished tile,
 * gemm-epilogue-avx512.c, so Linear+act gives the same bits as Linear
 * followed by the activation kernel).  Only for
 * files built with the AVX-512 flags (F, VL, BW, DQ; LAM_AVX512_CFLAGS).
 *
 * Accuracy against the exact value (tested in tests/simd/ over a bit-pattern
 * sweep of [-20, 20] and the special values; bounds of simd/kernel-list.h):
 *   exp      lam__v16_exp: SLEEF's expf u10 algorithm inlined (Cody-Waite
 *            reduction, degree-6 polynomial), 2^q by vscalefps   <= 1 ULP
 *   sigmoid  1/(1+e) or e/(1+e), e = exp(-|x|), one division     <= 3 ULP
 *   silu     x/(1+e) or x e/(1+e), same e                        <= 3 ULP
 *   tanh     Sleef_tanhf16_u35avx512f                           <= 3 ULP
 *   elu      a expm1(x), Sleef_expm1f16_u10avx512f              <= 2 ULP (a = 1)
 *   softplus max(z,0) + log1p(exp(-|z|)), Sleef_log1pf16_u10avx512f   <= 4 ULP
 *   gelu     x Q or x - x Q, Q = 1 - Phi(|x|) by 32 degree-6 pieces (see
 *            lam__v16_gelu)   abs <= 5e-7 (the list's bound; measured 2.4e-7);
 *            against x erfc(-x/sqrt 2)/2: <= 8 ULP for x >= -6 (5.0
 *            measured), <= 34 ULP on [-8, -6), 0 below -8 (|gelu| < 5e-15)
 *   gelu_tanh x r or x - x e r, r = 1/(1 + e), e = exp(-2u)      abs <= 5e-7
 *   relu, relu6, leaky_relu: exact.
 * NaN in, NaN out; infinities follow the formulas (gelu(-inf) = NaN, as
 * PyTorch).  _mm512_max_ps/_min_ps return the SECOND operand when either is
 * NaN, so the input always goes second. */
#ifndef LAMINA_SIMD_X86_AVX512_VMATH_AVX512_H
#define LAMINA_SIMD_X86_AVX512_VMATH_AVX512_H

#if !defined(__AVX512F__) || !defined(__AVX512VL__) || !defined(__AVX512BW__) || \
    !defined(__AVX512DQ__) || !defined(__FMA__)
#error "vmath-avx512.h needs -mavx512f -mavx512vl -mavx512bw -mavx512dq -mfma"
#endif

#include <immintrin.h>
#include <sleef.h>
#include <stddef.h>
#include <stdint.h>

#include "simd/kernels.h"

#define LAM__INLINE static inline __attribute__((always_inline))

/* Lanes [0, n) set, n in [0, 16]. */
LAM__INLINE __mmask16 lam__mask_avx512(size_t n)
{
    return _cvtu32_mask16((uint32_t)((1u << n) - 1u));
}

LAM__INLINE __m512 lam__v16_relu(__m512 x) { return _mm512_max_ps(_mm512_setzero_ps(), x); }

LAM__INLINE __m512 lam__v16_relu6(__m512 x)
{
    return _mm512_min_ps(_mm512_set1_ps(6.0f), _mm512_max_ps(_mm512_setzero_ps(), x));
}

LAM__INLINE __m512 lam__v16_leaky_relu(__m512 x, __m512 a)
{
    __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_mul_ps(x, neg, x, a);
}

/* e^x, SLEEF's xexpf (u10) inlined: q = rint(x / ln 2), s = x - q ln 2 in
 * two FMAs (ln 2 split hi + lo), e^s by its degree-6 polynomial, then 2^q by
 * vscalefps (one exact scaling for normal results, correctly rounded into
 * the subnormals).  x is first clamped to [-104, 88.8] (NaN passes: the
 * input goes second): e^-104 rounds to 0 and e^88.8 overflows to +inf in
 * the scaling, so the ends (and +-inf) need no masks. */
LAM__INLINE __m512 lam__v16_exp_reduce(__m512 x, __m512 *q)
{
    *q = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.442695040888963407f)),
                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 s = _mm512_fmadd_ps(*q, _mm512_set1_ps(-0.693145751953125f), x);
    return _mm512_fmadd_ps(*q, _mm512_set1_ps(-1.428606765330187045e-06f), s);
}

LAM__INLINE __m512 lam__v16_exp_finish(__m512 s, __m512 q)
{
    __m512 u = _mm512_set1_ps(0.000198527617612853646278381f);
    u = _mm512_fmadd_ps(u, s, _mm512_set1_ps(0.00139304355252534151077271f));
    u = _mm512_fmadd_ps(u, s, _mm512_set1_ps(0.00833336077630519866943359f));
    u = _mm512_fmadd_ps(u, s, _mm512_set1_ps(0.0416664853692054748535156f));
    u = _mm512_fmadd_ps(u, s, _mm512_set1_ps(0.166666671633720397949219f));
    u = _mm512_fmadd_ps(u, s, _mm512_set1_ps(0.5f));
    u = _mm512_add_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(_mm512_mul_ps(s, s), u, s));
    return _mm512_scalef_ps(u, q);
}

LAM__INLINE __m512 lam__v16_exp(__m512 x)
{
    __m512 q;
    x = _mm512_min_ps(_mm512_set1_ps(88.8f), _mm512_max_ps(_mm512_set1_ps(-104.0f), x));
    __m512 s = lam__v16_exp_reduce(x, &q);
    return lam__v16_exp_finish(s, q);
}

/* e^x for x <= 0 (or NaN): only the lower clamp is needed. */
LAM__INLINE __m512 lam__v16_exp_le0(__m512 x)
{
    __m512 q;
    __m512 s = lam__v16_exp_reduce(_mm512_max_ps(_mm512_set1_ps(-104.0f), x), &q);
    return lam__v16_exp_finish(s, q);
}

LAM__INLINE __m512 lam__v16_elu(__m512 x, __m512 a)
{
    __mmask16 le = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LE_OQ);
    return _mm512_mask_mul_ps(x, le, a, Sleef_expm1f16_u10avx512f(x));
}

/* -|x| */
LAM__INLINE __m512 lam__v16_nabs(__m512 x)
{
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN)));
}

/* e = exp(-|x|) never overflows; sigmoid(x) = 1/(1+e) for x >= 0 and
 * e/(1+e) for x < 0, so results stay accurate down to the subnormals. */
LAM__INLINE __m512 lam__v16_sigmoid(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 e = lam__v16_exp_le0(lam__v16_nabs(x));
    __m512 num = _mm512_mask_mov_ps(one, _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ), e);
    return _mm512_div_ps(num, _mm512_add_ps(one, e));
}

/* silu(x) = x sigmoid(x), same split: x/(1+e) or x e/(1+e). */
LAM__INLINE __m512 lam__v16_silu(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 e = lam__v16_exp_le0(lam__v16_nabs(x));
    __m512 num = _mm512_mask_mul_ps(x, _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ), x, e);
    return _mm512_div_ps(num, _mm512_add_ps(one, e));
}

LAM__INLINE __m512 lam__v16_tanh(__m512 x) { return Sleef_tanhf16_u35avx512f(x); }

/* GELU = x Phi(x) in float, through the upper tail Q(a) = 1 - Phi(a) =
 * erfc(a / sqrt 2) / 2, a = |x|: x Q(a) for x < 0, x - x Q(a) for x > 0,
 * so that neither form cancels and the result keeps relative accuracy
 * where it is small (x < 0).  Q is piecewise: 32 intervals of width 1/4
 * over a in [0, 8), on each a degree-6 polynomial in the offset from the
 * interval's centre (relative least-squares fit, max relative error
 * 2.2e-6 at a near 8, ~1e-7 below a = 4); the 7 coefficients of the
 * interval come from two-register tables (vpermt2ps), so there is no exp
 * and no division.  Q = 0 for a >= 8 (|x Q| < 5e-15 there: the absolute
 * bound holds, relative accuracy is not claimed for x < -8).  x is clamped
 * to 20 in the product, so +inf gives +inf - 0 = +inf; -inf gives -inf * 0
 * = NaN, as PyTorch; NaN stays NaN. */
LAM__INLINE __m512 lam__v16_gelu(__m512 x)
{
    const __m512 a = _mm512_abs_ps(x);
    const __m512 ac = _mm512_min_ps(_mm512_set1_ps(7.9999995f), a);
    const __m512i i = _mm512_cvttps_epi32(_mm512_mul_ps(ac, _mm512_set1_ps(4.0f)));
    const __m512 r = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(i), _mm512_set1_ps(0.25f),
                                      _mm512_sub_ps(ac, _mm512_set1_ps(0.125f)));
    const __m512 c6 = _mm512_permutex2var_ps(_mm512_setr_ps(0.00102383865f, 0.00263222097f, 0.00319277262f, 0.00260842615f, 0.00129489042f, -0.000104255116f, -0.00106601208f, -0.00139211805f, -0.00119609002f, -0.000746153295f, -0.000294216938f, 1.86736379e-05f, 0.000166817976f, 0.000193107844f, 0.000157400209f, 0.000105570929f),
        i, _mm512_setr_ps(6.14192759e-05f, 3.17772792e-05f, 1.48283343e-05f, 6.29625356e-06f, 2.44738089e-06f, 8.7463377e-07f, 2.88309167e-07f, 8.78780426e-08f, 2.48169876e-08f, 6.50365717e-09f, 1.58371283e-09f, 3.58741647e-10f, 7.56617824e-11f, 1.48697981e-11f, 2.72498734e-12f, 4.65922223e-13f));
    const __m512 c5 = _mm512_permutex2var_ps(_mm512_setr_ps(-0.00955686253f, -0.00672500627f, -0.00221251464f, 0.00226795976f, 0.00525985798f, 0.00614138041f, 0.00520209456f, 0.00328642782f, 0.00129313162f, -0.000185199984f, -0.000962687831f, -0.00115487888f, -0.00100050471f, -0.000719968637f, -0.00045188595f, -0.000253229635f),
        i, _mm512_setr_ps(-0.000128387255f, -5.93849691e-05f, -2.52021891e-05f, -9.85298084e-06f, -3.55940278e-06f, -1.19090373e-06f, -3.6971187e-07f, -1.06654703e-07f, -2.86255339e-08f, -7.15521731e-09f, -1.66708425e-09f, -3.6230377e-10f, -7.34919417e-11f, -1.39217362e-11f, -2.4639919e-12f, -4.07622476e-13f));
    const __m512 c4 = _mm512_permutex2var_ps(_mm512_setr_ps(-0.00615289202f, -0.0166136753f, -0.0222992394f, -0.0221618097f, -0.0172250681f, -0.00985206291f, -0.00259228074f, 0.00277089165f, 0.00559866987f, 0.00621174276f, 0.00541450316f, 0.00403573317f, 0.00266241352f, 0.00158243906f, 0.000856311584f, 0.00042475306f),
        i, _mm512_setr_ps(0.000194032196f, 8.19058114e-05f, 3.20305153e-05f, 1.1627214e-05f, 3.92397624e-06f, 1.23271445e-06f, 3.60854955e-07f, 9.85168782e-08f, 2.51021834e-08f, 5.97315397e-09f, 1.32806155e-09f, 2.76029311e-10f, 5.36524644e-11f, 9.75608309e-12f, 1.66015552e-12f, 2.64442141e-13f));
    const __m512 c3 = _mm512_permutex2var_ps(_mm512_setr_ps(0.0649418831f, 0.0532603562f, 0.0333288535f, 0.0106272753f, -0.00937977806f, -0.0230094828f, -0.0291314796f, -0.0288400762f, -0.0244459342f, -0.0183861367f, -0.0124922777f, -0.00774775119f, -0.00441533932f, -0.00232250895f, -0.00113122026f, -0.000511404767f),
        i, _mm512_setr_ps(-0.000214979955f, -8.41518267e-05f, -3.07082082e-05f, -1.04561377e-05f, -3.32463969e-06f, -9.87757971e-07f, -2.74360985e-07f, -7.1278599e-08f, -1.73273467e-08f, -3.9426622e-09f, -8.39965375e-10f, -1.67595118e-10f, -3.13249322e-11f, -5.48576419e-12f, -9.00289446e-13f, -1.38483084e-13f));
    const __m512 c2 = _mm512_permutex2var_ps(_mm512_setr_ps(0.0247398559f, 0.0697228312f, 0.102550305f, 0.119024061f, 0.119180612f, 0.106570929f, 0.0865623429f, 0.0644871369f, 0.044328548f, 0.0282291323f, 0.0167004894f, 0.00919729844f, 0.0047222781f, 0.00226313807f, 0.00101329887f, 0.000424179918f),
        i, _mm512_setr_ps(0.00016611458f, 6.08868904e-05f, 2.08966139e-05f, 6.71759426e-06f, 2.02331921e-06f, 5.71132489e-07f, 1.51121114e-07f, 3.74896274e-08f, 8.72099903e-09f, 1.90262628e-09f, 3.89339561e-10f, 7.47378895e-11f, 1.34596743e-11f, 2.2743077e-12f, 3.60595587e-13f, 5.3651304e-14f));
    const __m512 c1 = _mm512_permutex2var_ps(_mm512_setr_ps(-0.395837694f, -0.37185508f, -0.328160971f, -0.272055f, -0.211876646f, -0.155012265f, -0.106538266f, -0.0687862784f, -0.0417209864f, -0.0237719007f, -0.0127241816f, -0.00639812043f, -0.00302225794f, -0.00134111883f, -0.000559061533f, -0.000218931644f),
        i, _mm512_setr_ps(-8.05404561e-05f, -2.78340394e-05f, -9.03639011e-06f, -2.7559438e-06f, -7.89591297e-07f, -2.12515658e-07f, -5.37323928e-08f, -1.27625679e-08f, -2.84771517e-09f, -5.96913963e-10f, -1.17539423e-10f, -2.17426268e-11f, -3.77830623e-12f, -6.1679237e-13f, -9.45883251e-14f, -1.36267645e-14f));
    const __m512 c0 = _mm512_permutex2var_ps(_mm512_setr_ps(0.450261772f, 0.353830248f, 0.265985519f, 0.190786958f, 0.130294517f, 0.0845657215f, 0.0520812795f, 0.0303963609f, 0.0167933069f, 0.00877447519f, 0.00433244836f, 0.00202013738f, 0.000889025279f, 0.000369078451f, 0.000144480728f, 5.33123493e-05f),
        i, _mm512_setr_ps(1.85367371e-05f, 6.07162383e-06f, 1.87299202e-06f, 5.4404228e-07f, 1.48768876e-07f, 3.82913434e-08f, 9.2754e-09f, 2.11421702e-09f, 4.53418136e-10f, 9.14815029e-11f, 1.73624153e-11f, 3.09949462e-12f, 5.20403816e-13f, 8.2172611e-14f, 1.22017358e-14f, 1.7037172e-15f));
    __m512 q = _mm512_fmadd_ps(c6, r, c5);
    q = _mm512_fmadd_ps(q, r, c4);
    q = _mm512_fmadd_ps(q, r, c3);
    q = _mm512_fmadd_ps(q, r, c2);
    q = _mm512_fmadd_ps(q, r, c1);
    q = _mm512_fmadd_ps(q, r, c0);
    q = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, _mm512_set1_ps(8.0f), _CMP_LT_OQ), q);
    __m512 xq = _mm512_mul_ps(_mm512_min_ps(_mm512_set1_ps(20.0f), x), q);
    return _mm512_mask_sub_ps(xq, _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ), x, xq);
}

LAM__INLINE __m512 lam__v16_gelu_tanh(__m512 x)
{
    /* -2u = x (c0 + c1 x^2) with c0 = -2 sqrt(2/pi), c1 = c0 * 0.044715;
     * r = 1 / (1 + e^-2u) = (1 + tanh u) / 2.  For x > 0, y = x - x e r (one
     * rounding of a result near x, the small correction carries the error);
     * for x <= 0, y = x r. */
    __m512 x2 = _mm512_mul_ps(x, x);
    __m512 m2u = _mm512_mul_ps(x, _mm512_fmadd_ps(x2, _mm512_set1_ps(-0.0713548162726f),
                                                  _mm512_set1_ps(-1.5957691216057308f)));
    __m512 e = lam__v16_exp(m2u);
    __m512 r = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    __m512 pos = _mm512_fnmadd_ps(x, _mm512_mul_ps(e, r), x);
    pos = _mm512_mask_mov_ps(pos, _mm512_cmp_ps_mask(x, _mm512_set1_ps(__builtin_inff()), _CMP_EQ_OQ), x);
    return _mm512_mask_mov_ps(_mm512_mul_ps(x, r), _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ),
                              pos);
}

/* softplus(z)/beta with z = beta x: max(z, 0) + log1p(exp(-|z|)), which
 * never overflows; the rounding error of z = beta x (exact by FMA) is put
 * back to first order, d softplus / dz = sigmoid(z). */
LAM__INLINE __m512 lam__v16_softplus(__m512 x, __m512 beta, __m512 thr)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 z = _mm512_mul_ps(x, beta);
    __m512 zerr = _mm512_fmsub_ps(x, beta, z);
    __m512 e = lam__v16_exp_le0(lam__v16_nabs(z));
    __m512 l = Sleef_log1pf16_u10avx512f(e);
    __m512 num = _mm512_mask_mov_ps(one, _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_LT_OQ), e);
    __m512 corr = _mm512_mul_ps(_mm512_mul_ps(zerr, num), _mm512_rcp14_ps(_mm512_add_ps(one, e)));
    /* corr is NaN only where z is not finite: drop it there */
    corr = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(corr, corr, _CMP_ORD_Q), corr);
    __m512 r = _mm512_div_ps(_mm512_add_ps(_mm512_max_ps(_mm512_setzero_ps(), z), _mm512_add_ps(l, corr)),
                             beta);
    return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(z, thr, _CMP_GT_OQ), x);
}

/* Elementwise loop: y[i] = OP(x[i]), 32 per step, then 16, then one masked
 * tail (masked loads do not fault on the lanes left out). */
#define LAM__AVX512_UNARY_LOOP(n, x, y, OP)                                                   \
    do {                                                                                      \
        size_t i_ = 0;                                                                        \
        for (; i_ + 32 <= (n); i_ += 32) {                                                    \
            __m512 a_ = _mm512_loadu_ps((x) + i_), b_ = _mm512_loadu_ps((x) + i_ + 16);       \
            a_ = OP(a_);                                                                      \
            b_ = OP(b_);                                                                      \
            _mm512_storeu_ps((y) + i_, a_);                                                   \
            _mm512_storeu_ps((y) + i_ + 16, b_);                                              \
        }                                                                                     \
        if (i_ + 16 <= (n)) {                                                                 \
            _mm512_storeu_ps((y) + i_, OP(_mm512_loadu_ps((x) + i_)));                        \
            i_ += 16;                                                                         \
        }                                                                                     \
        if (i_ < (n)) {                                                                       \
            __mmask16 m_ = lam__mask_avx512((n) - i_);                                        \
            __m512 a_ = OP(_mm512_maskz_loadu_ps(m_, (x) + i_));                              \
            _mm512_mask_storeu_ps((y) + i_, m_, a_);                                          \
        }                                                                                     \
    } while (0)

#endif
