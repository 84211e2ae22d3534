/* The kernel list: the contract of the elementwise, row and binary kernel
 * families, one X-macro per family.  Pure macros, no includes.
 *
 * Each list names every entry of its family, in table order, with
 *   - its kind (the member's C type and how it is called),
 *   - the accuracy every SIMD table promises against the exact value,
 *   - flags (exactness, aliasing) and the parameter the tests use,
 *   - its special values, as text (the tests check them against a float64
 *     reference written from the PyTorch definition).
 * The lists generate: the members of lam__kernel_table (simd/kernels.h),
 * every kernel's declaration and each ISA's table initialiser (simd/simd.h,
 * LAM__KERNELS_INIT), the kernel tests (tests/simd/) and the rows of the
 * kernel benchmark (bench/kernels/).  Adding an ISA means writing its
 * kernels (lam__f32_v<name>_<isa>, lam__f32_<name>_<isa>), one
 * LAM__KERNELS_DECLARE() in simd/simd.h and one LAM__KERNELS_INIT() in its
 * kernels-<isa>.c; adding an entry means one line here, its scalar twin
 * and each ISA's kernel.
 *
 * Tail rules, the same for every entry of the three families: n in floats,
 * any n (0 is a no-op); no alignment needed; never reads or writes outside
 * [0, n) (SIMD tails are masked loads/stores, no scalar remainder loops);
 * y may equal an input (in place) and then gives the same bits.  The scalar
 * kernels are float64 evaluations rounded once (<= 1 ULP), except where an
 * entry is exact. */
#ifndef LAMINA_SIMD_KERNEL_LIST_H
#define LAMINA_SIMD_KERNEL_LIST_H

/* flags */
#define LAM_KF_EXACT 1u /* bit-identical to the scalar kernel on every input */

/* ---- elementwise, y[i] = f(x[i]) ----
 * X(name, KIND, ulp, abs, flags, param, specials)
 *   KIND     UNARY: lam__unary_fn f(n, x, y); UNARY1: lam__unary1_fn
 *            f(n, x, y, a), a = param; SOFTPLUS: f(n, x, y, beta, threshold),
 *            beta = param, threshold 20 (PyTorch's default); UNARY2:
 *            lam__unary2_fn f(n, x, y, a, b), a = param, b =
 *            LAM__KT_P2_<name>
 *   ulp      bound in ULP of the exact value on normal results, for x in
 *            [-20, 20] and the special values (0: exact)
 *   abs      or an absolute bound in [-20, 20] where relative accuracy is
 *            not promised (0: none); outside, results are within 1 ULP
 *   param    the parameter the tests and benchmarks use (PyTorch default)
 * Symbols: lam__f32_v<name>_<isa>.  NaN in gives NaN out everywhere. */
