/* Reader for tests/fixtures (format described in tools/gen-fixtures.py). */
#include "fixture.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LAMINA_FIXTURES_DIR
#define LAMINA_FIXTURES_DIR "tests/fixtures"
#endif

enum fx_kind { FX_TEXT, FX_LIST, FX_INT, FX_TENSOR };

typedef struct fx_entry {
    enum fx_kind kind;
    char *name;
    char *text;          /* FX_TEXT */
    char **items;        /* FX_LIST */
    size_t n_items;
    int64_t ival;        /* FX_INT */
    fx_tensor tensor;    /* FX_TENSOR */
} fx_entry;

struct fx_file {
    char *path;
    fx_entry *entries;
    size_t n, cap;
};

static char fx_err[1024];

const char *fx_error(void) { return fx_err; }

const char *fx_dir(void)
{
    const char *env = getenv("LAMINA_FIXTURES");
    return (env && *env) ? env : LAMINA_FIXTURES_DIR;
}

static void set_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fx_err, sizeof fx_err, fmt, ap);
    va_end(ap);
}

/* A cursor over the file's bytes, line by line; lines keep every byte but
 * the terminating '\n'. */
typedef struct cursor {
    char *p, *end;
    long lineno;
} cursor;

static char *next_line(cursor *c)
{
    if (c->p >= c->end)
        return NULL;
    char *line = c->p;
    char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
    if (nl) {
        *nl = '\0';
        c->p = nl + 1;
    } else {
        c->p = c->end; /* the buffer is NUL-terminated */
    }
    c->lineno++;
    return line;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static fx_entry *add_entry(fx_file *f)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        fx_entry *e = realloc(f->entries, cap * sizeof *e);
        if (!e)
            return NULL;
        f->entries = e;
        f->cap = cap;
    }
    fx_entry *e = &f->entries[f->n++];
    memset(e, 0, sizeof *e);
    return e;
}

static bool parse_long(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return false;
    *out = v;
    return true;
}

static bool parse_entry(fx_file *f, cursor *c, char *header)
{
    char *save = NULL;
    char *kind = strtok_r(header, " ", &save);
    char *name = strtok_r(NULL, " ", &save);
    if (!kind || !name) {
        set_err("%s:%ld: malformed entry header", f->path, c->lineno);
        return false;
    }
    fx_entry *e = add_entry(f);
    if (!e || !(e->name = xstrdup(name))) {
        set_err("out of memory");
        return false;
    }
    char *arg = strtok_r(NULL, " ", &save);
    long long count;
    if (!strcmp(kind, "text") || !strcmp(kind, "list")) {
        if (!arg || !parse_long(arg, &count) || count < 0) {
            set_err("%s:%ld: bad line count", f->path, c->lineno);
            return false;
        }
        char **lines = calloc((size_t)count + 1, sizeof *lines);
        size_t total = 1;
        for (long long i = 0; i < count; i++) {
            lines[i] = next_line(c);
            if (!lines[i]) {
                set_err("%s: entry %s ends early", f->path, name);
                free(lines);
                return false;
            }
            total += strlen(lines[i]) + 1;
        }
        if (kind[0] == 'l') {
            e->kind = FX_LIST;
            e->n_items = (size_t)count;
            e->items = lines;
            for (long long i = 0; i < count; i++)
                lines[i] = xstrdup(lines[i]);
        } else {
            e->kind = FX_TEXT;
            e->text = malloc(total);
            e->text[0] = '\0';
            char *w = e->text;
            for (long long i = 0; i < count; i++) {
                size_t len = strlen(lines[i]);
                memcpy(w, lines[i], len);
                w += len;
                if (i + 1 < count)
                    *w++ = '\n';
            }
            *w = '\0';
            free(lines);
        }
        return true;
    }
    if (!strcmp(kind, "int")) {
        if (!arg || !parse_long(arg, &count)) {
            set_err("%s:%ld: bad int", f->path, c->lineno);
            return false;
        }
        e->kind = FX_INT;
        e->ival = count;
        return true;
    }
    if (!strcmp(kind, "tensor")) {
        long long nd;
        if (!arg || !parse_long(arg, &nd) || nd < 1 || nd > LAM_MAX_DIMS) {
            set_err("%s:%ld: bad ndim", f->path, c->lineno);
            return false;
        }
        e->kind = FX_TENSOR;
        e->tensor.name = e->name;
        e->tensor.ndim = (int)nd;
        e->tensor.numel = 1;
        for (int d = 0; d < nd; d++) {
            char *tok = strtok_r(NULL, " ", &save);
            long long v;
            if (!tok || !parse_long(tok, &v) || v < 0) {
                set_err("%s:%ld: bad dim", f->path, c->lineno);
                return false;
            }
            e->tensor.shape[d] = v;
            e->tensor.numel *= v;
        }
        e->tensor.data = malloc(((size_t)e->tensor.numel + 1) * sizeof(float));
        int64_t got = 0;
        while (got < e->tensor.numel) {
            char *line = next_line(c);
            if (!line) {
                set_err("%s: tensor %s has %lld of %lld values", f->path, name, (long long)got,
                        (long long)e->tensor.numel);
                return false;
            }
            char *p = line;
            for (;;) {
                while (*p == ' ' || *p == '\t' || *p == '\r')
                    p++;
                if (!*p)
                    break;
                char *end;
                errno = 0;
                float v = strtof(p, &end);
                if (end == p || got >= e->tensor.numel) {
                    set_err("%s:%ld: bad or extra value in tensor %s", f->path, c->lineno, name);
                    return false;
                }
                e->tensor.data[got++] = v;
                p = end;
            }
        }
        return true;
    }
    set_err("%s:%ld: unknown entry kind '%s'", f->path, c->lineno, kind);
    return false;
}

