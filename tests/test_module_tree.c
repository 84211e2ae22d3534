/* What containers inherit from Module, mirroring PyTorch's test_nn.py:
 * test_repr, test_named_children, test_add_module, test_modules,
 * test_parameters_and_named_parameters, test_named_parameters_remove_duplicate,
 * test_state_dict, load_state_dict (strict / non-strict), train/eval, apply,
 * get_submodule, and sharing one module between containers.
 * Expected reprs, keys and messages come from PyTorch 1.13
 * (tests/fixtures/containers/). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static void expect_names(const lam_module *m, bool recurse, bool dedup, const fx_file *fx,
                         const char *list, const char *what)
{
    lam_state_dict *sd = NULL;
    char msg[512];
    ASSERT_OK(lam_module_named_parameters(m, recurse, dedup, &sd));
    cr_expect(fx_keys_equal(sd, fx, list, msg, sizeof msg), "%s: %s", what, msg);
    lam_state_dict_free(sd);
}

/* repr, named_parameters (dedup and not), state_dict keys, num_parameters */
static void expect_fixture_tree(const lam_module *m, const fx_file *fx, const char *what)
{
    char msg[512];
    EXPECT_REPR(m, fx, "repr");
    expect_names(m, true, true, fx, "named_parameters", what);
    expect_names(m, true, false, fx, "named_parameters_all", what);
    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_state_dict(m, &sd));
    cr_expect(fx_keys_equal(sd, fx, "state_dict_keys", msg, sizeof msg), "%s: %s", what, msg);
    lam_state_dict_free(sd);
    int64_t want = -1;
    cr_assert(fx_int(fx, "num_parameters", &want));
    cr_expect_eq(lam_module_num_parameters(m), want, "%s: num_parameters %lld, expected %lld", what,
                 (long long)lam_module_num_parameters(m), (long long)want);
}

/* Load a fixture's weights, run its input, compare with its output. */
static void expect_fixture_forward(lam_module *m, const fx_file *fx, const char *what)
{
    char msg[512];
    lam_state_dict *sd = fx_state_dict(fx);
    cr_assert_not_null(sd);
    ASSERT_OK(lam_module_load_state_dict(m, sd, true, NULL));
    lam_state_dict_free(sd);
    lam_module_eval(m);
    lam_tensor *x = fx_lam_tensor(fx, "input"), *y = NULL;
    cr_assert_not_null(x);
    ASSERT_OK(lam_module_forward(m, x, &y));
    cr_expect(fx_tensor_close(y, fx_get_tensor(fx, "output"), msg, sizeof msg), "%s: %s", what, msg);
    lam_tensor_release(y);
    lam_tensor_release(x);
}

/* ---- repr -------------------------------------------------------------------- */

Test(module_tree, repr)
{
    /* test_repr */
    fx_file *fx = FX_OPEN("containers/empty_sequential.txt");
    lam_module *s = NULL;
    ASSERT_OK(lam_sequential_create(&s, 0, NULL));
    expect_fixture_tree(s, fx, "Sequential()");
    fx_close(fx);

    fx = FX_OPEN("containers/one_linear.txt");
    lam_module *l = th_linear(1, 1, true), *seq = TH_SEQ(l);
    char *r = lam_module_repr(l);
    EXPECT_STR_EQ(r, "Linear(in_features=1, out_features=1, bias=True)", "Linear repr");
    lam_free(r);
    expect_fixture_tree(seq, fx, "Sequential(Linear)");
    fx_close(fx);

    fx = FX_OPEN("containers/empty_modulelist.txt");
    lam_module *ml = NULL;
    ASSERT_OK(lam_modulelist_create(&ml, 0, NULL));
    expect_fixture_tree(ml, fx, "ModuleList()");
    fx_close(fx);

    /* 1.13 prints every child of a run of identical ones (no "3 x") */
    fx = FX_OPEN("containers/modulelist_3_linear.txt");
    lam_module *a = th_linear(4, 4, true), *b = th_linear(4, 4, true), *c = th_linear(4, 4, true);
    lam_module *ml3 = TH_LIST(a, b, c);
    expect_fixture_tree(ml3, fx, "ModuleList of 3 Linear");
    fx_close(fx);

    lam_module *all[] = { s, l, seq, ml, a, b, c, ml3 };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        lam_module_release(all[i]);
}

