/* f32 dwconv2d, scalar: depthwise 2-d convolution of one plane, zero padding: each output is
 * acc = fmaf(w, x, acc) over the taps inside the input in window order from
 * 0, then + bias.
 *
 * Contract: LAM_WINDOW_KERNELS (simd/kernel-list.h) and lam__win2d
 * (simd/kernels.h): output rows [oh_begin, oh_end) of one plane, any
 * geometry.  one output at a time (lam__w_out); the oracle of the vector paths.
 * Accuracy: exact (bit-identical to the scalar twin: the same chain per
 * output, simd/window/window-impl.h). */
#include "config.h"

#include "simd/simd.h"
#define LAM__W_SCALAR
#include "simd/window/window-impl.h"

void lam__f32_dwconv2d_scalar(const lam__win2d *g, const float *x, const float *w, float bias, float *y,
                              size_t oh_begin, size_t oh_end)
{
    lam__w_plane_scalar(LAM__W_DW, g, x, w, bias, y, oh_begin, oh_end, 0, 0);
}
