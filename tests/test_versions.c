/* Versions of tensors and modules (include/lamina/tensor.h, plan.h):
 *  - every documented way of changing a parameter is seen by the next
 *    forward, by cached plans and by plans made before the change
 *    (expected values computed here in double precision);
 *  - replacing a parameter that a layer declares checks its shape;
 *  - a plan is valid while the modules it was made from are unchanged: a
 *    change to one model never touches another model's plans, every change
 *    inside a model is seen by its plans (shared children included). */
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
TestSuite(plan_validity, .init = setup);

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

/* ================= (C) plans are valid per model ================= */

static lam_module *linear(int64_t in, int64_t out)
{
    lam_module *m;
    OK(lam_linear_create(&m, in, out, true));
    return m;
}

static lam_module *relu(void)
{
    lam_module *m;
    OK(lam_relu_create(&m));
    return m;
}

static lam_module *tanh_(void)
{
    lam_module *m;
    OK(lam_tanh_create(&m));
    return m;
}

/* Sequential from n new references (released here) */
static lam_module *seq_of(size_t n, lam_module **mods)
{
    lam_module *s;
    OK(lam_sequential_create(&s, n, mods));
    for (size_t i = 0; i < n; i++)
        lam_module_release(mods[i]);
    return s;
}

static lam_tensor *input(int64_t rows, int64_t cols, unsigned seed)
{
    int64_t shape[2] = {rows, cols};
    lam_tensor *t;
    OK(lam_tensor_create(&t, 2, shape));
    float *d = lam_tensor_data(t);
    for (int64_t i = 0; i < rows * cols; i++)
        d[i] = (float)sin(0.37 * (double)(i + 1) * (seed + 1)) * 1.5f;
    return t;
}

/* The model's children one by one through lam_module_forward: the reference
 * a planned forward must equal bit for bit. */
static lam_tensor *child_by_child(lam_module *m, const lam_tensor *x)
{
    lam_tensor *cur;
    OK(lam_tensor_clone(&cur, x));
    for (size_t i = 0; i < lam_module_num_children(m); i++) {
        lam_tensor *next;
        OK(lam_module_forward(lam_module_child_at(m, i, NULL), cur, &next));
        lam_tensor_release(cur);
        cur = next;
    }
    return cur;
}

static bool same_bits(const lam_tensor *a, const lam_tensor *b)
{
    return lam_tensor_same_shape(a, b) &&
           memcmp(lam_tensor_cdata(a), lam_tensor_cdata(b),
                  (size_t)lam_tensor_numel(a) * sizeof(float)) == 0;
}

/* A model, its plan for `x` and the plan's first output. */
typedef struct planned {
    lam_module *m;
    lam_tensor *x, *ref, *out;
    lam_plan *plan;
} planned;

static void plan_model(planned *p, lam_module *m, int64_t rows, int64_t cols, unsigned seed)
{
    p->m = m;
    p->x = input(rows, cols, seed);
    OK(lam_plan_create(&p->plan, m, 2, lam_tensor_shape(p->x)));
    int nd;
    int64_t os[LAM_MAX_DIMS];
    OK(lam_plan_output_shape(p->plan, &nd, os));
    OK(lam_tensor_create(&p->out, nd, os));
    OK(lam_plan_run(p->plan, p->x, p->out));
    OK(lam_tensor_clone(&p->ref, p->out));
    lam_tensor *f;
    OK(lam_module_forward(m, p->x, &f));
    cr_assert(same_bits(f, p->ref), "forward and plan differ");
    lam_tensor_release(f);
}

static void unplan(planned *p)
{
    lam_plan_free(p->plan);
    lam_tensor_release(p->x);
    lam_tensor_release(p->ref);
    lam_tensor_release(p->out);
    lam_module_release(p->m);
    memset(p, 0, sizeof *p);
}

/* p's model did not change: its plan runs and gives the same bits, and so
 * does its forward */
static void expect_untouched(planned *p, const char *what)
{
    cr_expect_eq(lam_plan_run(p->plan, p->x, p->out), LAM_OK, "%s: %s", what, lam_last_error());
    cr_expect(same_bits(p->out, p->ref), "%s: plan output changed", what);
    lam_tensor *f;
    OK(lam_module_forward(p->m, p->x, &f));
    cr_expect(same_bits(f, p->ref), "%s: forward output changed", what);
    lam_tensor_release(f);
}