Test(module_tree, named_sequential)
{
    fx_file *fx = FX_OPEN("containers/named_sequential.txt");
    lam_module *mods[] = { th_linear(4, 8, true), TH_MAKE(lam_relu_create), th_linear(8, 3, true),
                           TH_MAKE(lam_softmax_create, -1) };
    const char *names[] = { "fc1", "act", "fc2", "out" };
    lam_module *seq = NULL;
    ASSERT_OK(lam_sequential_create_named(&seq, 4, names, mods));
    expect_fixture_tree(seq, fx, "named Sequential");
    expect_fixture_forward(seq, fx, "named Sequential");
    cr_expect(lam_module_child(seq, "fc2") == mods[2]);
    cr_expect_null(lam_module_child(seq, "2"), "a named Sequential has no key \"2\"");
    lam_module *got = NULL;
    ASSERT_OK(lam_container_get(seq, 2, &got)); /* but indexes by position */
    cr_expect(got == mods[2]);
    for (int i = 0; i < 4; i++)
        lam_module_release(mods[i]);
    lam_module_release(seq);
    fx_close(fx);
}

static lam_module *build_nested(lam_module **head_out, lam_module **block_lin_out)
{
    /* Sequential(features=Sequential(Sequential(block=Sequential(ReLU, Linear(3,4))), Tanh),
     *            head=Linear(4, 2)) */
    lam_module *relu = TH_MAKE(lam_relu_create), *lin = th_linear(3, 4, true);
    lam_module *block = TH_SEQ(relu, lin);
    const char *bn[] = { "block" };
    lam_module *inner = NULL;
    ASSERT_OK(lam_sequential_create_named(&inner, 1, bn, &block));
    lam_module *tanh_ = TH_MAKE(lam_tanh_create);
    lam_module *features = TH_SEQ(inner, tanh_);
    lam_module *head = th_linear(4, 2, true);
    const char *names[] = { "features", "head" };
    lam_module *top_mods[] = { features, head }, *top = NULL;
    ASSERT_OK(lam_sequential_create_named(&top, 2, names, top_mods));
    *head_out = head;
    *block_lin_out = lin;
    lam_module *mine[] = { relu, block, inner, tanh_, features, head, lin };
    for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++)
        lam_module_release(mine[i]); /* the tree keeps its own references */
    return top;
}

Test(module_tree, nested_sequential)
{
    fx_file *fx = FX_OPEN("containers/nested_sequential.txt");
    lam_module *head, *lin;
    lam_module *top = build_nested(&head, &lin);
    expect_fixture_tree(top, fx, "nested Sequential");
    expect_fixture_forward(top, fx, "nested Sequential");
    fx_close(fx);

    /* get_submodule: dotted paths, "" is the module itself */
    lam_module *got = NULL;
    ASSERT_OK(lam_module_get_submodule(top, "features.0.block.1", &got));
    cr_expect(got == lin);
    ASSERT_OK(lam_module_get_submodule(top, "head", &got));
    cr_expect(got == head);
    ASSERT_OK(lam_module_get_submodule(top, "", &got));
    cr_expect(got == top);
    fx = FX_OPEN("containers/sequential_ops.txt");
    got = NULL;
    EXPECT_FAIL(lam_module_get_submodule(top, "x", &got), LAM_ERR_KEY,
                fx_text(fx, "error_get_submodule_missing"));
    EXPECT_FAIL(lam_module_get_submodule(top, "features.0.block.7", &got), LAM_ERR_KEY,
                "Sequential has no attribute `7`");
    lam_module *ml = TH_LIST(lin), *wrap = TH_SEQ(ml);
    EXPECT_FAIL(lam_module_get_submodule(wrap, "0.7", &got), LAM_ERR_KEY,
                fx_text(fx, "error_get_submodule_missing_nested"));
    lam_module_release(wrap);
    lam_module_release(ml);
    lam_module_release(top);
    fx_close(fx);
}

