/* Models printed by PyTorch 1.13 (and hand-written variants) run through the
 * C API with their state_dicts give PyTorch's outputs
 * (tests/model/fixtures, written by tools/gen-model-fixtures.py). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "tests/model/modeltest.h"

static void run_case(const char *line)
{
    char name[256];
    sscanf(line, "%255s", name);
    bool condition = strstr(line, " condition") != NULL;
    bool handwritten = strstr(line, " handwritten") != NULL;
    char file[300];

    lam_module *m = NULL;
    snprintf(file, sizeof file, "%s.lam", name);
    lam_status st = lam_model_load(mt_fixture(file), &m);
    cr_assert_eq(st, LAM_OK, "%s: %s", name, lam_last_error());
    cr_expect_not(lam_module_is_training(m), "%s: a loaded model is in eval mode", name);

    if (!handwritten) { /* repr(model) reads back to the same repr */
        size_t len;
        char *text = mt_read_file(mt_fixture(file), &len);
        char *repr = lam_module_repr(m);
        cr_assert(text && repr);
        if (len && text[len - 1] == '\n')
            text[len - 1] = '\0';
        cr_expect_str_eq(repr, text, "%s: repr differs", name);
        lam_free(repr);
        free(text);
    }

    snprintf(file, sizeof file, "%s.safetensors", name);
    lam_incompatible_keys keys;
    st = lam_model_load_weights(m, mt_fixture(file), true, &keys);
    cr_assert_eq(st, LAM_OK, "%s: %s", name, lam_last_error());
    cr_expect_eq(keys.n_missing + keys.n_unexpected, 0, "%s", name);
    lam_incompatible_keys_clear(&keys);

    lam_tensor *x, *want, *got = NULL;
    snprintf(file, sizeof file, "%s.input.npy", name);
    cr_assert_eq(lam_npy_load(mt_fixture(file), &x), LAM_OK, "%s", lam_last_error());
    snprintf(file, sizeof file, "%s.output.npy", name);
    cr_assert_eq(lam_npy_load(mt_fixture(file), &want), LAM_OK, "%s", lam_last_error());
    st = lam_module_forward_args(m, x, &condition, &got);
    cr_assert_eq(st, LAM_OK, "%s: forward: %s", name, lam_last_error());
    double max_abs, excess = mt_excess(got, want, &max_abs);
    cr_expect(excess <= 0, "%s: max abs error %g beyond 1e-5 + 1e-5|expected|", name, max_abs);
    lam_tensor_release(got);
    lam_tensor_release(want);
    lam_tensor_release(x);
    lam_module_release(m);
}

Test(model_fixtures, every_case_matches_pytorch)
{
    char **lines;
    size_t n = mt_read_lines(mt_fixture("MANIFEST"), &lines);
    cr_assert_geq(n, 20, "MANIFEST lists %zu cases", n);
    for (size_t i = 0; i < n; i++)
        run_case(lines[i]);
    mt_free_lines(lines);
}

/* The ModuleList run "(0-2): 3 x Linear" makes three modules with their own
 * parameters, loaded from three sets of keys. */
Test(model_fixtures, run_copies_are_independent)
{
    lam_module *m;
    cr_assert_eq(lam_model_load(mt_fixture("run_compressed.lam"), &m), LAM_OK, "%s",
                 lam_last_error());
    cr_assert_eq(lam_module_num_children(m), 4);
    lam_state_dict *sd;
    cr_assert_eq(lam_module_named_parameters(m, true, true, &sd), LAM_OK);
    cr_expect_eq(lam_state_dict_len(sd), 6); /* 3 x (weight, bias), none shared */
    cr_expect_str_eq(lam_state_dict_key(sd, 4), "2.weight");
    lam_state_dict_free(sd);
    lam_module_release(m);
}

/* A file from safetensors.torch.save_model() keeps one name per tied group;
 * a module that shares the tensor takes it under both names. */
