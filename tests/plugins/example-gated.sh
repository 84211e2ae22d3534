#!/bin/sh
# The plugin example of docs/plugins.md (examples/plugins/gated.c) against
# PyTorch: the guide shows the file as it is, it stays under 100 lines, and
# `lamina run --plugin gated.so` gives PyTorch 1.13's outputs (fixtures from
# examples/plugins/gated.py) within 1e-5 + 1e-5|y|.
# Needs LAMINA_SRCDIR, LAMINA_BIN, NPY_COMPARE and GATED_PLUGIN (set by `make check`).
set -u
: "${LAMINA_SRCDIR:?}" "${LAMINA_BIN:?}" "${NPY_COMPARE:?}" "${GATED_PLUGIN:?}"
E=$LAMINA_SRCDIR/examples/plugins
T=$(mktemp -d "${TMPDIR:-/tmp}/lamina-gated.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# the file is short...
lines=$(wc -l < "$E/gated.c")
[ "$lines" -lt 100 ] || bad "examples/plugins/gated.c has $lines lines, the guide promises under 100"

# ...and the guide shows exactly it
awk '$0 == "<!-- file: gated.c -->" { armed = 1; next }
     armed && /^```c$/ { inblock = 1; next }
     inblock && /^```$/ { exit }
     inblock { print }' "$LAMINA_SRCDIR/docs/plugins.md" > "$T/doc-gated.c"
[ -s "$T/doc-gated.c" ] || bad "docs/plugins.md has no code block for gated.c"
cmp -s "$T/doc-gated.c" "$E/gated.c" ||
    bad "docs/plugins.md's gated.c differs from examples/plugins/gated.c: $(diff "$T/doc-gated.c" "$E/gated.c" | head -n 20)"

# PyTorch's numbers, through the lamina command
for name in gated gated_replaced; do
    for threads in 1 2; do
        if ! "$LAMINA_BIN" run "$E/$name.lam" --weights "$E/$name.safetensors" \
                --input "$E/$name.input.npy" --output "$T/$name.npy" \
                --plugin "$GATED_PLUGIN" --threads $threads 2> "$T/err"; then
            bad "$name: lamina run: $(cat "$T/err")"
            continue
        fi
        "$NPY_COMPARE" "$T/$name.npy" "$E/$name.output.npy" || bad "$name ($threads threads): output differs"
    done
done

# the tree and the parameter counts PyTorch has (the strict loads above
# already checked the state_dict keys)
"$LAMINA_BIN" summary "$E/gated.lam" --input-shape 3,8 --plugin "$GATED_PLUGIN" > "$T/sum" 2>&1 ||
    bad "summary: $(cat "$T/sum")"
grep -q "ScaleShift .*\[3, 8\] .* 16$" "$T/sum" &&
    grep -q "GatedResidual .*\[3, 8\] .* 216$" "$T/sum" &&
    grep -q "1\.layers\.2 .*Linear .*\[3, 8\] .* 72$" "$T/sum" &&
    grep -q "^Total params: 248$" "$T/sum" || bad "summary: $(cat "$T/sum")"

# a file whose ModuleList is too short for the forward: the helper's message
printf 'GatedResidual(\n  d=8\n  (layers): ModuleList(\n    (0): Linear(8, 8)\n  )\n)\n' > "$T/short.lam"
if "$LAMINA_BIN" run "$T/short.lam" --input "$E/gated_replaced.input.npy" \
        --plugin "$GATED_PLUGIN" > /dev/null 2> "$T/err"; then
    bad "a GatedResidual with one layer ran"
fi
grep -q "GatedResidual: layers has 1 module, its forward needs 3" "$T/err" || bad "short layers: $(cat "$T/err")"

[ $fail -eq 0 ] && echo "example-gated: OK"
exit $fail
