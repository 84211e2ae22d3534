/* lamina io — reading an .npy file a range of rows at a time.
 *
 * For inputs larger than memory (lamina run --mpi, and anyone streaming an
 * array): the header is read and checked once, then each call reads the
 * bytes of rows [row, row + rows) of axis 0 with pread(2) into the
 * caller's buffer, converting on the way when the file is not '<f4'.
 * pread rather than a mapping: the address space a reader uses is the
 * caller's buffer (a process under `ulimit -v` can stream a file many times
 * its limit), and a file truncated under us gives an error, not SIGBUS.
 * Prefetching asks the kernel to start reading ahead (posix_fadvise
 * WILLNEED) and returns at once, so the next chunk's I/O overlaps the
 * current chunk's compute.  lam_npy_reader_map maps a range of rows
 * instead (no copy), for callers that accept the mapping's SIGBUS on a
 * truncated file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lamina/io.h"
#include "runtime/module/module.h"
#include "runtime/io/io_internal.h"

struct lam_npy_reader {
    int fd;
    lam__npy_meta m;
    int64_t row_numel; /* elements per row of axis 0 */
    char *path;
};

LAM_API lam_status lam_npy_reader_open(const char *path, lam_npy_reader **out)
{
    if (!path || !out)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_npy_reader_open: %s is NULL", path ? "out" : "path");
    *out = NULL;
    int fd, err;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block us */
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        err = errno;
        return lam__error(LAM_ERR_IO, "%s: cannot open: %s", path, strerror(err));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        err = errno;
        close(fd);
        return lam__error(LAM_ERR_IO, "%s: cannot stat: %s", path, strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return lam__error(LAM_ERR_IO, "%s: not a regular file%s", path,
                          S_ISDIR(st.st_mode) ? " (it is a directory)" : "");
    }
    lam_npy_reader *r = calloc(1, sizeof *r);
    unsigned char *head = malloc(LAM__NPY_HEADER_READ);
    if (!r || !head || !(r->path = strdup(path))) {
        if (r)
            free(r->path);
        free(r);
        free(head);
        close(fd);
        return lam__error(LAM_ERR_NO_MEMORY, "%s: out of memory", path);
    }
    r->fd = fd;
    uint64_t file_len = (uint64_t)st.st_size;
    size_t want = file_len < LAM__NPY_HEADER_READ ? (size_t)file_len : LAM__NPY_HEADER_READ, got = 0;
    while (got < want) {
        ssize_t n = pread(fd, head + got, want - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? errno : 0;
            free(head);
            lam_npy_reader_close(r);
            return lam__error(LAM_ERR_IO, "%s: cannot read the header: %s", path,
                              err ? strerror(err) : "the file shrank");
        }
        got += (size_t)n;
    }
    lam_status s = lam__npy_header(path, head, got, file_len, &r->m);
    free(head);
    if (s == LAM_OK && r->m.dtype != LAM_FLOAT32)
        s = lam__error(LAM_ERR_FORMAT,
                       "%s: the row reader reads float arrays ('<f4', '<f8'), this one is %s; "
                       "load it whole with lam_npy_load",
                       path, lam_dtype_name((lam_dtype)r->m.dtype));
    if (s != LAM_OK) {
        lam_npy_reader_close(r);
        return s;
    }
    r->row_numel = 1;
    for (int i = 1; i < r->m.ndim; i++)
        r->row_numel *= r->m.shape[i]; /* checked by lam__check_shape */
    *out = r;
    return LAM_OK;
}

LAM_API void lam_npy_reader_close(lam_npy_reader *r)
{
    if (!r)
        return;
    close(r->fd);
    free(r->path);
    free(r);
}

LAM_API int lam_npy_reader_ndim(const lam_npy_reader *r)
{
    if (!r) {
        lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_npy_reader_ndim: r is NULL");
        return -1;
    }
    return r->m.ndim;
}

LAM_API const int64_t *lam_npy_reader_shape(const lam_npy_reader *r)
{
    if (!r) {
        lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_npy_reader_shape: r is NULL");
        return NULL;
    }
    return r->m.shape;
}

/* The byte range of rows [row, row + rows), after checking it. */
static lam_status row_range(const lam_npy_reader *r, const char *fn, int64_t row, int64_t rows, uint64_t *off,
                            uint64_t *len)
{
    if (row < 0 || rows < 0 || row > r->m.shape[0] || rows > r->m.shape[0] - row)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "%s: %s: rows [%" PRId64 ", %" PRId64 ") are not within the "
                          "%" PRId64 " rows of the array", fn, r->path, row, row + rows, r->m.shape[0]);
    uint64_t row_bytes = (uint64_t)r->row_numel * r->m.item; /* the whole array's bytes fit in 63 bits */
    *off = r->m.data_off + (uint64_t)row * row_bytes;
    *len = (uint64_t)rows * row_bytes;
    return LAM_OK;
}

static lam_status read_at(const lam_npy_reader *r, void *dst, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(r->fd, (char *)dst + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = n < 0 ? errno : 0;
            return lam__error(LAM_ERR_IO, "%s: cannot read %zu bytes at offset %" PRIu64 ": %s", r->path, len,
                              off, err ? strerror(err) : "the file was truncated after it was opened");
        }
        got += (size_t)n;
    }
    return LAM_OK;
}

