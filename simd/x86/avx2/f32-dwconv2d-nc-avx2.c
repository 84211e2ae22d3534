/* f32 dwconv2d_nc, avx2: the depthwise convolution of nc channels at once,
 * 8 channels to a vector (channels last in the scratch, transposed in
 * and out 8 x 8 at a time; simd/window/window-impl.h, lam__w_dw_nc).
 *
 * Contract: LAM_WINDOW_KERNELS (simd/kernel-list.h) and lam__win2d
 * (simd/kernels.h).
 * Accuracy: exact (bit-identical to the scalar twin: the same chain per
 * output). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx2/vwin-avx2.h"
#include "simd/window/window-impl.h"

void lam__f32_dwconv2d_nc_avx2(const lam__win2d *g, size_t nc, const float *x, size_t xs,
                              const float *w, const float *bias, float *y, size_t ys,
                              float *scratch)
{
    lam__w_dw_nc(g, nc, x, xs, w, bias, y, ys, scratch);
}
