/* CPU probe, compiled WITHOUT ISA flags (it must run on any x86-64).
 *
 * AVX2 kernels need three things: the CPU has AVX2 (CPUID.7.0:EBX[5]) and FMA
 * (CPUID.1:ECX[12]), and the OS saves ymm state on context switches (OSXSAVE,
 * CPUID.1:ECX[27], and XCR0 bits 1 (SSE) and 2 (AVX) set, read by XGETBV).
 * CPUID alone is not enough: a kernel or hypervisor may disable AVX state. */
#include "config.h"

#include "simd/simd.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <stdint.h>

static uint64_t lam__xgetbv0(void)
{
    uint32_t lo, hi;
    /* the XGETBV opcode, so that no -mxsave is needed */
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

int lam__cpu_has_avx2_fma(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    const unsigned fma = 1u << 12, osxsave = 1u << 27, avx = 1u << 28;
    if ((c & (fma | osxsave | avx)) != (fma | osxsave | avx))
        return 0;
    if ((lam__xgetbv0() & 0x6) != 0x6)
        return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    return (b & (1u << 5)) != 0;
}
#else
int lam__cpu_has_avx2_fma(void) { return 0; }
#endif
