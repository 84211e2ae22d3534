/* RNN (tanh, relu), LSTM (proj_size too) and GRU against PyTorch 1.13
 * (fixtures under tests/fixtures/rnn/ from tools/gen-fixtures.py's gen_rnn:
 * num_layers 1-3, bidirectional, batch_first both ways, proj_size, bias
 * False, odd sizes, sequence length 1, batch 1, unbatched input, initial
 * states given or not, dropout in eval).
 *
 * Per case: the module parsed from its constructor text and from PyTorch's
 * repr prints that repr byte for byte and has PyTorch's parameter names in
 * order; with PyTorch's weights, lam_rnn_forward gives output, h_n and c_n
 * within the fixture tolerance of PyTorch's float64 forward (initial
 * states as the fixture gives them); lam_module_forward gives the same bits
 * as lam_rnn_forward from zero states; results do not depend on the thread
 * count.  Then PyTorch's messages for bad constructor arguments, inputs and
 * states, initialisation, training-mode dropout, and larger layers on 1, 2
 * and 5 threads (the parallel step path) giving the same bits.
 * tests/max-isa.sh runs all of it under every kernel table. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
static void teardown(void) { __lsan_do_recoverable_leak_check(); }
#else
static void teardown(void) {}
#endif
TestSuite(rnn, .fini = teardown);

struct rnn_case {
    char name[40];
};

#define MAX_CASES 64

ParameterizedTestParameters(rnn, matches_pytorch)
{
    static struct rnn_case cases[MAX_CASES];
    size_t n = 0;
    fx_file *fx = fx_open("rnn/cases.txt");
    if (fx) {
        const char *const *items;
        long k = fx_list(fx, "cases", &items);
        for (long i = 0; i < k && n < MAX_CASES; i++, n++)
            snprintf(cases[n].name, sizeof cases[n].name, "%s", items[i]);
        fx_close(fx);
    }
    if (n == 0)
        snprintf(cases[n++].name, sizeof cases[0].name, "cases-list-missing");
    return cr_make_param_array(struct rnn_case, cases, n);
}

static lam_module *parse(const char *text)
{
    lam_module *m = NULL;
    ASSERT_OK(lam_model_parse(text, strlen(text), "<case>", &m));
    lam_module_eval(m);
    return m;
}

static void expect_repr(lam_module *m, const char *want, const char *what, const char *name)
{
    char *r = lam_module_repr(m);
    cr_expect(r && strcmp(r, want) == 0, "%s (%s): repr\n  got  %s\n  want %s", name, what,
              r ? r : "(null)", want);
    lam_free(r);
}

static bool same_bits(const lam_tensor *a, const lam_tensor *b)
{
    return a && b && lam_tensor_same_shape(a, b) &&
           memcmp(lam_tensor_cdata(a), lam_tensor_cdata(b),
                  (size_t)lam_tensor_numel(a) * sizeof(float)) == 0;
}

static void expect_close(const lam_tensor *got, const fx_tensor *want, const char *what,
                         const char *name)
{
    char msg[512];
    cr_assert_not_null(got, "%s: no %s", name, what);
    cr_expect(fx_tensor_close(got, want, msg, sizeof msg), "%s: %s: %s", name, what, msg);
}

ParameterizedTest(struct rnn_case *c, rnn, matches_pytorch)
{
    char path[96], msg[512];
    snprintf(path, sizeof path, "rnn/%s.txt", c->name);
    fx_file *fx = FX_OPEN(path);
    const char *want = fx_text(fx, "repr");
    cr_assert_not_null(want);
    lam_module *m = parse(fx_text(fx, "ctor")), *p = parse(want);
    expect_repr(m, want, "parsed constructor", c->name);
    expect_repr(p, want, "parsed repr", c->name);

    lam_state_dict *names = NULL;
    ASSERT_OK(lam_module_named_parameters(m, true, true, &names));
    cr_expect(fx_keys_equal(names, fx, "params", msg, sizeof msg), "%s: %s", c->name, msg);
    lam_state_dict_free(names);

    /* the weights load after the constructor packed its own: a repack */
    lam_state_dict *sd = fx_state_dict(fx);
    ASSERT_OK(lam_module_load_state_dict(m, sd, true, NULL));
    lam_state_dict_free(sd);

    lam_tensor *x = fx_lam_tensor(fx, "input"), *h0 = fx_lam_tensor(fx, "h0"),
               *c0 = fx_lam_tensor(fx, "c0"), *x_copy = NULL;
    cr_assert_not_null(x);
    ASSERT_OK(lam_tensor_clone(&x_copy, x));
    const fx_tensor *ey = fx_get_tensor(fx, "output"), *eh = fx_get_tensor(fx, "h_n"),
                    *ec = fx_get_tensor(fx, "c_n");
    cr_assert(ey && eh);
    bool lstm = ec != NULL;

    lam_tensor *y = NULL, *hn = NULL, *cn = NULL;
    ASSERT_OK(lam_rnn_forward(m, x, h0, c0, &y, &hn, &cn));
    expect_close(y, ey, "output", c->name);
    expect_close(hn, eh, "h_n", c->name);
    if (lstm)
        expect_close(cn, ec, "c_n", c->name);
    else
        cr_expect_null(cn, "%s: c_n of a layer without cell state", c->name);
    cr_expect(memcmp(lam_tensor_cdata(x), lam_tensor_cdata(x_copy),
                     (size_t)lam_tensor_numel(x) * sizeof(float)) == 0,
              "%s: forward modified its input", c->name);

    /* PyTorch's forward(input, hx) through lam_module_forward_multi: the
     * tuple (output, h_n), for LSTM (output, (h_n, c_n)), against PyTorch's
     * numbers */
    {
        lam_tuple *args = NULL, *hx = NULL, *res = NULL;
        lam_tensor *single = NULL;
        ASSERT_OK(lam_tuple_create(&args, h0 ? 2 : 1));
        ASSERT_OK(lam_tuple_set_tensor(args, 0, x));
        if (h0 && lstm) {
            ASSERT_OK(lam_tuple_create(&hx, 2));
            ASSERT_OK(lam_tuple_set_tensor(hx, 0, h0));
            ASSERT_OK(lam_tuple_set_tensor(hx, 1, c0));
            ASSERT_OK(lam_tuple_set_tuple(args, 1, hx));
        } else if (h0) {
            ASSERT_OK(lam_tuple_set_tensor(args, 1, h0));
        }
        ASSERT_OK(lam_module_forward_multi(m, args, NULL, &single, &res));
        cr_assert_null(single, "%s: forward_multi gave a tensor, not a tuple", c->name);
        cr_assert_not_null(res);
        cr_assert_eq(lam_tuple_len(res), 2, "%s: tuple length", c->name);
        expect_close(lam_tuple_tensor(res, 0), ey, "tuple output", c->name);
        if (lstm) {
            lam_tuple *st = lam_tuple_tuple(res, 1);
            cr_assert_not_null(st, "%s: (h_n, c_n) is not a tuple", c->name);
            expect_close(lam_tuple_tensor(st, 0), eh, "tuple h_n", c->name);
            expect_close(lam_tuple_tensor(st, 1), ec, "tuple c_n", c->name);
        } else {
            expect_close(lam_tuple_tensor(res, 1), eh, "tuple h_n", c->name);
        }
        lam_tuple_release(res);
        lam_tuple_release(hx);
        lam_tuple_release(args);
    }

    /* the module's forward: output from zero states, as lam_rnn_forward */
    lam_tensor *yz = NULL, *ym = NULL, *ym2 = NULL;
    ASSERT_OK(lam_rnn_forward(m, x, NULL, NULL, &yz, NULL, NULL));
    ASSERT_OK(lam_module_forward(m, x, &ym));
    ASSERT_OK(lam_module_forward(m, x, &ym2));
    cr_expect(same_bits(yz, ym) && same_bits(ym, ym2),
              "%s: the module's forward differs from lam_rnn_forward", c->name);
    if (!h0)
        cr_expect(same_bits(y, ym), "%s: zero states given differ from none", c->name);
    int ond = 0;
    int64_t oshape[LAM_MAX_DIMS] = {0};
    ASSERT_OK(lam_module_output_shape(m, lam_tensor_ndim(x), lam_tensor_shape(x), &ond, oshape));
    cr_expect(ond == ey->ndim && memcmp(oshape, ey->shape, sizeof(int64_t) * (size_t)ond) == 0,
              "%s: output_shape", c->name);

    /* thread counts */
    int threads = lam_get_num_threads();
    for (int k = 1; k <= 3; k += 2) {
        lam_tensor *yt = NULL, *ht = NULL, *ct = NULL;
        lam_set_num_threads(k);
        ASSERT_OK(lam_rnn_forward(m, x, h0, c0, &yt, &ht, &ct));
        cr_expect(same_bits(y, yt) && same_bits(hn, ht) && (!lstm || same_bits(cn, ct)),
                  "%s: results differ on %d threads", c->name, k);
        lam_tensor_release(yt);
        lam_tensor_release(ht);
        lam_tensor_release(ct);
    }
    lam_set_num_threads(threads);

    lam_tensor_release(ym2);
    lam_tensor_release(ym);
    lam_tensor_release(yz);
    lam_tensor_release(y);
    lam_tensor_release(hn);
    lam_tensor_release(cn);
    lam_tensor_release(x_copy);
    lam_tensor_release(x);
    lam_tensor_release(h0);
    lam_tensor_release(c0);
    lam_module_release(p);
    lam_module_release(m);
    fx_close(fx);
}

