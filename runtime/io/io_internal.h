/* runtime/io — safetensors and .npy reading and writing, memory-mapped
 * input, atomic and in-place output (file.c), the JSON of safetensors
 * headers (json.c).  Uses core, tensor and module (state_dicts).  This
 * header: the helpers the readers and writers share.
 *
 * Nothing here is exported: every symbol is lam__io_* (hidden by the
 * library's -fvisibility=hidden) or static inline. */
#ifndef LAMINA_IO_INTERNAL_H
#define LAMINA_IO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdbool.h>
#include "lamina/common.h"
#include "lamina/tensor.h"

/* ---- read-only views of files ------------------------------------------ */

/* A file mapped MAP_PRIVATE with PROT_READ|PROT_WRITE: writes through a
 * zero-copy tensor stay private (copy-on-write) and never reach the file.
 * Reference-counted so that tensors pointing into it keep it alive; the last
 * release unmaps it.  An empty file has addr == NULL, len == 0. */
typedef struct lam__io_map {
    unsigned char *addr;
    size_t len;
    int refs; /* updated with __atomic builtins */
} lam__io_map;

/* Open, fstat and map `path`.  LAM_ERR_IO (with errno text) when it cannot
 * be opened, is not a regular file, or mmap fails; LAM_ERR_NO_MEMORY. */
lam_status lam__io_map_file(const char *path, lam__io_map **out);
void lam__io_map_retain(lam__io_map *m);
void lam__io_map_release(lam__io_map *m);
/* Same as lam__io_map_release, with the signature of a tensor keeper. */
void lam__io_map_release_cb(void *m);

/* ---- atomic writes ------------------------------------------------------- */

typedef struct lam__io_out lam__io_out;
/* Write n bytes (loops over short writes and EINTR).  On failure it records
 * the errno and every later call is a no-op; lam__io_write_atomic reports it. */
void lam__io_put(lam__io_out *o, const void *buf, size_t n);
/* Write n floats as little-endian IEEE binary32. */
void lam__io_put_f32(lam__io_out *o, const float *v, size_t n);

/* Write `path` with `fill(o, ctx)`.  A regular file (new, or with one name)
 * is replaced atomically: the contents go to a temporary file in the same
 * directory (the directory of the symlink chain's target when `path` is a
 * symlink), which gets the old file's mode and owner, is fsync'ed and
 * renamed over it; on any failure the temporary file is removed and `path`
 * is left as it was.  Devices, FIFOs, hard-linked files and the descriptor
 * aliases (/dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N) are written
 * in place (no atomicity there).  Returns the error (LAM_ERR_IO with errno
 * text, or fill's status).  fill returns LAM_OK or an error it has already
 * reported. */
lam_status lam__io_write_atomic(const char *path, lam_status (*fill)(lam__io_out *o, void *ctx),
                                void *ctx);

/* ---- .npy headers (npy.c), shared with the row reader (npy_rows.c) ------ */

typedef struct lam__npy_meta {
    int ndim;                     /* as lam_npy_load gives it: () is [1] */
    int64_t shape[LAM_MAX_DIMS];
    uint64_t numel;
    size_t data_off;              /* where the data starts in the file */
    size_t item;                  /* bytes per element in the file: 1, 4 or 8 */
    bool swap;                    /* big-endian in the file */
    char kind;                    /* 'f' float, 'i' signed integer, 'b' bool */
    int dtype;                    /* the tensor's lam_dtype: float32, int64, bool */
} lam__npy_meta;
/* How many bytes of a .npy file hold its header, at most. */
#define LAM__NPY_HEADER_READ (12 + 10000)
lam_status lam__npy_header(const char *what, const unsigned char *buf, size_t avail, uint64_t file_len,
                           lam__npy_meta *m);
/* n elements of the file's dtype at data into dst, elements of m->dtype
 * (float32, int64 or bool), as lam_npy_load does. */
void lam__npy_convert(const unsigned char *data, size_t n, const lam__npy_meta *m, void *dst);

/* ---- messages ------------------------------------------------------------ */

/* Put s[0..len) in double quotes into dst, escaping '"', '\\' and
 * non-printable bytes, and cutting long names with "...".  Returns dst. */
char *lam__io_quote(char *dst, size_t size, const char *s, size_t len);
#define LAM__IO_QUOTE_MAX 160

/* ---- little-endian loads and float conversions --------------------------- */

static inline uint16_t lam__io_le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t lam__io_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t lam__io_le64(const unsigned char *p)
{
    return (uint64_t)lam__io_le32(p) | ((uint64_t)lam__io_le32(p + 4) << 32);
}

static inline float lam__io_f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* IEEE binary16 -> binary32, exact for every input: subnormals are
 * normalised, infinities kept, NaN payloads kept (quiet bit included). */
static inline float lam__io_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13); /* inf / nan */
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13); /* 127 - 15 = 112 */
    } else if (man == 0) {
        bits = sign; /* +-0 */
    } else {
        /* subnormal: value = man * 2^-24; shift until the implicit bit shows */
        int e = -1;
        do {
            man <<= 1;
            e++;
        } while (!(man & 0x400u));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ffu) << 13);
    }
    return lam__io_f32_from_bits(bits);
}

/* bfloat16 is the upper half of a binary32: exact. */
static inline float lam__io_bf16_to_float(uint16_t b)
{
    return lam__io_f32_from_bits((uint32_t)b << 16);
}

static inline double lam__io_f64_from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static inline int lam__io_host_is_le(void)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return 1;
#else
    return 0;
#endif
}

#endif
