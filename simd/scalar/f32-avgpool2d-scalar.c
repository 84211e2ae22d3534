/* f32 avgpool2d, scalar: average pooling of one plane: s += x over the taps inside the input in
 * window order from 0, y = 0 + s / divisor (cpu_avg_pool's divisor).
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

void lam__f32_avgpool2d_scalar(const lam__win2d *g, const float *x, float *y, size_t oh_begin,
                               size_t oh_end, int count_include_pad, int64_t divisor)
{
    lam__w_plane_scalar(LAM__W_AVG, g, x, NULL, 0.0f, y, oh_begin, oh_end, count_include_pad, divisor);
}
