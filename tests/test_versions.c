/* Versions of tensors and modules (include/lamina/tensor.h, plan.h):
 *  - every documented way of changing a parameter is seen by the next
 *    forward, by cached plans and by plans made before the change
 *    (expected values computed here in double precision);
 *  - replacing a parameter that a layer declares checks its shape. */
#include <criterion/criterion.h>
#include <lamina/lamina.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define OK(call)                                                                                   \
    do {                                                                                           \
        lam_status st_ = (call);                                                                   \
        cr_assert(st_ == LAM_OK, "%s -> %s: %s", #call, lam_status_str(st_), lam_last_error());   \
    } while (0)

static void setup(void) { lam_manual_seed(7); }
TestSuite(versions, .init = setup);
TestSuite(param_shapes, .init = setup);

/* m's own parameter `name` (borrowed: the module holds it) */
static lam_tensor *param_of(lam_module *m, const char *name)
{
    lam_state_dict *sd;
    OK(lam_module_named_parameters(m, false, false, &sd));
    lam_tensor *t = lam_state_dict_get(sd, name);
    cr_assert(t != NULL, "no parameter %s", name);
    lam_state_dict_free(sd);
    return t;
}

static lam_tensor *tensor_of(int ndim, const int64_t *shape, const float *data)
{
    lam_tensor *t;
    OK(lam_tensor_from_data(&t, ndim, shape, data));
    return t;
}

/* ================= (A) every way of changing a weight is seen ================= */

enum { K = 4, H = 3, O = 2, R = 8 };

/* Sequential(Linear(4, 3), ReLU(), Linear(3, 2)) with the weights the test
 * set (`w1`.. mirror them), a plan made for 8 rows (fused where the kernels
 * can: Linear-ReLU into one epilogue, the pair into one kernel) and an input */
typedef struct net {
    lam_module *l1, *l2, *seq;
    lam_plan *plan;
    lam_tensor *x, *x1, *y;
    float w1[H * K], b1[H], w2[O * H], b2[O];
} net;

static void net_init(net *n)
{
    memset(n, 0, sizeof *n);
    lam_module *relu;
    OK(lam_linear_create(&n->l1, K, H, true));
    OK(lam_relu_create(&relu));
    OK(lam_linear_create(&n->l2, H, O, true));
    lam_module *mods[3] = {n->l1, relu, n->l2};
    OK(lam_sequential_create(&n->seq, 3, mods));
    lam_module_release(relu);
    for (int i = 0; i < H * K; i++)
        n->w1[i] = 1.0f;
    for (int i = 0; i < H; i++)
        n->b1[i] = 0.25f * (float)i;
    for (int i = 0; i < O * H; i++)
        n->w2[i] = 0.5f - 0.25f * (float)i;
    for (int i = 0; i < O; i++)
        n->b2[i] = 0.125f;
    /* fresh tensors (version 0, as the weights the Linear packed at creation) */
    int64_t ws1[2] = {H, K}, bs1 = H, ws2[2] = {O, H}, bs2 = O;
    lam_tensor *t[4] = {tensor_of(2, ws1, n->w1), tensor_of(1, &bs1, n->b1),
                        tensor_of(2, ws2, n->w2), tensor_of(1, &bs2, n->b2)};
    OK(lam_module_register_parameter(n->l1, "weight", t[0]));
    OK(lam_module_register_parameter(n->l1, "bias", t[1]));
    OK(lam_module_register_parameter(n->l2, "weight", t[2]));
    OK(lam_module_register_parameter(n->l2, "bias", t[3]));
    for (int i = 0; i < 4; i++)
        lam_tensor_release(t[i]);
    int64_t xs[2] = {R, K}, x1s[2] = {1, K}, ys[2] = {R, O};
    float xd[R * K];
    for (int i = 0; i < R * K; i++)
        xd[i] = 0.1f * (float)(i % 7) - 0.2f;
    n->x = tensor_of(2, xs, xd);
    n->x1 = tensor_of(2, x1s, xd);
    OK(lam_tensor_create(&n->y, 2, ys));
    OK(lam_plan_create(&n->plan, n->seq, 2, xs));
}

static void net_free(net *n)
{
    lam_plan_free(n->plan);
    lam_tensor_release(n->x);
    lam_tensor_release(n->x1);
    lam_tensor_release(n->y);
    lam_module_release(n->l1);
    lam_module_release(n->l2);
    lam_module_release(n->seq);
}

static void expect_near(const float *got, const double *want, int count, const char *what)
{
    for (int i = 0; i < count; i++)
        cr_expect(fabs(got[i] - want[i]) <= 1e-5 + 1e-5 * fabs(want[i]), "%s: [%d] %.8g, expected %.8g",
                  what, i, (double)got[i], want[i]);
}

/* The first Linear alone, the whole model through lam_module_forward (a
 * cached plan) and through the plan made before the change: all must
 * compute with n->w1.. as they are now. */
static void net_check(net *n, const char *what)
{
    const float *x = lam_tensor_cdata(n->x);
    double h[R * H], y[R * O];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < H; j++) {
            double s = n->b1[j];
            for (int k = 0; k < K; k++)
                s += (double)x[r * K + k] * n->w1[j * K + k];
            h[r * H + j] = s;
        }
    lam_tensor *out;
    OK(lam_module_forward(n->l1, n->x1, &out));
    expect_near(lam_tensor_cdata(out), h, H, what);
    lam_tensor_release(out);
    for (int r = 0; r < R; r++)
        for (int o = 0; o < O; o++) {
            double s = n->b2[o];
            for (int j = 0; j < H; j++)
                s += (h[r * H + j] > 0 ? h[r * H + j] : 0.0) * n->w2[o * H + j];
            y[r * O + o] = s;
        }
    for (int rep = 0; rep < 2; rep++) { /* the second forward reuses the cached plan */
        OK(lam_module_forward(n->seq, n->x, &out));
        expect_near(lam_tensor_cdata(out), y, R * O, what);
        lam_tensor_release(out);
    }
    OK(lam_plan_run(n->plan, n->x, n->y));
    expect_near(lam_tensor_cdata(n->y), y, R * O, what);
}

