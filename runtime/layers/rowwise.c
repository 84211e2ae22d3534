/* The capabilities the executor asks of a layer (lam__module_ops): row
 * independence (a batch can be split into slices, each on its own thread),
 * rows with a fused epilogue, epilogue-fusable activations, pairs of layers
 * run as one kernel, and the cost estimate.  Built-in and plugin layers
 * answer through the same operations. */
#include "runtime/layers/layers.h"

bool lam__rowwise(const lam_module *m, int ndim)
{
    return m && m->ops->rowwise && m->ops->rowwise(m, ndim);
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
