/* repr(module) exactly as PyTorch 1.13's Module.__repr__ builds it. */
#include "runtime/module/module.h"
#include <stdlib.h>
#include <string.h>

/* PyTorch indents a child's repr with _addindent(s, 2) at every level,
 * which copies each line once per level above it.  Here every line is
 * written once, already indented: `indent` is the number of spaces that
 * follow each newline written for this module (two per level). */
static void put_n(lam__sb *sb, const char *s, size_t n)
{
    while (n > 0) {
        int k = n > 1 << 30 ? 1 << 30 : (int)n;
        lam__sb_printf(sb, "%.*s", k, s);
        s += k;
        n -= (size_t)k;
    }
}

static void newline(lam__sb *sb, int indent) { lam__sb_printf(sb, "\n%*s", indent, ""); }

/* extra_repr's text: in buf when it fits, else in *big (to free). */
static const char *extra_of(const lam_module *m, char *buf, size_t size, char **big)
{
    *big = NULL;
    buf[0] = '\0';
    if (!m->ops->extra_repr)
        return buf;
    int n = m->ops->extra_repr(m, buf, size);
    if (n >= (int)size) {
        *big = malloc((size_t)n + 1);
        if (*big) {
            m->ops->extra_repr(m, *big, (size_t)n + 1);
            return *big;
        }
    }
    return buf;
}

/* the part of the extra_repr text before `(`-children: its lines, each
 * after a newline and indent + 2 spaces (_addindent of the extra lines) */
static void put_extra(lam__sb *sb, const char *ex, int indent)
{
    newline(sb, indent + 2);
    for (const char *nl; (nl = strchr(ex, '\n')); ex = nl + 1) {
        put_n(sb, ex, (size_t)(nl - ex));
        newline(sb, indent + 2);
    }
    lam__sb_puts(sb, ex);
}

/* "Type(" and the extra_repr text; true when the module's repr goes on
 * over several lines (children follow, then a newline and ")").  Kept out
 * of repr_rec so that its buffer is not on the stack once per level. */
static __attribute__((noinline)) bool put_head(lam__sb *sb, const lam_module *m, int indent)
{
    char buf[512], *big;
    const char *ex = extra_of(m, buf, sizeof buf, &big);
    bool multi = m->n_children || strchr(ex, '\n');
    lam__sb_puts(sb, lam_module_type_name(m));
    lam__sb_puts(sb, "(");
    if (!multi)
        lam__sb_puts(sb, ex);
    else if (*ex)
        put_extra(sb, ex, indent);
    free(big);
    return multi;
}

static void repr_rec(lam__sb *sb, const lam_module *m, int indent)
{
    if (put_head(sb, m, indent)) {
        for (size_t i = 0; i < m->n_children && !sb->failed; i++) {
            newline(sb, indent + 2);
            lam__sb_puts(sb, "(");
            lam__sb_puts(sb, m->children[i].name);
            lam__sb_puts(sb, "): ");
            repr_rec(sb, m->children[i].module, indent + 2);
        }
        newline(sb, indent);
    }
    lam__sb_puts(sb, ")");
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