fx_file *fx_open(const char *relpath)
{
    fx_file *f = calloc(1, sizeof *f);
    const char *dir = fx_dir();
    size_t plen = strlen(dir) + strlen(relpath) + 2;
    f->path = malloc(plen);
    snprintf(f->path, plen, "%s/%s", dir, relpath);

    FILE *fp = fopen(f->path, "rb");
    if (!fp) {
        set_err("cannot open fixture %s: %s (set LAMINA_FIXTURES)", f->path, strerror(errno));
        fx_close(f);
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 65536) {
            cap = cap ? cap * 2 : 131072;
            buf = realloc(buf, cap);
        }
        size_t r = fread(buf + len, 1, cap - len - 1, fp);
        len += r;
        if (r == 0)
            break;
    }
    fclose(fp);
    buf[len] = '\0';

    cursor c = { buf, buf + len, 0 };
    char *line;
    bool ok = true;
    while (ok && (line = next_line(&c))) {
        if (line[0] == '#' || line[0] == '\0')
            continue;
        ok = parse_entry(f, &c, line);
    }
    free(buf);
    if (!ok) {
        fx_close(f);
        return NULL;
    }
    return f;
}

void fx_close(fx_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        fx_entry *e = &f->entries[i];
        free(e->name);
        free(e->text);
        for (size_t j = 0; j < e->n_items; j++)
            free(e->items[j]);
        free(e->items);
        free(e->tensor.data);
    }
    free(f->entries);
    free(f->path);
    free(f);
}

static const fx_entry *find(const fx_file *f, enum fx_kind kind, const char *name)
{
    for (size_t i = 0; f && i < f->n; i++)
        if (f->entries[i].kind == kind && !strcmp(f->entries[i].name, name))
            return &f->entries[i];
    return NULL;
}

const char *fx_text(const fx_file *f, const char *name)
{
    const fx_entry *e = find(f, FX_TEXT, name);
    return e ? e->text : NULL;
}

long fx_list(const fx_file *f, const char *name, const char *const **items)
{
    const fx_entry *e = find(f, FX_LIST, name);
    if (!e)
        return -1;
    if (items)
        *items = (const char *const *)e->items;
    return (long)e->n_items;
}

bool fx_int(const fx_file *f, const char *name, int64_t *value)
{
    const fx_entry *e = find(f, FX_INT, name);
    if (e && value)
        *value = e->ival;
    return e != NULL;
}

const fx_tensor *fx_get_tensor(const fx_file *f, const char *name)
{
    const fx_entry *e = find(f, FX_TENSOR, name);
    return e ? &e->tensor : NULL;
}

lam_tensor *fx_lam_tensor(const fx_file *f, const char *name)
{
    const fx_tensor *t = fx_get_tensor(f, name);
    lam_tensor *out = NULL;
    if (t && lam_tensor_from_data(&out, t->ndim, t->shape, t->data) != LAM_OK)
        return NULL;
    return out;
}

size_t fx_state_dict_len(const fx_file *f)
{
    size_t n = 0;
    for (size_t i = 0; f && i < f->n; i++)
        if (f->entries[i].kind == FX_TENSOR && !strncmp(f->entries[i].name, "sd:", 3))
            n++;
    return n;
}

