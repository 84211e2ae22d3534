/* The convolution GEMM, AVX2: y[m, j] = act(sum_k W[m, k] rows[k][off + j]
 * + bias[m]) (contract: LAM_CONV_KERNELS in simd/kernel-list.h).
 *
 * Tile: 4 output channels x 24 pixels (3 ymm per channel, 12 ymm
 * accumulators, 3 for B, one broadcast): per k, 3 loads of B and 4
 * broadcasts of the packed weights for 12 FMAs.  Packed W: panels of 4
 * rows, panel p's weight (row 4 p + i, k) at packed[4 p K + 4 k + i], zero
 * for rows past M.  Loops as the AVX-512 kernel: 24-pixel strips outer, K
 * in blocks of LAM__CKC2 (B's block in L1; the chains continue from the
 * stored floats), or whole up to 1.5 LAM__CKC2, panels innermost; each
 * tile prefetches, for writing, its panel's output lines of the next
 * strip, and each k the packed weight LAM__CWD2 bytes on, into L2.  Pixel
 * tails: masked loads and stores; channel tails: the zero rows of the last
 * panel, not stored.  Epilogue: + bias, + the residual addend (ep.add),
 * then the activation on the registers (gemm-epilogue-avx2.c, the
 * elementwise kernels' arithmetic).  Accuracy: one FMA chain per output,
 * as the scalar twin. */
#include "config.h"

#include "simd/x86/avx2/gemm-avx2.h"

#define LAM__CMR 4
#define LAM__CNV 3
#define LAM__CNR (8 * LAM__CNV)
#ifndef LAM__CKC2
#define LAM__CKC2 128
#endif
/* prefetch distances (-D overrides: for the measurements only), as the
 * AVX-512 kernel's: the packed weight LAM__CWD2 bytes on; a later tile's
 * output lines, LAM__CPD2 panels on, where the next strip's would not stay
 * in L1 (its panels' lines over LAM__CPY2 bytes) */
#ifndef LAM__CWD2
#define LAM__CWD2 4096
#endif
#ifndef LAM__CPD2
#define LAM__CPD2 4
#endif
#ifndef LAM__CPY2
#define LAM__CPY2 32768
#endif

size_t lam__f32_conv_packed_size_avx2(size_t M, size_t K)
{
    return (M + LAM__CMR - 1) / LAM__CMR * LAM__CMR * K;
}

void lam__f32_conv_pack_avx2(size_t M, size_t K, const float *W, float *packed)
{
    for (size_t p = 0; p < M; p += LAM__CMR)
        for (size_t k = 0; k < K; k++)
            for (size_t i = 0; i < LAM__CMR; i++)
                packed[p * K + k * LAM__CMR + i] = p + i < M ? W[(p + i) * K + k] : 0.0f;
}

