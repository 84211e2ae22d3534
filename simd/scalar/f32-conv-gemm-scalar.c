/* The convolution GEMM, scalar twin and oracle: y[m, j] = act(sum_k W[m,
 * k] rows[k][off + j] + bias[m]) (contract: LAM_CONV_KERNELS in
 * simd/kernel-list.h).
 *
 * Packing is the identity (W row-major M x K).  Each output is the
 * contract's chain: fmaf over k = 0 .. K-1 in order from 0, then + bias,
 * then + the residual addend (ep.add: one IEEE add), then the activation
 * as the scalar elementwise kernels compute it (lam__act_f32), so every
 * ISA gives these bits (IDENTITY, RELU, RELU6,
 * LEAKY_RELU) or the activation's bound.  Accuracy: |err| <= K eps sum_k
 * |w x| + 1 ULP of the activation. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "simd/scalar/act-scalar.h"
#include "simd/simd.h"

size_t lam__f32_conv_packed_size_scalar(size_t M, size_t K) { return M * K; }

void lam__f32_conv_pack_scalar(size_t M, size_t K, const float *W, float *packed)
{
    if (M != 0 && K != 0)
        memcpy(packed, W, M * K * sizeof *W);
}

void lam__f32_conv_gemm_scalar(size_t M, size_t N, size_t K, const float *packed,
                               const float *const *rows, size_t off, const float *bias, float *y,
                               size_t ldy, lam__epilogue ep)
{
    for (size_t m = 0; m < M; m++) {
        const float *w = packed + m * K;
        for (size_t j = 0; j < N; j++) {
            float acc = 0.0f;
            for (size_t k = 0; k < K; k++)
                acc = fmaf(w[k], rows[k][off + j], acc);
            if (bias)
                acc += bias[m];
            if (ep.add)
                acc += ep.add[m * ep.ldadd + j];
            y[m * ldy + j] = lam__act_f32(ep.act, ep.alpha, acc);
        }
    }
}

/* conv_gemm_rows: pixel j to output row j / wp, column j % wp (< ow). */
void lam__f32_conv_gemm_rows_scalar(size_t M, size_t N, size_t K, const float *packed,
                                    const float *const *rows, size_t off, const float *bias,
                                    float *y, size_t ldy, lam__epilogue ep, size_t wp, size_t ow)
{
    for (size_t m = 0; m < M; m++) {
        const float *w = packed + m * K;
        for (size_t j = 0; j < N; j++) {
            if (j % wp >= ow)
                continue;
            float acc = 0.0f;
            for (size_t k = 0; k < K; k++)
                acc = fmaf(w[k], rows[k][off + j], acc);
            if (bias)
                acc += bias[m];
            if (ep.add) /* (laid out as y) */
                acc += ep.add[m * ep.ldadd + j / wp * ow + j % wp];
            y[m * ldy + j / wp * ow + j % wp] = lam__act_f32(ep.act, ep.alpha, acc);
        }
    }
}