Test(module_tree, sequential_with_modulelist)
{
    fx_file *fx = FX_OPEN("containers/sequential_with_modulelist.txt");
    lam_module *l1 = th_linear(2, 3, true), *relu = TH_MAKE(lam_relu_create), *l2 = th_linear(3, 1, true);
    lam_module *ml = TH_LIST(relu, l2), *seq = TH_SEQ(l1, ml);
    expect_fixture_tree(seq, fx, "Sequential(Linear, ModuleList)");
    /* the ModuleList inside has no forward, so neither has the whole */
    lam_tensor *x = NULL, *y = NULL;
    ASSERT_OK(lam_tensor_create(&x, 2, (int64_t[]){ 1, 2 }));
    EXPECT_FAIL(lam_module_forward(seq, x, &y), LAM_ERR_NOT_IMPLEMENTED, "ModuleList has no forward");
    cr_expect_null(y);
    lam_tensor_release(x);
    lam_module *all[] = { seq, ml, l1, relu, l2 };
    for (size_t i = 0; i < 5; i++)
        lam_module_release(all[i]);
    fx_close(fx);
}

/* ---- names and dedup ------------------------------------------------------ */

Test(module_tree, named_children_and_add_module)
{
    fx_file *ops = FX_OPEN("containers/sequential_ops.txt");
    fx_file *fx = FX_OPEN("containers/named_children.txt");
    lam_module *l[4];
    for (int i = 0; i < 4; i++)
        l[i] = th_linear(2, 2, true);
    lam_module *subnet = TH_SEQ(l[2], l[3]), *s = NULL;
    ASSERT_OK(lam_sequential_create(&s, 0, NULL));
    EXPECT_FAIL(lam_module_add_child(s, "", l[0]), LAM_ERR_KEY, fx_text(ops, "error_add_module_empty"));
    EXPECT_FAIL(lam_module_add_child(s, "name.with.dot", l[0]), LAM_ERR_KEY,
                fx_text(ops, "error_add_module_dot"));
    cr_expect_eq(lam_module_num_children(s), 0);
    cr_expect_neq(lam_module_add_child(s, NULL, l[0]), LAM_OK, "add_module(NULL name)");
    th_add(s, "layer1", l[0]);
    th_add(s, "layer2", l[1]);
    th_add(s, "layer3", l[0]);
    th_add(s, "layer4", l[1]);
    th_add(s, "subnet", subnet);
    cr_expect_eq(lam_module_num_children(s), 5, "every name is a registered child");
    cr_expect_eq(lam_container_len(s), 5);
    expect_fixture_tree(s, fx, "test_named_children");

    /* test_add_module: re-adding a name replaces the child in place */
    lam_module *l3 = th_linear(20, 10, true);
    th_add(s, "layer1", l3);
    cr_expect_eq(lam_module_num_children(s), 5);
    cr_expect(lam_module_child(s, "layer1") == l3);
    const char *name = NULL;
    cr_expect(lam_module_child_at(s, 0, &name) == l3 && name && !strcmp(name, "layer1"),
              "the replaced child keeps its place");
    cr_expect(lam_module_child(s, "layer3") == l[0]);
    lam_module_release(l3);
    lam_module_release(s);
    lam_module_release(subnet);
    for (int i = 0; i < 4; i++)
        lam_module_release(l[i]);
    fx_close(fx);
    fx_close(ops);
}

