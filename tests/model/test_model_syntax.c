/* The .lam syntax: PyTorch's printed reprs, constructor calls, comments,
 * runs; the tree and the parameters they make. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/model/modeltest.h"

static lam_module *parse_ok(const char *text)
{
    lam_module *m = NULL;
    lam_status st = mt_parse(text, &m);
    cr_assert_eq(st, LAM_OK, "%s\n--- for ---\n%s", lam_last_error(), text);
    cr_assert_not_null(m);
    return m;
}

static void expect_repr(lam_module *m, const char *want)
{
    char *r = lam_module_repr(m);
    cr_assert_not_null(r);
    cr_expect_str_eq(r, want);
    lam_free(r);
}

static const char mlp_repr[] = "Sequential(\n"
                               "  (0): Linear(in_features=10, out_features=50, bias=True)\n"
                               "  (1): ReLU()\n"
                               "  (2): Linear(in_features=50, out_features=2, bias=True)\n"
                               "  (3): Sigmoid()\n"
                               ")";

Test(model_syntax, printed_repr_reads_back)
{
    lam_module *m = parse_ok(mlp_repr);
    expect_repr(m, mlp_repr);
    cr_expect_eq(lam_module_num_parameters(m), 10 * 50 + 50 + 50 * 2 + 2);
    lam_module_release(m);
}

Test(model_syntax, constructor_calls_give_the_same_model)
{
    lam_module *m = parse_ok("Sequential(Linear(10, 50), ReLU(), Linear(50, 2), Sigmoid())");
    expect_repr(m, mlp_repr);
    lam_module_release(m);
    m = parse_ok("nn.Sequential(\n"
                 "    nn.Linear(in_features=10, out_features=50),  # first\n"
                 "\n"
                 "    torch.nn.ReLU(),\n"
                 "    nn.Linear(50, 2, bias=True), nn.Sigmoid(),   # trailing comma next\n"
                 ")\n");
    expect_repr(m, mlp_repr);
    lam_module_release(m);
}

Test(model_syntax, extra_repr_arguments)
{
    lam_module *m = parse_ok("Sequential(\n"
                             "  (0): LayerNorm((64,), eps=1e-05, elementwise_affine=True)\n"
                             "  (1): GELU(approximate='none')\n"
                             "  (2): Dropout(p=0.5, inplace=False)\n"
                             "  (3): Softmax(dim=None)\n"
                             "  (4): Softplus(beta=1, threshold=20)\n"
                             "  (5): GELU(approximate=\"tanh\")\n"
                             "  (6): LeakyReLU(negative_slope=0.01)\n"
                             "  (7): ELU(alpha=1.0)\n"
                             "  (8): Flatten(start_dim=1, end_dim=-1)\n"
                             "  (9): LayerNorm([8, 8], eps=0.001)\n"
                             ")");
    expect_repr(m, "Sequential(\n"
                   "  (0): LayerNorm((64,), eps=1e-05, elementwise_affine=True)\n"
                   "  (1): GELU(approximate='none')\n"
                   "  (2): Dropout(p=0.5, inplace=False)\n"
                   "  (3): Softmax(dim=None)\n"
                   "  (4): Softplus(beta=1, threshold=20)\n"
                   "  (5): GELU(approximate='tanh')\n"
                   "  (6): LeakyReLU(negative_slope=0.01)\n"
                   "  (7): ELU(alpha=1.0)\n"
                   "  (8): Flatten(start_dim=1, end_dim=-1)\n"
                   "  (9): LayerNorm((8, 8), eps=0.001, elementwise_affine=True)\n"
                   ")");
    lam_module_release(m);
}

Test(model_syntax, named_and_nested_children)
{
    static const char text[] = "Sequential(\n"
                               "  (encoder): Sequential(\n"
                               "    (fc): Linear(in_features=8, out_features=16, bias=True)\n"
                               "    (act): GELU(approximate='none')\n"
                               "  )\n"
                               "  (decoder): Linear(in_features=16, out_features=2, bias=False)\n"
                               ")";
    lam_module *m = parse_ok(text);
    expect_repr(m, text);
    lam_state_dict *sd;
    cr_assert_eq(lam_module_state_dict(m, &sd), LAM_OK);
    cr_assert_eq(lam_state_dict_len(sd), 3);
    cr_expect_str_eq(lam_state_dict_key(sd, 0), "encoder.fc.weight");
    cr_expect_str_eq(lam_state_dict_key(sd, 1), "encoder.fc.bias");
    cr_expect_str_eq(lam_state_dict_key(sd, 2), "decoder.weight");
    lam_state_dict_free(sd);
    lam_module_release(m);
}

Test(model_syntax, positional_and_named_items_mix_in_order)
{
    lam_module *m = parse_ok("Sequential(Linear(4, 8), (act): ReLU(), Linear(8, 2))");
    const char *name;
    cr_assert_eq(lam_module_num_children(m), 3);
    lam_module_child_at(m, 0, &name);
    cr_expect_str_eq(name, "0");
    lam_module_child_at(m, 1, &name);
    cr_expect_str_eq(name, "act");
    lam_module_child_at(m, 2, &name);
    cr_expect_str_eq(name, "2");
    lam_module_release(m);
}

Test(model_syntax, ordered_dict_and_module_list_forms)
{
    lam_module *m = parse_ok("Sequential(OrderedDict([('fc1', Linear(2, 3)), ('act', Tanh())]))");
    cr_expect_not_null(lam_module_child(m, "fc1"));
    cr_expect_not_null(lam_module_child(m, "act"));
    lam_module_release(m);
    m = parse_ok("ModuleList([Linear(2, 3), ReLU()])");
    cr_expect(lam_module_is_modulelist(m));
    cr_expect_eq(lam_container_len(m), 2);
    lam_module_release(m);
    m = parse_ok("ModuleList()");
    expect_repr(m, "ModuleList()");
    lam_module_release(m);
    m = parse_ok("Sequential()");
    expect_repr(m, "Sequential()");
    lam_module_release(m);
}

Test(model_syntax, modulelist_runs_make_independent_copies)
{
    lam_module *m = parse_ok("ModuleList(\n"
                             "  (0-31): 32 x Linear(in_features=4, out_features=4, bias=True)\n"
                             "  (32): ReLU()\n"
                             ")");
    cr_assert_eq(lam_container_len(m), 33);
    lam_module *a, *b;
    lam_container_get(m, 0, &a);
    lam_container_get(m, 31, &b);
    cr_expect_neq(a, b);
    cr_expect_eq(lam_module_num_parameters(m), 32 * 20);
    const char *name;
    lam_module_child_at(m, 31, &name);
    cr_expect_str_eq(name, "31");
    lam_module_release(m);
    /* nested runs */
    m = parse_ok("ModuleList(\n  (0-1): 2 x Sequential(\n    (0-2): 3 x Tanh()\n  )\n)");
    cr_expect_eq(lam_container_len(m), 2);
    lam_container_get(m, 1, &a);
    cr_expect_eq(lam_container_len(a), 3);
    lam_module_release(m);
}