/* p's model changed its structure or mode: its plan says so; its forward
 * (a new cached plan) equals the child-by-child reference */
static void expect_stale(planned *p, const char *what)
{
    cr_expect_eq(lam_plan_run(p->plan, p->x, p->out), LAM_ERR_RUNTIME, "%s: the plan ran", what);
    cr_expect(strstr(lam_last_error(), "make a new plan") != NULL, "%s: %s", what,
              lam_last_error());
    cr_expect(strncmp(lam_last_error(), "plan run: ", 10) == 0, "%s: %s", what, lam_last_error());
    lam_tensor *f, *want = child_by_child(p->m, p->x);
    OK(lam_module_forward(p->m, p->x, &f));
    cr_expect(same_bits(f, want), "%s: forward differs from child by child", what);
    lam_tensor_release(f);
    lam_tensor_release(want);
}

/* p's model's parameters changed: the old plan computes with the new ones */
static void expect_new_values(planned *p, const char *what)
{
    lam_tensor *want = child_by_child(p->m, p->x), *f;
    cr_expect(!same_bits(want, p->ref), "%s: the change changed nothing", what);
    cr_expect_eq(lam_plan_run(p->plan, p->x, p->out), LAM_OK, "%s: %s", what, lam_last_error());
    cr_expect(same_bits(p->out, want), "%s: the plan computed with the old values", what);
    OK(lam_module_forward(p->m, p->x, &f));
    cr_expect(same_bits(f, want), "%s: forward computed with the old values", what);
    lam_tensor_release(f);
    lam_tensor_release(want);
}

/* The case: two unrelated models in one process. */
Test(plan_validity, another_model_does_not_touch_a_plan)
{
    planned a;
    plan_model(&a, seq_of(4, (lam_module *[]){linear(10, 50), relu(), linear(50, 2), tanh_()}), 1,
               10, 1);
    lam_module *b = seq_of(3, (lam_module *[]){linear(6, 8), relu(), linear(8, 3)});
    expect_untouched(&a, "after building B");
    lam_module_eval(b);
    expect_untouched(&a, "after B.eval()");
    lam_tensor *x = input(2, 6, 3), *y;
    OK(lam_module_forward(b, x, &y));
    lam_tensor_release(y);
    lam_module *r = relu();
    OK(lam_container_append(b, r));
    lam_module_release(r);
    expect_untouched(&a, "after changing B");
    lam_tensor_release(x);
    lam_module_release(b);
    expect_untouched(&a, "after freeing B");
    unplan(&a);
}

/* 10 models: Sequential(Linear(6, h), ReLU(), Sequential(Linear(h, 5), Tanh())),
 * models 8 and 9 ending in one shared Linear(5, 5). */
enum { N_MODELS = 10, N_CHANGES = 9 };

static void build_ten(planned *p, lam_module **shared)
{
    *shared = linear(5, 5);
    for (int i = 0; i < N_MODELS; i++) {
        int64_t h = 3 + i;
        lam_module *inner = seq_of(2, (lam_module *[]){linear(h, 5), tanh_()});
        lam_module *m = seq_of(3, (lam_module *[]){linear(6, h), relu(), inner});
        if (i >= 8)
            OK(lam_container_append(m, *shared));
        plan_model(&p[i], m, 1 + 7 * i, 6, (unsigned)i);
    }
}

/* A Linear's weight replaced by a new tensor (every value + 0.5) */
static void replace_weight(lam_module *lin)
{
    lam_tensor *w;
    OK(lam_tensor_clone(&w, param_of(lin, "weight")));
    float *d = lam_tensor_data(w);
    for (int64_t i = 0; i < lam_tensor_numel(w); i++)
        d[i] += 0.5f;
    OK(lam_module_register_parameter(lin, "weight", w));
    lam_tensor_release(w);
}

static const char *const change_names[N_CHANGES] = {
    "child replaced", "child appended", "child deleted", "child inserted", "eval()",
    "nested child replaced", "parameter replaced", "state_dict loaded", "bias written"};

