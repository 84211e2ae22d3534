/* The AVX2 GEMM epilogue: bias + activation (+ the addend) on an
 * accumulator tile, then the store of the tile's columns [lo, hi).  Out of line (once per tile per
 * K block, against KC FMAs per element), so that the microkernels stay
 * small; the activations are the same inline code as the elementwise
 * kernels (vmath-avx2.h), so Linear+act equals Linear then act, bit for bit. */
#include "config.h"

#include "simd/x86/avx2/gemm-avx2.h"

#define LAM__APPLY(expr)                   \
    for (int r_ = 0; r_ < nreg; r_++) {   \
        __m256 v = c[r_];                  \
        c[r_] = (expr);                    \
    }

void lam__gemm_act_avx2(int nreg, __m256 *c, lam__epilogue ep)
{
    const __m256 a = _mm256_set1_ps(ep.alpha);
    (void)a;
    switch (ep.act) {
    case LAM_ACTIVATION_RELU: LAM__APPLY(lam__v_relu(v)); break;
    case LAM_ACTIVATION_LEAKY_RELU: LAM__APPLY(lam__v_leaky_relu(v, a)); break;
    case LAM_ACTIVATION_RELU6: LAM__APPLY(lam__v_relu6(v)); break;
    case LAM_ACTIVATION_SIGMOID: LAM__APPLY(lam__v_sigmoid(v)); break;
    case LAM_ACTIVATION_TANH: LAM__APPLY(lam__v_tanh(v)); break;
    case LAM_ACTIVATION_GELU: LAM__APPLY(lam__v_gelu(v)); break;
    case LAM_ACTIVATION_GELU_TANH: LAM__APPLY(lam__v_gelu_tanh(v)); break;
    case LAM_ACTIVATION_SILU: LAM__APPLY(lam__v_silu(v)); break;
    case LAM_ACTIVATION_IDENTITY:
    default: break;
    }
}

void lam__gemm_store_tile_avx2(int mr, __m256 *c, float *y, size_t ldy, size_t lo, size_t hi,
                               int last, const float *bias, lam__epilogue ep)
{
    const int full = lo == 0 && hi == 16;
    const __m256i m0 = lam__colmask_avx2(0, lo, hi), m1 = lam__colmask_avx2(1, lo, hi);
    if (last && hi <= 8) {
        /* the upper halves store nothing: bias + activation on c[2 i] only,
         * compacted into c[i] (same elementwise arithmetic) */
        const __m256 b0 = bias ? _mm256_maskload_ps(bias, m0) : _mm256_setzero_ps();
        for (int i = 0; i < mr; i++)
            c[i] = bias ? _mm256_add_ps(c[2 * i], b0) : c[2 * i];
        lam__gemm_act_avx2(mr, c, ep);
        if (ep.add)
            for (int i = 0; i < mr; i++)
                c[i] = _mm256_add_ps(c[i], _mm256_maskload_ps(ep.add + i * ep.ldadd, m0));
        for (int i = 0; i < mr; i++)
            _mm256_maskstore_ps(y + i * ldy, m0, c[i]);
        return;
    }
    if (last) {
        if (bias) {
            __m256 b0 = full ? _mm256_loadu_ps(bias) : _mm256_maskload_ps(bias, m0);
            __m256 b1 = full ? _mm256_loadu_ps(bias + 8) : _mm256_maskload_ps(bias + 8, m1);
            for (int i = 0; i < mr; i++) {
                c[2 * i] = _mm256_add_ps(c[2 * i], b0);
                c[2 * i + 1] = _mm256_add_ps(c[2 * i + 1], b1);
            }
        }
        lam__gemm_act_avx2(2 * mr, c, ep);
        if (ep.add)
            for (int i = 0; i < mr; i++) {
                const float *r = ep.add + i * ep.ldadd;
                c[2 * i] = _mm256_add_ps(c[2 * i], full ? _mm256_loadu_ps(r)
                                                        : _mm256_maskload_ps(r, m0));
                c[2 * i + 1] = _mm256_add_ps(c[2 * i + 1], full ? _mm256_loadu_ps(r + 8)
                                                                : _mm256_maskload_ps(r + 8, m1));
            }
    }
    if (full) {
        for (int i = 0; i < mr; i++) {
            _mm256_storeu_ps(y + i * ldy, c[2 * i]);
            _mm256_storeu_ps(y + i * ldy + 8, c[2 * i + 1]);
        }
    } else {
        for (int i = 0; i < mr; i++) {
            _mm256_maskstore_ps(y + i * ldy, m0, c[2 * i]);
            _mm256_maskstore_ps(y + i * ldy + 8, m1, c[2 * i + 1]);
        }
    }
}