#define LAM_ELEMENTWISE_KERNELS(X)                                                                \
    X(relu, UNARY, 0, 0, LAM_KF_EXACT, 0.0f, "relu(-0) = -0, relu(-inf) = 0")                   \
    X(leaky_relu, UNARY1, 0.5, 0, LAM_KF_EXACT, 0.01f, "x < 0 ? a x : x (one rounding), -0 stays -0") \
    X(relu6, UNARY, 0, 0, LAM_KF_EXACT, 0.0f, "min(max(x, 0), 6), +inf -> 6")                     \
    X(elu, UNARY1, 2, 0, 0u, 1.0f, "x <= 0 ? a (exp(x) - 1) : x; -inf -> -a")                    \
    X(sigmoid, UNARY, 3, 0, 0u, 0.0f, "-inf -> 0, +inf -> 1; subnormal results kept")           \
    X(tanh, UNARY, 3, 0, 0u, 0.0f, "+-inf -> +-1, tanh(-0) = -0")                                 \
    X(gelu, UNARY, 0, 5e-7, 0u, 0.0f, "x Phi(x); +inf -> +inf, -inf -> NaN (-inf * 0)")          \
    X(gelu_tanh, UNARY, 0, 5e-7, 0u, 0.0f, "tanh form; +inf -> +inf, -inf -> NaN")                \
    X(silu, UNARY, 3, 0, 0u, 0.0f, "x sigmoid(x); +inf -> +inf, -inf -> NaN")                    \
    X(exp, UNARY, 1, 0, 0u, 0.0f, "overflows to +inf past 88.72, underflows through subnormals") \
    X(softplus, SOFTPLUS, 4, 0, 0u, 1.0f, "x where beta x > threshold; never overflows")      \
    X(hardswish, UNARY, 2, 0, LAM_KF_EXACT, 0.0f, "(x min(max(x + 3, 0), 6)) / 6; -inf -> NaN")   \
    X(hardsigmoid, UNARY, 2, 0, LAM_KF_EXACT, 0.0f, "min(max(x + 3, 0), 6) / 6; NaN stays NaN")  \
    X(hardtanh, UNARY2, 0, 0, LAM_KF_EXACT, -1.0f, "min(max(x, a), b) as clamp; NaN stays NaN")  \
    X(mish, UNARY, 4, 0, 0u, 0.0f, "x tanh(log1p(exp(x))); +inf -> +inf, -inf -> NaN")           \
    X(prelu, UNARY1, 0.5, 0, LAM_KF_EXACT, 0.25f, "x > 0 ? x : a x (one rounding); -0 -> -0 a")  \
    X(affine, UNARY2, 0.5, 0, LAM_KF_EXACT, 0.5f, "fmaf(x, a, b): BatchNorm's x alpha + beta")
/* The second parameter of each UNARY2 entry (b; a is the list's param). */
#define LAM__KT_P2_hardtanh 1.0f
#define LAM__KT_P2_affine 0.25f

/* ---- row kernels over one row of n floats ----
 * X(name, KIND, ulp, flags, specials)
 *   KIND     ROW: lam__unary_fn f(n, x, y); LAYER_NORM: f(n, x, y, gamma,
 *            beta, eps), gamma/beta may be NULL
 *   ulp      softmax/log_softmax: bound in ULP of each exact output;
 *            layer_norm: ulp ULP of |xhat gamma| + 1 ULP of the result
 * Symbols: lam__f32_<name>_<isa>. */
#define LAM_ROW_KERNELS(X)                                                                        \
    X(softmax, ROW, 3, 0u, "NaN or +inf anywhere, or only -inf: a row of NaN; -inf -> 0")        \
    X(log_softmax, ROW, 3, 0u, "NaN or +inf anywhere, or only -inf: a row of NaN; -inf -> -inf") \
    X(layer_norm, LAYER_NORM, 3, 0u, "NaN or inf anywhere: a row of NaN; constant row -> beta")

/* ---- elementwise binary ----
 * X(name, KIND, op)
 *   KIND     BINARY: y[i] = a[i] op b[i] (lam__binary_fn); BINARYC: y[i] =
 *            a[i] op c; RBINARYC: y[i] = c op a[i] (lam__binaryc_fn)
 * One IEEE-754 operation per element: every ISA is exact (the scalar bits),
 * NaN, infinities and signed zeros as IEEE-754 says.  y may equal a or b.
 * Symbols: lam__f32_v<name>_<isa>. */
#define LAM_BINARY_KERNELS(X)                                                                     \
    X(add, BINARY, '+') X(sub, BINARY, '-') X(mul, BINARY, '*') X(div, BINARY, '/')               \
    X(addc, BINARYC, '+') X(subc, BINARYC, '-') X(rsubc, RBINARYC, '-') X(mulc, BINARYC, '*')     \
    X(divc, BINARYC, '/') X(rdivc, RBINARYC, '/')

/* ---- attention over one head, query rows [i_begin, i_end) ----
 * X(name, KIND, tol, flags, specials)
 *   KIND     ATTN: lam__attention_fn f(args, i_begin, i_end) (simd/kernels.h)
 *   tol      |o - exact| <= tol (D + 64) eps amax(v) (1 + amax(s)), amax(s)
 *            the largest |score| of the row, and the weights the same with
 *            amax(v) = 1 (eps = 2^-24)
 * o_i = sum_j softmax_j(score(i, .)) v_j, keys in blocks of 64 with an online
 * softmax: without weights nothing of size Tq x Tk is stored.  Each row is
 * computed alone: the bits do not depend on [i_begin, i_end) or the caller's
 * split (a -0 may turn +0).  Rows where every score is -inf, or with a NaN or
 * +inf score, give NaN (PyTorch's softmax); Tk = 0 gives o = 0.
 * Symbols: lam__f32_<name>_<isa>. */
