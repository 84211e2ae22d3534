/* repr(module) exactly as PyTorch 1.13's Module.__repr__ builds it. */
#include "runtime/internal.h"
#include <stdlib.h>
#include <string.h>

/* _addindent(s, 2): every line but the first gets two more spaces */
static void put_indented(lam__sb *sb, const char *s)
{
    for (; *s; s++) {
        char c[2] = {*s, 0};
        lam__sb_puts(sb, c);
        if (*s == '\n')
            lam__sb_puts(sb, "  ");
    }
}

static void repr_rec(lam__sb *sb, const lam_module *m, int depth)
{
    char extra[512] = "";
    char *extra_big = NULL;
    const char *ex = extra;
    if (m->ops->extra_repr) {
        int n = m->ops->extra_repr(m, extra, sizeof extra);
        if (n >= (int)sizeof extra) {
            extra_big = malloc((size_t)n + 1);
            if (extra_big) {
                m->ops->extra_repr(m, extra_big, (size_t)n + 1);
                ex = extra_big;
            }
        }
    }
    lam__sb_puts(sb, lam_module_type_name(m));
    lam__sb_puts(sb, "(");
    size_t n_extra_lines = 0;
    if (*ex) {
        n_extra_lines = 1;
        for (const char *p = ex; *p; p++)
            n_extra_lines += *p == '\n';
    }
    if (n_extra_lines == 1 && m->n_children == 0) {
        lam__sb_puts(sb, ex);
    } else if (n_extra_lines || m->n_children) {
        if (n_extra_lines) {
            lam__sb_puts(sb, "\n  ");
            put_indented(sb, ex);
        }
        for (size_t i = 0; i < m->n_children; i++) {
            lam__sb_puts(sb, "\n  (");
            lam__sb_puts(sb, m->children[i].name);
            lam__sb_puts(sb, "): ");
            lam__sb child = {0};
            repr_rec(&child, m->children[i].module, depth + 1);
            if (child.failed)
                sb->failed = true;
            else
                put_indented(sb, child.buf);
            free(child.buf);
        }
        lam__sb_puts(sb, "\n");
    }
    lam__sb_puts(sb, ")");
    free(extra_big);
}

LAM_API char *lam_module_repr(const lam_module *m)
{
    LAM__CHECK_ARG_OR(m, NULL);
    lam__sb sb = {0};
    repr_rec(&sb, m, 0);
    if (sb.failed) {
        free(sb.buf);
        lam__oom("repr");
        return NULL;
    }
    return sb.buf;
}
