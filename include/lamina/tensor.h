/* lamina — tensors: contiguous, row-major, 1 to 4 dimensions, of an
 * element type (lam_dtype): float32 (the default: every function without a
 * dtype in its name makes float32 tensors), int64 (token ids, indices,
 * counts such as BatchNorm's num_batches_tracked) or bool (masks).
 *
 * Element types: the float accessors (lam_tensor_data, lam_tensor_cdata)
 * give NULL with LAM_ERR_TYPE for a tensor of another type ("lam_tensor_data:
 * the tensor is int64, not float32 (use lam_tensor_data_i64)"); each type has
 * its own accessors.  Layers, tensor ops and plans compute on float32: given
 * another type they fail with LAM_ERR_TYPE naming the module path (or the op)
 * and the type, except where a layer says it takes another (Embedding takes
 * int64 ids).
 *
 * Ownership: tensors are reference-counted.  lam_tensor_create* return a new
 * reference that the caller releases with lam_tensor_release().  Owning
 * tensors allocate 64-byte aligned data; borrowed tensors (lam_tensor_wrap)
 * point at the caller's memory, which must outlive the tensor.
 *
 * Versions (PyTorch's tensor._version).  Every tensor's storage has a
 * version counter that lamina moves on each write it makes or hands out:
 * lam_tensor_data() (a write access, counted when it is called),
 * lam_tensor_set(), lam_tensor_copy() into the tensor,
 * lam_module_load_state_dict() and lam_tensor_mark_modified().  A view made
 * by lam_tensor_reshape shares the counter of the tensor it views, so a
 * write through either is a write to both.  Layers that keep data derived
 * from a parameter (Linear keeps its weight packed for the GEMM kernels)
 * rebuild it when the parameter's version moves or when the parameter is
 * replaced (lam_module_register_parameter), so every forward and plan run
 * after such a change computes with the new values.
 *
 * What lamina cannot see: writes through a pointer kept from an earlier
 * lam_tensor_data() call (after a forward has used the tensor), and writes
 * into memory given to lam_tensor_wrap() made through the caller's own
 * pointer.  After such writes call lam_tensor_mark_modified() (or
 * lam_tensor_data() again) before the next forward; until then a forward may
 * compute with the old values.  To find a missing call, run with
 * LAMINA_CHECK_WEIGHTS=1: every Linear forward then checks (one pass over
 * the weight) that the weight still holds the values it packed and fails
 * with LAM_ERR_RUNTIME, naming the layer, when it does not.
 *
 * Threads: a tensor may be read from several threads at once (its shape,
 * lam_tensor_cdata, _get, _print, as the input of forwards and ops, saved to
 * a file).  Writing its data (lam_tensor_set, lam_tensor_copy into it,
 * stores through lam_tensor_data's pointer, an op that writes into it) must
 * not overlap any other use of it or of a tensor sharing its data (a reshape
 * or view).  lam_tensor_retain and lam_tensor_release are atomic: references
 * to one tensor may be taken and dropped on any threads, as long as the last
 * release comes after every other use. */
#ifndef LAMINA_TENSOR_H
#define LAMINA_TENSOR_H

#include <stdio.h>
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LAM_MAX_DIMS 4
#define LAM_ALIGNMENT 64

typedef struct lam_tensor lam_tensor;

/* Element types (torch.float32, torch.int64, torch.bool).  A bool element is
 * one byte holding 0 or 1 (C's bool). */
typedef enum lam_dtype {
    LAM_FLOAT32 = 0,
    LAM_INT64 = 1,
    LAM_BOOL = 2,
} lam_dtype;

/* "float32", "int64", "bool" ("unknown" for another value). */
LAM_API const char *lam_dtype_name(lam_dtype dtype);
/* Bytes per element: 4, 8, 1 (0 for an unknown value). */
LAM_API size_t lam_dtype_size(lam_dtype dtype);

/* A new zero-filled float32 tensor of the given shape (every dimension >= 0). */
LAM_API lam_status lam_tensor_create(lam_tensor **out, int ndim, const int64_t *shape);
/* A new zero-filled (false) tensor of any element type; LAM_ERR_INVALID_ARGUMENT
 * for an unknown dtype. */
LAM_API lam_status lam_tensor_create_dtype(lam_tensor **out, lam_dtype dtype, int ndim,
                                           const int64_t *shape);
/* New int64 / bool tensors holding a copy of `data` (numel elements; a bool
 * value other than 0 or 1 is stored as 1). */
LAM_API lam_status lam_tensor_from_i64(lam_tensor **out, int ndim, const int64_t *shape,
                                       const int64_t *data);
LAM_API lam_status lam_tensor_from_bool(lam_tensor **out, int ndim, const int64_t *shape,
                                        const bool *data);
/* A tensor of any element type over the caller's memory (as lam_tensor_wrap;
 * data must be aligned for the type). */
LAM_API lam_status lam_tensor_wrap_dtype(lam_tensor **out, lam_dtype dtype, void *data, int ndim,
                                         const int64_t *shape);
/* A new tensor with t's shape and values converted to `dtype` as PyTorch's
 * Tensor.to(dtype) does: float to int64 truncates toward zero (NaN gives
 * 0, out-of-range values saturate), anything to bool is "!= 0".  Always a
 * new tensor, also when t has that type already. */
