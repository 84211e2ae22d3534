/* .lam model files — the lexer: bytes to tokens.
 *
 * Python's literal syntax, as much of it as reprs and constructor calls use:
 * identifiers, decimal integers (never negative: '-' is a token of its own),
 * floats (0.5, 1e-05, .5), strings in ' or " with the common escapes, the
 * punctuation ( ) [ ] , : = - + . and '#' comments.  Every rejection names the
 * line and column. */
#include "runtime/model/model_internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lexer {
    lam__arena *a;
    const char *src, *file;
    size_t len, i;
    int line;
    size_t line_start;
    lam__token *toks;
    size_t n, cap;
} lexer;

static lam__pos pos_at(const lexer *L, size_t i)
{
    return (lam__pos){L->line, (int)(i - L->line_start) + 1};
}

static bool is_ident_start(int c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_ident(int c) { return is_ident_start(c) || is_digit(c); }

static const char *char_str(unsigned char c, char *buf, size_t size)
{
    if (c == 0)
        snprintf(buf, size, "NUL byte");
    else if (c >= 0x20 && c < 0x7f)
        snprintf(buf, size, "character '%c'", c);
    else
        snprintf(buf, size, "byte 0x%02x", c);
    return buf;
}

static lam__token *push(lexer *L, lam__tok_kind kind, size_t start, bool nl)
{
    if (L->n == L->cap) {
        size_t cap = L->cap ? L->cap * 2 : 256;
        lam__token *t = lam__arena_alloc(L->a, cap * sizeof *t);
        if (!t)
            return NULL;
        if (L->n)
            memcpy(t, L->toks, L->n * sizeof *t);
        L->toks = t;
        L->cap = cap;
    }
    lam__token *t = &L->toks[L->n++];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->pos = pos_at(L, start);
    t->nl_before = nl;
    t->text = L->src + start;
    return t;
}

static lam_status lex_number(lexer *L, lam__token *t)
{
    const char *s = L->src;
    size_t start = L->i, i = L->i;
    bool is_float = false;
    while (i < L->len && is_digit(s[i]))
        i++;
    if (i < L->len && s[i] == '.') {
        is_float = true;
        i++;
        while (i < L->len && is_digit(s[i]))
            i++;
    }
    if (i < L->len && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < L->len && (s[j] == '+' || s[j] == '-'))
            j++;
        if (j < L->len && is_digit(s[j])) {
            is_float = true;
            i = j;
            while (i < L->len && is_digit(s[i]))
                i++;
        }
    }
    size_t n = i - start;
    if (n > LAM__MODEL_MAX_TOKEN)
        return lam__model_error(LAM_ERR_FORMAT, L->file, t->pos,
                                "number literal too long (more than %d characters)",
                                LAM__MODEL_MAX_TOKEN);
    if (i < L->len && (is_ident(s[i]) || s[i] == '.'))
        return lam__model_error(LAM_ERR_FORMAT, L->file, t->pos, "invalid number literal '%.*s'",
                                (int)(n + 1 > 40 ? 40 : n + 1), s + start);
    t->len = n;
    L->i = i;
    if (!is_float) {
        int64_t v = 0;
        for (size_t k = start; k < i && !t->too_large; k++) {
            int d = s[k] - '0';
            if (v > (INT64_MAX - d) / 10)
                t->too_large = true; /* the parser decides: a name or an error */
            else
                v = v * 10 + d;
        }
        t->kind = TOK_INT;
        t->ival = v;
        return LAM_OK;
    }
    char buf[LAM__MODEL_MAX_TOKEN + 1];
    memcpy(buf, s + start, n);
    buf[n] = '\0';
    errno = 0;
    char *end;
    double v = strtod(buf, &end);
    if (end != buf + n)
        return lam__model_error(LAM_ERR_FORMAT, L->file, t->pos, "invalid number literal '%.40s'",
                                buf);
    if (errno == ERANGE && (v > 1.0 || v < -1.0))
        return lam__model_error(LAM_ERR_FORMAT, L->file, t->pos,
                                "float literal '%.40s' is out of range", buf);
    t->kind = TOK_FLOAT;
    t->fval = v;
    return LAM_OK;
}

