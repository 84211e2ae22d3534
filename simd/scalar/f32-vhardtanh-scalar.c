/* f32 hardtanh, scalar reference: x < a ? a : x > b ? b : x (a = min_val, b = max_val; NaN
 * stays NaN, a signed zero input equal to a bound is kept).
 * Contract: y[i] = hardtanh(x[i]) for i in [0, n); n in floats, any n (0 is a no-op); no
 * alignment needed; y may equal x.  Accuracy: exact. */
#include "config.h"

#include <math.h>

#include "simd/simd.h"

void lam__f32_vhardtanh_scalar(size_t n, const float *x, float *y, float a, float b)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] < a ? a : x[i] > b ? b : x[i];
}
