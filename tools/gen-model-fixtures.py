#!/usr/bin/python3
"""Write the round-trip fixtures for lamina's model-file tests (tests/model/fixtures).

Run with Debian's python3-torch (PyTorch 1.13):

    /usr/bin/python3 tools/gen-model-fixtures.py [OUTDIR]

For each case NAME it writes
    NAME.lam           the model description: repr(model) as print() shows it, or a
                       hand-written variant (constructor calls, comments, ModuleList runs)
    NAME.safetensors   model.state_dict() (pure-Python writer from tools/lamina-export)
    NAME.input.npy     an input (float32)
    NAME.output.npy    model.eval()(input), or model(input, condition) for custom modules
and MANIFEST lists the cases, one a line: "NAME [handwritten] [condition] [plugin=P]"
(handwritten: the .lam is not repr(model), so the tests do not compare reprs).

It also writes tests/model/malformed/*.lam, model files that must be refused,
and tests/model/malformed/EXPECTED: "FILE<TAB>text the error message must contain".
The output is committed; the tests need no PyTorch.  Deterministic: one
torch.manual_seed per case.
"""

import importlib.machinery
import os
import sys
from collections import OrderedDict

import warnings

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(HERE, "..", "tests", "model", "fixtures"))
lx = importlib.machinery.SourceFileLoader("lamina_export",
                                          os.path.join(HERE, "lamina-export")).load_module()

manifest = []


def randomize_affine(model):
    # LayerNorm starts at ones/zeros: make its parameters say something
    for m in model.modules():
        if isinstance(m, nn.LayerNorm) and m.elementwise_affine:
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)


def case(name, model, x, lam_text=None, condition=None, plugin=None):
    model.eval()
    randomize_affine(model)
    prefix = os.path.join(OUT, name)
    lx.export(model, prefix, warn=False)
    if lam_text is not None:
        with open(prefix + ".lam", "w") as f:
            f.write(lam_text)
    with torch.no_grad():
        y = model(x, condition) if isinstance(model, ConditionalModel) else model(x)
    # token ids stay int64 ('<i8'): lamina run reads them as int64 tensors
    np.save(prefix + ".input.npy", x.numpy() if x.dtype == torch.int64 else x.numpy().astype("<f4"))
    np.save(prefix + ".output.npy", y.numpy().astype("<f4"))
    line = name
    if lam_text is not None:
        line += " handwritten"
    if condition:
        line += " condition"
    if plugin:
        line += " plugin=" + plugin
    manifest.append(line)


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float32)


class ConditionalModel(nn.Module):
    """The canonical custom forward; lamina's "containers" plugin provides it."""

    def __init__(self, layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x, condition):
        for i, layer in enumerate(self.layers):
            if i < 3 or condition:
                x = layer(x)
        return x


def gen_embedding():
    """Issue 16: an Embedding-first Sequential, run from int64 ids."""
    torch.manual_seed(27)
    case("embedding", nn.Sequential(
        nn.Embedding(20, 8, padding_idx=0), nn.Flatten(), nn.Linear(40, 6), nn.Tanh()),
        torch.randint(0, 20, (3, 5), dtype=torch.int64))