Test(module_tree, parameters_and_named_parameters)
{
    /* _create_basic_net without the dummy parameters (a custom module holds
     * parameters only through children in lamina) */
    lam_module *l = th_linear(2, 2, true), *n = th_custom("Net"), *s = NULL;
    th_add(n, "l1", l);
    ASSERT_OK(lam_sequential_create(&s, 1, &n));
    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_named_parameters(l, true, true, &sd));
    cr_expect_eq(lam_state_dict_len(sd), 2);
    EXPECT_STR_EQ(lam_state_dict_key(sd, 0), "weight", "Linear param 0");
    EXPECT_STR_EQ(lam_state_dict_key(sd, 1), "bias", "Linear param 1");
    lam_state_dict_free(sd);
    ASSERT_OK(lam_module_named_parameters(n, true, true, &sd));
    cr_expect_eq(lam_state_dict_len(sd), 2);
    EXPECT_STR_EQ(lam_state_dict_key(sd, 0), "l1.weight", "n param 0");
    EXPECT_STR_EQ(lam_state_dict_key(sd, 1), "l1.bias", "n param 1");
    lam_state_dict_free(sd);
    ASSERT_OK(lam_module_named_parameters(n, false, true, &sd));
    cr_expect_eq(lam_state_dict_len(sd), 0, "recurse=False lists only n's own parameters");
    lam_state_dict_free(sd);
    ASSERT_OK(lam_module_named_parameters(s, true, true, &sd));
    cr_expect_eq(lam_state_dict_len(sd), 2);
    EXPECT_STR_EQ(lam_state_dict_key(sd, 0), "0.l1.weight", "s param 0");
    EXPECT_STR_EQ(lam_state_dict_key(sd, 1), "0.l1.bias", "s param 1");
    /* the entries are the module's own tensors */
    lam_state_dict *own = NULL;
    ASSERT_OK(lam_module_state_dict(l, &own));
    cr_expect(lam_state_dict_tensor(sd, 0) == lam_state_dict_get(own, "weight"));
    lam_state_dict_free(own);
    lam_state_dict_free(sd);
    cr_expect_eq(lam_module_num_parameters(s), 6);
    lam_module_release(s);
    lam_module_release(n);
    lam_module_release(l);
}

Test(module_tree, named_parameters_remove_duplicate)
{
    fx_file *fx = FX_OPEN("containers/remove_duplicate.txt");
    lam_module *m2 = th_custom("Net"), *mod1 = th_linear(3, 4, false);
    th_add(m2, "mod1", mod1);
    th_add(m2, "mod2", mod1);
    expect_fixture_tree(m2, fx, "M2");
    lam_module_release(mod1);
    lam_module_release(m2);
    fx_close(fx);
}

Test(module_tree, modules_shared_in_sequential)
{
    /* test_modules: Sequential(n, n, n, n), n holding l twice */
    fx_file *fx = FX_OPEN("containers/sequential_of_shared.txt");
    lam_module *l = th_linear(10, 20, true), *n = th_custom("Net");
    th_add(n, "l1", l);
    th_add(n, "l2", l);
    lam_module *s = TH_SEQ(n, n, n, n);
    expect_fixture_tree(s, fx, "Sequential(n, n, n, n)");
    lam_module_release(s);
    lam_module_release(n);
    lam_module_release(l);
    fx_close(fx);
}

Test(module_tree, state_dict_shared_module)
{
    /* test_state_dict: one Linear under two names; both keys, one tensor */
    fx_file *fx = FX_OPEN("containers/shared_twice.txt");
    lam_module *l = th_linear(5, 5, true), *net = th_custom("Net"), *block = th_custom("Net");
    lam_module *conv = th_linear(3, 3, false);
    th_add(net, "linear1", l);
    th_add(net, "linear2", l);
    th_add(block, "conv", conv);
    th_add(net, "block", block);
    expect_fixture_tree(net, fx, "shared Linear");
    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_state_dict(net, &sd));
    cr_expect(lam_state_dict_get(sd, "linear1.weight") != NULL &&
                  lam_state_dict_get(sd, "linear1.weight") == lam_state_dict_get(sd, "linear2.weight"),
              "linear1.weight and linear2.weight are one tensor");
    cr_expect_null(lam_state_dict_get(sd, "block.conv.bias"));
    lam_state_dict_free(sd);
    ASSERT_OK(lam_module_state_dict(l, &sd));
    cr_expect_eq(lam_state_dict_len(sd), 2);
    lam_state_dict_free(sd);
    lam_module_release(conv);
    lam_module_release(block);
    lam_module_release(net);
    lam_module_release(l);
    fx_close(fx);

    /* Sequential(l) * 2: parameters once, state_dict twice */
    fx = FX_OPEN("containers/sequential_mul_2.txt");
    l = th_linear(3, 2, true);
    lam_module *one = TH_SEQ(l), *two = NULL;
    ASSERT_OK(lam_container_repeat(one, 2, &two));
    expect_fixture_tree(two, fx, "Sequential(l) * 2");
    lam_module_release(two);
    lam_module_release(one);
    lam_module_release(l);
    fx_close(fx);
}

/* ---- load_state_dict ------------------------------------------------------ */