/* The case: a weight replaced after a forward by a tensor whose
 * version happens to equal the old one's (both fresh). */
Test(versions, replaced_parameter_is_seen)
{
    net n;
    net_init(&n);
    net_check(&n, "before");
    n.w1[0] = 11.0f;
    n.b1[2] = -3.0f;
    int64_t ws[2] = {H, K}, bs = H;
    lam_tensor *w = tensor_of(2, ws, n.w1), *b = tensor_of(1, &bs, n.b1);
    OK(lam_module_register_parameter(n.l1, "weight", w));
    OK(lam_module_register_parameter(n.l1, "bias", b));
    lam_tensor_release(w);
    lam_tensor_release(b);
    net_check(&n, "replaced weight and bias");
    /* and the second Linear (the fused pair's second half) */
    n.w2[1] = -7.0f;
    int64_t ws2[2] = {O, H};
    w = tensor_of(2, ws2, n.w2);
    OK(lam_module_register_parameter(n.l2, "weight", w));
    lam_tensor_release(w);
    net_check(&n, "replaced second weight");
    net_free(&n);
}

/* lam_tensor_data counts as a write when it is called; a pointer kept from
 * before a forward needs lam_tensor_mark_modified after writing. */
Test(versions, old_pointer_then_mark_modified)
{
    net n;
    net_init(&n);
    lam_tensor *w = param_of(n.l1, "weight");
    float *p = lam_tensor_data(w);
    net_check(&n, "before");
    uint64_t v = lam_tensor_version(w);
    p[0] = 11.0f;
    n.w1[0] = 11.0f;
    lam_tensor_mark_modified(w);
    cr_expect_gt(lam_tensor_version(w), v);
    net_check(&n, "old pointer + mark_modified");
    /* lam_tensor_data again does the same */
    p[5] = -4.0f;
    n.w1[5] = -4.0f;
    (void)lam_tensor_data(w);
    net_check(&n, "old pointer + lam_tensor_data");
    net_free(&n);
}

