/* Helpers for the kernel tests: the tables under test, float64 references
 * written from the PyTorch definitions (never from the kernels), ULP error
 * against an exact value, and deterministic random numbers. */
#ifndef LAMINA_TESTS_SIMD_KT_H
#define LAMINA_TESTS_SIMD_KT_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "simd/simd.h"

/* The best SIMD table of this build and CPU ("avx512", "avx2" or "neon"),
 * or NULL. */
static inline const lam__kernel_table *kt_simd(void)
{
    const lam__kernel_table *k = lam__kernels_for("avx512");
    if (!k)
        k = lam__kernels_for("avx2");
    return k ? k : lam__kernels_for("neon");
}

/* Every ISA a table can have: the kernel tests run once per name
 * (Criterion parameterised tests) and skip, saying why, where this build
 * or CPU lacks the table. */
static const char *const kt_isa_names[] = {"scalar", "avx2", "avx512", "neon"};
#define KT_NISA (sizeof kt_isa_names / sizeof kt_isa_names[0])

static inline const lam__kernel_table *kt_table(const char *isa) { return lam__kernels_for(isa); }
/* the parameters: indices into kt_isa_names (Criterion copies parameters
 * into the test's process by value: pointers would not survive the re-exec) */
static int kt_isa_index[] __attribute__((unused)) = {0, 1, 2, 3};
#define KT_ISA_PARAMS() cr_make_param_array(int, kt_isa_index, KT_NISA)

/* The table of ISA `isa`; when this build or CPU has none, the test is
 * skipped with the reason ("avx512: skipped: CPU lacks AVX-512F/VL/BW/DQ or
 * OS did not enable ZMM state").  A macro: cr_skip_test ends the test. */
#define KT_TABLE_OR_SKIP(k, isa)                                                    \
    do {                                                                            \
        (k) = kt_table(isa);                                                        \
        if (!(k))                                                                   \
            cr_skip_test("%s: skipped: %s", (isa), lam__kernels_missing(isa));      \
    } while (0)

/* The largest vector width of any table, in floats (zmm), and the step of
 * the unrolled main loops (two vectors): tail tests cover every n in
 * [0, 2 KT_STEP + 1]. */
#define KT_VEC_MAX 16
#define KT_STEP (2 * KT_VEC_MAX)

static inline const lam__kernel_table *kt_scalar(void) { return lam__kernels_for("scalar"); }

/* ---- random numbers (xorshift64*, fixed seeds: reproducible failures) ---- */
typedef struct { uint64_t s; } kt_rng;
static inline uint64_t kt_next(kt_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1DULL;
}
static inline float kt_uniform(kt_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)((kt_next(r) >> 40) * 0x1p-24);
}

/* ---- ULP error of a float result against an exact (float64) value ---- */
/* The spacing of floats at |v| (2^-149 in the subnormal range). */
static inline double kt_ulp_at(double v)
{
    v = fabs(v);
    if (v < FLT_MIN)
        return 0x1p-149;
    int e;
    frexp(v, &e); /* v = m 2^e, m in [0.5, 1) */
    if (e > 128)
        e = 128;
    return ldexp(1.0, e - 24);
}
static inline double kt_ulp_err(float y, double ref)
{
    return fabs((double)y - ref) / kt_ulp_at(ref);
}

/* Does y match the exact value ref within `ulp` ULP (normal results) and
 * `abs_tol`?  NaN must give NaN, an infinite rounded result must match
 * exactly, a result below FLT_MIN may be off by up to FLT_MIN (flush). */
static inline int kt_close(float y, double ref, double ulp, double abs_tol)
{
    float rf = (float)ref;
    if (isnan(ref))
        return isnan(y);
    if (isnan(y))
        return 0;
    if (isinf(rf))
        return y == rf;
    double d = fabs((double)y - ref);
    if (d <= abs_tol)
        return 1;
    if (fabs(ref) < FLT_MIN)
        return d <= FLT_MIN;
    return d <= ulp * kt_ulp_at(ref);
}

static inline int kt_same_bits(float a, float b)
{
    uint32_t ua, ub;
    memcpy(&ua, &a, 4);
    memcpy(&ub, &b, 4);
    return ua == ub || (isnan(a) && isnan(b));
}