/* ---- PyTorch's errors ---------------------------------------------------- */

static void shape_of(const char *s, int *nd, int64_t *shape)
{
    *nd = 0;
    char *end;
    while (*s) {
        shape[(*nd)++] = strtoll(s, &end, 10);
        s = end;
        while (*s == ' ')
            s++;
    }
}

static lam_tensor *zeros(const char *s)
{
    if (strcmp(s, "-") == 0)
        return NULL;
    int nd;
    int64_t shape[LAM_MAX_DIMS];
    shape_of(s, &nd, shape);
    lam_tensor *t = NULL;
    ASSERT_OK(lam_tensor_create(&t, nd, shape));
    return t;
}

Test(rnn, constructor_errors_are_pytorchs)
{
    fx_file *fx = FX_OPEN("rnn/errors.txt");
    const char *const *ctors, *const *msgs;
    long n = fx_list(fx, "ctor_errors", &ctors);
    cr_assert(n > 0 && fx_list(fx, "ctor_messages", &msgs) == n);
    for (long i = 0; i < n; i++) {
        lam_module *m = NULL;
        lam_clear_error();
        lam_status st = lam_model_parse(ctors[i], strlen(ctors[i]), "<case>", &m);
        cr_expect_neq(st, LAM_OK, "%s was accepted", ctors[i]);
        cr_expect(strstr(lam_last_error(), msgs[i]) != NULL, "%s: \"%s\" lacks \"%s\"",
                  ctors[i], lam_last_error(), msgs[i]);
        lam_module_release(m);
    }
    fx_close(fx);
    /* the C constructors say the same */
    lam_module *m = NULL;
    EXPECT_FAIL(lam_rnn_create(&m, 4, 5, 1, "gelu", true, false, 0.0, false),
                LAM_ERR_INVALID_ARGUMENT, "Unknown nonlinearity 'gelu'");
    EXPECT_FAIL(lam_lstm_create(&m, 4, 5, 1, true, false, 0.0, false, 5),
                LAM_ERR_INVALID_ARGUMENT, "proj_size has to be smaller than hidden_size");
    EXPECT_FAIL(lam_gru_create(&m, 4, 5, 0, true, false, 0.0, false), LAM_ERR_INVALID_ARGUMENT,
                "num_layers must be at least 1");
    EXPECT_FAIL(lam_gru_create(&m, 4, 5, 1, true, false, NAN, false), LAM_ERR_INVALID_ARGUMENT,
                "dropout should be a number in range [0, 1]");
    cr_expect_null(m);
}