static lam_module *canonical_sequential(void)
{
    lam_module *m[] = { th_linear(10, 50, true), TH_MAKE(lam_relu_create), th_linear(50, 2, true),
                        TH_MAKE(lam_sigmoid_create) };
    lam_module *s = NULL;
    ASSERT_OK(lam_sequential_create(&s, 4, m));
    for (int i = 0; i < 4; i++)
        lam_module_release(m[i]);
    return s;
}

static void expect_key_list(char **got, size_t n, const fx_file *fx, const char *list)
{
    const char *const *want;
    long nw = fx_list(fx, list, &want);
    cr_assert_geq(nw, 0, "fixture lacks %s", list);
    cr_expect_eq(n, (size_t)nw, "%s: %zu keys, expected %ld", list, n, nw);
    for (size_t i = 0; i < n && i < (size_t)nw; i++)
        EXPECT_STR_EQ(got[i], want[i], list);
}

/* One strict or non-strict load of a fixture's dict: either PyTorch's error
 * (and nothing changed) or success with PyTorch's incompatible keys and the
 * matching values copied. */
static void check_load(lam_module *m, const fx_file *fx, bool strict, const char *what)
{
    const char *err = fx_text(fx, strict ? "error_strict" : "error_nonstrict");
    lam_state_dict *sd = fx_state_dict(fx);
    cr_assert_not_null(sd);
    size_t n_before, n_after;
    float *before = th_snapshot(m, &n_before);
    lam_incompatible_keys keys = { 0 };
    lam_clear_error();
    lam_status st = lam_module_load_state_dict(m, sd, strict, &keys);
    char msg[4096];
    snprintf(msg, sizeof msg, "%s", lam_last_error());
    if (err) {
        cr_expect_eq(st, LAM_ERR_STATE_DICT, "%s: status %s", what, lam_status_str(st));
        cr_expect(strstr(msg, err) != NULL, "%s:\n got: \"%s\"\nwant: \"%s\"", what, fx_show(msg),
                  fx_show(err));
        float *after = th_snapshot(m, &n_after);
        cr_expect(n_after == n_before && !memcmp(before, after, n_before * sizeof(float)),
                  "%s: a failed load changed parameters", what);
        free(after);
    } else {
        cr_expect_eq(st, LAM_OK, "%s: %s", what, msg);
        expect_key_list(keys.missing_keys, keys.n_missing, fx, strict ? "missing_strict" : "missing_nonstrict");
        expect_key_list(keys.unexpected_keys, keys.n_unexpected, fx,
                        strict ? "unexpected_strict" : "unexpected_nonstrict");
        lam_state_dict *now = NULL;
        ASSERT_OK(lam_module_state_dict(m, &now));
        for (size_t i = 0; i < lam_state_dict_len(now); i++) {
            const lam_tensor *src = lam_state_dict_get(sd, lam_state_dict_key(now, i));
            const lam_tensor *dst = lam_state_dict_tensor(now, i);
            if (src)
                cr_expect(!memcmp(lam_tensor_cdata(src), lam_tensor_cdata(dst),
                                  (size_t)lam_tensor_numel(dst) * sizeof(float)),
                          "%s: %s not loaded", what, lam_state_dict_key(now, i));
        }
        lam_state_dict_free(now);
    }
    lam_incompatible_keys_clear(&keys);
    free(before);
    lam_state_dict_free(sd);
}

Test(module_tree, load_state_dict_errors)
{
    const char *cases[] = { "missing", "unexpected", "unexpected_order", "size_mismatch", "all" };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char path[80], what[80];
        snprintf(path, sizeof path, "containers/load_%s.txt", cases[k]);
        fx_file *fx = FX_OPEN(path);
        for (int strict = 1; strict >= 0; strict--) {
            lam_module *m = canonical_sequential();
            EXPECT_REPR(m, fx, "repr");
            snprintf(what, sizeof what, "load_%s %s", cases[k], strict ? "strict" : "non-strict");
            check_load(m, fx, strict, what);
            lam_module_release(m);
        }
        fx_close(fx);
    }
}

