"""torchvision's classification models through `lamina run`, against PyTorch.

    python3 check.py LAMINA_BIN LAMINA_EXPORT [CASE ...]

For each case: build the model (small widths, num_classes=10, a small
non-square input), randomise its BatchNorm statistics and affine parameters
(and ConvNeXt's layer_scale, ViT's class token and position embedding,
Swin's relative position bias tables), write print(model) + state_dict with
tools/lamina-export, run `lamina run --plugin torchvision` at batch 1 (with
LAMINA_MAX_ISA=avx2; some with scalar too) and 3 (the default kernel table)
(mixed_block without --plugin: the plugin is found by the type search)
and compare with PyTorch's output of the same run: max|diff| <= 1e-4 *
max|output| and the same argmax in every row.  Prints one line per case;
exit status 1 when any case fails.
"""

import importlib.machinery
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torchvision.models as M
from torchvision.models import convnext as tv_convnext
from torchvision.models import densenet as tv_densenet
from torchvision.models import efficientnet as tv_eff
from torchvision.models import resnet as tv_resnet
from torchvision.models import swin_transformer as tv_swin
from torchvision.models import vgg as tv_vgg


class Swish(nn.Module):
    """A user layer: lamina's shipped swish plugin provides it."""

    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = beta

    def forward(self, x):
        return x * torch.sigmoid(self.beta * x)

    def extra_repr(self):
        return "beta=%s" % self.beta


def small_vgg(batch_norm):
    features = tv_vgg.make_layers([8, "M", 16, "M", 32, 32, "M", 512], batch_norm=batch_norm)
    m = tv_vgg.VGG(features, num_classes=10, init_weights=False)
    # the stock classifier is 120M parameters: the forward is the same with a small one
    m.classifier = nn.Sequential(nn.Linear(512 * 7 * 7, 32), nn.ReLU(True), nn.Dropout(),
                                 nn.Linear(32, 10))
    return m


def small_alexnet():
    m = M.alexnet(num_classes=10)
    m.classifier = nn.Sequential(nn.Dropout(), nn.Linear(256 * 6 * 6, 32), nn.ReLU(inplace=True),
                                 nn.Linear(32, 10))
    return m


def small_efficientnet_v2():
    F, B = tv_eff.FusedMBConvConfig, tv_eff.MBConvConfig
    setting = [F(1, 3, 1, 16, 16, 1), F(4, 3, 2, 16, 24, 2), B(4, 3, 2, 24, 32, 2),
               B(6, 3, 1, 32, 40, 1)]
    from functools import partial
    return tv_eff.EfficientNet(setting, 0.2, stochastic_depth_prob=0.1, num_classes=10,
                               norm_layer=partial(nn.BatchNorm2d, eps=1e-03), last_channel=64)


def small_convnext():
    C = tv_convnext.CNBlockConfig
    return tv_convnext.ConvNeXt([C(16, 32, 2), C(32, 48, 1), C(48, None, 1)],
                                stochastic_depth_prob=0.1, num_classes=10)


def small_vit():
    return M.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4,
                               hidden_dim=32, mlp_dim=64, num_classes=10)


def small_swin():
    return tv_swin.SwinTransformer(patch_size=[4, 4], embed_dim=32, depths=[2, 2, 1],
                                   num_heads=[2, 2, 4], window_size=[4, 4],
                                   stochastic_depth_prob=0.1, num_classes=10)


def mixed_block():
    """A torchvision block inside a user's Sequential."""
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
                         tv_resnet.BasicBlock(16, 16), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(16, 10))


def mixed_fc():
    """A ResNet whose fc is replaced by a user plugin layer (Swish) after a Linear."""
    m = tv_resnet.ResNet(tv_resnet.BasicBlock, [1, 1, 1, 1], num_classes=10)
    m.fc = nn.Sequential(nn.Linear(512, 10), Swish(1.5))
    return m