/* A view shares its storage's version: writes through it are writes to the
 * weight (lam_tensor_data, _set and _copy on the view). */
Test(versions, writes_through_views)
{
    net n;
    net_init(&n);
    lam_tensor *w = param_of(n.l1, "weight"), *v, *vv;
    int64_t flat = H * K, rows[2] = {2, H * K / 2};
    OK(lam_tensor_reshape(&v, w, 1, &flat));
    OK(lam_tensor_reshape(&vv, v, 2, rows));
    net_check(&n, "before");
    lam_tensor_data(v)[0] = 11.0f;
    n.w1[0] = 11.0f;
    cr_expect_eq(lam_tensor_version(v), lam_tensor_version(w));
    cr_expect_eq(lam_tensor_version(vv), lam_tensor_version(w));
    net_check(&n, "lam_tensor_data of a view");
    OK(lam_tensor_set(v, (int64_t[]){7}, -2.5f));
    n.w1[7] = -2.5f;
    net_check(&n, "lam_tensor_set on a view");
    OK(lam_tensor_set(vv, (int64_t[]){1, 0}, 3.0f));
    n.w1[H * K / 2] = 3.0f;
    net_check(&n, "lam_tensor_set on a view of a view");
    float src[H * K];
    for (int i = 0; i < H * K; i++)
        src[i] = n.w1[i] = 0.5f * (float)(i % 4) - 0.75f;
    lam_tensor *s = tensor_of(1, &flat, src);
    OK(lam_tensor_copy(v, s));
    net_check(&n, "lam_tensor_copy into a view");
    /* a write to the weight is seen through the view's version too */
    uint64_t before = lam_tensor_version(vv);
    OK(lam_tensor_set(w, (int64_t[]){0, 1}, 1.5f));
    n.w1[1] = 1.5f;
    cr_expect_gt(lam_tensor_version(vv), before);
    net_check(&n, "lam_tensor_set on the weight");
    lam_tensor_release(s);
    lam_tensor_release(vv);
    lam_tensor_release(v);
    net_free(&n);
}

Test(versions, set_and_copy)
{
    net n;
    net_init(&n);
    net_check(&n, "before");
    lam_tensor *w = param_of(n.l1, "weight"), *b = param_of(n.l1, "bias");
    OK(lam_tensor_set(w, (int64_t[]){0, 0}, 11.0f));
    n.w1[0] = 11.0f;
    net_check(&n, "lam_tensor_set");
    OK(lam_tensor_set(b, (int64_t[]){1}, -1.0f));
    n.b1[1] = -1.0f;
    net_check(&n, "lam_tensor_set on the bias");
    for (int i = 0; i < H * K; i++)
        n.w1[i] = (float)(i % 3) - 0.5f;
    int64_t ws[2] = {H, K};
    lam_tensor *s = tensor_of(2, ws, n.w1);
    OK(lam_tensor_copy(w, s));
    net_check(&n, "lam_tensor_copy");
    lam_tensor_release(s);
    net_free(&n);
}

/* Wrapped memory is the caller's: written through the caller's pointer, it
 * is seen after lam_tensor_mark_modified. */
Test(versions, wrapped_weight)
{
    net n;
    net_init(&n);
    float mem[H * K];
    memcpy(mem, n.w1, sizeof mem);
    mem[2] = n.w1[2] = 2.0f;
    lam_tensor *w;
    OK(lam_tensor_wrap(&w, mem, 2, (int64_t[]){H, K}));
    OK(lam_module_register_parameter(n.l1, "weight", w));
    lam_tensor_release(w);
    net_check(&n, "wrapped");
    mem[3] = n.w1[3] = -6.0f;
    lam_tensor_mark_modified(w);
    net_check(&n, "wrapped memory written, then mark_modified");
    net_free(&n);
}

