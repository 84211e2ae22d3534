/* lamina — tensor ops for custom forwards: the torch functions a forward
 * written by hand needs (x + f(x), a gate, a softmax over a dim, a matmul,
 * a concatenation, a reshape, a mean), with PyTorch's semantics, broadcasting
 * and error messages.  Plugins reach the same functions through
 * host->ops (<lamina/plugin.h>).
 *
 * The output rule.  Ops that compute take `lam_tensor **out`, like torch's
 * out= argument:
 *   - *out == NULL: a new tensor is made; *out holds the new reference (the
 *     caller releases it).  So initialise the pointer: lam_tensor *y = NULL;
 *   - *out != NULL: the result is written into that tensor, which must have
 *     exactly the result's shape (LAM_ERR_SHAPE otherwise: "output has shape
 *     [3, 3], which does not match the required output shape [4, 3]"; torch
 *     would resize it, lamina cannot resize a caller's memory).  The
 *     elementwise ops (add ... div, the scalar forms, the activations and
 *     softmax) may write into one of their inputs (in place, lam_tensor_add(
 *     &a, a, b)); the other ops refuse an output that shares memory with an
 *     input, with torch's message ("unsupported operation: some elements of
 *     the input tensor and the written-to tensor refer to a single memory
 *     location. Please clone() the tensor before performing the operation.").
 * On failure *out is left as it was (NULL stays NULL, a given output is not
 * written when the arguments are wrong).  Ops that make views (view,
 * flatten, narrow, split, chunk) always return new handles: *out (outs[i])
 * is output only.
 *
 * Where lamina differs from torch, and why:
 *   - tensors have 1 to 4 dimensions and no 0-dim form: where torch returns
 *     a 0-dim tensor (a sum or mean over every dim, matmul of two 1-D
 *     tensors) lamina returns shape [1];
 *   - tensors are always contiguous (no strides): views exist where the data
 *     is contiguous (view, flatten, and narrow/split/chunk along a leading
 *     dim, i.e. when every dim before it has size 1 or the whole dim is
 *     taken).  Otherwise narrow/split/chunk copy, and transpose/permute
 *     always return a contiguous copy — the values of torch's
 *     x.transpose(0, 1).contiguous(), which torch would first give as a
 *     strided view.  lam_tensor_contiguous is then a new reference to x;
 *   - scalars are doubles, converted to float as torch does for a float32
 *     tensor; results are float32 with float64 accumulation in sum/mean.
 *   - the ops compute on float32: an int64 or bool input (or a given output
 *     of another type) is LAM_ERR_TYPE, "lam_tensor_add: expected a float32
 *     input, got int64 (input shape [2, 3])"; view, flatten and the views of
 *     narrow/split/chunk keep any type (a copying narrow refuses one).
 *
 * Errors: LAM_ERR_INVALID_ARGUMENT for NULL arguments ("lam_tensor_add: b
 * is NULL"; the pointers that may be NULL are named where they are) and bad
 * values (a negative split size), LAM_ERR_INDEX for a dim out of range (torch's
 * IndexError), LAM_ERR_SHAPE for shapes that do not fit, LAM_ERR_NO_MEMORY.
 * Where torch refuses a call, the message is torch 1.13's, byte for byte
 * ("The size of tensor a (3) must match the size of tensor b (4) at
 * non-singleton dimension 1"), except permute's, which drops torch 1.13's
 * stray "(sparse_coo)" label; lamina's own rules (NULL arguments, the
 * output rule, linear's weight and bias limits) have messages of lamina's
 * that name the function.  Dims may be negative (counted from the end), as
 * in torch.
 *
 * Work: the elementwise ops, activations and softmax run on the kernel
 * table (AVX2/NEON); matmul and linear on its GEMM (linear packs the weight
 * on each call: for a weight used many times, a Linear module keeps it
 * packed).  Large ops are split across the runtime's threads
 * (lam_set_num_threads); every output element is computed the same way
 * whatever the split, so results are bit-identical for any thread count.
 *
 * Threads: the ops may be called from any thread, several at once.  Each
 * reads its inputs and writes only its output, so the rules of
 * <lamina/tensor.h> apply: an input may be shared with other readers; the
 * output (an input, when written in place) must not be used by another thread
 * during the call.  Views (view, flatten, narrow, split, chunk) share their
 * input's data. */