#define LAM_ATTN_KERNELS(X)                                                                       \
    X(attention, ATTN, 0.5, 0u, "fully masked row -> NaN (o and w); Tk = 0 -> o = 0")

/* ---- window kernels over one NCHW plane (convolution and pooling) ----
 * X(name, KIND, flags, specials)
 *   KIND     DWCONV2D: lam__dwconv2d_fn; DWCONV2D_NC: lam__dwconv2d_nc_fn;
 *            MAXPOOL2D: lam__maxpool2d_fn; AVGPOOL2D: lam__avgpool2d_fn
 *            (simd/kernels.h)
 * The geometry is a lam__win2d (simd/kernels.h); each call computes output
 * rows [oh_begin, oh_end) of one plane, any sizes (1d: h = oh = kh = 1), any
 * kernel, stride, dilation and leading padding; taps outside the input are
 * skipped (zero padding for the convolution, -inf for max).  Every output
 * is one chain in window order (kernel rows, then columns):
 *   dwconv2d   acc = 0; acc = fmaf(w, x, acc) per tap; y = acc + bias
 *   maxpool2d  m = -inf; m = x where x > m or x is NaN (PyTorch's rule:
 *              NaN propagates, the first of equal values is kept)
 *   avgpool2d  s = 0; s += x per tap; y = 0 + s / divisor (PyTorch's
 *              cpu_avg_pool: divisor_override, else the window clipped to
 *              the padded input with count_include_pad, else the taps)
 *   dwconv2d_nc  dwconv2d of nc planes at once, all output rows: plane c
 *              of x at x + c xs, its weights at w + c kh kw, bias[c] (bias
 *              NULL: 0), its output at y + c ys; the same bits as dwconv2d
 *              plane by plane (g->stream is not honoured); scratch:
 *              lam__dwconv2d_nc_scratch(g) floats, 64-byte aligned
 *   adaptive_maxpool2d, adaptive_avgpool2d  the adaptive pools (g: h, w,
 *              oh, ow only; the rest is ignored): output o of n over an
 *              input of c has the window [floor(o c / n), ceil((o + 1) c /
 *              n)) on each axis (PyTorch's AdaptivePooling.h), the chain of
 *              maxpool2d, or s = 0; s += x; y = s / kh / kw (PyTorch's
 *              cpu_adaptive_avg_pool, two divisions)
 * so every ISA gives the scalar twin's bits (LAM_KF_EXACT), signed zeros
 * included (a NaN's sign and payload are not promised).  Symbols:
 * lam__f32_<name>_<isa>. */
#define LAM_WINDOW_KERNELS(X)                                                                    \
    X(dwconv2d, DWCONV2D, LAM_KF_EXACT, "padding taps skipped: inf weights never meet a pad")    \
    X(maxpool2d, MAXPOOL2D, LAM_KF_EXACT, "NaN anywhere in the window -> NaN; all pad -> -inf")  \
    X(avgpool2d, AVGPOOL2D, LAM_KF_EXACT, "no input tap in the window -> 0; -0 sums give +0")    \
    X(adaptive_maxpool2d, MAXPOOL2D, LAM_KF_EXACT, "NaN anywhere in the window -> NaN")       \
    X(adaptive_avgpool2d, MAXPOOL2D, LAM_KF_EXACT, "s = 0; s += x per tap; y = s / kh / kw") \
    X(dwconv2d_nc, DWCONV2D_NC, LAM_KF_EXACT, "dwconv2d over nc planes; any nc, geometry")

