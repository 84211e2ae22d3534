/* lamina — the elementwise activation functions, by number.
 *
 * One enum for the whole library: plugins name a function with it
 * (host->activation, host->gemm, lam_layer_type.as_activation in
 * <lamina/plugin.h>), and lamina's own kernel table and GEMM epilogue use
 * the same numbers.  The numbers are stable (part of the ABI); new functions
 * are appended.  This header depends on nothing, so that any part of
 * lamina, and any plugin, may include it alone.
 *
 * Threads: only constants. */
#ifndef LAMINA_ACTIVATION_H
#define LAMINA_ACTIVATION_H

/* Elementwise functions of the kernel table (stable numbers). */
typedef enum lam_activation {
    LAM_ACTIVATION_IDENTITY = 0,
    LAM_ACTIVATION_RELU = 1,
    LAM_ACTIVATION_LEAKY_RELU = 2, /* alpha = negative_slope */
    LAM_ACTIVATION_RELU6 = 3,
    LAM_ACTIVATION_SIGMOID = 4,
    LAM_ACTIVATION_TANH = 5,
    LAM_ACTIVATION_GELU = 6,       /* erf form */
    LAM_ACTIVATION_GELU_TANH = 7,  /* tanh approximation */
    LAM_ACTIVATION_SILU = 8,
    /* the ones above can be fused into a GEMM epilogue; these cannot: */
    LAM_ACTIVATION_ELU = 9,        /* alpha */
    LAM_ACTIVATION_SOFTPLUS = 10,  /* alpha = beta, beta = threshold */
    LAM_ACTIVATION_EXP = 11,
} lam_activation;

#endif
