#!/usr/bin/env python3
"""PyTorch side of the lamina benchmark suite (the anchor figures).

A small server driven by bench/run, with the same protocol as
bench/bench_models: one command per line on stdin, one JSON object per line
on stdout.

    info
    run CASE FORM BATCH THREADS BUDGET_S MIN_SAMPLES MAX_SAMPLES [WARM_CALLS]
    elementwise N BUDGET_S
    tvexport NAME OUT_PREFIX
    quit

CASE is seed_seq, seed_list, mlp, mix, gated_plugin, gated_seq or one of
the CNN rows conv3x3, conv1x1, dw3x3, stem7x7, maxpool, lenet5, convt4x4 or the
sequence rows encoder, mha, lstm (the models of bench_models.c; the CNN rows'
inputs are [BATCH, C, H, W], the sequence rows' have BATCH where the layer
takes it: encoder [BATCH, 128, 512], mha [1024, BATCH, 512], lstm
[100, BATCH, 256]);
FORM is "sequential" (the nn.Module as written), "functional" (the same
arithmetic hand-chained with torch.nn.functional; mha: need_weights=False)
or "modulelist" (seed_list: a ModuleList walked by a Python loop in forward).  Everything runs under
torch.inference_mode().  THREADS sets torch.set_num_threads and, through
ctypes, openblas_set_num_threads: Debian's PyTorch runs Linear on the system
OpenBLAS, whose own thread pool torch.set_num_threads does not control.  A
PyTorch that brings no OpenBLAS (the PyPI wheels: MKL/oneDNN) is left alone:
OpenBLAS is only driven when PyTorch itself has loaded it.  Works with
PyTorch 1.13 and 2.x.

tvexport builds torchvision.models.NAME() (default arguments, seed 0) with
randomised BatchNorm statistics and affine parameters, writes OUT_PREFIX.lam
and OUT_PREFIX.safetensors with tools/lamina-export, and keeps the model as
case tv_NAME, form "module" (its input is [BATCH, 3, 224, 224]).

Each call is timed on its own (perf_counter_ns); every PyTorch call costs
more than the clock.  "samples_us" are per-call microseconds, "cpu_samples_us"
the same calls in process CPU time (process_time_ns).
"""
import ctypes
import ctypes.util
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def _loaded_openblas():
    """Paths of the OpenBLAS libraries that this process (PyTorch) has mapped; None when
    /proc/self/maps cannot tell."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split(None, 5)[-1].strip() for line in f if "/" in line}
    except OSError:
        return None
    # NumPy's and SciPy's wheels bring their own OpenBLAS, which PyTorch does not use.
    return sorted(p for p in paths if "openblas" in p.rsplit("/", 1)[-1].lower()
                  and "numpy" not in p and "scipy" not in p)


_openblas = None
_mapped = _loaded_openblas()
if _mapped is None:  # cannot tell: the system OpenBLAS, as before
    _candidates = ["libopenblas.so.0", ctypes.util.find_library("openblas") or ""]
else:  # only the OpenBLAS that PyTorch uses (Debian's), none for a wheel with MKL
    _candidates = _mapped
for _name in _candidates:
    if not _name:
        continue
    try:
        _lib = ctypes.CDLL(_name)
        _lib.openblas_get_config.restype = ctypes.c_char_p
        _openblas = _lib
        break
    except (OSError, AttributeError):
        pass


def set_threads(n):
    torch.set_num_threads(n)
    if _openblas is not None:
        _openblas.openblas_set_num_threads(n)


def openblas_threads():
    return _openblas.openblas_get_num_threads() if _openblas is not None else None


class Swish(nn.Module):
    """The plugin's Swish(beta): x * sigmoid(beta * x)."""

    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = beta

    def forward(self, x):
        return x * torch.sigmoid(self.beta * x)


