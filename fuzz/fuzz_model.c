/* libFuzzer target for .lam model files: lex, parse, build, then check that
 * the model's repr reads back to the same repr (a differential property of
 * the parser and the printer).
 *
 *   see fuzz/local.mk for the build; then
 *   mkdir -p corpus-model
 *   ./fuzz/fuzz_model -max_total_time=600 -dict=../fuzz/model.dict corpus-model ../tests/model/corpus
 *
 * Limits are tightened (modules, parameters) so that valid-but-huge models
 * are refused quickly instead of allocating; the depth limit stays at the
 * default so that it is fuzzed too. */
#include <lamina/lamina.h>
#include <lamina/model.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lam_model_options o = {.max_modules = 2000, .max_params = 1 << 20};
    lam_module *m = NULL;
    lam_status st = lam_model_parse_ex((const char *)data, size, "fuzz.lam", &o, &m);
    sink += strlen(lam_last_error());
    if (st != LAM_OK)
        return 0;
    char *repr = lam_module_repr(m);
    if (repr) {
        lam_module *m2 = NULL;
        if (lam_model_parse_ex(repr, strlen(repr), "repr.lam", &o, &m2) != LAM_OK)
            __builtin_trap(); /* a printed model must read back */
        char *repr2 = lam_module_repr(m2);
        if (repr2 && strcmp(repr, repr2) != 0)
            __builtin_trap(); /* ... to the same model */
        sink += repr2 ? strlen(repr2) : 0;
        lam_free(repr2);
        lam_module_release(m2);
    }
    lam_free(repr);
    sink += (size_t)lam_module_num_parameters(m);
    lam_module_release(m);
    return 0;
}
