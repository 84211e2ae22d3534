#!/bin/sh
# tools/lamina-export end to end: export a PyTorch model given as FILE.py:FUNC
# (and one through the Python API), run both with `lamina run`, compare with
# PyTorch's output.  Skips (exit 77) without a Python that has torch and numpy.
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
T=$(mktemp -d "${TMPDIR:-/tmp}/lamina-export.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
cat > "$T/net.py" <<'PY'
import torch
import torch.nn as nn
from collections import OrderedDict

def make_model():
    torch.manual_seed(3)
    shared = nn.Linear(12, 12)
    return nn.Sequential(OrderedDict([
        ("inp", nn.Linear(6, 12)), ("act", nn.GELU(approximate="tanh")),
        ("tied_a", shared), ("norm", nn.LayerNorm(12)), ("tied_b", shared),
        ("out", nn.Sequential(nn.Linear(12, 3), nn.LogSoftmax(dim=-1)))]))

def make_cnn():
    torch.manual_seed(4)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding="same", padding_mode="reflect"), nn.ReLU(inplace=False),
        nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8, bias=False),
        nn.ConvTranspose2d(8, 4, 2, stride=2), nn.SiLU(),
        nn.Conv2d(4, 2, 1), nn.Flatten(), nn.Linear(2 * 8 * 6, 5))
PY
fail=0
"$py" "$export_tool" "$T/net.py:make_model" -o "$T/out/net" > "$T/log" 2>&1 ||
    { echo "FAIL: lamina-export: $(cat "$T/log")"; exit 1; }
"$py" - "$T" "$export_tool" <<'PY' || fail=1
import importlib.machinery, os, sys
import numpy as np, torch
d, tool = sys.argv[1], sys.argv[2]
sys.path.insert(0, d)
import net
lx = importlib.machinery.SourceFileLoader("lamina_export", tool).load_module()
m = net.make_model().eval()
x = torch.randn(4, 6)
np.save(os.path.join(d, "x.npy"), x.numpy())
np.save(os.path.join(d, "y.npy"), m(x).detach().numpy())
lam, st = lx.export(m, os.path.join(d, "api", "net"))
assert open(lam).read() == repr(m) + "\n"
PY
for out in out api; do
    "$LAMINA_BIN" run "$T/$out/net.lam" --weights "$T/$out/net.safetensors" --input "$T/x.npy" \
        --output "$T/$out.npy" || { echo "FAIL: lamina run ($out)"; fail=1; continue; }
    "$NPY_COMPARE" "$T/$out.npy" "$T/y.npy" || { echo "FAIL: $out differs"; fail=1; }
done
# a CNN: its reprs print padding=same and padding_mode=reflect unquoted
"$py" "$export_tool" "$T/net.py:make_cnn" -o "$T/cnn/net" > "$T/log" 2>&1 ||
    { echo "FAIL: lamina-export (cnn): $(cat "$T/log")"; exit 1; }
"$py" - "$T" <<'PY' || fail=1
import os, sys
import numpy as np, torch
d = sys.argv[1]
sys.path.insert(0, d)
import net
m = net.make_cnn().eval()
x = torch.randn(2, 3, 8, 6)
np.save(os.path.join(d, "cx.npy"), x.numpy())
with torch.no_grad():
    np.save(os.path.join(d, "cy.npy"), m(x).numpy())
PY
"$LAMINA_BIN" run "$T/cnn/net.lam" --weights "$T/cnn/net.safetensors" --input "$T/cx.npy" \
    --output "$T/cnn.npy" || { echo "FAIL: lamina run (cnn)"; fail=1; }
"$NPY_COMPARE" "$T/cnn.npy" "$T/cy.npy" || { echo "FAIL: cnn differs"; fail=1; }
# lamina-export notes the types a model needs a plugin for: it must know every
# type lamina builds itself (the registry's, as `lamina info` lists them)
"$LAMINA_BIN" info 2>/dev/null | awk '$2 == "built-in" { print $1 }' > "$T/builtins"
"$py" - "$export_tool" "$T/builtins" <<'PY' || fail=1
import importlib.machinery, sys
lx = importlib.machinery.SourceFileLoader("lamina_export", sys.argv[1]).load_module()
have = {l.strip() for l in open(sys.argv[2]) if l.strip()}
assert len(have) > 40, "lamina info listed %d built-in types" % len(have)
missing = sorted(have - lx.BUILTIN_TYPES)
if missing:
    sys.exit("FAIL: lamina-export's BUILTIN_TYPES lacks %s" % ", ".join(missing))
PY
[ $fail -eq 0 ] && echo "export-with-torch: OK"
exit $fail
