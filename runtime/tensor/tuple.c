/* Tuples: the values a forward takes (its positional arguments) and may
 * return, each item a tensor, None or a nested tuple (<lamina/module.h>). */
#include "runtime/tensor/tensor.h"
#include <stdlib.h>
#include <string.h>

LAM_API lam_status lam_tuple_create(lam_tuple **out, size_t n)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    if (n > (SIZE_MAX - sizeof(lam_tuple)) / sizeof(lam__val))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_tuple_create: %zu items is too many", n);
    lam_tuple *t = calloc(1, sizeof *t + n * sizeof(lam__val));
    if (!t)
        return lam__oom("tuple");
    t->refcount = 1;
    t->n = n;
    *out = t;
    return LAM_OK;
}

LAM_API lam_tuple *lam_tuple_retain(lam_tuple *t)
{
    if (t)
        __atomic_add_fetch(&t->refcount, 1, __ATOMIC_RELAXED);
    return t;
}

void lam__val_clear(lam__val *it)
{
    lam_tensor_release(it->t);
    lam_tuple_release(it->tup);
    it->t = NULL;
    it->tup = NULL;
}

LAM_API void lam_tuple_release(lam_tuple *t)
{
    if (!t || __atomic_sub_fetch(&t->refcount, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (size_t i = 0; i < t->n; i++)
        lam__val_clear(&t->items[i]);
    free(t);
}

LAM_API size_t lam_tuple_len(const lam_tuple *t)
{
    LAM__CHECK_ARG_OR(t, 0);
    return t->n;
}

static bool in_range(const lam_tuple *t, size_t i, const char *fn)
{
    if (!t) {
        lam__null_arg(fn, "t");
        return false;
    }
    if (i >= t->n) {
        lam__error(LAM_ERR_INDEX, "%s: tuple index %zu out of range (length %zu)", fn, i, t->n);
        return false;
    }
    return true;
}

LAM_API lam_tensor *lam_tuple_tensor(const lam_tuple *t, size_t i)
{
    return in_range(t, i, __func__) ? t->items[i].t : NULL;
}

LAM_API lam_tuple *lam_tuple_tuple(const lam_tuple *t, size_t i)
{
    return in_range(t, i, __func__) ? t->items[i].tup : NULL;
}

LAM_API bool lam_tuple_is_none(const lam_tuple *t, size_t i)
{
    return in_range(t, i, __func__) && !t->items[i].t && !t->items[i].tup;
}

LAM_API lam_status lam_tuple_set_tensor(lam_tuple *t, size_t i, lam_tensor *x)
{
    if (!in_range(t, i, __func__))
        return t ? LAM_ERR_INDEX : LAM_ERR_INVALID_ARGUMENT;
    lam_tensor_retain(x);
    lam__val_clear(&t->items[i]);
    t->items[i].t = x;
    return LAM_OK;
}

/* Does `inside` hold `t`, at any depth? */
static bool holds(const lam_tuple *inside, const lam_tuple *t, int depth)
{
    if (inside == t)
        return true;
    if (depth > 64)
        return true; /* refuse what is too deep to check */
    for (size_t i = 0; i < inside->n; i++)
        if (inside->items[i].tup && holds(inside->items[i].tup, t, depth + 1))
            return true;
    return false;
}

LAM_API lam_status lam_tuple_set_tuple(lam_tuple *t, size_t i, lam_tuple *x)
{
    if (!in_range(t, i, __func__))
        return t ? LAM_ERR_INDEX : LAM_ERR_INVALID_ARGUMENT;
    if (x && holds(x, t, 0))
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "lam_tuple_set_tuple: the tuple would contain itself (or nests "
                          "deeper than 64)");
    lam_tuple_retain(x);
    lam__val_clear(&t->items[i]);
    t->items[i].tup = x;
    return LAM_OK;
}

lam_status lam__tuple_of(lam_tuple **out, const lam__val *it)
{
    lam_status st = lam_tuple_create(out, 1);
    if (!st) {
        (*out)->items[0].t = lam_tensor_retain(it->t);
        (*out)->items[0].tup = lam_tuple_retain(it->tup);
    }
    return st;
}

const char *lam__val_type(const lam__val *it)
{
    return it->t ? "Tensor" : it->tup ? "tuple" : "NoneType";
}
