/* Printing tensors as PyTorch 1.13 prints them: torch/_tensor_str.py with the
 * default options (precision 4, threshold 1000, edgeitems 3, linewidth 80).
 * tests/test_tensor_print.c compares with PyTorch's output byte for byte
 * (fixtures from tools/gen-print-fixtures.py). */
#include "runtime/tensor/tensor.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define THRESHOLD 1000 /* more elements than this: summarise */
#define EDGEITEMS 3    /* items kept at each end of a summarised dimension */
#define LINEWIDTH 80

/* _Formatter: one format for the whole tensor. */
typedef struct fmt {
    bool int_mode, sci_mode;
    int width;
    int dtype; /* int64 and bool: str(value), right-aligned to the widest */
} fmt;

/* An int64 or bool element as Python's str() writes it. */
static int format_exact(const lam_tensor *t, int64_t i, char *buf, size_t n)
{
    if (t->dtype == LAM_BOOL)
        return snprintf(buf, n, "%s", lam__tensor_bool(t)[i] ? "True" : "False");
    return snprintf(buf, n, "%lld", (long long)lam__tensor_i64(t)[i]);
}

/* _Formatter.format without the padding.  Non-finite values print as Python
 * prints them ("nan", "inf", "-inf") in every mode. */
static int format_raw(const fmt *f, float v, char *buf, size_t n)
{
    if (isnan(v))
        return snprintf(buf, n, "nan");
    if (isinf(v))
        return snprintf(buf, n, v < 0 ? "-inf" : "inf");
    if (f->sci_mode)
        return snprintf(buf, n, "%.4e", (double)v);
    if (f->int_mode)
        return snprintf(buf, n, "%.0f.", (double)v);
    return snprintf(buf, n, "%.4f", (double)v);
}

/* Index i of a dimension of `size` is printed (get_summarized_data). */
static bool shown(bool summarize, int64_t size, int64_t i)
{
    return !summarize || size <= 2 * EDGEITEMS || i < EDGEITEMS || i >= size - EDGEITEMS;
}

typedef struct scan {
    fmt *f;
    bool any;
    double min, max;
} scan;

/* Call fn on every printed element (all of them unless summarising). */
static void each_shown(const lam_tensor *t, bool summarize, int dim, int64_t offset,
                       void (*fn)(scan *, const lam_tensor *, int64_t), scan *s)
{
    int64_t stride = 1;
    for (int d = dim + 1; d < t->ndim; d++)
        stride *= t->shape[d];
    for (int64_t i = 0; i < t->shape[dim]; i++) {
        if (!shown(summarize, t->shape[dim], i)) {
            i = t->shape[dim] - EDGEITEMS - 1; /* on to the last items */
            continue;
        }
        if (dim == t->ndim - 1)
            fn(s, t, offset + i);
        else
            each_shown(t, summarize, dim + 1, offset + i * stride, fn, s);
    }
}

/* Only non-zero finite values choose the mode and the width. */
static void scan_range(scan *s, const lam_tensor *t, int64_t i)
{
    float v = t->data[i];
    if (!isfinite(v) || v == 0)
        return;
    double a = fabs((double)v);
    s->min = s->any && s->min < a ? s->min : a;
    s->max = s->any && s->max > a ? s->max : a;
    s->any = true;
    if (v != ceilf(v))
        s->f->int_mode = false;
}

static void scan_width(scan *s, const lam_tensor *t, int64_t i)
{
    float v = t->data[i];
    if (!isfinite(v) || v == 0)
        return;
    char buf[64];
    int w = format_raw(s->f, v, buf, sizeof buf);
    s->f->width = w > s->f->width ? w : s->f->width;
}

static void scan_exact(scan *s, const lam_tensor *t, int64_t i)
{
    char buf[32];
    int w = format_exact(t, i, buf, sizeof buf);
    s->f->width = w > s->f->width ? w : s->f->width;
}

static void setup(fmt *f, const lam_tensor *t, bool summarize)
{
    f->int_mode = true;
    f->sci_mode = false;
    f->width = 1;
    f->dtype = t->dtype;
    scan s = {.f = f};
    if (t->dtype != LAM_FLOAT32) {
        each_shown(t, summarize, 0, 0, scan_exact, &s);
        return;
    }
    each_shown(t, summarize, 0, 0, scan_range, &s);
    if (!s.any)
        return;
    if (s.max / s.min > 1000.0 || s.max > 1.0e8 || (!f->int_mode && s.min < 1.0e-4))
        f->sci_mode = true;
    each_shown(t, summarize, 0, 0, scan_width, &s);
}

static void put_value(lam__sb *sb, const fmt *f, const lam_tensor *t, int64_t i)
{
    char buf[64];
    if (f->dtype != LAM_FLOAT32)
        format_exact(t, i, buf, sizeof buf);
    else
        format_raw(f, t->data[i], buf, sizeof buf);
    lam__sb_printf(sb, "%*s", f->width, buf);
}

/* _vector_str: the last dimension, `per_line` items to a line (" ..." counts
 * as one), continuation lines indented under the first item. */
