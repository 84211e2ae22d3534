/* The attention pieces (attn-ukernel.h) written once for every SIMD ISA:
 * included by simd/x86/avx2/f32-attention-avx2.c, the AVX-512 and the NEON
 * files after they define, for their vector type V of LAM__ATT_VF floats:
 *   LAM__ATT_NAME(x)   the static function name of piece x for the ISA
 *   VZERO() VSET1(f) VLOAD(p) VSTORE(p, v) VBCAST(p: *p in every lane)
 *   VLOADM(p, n) VSTOREM(p, v, n)   lanes [0, n), 0 < n < VF, nothing else
 *                      read or written (zeros in the other lanes)
 *   VFMA(a, b, c) = a b + c fused, VMUL, VADD, VMAX(a, b), VEXP (<= 1 ULP)
 *   VHMAX(v) VHSUM(v)  to a float
 * Tiles: 6 rows x 2 vectors (score: 2 VF keys; P V: 2 VF output columns);
 * rows past mr repeat the last row's pointers and are not stored.
 * Not a public header: no include guard, one inclusion per file. */

#include <math.h>
#include <string.h>

#define LAM__ATT_MR 6
#define LAM__ATT_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

static void LAM__ATT_NAME(score)(size_t mr, size_t dc, const float *q, size_t ldq,
                                 const float *kt, size_t kb, float *s, size_t lds, int first,
                                 int last, float scale)
{
    const V vs = VSET1(scale);
    const float *qr[LAM__ATT_MR];
    float *sr[LAM__ATT_MR];
    for (size_t r = 0; r < LAM__ATT_MR; r++) {
        size_t rr = r < mr ? r : mr - 1;
        qr[r] = q + rr * ldq;
        sr[r] = s + rr * lds;
    }
    for (size_t t = 0; t < kb; t += 2 * LAM__ATT_VF) {
#define LAM__ATT_DECL(r) V a##r##0, a##r##1;
        LAM__ATT_ROWS(LAM__ATT_DECL)
#undef LAM__ATT_DECL
        if (first) {
#define LAM__ATT_Z(r) a##r##0 = VZERO(); a##r##1 = VZERO();
            LAM__ATT_ROWS(LAM__ATT_Z)
#undef LAM__ATT_Z
        } else {
#define LAM__ATT_L(r) a##r##0 = VLOAD(sr[r] + t); a##r##1 = VLOAD(sr[r] + t + LAM__ATT_VF);
            LAM__ATT_ROWS(LAM__ATT_L)
#undef LAM__ATT_L
        }
        const float *b = kt + t;
        for (size_t d = 0; d < dc; d++, b += kb) {
            const V b0 = VLOAD(b), b1 = VLOAD(b + LAM__ATT_VF);
#define LAM__ATT_F(r)                                                                             \
    {                                                                                            \
        const V x = VBCAST(qr[r] + d);                                                           \
        a##r##0 = VFMA(x, b0, a##r##0);                                                          \
        a##r##1 = VFMA(x, b1, a##r##1);                                                          \
    }
            LAM__ATT_ROWS(LAM__ATT_F)
#undef LAM__ATT_F
        }
#define LAM__ATT_S(r)                                                                            \
    if (r < mr) {                                                                                \
        VSTORE(sr[r] + t, last ? VMUL(a##r##0, vs) : a##r##0);                                   \
        VSTORE(sr[r] + t + LAM__ATT_VF, last ? VMUL(a##r##1, vs) : a##r##1);                     \
    }
        LAM__ATT_ROWS(LAM__ATT_S)
#undef LAM__ATT_S
    }
}

static void LAM__ATT_NAME(rowstep)(size_t nk, float *s, float *m, float *l, float *alpha)
{
    V vm = VSET1(-INFINITY);
    size_t j = 0;
    for (; j + LAM__ATT_VF <= nk; j += LAM__ATT_VF)
        vm = VMAX(VLOAD(s + j), vm);
    float mx = VHMAX(vm);
    for (size_t t = j; t < nk; t++)
        mx = s[t] > mx ? s[t] : mx;
    mx = *m > mx ? *m : mx;
    if (mx == -INFINITY) {
        memset(s, 0, nk * sizeof *s);
        *alpha = 1.0f;
        return;
    }
    const V neg = VSET1(-mx);
    V sum = VZERO();
    for (j = 0; j + LAM__ATT_VF <= nk; j += LAM__ATT_VF) {
        const V e = VEXP(VADD(VLOAD(s + j), neg));
        VSTORE(s + j, e);
        sum = VADD(sum, e);
    }
    if (j < nk) {
        /* the tail through a buffer padded with -inf (exp gives 0 there) */
        float tmp[LAM__ATT_VF];
        for (size_t t = 0; t < LAM__ATT_VF; t++)
            tmp[t] = j + t < nk ? s[j + t] : -INFINITY;
        const V e = VEXP(VADD(VLOAD(tmp), neg));
        VSTORE(tmp, e);
        memcpy(s + j, tmp, (nk - j) * sizeof *s);
        sum = VADD(sum, e);
    }
    const float a = expf(*m - mx);
    *alpha = a;
    *l = *l * a + VHSUM(sum);
    *m = mx;
}

/* Columns [c, c + nv VF) of a P V tile, or [c, c + tail) when tail > 0 (nv
 * 1). */
static inline __attribute__((always_inline)) void
LAM__ATT_NAME(pv_cols)(const int nv, const size_t tail, size_t mr, size_t nk,
                       const float *const *pr, const float *v, size_t ldv, float *const *orow,
                       size_t c, const float *al)
{
#define LAM__ATT_LD(p) (tail ? VLOADM((p), tail) : VLOAD(p))
#define LAM__ATT_DECL(r) V a##r##0, a##r##1;
    LAM__ATT_ROWS(LAM__ATT_DECL)
#undef LAM__ATT_DECL
    if (al) {
#define LAM__ATT_L(r)                                                                            \
    {                                                                                            \
        const V s = VSET1(al[r]);                                                                \
        a##r##0 = VMUL(LAM__ATT_LD(orow[r] + c), s);                                             \
        a##r##1 = nv == 2 ? VMUL(VLOAD(orow[r] + c + LAM__ATT_VF), s) : VZERO();                 \
    }
        LAM__ATT_ROWS(LAM__ATT_L)
#undef LAM__ATT_L
    } else {
#define LAM__ATT_Z(r) a##r##0 = VZERO(); a##r##1 = VZERO();
        LAM__ATT_ROWS(LAM__ATT_Z)
#undef LAM__ATT_Z
    }
    const float *vr = v + c;
    for (size_t j = 0; j < nk; j++, vr += ldv) {
        const V b0 = LAM__ATT_LD(vr);
        const V b1 = nv == 2 ? VLOAD(vr + LAM__ATT_VF) : VZERO();
#define LAM__ATT_F(r)                                                                             \
    {                                                                                            \
        const V x = VBCAST(pr[r] + j);                                                           \
        a##r##0 = VFMA(x, b0, a##r##0);                                                          \
        if (nv == 2)                                                                             \
            a##r##1 = VFMA(x, b1, a##r##1);                                                      \
    }
        LAM__ATT_ROWS(LAM__ATT_F)
#undef LAM__ATT_F
    }
#define LAM__ATT_S(r)                                                                            \
    if (r < mr) {                                                                                \
        if (tail)                                                                                \
            VSTOREM(orow[r] + c, a##r##0, tail);                                                 \
        else                                                                                     \
            VSTORE(orow[r] + c, a##r##0);                                                        \
        if (nv == 2)                                                                             \
            VSTORE(orow[r] + c + LAM__ATT_VF, a##r##1);                                          \
    }
    LAM__ATT_ROWS(LAM__ATT_S)
#undef LAM__ATT_S
#undef LAM__ATT_LD
}

static void LAM__ATT_NAME(pv)(size_t mr, size_t nk, const float *p, size_t ldp, const float *v,
                              size_t ldv, float *o, size_t ldo, size_t dv, const float *alpha)
{
    const float *pr[LAM__ATT_MR];
    float *orow[LAM__ATT_MR];
    float al[LAM__ATT_MR];
    for (size_t r = 0; r < LAM__ATT_MR; r++) {
        size_t rr = r < mr ? r : mr - 1;
        pr[r] = p + rr * ldp;
        orow[r] = o + rr * ldo;
        al[r] = alpha ? alpha[rr] : 0.0f;
    }
    const float *a = alpha ? al : NULL;
    size_t c = 0;
    for (; c + 2 * LAM__ATT_VF <= dv; c += 2 * LAM__ATT_VF)
        LAM__ATT_NAME(pv_cols)(2, 0, mr, nk, pr, v, ldv, orow, c, a);
    for (; c + LAM__ATT_VF <= dv; c += LAM__ATT_VF)
        LAM__ATT_NAME(pv_cols)(1, 0, mr, nk, pr, v, ldv, orow, c, a);
    if (c < dv)
        LAM__ATT_NAME(pv_cols)(1, dv - c, mr, nk, pr, v, ldv, orow, c, a);
}