class RMSNorm(nn.Module):
    """The plugin's RMSNorm(n, eps=1e-6): x / sqrt(mean(x^2) + eps) * weight
    (PyTorch 1.13 has no nn.RMSNorm)."""

    def __init__(self, n, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(n))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class MyModel(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class GatedResidual(nn.Module):
    """tests/plugins/gated.c's container: x + sigmoid(L1(x)) * L2(relu(L0(x)))."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(64, 64) for _ in range(3)])

    def forward(self, x):
        l0, l1, l2 = self.layers
        return x + torch.sigmoid(l1(x)) * l2(torch.relu(l0(x)))


def seed_layers():
    return [nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 2), nn.Sigmoid()]


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


# the CNN rows: (module, input shape after the batch)
CNN = {
    "conv3x3": (lambda: nn.Conv2d(64, 64, 3, padding=1), (64, 56, 56)),
    "conv1x1": (lambda: nn.Conv2d(256, 64, 1), (256, 56, 56)),
    "dw3x3": (lambda: nn.Conv2d(32, 32, 3, padding=1, groups=32), (32, 112, 112)),
    "stem7x7": (lambda: nn.Conv2d(3, 64, 7, stride=2, padding=3), (3, 224, 224)),
    "maxpool": (lambda: nn.MaxPool2d(3, 2, 1), (64, 112, 112)),
    "lenet5": (lenet5, (1, 28, 28)),
    "convt4x4": (lambda: nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), (64, 56, 56)),
}


def encoder():
    layer = nn.TransformerEncoderLayer(512, 8, 2048, batch_first=True)
    return nn.TransformerEncoder(layer, 6)


# the sequence rows: (module, input shape with None where the batch goes)
SEQ = {
    "encoder": (encoder, (None, 128, 512)),
    "mha": (lambda: nn.MultiheadAttention(512, 8), (1024, None, 512)),
    "lstm": (lambda: nn.LSTM(256, 512, num_layers=2), (100, None, 256)),
}


def build(case, form):
    """(callable, in_features or input shape after the batch) for a case and form, or None."""
    torch.manual_seed(0)
    if case in CNN:
        make, shape = CNN[case]
        return make().eval(), shape
    if case in SEQ:
        make, shape = SEQ[case]
        m = make().eval()
        if case == "mha":  # self-attention; the module's default need_weights=True, or not
            nw = form != "functional"
            return (lambda x: m(x, x, x, need_weights=nw)[0]), shape
        if case == "lstm":
            return (lambda x: m(x)[0]), shape
        return m, shape
    if case in ("seed_seq", "seed_list"):
        layers = seed_layers()
        if case == "seed_list" or form == "modulelist":
            return MyModel(layers).eval(), 10
        m = nn.Sequential(*layers).eval()
        if form == "functional":
            w1, b1, w2, b2 = m[0].weight, m[0].bias, m[2].weight, m[2].bias
            return (lambda x: torch.sigmoid(F.linear(torch.relu(F.linear(x, w1, b1)), w2, b2))), 10
        return m, 10
    if case == "mlp":
        m = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                          nn.Linear(1024, 10)).eval()
        if form == "functional":
            l1, l2, l3 = m[0], m[2], m[4]
            return (lambda x: F.linear(torch.relu(F.linear(torch.relu(F.linear(
                x, l1.weight, l1.bias)), l2.weight, l2.bias)), l3.weight, l3.bias)), 784
        return m, 784
    if case == "gated_plugin":
        return GatedResidual().eval(), 64
    if case == "gated_seq":
        return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.Sigmoid(),
                             nn.Linear(64, 64)).eval(), 64
    if case == "mix":
        m = nn.Sequential(nn.Linear(64, 256), Swish(1.5), RMSNorm(256), nn.Linear(256, 10)).eval()
        if form == "functional":
            l1, nw, l2 = m[0], m[2].weight, m[3]

            def f(x):
                h = F.linear(x, l1.weight, l1.bias)
                h = h * torch.sigmoid(1.5 * h)
                h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-6) * nw
                return F.linear(h, l2.weight, l2.bias)
            return f, 64
        return m, 64
    return None


_models = {}


def measure(fn, budget, min_samples, max_samples, cpu=None, warm_min=3):
    """Warm up, then per-call times in µs until the budget is spent (wall clock; with a
    list `cpu`, the process CPU time of each call is appended to it too)."""
    t0 = time.perf_counter()
    warm_calls = 0
    warm = min(budget / 5, 0.05)
    # at least warm_min calls, or fewer when they take 0.2 s (as bench_models.c)
    while (warm_calls < warm_min and time.perf_counter() - t0 < 0.2) or \
            time.perf_counter() - t0 < warm:
        fn()
        warm_calls += 1
    samples = []
    clock = time.perf_counter_ns
    cclock = time.process_time_ns
    start = time.perf_counter()
    while len(samples) < max_samples and (len(samples) < min_samples or
                                          time.perf_counter() - start < budget):
        ca = cclock() if cpu is not None else 0
        a = clock()
        fn()
        samples.append((clock() - a) / 1e3)
        if cpu is not None:
            cpu.append((cclock() - ca) / 1e3)
    return samples


def tv_randomise(model, g):
    """BatchNorm statistics and affine parameters away from their initial values (as
    tests/torchvision/check.py does): a model with fresh BatchNorms is not what runs."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
                m.weight.copy_(1 + 0.2 * torch.randn(n, generator=g))
                m.bias.copy_(0.2 * torch.randn(n, generator=g))


def cmd_tvexport(name, out):
    import importlib.machinery
    import os
    import torchvision.models as tvm
    make = getattr(tvm, name, None)
    if make is None or not callable(make):
        return {"kind": "error", "error": "unknown torchvision model", "detail": name}
    tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools",
                        "lamina-export")
    lx = importlib.machinery.SourceFileLoader("lamina_export", tool).load_module()
    torch.manual_seed(0)
    model = make()
    tv_randomise(model, torch.Generator().manual_seed(1))
    model.eval()
    t0 = time.perf_counter()
    lam, st = lx.export(model, out, warn=False)
    _models[("tv_" + name, "module")] = (model, (3, 224, 224))
    return {"kind": "exported", "case": "tv_" + name, "lam": lam, "weights": st,
            "params": sum(p.numel() for p in model.parameters()),
            "export_s": time.perf_counter() - t0}