LAM__INLINE void lam__ctile_avx2(const int nv, size_t kc, const float *a,
                                 const float *const *rows, size_t col, __m256i ml, float *y,
                                 size_t ldy, size_t mr, int first, int last, const float *bias,
                                 lam__epilogue ep, size_t pfo, int pfy, const float *pfa,
                                 const float *pfs, size_t pmr)
{
    __m256 c[LAM__CMR * LAM__CNV];
    _Pragma("GCC unroll 4")
    for (int i = 0; i < LAM__CMR; i++)
        _Pragma("GCC unroll 3")
        for (int j = 0; j < LAM__CNV; j++)
            c[i * LAM__CNV + j] =
                j >= nv || first || (size_t)i >= mr ? _mm256_setzero_ps()
                : j < nv - 1                        ? _mm256_loadu_ps(y + i * ldy + 8 * j)
                                                    : _mm256_maskload_ps(y + i * ldy + 8 * j, ml);
    if (pfy && last) /* the next strip's output lines (its 96 bytes a row) */
        _Pragma("GCC unroll 4")
        for (int i = 0; i < LAM__CMR; i++)
            if ((size_t)i < mr) {
                _mm_prefetch((const char *)(y + i * ldy + LAM__CNR), _MM_HINT_ET0);
                _mm_prefetch((const char *)(y + i * ldy + LAM__CNR + 16), _MM_HINT_ET0);
            }
    if (pfy && last && ep.add) /* and the addend's */
        _Pragma("GCC unroll 4")
        for (int i = 0; i < LAM__CMR; i++)
            if ((size_t)i < mr) {
                _mm_prefetch((const char *)(ep.add + i * ep.ldadd + LAM__CNR), _MM_HINT_T0);
                _mm_prefetch((const char *)(ep.add + i * ep.ldadd + LAM__CNR + 16), _MM_HINT_T0);
            }
    /* one k: row k of the strip's pixels times the panel's 4 weights */
#define LAM__CKSTEP2                                                                               \
    do {                                                                                           \
        const float *b = rows[k] + col;                                                            \
        if (pfo) /* a line of the next strip's row k, into L2 */                                   \
            _mm_prefetch((const char *)(b + pfo), _MM_HINT_T1);                                    \
        /* the packed weight LAM__CWD2 bytes on, into L2 (as the AVX-512                           \
         * kernel: a 7 x 7 plane at batch 1 reads it from memory; ResNet-50                        \
         * at batch 1 ~7% faster on this table) */                                                 \
        _mm_prefetch((const char *)a + LAM__CWD2, _MM_HINT_T1);                                    \
        __m256 bv[LAM__CNV];                                                                       \
        _Pragma("GCC unroll 3") for (int j = 0; j < LAM__CNV; j++) bv[j] =                         \
            j < nv - 1    ? _mm256_loadu_ps(b + 8 * j)                                             \
            : j == nv - 1 ? _mm256_maskload_ps(b + 8 * j, ml)                                      \
                          : _mm256_setzero_ps();                                                   \
        _Pragma("GCC unroll 4") for (int i = 0; i < LAM__CMR; i++)                                 \
        {                                                                                          \
            const __m256 av = _mm256_broadcast_ss(a + i);                                          \
            _Pragma("GCC unroll 3") for (int j = 0; j < LAM__CNV; j++) if (j < nv)                 \
                c[i * LAM__CNV + j] = _mm256_fmadd_ps(av, bv[j], c[i * LAM__CNV + j]);             \
        }                                                                                          \
        a += LAM__CMR;                                                                             \
    } while (0)
    size_t k = 0;
    if (pfs && last) {
        /* a later tile's output (and addend) lines, two a row (its 96
         * bytes), one of each a k over the first k */
        const size_t npf = 2 * pmr < kc ? 2 * pmr : kc; /* the lines */
        size_t oy = 0, oa = 0; /* the row's offsets */
        int pj = 0;
        _Pragma("GCC unroll 2")
        for (; k < npf; k++) {
            _mm_prefetch((const char *)(pfs + oy + 16 * pj), _MM_HINT_ET0);
            if (pfa)
                _mm_prefetch((const char *)(pfa + oa + 16 * pj), _MM_HINT_T0);
            if (++pj == 2) {
                pj = 0;
                oy += ldy;
                oa += ep.ldadd;
            }
            LAM__CKSTEP2;
        }
    }
    _Pragma("GCC unroll 2")
    for (; k < kc; k++)
        LAM__CKSTEP2;
#undef LAM__CKSTEP2
    if (last) {
        if (bias)
            _Pragma("GCC unroll 4")
            for (int i = 0; i < LAM__CMR; i++) {
                if ((size_t)i >= mr)
                    break;
                const __m256 bi = _mm256_broadcast_ss(bias + i);
                _Pragma("GCC unroll 3")
                for (int j = 0; j < LAM__CNV; j++)
                    if (j < nv)
                        c[i * LAM__CNV + j] = _mm256_add_ps(c[i * LAM__CNV + j], bi);
            }
        if (ep.add) /* the residual (laid out as y), before the activation */
            _Pragma("GCC unroll 4")
            for (int i = 0; i < LAM__CMR; i++) {
                if ((size_t)i >= mr)
                    break;
                const float *r = ep.add + i * ep.ldadd;
                _Pragma("GCC unroll 3")
                for (int j = 0; j < LAM__CNV; j++)
                    if (j < nv)
                        c[i * LAM__CNV + j] = _mm256_add_ps(
                            c[i * LAM__CNV + j], j < nv - 1 ? _mm256_loadu_ps(r + 8 * j)
                                                            : _mm256_maskload_ps(r + 8 * j, ml));
            }
        if (ep.act == LAM_ACTIVATION_RELU) {
            _Pragma("GCC unroll 12")
            for (int r = 0; r < LAM__CMR * LAM__CNV; r++)
                c[r] = lam__v_relu(c[r]);
        } else if (ep.act == LAM_ACTIVATION_RELU6) {
            _Pragma("GCC unroll 12")
            for (int r = 0; r < LAM__CMR * LAM__CNV; r++)
                c[r] = lam__v_relu6(c[r]);
        } else if (ep.act != LAM_ACTIVATION_IDENTITY) {
            /* through a copy: c must not escape, or GCC keeps it in memory */
            __m256 t[LAM__CMR * LAM__CNV];
            _Pragma("GCC unroll 12")
            for (int r = 0; r < LAM__CMR * LAM__CNV; r++)
                t[r] = c[r];
            lam__gemm_act_avx2(LAM__CMR * LAM__CNV, t, ep);
            _Pragma("GCC unroll 12")
            for (int r = 0; r < LAM__CMR * LAM__CNV; r++)
                c[r] = t[r];
        }
    }
    _Pragma("GCC unroll 4")
    for (int i = 0; i < LAM__CMR; i++) {
        if ((size_t)i >= mr)
            break;
        _Pragma("GCC unroll 3")
        for (int j = 0; j < LAM__CNV; j++) {
            if (j < nv - 1)
                _mm256_storeu_ps(y + i * ldy + 8 * j, c[i * LAM__CNV + j]);
            else if (j == nv - 1)
                _mm256_maskstore_ps(y + i * ldy + 8 * j, ml, c[i * LAM__CNV + j]);
        }
    }
}

