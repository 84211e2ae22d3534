/* lamina io — safetensors reader.
 *
 * Validation follows the reference implementation (huggingface/safetensors,
 * safetensors/src/tensor.rs: read_metadata + Metadata::validate), rule for
 * rule, and adds what serde lets through: duplicate keys, unknown fields in a
 * tensor entry, and tensor names containing NUL.  The whole header is checked
 * before any tensor is built, so a malformed file never yields a partial dict.
 *
 * Every message reads "<file>: [tensor "<name>": ]<rule>", e.g.
 *   model.safetensors: tensor "0.weight": data_offsets [0, 100] span 100 bytes
 *   but F32 [5, 10] needs 200 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lamina/io.h"
#include "runtime/module/module.h"
#include "runtime/io/io_internal.h"
#include "runtime/io/json.h"

#define ST_MAX_HEADER 100000000u /* MAX_HEADER_SIZE in tensor.rs */

enum st_kind { ST_OTHER, ST_F32, ST_F16, ST_BF16, ST_F64, ST_I32, ST_I64, ST_BOOL };

typedef struct st_dtype {
    const char *name;
    unsigned bits;
    enum st_kind kind;
} st_dtype;

/* The Dtype enum of tensor.rs (sizes in bits, since F4/F6 are sub-byte). */
static const st_dtype st_dtypes[] = {
    {"BOOL", 8, ST_BOOL},         {"F4", 4, ST_OTHER},          {"F6_E2M3", 6, ST_OTHER},
    {"F6_E3M2", 6, ST_OTHER},     {"U8", 8, ST_OTHER},          {"I8", 8, ST_OTHER},
    {"F8_E5M2", 8, ST_OTHER},     {"F8_E4M3", 8, ST_OTHER},     {"F8_E8M0", 8, ST_OTHER},
    {"F8_E4M3FNUZ", 8, ST_OTHER}, {"F8_E5M2FNUZ", 8, ST_OTHER}, {"I16", 16, ST_OTHER},
    {"U16", 16, ST_OTHER},        {"F16", 16, ST_F16},          {"BF16", 16, ST_BF16},
    {"I32", 32, ST_I32},        {"U32", 32, ST_OTHER},        {"F32", 32, ST_F32},
    {"C64", 64, ST_OTHER},        {"F64", 64, ST_F64},          {"I64", 64, ST_I64},
    {"U64", 64, ST_OTHER},
};

typedef struct st_entry {
    const lam__json_member *m; /* name and entry */
    const st_dtype *dt;
    const lam__json *shape;
    uint64_t begin, end, nbytes;
} st_entry;

typedef struct st_parse {
    const char *what; /* file name or "<memory>" */
    const unsigned char *data; /* the byte buffer after the header */
    size_t data_len;
    lam__io_map *map; /* non-NULL: F32 tensors may point into it */
    st_entry *e;
    size_t n;
} st_parse;

