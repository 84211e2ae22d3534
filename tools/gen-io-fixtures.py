#!/usr/bin/env python3
"""Fixtures for lamina's safetensors and .npy tests (tests/io/).

    /usr/bin/python3 tools/gen-io-fixtures.py            # rewrite tests/io/fixtures and tests/io/corpus
    /usr/bin/python3 tools/gen-io-fixtures.py --verify-saved DIR
                      # check DIR/saved.safetensors and DIR/saved.npy (written by
                      # tests/io/save-sample) with PyTorch and numpy

Needs PyTorch and numpy (Debian: python3-torch, python3-numpy).  The
`safetensors` package is not used: write_safetensors() below implements the
format as the Rust writer does (tensors sorted by dtype alignment, then name;
compact JSON; header padded with spaces to a multiple of 8), and
read_safetensors() is a strict reader for the verification step.  The outputs
are committed, so the C tests never need Python.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "tests", "io", "fixtures")
CORPUS = os.path.join(ROOT, "tests", "io", "corpus")

# dtype name -> (size in bytes, torch dtype); alignment order as in tensor.rs
ST_DTYPES = {
    "BOOL": (1, torch.bool), "U8": (1, torch.uint8), "I8": (1, torch.int8),
    "I16": (2, torch.int16), "F16": (2, torch.float16), "BF16": (2, torch.bfloat16),
    "I32": (4, torch.int32), "F32": (4, torch.float32),
    "F64": (8, torch.float64), "I64": (8, torch.int64),
}
TORCH_TO_ST = {v[1]: k for k, v in ST_DTYPES.items()}


def tensor_bytes(t):
    """Raw little-endian bytes of a contiguous tensor (any dtype, incl. bf16)."""
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    if t.dtype == torch.bool:
        return t.numpy().astype(np.uint8).tobytes()
    a = t.numpy()
    return a.astype(a.dtype.newbyteorder("<")).tobytes()


def serialize_safetensors(tensors, metadata=None, pad=True):
    """tensors: name -> torch.Tensor.  Returns the file bytes."""
    names = sorted(tensors, key=lambda k: (-ST_DTYPES[TORCH_TO_ST[tensors[k].dtype]][0], k))
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    data, off = [], 0
    for k in names:
        b = tensor_bytes(tensors[k])
        header[k] = {"dtype": TORCH_TO_ST[tensors[k].dtype], "shape": list(tensors[k].shape),
                     "data_offsets": [off, off + len(b)]}
        data.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(data)


def raw_safetensors(header_obj, data, header_pad_to=None):
    """A file from an explicit header (for unusual but valid layouts)."""
    h = json.dumps(header_obj, separators=(",", ":")).encode()
    if header_pad_to is not None:
        while (8 + len(h)) % 4 != header_pad_to:
            h += b" "
    return struct.pack("<Q", len(h)) + h + data


def read_safetensors(path):
    """Strict reader: name -> torch.Tensor, plus the metadata."""
    buf = open(path, "rb").read()
    assert len(buf) >= 8, "file too small"
    n = struct.unpack("<Q", buf[:8])[0]
    assert n <= 100_000_000 and 8 + n <= len(buf), "bad header length"
    assert n % 8 == 0, "header not padded to 8"

    def no_dups(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), "duplicate keys"
        return dict(pairs)

    header = json.loads(buf[8:8 + n].decode("utf-8"), object_pairs_hook=no_dups)
    meta = header.pop("__metadata__", None)
    data = buf[8 + n:]
    out, end = {}, 0
    for k, v in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        assert set(v) == {"dtype", "shape", "data_offsets"}, k
        b, e = v["data_offsets"]
        assert b == end, "tensors not contiguous at " + k
        size, dt = ST_DTYPES[v["dtype"]]
        assert e - b == size * int(np.prod(v["shape"], dtype=np.int64)), k
        raw = bytearray(data[b:e])
        t = torch.frombuffer(raw, dtype=dt) if raw else torch.empty(0, dtype=dt)
        out[k] = t.reshape(v["shape"]).clone()
        end = e
    assert end == len(data), "trailing bytes"
    return out, meta


def pattern(n, dtype=torch.float32):
    """value[i] = i * 0.25 - 3: exact in F16, BF16, F32 and F64."""
    return (torch.arange(n, dtype=torch.float64) * 0.25 - 3).to(dtype)


def put(name, blob, *dirs):
    for d in dirs or (FIX,):
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), "wb") as f:
            f.write(blob)


def gen_safetensors():
    seeds = os.path.join(CORPUS, "safetensors")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    put("model.safetensors", serialize_safetensors(sd, {"format": "pt"}), FIX, seeds)
    for k, v in sd.items():  # the same values through numpy, for cross-checks
        np.save(os.path.join(FIX, "model_%s.npy" % k), v.numpy())

    pat = {
        "a": pattern(6).reshape(2, 3),
        "b": pattern(4, torch.float16),
        "c": pattern(8, torch.bfloat16).reshape(2, 2, 2),
        "d": pattern(3, torch.float64).reshape(3, 1),
        "e": torch.tensor(42.0),                 # 0-dim scalar
        "f": torch.zeros(2, 0),                  # empty
        "g": pattern(4).reshape(1, 2, 1, 2),     # 4 dims
    }
    put("pattern.safetensors", serialize_safetensors(pat, {"format": "pt"}), FIX, seeds)

    # F16: every subnormal, zero, inf and NaN pattern plus a stride through the rest
    h = [x for x in range(65536) if (x & 0x7C00) in (0, 0x7C00) or x % 7 == 0]
    h16 = torch.tensor(np.array(h, dtype=np.uint16).view(np.int16)).view(torch.float16)
    f16_exp = np.array(h, dtype=np.uint16).view(np.float16).astype(np.float32)
    # BF16: the same bit patterns reinterpreted as bfloat16
    bf = h16.view(torch.bfloat16)
    bf_exp = bf.float()
    f64 = torch.tensor([0.0, -0.0, 0.1, 1.0 / 3, 1e300, -1e300, 1e-50, 1.5e-45, 3.4028235677973366e38,
                        3.4028235e38 * 1.0000001, float("inf"), float("-inf"), float("nan"),
                        16777217.0, 2.0 ** -149, 2.0 ** -150, 2.0 ** -150 * 1.5], dtype=torch.float64)
    with np.errstate(over="ignore"):
        f64_exp = f64.numpy().astype(np.float32)
    spec = {"f16": h16, "f16_expected": torch.tensor(f16_exp), "bf16": bf, "bf16_expected": bf_exp,
            "f64": f64, "f64_expected": torch.tensor(f64_exp)}
    put("specials.safetensors", serialize_safetensors(spec, {"format": "pt"}))

    # save_model() with tied weights: keeps the first name in sorted order,
    # drops the others and records {"removed": "kept"} in __metadata__.
    class Tied(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = torch.nn.Linear(3, 3, bias=False)
            self.decoder = torch.nn.Linear(3, 3, bias=False)
            self.decoder.weight = self.encoder.weight
    torch.manual_seed(1)
    tied = Tied()
    tsd = {k: v.detach() for k, v in tied.state_dict().items()}
    meta = {}
    names = sorted(tsd)
    keep = names[0]
    for k in names[1:]:
        meta[k] = keep
        del tsd[k]
    put("tied_save_model.safetensors", serialize_safetensors(tsd, meta))

    # F32 data at an address that is 2 mod 4 in the file: must be copied
    x = pattern(3)
    put("unaligned.safetensors",
        raw_safetensors({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}},
                        tensor_bytes(x), header_pad_to=2))
    # header order differs from offset order; no metadata
    put("order.safetensors", raw_safetensors(
        {"z": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]},
         "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
        tensor_bytes(pattern(4))), FIX, seeds)
    # an I64 count as PyTorch's BatchNorm state_dict holds it: loads (as an
    # integer tensor; the name is from before lamina read integer buffers)
    put("unsupported_i64.safetensors", serialize_safetensors(
        {"bn.num_batches_tracked": torch.tensor(7, dtype=torch.int64), "bn.weight": pattern(2)},
        {"format": "pt"}), FIX, seeds)
    # valid safetensors that lamina cannot hold
    put("unsupported_u8.safetensors", serialize_safetensors(
        {"mask": torch.tensor([1, 0, 1], dtype=torch.uint8), "w": pattern(2)}), FIX)
    put("five_dims.safetensors", serialize_safetensors({"w": pattern(2).reshape(1, 1, 1, 1, 2)}))
    put("empty_dict.safetensors", serialize_safetensors({}, {"format": "pt"}), FIX, seeds)
    # what lamina's writer must produce byte for byte (see test_io_safetensors.c)
    put("expected_save.safetensors", serialize_safetensors(
        {"0.weight": pattern(12).reshape(4, 3), "0.bias": pattern(4), "2.weight": pattern(8).reshape(2, 4),
         "2.bias": pattern(2)}, {"format": "pt"}))

    # a few malformed seeds so the fuzzer starts near the interesting paths
    good = serialize_safetensors({"w": pattern(2)}, {"format": "pt"})
    put("bad_trailing.safetensors", good + b"\0", seeds)
    put("bad_truncated.safetensors", good[:-1], seeds)
    put("bad_hlen.safetensors", struct.pack("<Q", 1 << 40) + good[8:], seeds)
    put("bad_json.safetensors", raw_safetensors({"w": {"dtype": "F32", "shape": [2]}}, b"\0" * 8), seeds)
    put("bad_escape.safetensors", struct.pack("<Q", 16) + b'{"\\ud800x":1}   ', seeds)


def gen_npy():
    seeds = os.path.join(CORPUS, "npy")

    def save(name, arr, *dirs, **kw):
        for d in dirs or (FIX,):
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, name), "wb") as f:
                if kw:
                    np.lib.format.write_array(f, arr, **kw)
                else:
                    np.save(f, arr)

    pat = lambda n, dt="<f4": (np.arange(n, dtype=np.float64) * 0.25 - 3).astype(dt)
    save("arange_2x3_f4.npy", pat(6).reshape(2, 3), FIX, seeds)
    save("vec5_f4.npy", pat(5), FIX, seeds)
    save("scalar_f4.npy", np.array(42.0, dtype="<f4"), FIX, seeds)
    save("four_d_f4.npy", pat(12).reshape(1, 2, 3, 2))
    save("empty_f4.npy", np.zeros((3, 0), dtype="<f4"))
    save("f8_2x3.npy", np.array([[0.1, 1 / 3, 1e300], [-1e-50, -0.0, 16777217.0]], dtype="<f8"), FIX, seeds)
    save("be_f4.npy", pat(6, ">f4").reshape(3, 2), FIX, seeds)
    save("be_f8.npy", pat(4, ">f8"))
    save("v2_f4.npy", pat(6).reshape(2, 3), version=(2, 0))
    save("v3_f4.npy", pat(6).reshape(2, 3), version=(3, 0))
    save("fortran_2x3.npy", np.asfortranarray(pat(6).reshape(2, 3)), FIX, seeds)
    save("int64.npy", np.arange(4, dtype="<i8"), FIX, seeds)
    save("f2.npy", pat(4, "<f2"))
    save("five_d.npy", pat(2).reshape(1, 1, 1, 1, 2))


def verify_saved(d):
    """Load what tests/io/save-sample wrote, in PyTorch and numpy."""
    sd, meta = read_safetensors(os.path.join(d, "saved.safetensors"))
    assert meta == {"format": "pt"}, meta
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    model.load_state_dict(sd, strict=True)
    for k, n in (("0.weight", 12), ("0.bias", 4), ("2.weight", 8), ("2.bias", 2)):
        got = model.state_dict()[k].flatten()
        assert torch.equal(got, pattern(n)), (k, got)
    y = model(torch.ones(1, 3))
    assert y.shape == (1, 2)
    a = np.load(os.path.join(d, "saved.npy"))
    assert a.dtype == np.dtype("<f4") and a.shape == (2, 3) and np.array_equal(a.ravel(), pattern(6).numpy()), a
    print("PyTorch %s and numpy %s read lamina's files: OK" % (torch.__version__, np.__version__))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--verify-saved":
        verify_saved(sys.argv[2])
    elif len(sys.argv) == 1:
        gen_safetensors()
        gen_npy()
        print("wrote", FIX, "and", CORPUS)
    else:
        sys.exit(__doc__)
