/* .lam model files — MultiheadAttention and PyTorch's Transformer types.
 *
 * PyTorch prints these with less than their constructors take:
 * MultiheadAttention shows only its out_proj child, the transformer layers
 * only their children.  So a call is read in one of two forms:
 *
 *   - a constructor call without children, `TransformerEncoderLayer(16, 2,
 *     dim_feedforward=32)`, `TransformerEncoder(TransformerEncoderLayer(16,
 *     2), 3, norm=LayerNorm(16))`: Python's defaults apply, the module is
 *     built as its C constructor builds it;
 *   - the printed form, with children: what the children show is recovered
 *     from them (embed_dim and bias from out_proj, d_model and
 *     dim_feedforward from linear1, d_model of a Transformer from its
 *     layers), the module is built without children and takes the file's;
 *     what they cannot show — num_heads, batch_first, norm_first, activation
 *     — is taken from the arguments written in the call (a superset of the
 *     repr: `MultiheadAttention(embed_dim=16, num_heads=2, batch_first=True`
 *     on the line before `(out_proj): ...`, as lamina-export writes it);
 *     an argument written on a layer or a Transformer also reaches the
 *     modules under it that take it.  What is still not given is marked
 *     unknown: lam_model_set_arg gives it later, lam_model_check_args and
 *     the forward say what is missing and how to give it.
 *
 * kdim, vdim and add_bias_kv, when not written, are read from the weights'
 * keys when they load (lam__model_fit_attention); add_zero_attn and dropout
 * are PyTorch's defaults unless written. */
#include "runtime/model/model_internal.h"
#include "runtime/nn/nn.h"
#include "runtime/layers/layers.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum { T_MHA, T_NDQL, T_TEL, T_TDL, T_TE, T_TD, T_TF, T_COUNT };
static const char *const type_names[T_COUNT] = {
    "MultiheadAttention",      "NonDynamicallyQuantizableLinear", "TransformerEncoderLayer",
    "TransformerDecoderLayer", "TransformerEncoder",              "TransformerDecoder",
    "Transformer",
};

/* PyTorch 1.13's signatures (device and dtype left out) */
#define MAX_ARGS 12
static const char *const sig[T_COUNT][MAX_ARGS + 1] = {
    {"embed_dim", "num_heads", "dropout", "bias", "add_bias_kv", "add_zero_attn", "kdim", "vdim",
     "batch_first", NULL},
    {"in_features", "out_features", "bias", NULL},
    {"d_model", "nhead", "dim_feedforward", "dropout", "activation", "layer_norm_eps",
     "batch_first", "norm_first", NULL},
    {"d_model", "nhead", "dim_feedforward", "dropout", "activation", "layer_norm_eps",
     "batch_first", "norm_first", NULL},
    {"encoder_layer", "num_layers", "norm", "enable_nested_tensor", "mask_check", NULL},
    {"decoder_layer", "num_layers", "norm", NULL},
    {"d_model", "nhead", "num_encoder_layers", "num_decoder_layers", "dim_feedforward", "dropout",
     "activation", "custom_encoder", "custom_decoder", "layer_norm_eps", "batch_first",
     "norm_first", NULL},
};

static int type_index(const char *type)
{
    for (int i = 0; i < T_COUNT; i++)
        if (!strcmp(type, type_names[i]))
            return i;
    return -1;
}

bool lam__model_is_attention_type(const char *type) { return type_index(type) >= 0; }

/* ---- reading a call ---- */

typedef struct call_args {
    lam__builder *B;
    const char *file;
    const char *type;
    int t;
    const lam__item *given[MAX_ARGS]; /* by signature position */
    /* the children listed, built */
    size_t n_children;
    const char *names[32];
    lam_module *children[32];
    lam__pos child_pos[32];
} call_args;

