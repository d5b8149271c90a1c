#!/usr/bin/python3
"""Greedy continuation of a Llama or GPT-2 model with the independent float64 forward of
tests/engine/reference/model_reference.py (not ds's code), for tests/infer/reference_test.cpp.

Usage: greedy_reference.py WEIGHTS.safetensors CONFIG.json N ID [ID ...]
  CONFIG.json: {"family": "llama"|"gpt2", "config": {...model_reference.py's config...}}
Prints the N generated token ids, space-separated, each the argmax of the last position's logits
of a full forward over prompt + what was generated so far.
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine", "reference"))
import model_reference  # noqa: E402  (exits 77 without torch)
import torch  # noqa: E402


def read_safetensors(path):
    """The format, read by hand (no safetensors package): u64 header length, JSON header, data."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] != "F64":
            raise SystemExit(f"{name}: dtype {e['dtype']}, expected F64")
        begin, end = e["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float64).reshape(e["shape"]).clone()
    return out


def main():
    weights, config_path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ids = [int(x) for x in sys.argv[4:]]
    with open(config_path) as f:
        man = json.load(f)
    w = read_safetensors(weights)
    forward = model_reference.gpt2_forward if man["family"] == "gpt2" else model_reference.llama_forward
    out = []
    with torch.no_grad():
        for _ in range(n):
            t = torch.tensor([ids], dtype=torch.int64)
            pos = torch.arange(len(ids)).expand(t.shape)
            nxt = int(forward(man["config"], w, t, pos)[0, -1].argmax())
            out.append(nxt)
            ids.append(nxt)
    print(" ".join(str(i) for i in out))


if __name__ == "__main__":
    main()
