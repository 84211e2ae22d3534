/* n floats that end where a PROT_NONE page begins: a kernel that reads one
 * float past its input faults (the window and LRN tests' inputs).  Release
 * with kt_guard_free. */
#ifndef LAMINA_TESTS_SIMD_KT_GUARD_H
#define LAMINA_TESTS_SIMD_KT_GUARD_H

#include <criterion/criterion.h>
#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct guarded {
    void *base;
    size_t len;
    float *x;
} guarded;

static inline guarded guarded_alloc(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), bytes = (n * sizeof(float) + pg - 1) / pg * pg;
    guarded r;
    r.len = bytes + pg;
    r.base = mmap(NULL, r.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(r.base != MAP_FAILED);
    cr_assert(mprotect((char *)r.base + bytes, pg, PROT_NONE) == 0);
    r.x = (float *)(void *)((char *)r.base + bytes) - n;
    return r;
}

static inline void kt_guard_free(guarded g) { munmap(g.base, g.len); }

#endif