static lam_status bind_args(call_args *A, const lam__node *call)
{
    size_t npos = 0, nsig = 0;
    while (sig[A->t][nsig])
        nsig++;
    for (size_t i = 0; i < call->n_items; i++) {
        const lam__item *it = &call->items[i];
        if (it->kind == ITEM_POSITIONAL) {
            if (npos >= nsig)
                return lam__model_error(LAM_ERR_INVALID_ARGUMENT, A->file, it->pos,
                                        "%s() takes %zu positional arguments but %zu were given",
                                        A->type, nsig, npos + 1);
            A->given[npos++] = it;
        } else if (it->kind == ITEM_KEYWORD) {
            size_t k = 0;
            while (k < nsig && strcmp(sig[A->t][k], it->name))
                k++;
            if (k == nsig)
                return lam__model_error(LAM_ERR_INVALID_ARGUMENT, A->file, it->pos,
                                        "%s: got an unexpected keyword argument '%.60s'", A->type,
                                        it->name);
            if (A->given[k])
                return lam__model_error(LAM_ERR_INVALID_ARGUMENT, A->file, it->pos,
                                        "%s: got multiple values for argument '%s'", A->type,
                                        it->name);
            A->given[k] = it;
        } else if (it->kind == ITEM_RUN) {
            return lam__model_error(LAM_ERR_FORMAT, A->file, it->pos,
                                    "%s: a run of children belongs in a ModuleList", A->type);
        }
    }
    for (size_t i = 0; i < call->n_items; i++) {
        const lam__item *it = &call->items[i];
        if (it->kind != ITEM_CHILD)
            continue;
        if (A->n_children == 32)
            return lam__model_error(LAM_ERR_FORMAT, A->file, it->pos, "%s: too many children",
                                    A->type);
        for (size_t k = 0; k < A->n_children; k++)
            if (!strcmp(A->names[k], it->name))
                return lam__model_error(LAM_ERR_FORMAT, A->file, it->pos,
                                        "%s: duplicate child name '%.60s'", A->type, it->name);
        lam_module *c = NULL;
        lam_status st = lam__model_build_call(A->B, it->value, &c);
        if (st)
            return st;
        A->names[A->n_children] = it->name;
        A->child_pos[A->n_children] = it->pos;
        A->children[A->n_children++] = c;
    }
    return LAM_OK;
}

static int arg_index(const call_args *A, const char *name)
{
    for (int k = 0; sig[A->t][k]; k++)
        if (!strcmp(sig[A->t][k], name))
            return k;
    return -1;
}

static const lam__item *given(const call_args *A, const char *name)
{
    int k = arg_index(A, name);
    return k >= 0 ? A->given[k] : NULL;
}

static lam_status bad(const call_args *A, const lam__item *it, const char *name, const char *what)
{
    return lam__model_error(LAM_ERR_INVALID_ARGUMENT, A->file, it->pos, "%s: %s must be %s",
                            A->type, name, what);
}

/* An argument's value: *v unchanged when not given (or None where allowed). */
static lam_status get_int(const call_args *A, const char *name, bool none_ok, int64_t *v)
{
    const lam__item *it = given(A, name);
    if (!it || (none_ok && it->value->kind == NODE_NONE))
        return LAM_OK;
    if (it->value->kind != NODE_INT || it->value->i <= 0)
        return bad(A, it, name, none_ok ? "a positive integer or None" : "a positive integer");
    *v = it->value->i;
    return LAM_OK;
}

static lam_status get_bool(const call_args *A, const char *name, bool *v)
{
    const lam__item *it = given(A, name);
    if (!it)
        return LAM_OK;
    if (it->value->kind != NODE_BOOL)
        return bad(A, it, name, "True or False");
    *v = it->value->b;
    return LAM_OK;
}

static lam_status get_float(const call_args *A, const char *name, double *v)
{
    const lam__item *it = given(A, name);
    if (!it)
        return LAM_OK;
    if (it->value->kind == NODE_INT)
        *v = (double)it->value->i;
    else if (it->value->kind == NODE_FLOAT)
        *v = it->value->f;
    else
        return bad(A, it, name, "a number");
    return LAM_OK;
}

static lam_status get_act(const call_args *A, bool *gelu)
{
    const lam__item *it = given(A, "activation");
    if (!it)
        return LAM_OK;
    if (it->value->kind != NODE_STRING ||
        (strcmp(it->value->s, "relu") && strcmp(it->value->s, "gelu")))
        return lam__model_error(LAM_ERR_INVALID_ARGUMENT, A->file, it->pos,
                                "activation should be relu/gelu, not %.40s",
                                it->value->kind == NODE_STRING ? it->value->s : "that");
    *gelu = it->value->s[0] == 'g';
    return LAM_OK;
}

