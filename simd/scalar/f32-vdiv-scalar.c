/* f32 divide, scalar reference.
 *
 * Contract, for i in [0, n):
 *   vdiv: y[i] = a[i] / b[i]
 *   vdivc: y[i] = a[i] / c
 *   vrdivc: y[i] = c / a[i]
 * n in floats, any n (0 is a no-op); no alignment needed; y may equal a or
 * b (in place).  Accuracy: one IEEE-754 single-precision operation per
 * element, correctly rounded (exact).  This is the fallback kernel and the
 * oracle the SIMD kernels are tested against. */
#include "config.h"

#include "simd/simd.h"

void lam__f32_vdiv_scalar(size_t n, const float *a, const float *b, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] / b[i];
}

void lam__f32_vdivc_scalar(size_t n, const float *a, float c, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] / c;
}

void lam__f32_vrdivc_scalar(size_t n, const float *a, float c, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = c / a[i];
}
