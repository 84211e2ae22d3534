/* The convolution GEMM, AVX-512: y[m, j] = act(sum_k W[m, k] rows[k][off +
 * j] + bias[m]) (contract: LAM_CONV_KERNELS in simd/kernel-list.h).
 *
 * Tile: 8 output channels x 48 pixels (3 zmm per channel, 24 zmm
 * accumulators): per k, 3 loads of B (row k of the pixels) and 8 broadcasts
 * of the packed weights (embedded-broadcast FMAs), 24 FMAs.  Packed W:
 * panels of 8 rows, panel p's weight (row 8 p + i, k) at packed[8 p K + 8 k
 * + i], zero for rows past M, so a panel's k-th 8 weights are contiguous.
 * Loops: 48-pixel strips outer; K in blocks of LAM__CKC inner to them (the
 * strip's KC x 48 floats of B stay in L1 while every panel of W streams
 * through it from L2; the tile continues its chains from the stored floats
 * between blocks, which changes no bit); panels innermost.  Pixel tails:
 * masked loads and stores (a row may end at an unreadable page); channel
 * tails: the zero rows of the last panel, computed and not stored.
 * Prefetches: each k, the packed weight 4 KiB on, into L2 (past its end at
 * the last panels: a prefetch never faults; a 7 x 7 plane at batch 1 reads
 * each weight from memory, once a strip, faster than the hardware
 * prefetcher brings it: ResNet-50's layer4 1x1 convolutions ~30% faster);
 * the first three panels, the next strip's B.  The output lines:
 * where a strip's panels store at most LAM__CPY bytes (a short M), each
 * tile prefetches (for writing) its panel's lines of the next strip, and
 * the addend's (a pointwise layer with a short K, MobileNetV2's 16 -> 96
 * on 112 x 112, otherwise waits on every store's line: the 8 rows are 8
 * output planes, one stream each); past that they would leave L1 before
 * their tile runs, and each tile prefetches the tile's two panels on
 * instead, a line a k (ResNet-50's expanding 1x1 convolutions with the
 * residual, 64 -> 256 on 56 x 56: ~25% faster at batch 8).
 * Epilogue: + bias, + the residual addend (ep.add, laid out as y: masked
 * loads as the stores), then RELU or RELU6 inline or the elementwise
 * kernels over the tile in a stack buffer (gemm-epilogue-avx512.c).
 * conv_gemm_rows (the flat path's padded rows, straight into the output):
 * the same tiles, each vector stored by masked stores, one per output row
 * it reaches (gap lanes in none; the addresses of the masked-off lanes may
 * lie before y, and are never touched), the output lines prefetched while
 * the last K block runs.  Accuracy: one FMA chain per output, as the scalar
 * twin. */
#include "config.h"

#include "simd/x86/avx512/gemm-avx512.h"
#include "simd/x86/avx512/vmath-avx512.h"

#define LAM__CMR 8
#define LAM__CNV 3
#define LAM__CNR (16 * LAM__CNV)
/* K block (-D override: for the measurements only) */
#ifndef LAM__CKC
#define LAM__CKC 1024
#endif
/* Prefetch distances (-D overrides: for the measurements only): a later
 * tile's output lines, LAM__CPD panels on, where the next strip's would
 * not stay in L1 (its panels' lines over LAM__CPY bytes); the packed
 * weight, LAM__CWD bytes on (into L2). */
#ifndef LAM__CPD
#define LAM__CPD 2
#endif
#ifndef LAM__CPY
#define LAM__CPY 32768
#endif
#ifndef LAM__CWD
#define LAM__CWD 4096
#endif

size_t lam__f32_conv_packed_size_avx512(size_t M, size_t K)
{
    return (M + LAM__CMR - 1) / LAM__CMR * LAM__CMR * K;
}

void lam__f32_conv_pack_avx512(size_t M, size_t K, const float *W, float *packed)
{
    for (size_t p = 0; p < M; p += LAM__CMR)
        for (size_t k = 0; k < K; k++)
            for (size_t i = 0; i < LAM__CMR; i++)
                packed[p * K + k * LAM__CMR + i] = p + i < M ? W[(p + i) * K + k] : 0.0f;
}

