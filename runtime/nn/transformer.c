/* TransformerEncoder(encoder_layer, num_layers, norm=None) and
 * TransformerDecoder(decoder_layer, num_layers, norm=None): PyTorch 1.13's
 * children — `layers`, a ModuleList of num_layers copies of the layer
 * (copy.deepcopy: the same parameter values), and `norm` when given — and
 * their eval-mode forward (masks through forward_multi): the layers in
 * order, then norm; and Transformer (an encoder and a decoder, each with a
 * final LayerNorm).  In nn/ because they build ModuleLists. */
#include "runtime/nn/nn.h"
#include "runtime/layers/layers.h"
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static lam_status te_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                           int64_t *out)
{
    lam_module *layers = lam_module_child(m, "layers");
    size_t n = layers ? layers->n_children : 0;
    if (n) {
        lam_module *c = layers->children[0].module;
        lam_status st = c->ops->output_shape(c, ndim, in, out_ndim, out);
        if (st)
            lam__error_within(c); /* the error's path: layers[0] */
        return st;
    }
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    return LAM_OK;
}

static lam_status run_child_(lam_module *c, const lam_tensor *x, lam_tensor *y)
{
    if (!c->ops->forward_into || !c->ops->output_shape)
        return lam__error(LAM_ERR_NOT_IMPLEMENTED,
                          "TransformerEncoder: %s has no single-tensor forward",
                          c->type_name ? c->type_name : c->ops->type_name);
    int nd;
    int64_t sh[LAM_MAX_DIMS];
    lam_status st = c->ops->output_shape(c, x->ndim, x->shape, &nd, sh);
    if (st)
        return st;
    if (nd != y->ndim || memcmp(sh, y->shape, sizeof(int64_t) * (size_t)nd))
        return lam__error(LAM_ERR_SHAPE, "TransformerEncoder: a layer changes the shape");
    return c->ops->forward_into(c, x, y);
}

/* c's errors name c in their path (lam__error_within): the stack runs its
 * layers and norm without the call machinery, which would allocate. */
static lam_status run_child(lam_module *c, const lam_tensor *x, lam_tensor *y)
{
    lam_status st = run_child_(c, x, y);
    if (st)
        lam__error_within(c);
    return st;
}

/* A layer with the masks: an encoder layer takes them; any other module only
 * when there are none. */
static lam_status run_layer(lam_module *c, const lam_tensor *x, const lam__attn_mask *am,
                            const lam__attn_mask *kpm, lam_tensor *y)
{
    if (!am && !kpm)
        return run_child(c, x, y);
    if (c->ops != &lam__tel_ops)
        return lam__error(LAM_ERR_NOT_IMPLEMENTED,
                          "TransformerEncoder: %s takes no masks (only TransformerEncoderLayer "
                          "layers do)",
                          c->type_name ? c->type_name : c->ops->type_name);
    int nd;
    int64_t sh[LAM_MAX_DIMS];
    lam_status st = c->ops->output_shape(c, x->ndim, x->shape, &nd, sh);
    if (!st)
        st = lam__tel_run(c, x, am, kpm, y);
    if (st)
        lam__error_within(c);
    return st;
}

static lam_status te_run(lam_module *m, const lam_tensor *in, const lam__attn_mask *am,
                         const lam__attn_mask *kpm, lam_tensor *out)
{
    lam_module *layers = lam_module_child(m, "layers"), *norm = lam_module_child(m, "norm");
    size_t n = layers ? layers->n_children : 0;
    lam_tensor *buf[2] = {NULL, NULL};
    lam_status st = LAM_OK;
    for (int i = 0; i < 2 && !st && n > 1; i++)
        st = lam__tensor_create_uninit(&buf[i], in->ndim, in->shape);
    const lam_tensor *cur = in;
    for (size_t i = 0; i < n && !st; i++) {
        lam_tensor *dst = i + 1 == n && !norm ? out : (n == 1 ? out : buf[i % 2]);
        if (i + 1 == n && norm && n == 1) {
            if (!buf[0])
                st = lam__tensor_create_uninit(&buf[0], in->ndim, in->shape);
            dst = buf[0];
        }
        if (!st)
            st = run_layer(layers->children[i].module, cur, am, kpm, dst);
        cur = dst;
    }
    if (!st && norm)
        st = run_child(norm, cur, out);
    else if (!st && n == 0)
        memcpy(out->data, in->data, (size_t)in->numel * sizeof(float));
    lam_tensor_release(buf[0]);
    lam_tensor_release(buf[1]);
    return st;
}

