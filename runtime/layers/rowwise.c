/* Which layers treat the rows of dim 0 independently (so that a batch can be
 * split into slices and each slice run on its own thread). */
#include "runtime/layers/layers.h"

bool lam__rowwise(const lam_module *m, int ndim)
{
    return m && m->ops->rowwise && m->ops->rowwise(m, ndim);
}