#ifndef LAMINA_OPS_H
#define LAMINA_OPS_H

#include "common.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- elementwise, with broadcasting (torch.add, sub, mul, div) ----
 * Shapes broadcast as in torch: aligned from the last dim, each pair equal
 * or one of them 1. */
LAM_API lam_status lam_tensor_add(lam_tensor **out, const lam_tensor *a, const lam_tensor *b);
LAM_API lam_status lam_tensor_sub(lam_tensor **out, const lam_tensor *a, const lam_tensor *b);
LAM_API lam_status lam_tensor_mul(lam_tensor **out, const lam_tensor *a, const lam_tensor *b);
/* True division (torch.div without rounding_mode): x / 0 is ±inf or NaN. */
LAM_API lam_status lam_tensor_div(lam_tensor **out, const lam_tensor *a, const lam_tensor *b);

/* With a scalar: a + s, a - s, a * s, a / s, and the reversed s - a
 * (torch.rsub), s / a. */
LAM_API lam_status lam_tensor_add_scalar(lam_tensor **out, const lam_tensor *a, double s);
LAM_API lam_status lam_tensor_sub_scalar(lam_tensor **out, const lam_tensor *a, double s);
LAM_API lam_status lam_tensor_rsub_scalar(lam_tensor **out, const lam_tensor *a, double s);
LAM_API lam_status lam_tensor_mul_scalar(lam_tensor **out, const lam_tensor *a, double s);
LAM_API lam_status lam_tensor_div_scalar(lam_tensor **out, const lam_tensor *a, double s);
LAM_API lam_status lam_tensor_rdiv_scalar(lam_tensor **out, const lam_tensor *a, double s);

/* ---- activations as functions (torch.sigmoid, tanh, relu, F.gelu, F.silu) ---- */
LAM_API lam_status lam_tensor_sigmoid(lam_tensor **out, const lam_tensor *x);
LAM_API lam_status lam_tensor_tanh(lam_tensor **out, const lam_tensor *x);
LAM_API lam_status lam_tensor_relu(lam_tensor **out, const lam_tensor *x);
/* approximate: "none" (or NULL) for the erf form, "tanh" for the tanh form;
 * anything else: "approximate argument must be either none or tanh." */
LAM_API lam_status lam_tensor_gelu(lam_tensor **out, const lam_tensor *x, const char *approximate);
LAM_API lam_status lam_tensor_silu(lam_tensor **out, const lam_tensor *x);
/* torch.softmax(x, dim) / torch.log_softmax(x, dim). */
LAM_API lam_status lam_tensor_softmax(lam_tensor **out, const lam_tensor *x, int dim);
LAM_API lam_status lam_tensor_log_softmax(lam_tensor **out, const lam_tensor *x, int dim);

/* ---- linear algebra ---- */
/* torch.matmul(a, b): 1-D x 1-D is the dot product (shape [1] here), 2-D x
 * 1-D a matrix-vector product, 1-D x 2-D a vector-matrix product, 2-D x 2-D
 * a matrix product, and with more dims a batched product whose batch dims
 * broadcast.  "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)". */
LAM_API lam_status lam_tensor_matmul(lam_tensor **out, const lam_tensor *a, const lam_tensor *b);
/* F.linear(x, weight, bias): y = x weightᵀ + bias over the last dim of x.
 * weight is 2-D [out_features, in_features]; bias (may be NULL) is 1-D with
 * out_features values or 1 (broadcast).  torch also takes a 1-D weight and
 * a bias of more dims; lamina refuses them with a message saying so. */
LAM_API lam_status lam_tensor_linear(lam_tensor **out, const lam_tensor *x,
                                     const lam_tensor *weight, const lam_tensor *bias);

