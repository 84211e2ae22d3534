/* f32 prelu, scalar reference: x > 0 ? x : a x (a = the channel's weight; PyTorch's prelu: -0
 * gives -0 a, NaN gives NaN).
 * Contract: y[i] = prelu(x[i]) for i in [0, n); n in floats, any n (0 is a no-op); no
 * alignment needed; y may equal x.  Accuracy: exact (one rounding). */
#include "config.h"

#include <math.h>

#include "simd/simd.h"

void lam__f32_vprelu_scalar(size_t n, const float *x, float *y, float a)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : a * x[i];
}
