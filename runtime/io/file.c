/* lamina io — mapping files for reading, atomic replacement for writing.
 *
 * Readers map the whole file (MAP_PRIVATE, so zero-copy tensors can be
 * written to without touching the file).  If the file is truncated by
 * someone else while mapped, touching the lost pages raises SIGBUS; that is
 * the usual mmap contract and is documented in <lamina/io.h>.
 *
 * Writers never expose a half-written regular file: data goes to
 * "<path>.<pid>.<n>.tmp" in the same directory (so rename(2) is atomic), is
 * fsync'ed, given the old file's mode (and owner, where permitted), then
 * renamed; a symbolic link is followed and its target replaced.  What must
 * keep its identity is written in place instead: character and block
 * devices, FIFOs, a regular file with more than one name (hard links: every
 * name sees the new contents), and the descriptor aliases /dev/stdout,
 * /dev/stderr, /dev/fd/N (written as the shell writes them, no reopening). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/module/module.h"
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

/* "/dev/stdout", "/dev/stderr", "/dev/fd/N" and "/proc/self/fd/N" name a
 * descriptor this process already holds: write to it as the shell does for
 * these names (at its offset, keeping O_APPEND) instead of reopening it,
 * which would truncate a `>>` log or fail on a socket.  -1 for other paths. */
static int fd_alias(const char *path)
{
    const char *num;
    if (!strcmp(path, "/dev/stdout"))
        return STDOUT_FILENO;
    if (!strcmp(path, "/dev/stderr"))
        return STDERR_FILENO;
    if (!strncmp(path, "/dev/fd/", 8))
        num = path + 8;
    else if (!strncmp(path, "/proc/self/fd/", 14))
        num = path + 14;
    else
        return -1;
    long v = 0;
    if (!*num)
        return -1;
    for (; *num; num++) {
        if (*num < '0' || *num > '9' || v > 100000000)
            return -1;
        v = v * 10 + (*num - '0');
    }
    return (int)v;
}

/* Follow the symlinks of `path` (its last component, link after link) to
 * the name that a rename must replace: "<dir of the link>/<target>" for a
 * relative target.  The end of the chain need not exist (a dangling link
 * names the file to create).  *out is malloc'ed. */
static lam_status resolve_links(const char *path, char **out)
{
    char *p = lam__strdup(path);
    struct stat lst;
    int hops = 0;
    if (!p)
        return lam__error(LAM_ERR_NO_MEMORY, "%s: out of memory", path);
    while (lstat(p, &lst) == 0 && S_ISLNK(lst.st_mode)) {
        size_t cap = lst.st_size > 0 ? (size_t)lst.st_size + 1 : 256;
        char *target = NULL;
        ssize_t n;
        if (++hops > 40) {
            free(p);
            return lam__error(LAM_ERR_IO, "%s: cannot write: %s", path, strerror(ELOOP));
        }
        for (;;) { /* st_size is 0 for some links: grow until the target fits */
            char *t = realloc(target, cap);
            if (!t) {
                free(target);
                free(p);
                return lam__error(LAM_ERR_NO_MEMORY, "%s: out of memory", path);
            }
            target = t;
            n = readlink(p, target, cap);
            if (n < 0 || (size_t)n < cap)
                break;
            cap *= 2;
        }
        if (n < 0) {
            int err = errno;
            free(target);
            free(p);
            return lam__error(LAM_ERR_IO, "%s: cannot read the symbolic link: %s", path,
                              strerror(err));
        }
        target[n] = '\0';
        const char *slash = strrchr(p, '/');
        size_t dlen = target[0] == '/' || !slash ? 0 : (size_t)(slash - p) + 1;
        char *next = malloc(dlen + (size_t)n + 1);
        if (!next) {
            free(target);
            free(p);
            return lam__error(LAM_ERR_NO_MEMORY, "%s: out of memory", path);
        }
        memcpy(next, p, dlen);
        memcpy(next + dlen, target, (size_t)n + 1);
        free(target);
        free(p);
        p = next;
    }
    *out = p;
    return LAM_OK;
}

static lam_status finish(const char *path, lam_status st, lam__io_out *o)
{
    if (st == LAM_OK && o->err != 0)
        st = lam__error(LAM_ERR_IO, "%s: cannot write: %s", path, strerror(o->err));
    return st;
}

/* Write into what is there: a descriptor we hold (own_fd false), or `path`
 * opened for writing (a device, a FIFO, a regular file with other names). */
