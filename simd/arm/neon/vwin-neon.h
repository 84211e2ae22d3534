/* AArch64 NEON primitives of the window kernels' shared body
 * (simd/window/window-impl.h): 4 lanes, vld2q for stride 2, lane by lane
 * through a 4-float buffer for the tails and other strides (never touching
 * memory outside the lanes' own floats). */
#ifndef LAMINA_SIMD_ARM_NEON_VWIN_NEON_H
#define LAMINA_SIMD_ARM_NEON_VWIN_NEON_H

#include <arm_neon.h>
#include <stddef.h>

#define LW_V float32x4_t
#define LW_L 4
#define LAM__WV static inline __attribute__((always_inline))

/* n lanes p[t s] (n <= 4), the others 0 */
LAM__WV float32x4_t lam__w_ldsn_neon(const float *p, ptrdiff_t s, size_t n)
{
    if (n == 4 && s == 1)
        return vld1q_f32(p);
    float b[4] = {0, 0, 0, 0};
    for (size_t t = 0; t < n; t++)
        b[t] = p[(ptrdiff_t)t * s];
    return vld1q_f32(b);
}
/* lanes [a, e) from p[a, e) (a <= e <= 4), the others 0 */
LAM__WV float32x4_t lam__w_ldr_neon(const float *p, size_t a, size_t e)
{
    if (a == 0 && e == 4)
        return vld1q_f32(p);
    float b[4] = {0, 0, 0, 0};
    for (size_t t = a; t < e; t++)
        b[t] = p[t];
    return vld1q_f32(b);
}
LAM__WV void lam__w_stn_neon(float *p, float32x4_t v, size_t n)
{
    float b[4];
    vst1q_f32(b, v);
    for (size_t t = 0; t < n; t++)
        p[t] = b[t];
}
/* v where v > m or v is NaN, else m */
LAM__WV float32x4_t lam__w_maxnan_neon(float32x4_t m, float32x4_t v)
{
    uint32x4_t take = vorrq_u32(vcgtq_f32(v, m), vmvnq_u32(vceqq_f32(v, v)));
    return vbslq_f32(take, v, m);
}

/* r[0..4) transposed in place: lane j of r[i] <-> lane i of r[j] */
LAM__WV void lam__w_tr128(float32x4_t *r)
{
    float32x4x2_t a = vtrnq_f32(r[0], r[1]), b = vtrnq_f32(r[2], r[3]);
    r[0] = vcombine_f32(vget_low_f32(a.val[0]), vget_low_f32(b.val[0]));
    r[1] = vcombine_f32(vget_low_f32(a.val[1]), vget_low_f32(b.val[1]));
    r[2] = vcombine_f32(vget_high_f32(a.val[0]), vget_high_f32(b.val[0]));
    r[3] = vcombine_f32(vget_high_f32(a.val[1]), vget_high_f32(b.val[1]));
}

#define LW_LD(p) vld1q_f32(p)
#define LW_LDN(p, n) lam__w_ldsn_neon((p), 1, (n))
#define LW_LDR(p, a, e) lam__w_ldr_neon((p), (a), (e))
#define LW_LDS2(p) (vld2q_f32(p).val[0])
#define LW_EVEN(a, b) vuzp1q_f32((a), (b))
#define LW_LDS2N(p, n) lam__w_ldsn_neon((p), 2, (n))
#define LW_LDSG(p, s, n) lam__w_ldsn_neon((p), (s), (size_t)(n))
#define LW_ST(p, v) vst1q_f32((p), (v))
#define LW_STN(p, v, n) lam__w_stn_neon((p), (v), (n))
#define LW_SET1(f) vdupq_n_f32(f)
#define LW_FMA(a, b, c) vfmaq_f32((c), (a), (b))
#define LW_ADD(a, b) vaddq_f32((a), (b))
#define LW_DIV(a, b) vdivq_f32((a), (b))
#define LW_MAXNAN(m, v) lam__w_maxnan_neon((m), (v))
#define LW_TRANSPOSE(r) lam__w_tr128(r)

/* keep a loaded vector in a register (the compiler would fold it into
 * every FMA that uses it: one load per use) */
#define LW_PIN(v) __asm__("" : "+w"(v))

#endif
