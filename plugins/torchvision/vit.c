/* Vision Transformer (torchvision/models/vision_transformer.py):
 * VisionTransformer, Encoder, EncoderBlock and MLPBlock.
 *
 * What the printed form leaves out:
 *   - VisionTransformer's class_token ([1, 1, hidden_dim]) and its
 *     encoder's pos_embedding ([1, (image_size / patch)^2 + 1, hidden_dim])
 *     are parameters repr never shows: VisionTransformer's bind declares
 *     them once its children are in, hidden_dim and the patch size read from
 *     conv_proj's weight.  image_size is not printed either: it is the
 *     VisionTransformer(image_size=N) argument written before the children
 *     (lamina-export writes it), 224 (torchvision's vit_* default) when not
 *     written; the input must be image_size x image_size, as torchvision
 *     asserts.
 *   - the attention's num_heads and batch_first: MultiheadAttention's own
 *     rule (docs/model-format.md §1.7: written in its call, or --set);
 *     when the file gives neither, EncoderBlock's bind makes the attention
 *     as torchvision does, batch_first with the vit_* builders' num_heads
 *     for its hidden_dim (768: 12, 1024: 16, 1280: 16).
 * MLPBlock is an nn.Sequential subclass (torchvision.ops.MLP) that adds no
 * forward. */
#include "tv.h"
#include <stdio.h>

/* ---- EncoderBlock ---- */

/* x = input + dropout(self_attention(ln_1(input)));  x + mlp(ln_2(x)) */
static lam_status encoder_block(tv_ctx *c, tv_val *x)
{
    if (x->nd != 3)
        return c->h->error(LAM_ERR_SHAPE,
                           "EncoderBlock: Expected (batch_size, seq_length, hidden_dim) got a "
                           "%d-d input", x->nd);
    tv_val in;
    tv_copy(c, x, &in);
    lam_status st = tv_chain(c, "ln_1 self_attention dropout", x);
    if (!st)
        st = tv_add(c, x, &in);
    tv_drop(c, &in);
    if (st)
        return st;
    tv_val y;
    tv_copy(c, x, &y);
    st = tv_chain(c, "ln_2 mlp", &y);
    if (!st)
        st = tv_add(c, x, &y);
    tv_drop(c, &y);
    return st;
}

TV_CONTAINER(encoder_block)

/* torchvision's vit_* builders tie num_heads to hidden_dim */
static int64_t vit_default_heads(int64_t hidden_dim)
{
    switch (hidden_dim) {
    case 768: return 12;  /* vit_b_16, vit_b_32 */
    case 1024: return 16; /* vit_l_16, vit_l_32 */
    case 1280: return 16; /* vit_h_14 */
    default: return 0;
    }
}

/* A self_attention whose num_heads or batch_first the model file does not
 * give (print(model) shows neither) gets them as EncoderBlock.__init__
 * makes it: batch_first=True and the vit_* builders' num_heads for its
 * hidden_dim.  What the file gives is kept, and --set still replaces these
 * (host->attention_default_args).  Other sizes keep num_heads unknown: the
 * attention's message says how to give it. */
static lam_status encoder_block_bind(const lam_host_api *h, lam_module *self)
{
    lam_module *a = h->module_child(self, "self_attention");
    if (!a || strcmp(h->module_type_name(a), "MultiheadAttention"))
        return h->error(LAM_ERR_INVALID_ARGUMENT,
                        "EncoderBlock: expected a child 'self_attention' (MultiheadAttention)");
    if (!LAM_HOST_HAS(h, attention_default_args))
        return LAM_OK;
    lam_module *op = h->module_child(a, "out_proj");
    lam_tensor *w = op ? h->module_param(op, "weight") : NULL;
    if (!w || h->tensor_ndim(w) != 2)
        return LAM_OK; /* the attention's own checks speak */
    const int64_t E = h->tensor_shape(w)[0], heads = vit_default_heads(E);
    return h->attention_default_args(a, heads, true); /* heads 0: batch_first only */
}

static const lam_layer_type encoder_block_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "EncoderBlock",
    .py_module = "torchvision.models.vision_transformer",
    .doc = "x = input + dropout(self_attention(ln_1(input))); x + mlp(ln_2(x))",
    .create = tv_create_plain,
    .output_shape = encoder_block_shape,
    .forward = encoder_block_forward,
    .bind = encoder_block_bind,
};

TV_SEQUENTIAL(mlp_block_type, "MLPBlock");

/* ---- Encoder ---- */

