/* f32 fused attention, AVX-512: the portable driver (simd/attn/) with
 * 6-row x 32-column zmm tiles (simd/attn/attn-tile.h) and the table's exp.
 * Contract and accuracy: LAM_ATTN_KERNELS in simd/kernel-list.h. */
#include "config.h"

#include "simd/attn/attn-ukernel.h"
#include "simd/simd.h"
#include "simd/x86/avx512/vmath-avx512.h"

typedef __m512 V;
#define LAM__ATT_VF 16
#define LAM__ATT_NAME(x) lam__attn_##x##_avx512
#define VZERO() _mm512_setzero_ps()
#define VSET1(f) _mm512_set1_ps(f)
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps((p), (v))
#define VBCAST(p) _mm512_set1_ps(*(p))
#define VLOADM(p, n) _mm512_maskz_loadu_ps(lam__mask_avx512(n), (p))
#define VSTOREM(p, v, n) _mm512_mask_storeu_ps((p), lam__mask_avx512(n), (v))
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VMUL(a, b) _mm512_mul_ps((a), (b))
#define VADD(a, b) _mm512_add_ps((a), (b))
#define VMAX(a, b) _mm512_max_ps((a), (b))
#define VEXP(v) lam__v16_exp_le0(v)
#define VHMAX(v) _mm512_reduce_max_ps(v)
#define VHSUM(v) _mm512_reduce_add_ps(v)

#include "simd/attn/attn-tile.h"

void lam__f32_attention_avx512(const lam__attn_args *a, size_t i_begin, size_t i_end)
{
    static const lam__attn_ukernel u = {LAM__ATT_MR, lam__attn_score_avx512,
                                        lam__attn_rowstep_avx512, lam__attn_pv_avx512,
                                        lam__f32_softmax_avx512};
    lam__attn_run(&u, a, i_begin, i_end);
}