/* A module argument (a constructor call), built; NULL when not given / None. */
static lam_status get_module(const call_args *A, const char *name, lam_module **out)
{
    *out = NULL;
    const lam__item *it = given(A, name);
    if (!it || it->value->kind == NODE_NONE)
        return LAM_OK;
    if (it->value->kind != NODE_CALL)
        return bad(A, it, name, "a module");
    return lam__model_build_call(A->B, it->value, out);
}

static lam_module *child(const call_args *A, const char *name)
{
    for (size_t i = 0; i < A->n_children; i++)
        if (!strcmp(A->names[i], name))
            return A->children[i];
    return NULL;
}

static lam_status at_call(const call_args *A, const lam__node *call, lam_status st)
{
    return st ? lam__model_rethrow(st, A->file, call->pos) : LAM_OK;
}

/* The first module under m (m included) with these ops, or NULL. */
static lam_module *find(lam_module *m, const lam__module_ops *ops)
{
    if (m->ops == ops)
        return m;
    for (size_t i = 0; i < m->n_children; i++) {
        lam_module *r = find(m->children[i].module, ops);
        if (r)
            return r;
    }
    return NULL;
}

/* The hidden arguments written in the call reach m and the modules under
 * it (fill: a module that knows another value is an error at the
 * argument); those not written are marked unknown on m where m cannot tell
 * (`forget`, the LAM__HID_* m itself must know). */
static lam_status written_hidden(const call_args *A, lam_module *m, unsigned forget)
{
    static const char *const names[] = {"num_heads", "nhead", "batch_first", "norm_first",
                                        "activation"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const lam__item *it = given(A, names[i]);
        if (!it)
            continue;
        unsigned bit = lam__model_hidden_bit(names[i]);
        lam__hidden v = {0};
        lam_status st = LAM_OK;
        if (bit == LAM__HID_NUM_HEADS)
            st = get_int(A, names[i], false, &v.num_heads);
        else if (bit == LAM__HID_ACTIVATION)
            st = get_act(A, &v.gelu);
        else if (!(st = get_bool(A, names[i], &v.batch_first)))
            v.norm_first = v.batch_first;
        size_t count = 0;
        if (!st)
            st = lam__model_apply_hidden(m, "", bit, &v, true, &count);
        if (st)
            return lam__model_rethrow(st, A->file, it->pos);
        forget &= ~bit;
    }
    if (m->ops == &lam__mha_ops)
        lam__mha_forget(m, forget);
    else if (m->ops == &lam__tf_ops)
        lam__tf_forget(m, forget);
    else if (m->ops == &lam__tel_ops || m->ops == &lam__tdl_ops)
        lam__tel_forget(m, forget);
    return LAM_OK;
}

static lam_status attach_children(call_args *A, lam_module *m)
{
    for (size_t i = 0; i < A->n_children; i++) {
        lam_status st = lam_module_add_child(m, A->names[i], A->children[i]);
        if (st)
            return lam__model_rethrow(st, A->file, A->child_pos[i]);
    }
    return LAM_OK;
}

static lam_status need_child(const call_args *A, const lam__node *call, const char *name,
                             const lam__module_ops *ops, const char *what, lam_module **out)
{
    *out = child(A, name);
    if (!*out || (*out)->ops != ops)
        return lam__model_error(LAM_ERR_INVALID_ARGUMENT, A->file, call->pos,
                                "%s: expected a child (%s): %s, as PyTorch prints it%s%s", A->type,
                                name, what, *out ? ", got " : "",
                                *out ? lam_module_type_name(*out) : "");
    return LAM_OK;
}

/* ---- each type ---- */