Test(model_syntax, models_from_files_are_in_eval_mode)
{
    lam_module *m = parse_ok("Sequential(Linear(3, 3), Dropout(p=0.9))");
    cr_expect_not(lam_module_is_training(m));
    lam_module *d;
    lam_container_get(m, 1, &d);
    cr_expect_not(lam_module_is_training(d));
    /* so Dropout is the identity */
    float xs[6] = {1, 2, 3, 4, 5, 6};
    int64_t shape[2] = {2, 3};
    lam_tensor *x, *y1, *y2;
    cr_assert_eq(lam_tensor_wrap(&x, xs, 2, shape), LAM_OK);
    cr_assert_eq(lam_module_forward(m, x, &y1), LAM_OK);
    cr_assert_eq(lam_module_forward(m, x, &y2), LAM_OK);
    cr_expect_arr_eq(lam_tensor_cdata(y1), lam_tensor_cdata(y2), 6 * sizeof(float));
    lam_tensor_release(y1);
    lam_tensor_release(y2);
    lam_tensor_release(x);
    lam_module_release(m);
}

Test(model_syntax, literals)
{
    lam_module *m = parse_ok("Sequential(LeakyReLU(+0.25), ELU(.5), Softplus(2, threshold=1e1),"
                             " Softmax(-1), LogSoftmax(dim=+1), Flatten(0, -1))");
    expect_repr(m, "Sequential(\n"
                   "  (0): LeakyReLU(negative_slope=0.25)\n"
                   "  (1): ELU(alpha=0.5)\n"
                   "  (2): Softplus(beta=2, threshold=10.0)\n"
                   "  (3): Softmax(dim=-1)\n"
                   "  (4): LogSoftmax(dim=1)\n"
                   "  (5): Flatten(start_dim=0, end_dim=-1)\n"
                   ")");
    lam_module_release(m);
}

