#!/usr/bin/python3
"""An independent safetensors writer and checker for ds's reader/writer (engine/io/safetensors.cpp).

Uses only the standard library (struct + json), following the format description in
https://github.com/huggingface/safetensors (README, "Format"): 8-byte little-endian header
length, a JSON header, then the data.

  safetensors_reference.py write DIR   writes DIR/reference.safetensors (tensors of every dtype,
                                       data deliberately not in name order, one tensor at an
                                       offset that is not aligned for its dtype) and
                                       DIR/reference.json with the expected values
  safetensors_reference.py check FILE  reads a file written by ds and prints its tensors as JSON
                                       after checking the header rules HF's writer follows
"""
import json
import struct
import sys


def bf16_bytes(values):
    # bf16 is the top half of an fp32; the values below are exact in bf16.
    return b"".join(struct.pack("<I", struct.unpack("<I", struct.pack("<f", v))[0])[2:] for v in values)


# name -> (dtype, shape, values, struct format per element or None for bf16)
TENSORS = [
    ("z.odd_bytes", "U8", [3], [1, 2, 255], "B"),  # 3 bytes: whatever follows is misaligned
    ("a.f32", "F32", [2, 3], [0.5, -1.25, 3.0, 1e-3, 2.5e10, -0.0], "f"),
    ("m.f16", "F16", [4], [1.0, -2.5, 0.099975586, 65504.0], "e"),
    ("b.bf16", "BF16", [2, 2], [1.5, -2.0, 0.15625, 256.0], None),
    ("c.f64", "F64", [2], [3.141592653589793, -1e-300], "d"),
    ("d.i64", "I64", [3], [-(2 ** 62), 0, 7], "q"),
    ("e.i32", "I32", [2], [-5, 2 ** 31 - 1], "i"),
    ("f.i16", "I16", [1, 2], [-32768, 123], "h"),
    ("g.i8", "I8", [2], [-128, 127], "b"),
    ("h.bool", "BOOL", [3], [True, False, True], "?"),
    ("s.scalar", "F32", [], [42.0], "f"),
    ("y.empty", "F32", [0, 4], [], "f"),
]


def write(out_dir):
    header, blobs, offset, expected = {}, [], 0, {}
    for name, dtype, shape, values, fmt in TENSORS:
        data = bf16_bytes(values) if fmt is None else struct.pack("<" + fmt * len(values), *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
        # the values as stored (struct rounds f32/f16), so the reader can be checked exactly
        stored = values if fmt is None else struct.unpack("<" + fmt * len(values), data)
        expected[name] = {"dtype": dtype, "shape": shape, "values": [float(v) for v in stored]}
    header["__metadata__"] = {"format": "pt", "source": "python"}
    text = json.dumps(header).encode()
    with open(out_dir + "/reference.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    with open(out_dir + "/reference.json", "w") as f:
        json.dump(expected, f)


FORMATS = {"F64": "d", "F32": "f", "F16": "e", "I64": "q", "I32": "i", "I16": "h", "I8": "b", "U8": "B",
           "BOOL": "?"}
SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def check(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    problems = []
    if (8 + n) % 8 != 0:
        problems.append("data does not start 8-byte aligned")
    text = raw[8:8 + n].decode()
    if not text.rstrip(" ").endswith("}"):
        problems.append("the header is padded with something other than spaces")
    header = json.loads(text)
    keys = list(header.keys())
    if keys != sorted(keys):
        problems.append("header keys are not sorted")
    data = raw[8 + n:]
    out, spans = {}, []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        spans.append((begin, end))
        count = 1
        for d in info["shape"]:
            count *= d
        if end - begin != count * SIZES[info["dtype"]]:
            problems.append(name + ": size mismatch")
        if (8 + n + begin) % SIZES[info["dtype"]] != 0:
            problems.append(name + ": not aligned for its dtype")
        chunk = data[begin:end]
        if info["dtype"] == "BF16":
            values = [struct.unpack("<f", b"\0\0" + chunk[i:i + 2])[0] for i in range(0, len(chunk), 2)]
        else:
            values = list(struct.unpack("<" + FORMATS[info["dtype"]] * count, chunk))
        out[name] = {"dtype": info["dtype"], "shape": info["shape"], "values": [float(v) for v in values]}
    spans.sort()
    pos = 0
    for begin, end in spans:
        if begin != pos:
            problems.append("data is not contiguous")
        pos = end
    if pos != len(data):
        problems.append("trailing bytes")
    print(json.dumps({"problems": problems, "metadata": header.get("__metadata__", {}), "tensors": out}))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        sys.exit(__doc__)
    write(sys.argv[2]) if sys.argv[1] == "write" else check(sys.argv[2])
