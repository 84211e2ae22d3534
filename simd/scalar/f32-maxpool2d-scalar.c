/* f32 maxpool2d, scalar: max pooling of one plane: m = -inf, then m = x where x > m or x is NaN
 * over the taps inside the input in window order (PyTorch's rule: NaN
 * propagates, the first of equal values, -0 or +0, is kept).
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

void lam__f32_maxpool2d_scalar(const lam__win2d *g, const float *x, float *y, size_t oh_begin,
                               size_t oh_end)
{
    lam__w_plane_scalar(LAM__W_MAX, g, x, NULL, 0.0f, y, oh_begin, oh_end, 0, 0);
}
