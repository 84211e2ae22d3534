/* AVX-512 vector activations: static inline, shared by the elementwise
 * kernels and the GEMM epilogue (lam__gemm_act_avx512), so Linear+act gives
 * the same bits as Linear followed by the activation kernel.  Only for
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
 *   gelu     x Q or x - x Q, Q = 1 - Phi(|x|) = exp(-x^2/2) t S(t) (own fit,
 *            see lam__v16_gelu)   abs <= 5e-7 (the list's bound); measured
 *            max 5.5 ULP against x erfc(-x/sqrt 2)/2 on the tests' [-20, 20] sweep
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
 * where it is tiny (x < 0).  Q(a) = exp(-a^2 / 2) R(a) with
 *   R(a) = t S(t), t = 1 / (1 + 0.35 a), S a degree-8 polynomial:
 * a relative least-squares fit (reweighted towards minimax) over a in
 * [0, 14.5], max relative error 6e-8 in exact arithmetic; a^2 = h + l
 * exactly (FMA) and exp(-a^2/2) = exp(-h/2 - l/2) with -l/2 added to the
 * reduced argument, so nothing is lost for large a.  a is clamped to 20 (Q = 0 beyond 14.5, and a^2 must not
 * overflow) and x to 20 in the product (so +inf gives +inf - 0 = +inf);
 * -inf gives -inf * 0 = NaN, as PyTorch; NaN stays NaN. */
LAM__INLINE __m512 lam__v16_gelu(__m512 x)
{
    const __m512 big = _mm512_set1_ps(20.0f);
    __m512 a = _mm512_min_ps(big, _mm512_abs_ps(x));
    __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f),
                             _mm512_fmadd_ps(a, _mm512_set1_ps(0.35f), _mm512_set1_ps(1.0f)));
    __m512 sp = _mm512_set1_ps(-0.029141655191779137f);
    sp = _mm512_fmadd_ps(sp, t, _mm512_set1_ps(0.14409811794757843f));
    sp = _mm512_fmadd_ps(sp, t, _mm512_set1_ps(-0.2562735974788666f));
    sp = _mm512_fmadd_ps(sp, t, _mm512_set1_ps(0.16013649106025696f));
    sp = _mm512_fmadd_ps(sp, t, _mm512_set1_ps(-0.023973992094397545f));
    sp = _mm512_fmadd_ps(sp, t, _mm512_set1_ps(0.1059456616640091f));
    sp = _mm512_fmadd_ps(sp, t, _mm512_set1_ps(0.11970844119787216f));
    sp = _mm512_fmadd_ps(sp, t, _mm512_set1_ps(0.13988018035888672f));
    sp = _mm512_fmadd_ps(sp, t, _mm512_set1_ps(0.1396203339099884f));
    __m512 h = _mm512_mul_ps(a, a);
    __m512 l = _mm512_fmsub_ps(a, a, h);
    __m512 q;
    __m512 es = lam__v16_exp_reduce(_mm512_max_ps(_mm512_set1_ps(-104.0f), _mm512_mul_ps(h, _mm512_set1_ps(-0.5f))), &q);
    __m512 e = lam__v16_exp_finish(_mm512_fmadd_ps(l, _mm512_set1_ps(-0.5f), es), q);
    /* (x R) e: Q alone is subnormal for a > 13.2 while x Q is not */
    __m512 xq = _mm512_mul_ps(_mm512_mul_ps(_mm512_min_ps(big, x), _mm512_mul_ps(sp, t)), e);
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

/* Bias-free activation of nreg zmm registers in place (ep.act; IDENTITY:
 * nothing), the same arithmetic as the elementwise kernels.  For the GEMM
 * microkernels' epilogue (gemm-epilogue-avx512.c). */
void lam__gemm_act_avx512(int nreg, __m512 *c, lam__epilogue ep);

#endif