def gen():
    torch.manual_seed(1)
    case("mlp", nn.Sequential(nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 2), nn.Sigmoid()),
         randn(4, 10))

    torch.manual_seed(2)
    case("activations", nn.Sequential(
        nn.Linear(8, 16), nn.LeakyReLU(0.2), nn.Linear(16, 16), nn.ReLU6(),
        nn.Linear(16, 16), nn.ELU(alpha=0.5), nn.Linear(16, 4), nn.Tanh()), randn(5, 8) * 3)

    torch.manual_seed(3)
    case("gelu_both", nn.Sequential(
        nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 16), nn.GELU(approximate="tanh"),
        nn.Linear(16, 4)), randn(3, 8))

    torch.manual_seed(4)
    case("silu_softplus", nn.Sequential(
        nn.Linear(6, 12), nn.SiLU(), nn.Linear(12, 12), nn.Softplus(beta=2, threshold=10),
        nn.Linear(12, 12), nn.Softplus(), nn.Linear(12, 3)), randn(4, 6) * 4)

    torch.manual_seed(5)
    case("softmax", nn.Sequential(nn.Linear(5, 7), nn.Softmax(dim=1)), randn(3, 5))

    torch.manual_seed(6)
    case("log_softmax", nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.LogSoftmax(dim=-1)),
         randn(3, 5))

    torch.manual_seed(7)
    case("softmax_dim_none", nn.Sequential(nn.Linear(4, 6), nn.Softmax(dim=None)), randn(2, 4))

    torch.manual_seed(8)
    case("layernorm", nn.Sequential(
        nn.Linear(10, 64), nn.LayerNorm((64,)), nn.GELU(), nn.Linear(64, 10)), randn(4, 10))

    torch.manual_seed(9)
    case("layernorm_plain", nn.Sequential(
        nn.Linear(6, 16), nn.LayerNorm(16, eps=1e-3, elementwise_affine=False), nn.Linear(16, 2)),
        randn(3, 6))

    torch.manual_seed(10)
    case("dropout_eval", nn.Sequential(
        nn.Linear(10, 20), nn.Dropout(p=0.5), nn.ReLU(), nn.Dropout(0.1), nn.Linear(20, 3)),
        randn(4, 10))

    torch.manual_seed(11)
    case("flatten", nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.ReLU()), randn(2, 3, 4))

    torch.manual_seed(12)
    case("identity", nn.Sequential(nn.Identity(), nn.Linear(4, 4), nn.Identity(), nn.Sigmoid()),
         randn(3, 4))

    torch.manual_seed(13)
    case("nested", nn.Sequential(
        nn.Sequential(nn.Linear(6, 8), nn.ReLU()),
        nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Sequential(nn.Linear(8, 3)))), randn(4, 6))

    torch.manual_seed(14)
    case("named", nn.Sequential(OrderedDict(
        fc1=nn.Linear(10, 32), act=nn.ReLU(), fc2=nn.Linear(32, 4))), randn(3, 10))

    torch.manual_seed(15)
    case("named_nested", nn.Sequential(OrderedDict([
        ("encoder", nn.Sequential(OrderedDict(fc=nn.Linear(8, 16), act=nn.GELU(),
                                              norm=nn.LayerNorm(16)))),
        ("decoder", nn.Sequential(nn.Linear(16, 8), nn.SiLU(), nn.Linear(8, 2))),
    ])), randn(5, 8))

    torch.manual_seed(16)
    case("no_bias", nn.Sequential(nn.Linear(7, 9, bias=False), nn.ReLU(),
                                  nn.Linear(9, 3, bias=False)), randn(2, 7))

    torch.manual_seed(17)
    layers = []
    for i in range(12):
        layers += [nn.Linear(16, 16), nn.Tanh() if i % 2 else nn.ReLU()]
    case("deep", nn.Sequential(*layers, nn.Linear(16, 1)), randn(4, 16))

    torch.manual_seed(18)
    case("three_d", nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.LayerNorm(16),
                                  nn.Linear(16, 8), nn.Softmax(dim=-1)), randn(2, 5, 8))

    torch.manual_seed(19)
    case("batch_one", nn.Sequential(nn.Linear(3, 5), nn.ELU(), nn.Linear(5, 1)), randn(1, 3))

    # constructor-call syntax (hand-written .lam, same modules and keys)
    torch.manual_seed(1)
    case("ctor_mlp", nn.Sequential(nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 2), nn.Sigmoid()),
         randn(4, 10),
         lam_text="Sequential(Linear(10, 50), ReLU(), Linear(50, 2), Sigmoid())\n")

    torch.manual_seed(20)
    case("ctor_kwargs", nn.Sequential(
        nn.Linear(10, 20, bias=False), nn.GELU(approximate="tanh"), nn.LayerNorm((20,), eps=1e-05),
        nn.Linear(in_features=20, out_features=3), nn.LogSoftmax(dim=1)), randn(3, 10),
        lam_text="# a model written by hand, PyTorch style\n"
                 "\n"
                 "nn.Sequential(\n"
                 "    nn.Linear(10, 20, bias=False),     # no bias\n"
                 "    nn.GELU(approximate='tanh'),\n"
                 "    nn.LayerNorm((20,), eps=1e-05),\n"
                 "\n"
                 "    torch.nn.Linear(in_features=20, out_features=3),\n"
                 "    LogSoftmax(dim=1),\n"
                 ")\n")

    torch.manual_seed(21)
    case("ctor_mixed", nn.Sequential(OrderedDict([
        ("0", nn.Linear(4, 8)), ("act", nn.LeakyReLU(negative_slope=0.05)), ("2", nn.Linear(8, 2))])),
        randn(3, 4),
        lam_text="Sequential(Linear(4, 8), (act): LeakyReLU(negative_slope=0.05), Linear(8, 2))\n")

    torch.manual_seed(22)
    case("ctor_ordereddict", nn.Sequential(OrderedDict(
        [("fc1", nn.Linear(6, 6)), ("act", nn.Softplus(beta=1, threshold=20)), ("fc2", nn.Linear(6, 2))])),
        randn(2, 6),
        lam_text="Sequential(OrderedDict([\n"
                 "    ('fc1', Linear(6, 6)),\n"
                 "    ('act', Softplus(beta=1, threshold=20)),\n"
                 "    ('fc2', Linear(6, 2)),\n"
                 "]))\n")

    # a compressed run, as newer PyTorch prints ModuleLists: three independent copies
    torch.manual_seed(23)
    case("run_compressed", nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4),
                                         nn.Tanh()), randn(3, 4),
         lam_text="Sequential(\n"
                  "  (0-2): 3 x Linear(in_features=4, out_features=4, bias=True)\n"
                  "  (3): Tanh()\n"
                  ")\n")

    # one Linear in two places: repr shows it twice, the state_dict has both keys
    torch.manual_seed(24)
    shared = nn.Linear(6, 6)
    tied = nn.Sequential(shared, nn.ReLU(), shared)
    case("tied", tied, randn(3, 6))
    # a ModuleList inside a custom module served by a plugin
    for cond in (False, True):
        torch.manual_seed(25)
        case("conditional_%s" % ("true" if cond else "false"), ConditionalModel(
            [nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 2), nn.Sigmoid(), nn.Linear(2, 100)]),
            randn(3, 10), condition=cond, plugin="containers")
    torch.manual_seed(26)
    case("conditional_run", ConditionalModel(
        [nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 3)]),
        randn(2, 4), condition=True, plugin="containers",
        lam_text="ConditionalModel(\n"
                 "  (layers): ModuleList(\n"
                 "    (0-2): 3 x Linear(in_features=4, out_features=4, bias=True)\n"
                 "    (3): Tanh()\n"
                 "    (4): Linear(in_features=4, out_features=3, bias=True)\n"
                 "  )\n"
                 ")\n")

    gen_embedding()

    # the same model as safetensors.torch.save_model() writes it: one name per
    # tied group (the first in sorted order), the others recorded in metadata
    sd = tied.state_dict()
    kept = {k: v for k, v in sd.items() if not k.startswith("2.")}
    lx.save_safetensors(kept, os.path.join(OUT, "tied_save_model.safetensors"),
                        metadata={"format": "pt", "2.weight": "0.weight", "2.bias": "0.bias"})