/* conv_gemm_rows' output geometry for one strip: vector j's lanes go in
 * n[j] runs, run s's lanes k[j][s] at y + o[j][s] + lane (a row of y per
 * run: lanes in a gap are in none). */
typedef struct lam__cgeo {
    int n[LAM__CNV];
    ptrdiff_t o[LAM__CNV][16];
    __mmask16 k[LAM__CNV][16];
} lam__cgeo;

/* The runs of the strip's pixels [q0, q0 + 16 nv) (the last vector's
 * lanes ml) in rows of ow of wp. */
static void lam__cgeo_init(lam__cgeo *g, int nv, size_t q0, __mmask16 ml, size_t wp, size_t ow)
{
    for (int j = 0; j < nv; j++) {
        const unsigned mj = j == nv - 1 ? ml : 0xFFFFu;
        size_t q = q0 + 16 * (size_t)j, r = q / wp, c = q - r * wp, lane = 0;
        int n = 0;
        for (;;) {
            if (c < ow) {
                const size_t cnt = ow - c < 16 - lane ? ow - c : 16 - lane;
                const unsigned k = (((1u << cnt) - 1u) << lane) & mj;
                if (k) {
                    g->o[j][n] = (ptrdiff_t)(r * ow + c) - (ptrdiff_t)lane;
                    g->k[j][n++] = (__mmask16)k;
                }
            }
            if (wp - c >= 16 - lane)
                break;
            lane += wp - c;
            r++;
            c = 0;
        }
        g->n[j] = n;
    }
}

/* One tile: rows [0, mr) stored of the panel's 8, vectors [0, nv) of the
 * strip (the last one masked by ml), k in [0, kc); with geo, the outputs
 * go (and the chains continue from) where geo's runs say, y the panel's
 * first row's start. */
