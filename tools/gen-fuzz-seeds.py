#!/usr/bin/env python3
"""Write the hand-made seeds of the fuzz corpora (no PyTorch, no numpy).

    python3 tools/gen-fuzz-seeds.py        # from the top of the tree

Seeds for fuzz/fuzz_npy (tests/io/corpus/npy), fuzz/fuzz_safetensors
(tests/io/corpus/safetensors) and fuzz/fuzz_model (tests/model/corpus): a few
valid files copied from the test fixtures, plus one malformed file for each
kind of error the parsers report, so that libFuzzer starts next to every
error path.  The seeds are small (libFuzzer's default -max_len follows the
largest one).  Files written earlier by hand or by other scripts stay as they
are; this script only (re)writes the files it names.
"""
import json
import os
import shutil
import struct

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NPY = os.path.join(TOP, "tests/io/corpus/npy")
ST = os.path.join(TOP, "tests/io/corpus/safetensors")
MODEL = os.path.join(TOP, "tests/model/corpus")


def write(d, name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def npy(header, data=b"", version=1, pad=True):
    """A .npy file with this header dict text (padded to 64 bytes like numpy)."""
    h = header.encode("latin-1")
    if pad:
        lenfield = 2 if version == 1 else 4
        total = 6 + 2 + lenfield + len(h) + 1
        h += b" " * (-total % 64) + b"\n"
    lenb = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([version, 0]) + lenb + h + data


def dict_(descr, shape, fo="False"):
    return "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fo, shape)


def safetensors(header, data=b""):
    h = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + data


def main():
    fx = os.path.join(TOP, "tests/io/fixtures")
    for name in ("be_f8.npy", "empty_f4.npy", "f2.npy", "five_d.npy", "four_d_f4.npy",
                 "v2_f4.npy", "v3_f4.npy"):
        shutil.copyfile(os.path.join(fx, name), os.path.join(NPY, name))
    for name in ("five_dims.safetensors", "unaligned.safetensors", "tied_save_model.safetensors"):
        shutil.copyfile(os.path.join(fx, name), os.path.join(ST, name))

    f4x6 = struct.pack("<6f", *range(6))
    bad_npy = {
        "bad_magic": b"\x93NUMPZ\x01\x00\x02\x00{}",
        "bad_version": b"\x93NUMPY\x04\x00\x02\x00{}",
        "bad_hlen_past_eof": b"\x93NUMPY\x01\x00\x76\x00{'descr'",
        "bad_v2_hlen_cut": b"\x93NUMPY\x02\x00\x10\x00",
        "bad_truncated_data": npy(dict_("<f4", "(2, 3)"), f4x6[:10]),
        "bad_trailing_data": npy(dict_("<f4", "(2, 3)"), f4x6 + b"\0\0\0\0"),
        "bad_missing_shape": npy("{'descr': '<f4', 'fortran_order': False}"),
        "bad_duplicate_key": npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
                                 b"\0" * 4),
        "bad_unknown_descr": npy(dict_("<c8", "(2,)"), b"\0" * 16),
        "bad_structured": npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}", b"\0" * 8),
        "bad_negative_dim": npy(dict_("<f4", "(-1, 3)")),
        "bad_huge_shape": npy(dict_("<f4", "(4294967296, 4294967296, 2)")),
        "bad_unterminated": npy("{'descr: 1}", pad=False),
        "fortran_3d": npy(dict_("<f4", "(1, 2, 3)", "True"), f4x6),
        "bad_fortran_value": npy(dict_("<f4", "(2,)", "1"), b"\0" * 8),
    }
    for name, data in bad_npy.items():
        write(NPY, name + ".npy", data)

    w = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    two = struct.pack("<2f", 1.5, -2.0)
    bad_st = {
        "bad_utf8": safetensors(b'{"w\xff":1}'),
        "bad_deep_nesting": safetensors(b'{"a":' + b"[" * 200 + b"]" * 200 + b"}"),
        "bad_duplicate_name": safetensors(b'{"w":' + json.dumps(w).encode() + b',"w":'
                                          + json.dumps(w).encode() + b"}", two),
        "bad_metadata": safetensors({"__metadata__": {"format": 1}, "w": w}, two),
        "metadata": safetensors({"__metadata__": {"format": "pt"}, "w": w}, two),
        "bad_dtype": safetensors({"w": dict(w, dtype="F17")}, two),
        "bad_shape_overflow": safetensors({"w": dict(w, shape=[4294967296, 4294967296, 2])}, two),
        "bad_offsets_reversed": safetensors({"w": dict(w, data_offsets=[8, 0])}, two),
        "bad_overlap": safetensors({"a": w, "b": dict(w, data_offsets=[4, 12])}, two + two[:4]),
        "bad_gap": safetensors({"a": w, "b": dict(w, data_offsets=[12, 20])}, two * 2 + two[:4]),
        "bad_past_eof": safetensors({"w": w}, two[:4]),
        "bad_nul_name": safetensors(b'{"a\\u0000b":' + json.dumps(w).encode() + b"}", two),
        "bad_bool": safetensors({"m": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}}, b"\1\0"),
        "f16_bf16_f64": safetensors({"h": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]},
                                     "b": {"dtype": "BF16", "shape": [2], "data_offsets": [4, 8]},
                                     "d": {"dtype": "F64", "shape": [1], "data_offsets": [8, 16]}},
                                    struct.pack("<2e", 1.0, -2.5) + b"\x80\x3f\x00\xc0"
                                    + struct.pack("<d", 3.25)),
        "scalar_and_empty": safetensors({"s": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]},
                                         "e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [4, 4]}},
                                        struct.pack("<f", 7.0)),
    }
    for name, data in bad_st.items():
        write(ST, name + ".safetensors", data)

    # model files: the small malformed fixtures, each next to one error path
    mal = os.path.join(TOP, "tests/model/malformed")
    for name in sorted(os.listdir(mal)):
        src = os.path.join(mal, name)
        if not name.endswith(".lam") or os.path.getsize(src) > 1024:
            continue
        dst = name if name.startswith("bad_") else "bad_" + name
        if not os.path.exists(os.path.join(MODEL, dst)):
            shutil.copyfile(src, os.path.join(MODEL, dst))


if __name__ == "__main__":
    main()
