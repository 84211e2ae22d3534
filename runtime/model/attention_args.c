/* .lam model files — the arguments PyTorch's repr does not print, after the
 * model is built: lam_model_set_arg, lam_model_check_args, and kdim, vdim
 * and add_bias_kv of a MultiheadAttention read from the weights' keys
 * before they load (docs/model-format.md §1.7; the model file's side is
 * attention_types.c). */
#include "runtime/model/model_internal.h"
#include "runtime/nn/nn.h"
#include "runtime/layers/layers.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- the arguments PyTorch's repr does not print ---- */

static bool hidden_of(const lam_module *m, lam__hidden *h, unsigned *real)
{
    if (m->ops == &lam__mha_ops) {
        lam__mha_hidden(m, h);
        *real = LAM__HID_NUM_HEADS | LAM__HID_BATCH_FIRST;
    } else if (m->ops == &lam__tel_ops || m->ops == &lam__tdl_ops) {
        lam__tel_hidden(m, h);
        *real = LAM__HID_NORM_FIRST | LAM__HID_ACTIVATION;
    } else if (m->ops == &lam__tf_ops) {
        lam__tf_hidden(m, h);
        *real = LAM__HID_BATCH_FIRST;
    } else {
        return false;
    }
    return true;
}

static lam_status set_hidden(lam_module *m, const lam__hidden *v, unsigned bit)
{
    if (m->ops == &lam__mha_ops)
        return lam__mha_set_hidden(m, v, bit);
    if (m->ops == &lam__tf_ops)
        return lam__tf_set_hidden(m, v, bit);
    return lam__tel_set_hidden(m, v, bit);
}

static const char *hid_name(const lam_module *m, unsigned bit)
{
    switch (bit) {
    case LAM__HID_NUM_HEADS: return m->ops == &lam__mha_ops ? "num_heads" : "nhead";
    case LAM__HID_BATCH_FIRST: return "batch_first";
    case LAM__HID_NORM_FIRST: return "norm_first";
    default: return "activation";
    }
}

static void hid_value(const lam__hidden *h, unsigned bit, char *buf, size_t size)
{
    switch (bit) {
    case LAM__HID_NUM_HEADS: snprintf(buf, size, "%" PRId64, h->num_heads); break;
    case LAM__HID_BATCH_FIRST: snprintf(buf, size, "%s", h->batch_first ? "True" : "False"); break;
    case LAM__HID_NORM_FIRST: snprintf(buf, size, "%s", h->norm_first ? "True" : "False"); break;
    default: snprintf(buf, size, "'%s'", h->gelu ? "gelu" : "relu"); break;
    }
}

static bool hid_equal(const lam__hidden *a, const lam__hidden *b, unsigned bit)
{
    switch (bit) {
    case LAM__HID_NUM_HEADS: return a->num_heads == b->num_heads;
    case LAM__HID_BATCH_FIRST: return a->batch_first == b->batch_first;
    case LAM__HID_NORM_FIRST: return a->norm_first == b->norm_first;
    default: return a->gelu == b->gelu;
    }
}

/* Set `bit` from v on m and every module under it that takes it.  fill:
 * only where a module does not know it, and a module that knows another
 * value is an error (a model file that contradicts itself); else every one
 * is set (lam_model_set_arg).  *count: how many took it. */
lam_status lam__model_apply_hidden(lam_module *m, const char *path, unsigned bit,
                                   const lam__hidden *v, bool fill, size_t *count)
{
    lam__hidden h;
    unsigned real;
    if (hidden_of(m, &h, &real) && (h.takes & bit)) {
        if (fill && (real & bit) && (h.known & bit) && !hid_equal(&h, v, bit)) {
            char a[32], b[32];
            hid_value(v, bit, a, sizeof a);
            hid_value(&h, bit, b, sizeof b);
            return lam__error(LAM_ERR_INVALID_ARGUMENT, "%s=%s disagrees with %s%s%s's %s=%s",
                              hid_name(m, bit), a, *path ? path : "", *path ? " " : "",
                              lam_module_type_name(m), hid_name(m, bit), b);
        }
        lam_status st = set_hidden(m, v, bit);
        if (st)
            return st;
        (*count)++;
    }
    for (size_t i = 0; i < m->n_children; i++) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", m->children[i].name);
        lam_status st = lam__model_apply_hidden(m->children[i].module, sub, bit, v, fill, count);
        if (st)
            return st;
    }
    return LAM_OK;
}

