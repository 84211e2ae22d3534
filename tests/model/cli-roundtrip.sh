#!/bin/sh
# Every fixture model through `lamina run` (with --output and printing), and
# summary/bench/info on a few: outputs match PyTorch's within 1e-5 + 1e-5|y|.
# Needs LAMINA_BIN, NPY_COMPARE and MODEL_TESTS_DIR (set by `make check`).
set -u
: "${LAMINA_BIN:?}" "${NPY_COMPARE:?}" "${MODEL_TESTS_DIR:?}"
F=$MODEL_TESTS_DIR/fixtures
T=$(mktemp -d "${TMPDIR:-/tmp}/lamina-cli.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
fail=0
n=0
bad() { echo "FAIL: $*"; fail=1; }

while read -r name flags; do
    case $name in ''|'#'*) continue ;; esac
    n=$((n + 1))
    cond=
    case " $flags " in *" condition "*) cond=--condition ;; esac
    # a plugin named explicitly, or found through LAMINA_PLUGIN_PATH by type name
    plugin=
    case " $flags " in *" plugin="*)
        [ $((n % 2)) -eq 0 ] && plugin="--plugin $(echo "$flags" | sed 's/.*plugin=\([^ ]*\).*/\1/')" ;;
    esac
    if ! "$LAMINA_BIN" run "$F/$name.lam" --weights "$F/$name.safetensors" \
            --input "$F/$name.input.npy" --output "$T/$name.npy" $cond $plugin 2>"$T/err"; then
        bad "$name: lamina run: $(cat "$T/err")"
        continue
    fi
    "$NPY_COMPARE" "$T/$name.npy" "$F/$name.output.npy" || bad "$name: output differs"
done < "$F/MANIFEST"
[ "$n" -ge 20 ] || bad "only $n cases in MANIFEST"

# --output writes through what is at the path: '-' and /dev/stdout are
# standard output (a pipe; a file opened with >> keeps what it had); a
# symlink stays a link and its target gets the array; a mode-600 file keeps
# its mode.  Run in $T: a '-' taken as a file name would land there.
(
    cd "$T" || exit 1
    run="run $F/mlp.lam -w $F/mlp.safetensors -i $F/mlp.input.npy"
    "$LAMINA_BIN" $run --output ref.npy || bad "run --output ref.npy"
    "$LAMINA_BIN" $run --output - | cat > dash.npy && cmp -s dash.npy ref.npy || bad "run --output -"
    [ ! -e ./- ] || bad "run --output - made a file named '-'"
    "$LAMINA_BIN" $run --output /dev/stdout | cat > stdout.npy && cmp -s stdout.npy ref.npy ||
        bad "run --output /dev/stdout"
    printf 'log:' > log
    "$LAMINA_BIN" $run -o - >> log && { printf 'log:'; cat ref.npy; } | cmp -s - log ||
        bad "run -o - >> log did not append"
    printf old > target.npy
    ln -s target.npy link.npy
    "$LAMINA_BIN" $run -o link.npy && [ -L link.npy ] && cmp -s target.npy ref.npy ||
        bad "run -o link.npy: the link was replaced or its target not written"
    printf old > private.npy
    chmod 600 private.npy
    "$LAMINA_BIN" $run -o private.npy && cmp -s private.npy ref.npy || bad "run -o private.npy"
    [ "$(stat -c %a private.npy)" = 600 ] || bad "run -o: mode 600 came back $(stat -c %a private.npy)"
    exit $fail
) || fail=1

