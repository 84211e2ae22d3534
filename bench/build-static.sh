#!/bin/sh
# Fully static build of the benchmark programs that bench/run drives
# (bench/limits, bench/bench_models, bench/kernels/bench_kernels), to run the
# suite on another x86-64 Linux machine whatever its glibc: no shared
# libraries at all (glibc, libm, libgomp and SLEEF linked in).
#
#     bench/build-static.sh [BUILDDIR]          (from the repo root; default build-static)
#
# then, on the other machine (with the repo and BUILDDIR's programs):
#
#     bench/device-scaling.sh BUILDDIR OUT      (or bench/run --builddir BUILDDIR ...)
#
# The build is a VPATH build: ../configure --disable-shared --enable-static
# --without-criterion, programs linked with libtool's -all-static.  OpenBLAS
# and oneDNN (the GEMM anchors of bench_kernels) are left out: they are not
# needed for the scaling study and oneDNN has no static library here.  No
# plugins: a static program cannot dlopen them safely; run bench/run with the
# models section left out (the plugin row) or let it say "plugin not available".
#
# SLEEF: Debian ships no libsleef.a.  If a static libsleef is found it is used;
# otherwise the SLEEF functions that liblamina calls (nm -u, Sleef_*avx2) are
# taken, byte for byte, from the installed libsleef.so: they are leaf
# functions (no calls, no jumps out, no GOT or data references, only
# RIP-relative loads of constants from .rodata), so the text..rodata image of
# the .so is embedded unchanged (.incbin, same 4 KiB alignment) and each
# symbol defined at its offset.  The script refuses any function that is not
# such a leaf, and checks the copies bit for bit against the .so on 2^29
# inputs each.  The machine code is exactly what the dynamic builds run.
#
# Writes BUILDDIR/CARRY: the files another machine needs (paths from the repo
# root), one a line.
set -eu