/* \x escapes in strings: both cases of hex digits; a bad digit or \x00 fails */
Test(model_syntax, string_hex_escapes)
{
    lam_module *m = parse_ok("Sequential(GELU(approximate='\\x74a\\x6E\\x68'), GELU(approximate=\"\\x6e\\x6F\\x6Ee\"))");
    expect_repr(m, "Sequential(\n  (0): GELU(approximate='tanh')\n  (1): GELU(approximate='none')\n)");
    lam_module_release(m);
    static const char *const bad[] = {"GELU(approximate='\\x7g')", "GELU(approximate='\\xG4')",
                                      "GELU(approximate='\\x00')", "GELU(approximate='\\x7')"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_expect_eq(mt_parse(bad[i], &m), LAM_ERR_FORMAT, "%s", bad[i]);
        cr_expect(strstr(lam_last_error(), "invalid \\x escape"), "%s: %s", bad[i], lam_last_error());
    }
}

Test(model_syntax, whitespace_comments_crlf_and_bom)
{
    lam_module *m = parse_ok("\xEF\xBB\xBF# model\r\n\r\nSequential(  # open\r\n"
                             "\t(0): ReLU()   # a child\r\n)\r\n# end\r\n");
    cr_expect_eq(lam_module_num_children(m), 1);
    lam_module_release(m);
}

Test(model_syntax, not_nul_terminated_text)
{
    const char text[] = "ReLU()ReLU()";
    lam_module *m;
    cr_assert_eq(lam_model_parse(text, 6, NULL, &m), LAM_OK, "%s", lam_last_error());
    expect_repr(m, "ReLU()");
    lam_module_release(m);
}

Test(model_syntax, syntax_only_creates_nothing)
{
    lam_model_options o = {.syntax_only = true};
    lam_module *m = (lam_module *)&o;
    const char *t = "Sequential(NoSuchLayer(1, 2), Linear(10, 10000000000))";
    cr_expect_eq(lam_model_parse_ex(t, strlen(t), NULL, &o, &m), LAM_OK, "%s", lam_last_error());
    cr_expect_null(m);
    t = "Sequential(";
    cr_expect_eq(lam_model_parse_ex(t, strlen(t), NULL, &o, &m), LAM_ERR_FORMAT);
}