MALFORMED = [
    # (name, content (str or bytes), text the message must contain)
    ("empty", "", "empty model file"),
    ("only_comments", "  \n# nothing but a comment\n\n", "4:1: empty model file"),
    ("unbalanced_open", "Sequential(\n  (0): Linear(in_features=10, out_features=5, bias=True)\n",
     "3:1: expected ',' or ')' to close 'Sequential(' opened at 1:11, got end of file"),
    ("unbalanced_close", "Sequential(ReLU()))\n", "1:19: expected end of file"),
    ("unbalanced_tuple", "LayerNorm((64,, eps=1e-05)\n", "1:15: expected a value"),
    ("unknown_type", "Sequential(\n  (0): Linear(10, 5),\n  (1): Linaer(5, 2)\n)\n",
     "3:8: unknown layer type 'Linaer' (did you mean 'Linear'?)"),
    ("unknown_case", "Sequential(Relu())\n", "1:12: unknown layer type 'Relu' (did you mean 'ReLU'?)"),
    ("unknown_custom", "MyFancyModel(\n  (layers): ModuleList()\n)\n",
     "1:1: unknown layer type 'MyFancyModel'"),
    ("wrong_arg_type", "Sequential(\n  Linear('ten', 5),\n)\n", "2:10: Linear: in_features"),
    ("wrong_kwarg_type", "GELU(approximate=3)\n", "approximate"),
    ("missing_required", "Sequential(Linear(10))\n", "out_features"),
    ("negative_size", "Sequential(\n  Linear(10, 5),\n  Linear(5, -3),\n)\n",
     "3:13: Linear: out_features"),
    ("unknown_keyword", "Sequential(ReLU(inplace=False, fast=True))\n", "fast"),
    ("huge_linear", "Sequential(Linear(10, 10000000000))\n", "1:12: Linear(10, 10000000000)"),
    ("too_many_params", "Sequential(\n  (0-99): 100 x Linear(8192, 8192)\n)\n", "more than the limit"),
    ("int_overflow", "Linear(99999999999999999999999, 2)\n", "1:8: integer literal"),
    ("float_overflow", "ELU(alpha=1e999)\n", "1:11: float literal '1e999' is out of range"),
    ("deep_nesting", "Sequential(" * 10000 + ")" * 10000 + "\n", "nesting too deep"),
    ("deep_tuple", "LayerNorm(" + "(" * 10000 + "\n", "nesting too deep"),
    ("nul_byte", "Sequential(\0)\n", "1:12: unexpected NUL byte"),
    ("binary_garbage", bytes((i * 37 + 200) % 256 for i in range(4096)), "1:1: unexpected byte 0xc8"),
    ("overlong_identifier", "A" * 5000 + "()\n", "identifier too long"),
    ("overlong_string", "GELU(approximate='" + "x" * 10000 + "')\n", "string literal too long"),
    ("unterminated_string", "GELU(approximate='tanh)\n", "unterminated string"),
    ("positional_after_keyword", "Linear(in_features=3, 4)\n",
     "1:23: positional argument follows keyword argument"),
    ("keyword_in_sequential", "Sequential(foo=ReLU())\n", "Sequential takes no keyword arguments"),
    ("number_in_sequential", "Sequential(Linear(2, 2), 5)\n", "1:26: Sequential: argument 2 must be a module, got int"),
    ("duplicate_child", "Sequential(\n  (a): ReLU()\n  (a): Tanh()\n)\n", "3:4: Sequential: duplicate child name 'a'"),
    ("bad_run_count", "ModuleList(\n  (0-2): 2 x ReLU()\n)\n", "range (0-2) holds 3 modules, but the count says 2"),
    # found by fuzz_model: the span of a range overflowed int64
    ("huge_run", "ModuleList(\n  (0-9223372036854775807): 1 x ReLU()\n)\n",
     "2:4: invalid range (0-9223372036854775807): too many children"),
    ("too_many_modules", "ModuleList(\n  (0-999999): 1000000 x ReLU()\n)\n", "exceed the limit"),
    ("missing_call_parens", "Sequential\n", "expected '(' after the module type 'Sequential'"),
    ("two_models", "ReLU()\nTanh()\n", "2:1: expected end of file"),
    ("module_as_argument", "Linear(ReLU(), 3)\n", "cannot be a module"),
    ("stray_character", "Sequential(ReLU() ; Tanh())\n", "1:19: unexpected character ';'"),
    ("missing_comma", "Linear(10 5)\n", "expected ',' or ')'"),
    ("bad_number", "Linear(10abc, 5)\n", "invalid number literal"),
    ("non_ascii", "S\u00e9quential()\n", "1:2: unexpected byte 0xc3"),
    ("bare_name_value", "Softmax(dim=last)\n", "unknown name 'last'"),
    # found by fuzz/fuzz_model: a LayerNorm of 868606563883388 elements tried to allocate
    ("huge_layernorm", "Sequential(LayerNorm(868606563883388))\n",
     "1:12: LayerNorm over 868606563883388 elements brings the model to 1737213127766776 parameters"),
    ("huge_layernorm_tuple", "LayerNorm((65536, 65536, 2))\n", "more than the limit"),
    ("run_range_overflow", "ModuleList(\n  (0-99999999999999999999): 2 x ReLU()\n)\n",
     "2:6: integer literal '99999999999999999999' is too large"),
    # found by fuzz/fuzz_model: a child name its repr could not carry
    ("ordereddict_bad_name", "Sequential(OrderedDict([('fc1', Linear(6, 6)), ('&ct', ReLU())]))\n",
     "1:49: OrderedDict: child name '&ct' is not an identifier or a number"),
    # convolutions: PyTorch's constructor errors, and bare names (which PyTorch's
    # conv reprs print for strings) only where an argument takes a string
    ("conv_groups", "Conv2d(3, 8, 3, groups=2)\n", "1:17: Conv2d: in_channels must be divisible by groups"),
    ("conv_padding_string", "Conv2d(3, 8, 3, padding='full')\n",
     "1:17: Conv2d: Invalid padding string 'full', should be one of {'valid', 'same'}"),
    ("conv_bare_name", "Conv2d(3, 8, 3, bias=yes)\n", "1:22: unknown name 'yes'"),
    ("conv_huge", "Conv2d(65536, 65536, 3)\n", "1:1: Conv2d: the weight has more than 2^32 elements"),
]


def gen_malformed():
    d = os.path.normpath(os.path.join(OUT, "..", "malformed"))
    os.makedirs(d, exist_ok=True)
    lines = ["# FILE<TAB>text the error message must contain (tools/gen-model-fixtures.py)"]
    for name, content, expect in MALFORMED:
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        with open(os.path.join(d, name + ".lam"), "wb") as f:
            f.write(data)
        lines.append("%s.lam\t%s" % (name, expect))
    with open(os.path.join(d, "EXPECTED"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d malformed model files to %s" % (len(MALFORMED), d))


def main():
    warnings.filterwarnings("ignore", message="Implicit dimension choice")
    os.makedirs(OUT, exist_ok=True)
    gen()
    with open(os.path.join(OUT, "MANIFEST"), "w") as f:
        f.write("# generated by tools/gen-model-fixtures.py with torch %s; do not edit\n"
                % torch.__version__)
        for line in manifest:
            f.write(line + "\n")
    print("wrote %d cases to %s" % (len(manifest), OUT))
    gen_malformed()


if __name__ == "__main__":
    main()