# several inputs and outputs (issue 16): testtypes' PairUp returns (x, 2 * x, None)
# for one input and x + y for two
if [ -n "${TESTTYPES_PLUGIN:-}" ] && [ -f "$TESTTYPES_PLUGIN" ]; then
    printf 'PairUp()\n' > "$T/pair.lam"
    x=$F/mlp.input.npy
    pair="$LAMINA_BIN run $T/pair.lam -p $TESTTYPES_PLUGIN"
    $pair -i "$x" -o "$T/pair.npy" || bad "run PairUp -o pair.npy"
    "$NPY_COMPARE" "$T/pair.0.npy" "$x" || bad "PairUp: pair.0.npy is not x"
    [ ! -e "$T/pair.2.npy" ] || bad "PairUp: None was written"
    $pair -i "$x" -i "$x" -o "$T/sum.npy" || bad "run PairUp with two inputs"
    "$NPY_COMPARE" "$T/sum.npy" "$T/pair.1.npy" || bad "PairUp: x + x differs from 2 * x"
    $pair -i "$x" -i none -o "$T/same.npy" || bad "run PairUp with x, None"
    "$NPY_COMPARE" "$T/same.npy" "$x" || bad "PairUp(x, None) is not x"
    $pair -i "$x" -o "$T/pair.npz" || bad "run PairUp -o pair.npz"
    [ "$(head -c 4 "$T/pair.npz" | od -An -c | tr -d ' ')" = 'PK003004' ] || bad "pair.npz is not a zip"
    if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
        /usr/bin/python3 - "$T" <<'PY' || bad "numpy cannot read pair.npz as savez's"
import sys, numpy as np
d = sys.argv[1]
z = np.load(d + "/pair.npz")
assert sorted(z.files) == ["0", "1"], z.files
assert (z["0"] == np.load(d + "/pair.0.npy")).all() and (z["1"] == np.load(d + "/pair.1.npy")).all()
PY
    fi
    out=$($pair -i "$x") || bad "run PairUp (print)"
    case $out in "(tensor(["*", None)") ;; *) bad "PairUp printed: $out" ;; esac
fi

# printing (no --output): PyTorch's tensor format
out=$("$LAMINA_BIN" run "$F/mlp.lam" -w "$F/mlp.safetensors" -i "$F/mlp.input.npy") || bad "run (print)"
case $out in "tensor([["*"]])") ;; *) bad "printed output: $out" ;; esac

# without --weights: seeded initialisation, reproducible
a=$("$LAMINA_BIN" run "$F/mlp.lam" -i "$F/mlp.input.npy" --seed 7) || bad "seeded run"
b=$("$LAMINA_BIN" run "$F/mlp.lam" -i "$F/mlp.input.npy" --seed 7 --threads 1) || bad "seeded run"
c=$("$LAMINA_BIN" run "$F/mlp.lam" -i "$F/mlp.input.npy" --seed 8) || bad "seeded run"
[ "$a" = "$b" ] || bad "same seed, different outputs"
[ "$a" != "$c" ] || bad "different seeds, same outputs"

# summary: every module, shapes, totals
"$LAMINA_BIN" summary "$F/named_nested.lam" --input-shape 5,8 > "$T/sum" 2>&1 || bad "summary: $(cat "$T/sum")"
grep -q "encoder.fc .*Linear .*\[5, 16\] .* 144$" "$T/sum" || bad "summary row: $(cat "$T/sum")"
grep -q "decoder.2 .*Linear .*\[5, 2\] .* 18$" "$T/sum" || bad "summary row: $(cat "$T/sum")"
grep -q "^Total params: 330$" "$T/sum" || bad "summary total: $(cat "$T/sum")"
grep -q "^Output shape: \[5, 2\]$" "$T/sum" || bad "summary output shape"

# summary of a custom module: shapes by running it, children in order
"$LAMINA_BIN" summary "$F/conditional_true.lam" --input-shape 3,10 --condition > "$T/sum" 2>&1 ||
    bad "summary (custom): $(cat "$T/sum")"
grep -q "^(model) .*ConditionalModel .*\[3, 100\] .* 952$" "$T/sum" &&
    grep -q "^  layers .*ModuleList .*-- .* 952$" "$T/sum" &&
    grep -q "layers.4 .*Linear .*\[3, 100\] .* 300$" "$T/sum" || bad "summary (custom): $(cat "$T/sum")"

# the modules a forward does not call (condition False: layers 3 and 4)
"$LAMINA_BIN" summary "$F/conditional_true.lam" --input-shape 3,10 > "$T/sum" 2>&1 ||
    bad "summary (custom, no condition): $(cat "$T/sum")"
