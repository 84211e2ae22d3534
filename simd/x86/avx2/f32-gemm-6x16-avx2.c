/* f32 GEMM, AVX2+FMA, 6x16 microkernel: y = act(x . W^T + bias) (kernels.h).
 *
 * Contract: any M, N, K (K = 0 gives act(bias)); output columns [n_begin,
 * n_end) of every row; row strides ldx, ldy in floats; no alignment needed;
 * W packed by lam__f32_gemm_pack_avx2; bias may be NULL; y must not overlap
 * x, W or bias (K blocks keep partial sums in y).  Rows M <= 2 take
 * the GEMV path (f32-gemv-4p-avx2.c).  Bit-identical results whatever the
 * path, M or column range (summation order in gemm-avx2.h).
 * Accuracy: the FMA chain's rounding, |err| <= K eps sum_k |x_k w_k| + the
 * epilogue's activation error (vmath-avx2.h).
 *
 * Blocking (BLIS order): K in KC = 256 blocks (a 16 x KC W micro-panel is
 * 16 KiB and stays in L1 while MC rows of x go past it); rows in MC blocks,
 * packed into 6-row micro-panels (MC x KC x 4 bytes on the stack, L2
 * resident); then panels of 16 columns, then 6-row micro-tiles.  The
 * microkernel keeps 12 ymm accumulators: per k, 2 loads of W, 6 broadcasts
 * of x, 12 FMAs.  Row tails (1..5 rows) use the same code with fewer rows;
 * column tails compute the full panel (zero padded) and store masked.
 *
 * Small layers (K <= KC and at most 64 wanted columns, e.g. 512 x 50 x 10):
 * packing A and the per-tile epilogue call would dominate, so nothing is
 * packed: the same microkernel broadcasts from the x rows in place, and a
 * 6-row tile goes through every panel while its rows are in L1.  A panel
 * whose wanted columns lie in 0..7 runs the lower half only (N <= 8), and
 * bias + ReLU / none is stored inline.  Same FMA chain per output, so the
 * same bits as the packed path.
 *
 * Narrow layers (wanted columns within 0..7, M >= 8, e.g. Linear(50, 2))
 * go to f32-gemm-lanes-avx2.c, which puts 8 rows in the lanes instead of
 * columns: same FMA chains, same bits. */
#include "config.h"

#include "simd/x86/avx2/gemm-avx2.h"

#define LAM__KC 256
#define LAM__MC 96
#define LAM__MR 6
#ifndef LAM__DIRECT_KMAX
#define LAM__DIRECT_KMAX LAM__KC
#endif
#ifndef LAM__LANES_MMIN
#define LAM__LANES_MMIN 8
#endif
#ifndef LAM__DIRECT_NMAX
#define LAM__DIRECT_NMAX 64
#endif

/* Pack rows [0, mr) x k [0, kc) of x into a[k * 6 + i]. */
static void lam__pack_a_avx2(int mr, size_t kc, const float *x, size_t ldx, float *a)
{
    if (mr == LAM__MR) {
        const float *r0 = x, *r1 = x + ldx, *r2 = x + 2 * ldx, *r3 = x + 3 * ldx,
                    *r4 = x + 4 * ldx, *r5 = x + 5 * ldx;
        for (size_t k = 0; k < kc; k++, a += LAM__MR) {
            a[0] = r0[k];
            a[1] = r1[k];
            a[2] = r2[k];
            a[3] = r3[k];
            a[4] = r4[k];
            a[5] = r5[k];
        }
        return;
    }
    for (size_t k = 0; k < kc; k++, a += LAM__MR)
        for (int i = 0; i < mr; i++)
            a[i] = x[i * ldx + k];
}

/* The accumulators are named locals, not an array: the tile array escapes
 * to the (out-of-line) epilogue, and GCC would then keep it in memory. */
#define LAM__ROW(i)                                                         \
    if (mr > i) {                                                           \
        const __m256 ai = _mm256_broadcast_ss(a + i * rs);                  \
        c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);                         \
        if (nh == 2)                                                        \
            c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);                     \
    }
#define LAM__IN(i)                                                          \
    __m256 c##i##0 = mr > i && !z ? c[2 * i] : _mm256_setzero_ps();         \
    __m256 c##i##1 = mr > i && !z ? c[2 * i + 1] : _mm256_setzero_ps();
#define LAM__OUT(i)                                                         \
    if (mr > i) {                                                           \
        c[2 * i] = c##i##0;                                                 \
        c[2 * i + 1] = c##i##1;                                             \
    }

/* x element (row i, k) at a[i * rs + k * ks]: packed (rs 1, ks 6) or read
 * in place (rs ldx, ks 1).  z: start from 0 rather than from c.  nh: halves
 * of the panel computed (2, or 1 when only columns 0..7 are wanted; c[2 i +
 * 1] is then 0 or as it was).  pf: the next W micro-panel (same k range),
 * fetched into L1 one line per k while the last tile of this one runs, or
 * NULL. */
