/* The NEON GEMM epilogue: bias + activation (+ the addend) on an
 * accumulator tile, then the store of the tile's columns [lo, hi) (partial
 * tiles through a buffer).
 * Out of line, once per tile per K block; the activations are the inline
 * code of the elementwise kernels (vmath-neon.h). */
#include "config.h"

#include "simd/arm/neon/gemm-neon.h"

#define LAM__APPLY(expr)                 \
    for (int r_ = 0; r_ < nreg; r_++) { \
        float32x4_t v = c[r_];           \
        c[r_] = (expr);                  \
    }

static void lam__gemm_act_neon(int nreg, float32x4_t *c, lam__epilogue ep)
{
    const float32x4_t a = vdupq_n_f32(ep.alpha);
    (void)a;
    switch (ep.act) {
    case LAM_ACTIVATION_RELU: LAM__APPLY(lam__n_relu(v)); break;
    case LAM_ACTIVATION_LEAKY_RELU: LAM__APPLY(lam__n_leaky_relu(v, a)); break;
    case LAM_ACTIVATION_RELU6: LAM__APPLY(lam__n_relu6(v)); break;
    case LAM_ACTIVATION_SIGMOID: LAM__APPLY(lam__n_sigmoid(v)); break;
    case LAM_ACTIVATION_TANH: LAM__APPLY(lam__n_tanh(v)); break;
    case LAM_ACTIVATION_GELU: LAM__APPLY(lam__n_gelu(v)); break;
    case LAM_ACTIVATION_GELU_TANH: LAM__APPLY(lam__n_gelu_tanh(v)); break;
    case LAM_ACTIVATION_SILU: LAM__APPLY(lam__n_silu(v)); break;
    case LAM_ACTIVATION_IDENTITY:
    default: break;
    }
}

void lam__gemm_load_tile_neon(int mr, float32x4_t *c, const float *y, size_t ldy, size_t lo,
                              size_t hi)
{
    for (int i = 0; i < mr; i++) {
        if (lo == 0 && hi == 16) {
            for (int j = 0; j < 4; j++)
                c[4 * i + j] = vld1q_f32(y + i * ldy + 4 * j);
        } else {
            float t[16] = {0};
            memcpy(t + lo, y + i * ldy + lo, (hi - lo) * sizeof *t);
            for (int j = 0; j < 4; j++)
                c[4 * i + j] = vld1q_f32(t + 4 * j);
        }
    }
}

void lam__gemm_store_tile_neon(int mr, float32x4_t *c, float *y, size_t ldy, size_t lo, size_t hi,
                               int last, const float *bias, lam__epilogue ep)
{
    const int full = lo == 0 && hi == 16;
    if (last) {
        if (bias) {
            float t[16] = {0};
            const float *b = bias;
            if (!full) {
                memcpy(t + lo, bias + lo, (hi - lo) * sizeof *t);
                b = t;
            }
            for (int j = 0; j < 4; j++) {
                float32x4_t bj = vld1q_f32(b + 4 * j);
                for (int i = 0; i < mr; i++)
                    c[4 * i + j] = vaddq_f32(c[4 * i + j], bj);
            }
        }
        lam__gemm_act_neon(4 * mr, c, ep);
        if (ep.add) /* the residual addend, after the activation */
            for (int i = 0; i < mr; i++) {
                float t[16] = {0};
                const float *r = ep.add + i * ep.ldadd;
                if (!full) {
                    memcpy(t + lo, r + lo, (hi - lo) * sizeof *t);
                    r = t;
                }
                for (int j = 0; j < 4; j++)
                    c[4 * i + j] = vaddq_f32(c[4 * i + j], vld1q_f32(r + 4 * j));
            }
    }
    for (int i = 0; i < mr; i++) {
        if (full) {
            for (int j = 0; j < 4; j++)
                vst1q_f32(y + i * ldy + 4 * j, c[4 * i + j]);
        } else {
            float t[16];
            for (int j = 0; j < 4; j++)
                vst1q_f32(t + 4 * j, c[4 * i + j]);
            memcpy(y + i * ldy + lo, t + lo, (hi - lo) * sizeof *t);
        }
    }
}