Test(model_syntax, options_tighten_the_limits)
{
    lam_model_options o = {.max_depth = 3};
    lam_module *m;
    const char *t = "Sequential(Sequential(Sequential(ReLU())))";
    cr_expect_eq(lam_model_parse_ex(t, strlen(t), "x.lam", &o, &m), LAM_ERR_FORMAT);
    cr_expect(strstr(lam_last_error(), "x.lam:1:34: nesting too deep (more than 3 levels)"), "%s",
              lam_last_error());
    o = (lam_model_options){.max_modules = 3};
    t = "Sequential(ReLU(), ReLU(), ReLU())";
    cr_expect_eq(lam_model_parse_ex(t, strlen(t), "x.lam", &o, &m), LAM_ERR_FORMAT);
    cr_expect(strstr(lam_last_error(), "too many modules"), "%s", lam_last_error());
    o = (lam_model_options){.max_params = 90};
    t = "Sequential(Linear(4, 4), Linear(8, 8))";
    cr_expect_eq(lam_model_parse_ex(t, strlen(t), "x.lam", &o, &m), LAM_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(lam_last_error(), "x.lam:1:26: Linear(8, 8) brings the model to 92 "
                                       "parameters, more than the limit of 90"),
              "%s", lam_last_error());
    o = (lam_model_options){.max_params = 10};
    t = "LayerNorm((4, 4))"; /* 32 parameters */
    cr_expect_eq(lam_model_parse_ex(t, strlen(t), "x.lam", &o, &m), LAM_ERR_INVALID_ARGUMENT);
}

/* Found by the fuzzer: a child line before LayerNorm's shape hid it from the
 * count made before anything is built. */
