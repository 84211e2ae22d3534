/* f32 moments, neon: s[0] = sum (x_i - c), s[1] = sum (x_i - c)^2 in
 * float64; the 16 partial sums of the contract are the lanes of eight
 * float64x2 accumulators (elements 2k, 2k + 1 of every 16), the tail
 * loaded lane by lane with the missing lanes' differences zero (+0 changes
 * no partial sum: one is never -0).
 *
 * Contract: LAM_STATS_KERNELS (simd/kernel-list.h).
 * Accuracy: exact (bit-identical to the scalar twin: same partial sums,
 * same tree; vfmaq_f64 is fused). */
#include "config.h"

#include <arm_neon.h>

#include "simd/simd.h"

static inline double tree_neon(const float64x2_t *a)
{
    float64x2_t t0 = vaddq_f64(a[0], a[4]), t1 = vaddq_f64(a[1], a[5]); /* j + 8 */
    float64x2_t t2 = vaddq_f64(a[2], a[6]), t3 = vaddq_f64(a[3], a[7]);
    float64x2_t u0 = vaddq_f64(t0, t2), u1 = vaddq_f64(t1, t3); /* + 4 */
    float64x2_t v = vaddq_f64(u0, u1);                            /* + 2 */
    return vgetq_lane_f64(v, 0) + vgetq_lane_f64(v, 1);           /* + 1 */
}

void lam__f32_moments_neon(size_t n, const float *x, double c, double s[2])
{
    const float64x2_t vc = vdupq_n_f64(c);
    float64x2_t p[8], q[8];
    for (int k = 0; k < 8; k++)
        p[k] = q[k] = vdupq_n_f64(0.0);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 4; k++) {
            float32x4_t v = vld1q_f32(x + i + 4 * k);
            float64x2_t d0 = vsubq_f64(vcvt_f64_f32(vget_low_f32(v)), vc);
            float64x2_t d1 = vsubq_f64(vcvt_high_f64_f32(v), vc);
            p[2 * k] = vaddq_f64(p[2 * k], d0), p[2 * k + 1] = vaddq_f64(p[2 * k + 1], d1);
            q[2 * k] = vfmaq_f64(q[2 * k], d0, d0), q[2 * k + 1] = vfmaq_f64(q[2 * k + 1], d1, d1);
        }
    for (size_t r = n - i, k = 0; k < 8 && 2 * k < r; k++) {
        double e0 = (double)x[i + 2 * k] - c;
        double e1 = 2 * k + 1 < r ? (double)x[i + 2 * k + 1] - c : 0.0;
        float64x2_t d = vsetq_lane_f64(e1, vdupq_n_f64(e0), 1);
        p[k] = vaddq_f64(p[k], d);
        q[k] = vfmaq_f64(q[k], d, d);
    }
    s[0] = tree_neon(p);
    s[1] = tree_neon(q);
}
