/* runtime/model — .lam model files (the printed form of a PyTorch model)
 * and weight loading; the top of runtime/, using every folder before it
 * (types through plugin/'s registry, containers through nn).  This header:
 * arena, tokens, syntax tree.
 *
 * Pipeline: lexer.c (bytes -> token array) -> parser.c (tokens -> tree, all
 * limits on size and depth) -> builder.c (tree -> modules through the
 * registry and the container API).  Everything the first two allocate lives
 * in one arena freed at the end, so error paths never leak. */
#ifndef LAMINA_MODEL_INTERNAL_H
#define LAMINA_MODEL_INTERNAL_H

#include "runtime/module/module.h"
#include "lamina/model.h"
#include "lamina/registry.h"

#define LAM__MODEL_MAX_TOKEN 1024   /* identifier / number length */
#define LAM__MODEL_MAX_STRING 4096  /* string literal length */

/* ---- arena ---- */
typedef struct lam__arena_block lam__arena_block;
typedef struct lam__arena {
    lam__arena_block *head;
    bool failed;
} lam__arena;
void *lam__arena_alloc(lam__arena *a, size_t size); /* zeroed; NULL on OOM */
char *lam__arena_strndup(lam__arena *a, const char *s, size_t n);
void lam__arena_free(lam__arena *a);

/* ---- source positions and errors ---- */
typedef struct lam__pos {
    int line, col; /* 1-based; col counts bytes */
} lam__pos;

