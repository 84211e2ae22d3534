/* Writes DIR/saved.safetensors (the state_dict of
 * Sequential(Linear(3, 4), ReLU(), Linear(4, 2)) filled with the fixture
 * pattern i * 0.25 - 3) and DIR/saved.npy (a 2x3 pattern) with lamina, for
 * check-saved-with-torch.sh to read back in PyTorch and numpy. */
#include "config.h"

#include <stdio.h>
#include <lamina/lamina.h>
#include <lamina/io.h>

static lam_tensor *pattern(int nd, const int64_t *shape)
{
    lam_tensor *t = NULL;
    if (lam_tensor_create(&t, nd, shape) != LAM_OK)
        return NULL;
    for (int64_t i = 0; i < lam_tensor_numel(t); i++)
        lam_tensor_data(t)[i] = (float)((double)i * 0.25 - 3.0);
    return t;
}

int main(int argc, char **argv)
{
    static const struct { const char *key; int nd; int64_t shape[2]; } k[] = {
        {"0.weight", 2, {4, 3}}, {"0.bias", 1, {4}}, {"2.weight", 2, {2, 4}}, {"2.bias", 1, {2}},
    };
    char path[4096];
    lam_state_dict *sd = NULL;
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    if (lam_state_dict_create(&sd) != LAM_OK)
        goto fail;
    for (int i = 0; i < 4; i++) {
        lam_tensor *t = pattern(k[i].nd, k[i].shape);
        if (!t || lam_state_dict_set(sd, k[i].key, t) != LAM_OK)
            goto fail;
        lam_tensor_release(t);
    }
    snprintf(path, sizeof path, "%s/saved.safetensors", argv[1]);
    if (lam_safetensors_save(path, sd) != LAM_OK)
        goto fail;
    lam_tensor *a = pattern(2, (const int64_t[]){2, 3});
    snprintf(path, sizeof path, "%s/saved.npy", argv[1]);
    if (!a || lam_npy_save(path, a) != LAM_OK)
        goto fail;
    lam_tensor_release(a);
    lam_state_dict_free(sd);
    return 0;
fail:
    fprintf(stderr, "save-sample: %s\n", lam_last_error());
    return 1;
}
