/* Printing tensors as PyTorch does (torch/_tensor_str.py, default options:
 * precision 4, summarise above 1000 elements with 3 edge items). */
#include "runtime/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct fmt {
    bool int_mode, sci_mode;
    int width;
} fmt;

static void format_one(const fmt *f, float v, char *buf, size_t n)
{
    if (isnan(v))
        snprintf(buf, n, "nan");
    else if (isinf(v))
        snprintf(buf, n, v < 0 ? "-inf" : "inf");
    else if (f->sci_mode)
        snprintf(buf, n, "%.4e", (double)v);
    else if (f->int_mode)
        snprintf(buf, n, "%.0f.", (double)v);
    else
        snprintf(buf, n, "%.4f", (double)v);
}

static bool summarised(const lam_tensor *t) { return t->numel > 1000; }

static bool shown(const lam_tensor *t, int dim, int64_t i)
{
    return !summarised(t) || t->shape[dim] <= 6 || i < 3 || i >= t->shape[dim] - 3;
}

static void setup(fmt *f, const lam_tensor *t)
{
    f->int_mode = true;
    f->sci_mode = false;
    double maxv = 0, minv = INFINITY;
    bool any = false;
    for (int64_t i = 0; i < t->numel; i++) {
        float v = t->data[i];
        if (!isfinite(v))
            continue;
        if (v != nearbyintf(v))
            f->int_mode = false;
        if (v != 0) {
            double a = fabs((double)v);
            maxv = a > maxv ? a : maxv;
            minv = a < minv ? a : minv;
            any = true;
        }
    }
    if (f->int_mode) {
        if (any && maxv > 1e8)
            f->sci_mode = true;
    } else if (any && (maxv / minv > 1000.0 || maxv > 1e8 || minv < 1e-4)) {
        f->sci_mode = true;
    }
    f->width = 1;
    char buf[64];
    for (int64_t i = 0; i < t->numel; i++) {
        format_one(f, t->data[i], buf, sizeof buf);
        int w = (int)strlen(buf);
        f->width = w > f->width ? w : f->width;
    }
}

static void print_rec(lam__sb *sb, const fmt *f, const lam_tensor *t, int dim, int64_t offset,
                      int indent)
{
    int64_t stride = 1;
    for (int d = dim + 1; d < t->ndim; d++)
        stride *= t->shape[d];
    lam__sb_puts(sb, "[");
    bool first = true;
    bool ellipsis_done = false;
    for (int64_t i = 0; i < t->shape[dim]; i++) {
        if (!shown(t, dim, i)) {
            if (!ellipsis_done) {
                if (dim == t->ndim - 1)
                    lam__sb_puts(sb, ", ...");
                else
                    lam__sb_printf(sb, ",\n%*s...", indent + 1, "");
                ellipsis_done = true;
            }
            continue;
        }
        if (!first) {
            if (dim == t->ndim - 1) {
                lam__sb_puts(sb, ", ");
            } else {
                lam__sb_puts(sb, ",");
                for (int k = 0; k < t->ndim - 1 - dim; k++)
                    lam__sb_puts(sb, "\n");
                lam__sb_printf(sb, "%*s", indent + 1, "");
            }
        }
        first = false;
        if (dim == t->ndim - 1) {
            char buf[64];
            format_one(f, t->data[offset + i], buf, sizeof buf);
            lam__sb_printf(sb, "%*s", f->width, buf);
        } else {
            print_rec(sb, f, t, dim + 1, offset + i * stride, indent + 1);
        }
    }
    lam__sb_puts(sb, "]");
}

LAM_API char *lam_tensor_str(const lam_tensor *t)
{
    LAM__CHECK_ARG_OR(t, NULL);
    lam__sb sb = {0};
    fmt f;
    setup(&f, t);
    lam__sb_puts(&sb, "tensor(");
    if (t->numel == 0) {
        lam__sb_puts(&sb, "[]");
        if (t->ndim > 1) {
            char buf[64];
            lam__sb_printf(&sb, ", size=(");
            for (int i = 0; i < t->ndim; i++)
                lam__sb_printf(&sb, i ? ", %lld" : "%lld", (long long)t->shape[i]);
            lam__sb_puts(&sb, ")");
            (void)buf;
        }
    } else {
        print_rec(&sb, &f, t, 0, 0, 7);
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