grep -q "^(model) .*ConditionalModel .*\[3, 2\] .* 952$" "$T/sum" &&
    grep -q "layers.2 .*Linear .*\[3, 2\] .* 102$" "$T/sum" &&
    grep -q "layers.3 .*Sigmoid .*(not run) .* 0$" "$T/sum" &&
    grep -q "layers.4 .*Linear .*(not run) .* 300$" "$T/sum" ||
    bad "summary (custom, no condition): $(cat "$T/sum")"

# summary of a plugin container that feeds x to both of its children
# (GatedBlock, tests/plugins/testtypes.c, built with the Criterion tests):
# each child shows the shape it was given, not one chained from its sibling
if "$LAMINA_BIN" info --plugin testtypes >/dev/null 2>&1; then
    cat > "$T/gated.lam" <<'EOF'
Sequential(
  (0): Linear(in_features=8, out_features=16, bias=True)
  (1): GatedBlock(
    (layers): ModuleList(
      (0): Linear(in_features=16, out_features=4, bias=True)
      (1): Linear(in_features=16, out_features=4, bias=True)
    )
  )
)
EOF
    "$LAMINA_BIN" summary "$T/gated.lam" --input-shape 3,8 > "$T/sum" 2>&1 ||
        bad "summary (plugin container): $(cat "$T/sum")"
    grep -q "^  1 .*GatedBlock .*\[3, 4\] .* 136$" "$T/sum" &&
        grep -q "1.layers.0 .*Linear .*\[3, 4\] .* 68$" "$T/sum" &&
        grep -q "1.layers.1 .*Linear .*\[3, 4\] .* 68$" "$T/sum" &&
        grep -q "^Output shape: \[3, 4\]$" "$T/sum" || bad "summary (plugin container): $(cat "$T/sum")"
fi

# bench: a short run, text and JSON
"$LAMINA_BIN" bench "$F/mlp.lam" --batch 4 --seconds 0.2 > "$T/bench" 2>&1 || bad "bench: $(cat "$T/bench")"
grep -q "samples/s" "$T/bench" || bad "bench output: $(cat "$T/bench")"
"$LAMINA_BIN" bench "$F/three_d.lam" --batch 2 --input-shape 5,8 --seconds 0.1 --json > "$T/json" 2>&1 ||
    bad "bench --json: $(cat "$T/json")"
grep -q '"samples_per_second": ' "$T/json" || bad "bench json: $(cat "$T/json")"
grep -q '"input_shape": \[2, 5, 8\]' "$T/json" || bad "bench json shape: $(cat "$T/json")"

# several inputs, as run's --input options: --input-shape once per positional
# argument, :bool / :int64 for other element types, none for None; bench
# puts the batch where B says (the first input without B: in front)
cat > "$T/mha.lam" <<'EOF'
MultiheadAttention(
  (out_proj): NonDynamicallyQuantizableLinear(in_features=8, out_features=8, bias=True)
)
EOF
mha="$T/mha.lam --set num_heads=2 --set batch_first=True"
"$LAMINA_BIN" summary $mha --input-shape 2,5,8 --input-shape 2,7,8 --input-shape 2,7,8 \
    --input-shape 2,7:bool > "$T/sum" 2>&1 || bad "summary (attention): $(cat "$T/sum")"
grep -q "^(model) .*MultiheadAttention .*(\[2, 5, 8\], \[2, 5, 7\]) .* 288$" "$T/sum" &&
    grep -q "^Input shape: \[2, 5, 8\], \[2, 7, 8\], \[2, 7, 8\], \[2, 7\] bool$" "$T/sum" &&
    grep -q "^Output shape: (\[2, 5, 8\], \[2, 5, 7\])$" "$T/sum" ||
    bad "summary (attention): $(cat "$T/sum")"
"$LAMINA_BIN" summary $mha --input-shape 2,5,8 --input-shape 2,7,8 --input-shape 2,7,8 \
    --input-shape none --input-shape none > "$T/sum" 2>&1 || bad "summary (None): $(cat "$T/sum")"
grep -q "^Input shape: \[2, 5, 8\], \[2, 7, 8\], \[2, 7, 8\], None, None$" "$T/sum" ||
    bad "summary (None): $(cat "$T/sum")"