LAM__INLINE void lam__cstrip_avx2(const int nv, size_t M, size_t K, const float *packed,
                                  const float *const *rows, size_t col, __m256i ml, float *y,
                                  size_t ldy, const float *bias, lam__epilogue ep0, int more)
{
    const size_t np = (M + LAM__CMR - 1) / LAM__CMR * LAM__CMR; /* rows of the panels */
    /* the next strip's output lines, each tile its own, where they stay in
     * L1 until then (a short M); past that, a later tile's (the AVX-512
     * kernel's scheme) */
    const int pfy = more && np * LAM__CNR * sizeof(float) <= LAM__CPY2;
    size_t k0 = 0;
    do {
        /* K up to 1.5 blocks in one: a short second block (the stem's K =
         * 147 as 128 + 19) costs its accumulator reloads and stores for a
         * few FMAs; one block of 147 measured ~6% faster in cache */
        const size_t kc = K <= LAM__CKC2 + LAM__CKC2 / 2 ? K
                          : K - k0 < LAM__CKC2           ? K - k0
                                                         : LAM__CKC2;
        for (size_t p = 0; p < M; p += LAM__CMR) {
            /* the first two panels prefetch the next strip's B (its 96
             * bytes per row: two lines), as the AVX-512 kernel does */
            const size_t q = p / LAM__CMR;
            lam__epilogue ep = ep0; /* the addend of the panel's rows */
            if (ep.add)
                ep.add += p * ep.ldadd;
            const size_t pfo = more && q < 2 ? LAM__CNR + 16 * q : 0;
            /* where the next strip's lines would not stay in L1 (!pfy):
             * the output and addend lines of the tile LAM__CPD2 panels on,
             * in this strip or the next one */
            const float *pfa = NULL, *pfs = NULL;
            size_t pmr = 0, tp = p + LAM__CPD2 * LAM__CMR, o = 0;
            if (!pfy && tp >= M && more) {
                tp -= np;
                o = LAM__CNR;
            }
            if (!pfy && tp < M) {
                pfs = y + tp * ldy + o;
                pfa = ep0.add ? ep0.add + tp * ep0.ldadd + o : NULL;
                pmr = M - tp < LAM__CMR ? M - tp : LAM__CMR;
            }
            if (pfo)
                lam__ctile_avx2(nv, kc, packed + p * K + k0 * LAM__CMR, rows + k0, col, ml,
                                y + p * ldy, ldy, M - p < LAM__CMR ? M - p : LAM__CMR, k0 == 0,
                                k0 + kc == K, bias ? bias + p : NULL, ep, pfo, pfy, pfa, pfs,
                                pmr);
            else
                lam__ctile_avx2(nv, kc, packed + p * K + k0 * LAM__CMR, rows + k0, col, ml,
                                y + p * ldy, ldy, M - p < LAM__CMR ? M - p : LAM__CMR, k0 == 0,
                                k0 + kc == K, bias ? bias + p : NULL, ep, 0, pfy, pfa, pfs,
                                pmr);
        }
        k0 += kc;
    } while (k0 < K);
}

void lam__f32_conv_gemm_avx2(size_t M, size_t N, size_t K, const float *packed,
                             const float *const *rows, size_t off, const float *bias, float *y,
                             size_t ldy, lam__epilogue ep0)
{
    for (size_t n0 = 0; n0 < N; n0 += LAM__CNR) {
        const size_t w = N - n0 < LAM__CNR ? N - n0 : LAM__CNR;
        const int nv = (int)((w + 7) / 8);
        const __m256i ml = lam__colmask_avx2(0, 0, w - 8 * (size_t)(nv - 1));
        const int more = n0 + 2 * LAM__CNR <= N; /* a whole strip follows */
        lam__epilogue ep = ep0; /* the strip's addend */
        if (ep.add)
            ep.add += n0;
        switch (nv) {
        case 1:
            lam__cstrip_avx2(1, M, K, packed, rows, off + n0, ml, y + n0, ldy, bias, ep, 0);
            break;
        case 2:
            lam__cstrip_avx2(2, M, K, packed, rows, off + n0, ml, y + n0, ldy, bias, ep, 0);
            break;
        default:
            lam__cstrip_avx2(3, M, K, packed, rows, off + n0, ml, y + n0, ldy, bias, ep, more);
            break;
        }
    }
}

/* conv_gemm_rows: conv_gemm once per output row (ow pixels from row r's
 * start r wp, into y + r ow), the same bits (they do not depend on N or
 * off). */
void lam__f32_conv_gemm_rows_avx2(size_t M, size_t N, size_t K, const float *packed,
                                 const float *const *rows, size_t off, const float *bias,
                                 float *y, size_t ldy, lam__epilogue ep, size_t wp, size_t ow)
{
    for (size_t j = 0; j < N; j += wp) {
        lam__epilogue e = ep; /* the row's addend (laid out as y) */
        if (e.add)
            e.add += j / wp * ow;
        lam__f32_conv_gemm_avx2(M, N - j < ow ? N - j : ow, K, packed, rows, off + j, bias,
                                y + j / wp * ow, ldy, e);
    }
}
