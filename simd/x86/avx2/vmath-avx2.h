/* AVX2+FMA vector activations: static inline, shared by the elementwise
 * kernels and the GEMM epilogue (so Linear+act gives the same bits as Linear
 * followed by the activation kernel).  Only for files built with -mavx2 -mfma.
 *
 * Accuracy against the exact value (tested in tests/simd/):
 *   exp      Sleef_expf8_u10avx2                 <= 1 ULP
 *   sigmoid  1 / (1 + exp(-x)) as 1/(1+e) or e/(1+e), e = exp(-|x|)   <= 3 ULP
 *   silu     x sigmoid(x), same split              <= 3 ULP
 *   tanh     Sleef_tanhf8_u35avx2                <= 3 ULP (measured 2.7)
 *   gelu     x Phi(x), Phi = (1 + erf(x/sqrt2))/2 with erf by an odd
 *            rational minimax fit z P(z^2)/Q(z^2) on |z| <= 4.2 (fit error
 *            4e-8), evaluated in float64 and rounded once      abs <= 5e-7
 *   gelu_tanh x r or x - x e r, r = 1/(1 + e), e = exp(-2u) (= 0.5 x (1 +
 *            tanh u), without the cancellation of 1 + tanh u)  abs <= 5e-7
 *   relu, relu6, leaky_relu: exact.
 * NaN in, NaN out; infinities follow the formulas (gelu(-inf) = NaN, as
 * PyTorch).  Note _mm256_max_ps/_min_ps return the SECOND operand when either
 * is NaN, so the input always goes second. */
#ifndef LAMINA_SIMD_X86_AVX2_VMATH_AVX2_H
#define LAMINA_SIMD_X86_AVX2_VMATH_AVX2_H

#if !defined(__AVX2__) || !defined(__FMA__)
#error "vmath-avx2.h needs -mavx2 -mfma"
#endif

#include <immintrin.h>
#include <sleef.h>
#include <stddef.h>

#define LAM__INLINE static inline __attribute__((always_inline))

/* Lanes [0, n) set, n in [0, 8]. */
LAM__INLINE __m256i lam__mask_avx2(size_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

LAM__INLINE __m256 lam__v_relu(__m256 x) { return _mm256_max_ps(_mm256_setzero_ps(), x); }

LAM__INLINE __m256 lam__v_relu6(__m256 x)
{
    return _mm256_min_ps(_mm256_set1_ps(6.0f), _mm256_max_ps(_mm256_setzero_ps(), x));
}

LAM__INLINE __m256 lam__v_leaky_relu(__m256 x, __m256 a)
{
    __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    return _mm256_blendv_ps(x, _mm256_mul_ps(x, a), neg);
}

LAM__INLINE __m256 lam__v_exp(__m256 x) { return Sleef_expf8_u10avx2(x); }

LAM__INLINE __m256 lam__v_elu(__m256 x, __m256 a)
{
    __m256 le = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LE_OQ);
    return _mm256_blendv_ps(x, _mm256_mul_ps(a, Sleef_expm1f8_u10avx2(x)), le);
}

/* e = exp(-|x|) never overflows; sigmoid(x) = 1/(1+e) for x >= 0 and
 * e/(1+e) for x < 0, so results stay accurate down to the subnormals. */
LAM__INLINE __m256 lam__v_sigmoid(__m256 x)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 nabs = _mm256_or_ps(x, _mm256_set1_ps(-0.0f));
    __m256 e = Sleef_expf8_u10avx2(nabs);
    __m256 num = _mm256_blendv_ps(one, e, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
    return _mm256_div_ps(num, _mm256_add_ps(one, e));
}

/* silu(x) = x sigmoid(x), same split: x/(1+e) or x e/(1+e). */
LAM__INLINE __m256 lam__v_silu(__m256 x)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 nabs = _mm256_or_ps(x, _mm256_set1_ps(-0.0f));
    __m256 e = Sleef_expf8_u10avx2(nabs);
    __m256 num = _mm256_blendv_ps(x, _mm256_mul_ps(x, e), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
    return _mm256_div_ps(num, _mm256_add_ps(one, e));
}

LAM__INLINE __m256 lam__v_tanh(__m256 x) { return Sleef_tanhf8_u35avx2(x); }

/* Phi(x) = (1 + erf(x / sqrt 2)) / 2 on 4 doubles: erf by the rational fit,
 * exactly 0 / 1 where |z| >= 4.2 (the fit's end; 1 - Phi < 2e-9 there). */
LAM__INLINE __m256d lam__v_phi_pd(__m256d x)
{
    const __m256d c = _mm256_set1_pd(4.2);
    __m256d z = _mm256_mul_pd(x, _mm256_set1_pd(0.70710678118654752440));
    __m256d zc = _mm256_min_pd(c, _mm256_max_pd(_mm256_sub_pd(_mm256_setzero_pd(), c), z));
    __m256d t = _mm256_mul_pd(zc, zc);
    __m256d p = _mm256_set1_pd(1.8470849291310343e-6);
    p = _mm256_fmadd_pd(p, t, _mm256_set1_pd(0.0002930087551335231));
    p = _mm256_fmadd_pd(p, t, _mm256_set1_pd(0.0044074938314793231));
    p = _mm256_fmadd_pd(p, t, _mm256_set1_pd(0.054709884319169051));
    p = _mm256_fmadd_pd(p, t, _mm256_set1_pd(0.20624098978926145));
    p = _mm256_fmadd_pd(p, t, _mm256_set1_pd(1.1283788145354776));
    __m256d q = _mm256_set1_pd(3.6408989291249175e-5);
    q = _mm256_fmadd_pd(q, t, _mm256_set1_pd(0.0013063485325742756));
    q = _mm256_fmadd_pd(q, t, _mm256_set1_pd(0.016259992630120187));
    q = _mm256_fmadd_pd(q, t, _mm256_set1_pd(0.12053475771461484));
    q = _mm256_fmadd_pd(q, t, _mm256_set1_pd(0.51610572039570073));
    q = _mm256_fmadd_pd(q, t, _mm256_set1_pd(1.0));
    __m256d phi = _mm256_fmadd_pd(_mm256_div_pd(_mm256_mul_pd(zc, p), q), _mm256_set1_pd(0.5),
                                  _mm256_set1_pd(0.5));
    phi = _mm256_blendv_pd(phi, _mm256_setzero_pd(), _mm256_cmp_pd(z, _mm256_sub_pd(_mm256_setzero_pd(), c), _CMP_LE_OQ));
    return _mm256_blendv_pd(phi, _mm256_set1_pd(1.0), _mm256_cmp_pd(z, c, _CMP_GE_OQ));
}