LAM_API lam_status lam_tensor_to_dtype(lam_tensor **out, const lam_tensor *t, lam_dtype dtype);
/* The element type (LAM_FLOAT32 for NULL, with a message). */
LAM_API lam_dtype lam_tensor_dtype(const lam_tensor *t);
/* A new float32 tensor holding a copy of `data` (numel floats). */
LAM_API lam_status lam_tensor_from_data(lam_tensor **out, int ndim, const int64_t *shape,
                                        const float *data);
/* A float32 tensor over the caller's memory (not copied, not freed by
 * lamina); data may be NULL when the shape has no elements. */
LAM_API lam_status lam_tensor_wrap(lam_tensor **out, float *data, int ndim, const int64_t *shape);
/* A new owning tensor with the same element type, shape and values. */
LAM_API lam_status lam_tensor_clone(lam_tensor **out, const lam_tensor *src);

/* Take one more reference (returns t); release one (frees at zero; NULL is a no-op). */
LAM_API lam_tensor *lam_tensor_retain(lam_tensor *t);
LAM_API void lam_tensor_release(lam_tensor *t);

LAM_API int lam_tensor_ndim(const lam_tensor *t);
/* Size of dimension `dim`; negative dims count from the end (-1 = last).
 * -1 for a dim out of range or a NULL t. */
LAM_API int64_t lam_tensor_dim(const lam_tensor *t, int dim);
LAM_API const int64_t *lam_tensor_shape(const lam_tensor *t);
LAM_API int64_t lam_tensor_numel(const lam_tensor *t);
LAM_API bool lam_tensor_is_borrowed(const lam_tensor *t);
/* The data for writing: moves the tensor's version (see above).  For reading
 * use lam_tensor_cdata, which does not.  A float32 tensor's only: NULL with
 * LAM_ERR_TYPE for another type. */
LAM_API float *lam_tensor_data(lam_tensor *t);
LAM_API const float *lam_tensor_cdata(const lam_tensor *t);
/* The same for int64 and bool tensors (NULL with LAM_ERR_TYPE for another
 * type). */
LAM_API int64_t *lam_tensor_data_i64(lam_tensor *t);
LAM_API const int64_t *lam_tensor_cdata_i64(const lam_tensor *t);
LAM_API bool *lam_tensor_data_bool(lam_tensor *t);
LAM_API const bool *lam_tensor_cdata_bool(const lam_tensor *t);
/* Tell lamina that the values changed behind its back (written through an
 * old lam_tensor_data pointer or into wrapped memory): moves the version so
 * that the next forward recomputes what it derived from them.  NULL: no-op. */
LAM_API void lam_tensor_mark_modified(lam_tensor *t);
/* The version of t's storage (shared with its views); 0 (with a message)
 * for NULL.  It only grows; compare two readings to tell whether the values
 * may have changed. */
LAM_API uint64_t lam_tensor_version(const lam_tensor *t);

/* Element access by a full index (ndim entries); out-of-range gives
 * LAM_ERR_INDEX.  On a tensor of another type the value is converted (as
 * lam_tensor_to_dtype does); the _i64 forms read and write int64 values
 * exactly (and convert for float32 and bool tensors). */
LAM_API lam_status lam_tensor_get(const lam_tensor *t, const int64_t *index, float *value);
LAM_API lam_status lam_tensor_set(lam_tensor *t, const int64_t *index, float value);
LAM_API lam_status lam_tensor_get_i64(const lam_tensor *t, const int64_t *index, int64_t *value);
LAM_API lam_status lam_tensor_set_i64(lam_tensor *t, const int64_t *index, int64_t value);

/* Copy values from src into dst; shapes must have the same number of elements
 * and the same dims (LAM_ERR_SHAPE otherwise).  The element types may differ:
 * values are converted as lam_tensor_to_dtype does (PyTorch's copy_). */
LAM_API lam_status lam_tensor_copy(lam_tensor *dst, const lam_tensor *src);
/* Reinterpret as another shape with the same element count (a view sharing data). */
LAM_API lam_status lam_tensor_reshape(lam_tensor **out, lam_tensor *t, int ndim, const int64_t *shape);

/* True when both tensors have the same shape. */
LAM_API bool lam_tensor_same_shape(const lam_tensor *a, const lam_tensor *b);

/* Format a shape as PyTorch does in messages: "[2, 10]".  Returns buf (NULL
 * when buf is NULL); a NULL shape with ndim > 0 formats as "[?]". */
LAM_API char *lam_shape_str(int ndim, const int64_t *shape, char *buf, size_t size);

/* Print as PyTorch prints a tensor: "tensor([[0.1234, 0.5678]])"; int64
 * as "tensor([  7, 100])" and bool as "tensor([ True, False])".
 * PyTorch 1.13's default options, byte for byte: 4 decimals, or integers
 * ("1.") or scientific notation as its _Formatter chooses from the finite
 * non-zero values; rows wrapped at 80 columns; above 1000 elements, 3 items
 * at each end of every dimension with "..." between. */
LAM_API lam_status lam_tensor_print(const lam_tensor *t, FILE *fp);
/* The same text in a new string (free with lam_free). NULL on allocation failure. */
LAM_API char *lam_tensor_str(const lam_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
