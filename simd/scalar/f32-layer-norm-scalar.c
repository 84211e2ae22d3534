/* f32 layer_norm over one row, scalar reference (nn.LayerNorm semantics).
 *
 * Contract: y[i] = (x[i] - mean) / sqrt(var + eps) * gamma[i] + beta[i] for i
 * in [0, n), var biased (divided by n); gamma and beta may be NULL (1 and 0).
 * n in floats, any n (0 is a no-op), y may equal x.  Mean and variance are
 * two-pass in float64, so the result is within about 1 ULP of exact.  NaN or
 * inf anywhere in the row gives a row of NaN. */
#include "config.h"

#include <math.h>

#include "simd/simd.h"

void lam__f32_layer_norm_scalar(size_t n, const float *x, float *y, const float *gamma,
                                const float *beta, float eps)
{
    if (n == 0)
        return;
    double mean = 0.0;
    for (size_t i = 0; i < n; i++)
        mean += x[i];
    mean /= (double)n;
    double var = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - mean;
        var += d * d;
    }
    var /= (double)n;
    double rstd = 1.0 / sqrt(var + (double)eps);
    for (size_t i = 0; i < n; i++) {
        double v = (x[i] - mean) * rstd;
        if (gamma)
            v *= gamma[i];
        if (beta)
            v += beta[i];
        y[i] = (float)v;
    }
}