LAM__INLINE void lam__ukr_avx2(const int mr, const int z, const int nh, size_t kc, const float *a,
                               const size_t rs, const size_t ks, const float *b, const float *pf,
                               __m256 *c)
{
    LAM__IN(0) LAM__IN(1) LAM__IN(2) LAM__IN(3) LAM__IN(4) LAM__IN(5)
#pragma GCC unroll 4
    for (size_t k = 0; k < kc; k++) {
        if (pf)
            _mm_prefetch((const char *)(pf + k * LAM__GEMM_NR), _MM_HINT_T0);
        const __m256 b0 = _mm256_loadu_ps(b), b1 = nh == 2 ? _mm256_loadu_ps(b + 8) : b0;
        LAM__ROW(0) LAM__ROW(1) LAM__ROW(2) LAM__ROW(3) LAM__ROW(4) LAM__ROW(5)
        a += ks;
        b += LAM__GEMM_NR;
    }
    LAM__OUT(0) LAM__OUT(1) LAM__OUT(2) LAM__OUT(3) LAM__OUT(4) LAM__OUT(5)
}
#undef LAM__ROW
#undef LAM__IN
#undef LAM__OUT

LAM__INLINE void lam__tile_avx2(const int mr, size_t kc, const float *a, const float *b,
                                const float *pf, float *y, size_t ldy, size_t lo, size_t hi,
                                int first, int last, const float *bias, lam__epilogue ep)
{
    __m256 c[2 * LAM__MR];
    if (first)
        for (int i = 0; i < 2 * mr; i++)
            c[i] = _mm256_setzero_ps();
    else
        lam__gemm_load_tile_avx2(mr, c, y, ldy, lo, hi);
    if (pf)
        lam__ukr_avx2(mr, 0, 2, kc, a, 1, LAM__MR, b, pf, c);
    else
        lam__ukr_avx2(mr, 0, 2, kc, a, 1, LAM__MR, b, NULL, c);
    lam__gemm_store_tile_avx2(mr, c, y, ldy, lo, hi, last, bias, ep);
}

static void lam__tile_any_avx2(int mr, size_t kc, const float *a, const float *b, const float *pf,
                               float *y, size_t ldy, size_t lo, size_t hi, int first, int last,
                               const float *bias, lam__epilogue ep)
{
    switch (mr) {
    case 1: lam__tile_avx2(1, kc, a, b, pf, y, ldy, lo, hi, first, last, bias, ep); break;
    case 2: lam__tile_avx2(2, kc, a, b, pf, y, ldy, lo, hi, first, last, bias, ep); break;
    case 3: lam__tile_avx2(3, kc, a, b, pf, y, ldy, lo, hi, first, last, bias, ep); break;
    case 4: lam__tile_avx2(4, kc, a, b, pf, y, ldy, lo, hi, first, last, bias, ep); break;
    case 5: lam__tile_avx2(5, kc, a, b, pf, y, ldy, lo, hi, first, last, bias, ep); break;
    default: lam__tile_avx2(6, kc, a, b, pf, y, ldy, lo, hi, first, last, bias, ep); break;
    }
}

/* No-pack path (one K block, few panels): a 6-row tile of x is read in
 * place for every panel in turn, while its rows are in L1.  Panels whose
 * wanted columns all lie in 0..7 compute only that half. */
LAM__INLINE void lam__direct_rows_avx2(const int mr, size_t K, const float *x, size_t ldx,
                                       const float *packed, const float *bias, float *y,
                                       size_t ldy, lam__epilogue ep, size_t n_begin, size_t n_end)
{
    const size_t p_begin = n_begin / LAM__GEMM_NR, p_end = (n_end + LAM__GEMM_NR - 1) / LAM__GEMM_NR;
    const int simple = ep.act == LAM_ACTIVATION_IDENTITY || ep.act == LAM_ACTIVATION_RELU;
    for (size_t p = p_begin; p < p_end; p++) {
        const size_t n0 = p * LAM__GEMM_NR;
        const size_t lo = n_begin > n0 ? n_begin - n0 : 0;
        const size_t hi = n_end - n0 < LAM__GEMM_NR ? n_end - n0 : LAM__GEMM_NR;
        __m256 c[2 * LAM__MR];
        if (hi <= 8)
            lam__ukr_avx2(mr, 1, 1, K, x, ldx, 1, packed + n0 * K, NULL, c);
        else
            lam__ukr_avx2(mr, 1, 2, K, x, ldx, 1, packed + n0 * K, NULL, c);
        if (simple && lo == 0 && (hi == LAM__GEMM_NR || hi <= 8)) {
            /* tiny layers: inline bias + ReLU, the same arithmetic as the
             * epilogue (gemm-epilogue-avx2.c), no call */
            const __m256i m0 = lam__colmask_avx2(0, 0, hi);
            const int h2 = hi == LAM__GEMM_NR;
            const __m256 b0 = bias ? _mm256_maskload_ps(bias + n0, m0) : _mm256_setzero_ps();
            const __m256 b1 = bias && h2 ? _mm256_loadu_ps(bias + n0 + 8) : _mm256_setzero_ps();
            for (int i = 0; i < mr; i++) {
                __m256 v0 = c[2 * i], v1 = c[2 * i + 1];
                if (bias) {
                    v0 = _mm256_add_ps(v0, b0);
                    v1 = _mm256_add_ps(v1, b1);
                }
                if (ep.act == LAM_ACTIVATION_RELU) {
                    v0 = lam__v_relu(v0);
                    v1 = lam__v_relu(v1);
                }
                float *yp = y + i * ldy + n0;
                if (h2) {
                    _mm256_storeu_ps(yp, v0);
                    _mm256_storeu_ps(yp + 8, v1);
                } else {
                    _mm256_maskstore_ps(yp, m0, v0);
                }
            }
        } else {
            lam__gemm_store_tile_avx2(mr, c, y + n0, ldy, lo, hi, 1, bias ? bias + n0 : NULL, ep);
        }
    }
}