static lam_status te_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    return te_run(m, in, NULL, NULL, out);
}

/* PyTorch 1.13's forward(src, mask=None, src_key_padding_mask=None), every
 * layer given both masks: its slow path.  (Under torch.no_grad(), with a
 * key padding mask and no mask, batch_first, post-norm layers and an even
 * head count, PyTorch's fast path runs nested tensors instead and gives 0
 * at padded positions before the final norm; lamina computes them.) */
static lam_status te_forward_multi(lam_module *m, const lam_tuple *in, void *args, lam__val *out)
{
    (void)args;
    const lam_tensor *src = NULL;
    lam__attn_mask am, kpm;
    bool has_am = false, has_kpm = false;
    lam_status st = lam__tel_args("TransformerEncoder", in, &src, &am, &kpm, &has_am, &has_kpm);
    lam_tensor *y = NULL;
    int nd;
    int64_t sh[LAM_MAX_DIMS];
    if (!st)
        st = te_shape(m, src->ndim, src->shape, &nd, sh);
    if (!st)
        st = lam_tensor_create(&y, nd, sh);
    if (!st)
        st = te_run(m, src, has_am ? &am : NULL, has_kpm ? &kpm : NULL, y);
    if (st) {
        lam_tensor_release(y);
        return st;
    }
    out->t = y;
    return LAM_OK;
}

static void te_destroy(lam_module *m) { (void)m; }

const lam__module_ops lam__te_ops = {
    .type_name = "TransformerEncoder",
    .py_module = "torch.nn.modules.transformer",
    .output_shape = te_shape,
    .forward_into = te_forward,
    .forward_multi = te_forward_multi,
    .destroy = te_destroy,
    .pooled_scratch = true,
};

/* A container of num_layers copies of layer (of type ops) and norm. */
static lam_status stack_create(const lam__module_ops *ops, const lam__module_ops *layer_ops,
                               lam_module **out, lam_module *layer, int64_t num_layers,
                               lam_module *norm)
{
    *out = NULL;
    if (num_layers < 0 || num_layers > 100000)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "%s: num_layers=%" PRId64 " is out of range",
                          ops->type_name, num_layers);
    lam_module *m = NULL, *list = NULL;
    lam_status st = lam__module_new(&m, ops, NULL);
    if (st)
        return st;
    st = lam_modulelist_create(&list, 0, NULL);
    for (int64_t i = 0; i < num_layers && !st; i++) {
        lam_module *c = NULL;
        st = lam__tel_clone(layer, layer_ops, ops->type_name, &c);
        if (!st) {
            char name[24];
            snprintf(name, sizeof name, "%" PRId64, i);
            st = lam_module_add_child(list, name, c);
            lam_module_release(c);
        }
    }
    if (!st)
        st = lam_module_add_child(m, "layers", list);
    lam_module_release(list);
    if (!st && norm)
        st = lam_module_add_child(m, "norm", norm);
    if (st) {
        lam_module_release(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}

LAM_API lam_status lam_transformer_encoder_create(lam_module **out, lam_module *encoder_layer,
                                                  int64_t num_layers, lam_module *norm)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    LAM__CHECK_ARG(encoder_layer);
    return stack_create(&lam__te_ops, &lam__tel_ops, out, encoder_layer, num_layers, norm);
}


/* ---- TransformerDecoder ---- */

