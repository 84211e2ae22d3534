/* f32 wino_in, wino_out, wino_store and the wino2_ twins, scalar: the
 * Winograd F(4x4, 3x3) and F(2x2, 3x3) tile transforms,
 * one tile at a time (simd/window/winograd-impl.h with one lane): the
 * oracle of the vector kernels.
 *
 * Contract: LAM_CONV_KERNELS (simd/kernel-list.h).
 * Accuracy: exact (the contract's order of operations, fmaf fused). */
#include "config.h"

#include "simd/simd.h"
#define LAM__WG_SCALAR
#include "simd/window/winograd-impl.h"

LAM__WG_KERNELS(scalar)
