/* f32 softmax over one row, scalar reference.
 *
 * Contract: y[i] = exp(x[i] - max) / sum_j exp(x[j] - max) for i in [0, n);
 * n in floats, any n (0 is a no-op), y may equal x.  Numerically stable (max
 * subtracted); the sum is accumulated in float64, so each result is within
 * about 1 ULP.  A NaN anywhere in the row, or +inf, or a row of only -inf,
 * gives a row of NaN, as torch.softmax does. */
#include "config.h"

#include <math.h>

#include "simd/simd.h"

void lam__f32_softmax_scalar(size_t n, const float *x, float *y)
{
    if (n == 0)
        return;
    float max = x[0];
    for (size_t i = 1; i < n; i++)
        if (x[i] > max)
            max = x[i];
    /* a NaN in x makes x - max NaN, which propagates through the sum */
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += exp((double)x[i] - (double)max);
    double scale = 1.0 / sum;
    for (size_t i = 0; i < n; i++)
        y[i] = (float)(exp((double)x[i] - (double)max) * scale);
}
