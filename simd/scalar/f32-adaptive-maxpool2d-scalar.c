/* f32 adaptive_maxpool2d, scalar: PyTorch's adaptive max pool of one plane,
 * one output at a time in PyTorch's loop order; the oracle of the vector
 * kernels.
 *
 * Contract: LAM_WINDOW_KERNELS (simd/kernel-list.h) and lam__win2d
 * (simd/kernels.h: h, w, oh, ow): output rows [oh_begin, oh_end).
 * Accuracy: exact (PyTorch's float32 operations in PyTorch's order). */
#include "config.h"

#include "simd/simd.h"
#define LAM__W_SCALAR
#include "simd/window/window-impl.h"

void lam__f32_adaptive_maxpool2d_scalar(const lam__win2d *g, const float *x, float *y,
                                        size_t oh_begin, size_t oh_end)
{
    lam__w_adaptive_scalar(1, g, x, y, oh_begin, oh_end);
}