Test(rnn, forward_errors_are_pytorchs)
{
    fx_file *fx = FX_OPEN("rnn/errors.txt");
    const char *const *ctors, *const *shapes, *const *msgs;
    long n = fx_list(fx, "forward_errors", &ctors);
    cr_assert(n > 0 && fx_list(fx, "forward_shapes", &shapes) == n &&
              fx_list(fx, "forward_messages", &msgs) == n);
    for (long i = 0; i < n; i++) {
        lam_module *m = parse(ctors[i]);
        lam_tensor *x = zeros(shapes[i]), *y = NULL, *h = NULL;
        EXPECT_FAIL(lam_module_forward(m, x, &y), LAM_ERR_SHAPE, msgs[i]);
        EXPECT_FAIL(lam_rnn_forward(m, x, NULL, NULL, &y, &h, NULL), LAM_ERR_SHAPE, msgs[i]);
        cr_expect_null(y);
        lam_tensor_release(x);
        lam_module_release(m);
    }
    long k = fx_list(fx, "state_errors", &ctors);
    const char *const *in, *const *h0s, *const *c0s;
    cr_assert(k > 0 && fx_list(fx, "state_input", &in) == k && fx_list(fx, "state_h0", &h0s) == k &&
              fx_list(fx, "state_c0", &c0s) == k && fx_list(fx, "state_messages", &msgs) == k);
    for (long i = 0; i < k; i++) {
        lam_module *m = parse(ctors[i]);
        lam_tensor *x = zeros(in[i]), *h0 = zeros(h0s[i]), *c0 = zeros(c0s[i]), *y = NULL;
        EXPECT_FAIL(lam_rnn_forward(m, x, h0, c0, &y, NULL, NULL), LAM_ERR_SHAPE, msgs[i]);
        cr_expect_null(y);
        lam_tensor_release(x);
        lam_tensor_release(h0);
        lam_tensor_release(c0);
        lam_module_release(m);
    }
    fx_close(fx);
    /* not a recurrent layer; a cell state for a GRU */
    lam_module *lin = TH_MAKE(lam_linear_create, 3, 3, true), *gru = parse("GRU(3, 4)");
    lam_tensor *x = zeros("2 1 3"), *c0 = zeros("1 1 4"), *y = NULL;
    EXPECT_FAIL(lam_rnn_forward(lin, x, NULL, NULL, &y, NULL, NULL), LAM_ERR_INVALID_ARGUMENT,
                "not an RNN, LSTM or GRU");
    EXPECT_FAIL(lam_rnn_forward(gru, x, NULL, c0, &y, NULL, NULL), LAM_ERR_INVALID_ARGUMENT,
                "GRU has no cell state");
    lam_tensor_release(x);
    lam_tensor_release(c0);
    lam_module_release(lin);
    lam_module_release(gru);
}