/* ---- statistics of one row (the norms' mean and variance) ----
 * X(name, KIND, flags, specials)
 *   KIND     MOMENTS: lam__moments_fn f(n, x, c, s): s[0] = sum (x_i - c),
 *            s[1] = sum (x_i - c)^2, both in float64 (x_i - c one rounding,
 *            the square fused into the sum: fma(d, d, s1))
 * The order is fixed, the same on every table: 16 partial sums, element i
 * into partial i mod 16 in order of i, then combined as a tree (p[j] +=
 * p[j + 8], then + p[j + 4], + p[j + 2], + p[j + 1]); so every ISA gives
 * the scalar twin's bits (LAM_KF_EXACT).  Any n (0 gives 0, 0), no
 * alignment.  Two calls make the norms' two-pass statistics: c = 0 gives
 * the sum, then c = the mean gives the sum of squared deviations.
 * Symbols: lam__f32_<name>_<isa>. */
#define LAM_STATS_KERNELS(X)                                                                     \
    X(moments, MOMENTS, LAM_KF_EXACT, "NaN in -> NaN sums; inf -> inf (or NaN: inf - inf)")

/* ---- across the channels of one NCHW sample (LocalResponseNorm) ----
 * X(name, KIND, ulp, flags, specials)
 *   KIND     LRN: lam__lrn_fn f(C, S, x, y, size, alpha, beta, k, p_begin,
 *            p_end) (simd/kernels.h): x, y one sample of C channels of S
 *            positions (channel c at c S), positions [p_begin, p_end) of
 *            every channel; y must not overlap x (the windows read the
 *            other channels)
 *   ulp      bound in ULP of the exact value, for k >= 0 and |beta| (size +
 *            1) < 2^27 (normal results; outside, the float64 pipeline's)
 * PyTorch's F.local_response_norm, b = a (k + alpha / size sum a'^2)^-beta
 * over the channels [c - size / 2, c + (size - 1) / 2] clipped to [0, C)
 * (zero padding; the divisor is always size).  Every table computes, per
 * position, in float64 (as the layer did):
 *   s = 0; s = fma(x_j, x_j, s) for j over the window in order (each
 *        square is exact: s is the same on every table);
 *   d = fma(s, alpha / size, k); y = (float)(x pow(d, -beta)), or where
 *        beta = 0.75 (PyTorch's default) y = (float)(x / (r sqrt(r))), r =
 *        sqrt(d): IEEE operations, the same bits on every table
 * the window summed afresh for every output (no running sum: removing a
 * large square that leaves the window would cancel the small ones still in
 * it).  Only pow differs: the scalar twin's libm pow, the vector tables'
 * SLEEF u10 float64 pow (<= 1 ULP of float64); the float64 result is within
 * (|beta| (size + 1) + 5) 2^-53 of exact, so y is within 1 ULP of the exact
 * value, and of the scalar twin's y (its bits where beta = 0.75).  Any C,
 * S, size >= 1, no alignment; reads only the channels' positions [p_begin,
 * p_end) (masked tails), writes only y's.  Symbols: lam__f32_<name>_<isa>. */
#define LAM_CHANNEL_KERNELS(X)                                                                    \
    X(lrn, LRN, 1, 0u, "NaN in the window -> NaN; inf there (alpha, beta > 0) -> +-0, or NaN at x = inf")