/* Apply change k to p's model; true when it changes structure or mode
 * (the plan must refuse), false when it changes parameter values (the plan
 * must compute with them). */
static bool apply_change(planned *p, int k)
{
    lam_module *m = p->m, *inner = lam_module_child(m, "2"), *lin = lam_module_child(inner, "0");
    switch (k) {
    case 0: {
        lam_module *r = relu();
        OK(lam_container_set(m, 1, r));
        lam_module_release(r);
        return true;
    }
    case 1: {
        lam_module *r = relu();
        OK(lam_container_append(m, r));
        lam_module_release(r);
        return true;
    }
    case 2: OK(lam_container_delete(m, 1)); return true;
    case 3: {
        lam_module *id;
        OK(lam_identity_create(&id));
        OK(lam_container_insert(m, 0, id));
        lam_module_release(id);
        return true;
    }
    case 4: lam_module_eval(m); return true;
    case 5: {
        lam_module *r = relu();
        OK(lam_container_set(inner, 1, r));
        lam_module_release(r);
        return true;
    }
    case 6: replace_weight(lin); return false;
    case 7: {
        lam_state_dict *sd, *fresh;
        OK(lam_module_state_dict(m, &sd));
        OK(lam_state_dict_create(&fresh));
        lam_tensor *b;
        OK(lam_tensor_clone(&b, lam_state_dict_get(sd, "2.0.bias")));
        lam_tensor_data(b)[1] -= 0.5f;
        OK(lam_state_dict_set(fresh, "2.0.bias", b));
        OK(lam_module_load_state_dict(m, fresh, false, NULL));
        lam_tensor_release(b);
        lam_state_dict_free(sd);
        lam_state_dict_free(fresh);
        return false;
    }
    default:
        OK(lam_tensor_set(param_of(lam_module_child(m, "0"), "bias"), (int64_t[]){0}, 10.0f));
        return false;
    }
}

/* Every kind of change to one model is seen by that model's plans and by
 * none of the other nine's, except that eval() on model 8 or 9 changes the
 * mode of the Linear they share, which the other one sees too. */
Test(plan_validity, ten_models_every_change)
{
    for (int i = 0; i < N_MODELS; i++) {
        for (int k = 0; k < N_CHANGES; k++) {
            planned p[N_MODELS];
            lam_module *shared;
            build_ten(p, &shared);
            char what[96];
            snprintf(what, sizeof what, "model %d, %s", i, change_names[k]);
            if (apply_change(&p[i], k))
                expect_stale(&p[i], what);
            else
                expect_new_values(&p[i], what);
            for (int j = 0; j < N_MODELS; j++) {
                char other[128];
                snprintf(other, sizeof other, "model %d after %s", j, what);
                if (k == 4 && i >= 8 && j == 17 - i)
                    expect_stale(&p[j], other);
                else if (j != i)
                    expect_untouched(&p[j], other);
            }
            for (int j = 0; j < N_MODELS; j++)
                unplan(&p[j]);
            lam_module_release(shared);
        }
    }
}

/* One module in two models (PyTorch semantics): a change to it is a change
 * to both; a change to one parent is not a change to the other. */
Test(plan_validity, shared_child)
{
    planned pa, pb;
    lam_module *x = linear(5, 5);
    lam_module *a = seq_of(2, (lam_module *[]){linear(4, 5), lam_module_retain(x)});
    lam_module *b = seq_of(2, (lam_module *[]){lam_module_retain(x), relu()});
    plan_model(&pa, a, 3, 4, 1);
    plan_model(&pb, b, 3, 5, 2);
    /* x's mode changes through b: both plans see it */
    lam_module_eval(b);
    expect_stale(&pa, "a, after b.eval() moved the shared child");
    expect_stale(&pb, "b, after b.eval()");
    lam_module_retain(a), lam_module_retain(b);
    unplan(&pa), unplan(&pb);
    plan_model(&pa, a, 3, 4, 1);
    plan_model(&pb, b, 3, 5, 2);
    /* eval() again changes nothing */
    lam_module_eval(b);
    expect_untouched(&pa, "a, after a second b.eval()");
    expect_untouched(&pb, "b, after a second b.eval()");
    /* x in a third model: x itself is unchanged */
    lam_module *c = seq_of(1, (lam_module *[]){lam_module_retain(x)});
    expect_untouched(&pa, "a, after x joined c");
    /* b's own structure: only b */
    lam_module *r = relu();
    OK(lam_container_set(b, 1, r));
    lam_module_release(r);
    expect_untouched(&pa, "a, after b's child was replaced");
    expect_stale(&pb, "b, after its child was replaced");
    lam_module_retain(b);
    unplan(&pb);
    plan_model(&pb, b, 3, 5, 2);
    /* x's weight: both compute with it */
    replace_weight(x);
    expect_new_values(&pa, "a, after x's weight was replaced");
    expect_new_values(&pb, "b, after x's weight was replaced");
    unplan(&pa);
    unplan(&pb);
    lam_module_release(c);
    lam_module_release(x);
}

