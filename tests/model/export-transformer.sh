#!/bin/sh
# The attention and transformer types from model files (issue 16): export
# with tools/lamina-export (which writes the arguments PyTorch's repr leaves
# out), run with `lamina run`, compare with PyTorch's output in the same
# run; then the bare print(model) text: refused with the message that names
# the module and the missing arguments, and run once --set gives them.
# Skips (exit 77) without a Python that has torch and numpy.
set -u
: "${LAMINA_BIN:?}" "${NPY_COMPARE:?}" "${MODEL_TESTS_DIR:?}"
export_tool=$MODEL_TESTS_DIR/../../tools/lamina-export
py=
for c in "${PYTHON:-}" python3 /usr/bin/python3; do
    [ -n "$c" ] || continue
    if "$c" -c 'import torch, numpy' >/dev/null 2>&1; then py=$c; break; fi
done
if [ -z "$py" ]; then
    echo "SKIP: no python3 with torch and numpy"
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/lamina-export-tf.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
"$py" - "$T" "$export_tool" <<'PY' || { echo "FAIL: the PyTorch side"; exit 1; }
import importlib.machinery, os, sys
import numpy as np, torch, torch.nn as nn
d, tool = sys.argv[1], sys.argv[2]
lx = importlib.machinery.SourceFileLoader("lamina_export", tool).load_module()
g = torch.Generator().manual_seed(5)
def save(name, t):
    np.save(os.path.join(d, name + ".npy"), t.numpy())
def run(m, *args):  # the slow path (grad enabled), which lamina computes
    with torch.enable_grad():
        return m(*args).detach()
torch.manual_seed(1)
# an encoder, batch first, pre-norm, gelu, 3 heads; a causal float mask and a
# bool key padding mask
enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(
    12, 3, 20, batch_first=True, norm_first=True, activation="gelu"), 2,
    norm=nn.LayerNorm(12)).eval()
x = torch.randn(2, 7, 12, generator=g)
causal = nn.Transformer.generate_square_subsequent_mask(7)
pad = torch.tensor([[False] * 7, [False] * 5 + [True] * 2])
lx.export(enc, os.path.join(d, "enc"))
save("x", x); save("causal", causal); save("pad", pad)
save("enc_y", run(enc, x, causal, pad))
# a Transformer, sequence first, post-norm relu, 2 heads: src, tgt, tgt_mask
tf = nn.Transformer(8, 2, 2, 1, 16).eval()
src, tgt = torch.randn(6, 2, 8, generator=g), torch.randn(5, 2, 8, generator=g)
lx.export(tf, os.path.join(d, "tf"))
save("src", src); save("tgt", tgt)
tmask = nn.Transformer.generate_square_subsequent_mask(5)
save("tmask", tmask)
save("tf_y", run(tf, src, tgt, None, tmask))
# a MultiheadAttention with kdim and vdim: forward(query, key, value) returns
# (attn_output, attn_weights averaged over the heads)
mha = nn.MultiheadAttention(8, 4, kdim=5, vdim=6, batch_first=True).eval()
q, k, v = (torch.randn(2, 3, 8, generator=g), torch.randn(2, 4, 5, generator=g),
           torch.randn(2, 4, 6, generator=g))
with torch.no_grad():
    o, w = mha(q, k, v)
save("q", q); save("k", k); save("v", v); save("m_y", o); save("m_w", w)
lx.export(mha, os.path.join(d, "mha"))
# the bare print(model): what a user gets from print()
open(os.path.join(d, "enc_bare.lam"), "w").write(repr(enc) + "\n")
PY
fail=0
check() { # NAME OUT -- lamina run args
    name=$1 out=$2; shift 3
    "$LAMINA_BIN" run "$@" --output "$T/$name.npy" 2> "$T/err" ||
        { echo "FAIL: lamina run ($name): $(cat "$T/err")"; fail=1; return; }
    "$NPY_COMPARE" "$T/$name.npy" "$T/$out.npy" || { echo "FAIL: $name differs"; fail=1; }
}
check enc enc_y -- "$T/enc.lam" --weights "$T/enc.safetensors" --input "$T/x.npy" \
    --input "$T/causal.npy" --input "$T/pad.npy"
check tf tf_y -- "$T/tf.lam" --weights "$T/tf.safetensors" --input "$T/src.npy" \
    --input "$T/tgt.npy" --input none --input "$T/tmask.npy"
"$LAMINA_BIN" run "$T/mha.lam" --weights "$T/mha.safetensors" --input "$T/q.npy" \
    --input "$T/k.npy" --input "$T/v.npy" --output "$T/mha.npy" 2> "$T/err" ||
    { echo "FAIL: lamina run (mha): $(cat "$T/err")"; fail=1; }
"$NPY_COMPARE" "$T/mha.0.npy" "$T/m_y.npy" || { echo "FAIL: mha output differs"; fail=1; }
"$NPY_COMPARE" "$T/mha.1.npy" "$T/m_w.npy" || { echo "FAIL: mha weights differ"; fail=1; }
# print(model) alone: refused, naming the module, the arguments and --set
"$LAMINA_BIN" run "$T/enc_bare.lam" --weights "$T/enc.safetensors" --input "$T/x.npy" \
    > /dev/null 2> "$T/err"
rc=$?
[ $rc -eq 1 ] || { echo "FAIL: bare repr: exit $rc, expected 1"; fail=1; }
for text in "lamina: error: layers.0 TransformerEncoderLayer: norm_first, activation not known" \
    "--set layers.0.norm_first=True|False"; do
    grep -qF -- "$text" "$T/err" || { echo "FAIL: bare repr: stderr lacks '$text': $(cat "$T/err")"; fail=1; }
done
"$LAMINA_BIN" run "$T/enc_bare.lam" --weights "$T/enc.safetensors" --input "$T/x.npy" \
    --set norm_first=True --set activation=gelu > /dev/null 2> "$T/err"
grep -qF "layers.0.self_attn MultiheadAttention: num_heads, batch_first not known" "$T/err" ||
    { echo "FAIL: bare repr without num_heads: $(cat "$T/err")"; fail=1; }
check bare enc_y -- "$T/enc_bare.lam" --weights "$T/enc.safetensors" --input "$T/x.npy" \
    --input "$T/causal.npy" --input "$T/pad.npy" --set norm_first=True --set activation=gelu \
    --set num_heads=3 --set batch_first=True
# a value that does not fit: PyTorch's words
"$LAMINA_BIN" run "$T/enc_bare.lam" --input "$T/x.npy" --set num_heads=5 > /dev/null 2> "$T/err"
grep -qF "embed_dim must be divisible by num_heads" "$T/err" ||
    { echo "FAIL: num_heads=5: $(cat "$T/err")"; fail=1; }
[ $fail -eq 0 ] && echo "export-transformer: OK"
exit $fail
