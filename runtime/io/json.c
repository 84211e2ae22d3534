/* lamina io — strict JSON parser; see json.h for the rules.
 *
 * Recursive descent with an explicit depth limit.  Children of arrays and
 * objects are collected on one growable scratch stack and copied into the
 * arena when the container closes, so the arena only ever grows and a whole
 * document is freed at once (no per-node cleanup on error paths). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/module/module.h"
#include "runtime/io/io_internal.h"
#include "runtime/io/json.h"

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    max_align_t data[];
} arena_chunk;

struct lam__json_doc {
    arena_chunk *chunks;
};

typedef struct parser {
    const char *s;
    size_t len, pos;
    lam__json_doc *doc;
    lam__json_member *stack; /* scratch: children of open containers */
    size_t sp, scap;
    char *err;
    size_t errsize;
    lam__json_result rc;
} parser;

static void *arena_alloc(lam__json_doc *doc, size_t n)
{
    arena_chunk *c = doc->chunks;
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (!c || c->cap - c->used < n) {
        size_t cap = c ? c->cap * 2 : 4096;
        if (cap > ((size_t)1 << 24))
            cap = (size_t)1 << 24;
        if (cap < n)
            cap = n;
        if (cap > SIZE_MAX - sizeof(arena_chunk))
            return NULL;
        c = malloc(sizeof(arena_chunk) + cap);
        if (!c)
            return NULL;
        c->next = doc->chunks;
        c->used = 0;
        c->cap = cap;
        doc->chunks = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

void lam__json_free(lam__json_doc *doc)
{
    if (!doc)
        return;
    for (arena_chunk *c = doc->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(doc);
}

static lam__json *fail(parser *p, size_t at, const char *what)
{
    if (p->rc == LAM__JSON_OK) {
        p->rc = LAM__JSON_SYNTAX;
        if (p->errsize)
            snprintf(p->err, p->errsize, "at byte %zu: %s", at, what);
    }
    return NULL;
}

static lam__json *nomem(parser *p)
{
    if (p->rc == LAM__JSON_OK) {
        p->rc = LAM__JSON_NOMEM;
        if (p->errsize)
            snprintf(p->err, p->errsize, "out of memory");
    }
    return NULL;
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static lam__json *new_node(parser *p, lam__json_type t, size_t at)
{
    lam__json *v = arena_alloc(p->doc, sizeof *v);
    if (!v)
        return nomem(p);
    memset(v, 0, sizeof *v);
    v->type = t;
    v->offset = at;
    return v;
}

static long read_u4(parser *p, size_t at)
{
    long v = 0;
    if (p->len - at < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        int h = lam__hexval((unsigned char)p->s[at + i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Parse a string starting at '"'; the decoded bytes never outnumber the raw
 * ones, so one allocation of the raw length suffices. */
static bool parse_string(parser *p, const char **out, size_t *out_len)
{
    size_t start = p->pos++, end = p->pos;
    while (end < p->len && p->s[end] != '"') {
        if (p->s[end] == '\\')
            end++;
        end++;
    }
    if (end >= p->len)
        return fail(p, start, "unterminated string"), false;
    char *d = arena_alloc(p->doc, end - p->pos + 1);
    size_t n = 0;
    if (!d)
        return nomem(p), false;
    while (p->pos < end) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c < 0x20)
            return fail(p, p->pos, "control character in string (must be escaped)"), false;
        if (c != '\\') {
            d[n++] = (char)c;
            p->pos++;
            continue;
        }
        char e = p->s[p->pos + 1];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            static const char map[] = "\"\\/\b\f\n\r\t";
            d[n++] = map[simple - "\"\\/bfnrt"];
            p->pos += 2;
            continue;
        }
        if (e != 'u')
            return fail(p, p->pos, "invalid escape in string"), false;
        long cp = read_u4(p, p->pos + 2);
        if (cp < 0)
            return fail(p, p->pos, "invalid \\u escape (needs 4 hex digits)"), false;
        size_t esc_at = p->pos;
        p->pos += 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return fail(p, esc_at, "lone low surrogate in \\u escape"), false;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            long lo = -1;
            if (p->pos + 1 < end && p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u')
                lo = read_u4(p, p->pos + 2);
            if (lo < 0xDC00 || lo > 0xDFFF)
                return fail(p, esc_at, "lone high surrogate in \\u escape"), false;
            p->pos += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        /* UTF-8 encode: at most 4 bytes, never more than the 6 or 12 read */
        if (cp < 0x80) {
            d[n++] = (char)cp;
        } else if (cp < 0x800) {
            d[n++] = (char)(0xC0 | (cp >> 6));
            d[n++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            d[n++] = (char)(0xE0 | (cp >> 12));
            d[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            d[n++] = (char)(0x80 | (cp & 0x3F));
        } else {
            d[n++] = (char)(0xF0 | (cp >> 18));
            d[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            d[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            d[n++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    d[n] = '\0';
    p->pos = end + 1;
    *out = d;
    *out_len = n;
    return true;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static lam__json *parse_number(parser *p)
{
    size_t start = p->pos, i = p->pos;
    bool integer = true, negative = false;
    if (i < p->len && p->s[i] == '-') {
        negative = true;
        i++;
    }
    if (i >= p->len || !is_digit(p->s[i]))
        return fail(p, start, negative ? "invalid number" : "unexpected character (expected a value)");
    if (p->s[i] == '0' && i + 1 < p->len && is_digit(p->s[i + 1]))
        return fail(p, start, "invalid number (leading zero)");
    while (i < p->len && is_digit(p->s[i]))
        i++;
    if (i < p->len && p->s[i] == '.') {
        integer = false;
        if (++i >= p->len || !is_digit(p->s[i]))
            return fail(p, start, "invalid number (digit expected after '.')");
        while (i < p->len && is_digit(p->s[i]))
            i++;
    }
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        integer = false;
        i++;
        if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
            i++;
        if (i >= p->len || !is_digit(p->s[i]))
            return fail(p, start, "invalid number (digit expected in exponent)");
        while (i < p->len && is_digit(p->s[i]))
            i++;
    }
    lam__json *v = new_node(p, LAM__JSON_NUMBER, start);
    if (!v)
        return NULL;
    v->v.num.text = p->s + start;
    v->v.num.len = i - start;
    if (integer && !negative) {
        uint64_t u = 0;
        bool ok = true;
        for (size_t k = start; k < i; k++) {
            unsigned dgt = (unsigned)(p->s[k] - '0');
            if (u > (UINT64_MAX - dgt) / 10) {
                ok = false;
                break;
            }
            u = u * 10 + dgt;
        }
        v->v.num.is_uint = ok;
        v->v.num.u = ok ? u : 0;
    }
    p->pos = i;
    return v;
}

static bool push(parser *p, const char *key, size_t key_len, lam__json *value)
{
    if (p->sp == p->scap) {
        size_t cap = p->scap ? p->scap * 2 : 64;
        lam__json_member *s = realloc(p->stack, cap * sizeof *s);
        if (!s)
            return nomem(p), false;
        p->stack = s;
        p->scap = cap;
    }
    p->stack[p->sp++] = (lam__json_member){key, key_len, value};
    return true;
}

static int cmp_member(const void *a, const void *b)
{
    const lam__json_member *x = *(lam__json_member *const *)a, *y = *(lam__json_member *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* Find a repeated key: sort pointers (the members keep document order). */
static const lam__json_member *find_duplicate(parser *p, lam__json_member *m, size_t n)
{
    const lam__json_member *dup = NULL;
    if (n < 2)
        return NULL;
    lam__json_member **idx = malloc(n * sizeof *idx);
    if (!idx)
        return nomem(p), NULL;
    for (size_t i = 0; i < n; i++)
        idx[i] = &m[i];
    qsort(idx, n, sizeof *idx, cmp_member);
    for (size_t i = 1; i < n && !dup; i++)
        if (cmp_member(&idx[i - 1], &idx[i]) == 0)
            dup = idx[i - 1] < idx[i] ? idx[i] : idx[i - 1];
    free(idx);
    return dup;
}

static lam__json *parse_value(parser *p, int depth);

static lam__json *parse_container(parser *p, int depth, bool object)
{
    size_t start = p->pos, base = p->sp;
    char close = object ? '}' : ']';
    lam__json *v;

    if (depth >= LAM__JSON_MAX_DEPTH)
        return fail(p, start, "nesting too deep");
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
    } else {
        for (;;) {
            const char *key = NULL;
            size_t key_len = 0;
            skip_ws(p);
            if (object) {
                if (p->pos >= p->len || p->s[p->pos] != '"')
                    return fail(p, p->pos, "expected a string key in object");
                if (!parse_string(p, &key, &key_len))
                    return NULL;
                skip_ws(p);
                if (p->pos >= p->len || p->s[p->pos] != ':')
                    return fail(p, p->pos, "expected ':' after object key");
                p->pos++;
            }
            lam__json *item = parse_value(p, depth + 1);
            if (!item || !push(p, key, key_len, item))
                return NULL;
            skip_ws(p);
            if (p->pos < p->len && p->s[p->pos] == ',') {
                p->pos++;
                continue;
            }
            if (p->pos < p->len && p->s[p->pos] == close) {
                p->pos++;
                break;
            }
            return fail(p, p->pos, object ? "expected ',' or '}' in object"
                                          : "expected ',' or ']' in array");
        }
    }
    size_t n = p->sp - base;
    v = new_node(p, object ? LAM__JSON_OBJECT : LAM__JSON_ARRAY, start);
    if (!v)
        return NULL;
    if (object) {
        lam__json_member *m = n ? arena_alloc(p->doc, n * sizeof *m) : NULL;
        if (n && !m)
            return nomem(p);
        if (n)
            memcpy(m, p->stack + base, n * sizeof *m);
        const lam__json_member *dup = find_duplicate(p, m, n);
        if (p->rc != LAM__JSON_OK)
            return NULL;
        if (dup) {
            char q[LAM__IO_QUOTE_MAX], msg[LAM__IO_QUOTE_MAX + 32];
            lam__io_quote(q, sizeof q, dup->key, dup->key_len);
            snprintf(msg, sizeof msg, "duplicate key %s in object", q);
            return fail(p, dup->value->offset, msg);
        }
        v->v.obj.members = m;
        v->v.obj.n = n;
    } else {
        lam__json **items = n ? arena_alloc(p->doc, n * sizeof *items) : NULL;
        if (n && !items)
            return nomem(p);
        for (size_t i = 0; i < n; i++)
            items[i] = p->stack[base + i].value;
        v->v.arr.items = items;
        v->v.arr.n = n;
    }
    p->sp = base;
    return v;
}

static lam__json *parse_literal(parser *p, const char *word, lam__json_type t)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return fail(p, p->pos, "invalid literal (expected a value)");
    lam__json *v = new_node(p, t, p->pos);
    p->pos += n;
    return v;
}

static lam__json *parse_value(parser *p, int depth)
{
    skip_ws(p);
    if (p->pos >= p->len)
        return fail(p, p->pos, "unexpected end of text (expected a value)");
    switch (p->s[p->pos]) {
    case '{':
        return parse_container(p, depth, true);
    case '[':
        return parse_container(p, depth, false);
    case '"': {
        lam__json *v = new_node(p, LAM__JSON_STRING, p->pos);
        if (!v || !parse_string(p, &v->v.str.s, &v->v.str.len))
            return NULL;
        return v;
    }
    case 't':
        return parse_literal(p, "true", LAM__JSON_TRUE);
    case 'f':
        return parse_literal(p, "false", LAM__JSON_FALSE);
    case 'n':
        return parse_literal(p, "null", LAM__JSON_NULL);
    default:
        return parse_number(p);
    }
}

lam__json_result lam__json_parse(const char *text, size_t len, lam__json_doc **doc,
                                 lam__json **root, char *err, size_t errsize)
{
    parser p = {.s = text, .len = len, .err = err, .errsize = errsize};
    *doc = NULL;
    *root = NULL;
    if (errsize)
        err[0] = '\0';
    p.doc = calloc(1, sizeof *p.doc);
    if (!p.doc)
        return nomem(&p), LAM__JSON_NOMEM;
    lam__json *v = parse_value(&p, 0);
    if (v) {
        skip_ws(&p);
        if (p.pos != p.len)
            v = fail(&p, p.pos, "trailing characters after the JSON value");
    }
    free(p.stack);
    if (!v) {
        lam__json_free(p.doc);
        return p.rc;
    }
    *doc = p.doc;
    *root = v;
    return LAM__JSON_OK;
}

const lam__json *lam__json_get(const lam__json *obj, const char *key)
{
    size_t n = strlen(key);
    if (!obj || obj->type != LAM__JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->v.obj.n; i++)
        if (obj->v.obj.members[i].key_len == n && memcmp(obj->v.obj.members[i].key, key, n) == 0)
            return obj->v.obj.members[i].value;
    return NULL;
}

bool lam__utf8_valid(const unsigned char *s, size_t len, size_t *bad)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            *bad = i;
            return false;
        }
        if (len - i - 1 < n) {
            *bad = i;
            return false;
        }
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                *bad = i;
                return false;
            }
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            *bad = i;
            return false;
        }
        i += n + 1;
    }
    return true;
}
