/* lamina io — NumPy .npy reader and writer.
 *
 * Format (numpy/lib/format.py): "\x93NUMPY", major, minor, a little-endian
 * header length (u16 for 1.0, u32 for 2.0 and 3.0), then a Python dict
 * literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and ended by '\n', then the raw data.  numpy reads the
 * dict with ast.literal_eval; we accept the subset its writer produces (and
 * any spacing, key order, quote style and trailing comma), which is all a
 * float array header can be. */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lamina/io.h"
#include "runtime/module/module.h"
#include "runtime/io/io_internal.h"

#define NPY_MAX_HEADER 10000 /* numpy's default max_header_size */
#define NPY_MAX_RANK 64

typedef struct npy_hdr {
    const char *what;
    const char *s; /* header text */
    size_t len, pos;
    char descr[16];
    int fortran; /* -1 unset */
    int rank;    /* -1 unset */
    uint64_t shape[NPY_MAX_RANK];
} npy_hdr;

static lam_status npy_fail(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static lam_status npy_fail(const char *what, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lam__error(LAM_ERR_FORMAT, "%s: %s", what, msg);
}

static void ws(npy_hdr *h)
{
    while (h->pos < h->len && strchr(" \t\r\n", h->s[h->pos]) && h->s[h->pos])
        h->pos++;
}

static bool at(npy_hdr *h, char c)
{
    ws(h);
    if (h->pos < h->len && h->s[h->pos] == c) {
        h->pos++;
        return true;
    }
    return false;
}

/* A quoted string without escapes into dst (cut to size - 1). */
static lam_status pystr(npy_hdr *h, char *dst, size_t size, const char *role)
{
    ws(h);
    char q = h->pos < h->len ? h->s[h->pos] : 0;
    if (q != '\'' && q != '"')
        return npy_fail(h->what, "header: expected a quoted %s at byte %zu", role, h->pos);
    size_t start = ++h->pos, n;
    while (h->pos < h->len && h->s[h->pos] != q) {
        if (h->s[h->pos] == '\\' || h->s[h->pos] == '\n')
            return npy_fail(h->what, "header: unsupported character in %s at byte %zu", role, h->pos);
        /* numpy's literal_eval refuses it; the C strings below would end there */
        if (h->s[h->pos] == '\0')
            return npy_fail(h->what, "header: NUL byte in %s at byte %zu", role, h->pos);
        h->pos++;
    }
    if (h->pos >= h->len)
        return npy_fail(h->what, "header: unterminated %s", role);
    n = h->pos - start < size - 1 ? h->pos - start : size - 1;
    memcpy(dst, h->s + start, n);
    dst[n] = '\0';
    h->pos++;
    return LAM_OK;
}

static lam_status parse_shape(npy_hdr *h)
{
    if (!at(h, '('))
        return npy_fail(h->what, "header: 'shape' is not a tuple (expected '(' at byte %zu)", h->pos);
    h->rank = 0;
    if (at(h, ')'))
        return LAM_OK;
    for (;;) {
        uint64_t v = 0;
        size_t start;
        ws(h);
        start = h->pos;
        if (h->pos < h->len && h->s[h->pos] == '-')
            return npy_fail(h->what, "header: negative dimension in 'shape'");
        while (h->pos < h->len && h->s[h->pos] >= '0' && h->s[h->pos] <= '9') {
            unsigned d = (unsigned)(h->s[h->pos++] - '0');
            if (v > ((uint64_t)INT64_MAX - d) / 10)
                return npy_fail(h->what, "header: dimension in 'shape' does not fit in 63 bits");
            v = v * 10 + d;
        }
        if (h->pos == start || (h->s[start] == '0' && h->pos - start > 1))
            return npy_fail(h->what, "header: 'shape' must hold non-negative integers (byte %zu)", start);
        if (h->rank == NPY_MAX_RANK)
            return npy_fail(h->what, "header: 'shape' has more than %d dimensions", NPY_MAX_RANK);
        h->shape[h->rank++] = v;
        bool comma = at(h, ',');
        if (at(h, ')')) {
            if (h->rank == 1 && !comma)
                return npy_fail(h->what, "header: 'shape' (%" PRIu64 ") is not a tuple (a 1-tuple is written (%"
                                PRIu64 ",))", v, v);
            return LAM_OK;
        }
        if (!comma)
            return npy_fail(h->what, "header: expected ',' or ')' in 'shape' at byte %zu", h->pos);
    }
}

static lam_status parse_header(npy_hdr *h)
{
    lam_status st;
    char key[32];
    h->fortran = h->rank = -1;
    h->descr[0] = '\0';
    if (!at(h, '{'))
        return npy_fail(h->what, "header is not a Python dict literal (no '{')");
    while (!at(h, '}')) {
        if ((st = pystr(h, key, sizeof key, "key")) != LAM_OK)
            return st;
        if (!at(h, ':'))
            return npy_fail(h->what, "header: expected ':' after '%s' at byte %zu", key, h->pos);
        ws(h);
        if (!strcmp(key, "descr")) {
            if (h->descr[0])
                return npy_fail(h->what, "header: key 'descr' appears twice");
            if (h->pos < h->len && h->s[h->pos] == '[')
                return npy_fail(h->what, "structured dtypes (a 'descr' list) are not supported");
            if ((st = pystr(h, h->descr, sizeof h->descr, "'descr'")) != LAM_OK)
                return st;
            if (!h->descr[0])
                return npy_fail(h->what, "header: 'descr' is empty");
        } else if (!strcmp(key, "fortran_order")) {
            if (h->fortran >= 0)
                return npy_fail(h->what, "header: key 'fortran_order' appears twice");
            if (h->len - h->pos >= 4 && !memcmp(h->s + h->pos, "True", 4))
                h->fortran = 1, h->pos += 4;
            else if (h->len - h->pos >= 5 && !memcmp(h->s + h->pos, "False", 5))
                h->fortran = 0, h->pos += 5;
            else
                return npy_fail(h->what, "header: 'fortran_order' must be True or False");
        } else if (!strcmp(key, "shape")) {
            if (h->rank >= 0)
                return npy_fail(h->what, "header: key 'shape' appears twice");
            if ((st = parse_shape(h)) != LAM_OK)
                return st;
        } else {
            return npy_fail(h->what, "header: unexpected key '%s' (a .npy header has exactly 'descr', "
                            "'fortran_order' and 'shape')", key);
        }
        if (!at(h, ',')) {
            if (at(h, '}'))
                break;
            return npy_fail(h->what, "header: expected ',' or '}' at byte %zu", h->pos);
        }
    }
    ws(h);
    if (h->pos != h->len)
        return npy_fail(h->what, "header: unexpected characters after the dict at byte %zu", h->pos);
    if (!h->descr[0] || h->fortran < 0 || h->rank < 0)
        return npy_fail(h->what, "header has no '%s' key", !h->descr[0] ? "descr" : h->fortran < 0 ? "fortran_order" : "shape");
    return LAM_OK;
}

static const char *shape_str(const npy_hdr *h, char *buf, size_t size)
{
    size_t o = 0;
    o += (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < h->rank && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%" PRIu64 "%s", i ? ", " : "", h->shape[i],
                              h->rank == 1 ? "," : "");
    if (o < size)
        snprintf(buf + o, size - o, ")");
    return buf;
}

/* The header of a .npy file whose first `avail` bytes are in buf and whose
 * whole length is file_len (avail <= file_len; avail covers the header when
 * avail >= min(file_len, 12 + NPY_MAX_HEADER)): checks everything
 * lam_npy_load checks, the data size against file_len included, and fills
 * *m. */
lam_status lam__npy_header(const char *what, const unsigned char *buf, size_t avail, uint64_t file_len,
                           lam__npy_meta *m)
{
    npy_hdr h = {.what = what};
    size_t hstart, hlen, item;
    uint64_t numel = 1, nbytes;
    char sh[160];
    /* messages say "file is N bytes": N is the file's length, whatever was read */
    size_t len = file_len > (uint64_t)SIZE_MAX ? SIZE_MAX : (size_t)file_len;

    if (len == 0)
        return npy_fail(what, "file is empty (not a .npy file)");
    if (len < 8 || avail < 8 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return npy_fail(what, "not a .npy file (bad magic: expected \\x93NUMPY)");
    if (buf[6] < 1 || buf[6] > 3 || buf[7] != 0)
        return npy_fail(what, "unsupported .npy format version %u.%u (lamina reads 1.0, 2.0 and 3.0)", buf[6],
                        buf[7]);
    hstart = buf[6] == 1 ? 10 : 12;
    if (len < hstart || avail < hstart)
        return npy_fail(what, "file is %zu bytes, truncated inside the header length", len);
    hlen = buf[6] == 1 ? lam__io_le16(buf + 8) : lam__io_le32(buf + 8);
    if (hlen > len - hstart)
        return npy_fail(what, "header length %zu runs past the end of the file (%zu bytes)", hlen, len);
    if (hlen > NPY_MAX_HEADER || hlen > avail - hstart)
        return npy_fail(what, "header length %zu exceeds numpy's limit of %d bytes", hlen, NPY_MAX_HEADER);
    h.s = (const char *)buf + hstart;
    h.len = hlen;
    lam_status st = parse_header(&h);
    if (st != LAM_OK)
        return st;

    /* float32 from '<f4'/'<f8', int64 from '<i8'/'<i4' (token ids), bool
     * from '|b1' (masks); '=' is the native order, '|' for one byte */
    char order = h.descr[0], kind = h.descr[0] ? h.descr[1] : 0;
    item = 0;
    if ((order == '<' || order == '>' || order == '=') && h.descr[2] && !h.descr[3]) {
        if (kind == 'f' && (h.descr[2] == '4' || h.descr[2] == '8'))
            item = (size_t)(h.descr[2] - '0');
        else if (kind == 'i' && (h.descr[2] == '4' || h.descr[2] == '8'))
            item = (size_t)(h.descr[2] - '0');
    } else if ((order == '|' || order == '<' || order == '>' || order == '=') && kind == 'b' &&
               h.descr[2] == '1' && !h.descr[3]) {
        item = 1;
    }
    if (!item)
        return npy_fail(what, "dtype '%s' is not supported (lamina reads '<f4' and '<f8' as float32, "
                        "'<i8' and '<i4' as int64, '|b1' as bool, and the big-endian forms)", h.descr);
    if (h.fortran && h.rank >= 2)
        return npy_fail(what, "fortran_order=True (column-major) arrays are not supported; save the array "
                        "with np.ascontiguousarray");
    if (h.rank > LAM_MAX_DIMS)
        return npy_fail(what, "shape %s has %d dimensions; lamina tensors have 1 to %d",
                        shape_str(&h, sh, sizeof sh), h.rank, LAM_MAX_DIMS);
    for (int i = 0; i < h.rank; i++)
        if (__builtin_mul_overflow(numel, h.shape[i], &numel))
            return npy_fail(what, "shape %s overflows (element count does not fit in 64 bits)",
                            shape_str(&h, sh, sizeof sh));
    if (__builtin_mul_overflow(numel, (uint64_t)item, &nbytes) || nbytes > (uint64_t)INT64_MAX)
        return npy_fail(what, "shape %s overflows (byte size does not fit in 63 bits)", shape_str(&h, sh, sizeof sh));

    uint64_t data_len = file_len - hstart - hlen;
    if (data_len < nbytes)
        return npy_fail(what, "data is %" PRIu64 " bytes but %s %s needs %" PRIu64 " (file truncated)", data_len,
                        h.descr, shape_str(&h, sh, sizeof sh), nbytes);
    if (data_len > nbytes)
        return npy_fail(what, "%" PRIu64 " trailing bytes after the data of %s %s (%" PRIu64 " bytes)",
                        data_len - nbytes, h.descr, shape_str(&h, sh, sizeof sh), nbytes);

    int64_t n;
    m->shape[0] = 1;
    for (int i = 0; i < h.rank; i++)
        m->shape[i] = (int64_t)h.shape[i];
    m->ndim = h.rank ? h.rank : 1; /* () loads as [1] */
    if (lam__check_shape(m->ndim, m->shape, &n) != LAM_OK)
        return npy_fail(what, "shape %s is too large for a lamina tensor", shape_str(&h, sh, sizeof sh));
    m->data_off = hstart + hlen;
    m->item = item;
    m->swap = order == '>' || (order == '=' && !lam__io_host_is_le());
    m->kind = kind;
    m->dtype = kind == 'f' ? LAM_FLOAT32 : kind == 'i' ? LAM_INT64 : LAM_BOOL;
    m->numel = numel;
    return LAM_OK;
}

void lam__npy_convert(const unsigned char *data, size_t n, const lam__npy_meta *m, void *dst)
{
    const size_t item = m->item;
    float *f = dst;
    int64_t *l = dst;
    bool *b1 = dst;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = data + item * i;
        unsigned char b[8];
        if (m->swap) {
            for (size_t k = 0; k < item; k++)
                b[k] = p[item - 1 - k];
            p = b;
        }
        if (m->kind == 'b')
            b1[i] = *p != 0;
        else if (m->kind == 'i')
            l[i] = item == 4 ? (int64_t)(int32_t)lam__io_le32(p) : (int64_t)lam__io_le64(p);
        else
            f[i] = item == 4 ? lam__io_f32_from_bits(lam__io_le32(p))
                             : (float)lam__io_f64_from_bits(lam__io_le64(p));
    }
}

static lam_status npy_read(const char *what, const unsigned char *buf, size_t len, lam_tensor **out)
{
    lam__npy_meta m;
    *out = NULL;
    lam_status st = lam__npy_header(what, buf, len, len, &m);
    if (st != LAM_OK)
        return st;
    st = lam_tensor_create_dtype(out, (lam_dtype)m.dtype, m.ndim, m.shape);
    if (st != LAM_OK) {
        char prefix[300];
        snprintf(prefix, sizeof prefix, "%.256s:", what);
        lam__error_prefix(prefix);
        return st;
    }
    lam__npy_convert(buf + m.data_off, (size_t)m.numel, &m, (*out)->data);
    return LAM_OK;
}

LAM_API lam_status lam_npy_parse(const void *buf, size_t len, lam_tensor **out)
{
    if (!out || (!buf && len > 0))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_npy_parse: %s is NULL", out ? "buf" : "out");
    return npy_read("<memory>", buf, len, out);
}

LAM_API lam_status lam_npy_load(const char *path, lam_tensor **out)
{
    lam__io_map *map;
    lam_status st;
    if (!path || !out)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_npy_load: %s is NULL", path ? "out" : "path");
    *out = NULL;
    st = lam__io_map_file(path, &map);
    if (st != LAM_OK)
        return st;
    st = npy_read(path, map->addr, map->len, out);
    lam__io_map_release(map);
    return st;
}

typedef struct npy_save_ctx {
    const lam_tensor *t;
    char header[LAM_NPY_HEADER_MAX];
    size_t hlen;
} npy_save_ctx;

static lam_status npy_fill(lam__io_out *o, void *vctx)
{
    npy_save_ctx *c = vctx;
    const lam_tensor *t = c->t;
    lam__io_put(o, c->header, c->hlen);
    if (t->dtype == LAM_FLOAT32) {
        lam__io_put_f32(o, t->data, (size_t)t->numel);
    } else if (t->dtype == LAM_BOOL) {
        for (int64_t j = 0; j < t->numel; j++) {
            unsigned char b = lam__tensor_bool(t)[j] ? 1 : 0;
            lam__io_put(o, &b, 1);
        }
    } else {
        for (int64_t j = 0; j < t->numel; j++) {
            uint64_t v = (uint64_t)lam__tensor_i64(t)[j];
            unsigned char b[8];
            for (int k = 0; k < 8; k++)
                b[k] = (unsigned char)(v >> (8 * k));
            lam__io_put(o, b, 8);
        }
    }
    return LAM_OK;
}

static lam_status npy_header_descr(const char *descr, int ndim, const int64_t *shape, void *buf,
                                   size_t size, size_t *len);

LAM_API lam_status lam_npy_header(int ndim, const int64_t *shape, void *buf, size_t size, size_t *len)
{
    return npy_header_descr("<f4", ndim, shape, buf, size, len);
}

static lam_status npy_header_descr(const char *descr, int ndim, const int64_t *shape, void *buf,
                                   size_t size, size_t *len)
{
    char dict[200], dim0[24], header[LAM_NPY_HEADER_MAX];
    int n;

    if (!shape || !buf || !len)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_npy_header: %s is NULL",
                          !shape ? "shape" : !buf ? "buf" : "len");
    if (ndim < 1 || ndim > LAM_MAX_DIMS)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_npy_header: ndim %d is not in 1..%d", ndim,
                          LAM_MAX_DIMS);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0)
            return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_npy_header: shape[%d] is %" PRId64, i, shape[i]);
    n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < ndim; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%s%" PRId64, i ? ", " : "", shape[i]);
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%s), }", ndim == 1 ? "," : "");
    /* numpy >= 1.24 leaves room to grow axis 0 in place: 21 - len(repr(shape[0])) spaces */
    int spare = 21 - snprintf(dim0, sizeof dim0, "%" PRId64, shape[0]);
    /* total = 10 + dict + spare + pad + '\n', a multiple of 64; pad in 1..64 as numpy computes it */
    int pad = 64 - (10 + n + spare + 1) % 64;
    memcpy(header, "\x93NUMPY\x01\x00", 8);
    int hl = n + spare + pad + 1;
    header[8] = (char)(hl & 0xff);
    header[9] = (char)(hl >> 8);
    memcpy(header + 10, dict, (size_t)n);
    memset(header + 10 + n, ' ', (size_t)(spare + pad));
    header[10 + hl - 1] = '\n';
    if ((size_t)(10 + hl) > size)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_npy_header: the header is %d bytes, buf holds %zu",
                          10 + hl, size);
    memcpy(buf, header, (size_t)(10 + hl));
    *len = (size_t)(10 + hl);
    return LAM_OK;
}

LAM_API lam_status lam_npy_save(const char *path, const lam_tensor *t)
{
    LAM__SYNC();
    npy_save_ctx c = {.t = t};

    if (!path || !t)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_npy_save: %s is NULL", path ? "t" : "path");
    const char *descr = t->dtype == LAM_INT64 ? "<i8" : t->dtype == LAM_BOOL ? "|b1" : "<f4";
    lam_status st = npy_header_descr(descr, t->ndim, t->shape, c.header, sizeof c.header, &c.hlen);
    if (st != LAM_OK)
        return st;
    return lam__io_write_atomic(path, npy_fill, &c);
}
