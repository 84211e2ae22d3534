/* The capabilities the executor asks of a layer (lam__module_ops): row
 * independence (a batch can be split into slices, each on its own thread),
 * rows with a fused epilogue, epilogue-fusable activations, pairs of layers
 * run as one kernel, and the cost estimate.  Built-in and plugin layers
 * answer through the same operations. */
#include "runtime/layers/layers.h"
#include <stdlib.h>

bool lam__rowwise(const lam_module *m, int ndim)
{
    return m && m->ops->rowwise && m->ops->rowwise(m, ndim);
}

bool lam__sample_blocks(const lam_module *m, int ndim)
{
    return m && m->ops->sample_blocks && m->ops->sample_blocks(m, ndim);
}

bool lam__planewise(const lam_module *m, int ndim)
{
    return m && ndim >= 2 && m->ops->planewise && m->ops->planewise(m, ndim);
}

lam_activation lam__epilogue_act(const lam_module *m, float *alpha)
{
    *alpha = 0.0f;
    if (!m || !m->ops->epilogue_act)
        return LAM_ACTIVATION_IDENTITY;
    lam_activation a = m->ops->epilogue_act(m, alpha);
    return (unsigned)a < (unsigned)LAM_ACTIVATION__EPILOGUE_COUNT ? a : LAM_ACTIVATION_IDENTITY;
}

bool lam__runs_rows(const lam_module *m) { return m && m->ops->run_rows; }

bool lam__forwards_ep(const lam_module *m) { return m && m->ops->forward_ep; }

bool lam__can_pair(const lam_module *m, const lam_module *next)
{
    return m && next && m->ops->run_pair && m->ops->can_pair && m->ops->can_pair(m, next);
}

bool lam__can_fold(const lam_module *producer, const lam_module *norm, int ndim,
                   const int64_t *shape)
{
    if (!producer || !norm || !producer->ops->affine_axis || !producer->ops->fold_affine ||
        !norm->ops->channel_affine)
        return false;
    int a = producer->ops->affine_axis(producer, ndim, shape);
    return a >= 0 && a < ndim && norm->ops->channel_affine(norm, ndim, shape, NULL, NULL) == a;
}

lam_status lam__fold(const lam_module *producer, const lam_module *norm, int ndim,
                     const int64_t *shape, lam_module **folded)
{
    int a = producer->ops->affine_axis(producer, ndim, shape);
    if (a < 0 || a >= ndim)
        return lam__error(LAM_ERR_RUNTIME, "%s: cannot fold %s into it",
                          lam_module_type_name(producer), lam_module_type_name(norm));
    size_t c = (size_t)shape[a];
    double *scale = malloc(2 * (c ? c : 1) * sizeof *scale);
    if (!scale)
        return lam__oom("folding a norm into its producer");
    double *shift = scale + c;
    lam_status st = LAM_OK;
    if (norm->ops->channel_affine(norm, ndim, shape, scale, shift) != a)
        st = lam__error(LAM_ERR_RUNTIME, "%s: is no longer a per-channel affine map",
                        lam_module_type_name(norm));
    else {
        /* the folded layer outlives the forward: its tensors come from the
         * heap, not from the forward pool of a custom forward that planned
         * this on its first call (they would keep pool buffers from ever
         * being reused, and the next forward would allocate new ones) */
        lam__fpool *prev = lam__fpool_enter(NULL);
        st = producer->ops->fold_affine(producer, scale, shift, folded);
        lam__fpool_leave(prev);
    }
    free(scale);
    if (!st && (*folded)->ops != producer->ops) /* it runs with the producer's capabilities */
        st = lam__error(LAM_ERR_RUNTIME, "%s: fold_affine made a %s, not a module of its own type",
                        lam_module_type_name(producer), lam_module_type_name(*folded));
    return st;
}

uint64_t lam__params_stamp(const lam_module *m)
{
    /* While m's params_version holds, the tensors are the same ones, and
     * their versions only grow: so does their sum. */
    uint64_t v = 0;
    for (size_t i = 0; i < m->n_params; i++)
        v += lam__tensor_version(m->params[i].tensor);
    return v;
}

static double numel_of(int ndim, const int64_t *shape)
{
    double n = 1; /* in double: an estimate must not overflow */
    for (int i = 0; i < ndim; i++)
        n *= (double)shape[i];
    return n;
}

double lam__flops(const lam_module *m, int in_ndim, const int64_t *in, int out_ndim,
                  const int64_t *out)
{
    if (m && m->ops->flops)
        return m->ops->flops(m, in_ndim, in, out_ndim, out);
    return 10.0 * numel_of(out_ndim, out);
}