Test(model_syntax, parameter_limit_sees_arguments_after_children)
{
    lam_model_options o = {.max_params = 1000};
    lam_module *m = (lam_module *)&o;
    const char *t = "LayerNorm(\n  (act): ReLU()\n  (40, 40)\n)";
    cr_expect_eq(lam_model_parse_ex(t, strlen(t), "x.lam", &o, &m), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_str_eq(lam_last_error(), "x.lam:1:1: LayerNorm over 1600 elements brings the model "
                                       "to 3200 parameters, more than the limit of 1000 per model "
                                       "file");
    cr_expect_null(m);
    t = "Sequential(\n  (0): Linear(\n    (act): ReLU()\n    32\n    32\n  )\n)";
    cr_expect_eq(lam_model_parse_ex(t, strlen(t), "x.lam", &o, &m), LAM_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(lam_last_error(), "x.lam:2:8: Linear(32, 32) brings the model to 1056") !=
                  NULL, "%s", lam_last_error());
    t = "LayerNorm(\n  (act): ReLU()\n  (10, 10)\n)"; /* 200: fine */
    cr_expect_eq(lam_model_parse_ex(t, strlen(t), "x.lam", &o, &m), LAM_OK, "%s",
                 lam_last_error());
    lam_module_release(m);
}

/* Nesting allowed by the options but deeper than any module tree may be. */
Test(model_syntax, module_trees_deeper_than_the_limit_are_refused)
{
    int n = LAM_MAX_MODULE_DEPTH; /* Sequentials, around a ReLU */
    char *t = malloc((size_t)n * 12 + 16);
    cr_assert_not_null(t);
    size_t o = 0;
    for (int i = 0; i < n; i++)
        o += (size_t)sprintf(t + o, "Sequential(");
    o += (size_t)sprintf(t + o, "ReLU()");
    for (int i = 0; i < n; i++)
        t[o++] = ')';
    lam_model_options opts = {.max_depth = 5000};
    lam_module *m = (lam_module *)&opts;
    cr_expect_eq(lam_model_parse_ex(t, o, "x.lam", &opts, &m), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_str_eq(lam_last_error(), "x.lam:1:12: cannot add Sequential (1000 levels deep) to "
                                       "Sequential: the module tree would be more than 1000 "
                                       "modules deep (LAM_MAX_MODULE_DEPTH)");
    cr_expect_null(m);
    /* one level less is as deep as a tree may be */
    cr_expect_eq(lam_model_parse_ex(t + 11, o - 12, "x.lam", &opts, &m), LAM_OK, "%s",
                 lam_last_error());
    lam_module_release(m);
    free(t);
}

Test(model_syntax, repeated_keyword_argument)
{
    lam_module *m = (lam_module *)1;
    cr_expect_eq(mt_parse("Linear(in_features=2, out_features=3, in_features=4)", &m),
                 LAM_ERR_INVALID_ARGUMENT);
    cr_expect_str_eq(lam_last_error(),
                     "model.lam:1:39: Linear: keyword argument repeated: in_features");
    cr_expect_null(m);
}

Test(model_syntax, errors_name_file_line_and_column)
{
    lam_module *m = (lam_module *)1;
    cr_expect_eq(mt_parse("Sequential(\n  Linear(10, 5),\n  Linear(5, -3),\n)", &m),
                 LAM_ERR_INVALID_ARGUMENT);
    cr_expect_null(m);
    cr_expect(strstr(lam_last_error(), "model.lam:3:13: Linear: out_features"), "%s",
              lam_last_error());
    cr_expect_eq(mt_parse("Sequential(\n  (0): Linear(10, 5)\n  (1): Linaer(5, 2)\n)", &m),
                 LAM_ERR_KEY);
    cr_expect_str_eq(lam_last_error(), "model.lam:3:8: unknown layer type 'Linaer' "
                                       "(did you mean 'Linear'?)");
    cr_expect_eq(mt_parse("Sequential(\n  Linear(in_features=-3, out_features=2)\n)", &m),
                 LAM_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(lam_last_error(), "model.lam:2:10: Linear: in_features"), "%s",
              lam_last_error());
}

Test(model_syntax, api_misuse)
{
    lam_module *m;
    cr_expect_eq(lam_model_parse("ReLU()", 6, NULL, NULL), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_eq(lam_model_parse(NULL, 3, NULL, &m), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_eq(lam_model_parse(NULL, 0, NULL, &m), LAM_ERR_FORMAT); /* empty */
    cr_expect_eq(lam_model_load(NULL, &m), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_eq(lam_model_load("/nonexistent/model.lam", &m), LAM_ERR_IO);
    cr_expect(strstr(lam_last_error(), "cannot open model file '/nonexistent/model.lam'"), "%s",
              lam_last_error());
    cr_expect_eq(lam_model_load("/", &m), LAM_ERR_IO);
    cr_expect_null(m);
}

/* Regression (fuzz/fuzz_model): a module with extra_repr and children prints
 * its arguments on a line of their own, then the children; a '(' on the next
 * line starts a child, it does not call the value before it. */
Test(model_syntax, extra_repr_with_children_reads_back)
{
    static const char text[] = "Sequential(\n"
                               "  (0): Linear(\n"
                               "    in_features=6, out_features=8, bias=True\n"
                               "    (0): Linear(in_features=8, out_features=3, bias=True)\n"
                               "  )\n"
                               ")";
    lam_module *m = parse_ok(text);
    expect_repr(m, text);
    lam_module_release(m);
}

/* Regression (fuzz/fuzz_model): OrderedDict names must be writable as
 * "(name):" so that the repr reads back. */
Test(model_syntax, ordered_dict_names_are_checked)
{
    lam_module *m;
    cr_expect_eq(mt_parse("Sequential(OrderedDict([('a-b', ReLU())]))", &m), LAM_ERR_FORMAT);
    cr_expect(strstr(lam_last_error(), "child name 'a-b' is not an identifier or a number"), "%s",
              lam_last_error());
    m = parse_ok("Sequential(OrderedDict([('_x1', ReLU()), ('007', Tanh())]))");
    expect_repr(m, "Sequential(\n  (_x1): ReLU()\n  (007): Tanh()\n)");
    lam_module_release(m);
}

/* Regression (fuzz/fuzz_model): a child name of digits beyond int64 is a
 * name, not a number; as a value the same literal is an error. */
Test(model_syntax, long_digit_names)
{
    static const char text[] = "Sequential(\n"
                               "  (55555555555555555555555555): ReLU()\n"
                               ")";
    lam_module *m = parse_ok(text);
    expect_repr(m, text);
    lam_module_release(m);
    m = parse_ok("Sequential(OrderedDict([('99999999999999999999999', Tanh())]))");
    lam_module_release(m);
    cr_expect_eq(mt_parse("Softmax(dim=-99999999999999999999)", &m), LAM_ERR_FORMAT);
    cr_expect(strstr(lam_last_error(), "model.lam:1:14: integer literal"), "%s", lam_last_error());
}