/* ---- float64 references (PyTorch formulas) ---- */
static inline double kt_ref_relu(double x) { return isnan(x) ? x : (x < 0 ? 0.0 : x); }
static inline double kt_ref_relu6(double x) { return isnan(x) ? x : (x < 0 ? 0.0 : (x > 6 ? 6.0 : x)); }
static inline double kt_ref_leaky(double x, double a) { return x < 0 ? a * x : x; }
static inline double kt_ref_elu(double x, double a) { return x <= 0 ? a * expm1(x) : x; }
static inline double kt_ref_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
static inline double kt_ref_tanh(double x) { return tanh(x); }
/* x Phi(x) with Phi(x) = erfc(-x / sqrt 2) / 2: the same value as 0.5 x (1 + erf(x /
 * sqrt 2)) without its cancellation for x < -5.6 (float64 1 + erf loses everything there) */
static inline double kt_ref_gelu(double x) { return x * 0.5 * erfc(-x / sqrt(2.0)); }
static inline double kt_ref_gelu_tanh(double x)
{
    const double k = sqrt(2.0 / M_PI);
    return 0.5 * x * (1.0 + tanh(k * (x + 0.044715 * x * x * x)));
}
static inline double kt_ref_silu(double x) { return x / (1.0 + exp(-x)); }
static inline double kt_ref_exp(double x) { return exp(x); }
static inline double kt_ref_softplus(double x, double beta, double thr)
{
    return x * beta > thr ? x : log1p(exp(beta * x)) / beta;
}

/* The float64 reference of each entry of LAM_ELEMENTWISE_KERNELS, named
 * kt_eref_<name>(x, param) (param: the entry's parameter, or beta). */
static inline double kt_eref_relu(double x, double p) { (void)p; return kt_ref_relu(x); }
static inline double kt_eref_leaky_relu(double x, double p) { return kt_ref_leaky(x, p); }
static inline double kt_eref_relu6(double x, double p) { (void)p; return kt_ref_relu6(x); }
static inline double kt_eref_elu(double x, double p) { return kt_ref_elu(x, p); }
static inline double kt_eref_sigmoid(double x, double p) { (void)p; return kt_ref_sigmoid(x); }
static inline double kt_eref_tanh(double x, double p) { (void)p; return kt_ref_tanh(x); }
static inline double kt_eref_gelu(double x, double p) { (void)p; return kt_ref_gelu(x); }
static inline double kt_eref_gelu_tanh(double x, double p) { (void)p; return kt_ref_gelu_tanh(x); }
static inline double kt_eref_silu(double x, double p) { (void)p; return kt_ref_silu(x); }
static inline double kt_eref_exp(double x, double p) { (void)p; return kt_ref_exp(x); }
static inline double kt_eref_softplus(double x, double p) { return kt_ref_softplus(x, p, 20.0); }
/* torch.nn.functional's hardswish, hardsigmoid (NaN propagating), hardtanh
 * (clamp to [p, LAM__KT_P2_hardtanh]), mish, prelu, and BatchNorm's affine
 * step x p + LAM__KT_P2_affine */
static inline double kt_eref_hardsigmoid(double x, double p)
{
    (void)p;
    if (isnan(x))
        return x;
    double t = x + 3 < 0 ? 0 : x + 3 > 6 ? 6 : x + 3;
    return t / 6;
}
/* (x t) / 6 with x t rounded to float first, as PyTorch: it overflows to inf
 * for |x| > FLT_MAX / 6 */
static inline double kt_eref_hardswish(double x, double p)
{
    (void)p;
    if (isnan(x))
        return x;
    double t = x + 3 < 0 ? 0 : x + 3 > 6 ? 6 : x + 3;
    return (double)(float)(x * t) / 6;
}
static inline double kt_eref_hardtanh(double x, double p)
{
    double hi = LAM__KT_P2_hardtanh;
    return x < p ? p : x > hi ? hi : x;
}
static inline double kt_eref_mish(double x, double p)
{
    (void)p;
    return x * tanh(log1p(exp(x)));
}
static inline double kt_eref_prelu(double x, double p) { return x > 0 ? x : p * x; }
static inline double kt_eref_affine(double x, double p) { return x * p + (double)LAM__KT_P2_affine; }

static inline double kt_ref_act(lam_activation act, double alpha, double v)
{
    switch (act) {
    case LAM_ACTIVATION_RELU: return kt_ref_relu(v);
    case LAM_ACTIVATION_LEAKY_RELU: return kt_ref_leaky(v, alpha);
    case LAM_ACTIVATION_RELU6: return kt_ref_relu6(v);
    case LAM_ACTIVATION_SIGMOID: return kt_ref_sigmoid(v);
    case LAM_ACTIVATION_TANH: return kt_ref_tanh(v);
    case LAM_ACTIVATION_GELU: return kt_ref_gelu(v);
    case LAM_ACTIVATION_GELU_TANH: return kt_ref_gelu_tanh(v);
    case LAM_ACTIVATION_SILU: return kt_ref_silu(v);
    default: return v;
    }
}

#endif
