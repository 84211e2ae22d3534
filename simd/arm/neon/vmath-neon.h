/* AArch64 NEON vector activations: static inline, shared by the elementwise
 * kernels and the GEMM epilogue (Linear+act == Linear then act, bit for
 * bit).  The same formulas and accuracy as simd/x86/avx2/vmath-avx2.h:
 *   exp      Sleef_expf4_u10advsimd                         <= 1 ULP
 *   sigmoid  1/(1+e) or e/(1+e), e = exp(-|x|)              <= 3 ULP
 *   silu     x sigmoid(x), same split                       <= 3 ULP
 *   tanh     Sleef_tanhf4_u35advsimd                        <= 3 ULP
 *   gelu     x Phi(x), rational erf fit in float64          abs <= 5e-7
 *   gelu_tanh x r or x - x e r, r = 1/(1+e), e = exp(-2u)   abs <= 5e-7
 *   relu, relu6, leaky_relu: exact.
 * NaN in, NaN out (vmaxq/vminq propagate NaN, unlike x86 max/min). */
#ifndef LAMINA_SIMD_ARM_NEON_VMATH_NEON_H
#define LAMINA_SIMD_ARM_NEON_VMATH_NEON_H

#include <arm_neon.h>
#include <sleef.h>
#include <stddef.h>
#include <string.h>

#define LAM__INLINE static inline __attribute__((always_inline))

/* x < 0 ? 0 : x, keeping NaN and -0 like the scalar kernel (vmaxq would
 * turn -0 into +0). */
LAM__INLINE float32x4_t lam__n_relu(float32x4_t x)
{
    return vbslq_f32(vcltzq_f32(x), vdupq_n_f32(0.0f), x);
}

LAM__INLINE float32x4_t lam__n_relu6(float32x4_t x)
{
    float32x4_t r = lam__n_relu(x);
    return vbslq_f32(vcgtq_f32(r, vdupq_n_f32(6.0f)), vdupq_n_f32(6.0f), r);
}

LAM__INLINE float32x4_t lam__n_leaky_relu(float32x4_t x, float32x4_t a)
{
    return vbslq_f32(vcltzq_f32(x), vmulq_f32(x, a), x);
}

LAM__INLINE float32x4_t lam__n_exp(float32x4_t x) { return Sleef_expf4_u10advsimd(x); }

LAM__INLINE float32x4_t lam__n_elu(float32x4_t x, float32x4_t a)
{
    return vbslq_f32(vclezq_f32(x), vmulq_f32(a, Sleef_expm1f4_u10advsimd(x)), x);
}

LAM__INLINE float32x4_t lam__n_sigmoid(float32x4_t x)
{
    const float32x4_t one = vdupq_n_f32(1.0f);
    float32x4_t e = Sleef_expf4_u10advsimd(vnegq_f32(vabsq_f32(x)));
    return vdivq_f32(vbslq_f32(vcltzq_f32(x), e, one), vaddq_f32(one, e));
}

LAM__INLINE float32x4_t lam__n_silu(float32x4_t x)
{
    const float32x4_t one = vdupq_n_f32(1.0f);
    float32x4_t e = Sleef_expf4_u10advsimd(vnegq_f32(vabsq_f32(x)));
    return vdivq_f32(vbslq_f32(vcltzq_f32(x), vmulq_f32(x, e), x), vaddq_f32(one, e));
}

LAM__INLINE float32x4_t lam__n_tanh(float32x4_t x) { return Sleef_tanhf4_u35advsimd(x); }

/* Phi(x) = (1 + erf(x / sqrt 2)) / 2 on 2 doubles (see vmath-avx2.h). */
LAM__INLINE float64x2_t lam__n_phi_f64(float64x2_t x)
{
    const float64x2_t c = vdupq_n_f64(4.2);
    float64x2_t z = vmulq_n_f64(x, 0.70710678118654752440);
    float64x2_t zc = vminq_f64(c, vmaxq_f64(vnegq_f64(c), z));
    float64x2_t t = vmulq_f64(zc, zc);
    float64x2_t p = vdupq_n_f64(1.8470849291310343e-6);
    p = vfmaq_f64(vdupq_n_f64(0.0002930087551335231), p, t);
    p = vfmaq_f64(vdupq_n_f64(0.0044074938314793231), p, t);
    p = vfmaq_f64(vdupq_n_f64(0.054709884319169051), p, t);
    p = vfmaq_f64(vdupq_n_f64(0.20624098978926145), p, t);
    p = vfmaq_f64(vdupq_n_f64(1.1283788145354776), p, t);
    float64x2_t q = vdupq_n_f64(3.6408989291249175e-5);
    q = vfmaq_f64(vdupq_n_f64(0.0013063485325742756), q, t);
    q = vfmaq_f64(vdupq_n_f64(0.016259992630120187), q, t);
    q = vfmaq_f64(vdupq_n_f64(0.12053475771461484), q, t);
    q = vfmaq_f64(vdupq_n_f64(0.51610572039570073), q, t);
    q = vfmaq_f64(vdupq_n_f64(1.0), q, t);
    float64x2_t phi = vfmaq_f64(vdupq_n_f64(0.5), vdivq_f64(vmulq_f64(zc, p), q), vdupq_n_f64(0.5));
    phi = vbslq_f64(vcleq_f64(z, vnegq_f64(c)), vdupq_n_f64(0.0), phi);
    return vbslq_f64(vcgeq_f64(z, c), vdupq_n_f64(1.0), phi);
}

