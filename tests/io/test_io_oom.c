/* Allocation failure: fail the N-th allocation for N = 0, 1, 2, ... until an
 * operation runs without failing, and require LAM_ERR_NO_MEMORY (never a
 * crash, a hang or another status) at every point.  This program replaces
 * malloc/calloc/realloc/posix_memalign for itself and liblamina, so it is
 * not a Criterion test and skips (77) under sanitizers or outside glibc.
 * (It found a hang: header padding looped forever once the buffer was OOM.) */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lamina/lamina.h>
#include <lamina/io.h>

#if defined(__SANITIZE_ADDRESS__)
#define IO_NO_INTERPOSE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define IO_NO_INTERPOSE 1
#endif
#endif
#if !defined(__GLIBC__)
#define IO_NO_INTERPOSE 1
#endif

#ifndef IO_NO_INTERPOSE
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static long countdown = -1; /* the allocation that fails when it reaches 0 */
static int hit;

static int fail_now(void)
{
    if (countdown < 0 || countdown-- != 0)
        return 0;
    hit = 1;
    return 1;
}

void *malloc(size_t n) { return fail_now() ? NULL : __libc_malloc(n); }
void *calloc(size_t a, size_t b) { return fail_now() ? NULL : __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { return fail_now() ? NULL : __libc_realloc(p, n); }
int posix_memalign(void **p, size_t align, size_t n)
{
    if (fail_now())
        return ENOMEM;
    *p = __libc_memalign(align, n);
    return *p ? 0 : ENOMEM;
}

static char fixtures[2048], tmp[2048];
static unsigned char *pattern_bytes;
static size_t pattern_len;
static lam_state_dict *model;

static const char *fixture(const char *name)
{
    static char p[4096];
    snprintf(p, sizeof p, "%s/%s", fixtures, name);
    return p;
}

static lam_status op(int which)
{
    lam_state_dict *sd = NULL;
    lam_tensor *t = NULL;
    lam_status st = LAM_OK;
    switch (which) {
    case 0: st = lam_safetensors_parse(pattern_bytes, pattern_len, &sd); break;
    case 1: st = lam_safetensors_load(fixture("model.safetensors"), &sd); break;
    case 2: st = lam_safetensors_load(fixture("specials.safetensors"), &sd); break;
    case 3: st = lam_safetensors_save(tmp, model); break;
    case 4: st = lam_npy_load(fixture("be_f8.npy"), &t); break;
    case 5:
        st = lam_npy_load(fixture("four_d_f4.npy"), &t);
        if (st == LAM_OK)
            st = lam_npy_save(tmp, t);
        break;
    }
    lam_state_dict_free(sd);
    lam_tensor_release(t);
    return st;
}

int main(void)
{
    static const char *names[] = {"safetensors_parse", "safetensors_load model", "safetensors_load specials",
                                  "safetensors_save", "npy_load", "npy_load + npy_save"};
    const char *dir = getenv("LAMINA_IO_FIXTURES"), *t = getenv("TMPDIR");
    int bad = 0;
    snprintf(fixtures, sizeof fixtures, "%s", dir && *dir ? dir : IO_FIXTURES);
    snprintf(tmp, sizeof tmp, "%s/lamina-io-oom-%ld.tmp", t && *t ? t : "/tmp", (long)getpid());

    FILE *f = fopen(fixture("pattern.safetensors"), "rb");
    if (!f || fseek(f, 0, SEEK_END) || (pattern_len = (size_t)ftell(f), rewind(f), 0) ||
        !(pattern_bytes = malloc(pattern_len)) || fread(pattern_bytes, 1, pattern_len, f) != pattern_len ||
        lam_safetensors_load(fixture("model.safetensors"), &model) != LAM_OK) {
        fprintf(stderr, "cannot read fixtures in %s: %s\n", fixtures, lam_last_error());
        return 99;
    }
    fclose(f);

    for (int which = 0; which < 6; which++) {
        long n;
        for (n = 0; n < 100000; n++) {
            hit = 0;
            countdown = n;
            lam_status st = op(which);
            countdown = -1;
            if (!hit) {
                if (st != LAM_OK) {
                    printf("FAIL %s without injected failure: %s\n", names[which], lam_last_error());
                    bad++;
                }
                break;
            }
            if (st != LAM_ERR_NO_MEMORY) {
                printf("FAIL %s, allocation %ld failed: status %s (%s)\n", names[which], n, lam_status_str(st),
                       lam_last_error());
                bad++;
            }
        }
        printf("%s: %ld allocation points, each gave LAM_ERR_NO_MEMORY\n", names[which], n);
    }
    remove(tmp);
    lam_state_dict_free(model);
    free(pattern_bytes);
    return bad ? 1 : 0;
}
#else
int main(void)
{
    puts("SKIP: allocation interposition needs glibc and no sanitizer");
    return 77;
}
#endif
