/* Models at the documented limits (lamina issue 12): 100,000 modules, a
 * module tree LAM_MAX_MODULE_DEPTH deep, modules shared many times.  These
 * used to take time quadratic (names scanned on every add, lookup and load),
 * cubic (repr of a deep tree) or exponential (train on shared modules) in
 * the size of the model, or overflowed the stack; the tests check that the
 * results are right and run the sizes that exposed it.  They assert nothing
 * about time. */
#include <criterion/criterion.h>
#include <lamina/lamina.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
/* Criterion's workers end without LeakSanitizer's exit-time check: run it
 * after each test (reports go to stderr, where the sanitizer run looks). */
static void teardown(void) { __lsan_do_recoverable_leak_check(); }
#else
static void teardown(void) {}
#endif

TestSuite(scale, .fini = teardown);
TestSuite(depth, .fini = teardown);

#define ASSERT_OK(expr)                                                                            \
    do {                                                                                           \
        lam_status st_ = (expr);                                                                   \
        cr_assert_eq(st_, LAM_OK, "%s: %s (%s)", #expr, lam_status_str(st_), lam_last_error());    \
    } while (0)

/* ---- 100,000 modules ---------------------------------------------------------- */

#define N_LINEAR 49999 /* + as many ReLUs + the Sequential: 100,000 modules */

static char *big_model_text(void)
{
    size_t cap = (size_t)N_LINEAR * 80 + 64, o = 0;
    char *s = malloc(cap);
    cr_assert_not_null(s);
    o += (size_t)sprintf(s + o, "Sequential(\n");
    for (int i = 0; i < N_LINEAR; i++) {
        o += (size_t)sprintf(s + o, "  (%d): Linear(in_features=2, out_features=2, bias=True)\n",
                             2 * i);
        o += (size_t)sprintf(s + o, "  (%d): ReLU()\n", 2 * i + 1);
    }
    o += (size_t)sprintf(s + o, ")\n");
    return s;
}

/* Every parameter gets values of its own: w[j] = key index + j / 8. */
static void fill_distinct(lam_module *m)
{
    lam_state_dict *sd;
    ASSERT_OK(lam_module_state_dict(m, &sd));
    for (size_t i = 0; i < lam_state_dict_len(sd); i++) {
        lam_tensor *t = lam_state_dict_tensor(sd, i);
        float *d = lam_tensor_data(t);
        for (int64_t j = 0; j < lam_tensor_numel(t); j++)
            d[j] = (float)i + (float)j / 8;
    }
    lam_state_dict_free(sd);
}

Test(scale, model_with_100000_modules_round_trips_its_weights, .timeout = 600)
{
    char *text = big_model_text();
    lam_module *a = NULL, *b = NULL;
    ASSERT_OK(lam_model_parse(text, strlen(text), "big.lam", &a));
    ASSERT_OK(lam_model_parse(text, strlen(text), "big.lam", &b));
    cr_assert_eq(lam_module_num_children(a), 2 * N_LINEAR);
    cr_expect_eq(lam_module_num_parameters(a), (int64_t)N_LINEAR * 6);
    lam_module *c = lam_module_child(a, "77777");
    cr_assert_not_null(c);
    cr_expect_str_eq(lam_module_type_name(c), "ReLU");
    cr_expect_eq(lam_module_child_at(a, 77777, NULL), c);
    cr_expect_null(lam_module_child(a, "99998"));

    fill_distinct(a);
    lam_state_dict *sd;
    ASSERT_OK(lam_module_state_dict(a, &sd));
    cr_assert_eq(lam_state_dict_len(sd), (size_t)N_LINEAR * 2);
    cr_expect_str_eq(lam_state_dict_key(sd, 0), "0.weight");
    cr_expect_str_eq(lam_state_dict_key(sd, 2 * N_LINEAR - 1), "99996.bias");
    cr_expect_eq(lam_state_dict_get(sd, "50000.bias"), lam_state_dict_tensor(sd, 50001));
    char path[] = "/tmp/lamina-scale-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    ASSERT_OK(lam_safetensors_save(path, sd));
    lam_state_dict_free(sd);

    /* strict load of the whole file, then every value compared */
    lam_incompatible_keys keys;
    ASSERT_OK(lam_model_load_weights(b, path, true, &keys));
    cr_expect_eq(keys.n_missing + keys.n_unexpected, 0);
    unlink(path);
    lam_state_dict *sa, *sb;
    ASSERT_OK(lam_module_state_dict(a, &sa));
    ASSERT_OK(lam_module_state_dict(b, &sb));
    cr_assert_eq(lam_state_dict_len(sb), lam_state_dict_len(sa));
    size_t bad = 0;
    for (size_t i = 0; i < lam_state_dict_len(sa); i++) {
        const lam_tensor *ta = lam_state_dict_tensor(sa, i), *tb = lam_state_dict_tensor(sb, i);
        bad += strcmp(lam_state_dict_key(sa, i), lam_state_dict_key(sb, i)) != 0 ||
               memcmp(lam_tensor_cdata(ta), lam_tensor_cdata(tb),
                      sizeof(float) * (size_t)lam_tensor_numel(ta)) != 0;
    }
    cr_expect_eq(bad, 0, "%zu tensors differ after the round trip", bad);
    lam_state_dict_free(sa);
    lam_state_dict_free(sb);

    /* not strict: keys the model lacks come back in dict order */
    lam_state_dict *extra;
    lam_tensor *t;
    int64_t one = 1;
    ASSERT_OK(lam_state_dict_create(&extra));
    ASSERT_OK(lam_tensor_create(&t, 1, &one));
    ASSERT_OK(lam_state_dict_set(extra, "99997.weight", t)); /* a ReLU */
    ASSERT_OK(lam_state_dict_set(extra, "1.weight", t));
    ASSERT_OK(lam_state_dict_set(extra, "nothing", t));
    lam_tensor_release(t);
    ASSERT_OK(lam_module_load_state_dict(b, extra, false, &keys));
    cr_expect_eq(keys.n_missing, (size_t)N_LINEAR * 2);
    cr_assert_eq(keys.n_unexpected, 3);
    cr_expect_str_eq(keys.unexpected_keys[0], "nothing"); /* the root's, first */
    cr_expect_str_eq(keys.unexpected_keys[1], "1.weight");
    cr_expect_str_eq(keys.unexpected_keys[2], "99997.weight");
    lam_incompatible_keys_clear(&keys);
    lam_state_dict_free(extra);

    /* and the two models compute the same thing */
    float xin[2] = {0.5f, -0.25f};
    int64_t shape[2] = {1, 2};
    lam_tensor *x, *ya, *yb;
    ASSERT_OK(lam_tensor_from_data(&x, 2, shape, xin));
    ASSERT_OK(lam_module_forward(a, x, &ya));
    ASSERT_OK(lam_module_forward(b, x, &yb));
    cr_expect_eq(memcmp(lam_tensor_cdata(ya), lam_tensor_cdata(yb), 2 * sizeof(float)), 0);
    lam_tensor_release(x);
    lam_tensor_release(ya);
    lam_tensor_release(yb);
    lam_module_release(a);
    lam_module_release(b);
    free(text);
}

Test(scale, names_of_100000_children, .timeout = 600)
{
    lam_module *s;
    ASSERT_OK(lam_sequential_create(&s, 0, NULL));
    for (int i = 0; i < 99999; i++) {
        lam_module *r;
        ASSERT_OK(i % 1000 ? lam_relu_create(&r) : lam_tanh_create(&r));
        ASSERT_OK(lam_container_append(s, r));
        lam_module_release(r);
    }
    cr_expect_str_eq(lam_module_type_name(lam_module_child(s, "12000")), "Tanh");
    cr_expect_str_eq(lam_module_type_name(lam_module_child(s, "12001")), "ReLU");
    lam_module *got = NULL;
    ASSERT_OK(lam_module_get_submodule(s, "98000", &got));
    cr_expect_eq(got, lam_module_child(s, "98000"));
    /* a name that is taken replaces that child, in place */
    lam_module *id;
    ASSERT_OK(lam_identity_create(&id));
    ASSERT_OK(lam_module_add_child(s, "500", id));
    cr_expect_eq(lam_module_num_children(s), 99999);
    cr_expect_eq(lam_module_child_at(s, 500, NULL), id);
    /* a parameter may not take a child's name, nor a child a parameter's */
    lam_tensor *t;
    int64_t one = 1;
    ASSERT_OK(lam_tensor_create(&t, 1, &one));
    cr_expect_eq(lam_module_register_parameter(s, "777", t), LAM_ERR_KEY);
    ASSERT_OK(lam_module_register_parameter(s, "scale", t));
    cr_expect_eq(lam_module_add_child(s, "scale", id), LAM_ERR_KEY);
    lam_tensor_release(t);
    /* after deletion the keys are renumbered, and found under the new ones */
    ASSERT_OK(lam_container_delete(s, 0));
    cr_expect_eq(lam_module_child(s, "499"), id);
    cr_expect_str_eq(lam_module_type_name(lam_module_child(s, "11999")), "Tanh");
    cr_expect_null(lam_module_child(s, "99998"));
    lam_module_release(id);
    lam_module_release(s);
}

/* PyTorch 1.13's load_state_dict(strict=False) on this model and dict:
 *   lin = nn.Linear(2, 2)
 *   root = nn.Sequential(OrderedDict([("0", nn.Linear(2, 2)),
 *                                     ("1", nn.Sequential(lin, nn.ReLU())), ("2", lin)]
 *                                    + [(str(i), nn.ReLU()) for i in range(3, 20)]))
 * (the root has enough children for the name index; `lin` sits in two places) */
Test(scale, unexpected_and_missing_keys_in_pytorch_order)
{
    lam_module *root, *l0, *lin, *relu, *inner;
    ASSERT_OK(lam_sequential_create(&root, 0, NULL));
    ASSERT_OK(lam_linear_create(&l0, 2, 2, true));
    ASSERT_OK(lam_linear_create(&lin, 2, 2, true));
    ASSERT_OK(lam_relu_create(&relu));
    lam_module *pair[2] = {lin, relu};
    ASSERT_OK(lam_sequential_create(&inner, 2, pair));
    ASSERT_OK(lam_module_add_child(root, "0", l0));
    ASSERT_OK(lam_module_add_child(root, "1", inner));
    ASSERT_OK(lam_module_add_child(root, "2", lin));
    for (int i = 3; i < 20; i++) {
        char name[16];
        snprintf(name, sizeof name, "%d", i);
        ASSERT_OK(lam_module_add_child(root, name, relu));
    }
    static const char *const keys[] = {
        "zzz", "1.0.weight", "1.0.nope", "0.weight", "1.nope.x", "0.weight.extra", "1",
        "0.bias", "2.weight", "2.extra", "5.p", "1.1.q", "", "0..weight", "0.",
        "1.0.weight.x.y", "2.bias.z"};
    lam_state_dict *sd;
    ASSERT_OK(lam_state_dict_create(&sd));
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        size_t n = strlen(keys[i]);
        bool w = n >= 6 && !strcmp(keys[i] + n - 6, "weight");
        bool b = n >= 4 && !strcmp(keys[i] + n - 4, "bias");
        int64_t shape[2] = {w || b ? 2 : 1, 2};
        lam_tensor *t;
        ASSERT_OK(lam_tensor_create(&t, w ? 2 : 1, shape));
        ASSERT_OK(lam_state_dict_set(sd, keys[i], t));
        lam_tensor_release(t);
    }
    lam_incompatible_keys k;
    ASSERT_OK(lam_module_load_state_dict(root, sd, false, &k));
    static const char *const missing[] = {"1.0.bias", "2.bias"};
    static const char *const unexpected[] = {"zzz", "", "0..weight", "0.", "1.nope.x",
                                             "1.0.nope", "1.1.q", "2.extra", "5.p"};
    cr_assert_eq(k.n_missing, 2);
    for (size_t i = 0; i < 2; i++)
        cr_expect_str_eq(k.missing_keys[i], missing[i]);
    cr_assert_eq(k.n_unexpected, sizeof unexpected / sizeof *unexpected);
    for (size_t i = 0; i < k.n_unexpected; i++)
        cr_expect_str_eq(k.unexpected_keys[i], unexpected[i], "unexpected key %zu", i);
    lam_incompatible_keys_clear(&k);
    lam_state_dict_free(sd);
    lam_module_release(inner);
    lam_module_release(relu);
    lam_module_release(lin);
    lam_module_release(l0);
    lam_module_release(root);
}