lam_state_dict *fx_state_dict(const fx_file *f)
{
    lam_state_dict *sd = NULL;
    if (lam_state_dict_create(&sd) != LAM_OK)
        return NULL;
    for (size_t i = 0; i < f->n; i++) {
        const fx_entry *e = &f->entries[i];
        if (e->kind != FX_TENSOR || strncmp(e->name, "sd:", 3))
            continue;
        lam_tensor *t = NULL;
        if (lam_tensor_from_data(&t, e->tensor.ndim, e->tensor.shape, e->tensor.data) != LAM_OK ||
            lam_state_dict_set(sd, e->name + 3, t) != LAM_OK) {
            lam_tensor_release(t);
            lam_state_dict_free(sd);
            return NULL;
        }
        lam_tensor_release(t); /* the dict holds its own reference */
    }
    return sd;
}

static bool close_enough(double got, double expected, double *tol)
{
    *tol = FX_ATOL + FX_RTOL * fabs(expected);
    return fabs(got - expected) <= *tol; /* false for NaN */
}

static void shape_text(int ndim, const int64_t *shape, char *buf, size_t size)
{
    size_t w = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < ndim && w < size; d++)
        w += (size_t)snprintf(buf + w, size - w, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (w < size)
        snprintf(buf + w, size - w, "]");
}

bool fx_tensor_close(const lam_tensor *got, const fx_tensor *expected, char *msg, size_t msgsize)
{
    if (!got || !expected) {
        snprintf(msg, msgsize, "%s is missing", got ? "expected tensor" : "output");
        return false;
    }
    int nd = lam_tensor_ndim(got);
    const int64_t *shape = lam_tensor_shape(got);
    bool same = nd == expected->ndim;
    for (int d = 0; same && d < nd; d++)
        same = shape[d] == expected->shape[d];
    if (!same) {
        char a[96], b[96];
        shape_text(nd, shape, a, sizeof a);
        shape_text(expected->ndim, expected->shape, b, sizeof b);
        snprintf(msg, msgsize, "%s: shape %s, expected %s", expected->name, a, b);
        return false;
    }
    const float *g = lam_tensor_cdata(got);
    for (int64_t i = 0; i < expected->numel; i++) {
        double tol;
        if (!close_enough(g[i], expected->data[i], &tol)) {
            snprintf(msg, msgsize, "%s[%lld] = %.9g, expected %.9g (tolerance %.3g)", expected->name,
                     (long long)i, (double)g[i], (double)expected->data[i], tol);
            return false;
        }
    }
    return true;
}

bool fx_values_close(const float *got, const double *expected, size_t n, char *msg, size_t msgsize)
{
    for (size_t i = 0; i < n; i++) {
        double tol;
        if (!close_enough(got[i], expected[i], &tol)) {
            snprintf(msg, msgsize, "value[%zu] = %.9g, expected %.9g (tolerance %.3g)", i,
                     (double)got[i], expected[i], tol);
            return false;
        }
    }
    return true;
}

bool fx_keys_equal(const lam_state_dict *sd, const fx_file *f, const char *list_name, char *msg,
                   size_t msgsize)
{
    const char *const *items;
    long n = fx_list(f, list_name, &items);
    if (n < 0) {
        snprintf(msg, msgsize, "fixture has no list %s", list_name);
        return false;
    }
    size_t have = sd ? lam_state_dict_len(sd) : 0;
    for (size_t i = 0; i < have || i < (size_t)n; i++) {
        const char *g = i < have ? lam_state_dict_key(sd, i) : "(none)";
        const char *e = i < (size_t)n ? items[i] : "(none)";
        if (!g || strcmp(g, e)) {
            snprintf(msg, msgsize, "%s: key %zu is \"%s\", expected \"%s\" (%zu keys, expected %ld)",
                     list_name, i, g ? g : "(null)", e, have, n);
            return false;
        }
    }
    return true;
}

const char *fx_show(const char *s)
{
    static char bufs[4][4096];
    static int next;
    char *b = bufs[next++ & 3];
    size_t w = 0;
    if (!s)
        return "(null)";
    for (; *s && w + 3 < sizeof bufs[0]; s++) {
        if (*s == '\n') {
            b[w++] = '\\';
            b[w++] = 'n';
        } else if (*s == '\t') {
            b[w++] = '\\';
            b[w++] = 't';
        } else {
            b[w++] = *s;
        }
    }
    b[w] = '\0';
    return b;
}
