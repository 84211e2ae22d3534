/* f32 lrn (LocalResponseNorm), neon (AArch64): 4 positions of a channel at a
 * time (contiguous in NCHW), as two float64x2: the window's squares summed
 * with vfmaq_f64 in channel order (each square exact: the scalar twin's s),
 * d = fma(s, alpha / size, k), pow(d, -beta) by Sleef_powd2_u10advsimd, x
 * pow rounded once by vcvt_f32_f64; beta = 0.75 (PyTorch's default) as x /
 * (sqrt(d) sqrt(sqrt(d))), IEEE operations: the scalar twin's bits.  The
 * last block of a channel goes through a zeroed copy of its positions (reads
 * and writes only positions < p_end).
 *
 * Contract: LAM_CHANNEL_KERNELS (simd/kernel-list.h).
 * Accuracy: <= 1 ULP of the exact value, and of the scalar twin (same s and
 * d; only pow differs: SLEEF u10, <= 1 ULP of float64); beta = 0.75: the
 * scalar twin's bits. */
#include "config.h"

#include <arm_neon.h>
#include <sleef.h>
#include <string.h>

#include "simd/simd.h"

static inline __attribute__((always_inline)) float32x4_t ld4(const float *p, size_t n)
{
    if (n == 4)
        return vld1q_f32(p);
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    memcpy(t, p, n * sizeof *t);
    return vld1q_f32(t);
}

/* positions [i, i + n) of channel c, n in [1, 4] */
static inline __attribute__((always_inline)) void block4(const float *x, float *y, size_t S,
                                                         size_t c, size_t c0, size_t c1, size_t i,
                                                         size_t n, float64x2_t q, float64x2_t k,
                                                         float64x2_t nb, int b34)
{
    float64x2_t sa = vdupq_n_f64(0.0), sb = sa;
    for (size_t j = c0; j <= c1; j++) {
        float32x4_t v = ld4(x + j * S + i, n);
        float64x2_t va = vcvt_f64_f32(vget_low_f32(v)), vb = vcvt_high_f64_f32(v);
        sa = vfmaq_f64(sa, va, va);
        sb = vfmaq_f64(sb, vb, vb);
    }
    float64x2_t da = vfmaq_f64(k, sa, q), db = vfmaq_f64(k, sb, q);
    float32x4_t v = ld4(x + c * S + i, n);
    float64x2_t xa = vcvt_f64_f32(vget_low_f32(v)), xb = vcvt_high_f64_f32(v), ya, yb;
    if (b34) {
        float64x2_t qa = vsqrtq_f64(da), qb = vsqrtq_f64(db);
        ya = vdivq_f64(xa, vmulq_f64(qa, vsqrtq_f64(qa)));
        yb = vdivq_f64(xb, vmulq_f64(qb, vsqrtq_f64(qb)));
    } else {
        ya = vmulq_f64(xa, Sleef_powd2_u10advsimd(da, nb));
        yb = vmulq_f64(xb, Sleef_powd2_u10advsimd(db, nb));
    }
    float32x4_t r = vcvt_high_f32_f64(vcvt_f32_f64(ya), yb);
    if (n == 4) {
        vst1q_f32(y + c * S + i, r);
    } else {
        float t[4];
        vst1q_f32(t, r);
        memcpy(y + c * S + i, t, n * sizeof *t);
    }
}

void lam__f32_lrn_neon(size_t C, size_t S, const float *x, float *y, size_t size, double alpha,
                       double beta, double k, size_t p_begin, size_t p_end)
{
    const float64x2_t vq = vdupq_n_f64(alpha / (double)size), vk = vdupq_n_f64(k),
                      nb = vdupq_n_f64(-beta);
    const size_t before = size / 2, after = (size - 1) / 2;
    const int b34 = beta == 0.75;
    for (size_t c = 0; c < C; c++) {
        size_t c0 = c < before ? 0 : c - before;
        size_t c1 = c + after >= C ? C - 1 : c + after;
        size_t i = p_begin;
        for (; i + 4 <= p_end; i += 4)
            block4(x, y, S, c, c0, c1, i, 4, vq, vk, nb, b34);
        if (i < p_end)
            block4(x, y, S, c, c0, c1, i, p_end - i, vq, vk, nb, b34);
    }
}
