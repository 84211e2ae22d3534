#!/bin/sh
# examples/plugins/gpt.py's GPT through the lamina command: `lamina run
# gpt.lam --weights gpt.safetensors --plugin gpt.so --input tokens.npy`
# gives PyTorch's logits (tests/fixtures/gpt).  Without --condition a
# custom forward gets no per-call argument (NULL): GPT reads its argument
# as a key/value cache, so a bool there would be misread.  Token ids past
# the vocabulary and sequences past the block size fail with messages that
# say what and where.
# Needs LAMINA_BIN, NPY_COMPARE, LAMINA_FIXTURES and GPT_PLUGIN (set by `make check`).
set -u
: "${LAMINA_BIN:?}" "${NPY_COMPARE:?}" "${LAMINA_FIXTURES:?}" "${GPT_PLUGIN:?}"
F=$LAMINA_FIXTURES/gpt
T=$(mktemp -d "${TMPDIR:-/tmp}/lamina-gpt.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
fail=0
for threads in 1 2; do
    if ! "$LAMINA_BIN" run "$F/gpt.lam" --weights "$F/gpt.safetensors" --plugin "$GPT_PLUGIN" \
        --input "$F/tokens.npy" --threads $threads --output "$T/logits.npy" 2> "$T/err"; then
        echo "FAIL: lamina run ($threads threads): $(cat "$T/err")"
        fail=1
    elif ! "$NPY_COMPARE" "$T/logits.npy" "$F/logits.npy"; then
        echo "FAIL: lamina run's logits ($threads threads) differ from PyTorch's"
        fail=1
    fi
done
# bad inputs: what and where
expect_error() { # input, text
    if "$LAMINA_BIN" run "$F/gpt.lam" --weights "$F/gpt.safetensors" --plugin "$GPT_PLUGIN" \
        --input "$F/$1" > /dev/null 2> "$T/err"; then
        echo "FAIL: lamina run on $1 succeeded"
        fail=1
    elif ! grep -qF "$2" "$T/err"; then
        echo "FAIL: lamina run on $1: '$(cat "$T/err")' lacks '$2'"
        fail=1
    fi
}
# summary and bench of a model whose input is int64 token ids: --input-shape T:int64
gpt="$F/gpt.lam --weights $F/gpt.safetensors --plugin $GPT_PLUGIN"
if ! "$LAMINA_BIN" summary $gpt --input-shape 1,8:int64 > "$T/sum" 2>&1; then
    echo "FAIL: lamina summary (int64): $(cat "$T/sum")"
    fail=1
elif ! grep -q "^(model) .*GPT .*\[1, 8, 67\] .* 62160$" "$T/sum" ||
    ! grep -q "^  wte .*Embedding .*\[1, 8, 48\]" "$T/sum" ||
    ! grep -q "^Input shape: \[1, 8\] int64$" "$T/sum"; then
    echo "FAIL: lamina summary (int64): $(cat "$T/sum")"
    fail=1
fi
if ! "$LAMINA_BIN" bench $gpt --batch 2 --input-shape 8:int64 --seconds 0.1 --warmup 1 --json \
    > "$T/bench" 2>&1 ||
    ! grep -q '"input_shape": \[\[2, 8\]\], "input_dtypes": \["int64"\]' "$T/bench"; then
    echo "FAIL: lamina bench (int64): $(cat "$T/bench")"
    fail=1
fi
# without --input-shape: bench cannot guess ids' length, and says so
if "$LAMINA_BIN" bench $gpt --batch 2 --seconds 0.1 > /dev/null 2> "$T/err" ||
    ! grep -qF "it starts with an Embedding, which takes int64 token ids: give --input-shape T:int64" "$T/err"; then
    echo "FAIL: lamina bench (no --input-shape): $(cat "$T/err")"
    fail=1
fi
# float input where ids are expected: the model says so
if "$LAMINA_BIN" summary $gpt --input-shape 1,8 > /dev/null 2> "$T/err" ||
    ! grep -qF "lamina: error: cannot compute the output shape: GPT: expected token ids (an int64 tensor [B, T]), got float32 (input shape [1, 8])" "$T/err"; then
    echo "FAIL: lamina summary (float ids): $(cat "$T/err")"
    fail=1
fi
expect_error bad_ids.npy "lamina: error: forward: GPT.wte index out of range in self"
expect_error long_ids.npy "GPT: Cannot forward sequence of length 49, block size is only 48"
exit $fail
