/* f32 GEMM, scalar reference: y[M, N] = act(x[M, K] . W[N, K]^T + bias[N]).
 *
 * Contract: computes output columns [n_begin, n_end) of every row; x and y
 * have row strides ldx, ldy (floats); bias may be NULL; no alignment needed.
 * Packing is the identity (packed = W, row-major N x K).  Each dot product
 * is accumulated in float64 and rounded once, then bias and activation are
 * applied as the scalar elementwise kernels do (lam__act_f32). */
#include "config.h"

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
            double acc = 0.0;
            for (size_t k = 0; k < K; k++)
                acc += (double)xr[k] * (double)w[k];
            float v = (float)acc;
            if (bias)
                v += bias[n];
            y[m * ldy + n] = lam__act_f32(ep.act, ep.alpha, v);
        }
    }
}
