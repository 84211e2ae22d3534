/* lam_state_dict: an ordered name -> tensor map (holds references), with a
 * hash index of the keys so that set and get are O(1). */
#include "runtime/module/module.h"
#include <stdlib.h>
#include <string.h>

struct lam_state_dict {
    char **keys;
    lam_tensor **tensors;
    size_t n, cap;
    lam__strmap index; /* key -> position; keys borrowed from `keys` */
};

LAM_API lam_status lam_state_dict_create(lam_state_dict **out)
{
    LAM__CHECK_ARG(out);
    *out = calloc(1, sizeof **out);
    return *out ? LAM_OK : lam__oom("state_dict");
}

LAM_API void lam_state_dict_free(lam_state_dict *sd)
{
    if (!sd)
        return;
    for (size_t i = 0; i < sd->n; i++) {
        free(sd->keys[i]);
        lam_tensor_release(sd->tensors[i]);
    }
    free(sd->keys);
    free(sd->tensors);
    lam__strmap_free(&sd->index);
    free(sd);
}

static ptrdiff_t find(const lam_state_dict *sd, const char *key)
{
    const size_t *i = lam__strmap_get(&sd->index, key);
    return i ? (ptrdiff_t)*i : -1;
}

LAM_API lam_status lam_state_dict_set(lam_state_dict *sd, const char *key, lam_tensor *t)
{
    LAM__SYNC();
    LAM__CHECK_ARG(sd);
    LAM__CHECK_ARG(key);
    LAM__CHECK_ARG(t);
    ptrdiff_t i = find(sd, key);
    if (i >= 0) {
        lam_tensor_retain(t);
        lam_tensor_release(sd->tensors[i]);
        sd->tensors[i] = t;
        return LAM_OK;
    }
    if (sd->n == sd->cap) {
        size_t cap = sd->cap ? sd->cap * 2 : 8;
        char **k = realloc(sd->keys, cap * sizeof *k);
        if (!k)
            return lam__oom("state_dict");
        sd->keys = k;
        lam_tensor **ts = realloc(sd->tensors, cap * sizeof *ts);
        if (!ts)
            return lam__oom("state_dict");
        sd->tensors = ts;
        sd->cap = cap;
    }
    char *kk = lam__strdup(key);
    if (!kk)
        return lam__oom("state_dict key");
    if (!lam__strmap_putn(&sd->index, kk, strlen(kk), sd->n, NULL)) {
        free(kk);
        return lam__oom("state_dict index");
    }
    sd->keys[sd->n] = kk;
    sd->tensors[sd->n] = lam_tensor_retain(t);
    sd->n++;
    return LAM_OK;
}

LAM_API size_t lam_state_dict_len(const lam_state_dict *sd)
{
    LAM__CHECK_ARG_OR(sd, 0);
    return sd->n;
}

LAM_API const char *lam_state_dict_key(const lam_state_dict *sd, size_t i)
{
    LAM__CHECK_ARG_OR(sd, NULL);
    return i < sd->n ? sd->keys[i] : NULL;
}

LAM_API lam_tensor *lam_state_dict_tensor(const lam_state_dict *sd, size_t i)
{
    LAM__CHECK_ARG_OR(sd, NULL);
    return i < sd->n ? sd->tensors[i] : NULL;
}

LAM_API lam_tensor *lam_state_dict_get(const lam_state_dict *sd, const char *key)
{
    LAM__CHECK_ARG_OR(sd, NULL);
    LAM__CHECK_ARG_OR(key, NULL);
    ptrdiff_t i = find(sd, key);
    return i >= 0 ? sd->tensors[i] : NULL;
}