static void print_vector(lam__sb *sb, const fmt *f, const lam_tensor *t, bool summarize,
                         int64_t offset, int indent)
{
    int64_t size = t->shape[t->ndim - 1];
    int per_line = (LINEWIDTH - indent) / (f->width + 2);
    if (per_line < 1)
        per_line = 1;
    int64_t item = 0;
    lam__sb_puts(sb, "[");
    for (int64_t i = 0; i < size; i++) {
        bool gap = !shown(summarize, size, i);
        if (item > 0 && item % per_line == 0)
            lam__sb_printf(sb, ",\n%*s", indent + 1, "");
        else if (item > 0)
            lam__sb_puts(sb, ", ");
        item++;
        if (gap) {
            lam__sb_puts(sb, " ...");
            i = size - EDGEITEMS - 1;
        } else {
            put_value(sb, f, t, offset + i);
        }
    }
    lam__sb_puts(sb, "]");
}

/* _tensor_str_with_formatter: the slices along `dim`, separated by a comma
 * and as many newlines as a slice has dimensions, "..." for hidden ones. */
static void print_rec(lam__sb *sb, const fmt *f, const lam_tensor *t, bool summarize, int dim,
                      int64_t offset, int indent)
{
    if (dim == t->ndim - 1) {
        print_vector(sb, f, t, summarize, offset, indent);
        return;
    }
    int64_t stride = 1;
    for (int d = dim + 1; d < t->ndim; d++)
        stride *= t->shape[d];
    int64_t size = t->shape[dim];
    lam__sb_puts(sb, "[");
    for (int64_t i = 0; i < size; i++) {
        bool gap = !shown(summarize, size, i);
        if (i > 0) {
            lam__sb_puts(sb, ",");
            for (int k = 0; k < t->ndim - 1 - dim; k++)
                lam__sb_puts(sb, "\n");
            lam__sb_printf(sb, "%*s", indent + 1, "");
        }
        if (gap) {
            lam__sb_puts(sb, "...");
            i = size - EDGEITEMS - 1;
        } else {
            print_rec(sb, f, t, summarize, dim + 1, offset + i * stride, indent + 1);
        }
    }
    lam__sb_puts(sb, "]");
}

LAM_API char *lam_tensor_str(const lam_tensor *t)
{
    LAM__CHECK_ARG_OR(t, NULL);
    if (lam__tensor_ready(t) != LAM_OK)
        return NULL;
    lam__sb sb = {0};
    lam__sb_puts(&sb, "tensor(");
    if (t->numel == 0) {
        /* "[]" and, unless 1-D, the size, then the dtype (an empty tensor
         * shows no values to tell it by): each on the same line if it fits
         * in LINEWIDTH by _add_suffixes' count, else on the next */
        lam__sb_puts(&sb, "[]");
        size_t last_line = strlen("tensor([]") + 2; /* as _add_suffixes counts it */
        char suffix[2][160];
        int ns = 0;
        if (t->ndim != 1) {
            int n = snprintf(suffix[ns], sizeof suffix[ns], "size=(");
            for (int i = 0; i < t->ndim; i++)
                n += snprintf(suffix[ns] + n, sizeof suffix[ns] - (size_t)n, i ? ", %lld" : "%lld",
                              (long long)t->shape[i]);
            snprintf(suffix[ns] + n, sizeof suffix[ns] - (size_t)n, "%s", t->ndim == 1 ? ",)" : ")");
            ns++;
        }
        if (t->dtype != LAM_FLOAT32)
            snprintf(suffix[ns++], sizeof suffix[0], "dtype=torch.%s",
                     lam_dtype_name((lam_dtype)t->dtype));
        for (int k = 0; k < ns; k++) {
            size_t n = strlen(suffix[k]);
            if (last_line + n + 2 > LINEWIDTH) {
                lam__sb_printf(&sb, ",\n%*s%s", (int)strlen("tensor("), "", suffix[k]);
                last_line = strlen("tensor(") + n;
            } else {
                lam__sb_printf(&sb, ", %s", suffix[k]);
                last_line += n + 2;
            }
        }
    } else {
        bool summarize = t->numel > THRESHOLD;
        fmt f;
        setup(&f, t, summarize);
        print_rec(&sb, &f, t, summarize, 0, 0, (int)strlen("tensor("));
    }
    lam__sb_puts(&sb, ")");
    if (sb.failed) {
        free(sb.buf);
        return NULL;
    }
    return sb.buf;
}

LAM_API lam_status lam_tensor_print(const lam_tensor *t, FILE *fp)
{
    LAM__SYNC();
    LAM__CHECK_ARG(t);
    LAM__CHECK_ARG(fp);
    char *s = lam_tensor_str(t);
    if (!s)
        return lam__oom("tensor text");
    int rc = fprintf(fp, "%s\n", s);
    free(s);
    if (rc < 0)
        return lam__error(LAM_ERR_IO, "tensor print: write failed");
    return LAM_OK;
}
