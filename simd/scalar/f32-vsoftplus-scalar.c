/* f32 softplus, scalar reference: PyTorch's nn.Softplus(beta, threshold),
 * y = x where beta x > threshold, else log1p(exp(beta x)) / beta.
 *
 * Contract: n in floats, any n, no alignment, y may equal x.  Accuracy:
 * float64 evaluation rounded once, <= 1 ULP.  NaN in gives NaN out. */
#include "config.h"

#include "simd/scalar/act-scalar.h"
#include "simd/simd.h"

void lam__f32_vsoftplus_scalar(size_t n, const float *x, float *y, float beta, float threshold)
{
    for (size_t i = 0; i < n; i++)
        y[i] = lam__softplus_f32(x[i], beta, threshold);
}