/* "num_heads"/"nhead", "batch_first", "norm_first", "activation" -> bit, 0 */
unsigned lam__model_hidden_bit(const char *name)
{
    if (!strcmp(name, "num_heads") || !strcmp(name, "nhead"))
        return LAM__HID_NUM_HEADS;
    if (!strcmp(name, "batch_first"))
        return LAM__HID_BATCH_FIRST;
    if (!strcmp(name, "norm_first"))
        return LAM__HID_NORM_FIRST;
    if (!strcmp(name, "activation"))
        return LAM__HID_ACTIVATION;
    return 0;
}

LAM_API lam_status lam_model_set_arg(lam_module *m, const char *name, const char *value)
{
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(name);
    LAM__CHECK_ARG(value);
    const char *dot = strrchr(name, '.');
    const char *arg = dot ? dot + 1 : name;
    unsigned bit = lam__model_hidden_bit(arg);
    if (!bit)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "lam_model_set_arg: '%.100s' is not an argument it sets (num_heads or "
                          "nhead, batch_first, norm_first, activation)",
                          arg);
    char path[512];
    size_t plen = dot ? (size_t)(dot - name) : 0;
    if (plen >= sizeof path)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_model_set_arg: path too long");
    memcpy(path, name, plen);
    path[plen] = '\0';
    lam_module *sub = m;
    if (plen) {
        lam_status st = lam_module_get_submodule(m, path, &sub);
        if (st)
            return st;
    }
    lam__hidden v = {0};
    char *end = NULL;
    if (bit == LAM__HID_NUM_HEADS) {
        long long n = strtoll(value, &end, 10);
        if (end == value || *end || n <= 0)
            return lam__error(LAM_ERR_INVALID_ARGUMENT,
                              "lam_model_set_arg: %s needs a positive integer, got '%.60s'", arg,
                              value);
        v.num_heads = n;
    } else if (bit == LAM__HID_ACTIVATION) {
        size_t n = strlen(value);
        bool q = n >= 2 && (value[0] == '\'' || value[0] == '"') && value[n - 1] == value[0];
        const char *s = q ? value + 1 : value;
        size_t len = q ? n - 2 : n;
        if ((len == 4 && !strncmp(s, "relu", 4)) || (len == 4 && !strncmp(s, "gelu", 4)))
            v.gelu = s[0] == 'g';
        else
            return lam__error(LAM_ERR_INVALID_ARGUMENT, "activation should be relu/gelu, not %.40s",
                              value);
    } else {
        bool b;
        if (!strcmp(value, "True") || !strcmp(value, "true") || !strcmp(value, "1"))
            b = true;
        else if (!strcmp(value, "False") || !strcmp(value, "false") || !strcmp(value, "0"))
            b = false;
        else
            return lam__error(LAM_ERR_INVALID_ARGUMENT,
                              "lam_model_set_arg: %s needs True or False, got '%.60s'", arg, value);
        v.batch_first = v.norm_first = b;
    }
    size_t count = 0;
    lam_status st = lam__model_apply_hidden(sub, path, bit, &v, false, &count);
    if (st)
        return st;
    if (!count)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "lam_model_set_arg: no module %s%s%stakes %s (MultiheadAttention takes "
                          "num_heads and batch_first; TransformerEncoderLayer and "
                          "TransformerDecoderLayer nhead, batch_first, norm_first and activation; "
                          "Transformer nhead and batch_first)",
                          plen ? "at '" : "in the model", plen ? path : "", plen ? "' " : " ",
                          arg);
    return LAM_OK;
}

static lam_status check(const lam_module *m, const char *path)
{
    lam__hidden h;
    unsigned real;
    if (hidden_of(m, &h, &real) && (real & ~h.known)) {
        unsigned miss = real & ~h.known;
        lam__sb names = {0}, sets = {0};
        for (unsigned bit = 1; bit <= LAM__HID_ACTIVATION; bit <<= 1) {
            if (!(miss & bit))
                continue;
            const char *n = hid_name(m, bit);
            lam__sb_printf(&names, "%s%s", names.len ? ", " : "", n);
            lam__sb_printf(&sets, "%s--set %s%s%s=%s", sets.len ? " " : "", path,
                           *path ? "." : "", n,
                           bit == LAM__HID_NUM_HEADS   ? "N"
                           : bit == LAM__HID_ACTIVATION ? "relu|gelu"
                                                        : "True|False");
        }
        lam_status st = lam__error(
            LAM_ERR_INVALID_ARGUMENT,
            "%s%s%s: %s not known: PyTorch's repr does not print %s; write %s in the model "
            "file's %s(...) call before its children (lamina-export does), or set %s: lamina %s "
            "(a path names a module and everything under it), or lam_model_set_arg()",
            *path ? path : "", *path ? " " : "", lam_module_type_name(m),
            names.buf ? names.buf : "?", (miss & (miss - 1)) ? "them" : "it",
            (miss & (miss - 1)) ? "them" : "it", lam_module_type_name(m),
            (miss & (miss - 1)) ? "them" : "it", sets.buf ? sets.buf : "");
        free(names.buf);
        free(sets.buf);
        return st;
    }
    for (size_t i = 0; i < m->n_children; i++) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", m->children[i].name);
        lam_status st = check(m->children[i].module, sub);
        if (st)
            return st;
    }
    return LAM_OK;
}

