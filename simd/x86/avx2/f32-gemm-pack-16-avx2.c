/* f32 GEMM weight packing for the AVX2 kernels: W[N, K] row-major into
 * panels of 16 output columns (layout in gemm-avx2.h), zero-padded to a
 * multiple of 16 columns.  packed_size(N, K) = ceil(N / 16) * 16 * K floats;
 * no alignment needed (the kernels use unaligned loads).  Done once per
 * weight matrix, so it is a plain loop: each panel reads 16 rows of W in
 * parallel streams and writes one contiguous block. */
#include "config.h"

#include "simd/x86/avx2/gemm-avx2.h"

size_t lam__f32_gemm_packed_size_avx2(size_t N, size_t K)
{
    return (N + LAM__GEMM_NR - 1) / LAM__GEMM_NR * LAM__GEMM_NR * K;
}

void lam__f32_gemm_pack_avx2(size_t N, size_t K, const float *W, float *packed)
{
    for (size_t n0 = 0; n0 < N; n0 += LAM__GEMM_NR) {
        float *dst = packed + n0 * K;
        const size_t nr = N - n0 < LAM__GEMM_NR ? N - n0 : LAM__GEMM_NR;
        for (size_t k = 0; k < K; k++) {
            size_t j = 0;
            for (; j < nr; j++)
                dst[k * LAM__GEMM_NR + j] = W[(n0 + j) * K + k];
            for (; j < LAM__GEMM_NR; j++)
                dst[k * LAM__GEMM_NR + j] = 0.0f;
        }
    }
}
