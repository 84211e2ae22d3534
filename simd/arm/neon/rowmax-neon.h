/* Row helpers for the NEON softmax kernels (see rowmax-avx2.h). */
#ifndef LAMINA_SIMD_ARM_NEON_ROWMAX_NEON_H
#define LAMINA_SIMD_ARM_NEON_ROWMAX_NEON_H

#include "simd/arm/neon/vmath-neon.h"

/* Row maximum, NaN-ignoring (vmaxnmq): a NaN still reaches the sum through
 * exp(x - max). */
LAM__INLINE float lam__rowmax_neon(size_t n, const float *x)
{
    float32x4_t m0 = vdupq_n_f32(-__builtin_inff()), m1 = m0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        m0 = vmaxnmq_f32(m0, vld1q_f32(x + i));
        m1 = vmaxnmq_f32(m1, vld1q_f32(x + i + 4));
    }
    float m = vmaxnmvq_f32(vmaxnmq_f32(m0, m1));
    for (; i < n; i++)
        m = x[i] > m ? x[i] : m;
    return m;
}

/* e^(x - m) with the rounding error of x - m put back (TwoSum). */
LAM__INLINE float32x4_t lam__exp_shifted_neon(float32x4_t x, float32x4_t negm)
{
    float32x4_t d = vaddq_f32(x, negm);
    float32x4_t bb = vsubq_f32(d, x);
    float32x4_t err = vaddq_f32(vsubq_f32(x, vsubq_f32(d, bb)), vsubq_f32(negm, bb));
    err = vbslq_f32(vceqq_f32(err, err), err, vdupq_n_f32(0.0f));
    float32x4_t e = Sleef_expf4_u10advsimd(d);
    return vfmaq_f32(e, e, err);
}

/* Sum of 4 floats into 2 double accumulators. */
LAM__INLINE void lam__acc_f64_neon(float32x4_t v, float64x2_t *s0, float64x2_t *s1)
{
    *s0 = vaddq_f64(*s0, vcvt_f64_f32(vget_low_f32(v)));
    *s1 = vaddq_f64(*s1, vcvt_high_f64_f32(v));
}

#endif