/* A Sequential passes the layer's tuple on, as PyTorch's does: alone it
 * returns (output, (h_n, c_n)); before a Linear it is PyTorch's TypeError
 * with the module path.  A wrong hx is refused. */
Test(rnn, sequential_passes_the_tuple_on)
{
    lam_module *lstm, *lin, *seq1, *seq2;
    ASSERT_OK(lam_lstm_create(&lstm, 3, 4, 1, true, false, 0.0, false, 0));
    ASSERT_OK(lam_linear_create(&lin, 4, 2, true));
    ASSERT_OK(lam_sequential_create(&seq1, 1, &lstm));
    lam_module *both[2] = {lstm, lin};
    ASSERT_OK(lam_sequential_create(&seq2, 2, both));
    lam_tensor *x = zeros("5 2 3"), *y = NULL;
    lam_tuple *args = NULL, *res = NULL;
    ASSERT_OK(lam_tuple_create(&args, 1));
    ASSERT_OK(lam_tuple_set_tensor(args, 0, x));
    ASSERT_OK(lam_module_forward_multi(seq1, args, NULL, &y, &res));
    cr_assert_null(y);
    cr_assert_eq(lam_tuple_len(res), 2);
    cr_assert_not_null(lam_tuple_tensor(res, 0));
    cr_assert_not_null(lam_tuple_tuple(res, 1));
    lam_tuple_release(res);
    res = NULL;
    EXPECT_FAIL(lam_module_forward_multi(seq2, args, NULL, &y, &res), LAM_ERR_TYPE,
                "Sequential[1] linear(): argument 'input' (position 1) must be Tensor, not tuple");
    lam_tuple *bad = NULL;
    ASSERT_OK(lam_tuple_create(&bad, 2));
    ASSERT_OK(lam_tuple_set_tensor(bad, 0, x));
    ASSERT_OK(lam_tuple_set_tensor(bad, 1, x));
    EXPECT_FAIL(lam_module_forward_multi(lstm, bad, NULL, &y, &res), LAM_ERR_TYPE,
                "LSTM: hx must be a tuple of two tensors (h_0, c_0), got Tensor");
    lam_tuple_release(bad);
    lam_tuple_release(args);
    lam_tensor_release(x);
    lam_module_release(seq1);
    lam_module_release(seq2);
    lam_module_release(lin);
    lam_module_release(lstm);
}

