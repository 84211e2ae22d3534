/* lamina — weight and array files: safetensors and NumPy .npy.
 *
 * All functions return LAM_OK or an error status with a message in
 * lam_last_error() that names the file ("<memory>" for the parse functions),
 * the tensor when there is one, and the rule that failed:
 *
 *   LAM_ERR_FORMAT     the contents are malformed, or valid but not something
 *                      lamina can hold (a U8 tensor, 5 dimensions, ...)
 *   LAM_ERR_IO         the file cannot be opened, mapped, written or renamed
 *                      (the message carries the system's error text)
 *   LAM_ERR_NO_MEMORY  an allocation failed
 *   LAM_ERR_INVALID_ARGUMENT  a NULL pointer, a bad key in a dict to save
 *
 * On failure *out is set to NULL and nothing else is changed.
 *
 * Saving (lam_safetensors_save, lam_npy_save) replaces a regular file
 * atomically: the data is written to a temporary file in the same directory,
 * fsync'ed, given the old file's permission bits (and owner, where the
 * process may set it), and renamed over the old one, so readers see the old
 * file or the new one, never half of it, and a failed save leaves no file
 * behind and an existing file untouched.  A symbolic link is followed: its
 * target is replaced (created, when the link dangles) and the link stays.
 * Other things at `path` keep what they are and are written in place, as
 * the shell's `>` does: character and block devices (/dev/null), FIFOs, a
 * regular file with more than one name (every hard link sees the new
 * contents), and /dev/stdout, /dev/stderr, /dev/fd/N and /proc/self/fd/N,
 * which write to that descriptor of this process at its current offset
 * (O_APPEND kept) without reopening it (flush a stdio stream on it first).
 * Those writes are not atomic: a failure can leave them partly written.  A
 * directory fails with LAM_ERR_IO.  Writing to a pipe whose reader has gone
 * raises SIGPIPE, as write(2) does; programs that write to pipes usually
 * ignore it.
 *
 * Threads: every function here may be called from any thread, several at
 * once, even on one path (each save writes its own temporary file; the last
 * rename wins).  What a save writes out is only read: the rules of
 * <lamina/tensor.h> apply to its tensors. */
#ifndef LAMINA_IO_H
#define LAMINA_IO_H

#include "common.h"
#include "tensor.h"
#include "module.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- safetensors (https://github.com/huggingface/safetensors) ----------
 *
 * Loading validates the file exactly as the reference implementation does:
 *  - at least 8 bytes; a little-endian u64 header length N <= 100,000,000
 *    with 8 + N <= file size;
 *  - the header is UTF-8 and one JSON object (strict JSON; trailing spaces
 *    allowed); no key appears twice in any object;
 *  - "__metadata__", if present, maps strings to strings (it is checked but
 *    not returned);
 *  - every other key is a tensor: an object with exactly "dtype" (a known
 *    safetensors dtype), "shape" (non-negative integers) and "data_offsets"
 *    ([begin, end], begin <= end); element count and byte size are computed
 *    with overflow checks and must equal end - begin;
 *  - sorted by offsets, tensors cover the byte buffer from 0 to its last
 *    byte with no gap, no overlap and no trailing bytes.
 * Then lamina's own limits: dtypes F32, F16, BF16 and F64 load (as float32:
 * F16 and BF16 exactly, including subnormals, infinities and NaN; F64 rounded
 * to nearest).  I64 and I32 load as integer tensors (the integer buffers of a
 * PyTorch state_dict: num_batches_tracked): their float32 data holds the
 * values rounded to nearest (exact up to 2^24) and lamina keeps the exact
 * values, which lam_module_load_state_dict copies into an integer buffer; it
 * refuses them for a float parameter or buffer (<lamina/module.h>, buffers).
 * Any other dtype (BOOL, U8, I8, I16, U32, U64, F8_*, ...) fails
 * with LAM_ERR_FORMAT naming the tensor and the dtype.  Tensors with more than
 * 4 dimensions fail likewise.  A 0-dimensional tensor (shape [], a PyTorch
 * scalar) loads with shape [1]; a tensor with a 0 in its shape loads empty.
 *
 * The dict's keys are the tensor names in byte order (the order of Python's
 * safe_open().keys()).  The dict holds one reference to each tensor.
 *
 * Tied weights: safetensors files never share storage between names.
 * safetensors.torch.save_model() drops all but one name of each tied group
 * (the first in sorted order) and records "removed name" -> "kept name" in
 * __metadata__; load_model() re-ties through the model itself.  So a file
 * from save_model() has ONE entry per tied group, and a strict
 * lam_module_load_state_dict() reports the dropped names as missing unless
 * the module shares that tensor (see the module loader). */