LAM_API lam_status lam_model_check_args(const lam_module *m)
{
    LAM__CHECK_ARG(m);
    return check(m, "");
}

/* ---- kdim, vdim and add_bias_kv from the weights ---- */

static const lam_tensor *sd_get(const lam_state_dict *sd, const char *prefix, const char *name)
{
    char key[600];
    snprintf(key, sizeof key, "%s%s", prefix, name);
    return lam_state_dict_get(sd, key);
}

/* m (a MultiheadAttention that took its kdim, vdim, add_bias_kv from no
 * one) rebuilt for the weights under `prefix`, into *out (NULL: it fits). */
static lam_status fit_one(lam_module *m, const char *prefix, const lam_state_dict *sd,
                          lam_module **out)
{
    *out = NULL;
    lam__hidden h;
    lam__mha_hidden(m, &h);
    if (!(h.takes & LAM__HID_KV))
        return LAM_OK;
    lam_module *op = lam_module_child(m, "out_proj");
    if (!op || op->ops != &lam__linear_ops)
        return LAM_OK;
    int64_t E, o;
    const float *b;
    lam__linear_info(op, &E, &o, &b);
    const lam_tensor *k = sd_get(sd, prefix, "k_proj_weight"),
                     *v = sd_get(sd, prefix, "v_proj_weight");
    const bool bkv = sd_get(sd, prefix, "bias_k") != NULL;
    int64_t kdim = k && k->ndim == 2 ? k->shape[1] : E, vdim = v && v->ndim == 2 ? v->shape[1] : E;
    /* separate projections when the dict has them (PyTorch keeps them only
     * when kdim or vdim differs from embed_dim); the module, which nobody
     * told, has PyTorch's defaults: in_proj_weight and no bias_k */
    const bool sep = (k || v) && !sd_get(sd, prefix, "in_proj_weight");
    if (!sep && !bkv)
        return LAM_OK;
    if (!sep)
        kdim = vdim = E;
    lam_module *n = NULL;
    lam_status st = lam_multihead_attention_create(&n, E, h.num_heads, h.dropout, b != NULL, bkv,
                                                   h.add_zero_attn, kdim, vdim, h.batch_first);
    if (st)
        return st;
    lam__mha_forget(n, (LAM__HID_NUM_HEADS | LAM__HID_BATCH_FIRST) & ~h.known);
    st = lam_module_add_child(n, "out_proj", op); /* the file's out_proj */
    if (st) {
        lam_module_release(n);
        return st;
    }
    lam_module_train(n, m->training);
    *out = n;
    return LAM_OK;
}

static lam_status fit(lam_module *m, const char *prefix, const lam_state_dict *sd)
{
    for (size_t i = 0; i < m->n_children; i++) {
        lam_module *c = m->children[i].module;
        char sub[600];
        snprintf(sub, sizeof sub, "%s%s.", prefix, m->children[i].name);
        lam_module *n = NULL;
        lam_status st = c->ops == &lam__mha_ops ? fit_one(c, sub, sd, &n) : LAM_OK;
        if (!st && n) {
            st = lam_module_add_child(m, m->children[i].name, n);
            lam_module_release(n);
            c = m->children[i].module;
        }
        if (!st)
            st = fit(c, sub, sd);
        if (st)
            return st;
    }
    return LAM_OK;
}

lam_status lam__model_fit_attention(lam_module *m, const lam_state_dict *sd)
{
    lam_module *n = NULL;
    lam_status st = m->ops == &lam__mha_ops ? fit_one(m, "", sd, &n) : LAM_OK;
    if (!st && n) {
        lam_module_release(n);
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "MultiheadAttention: the weights have other key/value projections or "
                          "bias_k than the model file says: write kdim=, vdim= and add_bias_kv= "
                          "in its MultiheadAttention(...) call");
    }
    return st ? st : fit(m, "", sd);
}