LAM__INLINE float32x4_t lam__n_gelu(float32x4_t x)
{
    float64x2_t lo = vcvt_f64_f32(vget_low_f32(x)), hi = vcvt_high_f64_f32(x);
    lo = vmulq_f64(lo, lam__n_phi_f64(lo));
    hi = vmulq_f64(hi, lam__n_phi_f64(hi));
    return vcvt_high_f32_f64(vcvt_f32_f64(lo), hi);
}

LAM__INLINE float32x4_t lam__n_gelu_tanh(float32x4_t x)
{
    float32x4_t x2 = vmulq_f32(x, x);
    float32x4_t m2u = vmulq_f32(x, vfmaq_f32(vdupq_n_f32(-1.5957691216057308f), x2,
                                             vdupq_n_f32(-0.0713548162726f)));
    float32x4_t e = Sleef_expf4_u10advsimd(m2u);
    float32x4_t r = vdivq_f32(vdupq_n_f32(1.0f), vaddq_f32(vdupq_n_f32(1.0f), e));
    float32x4_t pos = vfmsq_f32(x, x, vmulq_f32(e, r));
    pos = vbslq_f32(vceqq_f32(x, vdupq_n_f32(__builtin_inff())), x, pos);
    return vbslq_f32(vcgtzq_f32(x), pos, vmulq_f32(x, r));
}

/* softplus, as lam__v_softplus in vmath-avx2.h (compensated z = beta x). */
LAM__INLINE float32x4_t lam__n_softplus(float32x4_t x, float32x4_t beta, float32x4_t thr)
{
    const float32x4_t one = vdupq_n_f32(1.0f);
    float32x4_t z = vmulq_f32(x, beta);
    float32x4_t zerr = vnegq_f32(vfmsq_f32(z, x, beta)); /* x beta - z, exact */
    float32x4_t e = Sleef_expf4_u10advsimd(vnegq_f32(vabsq_f32(z)));
    float32x4_t l = Sleef_log1pf4_u10advsimd(e);
    float32x4_t num = vbslq_f32(vcltzq_f32(z), e, one);
    float32x4_t corr = vdivq_f32(vmulq_f32(zerr, num), vaddq_f32(one, e));
    corr = vbslq_f32(vceqq_f32(corr, corr), corr, vdupq_n_f32(0.0f));
    float32x4_t r = vdivq_f32(vaddq_f32(vmaxq_f32(vdupq_n_f32(0.0f), z), vaddq_f32(l, corr)), beta);
    return vbslq_f32(vcgtq_f32(z, thr), x, r);
}

/* Elementwise loop: 8 per step, then 4, then a tail through a 4-float
 * buffer (never reads or writes past n). */
#define LAM__NEON_UNARY_LOOP(n, x, y, OP)                                           \
    do {                                                                            \
        size_t i_ = 0;                                                              \
        for (; i_ + 8 <= (n); i_ += 8) {                                            \
            float32x4_t a_ = vld1q_f32((x) + i_), b_ = vld1q_f32((x) + i_ + 4);     \
            a_ = OP(a_);                                                            \
            b_ = OP(b_);                                                            \
            vst1q_f32((y) + i_, a_);                                                \
            vst1q_f32((y) + i_ + 4, b_);                                            \
        }                                                                           \
        if (i_ + 4 <= (n)) {                                                        \
            vst1q_f32((y) + i_, OP(vld1q_f32((x) + i_)));                           \
            i_ += 4;                                                                \
        }                                                                           \
        if (i_ < (n)) {                                                             \
            float t_[4] = {0, 0, 0, 0};                                             \
            memcpy(t_, (x) + i_, ((n) - i_) * sizeof(float));                      \
            vst1q_f32(t_, OP(vld1q_f32(t_)));                                       \
            memcpy((y) + i_, t_, ((n) - i_) * sizeof(float));                       \
        }                                                                           \
    } while (0)

#endif
