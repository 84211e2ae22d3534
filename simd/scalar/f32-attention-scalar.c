/* f32 fused attention, scalar: the portable driver (simd/attn/) with
 * one-row pieces, fmaf chains and libm expf.  Contract and accuracy:
 * LAM_ATTN_KERNELS in simd/kernel-list.h (tol 0.5 (D + 64) eps amax(v)
 * (1 + amax(s))); the test oracle is a float64 evaluation, not this file. */
#include "config.h"

#include <math.h>

#include "simd/attn/attn-ukernel.h"
#include "simd/simd.h"

static void lam__attn_score_scalar(size_t mr, size_t dc, const float *q, size_t ldq,
                                   const float *kt, size_t kb, float *s, size_t lds, int first,
                                   int last, float scale)
{
    for (size_t r = 0; r < mr; r++)
        for (size_t j = 0; j < kb; j++) {
            float acc = first ? 0.0f : s[r * lds + j];
            for (size_t d = 0; d < dc; d++)
                acc = fmaf(q[r * ldq + d], kt[d * kb + j], acc);
            s[r * lds + j] = last ? acc * scale : acc;
        }
}

static void lam__attn_rowstep_scalar(size_t nk, float *s, float *m, float *l, float *alpha)
{
    float mx = *m;
    for (size_t j = 0; j < nk; j++)
        mx = s[j] > mx ? s[j] : mx;
    if (mx == -INFINITY) {
        for (size_t j = 0; j < nk; j++)
            s[j] = 0.0f;
        *alpha = 1.0f;
        return;
    }
    float sum = 0.0f;
    for (size_t j = 0; j < nk; j++) {
        s[j] = expf(s[j] - mx);
        sum += s[j];
    }
    *alpha = expf(*m - mx);
    *l = *l * *alpha + sum;
    *m = mx;
}

static void lam__attn_pv_scalar(size_t mr, size_t nk, const float *p, size_t ldp, const float *v,
                                size_t ldv, float *o, size_t ldo, size_t dv, const float *alpha)
{
    for (size_t r = 0; r < mr; r++)
        for (size_t c = 0; c < dv; c++) {
            float acc = alpha ? o[r * ldo + c] * alpha[r] : 0.0f;
            for (size_t j = 0; j < nk; j++)
                acc = fmaf(p[r * ldp + j], v[j * ldv + c], acc);
            o[r * ldo + c] = acc;
        }
}

void lam__f32_attention_scalar(const lam__attn_args *a, size_t i_begin, size_t i_end)
{
    static const lam__attn_ukernel u = {1, lam__attn_score_scalar, lam__attn_rowstep_scalar,
                                        lam__attn_pv_scalar, lam__f32_softmax_scalar};
    lam__attn_run(&u, a, i_begin, i_end);
}
