/* .lam model files — the parser: tokens to a syntax tree.
 *
 *   file   := call EOF
 *   call   := NAME ('.' NAME)* '(' [item (sep item)* [',']] ')'
 *   item   := '(' NAME|INT ')' ':' call              named child (repr)
 *           | '(' INT '-' INT ')' ':' INT 'x' call   ModuleList run (repr)
 *           | NAME '=' value                         keyword argument
 *           | value                                  positional argument
 *   sep    := ',' | a line break (reprs separate children by newlines only)
 *   value  := INT | FLOAT | STRING | ('-'|'+') number | True | False | None
 *           | inf | nan | '(' ')' | '(' value ',' ')' | '(' value (',' value)+ [','] ')'
 *           | '(' value ')' | '[' [value (',' value)* [',']] ']' | call
 *
 * Nesting (calls, tuples, lists) is limited to limits->max_depth and the
 * number of modules (runs expanded) to limits->max_modules, so hostile files
 * fail fast with a message instead of exhausting the stack or memory. */
#include "runtime/model/model_internal.h"
#include <math.h>
#include <string.h>

typedef struct parser {
    lam__arena *a;
    const char *file;
    const lam__token *t;
    size_t n, k;
    const lam__limits *lim;
    int64_t modules;
} parser;

static const lam__token *peek(const parser *P, size_t ahead)
{
    size_t i = P->k + ahead;
    return &P->t[i < P->n ? i : P->n - 1];
}
static const lam__token *next(parser *P)
{
    const lam__token *t = peek(P, 0);
    if (P->k < P->n - 1)
        P->k++;
    return t;
}
static bool at(const parser *P, size_t ahead, lam__tok_kind kind) { return peek(P, ahead)->kind == kind; }

static lam_status expected(parser *P, const char *what)
{
    char buf[96];
    const lam__token *t = peek(P, 0);
    return lam__model_error(LAM_ERR_FORMAT, P->file, t->pos, "expected %s, got %s", what,
                            lam__tok_describe(t, buf, sizeof buf));
}

/* an integer literal used as a number must fit in int64 */
static lam_status check_int(parser *P, const lam__token *t)
{
    if (t->kind != TOK_INT || !t->too_large)
        return LAM_OK;
    return lam__model_error(LAM_ERR_FORMAT, P->file, t->pos,
                            "integer literal '%.*s' is too large (the limit is %lld)",
                            (int)(t->len > 40 ? 40 : t->len), t->text, (long long)INT64_MAX);
}

static lam__node *new_node(parser *P, lam__node_kind kind, lam__pos pos)
{
    lam__node *n = lam__arena_alloc(P->a, sizeof *n);
    if (n) {
        n->kind = kind;
        n->pos = pos;
    }
    return n;
}

/* Is the current token the value of a keyword argument "mode="? */
static bool mode_keyword(const parser *P)
{
    if (P->k < 2)
        return false;
    const lam__token *eq = &P->t[P->k - 1], *name = &P->t[P->k - 2];
    return eq->kind == TOK_EQUALS && name->kind == TOK_IDENT && strcmp(name->sval, "mode") == 0;
}

static lam_status parse_value(parser *P, int depth, int64_t mult, lam__node **out);
static lam_status parse_call(parser *P, int depth, int64_t mult, lam__node **out);

static lam_status too_deep(parser *P)
{
    return lam__model_error(LAM_ERR_FORMAT, P->file, peek(P, 0)->pos,
                            "nesting too deep (more than %d levels)", P->lim->max_depth);
}

/* '(' or '[' already current; elements up to the matching close */
static lam_status parse_tuple(parser *P, int depth, int64_t mult, lam__node **out)
{
    const lam__token *open = next(P);
    bool list = open->kind == TOK_LBRACKET;
    lam__tok_kind close = list ? TOK_RBRACKET : TOK_RPAREN;
    lam__node **elems = NULL;
    size_t n = 0, cap = 0;
    bool trailing_comma = false;
    while (!at(P, 0, close)) {
        lam__node *v;
        lam_status st = parse_value(P, depth + 1, mult, &v);
        if (st)
            return st;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 4;
            lam__node **e = lam__arena_alloc(P->a, nc * sizeof *e);
            if (!e)
                return lam__oom("model file");
            if (n)
                memcpy(e, elems, n * sizeof *e);
            elems = e;
            cap = nc;
        }
        elems[n++] = v;
        trailing_comma = false;
        if (at(P, 0, TOK_COMMA)) {
            next(P);
            trailing_comma = true;
        } else if (!at(P, 0, close)) {
            char what[80];
            snprintf(what, sizeof what, "',' or '%s' to close the %s opened at %d:%d",
                     list ? "]" : ")", list ? "list" : "tuple", open->pos.line, open->pos.col);
            return expected(P, what);
        }
    }
    next(P);
    if (!list && n == 1 && !trailing_comma) { /* (v) is just v */
        *out = elems[0];
        return LAM_OK;
    }
    lam__node *node = new_node(P, NODE_TUPLE, open->pos);
    if (!node)
        return lam__oom("model file");
    node->elems = elems;
    node->n_elems = n;
    node->list = list;
    *out = node;
    return LAM_OK;
}