static lam_status td_run(lam_module *m, const lam_tensor *tgt, const lam_tensor *memory,
                         const lam__attn_mask *const g[4], lam_tensor *out)
{
    lam_module *layers = lam_module_child(m, "layers"), *norm = lam_module_child(m, "norm");
    size_t n = layers ? layers->n_children : 0;
    lam_tensor *buf[2] = {NULL, NULL};
    lam_status st = LAM_OK;
    for (int i = 0; i < 2 && !st; i++)
        st = lam_tensor_create(&buf[i], tgt->ndim, tgt->shape);
    const lam_tensor *cur = tgt;
    for (size_t i = 0; i < n && !st; i++) {
        lam_module *c = layers->children[i].module;
        lam_tensor *dst = i + 1 == n && !norm ? out : buf[i % 2];
        if (c->ops != &lam__tdl_ops)
            st = lam__error(LAM_ERR_NOT_IMPLEMENTED,
                            "TransformerDecoder: layers.%zu is a %s (only TransformerDecoderLayer "
                            "layers take tgt and memory)",
                            i, lam_module_type_name(c));
        else if ((st = lam__tdl_run(c, cur, memory, g[0], g[1], g[2], g[3], dst)))
            lam__error_within(c);
        cur = dst;
    }
    if (!st && norm)
        st = run_child(norm, cur, out);
    else if (!st && n == 0)
        memcpy(out->data, tgt->data, (size_t)tgt->numel * sizeof(float));
    lam_tensor_release(buf[0]);
    lam_tensor_release(buf[1]);
    return st;
}

/* PyTorch 1.13's forward(tgt, memory, tgt_mask=None, memory_mask=None,
 * tgt_key_padding_mask=None, memory_key_padding_mask=None): every layer
 * gets every mask. */
static lam_status td_forward_multi(lam_module *m, const lam_tuple *in, void *args, lam__val *out)
{
    (void)args;
    const lam_tensor *tgt = NULL, *mem = NULL;
    lam__attn_mask mk[4];
    const lam__attn_mask *g[4];
    lam_status st = lam__tdl_args("TransformerDecoder", in, &tgt, &mem, mk, g);
    lam_tensor *y = NULL;
    if (!st)
        st = lam_tensor_create(&y, tgt->ndim, tgt->shape);
    if (!st)
        st = td_run(m, tgt, mem, g, y);
    if (st) {
        lam_tensor_release(y);
        return st;
    }
    out->t = y;
    return LAM_OK;
}

const lam__module_ops lam__td_ops = {
    .type_name = "TransformerDecoder",
    .py_module = "torch.nn.modules.transformer",
    .forward_multi = td_forward_multi,
    .destroy = te_destroy,
};

LAM_API lam_status lam_transformer_decoder_create(lam_module **out, lam_module *decoder_layer,
                                                  int64_t num_layers, lam_module *norm)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    LAM__CHECK_ARG(decoder_layer);
    return stack_create(&lam__td_ops, &lam__tdl_ops, out, decoder_layer, num_layers, norm);
}

/* ---- Transformer ---- */

typedef struct tf_state {
    int64_t d_model, nhead;
    bool batch_first;
    unsigned unknown; /* LAM__HID_BATCH_FIRST when a model file did not give it */
} tf_state;

static void tf_destroy(lam_module *m) { free(m->state); }

/* A child's forward(*items) through the call machinery (so a custom
 * encoder or decoder runs too, and errors carry its path); items[i] NULL:
 * None.  A tensor result in *y. */
static lam_status call_child(lam_module *m, const char *name, size_t n,
                             const lam_tensor *const *items, lam_tensor **y)
{
    *y = NULL;
    lam_module *c = lam_module_child(m, name);
    if (!c)
        return lam__error(LAM_ERR_RUNTIME, "Transformer: no %s", name);
    lam_tuple *t = NULL;
    lam_status st = lam_tuple_create(&t, n);
    for (size_t i = 0; i < n && !st; i++)
        if (items[i])
            st = lam_tuple_set_tensor(t, i, (lam_tensor *)items[i]);
    lam__val v = {0};
    if (!st)
        st = lam__call_forward_multi(c, LAM__NO_INDEX, t, NULL, &v);
    lam_tuple_release(t);
    if (!st && !v.t)
        st = lam__error(LAM_ERR_TYPE, "Transformer: %s returned %s, not a Tensor", name,
                        lam__val_kind(&v));
    if (st) {
        lam__val_clear(&v);
        return st;
    }
    *y = v.t;
    return LAM_OK;
}

/* PyTorch 1.13's forward(src, tgt, src_mask=None, tgt_mask=None,
 * memory_mask=None, src_key_padding_mask=None, tgt_key_padding_mask=None,
 * memory_key_padding_mask=None): memory = encoder(src, mask=src_mask,
 * src_key_padding_mask=...), then decoder(tgt, memory, tgt_mask,
 * memory_mask, tgt_key_padding_mask, memory_key_padding_mask). */