# name, constructor, input (C, H, W)
CASES = [
    ("resnet18", lambda: M.resnet18(num_classes=10), (3, 64, 48)),
    ("resnet50", lambda: M.resnet50(num_classes=10), (3, 64, 48)),
    ("resnext_g4", lambda: tv_resnet.ResNet(tv_resnet.Bottleneck, [1, 2, 1, 1], groups=4,
                                            width_per_group=8, num_classes=10), (3, 64, 48)),
    ("wide_resnet", lambda: tv_resnet.ResNet(tv_resnet.Bottleneck, [1, 1, 1, 1],
                                             width_per_group=128, num_classes=10), (3, 48, 40)),
    ("vgg", lambda: small_vgg(False), (3, 64, 48)),
    ("vgg_bn", lambda: small_vgg(True), (3, 64, 48)),
    ("alexnet", small_alexnet, (3, 96, 80)),
    ("squeezenet1_0", lambda: M.squeezenet1_0(num_classes=10), (3, 64, 48)),
    ("squeezenet1_1", lambda: M.squeezenet1_1(num_classes=10), (3, 64, 48)),
    ("mobilenet_v2", lambda: M.mobilenet_v2(num_classes=10, width_mult=0.25), (3, 64, 48)),
    ("densenet", lambda: tv_densenet.DenseNet(growth_rate=8, block_config=(2, 3, 2, 2),
                                              num_init_features=16, bn_size=2, num_classes=10),
     (3, 64, 48)),
    ("densenet121", lambda: M.densenet121(num_classes=10), (3, 48, 40)),
    ("shufflenet_v2", lambda: M.shufflenet_v2_x0_5(num_classes=10), (3, 64, 48)),
    ("mobilenet_v3_small", lambda: M.mobilenet_v3_small(num_classes=10), (3, 64, 48)),
    ("mobilenet_v3_large", lambda: M.mobilenet_v3_large(num_classes=10, width_mult=0.5),
     (3, 64, 48)),
    ("mnasnet", lambda: M.mnasnet0_5(num_classes=10), (3, 64, 48)),
    ("efficientnet_b0", lambda: M.efficientnet_b0(num_classes=10), (3, 64, 48)),
    ("efficientnet_v2", small_efficientnet_v2, (3, 64, 48)),
    ("regnet_x", lambda: M.regnet_x_400mf(num_classes=10), (3, 64, 48)),
    ("regnet_y", lambda: M.regnet_y_400mf(num_classes=10), (3, 64, 48)),
    ("convnext", small_convnext, (3, 64, 48)),
    ("googlenet", lambda: M.googlenet(num_classes=10, aux_logits=True, init_weights=False),
     (3, 64, 48)),
    ("inception_v3", lambda: M.inception_v3(num_classes=10, aux_logits=True, init_weights=False),
     (3, 96, 80)),
    # the auxiliary classifiers (the models skip them in eval mode), alone
    ("googlenet_aux", lambda: M.googlenet(num_classes=10, aux_logits=True,
                                          init_weights=False).aux1, (512, 6, 5)),
    ("inception_aux", lambda: M.inception_v3(num_classes=10, aux_logits=True,
                                             init_weights=False).AuxLogits, (768, 17, 17)),
    ("vit", small_vit, (3, 32, 32)),
    # hidden_dim 768: print(model) alone (no num_heads, batch_first, image_size
    # in the file) runs with vit_b's 12 heads; the 4 heads lamina-export
    # writes win over that default
    ("vit_print", lambda: M.VisionTransformer(224, 32, 1, 12, 768, 64, num_classes=10),
     (3, 224, 224)),
    ("vit_heads", lambda: M.VisionTransformer(224, 32, 1, 4, 768, 64, num_classes=10),
     (3, 224, 224)),
    ("vit_b_16", lambda: M.vit_b_16(image_size=32, num_classes=10), (3, 32, 32)),
    # non-square, not a multiple of the window: padding and the shifted mask
    ("swin", small_swin, (3, 60, 44)),
    # print(model) alone: window 7, num_heads dim / 32 and the shifts by block
    # position, as torchvision's swin builders make them
    ("swin_print", lambda: tv_swin.SwinTransformer([4, 4], 64, [2, 2], [2, 4], [7, 7],
                                                   num_classes=10), (3, 64, 56)),
    ("swin_t", lambda: M.swin_t(num_classes=10), (3, 64, 64)),
    ("mixed_block", mixed_block, (3, 20, 12)),
    ("mixed_fc", mixed_fc, (3, 64, 48)),
]


# also run on the scalar kernel table (small enough for it)
SCALAR_TOO = {"squeezenet1_1", "shufflenet_v2", "mobilenet_v3_small", "convnext", "mixed_block",
              "vit", "swin"}