/* ln(layers(dropout(input + pos_embedding))) */
static lam_status encoder(tv_ctx *c, tv_val *x)
{
    lam_tensor *pos = c->h->module_param(c->self, "pos_embedding");
    if (!pos)
        return c->h->error(LAM_ERR_RUNTIME,
                           "Encoder: no parameter 'pos_embedding' (the VisionTransformer it is "
                           "in declares it, sized from its image_size)");
    const int64_t *ps = c->h->tensor_shape(pos);
    if (x->nd != 3 || x->s[1] != ps[1] || x->s[2] != ps[2]) {
        char a[96], b[96];
        return c->h->error(LAM_ERR_SHAPE,
                           "Encoder: input %s does not match pos_embedding %s (batch_size, "
                           "seq_length, hidden_dim)",
                           c->h->shape_str(x->nd, x->s, a, sizeof a),
                           c->h->shape_str(3, ps, b, sizeof b));
    }
    if (!c->shape_only) {
        lam_tensor *r = NULL;
        lam_status st = c->h->ops->add(&r, x->t, pos);
        if (st)
            return st;
        c->h->tensor_release(x->t);
        x->t = r;
    }
    return tv_chain(c, "dropout layers ln", x);
}

TV_CONTAINER(encoder)

static const lam_layer_type encoder_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "Encoder",
    .py_module = "torchvision.models.vision_transformer",
    .doc = "ln(layers(dropout(input + pos_embedding)))",
    .create = tv_create_plain,
    .output_shape = encoder_shape,
    .forward = encoder_forward,
};

/* ---- VisionTransformer ---- */

typedef struct vit_state {
    int64_t image_size;
} vit_state;

static const lam_arg_spec vit_args[] = {
    {.name = "image_size", .type = LAM_ARG_INT, .flags = LAM_ARG_POSITIVE,
     .default_value = LAM_DEFAULT_INT(224)},
};

static lam_status vit_create(const lam_host_api *h, const lam_layer_type *type,
                             const lam_value *args, lam_module **out)
{
    vit_state *s = h->alloc(sizeof *s);
    if (!s)
        return h->error(LAM_ERR_NO_MEMORY, "VisionTransformer: out of memory");
    s->image_size = args[0].i;
    lam_status st = h->module_new(out, type, s);
    if (st)
        h->free(s);
    return st;
}

static void vit_destroy(const lam_host_api *h, void *state) { h->free(state); }

/* conv_proj's weight: [hidden_dim, C, patch, patch] */
static lam_status vit_dims(const lam_host_api *h, const lam_module *self, int64_t *hidden,
                           int64_t *patch)
{
    lam_module *conv = h->module_child(self, "conv_proj");
    lam_tensor *w = conv ? h->module_param(conv, "weight") : NULL;
    if (!w || h->tensor_ndim(w) != 4)
        return h->error(LAM_ERR_INVALID_ARGUMENT,
                        "VisionTransformer: expected a child 'conv_proj' (a Conv2d whose weight "
                        "gives hidden_dim and the patch size)");
    *hidden = h->tensor_shape(w)[0];
    *patch = h->tensor_shape(w)[2];
    return LAM_OK;
}

static lam_status vit(tv_ctx *c, tv_val *x)
{
    const lam_host_api *h = c->h;
    const vit_state *s = h->module_state(c->self);
    int64_t E, p;
    lam_status st = vit_dims(h, c->self, &E, &p);
    if (st)
        return st;
    lam_tensor *cls = h->module_param(c->self, "class_token");
    if (!cls)
        return h->error(LAM_ERR_RUNTIME, "VisionTransformer: no parameter 'class_token' (it is "
                        "declared when the model's children are in: lam_module_bind)");
    if (x->nd != 4 || x->s[2] != s->image_size || x->s[3] != s->image_size) {
        char b[96];
        return h->error(LAM_ERR_SHAPE,
                        "VisionTransformer: expected an input (N, C, %lld, %lld) (image_size=%lld, "
                        "write VisionTransformer(image_size=N) for another), got %s",
                        (long long)s->image_size, (long long)s->image_size,
                        (long long)s->image_size, h->shape_str(x->nd, x->s, b, sizeof b));
    }
    const int64_t n = x->s[0];
    if ((st = tv_call(c, "conv_proj", x)))
        return st;
    if (x->nd != 4 || x->s[1] != E)
        return h->error(LAM_ERR_SHAPE, "VisionTransformer: conv_proj gave a %d-d output", x->nd);
    const int64_t S = x->s[2] * x->s[3];
    if (c->shape_only) {
        x->nd = 3;
        x->s[0] = n;
        x->s[1] = S + 1;
        x->s[2] = E;
    } else {
        /* cat([class_token.expand(n, -1, -1), x.reshape(n, E, S).permute(0, 2, 1)], 1),
         * the expand as x[:, :1] * 0 + class_token: host ops, whose outputs
         * come from the plan's pools */
        int64_t v3[3] = {n, E, S}, shape[3] = {n, S + 1, E};
        static const int perm[3] = {0, 2, 1};
        lam_tensor *a = NULL, *b = NULL, *t1 = NULL, *t2 = NULL, *cl = NULL, *r = NULL;
        st = h->ops->view(&a, x->t, 3, v3);
        if (!st)
            st = h->ops->permute(&b, a, 3, perm);
        if (!st)
            st = h->ops->narrow(&t1, b, 1, 0, 1);
        if (!st)
            st = h->ops->mul_scalar(&t2, t1, 0.0);
        if (!st)
            st = h->ops->add(&cl, t2, cls);
        if (!st) {
            const lam_tensor *parts[2] = {cl, b};
            st = h->ops->cat(&r, 2, parts, 1);
        }
        lam_tensor *tmp[5] = {a, b, t1, t2, cl};
        for (int i = 0; i < 5; i++)
            if (tmp[i])
                h->tensor_release(tmp[i]);
        if (st)
            return st;
        h->tensor_release(x->t);
        x->t = r;
        x->nd = 3;
        memcpy(x->s, shape, sizeof shape);
    }
    if ((st = tv_call(c, "encoder", x)))
        return st;
    if (x->nd != 3)
        return h->error(LAM_ERR_SHAPE, "VisionTransformer: encoder gave a %d-d output", x->nd);
    /* x[:, 0] */
    if (c->shape_only) {
        x->nd = 2;
        x->s[1] = x->s[2];
    } else {
        lam_tensor *a = NULL, *b = NULL;
        int64_t shape[2] = {x->s[0], x->s[2]};
        st = h->ops->narrow(&a, x->t, 1, 0, 1);
        if (!st)
            st = h->ops->contiguous(&b, a);
        h->tensor_release(a);
        a = NULL;
        if (!st)
            st = h->ops->view(&a, b, 2, shape);
        h->tensor_release(b);
        if (st)
            return st;
        h->tensor_release(x->t);
        x->t = a;
        x->nd = 2;
        memcpy(x->s, shape, sizeof shape);
    }
    return tv_call(c, "heads", x);
}

