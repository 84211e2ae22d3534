/* NEON (AArch64) loops of the elementwise binary kernels (f32-vadd/vsub/
 * vmul/vdiv-neon.c).
 *
 * OP(a, b) is a two-operand float32x4_t function.  8 floats per step, then
 * 4, then a tail through 4-float buffers (never reads or writes past n).
 * One IEEE-754 operation per element (vdivq_f32 is correctly rounded on
 * AArch64), so every ISA gives the bits of the scalar kernel. */
#ifndef LAMINA_SIMD_ARM_NEON_VBINARY_NEON_H
#define LAMINA_SIMD_ARM_NEON_VBINARY_NEON_H

#include "simd/arm/neon/vmath-neon.h"

/* y[i] = OP(a[i], b[i]) */
#define LAM__NEON_BINARY_LOOP(n, a, b, y, OP)                                                      \
    do {                                                                                           \
        size_t i_ = 0;                                                                             \
        for (; i_ + 8 <= (n); i_ += 8) {                                                           \
            float32x4_t p_ = OP(vld1q_f32((a) + i_), vld1q_f32((b) + i_));                         \
            float32x4_t q_ = OP(vld1q_f32((a) + i_ + 4), vld1q_f32((b) + i_ + 4));                 \
            vst1q_f32((y) + i_, p_);                                                               \
            vst1q_f32((y) + i_ + 4, q_);                                                           \
        }                                                                                          \
        if (i_ + 4 <= (n)) {                                                                       \
            vst1q_f32((y) + i_, OP(vld1q_f32((a) + i_), vld1q_f32((b) + i_)));                     \
            i_ += 4;                                                                               \
        }                                                                                          \
        if (i_ < (n)) {                                                                            \
            float s_[4] = {0, 0, 0, 0}, t_[4] = {1, 1, 1, 1};                                      \
            memcpy(s_, (a) + i_, ((n) - i_) * sizeof(float));                                     \
            memcpy(t_, (b) + i_, ((n) - i_) * sizeof(float));                                     \
            vst1q_f32(s_, OP(vld1q_f32(s_), vld1q_f32(t_)));                                       \
            memcpy((y) + i_, s_, ((n) - i_) * sizeof(float));                                     \
        }                                                                                          \
    } while (0)

/* y[i] = OP(a[i], c) */
#define LAM__NEON_BINARYC_LOOP(n, a, c, y, OP)                                                     \
    do {                                                                                           \
        const float32x4_t c_ = vdupq_n_f32(c);                                                     \
        size_t i_ = 0;                                                                             \
        for (; i_ + 8 <= (n); i_ += 8) {                                                           \
            float32x4_t p_ = OP(vld1q_f32((a) + i_), c_);                                          \
            float32x4_t q_ = OP(vld1q_f32((a) + i_ + 4), c_);                                      \
            vst1q_f32((y) + i_, p_);                                                               \
            vst1q_f32((y) + i_ + 4, q_);                                                           \
        }                                                                                          \
        if (i_ + 4 <= (n)) {                                                                       \
            vst1q_f32((y) + i_, OP(vld1q_f32((a) + i_), c_));                                      \
            i_ += 4;                                                                               \
        }                                                                                          \
        if (i_ < (n)) {                                                                            \
            float s_[4] = {1, 1, 1, 1};                                                            \
            memcpy(s_, (a) + i_, ((n) - i_) * sizeof(float));                                     \
            vst1q_f32(s_, OP(vld1q_f32(s_), c_));                                                  \
            memcpy((y) + i_, s_, ((n) - i_) * sizeof(float));                                     \
        }                                                                                          \
    } while (0)

/* the reversed operations: OP(a, c) = c - a, c / a */
LAM__INLINE float32x4_t lam__n_rsub(float32x4_t a, float32x4_t c) { return vsubq_f32(c, a); }
LAM__INLINE float32x4_t lam__n_rdiv(float32x4_t a, float32x4_t c) { return vdivq_f32(c, a); }

#endif