static lam_status lex_string(lexer *L, lam__token *t)
{
    const char *s = L->src;
    char q = s[L->i];
    size_t i = L->i + 1, n = 0;
    char *buf = lam__arena_alloc(L->a, LAM__MODEL_MAX_STRING + 1);
    if (!buf)
        return lam__oom("model file");
    for (;;) {
        if (i >= L->len || s[i] == '\n')
            return lam__model_error(LAM_ERR_FORMAT, L->file, t->pos,
                                    "unterminated string (missing closing %c)", q);
        unsigned char c = (unsigned char)s[i];
        if (c == (unsigned char)q)
            break;
        if (c == 0)
            return lam__model_error(LAM_ERR_FORMAT, L->file, pos_at(L, i), "NUL byte in string");
        if (c == '\\') {
            if (i + 1 >= L->len)
                return lam__model_error(LAM_ERR_FORMAT, L->file, t->pos, "unterminated string");
            char e = s[i + 1];
            i += 2;
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case '\\': case '\'': case '"': c = (unsigned char)e; break;
            case 'x': {
                int h = i < L->len ? lam__hexval((unsigned char)s[i]) : -1;
                int l = i + 1 < L->len ? lam__hexval((unsigned char)s[i + 1]) : -1;
                if (h < 0 || l < 0 || (h == 0 && l == 0))
                    return lam__model_error(LAM_ERR_FORMAT, L->file, pos_at(L, i - 2),
                                            "invalid \\x escape in string");
                c = (unsigned char)(h * 16 + l);
                i += 2;
                break;
            }
            default:
                return lam__model_error(LAM_ERR_FORMAT, L->file, pos_at(L, i - 2),
                                        "unsupported escape '\\%c' in string",
                                        e >= 0x20 && e < 0x7f ? e : '?');
            }
        } else {
            i++;
        }
        if (n == LAM__MODEL_MAX_STRING)
            return lam__model_error(LAM_ERR_FORMAT, L->file, t->pos,
                                    "string literal too long (more than %d characters)",
                                    LAM__MODEL_MAX_STRING);
        buf[n++] = (char)c;
    }
    buf[n] = '\0';
    t->kind = TOK_STRING;
    t->sval = buf;
    t->len = i + 1 - L->i;
    L->i = i + 1;
    return LAM_OK;
}

static lam_status lex_one(lexer *L, bool nl)
{
    const char *s = L->src;
    size_t start = L->i;
    unsigned char c = (unsigned char)s[start];
    static const char punct[] = "()[],:=-+.";
    static const lam__tok_kind punct_kind[] = {TOK_LPAREN, TOK_RPAREN, TOK_LBRACKET, TOK_RBRACKET,
                                              TOK_COMMA, TOK_COLON, TOK_EQUALS, TOK_MINUS,
                                              TOK_PLUS, TOK_DOT};
    lam__token *t = push(L, TOK_EOF, start, nl);
    if (!t)
        return lam__oom("model file");
    if (is_ident_start(c)) {
        size_t i = start;
        while (i < L->len && is_ident(s[i]))
            i++;
        if (i - start > LAM__MODEL_MAX_TOKEN)
            return lam__model_error(LAM_ERR_FORMAT, L->file, t->pos,
                                    "identifier too long (more than %d characters)",
                                    LAM__MODEL_MAX_TOKEN);
        t->kind = TOK_IDENT;
        t->len = i - start;
        t->sval = lam__arena_strndup(L->a, s + start, t->len);
        L->i = i;
        return t->sval ? LAM_OK : lam__oom("model file");
    }
    if (is_digit(c) || (c == '.' && start + 1 < L->len && is_digit(s[start + 1])))
        return lex_number(L, t);
    if (c == '\'' || c == '"')
        return lex_string(L, t);
    const char *p = c ? strchr(punct, c) : NULL;
    if (p) {
        t->kind = punct_kind[p - punct];
        t->len = 1;
        L->i++;
        return LAM_OK;
    }
    char buf[32];
    return lam__model_error(LAM_ERR_FORMAT, L->file, t->pos, "unexpected %s",
                            char_str(c, buf, sizeof buf));
}

lam_status lam__model_lex(lam__arena *a, const char *src, size_t len, const char *file,
                          lam__lexed *out)
{
    lexer L = {.a = a, .src = src, .file = file, .len = len, .line = 1};
    if (len >= 3 && memcmp(src, "\xEF\xBB\xBF", 3) == 0) /* UTF-8 byte order mark */
        L.i = L.line_start = 3;
    bool nl = true;
    while (L.i < L.len) {
        char c = src[L.i];
        if (c == '\n') {
            L.i++;
            L.line++;
            L.line_start = L.i;
            nl = true;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            L.i++;
        } else if (c == '#') {
            while (L.i < L.len && src[L.i] != '\n')
                L.i++;
        } else {
            lam_status st = lex_one(&L, nl);
            if (st)
                return st;
            nl = false;
        }
    }
    lam__token *t = push(&L, TOK_EOF, L.i, nl);
    if (!t)
        return lam__oom("model file");
    out->toks = L.toks;
    out->n = L.n;
    return LAM_OK;
}

const char *lam__tok_describe(const lam__token *t, char *buf, size_t size)
{
    switch (t->kind) {
    case TOK_EOF: snprintf(buf, size, "end of file"); break;
    case TOK_IDENT: snprintf(buf, size, "'%.60s'", t->sval); break;
    case TOK_INT: case TOK_FLOAT: snprintf(buf, size, "number %.*s", (int)(t->len > 40 ? 40 : t->len), t->text); break;
    case TOK_STRING: snprintf(buf, size, "string '%.40s'", t->sval); break;
    default: snprintf(buf, size, "'%c'", t->text[0]); break;
    }
    return buf;
}