/* ---- convolution as Y = W . B on NCHW tensors (no transposes) ----
 * X(name, KIND, flags, specials)
 *   KIND     CONV_PACKED_SIZE: lam__conv_packed_size_fn; CONV_PACK:
 *            lam__conv_pack_fn; CONV_GEMM: lam__conv_gemm_fn; CONV_GEMM_ROWS:
 *            lam__conv_gemm_rows_fn (simd/kernels.h)
 * conv_gemm computes y[m ldy + j] = act(sum_k W[m, k] rows[k][off + j] +
 * bias[m]) for m in [0, M), j in [0, N): M output channels, N output pixels
 * (contiguous in the NCHW output), K = (ci, kh, kw) taps, row k of B given
 * by a pointer (the input plane itself for a 1x1 convolution, a padded
 * plane at a tap's offset, or an im2col row).  W (M x K, row-major: the
 * PyTorch weight of one group) is packed once by conv_pack into
 * conv_packed_size(M, K) floats, in the ISA's layout.  Each output is one
 * chain, acc = 0; acc = fmaf(W[m, k], B[k, j], acc) for k = 0 .. K-1 in
 * order; + bias[m] (bias NULL: nothing); then the activation (the GEMM
 * epilogue's, < LAM_ACTIVATION__EPILOGUE_COUNT), so every ISA gives the
 * scalar twin's bits (IDENTITY, RELU, RELU6, LEAKY_RELU; the others within
 * the activation's bound), whatever the blocking, and the bits do not
 * depend on N, off or the split of the pixels.  Reads rows[k][off + j] only
 * for j in [0, N) (masked tails: a row may end at an unreadable page);
 * writes only y[m ldy + j], m < M, j < N.  K = 0 gives act(bias).
 * Accuracy: |y - exact| <= 1.2 (K + 2) eps (sum |w x| + |b|) + the
 * activation's bound.  A residual addend (ep.add, not NULL) goes in before
 * the activation, unlike the gemm entry's: y = act(chain + bias[m] +
 * ep.add[m ldadd + j]) (one IEEE add after the bias; the bits of the
 * kernel without it, the add kernel, then the activation's kernel: the
 * convolution's residual, torchvision's relu(conv(x) + identity)); the
 * addend is laid out as y (conv_gemm_rows reads it where it stores), read
 * only where y is written, and must not overlap y.  conv_gemm_rows is conv_gemm
 * with an output row geometry (the flat path's padded width, without a copy out):
 * pixel j of [0, N) is output column j % wp of output row j / wp, stored at
 * y[m ldy + (j / wp) ow + j % wp] when j % wp < ow, not stored otherwise
 * (1 <= ow <= wp); the same bits as conv_gemm over the same pixels, and it
 * writes nothing else (no gap columns, nothing past the last row's pixels).
 * Every ISA packs rows in panels of at most 8 (a divisor of 8), panel by
 * panel, so rows [m0, M) of a packing, m0 a multiple of 8, are the packing
 * of those rows at packed + m0 K.
 *
 * Winograd F(4x4, 3x3) (Lavin and Gray), lane by lane over n tiles: each
 * tile t is a 6 x 6 input patch in, a 6 x 6 transformed tile out:
 *   wino_in    patch row r, column c of tile t at d[r rs + c cs + t ts]
 *              -> v[(i 6 + j) vs + t] = (B^T d B)[i][j]; reads only those
 *              floats, except that with ts = 4 and cs = 1 (tiles side by
 *              side in padded rows) whole vectors read the rows up to 3
 *              floats past the last tile's patch;
 *   wino_out   m[(i 6 + j) ms + t] -> q[(a 4 + b) qs + t] = (A^T m A)[a][b],
 *              the 4 x 4 outputs of the tile, reading and writing only t in
 *              [0, n);
 *   wino_store row a < ra (ra <= 4) of n tiles side by side in a plane:
 *              y[a ys + 4 t + b] = q[(a 4 + b) qs + t] for 4 t + b < wl,
 *              nothing else written (a copy: every bit kept).
 * wino2_in, wino2_out, wino2_store are the same for F(2x2, 3x3): 4 x 4
 * patches (patch (r, c) of tile t at d[r rs + c cs + t ts]; with ts = 2
 * and cs = 1 whole vectors read up to 1 float past the last patch), 16
 * transformed elements, 2 x 2 outputs, y[a ys + 2 t + b]; the 1-d
 * transforms u0 = d0 - d2, u1 = d1 + d2, u2 = d2 - d1, u3 = d1 - d3 and
 * o0 = (m0 + m1) + m2, o1 = (m1 - m2) - m3 (x - y as fma(y, -1, x)).
 * The transforms go columns first (the 1-d
 * transform of each column c, over its rows), then rows.  The 1-d input
 * transform of (d0 .. d5), in this order of operations (fma(a, b, c) fused;
 * x - y computed as fma(y, -1, x)):
 *   u0 = fma(d0, 4, fma(d2, -5, d4))      u1 = fma(d1, -4, fma(d2, -4, d3 + d4))
 *   u2 = fma(d1, 4, fma(d2, -4, d4 - d3)) u3 = fma(d1, -2, fma(d3, 2, d4 - d2))
 *   u4 = fma(d1, 2, fma(d3, -2, d4 - d2)) u5 = fma(d1, 4, fma(d3, -5, d5))
 * and the 1-d output transform of (m0 .. m5), with a = m1 + m2, b = m1 - m2,
 * c = m3 + m4, e = m3 - m4:
 *   o0 = (m0 + a) + c   o1 = fma(e, 2, b)   o2 = fma(c, 4, a)
 *   o3 = fma(e, 8, b) + m5
 * so every ISA gives the scalar twin's bits.  Accuracy: the transforms'
 * coefficients (up to 8 in A^T, 5 in B^T) make the error of a whole
 * Winograd convolution about 10 to 100 times that of the direct sum, within
 * 1e-5 of the output's scale for K up to thousands (runtime/layers/conv_compute.c).
 * Symbols: lam__f32_<name>_<isa>. */