static lam_status write_through(const char *path, int fd, lam_status (*fill)(lam__io_out *o, void *ctx),
                                void *ctx)
{
    lam__io_out o = {fd, 0};
    bool own_fd = fd < 0;
    struct stat st;
    if (own_fd) {
        do { /* truncates a regular file; devices and FIFOs ignore O_TRUNC */
            o.fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
        } while (o.fd < 0 && errno == EINTR);
        if (o.fd < 0) {
            int err = errno;
            return lam__error(LAM_ERR_IO, "%s: cannot open for writing: %s", path, strerror(err));
        }
    } else if (fcntl(fd, F_GETFL) < 0) {
        return lam__error(LAM_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    }
    lam_status st_fill = fill(&o, ctx);
    /* data on a regular file reaches the disk before we report success */
    if (own_fd && st_fill == LAM_OK && o.err == 0 && fstat(o.fd, &st) == 0 && S_ISREG(st.st_mode) &&
        fsync(o.fd) != 0)
        o.err = errno;
    if (own_fd && close(o.fd) != 0 && o.err == 0 && errno != EINTR)
        o.err = errno;
    return finish(path, st_fill, &o);
}

/* Write a new file next to `final` and rename it over `final`; `old` (NULL
 * when there is none) gives the mode and owner to keep. */
static lam_status write_replace(const char *final, const struct stat *old,
                                lam_status (*fill)(lam__io_out *o, void *ctx), void *ctx)
{
    static unsigned counter;
    size_t plen = strlen(final);
    char *tmp = malloc(plen + 64);
    lam__io_out o = {-1, 0};
    lam_status st;
    int err;

    if (!tmp)
        return lam__error(LAM_ERR_NO_MEMORY, "%s: out of memory", final);
    for (int tries = 0; tries < 100; tries++) {
        unsigned n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
        snprintf(tmp, plen + 64, "%s.%ld.%u.tmp", final, (long)getpid(), n);
        /* private until it has the old file's mode; a new file gets 0666 & ~umask */
        o.fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, old ? 0600 : 0666);
        if (o.fd >= 0 || (errno != EEXIST && errno != EINTR))
            break;
    }
    if (o.fd < 0) {
        err = errno;
        free(tmp);
        return lam__error(LAM_ERR_IO, "%s: cannot create a temporary file next to it: %s", final,
                          strerror(err));
    }
    if (old) {
        mode_t mode = old->st_mode & 07777;
        struct stat now;
        /* the owner too where we may (root, or a group we are in); if not,
         * no set-id bits for a file that now belongs to us */
        if (fstat(o.fd, &now) == 0 && (now.st_uid != old->st_uid || now.st_gid != old->st_gid) &&
            fchown(o.fd, old->st_uid, old->st_gid) != 0)
            mode &= ~(mode_t)(S_ISUID | S_ISGID);
        if (fchmod(o.fd, mode) != 0 && errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP)
            o.err = errno;
    }
    st = fill(&o, ctx);
    if (st == LAM_OK && o.err == 0 && fsync(o.fd) != 0)
        o.err = errno;
    if (close(o.fd) != 0 && o.err == 0 && errno != EINTR)
        o.err = errno;
    if (st == LAM_OK && o.err == 0 && rename(tmp, final) != 0)
        o.err = errno;
    st = finish(final, st, &o);
    if (st != LAM_OK)
        unlink(tmp);
    free(tmp);
    return st;
}

lam_status lam__io_write_atomic(const char *path, lam_status (*fill)(lam__io_out *o, void *ctx),
                                void *ctx)
{
    struct stat st, fst;
    char *final;
    lam_status ret;
    int fd = fd_alias(path);

    if (fd >= 0)
        return write_through(path, fd, fill, ctx);
    if (stat(path, &st) != 0) {
        if (errno != ENOENT)
            return lam__error(LAM_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        /* nothing there (or a dangling link): create it where the links lead */
        if ((ret = resolve_links(path, &final)) != LAM_OK)
            return ret;
        ret = write_replace(final, NULL, fill, ctx);
        free(final);
        return ret;
    }
    if (S_ISDIR(st.st_mode))
        return lam__error(LAM_ERR_IO, "%s: cannot write: %s", path, strerror(EISDIR));
    /* devices, FIFOs and files with other names (hard links) are written
     * in place, so that what they are and the other names stay */
    if (!S_ISREG(st.st_mode) || st.st_nlink > 1)
        return write_through(path, -1, fill, ctx);
    if ((ret = resolve_links(path, &final)) != LAM_OK)
        return ret;
    /* a link that does not name a path (/proc/PID/fd/N of a deleted file) */
    if (stat(final, &fst) != 0 || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino)
        ret = write_through(path, -1, fill, ctx);
    else
        ret = write_replace(final, &st, fill, ctx);
    free(final);
    return ret;
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