LAM_API lam_status lam_npy_reader_read(lam_npy_reader *r, int64_t row, int64_t rows, float *dst)
{
    uint64_t off = 0, len = 0;
    if (!r || (!dst && rows > 0))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_npy_reader_read: %s is NULL", r ? "dst" : "r");
    lam_status s = row_range(r, "lam_npy_reader_read", row, rows, &off, &len);
    if (s != LAM_OK || len == 0)
        return s;
    if (len > (uint64_t)SIZE_MAX)
        return lam__error(LAM_ERR_NO_MEMORY, "lam_npy_reader_read: %s: %" PRIu64 " bytes do not fit in memory",
                          r->path, len);
    if (r->m.item == 4 && !r->m.swap && lam__io_host_is_le())
        return read_at(r, dst, (size_t)len, off); /* the file's bytes are the floats */
    /* through a bounce buffer, converted a block at a time */
    enum { BLOCK = 8192 };
    unsigned char *buf = malloc(BLOCK * 8);
    if (!buf)
        return lam__error(LAM_ERR_NO_MEMORY, "lam_npy_reader_read: %s: out of memory", r->path);
    size_t n_total = (size_t)(len / r->m.item);
    for (size_t done = 0; done < n_total && s == LAM_OK;) {
        size_t n = n_total - done < BLOCK ? n_total - done : BLOCK;
        s = read_at(r, buf, n * r->m.item, off + done * r->m.item);
        if (s == LAM_OK)
            lam__npy_convert(buf, n, &r->m, dst + done);
        done += n;
    }
    free(buf);
    return s;
}

LAM_API lam_status lam_npy_reader_prefetch(lam_npy_reader *r, int64_t row, int64_t rows)
{
    uint64_t off = 0, len = 0;
    if (!r)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_npy_reader_prefetch: r is NULL");
    lam_status s = row_range(r, "lam_npy_reader_prefetch", row, rows, &off, &len);
    if (s != LAM_OK || len == 0)
        return s;
    /* a hint: its failure (a file system without read-ahead) changes nothing */
    (void)posix_fadvise(r->fd, (off_t)off, (off_t)len, POSIX_FADV_WILLNEED);
    return LAM_OK;
}

static uint64_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (uint64_t)p : 4096;
}

LAM_API lam_status lam_npy_reader_map(lam_npy_reader *r, int64_t row, int64_t rows, const float **data)
{
    uint64_t off = 0, len = 0;
    if (!r || !data)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_npy_reader_map: %s is NULL", r ? "data" : "r");
    *data = NULL;
    if (rows <= 0)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_npy_reader_map: %s: %" PRId64 " rows (map at least one)",
                          r->path, rows);
    lam_status s = row_range(r, "lam_npy_reader_map", row, rows, &off, &len);
    if (s != LAM_OK)
        return s;
    if (!(r->m.item == 4 && !r->m.swap && lam__io_host_is_le()))
        return lam__error(LAM_ERR_NOT_IMPLEMENTED, "lam_npy_reader_map: %s: the file's values are not this host's "
                          "float32 (read them with lam_npy_reader_read, which converts)", r->path);
    uint64_t pg = page_size(), start = off / pg * pg, span = off + len - start;
    if (span > (uint64_t)SIZE_MAX)
        return lam__error(LAM_ERR_NO_MEMORY, "lam_npy_reader_map: %s: %" PRIu64 " bytes do not fit in memory",
                          r->path, len);
    struct stat st;
    if (fstat(r->fd, &st) != 0)
        return lam__error(LAM_ERR_IO, "%s: cannot stat: %s", r->path, strerror(errno));
    if ((uint64_t)st.st_size < off + len)
        return lam__error(LAM_ERR_IO, "%s: cannot map %" PRIu64 " bytes at offset %" PRIu64 ": the file was "
                          "truncated after it was opened", r->path, len, off);
    /* private and writable: a writer (there should be none) copies its pages
     * instead of faulting; reading maps the page cache's pages as they are */
    void *p = mmap(NULL, (size_t)span, PROT_READ | PROT_WRITE, MAP_PRIVATE, r->fd, (off_t)start);
    if (p == MAP_FAILED)
        return lam__error(LAM_ERR_IO, "%s: cannot map %" PRIu64 " bytes at offset %" PRIu64 ": %s", r->path, len,
                          off, strerror(errno));
    (void)madvise(p, (size_t)span, MADV_WILLNEED); /* a hint */
    *data = (const float *)(const void *)((const char *)p + (off - start));
    return LAM_OK;
}

LAM_API void lam_npy_reader_unmap(lam_npy_reader *r, const float *data, int64_t rows)
{
    if (!r || !data || rows <= 0)
        return;
    uint64_t pg = page_size();
    uintptr_t a = (uintptr_t)data, base = a / pg * pg;
    uint64_t len = (uint64_t)rows * (uint64_t)r->row_numel * r->m.item;
    munmap((void *)base, (size_t)(a - base + len));
}
