/* libFuzzer target: lam_npy_parse on arbitrary bytes (see fuzz_safetensors.c
 * for the build recipe; corpus: tests/io/corpus/npy). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <lamina/lamina.h>
#include <lamina/io.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile float sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lam_tensor *t = NULL;
    lam_status st = lam_npy_parse(data, size, &t);
    if (st != LAM_OK) {
        if (t != NULL || lam_last_error()[0] == '\0')
            abort();
        return 0;
    }
    for (int64_t k = 0; k < lam_tensor_numel(t); k++)
        sink += lam_tensor_cdata(t)[k];
    lam_tensor_release(t);
    return 0;
}