#define LAM_CONV_KERNELS(X)                                                                      \
    X(conv_packed_size, CONV_PACKED_SIZE, 0u, "any M, K (0 too): the floats conv_pack writes")   \
    X(conv_pack, CONV_PACK, 0u, "any M, K: W row-major M x K, zero-padded to the ISA's panels")  \
    X(conv_gemm, CONV_GEMM, LAM_KF_EXACT, "any M, N, K; inf x 0 = NaN (the padding's zeros)")    \
    X(conv_gemm_rows, CONV_GEMM_ROWS, LAM_KF_EXACT, "conv_gemm, pixel j stored in rows of ow of wp") \
    X(wino_in, WINO_IN, LAM_KF_EXACT, "any n and strides; inf / NaN propagate as IEEE")          \
    X(wino_out, WINO_OUT, LAM_KF_EXACT, "any n and strides; inf / NaN propagate as IEEE")        \
    X(wino_store, WINO_STORE, LAM_KF_EXACT, "any n, ra <= 4, wl: copies, bits and NaNs kept")    \
    X(wino2_in, WINO_IN, LAM_KF_EXACT, "any n and strides; inf / NaN propagate as IEEE")         \
    X(wino2_out, WINO_OUT, LAM_KF_EXACT, "any n and strides; inf / NaN propagate as IEEE")       \
    X(wino2_store, WINO_STORE, LAM_KF_EXACT, "any n, ra <= 2, wl: copies, bits and NaNs kept")

/* ---- what the kinds mean in C: member types and symbol prototypes ---- */
#define LAM__KT_TYPE_UNARY lam__unary_fn
#define LAM__KT_TYPE_UNARY1 lam__unary1_fn
#define LAM__KT_TYPE_SOFTPLUS lam__softplus_fn
#define LAM__KT_TYPE_UNARY2 lam__unary2_fn
#define LAM__KT_TYPE_ROW lam__unary_fn
#define LAM__KT_TYPE_LAYER_NORM lam__layer_norm_fn
#define LAM__KT_TYPE_BINARY lam__binary_fn
#define LAM__KT_TYPE_BINARYC lam__binaryc_fn
#define LAM__KT_TYPE_RBINARYC lam__binaryc_fn
#define LAM__KT_TYPE_ATTN lam__attention_fn
#define LAM__KT_TYPE_DWCONV2D lam__dwconv2d_fn
#define LAM__KT_TYPE_DWCONV2D_NC lam__dwconv2d_nc_fn
#define LAM__KT_TYPE_MAXPOOL2D lam__maxpool2d_fn
#define LAM__KT_TYPE_AVGPOOL2D lam__avgpool2d_fn
#define LAM__KT_TYPE_CONV_PACKED_SIZE lam__conv_packed_size_fn
#define LAM__KT_TYPE_CONV_PACK lam__conv_pack_fn
#define LAM__KT_TYPE_CONV_GEMM lam__conv_gemm_fn
#define LAM__KT_TYPE_CONV_GEMM_ROWS lam__conv_gemm_rows_fn
#define LAM__KT_TYPE_WINO_IN lam__wino_in_fn
#define LAM__KT_TYPE_WINO_OUT lam__wino_fn
#define LAM__KT_TYPE_WINO_STORE lam__wino_store_fn
#define LAM__KT_TYPE_MOMENTS lam__moments_fn
#define LAM__KT_TYPE_LRN lam__lrn_fn