static void lam__gemm_direct_avx2(size_t M, size_t K, const float *x, size_t ldx,
                                  const float *packed, const float *bias, float *y, size_t ldy,
                                  lam__epilogue ep, size_t n_begin, size_t n_end)
{
    size_t i = 0;
    for (; i + LAM__MR <= M; i += LAM__MR)
        lam__direct_rows_avx2(LAM__MR, K, x + i * ldx, ldx, packed, bias, y + i * ldy, ldy, ep,
                              n_begin, n_end);
    x += i * ldx, y += i * ldy;
    switch (M - i) {
    case 1: lam__direct_rows_avx2(1, K, x, ldx, packed, bias, y, ldy, ep, n_begin, n_end); break;
    case 2: lam__direct_rows_avx2(2, K, x, ldx, packed, bias, y, ldy, ep, n_begin, n_end); break;
    case 3: lam__direct_rows_avx2(3, K, x, ldx, packed, bias, y, ldy, ep, n_begin, n_end); break;
    case 4: lam__direct_rows_avx2(4, K, x, ldx, packed, bias, y, ldy, ep, n_begin, n_end); break;
    case 5: lam__direct_rows_avx2(5, K, x, ldx, packed, bias, y, ldy, ep, n_begin, n_end); break;
    default: break;
    }
}

void lam__f32_gemm_avx2(size_t M, size_t N, size_t K, const float *x, size_t ldx,
                        const float *packed, const float *bias, float *y, size_t ldy,
                        lam__epilogue ep, size_t n_begin, size_t n_end)
{
    (void)N;
    if (M == 0 || n_begin >= n_end)
        return;
    if (M <= 2) {
        lam__f32_gemv_avx2(M, K, x, ldx, packed, bias, y, ldy, ep, n_begin, n_end);
        return;
    }
    if (n_end <= 8 && M >= LAM__LANES_MMIN) {
        lam__f32_gemm_lanes_avx2(M, K, x, ldx, packed, bias, y, ldy, ep, n_begin, n_end);
        return;
    }
    if (K <= LAM__DIRECT_KMAX && n_end - n_begin <= LAM__DIRECT_NMAX) {
        lam__gemm_direct_avx2(M, K, x, ldx, packed, bias, y, ldy, ep, n_begin, n_end);
        return;
    }
    float abuf[LAM__MC * LAM__KC] __attribute__((aligned(64)));
    const size_t p_begin = n_begin / LAM__GEMM_NR, p_end = (n_end + LAM__GEMM_NR - 1) / LAM__GEMM_NR;
    size_t pc = 0;
    do {
        const size_t kc = K - pc < LAM__KC ? K - pc : LAM__KC;
        const int first = pc == 0, last = pc + kc >= K;
        for (size_t ic = 0; ic < M; ic += LAM__MC) {
            const size_t mc = M - ic < LAM__MC ? M - ic : LAM__MC;
            for (size_t ir = 0; ir < mc; ir += LAM__MR) {
                const int mr = mc - ir < LAM__MR ? (int)(mc - ir) : LAM__MR;
                lam__pack_a_avx2(mr, kc, x + (ic + ir) * ldx + pc, ldx, abuf + ir * kc);
            }
            for (size_t p = p_begin; p < p_end; p++) {
                const size_t n0 = p * LAM__GEMM_NR;
                const size_t lo = n_begin > n0 ? n_begin - n0 : 0;
                const size_t hi = n_end - n0 < LAM__GEMM_NR ? n_end - n0 : LAM__GEMM_NR;
                const float *b = packed + n0 * K + pc * LAM__GEMM_NR;
                const float *bp = bias ? bias + n0 : NULL;
                float *yp = y + ic * ldy + n0;
                const float *pf = p + 1 < p_end ? b + LAM__GEMM_NR * K : NULL;
                size_t ir = 0;
                for (; ir + LAM__MR <= mc; ir += LAM__MR)
                    lam__tile_avx2(LAM__MR, kc, abuf + ir * kc, b, ir + LAM__MR < mc ? NULL : pf,
                                   yp + ir * ldy, ldy, lo, hi, first, last, bp, ep);
                if (ir < mc)
                    lam__tile_any_avx2((int)(mc - ir), kc, abuf + ir * kc, b, pf, yp + ir * ldy,
                                       ldy, lo, hi, first, last, bp, ep);
            }
        }
        pc += kc;
    } while (pc < K);
}
