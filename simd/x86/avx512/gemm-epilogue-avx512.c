/* The AVX-512 GEMM epilogue's activations other than IDENTITY / RELU: the
 * table's elementwise kernels over a finished tile (LAM__GEMM_AVX512_VMATH,
 * gemm-avx512.h), so that Linear + act gives the bits of Linear, then the
 * elementwise act.  Out of line: once per tile, against KC FMAs per
 * element. */
#include "config.h"

#include "simd/x86/avx512/gemm-avx512.h"

void lam__gemm_act_avx512(size_t n, float *v, lam__epilogue ep)
{
    switch (ep.act) {
    case LAM_ACTIVATION_RELU: LAM__GEMM_AVX512_VMATH(relu)(n, v, v); break;
    case LAM_ACTIVATION_LEAKY_RELU: LAM__GEMM_AVX512_VMATH(leaky_relu)(n, v, v, ep.alpha); break;
    case LAM_ACTIVATION_RELU6: LAM__GEMM_AVX512_VMATH(relu6)(n, v, v); break;
    case LAM_ACTIVATION_SIGMOID: LAM__GEMM_AVX512_VMATH(sigmoid)(n, v, v); break;
    case LAM_ACTIVATION_TANH: LAM__GEMM_AVX512_VMATH(tanh)(n, v, v); break;
    case LAM_ACTIVATION_GELU: LAM__GEMM_AVX512_VMATH(gelu)(n, v, v); break;
    case LAM_ACTIVATION_GELU_TANH: LAM__GEMM_AVX512_VMATH(gelu_tanh)(n, v, v); break;
    case LAM_ACTIVATION_SILU: LAM__GEMM_AVX512_VMATH(silu)(n, v, v); break;
    case LAM_ACTIVATION_IDENTITY:
    default: break;
    }
}
