/* lamina io — a small strict JSON parser (RFC 8259) for file headers.
 *
 * Strict: no comments, no trailing commas, no leading zeros, no raw control
 * characters in strings, no lone surrogates in \u escapes, only space, tab,
 * CR and LF as whitespace, nothing but whitespace after the value.  Objects
 * with a repeated key are rejected (RFC 8259 leaves them undefined; serde
 * keeps the last, which lets two readers disagree).  Nesting is limited to
 * LAM__JSON_MAX_DEPTH.  The input must already be valid UTF-8
 * (lam__utf8_valid).  All nodes live in one arena freed by lam__json_free. */
#ifndef LAMINA_IO_JSON_H
#define LAMINA_IO_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LAM__JSON_MAX_DEPTH 128

typedef enum lam__json_type {
    LAM__JSON_NULL,
    LAM__JSON_FALSE,
    LAM__JSON_TRUE,
    LAM__JSON_NUMBER,
    LAM__JSON_STRING,
    LAM__JSON_ARRAY,
    LAM__JSON_OBJECT,
} lam__json_type;

typedef struct lam__json lam__json;

typedef struct lam__json_member {
    const char *key; /* decoded, NUL-terminated; may contain NUL (key_len) */
    size_t key_len;
    lam__json *value;
} lam__json_member;

struct lam__json {
    lam__json_type type;
    size_t offset; /* byte offset of the value in the text, for messages */
    union {
        struct {
            const char *s; /* decoded, NUL-terminated; may contain NUL (len) */
            size_t len;
        } str;
        struct {
            const char *text; /* the literal as written */
            size_t len;
            bool is_uint; /* a plain non-negative integer that fits in u64 */
            uint64_t u;
        } num;
        struct {
            lam__json **items;
            size_t n;
        } arr;
        struct {
            lam__json_member *members; /* in document order */
            size_t n;
        } obj;
    } v;
};

typedef struct lam__json_doc lam__json_doc;

typedef enum lam__json_result {
    LAM__JSON_OK = 0,
    LAM__JSON_SYNTAX = 1, /* err holds "at byte N: what" */
    LAM__JSON_NOMEM = 2,
} lam__json_result;

/* Parse text[0..len).  On LAM__JSON_OK *doc owns every node and *root is the
 * top value; on failure *doc and *root are NULL and err (if errsize > 0)
 * holds a message such as "at byte 17: expected ',' or '}' in object". */
lam__json_result lam__json_parse(const char *text, size_t len, lam__json_doc **doc,
                                 lam__json **root, char *err, size_t errsize);
void lam__json_free(lam__json_doc *doc);

/* The member called key (a NUL-free C string) or NULL. */
const lam__json *lam__json_get(const lam__json *obj, const char *key);

/* Strict UTF-8 (no overlongs, no surrogates, max U+10FFFF).  Returns true or
 * sets *bad to the offset of the first invalid byte. */
bool lam__utf8_valid(const unsigned char *s, size_t len, size_t *bad);

#endif
