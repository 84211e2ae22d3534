/* runtime/nn — PyTorch's containers: Sequential and ModuleList
 * (container.c) and custom modules, the C form of subclassing nn.Module
 * (custom.c), and TransformerEncoder (transformer.c).  Sequential's forward runs through exec's cached plans, a
 * custom forward through exec's call machinery and forward pools.  Uses
 * core, tensor, module and exec; the public side is <lamina/module.h>. */
#ifndef LAMINA_RUNTIME_NN_NN_H
#define LAMINA_RUNTIME_NN_NN_H

#include "runtime/exec/plan.h"

/* Sequential's output shape and forward, for the types that are a
 * Sequential under another name (plugin types with LAM_LAYER_SEQUENTIAL). */
lam_status lam__sequential_output_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                                        int64_t *out);
lam_status lam__sequential_forward(lam_module *m, const lam_tensor *in, void *args,
                                   lam_tensor **out);
/* Has a Sequential a child (through nested Sequentials) with a forward of
 * several values? */
bool lam__seq_has_multi(const lam_module *m);
/* Has a custom module a forward of several values (lam_custom_set_forward_multi)? */
bool lam__custom_has_multi(const lam_module *m);

#endif
