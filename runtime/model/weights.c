/* Weights for a model: load_state_dict that understands tied parameters
 * dropped by safetensors.torch.save_model(). */
#include "runtime/model/model_internal.h"
#include "lamina/io.h"
#include <stdlib.h>
#include <string.h>

LAM_API lam_status lam_model_load_state_dict(lam_module *m, const lam_state_dict *sd, bool strict,
                                             lam_incompatible_keys *keys)
{
    if (keys)
        memset(keys, 0, sizeof *keys);
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(sd);
    lam_state_dict *own = NULL, *fill = NULL;
    lam_status st = lam__model_fit_attention(m, sd);
    if (st)
        return st;
    st = lam_module_state_dict(m, &own);
    if (!st)
        st = lam_state_dict_create(&fill);
    for (size_t i = 0; !st && i < lam_state_dict_len(sd); i++)
        st = lam_state_dict_set(fill, lam_state_dict_key(sd, i), lam_state_dict_tensor(sd, i));
    /* a key the dict lacks, whose tensor the module also holds under a key
     * the dict has: the file kept one name of a tied group.  `kept` maps each
     * of the module's tensors to its first key that the dict has. */
    size_t n = lam_state_dict_len(own);
    lam__ptrmap kept = {0};
    for (size_t j = 0; !st && j < n; j++)
        if (lam_state_dict_get(sd, lam_state_dict_key(own, j)) &&
            !lam__ptrmap_put(&kept, lam_state_dict_tensor(own, j), j, NULL))
            st = lam__oom("load_state_dict");
    for (size_t i = 0; !st && i < n; i++) {
        const char *key = lam_state_dict_key(own, i);
        const lam_tensor *mine = lam_state_dict_get(sd, key);
        if (mine) {
            /* both names of a tied group in the dict: one tensor cannot take
             * two different values (PyTorch would keep the last silently) */
            const size_t *j = lam__ptrmap_get(&kept, lam_state_dict_tensor(own, i));
            const char *first = j && *j != i ? lam_state_dict_key(own, *j) : NULL;
            const lam_tensor *other = first ? lam_state_dict_get(sd, first) : NULL;
            if (other && other != mine &&
                (!lam_tensor_same_shape(other, mine) || other->dtype != mine->dtype ||
                 memcmp(other->data, mine->data,
                        (size_t)mine->numel * lam__dtype_size(mine->dtype)) != 0))
                st = lam__error(LAM_ERR_STATE_DICT,
                                "Error(s) in loading state_dict for %s:\n\t'%s' and '%s' are one "
                                "tensor in the model (tied), but the state_dict holds different "
                                "values for them",
                                lam_module_type_name(m), key, first);
            continue;
        }
        const size_t *j = lam__ptrmap_get(&kept, lam_state_dict_tensor(own, i));
        if (j)
            st = lam_state_dict_set(fill, key, lam_state_dict_get(sd, lam_state_dict_key(own, *j)));
    }
    lam__ptrmap_free(&kept);
    if (!st)
        st = lam_module_load_state_dict(m, fill, strict, keys);
    if (st)
        lam_incompatible_keys_clear(keys); /* the message lists them */
    lam_state_dict_free(fill);
    lam_state_dict_free(own);
    return st;
}

LAM_API lam_status lam_model_load_weights(lam_module *m, const char *safetensors_path, bool strict,
                                          lam_incompatible_keys *keys)
{
    if (keys)
        memset(keys, 0, sizeof *keys);
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(safetensors_path);
    lam_state_dict *sd;
    lam_status st = lam_safetensors_load(safetensors_path, &sd);
    if (st)
        return st;
    st = lam_model_load_state_dict(m, sd, strict, keys);
    lam_state_dict_free(sd);
    if (st == LAM_ERR_STATE_DICT) {
        size_t n = strlen(safetensors_path) + 2;
        char *prefix = malloc(n);
        if (prefix) {
            memcpy(prefix, safetensors_path, n - 2);
            memcpy(prefix + n - 2, ":", 2);
            lam__error_prefix(prefix);
            free(prefix);
        }
    }
    return st;
}
