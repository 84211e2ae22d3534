/* .lam model files — arena, positioned errors, edit distance. */
#include "runtime/model/model_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lam__arena_block {
    lam__arena_block *next;
    size_t used, cap;
    max_align_t data[];
};

#define ARENA_BLOCK (64 * 1024)

void *lam__arena_alloc(lam__arena *a, size_t size)
{
    if (a->failed)
        return NULL;
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (size == 0)
        size = sizeof(max_align_t);
    lam__arena_block *b = a->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > ARENA_BLOCK ? size : ARENA_BLOCK;
        b = calloc(1, sizeof *b + cap);
        if (!b) {
            a->failed = true;
            return NULL;
        }
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += size;
    return p;
}

char *lam__arena_strndup(lam__arena *a, const char *s, size_t n)
{
    char *p = lam__arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void lam__arena_free(lam__arena *a)
{
    lam__arena_block *b = a->head;
    while (b) {
        lam__arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

lam_status lam__model_error(lam_status st, const char *file, lam__pos pos, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lam__error(st, "%s:%d:%d: %s", file, pos.line, pos.col, msg);
}

size_t lam__edit_distance(const char *a, const char *b, size_t cap)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return cap + 1;
    if ((la > lb ? la - lb : lb - la) > cap)
        return cap + 1;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0], best;
        row[0] = best = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t sub = diag + (a[i - 1] != b[j - 1]);
            size_t v = sub;
            if (up + 1 < v)
                v = up + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            diag = up;
            row[j] = v;
            if (v < best)
                best = v;
        }
        if (best > cap)
            return cap + 1;
    }
    return row[lb];
}

lam_status lam__model_rethrow(lam_status st, const char *file, lam__pos pos)
{
    size_t n = strlen(file) + 32;
    char *prefix = malloc(n);
    if (prefix) {
        snprintf(prefix, n, "%s:%d:%d:", file, pos.line, pos.col);
        lam__error_prefix(prefix);
        free(prefix);
    }
    return st;
}
