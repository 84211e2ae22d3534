/* f32 log_softmax over one row, NEON (AArch64).
 *
 * Contract: y[i] = (x[i] - max) - log(sum_j exp(x[j] - max)), i in [0, n);
 * n in floats, any n (0 is a no-op); no alignment; y may equal x.  The sum
 * is float64 and its log is taken in float64 once per row; x - max <= 0 and
 * the log-sum-exp >= 0, so the final subtraction never cancels.  Accuracy:
 * <= 2 ULP.  NaN or +inf anywhere, or a row of only -inf, gives NaN. */
#include "config.h"

#include <math.h>

#include "simd/simd.h"
#include "simd/arm/neon/rowmax-neon.h"

void lam__f32_log_softmax_neon(size_t n, const float *x, float *y)
{
    if (n == 0)
        return;
    const float32x4_t negm = vdupq_n_f32(-lam__rowmax_neon(n, x));
    float64x2_t s0 = vdupq_n_f64(0.0), s1 = s0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        lam__acc_f64_neon(lam__exp_shifted_neon(vld1q_f32(x + i), negm), &s0, &s1);
    const size_t tail = n - i;
    float t[4] = {0, 0, 0, 0};
    if (tail) {
        memcpy(t, x + i, tail * sizeof *t);
        vst1q_f32(t, lam__exp_shifted_neon(vld1q_f32(t), negm));
        for (size_t j = tail; j < 4; j++)
            t[j] = 0.0f;
        lam__acc_f64_neon(vld1q_f32(t), &s0, &s1);
    }
    const float32x4_t lse = vdupq_n_f32((float)log(vaddvq_f64(vaddq_f64(s0, s1))));
    for (i = 0; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vsubq_f32(vaddq_f32(vld1q_f32(x + i), negm), lse));
    if (tail) {
        memcpy(t, x + i, tail * sizeof *t);
        vst1q_f32(t, vsubq_f32(vaddq_f32(vld1q_f32(t), negm), lse));
        memcpy(y + i, t, tail * sizeof *t);
    }
}
