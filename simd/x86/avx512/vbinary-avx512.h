/* AVX-512 loops of the elementwise binary kernels (f32-vadd/vsub/vmul/vdiv-
 * avx512.c).  Only for files built with the AVX-512 flags.
 *
 * OP(a, b) is a two-operand __m512 function.  32 floats per step, then 16,
 * then one masked tail (masked loads/stores: never reads or writes past n).
 * One IEEE-754 operation per element, so every ISA gives the bits of the
 * scalar kernel. */
#ifndef LAMINA_SIMD_X86_AVX512_VBINARY_AVX512_H
#define LAMINA_SIMD_X86_AVX512_VBINARY_AVX512_H

#include "simd/x86/avx512/vmath-avx512.h"

/* y[i] = OP(a[i], b[i]) */
#define LAM__AVX512_BINARY_LOOP(n, a, b, y, OP)                                                    \
    do {                                                                                           \
        size_t i_ = 0;                                                                             \
        for (; i_ + 32 <= (n); i_ += 32) {                                                         \
            __m512 p_ = OP(_mm512_loadu_ps((a) + i_), _mm512_loadu_ps((b) + i_));                  \
            __m512 q_ = OP(_mm512_loadu_ps((a) + i_ + 16), _mm512_loadu_ps((b) + i_ + 16));        \
            _mm512_storeu_ps((y) + i_, p_);                                                        \
            _mm512_storeu_ps((y) + i_ + 16, q_);                                                   \
        }                                                                                          \
        if (i_ + 16 <= (n)) {                                                                      \
            _mm512_storeu_ps((y) + i_, OP(_mm512_loadu_ps((a) + i_), _mm512_loadu_ps((b) + i_)));  \
            i_ += 16;                                                                              \
        }                                                                                          \
        if (i_ < (n)) {                                                                            \
            __mmask16 m_ = lam__mask_avx512((n) - i_);                                             \
            __m512 p_ = OP(_mm512_maskz_loadu_ps(m_, (a) + i_), _mm512_maskz_loadu_ps(m_, (b) + i_)); \
            _mm512_mask_storeu_ps((y) + i_, m_, p_);                                               \
        }                                                                                          \
    } while (0)

/* y[i] = OP(a[i], c) */
#define LAM__AVX512_BINARYC_LOOP(n, a, c, y, OP)                                                   \
    do {                                                                                           \
        const __m512 c_ = _mm512_set1_ps(c);                                                       \
        size_t i_ = 0;                                                                             \
        for (; i_ + 32 <= (n); i_ += 32) {                                                         \
            __m512 p_ = OP(_mm512_loadu_ps((a) + i_), c_);                                         \
            __m512 q_ = OP(_mm512_loadu_ps((a) + i_ + 16), c_);                                    \
            _mm512_storeu_ps((y) + i_, p_);                                                        \
            _mm512_storeu_ps((y) + i_ + 16, q_);                                                   \
        }                                                                                          \
        if (i_ + 16 <= (n)) {                                                                      \
            _mm512_storeu_ps((y) + i_, OP(_mm512_loadu_ps((a) + i_), c_));                         \
            i_ += 16;                                                                              \
        }                                                                                          \
        if (i_ < (n)) {                                                                            \
            __mmask16 m_ = lam__mask_avx512((n) - i_);                                             \
            _mm512_mask_storeu_ps((y) + i_, m_, OP(_mm512_maskz_loadu_ps(m_, (a) + i_), c_));      \
        }                                                                                          \
    } while (0)

/* the reversed operations: OP(a, c) = c - a, c / a */
LAM__INLINE __m512 lam__v16_rsub(__m512 a, __m512 c) { return _mm512_sub_ps(c, a); }
LAM__INLINE __m512 lam__v16_rdiv(__m512 a, __m512 c) { return _mm512_div_ps(c, a); }

#endif
