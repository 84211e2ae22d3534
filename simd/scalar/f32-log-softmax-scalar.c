/* f32 log_softmax over one row, scalar reference.
 *
 * Contract: y[i] = x[i] - max - log(sum_j exp(x[j] - max)) for i in [0, n);
 * n in floats, any n (0 is a no-op), y may equal x.  Float64 evaluation,
 * rounded once (<= 1 ULP).  NaN anywhere in the row, or
 * +inf, or a row of only -inf, gives a row of NaN, as torch.log_softmax. */
#include "config.h"

#include <math.h>

#include "simd/simd.h"

void lam__f32_log_softmax_scalar(size_t n, const float *x, float *y)
{
    if (n == 0)
        return;
    float max = x[0];
    for (size_t i = 1; i < n; i++)
        if (x[i] > max)
            max = x[i];
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += exp((double)x[i] - (double)max);
    /* x - max is exact in float64, and it and log(sum) have the same sign */
    double lse = log(sum);
    for (size_t i = 0; i < n; i++)
        y[i] = (float)(((double)x[i] - (double)max) - lse);
}
