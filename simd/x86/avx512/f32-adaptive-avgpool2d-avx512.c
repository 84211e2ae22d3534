/* f32 adaptive_avgpool2d, avx512: PyTorch's adaptive avg pool of one plane.
 *
 * Contract: LAM_WINDOW_KERNELS (simd/kernel-list.h) and lam__win2d
 * (simd/kernels.h: h, w, oh, ow): output rows [oh_begin, oh_end).  Where
 * the output divides the input, the vector window path (every lane its own
 * chain, simd/window/window-impl.h); otherwise one output at a time.
 * Accuracy: exact (bit-identical to the scalar twin: the same chain per
 * output). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vwin-avx512.h"
#include "simd/window/window-impl.h"

void lam__f32_adaptive_avgpool2d_avx512(const lam__win2d *g, const float *x, float *y,
                                      size_t oh_begin, size_t oh_end)
{
    lam__w_adaptive(0, g, x, y, oh_begin, oh_end);
}