LAM__INLINE void lam__ctile_avx512(const int nv, size_t kc, const float *a,
                                   const float *const *rows, size_t col, __mmask16 ml, float *y,
                                   size_t ldy, size_t mr, int first, int last, const float *bias,
                                   lam__epilogue ep, size_t pfo, int pfy, const float *pfa,
                                   const float *pfs, size_t pmr, const lam__cgeo *geo)
{
    __mmask16 m[LAM__CNV];
    _Pragma("GCC unroll 3")
    for (int j = 0; j < LAM__CNV; j++)
        m[j] = j == nv - 1 ? ml : (__mmask16)0xFFFF;
    __m512 c[LAM__CMR][LAM__CNV];
    _Pragma("GCC unroll 8")
    for (int i = 0; i < LAM__CMR; i++)
        _Pragma("GCC unroll 3")
        for (int j = 0; j < LAM__CNV; j++) {
            c[i][j] = j < nv && !first && (size_t)i < mr && !geo
                          ? _mm512_maskz_loadu_ps(m[j], y + i * ldy + 16 * j)
                          : _mm512_setzero_ps();
            if (geo && j < nv && !first && (size_t)i < mr)
                for (int r = 0; r < geo->n[j]; r++)
                    c[i][j] = _mm512_mask_loadu_ps(c[i][j], geo->k[j][r],
                                                   y + i * ldy + geo->o[j][r]);
        }
    if (geo && last) /* the output's lines, for writing, while the chains run */
        for (int i = 0; i < LAM__CMR && (size_t)i < mr; i++)
            for (int j = 0; j < nv; j++)
                for (int r = 0; r < geo->n[j]; r++) {
                    const float *o = y + i * ldy + geo->o[j][r];
                    __builtin_prefetch(o + __builtin_ctz(geo->k[j][r]), 1, 3);
                    __builtin_prefetch(o + 31 - __builtin_clz(geo->k[j][r]), 1, 3);
                }
    if (pfy && last && !geo) /* the next strip's output lines, for writing */
        _Pragma("GCC unroll 8")
        for (int i = 0; i < LAM__CMR; i++)
            if ((size_t)i < mr)
                _Pragma("GCC unroll 3")
                for (int j = 0; j < LAM__CNV; j++)
                    _mm_prefetch((const char *)(y + i * ldy + LAM__CNR + 16 * j),
                                 _MM_HINT_ET0);
    if (pfy && last && !geo && ep.add) /* and the addend's */
        _Pragma("GCC unroll 8")
        for (int i = 0; i < LAM__CMR; i++)
            if ((size_t)i < mr)
                _Pragma("GCC unroll 3")
                for (int j = 0; j < LAM__CNV; j++)
                    _mm_prefetch((const char *)(ep.add + i * ep.ldadd + LAM__CNR + 16 * j),
                                 _MM_HINT_T0);
    /* one k: row k of the strip's pixels times the panel's 8 weights */
#define LAM__CKSTEP                                                                                \
    do {                                                                                           \
        const float *b = rows[k] + col;                                                            \
        if (pfo) /* a line of the next strip's row k, into L2 */                                   \
            _mm_prefetch((const char *)(b + pfo), _MM_HINT_T1);                                    \
        _mm_prefetch((const char *)a + LAM__CWD, _MM_HINT_T1);                                     \
        __m512 bv[LAM__CNV];                                                                       \
        _Pragma("GCC unroll 3") for (int j = 0; j < LAM__CNV; j++) bv[j] =                         \
            j < nv - 1    ? _mm512_loadu_ps(b + 16 * j)                                            \
            : j == nv - 1 ? _mm512_maskz_loadu_ps(ml, b + 16 * j)                                  \
                          : _mm512_setzero_ps();                                                   \
        _Pragma("GCC unroll 8") for (int i = 0; i < LAM__CMR; i++)                                 \
        {                                                                                          \
            const __m512 av = _mm512_set1_ps(a[i]);                                                \
            _Pragma("GCC unroll 3") for (int j = 0; j < LAM__CNV; j++) if (j < nv) c[i][j] =       \
                _mm512_fmadd_ps(av, bv[j], c[i][j]);                                               \
        }                                                                                          \
        a += LAM__CMR;                                                                             \
    } while (0)
    size_t k = 0;
    if (pfs && last) {
        /* a later tile's output (and addend) lines, one of each a k over
         * the first k (issued all at once, they held up the chains) */
        const size_t npf = pmr * (size_t)nv < kc ? pmr * (size_t)nv : kc; /* the lines */
        size_t oy = 0, oa = 0; /* the row's offsets */
        int pj = 0;
        _Pragma("GCC unroll 2")
        for (; k < npf; k++) {
            _mm_prefetch((const char *)(pfs + oy + 16 * pj), _MM_HINT_ET0);
            if (pfa)
                _mm_prefetch((const char *)(pfa + oa + 16 * pj), _MM_HINT_T0);
            if (++pj == nv) {
                pj = 0;
                oy += ldy;
                oa += ep.ldadd;
            }
            LAM__CKSTEP;
        }
    }
    _Pragma("GCC unroll 2")
    for (; k < kc; k++)
        LAM__CKSTEP;
#undef LAM__CKSTEP
    if (last) {
        if (bias)
            _Pragma("GCC unroll 8")
            for (int i = 0; i < LAM__CMR; i++) {
                if ((size_t)i >= mr)
                    break;
                const __m512 bi = _mm512_set1_ps(bias[i]);
                _Pragma("GCC unroll 3")
                for (int j = 0; j < LAM__CNV; j++)
                    if (j < nv)
                        c[i][j] = _mm512_add_ps(c[i][j], bi);
            }
        if (ep.add) /* the residual (laid out as y), before the activation */
            _Pragma("GCC unroll 8")
            for (int i = 0; i < LAM__CMR; i++) {
                if ((size_t)i >= mr)
                    break;
                const float *r = ep.add + i * ep.ldadd;
                _Pragma("GCC unroll 3")
                for (int j = 0; j < LAM__CNV; j++) {
                    if (j >= nv)
                        continue;
                    __m512 v = _mm512_setzero_ps();
                    if (!geo)
                        v = _mm512_maskz_loadu_ps(m[j], r + 16 * j);
                    else
                        for (int q = 0; q < geo->n[j]; q++)
                            v = _mm512_mask_loadu_ps(v, geo->k[j][q], r + geo->o[j][q]);
                    c[i][j] = _mm512_add_ps(c[i][j], v);
                }
            }
        if (ep.act == LAM_ACTIVATION_RELU) {
            _Pragma("GCC unroll 8")
            for (int i = 0; i < LAM__CMR; i++)
                _Pragma("GCC unroll 3")
                for (int j = 0; j < LAM__CNV; j++)
                    if (j < nv)
                        c[i][j] = _mm512_max_ps(_mm512_setzero_ps(), c[i][j]);
        } else if (ep.act == LAM_ACTIVATION_RELU6) {
            _Pragma("GCC unroll 8")
            for (int i = 0; i < LAM__CMR; i++)
                _Pragma("GCC unroll 3")
                for (int j = 0; j < LAM__CNV; j++)
                    if (j < nv)
                        c[i][j] = lam__v16_relu6(c[i][j]);
        } else if (ep.act != LAM_ACTIVATION_IDENTITY) {
            /* through a buffer: c must not escape, or GCC keeps it in memory */
            float t[LAM__CMR * LAM__CNR] __attribute__((aligned(64)));
            _Pragma("GCC unroll 8")
            for (int i = 0; i < LAM__CMR; i++)
                _Pragma("GCC unroll 3")
                for (int j = 0; j < LAM__CNV; j++)
                    if (j < nv)
                        _mm512_store_ps(t + (i * nv + j) * 16, c[i][j]);
            lam__gemm_act_avx512((size_t)(LAM__CMR * nv * 16), t, ep);
            _Pragma("GCC unroll 8")
            for (int i = 0; i < LAM__CMR; i++)
                _Pragma("GCC unroll 3")
                for (int j = 0; j < LAM__CNV; j++)
                    if (j < nv)
                        c[i][j] = _mm512_load_ps(t + (i * nv + j) * 16);
        }
    }
    _Pragma("GCC unroll 8")
    for (int i = 0; i < LAM__CMR; i++) {
        if ((size_t)i >= mr)
            break;
        _Pragma("GCC unroll 3")
        for (int j = 0; j < LAM__CNV; j++)
            if (j < nv) {
                if (!geo)
                    _mm512_mask_storeu_ps(y + i * ldy + 16 * j, m[j], c[i][j]);
                else
                    for (int r = 0; r < geo->n[j]; r++)
                        _mm512_mask_storeu_ps(y + i * ldy + geo->o[j][r], geo->k[j][r],
                                              c[i][j]);
            }
    }
}

