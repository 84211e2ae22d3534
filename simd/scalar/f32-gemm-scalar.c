/* f32 GEMM, scalar reference: y[M, N] = act(x[M, K] . W[N, K]^T + bias[N]).
 *
 * Contract: computes output columns [n_begin, n_end) of every row; x and y
 * have row strides ldx, ldy (floats); bias may be NULL; no alignment needed.
 * Packing is the identity (packed = W, row-major N x K).  Each output is
 * the determinism contract's chain (simd/gemm/gemm-ukernel.h): fmaf over
 * k = 0..K-1 in order from 0, then + bias, then the activation as the
 * scalar elementwise kernels compute it (lam__act_f32), then + the
 * epilogue's addend (ep.add, when not NULL).  So every ISA's
 * gemm gives these bits exactly for IDENTITY, RELU, RELU6 and LEAKY_RELU,
 * and within its activation's bound otherwise: this is the oracle.
 * Accuracy: |err| <= K eps sum_k |x_k w_k| + 1 ULP of the activation. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "simd/scalar/act-scalar.h"
#include "simd/simd.h"

size_t lam__f32_gemm_packed_size_scalar(size_t N, size_t K) { return N * K; }

void lam__f32_gemm_pack_scalar(size_t N, size_t K, const float *W, float *packed)
{
    if (N != 0 && K != 0)
        memcpy(packed, W, N * K * sizeof *W);
}

void lam__f32_gemm_scalar(size_t M, size_t N, size_t K, const float *x, size_t ldx,
                          const float *packed, const float *bias, float *y, size_t ldy,
                          lam__epilogue ep, size_t n_begin, size_t n_end)
{
    (void)N;
    for (size_t m = 0; m < M; m++) {
        const float *xr = x + m * ldx;
        for (size_t n = n_begin; n < n_end; n++) {
            const float *w = packed + n * K;
            float acc = 0.0f;
            for (size_t k = 0; k < K; k++)
                acc = fmaf(xr[k], w[k], acc);
            if (bias)
                acc += bias[n];
            acc = lam__act_f32(ep.act, ep.alpha, acc);
            if (ep.add)
                acc += ep.add[m * ep.ldadd + n];
            y[m * ldy + n] = acc;
        }
    }
}