/* ---- joining and splitting ---- */
/* torch.cat(tensors[0..n), dim): sizes must match except in `dim`; 1-D
 * tensors of size 0 are skipped, as torch 1.13 does. */
LAM_API lam_status lam_tensor_cat(lam_tensor **out, size_t n, const lam_tensor *const *tensors,
                                  int dim);
/* torch.split(x, split_size, dim): pieces of split_size along dim (the last
 * may be smaller).  outs has room for max_outs handles; *n_outs gets the
 * number of pieces, ceil(size / split_size) (at least 1).  Too little room:
 * LAM_ERR_INVALID_ARGUMENT, with *n_outs set to the number needed and outs
 * untouched.  n_outs may be NULL (the count is then not reported).  Views
 * where the data allows (see above), copies otherwise. */
LAM_API lam_status lam_tensor_split(lam_tensor **outs, size_t max_outs, size_t *n_outs,
                                    const lam_tensor *x, int64_t split_size, int dim);
/* torch.split(x, [sizes...], dim): n pieces of the given sizes (summing to
 * the size of dim). */
LAM_API lam_status lam_tensor_split_sizes(lam_tensor **outs, const lam_tensor *x, size_t n,
                                          const int64_t *sizes, int dim);
/* torch.chunk(x, chunks, dim): at most `chunks` pieces (outs has room for
 * `chunks`), each of ceil(size / chunks) but the last; *n_outs gets the
 * number made (n_outs may be NULL). */
LAM_API lam_status lam_tensor_chunk(lam_tensor **outs, size_t *n_outs, const lam_tensor *x,
                                    int64_t chunks, int dim);

/* ---- views and layout ---- */
/* x.view(shape) / x.reshape(shape): a view sharing x's data (writing through
 * it writes x), one entry may be -1 (inferred).  Unlike lam_tensor_reshape
 * it infers -1, gives torch's messages and takes a const tensor, as a
 * forward's input is. */
LAM_API lam_status lam_tensor_view(lam_tensor **out, const lam_tensor *x, int ndim,
                                   const int64_t *shape);
/* torch.flatten(x, start_dim, end_dim): a view. */
LAM_API lam_status lam_tensor_flatten(lam_tensor **out, const lam_tensor *x, int start_dim,
                                      int end_dim);
/* torch.narrow(x, dim, start, length): elements [start, start + length) of
 * dim (start may be negative); a view along a leading dim, else a copy. */
LAM_API lam_status lam_tensor_narrow(lam_tensor **out, const lam_tensor *x, int dim,
                                     int64_t start, int64_t length);
/* torch.transpose(x, dim0, dim1) and x.permute(dims[0..n)): contiguous
 * copies (the output rule above applies: *out may be given). */
LAM_API lam_status lam_tensor_transpose(lam_tensor **out, const lam_tensor *x, int dim0, int dim1);
LAM_API lam_status lam_tensor_permute(lam_tensor **out, const lam_tensor *x, int n,
                                      const int *dims);
/* x.contiguous(): with *out == NULL a new reference to x itself (lamina's
 * tensors are always contiguous); with a given *out, a copy into it. */
LAM_API lam_status lam_tensor_contiguous(lam_tensor **out, const lam_tensor *x);

/* ---- reductions ---- */
/* torch.sum(x, dims, keepdim) / torch.mean: over the n dims listed (n == 0:
 * every dim, as torch's sum(x)); each dim once ("dim 1 appears multiple
 * times in the list of dims").  Accumulated in float64 in index order, so
 * the result does not depend on the thread count.  The mean of no elements
 * is NaN, their sum 0. */
LAM_API lam_status lam_tensor_sum(lam_tensor **out, const lam_tensor *x, int n, const int *dims,
                                  bool keepdim);
LAM_API lam_status lam_tensor_mean(lam_tensor **out, const lam_tensor *x, int n, const int *dims,
                                   bool keepdim);

#ifdef __cplusplus
}
#endif
#endif
