/* Small string helpers and Python-compatible number formatting. */
#include "runtime/core/core.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *lam__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

int lam__hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void sb_reserve(lam__sb *sb, size_t extra)
{
    if (sb->failed)
        return;
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(sb->buf, cap);
    if (!p) {
        sb->failed = true;
        return;
    }
    sb->buf = p;
    sb->cap = cap;
}

void lam__sb_puts(lam__sb *sb, const char *s)
{
    size_t n = strlen(s);
    sb_reserve(sb, n);
    if (sb->failed)
        return;
    memcpy(sb->buf + sb->len, s, n + 1);
    sb->len += n;
}

void lam__sb_printf(lam__sb *sb, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        sb->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        lam__sb_puts(sb, small);
        return;
    }
    sb_reserve(sb, (size_t)n);
    if (sb->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

void lam__strlist_push(lam__strlist *l, const char *s)
{
    if (l->failed)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **p = realloc(l->items, cap * sizeof *p);
        if (!p) {
            l->failed = true;
            return;
        }
        l->items = p;
        l->cap = cap;
    }
    char *c = lam__strdup(s);
    if (!c) {
        l->failed = true;
        return;
    }
    l->items[l->n++] = c;
}

void lam__strlist_free(lam__strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* Python's float.__repr__: the shortest digits that round-trip, printed in
 * fixed notation when -4 <= exponent < 16, else as 1e-05 / 1.5e+16. */
char *lam__py_float(double v, char *buf, size_t size)
{
    if (isnan(v)) {
        snprintf(buf, size, "nan");
        return buf;
    }
    if (isinf(v)) {
        snprintf(buf, size, v < 0 ? "-inf" : "inf");
        return buf;
    }
    char tmp[64];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    /* tmp = "-d.ddde[+-]XX" */
    const char *p = tmp;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    char digits[32];
    size_t nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    digits[nd] = '\0';
    int exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        digits[--nd] = '\0';
    char out[64];
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    if (exp10 < -4 || exp10 >= 16) {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            for (size_t i = 1; i < nd; i++)
                out[o++] = digits[i];
        }
        o += (size_t)snprintf(out + o, sizeof out - o, "e%c%02d", exp10 < 0 ? '-' : '+',
                              exp10 < 0 ? -exp10 : exp10);
    } else if (exp10 < 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = -1; i > exp10; i--)
            out[o++] = '0';
        for (size_t i = 0; i < nd; i++)
            out[o++] = digits[i];
        out[o] = '\0';
    } else {
        size_t intlen = (size_t)exp10 + 1;
        for (size_t i = 0; i < intlen; i++)
            out[o++] = i < nd ? digits[i] : '0';
        out[o++] = '.';
        if (nd > intlen)
            for (size_t i = intlen; i < nd; i++)
                out[o++] = digits[i];
        else
            out[o++] = '0';
        out[o] = '\0';
    }
    snprintf(buf, size, "%s", out);
    return buf;
}

char *lam__py_number(double v, bool int_style, char *buf, size_t size)
{
    if (int_style && isfinite(v) && v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, size, "%lld", (long long)v);
        return buf;
    }
    return lam__py_float(v, buf, size);
}

size_t lam__stream_bytes(void)
{
    static size_t cached; /* 0: not yet; the same value from every thread */
    size_t v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v)
        return v;
    long l3 = -1, l2 = -1, cpus = sysconf(_SC_NPROCESSORS_ONLN);
#ifdef _SC_LEVEL3_CACHE_SIZE
    l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    /* A thread never has more last-level cache than one CCX's or die's:
     * at most 32 MiB on the parts we know (V-Cache aside).  Hypervisors
     * report the socket's total (seen: 508 MiB on a 2-vCPU Zen 5 guest,
     * whose cpuid leaf 0x8000001D, the sharing count, reads zeros), which
     * would keep every layer from streaming. */
    const long l3_cap = 32L << 20;
    if (l3 > l3_cap)
        l3 = l3_cap;
    double share = 0;
    if (l3 > 0)
        share += (double)l3 / (double)(cpus > 0 ? cpus : 1);
    if (l2 > 0)
        share += (double)l2;
    v = share > 0 ? (size_t)(share * 0.75) : (size_t)12 << 20;
    __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    return v;
}