/* A plan whose root was changed, and one whose module deep inside was
 * removed and freed: both say so without touching freed memory (ASan). */
Test(plan_validity, removed_and_freed_modules)
{
    planned p;
    lam_module *inner = seq_of(2, (lam_module *[]){linear(4, 4), tanh_()});
    lam_module *m = seq_of(2, (lam_module *[]){inner, linear(4, 2)});
    plan_model(&p, m, 2, 4, 1);
    OK(lam_container_delete(inner, 0)); /* frees the Linear: only inner held it */
    cr_expect_eq(lam_plan_run(p.plan, p.x, p.out), LAM_ERR_RUNTIME);
    cr_expect_str_eq(lam_last_error(),
                     "plan run: Sequential[0] Sequential: its children or its train/eval mode "
                     "changed after the plan was made (the model's structure or mode changed); "
                     "make a new plan");
    OK(lam_container_delete(m, 0)); /* frees inner */
    cr_expect_eq(lam_plan_run(p.plan, p.x, p.out), LAM_ERR_RUNTIME);
    cr_expect_str_eq(lam_last_error(),
                     "plan run: Sequential: its children or its train/eval mode changed after the "
                     "plan was made (the model's structure or mode changed); make a new plan");
    unplan(&p);
}

/* A Sequential that cannot be planned (a custom module inside) runs child
 * by child, and is planned again once it changed into one that can be. */
Test(plan_validity, unplannable_until_changed)
{
    lam_custom_spec spec = {.type_name = "Copy", .forward = copy_fwd};
    lam_module *custom;
    OK(lam_custom_create(&custom, &spec));
    lam_module *inner = seq_of(2, (lam_module *[]){linear(4, 4), custom});
    lam_module *m = seq_of(3, (lam_module *[]){linear(4, 4), inner, tanh_()});
    lam_tensor *x = input(5, 4, 1);
    for (int round = 0; round < 2; round++) {
        lam_tensor *y, *want = child_by_child(m, x);
        for (int rep = 0; rep < 3; rep++) {
            OK(lam_module_forward(m, x, &y));
            cr_expect(same_bits(y, want), "round %d", round);
            lam_tensor_release(y);
        }
        lam_tensor_release(want);
        /* the custom module deep inside becomes a ReLU: plannable now */
        lam_module *r = relu();
        OK(lam_container_set(inner, 1, r));
        lam_module_release(r);
    }
    lam_tensor_release(x);
    lam_module_release(m);
}

static lam_status body_fwd(lam_module *self, const lam_tensor *in, void *args, lam_tensor **out)
{
    (void)args;
    return lam_module_forward(lam_module_child(self, "body"), in, out);
}

/* Errors from a planned forward carry the failing module's path once, as a
 * child-by-child forward would give it. */
