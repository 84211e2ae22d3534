/* runtime/layers — the built-in layer types (Linear, the activations,
 * Softmax/LogSoftmax, LayerNorm, Dropout, Flatten, the convolutions in
 * conv.h) as lam__module_ops, and
 * the capability queries the executor asks of any layer, built-in or plugin
 * (rowwise.c).  Uses core, tensor and module; registered with the type
 * registry by plugin/builtin_types.c. */
#ifndef LAMINA_RUNTIME_LAYERS_LAYERS_H
#define LAMINA_RUNTIME_LAYERS_LAYERS_H

#include "runtime/module/module.h"

extern const lam__module_ops lam__linear_ops;
/* in/out features and bias data of a Linear */
void lam__linear_info(const lam_module *m, int64_t *in, int64_t *out, const float **bias);
/* The packed weight for the current weight values (an error only under
 * LAMINA_CHECK_WEIGHTS, for a weight changed behind lamina's back). */
lam_status lam__linear_packed(lam_module *m, const float **packed);

/* How an activation prints its numeric arguments (int or float literal),
 * for modules created from model files: LeakyReLU(negative_slope=1) prints 1. */
void lam__act_set_repr_style(lam_module *m, bool a_int, bool b_int);

/* The capabilities of lam__module_ops, asked of any module (NULL-safe). */
/* True for layers whose forward treats rows of dim 0 independently. */
bool lam__rowwise(const lam_module *m, int ndim);
/* The activation m is, if an epilogue can fuse it (LAM_ACTIVATION_IDENTITY otherwise). */
lam_activation lam__epilogue_act(const lam_module *m, float *alpha);
/* Whether m runs rows with a fused epilogue (lam__module_ops.run_rows). */
bool lam__runs_rows(const lam_module *m);
/* Whether m forwards with a fused epilogue (lam__module_ops.forward_ep). */
bool lam__forwards_ep(const lam_module *m);
/* Whether m's run_rows then next's can run as one kernel. */
bool lam__can_pair(const lam_module *m, const lam_module *next);
/* The executor's flop estimate for one forward of m. */
double lam__flops(const lam_module *m, int in_ndim, const int64_t *in, int out_ndim,
                  const int64_t *out);

#endif