Test(module_tree, load_state_dict_roundtrip)
{
    /* a module's own state_dict loads back; a copy loads into another module */
    lam_manual_seed(5);
    lam_module *a = canonical_sequential(), *b = canonical_sequential();
    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_state_dict(a, &sd));
    lam_incompatible_keys keys = { 0 };
    ASSERT_OK(lam_module_load_state_dict(b, sd, true, &keys));
    cr_expect_eq(keys.n_missing, 0);
    cr_expect_eq(keys.n_unexpected, 0);
    lam_incompatible_keys_clear(&keys);
    size_t na, nb;
    float *va = th_snapshot(a, &na), *vb = th_snapshot(b, &nb);
    cr_expect(na == nb && na == 652 && !memcmp(va, vb, na * sizeof(float)), "b did not take a's values");
    /* the values were copied: changing a later leaves b alone */
    lam_tensor *w = lam_state_dict_get(sd, "0.weight");
    lam_tensor_data(w)[0] += 1.0f;
    free(vb);
    vb = th_snapshot(b, &nb);
    cr_expect(va[0] == vb[0], "load_state_dict aliased the source tensor");
    free(va);
    free(vb);
    lam_state_dict_free(sd);
    lam_module_release(a);
    lam_module_release(b);
}

static lam_status list_forward(lam_module *self, const lam_tensor *x, void *args, lam_tensor **out)
{
    (void)args;
    lam_module *layers = lam_module_child(self, "layers");
    lam_tensor *cur = lam_tensor_retain((lam_tensor *)x);
    for (size_t i = 0; i < lam_container_len(layers); i++) {
        lam_module *layer = NULL;
        lam_tensor *next = NULL;
        lam_status st = lam_container_get(layers, (int64_t)i, &layer);
        if (st == LAM_OK)
            st = lam_module_forward(layer, cur, &next);
        lam_tensor_release(cur);
        if (st != LAM_OK)
            return st;
        cur = next;
    }
    *out = cur;
    return LAM_OK;
}

Test(module_tree, load_state_dict_custom_module)
{
    fx_file *fx = FX_OPEN("containers/load_custom.txt");
    lam_custom_spec spec = { .type_name = "MyModel", .forward = list_forward };
    lam_module *m = NULL;
    ASSERT_OK(lam_custom_create(&m, &spec));
    lam_module *mods[] = { th_linear(10, 50, true), TH_MAKE(lam_relu_create), th_linear(50, 2, true),
                           TH_MAKE(lam_sigmoid_create) };
    lam_module *layers = NULL;
    ASSERT_OK(lam_modulelist_create(&layers, 4, mods));
    th_add(m, "layers", layers);
    check_load(m, fx, true, "MyModel strict");
    lam_module_release(layers);
    for (int i = 0; i < 4; i++)
        lam_module_release(mods[i]);
    lam_module_release(m);
    fx_close(fx);
}

Test(module_tree, load_into_shared_module)
{
    /* Sequential(l) * 2 holds l under "0" and "1": PyTorch loads both keys
     * in order, so "1.*" is what l ends with */
    fx_file *fx = FX_OPEN("containers/load_shared.txt");
    lam_module *l = th_linear(3, 2, true), *one = TH_SEQ(l), *two = NULL;
    ASSERT_OK(lam_container_repeat(one, 2, &two));
    lam_state_dict *sd = fx_state_dict(fx);
    ASSERT_OK(lam_module_load_state_dict(two, sd, true, NULL));
    lam_state_dict *own = NULL;
    char msg[256];
    ASSERT_OK(lam_module_state_dict(l, &own));
    cr_expect(fx_tensor_close(lam_state_dict_get(own, "weight"), fx_get_tensor(fx, "result_weight"), msg,
                              sizeof msg), "%s", msg);
    cr_expect(fx_tensor_close(lam_state_dict_get(own, "bias"), fx_get_tensor(fx, "result_bias"), msg,
                              sizeof msg), "%s", msg);
    lam_state_dict_free(own);
    lam_state_dict_free(sd);
    lam_module_release(two);
    lam_module_release(one);
    lam_module_release(l);
    fx_close(fx);
}

/* ---- modes and traversal -------------------------------------------------- */

static void expect_mode(lam_module *m, bool training, const char *what)
{
    cr_expect_eq(lam_module_is_training(m), training, "%s: training is %d", what,
                 lam_module_is_training(m));
}