/* Sets the thread's error to "FILE:LINE:COL: message" and returns st. */
lam_status lam__model_error(lam_status st, const char *file, lam__pos pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefixes the thread's current error with "FILE:LINE:COL: "; returns st. */
lam_status lam__model_rethrow(lam_status st, const char *file, lam__pos pos);

/* ---- tokens ---- */
typedef enum lam__tok_kind {
    TOK_EOF = 0,
    TOK_IDENT,   /* Linear, True, inf, x */
    TOK_INT,     /* 10 (never negative: '-' is its own token) */
    TOK_FLOAT,   /* 1e-05, 0.5 */
    TOK_STRING,  /* 'none' */
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_LBRACKET,
    TOK_RBRACKET,
    TOK_COMMA,
    TOK_COLON,
    TOK_EQUALS,
    TOK_MINUS,
    TOK_PLUS,
    TOK_DOT,
} lam__tok_kind;

typedef struct lam__token {
    lam__tok_kind kind;
    lam__pos pos;
    bool nl_before;     /* a newline separates it from the previous token */
    const char *text;   /* points into the source (for messages) */
    size_t len;
    int64_t ival;
    bool too_large;     /* TOK_INT beyond int64 (fine as a child name, an error as a value) */
    double fval;
    char *sval;         /* identifier or unescaped string, NUL-terminated (arena) */
} lam__token;

typedef struct lam__lexed {
    lam__token *toks;   /* ends with TOK_EOF */
    size_t n;
} lam__lexed;

lam_status lam__model_lex(lam__arena *a, const char *src, size_t len, const char *file,
                          lam__lexed *out);
/* "')'", "identifier 'Foo'", "end of file" ... into buf */
const char *lam__tok_describe(const lam__token *t, char *buf, size_t size);

/* ---- syntax tree ---- */
typedef enum lam__node_kind {
    NODE_NONE = 0,
    NODE_BOOL,
    NODE_INT,
    NODE_FLOAT,
    NODE_STRING,
    NODE_TUPLE, /* (a, b) or [a, b] */
    NODE_CALL,  /* Type(items...) */
} lam__node_kind;

typedef enum lam__item_kind {
    ITEM_POSITIONAL = 0, /* value */
    ITEM_KEYWORD,        /* name=value */
    ITEM_CHILD,          /* (name): Module(...) */
    ITEM_RUN,            /* (first-last): count x Module(...) */
} lam__item_kind;

typedef struct lam__node lam__node;

typedef struct lam__item {
    lam__item_kind kind;
    lam__pos pos;
    const char *name;     /* keyword or child name */
    int64_t first, count; /* ITEM_RUN */
    lam__node *value;
    const char *src;      /* source text of the value (for matching messages) */
    size_t src_len;
} lam__item;

struct lam__node {
    lam__node_kind kind;
    lam__pos pos;
    bool b;
    int64_t i;
    double f;
    const char *s;        /* string value; call: type name as written ("nn.Linear") */
    bool bare;            /* a string written without quotes: padding=same, as
                             PyTorch's reprs print some (builder.c decides) */
    lam__node **elems;    /* tuple elements */
    size_t n_elems;
    bool list;            /* tuple written as [a, b] */
    lam__item *items;     /* call items, in file order */
    size_t n_items;
    lam__pos close_pos;   /* of the call's ')' */
};

typedef struct lam__limits {
    int max_depth;
    int64_t max_modules;
    int64_t max_params;
} lam__limits;

/* Parse one module call followed by end of file.  Counts modules (runs
 * expanded) against limits->max_modules. */
lam_status lam__model_parse_tree(lam__arena *a, const lam__lexed *lx, const char *file,
                                 const lam__limits *limits, lam__node **root);

/* Build the module tree (new reference in *out). */
lam_status lam__model_build(lam__arena *a, const lam__node *root, const char *file, const lam__limits *limits,
                            lam_module **out);

/* LAM_OK when `type` is registered, after asking the plugin search path if
 * needed; otherwise an error at pos with a suggestion (resolve.c). */
lam_status lam__model_resolve_type(const char *type, const char *file, lam__pos pos);
/* Load the plugin that provides `type` from the search path: LAM_OK,
 * LAM_ERR_KEY when none does, another status when one fails to load. */
lam_status lam__model_find_plugin_type(const char *type);

/* Levenshtein distance, capped: returns > cap as soon as it is known. */
size_t lam__edit_distance(const char *a, const char *b, size_t cap);

/* The builder, for the types built by their own code (attention_types.c):
 * build a call (a child) as the builder does; the file name for messages;
 * a call's type without its "nn." / "torch.nn." prefix. */
typedef struct lam__builder lam__builder;
lam_status lam__model_build_call(lam__builder *B, const lam__node *call, lam_module **out);
const char *lam__model_builder_file(const lam__builder *B);
const char *lam__model_type_of(const lam__node *call);

/* MultiheadAttention, NonDynamicallyQuantizableLinear,
 * TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder,
 * TransformerDecoder and Transformer (attention_types.c): as constructor
 * calls, or as PyTorch prints them, the arguments the repr leaves out
 * recovered from the children, written in the file, or left unknown for
 * lam_model_set_arg. */
bool lam__model_is_attention_type(const char *type);
lam_status lam__model_build_attention(lam__builder *B, const lam__node *call, const char *type,
                                      lam_module **out);
/* attention_args.c: set `bit` (LAM__HID_*, runtime/layers/layers.h) from v
 * on m and every module under it that takes it (path: m's, for messages).
 * fill: only where a module does not know it, and one that knows another
 * value is an error; else every one is set.  *count: how many took it. */
struct lam__hidden;
lam_status lam__model_apply_hidden(lam_module *m, const char *path, unsigned bit,
                                   const struct lam__hidden *v, bool fill, size_t *count);
/* "num_heads" / "nhead", "batch_first", "norm_first", "activation" -> its
 * LAM__HID_* bit, else 0. */
unsigned lam__model_hidden_bit(const char *name);
/* Before a state_dict loads: a MultiheadAttention read in its printed form
 * without kdim, vdim or add_bias_kv takes them from the dict's keys
 * (q/k/v_proj_weight, bias_k), rebuilt in its parent when they differ from
 * PyTorch's defaults (the model itself, when it is one, cannot be: an error
 * says what to write). */
lam_status lam__model_fit_attention(lam_module *m, const lam_state_dict *sd);

#endif
