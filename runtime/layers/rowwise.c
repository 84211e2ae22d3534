/* Which built-in layers treat the rows of dim 0 independently (so that a
 * batch can be split into slices and each slice run on its own thread). */
#include "runtime/layers/layers.h"

bool lam__rowwise_act(const lam_module *m);
bool lam__rowwise_softmax(const lam_module *m, int ndim);
bool lam__rowwise_layer_norm(const lam_module *m, int ndim);
bool lam__rowwise_dropout(const lam_module *m);
bool lam__rowwise_flatten(const lam_module *m, int ndim);

bool lam__rowwise(const lam_module *m, int ndim)
{
    if (!m)
        return false;
    if (lam__is_linear(m) || lam__rowwise_act(m))
        return ndim >= 2 || lam__rowwise_act(m);
    return lam__rowwise_softmax(m, ndim) || lam__rowwise_layer_norm(m, ndim) ||
           lam__rowwise_dropout(m) || lam__rowwise_flatten(m, ndim);
}