def cmd_run(case, form, batch, threads, budget, min_samples, max_samples, warm_min=3):
    key = (case, form)
    if key not in _models:
        _models[key] = build(case, form)
    built = _models[key]
    if built is None:
        return {"kind": "error", "error": "unknown case", "detail": f"{case} {form}"}
    model, in_features = built
    set_threads(threads)
    torch.manual_seed(1)
    shape = in_features if isinstance(in_features, tuple) else (in_features,)
    if None in shape:  # a sequence row: the batch where the layer takes it
        x = torch.rand(*[batch if d is None else d for d in shape]) * 2 - 1
    else:
        x = torch.rand(batch, *shape) * 2 - 1
    cpu = []
    with torch.inference_mode():
        samples = measure(lambda: model(x), budget, min_samples, max_samples, cpu, warm_min)
    return {"kind": "result", "impl": "pytorch", "case": case, "api": form, "batch": batch,
            "threads": threads, "torch_threads": torch.get_num_threads(),
            "openblas_threads": openblas_threads(), "inner": 1,
            "samples_us": [round(s, 3) for s in samples],
            "cpu_samples_us": [round(s, 3) for s in cpu]}


def cmd_elementwise(n, budget):
    """Gelem/s of each activation on n floats, preallocated out=, 1 thread."""
    set_threads(1)
    torch.manual_seed(2)
    x = torch.rand(n) * 20 - 10
    y = torch.empty_like(x)
    ops = {
        "sigmoid": lambda: torch.sigmoid(x, out=y),
        "tanh": lambda: torch.tanh(x, out=y),
        "gelu": lambda: torch._C._nn.gelu(x, approximate="none", out=y),
        "gelu_tanh": lambda: torch._C._nn.gelu(x, approximate="tanh", out=y),
        "silu": lambda: torch._C._nn.silu(x, out=y),
        # torch.relu has no out=; clamp_min(x, 0) is the same arithmetic.
        "relu": lambda: torch.clamp_min(x, 0.0, out=y),
        "exp": lambda: torch.exp(x, out=y),
    }
    out = []
    with torch.inference_mode():
        for name, fn in ops.items():
            try:
                s = sorted(measure(fn, budget, 7, 10000))
            except (RuntimeError, TypeError, AttributeError) as e:
                out.append({"kernel": name, "error": str(e)})
                continue
            med = s[len(s) // 2]
            out.append({"kernel": name, "gelem_s": n / med / 1e3, "min": n / s[-1] / 1e3,
                        "max": n / s[0] / 1e3, "gb_s": 8 * n / med / 1e3, "samples": len(s)})
    return {"kind": "elementwise", "n": n, "threads": 1, "kernels": out}


def _config_line(marker):
    """The rest of the line of torch.__config__.show() after `marker`, or None."""
    for line in torch.__config__.show().splitlines():
        if marker in line:
            return line.split(marker, 1)[1].strip(" :-")
    return None


def cmd_info():
    cfg = _openblas.openblas_get_config().decode() if _openblas is not None else None
    dnn = _config_line("MKL-DNN")
    return {"kind": "info", "torch_version": torch.__version__,
            "python": sys.version.split()[0],
            "default_torch_threads": torch.get_num_threads(),
            "default_openblas_threads": openblas_threads(),
            "openblas": cfg,
            "onednn": dnn.split("(")[0].strip() if dnn else None,
            "capability": _config_line("CPU capability usage")}


def main():
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        try:
            if parts[0] == "quit":
                break
            if parts[0] == "info":
                reply = cmd_info()
            elif parts[0] == "run" and len(parts) in (8, 9):
                reply = cmd_run(parts[1], parts[2], int(parts[3]), int(parts[4]),
                                float(parts[5]), int(parts[6]), int(parts[7]),
                                int(parts[8]) if len(parts) == 9 else 3)
            elif parts[0] == "tvexport" and len(parts) == 3:
                reply = cmd_tvexport(parts[1], parts[2])
            elif parts[0] == "elementwise" and len(parts) == 3:
                reply = cmd_elementwise(int(parts[1]), float(parts[2]))
            else:
                reply = {"kind": "error", "error": "bad command", "detail": line.strip()}
        except Exception as e:  # report, keep serving
            reply = {"kind": "error", "error": type(e).__name__, "detail": str(e)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