static lam_status build_mha(call_args *A, const lam__node *call, lam_module **out)
{
    int64_t E = 0, H = 0, kdim = 0, vdim = 0;
    double dropout = 0.0;
    bool bias = true, bkv = false, zattn = false, bf = false;
    lam_status st = get_int(A, "embed_dim", false, &E);
    if (!st)
        st = get_int(A, "num_heads", false, &H);
    if (!st)
        st = get_float(A, "dropout", &dropout);
    if (!st)
        st = get_bool(A, "bias", &bias);
    if (!st)
        st = get_bool(A, "add_bias_kv", &bkv);
    if (!st)
        st = get_bool(A, "add_zero_attn", &zattn);
    if (!st)
        st = get_int(A, "kdim", true, &kdim);
    if (!st)
        st = get_int(A, "vdim", true, &vdim);
    if (!st)
        st = get_bool(A, "batch_first", &bf);
    if (st)
        return st;
    lam_module *op = NULL;
    if (A->n_children) {
        if ((st = need_child(A, call, "out_proj", &lam__linear_ops,
                             "NonDynamicallyQuantizableLinear(in_features=E, out_features=E)",
                             &op)))
            return st;
        int64_t in, o;
        const float *b;
        lam__linear_info(op, &in, &o, &b);
        if (in != o || (E && E != in))
            return lam__model_error(LAM_ERR_INVALID_ARGUMENT, A->file, call->pos,
                                    "MultiheadAttention: out_proj maps %" PRId64 " -> %" PRId64
                                    " features, expected embed_dim -> embed_dim",
                                    in, o);
        if (given(A, "bias") && bias != (b != NULL))
            return lam__model_error(LAM_ERR_INVALID_ARGUMENT, A->file, given(A, "bias")->pos,
                                    "MultiheadAttention: bias=%s disagrees with out_proj's",
                                    bias ? "True" : "False");
        E = in, bias = b != NULL;
    } else if (!E || !H) {
        return lam__model_error(LAM_ERR_INVALID_ARGUMENT, A->file, call->pos,
                                "MultiheadAttention: missing required argument '%s'",
                                E ? "num_heads" : "embed_dim");
    }
    lam_module *m = NULL;
    st = at_call(A, call,
                 lam_multihead_attention_create(&m, E, H ? H : 1, dropout, bias, bkv, zattn, kdim,
                                                vdim, bf));
    if (st)
        return st;
    /* kdim, vdim, add_bias_kv not written: the weights' keys may tell */
    unsigned kv = given(A, "kdim") || given(A, "vdim") || given(A, "add_bias_kv") ? 0
                                                                                  : LAM__HID_KV;
    if (op && (st = attach_children(A, m)) == LAM_OK)
        st = written_hidden(A, m, LAM__HID_NUM_HEADS | LAM__HID_BATCH_FIRST | kv);
    if (st) {
        lam_module_release(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}

static lam_status build_layer(call_args *A, const lam__node *call, bool dec, lam_module **out)
{
    int64_t d = 0, nhead = 0, ff = 2048;
    double dropout = 0.1, eps = 1e-5;
    bool gelu = false, bf = false, nf = false;
    lam_status st = get_int(A, "d_model", false, &d);
    if (!st)
        st = get_int(A, "nhead", false, &nhead);
    if (!st)
        st = get_int(A, "dim_feedforward", false, &ff);
    if (!st)
        st = get_float(A, "dropout", &dropout);
    if (!st)
        st = get_act(A, &gelu);
    if (!st)
        st = get_float(A, "layer_norm_eps", &eps);
    if (!st)
        st = get_bool(A, "batch_first", &bf);
    if (!st)
        st = get_bool(A, "norm_first", &nf);
    if (st)
        return st;
    const lam__module_ops *ops = dec ? &lam__tdl_ops : &lam__tel_ops;
    lam_module *m = NULL;
    if (!A->n_children) {
        if (!d || !nhead)
            return lam__model_error(LAM_ERR_INVALID_ARGUMENT, A->file, call->pos,
                                    "%s: missing required argument '%s'", A->type,
                                    d ? "nhead" : "d_model");
        st = at_call(A, call,
                     (dec ? lam_transformer_decoder_layer_create
                          : lam_transformer_encoder_layer_create)(&m, d, nhead, ff, dropout,
                                                                  gelu ? "gelu" : "relu", eps, bf,
                                                                  nf));
        if (!st)
            *out = m;
        return st;
    }
    lam_module *l1, *sa, *ca;
    if ((st = need_child(A, call, "linear1", &lam__linear_ops, "Linear(d_model, dim_feedforward)",
                         &l1)) ||
        (st = need_child(A, call, "self_attn", &lam__mha_ops, "MultiheadAttention", &sa)) ||
        (dec && (st = need_child(A, call, "multihead_attn", &lam__mha_ops, "MultiheadAttention",
                                 &ca))))
        return st;
    int64_t in, o;
    const float *b;
    lam__linear_info(l1, &in, &o, &b);
    if (d && d != in)
        return lam__model_error(LAM_ERR_INVALID_ARGUMENT, A->file, given(A, "d_model")->pos,
                                "%s: d_model=%" PRId64 " disagrees with linear1's in_features=%" PRId64,
                                A->type, d, in);
    lam__hidden h;
    lam__mha_hidden(sa, &h);
    /* the record of nhead and batch_first: written, else the attention's */
    if (!nhead)
        nhead = h.num_heads;
    if (!given(A, "batch_first"))
        bf = h.batch_first;
    /* activation given as a module (PyTorch then prints it as a child) */
    unsigned forget = LAM__HID_NORM_FIRST | LAM__HID_ACTIVATION;
    lam_module *ac = child(A, "activation");
    char *ar = ac && !given(A, "activation") ? lam_module_repr(ac) : NULL;
    if (ar && (!strcmp(ar, "ReLU()") || !strcmp(ar, "GELU(approximate='none')")))
        gelu = ar[0] == 'G', forget &= ~LAM__HID_ACTIVATION;
    lam_free(ar);
    st = at_call(A, call,
                 lam__tel_shell(ops, &m, in, nhead, o, dropout, gelu, eps, bf, nf));
    if (!st)
        st = attach_children(A, m);
    if (!st)
        st = written_hidden(A, m, forget);
    if (st) {
        lam_module_release(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}

static lam_status build_stack(call_args *A, const lam__node *call, bool dec, lam_module **out)
{
    int64_t n = -1;
    lam_status st = get_int(A, "num_layers", false, &n);
    if (st)
        return st;
    lam_module *m = NULL;
    if (!A->n_children) {
        lam_module *layer = NULL, *norm = NULL;
        st = get_module(A, dec ? "decoder_layer" : "encoder_layer", &layer);
        if (!st)
            st = get_module(A, "norm", &norm);
        if (!st && (!layer || n < 0))
            st = lam__model_error(LAM_ERR_INVALID_ARGUMENT, A->file, call->pos,
                                  "%s: missing required argument '%s'", A->type,
                                  !layer ? (dec ? "decoder_layer" : "encoder_layer")
                                         : "num_layers");
        if (!st)
            st = at_call(A, call,
                         (dec ? lam_transformer_decoder_create
                              : lam_transformer_encoder_create)(&m, layer, n, norm));
        lam_module_release(layer);
        lam_module_release(norm);
        if (!st)
            *out = m;
        return st;
    }
    lam_module *layers = child(A, "layers");
    if (!layers || !lam_module_is_modulelist(layers))
        return lam__model_error(LAM_ERR_INVALID_ARGUMENT, A->file, call->pos,
                                "%s: expected a child (layers): ModuleList, as PyTorch prints it",
                                A->type);
    if (n >= 0 && (size_t)n != layers->n_children)
        return lam__model_error(LAM_ERR_INVALID_ARGUMENT, A->file, given(A, "num_layers")->pos,
                                "%s: num_layers=%" PRId64 " but layers has %zu", A->type, n,
                                layers->n_children);
    st = at_call(A, call, lam__te_shell(dec, &m));
    if (!st)
        st = attach_children(A, m);
    if (st) {
        lam_module_release(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}

static lam_status build_transformer(call_args *A, const lam__node *call, lam_module **out)
{
    int64_t d = 0, nhead = 8, ne = 6, nd = 6, ff = 2048;
    double dropout = 0.1, eps = 1e-5;
    bool gelu = false, bf = false, nf = false;
    lam_status st = get_int(A, "d_model", false, &d);
    if (!st)
        st = get_int(A, "nhead", false, &nhead);
    if (!st)
        st = get_int(A, "num_encoder_layers", false, &ne);
    if (!st)
        st = get_int(A, "num_decoder_layers", false, &nd);
    if (!st)
        st = get_int(A, "dim_feedforward", false, &ff);
    if (!st)
        st = get_float(A, "dropout", &dropout);
    if (!st)
        st = get_act(A, &gelu);
    if (!st)
        st = get_float(A, "layer_norm_eps", &eps);
    if (!st)
        st = get_bool(A, "batch_first", &bf);
    if (!st)
        st = get_bool(A, "norm_first", &nf);
    if (st)
        return st;
    lam_module *m = NULL;
    if (!A->n_children) {
        lam_module *ce = NULL, *cd = NULL;
        st = get_module(A, "custom_encoder", &ce);
        if (!st)
            st = get_module(A, "custom_decoder", &cd);
        if (!st)
            st = at_call(A, call,
                         lam_transformer_create(&m, d ? d : 512, nhead, ne, nd, ff, dropout,
                                                gelu ? "gelu" : "relu", ce, cd, eps, bf, nf));
        lam_module_release(ce);
        lam_module_release(cd);
        if (!st)
            *out = m;
        return st;
    }
    lam_module *enc = child(A, "encoder"), *dec = child(A, "decoder");
    if (!enc || !dec)
        return lam__model_error(LAM_ERR_INVALID_ARGUMENT, A->file, call->pos,
                                "Transformer: expected children (encoder) and (decoder), as "
                                "PyTorch prints it");
    lam_module *l1 = NULL, *layer = find(enc, &lam__tel_ops);
    if (layer && (l1 = lam_module_child(layer, "linear1")) && l1->ops == &lam__linear_ops) {
        int64_t in, o;
        const float *b;
        lam__linear_info(l1, &in, &o, &b);
        if (d && d != in)
            return lam__model_error(LAM_ERR_INVALID_ARGUMENT, A->file, given(A, "d_model")->pos,
                                    "Transformer: d_model=%" PRId64 " disagrees with the encoder "
                                    "layers' %" PRId64,
                                    d, in);
        d = in;
    }
    if (!d)
        return lam__model_error(LAM_ERR_INVALID_ARGUMENT, A->file, call->pos,
                                "Transformer: cannot tell d_model from the children: write "
                                "Transformer(d_model=...)");
    /* batch_first: written, else known when every attention under it agrees */
    unsigned forget = LAM__HID_BATCH_FIRST;
    lam_module *sa = find(enc, &lam__mha_ops);
    if (sa && !given(A, "batch_first")) {
        lam__hidden h;
        lam__mha_hidden(sa, &h);
        if (h.known & LAM__HID_BATCH_FIRST)
            bf = h.batch_first, forget = 0;
    }
    st = at_call(A, call, lam__tf_shell(&m, d, nhead, bf));
    if (!st)
        st = attach_children(A, m);
    if (!st)
        st = written_hidden(A, m, forget);
    if (st) {
        lam_module_release(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}

lam_status lam__model_build_attention(lam__builder *B, const lam__node *call, const char *type,
                                      lam_module **out)
{
    *out = NULL;
    call_args A = {.B = B, .file = lam__model_builder_file(B), .type = type,
                   .t = type_index(type)};
    lam_status st;
    if (A.t == T_NDQL) { /* a Linear under MultiheadAttention's name for it */
        lam__node lin = *call;
        lin.s = "Linear";
        st = lam__model_build_call(B, &lin, out);
        if (!st)
            (*out)->type_name = type_names[T_NDQL];
        return st;
    }
    st = bind_args(&A, call);
    if (!st && A.n_children && A.t == T_TF && (given(&A, "custom_encoder") ||
                                               given(&A, "custom_decoder")))
        st = lam__model_error(LAM_ERR_INVALID_ARGUMENT, A.file, call->pos,
                              "Transformer: custom_encoder / custom_decoder go with no children "
                              "listed");
    if (!st) {
        switch (A.t) {
        case T_MHA: st = build_mha(&A, call, out); break;
        case T_TEL: st = build_layer(&A, call, false, out); break;
        case T_TDL: st = build_layer(&A, call, true, out); break;
        case T_TE: st = build_stack(&A, call, false, out); break;
        case T_TD: st = build_stack(&A, call, true, out); break;
        default: st = build_transformer(&A, call, out); break;
        }
    }
    for (size_t i = 0; i < A.n_children; i++)
        lam_module_release(A.children[i]);
    return st;
}
