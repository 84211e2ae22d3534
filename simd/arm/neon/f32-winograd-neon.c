/* f32 wino_in, wino_out, wino_store and the wino2_ twins, neon: the
 * Winograd F(4x4, 3x3) and F(2x2, 3x3) tile transforms,
 * one tile a lane (simd/window/winograd-impl.h).
 *
 * Contract: LAM_CONV_KERNELS (simd/kernel-list.h).
 * Accuracy: exact (bit-identical to the scalar twin: the same operations
 * per lane). */
#include "config.h"

#include "simd/simd.h"
#include "simd/arm/neon/vwin-neon.h"
#define LW_LDS4(p) (vld4q_f32(p).val[0])
#define LW_ST4(p, v0, v1, v2, v3) vst4q_f32((p), (float32x4x4_t){{(v0), (v1), (v2), (v3)}})
#define LW_ST2(p, v0, v1) vst2q_f32((p), (float32x4x2_t){{(v0), (v1)}})
#include "simd/window/winograd-impl.h"

LAM__WG_KERNELS(neon)
