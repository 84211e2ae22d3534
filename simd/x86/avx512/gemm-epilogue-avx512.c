/* The AVX-512 GEMM epilogue's activation: bias-free activation of nreg zmm
 * accumulators in place, for the AVX-512 GEMM microkernels (which add the
 * bias first).  Out of line (once per tile per K block, against KC FMAs per
 * element) so that the microkernels stay small; the activations are the
 * same inline code as the elementwise kernels (vmath-avx512.h), so
 * Linear+act equals Linear then act, bit for bit. */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vmath-avx512.h"

#define LAM__APPLY(expr)                 \
    for (int r_ = 0; r_ < nreg; r_++) { \
        __m512 v = c[r_];                \
        c[r_] = (expr);                  \
    }

void lam__gemm_act_avx512(int nreg, __m512 *c, lam__epilogue ep)
{
    const __m512 a = _mm512_set1_ps(ep.alpha);
    (void)a;
    switch (ep.act) {
    case LAM_ACTIVATION_RELU: LAM__APPLY(lam__v16_relu(v)); break;
    case LAM_ACTIVATION_LEAKY_RELU: LAM__APPLY(lam__v16_leaky_relu(v, a)); break;
    case LAM_ACTIVATION_RELU6: LAM__APPLY(lam__v16_relu6(v)); break;
    case LAM_ACTIVATION_SIGMOID: LAM__APPLY(lam__v16_sigmoid(v)); break;
    case LAM_ACTIVATION_TANH: LAM__APPLY(lam__v16_tanh(v)); break;
    case LAM_ACTIVATION_GELU: LAM__APPLY(lam__v16_gelu(v)); break;
    case LAM_ACTIVATION_GELU_TANH: LAM__APPLY(lam__v16_gelu_tanh(v)); break;
    case LAM_ACTIVATION_SILU: LAM__APPLY(lam__v16_silu(v)); break;
    case LAM_ACTIVATION_IDENTITY:
    default: break;
    }
}