/* s_k = Sequential(s_{k-1}, s_{k-1}): 2^64 paths, 65 modules.  Walks that
 * visit each module once must not follow every path. */
Test(scale, walks_over_shared_modules_visit_each_once)
{
    lam_module *cur;
    ASSERT_OK(lam_linear_create(&cur, 3, 3, true));
    lam_module *leaf = cur;
    for (int k = 0; k < 64; k++) {
        lam_module *two[2] = {cur, cur}, *s;
        ASSERT_OK(lam_sequential_create(&s, 2, two));
        lam_module_release(cur);
        cur = s;
    }
    lam_module_eval(cur);
    cr_expect_not(lam_module_is_training(cur));
    cr_expect_not(lam_module_is_training(leaf));
    lam_module_train(cur, true);
    cr_expect(lam_module_is_training(leaf));
    cr_expect_eq(lam_module_num_parameters(cur), 12);
    lam_state_dict *sd;
    ASSERT_OK(lam_module_named_parameters(cur, true, true, &sd));
    cr_assert_eq(lam_state_dict_len(sd), 2);
    char want[160] = "";
    for (int k = 0; k < 64; k++)
        strcat(want, "0.");
    strcat(want, "weight");
    cr_expect_str_eq(lam_state_dict_key(sd, 0), want);
    lam_state_dict_free(sd);
    lam_module_release(cur);
}

