#!/usr/bin/env python3
"""Writes the seed corpus of tests/fuzz/safetensors_seeds: a few small valid safetensors files and
one of each kind of malformed file the reader refuses. Rerun after changing it and commit the seeds."""
import json
import os
import struct

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "safetensors_seeds")


def raw(name, header_text, data=b"", length=None):
    body = header_text.encode()
    n = len(body) if length is None else length
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(struct.pack("<Q", n) + body + data)


def valid(name, tensors, metadata=None):
    """tensors: [(name, dtype, shape, element bytes)], laid out in order."""
    header, offset = {}, 0
    for tname, dtype, shape, elem in tensors:
        numel = 1
        for d in shape:
            numel *= d
        header[tname] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + numel * elem]}
        offset += numel * elem
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - len(text) % 8) % 8)
    raw(name, text, bytes(range(256)) * (offset // 256) + bytes(range(offset % 256)))


def main():
    os.makedirs(HERE, exist_ok=True)
    valid("valid_f32.safetensors", [("w", "F32", [2, 3], 4)], {"format": "pt"})
    valid("valid_every_dtype.safetensors",
          [("a", "F64", [1], 8), ("b", "I64", [2], 8), ("c", "F32", [1, 1], 4), ("d", "I32", [1], 4),
           ("e", "BF16", [3], 2), ("f", "F16", [1], 2), ("g", "I16", [1], 2), ("h", "I8", [2], 1),
           ("i", "U8", [1], 1), ("j", "BOOL", [2], 1), ("scalar", "F32", [], 4), ("empty", "F32", [0, 3], 4)])
    valid("valid_empty.safetensors", [])
    with open(os.path.join(HERE, "bad_tiny.safetensors"), "wb") as f:
        f.write(b"12345")
    raw("bad_header_length.safetensors", "{}", length=200000000)
    raw("bad_truncated.safetensors", "{}", b"\x01" * 10, length=100)
    raw("bad_not_object.safetensors", "[1, 2]")
    raw("bad_json.safetensors", '{"w": ')
    w = '"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}'
    raw("bad_duplicate.safetensors", "{" + w + ", " + w + "}", b"\x01" * 8)
    raw("bad_dtype.safetensors", '{"w": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}', b"\x01")
    raw("bad_size.safetensors", '{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 12]}}', b"\x01" * 12)
    raw("bad_overflow.safetensors",
        '{"w": {"dtype": "F64", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}}')
    raw("bad_overlap.safetensors",
        '{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},'
        ' "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}', b"\x01" * 12)
    raw("bad_gap.safetensors",
        '{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},'
        ' "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}', b"\x01" * 12)
    raw("bad_metadata.safetensors", '{"__metadata__": {"format": 1}}')


if __name__ == "__main__":
    main()