Test(versions, load_state_dict)
{
    net n;
    net_init(&n);
    net_check(&n, "before");
    for (int i = 0; i < H * K; i++)
        n.w1[i] = 0.25f * (float)i - 1.0f;
    for (int i = 0; i < O; i++)
        n.b2[i] = -0.5f * (float)i;
    int64_t ws[2] = {H, K}, bs = O;
    lam_tensor *w = tensor_of(2, ws, n.w1), *b = tensor_of(1, &bs, n.b2);
    lam_state_dict *sd;
    OK(lam_state_dict_create(&sd));
    OK(lam_state_dict_set(sd, "0.weight", w));
    OK(lam_state_dict_set(sd, "2.bias", b));
    OK(lam_module_load_state_dict(n.seq, sd, false, NULL));
    net_check(&n, "load_state_dict");
    lam_state_dict_free(sd);
    lam_tensor_release(w);
    lam_tensor_release(b);
    net_free(&n);
}

/* LAMINA_CHECK_WEIGHTS=1 finds the writes lamina cannot see (each Criterion
 * test runs in its own process; lamina reads the variable once). */
Test(versions, check_mode_finds_unmarked_writes)
{
    setenv("LAMINA_CHECK_WEIGHTS", "1", 1);
    net n;
    net_init(&n);
    lam_tensor *w = param_of(n.l1, "weight");
    float *p = lam_tensor_data(w);
    net_check(&n, "before");
    p[0] = 11.0f;
    n.w1[0] = 11.0f;
    lam_tensor *out = NULL;
    cr_expect_eq(lam_module_forward(n.l1, n.x1, &out), LAM_ERR_RUNTIME);
    cr_expect_str_eq(lam_last_error(),
                     "Linear(in_features=4, out_features=3): the weight's values changed but its "
                     "version did not (written through an old lam_tensor_data pointer or into "
                     "wrapped memory); call lam_tensor_mark_modified on the weight after writing "
                     "it (found by LAMINA_CHECK_WEIGHTS)");
    cr_expect_eq(lam_module_forward(n.seq, n.x, &out), LAM_ERR_RUNTIME);
    cr_expect(strstr(lam_last_error(), "Sequential[0] Linear(in_features=4, out_features=3): the "
                                       "weight's values changed") == lam_last_error(),
              "got: %s", lam_last_error());
    cr_expect_eq(lam_plan_run(n.plan, n.x, n.y), LAM_ERR_RUNTIME);
    cr_expect(strstr(lam_last_error(), "Sequential[0] Linear(") == lam_last_error(), "got: %s",
              lam_last_error());
    lam_tensor_mark_modified(w);
    net_check(&n, "after mark_modified");
    net_free(&n);
}

/* ================= (B) replacing a declared parameter checks its shape ================= */

Test(param_shapes, linear)
{
    lam_module *lin;
    OK(lam_linear_create(&lin, 64, 64, true));
    int64_t one = 1, w_bad[2] = {64, 63}, flat = 64 * 64;
    lam_tensor *t;
    OK(lam_tensor_create(&t, 1, &one));
    cr_expect_eq(lam_module_register_parameter(lin, "bias", t), LAM_ERR_SHAPE);
    cr_expect_str_eq(lam_last_error(),
                     "Linear(in_features=64, out_features=64, bias=True): size mismatch for bias: "
                     "registering a param with shape torch.Size([1]), the shape in current model "
                     "is torch.Size([64]).");
    lam_tensor_release(t);
    OK(lam_tensor_create(&t, 2, w_bad));
    cr_expect_eq(lam_module_register_parameter(lin, "weight", t), LAM_ERR_SHAPE);
    cr_expect(strstr(lam_last_error(), "size mismatch for weight: registering a param with shape "
                                       "torch.Size([64, 63]), the shape in current model is "
                                       "torch.Size([64, 64])."),
              "got: %s", lam_last_error());
    lam_tensor_release(t);
    OK(lam_tensor_create(&t, 1, &flat)); /* as many elements, another shape */
    cr_expect_eq(lam_module_register_parameter(lin, "weight", t), LAM_ERR_SHAPE);
    lam_tensor_release(t);
    /* the module is unchanged and runs (this read 64 floats of a 1-float bias) */
    int64_t xs[2] = {3, 64};
    lam_tensor *x, *y;
    OK(lam_tensor_create(&x, 2, xs));
    OK(lam_module_forward(lin, x, &y));
    const float *b = lam_tensor_cdata(param_of(lin, "bias"));
    for (int i = 0; i < 3 * 64; i++)
        cr_expect_eq(lam_tensor_cdata(y)[i], b[i % 64]);
    lam_tensor_release(y);
    /* parameters that are not the layer's own may have any shape (PyTorch) */
    OK(lam_tensor_create(&t, 1, &one));
    OK(lam_module_register_parameter(lin, "extra", t));
    lam_tensor_release(t);
    OK(lam_tensor_create(&t, 2, w_bad));
    OK(lam_module_register_parameter(lin, "extra", t));
    lam_tensor_release(t);
    lam_tensor_release(x);
    lam_module_release(lin);
}

