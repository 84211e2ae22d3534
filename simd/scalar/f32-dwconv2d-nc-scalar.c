/* f32 dwconv2d_nc, scalar: the depthwise convolution of nc channels, plane
 * by plane, one output at a time (lam__w_out): the oracle of the vector
 * paths.
 *
 * Contract: LAM_WINDOW_KERNELS (simd/kernel-list.h) and lam__win2d
 * (simd/kernels.h).  The scratch is not used.
 * Accuracy: exact (dwconv2d's chain per output). */
#include "config.h"

#include "simd/simd.h"
#define LAM__W_SCALAR
#include "simd/window/window-impl.h"

void lam__f32_dwconv2d_nc_scalar(const lam__win2d *g, size_t nc, const float *x, size_t xs,
                                 const float *w, const float *bias, float *y, size_t ys,
                                 float *scratch)
{
    (void)scratch;
    for (size_t c = 0; c < nc; c++)
        lam__w_plane_scalar(LAM__W_DW, g, x + c * xs, w + c * g->kh * g->kw,
                            bias ? bias[c] : 0.0f, y + c * ys, 0, g->oh, 0, 0);
}
