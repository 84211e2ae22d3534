/* f32 affine, scalar reference: fmaf(x, a, b): BatchNorm's eval step y = x alpha + beta with
 * one rounding, as PyTorch's CPU kernel (its compiler contracts it into an FMA).
 * Contract: y[i] = affine(x[i]) for i in [0, n); n in floats, any n (0 is a no-op); no
 * alignment needed; y may equal x.  Accuracy: exact (one fused multiply-add, <= 0.5 ULP). */
#include "config.h"

#include <math.h>

#include "simd/simd.h"

void lam__f32_vaffine_scalar(size_t n, const float *x, float *y, float a, float b)
{
    for (size_t i = 0; i < n; i++)
        y[i] = fmaf(x[i], a, b);
}
