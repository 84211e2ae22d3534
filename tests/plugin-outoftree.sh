#!/bin/sh
# Out-of-tree plugin check: install lamina into a temporary directory, build
# the minimal plugin of docs/plugins.md against the INSTALLED headers with
# nothing but `cc -shared -fPIC $(pkg-config --cflags lamina)`, build the
# guide's host program against the installed library, and run it; then
# build the guide's two-type example (gated.c, with <lamina/plugin_util.h>)
# the same way and run its PyTorch model with the installed `lamina`.
#
#   tests/plugin-outoftree.sh [BUILDDIR]
#
# With BUILDDIR (a configured, built tree), installs it with DESTDIR.
# Without, configures and builds the source tree in a temporary directory.
# Prints every command; exits non-zero on the first failure.
set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-}
CC=${CC:-cc}
work=$(mktemp -d "${TMPDIR:-/tmp}/lamina-outoftree.XXXXXX")
keep=${KEEP_WORKDIR:-}
cleanup() { [ -n "$keep" ] || rm -rf "$work"; }
trap cleanup EXIT

say() { printf '+ %s\n' "$*"; }
die() { printf 'plugin-outoftree: FAIL: %s\n' "$*" >&2; exit 1; }
# run a step quietly, showing its log when it fails
step() {
    log=$1; shift
    say "$*"
    "$@" >"$work/$log" 2>&1 || { tail -n 40 "$work/$log" >&2; die "$* (log above)"; }
}

echo "== lamina out-of-tree plugin check (work dir $work)"

# 1. an installed lamina
if [ -n "$builddir" ]; then
    builddir=$(cd "$builddir" && pwd)
    step install.log make -C "$builddir" install DESTDIR="$work/dest"
    pc=$(find "$work/dest" -name lamina.pc -path '*/pkgconfig/*' | head -n 1)
    [ -n "$pc" ] || die "make install put no lamina.pc under $work/dest"
    export PKG_CONFIG_SYSROOT_DIR="$work/dest"
else
    mkdir "$work/build"
    cd "$work/build"
    step configure.log "$srcdir/configure" --prefix="$work/prefix" --without-criterion
    step build.log make -j2
    step install.log make install
    cd "$work"
    pc=$(find "$work/prefix" -name lamina.pc -path '*/pkgconfig/*' | head -n 1)
    [ -n "$pc" ] || die "make install put no lamina.pc under $work/prefix"
