/* runtime/ops — the tensor ops of <lamina/ops.h>: elementwise with
 * broadcasting, activations, matmul/linear, shapes and views, reductions;
 * SIMD through the kernel table, threaded by core's workers.  This header:
 * what they share (dim wrapping, broadcasting, the output rule, the
 * range-parallel loop).  Uses core and tensor. */
#ifndef LAMINA_RUNTIME_OPS_OPS_H
#define LAMINA_RUNTIME_OPS_OPS_H

#include "runtime/tensor/tensor.h"
#include "runtime/core/parallel.h"
#include "simd/kernels.h"

/* torch's maybe_wrap_dim: dim in [-ndim, ndim) (a size of 0 counts as 1),
 * else LAM_ERR_INDEX "Dimension out of range (expected to be in range of
 * [-2, 1], but got 2)". */
lam_status lam__wrap_dim(int64_t dim, int64_t ndim, int64_t *out);

/* torch's infer_size: the broadcast of two shapes (out holds
 * max(na, nb) <= LAM_MAX_DIMS entries), or LAM_ERR_SHAPE "The size of
 * tensor a (3) must match the size of tensor b (4) at non-singleton
 * dimension 1". */
lam_status lam__broadcast_shape(int na, const int64_t *sa, int nb, const int64_t *sb, int *nout,
                                int64_t *out);

/* The output rule of <lamina/ops.h>.  `what` names the function for NULL
 * messages.  With *out == NULL, *y is a new tensor of the shape (data not
 * initialised); otherwise *y = *out after checking its shape and that it
 * shares no memory with the n inputs (an input with the same data and size
 * is allowed when `in_place_ok`).  The data pointer to write comes from
 * lam_tensor_data(*y) (which marks the tensor changed). */
lam_status lam__op_output(const char *what, lam_tensor **out, int ndim, const int64_t *shape,
                          const lam_tensor *const *inputs, int n, bool in_place_ok,
                          lam_tensor **y);
/* Finish an op: on success *out = y; on failure release y if it was new. */
lam_status lam__op_finish(lam_tensor **out, lam_tensor *y, lam_status st);

/* torch's message for an output that overlaps an input. */
lam_status lam__overlap_error(void);
bool lam__tensors_overlap(const lam_tensor *a, const lam_tensor *b);

/* fn(ctx, begin, end) over [0, n): on the runtime's threads, in chunks
 * aligned to `align`, when n * unit_cost is large enough to pay for them;
 * serially otherwise.  fn must compute each index the same way whatever the
 * chunk, so results do not depend on the thread count. */
typedef void (*lam__range_fn)(void *ctx, int64_t begin, int64_t end);
void lam__ops_for(int64_t n, double unit_cost, int64_t align, lam__range_fn fn, void *ctx);

/* Contiguous strides of a shape.  Those of an empty shape may not fit in
 * int64 ([0, 2^62, 2^62] is a valid tensor): callers deal with empty
 * tensors before asking. */
void lam__contiguous_strides(int ndim, const int64_t *shape, int64_t *strides);

/* A view of `x` sharing its data from element `offset`, of the given shape
 * (numel elements from offset must lie inside x). */
lam_status lam__tensor_view_at(lam_tensor **out, const lam_tensor *x, int64_t offset, int ndim,
                               const int64_t *shape);

#endif