LAM__INLINE void lam__cstrip_avx512(const int nv, size_t M, size_t K, const float *packed,
                                    const float *const *rows, size_t col, __mmask16 ml, float *y,
                                    size_t ldy, const float *bias, lam__epilogue ep0, int more,
                                    const lam__cgeo *geo)
{
    const size_t np = (M + LAM__CMR - 1) / LAM__CMR * LAM__CMR; /* rows of the panels */
    /* the next strip's output lines, each tile its own, where they stay in
     * L1 until then (a short M) */
    const int pfy = more && !geo && np * LAM__CNR * sizeof(float) <= LAM__CPY;
    size_t k0 = 0;
    do {
        const size_t kc = K - k0 < LAM__CKC ? K - k0 : LAM__CKC;
        for (size_t p = 0; p < M; p += LAM__CMR) {
            lam__epilogue ep = ep0; /* the addend of the panel's rows */
            if (ep.add)
                ep.add += p * ep.ldadd;
            /* while a strip runs, its first three panels prefetch the next
             * strip's B (a 1x1 convolution's rows come from memory, one
             * page apart: the hardware prefetcher does not follow them) */
            const size_t q = p / LAM__CMR;
            const size_t pfo = more && q < LAM__CNV ? LAM__CNR + 16 * q : 0;
            /* where the next strip's lines would not stay in L1 (!pfy):
             * the output and addend lines of the tile LAM__CPD panels on,
             * in this strip or the next one */
            const float *pfa = NULL, *pfs = NULL;
            size_t pmr = 0, tp = p + LAM__CPD * LAM__CMR, o = 0;
            if (!pfy && !geo && tp >= M && more) {
                tp -= np;
                o = LAM__CNR;
            }
            if (!pfy && !geo && tp < M) {
                pfs = y + tp * ldy + o;
                pfa = ep0.add ? ep0.add + tp * ep0.ldadd + o : NULL;
                pmr = M - tp < LAM__CMR ? M - tp : LAM__CMR;
            }
            if (pfo)
                lam__ctile_avx512(nv, kc, packed + p * K + k0 * LAM__CMR, rows + k0, col, ml,
                                  y + p * ldy, ldy, M - p < LAM__CMR ? M - p : LAM__CMR,
                                  k0 == 0, k0 + kc == K, bias ? bias + p : NULL, ep, pfo, pfy,
                                  pfa, pfs, pmr, geo);
            else
                lam__ctile_avx512(nv, kc, packed + p * K + k0 * LAM__CMR, rows + k0, col, ml,
                                  y + p * ldy, ldy, M - p < LAM__CMR ? M - p : LAM__CMR,
                                  k0 == 0, k0 + kc == K, bias ? bias + p : NULL, ep, 0, pfy,
                                  pfa, pfs, pmr, geo);
        }
        k0 += kc;
    } while (k0 < K);
}

