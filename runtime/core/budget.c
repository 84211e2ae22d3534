/* The parameter budget of a model file being built.  While lam_model_parse
 * builds modules, every construction path asks this thread's budget before
 * it allocates: the built-in layers for their parameters, and the host table
 * for what plugins create through it (module_add_param, tensor_create,
 * tensor_clone, alloc).  A file past the limit is refused before the memory
 * is taken, whichever layer type it uses. */
#include "runtime/core/core.h"
#include <stdio.h>

static __thread lam__budget *current;

void lam__budget_begin(lam__budget *b, int64_t limit)
{
    b->used = 0;
    b->limit = limit;
    b->prev = current;
    current = b;
}

void lam__budget_end(lam__budget *b) { current = b->prev; }

lam_status lam__budget_charge(int64_t n, const char *fmt, ...)
{
    lam__budget *b = current;
    if (!b || n <= 0)
        return LAM_OK;
    int64_t total;
    if (__builtin_add_overflow(b->used, n, &total))
        total = INT64_MAX;
    if (total <= b->limit) {
        b->used = total;
        return LAM_OK;
    }
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return lam__error(LAM_ERR_INVALID_ARGUMENT,
                      "%s brings the model to %s%lld parameters, more than the limit of %lld per "
                      "model file",
                      what, total == INT64_MAX ? "more than " : "", (long long)total,
                      (long long)b->limit);
}
