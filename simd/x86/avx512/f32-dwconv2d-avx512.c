/* f32 dwconv2d, avx512: depthwise 2-d convolution of one plane, zero padding: each output is
 * acc = fmaf(w, x, acc) over the taps inside the input in window order from
 * 0, then + bias.
 *
 * Contract: LAM_WINDOW_KERNELS (simd/kernel-list.h) and lam__win2d
 * (simd/kernels.h): output rows [oh_begin, oh_end) of one plane, any
 * geometry.  16 lanes; stride 2 by a two-register permute, other strides by
 * gather; masked tails.
 * Accuracy: exact (bit-identical to the scalar twin: the same chain per
 * output, simd/window/window-impl.h). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vwin-avx512.h"
#include "simd/window/window-impl.h"

void lam__f32_dwconv2d_avx512(const lam__win2d *g, const float *x, const float *w, float bias, float *y,
                              size_t oh_begin, size_t oh_end)
{
    lam__w_kernel(LAM__W_DW, g, x, w, bias, y, oh_begin, oh_end, 0, 0);
}
