/* f32 mish, scalar reference: x tanh(log1p(exp(x))) (PyTorch's formula).
 * Contract: y[i] = mish(x[i]) for i in [0, n); n in floats, any n (0 is a no-op); no alignment
 * needed; y may equal x.  Accuracy: float64 evaluation rounded once, <= 1 ULP. */
#include "config.h"

#include <math.h>

#include "simd/simd.h"

void lam__f32_vmish_scalar(size_t n, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++) {
        double d = x[i];
        y[i] = (float)(d * tanh(log1p(exp(d))));
    }
}
