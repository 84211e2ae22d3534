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
    /* every element, of whichever type the file gave (ASan sees a tensor
     * whose shape and data disagree) */
    const int64_t n = lam_tensor_numel(t);
    switch (lam_tensor_dtype(t)) {
    case LAM_INT64:
        for (int64_t k = 0; k < n; k++)
            sink += (float)lam_tensor_cdata_i64(t)[k];
        break;
    case LAM_BOOL:
        for (int64_t k = 0; k < n; k++)
            sink += lam_tensor_cdata_bool(t)[k];
        break;
    default:
        for (int64_t k = 0; k < n; k++)
            sink += lam_tensor_cdata(t)[k];
    }
    lam_tensor_release(t);
    return 0;
}
