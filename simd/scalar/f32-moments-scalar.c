/* f32 moments, scalar: s[0] = sum (x_i - c), s[1] = sum (x_i - c)^2 in
 * float64, element i into partial sum i mod 16, then the partials combined
 * as a tree.
 *
 * Contract: LAM_STATS_KERNELS (simd/kernel-list.h).  The oracle of the
 * vector kernels: each of them keeps the same 16 partial sums in its lanes.
 * Accuracy: exact (the fixed order; fma is libm's exact fused operation). */
#include "config.h"

#include <math.h>

#include "simd/simd.h"

void lam__f32_moments_scalar(size_t n, const float *x, double c, double s[2])
{
    double p1[16] = {0}, p2[16] = {0};
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - c;
        p1[i % 16] += d;
        p2[i % 16] = fma(d, d, p2[i % 16]);
    }
    for (int h = 8; h >= 1; h /= 2)
        for (int j = 0; j < h; j++) {
            p1[j] += p1[j + h];
            p2[j] += p2[j + h];
        }
    s[0] = p1[0];
    s[1] = p2[0];
}