fi
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")
export PKG_CONFIG_PATH="$pcdir"
cflags=$(pkg-config --cflags lamina) || die "pkg-config --cflags lamina"
libs=$(pkg-config --libs lamina) || die "pkg-config --libs lamina"
say "pkg-config --cflags lamina  ->  $cflags"
say "pkg-config --libs lamina    ->  $libs"
inc=$(printf '%s\n' $cflags | sed -n 's/^-I//p' | head -n 1)
[ -f "$inc/lamina/plugin.h" ] || die "no installed lamina/plugin.h under $inc"
[ -f "$inc/lamina/plugin_util.h" ] || die "no installed lamina/plugin_util.h under $inc"
case "$inc" in "$work"/*) ;; *) die "the include dir $inc is not the temporary install" ;; esac

# the shipped plugins are installed as <name>.so, without libtool's .la
for p in swish rmsnorm containers; do
    [ -f "$libdir/lamina/plugins/$p.so" ] || die "shipped plugin $libdir/lamina/plugins/$p.so missing"
    [ ! -e "$libdir/lamina/plugins/$p.la" ] || die "$libdir/lamina/plugins/$p.la was installed"
done
say "installed plugins: $(ls "$libdir/lamina/plugins" | tr '\n' ' ')"

# 2. the guide's code, extracted from docs/plugins.md (what the guide shows is what is tested)
cd "$work"
for f in scale.c run_scale.c gated.c; do
    awk -v want="$f" '
        $0 == "<!-- file: " want " -->" { armed = 1; next }
        armed && /^```c$/ { inblock = 1; next }
        inblock && /^```$/ { exit }
        inblock { print }' "$srcdir/docs/plugins.md" >"$f"
    [ -s "$f" ] || die "docs/plugins.md has no code block for $f"
done
say "extracted scale.c ($(wc -l <scale.c) lines), run_scale.c ($(wc -l <run_scale.c) lines) and gated.c ($(wc -l <gated.c) lines) from docs/plugins.md"

# 3. the plugin: only -shared -fPIC and pkg-config's flags; no -llamina
say "$CC -shared -fPIC $cflags scale.c -o scale.so"
$CC -shared -fPIC $cflags scale.c -o scale.so || die "the minimal plugin does not build"
undef=$(nm -D --undefined-only scale.so | awk '{print $2}' | grep '^lam_' || true)
[ -z "$undef" ] || die "the plugin references liblamina symbols: $undef"
exported=$(nm -D --defined-only scale.so | awk '{print $3}' | grep -v '^_' | tr '\n' ' ')
say "scale.so exports: $exported(no lam_* symbols needed)"
# the header is clean for stricter builds too, and for C++
say "$CC -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only $cflags scale.c"
$CC -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only $cflags scale.c ||
    die "scale.c with <lamina/plugin.h> is not clean C99"
if command -v c++ >/dev/null 2>&1; then
    printf '#include <lamina/plugin_util.h>\n#include <lamina/lamina.h>\nint main() { return LAM_PLUGIN_ABI_MAJOR == 0; }\n' >hdr.cc
    say "c++ -Wall -Wextra -Werror -fsyntax-only $cflags hdr.cc"
    c++ -Wall -Wextra -Werror -fsyntax-only $cflags hdr.cc ||
        die "<lamina/plugin.h> or <lamina/plugin_util.h> does not compile as C++"
fi

# the two-type example: the same one-line build, with the helpers header
say "$CC -shared -fPIC $cflags gated.c -o gated.so"
$CC -shared -fPIC $cflags gated.c -o gated.so || die "the plugin_util.h example does not build"
undef=$(nm -D --undefined-only gated.so | awk '{print $2}' | grep '^lam_' || true)
[ -z "$undef" ] || die "gated.so references liblamina symbols: $undef"
say "$CC -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only $cflags gated.c"
$CC -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only $cflags gated.c ||
    die "gated.c with <lamina/plugin_util.h> is not clean C99"

# 4. the host program, linked against the installed library
say "$CC $cflags run_scale.c -o run_scale $libs"
$CC $cflags run_scale.c -o run_scale $libs || die "the host program does not build"

# 5. run: by path, then by name through LAMINA_PLUGIN_PATH
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
say "./run_scale ./scale.so"
./run_scale ./scale.so >out1.txt 2>&1 || { cat out1.txt; die "run_scale ./scale.so failed"; }
cat out1.txt
grep -q "^loaded scale 1.0.0 from $work/scale.so\$" out1.txt || die "unexpected 'loaded' line"
grep -q '^  (0): Scale(factor=2.5)$' out1.txt || die "the repr lacks Scale(factor=2.5)"
grep -q '^output: 0 1.25 5 0$' out1.txt || die "wrong output (want: 0 1.25 5 0)"
say "LAMINA_PLUGIN_PATH=$work ./run_scale scale"
LAMINA_PLUGIN_PATH="$work" ./run_scale scale >out2.txt 2>&1 || { cat out2.txt; die "loading by name failed"; }
grep -q '^output: 0 1.25 5 0$' out2.txt || die "wrong output when loaded by name"
if [ -z "$builddir" ]; then
    # the installed plugin directory is the last place searched by name
    run_dir="$libdir/lamina/plugins"
    say "cp scale.so $run_dir/ && ./run_scale scale   (no LAMINA_PLUGIN_PATH)"
    cp scale.so "$run_dir/"
    env -u LAMINA_PLUGIN_PATH ./run_scale scale >out4.txt 2>&1 || { cat out4.txt; die "not found in the installed plugin dir"; }
    grep -q "^loaded scale 1.0.0 from $run_dir/scale.so\$" out4.txt || { cat out4.txt; die "loaded from the wrong place"; }
fi
# the example's PyTorch model, through the installed lamina command
root=$work/prefix
[ -z "$builddir" ] || root=$work/dest
lamina_bin=$(find "$root" -path '*/bin/lamina' -type f | head -n 1)
[ -n "$lamina_bin" ] || die "make install put no bin/lamina"
say "$lamina_bin run gated.lam --weights gated.safetensors --input gated.input.npy --plugin ./gated.so"
"$lamina_bin" run "$srcdir/examples/plugins/gated.lam" --weights "$srcdir/examples/plugins/gated.safetensors" \
    --input "$srcdir/examples/plugins/gated.input.npy" --plugin ./gated.so >out5.txt 2>&1 ||
    { cat out5.txt; die "lamina run with gated.so failed"; }
grep -q '^tensor(\[\[\[' out5.txt || { cat out5.txt; die "unexpected output from lamina run with gated.so"; }
say "lamina run with gated.so: $(wc -l <out5.txt) lines of output (make check compares it with PyTorch)"

# a broken path gives a message, not a crash
if ./run_scale ./no-such-plugin.so >out3.txt 2>&1; then die "a missing plugin was not reported"; fi
grep -q "cannot open" out3.txt || { cat out3.txt; die "unexpected message for a missing plugin"; }
say "missing plugin reported: $(cat out3.txt)"

echo "== PASS: a plugin built against the installed headers with only pkg-config's flags loads and runs"
