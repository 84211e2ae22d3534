/* f32 fused attention, NEON: the portable driver (simd/attn/) with 6-row x
 * 8-column tiles (simd/attn/attn-tile.h) and SLEEF's exp.  Tails go
 * through a 4-float buffer (NEON has no masked loads).  Contract and
 * accuracy: LAM_ATTN_KERNELS in simd/kernel-list.h. */
#include "config.h"

#include <string.h>

#include "simd/attn/attn-ukernel.h"
#include "simd/simd.h"
#include "simd/arm/neon/vmath-neon.h"

typedef float32x4_t V;
#define LAM__ATT_VF 4

static inline float32x4_t lam__attn_loadm_neon(const float *p, size_t n)
{
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    memcpy(t, p, n * sizeof *t);
    return vld1q_f32(t);
}
static inline void lam__attn_storem_neon(float *p, float32x4_t v, size_t n)
{
    float t[4];
    vst1q_f32(t, v);
    memcpy(p, t, n * sizeof *t);
}

#define LAM__ATT_NAME(x) lam__attn_##x##_neon
#define VZERO() vdupq_n_f32(0.0f)
#define VSET1(f) vdupq_n_f32(f)
#define VLOAD(p) vld1q_f32(p)
#define VSTORE(p, v) vst1q_f32((p), (v))
#define VBCAST(p) vld1q_dup_f32(p)
#define VLOADM(p, n) lam__attn_loadm_neon((p), (n))
#define VSTOREM(p, v, n) lam__attn_storem_neon((p), (v), (n))
#define VFMA(a, b, c) vfmaq_f32((c), (a), (b))
#define VMUL(a, b) vmulq_f32((a), (b))
#define VADD(a, b) vaddq_f32((a), (b))
#define VMAX(a, b) vmaxq_f32((a), (b))
#define VEXP(v) lam__n_exp(v)
#define VHMAX(v) vmaxvq_f32(v)
#define VHSUM(v) vaddvq_f32(v)

#include "simd/attn/attn-tile.h"

void lam__f32_attention_neon(const lam__attn_args *a, size_t i_begin, size_t i_end)
{
    static const lam__attn_ukernel u = {LAM__ATT_MR, lam__attn_score_neon, lam__attn_rowstep_neon,
                                        lam__attn_pv_neon, lam__f32_softmax_neon};
    lam__attn_run(&u, a, i_begin, i_end);
}