case $(uname -m) in x86_64) ;; *) echo "build-static.sh: x86-64 only" >&2; exit 1 ;; esac
src=$(cd "$(dirname "$0")/.." && pwd)
bd=${1:-build-static}
mkdir -p "$bd"
bd=$(cd "$bd" && pwd)
rel=${bd#"$src"/}
jobs=$(nproc 2>/dev/null || echo 2)
progs="bench/limits bench/bench_models bench/kernels/bench_kernels"

# ------------------------------------------------------------------ SLEEF
sleef_a=
libdir=$(pkg-config --variable=libdir sleef 2>/dev/null || true)
for d in "$libdir" /usr/lib/x86_64-linux-gnu /usr/local/lib /usr/lib; do
    if [ -n "$d" ] && [ -f "$d/libsleef.a" ]; then sleef_a="$d/libsleef.a"; break; fi
done
shim=
if [ -z "$sleef_a" ]; then
    shim=$bd/sleef-static
    mkdir -p "$shim"
    # A libtool convenience library, which libtool merges into liblamina.a (it
    # would nest a plain archive inside it, and it drops plain objects).
    sleef_a=$shim/libsleef-static.la
fi

# -------------------------------------------------------------- configure
if [ ! -f "$bd/Makefile" ]; then
    (cd "$bd" && "$src/configure" --disable-shared --enable-static --without-criterion \
        --disable-dependency-tracking CFLAGS='-O2 -g0' \
        SLEEF_CFLAGS= SLEEF_LIBS="$sleef_a" \
        ac_cv_header_cblas_h=no ac_cv_header_oneapi_dnnl_dnnl_h=no)
fi

# ------------------------------------------------------- the SLEEF shim
shim_lib() {        # sleef-static.S -> libsleef-static.la
    (cd "$shim" && rm -f libsleef-static.la sleef-static.lo &&
     "$bd/libtool" --quiet --mode=compile --tag=CC gcc -c -o sleef-static.lo sleef-static.S &&
     "$bd/libtool" --quiet --mode=link --tag=CC gcc -o libsleef-static.la sleef-static.lo)
}
if [ -n "$shim" ]; then
    if [ ! -f "$sleef_a" ]; then    # an empty placeholder until the functions are known
        echo '.section .note.GNU-stack,"",@progbits' > "$shim/sleef-static.S"
        shim_lib
    fi
    make -C "$bd" -j"$jobs" liblamina.la simd/libk_core.la simd/libk_avx2.la
    syms=$(nm -u "$bd"/.libs/liblamina.a "$bd"/simd/.libs/*.a 2>/dev/null |
           awk '$1 == "U" && $2 ~ /^Sleef_/ {print $2}' | sort -u)
    so=$(ldconfig -p 2>/dev/null | awk '$1 == "libsleef.so.3" && /x86-64/ {print $NF; exit}')
    [ -n "$so" ] || so=/usr/lib/x86_64-linux-gnu/libsleef.so.3
    so=$(readlink -f "$so")
    echo "build-static.sh: SLEEF functions from $so: $(echo $syms)"
    python3 - "$so" "$shim" $syms <<'EOF'
import re, subprocess, sys
so, out, syms = sys.argv[1], sys.argv[2], sys.argv[3:]
def sh(*a):
    return subprocess.run(a, check=True, capture_output=True, text=True).stdout
table = {}
for line in sh("nm", "-DS", "--defined-only", so).splitlines():
    p = line.split()
    if len(p) == 4:
        table[p[3]] = (int(p[0], 16), int(p[1], 16))
secs = {}
for line in sh("readelf", "-SW", so).splitlines():
    m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
    if m:
        secs[m.group(1)] = (int(m.group(2), 16), int(m.group(2), 16) + int(m.group(4), 16))
ok_ranges = [secs[s] for s in (".text", ".rodata") if s in secs]
loads = []
for line in sh("readelf", "-lW", so).splitlines():
    p = line.split()
    if p and p[0] == "LOAD":
        loads.append((int(p[1], 16), int(p[2], 16), int(p[4], 16)))
bad, targets = [], []
for s in syms:
    if s not in table:
        bad.append(f"{s}: not in {so}")
        continue
    a, n = table[s]
    dis = sh("objdump", "-d", "--no-show-raw-insn", f"--start-address={a:#x}",
             f"--stop-address={a + n:#x}", so)
    for line in dis.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(\S+)\s*(.*)", line)
        if not m:
            continue
        op, args = m.group(2), m.group(3)
        if op.startswith(("call", "j")) or "*" in args:
            t = re.match(r"([0-9a-f]+)\b", args)
            if not t or not (a <= int(t.group(1), 16) < a + n):
                bad.append(f"{s}: leaves the function: {line.strip()}")
        if "(%rip)" in args:
            t = re.search(r"#\s*([0-9a-f]+)", args)
            if not t:
                bad.append(f"{s}: unresolved RIP reference: {line.strip()}")
                continue
            v = int(t.group(1), 16)
            if not any(lo <= v < hi for lo, hi in ok_ranges):
                bad.append(f"{s}: references outside .text/.rodata: {line.strip()}")
            targets.append(v)
        ops = args.split("#")[0]
        if "%fs:" in ops or "%gs:" in ops or re.search(r"(?<![$\w])0x[0-9a-f]+(?![\w(])", ops):
            bad.append(f"{s}: absolute or TLS memory operand: {line.strip()}")
if bad:
    sys.exit("build-static.sh: cannot take these SLEEF functions from the .so:\n  " + "\n  ".join(bad))
lo = min(table[s][0] for s in syms) & ~0xFFF
hi = max([table[s][0] + table[s][1] for s in syms] + [t + 64 for t in targets])
hi = (hi + 63) & ~63
for off, va, fsz in loads:
    if va < hi and va + fsz > lo and off != va:
        sys.exit("build-static.sh: libsleef's segments are not laid out file offset == address")
with open(f"{out}/sleef-static.S", "w") as f:
    f.write(f"/* generated by bench/build-static.sh: SLEEF functions copied from\n   {so}\n"
            f"   bytes {lo:#x}..{hi:#x} (text and rodata, unchanged) */\n")
    f.write('\t.section .text.lamina_sleef_image,"ax",@progbits\n\t.p2align 12\n')
    f.write(f"lamina_sleef_image:\n\t.incbin \"{so}\", {lo}, {hi - lo}\n")
    for s in syms:
        a, n = table[s]
        f.write(f"\t.globl {s}\n\t.type {s}, @function\n\t.set {s}, lamina_sleef_image + {a - lo:#x}\n"
                f"\t.size {s}, {n}\n")
    f.write('\t.section .note.GNU-stack,"",@progbits\n')
# A check program: each copy against the .so, bit for bit.
with open(f"{out}/check.c", "w") as f:
    f.write("#include <dlfcn.h>\n#include <immintrin.h>\n#include <stdio.h>\n#include <string.h>\n"
            "typedef __m256 (*fn)(__m256);\n")
    un = [s for s in syms if re.match(r"Sleef_[a-z0-9]+f8_u[0-9]+avx2$", s)]
    for s in un:
        f.write(f"__m256 {s}(__m256);\n")
    f.write("int main(void) {\n  void *h = dlopen(\"" + so + "\", RTLD_NOW | RTLD_LOCAL);\n"
            "  if (!h) { puts(dlerror()); return 2; }\n  int bad = 0;\n")
    for s in un:
        f.write(f"  {{ fn ref = (fn)dlsym(h, \"{s}\"); unsigned long diff = 0;\n"
                "    for (unsigned long i = 0; i < (1ul << 32); i += 8 * 7 + 1) {\n"
                "      unsigned u[8]; float x[8], y0[8], y1[8];\n"
                "      for (int j = 0; j < 8; j++) u[j] = (unsigned)(i + (unsigned long)j * 0x9E3779B9u);\n"
                "      memcpy(x, u, sizeof x);\n"
                f"      _mm256_storeu_ps(y0, {s}(_mm256_loadu_ps(x)));\n"
                "      _mm256_storeu_ps(y1, ref(_mm256_loadu_ps(x)));\n"
                "      diff += memcmp(y0, y1, sizeof y0) != 0;\n    }\n"
                f"    printf(\"  {s}: %s\\n\", diff ? \"DIFFERS\" : \"bit-identical to the .so\");\n"
                "    bad |= diff != 0; }\n")
    f.write("  return bad;\n}\n")
print(f"build-static.sh: {len(syms)} SLEEF functions, image {(hi - lo) >> 10} KiB")
EOF
    shim_lib
    if grep -q avx2 /proc/cpuinfo; then
        gcc -O1 -mavx2 -mfma -o "$shim/check" "$shim/check.c" "$shim/.libs/libsleef-static.a" -ldl
        "$shim/check"
    else
        echo "build-static.sh: no AVX2 here: the copies are not checked against the .so" >&2
    fi
fi

# ---------------------------------------------------------------- build
# -all-static: libtool links the programs with -static (glibc, libm, libgomp).
# Relink every time: the placeholder SLEEF library must not stay in a program.
(cd "$bd" && rm -f liblamina.la $progs)
make -C "$bd" -j"$jobs" LDFLAGS=-all-static $progs

fail=0
: > "$bd/CARRY"
{
    echo "$(gcc --version | head -1), fully static (-all-static): glibc $(ldd --version | head -1 | awk '{print $NF}'), libgomp, libm"
    if [ -n "$shim" ]; then
        echo "SLEEF: $(echo $syms) copied from $so (bit-identical on 2^29 inputs each)"
    else
        echo "SLEEF: $sleef_a"
    fi
    echo "configure: $(sed -n 's/^  \$ //p' "$bd/config.log" | head -1)"
    echo "built: $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -n)"
} > "$bd/BUILDINFO"
for p in $progs; do
    what=$(file -b "$bd/$p")
    case $what in
        *"statically linked"*) echo "build-static.sh: $p: static, $(du -k "$bd/$p" | cut -f1) KiB" ;;
        *) echo "build-static.sh: $p is not statically linked: $what" >&2; fail=1 ;;
    esac
    echo "$rel/$p" >> "$bd/CARRY"
done
echo "$rel/BUILDINFO" >> "$bd/CARRY"
[ $fail = 0 ] || exit 1
# Smoke test: the programs answer.
"$bd/bench/limits" --only versions
printf 'info\nquit\n' | "$bd/bench/bench_models" --no-plugins
echo "build-static.sh: done; files to carry (from the repo root): $(tr '\n' ' ' < "$bd/CARRY")"
