/* Internal interface of the built-in layers (runtime/layers/). */
#ifndef LAMINA_RUNTIME_LAYERS_H
#define LAMINA_RUNTIME_LAYERS_H

#include "runtime/internal.h"

extern const lam_module_ops lam__linear_ops;
bool lam__is_linear(const lam_module *m);
/* in/out features and bias data of a Linear */
void lam__linear_info(const lam_module *m, int64_t *in, int64_t *out, const float **bias);
/* The packed weight for the current weight values (an error only under
 * LAMINA_CHECK_WEIGHTS, for a weight changed behind lamina's back). */
lam_status lam__linear_packed(lam_module *m, const float **packed);
/* rows x in -> rows x out, output columns [n_begin, n_end), fused epilogue */
lam_status lam__linear_run(lam_module *m, const float *x, int64_t rows, float *y, lam_epilogue ep,
                           size_t n_begin, size_t n_end);
/* Whether Linear m1 then Linear m2 (each with its fused activation) can
 * run as one lam_kernels.mlp2 call: the table has it, m1's input has at
 * most LAM_MLP2_KMAX features and m2 at most LAM_MLP2_NMAX outputs. */
bool lam__linear_pair_fusable(const lam_module *m1, const lam_module *m2);
/* rows x in(m1) -> rows x out(m2) through both, the hidden layer kept in
 * registers; the same bits as two lam__linear_run calls. */
lam_status lam__linear_run2(lam_module *m1, lam_epilogue ep1, lam_module *m2, lam_epilogue ep2,
                            const float *x, int64_t rows, float *y);

/* The activation a module computes, if it is an elementwise activation that a
 * GEMM epilogue can fuse (LAM_ACT_NONE otherwise). */
lam_act lam__fusable_act(const lam_module *m, float *alpha);
/* How an activation prints its numeric arguments (int or float literal),
 * for modules created from model files: LeakyReLU(negative_slope=1) prints 1. */
void lam__act_set_repr_style(lam_module *m, bool a_int, bool b_int);

/* True for layers whose forward treats rows of dim 0 independently. */
bool lam__rowwise(const lam_module *m, int ndim);

#endif
