/* lamina io — mapping files for reading, atomic replacement for writing.
 *
 * Readers map the whole file (MAP_PRIVATE, so zero-copy tensors can be
 * written to without touching the file).  If the file is truncated by
 * someone else while mapped, touching the lost pages raises SIGBUS; that is
 * the usual mmap contract and is documented in <lamina/io.h>.
 *
 * Writers never expose a half-written file: data goes to "<path>.<pid>.<n>.tmp"
 * in the same directory (so rename(2) is atomic), is fsync'ed, then renamed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "runtime/io/io_internal.h"

lam_status lam__io_map_file(const char *path, lam__io_map **out)
{
    struct stat st;
    lam__io_map *m;
    int fd, err;

    *out = NULL;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block us */
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        err = errno;
        return lam__error(LAM_ERR_IO, "%s: cannot open: %s", path, strerror(err));
    }
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
    if ((uintmax_t)st.st_size > (uintmax_t)SIZE_MAX) {
        close(fd);
        return lam__error(LAM_ERR_IO, "%s: file too large to map", path);
    }
    m = calloc(1, sizeof *m);
    if (!m) {
        close(fd);
        return lam__error(LAM_ERR_NO_MEMORY, "%s: out of memory", path);
    }
    m->refs = 1;
    m->len = (size_t)st.st_size;
    if (m->len > 0) {
        void *p = mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            err = errno;
            close(fd);
            free(m);
            if (err == ENOMEM)
                return lam__error(LAM_ERR_NO_MEMORY, "%s: cannot map %zu bytes: %s", path,
                                  (size_t)st.st_size, strerror(err));
            return lam__error(LAM_ERR_IO, "%s: cannot map: %s", path, strerror(err));
        }
        m->addr = p;
    }
    close(fd); /* the mapping keeps the file */
    *out = m;
    return LAM_OK;
}

void lam__io_map_retain(lam__io_map *m)
{
    __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
}

void lam__io_map_release(lam__io_map *m)
{
    if (!m)
        return;
    if (__atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    if (m->addr)
        munmap(m->addr, m->len);
    free(m);
}

void lam__io_map_release_cb(void *m)
{
    lam__io_map_release(m);
}

/* ---- atomic writes ------------------------------------------------------- */

struct lam__io_out {
    int fd;
    int err; /* first errno, 0 while all is well */
};

void lam__io_put(lam__io_out *o, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n > 0 && o->err == 0) {
        ssize_t w = write(o->fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0) {
            if (errno != EINTR)
                o->err = errno;
            continue;
        }
        if (w == 0) {
            o->err = EIO;
            break;
        }
        p += w;
        n -= (size_t)w;
    }
}

void lam__io_put_f32(lam__io_out *o, const float *v, size_t n)
{
    unsigned char chunk[4096];
    if (lam__io_host_is_le()) {
        lam__io_put(o, v, n * sizeof(float));
        return;
    }
    while (n > 0) {
        size_t k = n < sizeof chunk / 4 ? n : sizeof chunk / 4;
        for (size_t i = 0; i < k; i++) {
            uint32_t u;
            memcpy(&u, &v[i], 4);
            chunk[4 * i] = (unsigned char)u;
            chunk[4 * i + 1] = (unsigned char)(u >> 8);
            chunk[4 * i + 2] = (unsigned char)(u >> 16);
            chunk[4 * i + 3] = (unsigned char)(u >> 24);
        }
        lam__io_put(o, chunk, 4 * k);
        v += k;
        n -= k;
    }
}

lam_status lam__io_write_atomic(const char *path, lam_status (*fill)(lam__io_out *o, void *ctx),
                                void *ctx)
{
    static unsigned counter;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 64);
    lam__io_out o = {-1, 0};
    lam_status st;
    int err;

    if (!tmp)
        return lam__error(LAM_ERR_NO_MEMORY, "%s: out of memory", path);
    for (int tries = 0; tries < 100; tries++) {
        unsigned n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
        snprintf(tmp, plen + 64, "%s.%ld.%u.tmp", path, (long)getpid(), n);
        o.fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (o.fd >= 0 || (errno != EEXIST && errno != EINTR))
            break;
    }
    if (o.fd < 0) {
        err = errno;
        free(tmp);
        return lam__error(LAM_ERR_IO, "%s: cannot create a temporary file next to it: %s", path,
                          strerror(err));
    }
    st = fill(&o, ctx);
    if (st == LAM_OK && o.err == 0 && fsync(o.fd) != 0)
        o.err = errno;
    if (close(o.fd) != 0 && o.err == 0 && errno != EINTR)
        o.err = errno;
    if (st == LAM_OK && o.err == 0 && rename(tmp, path) != 0)
        o.err = errno;
    if (st == LAM_OK && o.err != 0)
        st = lam__error(LAM_ERR_IO, "%s: cannot write: %s", path, strerror(o.err));
    if (st != LAM_OK)
        unlink(tmp);
    free(tmp);
    return st;
}

/* ---- messages ------------------------------------------------------------ */

char *lam__io_quote(char *dst, size_t size, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (size < 8) {
        if (size)
            dst[0] = '\0';
        return dst;
    }
    dst[o++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (o + 8 >= size) { /* room for "...\"" and the NUL */
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        if (c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        } else {
            dst[o++] = (char)c; /* UTF-8 passes through */
        }
    }
    dst[o++] = '"';
    dst[o] = '\0';
    return dst;
}
