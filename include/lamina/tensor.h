/* lamina — tensors: float32, contiguous, row-major, 1 to 4 dimensions.
 *
 * Ownership: tensors are reference-counted.  lam_tensor_create* return a new
 * reference that the caller releases with lam_tensor_release().  Owning
 * tensors allocate 64-byte aligned data; borrowed tensors (lam_tensor_wrap)
 * point at the caller's memory, which must outlive the tensor. */
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

/* A new zero-filled tensor of the given shape (every dimension >= 0). */
LAM_API lam_status lam_tensor_create(lam_tensor **out, int ndim, const int64_t *shape);
/* A new tensor holding a copy of `data` (numel floats). */
LAM_API lam_status lam_tensor_from_data(lam_tensor **out, int ndim, const int64_t *shape,
                                        const float *data);
/* A tensor over the caller's memory (not copied, not freed by lamina); data
 * may be NULL when the shape has no elements. */
LAM_API lam_status lam_tensor_wrap(lam_tensor **out, float *data, int ndim, const int64_t *shape);
/* A new owning tensor with the same shape and values. */
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
LAM_API float *lam_tensor_data(lam_tensor *t);
LAM_API const float *lam_tensor_cdata(const lam_tensor *t);

/* Element access by a full index (ndim entries); out-of-range gives LAM_ERR_INDEX. */
LAM_API lam_status lam_tensor_get(const lam_tensor *t, const int64_t *index, float *value);
LAM_API lam_status lam_tensor_set(lam_tensor *t, const int64_t *index, float value);

/* Copy values from src into dst; shapes must have the same number of elements
 * and the same dims (LAM_ERR_SHAPE otherwise). */
LAM_API lam_status lam_tensor_copy(lam_tensor *dst, const lam_tensor *src);
/* Reinterpret as another shape with the same element count (a view sharing data). */
LAM_API lam_status lam_tensor_reshape(lam_tensor **out, lam_tensor *t, int ndim, const int64_t *shape);

/* True when both tensors have the same shape. */
LAM_API bool lam_tensor_same_shape(const lam_tensor *a, const lam_tensor *b);

/* Format a shape as PyTorch does in messages: "[2, 10]".  Returns buf (NULL
 * when buf is NULL); a NULL shape with ndim > 0 formats as "[?]". */
LAM_API char *lam_shape_str(int ndim, const int64_t *shape, char *buf, size_t size);

/* Print as PyTorch prints a float tensor: "tensor([[0.1234, 0.5678]])".
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