#define LAM__KT_PARAMS_UNARY (size_t n, const float *x, float *y)
#define LAM__KT_PARAMS_UNARY1 (size_t n, const float *x, float *y, float a)
#define LAM__KT_PARAMS_SOFTPLUS (size_t n, const float *x, float *y, float beta, float threshold)
#define LAM__KT_PARAMS_UNARY2 (size_t n, const float *x, float *y, float a, float b)
#define LAM__KT_PARAMS_ROW (size_t n, const float *x, float *y)
#define LAM__KT_PARAMS_LAYER_NORM \
    (size_t n, const float *x, float *y, const float *gamma, const float *beta, float eps)
#define LAM__KT_PARAMS_BINARY (size_t n, const float *a, const float *b, float *y)
#define LAM__KT_PARAMS_BINARYC (size_t n, const float *a, float c, float *y)
#define LAM__KT_PARAMS_RBINARYC (size_t n, const float *a, float c, float *y)
#define LAM__KT_PARAMS_ATTN (const lam__attn_args *a, size_t i_begin, size_t i_end)
#define LAM__KT_PARAMS_DWCONV2D                                                               \
    (const lam__win2d *g, const float *x, const float *w, float bias, float *y, size_t oh_begin, \
     size_t oh_end)
#define LAM__KT_PARAMS_DWCONV2D_NC                                                            \
    (const lam__win2d *g, size_t nc, const float *x, size_t xs, const float *w,                \
     const float *bias, float *y, size_t ys, float *scratch)
#define LAM__KT_PARAMS_MAXPOOL2D \
    (const lam__win2d *g, const float *x, float *y, size_t oh_begin, size_t oh_end)
#define LAM__KT_PARAMS_AVGPOOL2D                                                              \
    (const lam__win2d *g, const float *x, float *y, size_t oh_begin, size_t oh_end,           \
     int count_include_pad, int64_t divisor)
#define LAM__KT_PARAMS_CONV_PACK (size_t M, size_t K, const float *W, float *packed)
#define LAM__KT_PARAMS_CONV_GEMM                                                              \
    (size_t M, size_t N, size_t K, const float *packed, const float *const *rows, size_t off,  \
     const float *bias, float *y, size_t ldy, lam__epilogue ep)
#define LAM__KT_PARAMS_CONV_GEMM_ROWS                                                         \
    (size_t M, size_t N, size_t K, const float *packed, const float *const *rows, size_t off,  \
     const float *bias, float *y, size_t ldy, lam__epilogue ep, size_t wp, size_t ow)
#define LAM__KT_PARAMS_WINO_IN \
    (size_t n, const float *d, size_t rs, size_t cs, size_t ts, float *v, size_t vs)
#define LAM__KT_PARAMS_WINO_OUT (size_t n, const float *m, size_t ms, float *q, size_t qs)
#define LAM__KT_PARAMS_WINO_STORE \
    (size_t n, const float *q, size_t qs, float *y, size_t ys, size_t ra, size_t wl)
#define LAM__KT_PARAMS_MOMENTS (size_t n, const float *x, double c, double s[2])
#define LAM__KT_PARAMS_LRN                                                                    \
    (size_t C, size_t S, const float *x, float *y, size_t size, double alpha, double beta,      \
     double k, size_t p_begin, size_t p_end)

/* Table members (simd/kernels.h). */
#define LAM__KT_MEMBER_E(name, kind, ...) LAM__KT_TYPE_##kind name;
#define LAM__KT_MEMBER_R(name, kind, ...) LAM__KT_TYPE_##kind name;
#define LAM__KT_MEMBER_B(name, kind, op) LAM__KT_TYPE_##kind name;
#define LAM__KT_MEMBER_W(name, kind, ...) LAM__KT_TYPE_##kind name;
#define LAM__KT_MEMBER_C(name, kind, ...) LAM__KT_TYPE_##kind name;

