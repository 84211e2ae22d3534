/* lamina io — safetensors writer.
 *
 * Mirrors what safetensors.torch.save_file writes for float32 tensors: the
 * header {"__metadata__":{"format":"pt"},"<name>":{"dtype":"F32","shape":[..],
 * "data_offsets":[b,e]},...} with tensors sorted by name (the Rust writer
 * sorts by dtype alignment, then name: integer tensors, which are written as
 * I64, come first), padded with spaces to a multiple of 8, then the data back
 * to back. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lamina/io.h"
#include "runtime/module/module.h"
#include "runtime/io/io_internal.h"
#include "runtime/io/json.h"

typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->cap - b->n < n + 1) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->n < n + 1) {
            if (cap > SIZE_MAX / 2) {
                b->oom = true;
                return;
            }
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_u64(sbuf *b, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    sb_put(b, tmp, (size_t)n);
}

/* A JSON string: '"' and '\\' escaped, control characters as \u00XX. */
static void sb_json_str(sbuf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sb_put(b, e, 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sb_put(b, e, 6);
        } else {
            sb_put(b, (const char *)&c, 1);
        }
    }
    sb_put(b, "\"", 1);
}

typedef struct save_item {
    const char *key;
    const lam_tensor *t;
} save_item;

typedef struct save_ctx {
    size_t n;
    save_item *items; /* sorted by key */
    sbuf header;
} save_ctx;

static int cmp_items(const void *a, const void *b)
{
    const save_item *x = a, *y = b;
    size_t xs = lam__dtype_size(x->t->dtype), ys = lam__dtype_size(y->t->dtype);
    if (xs != ys)
        return xs > ys ? -1 : 1; /* 8-byte alignment before 4 before 1 */
    return strcmp(x->key, y->key);
}

static lam_status fill(lam__io_out *o, void *vctx)
{
    save_ctx *c = vctx;
    unsigned char len8[8];
    uint64_t n = c->header.n;
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)(n >> (8 * i));
    lam__io_put(o, len8, 8);
    lam__io_put(o, c->header.p, c->header.n);
    for (size_t i = 0; i < c->n; i++) {
        const lam_tensor *t = c->items[i].t;
        if (t->dtype == LAM_FLOAT32) {
            lam__io_put_f32(o, t->data, (size_t)t->numel);
            continue;
        }
        if (t->dtype == LAM_BOOL) {
            for (int64_t j = 0; j < t->numel; j++) {
                unsigned char b = lam__tensor_bool(t)[j] ? 1 : 0;
                lam__io_put(o, &b, 1);
            }
            continue;
        }
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

LAM_API lam_status lam_safetensors_save(const char *path, const lam_state_dict *sd)
{
    save_ctx c = {0};
    size_t n, bad;
    uint64_t offset = 0;
    lam_status st = LAM_OK;
    char q[LAM__IO_QUOTE_MAX];

    if (!path || !sd)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_safetensors_save: %s is NULL", path ? "sd" : "path");
    n = lam_state_dict_len(sd);
    c.n = n;
    c.items = malloc((n ? n : 1) * sizeof *c.items);
    if (!c.items)
        return lam__error(LAM_ERR_NO_MEMORY, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        const char *key = lam_state_dict_key(sd, i);
        c.items[i].key = key;
        c.items[i].t = lam_state_dict_tensor(sd, i);
        if (!lam__utf8_valid((const unsigned char *)key, strlen(key), &bad)) {
            st = lam__error(LAM_ERR_INVALID_ARGUMENT, "%s: key %s is not valid UTF-8 (byte %zu)", path,
                            lam__io_quote(q, sizeof q, key, strlen(key)), bad);
            goto out;
        }
        if (!strcmp(key, "__metadata__")) {
            st = lam__error(LAM_ERR_INVALID_ARGUMENT,
                            "%s: \"__metadata__\" is reserved by the format and cannot name a tensor", path);
            goto out;
        }
    }
    qsort(c.items, n, sizeof *c.items, cmp_items);

    sb_str(&c.header, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (size_t i = 0; i < n; i++) {
        const lam_tensor *t = c.items[i].t;
        const int64_t *shape = lam_tensor_shape(t);
        uint64_t nbytes = (uint64_t)lam_tensor_numel(t) * lam__dtype_size(t->dtype);
        sb_str(&c.header, ",");
        sb_json_str(&c.header, c.items[i].key);
        sb_str(&c.header, t->dtype == LAM_INT64  ? ":{\"dtype\":\"I64\",\"shape\":["
                          : t->dtype == LAM_BOOL ? ":{\"dtype\":\"BOOL\",\"shape\":["
                                                 : ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < (t->scalar ? 0 : lam_tensor_ndim(t)); d++) {
            if (d)
                sb_str(&c.header, ",");
            sb_u64(&c.header, (uint64_t)shape[d]);
        }
        sb_str(&c.header, "],\"data_offsets\":[");
        sb_u64(&c.header, offset);
        sb_str(&c.header, ",");
        offset += nbytes;
        sb_u64(&c.header, offset);
        sb_str(&c.header, "]}");
    }
    sb_str(&c.header, "}");
    sb_put(&c.header, "        ", (8 - c.header.n % 8) % 8);
    if (c.header.oom) {
        st = lam__error(LAM_ERR_NO_MEMORY, "%s: out of memory building the header", path);
        goto out;
    }
    st = lam__io_write_atomic(path, fill, &c);
out:
    free(c.header.p);
    free(c.items);
    return st;
}
