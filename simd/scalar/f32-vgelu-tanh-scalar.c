/* f32 gelu_tanh, scalar reference: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (nn.GELU('tanh')).
 *
 * Contract: y[i] = gelu_tanh(x[i]) for i in [0, n); n in floats, any n (0 is a
 * no-op), no alignment needed, y may equal x (in place).  Accuracy: float64
 * evaluation rounded once, <= 1 ULP (ReLU family exact).  This is the
 * fallback kernel and the oracle the SIMD kernels are tested against. */
#include "config.h"

#include "simd/scalar/act-scalar.h"
#include "simd/simd.h"

void lam__f32_vgelu_tanh_scalar(size_t n, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = lam__gelu_tanh_f32(x[i]);
}
