#!/bin/sh
# `lamina` exit codes: 1 with "lamina: error: ..." for bad models, weights,
# inputs and plugins (every file of tests/model/malformed, a few broken
# safetensors/npy files); 2 for bad usage.  Never a crash (exit > 2).
set -u
: "${LAMINA_BIN:?}" "${MODEL_TESTS_DIR:?}"
F=$MODEL_TESTS_DIR/fixtures
M=$MODEL_TESTS_DIR/malformed
IO=$MODEL_TESTS_DIR/../io/corpus
T=$(mktemp -d "${TMPDIR:-/tmp}/lamina-cli.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# expect CODE TEXT -- lamina args...   (TEXT must appear on stderr)
expect() {
    want=$1 text=$2
    shift 3
    "$LAMINA_BIN" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    if [ $rc -ne "$want" ]; then
        bad "lamina $*: exit $rc, expected $want; stderr: $(cat "$T/err")"
    elif ! grep -qF -- "$text" "$T/err"; then
        bad "lamina $*: stderr lacks '$text': $(cat "$T/err")"
    fi
}

n=0
while IFS="$(printf '\t')" read -r file text; do
    case $file in ''|'#'*) continue ;; esac
    n=$((n + 1))
    expect 1 "lamina: error: $M/$file:" -- run "$M/$file" --input "$F/mlp.input.npy"
    grep -qF -- "$text" "$T/err" || bad "$file: stderr lacks '$text': $(cat "$T/err")"
done < "$M/EXPECTED"
[ "$n" -ge 20 ] || bad "only $n malformed files"

# bad weights, inputs, outputs, plugins -> 1
run_mlp="run $F/mlp.lam --input $F/mlp.input.npy"
expect 1 "lamina: error: " -- $run_mlp --weights "$T/missing.safetensors"
for f in bad_json bad_hlen bad_truncated bad_trailing unsupported_i64; do
    [ -f "$IO/safetensors/$f.safetensors" ] &&
        expect 1 "lamina: error: " -- $run_mlp --weights "$IO/safetensors/$f.safetensors"
done
expect 1 "Error(s) in loading state_dict for Sequential:" -- $run_mlp --weights "$F/layernorm.safetensors"
expect 1 "size mismatch for 0.weight" -- $run_mlp --weights "$F/layernorm.safetensors" --no-strict
expect 1 "lamina: error: " -- run "$F/mlp.lam" --input "$T/missing.npy"
for f in int64 fortran_2x3; do
    [ -f "$IO/npy/$f.npy" ] && expect 1 "lamina: error: " -- run "$F/mlp.lam" --input "$IO/npy/$f.npy"
done
expect 1 "lamina: error: forward:" -- run "$F/mlp.lam" --input "$F/layernorm_plain.input.npy"
expect 1 "lamina: error: " -- $run_mlp --output "$T/no/such/dir/y.npy"
expect 1 "lamina: error: " -- $run_mlp --plugin "$T/no-such-plugin.so"
expect 1 "lamina: error: " -- $run_mlp --plugin "$F/mlp.lam"
expect 1 "lamina: error: " -- run "$T/missing.lam" --input "$F/mlp.input.npy"
expect 1 "lamina: error: cannot compute the output shape: Sequential[0] Linear(in_features=10): input has 7 features" -- summary "$F/mlp.lam" --input-shape 1,7
# a child of a plugin container (Residual, plugins/containers.c) that does
# not fit: its full path, and the container's type
cat > "$T/residual.lam" <<'EOF'
Sequential(
  (0): Linear(in_features=8, out_features=8, bias=True)
  (1): ReLU()
  (2): Residual(
    (layers): ModuleList(
      (0): Linear(in_features=8, out_features=4, bias=True)
      (1): Linear(in_features=5, out_features=8, bias=True)
    )
  )
)
EOF
expect 1 "Sequential[2].layers[1] Linear(in_features=5): input has 4 features, expected 5 (input shape [3, 4]) (in Residual at Sequential[2])" -- summary "$T/residual.lam" --input-shape 3,8
expect 1 "lamina: error: " -- bench "$M/empty.lam" --batch 1
printf 'Sequential(ReLU())\n' > "$T/relu.lam"
expect 1 "give --input-shape" -- bench "$T/relu.lam" --batch 2 --seconds 0.1

# standard output that cannot be written (/dev/full) -> 1 with a message, for
# every command and --help/--version (the output must not be lost silently)
if [ -c /dev/full ]; then
    full() {
        text=$1
        shift
        "$LAMINA_BIN" "$@" >/dev/full 2>"$T/err"
        rc=$?
        if [ $rc -ne 1 ] || ! grep -qF -- "$text" "$T/err"; then
            bad "lamina $* >/dev/full: exit $rc, expected 1 and '$text'; stderr: $(cat "$T/err")"
        fi
    }
    stdout_full="lamina: error: cannot write to standard output"
    full "$stdout_full" info
    full "$stdout_full" summary "$F/mlp.lam" --input-shape 1,10
    full "$stdout_full" bench "$F/mlp.lam" --batch 1 --seconds 0.05 --warmup 0
    full "$stdout_full" bench "$F/mlp.lam" --batch 1 --seconds 0.05 --warmup 0 --json
    full "$stdout_full" $run_mlp
    full "lamina: error: /dev/stdout: cannot write: No space left on device" $run_mlp --output -
    full "$stdout_full" --help
    full "$stdout_full" --version
    for cmd in run summary bench info; do
        full "$stdout_full" $cmd --help
    done