Test(plan_validity, planned_errors_are_located_once)
{
    lam_module *inner = seq_of(1, (lam_module *[]){linear(6, 4)});
    lam_module *m = seq_of(2, (lam_module *[]){inner, linear(5, 2)});
    lam_tensor *x = input(2, 7, 1), *y = NULL;
    cr_expect_eq(lam_module_forward(m, x, &y), LAM_ERR_SHAPE);
    cr_expect_str_eq(lam_last_error(), "Sequential[0][0] Linear(in_features=6): input has 7 "
                                       "features, expected 6 (input shape [2, 7])");
    lam_tensor_release(x);
    x = input(2, 6, 1);
    cr_expect_eq(lam_module_forward(m, x, &y), LAM_ERR_SHAPE);
    cr_expect_str_eq(lam_last_error(), "Sequential[1] Linear(in_features=5): input has 4 "
                                       "features, expected 5 (input shape [2, 4])");
    lam_plan *p = NULL;
    cr_expect_eq(lam_plan_create(&p, m, 2, lam_tensor_shape(x)), LAM_ERR_SHAPE);
    cr_expect_str_eq(lam_last_error(), "Sequential[1] Linear(in_features=5): input has 4 "
                                       "features, expected 5 (input shape [2, 4])");
    /* inside a custom forward the path starts at the outermost module */
    lam_custom_spec spec = {.type_name = "Model", .forward = body_fwd};
    lam_module *outer;
    OK(lam_custom_create(&outer, &spec));
    OK(lam_module_add_child(outer, "body", m));
    cr_expect_eq(lam_module_forward(outer, x, &y), LAM_ERR_SHAPE);
    cr_expect_str_eq(lam_last_error(), "Model.body[1] Linear(in_features=5): input has 4 "
                                       "features, expected 5 (input shape [2, 4])");
    cr_expect_null(y);
    lam_tensor_release(x);
    lam_module_release(outer);
    lam_module_release(m);
}

static lam_status body_shape(lam_module *self, int ndim, const int64_t *shape, int *out_ndim,
                             int64_t *out_shape)
{
    return lam_module_output_shape(lam_module_child(self, "body"), ndim, shape, out_ndim,
                                   out_shape);
}

/* A plan of a custom module runs its forward; it depends on everything
 * below it, and on nothing else. */
Test(plan_validity, custom_module_plan)
{
    lam_custom_spec spec = {.type_name = "Model", .forward = body_fwd, .output_shape = body_shape};
    lam_module *m, *body = seq_of(3, (lam_module *[]){linear(4, 6), relu(), linear(6, 3)});
    OK(lam_custom_create(&m, &spec));
    OK(lam_module_add_child(m, "body", body));
    planned p, q;
    plan_model(&p, m, 2, 4, 1);
    lam_module *other = seq_of(2, (lam_module *[]){linear(3, 3), tanh_()});
    lam_module_eval(other);
    expect_untouched(&p, "custom model, after another model's eval()");
    plan_model(&q, other, 2, 3, 2);
    lam_module *r = relu();
    OK(lam_container_set(body, 1, r));
    lam_module_release(r);
    expect_stale(&p, "custom model, after its body's child was replaced");
    expect_untouched(&q, "the other model, after the custom model changed");
    lam_module_release(body);
    unplan(&p);
    unplan(&q);
}

/* The links from a module to the parents that hold it follow every change:
 * a module held twice by one parent and once by another, slots removed,
 * parents freed (ASan: nothing stamps a freed parent). */
Test(plan_validity, parent_links)
{
    lam_module *x = linear(3, 3);
    planned pa, pb;
    lam_module *a = seq_of(2, (lam_module *[]){lam_module_retain(x), relu()});
    lam_module *b;
    OK(lam_container_repeat(a, 2, &b)); /* Sequential(x, relu, x, relu), shared */
    plan_model(&pa, a, 2, 3, 1);
    plan_model(&pb, b, 2, 3, 2);
    OK(lam_container_delete(b, 0)); /* b still holds x once */
    expect_untouched(&pa, "a, after b dropped one of its two x");
    lam_module_retain(b);
    unplan(&pb);
    plan_model(&pb, b, 2, 3, 2);
    lam_module_eval(x);
    expect_stale(&pa, "a, after x.eval()");
    expect_stale(&pb, "b, after x.eval() (x held once more)");
    unplan(&pb); /* frees b */
    lam_module_retain(a);
    unplan(&pa);
    plan_model(&pa, a, 2, 3, 1);
    lam_module_train(x, true); /* stamps x's parents: only a is left */
    expect_stale(&pa, "a, after x.train()");
    OK(lam_container_delete(a, 0));
    lam_module_train(x, false); /* x has no parent now */
    unplan(&pa);
    lam_module_release(x);
}