Test(param_shapes, layer_norm)
{
    lam_module *ln;
    int64_t shape = 8, four = 4, bad[2] = {8, 1};
    OK(lam_layer_norm_create(&ln, 1, &shape, 1e-5, true));
    lam_tensor *t;
    OK(lam_tensor_create(&t, 1, &four));
    cr_expect_eq(lam_module_register_parameter(ln, "weight", t), LAM_ERR_SHAPE);
    cr_expect_str_eq(lam_last_error(),
                     "LayerNorm((8,), eps=1e-05, elementwise_affine=True): size mismatch for "
                     "weight: registering a param with shape torch.Size([4]), the shape in current "
                     "model is torch.Size([8]).");
    lam_tensor_release(t);
    OK(lam_tensor_create(&t, 2, bad));
    cr_expect_eq(lam_module_register_parameter(ln, "bias", t), LAM_ERR_SHAPE);
    lam_tensor_release(t);
    /* the right shape is used by the next forward */
    float g[8], bb[8];
    for (int i = 0; i < 8; i++) {
        g[i] = 2.0f;
        bb[i] = (float)i;
    }
    lam_tensor *gt = tensor_of(1, &shape, g), *bt = tensor_of(1, &shape, bb);
    OK(lam_module_register_parameter(ln, "weight", gt));
    OK(lam_module_register_parameter(ln, "bias", bt));
    int64_t xs[2] = {1, 8};
    float xd[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    lam_tensor *x = tensor_of(2, xs, xd), *y;
    OK(lam_module_forward(ln, x, &y));
    double mean = 4.5, var = 0;
    for (int i = 0; i < 8; i++)
        var += (xd[i] - mean) * (xd[i] - mean) / 8.0;
    for (int i = 0; i < 8; i++) {
        double want = (xd[i] - mean) / sqrt(var + 1e-5) * 2.0 + i;
        cr_expect(fabs(lam_tensor_cdata(y)[i] - want) < 1e-5, "[%d] %g vs %g", i,
                  (double)lam_tensor_cdata(y)[i], want);
    }
    lam_tensor_release(x);
    lam_tensor_release(y);
    lam_tensor_release(gt);
    lam_tensor_release(bt);
    lam_module_release(ln);
}

static lam_status copy_fwd(lam_module *self, const lam_tensor *in, void *args, lam_tensor **out)
{
    (void)self, (void)args;
    return lam_tensor_clone(out, in);
}

/* A custom module's parameters are the user's: any shape, as in PyTorch. */
Test(param_shapes, custom_module_params_are_free)
{
    lam_custom_spec spec = {.type_name = "Mine", .forward = copy_fwd};
    lam_module *m;
    OK(lam_custom_create(&m, &spec));
    int64_t three = 3, five = 5;
    lam_tensor *a, *b;
    OK(lam_tensor_create(&a, 1, &three));
    OK(lam_tensor_create(&b, 1, &five));
    OK(lam_module_register_parameter(m, "w", a));
    OK(lam_module_register_parameter(m, "w", b));
    cr_expect_eq(param_of(m, "w"), b);
    lam_tensor_release(a);
    lam_tensor_release(b);
    lam_module_release(m);
}