/* "<what>: tensor "<name>": <fmt>" (the tensor part only when m != NULL). */
static lam_status st_fail(const st_parse *p, const lam__json_member *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static lam_status st_fail(const st_parse *p, const lam__json_member *m, const char *fmt, ...)
{
    char msg[512], q[LAM__IO_QUOTE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (m)
        return lam__error(LAM_ERR_FORMAT, "%s: tensor %s: %s", p->what,
                          lam__io_quote(q, sizeof q, m->key, m->key_len), msg);
    return lam__error(LAM_ERR_FORMAT, "%s: %s", p->what, msg);
}

/* "[5, 10]" from a validated shape array, cut after 8 dims. */
static const char *shape_str(const lam__json *shape, char *buf, size_t size)
{
    size_t o = 0;
    buf[o++] = '[';
    for (size_t i = 0; i < shape->v.arr.n && o < size; i++) {
        if (i == 8) {
            o += (size_t)snprintf(buf + o, size - o, ", ...");
            break;
        }
        o += (size_t)snprintf(buf + o, size - o, "%s%" PRIu64, i ? ", " : "",
                              shape->v.arr.items[i]->v.num.u);
    }
    if (o < size - 1) {
        buf[o++] = ']';
        buf[o] = '\0';
    }
    buf[size - 1] = '\0';
    return buf;
}

static lam_status check_metadata(const st_parse *p, const lam__json *md)
{
    char q[LAM__IO_QUOTE_MAX];
    static const char *const names[] = {"null", "false", "true", "number",
                                        "string", "array", "object"};
    if (md->type != LAM__JSON_OBJECT)
        return st_fail(p, NULL, "\"__metadata__\" must be an object of string to string, not %s %s",
                       md->type == LAM__JSON_ARRAY ? "an" : "a", names[md->type]);
    for (size_t i = 0; i < md->v.obj.n; i++) {
        const lam__json_member *m = &md->v.obj.members[i];
        if (m->value->type != LAM__JSON_STRING)
            return st_fail(p, NULL, "\"__metadata__\" must map strings to strings, but key %s has %s %s value",
                           lam__io_quote(q, sizeof q, m->key, m->key_len),
                           m->value->type == LAM__JSON_ARRAY || m->value->type == LAM__JSON_OBJECT ? "an" : "a",
                           names[m->value->type]);
    }
    return LAM_OK;
}

static lam_status check_entry(const st_parse *p, const lam__json_member *m, st_entry *e)
{
    const lam__json *v = m->value, *dtype = NULL, *offs = NULL;
    char q[LAM__IO_QUOTE_MAX], sh[128];

    if (v->type != LAM__JSON_OBJECT)
        return st_fail(p, m, "entry is not a JSON object");
    e->m = m;
    e->shape = NULL;
    for (size_t i = 0; i < v->v.obj.n; i++) {
        const lam__json_member *f = &v->v.obj.members[i];
        if (f->key_len == 5 && !memcmp(f->key, "dtype", 5))
            dtype = f->value;
        else if (f->key_len == 5 && !memcmp(f->key, "shape", 5))
            e->shape = f->value;
        else if (f->key_len == 12 && !memcmp(f->key, "data_offsets", 12))
            offs = f->value;
        else
            return st_fail(p, m, "unexpected field %s (allowed: dtype, shape, data_offsets)",
                           lam__io_quote(q, sizeof q, f->key, f->key_len));
    }
    if (!dtype || !e->shape || !offs)
        return st_fail(p, m, "missing field \"%s\"",
                       !dtype ? "dtype" : !e->shape ? "shape" : "data_offsets");

    if (dtype->type != LAM__JSON_STRING)
        return st_fail(p, m, "\"dtype\" is not a string");
    e->dt = NULL;
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (strlen(st_dtypes[i].name) == dtype->v.str.len && !strcmp(st_dtypes[i].name, dtype->v.str.s))
            e->dt = &st_dtypes[i];
    if (!e->dt)
        return st_fail(p, m, "unknown dtype %s",
                       lam__io_quote(q, sizeof q, dtype->v.str.s, dtype->v.str.len));

    if (e->shape->type != LAM__JSON_ARRAY)
        return st_fail(p, m, "\"shape\" is not an array");
    for (size_t i = 0; i < e->shape->v.arr.n; i++) {
        const lam__json *d = e->shape->v.arr.items[i];
        if (d->type != LAM__JSON_NUMBER || !d->v.num.is_uint || d->v.num.u > (uint64_t)INT64_MAX)
            return st_fail(p, m, "\"shape\" element %zu is not a non-negative integer below 2^63: %.*s",
                           i, d->type == LAM__JSON_NUMBER ? (int)(d->v.num.len > 40 ? 40 : d->v.num.len) : 12,
                           d->type == LAM__JSON_NUMBER ? d->v.num.text : "not a number");
    }

    if (offs->type != LAM__JSON_ARRAY || offs->v.arr.n != 2 ||
        offs->v.arr.items[0]->type != LAM__JSON_NUMBER || !offs->v.arr.items[0]->v.num.is_uint ||
        offs->v.arr.items[1]->type != LAM__JSON_NUMBER || !offs->v.arr.items[1]->v.num.is_uint)
        return st_fail(p, m, "\"data_offsets\" must be [begin, end], two non-negative integers");
    e->begin = offs->v.arr.items[0]->v.num.u;
    e->end = offs->v.arr.items[1]->v.num.u;
    if (e->begin > e->end)
        return st_fail(p, m, "data_offsets [%" PRIu64 ", %" PRIu64 "]: begin is after end", e->begin,
                       e->end);

    /* checked_mul over the dims, then by the bit size (ValidationOverflow) */
    uint64_t numel = 1, nbits;
    for (size_t i = 0; i < e->shape->v.arr.n; i++)
        if (__builtin_mul_overflow(numel, e->shape->v.arr.items[i]->v.num.u, &numel))
            return st_fail(p, m, "shape %s overflows: its element count does not fit in 64 bits",
                           shape_str(e->shape, sh, sizeof sh));
    if (__builtin_mul_overflow(numel, (uint64_t)e->dt->bits, &nbits))
        return st_fail(p, m, "%s %s overflows: its size in bits does not fit in 64 bits", e->dt->name,
                       shape_str(e->shape, sh, sizeof sh));
    if (nbits % 8)
        return st_fail(p, m, "%s %s is not a whole number of bytes", e->dt->name,
                       shape_str(e->shape, sh, sizeof sh));
    e->nbytes = nbits / 8;
    if (e->end - e->begin != e->nbytes)
        return st_fail(p, m, "data_offsets [%" PRIu64 ", %" PRIu64 "] span %" PRIu64 " bytes but %s %s needs %" PRIu64,
                       e->begin, e->end, e->end - e->begin, e->dt->name,
                       shape_str(e->shape, sh, sizeof sh), e->nbytes);
    return LAM_OK;
}

static int cmp_offsets(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->m < y->m ? -1 : x->m > y->m; /* header order: deterministic */
}

static int cmp_names(const void *a, const void *b)
{
    const lam__json_member *x = ((const st_entry *)a)->m, *y = ((const st_entry *)b)->m;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* Every tensor starts where the previous one ends, from 0 to the last byte. */
static lam_status check_layout(st_parse *p)
{
    uint64_t at = 0;
    const st_entry *prev = NULL;
    char q[LAM__IO_QUOTE_MAX];

    qsort(p->e, p->n, sizeof *p->e, cmp_offsets);
    for (size_t i = 0; i < p->n; prev = &p->e[i], i++) {
        const st_entry *e = &p->e[i];
        if (e->begin > at && !prev)
            return st_fail(p, e->m, "data_offsets [%" PRIu64 ", %" PRIu64 "] leave a gap: the first tensor "
                           "must start at offset 0 (the byte buffer may not have holes)", e->begin, e->end);
        if (e->begin > at)
            return st_fail(p, e->m, "data_offsets [%" PRIu64 ", %" PRIu64 "] leave a gap after tensor %s, "
                           "which ends at %" PRIu64 " (the byte buffer may not have holes)", e->begin,
                           e->end, lam__io_quote(q, sizeof q, prev->m->key, prev->m->key_len), at);
        if (e->begin < at)
            return st_fail(p, e->m, "data_offsets [%" PRIu64 ", %" PRIu64 "] overlap tensor %s, which ends at %"
                           PRIu64, e->begin, e->end,
                           lam__io_quote(q, sizeof q, prev->m->key, prev->m->key_len), at);
        at = e->end;
    }
    if (at > p->data_len)
        return st_fail(p, prev->m, "data_offsets [%" PRIu64 ", %" PRIu64 "] extend past the end of the file "
                       "(the byte buffer after the header is %zu bytes)", prev->begin, prev->end, p->data_len);
    if (at < p->data_len)
        return st_fail(p, NULL, "%zu trailing bytes after the last tensor: the byte buffer is %zu bytes but "
                       "tensors cover %" PRIu64 " (incomplete metadata, file not fully covered)",
                       p->data_len - (size_t)at, p->data_len, at);
    return LAM_OK;
}

/* What lamina cannot hold even though the file is valid safetensors. */
static lam_status check_supported(const st_parse *p, const st_entry *e)
{
    char sh[128];
    if (memchr(e->m->key, '\0', e->m->key_len))
        return st_fail(p, e->m, "tensor names containing NUL are not supported");
    if (e->dt->kind == ST_OTHER)
        return st_fail(p, e->m, "dtype %s is not supported (lamina loads F32, F16, BF16 and F64 as "
                       "float32, I64 and I32 as int64, and BOOL as bool)", e->dt->name);
    if (e->shape->v.arr.n > LAM_MAX_DIMS)
        return st_fail(p, e->m, "%s %s has %zu dimensions; lamina tensors have 1 to %d", e->dt->name,
                       shape_str(e->shape, sh, sizeof sh), e->shape->v.arr.n, LAM_MAX_DIMS);
    int64_t shape[LAM_MAX_DIMS] = {1}, numel;
    for (size_t i = 0; i < e->shape->v.arr.n; i++)
        shape[i] = (int64_t)e->shape->v.arr.items[i]->v.num.u;
    if (lam__check_shape(e->shape->v.arr.n ? (int)e->shape->v.arr.n : 1, shape, &numel) != LAM_OK)
        return st_fail(p, e->m, "shape %s is too large for a lamina tensor", shape_str(e->shape, sh, sizeof sh));
    return LAM_OK;
}

static lam_status build_tensor(const st_parse *p, const st_entry *e, lam_tensor **out)
{
    int64_t shape[LAM_MAX_DIMS] = {1};
    int ndim = (int)e->shape->v.arr.n;
    const unsigned char *src = p->data + e->begin;
    size_t numel = (size_t)(e->nbytes / (e->dt->bits / 8));
    lam_status st;

    for (int i = 0; i < ndim; i++)
        shape[i] = (int64_t)e->shape->v.arr.items[i]->v.num.u;
    bool scalar = ndim == 0;
    if (scalar)
        ndim = 1; /* 0-dim scalars load as shape [1] (see io.h) */

    if (e->dt->kind == ST_I64 || e->dt->kind == ST_I32) {
        /* int64 (an I32 entry widened): token ids, counts */
        st = lam_tensor_create_dtype(out, LAM_INT64, ndim, shape);
        if (st != LAM_OK)
            return st;
        int64_t *dst = lam__tensor_i64(*out);
        for (size_t i = 0; i < numel; i++)
            dst[i] = e->dt->kind == ST_I64 ? (int64_t)lam__io_le64(src + 8 * i)
                                           : (int64_t)(int32_t)lam__io_le32(src + 4 * i);
        (*out)->scalar = scalar;
        return LAM_OK;
    }
    if (e->dt->kind == ST_BOOL) {
        st = lam_tensor_create_dtype(out, LAM_BOOL, ndim, shape);
        if (st != LAM_OK)
            return st;
        bool *dst = lam__tensor_bool(*out);
        for (size_t i = 0; i < numel; i++)
            dst[i] = src[i] != 0;
        (*out)->scalar = scalar;
        return LAM_OK;
    }

    if (p->map && numel > 0 && e->dt->kind == ST_F32 && lam__io_host_is_le() &&
        (uintptr_t)src % sizeof(float) == 0) {
        lam__io_map_retain(p->map);
        st = lam__tensor_wrap_keep(out, (float *)(void *)src, ndim, shape, lam__io_map_release_cb, p->map);
        if (st != LAM_OK)
            lam__io_map_release(p->map);
        return st;
    }
    st = lam_tensor_create(out, ndim, shape);
    if (st != LAM_OK)
        return st;
    float *dst = lam_tensor_data(*out);
    for (size_t i = 0; i < numel; i++) {
        switch (e->dt->kind) {
        case ST_F32: dst[i] = lam__io_f32_from_bits(lam__io_le32(src + 4 * i)); break;
        case ST_F16: dst[i] = lam__io_half_to_float(lam__io_le16(src + 2 * i)); break;
        case ST_BF16: dst[i] = lam__io_bf16_to_float(lam__io_le16(src + 2 * i)); break;
        case ST_F64: dst[i] = (float)lam__io_f64_from_bits(lam__io_le64(src + 8 * i)); break;
        case ST_I32: case ST_I64: case ST_BOOL: /* made above */
        case ST_OTHER: break;     /* rejected by check_supported */
        }
    }
    return LAM_OK;
}

static lam_status st_load(const char *what, const unsigned char *buf, size_t len, lam__io_map *map,
                          lam_state_dict **out)
{
    st_parse p = {.what = what, .map = map};
    lam__json_doc *doc = NULL;
    lam__json *root = NULL;
    lam_state_dict *sd = NULL;
    char err[256];
    size_t bad;
    lam_status st = LAM_OK;

    *out = NULL;
    if (len == 0)
        return st_fail(&p, NULL, "file is empty (a safetensors file starts with an 8-byte header length)");
    if (len < 8)
        return st_fail(&p, NULL, "file is %zu bytes, too small for the 8-byte header length", len);
    uint64_t n = lam__io_le64(buf);
    if (n > ST_MAX_HEADER)
        return st_fail(&p, NULL, "header length %" PRIu64 " exceeds the limit of %u bytes", n, ST_MAX_HEADER);
    if (n > len - 8)
        return st_fail(&p, NULL, "header length %" PRIu64 " runs past the end of the file (%zu bytes)", n, len);
    if (!lam__utf8_valid(buf + 8, (size_t)n, &bad))
        return st_fail(&p, NULL, "invalid UTF-8 in header at byte %zu", bad);
    switch (lam__json_parse((const char *)buf + 8, (size_t)n, &doc, &root, err, sizeof err)) {
    case LAM__JSON_OK: break;
    case LAM__JSON_NOMEM: return lam__error(LAM_ERR_NO_MEMORY, "%s: out of memory parsing the header", what);
    case LAM__JSON_SYNTAX: return st_fail(&p, NULL, "invalid JSON in header: %s", err);
    }
    p.data = buf + 8 + n;
    p.data_len = len - 8 - (size_t)n;
    if (root->type != LAM__JSON_OBJECT) {
        st = st_fail(&p, NULL, "header is not a JSON object");
        goto done;
    }
    p.e = malloc((root->v.obj.n ? root->v.obj.n : 1) * sizeof *p.e);
    if (!p.e) {
        st = lam__error(LAM_ERR_NO_MEMORY, "%s: out of memory", what);
        goto done;
    }
    for (size_t i = 0; i < root->v.obj.n && st == LAM_OK; i++) {
        const lam__json_member *m = &root->v.obj.members[i];
        if (m->key_len == 12 && !memcmp(m->key, "__metadata__", 12))
            st = check_metadata(&p, m->value);
        else
            st = check_entry(&p, m, &p.e[p.n++]);
    }
    if (st == LAM_OK)
        st = check_layout(&p);
    if (st == LAM_OK)
        qsort(p.e, p.n, sizeof *p.e, cmp_names); /* dict order = safe_open().keys() */
    for (size_t i = 0; i < p.n && st == LAM_OK; i++)
        st = check_supported(&p, &p.e[i]);
    if (st == LAM_OK && (st = lam_state_dict_create(&sd)) != LAM_OK) {
        char prefix[300];
        snprintf(prefix, sizeof prefix, "%.256s:", what);
        lam__error_prefix(prefix);
    }
    for (size_t i = 0; i < p.n && st == LAM_OK; i++) {
        lam_tensor *t = NULL;
        st = build_tensor(&p, &p.e[i], &t);
        if (st == LAM_OK)
            st = lam_state_dict_set(sd, p.e[i].m->key, t);
        lam_tensor_release(t);
        if (st != LAM_OK) { /* the runtime's message, with file and tensor */
            char q[LAM__IO_QUOTE_MAX], prefix[LAM__IO_QUOTE_MAX + 300];
            snprintf(prefix, sizeof prefix, "%.256s: tensor %s:", what,
                     lam__io_quote(q, sizeof q, p.e[i].m->key, p.e[i].m->key_len));
            lam__error_prefix(prefix);
        }
    }
    if (st == LAM_OK) {
        *out = sd;
        sd = NULL;
    }
done:
    if (sd)
        lam_state_dict_free(sd);
    free(p.e);
    lam__json_free(doc);
    return st;
}

LAM_API lam_status lam_safetensors_parse(const void *buf, size_t len, lam_state_dict **out)
{
    if (!out || (!buf && len > 0))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_safetensors_parse: %s is NULL", out ? "buf" : "out");
    return st_load("<memory>", buf, len, NULL, out);
}

LAM_API lam_status lam_safetensors_load(const char *path, lam_state_dict **out)
{
    lam__io_map *map;
    lam_status st;
    if (!path || !out)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_safetensors_load: %s is NULL", path ? "out" : "path");
    *out = NULL;
    st = lam__io_map_file(path, &map);
    if (st != LAM_OK)
        return st;
    st = st_load(path, map->addr, map->len, map, out);
    lam__io_map_release(map); /* zero-copy tensors hold their own references */
    return st;
}