static lam_status tf_forward_multi(lam_module *m, const lam_tuple *in, void *args, lam__val *out)
{
    (void)args;
    const tf_state *s = m->state;
    if (s->unknown)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "Transformer(d_model=%" PRId64 "): batch_first is not known (PyTorch's "
                          "repr does not print it): %s",
                          s->d_model, LAM__HID_HOW);
    if (in->n < 2)
        return in->n == 0
                   ? lam__error(LAM_ERR_TYPE, "Transformer.forward() missing 2 required "
                                              "positional arguments: 'src' and 'tgt'")
                   : lam__error(LAM_ERR_TYPE, "Transformer.forward() missing 1 required "
                                              "positional argument: 'tgt'");
    if (in->n > 8)
        return lam__error(LAM_ERR_TYPE,
                          "Transformer.forward() takes from 3 to 9 positional arguments but %zu "
                          "were given",
                          in->n + 1);
    const lam_tensor *a[8] = {NULL};
    static const char *const names[8] = {"src", "tgt", "src_mask", "tgt_mask", "memory_mask",
                                         "src_key_padding_mask", "tgt_key_padding_mask",
                                         "memory_key_padding_mask"};
    for (size_t i = 0; i < in->n; i++) {
        if (in->items[i].tup || (i < 2 && !in->items[i].t))
            return lam__error(LAM_ERR_TYPE, "Transformer: %s must be a Tensor%s, not %s",
                              names[i], i < 2 ? "" : " or None", lam__val_kind(&in->items[i]));
        a[i] = in->items[i].t;
    }
    lam_status st = lam__check_f32("Transformer", "src", a[0]);
    if (!st)
        st = lam__check_f32("Transformer", "tgt", a[1]);
    if (st)
        return st;
    const lam_tensor *src = a[0], *tgt = a[1];
    const bool batched = src->ndim == 3;
    if (batched && tgt->ndim >= 2 &&
        src->shape[s->batch_first ? 0 : 1] != tgt->shape[s->batch_first ? 0 : 1])
        return lam__error(LAM_ERR_SHAPE, "the batch number of src and tgt must be equal");
    if (src->ndim < 1 || tgt->ndim < 1 || src->shape[src->ndim - 1] != s->d_model ||
        tgt->shape[tgt->ndim - 1] != s->d_model)
        return lam__error(LAM_ERR_SHAPE,
                          "the feature number of src and tgt must be equal to d_model");
    lam_tensor *memory = NULL, *y = NULL;
    const lam_tensor *enc[3] = {src, a[2], a[5]};
    st = call_child(m, "encoder", 3, enc, &memory);
    if (st)
        return st;
    const lam_tensor *dec[6] = {tgt, memory, a[3], a[4], a[6], a[7]};
    st = call_child(m, "decoder", 6, dec, &y);
    lam_tensor_release(memory);
    if (st)
        return st;
    out->t = y;
    return LAM_OK;
}

const lam__module_ops lam__tf_ops = {
    .type_name = "Transformer",
    .py_module = "torch.nn.modules.transformer",
    .forward_multi = tf_forward_multi,
    .destroy = tf_destroy,
};

/* xavier_uniform_ of a weight of 2 or more dims (PyTorch's fans: dim 1 x
 * the receptive field, dim 0 x the receptive field) */
static void xavier_uniform(lam_tensor *w)
{
    int64_t rf = 1;
    for (int i = 2; i < w->ndim; i++)
        rf *= w->shape[i];
    const double fan_in = (double)(w->shape[1] * rf), fan_out = (double)(w->shape[0] * rf);
    float a = (float)sqrt(6.0 / (fan_in + fan_out));
    lam__rand_uniform(w->data, (size_t)w->numel, -a, a);
}

static lam_status tf_reset_parameters(lam_module *m)
{
    lam_state_dict *ps = NULL;
    lam_status st = lam_module_named_parameters(m, true, true, &ps);
    for (size_t i = 0; !st && i < lam_state_dict_len(ps); i++) {
        lam_tensor *p = (lam_tensor *)lam_state_dict_tensor(ps, i);
        if (p->ndim > 1 && p->numel) {
            xavier_uniform(p);
            lam_tensor_mark_modified(p);
        }
    }
    lam_state_dict_free(ps);
    return st;
}