fi

# a plugin's strings (version, description, path) are printed with control
# bytes escaped, not sent raw to the terminal
if [ -f "${ODD_PLUGIN:-}" ]; then
    d="$T/dir$(printf '\033')[1m"
    mkdir "$d" && cp "$ODD_PLUGIN" "$d/odd.so" || bad "cannot copy $ODD_PLUGIN"
    "$LAMINA_BIN" info --plugin "$d/odd.so" >"$T/out" 2>"$T/err" || bad "info --plugin odd.so: $(cat "$T/err")"
    if LC_ALL=C grep -q "$(printf '[\001-\011\013-\037\177\200-\237]')" "$T/out"; then
        bad "info prints control bytes raw: $(od -c "$T/out" | grep -n '033\|\\a\|233' | head -5)"
    fi
    grep -qF 'odd_strings 1.0\x1b[2J  ' "$T/out" || bad "info: escaped version missing: $(cat "$T/out")"
    grep -qF "$(printf 'caf\303\251') line one\x0aline two\x07 \x9b1m \xc2\x9b2m \\\\" "$T/out" ||
        bad "info: escaped description missing: $(cat "$T/out")"
    grep -qF 'dir\x1b[1m/odd.so' "$T/out" || bad "info: escaped path missing: $(cat "$T/out")"
    grep -q "OddStrings *odd_strings" "$T/out" || bad "info: the plugin's type missing: $(cat "$T/out")"
fi

# usage -> 2
expect 2 "missing COMMAND" --
expect 2 "unknown command 'frobnicate'" -- frobnicate
expect 2 "unknown option '--bogus'" -- --bogus
expect 2 "missing MODEL" -- run --input "$F/mlp.input.npy"
expect 2 "missing --input" -- run "$F/mlp.lam"
expect 2 "unknown option '--bogus'" -- $run_mlp --bogus
expect 2 "needs a value" -- $run_mlp --weights
expect 2 "--threads needs an integer" -- $run_mlp --threads abc
expect 2 "--threads needs an integer" -- $run_mlp --threads 0
expect 2 "--seed needs" -- $run_mlp --seed -1
expect 2 "unexpected argument" -- $run_mlp extra.lam
expect 2 "missing --input-shape" -- summary "$F/mlp.lam"
expect 2 "--input-shape needs" -- summary "$F/mlp.lam" --input-shape 1,x
expect 2 "--input-shape needs" -- summary "$F/mlp.lam" --input-shape 1,2,3,4,5
expect 2 "missing --batch" -- bench "$F/mlp.lam"
expect 2 "got '1,10:int32' (the element type is float32, int64 or bool)" -- summary "$F/mlp.lam" --input-shape 1,10:int32
expect 2 "got 'B,10' (the sizes are numbers (B is for lamina bench))" -- summary "$F/mlp.lam" --input-shape B,10
expect 2 "got 'B,B' (B stands for --batch, once, as a whole size)" -- bench "$F/mlp.lam" --batch 2 --input-shape B,B
expect 2 "got '1B,10' (B stands for --batch, once, as a whole size)" -- bench "$F/mlp.lam" --batch 2 --input-shape 1B,10
expect 2 "the first --input-shape cannot be none" -- bench "$F/mlp.lam" --batch 2 --input-shape none
expect 2 "--mpi times one float32 input whose batch comes first" -- bench "$F/mlp.lam" --batch 2 --input-shape 10 --input-shape none --mpi
expect 1 "lamina: error: forward: Sequential[0] Linear: expected a float32 input, got int64" -- bench "$F/mlp.lam" --batch 2 --input-shape 10:int64 --seconds 0.05
expect 2 "--batch needs" -- bench "$F/mlp.lam" --batch 0
expect 2 "--seconds needs" -- bench "$F/mlp.lam" --batch 1 --seconds -3
expect 2 "unexpected argument" -- info extra
# the same parsing for every command (tools/cli/common.c)
expect 2 "lamina info: error: unknown option '--bogus'" -- info --bogus
expect 2 "lamina bench: error: unknown option '--bogus'" -- bench "$F/mlp.lam" --bogus
expect 2 "lamina summary: error: option '--input-shape' needs a value" -- summary "$F/mlp.lam" --input-shape
expect 2 "lamina bench: error: --warmup needs" -- bench "$F/mlp.lam" --batch 1 --warmup -1
expect 2 "lamina summary: error: missing MODEL" -- summary --input-shape 1,10
expect 2 "lamina bench: error: unexpected argument 'x.lam'" -- bench "$F/mlp.lam" x.lam --batch 1
expect 2 "lamina info: error: --threads needs" -- info -t 0

[ $fail -eq 0 ] && echo "cli-errors: $n malformed models and the usage cases OK"
exit $fail