/* Load `path` (memory-mapped).  F32 tensors whose data is 4-byte aligned in
 * the file (always, for files written by the safetensors library or by
 * lamina) point straight into the mapping, which stays mapped until the last
 * such tensor is released; the mapping is private, so writing to a tensor
 * never changes the file.  Other tensors are converted into owned memory.
 * As with any mmap, truncating the file while tensors still use it makes
 * later reads fault (SIGBUS): replace weight files by rename, as
 * lam_safetensors_save does.  On success *out is a new dict (free it with
 * lam_state_dict_free). */
LAM_API lam_status lam_safetensors_load(const char *path, lam_state_dict **out);

/* The same rules on a buffer in memory (e.g. for fuzzing); every tensor is
 * copied, so `buf` may be freed as soon as this returns.  Messages name the
 * file "<memory>". */
LAM_API lam_status lam_safetensors_parse(const void *buf, size_t len, lam_state_dict **out);

/* Write every tensor of `sd` as F32 under its key, as
 * safetensors.torch.save_file(sd, path, metadata={"format": "pt"}) would;
 * integer tensors (num_batches_tracked, I64/I32 entries loaded from a file)
 * as I64 with their exact values, 0-dim ones with shape [] as PyTorch's.
 * Tensors sorted by dtype size (I64 first), then name, laid out back to back
 * from offset 0, the header
 * padded with spaces to a multiple of 8 bytes so every tensor is 8-byte
 * aligned.  Keys must be valid UTF-8 and not "__metadata__".  One tensor
 * held under two keys (tied weights) is written twice, once per key (the
 * format forbids shared offsets); it loads back as two tensors.  How `path`
 * is written (atomic rename, or in place for devices, FIFOs and hard links)
 * is described at the top of this file. */
LAM_API lam_status lam_safetensors_save(const char *path, const lam_state_dict *sd);

/* ---- NumPy .npy (format versions 1.0, 2.0 and 3.0) ---------------------
 *
 * Loading accepts dtype '<f4' and '<f8' as float32 tensors (float64 is
 * rounded to float32), '<i8' and '<i4' as int64 tensors (int32 widened),
 * '|b1' as bool tensors, and the big-endian forms ('>f4', '>i8', ...), which
 * are byte-swapped on load.  Any other dtype ('<f2', '<u8', structured
 * dtypes, ...) fails with LAM_ERR_FORMAT naming it.  fortran_order True (column-major) is rejected when the array has two or
 * more dimensions (for 0 and 1 dimensions both orders are the same bytes);
 * re-save such arrays with np.ascontiguousarray.  Shapes: () loads as [1];
 * more than 4 dimensions fail.  The data must be exactly
 * prod(shape) * itemsize bytes: a truncated file or trailing bytes fail.
 * The returned tensor owns its data (a copy). */
LAM_API lam_status lam_npy_load(const char *path, lam_tensor **out);
LAM_API lam_status lam_npy_parse(const void *buf, size_t len, lam_tensor **out);

/* Write `t` as a version 1.0 C-order .npy file, as numpy.save does ('<f4'
 * for float32, '<i8' for int64, '|b1' for bool): the header dict padded with spaces and ended by '\n' so the data starts at
 * a multiple of 64 bytes.  Written as described at the top of this file. */
LAM_API lam_status lam_npy_save(const char *path, const lam_tensor *t);

/* The header lam_npy_save writes for an array of `shape` (ndim in
 * 1..LAM_MAX_DIMS, every dimension >= 0): version 1.0, '<f4', C order,
 * padded so that the data starts at a multiple of 64 bytes.  It goes to
 * buf (size bytes; LAM_NPY_HEADER_MAX is always enough) and its length to
 * *len.  For writers that put the data in place themselves, such as several
 * processes each writing its rows of one file: the file is these bytes,
 * then the elements as little-endian float32 in C order.
 * LAM_ERR_INVALID_ARGUMENT for a NULL pointer, a bad ndim or dimension, or
 * a buf too small. */