TV_CONTAINER(vit)

/* class_token [1, 1, hidden_dim] on the model and pos_embedding
 * [1, (image_size / patch)^2 + 1, hidden_dim] on its encoder, as
 * VisionTransformer.__init__ and Encoder.__init__ make them. */
static lam_status vit_bind(const lam_host_api *h, lam_module *self)
{
    const vit_state *s = h->module_state(self);
    int64_t E, p;
    lam_status st = vit_dims(h, self, &E, &p);
    if (st)
        return st;
    if (s->image_size % p)
        return h->error(LAM_ERR_INVALID_ARGUMENT,
                        "VisionTransformer: Input shape indivisible by patch size! (image_size "
                        "%lld, patch %lld)", (long long)s->image_size, (long long)p);
    lam_module *enc = h->module_child(self, "encoder");
    if (!enc || strcmp(h->module_type_name(enc), "Encoder"))
        return h->error(LAM_ERR_INVALID_ARGUMENT,
                        "VisionTransformer: expected a child 'encoder' of type Encoder");
    int64_t seq = (s->image_size / p) * (s->image_size / p) + 1;
    if (!h->module_param(self, "class_token")) {
        int64_t shape[3] = {1, 1, E};
        if ((st = h->module_add_param(self, "class_token", 3, shape, NULL)))
            return st;
    }
    lam_tensor *pos = h->module_param(enc, "pos_embedding");
    if (pos) {
        const int64_t *ps = h->tensor_shape(pos);
        if (ps[1] != seq || ps[2] != E)
            return h->error(LAM_ERR_INVALID_ARGUMENT,
                            "VisionTransformer: its encoder's pos_embedding is [1, %lld, %lld], "
                            "image_size %lld with patch %lld needs [1, %lld, %lld]",
                            (long long)ps[1], (long long)ps[2], (long long)s->image_size,
                            (long long)p, (long long)seq, (long long)E);
        return LAM_OK;
    }
    int64_t shape[3] = {1, seq, E};
    return h->module_add_param(enc, "pos_embedding", 3, shape, NULL);
}

/* prints image_size only when it is not the default: torchvision prints
 * "VisionTransformer(" with nothing before the children */
static int vit_repr(const lam_host_api *h, const lam_module *self, char *buf, size_t size)
{
    const vit_state *s = h->module_state(self);
    if (s->image_size == 224)
        return snprintf(buf, size, "%s", "");
    return snprintf(buf, size, "image_size=%lld", (long long)s->image_size);
}

static const lam_layer_type vit_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "VisionTransformer",
    .py_module = "torchvision.models.vision_transformer",
    .doc = "conv_proj, class token, encoder (with pos_embedding), x[:, 0], heads",
    .args = vit_args,
    .n_args = TV_COUNT(vit_args),
    .create = vit_create,
    .output_shape = vit_shape,
    .forward = vit_forward,
    .extra_repr = vit_repr,
    .destroy = vit_destroy,
    .bind = vit_bind,
};

static const lam_layer_type *const types[] = {&encoder_block_type, &mlp_block_type, &encoder_type,
                                              &vit_type};
const tv_family tv_vit_family = {types, TV_COUNT(types)};