/* The single-tensor forward (lam_module_forward, lam_plan_run) of a
 * Sequential holding an LSTM is PyTorch's module(x) too: the tuple reaches
 * the Linear (its TypeError, with the path), or comes back (not a tensor);
 * Sequential(Linear, MultiheadAttention) is missing key and value. */
Test(rnn, sequential_single_forward_is_pytorchs)
{
    lam_module *lstm, *lin, *lin2, *lin3, *mha, *seq1, *seq2, *seq3;
    ASSERT_OK(lam_lstm_create(&lstm, 3, 4, 1, true, false, 0.0, false, 0));
    ASSERT_OK(lam_linear_create(&lin, 4, 2, true));
    ASSERT_OK(lam_linear_create(&lin2, 3, 4, true));
    ASSERT_OK(lam_linear_create(&lin3, 3, 3, true));
    ASSERT_OK(lam_multihead_attention_create(&mha, 4, 2, 0.0, true, false, false, 0, 0, true));
    lam_module *a[2] = {lstm, lin}, *b[2] = {lin3, lstm}, *c[2] = {lin2, mha};
    ASSERT_OK(lam_sequential_create(&seq1, 2, a));
    ASSERT_OK(lam_sequential_create(&seq2, 2, b));
    ASSERT_OK(lam_sequential_create(&seq3, 2, c));
    lam_tensor *x = zeros("5 2 3"), *y = NULL;
    EXPECT_FAIL(lam_module_forward(seq1, x, &y), LAM_ERR_TYPE,
                "Sequential[1] linear(): argument 'input' (position 1) must be Tensor, not tuple");
    cr_assert_null(y);
    EXPECT_FAIL(lam_module_forward(seq2, x, &y), LAM_ERR_TYPE,
                "Sequential returned a tuple, not a tensor: call it with lam_module_forward_multi");
    EXPECT_FAIL(lam_module_forward(seq3, x, &y), LAM_ERR_TYPE,
                "MultiheadAttention.forward() missing 2 required positional arguments");
    int64_t shape[3] = {5, 2, 3};
    lam_plan *p = NULL;
    ASSERT_OK(lam_plan_create(&p, seq1, 3, shape));
    lam_tensor *out = zeros("5 2 2");
    EXPECT_FAIL(lam_plan_run(p, x, out), LAM_ERR_TYPE,
                "linear(): argument 'input' (position 1) must be Tensor, not tuple");
    lam_plan_free(p);
    /* the layer alone keeps lamina's convenience: the output tensor */
    ASSERT_OK(lam_module_forward(lstm, x, &y));
    cr_assert_eq(lam_tensor_dim(y, 2), 4);
    lam_tensor_release(y);
    lam_tensor_release(out);
    lam_tensor_release(x);
    lam_module_release(seq1);
    lam_module_release(seq2);
    lam_module_release(seq3);
    lam_module_release(lin);
    lam_module_release(lin2);
    lam_module_release(lin3);
    lam_module_release(mha);
    lam_module_release(lstm);
}

/* A batch of 0 is an empty output, as PyTorch gives. */
Test(rnn, empty_batch)
{
    lam_module *m = parse("LSTM(4, 5, num_layers=2, bidirectional=True)");
    lam_tensor *x = zeros("3 0 4"), *y = NULL, *h = NULL, *c = NULL;
    ASSERT_OK(lam_rnn_forward(m, x, NULL, NULL, &y, &h, &c));
    cr_expect(lam_tensor_numel(y) == 0 && lam_tensor_shape(y)[2] == 10);
    cr_expect(lam_tensor_numel(h) == 0 && lam_tensor_shape(h)[0] == 4);
    lam_tensor_release(y);
    lam_tensor_release(h);
    lam_tensor_release(c);
    lam_tensor_release(x);
    lam_module_release(m);
}

/* ---- initialisation ------------------------------------------------------- */

