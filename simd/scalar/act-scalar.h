/* Scalar activations shared by the scalar elementwise kernels and the scalar
 * GEMM epilogue.  They are the reference semantics (PyTorch's formulas),
 * evaluated in float64 and rounded once, so every result is within 1 ULP of
 * the exact value (exp/tanh/erf of glibc's double libm are < 1 ULP in double).
 *
 * NaN in gives NaN out.  Infinities give what the formula gives in PyTorch:
 * sigmoid(-inf) = 0, silu(-inf) = gelu(-inf) = NaN (-inf * 0), as
 * torch.nn.functional does.  relu(-0) = -0 (max(0, x) keeps x on a tie). */
#ifndef LAMINA_SIMD_SCALAR_ACT_SCALAR_H
#define LAMINA_SIMD_SCALAR_ACT_SCALAR_H

#include <math.h>

#include "simd/kernels.h"

static inline float lam__relu_f32(float x) { return x < 0.0f ? 0.0f : x; }

static inline float lam__leaky_relu_f32(float x, float a) { return x < 0.0f ? x * a : x; }

static inline float lam__relu6_f32(float x) { return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x); }

static inline float lam__elu_f32(float x, float a)
{
    return x <= 0.0f ? (float)((double)a * expm1((double)x)) : x;
}

static inline float lam__sigmoid_f32(float x) { return (float)(1.0 / (1.0 + exp(-(double)x))); }

static inline float lam__tanh_f32(float x) { return (float)tanh((double)x); }

static inline float lam__gelu_f32(float x)
{
    double d = x;
    return (float)(0.5 * d * (1.0 + erf(d * 0.70710678118654752440)));
}

static inline float lam__gelu_tanh_f32(float x)
{
    double d = x;
    return (float)(0.5 * d * (1.0 + tanh(0.79788456080286535588 * (d + 0.044715 * d * d * d))));
}

static inline float lam__silu_f32(float x)
{
    double d = x;
    return (float)(d / (1.0 + exp(-d)));
}

static inline float lam__exp_f32(float x) { return (float)exp((double)x); }

static inline float lam__softplus_f32(float x, float beta, float threshold)
{
    if (x * beta > threshold)
        return x;
    return (float)(log1p(exp((double)x * beta)) / beta);
}

/* The GEMM epilogue's activation (alpha is LEAKY_RELU's slope). */
static inline float lam__act_f32(lam_activation act, float alpha, float v)
{
    switch (act) {
    case LAM_ACTIVATION_RELU: return lam__relu_f32(v);
    case LAM_ACTIVATION_LEAKY_RELU: return lam__leaky_relu_f32(v, alpha);
    case LAM_ACTIVATION_RELU6: return lam__relu6_f32(v);
    case LAM_ACTIVATION_SIGMOID: return lam__sigmoid_f32(v);
    case LAM_ACTIVATION_TANH: return lam__tanh_f32(v);
    case LAM_ACTIVATION_GELU: return lam__gelu_f32(v);
    case LAM_ACTIVATION_GELU_TANH: return lam__gelu_tanh_f32(v);
    case LAM_ACTIVATION_SILU: return lam__silu_f32(v);
    case LAM_ACTIVATION_IDENTITY:
    default: break;
    }
    return v;
}

#endif
