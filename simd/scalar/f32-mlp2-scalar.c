/* f32 mlp2, scalar reference: two Linear layers fused (kernels.h),
 * y = act2(act1(x W1^T + b1) W2^T + b2) with W1 [H, K], W2 [N, H] packed by
 * the scalar gemm_pack (the identity).
 *
 * Contract: any M, K, H; N <= LAM_MLP2_NMAX (the limit of the table entry;
 * larger N computes nothing); x row stride ldx, y row stride ldy; biases may
 * be NULL.  The same bits as lam__f32_gemm_scalar into a hidden buffer, then
 * lam__f32_gemm_scalar on it: each hidden unit is the fmaf chain over k from
 * 0, + b1, act1; each output is the fmaf chain over the hidden units j =
 * 0..H-1 in order from 0, + b2, act2.  The hidden units are computed one at
 * a time and fed at once into the N output chains (no hidden buffer).
 * Accuracy: that of two scalar gemm calls. */
#include "config.h"

#include <math.h>

#include "simd/scalar/act-scalar.h"
#include "simd/simd.h"

void lam__f32_mlp2_scalar(size_t M, size_t K, size_t H, size_t N, const float *x, size_t ldx,
                          const float *packed1, const float *bias1, lam__epilogue ep1,
                          const float *packed2, const float *bias2, lam__epilogue ep2, float *y,
                          size_t ldy)
{
    if (N > LAM_MLP2_NMAX)
        return;
    for (size_t m = 0; m < M; m++) {
        const float *xr = x + m * ldx;
        float out[LAM_MLP2_NMAX] = {0};
        for (size_t j = 0; j < H; j++) {
            const float *w = packed1 + j * K;
            float h = 0.0f;
            for (size_t k = 0; k < K; k++)
                h = fmaf(xr[k], w[k], h);
            if (bias1)
                h += bias1[j];
            h = lam__act_f32(ep1.act, ep1.alpha, h);
            for (size_t n = 0; n < N; n++)
                out[n] = fmaf(h, packed2[n * H + j], out[n]);
        }
        for (size_t n = 0; n < N; n++) {
            float v = out[n];
            if (bias2)
                v += bias2[n];
            y[m * ldy + n] = lam__act_f32(ep2.act, ep2.alpha, v);
        }
    }
}
