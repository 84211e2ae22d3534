/* f32 elu, scalar reference: x <= 0 ? a (exp(x) - 1) : x (a = alpha).
 *
 * Contract: y[i] = elu(x[i]) for i in [0, n); n in floats, any n (0 is a
 * no-op), no alignment needed, y may equal x (in place).  Accuracy: float64
 * evaluation rounded once, <= 1 ULP (ReLU family exact).  This is the
 * fallback kernel and the oracle the SIMD kernels are tested against. */
#include "config.h"

#include "simd/scalar/act-scalar.h"
#include "simd/simd.h"

void lam__f32_velu_scalar(size_t n, const float *x, float *y, float a)
{
    for (size_t i = 0; i < n; i++)
        y[i] = lam__elu_f32(x[i], a);
}