void lam__f32_conv_gemm_avx512(size_t M, size_t N, size_t K, const float *packed,
                               const float *const *rows, size_t off, const float *bias, float *y,
                               size_t ldy, lam__epilogue ep0)
{
    for (size_t n0 = 0; n0 < N; n0 += LAM__CNR) {
        const size_t w = N - n0 < LAM__CNR ? N - n0 : LAM__CNR;
        const int nv = (int)((w + 15) / 16);
        const __mmask16 ml = (__mmask16)((1u << (w - 16 * (size_t)(nv - 1))) - 1u);
        const int more = n0 + 2 * LAM__CNR <= N; /* a whole strip follows */
        lam__epilogue ep = ep0; /* the strip's addend */
        if (ep.add)
            ep.add += n0;
        switch (nv) {
        case 1:
            lam__cstrip_avx512(1, M, K, packed, rows, off + n0, ml, y + n0, ldy, bias, ep, 0,
                               NULL);
            break;
        case 2:
            lam__cstrip_avx512(2, M, K, packed, rows, off + n0, ml, y + n0, ldy, bias, ep, 0,
                               NULL);
            break;
        default:
            lam__cstrip_avx512(3, M, K, packed, rows, off + n0, ml, y + n0, ldy, bias, ep, more,
                               NULL);
            break;
        }
    }
}

/* conv_gemm_rows: conv_gemm's strips and tiles, each tile's outputs stored
 * (and, between K blocks, reloaded) by the runs of its strip (a vector
 * across a row's end: one masked store per row it reaches, the gap lanes
 * in none). */
void lam__f32_conv_gemm_rows_avx512(size_t M, size_t N, size_t K, const float *packed,
                                    const float *const *rows, size_t off, const float *bias,
                                    float *y, size_t ldy, lam__epilogue ep, size_t wp, size_t ow)
{
    lam__cgeo geo;
    for (size_t n0 = 0; n0 < N; n0 += LAM__CNR) {
        const size_t w = N - n0 < LAM__CNR ? N - n0 : LAM__CNR;
        const int nv = (int)((w + 15) / 16);
        const __mmask16 ml = (__mmask16)((1u << (w - 16 * (size_t)(nv - 1))) - 1u);
        const int more = n0 + 2 * LAM__CNR <= N;
        lam__cgeo_init(&geo, nv, n0, ml, wp, ow);
        switch (nv) {
        case 1:
            lam__cstrip_avx512(1, M, K, packed, rows, off + n0, ml, y, ldy, bias, ep, 0, &geo);
            break;
        case 2:
            lam__cstrip_avx512(2, M, K, packed, rows, off + n0, ml, y, ldy, bias, ep, 0, &geo);
            break;
        default:
            lam__cstrip_avx512(3, M, K, packed, rows, off + n0, ml, y, ldy, bias, ep, more, &geo);
            break;
        }
    }
}
