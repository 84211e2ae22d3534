/* f32 layer_norm over one row, NEON (AArch64) (nn.LayerNorm semantics).
 *
 * Contract: y[i] = (x[i] - mean) / sqrt(var + eps) * gamma[i] + beta[i], i in
 * [0, n), biased variance; gamma, beta may be NULL; n in floats, any n (0 is
 * a no-op); no alignment; y may equal x.  Two-pass float64 mean and
 * variance; the mean split into hi + lo floats.  Accuracy: |y - exact| <=
 * 3 ULP(|xhat gamma|) + 0.5 ULP(|y|).  NaN or inf in the row: a row of NaN. */
#include "config.h"

#include <math.h>

#include "simd/simd.h"
#include "simd/arm/neon/rowmax-neon.h"

void lam__f32_layer_norm_neon(size_t n, const float *x, float *y, const float *gamma,
                              const float *beta, float eps)
{
    if (n == 0)
        return;
    const size_t nv = n & ~(size_t)3;
    float64x2_t s0 = vdupq_n_f64(0.0), s1 = s0;
    for (size_t i = 0; i < nv; i += 4)
        lam__acc_f64_neon(vld1q_f32(x + i), &s0, &s1);
    double sum = vaddvq_f64(vaddq_f64(s0, s1));
    for (size_t i = nv; i < n; i++)
        sum += x[i];
    const double mean = sum / (double)n;
    const float64x2_t vm = vdupq_n_f64(mean);
    s0 = s1 = vdupq_n_f64(0.0);
    for (size_t i = 0; i < nv; i += 4) {
        float32x4_t v = vld1q_f32(x + i);
        float64x2_t d0 = vsubq_f64(vcvt_f64_f32(vget_low_f32(v)), vm);
        float64x2_t d1 = vsubq_f64(vcvt_high_f64_f32(v), vm);
        s0 = vfmaq_f64(s0, d0, d0);
        s1 = vfmaq_f64(s1, d1, d1);
    }
    double var = vaddvq_f64(vaddq_f64(s0, s1));
    for (size_t i = nv; i < n; i++)
        var += ((double)x[i] - mean) * ((double)x[i] - mean);
    var /= (double)n;
    const float rstd = (float)(1.0 / sqrt(var + (double)eps));
    const float mhi = (float)mean, mlo = (float)(mean - (double)mhi);
    const float32x4_t vhi = vdupq_n_f32(mhi), vlo = vdupq_n_f32(mlo), vr = vdupq_n_f32(rstd);
    const float32x4_t one = vdupq_n_f32(1.0f), zero = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t xhat = vmulq_f32(vsubq_f32(vsubq_f32(vld1q_f32(x + i), vhi), vlo), vr);
        float32x4_t g = gamma ? vld1q_f32(gamma + i) : one, b = beta ? vld1q_f32(beta + i) : zero;
        vst1q_f32(y + i, vfmaq_f32(b, xhat, g));
    }
    if (i < n) {
        float t[4] = {0, 0, 0, 0}, g[4] = {1, 1, 1, 1}, b[4] = {0, 0, 0, 0};
        const size_t m = n - i;
        memcpy(t, x + i, m * sizeof *t);
        if (gamma)
            memcpy(g, gamma + i, m * sizeof *g);
        if (beta)
            memcpy(b, beta + i, m * sizeof *b);
        float32x4_t xhat = vmulq_f32(vsubq_f32(vsubq_f32(vld1q_f32(t), vhi), vlo), vr);
        vst1q_f32(t, vfmaq_f32(vld1q_f32(b), xhat, vld1q_f32(g)));
        memcpy(y + i, t, m * sizeof *t);
    }
}
