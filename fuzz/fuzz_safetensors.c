/* libFuzzer target: lam_safetensors_parse on arbitrary bytes.
 *
 * Build and run (see fuzz/local.mk):
 *   ../configure --enable-fuzzing --disable-shared --disable-openmp CC=clang-14
 *   make fuzz/fuzz_safetensors
 *   ./fuzz/fuzz_safetensors -max_total_time=600 ../tests/io/corpus/safetensors
 *
 * Every input must give LAM_OK or an error status with a message; a valid
 * dict is walked (keys and every element read) so that ASan sees any tensor
 * whose shape and data disagree, then freed. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lamina/lamina.h>
#include <lamina/io.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile float sink; /* keeps the optimiser from discarding results */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lam_state_dict *sd = NULL;
    lam_status st = lam_safetensors_parse(data, size, &sd);
    if (st != LAM_OK) {
        if (sd != NULL || lam_last_error()[0] == '\0')
            abort(); /* contract: *out NULL and a message on failure */
        return 0;
    }
    for (size_t i = 0; i < lam_state_dict_len(sd); i++) {
        const lam_tensor *t = lam_state_dict_tensor(sd, i);
        if (strlen(lam_state_dict_key(sd, i)) > size)
            abort();
        /* every element, of whichever type the file gave */
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
    }
    lam_state_dict_free(sd);
    return 0;
}
