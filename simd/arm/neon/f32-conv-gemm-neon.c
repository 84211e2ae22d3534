/* The convolution GEMM, NEON: y[m, j] = act(sum_k W[m, k] rows[k][off + j]
 * + bias[m]) (contract: LAM_CONV_KERNELS in simd/kernel-list.h).
 *
 * Tile: 8 output channels x 12 pixels (3 q registers per channel, 24
 * accumulators; the 8 weights of a k in two registers, used by lane): per
 * k, 3 loads of B and 2 of W for 24 FMAs.  Packed W: panels of 8 rows,
 * panel p's weight (row 8 p + i, k) at packed[8 p K + 8 k + i], zero for
 * rows past M.  Loops as the AVX-512 kernel: 12-pixel strips outer, K in
 * blocks of LAM__CKCN, panels innermost.  Pixel tails: a strip of fewer
 * vectors, and a last vector of 1-3 lanes loaded and stored through a
 * 4-float buffer (never past the row); channel tails: the zero rows of the
 * last panel, not stored.  Epilogue: + bias, + the residual addend
 * (ep.add), then the activation on the registers (the elementwise kernels' arithmetic, vmath-neon.h).
 * Accuracy: one FMA chain per output, as the scalar twin. */
#include "config.h"

#include <string.h>

#include "simd/arm/neon/gemm-neon.h"

#define LAM__CMR 8
#define LAM__CNV 3
#define LAM__CNR (4 * LAM__CNV)
#ifndef LAM__CKCN
#define LAM__CKCN 128
#endif

size_t lam__f32_conv_packed_size_neon(size_t M, size_t K)
{
    return (M + LAM__CMR - 1) / LAM__CMR * LAM__CMR * K;
}

void lam__f32_conv_pack_neon(size_t M, size_t K, const float *W, float *packed)
{
    for (size_t p = 0; p < M; p += LAM__CMR)
        for (size_t k = 0; k < K; k++)
            for (size_t i = 0; i < LAM__CMR; i++)
                packed[p * K + k * LAM__CMR + i] = p + i < M ? W[(p + i) * K + k] : 0.0f;
}

/* lanes [0, rem) of p (rem 1..4), zeros after */
LAM__INLINE float32x4_t lam__cload_neon(const float *p, size_t rem)
{
    if (rem == 4)
        return vld1q_f32(p);
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    memcpy(t, p, rem * sizeof(float));
    return vld1q_f32(t);
}

LAM__INLINE void lam__cstore_neon(float *p, float32x4_t v, size_t rem)
{
    if (rem == 4) {
        vst1q_f32(p, v);
        return;
    }
    float t[4];
    vst1q_f32(t, v);
    memcpy(p, t, rem * sizeof(float));
}

static void lam__cact_neon(float32x4_t *c, int n, lam__epilogue ep)
{
    const float32x4_t a = vdupq_n_f32(ep.alpha);
    for (int r = 0; r < n; r++) {
        const float32x4_t v = c[r];
        switch (ep.act) {
        case LAM_ACTIVATION_RELU: c[r] = lam__n_relu(v); break;
        case LAM_ACTIVATION_LEAKY_RELU: c[r] = lam__n_leaky_relu(v, a); break;
        case LAM_ACTIVATION_RELU6: c[r] = lam__n_relu6(v); break;
        case LAM_ACTIVATION_SIGMOID: c[r] = lam__n_sigmoid(v); break;
        case LAM_ACTIVATION_TANH: c[r] = lam__n_tanh(v); break;
        case LAM_ACTIVATION_GELU: c[r] = lam__n_gelu(v); break;
        case LAM_ACTIVATION_GELU_TANH: c[r] = lam__n_gelu_tanh(v); break;
        case LAM_ACTIVATION_SILU: c[r] = lam__n_silu(v); break;
        default: break;
        }
    }
}