static lam_status parse_value(parser *P, int depth, int64_t mult, lam__node **out)
{
    if (depth > P->lim->max_depth)
        return too_deep(P);
    const lam__token *t = peek(P, 0);
    lam__node *n = NULL;
    switch (t->kind) {
    case TOK_MINUS:
    case TOK_PLUS: {
        bool neg = t->kind == TOK_MINUS;
        const lam__token *v = peek(P, 1);
        bool inf = v->kind == TOK_IDENT && strcmp(v->sval, "inf") == 0;
        if (v->kind != TOK_INT && v->kind != TOK_FLOAT && !inf) {
            next(P);
            return expected(P, "a number after the sign");
        }
        lam_status st = check_int(P, v);
        if (st)
            return st;
        next(P);
        next(P);
        n = new_node(P, v->kind == TOK_INT ? NODE_INT : NODE_FLOAT, t->pos);
        if (!n)
            return lam__oom("model file");
        n->i = neg ? -v->ival : v->ival;
        n->f = inf ? (neg ? -INFINITY : INFINITY) : (neg ? -v->fval : v->fval);
        *out = n;
        return LAM_OK;
    }
    case TOK_INT:
    case TOK_FLOAT:
    case TOK_STRING: {
        lam_status st = check_int(P, t);
        if (st)
            return st;
        next(P);
        n = new_node(P, t->kind == TOK_INT ? NODE_INT : t->kind == TOK_FLOAT ? NODE_FLOAT : NODE_STRING,
                     t->pos);
        if (!n)
            return lam__oom("model file");
        n->i = t->ival;
        n->f = t->fval;
        n->s = t->sval;
        *out = n;
        return LAM_OK;
    }
    case TOK_LPAREN:
    case TOK_LBRACKET:
        return parse_tuple(P, depth, mult, out);
    case TOK_IDENT:
        /* a '(' on the next line starts a child item ("True\n  (0): ..." in a
         * repr with extra_repr and children), not a call */
        if (!(at(P, 1, TOK_LPAREN) && !peek(P, 1)->nl_before) && !at(P, 1, TOK_DOT)) {
            const char *s = t->sval;
            if (!strcmp(s, "True") || !strcmp(s, "False"))
                n = new_node(P, NODE_BOOL, t->pos), n ? n->b = s[0] == 'T' : 0;
            else if (!strcmp(s, "None"))
                n = new_node(P, NODE_NONE, t->pos);
            else if (!strcmp(s, "inf") || !strcmp(s, "nan"))
                n = new_node(P, NODE_FLOAT, t->pos), n ? n->f = s[0] == 'i' ? INFINITY : NAN : 0;
            else if (mode_keyword(P)) /* Upsample prints mode=nearest unquoted */
                n = new_node(P, NODE_STRING, t->pos), n ? n->s = s : 0;
            else
                return lam__model_error(LAM_ERR_FORMAT, P->file, t->pos,
                                        "unknown name '%.60s' (expected a value: a number, a "
                                        "string, True, False, None, a tuple or a module call)",
                                        s);
            if (!n)
                return lam__oom("model file");
            next(P);
            *out = n;
            return LAM_OK;
        }
        return parse_call(P, depth, mult, out);
    default:
        return expected(P, "a value");
    }
}

/* A keyword's value that is a bare name other than True/False/None/inf/nan
 * (PyTorch's Conv2d repr prints padding=same, padding_mode=reflect): a
 * string node marked bare, which the builder accepts only for an argument
 * that takes a string.  Returns false (nothing consumed) otherwise. */
static bool bare_name(parser *P, lam__node **out)
{
    const lam__token *t = peek(P, 0);
    if (t->kind != TOK_IDENT || !(at(P, 1, TOK_COMMA) || at(P, 1, TOK_RPAREN)))
        return false;
    static const char *const words[] = {"True", "False", "None", "inf", "nan"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strcmp(t->sval, words[i]))
            return false;
    lam__node *n = new_node(P, NODE_STRING, t->pos);
    if (!n)
        return false; /* parse_value reports it again, or fails the same way */
    n->s = t->sval;
    n->bare = true;
    next(P);
    *out = n;
    return true;
}