/* ---- depth ---------------------------------------------------------------------- */

/* The repr PyTorch prints for `levels` nested Sequentials around a ReLU. */
static char *nested_repr(int levels)
{
    size_t cap = (size_t)(levels + 1) * (size_t)(2 * levels + 32), o = 0;
    char *s = malloc(cap);
    cr_assert_not_null(s);
    for (int i = 0; i < levels; i++)
        o += (size_t)sprintf(s + o, "%*s%sSequential(\n", 2 * i, "", i ? "(0): " : "");
    o += (size_t)sprintf(s + o, "%*s(0): ReLU()\n", 2 * levels, "");
    for (int i = levels - 1; i >= 0; i--)
        o += (size_t)sprintf(s + o, "%*s)%s", 2 * i, "", i ? "\n" : "");
    return s;
}

static bool is_depth_error(void)
{
    return strstr(lam_last_error(), "more than 1000 modules deep (LAM_MAX_MODULE_DEPTH)") != NULL;
}

Test(depth, a_tree_as_deep_as_the_limit_works_and_no_deeper)
{
    lam_module *cur;
    ASSERT_OK(lam_relu_create(&cur));
    for (int i = 1; i < LAM_MAX_MODULE_DEPTH; i++) {
        lam_module *s;
        ASSERT_OK(lam_sequential_create(&s, 1, &cur));
        lam_module_release(cur);
        cur = s;
    }
    char *want = nested_repr(LAM_MAX_MODULE_DEPTH - 1), *got = lam_module_repr(cur);
    cr_assert_not_null(got);
    cr_expect(strcmp(got, want) == 0, "repr of %d nested modules differs", LAM_MAX_MODULE_DEPTH);
    free(got);
    free(want);
    float xin[3] = {-1, 0, 2};
    int64_t shape[2] = {1, 3};
    lam_tensor *x, *y;
    ASSERT_OK(lam_tensor_from_data(&x, 2, shape, xin));
    ASSERT_OK(lam_module_forward(cur, x, &y));
    cr_expect(lam_tensor_cdata(y)[0] == 0 && lam_tensor_cdata(y)[2] == 2);
    lam_tensor_release(y);

    /* one more level, by any way of adding a child, is refused */
    lam_module *s = NULL, *empty;
    cr_expect_eq(lam_sequential_create(&s, 1, &cur), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_null(s);
    cr_expect(is_depth_error(), "%s", lam_last_error());
    cr_expect_not(strstr(lam_last_error(), "itself"), "%s", lam_last_error());
    ASSERT_OK(lam_modulelist_create(&empty, 0, NULL));
    cr_expect_eq(lam_container_append(empty, cur), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_eq(lam_container_insert(empty, 0, cur), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_eq(lam_module_add_child(empty, "deep", cur), LAM_ERR_INVALID_ARGUMENT);
    cr_expect(is_depth_error(), "%s", lam_last_error());
    cr_expect_eq(lam_container_len(empty), 0, "a refused child leaves the container as it was");
    /* nor under the innermost Sequential, from above */
    lam_module *inner = cur, *relu, *wrapped;
    for (int i = 1; i < LAM_MAX_MODULE_DEPTH - 1; i++)
        inner = lam_module_child_at(inner, 0, NULL);
    cr_assert(lam_module_is_sequential(inner));
    ASSERT_OK(lam_relu_create(&relu));
    ASSERT_OK(lam_container_append(inner, relu)); /* as deep as before: fine */
    ASSERT_OK(lam_sequential_create(&wrapped, 1, &relu));
    cr_expect_eq(lam_container_append(inner, wrapped), LAM_ERR_INVALID_ARGUMENT, "%s",
                 lam_last_error());
    cr_expect(is_depth_error(), "%s", lam_last_error());
    cr_expect_eq(lam_container_len(inner), 2);
    lam_module_release(wrapped);
    ASSERT_OK(lam_module_forward(cur, x, &y));
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(relu);
    lam_module_release(empty);
    lam_module_release(cur);
}

Test(depth, building_from_the_top_is_limited_too)
{
    /* the way that used to end, at 100,001 levels, in a false "cannot add
     * Sequential as a child of itself" */
    lam_module *root, *cur;
    ASSERT_OK(lam_sequential_create(&root, 0, NULL));
    cur = root;
    int levels = 1;
    lam_status st = LAM_OK;
    while (levels < 200000) {
        lam_module *s;
        ASSERT_OK(lam_sequential_create(&s, 0, NULL));
        st = lam_container_append(cur, s);
        lam_module_release(s);
        if (st)
            break;
        cur = s;
        levels++;
    }
    cr_expect_eq(st, LAM_ERR_INVALID_ARGUMENT);
    cr_expect_eq(levels, LAM_MAX_MODULE_DEPTH);
    cr_expect(is_depth_error(), "%s", lam_last_error());
    lam_module_release(root);
}

/* A chain of `n` modules (n-1 Sequentials around an empty ModuleList); the
 * innermost container in *bottom. */
static lam_module *chain(int n, lam_module **bottom)
{
    lam_module *cur;
    ASSERT_OK(lam_modulelist_create(&cur, 0, NULL));
    *bottom = cur;
    for (int i = 1; i < n; i++) {
        lam_module *s;
        ASSERT_OK(lam_sequential_create(&s, 1, &cur));
        lam_module_release(cur);
        cur = s;
    }
    return cur;
}

Test(depth, a_shared_module_counts_in_every_place)
{
    lam_module *low, *high, *shallow_bottom, *deep_bottom, *x_bottom;
    lam_module *shallow = chain(10, &shallow_bottom);
    lam_module *deep = chain(600, &deep_bottom);
    lam_module *x = chain(450, &x_bottom);
    (void)x_bottom;
    /* shallow's innermost list also sits at the bottom of deep, 601 levels down */
    ASSERT_OK(lam_container_append(deep_bottom, shallow_bottom));
    low = shallow_bottom;
    /* x (450 deep) would fit under shallow (10 + 450) but not where the same
     * list is 601 levels down */
    cr_expect_eq(lam_container_append(low, x), LAM_ERR_INVALID_ARGUMENT);
    cr_expect(is_depth_error(), "%s", lam_last_error());
    cr_expect_eq(lam_container_len(low), 0);
    /* once deep lets go of it, it fits */
    ASSERT_OK(lam_container_pop(deep_bottom, 0, NULL));
    ASSERT_OK(lam_container_append(low, x));
    /* and now deep cannot take it back: 600 + 10 + 450 */
    cr_expect_eq(lam_container_append(deep_bottom, shallow), LAM_ERR_INVALID_ARGUMENT);
    /* replacing the deep part by a leaf (set, add_child by name) lowers
     * every level above: then it fits */
    lam_module *leaf;
    ASSERT_OK(lam_relu_create(&leaf));
    ASSERT_OK(lam_container_set(low, 0, leaf));
    ASSERT_OK(lam_container_append(deep_bottom, shallow));
    cr_expect_eq(lam_module_add_child(low, "0", x), LAM_ERR_INVALID_ARGUMENT);
    ASSERT_OK(lam_container_delete(deep_bottom, 0));
    ASSERT_OK(lam_module_add_child(low, "0", x));
    high = shallow;
    cr_expect_eq(lam_container_len(low), 1);
    cr_expect_eq(lam_module_child_at(low, 0, NULL), x);
    /* the deep chain is free again */
    ASSERT_OK(lam_container_append(deep_bottom, leaf));
    lam_module_release(leaf);
    lam_module_release(high);
    lam_module_release(deep);
    lam_module_release(x);
}

Test(depth, cycles_are_refused)
{
    lam_module *a, *b, *c, *leaf;
    ASSERT_OK(lam_relu_create(&leaf));
    ASSERT_OK(lam_sequential_create(&c, 1, &leaf));
    ASSERT_OK(lam_sequential_create(&b, 1, &c));
    ASSERT_OK(lam_sequential_create(&a, 1, &b));
    cr_expect_eq(lam_container_append(a, a), LAM_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(lam_last_error(), "cannot add Sequential as a child of itself or of one of "
                                       "its descendants"), "%s", lam_last_error());
    cr_expect_eq(lam_container_append(c, a), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_eq(lam_container_insert(c, 0, b), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_eq(lam_container_set(c, 0, a), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_eq(lam_module_add_child(c, "0", b), LAM_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(lam_last_error(), "itself"), "%s", lam_last_error());
    cr_expect_eq(lam_module_child_at(c, 0, NULL), leaf, "a refused child changes nothing");
    cr_expect_eq(lam_container_len(c), 1);
    /* sideways is fine: c into a again, b's leaf into a */
    ASSERT_OK(lam_container_append(a, c));
    ASSERT_OK(lam_container_append(a, leaf));
    cr_expect_eq(lam_container_len(a), 3);
    lam_module_release(a);
    lam_module_release(b);
    lam_module_release(c);
    lam_module_release(leaf);
}