#define LAM_NPY_HEADER_MAX 256
LAM_API lam_status lam_npy_header(int ndim, const int64_t *shape, void *buf, size_t size, size_t *len);

/* ---- .npy files read a range of rows at a time --------------------------
 *
 * For arrays larger than memory: a reader checks the file's header as
 * lam_npy_load does (the same messages, the data size against the
 * file's size) without reading the data, then reads any range of rows of
 * axis 0 into the caller's buffer, converted to float32 as lam_npy_load
 * converts.  Float arrays only: an integer or bool array fails to open
 * (LAM_ERR_FORMAT).  The file is read with pread(2), not mapped: a reader uses no
 * address space beyond the caller's buffer, and a file truncated after
 * opening gives LAM_ERR_IO rather than SIGBUS.  A reader holds the file
 * open (replacing the file by rename does not disturb it).  Threads: after
 * open, read and prefetch only read the reader, so several threads may use
 * one reader at once. */
typedef struct lam_npy_reader lam_npy_reader;

/* Open `path` and check its header.  On success *out is a new reader (close
 * it with lam_npy_reader_close); errors as lam_npy_load's. */
LAM_API lam_status lam_npy_reader_open(const char *path, lam_npy_reader **out);
/* Close the file and free the reader (NULL is a no-op). */
LAM_API void lam_npy_reader_close(lam_npy_reader *r);
/* The array's shape as lam_npy_load would give the tensor's (a 0-d array
 * is [1]): ndim (-1 for NULL), and the LAM_MAX_DIMS-entry shape, owned by
 * the reader (NULL for NULL). */
LAM_API int lam_npy_reader_ndim(const lam_npy_reader *r);
LAM_API const int64_t *lam_npy_reader_shape(const lam_npy_reader *r);
/* Read rows [row, row + rows) of axis 0 into dst, which holds rows times
 * the elements of a row (shape[1] * ... * shape[ndim-1]) floats; dst may be
 * NULL when rows is 0.  LAM_ERR_INVALID_ARGUMENT for a range outside the
 * array, LAM_ERR_IO when the read fails (the message carries the system's
 * text; a file truncated since it was opened says so); dst is then partly
 * written. */
LAM_API lam_status lam_npy_reader_read(lam_npy_reader *r, int64_t row, int64_t rows, float *dst);
/* Tell the system that rows [row, row + rows) will be read soon: it starts
 * reading them ahead (posix_fadvise WILLNEED) and this returns at once.
 * A hint only; LAM_ERR_INVALID_ARGUMENT for a range outside the array. */
LAM_API lam_status lam_npy_reader_prefetch(lam_npy_reader *r, int64_t row, int64_t rows);
/* Map rows [row, row + rows) of axis 0 instead of reading them (rows > 0):
 * *data points at their float32 values in a private, read-only-in-effect
 * mapping of the file (writes to it would stay in this process; the
 * caller should treat it as const), which the caller releases with
 * lam_npy_reader_unmap(r, *data, rows).  No copy: the pages come from the
 * page cache as they are touched (read ahead with madvise WILLNEED).  Only
 * where the file's bytes are the floats ('<f4' on a little-endian host):
 * LAM_ERR_NOT_IMPLEMENTED otherwise (use lam_npy_reader_read, which
 * converts).  The address space used is the rows' bytes plus at most a
 * page.  LAM_ERR_INVALID_ARGUMENT for an empty range or one outside the
 * array, LAM_ERR_IO when the file is now shorter than the rows need or
 * mmap fails.  Unlike reading, a mapping is exposed to the file being
 * truncated by another process while it is mapped: touching the lost pages
 * raises SIGBUS (as it does for lam_npy_load's mapping of a whole file);
 * use lam_npy_reader_read where that must not happen.  Threads: as read. */
LAM_API lam_status lam_npy_reader_map(lam_npy_reader *r, int64_t row, int64_t rows, const float **data);
/* Release a mapping made by lam_npy_reader_map of `rows` rows (data NULL
 * is a no-op). */
LAM_API void lam_npy_reader_unmap(lam_npy_reader *r, const float *data, int64_t rows);

#ifdef __cplusplus
}
#endif
#endif