#define MAX_NAME_PARTS 8

/* The number of tokens of a child name with dashes, "(block1-0):" as
 * torchvision's RegNet names its blocks (IDENT or INT parts joined by '-'
 * with no space, the first an IDENT so that "(0-3): 4 x M" stays a run),
 * or 0. */
static size_t dashed_name(const parser *P)
{
    if (!at(P, 1, TOK_IDENT))
        return 0;
    size_t k = 1;
    while (k < 2 * MAX_NAME_PARTS && at(P, k + 1, TOK_MINUS) &&
           (at(P, k + 2, TOK_IDENT) || at(P, k + 2, TOK_INT))) {
        const lam__token *a = peek(P, k), *m = peek(P, k + 1), *b = peek(P, k + 2);
        if (a->text + a->len != m->text || m->text + m->len != b->text)
            return 0;
        k += 2;
    }
    return k > 1 && at(P, k + 1, TOK_RPAREN) && at(P, k + 2, TOK_COLON) ? k : 0;
}

/* Is the current '(' the start of "(name):", "(a-b):" or "(name-with-dashes):"? */
static int child_header(const parser *P)
{
    if (!at(P, 0, TOK_LPAREN) || !(at(P, 1, TOK_IDENT) || at(P, 1, TOK_INT)))
        return 0;
    if (at(P, 2, TOK_RPAREN) && at(P, 3, TOK_COLON))
        return 1;
    if (at(P, 1, TOK_INT) && at(P, 2, TOK_MINUS) && at(P, 3, TOK_INT) && at(P, 4, TOK_RPAREN) &&
        at(P, 5, TOK_COLON))
        return 2;
    if (dashed_name(P))
        return 3;
    return 0;
}

static lam_status parse_child(parser *P, int kind, int depth, int64_t mult, lam__item *it)
{
    size_t parts = kind == 3 ? dashed_name(P) : 1;
    next(P); /* ( */
    const lam__token *name = next(P);
    it->pos = name->pos;
    if (kind == 3) {
        const lam__token *end = name;
        for (size_t i = 1; i < parts; i++)
            end = next(P);
        it->kind = ITEM_CHILD;
        it->name = lam__arena_strndup(P->a, name->text,
                                      (size_t)(end->text + end->len - name->text));
        if (!it->name)
            return lam__oom("model file");
        next(P); /* ) */
        next(P); /* : */
        return parse_call(P, depth + 1, mult, &it->value);
    }
    if (kind == 1) {
        it->kind = ITEM_CHILD;
        it->name = lam__arena_strndup(P->a, name->text, name->len);
        if (!it->name)
            return lam__oom("model file");
        next(P); /* ) */
        next(P); /* : */
        return parse_call(P, depth + 1, mult, &it->value);
    }
    next(P); /* - */
    const lam__token *last = next(P);
    lam_status st = check_int(P, name);
    if (!st)
        st = check_int(P, last);
    if (st)
        return st;
    next(P); /* ) */
    next(P); /* : */
    it->kind = ITEM_RUN;
    it->first = name->ival;
    if (last->ival < name->ival)
        return lam__model_error(LAM_ERR_FORMAT, P->file, name->pos,
                                "invalid range (%lld-%lld): the end is before the start",
                                (long long)name->ival, (long long)last->ival);
    int64_t span;
    if (__builtin_sub_overflow(last->ival, name->ival, &span) ||
        __builtin_add_overflow(span, (int64_t)1, &span))
        return lam__model_error(LAM_ERR_FORMAT, P->file, name->pos,
                                "invalid range (%lld-%lld): too many children",
                                (long long)name->ival, (long long)last->ival);
    const lam__token *count = peek(P, 0);
    if (count->kind != TOK_INT || !at(P, 1, TOK_IDENT) || strcmp(peek(P, 1)->sval, "x") != 0)
        return expected(P, "'N x Module(...)' after a range of children");
    if ((st = check_int(P, count)) != LAM_OK)
        return st;
    if (count->ival != span)
        return lam__model_error(LAM_ERR_FORMAT, P->file, count->pos,
                                "range (%lld-%lld) holds %lld modules, but the count says %lld",
                                (long long)name->ival, (long long)last->ival, (long long)span,
                                (long long)count->ival);
    next(P);
    next(P);
    it->count = span;
    if (span > P->lim->max_modules)
        return lam__model_error(LAM_ERR_FORMAT, P->file, count->pos,
                                "%lld copies exceed the limit of %lld modules per model file",
                                (long long)span, (long long)P->lim->max_modules);
    int64_t m = mult > P->lim->max_modules / span ? P->lim->max_modules + 1 : mult * span;
    return parse_call(P, depth + 1, m, &it->value);
}

