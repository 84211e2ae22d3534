/* f32 hardsigmoid, scalar reference: min(max(x + 3, 0), 6) / 6.
 * Contract: y[i] = hardsigmoid(x[i]) for i in [0, n); n in floats, any n (0 is a no-op); no
 * alignment needed; y may equal x.  Accuracy: exact float32 operations as PyTorch, <= 2 ULP of
 * the exact value. */
#include "config.h"

#include <math.h>

#include "simd/simd.h"

void lam__f32_vhardsigmoid_scalar(size_t n, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++) {
        float t = x[i] + 3.0f;
        t = t < 0.0f ? 0.0f : t; /* NaN stays NaN */
        t = t > 6.0f ? 6.0f : t;
        y[i] = t / 6.0f;
    }
}