Test(rnn, init_is_uniform_over_one_over_sqrt_hidden)
{
    lam_manual_seed(7);
    lam_module *m = TH_MAKE(lam_lstm_create, 10, 25, 2, true, false, 0.0, true, 6);
    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_state_dict(m, &sd));
    size_t n = lam_state_dict_len(sd);
    cr_assert_eq(n, 20);
    for (size_t i = 0; i < n; i++) {
        const lam_tensor *t = lam_state_dict_tensor(sd, i);
        const float *d = lam_tensor_cdata(t);
        float lo = 1, hi = -1;
        for (int64_t j = 0; j < lam_tensor_numel(t); j++) {
            lo = d[j] < lo ? d[j] : lo;
            hi = d[j] > hi ? d[j] : hi;
        }
        cr_expect(lo >= -0.2f && hi <= 0.2f && hi - lo > 0.3f, "%s in [%g, %g]",
                  lam_state_dict_key(sd, i), lo, hi);
    }
    lam_state_dict_free(sd);
    lam_module_release(m);
}

/* ---- dropout: identity in eval, PyTorch's scaling in training ------------ */

Test(rnn, dropout_between_layers_in_training_mode)
{
    lam_manual_seed(3);
    lam_module *m = TH_MAKE(lam_gru_create, 6, 8, 2, true, false, 0.5, false);
    lam_module *m0 = TH_MAKE(lam_gru_create, 6, 8, 2, true, false, 0.0, false);
    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_state_dict(m, &sd));
    ASSERT_OK(lam_module_load_state_dict(m0, sd, true, NULL));
    lam_state_dict_free(sd);
    lam_tensor *x = NULL, *ye = NULL, *y0 = NULL, *yt = NULL;
    int64_t shape[3] = {5, 3, 6};
    ASSERT_OK(lam_tensor_create(&x, 3, shape));
    float *d = lam_tensor_data(x);
    for (int i = 0; i < 90; i++)
        d[i] = (float)sin(i * 0.7);
    lam_module_eval(m);
    ASSERT_OK(lam_module_forward(m, x, &ye));
    ASSERT_OK(lam_module_forward(m0, x, &y0)); /* training, but no dropout */
    cr_expect(same_bits(ye, y0), "dropout is not the identity in eval mode");
    lam_module_train(m, true);
    ASSERT_OK(lam_module_forward(m, x, &yt));
    cr_expect(!same_bits(ye, yt), "training-mode dropout changed nothing");
    lam_tensor_release(x);
    lam_tensor_release(ye);
    lam_tensor_release(y0);
    lam_tensor_release(yt);
    lam_module_release(m);
    lam_module_release(m0);
}

/* ---- threads: the parallel step path gives the serial bits --------------- */

Test(rnn, bit_identical_across_thread_counts)
{
    static const char *const ctors[] = {
        "LSTM(48, 256, num_layers=2, bidirectional=True, proj_size=200)",
        "LSTM(40, 136, batch_first=True)",
        "GRU(33, 150, num_layers=2, batch_first=True, bidirectional=True)",
        "RNN(50, 400, nonlinearity='relu')",
    };
    int threads = lam_get_num_threads();
    for (size_t c = 0; c < sizeof ctors / sizeof ctors[0]; c++) {
        lam_manual_seed(11 + c);
        lam_module *m = parse(ctors[c]);
        int64_t shape[3] = {9, 17, 0};
        lam_tensor *x = NULL;
        shape[2] = c == 0 ? 48 : c == 1 ? 40 : c == 2 ? 33 : 50;
        ASSERT_OK(lam_tensor_create(&x, 3, shape));
        float *d = lam_tensor_data(x);
        for (int64_t i = 0; i < lam_tensor_numel(x); i++)
            d[i] = (float)sin((double)i * 0.37) * 1.5f;
        lam_tensor *y[3] = {0}, *h[3] = {0}, *cc[3] = {0};
        static const int nth[3] = {1, 2, 5};
        for (int k = 0; k < 3; k++) {
            lam_set_num_threads(nth[k]);
            ASSERT_OK(lam_rnn_forward(m, x, NULL, NULL, &y[k], &h[k], &cc[k]));
        }
        for (int k = 1; k < 3; k++)
            cr_expect(same_bits(y[0], y[k]) && same_bits(h[0], h[k]) &&
                          (!cc[0] || same_bits(cc[0], cc[k])),
                      "%s: %d threads differ from 1", ctors[c], nth[k]);
        for (int k = 0; k < 3; k++) {
            lam_tensor_release(y[k]);
            lam_tensor_release(h[k]);
            lam_tensor_release(cc[k]);
        }
        lam_tensor_release(x);
        lam_module_release(m);
    }
    lam_set_num_threads(threads);
}
