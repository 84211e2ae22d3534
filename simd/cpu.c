/* CPU probe, compiled WITHOUT ISA flags (it must run on any x86-64).
 *
 * AVX2 kernels need three things: the CPU has AVX2 (CPUID.7.0:EBX[5]) and FMA
 * (CPUID.1:ECX[12]), and the OS saves ymm state on context switches (OSXSAVE,
 * CPUID.1:ECX[27], and XCR0 bits 1 (SSE) and 2 (AVX) set, read by XGETBV).
 * CPUID alone is not enough: a kernel or hypervisor may disable AVX state.
 *
 * AVX-512 kernels need all of that, the AVX-512 subsets they use (F, VL, BW,
 * DQ: CPUID.7.0:EBX bits 16, 31, 30, 17), and the OS saving the AVX-512
 * state too: XCR0 bits 5 (opmask k0-k7), 6 (ZMM_Hi256, the upper halves of
 * zmm0-15) and 7 (Hi16_ZMM, zmm16-31). */
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

/* CPUID.7.0:EBX when the CPU has AVX and FMA and the OS saves the XCR0
 * state bits `xcr0` (else 0). */
static unsigned lam__cpuid7_ebx_if_os(uint64_t xcr0)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    const unsigned fma = 1u << 12, osxsave = 1u << 27, avx = 1u << 28;
    if ((c & (fma | osxsave | avx)) != (fma | osxsave | avx))
        return 0;
    if ((lam__xgetbv0() & xcr0) != xcr0)
        return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    return b;
}

int lam__cpu_has_avx2_fma(void)
{
    return (lam__cpuid7_ebx_if_os(0x6) & (1u << 5)) != 0;
}

int lam__cpu_has_avx512(void)
{
    /* XCR0: SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM */
    const unsigned ebx = lam__cpuid7_ebx_if_os(0x6 | 0xe0);
    const unsigned need = 1u << 5 /* AVX2 */ | 1u << 16 /* F */ | 1u << 17 /* DQ */ |
                          1u << 30 /* BW */ | 1u << 31 /* VL */;
    return (ebx & need) == need;
}
#else
int lam__cpu_has_avx2_fma(void) { return 0; }
int lam__cpu_has_avx512(void) { return 0; }
#endif
