/* lamina — model description files (.lam) and weights for them.
 *
 * A .lam file holds the text PyTorch prints for a model, as is:
 *
 *     Sequential(
 *       (0): Linear(in_features=10, out_features=50, bias=True)
 *       (1): ReLU()
 *       (2): Linear(in_features=50, out_features=2, bias=True)
 *     )
 *
 * or constructor calls:  Sequential(Linear(10, 50), ReLU(), Linear(50, 2))
 * (the two may be mixed; '#' starts a comment).  Named children
 * "(fc1): Linear(...)", nested containers, custom module types served by a
 * plugin and ModuleList runs "(0-31): 32 x Linear(...)" (32 independent
 * copies) are all accepted.  docs/model-format.md describes the grammar.
 *
 * Modules built from a file are put in eval mode (inference: Dropout is the
 * identity).  Call lam_module_train(m, true) to change that.
 *
 * Errors (LAM_ERR_FORMAT for syntax and limits, the registry's status for
 * unknown types and bad arguments, LAM_ERR_IO for unreadable files) carry a
 * message that starts with FILE:LINE:COLUMN of the offending token:
 *     model.lam:3:14: unknown layer type 'Swsh' (did you mean 'Swish'?)
 *
 * Threads: lam_model_load, _parse and _parse_ex may run on several threads
 * at once (each builds its own modules; a plugin a file needs is loaded under
 * the plugin loader's lock).  lam_model_load_state_dict and
 * lam_model_load_weights change the module's parameters: no other thread may
 * use that module meanwhile (<lamina/module.h>). */
#ifndef LAMINA_MODEL_H
#define LAMINA_MODEL_H

#include "common.h"
#include "module.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LAM_MODEL_DEFAULT_MAX_DEPTH 256
#define LAM_MODEL_DEFAULT_MAX_MODULES 100000
#define LAM_MODEL_DEFAULT_MAX_PARAMS ((int64_t)1 << 32)
#define LAM_MODEL_MAX_FILE_SIZE ((size_t)64 << 20)

/* Limits for reading untrusted files.  A zero field takes the default. */
typedef struct lam_model_options {
    int max_depth;       /* nesting of calls, tuples and lists (256); the module tree
                            is also limited to LAM_MAX_MODULE_DEPTH modules */
    int64_t max_modules; /* modules created, ModuleList runs expanded (100,000) */
    int64_t max_params;  /* parameters in the whole model (2^32 floats = 16 GiB), counted
                            before they are allocated, plugin types' included */
    bool syntax_only;    /* parse and check the syntax, create nothing (*out stays NULL) */
} lam_model_options;

/* Read and build the model in the file at `path` (at most 64 MiB).  On
 * success *out is a new reference (release it); on failure *out is NULL. */
LAM_API lam_status lam_model_load(const char *path, lam_module **out);

/* The same from text in memory (need not be NUL-terminated; NUL bytes are an
 * error).  `filename` is used in messages; NULL gives "<string>". */
LAM_API lam_status lam_model_parse(const char *text, size_t len, const char *filename,
                                   lam_module **out);

/* lam_model_parse with explicit limits (opts may be NULL for the defaults). */
LAM_API lam_status lam_model_parse_ex(const char *text, size_t len, const char *filename,
                                      const lam_model_options *opts, lam_module **out);

/* Load weights into `m` the way load_state_dict(sd, strict) does, also
 * accepting files written by safetensors.torch.save_model(): a key of the
 * module that the dict lacks is satisfied when the module shares that very
 * tensor with a key the dict has (tied weights).  A tensor present under two
 * names loads into both places.  Strict: every missing key, unexpected key
 * and size mismatch is reported together, in PyTorch's wording, and nothing
 * is changed.  Not strict: missing/unexpected keys are returned in `keys`
 * (may be NULL; free with lam_incompatible_keys_clear) and the rest loads;
 * size mismatches still fail.  On failure `keys` is left empty (the message
 * lists the keys). */
LAM_API lam_status lam_model_load_state_dict(lam_module *m, const lam_state_dict *sd, bool strict,
                                             lam_incompatible_keys *keys);

/* lam_model_load_state_dict on the tensors of a safetensors file. */
LAM_API lam_status lam_model_load_weights(lam_module *m, const char *safetensors_path, bool strict,
                                          lam_incompatible_keys *keys);

/* Arguments PyTorch's repr does not print.  A MultiheadAttention,
 * TransformerEncoderLayer, TransformerDecoderLayer or Transformer read from
 * a model file in PyTorch's printed form does not know num_heads (nhead),
 * batch_first, norm_first or activation unless the file writes them in its
 * call (docs/model-format.md).  lam_model_set_arg sets one: name is
 * "PATH.ARG" or "ARG" (PATH a dotted submodule path, as in state_dict keys;
 * without one, the whole model), ARG one of num_heads / nhead (the same
 * value: MultiheadAttention's num_heads, the layers' and Transformer's
 * nhead), batch_first, norm_first, activation; value "2", "True"/"False",
 * "relu"/"gelu".  It is set on the module at PATH and on every module
 * under it that takes it, replacing what they had.  Errors:
 * LAM_ERR_INVALID_ARGUMENT (no module there takes it; a bad value;
 * num_heads that does not divide embed_dim), LAM_ERR_KEY (no such path). */
LAM_API lam_status lam_model_set_arg(lam_module *m, const char *name, const char *value);
/* LAM_OK when every module of m knows the arguments its forward needs;
 * else LAM_ERR_INVALID_ARGUMENT with a message naming the first module's
 * path and type, the missing arguments and the ways to give them.  (A
 * forward that needs an unknown one fails too, without the path.) */
LAM_API lam_status lam_model_check_args(const lam_module *m);

#ifdef __cplusplus
}
#endif
#endif
