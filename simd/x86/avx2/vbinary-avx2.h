/* AVX2 loops of the elementwise binary kernels (f32-vadd/vsub/vmul/vdiv-
 * avx2.c).  Only for files built with -mavx2 -mfma.
 *
 * OP(a, b) is a two-operand __m256 function.  16 floats per step, then 8,
 * then a masked tail (maskload/maskstore: never reads or writes past n).
 * One IEEE-754 operation per element, so every ISA gives the bits of the
 * scalar kernel. */
#ifndef LAMINA_SIMD_X86_AVX2_VBINARY_AVX2_H
#define LAMINA_SIMD_X86_AVX2_VBINARY_AVX2_H

#include "simd/x86/avx2/vmath-avx2.h"

/* y[i] = OP(a[i], b[i]) */
#define LAM__AVX2_BINARY_LOOP(n, a, b, y, OP)                                                      \
    do {                                                                                           \
        size_t i_ = 0;                                                                             \
        for (; i_ + 16 <= (n); i_ += 16) {                                                         \
            __m256 p_ = OP(_mm256_loadu_ps((a) + i_), _mm256_loadu_ps((b) + i_));                  \
            __m256 q_ = OP(_mm256_loadu_ps((a) + i_ + 8), _mm256_loadu_ps((b) + i_ + 8));          \
            _mm256_storeu_ps((y) + i_, p_);                                                        \
            _mm256_storeu_ps((y) + i_ + 8, q_);                                                    \
        }                                                                                          \
        if (i_ + 8 <= (n)) {                                                                       \
            _mm256_storeu_ps((y) + i_, OP(_mm256_loadu_ps((a) + i_), _mm256_loadu_ps((b) + i_)));  \
            i_ += 8;                                                                               \
        }                                                                                          \
        if (i_ < (n)) {                                                                            \
            __m256i m_ = lam__mask_avx2((n) - i_);                                                 \
            __m256 p_ = OP(_mm256_maskload_ps((a) + i_, m_), _mm256_maskload_ps((b) + i_, m_));    \
            _mm256_maskstore_ps((y) + i_, m_, p_);                                                 \
        }                                                                                          \
    } while (0)

/* y[i] = OP(a[i], c) */
#define LAM__AVX2_BINARYC_LOOP(n, a, c, y, OP)                                                     \
    do {                                                                                           \
        const __m256 c_ = _mm256_set1_ps(c);                                                       \
        size_t i_ = 0;                                                                             \
        for (; i_ + 16 <= (n); i_ += 16) {                                                         \
            __m256 p_ = OP(_mm256_loadu_ps((a) + i_), c_);                                         \
            __m256 q_ = OP(_mm256_loadu_ps((a) + i_ + 8), c_);                                     \
            _mm256_storeu_ps((y) + i_, p_);                                                        \
            _mm256_storeu_ps((y) + i_ + 8, q_);                                                    \
        }                                                                                          \
        if (i_ + 8 <= (n)) {                                                                       \
            _mm256_storeu_ps((y) + i_, OP(_mm256_loadu_ps((a) + i_), c_));                         \
            i_ += 8;                                                                               \
        }                                                                                          \
        if (i_ < (n)) {                                                                            \
            __m256i m_ = lam__mask_avx2((n) - i_);                                                 \
            _mm256_maskstore_ps((y) + i_, m_, OP(_mm256_maskload_ps((a) + i_, m_), c_));          \
        }                                                                                          \
    } while (0)

/* the reversed operations: OP(a, c) = c - a, c / a */
LAM__INLINE __m256 lam__v_rsub(__m256 a, __m256 c) { return _mm256_sub_ps(c, a); }
LAM__INLINE __m256 lam__v_rdiv(__m256 a, __m256 c) { return _mm256_div_ps(c, a); }

#endif
