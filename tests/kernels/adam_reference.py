#!/usr/bin/python3
"""Runs torch.optim.Adam or AdamW over given gradients, for tests/kernels/adam_torch_test.cpp.

Usage: adam_reference.py IN.bin OUT.bin N STEPS LR BETA1 BETA2 EPS WEIGHT_DECAY ADAMW(0|1)
  IN.bin:  float32 little-endian, N initial params then STEPS x N gradients
  OUT.bin: float32, N params, N exp_avg, N exp_avg_sq after the last step
Exits 77 (skip) when torch cannot be imported.
"""
import sys

try:
    import torch
except ImportError as e:
    print(f"torch is not importable: {e}")
    sys.exit(77)


def main():
    src, dst, n, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    lr, beta1, beta2, eps, wd = (float(x) for x in sys.argv[5:10])
    adamw = sys.argv[10] == "1"
    with open(src, "rb") as f:
        data = torch.frombuffer(bytearray(f.read()), dtype=torch.float32)
    assert data.numel() == n * (steps + 1), "IN.bin holds the wrong number of floats"
    param = data[:n].clone().requires_grad_(True)
    grads = data[n:].view(steps, n)
    cls = torch.optim.AdamW if adamw else torch.optim.Adam
    # foreach=False: the single-tensor path, whose formulas ds's kernel follows.
    opt = cls([param], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=wd, foreach=False)
    for s in range(steps):
        param.grad = grads[s].clone()
        opt.step()
    state = opt.state[param]
    out = torch.cat([param.detach(), state["exp_avg"], state["exp_avg_sq"]])
    with open(dst, "wb") as f:
        f.write(out.numpy().tobytes())


if __name__ == "__main__":
    main()