/* One ISA's symbols, for the ISA named by LAM__KT_ISA (defined around the
 * expansion: the list cannot carry the ISA through X):
 *   lam__f32_v<name>_<isa> (elementwise, binary), lam__f32_<name>_<isa> (rows) */
#define LAM__KT_CAT_(a, b) a##_##b
#define LAM__KT_CAT(a, b) LAM__KT_CAT_(a, b)
#define LAM__KT_SYM_E(name) LAM__KT_CAT(lam__f32_v##name, LAM__KT_ISA)
#define LAM__KT_SYM_R(name) LAM__KT_CAT(lam__f32_##name, LAM__KT_ISA)

#define LAM__KT_DECL_E(name, kind, ...) void LAM__KT_SYM_E(name) LAM__KT_PARAMS_##kind;
#define LAM__KT_DECL_R(name, kind, ...) void LAM__KT_SYM_R(name) LAM__KT_PARAMS_##kind;
#define LAM__KT_DECL_B(name, kind, op) void LAM__KT_SYM_E(name) LAM__KT_PARAMS_##kind;
#define LAM__KT_DECL_W(name, kind, ...) void LAM__KT_SYM_R(name) LAM__KT_PARAMS_##kind;
#define LAM__KT_DECL_C(name, kind, ...) LAM__KT_RET_##kind LAM__KT_SYM_R(name) LAM__KT_PARAMS_##kind;
#define LAM__KT_RET_CONV_PACKED_SIZE size_t
#define LAM__KT_PARAMS_CONV_PACKED_SIZE (size_t M, size_t K)
#define LAM__KT_RET_CONV_PACK void
#define LAM__KT_RET_CONV_GEMM void
#define LAM__KT_RET_CONV_GEMM_ROWS void
#define LAM__KT_RET_WINO_IN void
#define LAM__KT_RET_WINO_OUT void
#define LAM__KT_RET_WINO_STORE void
/* Declare every kernel of the families for ISA LAM__KT_ISA. */
#define LAM__KERNELS_DECLARE()             \
    LAM_ELEMENTWISE_KERNELS(LAM__KT_DECL_E) \
    LAM_ROW_KERNELS(LAM__KT_DECL_R)         \
    LAM_BINARY_KERNELS(LAM__KT_DECL_B)      \
    LAM_ATTN_KERNELS(LAM__KT_DECL_R)        \
    LAM_WINDOW_KERNELS(LAM__KT_DECL_W)      \
    LAM_CONV_KERNELS(LAM__KT_DECL_C)        \
    LAM_STATS_KERNELS(LAM__KT_DECL_W)      \
    LAM_CHANNEL_KERNELS(LAM__KT_DECL_W)

#define LAM__KT_SET_E(name, kind, ...) lam__kt_->name = LAM__KT_SYM_E(name);
#define LAM__KT_SET_R(name, kind, ...) lam__kt_->name = LAM__KT_SYM_R(name);
#define LAM__KT_SET_B(name, kind, op) lam__kt_->name = LAM__KT_SYM_E(name);
#define LAM__KT_SET_W(name, kind, ...) lam__kt_->name = LAM__KT_SYM_R(name);
/* Inside lam__kernels_init_<isa>: set every entry of the three families of
 * table k to ISA LAM__KT_ISA's kernel (one statement per entry). */
#define LAM__KERNELS_INIT(k)                        \
    do {                                            \
        lam__kernel_table *lam__kt_ = (k);          \
        LAM_ELEMENTWISE_KERNELS(LAM__KT_SET_E)      \
        LAM_ROW_KERNELS(LAM__KT_SET_R)              \
        LAM_BINARY_KERNELS(LAM__KT_SET_B)           \
        LAM_ATTN_KERNELS(LAM__KT_SET_R)             \
        LAM_WINDOW_KERNELS(LAM__KT_SET_W)           \
        LAM_CONV_KERNELS(LAM__KT_SET_W)             \
        LAM_STATS_KERNELS(LAM__KT_SET_W)            \
        LAM_CHANNEL_KERNELS(LAM__KT_SET_W)          \
    } while (0)

#endif