"$LAMINA_BIN" bench $mha --batch 3 --seconds 0.1 --warmup 1 --input-shape 5,8 \
    --input-shape B,7,8 --input-shape B,7,8 --input-shape B,7:bool --json > "$T/json" 2>&1 ||
    bad "bench (attention): $(cat "$T/json")"
grep -q '"input_shape": \[\[3, 5, 8\], \[3, 7, 8\], \[3, 7, 8\], \[3, 7\]\], "input_dtypes": \["float32", "float32", "float32", "bool"\]' "$T/json" ||
    bad "bench json (attention): $(cat "$T/json")"
# need_weights=False (a one-element bool) and an attn_mask without a batch
"$LAMINA_BIN" bench $mha --batch 3 --seconds 0.1 --warmup 1 --input-shape 5,8 \
    --input-shape B,7,8 --input-shape B,7,8 --input-shape none --input-shape 1:bool \
    --input-shape 5,7 --json > "$T/json" 2>&1 || bad "bench (attn_mask): $(cat "$T/json")"
grep -q '"input_shape": \[\[3, 5, 8\], \[3, 7, 8\], \[3, 7, 8\], null, \[1\], \[5, 7\]\], "input_dtypes": \["float32", "float32", "float32", null, "bool", "float32"\]' "$T/json" ||
    bad "bench json (attn_mask): $(cat "$T/json")"
# sequence first: B in the middle of the first input's shape
"$LAMINA_BIN" bench "$T/mha.lam" --set num_heads=2 --set batch_first=False --batch 3 \
    --seconds 0.1 --warmup 1 --input-shape 5,B,8 --input-shape 7,B,8 --input-shape 7,B,8 \
    > "$T/bench" 2>&1 || bad "bench (sequence first): $(cat "$T/bench")"
grep -q "^input: *\[5, 3, 8\], \[7, 3, 8\], \[7, 3, 8\] (batch 3)" "$T/bench" ||
    bad "bench (sequence first): $(cat "$T/bench")"
cat > "$T/tf.lam" <<'EOF'
Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=16, batch_first=True)
EOF
"$LAMINA_BIN" summary "$T/tf.lam" --input-shape 2,5,8 --input-shape 2,6,8 > "$T/sum" 2>&1 ||
    bad "summary (Transformer): $(cat "$T/sum")"
grep -q "^(model) .*Transformer .*\[2, 6, 8\] .* 1536$" "$T/sum" &&
    grep -q "^  encoder .*TransformerEncoder .*(not run)" "$T/sum" ||
    bad "summary (Transformer): $(cat "$T/sum")"
"$LAMINA_BIN" bench "$T/tf.lam" --batch 2 --seconds 0.1 --warmup 1 --input-shape 5,8 \
    --input-shape B,6,8 > "$T/bench" 2>&1 || bad "bench (Transformer): $(cat "$T/bench")"
grep -q "^input: *\[2, 5, 8\], \[2, 6, 8\] (batch 2)" "$T/bench" ||
    bad "bench (Transformer): $(cat "$T/bench")"
"$LAMINA_BIN" summary "$T/tf.lam" --input-shape 2,5,8 > "$T/sum" 2>&1 &&
    bad "summary (Transformer, one input) succeeded"
grep -qF "lamina: error: cannot compute the output shape: Transformer.forward() missing 1 required positional argument: 'tgt'" "$T/sum" ||
    bad "summary (Transformer, one input): $(cat "$T/sum")"

# info
"$LAMINA_BIN" info > "$T/info" 2>&1 || bad "info: $(cat "$T/info")"
grep -q "^lamina [0-9]" "$T/info" && grep -q "^kernel isa: " "$T/info" &&
    grep -q "Linear" "$T/info" || bad "info output: $(cat "$T/info")"

# help for each command
for cmd in run summary bench info; do
    "$LAMINA_BIN" $cmd --help | grep -q "^Usage: lamina $cmd" || bad "$cmd --help"
done
"$LAMINA_BIN" --help | grep -q "^Usage: lamina COMMAND" || bad "--help"

[ $fail -eq 0 ] && echo "cli-roundtrip: $n models OK"
exit $fail