Test(module_tree, train_eval_propagate)
{
    lam_module *drop = TH_MAKE(lam_dropout_create, 0.5), *lin = th_linear(2, 2, true);
    lam_module *ml = TH_LIST(drop, lin), *custom = th_custom("Net");
    th_add(custom, "layers", ml);
    lam_module *first = th_linear(2, 2, true), *top = TH_SEQ(first, custom);
    lam_module *all[] = { top, first, custom, ml, drop, lin };
    for (size_t i = 0; i < 6; i++)
        expect_mode(all[i], true, "new");
    lam_module_eval(top);
    for (size_t i = 0; i < 6; i++)
        expect_mode(all[i], false, "after top.eval()");
    lam_module_train(top, true);
    for (size_t i = 0; i < 6; i++)
        expect_mode(all[i], true, "after top.train()");
    lam_module_train(custom, false); /* only the subtree */
    expect_mode(top, true, "top after custom.eval()");
    expect_mode(first, true, "first after custom.eval()");
    expect_mode(custom, false, "custom");
    expect_mode(ml, false, "ml");
    expect_mode(drop, false, "drop");
    expect_mode(lin, false, "lin");
    for (size_t i = 0; i < 6; i++)
        lam_module_release(all[i]);
}

Test(module_tree, sequential_forward_follows_mode)
{
    /* Sequential() passes its input through */
    lam_module *empty = NULL;
    ASSERT_OK(lam_sequential_create(&empty, 0, NULL));
    lam_tensor *x = NULL, *y = NULL;
    ASSERT_OK(lam_tensor_create(&x, 2, (int64_t[]){ 4, 256 }));
    float *d = lam_tensor_data(x);
    for (int i = 0; i < 4 * 256; i++)
        d[i] = 1.0f + (float)(i % 5);
    ASSERT_OK(lam_module_forward(empty, x, &y));
    cr_expect(lam_tensor_same_shape(x, y) &&
                  !memcmp(lam_tensor_cdata(x), lam_tensor_cdata(y), 4 * 256 * sizeof(float)),
              "Sequential() is not the identity");
    lam_tensor_release(y);
    lam_module_release(empty);

    /* Dropout inside a Sequential: eval() on the container reaches it */
    lam_module *drop = TH_MAKE(lam_dropout_create, 0.5), *seq = TH_SEQ(drop);
    lam_manual_seed(3);
    ASSERT_OK(lam_module_forward(seq, x, &y));
    int zeros = 0;
    for (int i = 0; i < 4 * 256; i++)
        zeros += lam_tensor_cdata(y)[i] == 0.0f;
    cr_expect(zeros > 400 && zeros < 624, "training Sequential(Dropout(0.5)) zeroed %d of 1024", zeros);
    lam_tensor_release(y);
    lam_module_eval(seq);
    ASSERT_OK(lam_module_forward(seq, x, &y));
    cr_expect(!memcmp(lam_tensor_cdata(x), lam_tensor_cdata(y), 4 * 256 * sizeof(float)),
              "Sequential(Dropout) after eval() is not the identity");
    lam_tensor_release(y);
    lam_module_release(seq);
    lam_module_release(drop);
    lam_tensor_release(x);
}

typedef struct visits {
    const lam_module *seen[16];
    size_t n;
    size_t fail_at; /* return an error on this visit (0: never) */
} visits;

static lam_status record(lam_module *m, void *user)
{
    visits *v = user;
    if (v->n < 16)
        v->seen[v->n] = m;
    v->n++;
    return v->n == v->fail_at ? LAM_ERR_RUNTIME : LAM_OK;
}

