/* named_modules / named_children dedup (PyTorch's test_named_children,
 * test_modules, test_named_modules) and parameters a custom module registers
 * itself (test_parameters_and_named_parameters). Expected names are PyTorch's,
 * written out from those tests. */
#include <criterion/criterion.h>
#include <lamina/lamina.h>
#include <stdio.h>
#include <string.h>

typedef struct seen {
    char text[512];
    int count;
} seen;

static lam_status record(const char *path, lam_module *m, void *user)
{
    seen *s = user;
    size_t n = strlen(s->text);
    snprintf(s->text + n, sizeof s->text - n, "%s%s:%s", s->count ? " " : "", path,
             lam_module_type_name(m));
    s->count++;
    return LAM_OK;
}

static lam_status dummy_forward(lam_module *self, const lam_tensor *x, void *a, lam_tensor **out)
{
    (void)self, (void)a;
    return lam_tensor_clone(out, x);
}

static lam_module *custom(const char *name)
{
    lam_custom_spec spec = {.type_name = name, .forward = dummy_forward};
    lam_module *m;
    cr_assert_eq(lam_custom_create(&m, &spec), LAM_OK);
    return m;
}

Test(module_api, named_modules_dedup_like_test_modules)
{
    /* s = Sequential(n, n, n, n) with n = Net holding l: modules() == [s, n, l] */
    lam_module *l, *n = custom("Net"), *s;
    lam_linear_create(&l, 2, 2, true);
    cr_assert_eq(lam_module_add_child(n, "l1", l), LAM_OK);
    cr_assert_eq(lam_module_add_child(n, "l2", l), LAM_OK);
    lam_module *four[4] = {n, n, n, n};
    cr_assert_eq(lam_sequential_create(&s, 4, four), LAM_OK);
    seen a = {{0}, 0};
    cr_assert_eq(lam_module_named_modules(s, true, record, &a), LAM_OK);
    cr_assert_str_eq(a.text, ":Sequential 0:Net 0.l1:Linear");
    seen b = {{0}, 0};
    cr_assert_eq(lam_module_named_modules(s, false, record, &b), LAM_OK);
    cr_assert_eq(b.count, 1 + 4 * 3, "every path: %s", b.text);
    cr_assert(strstr(b.text, "3.l2:Linear"));
    lam_module_release(s);
    lam_module_release(n);
    lam_module_release(l);
}

Test(module_api, custom_module_parameters)
{
    /* test_parameters_and_named_parameters: a module's own parameter comes
     * first, then its children's, under PyTorch's dotted names */
    lam_module *net = custom("Net"), *l;
    lam_linear_create(&l, 3, 2, true);
    int64_t shape[1] = {4};
    lam_tensor *p;
    lam_tensor_create(&p, 1, shape);
    cr_assert_eq(lam_module_register_parameter(net, "dummy_param", p), LAM_OK);
    cr_assert_eq(lam_module_add_child(net, "l1", l), LAM_OK);
    lam_module *seq;
    cr_assert_eq(lam_sequential_create(&seq, 1, &net), LAM_OK);
    lam_state_dict *sd;
    cr_assert_eq(lam_module_named_parameters(seq, true, true, &sd), LAM_OK);
    cr_assert_eq(lam_state_dict_len(sd), 3);
    cr_assert_str_eq(lam_state_dict_key(sd, 0), "0.dummy_param");
    cr_assert_str_eq(lam_state_dict_key(sd, 1), "0.l1.weight");
    cr_assert_str_eq(lam_state_dict_key(sd, 2), "0.l1.bias");
    cr_assert_eq(lam_state_dict_get(sd, "0.dummy_param"), p, "the parameter itself, not a copy");
    lam_state_dict_free(sd);
    /* recurse=False: only the module's own */
    cr_assert_eq(lam_module_named_parameters(net, false, true, &sd), LAM_OK);
    cr_assert_eq(lam_state_dict_len(sd), 1);
    lam_state_dict_free(sd);
    cr_assert_eq(lam_module_num_parameters(seq), 4 + 6 + 2);
    /* names: a child and a parameter cannot share one */
    cr_assert_eq(lam_module_add_child(net, "dummy_param", l), LAM_ERR_KEY);
    cr_assert(strstr(lam_last_error(), "attribute 'dummy_param' already exists"));
    cr_assert_eq(lam_module_register_parameter(net, "l1", p), LAM_ERR_KEY);
    cr_assert_eq(lam_module_register_parameter(net, "a.b", p), LAM_ERR_KEY);
    cr_assert_eq(lam_module_register_parameter(net, "", p), LAM_ERR_KEY);
    lam_tensor_release(p);
    lam_module_release(seq);
    lam_module_release(net);
    lam_module_release(l);
}

Test(module_api, zero_sized_linear_like_pytorch)
{
    lam_module *m;
    cr_assert_eq(lam_linear_create(&m, 3, 0, true), LAM_OK, "%s", lam_last_error());
    int64_t shape[2] = {2, 3};
    lam_tensor *x, *y;
    lam_tensor_create(&x, 2, shape);
    cr_assert_eq(lam_module_forward(m, x, &y), LAM_OK, "%s", lam_last_error());
    cr_assert_eq(lam_tensor_dim(y, 1), 0);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(m);
    cr_assert_eq(lam_linear_create(&m, -1, 2, true), LAM_ERR_INVALID_ARGUMENT);
}
