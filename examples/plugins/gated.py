#!/usr/bin/python3
"""The PyTorch side of examples/plugins/gated.c: the two classes the plugin
provides, and the fixtures `make check` runs the plugin against.

    /usr/bin/python3 examples/plugins/gated.py [OUTDIR]     (PyTorch 1.13)

writes, for each model NAME (default OUTDIR: this directory),
    NAME.lam           repr(model): the model file
    NAME.safetensors   model.state_dict() (tools/lamina-export's writer)
    NAME.input.npy     an input, float32
    NAME.output.npy    model(input), float32
The models:
    gated           Sequential(ScaleShift(8), GatedResidual(8), ScaleShift(8)) on [3, 4, 8]
    gated_replaced  GatedResidual(8) whose layers[2] was replaced after __init__ by
                    Sequential(Linear(8, 8), ScaleShift(8)): the file's children
                    replace the ones the constructor builds, in lamina as in PyTorch
Deterministic (torch.manual_seed per model).  The output is committed.

`lamina-export examples/plugins/gated.py:make_model -o out/gated` exports the
first model too.
"""

import importlib.machinery
import os
import sys

import numpy as np
import torch
import torch.nn as nn


class ScaleShift(nn.Module):
    """y = x * scale + shift over the last dim."""

    def __init__(self, d):
        super().__init__()
        self.d = d
        self.scale = nn.Parameter(torch.ones(d))
        self.shift = nn.Parameter(torch.zeros(d))

    def forward(self, x):
        return x * self.scale + self.shift

    def extra_repr(self):
        return "d=%d" % self.d  # what lamina's ScaleShift(d) reads back


class GatedResidual(nn.Module):
    """y = x + sigmoid(layers[1](x)) * layers[2](layers[0](x))."""

    def __init__(self, d):
        super().__init__()
        self.d = d
        self.layers = nn.ModuleList([nn.Linear(d, d) for _ in range(3)])

    def forward(self, x):
        h = self.layers[0](x)
        g = torch.sigmoid(self.layers[1](x))
        return x + g * self.layers[2](h)

    def extra_repr(self):
        # a container prints this on a line of its own, before its children;
        # without it the file would carry no `d` for lamina's constructor
        return "d=%d" % self.d


def make_model():
    return nn.Sequential(ScaleShift(8), GatedResidual(8), ScaleShift(8))


def make_replaced():
    m = GatedResidual(8)
    m.layers[2] = nn.Sequential(nn.Linear(8, 8), ScaleShift(8))
    return m


def randomize(model):
    # ScaleShift starts at ones/zeros: make its parameters say something
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, ScaleShift):
                m.scale.uniform_(0.5, 1.5)
                m.shift.uniform_(-0.5, 0.5)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else here
    lx = importlib.machinery.SourceFileLoader(
        "lamina_export", os.path.join(here, "..", "..", "tools", "lamina-export")).load_module()
    for seed, (name, make, shape) in enumerate([("gated", make_model, (3, 4, 8)),
                                                ("gated_replaced", make_replaced, (5, 8))]):
        torch.manual_seed(seed)
        model = make().eval()
        randomize(model)
        x = torch.randn(*shape, dtype=torch.float32)
        with torch.no_grad():
            y = model(x)
        prefix = os.path.join(out, name)
        lx.export(model, prefix, warn=False)
        np.save(prefix + ".input.npy", x.numpy().astype("<f4"))
        np.save(prefix + ".output.npy", y.numpy().astype("<f4"))
        print("wrote %s.{lam,safetensors,input.npy,output.npy}" % prefix)


if __name__ == "__main__":
    main()
