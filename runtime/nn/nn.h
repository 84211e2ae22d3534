/* runtime/nn — PyTorch's containers: Sequential and ModuleList
 * (container.c) and custom modules, the C form of subclassing nn.Module
 * (custom.c), and TransformerEncoder (transformer.c).  Sequential's forward runs through exec's cached plans, a
 * custom forward through exec's call machinery and forward pools.  Uses
 * core, tensor, module and exec; the public side is <lamina/module.h>. */
#ifndef LAMINA_RUNTIME_NN_NN_H
#define LAMINA_RUNTIME_NN_NN_H

#include "runtime/exec/plan.h"
#include "runtime/layers/layers.h"

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

/* ---- TransformerEncoder, TransformerDecoder, Transformer (transformer.c) ---- */
extern const lam__module_ops lam__te_ops, lam__td_ops, lam__tf_ops;
/* An encoder (decoder) without children, for a model file that lists them. */
lam_status lam__te_shell(bool decoder, lam_module **out);
/* A Transformer without children, for a model file that lists them. */
lam_status lam__tf_shell(lam_module **out, int64_t d_model, int64_t nhead, bool batch_first);
/* Its arguments the repr does not print (layers.h, LAM__HID_*): nhead (a
 * record) and batch_first (which its forward's batch check uses). */
void lam__tf_hidden(const lam_module *m, lam__hidden *h);
lam_status lam__tf_set_hidden(lam_module *m, const lam__hidden *v, unsigned which);
void lam__tf_forget(lam_module *m, unsigned which);

#endif