def randomise(model, g):
    """BatchNorm statistics and affine parameters, LayerNorm2d's and
    layer_scale, away from their initial values (which would hide a missing
    load or a wrong formula)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
                m.weight.copy_(1 + 0.2 * torch.randn(n, generator=g))
                m.bias.copy_(0.2 * torch.randn(n, generator=g))
            elif isinstance(m, nn.LayerNorm):
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))
            # ViT's head starts at zero (an all-zero output would compare equal)
            if isinstance(m, nn.Linear) and not m.weight.any():
                m.weight.copy_(0.2 * torch.randn(m.weight.shape, generator=g))
                if m.bias is not None:
                    m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))
            # the parameters ViT and Swin types declare themselves
            for p in ("class_token", "pos_embedding", "relative_position_bias_table"):
                if isinstance(getattr(m, p, None), nn.Parameter):
                    getattr(m, p).copy_(0.5 * torch.randn(getattr(m, p).shape, generator=g))
            if hasattr(m, "layer_scale") and isinstance(m.layer_scale, nn.Parameter):
                m.layer_scale.copy_(0.5 + 0.5 * torch.rand(m.layer_scale.shape, generator=g))


def write_npy(path, a):
    np.save(path, np.ascontiguousarray(a, dtype=np.float32))


def run_case(lamina, lx, name, make, chw, tmp):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    model = make()
    randomise(model, g)
    model.eval()
    out = os.path.join(tmp, name)
    lx.export(model, out, warn=False)
    if name.endswith("_print"):  # the printed form only
        with open(out + ".lam", "w") as f:
            f.write(repr(model) + "\n")
    x = torch.randn((3,) + tuple(chw), generator=g)
    with torch.no_grad():
        ref = model(x).numpy()
    worst = 0.0
    # batch 1 on the avx2 table (or below), batch 3 on the default (the
    # widest): both tables the machine has, without running twice; a few
    # small models on the scalar table too
    runs = [(1, "avx2"), (3, None)] + ([(1, "scalar")] if name in SCALAR_TOO else [])
    for batch, isa in runs:
        write_npy(out + ".in.npy", x[:batch].numpy())
        cmd = [lamina, "run", out + ".lam", "--weights", out + ".safetensors",
               "--input", out + ".in.npy", "--output", out + ".out.npy"]
        if name != "mixed_block":  # that one finds the plugin by the automatic type search
            cmd += ["--plugin", "torchvision"]
        if name == "mixed_fc":
            cmd += ["--plugin", "swish"]
        env = dict(os.environ)
        if isa:
            env["LAMINA_MAX_ISA"] = isa
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if p.returncode:
            return "lamina run (batch %d, %s table): %s" % (batch, isa or "default",
                                                            p.stderr.strip()[-1500:])
        y = np.load(out + ".out.npy")
        r = ref[:batch]
        if y.shape != r.shape:
            return "batch %d: shape %s, PyTorch's %s" % (batch, y.shape, r.shape)
        scale = float(np.abs(r).max())
        diff = float(np.abs(y - r).max())
        worst = max(worst, diff / scale if scale else diff)
        if not diff <= 1e-4 * scale:
            return "batch %d (%s table): max|diff| %.3g > 1e-4 * max|output| (%.3g)" % (
                batch, isa or "default", diff, scale)
        if (y.argmax(axis=1) != r.argmax(axis=1)).any():
            return "batch %d: argmax %s, PyTorch's %s" % (batch, y.argmax(axis=1),
                                                          r.argmax(axis=1))
    return worst


def cli_case(lamina, export_tool, tmp):
    """lamina-export given a torchvision constructor with keyword arguments,
    then `lamina run` without --plugin (the type search finds it)."""
    out = os.path.join(tmp, "cli")
    p = subprocess.run([sys.executable, export_tool, "squeezenet1_1(num_classes=10)", "--seed",
                        "5", "-o", out], capture_output=True, text=True)
    if p.returncode:
        return "lamina-export: " + p.stderr.strip()[-800:]
    torch.manual_seed(5)
    model = M.squeezenet1_1(num_classes=10).eval()
    x = torch.randn(2, 3, 64, 48, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = model(x).numpy()
    write_npy(out + ".in.npy", x.numpy())
    p = subprocess.run([lamina, "run", out + ".lam", "--weights", out + ".safetensors",
                        "--input", out + ".in.npy", "--output", out + ".out.npy"],
                       capture_output=True, text=True)
    if p.returncode:
        return "lamina run: " + p.stderr.strip()[-800:]
    y = np.load(out + ".out.npy")
    diff, scale = float(np.abs(y - ref).max()), float(np.abs(ref).max())
    if not diff <= 1e-4 * scale:
        return "max|diff| %.3g > 1e-4 * %.3g" % (diff, scale)
    return diff / scale


def main(argv):
    lamina, export_tool = argv[1], argv[2]
    want = set(argv[3:])
    lx = importlib.machinery.SourceFileLoader("lamina_export", export_tool).load_module()
    torch.set_num_threads(1)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="lamina-tv.") as tmp:
        for name, make, chw in CASES:
            if want and name not in want:
                continue
            t0 = time.time()
            r = run_case(lamina, lx, name, make, chw, tmp)
            if isinstance(r, str):
                failed += 1
                print("FAIL %-20s %s" % (name, r), flush=True)
            else:
                print("ok   %-20s input %s, batch 1 (avx2%s) and 3, max|diff|/max|y| %.2g (%.1f s)"
                      % (name, "x".join(map(str, chw)), ", scalar" if name in SCALAR_TOO else "",
                         r, time.time() - t0), flush=True)
        if not want or "export_cli" in want:
            r = cli_case(lamina, export_tool, tmp)
            if isinstance(r, str):
                failed += 1
                print("FAIL %-20s %s" % ("export_cli", r), flush=True)
            else:
                print("ok   %-20s lamina-export 'squeezenet1_1(num_classes=10)', max|diff|/max|y| "
                      "%.2g" % ("export_cli", r), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