LAM_API lam_status lam_transformer_create(lam_module **out, int64_t d_model, int64_t nhead,
                                          int64_t num_encoder_layers, int64_t num_decoder_layers,
                                          int64_t dim_feedforward, double dropout,
                                          const char *activation, lam_module *custom_encoder,
                                          lam_module *custom_decoder, double layer_norm_eps,
                                          bool batch_first, bool norm_first)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    tf_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom("Transformer");
    s->d_model = d_model, s->nhead = nhead, s->batch_first = batch_first;
    lam_module *m = NULL;
    lam_status st = lam__module_new(&m, &lam__tf_ops, s);
    if (st) {
        free(s);
        return st;
    }
    for (int dec = 0; dec < 2 && !st; dec++) {
        lam_module *custom = dec ? custom_decoder : custom_encoder, *part = custom;
        if (!custom) {
            lam_module *layer = NULL, *norm = NULL;
            int64_t shape[1] = {d_model};
            st = (dec ? lam_transformer_decoder_layer_create : lam_transformer_encoder_layer_create)(
                &layer, d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                batch_first, norm_first);
            if (!st)
                st = lam_layer_norm_create(&norm, 1, shape, layer_norm_eps, true);
            if (!st)
                st = (dec ? lam_transformer_decoder_create : lam_transformer_encoder_create)(
                    &part, layer, dec ? num_decoder_layers : num_encoder_layers, norm);
            lam_module_release(layer);
            lam_module_release(norm);
        }
        if (!st)
            st = lam_module_add_child(m, dec ? "decoder" : "encoder", part);
        if (!custom)
            lam_module_release(part);
    }
    if (!st)
        st = tf_reset_parameters(m);
    if (st) {
        lam_module_release(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}

LAM_API lam_status lam_transformer_generate_square_subsequent_mask(lam_tensor **out, int64_t sz)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    if (sz < 0)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "Trying to create tensor with negative dimension %" PRId64 ": [%" PRId64
                          ", %" PRId64 "]",
                          sz, sz, sz);
    int64_t shape[2] = {sz, sz};
    lam_status st = lam_tensor_create(out, 2, shape);
    if (st)
        return st;
    float *d = (*out)->data;
    for (int64_t i = 0; i < sz; i++)
        for (int64_t j = 0; j < sz; j++)
            d[i * sz + j] = j > i ? -INFINITY : 0.0f;
    return LAM_OK;
}

/* ---- modules a model file fills with its children ---- */

lam_status lam__te_shell(bool decoder, lam_module **out)
{
    return lam__module_new(out, decoder ? &lam__td_ops : &lam__te_ops, NULL);
}

lam_status lam__tf_shell(lam_module **out, int64_t d_model, int64_t nhead, bool batch_first)
{
    tf_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom("Transformer");
    s->d_model = d_model, s->nhead = nhead, s->batch_first = batch_first;
    lam_status st = lam__module_new(out, &lam__tf_ops, s);
    if (st)
        free(s);
    return st;
}

void lam__tf_hidden(const lam_module *m, lam__hidden *h)
{
    const tf_state *s = m->state;
    memset(h, 0, sizeof *h);
    h->takes = LAM__HID_NUM_HEADS | LAM__HID_BATCH_FIRST;
    h->known = h->takes & ~s->unknown;
    h->num_heads = s->nhead;
    h->batch_first = s->batch_first;
}

lam_status lam__tf_set_hidden(lam_module *m, const lam__hidden *v, unsigned which)
{
    tf_state *s = m->state;
    if ((which & LAM__HID_NUM_HEADS) && v->num_heads <= 0)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "Transformer: nhead must be positive");
    if (which & LAM__HID_NUM_HEADS)
        s->nhead = v->num_heads;
    if (which & LAM__HID_BATCH_FIRST)
        s->batch_first = v->batch_first;
    s->unknown &= ~which;
    return LAM_OK;
}

void lam__tf_forget(lam_module *m, unsigned which)
{
    tf_state *s = m->state;
    s->unknown |= which & LAM__HID_BATCH_FIRST;
}