Test(module_tree, apply_children_first)
{
    lam_module *a = th_linear(2, 2, true), *b = TH_MAKE(lam_relu_create), *c = th_linear(2, 2, true),
               *d = TH_MAKE(lam_tanh_create);
    lam_module *inner = TH_SEQ(b, c), *outer = TH_SEQ(a, inner, d);
    visits v = { .n = 0 };
    ASSERT_OK(lam_module_apply(outer, record, &v));
    const lam_module *want[] = { a, b, c, inner, d, outer };
    cr_expect_eq(v.n, 6, "apply visited %zu modules", v.n);
    for (size_t i = 0; i < 6 && i < v.n; i++)
        cr_expect(v.seen[i] == want[i], "apply visit %zu is not the expected module", i);

    /* apply stops at the first error and returns it */
    visits w = { .n = 0, .fail_at = 3 };
    cr_expect_eq(lam_module_apply(outer, record, &w), LAM_ERR_RUNTIME);
    cr_expect_eq(w.n, 3, "apply went on after an error (%zu visits)", w.n);

    /* a module held twice is visited once (module.h), children first */
    lam_module *shared = TH_SEQ(a, a, inner);
    visits s = { .n = 0 };
    ASSERT_OK(lam_module_apply(shared, record, &s));
    const lam_module *want2[] = { a, b, c, inner, shared };
    cr_expect_eq(s.n, 5, "apply over a shared module visited %zu", s.n);
    for (size_t i = 0; i < 5 && i < s.n; i++)
        cr_expect(s.seen[i] == want2[i], "shared apply visit %zu", i);
    lam_module *all[] = { shared, outer, inner, a, b, c, d };
    for (size_t i = 0; i < 7; i++)
        lam_module_release(all[i]);
}

/* ---- sharing and reference counts ----------------------------------------- */

/* y = W x + b for a 3x3 Linear, in float64 */
static void linear_ref(const float *w, const float *b, const double *x, double *y)
{
    for (int o = 0; o < 3; o++) {
        double s = b[o];
        for (int i = 0; i < 3; i++)
            s += (double)w[o * 3 + i] * x[i];
        y[o] = s;
    }
}

Test(module_tree, shared_module_outlives_one_container)
{
    static const float w[9] = { 0.5f, -1.0f, 0.25f, 2.0f, 0.0f, -0.75f, 1.5f, 0.125f, -2.0f };
    static const float b[3] = { 0.1f, -0.2f, 0.3f };
    static const float xin[3] = { 1.0f, -2.0f, 3.0f };
    lam_module *l = th_linear(3, 3, true);
    th_set_param(l, "weight", w, 9);
    th_set_param(l, "bias", b, 3);
    lam_module *relu = TH_MAKE(lam_relu_create);
    lam_module *a = TH_SEQ(l, relu), *twice = TH_SEQ(l, l), *list = TH_LIST(l);
    lam_module_release(l);    /* only the containers hold it now */
    lam_module_release(relu);
    lam_module_release(a);    /* l must survive in the other two */

    lam_tensor *x = NULL, *y = NULL;
    ASSERT_OK(lam_tensor_from_data(&x, 1, (int64_t[]){ 3 }, xin));
    double x64[3] = { 1, -2, 3 }, h[3], y64[3];
    linear_ref(w, b, x64, h);
    linear_ref(w, b, h, y64);
    char msg[256];
    ASSERT_OK(lam_module_forward(twice, x, &y)); /* l(l(x)) */
    cr_expect(fx_values_close(lam_tensor_cdata(y), y64, 3, msg, sizeof msg), "Sequential(l, l): %s", msg);
    lam_tensor_release(y);

    lam_module *got = NULL, *popped = NULL;
    ASSERT_OK(lam_container_get(list, 0, &got));
    ASSERT_OK(lam_container_pop(list, 0, &popped));
    cr_expect(popped == got);
    lam_module_release(list);
    lam_module_release(twice); /* popped holds the last reference */
    ASSERT_OK(lam_module_forward(popped, x, &y));
    cr_expect(fx_values_close(lam_tensor_cdata(y), h, 3, msg, sizeof msg), "popped Linear: %s", msg);
    lam_tensor_release(y);
    lam_module_release(popped);
    lam_tensor_release(x);
}

Test(module_tree, retain_release_counts)
{
    lam_module *l = th_linear(2, 2, true);
    cr_expect(lam_module_retain(l) == l);
    lam_module *s = TH_SEQ(l);
    lam_module_release(l);
    lam_module_release(l); /* the creator's reference and the extra one */
    lam_module *got = NULL;
    ASSERT_OK(lam_container_get(s, 0, &got));
    cr_expect(got == l);
    cr_expect_str_eq(lam_module_type_name(got), "Linear");
    lam_module_release(s);
    lam_module_release(NULL); /* a no-op, like free(NULL) */
}