/* One tile: rows [0, mr) stored, vectors [0, nv), the last with rem lanes. */
LAM__INLINE void lam__ctile_neon(const int nv, size_t kc, const float *a,
                                 const float *const *rows, size_t col, size_t rem, float *y,
                                 size_t ldy, size_t mr, int first, int last, const float *bias,
                                 lam__epilogue ep)
{
    float32x4_t c[LAM__CMR][LAM__CNV];
    for (int i = 0; i < LAM__CMR; i++)
        for (int j = 0; j < LAM__CNV; j++)
            c[i][j] = j < nv && !first && (size_t)i < mr
                          ? lam__cload_neon(y + i * ldy + 4 * j, j == nv - 1 ? rem : 4)
                          : vdupq_n_f32(0.0f);
    for (size_t k = 0; k < kc; k++) {
        const float *b = rows[k] + col;
        float32x4_t bv[LAM__CNV];
        for (int j = 0; j < LAM__CNV; j++)
            bv[j] = j < nv - 1    ? vld1q_f32(b + 4 * j)
                    : j == nv - 1 ? lam__cload_neon(b + 4 * j, rem)
                                  : vdupq_n_f32(0.0f);
        const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
        for (int j = 0; j < LAM__CNV; j++) {
            if (j >= nv)
                break;
            c[0][j] = vfmaq_laneq_f32(c[0][j], bv[j], a0, 0);
            c[1][j] = vfmaq_laneq_f32(c[1][j], bv[j], a0, 1);
            c[2][j] = vfmaq_laneq_f32(c[2][j], bv[j], a0, 2);
            c[3][j] = vfmaq_laneq_f32(c[3][j], bv[j], a0, 3);
            c[4][j] = vfmaq_laneq_f32(c[4][j], bv[j], a1, 0);
            c[5][j] = vfmaq_laneq_f32(c[5][j], bv[j], a1, 1);
            c[6][j] = vfmaq_laneq_f32(c[6][j], bv[j], a1, 2);
            c[7][j] = vfmaq_laneq_f32(c[7][j], bv[j], a1, 3);
        }
        a += LAM__CMR;
    }
    if (last) {
        if (bias)
            for (int i = 0; i < LAM__CMR; i++) {
                if ((size_t)i >= mr)
                    break;
                const float32x4_t bi = vdupq_n_f32(bias[i]);
                for (int j = 0; j < LAM__CNV; j++)
                    if (j < nv)
                        c[i][j] = vaddq_f32(c[i][j], bi);
            }
        if (ep.add) /* the residual (laid out as y), before the activation */
            for (int i = 0; i < LAM__CMR; i++) {
                if ((size_t)i >= mr)
                    break;
                for (int j = 0; j < LAM__CNV; j++)
                    if (j < nv)
                        c[i][j] = vaddq_f32(c[i][j], lam__cload_neon(ep.add + i * ep.ldadd + 4 * j,
                                                                     j == nv - 1 ? rem : 4));
            }
        if (ep.act != LAM_ACTIVATION_IDENTITY) {
            /* through a copy: c must not escape, or GCC keeps it in memory */
            float32x4_t t[LAM__CMR * LAM__CNV];
            for (int i = 0; i < LAM__CMR; i++)
                for (int j = 0; j < LAM__CNV; j++)
                    t[i * LAM__CNV + j] = c[i][j];
            lam__cact_neon(t, LAM__CMR * LAM__CNV, ep);
            for (int i = 0; i < LAM__CMR; i++)
                for (int j = 0; j < LAM__CNV; j++)
                    c[i][j] = t[i * LAM__CNV + j];
        }
    }
    for (int i = 0; i < LAM__CMR; i++) {
        if ((size_t)i >= mr)
            break;
        for (int j = 0; j < LAM__CNV; j++)
            if (j < nv)
                lam__cstore_neon(y + i * ldy + 4 * j, c[i][j], j == nv - 1 ? rem : 4);
    }
}

LAM__INLINE void lam__cstrip_neon(const int nv, size_t M, size_t K, const float *packed,
                                  const float *const *rows, size_t col, size_t rem, float *y,
                                  size_t ldy, const float *bias, lam__epilogue ep0)
{
    size_t k0 = 0;
    do {
        const size_t kc = K - k0 < LAM__CKCN ? K - k0 : LAM__CKCN;
        for (size_t p = 0; p < M; p += LAM__CMR) {
            lam__epilogue ep = ep0; /* the addend of the panel's rows */
            if (ep.add)
                ep.add += p * ep.ldadd;
            lam__ctile_neon(nv, kc, packed + p * K + k0 * LAM__CMR, rows + k0, col, rem,
                            y + p * ldy, ldy, M - p < LAM__CMR ? M - p : LAM__CMR, k0 == 0,
                            k0 + kc == K, bias ? bias + p : NULL, ep);
        }
        k0 += kc;
    } while (k0 < K);
}

void lam__f32_conv_gemm_neon(size_t M, size_t N, size_t K, const float *packed,
                             const float *const *rows, size_t off, const float *bias, float *y,
                             size_t ldy, lam__epilogue ep0)
{
    for (size_t n0 = 0; n0 < N; n0 += LAM__CNR) {
        const size_t w = N - n0 < LAM__CNR ? N - n0 : LAM__CNR;
        const int nv = (int)((w + 3) / 4);
        const size_t rem = w - 4 * (size_t)(nv - 1);
        lam__epilogue ep = ep0; /* the strip's addend */
        if (ep.add)
            ep.add += n0;
        switch (nv) {
        case 1: lam__cstrip_neon(1, M, K, packed, rows, off + n0, rem, y + n0, ldy, bias, ep); break;
        case 2: lam__cstrip_neon(2, M, K, packed, rows, off + n0, rem, y + n0, ldy, bias, ep); break;
        default:
            lam__cstrip_neon(3, M, K, packed, rows, off + n0, rem, y + n0, ldy, bias, ep);
            break;
        }
    }
}

/* conv_gemm_rows: conv_gemm once per output row (ow pixels from row r's
 * start r wp, into y + r ow), the same bits (they do not depend on N or
 * off). */
void lam__f32_conv_gemm_rows_neon(size_t M, size_t N, size_t K, const float *packed,
                                 const float *const *rows, size_t off, const float *bias,
                                 float *y, size_t ldy, lam__epilogue ep, size_t wp, size_t ow)
{
    for (size_t j = 0; j < N; j += wp) {
        lam__epilogue e = ep; /* the row's addend (laid out as y) */
        if (e.add)
            e.add += j / wp * ow;
        lam__f32_conv_gemm_neon(M, N - j < ow ? N - j : ow, K, packed, rows, off + j, bias,
                                y + j / wp * ow, ldy, e);
    }
}