static lam_status parse_call(parser *P, int depth, int64_t mult, lam__node **out)
{
    if (depth > P->lim->max_depth)
        return too_deep(P);
    const lam__token *t = peek(P, 0);
    if (t->kind != TOK_IDENT)
        return expected(P, "a module type such as Linear(...)");
    /* dotted type name: nn.Linear, torch.nn.Linear */
    size_t len = 0;
    next(P);
    while (at(P, 0, TOK_DOT) && at(P, 1, TOK_IDENT)) {
        next(P);
        next(P);
    }
    const lam__token *last = peek(P, 0) - 1;
    len = (size_t)(last->text + last->len - t->text);
    if (len > LAM__MODEL_MAX_TOKEN)
        return lam__model_error(LAM_ERR_FORMAT, P->file, t->pos, "type name too long");
    lam__node *call = new_node(P, NODE_CALL, t->pos);
    if (!call || !(call->s = lam__arena_strndup(P->a, t->text, len)))
        return lam__oom("model file");
    if (!at(P, 0, TOK_LPAREN)) {
        char what[128];
        snprintf(what, sizeof what, "'(' after the module type '%.60s'", call->s);
        return expected(P, what);
    }
    const lam__token *open = next(P);
    P->modules += mult;
    if (P->modules > P->lim->max_modules)
        return lam__model_error(LAM_ERR_FORMAT, P->file, t->pos,
                                "too many modules (the limit is %lld per model file)",
                                (long long)P->lim->max_modules);
    size_t cap = 0;
    bool seen_keyword = false;
    while (!at(P, 0, TOK_RPAREN)) {
        if (at(P, 0, TOK_EOF))
            break;
        if (call->n_items == cap) {
            size_t nc = cap ? cap * 2 : 4;
            lam__item *items = lam__arena_alloc(P->a, nc * sizeof *items);
            if (!items)
                return lam__oom("model file");
            if (cap)
                memcpy(items, call->items, call->n_items * sizeof *items);
            call->items = items;
            cap = nc;
        }
        lam__item *it = &call->items[call->n_items];
        size_t start = P->k;
        int header = child_header(P);
        lam_status st;
        if (header) {
            st = parse_child(P, header, depth, mult, it);
        } else if (at(P, 0, TOK_IDENT) && at(P, 1, TOK_EQUALS)) {
            const lam__token *kw = next(P);
            next(P);
            it->kind = ITEM_KEYWORD;
            it->pos = kw->pos;
            it->name = kw->sval;
            start = P->k;
            st = bare_name(P, &it->value) ? LAM_OK : parse_value(P, depth + 1, mult, &it->value);
            seen_keyword = true;
        } else {
            if (seen_keyword)
                return lam__model_error(LAM_ERR_FORMAT, P->file, peek(P, 0)->pos,
                                        "positional argument follows keyword argument");
            it->kind = ITEM_POSITIONAL;
            it->pos = peek(P, 0)->pos;
            st = parse_value(P, depth + 1, mult, &it->value);
        }
        if (st)
            return st;
        const lam__token *end = &P->t[P->k - 1];
        it->src = P->t[start].text;
        it->src_len = (size_t)(end->text + end->len - it->src);
        call->n_items++;
        if (at(P, 0, TOK_COMMA))
            next(P);
        else if (!at(P, 0, TOK_RPAREN) && !peek(P, 0)->nl_before)
            break;
    }
    if (!at(P, 0, TOK_RPAREN)) {
        char what[128];
        snprintf(what, sizeof what, "',' or ')' to close '%.60s(' opened at %d:%d", call->s,
                 open->pos.line, open->pos.col);
        return expected(P, what);
    }
    call->close_pos = next(P)->pos;
    *out = call;
    return LAM_OK;
}

lam_status lam__model_parse_tree(lam__arena *a, const lam__lexed *lx, const char *file,
                                 const lam__limits *limits, lam__node **root)
{
    parser P = {.a = a, .file = file, .t = lx->toks, .n = lx->n, .lim = limits};
    if (at(&P, 0, TOK_EOF))
        return lam__model_error(LAM_ERR_FORMAT, file, peek(&P, 0)->pos,
                                "empty model file: expected a module such as Sequential(...)");
    lam_status st = parse_call(&P, 1, 1, root);
    if (st)
        return st;
    if (!at(&P, 0, TOK_EOF))
        return expected(&P, "end of file after the model");
    return LAM_OK;
}