/* GELU = x Phi(x), Phi and the product in float64, rounded once: the float
 * evaluation of erf loses ~1e-7 near erf = +-1, which x then multiplies. */
LAM__INLINE __m256 lam__v_gelu(__m256 x)
{
    __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(x));
    __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1));
    lo = _mm256_mul_pd(lo, lam__v_phi_pd(lo));
    hi = _mm256_mul_pd(hi, lam__v_phi_pd(hi));
    return _mm256_set_m128(_mm256_cvtpd_ps(hi), _mm256_cvtpd_ps(lo));
}

LAM__INLINE __m256 lam__v_gelu_tanh(__m256 x)
{
    /* -2u = x (c0 + c1 x^2) with c0 = -2 sqrt(2/pi), c1 = c0 * 0.044715;
     * r = 1 / (1 + e^-2u) = (1 + tanh u) / 2.  For x > 0, y = x - x e r (one
     * rounding of a result near x, the small correction carries the error);
     * for x <= 0, y = x r. */
    __m256 x2 = _mm256_mul_ps(x, x);
    __m256 m2u = _mm256_mul_ps(x, _mm256_fmadd_ps(x2, _mm256_set1_ps(-0.0713548162726f),
                                                  _mm256_set1_ps(-1.5957691216057308f)));
    __m256 e = Sleef_expf8_u10avx2(m2u);
    __m256 r = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    __m256 pos = _mm256_fnmadd_ps(x, _mm256_mul_ps(e, r), x);
    pos = _mm256_blendv_ps(pos, x, _mm256_cmp_ps(x, _mm256_set1_ps(__builtin_inff()), _CMP_EQ_OQ));
    return _mm256_blendv_ps(_mm256_mul_ps(x, r), pos, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ));
}

/* softplus(z)/beta with z = beta x: max(z, 0) + log1p(exp(-|z|)), which
 * never overflows.  The rounding error of z = beta x (exact by FMA) is put
 * back to first order, d softplus / dz = sigmoid(z) (12-bit rcp is plenty
 * for a correction); without it beta x loses |z| 2^-24 relative. */
LAM__INLINE __m256 lam__v_softplus(__m256 x, __m256 beta, __m256 thr)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 z = _mm256_mul_ps(x, beta);
    __m256 zerr = _mm256_fmsub_ps(x, beta, z);
    __m256 nabs = _mm256_or_ps(z, _mm256_set1_ps(-0.0f));
    __m256 e = Sleef_expf8_u10avx2(nabs);
    __m256 l = Sleef_log1pf8_u10avx2(e);
    __m256 num = _mm256_blendv_ps(one, e, _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_LT_OQ));
    __m256 corr = _mm256_mul_ps(_mm256_mul_ps(zerr, num), _mm256_rcp_ps(_mm256_add_ps(one, e)));
    /* corr is NaN only where z is not finite: drop it there */
    corr = _mm256_and_ps(corr, _mm256_cmp_ps(corr, corr, _CMP_ORD_Q));
    __m256 r = _mm256_div_ps(_mm256_add_ps(_mm256_max_ps(_mm256_setzero_ps(), z), _mm256_add_ps(l, corr)), beta);
    return _mm256_blendv_ps(r, x, _mm256_cmp_ps(z, thr, _CMP_GT_OQ));
}

/* Elementwise loop: y[i] = OP(x[i]), 16 per step, then 8, then a masked tail.
 * OP is a function-like macro or inline function name. */
#define LAM__AVX2_UNARY_LOOP(n, x, y, OP)                                          \
    do {                                                                           \
        size_t i_ = 0;                                                             \
        for (; i_ + 16 <= (n); i_ += 16) {                                         \
            __m256 a_ = _mm256_loadu_ps((x) + i_), b_ = _mm256_loadu_ps((x) + i_ + 8); \
            a_ = OP(a_);                                                           \
            b_ = OP(b_);                                                           \
            _mm256_storeu_ps((y) + i_, a_);                                        \
            _mm256_storeu_ps((y) + i_ + 8, b_);                                    \
        }                                                                          \
        if (i_ + 8 <= (n)) {                                                       \
            _mm256_storeu_ps((y) + i_, OP(_mm256_loadu_ps((x) + i_)));             \
            i_ += 8;                                                               \
        }                                                                          \
        if (i_ < (n)) {                                                            \
            __m256i m_ = lam__mask_avx2((n) - i_);                                 \
            __m256 a_ = OP(_mm256_maskload_ps((x) + i_, m_));                      \
            _mm256_maskstore_ps((y) + i_, m_, a_);                                 \
        }                                                                          \
    } while (0)

LAM__INLINE float lam__hsum_avx2(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

LAM__INLINE double lam__hsum_pd_avx2(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

#endif
