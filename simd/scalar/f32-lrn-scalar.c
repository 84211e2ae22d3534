/* f32 lrn (LocalResponseNorm), scalar: per position, the window's squares
 * summed in float64 in channel order, d = fma(s, alpha / size, k) and y = x
 * pow(d, -beta) in float64 (beta = 0.75: x / (sqrt(d) sqrt(sqrt(d)))),
 * rounded once.
 *
 * Contract: LAM_CHANNEL_KERNELS (simd/kernel-list.h).  The oracle of the
 * vector kernels: they compute s and d with the same bits and differ only
 * in pow (SLEEF's u10 against libm's); with beta = 0.75 they give its bits.
 * Accuracy: <= 1 ULP of the exact value (k >= 0, |beta| (size + 1) <
 * 2^27): the float64 pipeline is within (|beta| (size + 1) + 5) 2^-53 of
 * exact before the one rounding to float. */
#include "config.h"

#include <math.h>

#include "simd/simd.h"

void lam__f32_lrn_scalar(size_t C, size_t S, const float *x, float *y, size_t size, double alpha,
                         double beta, double k, size_t p_begin, size_t p_end)
{
    const double q = alpha / (double)size;
    const size_t before = size / 2, after = (size - 1) / 2;
    const int b34 = beta == 0.75;
    for (size_t c = 0; c < C; c++) {
        size_t c0 = c < before ? 0 : c - before;
        size_t c1 = c + after >= C ? C - 1 : c + after;
        for (size_t i = p_begin; i < p_end; i++) {
            double s = 0.0;
            for (size_t j = c0; j <= c1; j++) {
                double v = (double)x[j * S + i];
                s = fma(v, v, s);
            }
            double d = fma(s, q, k), xc = (double)x[c * S + i];
            if (b34) {
                double r = sqrt(d);
                y[c * S + i] = (float)(xc / (r * sqrt(r)));
            } else {
                y[c * S + i] = (float)(xc * pow(d, -beta));
            }
        }
    }
}