Test(model_fixtures, tied_weights_from_save_model)
{
    lam_module *lin, *relu, *seq;
    cr_assert_eq(lam_linear_create(&lin, 6, 6, true), LAM_OK);
    cr_assert_eq(lam_relu_create(&relu), LAM_OK);
    lam_module *mods[3] = {lin, relu, lin};
    cr_assert_eq(lam_sequential_create(&seq, 3, mods), LAM_OK);
    lam_module_release(lin);
    lam_module_release(relu);
    lam_module_eval(seq);

    lam_incompatible_keys keys;
    lam_status st = lam_model_load_weights(seq, mt_fixture("tied_save_model.safetensors"), true, &keys);
    cr_assert_eq(st, LAM_OK, "%s", lam_last_error());
    cr_expect_eq(keys.n_missing, 0);
    lam_incompatible_keys_clear(&keys);

    lam_tensor *x, *want, *got;
    cr_assert_eq(lam_npy_load(mt_fixture("tied.input.npy"), &x), LAM_OK);
    cr_assert_eq(lam_npy_load(mt_fixture("tied.output.npy"), &want), LAM_OK);
    cr_assert_eq(lam_module_forward(seq, x, &got), LAM_OK, "%s", lam_last_error());
    double max_abs;
    cr_expect(mt_excess(got, want, &max_abs) <= 0, "max abs error %g", max_abs);
    lam_tensor_release(got);
    lam_tensor_release(want);
    lam_tensor_release(x);
    lam_module_release(seq);
}

/* The same file for a model built from the .lam (two separate Linears):
 * nothing ties "2.*" to "0.*", so strict loading names the missing keys in
 * PyTorch's words; non-strict loading reports them and goes on. */
Test(model_fixtures, untied_model_reports_dropped_keys)
{
    lam_module *m;
    cr_assert_eq(lam_model_load(mt_fixture("tied.lam"), &m), LAM_OK, "%s", lam_last_error());
    const char *path = mt_fixture("tied_save_model.safetensors");
    lam_incompatible_keys keys;
    lam_status st = lam_model_load_weights(m, path, true, &keys);
    cr_assert_eq(st, LAM_ERR_STATE_DICT);
    cr_expect_eq(keys.n_missing + keys.n_unexpected, 0, "left empty on failure");
    cr_expect_null(keys.missing_keys);
    cr_expect(strstr(lam_last_error(), "Error(s) in loading state_dict for Sequential:\n\t"
                                       "Missing key(s) in state_dict: \"2.weight\", \"2.bias\". "),
              "%s", lam_last_error());
    st = lam_model_load_weights(m, path, false, &keys);
    cr_assert_eq(st, LAM_OK, "%s", lam_last_error());
    cr_assert_eq(keys.n_missing, 2);
    cr_expect_str_eq(keys.missing_keys[0], "2.weight");
    cr_expect_eq(keys.n_unexpected, 0);
    lam_incompatible_keys_clear(&keys);
    lam_module_release(m);
}

/* Wrong weights: every problem at once, PyTorch's wording, nothing changed. */
Test(model_fixtures, strict_load_reports_everything)
{
    lam_module *m;
    cr_assert_eq(lam_model_load(mt_fixture("mlp.lam"), &m), LAM_OK, "%s", lam_last_error());
    lam_status st = lam_model_load_weights(m, mt_fixture("layernorm.safetensors"), true, NULL);
    cr_assert_eq(st, LAM_ERR_STATE_DICT);
    const char *msg = lam_last_error();
    cr_expect(strstr(msg, "layernorm.safetensors: Error(s) in loading state_dict for Sequential:"),
              "%s", msg);
    cr_expect(strstr(msg, "Missing key(s) in state_dict: \"2.weight\", \"2.bias\". "), "%s", msg);
    cr_expect(strstr(msg, "Unexpected key(s) in state_dict: "), "%s", msg);
    cr_expect(strstr(msg, "size mismatch for 0.weight: copying a param with shape "
                          "torch.Size([64, 10]) from checkpoint, the shape in current model is "
                          "torch.Size([50, 10])."),
              "%s", msg);
    lam_module_release(m);
}

Test(model_fixtures, weights_errors)
{
    lam_module *m;
    cr_assert_eq(lam_model_load(mt_fixture("mlp.lam"), &m), LAM_OK, "%s", lam_last_error());
    cr_expect_eq(lam_model_load_weights(m, mt_fixture("no-such-file.safetensors"), true, NULL),
                 LAM_ERR_IO);
    cr_expect_eq(lam_model_load_weights(m, mt_fixture("mlp.lam"), true, NULL), LAM_ERR_FORMAT);
    cr_expect_eq(lam_model_load_weights(NULL, mt_fixture("mlp.safetensors"), true, NULL),
                 LAM_ERR_INVALID_ARGUMENT);
    cr_expect_eq(lam_model_load_weights(m, NULL, true, NULL), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_eq(lam_model_load_state_dict(m, NULL, true, NULL), LAM_ERR_INVALID_ARGUMENT);
    lam_module_release(m);
}
