#!/usr/bin/python3
"""Reference trajectories from PyTorch's own optimizers for ds's flat optimizer
(engine/train/optimizer.cpp) and its gradient clipping.

For each case: random parameters (several shapes) and per-step random gradients, then
torch.optim.{Adam,AdamW,SGD} run for a few steps with a per-step learning rate, with
torch.nn.utils.clip_grad_norm_ before each step when max_norm > 0. Prints JSON with the
initial parameters, every step's gradients (before clipping), the norms clip_grad_norm_
returned, and the final parameters, all as float lists (float32 values, exact in JSON).

Usage: train_optim_reference.py   (stdout: JSON; exit 77 when torch is missing)
"""
import json
import sys

try:
    import torch
except ImportError:
    print("python3-torch is not installed")
    sys.exit(77)

SHAPES = [[7, 5], [5], [3, 2, 4], [1]]
STEPS = 6

CASES = [
    {"rule": "AdamW", "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.1, "max_norm": 0.0},
    {"rule": "AdamW", "betas": [0.8, 0.95], "eps": 1e-6, "weight_decay": 0.0, "max_norm": 1.0},
    {"rule": "Adam", "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.05, "max_norm": 0.0},
    {"rule": "Adam", "betas": [0.85, 0.99], "eps": 1e-7, "weight_decay": 0.0, "max_norm": 0.5},
    {"rule": "SGD", "momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0, "max_norm": 0.0},
    {"rule": "SGD", "momentum": 0.9, "dampening": 0.1, "nesterov": False, "weight_decay": 0.01, "max_norm": 2.0},
    {"rule": "SGD", "momentum": 0.9, "dampening": 0.0, "nesterov": True, "weight_decay": 0.0, "max_norm": 0.0},
]


def make_optimizer(case, params):
    if case["rule"] == "SGD":
        return torch.optim.SGD(params, lr=0.1, momentum=case["momentum"], dampening=case["dampening"],
                               nesterov=case["nesterov"], weight_decay=case["weight_decay"], foreach=False)
    cls = torch.optim.AdamW if case["rule"] == "AdamW" else torch.optim.Adam
    return cls(params, lr=0.1, betas=tuple(case["betas"]), eps=case["eps"], weight_decay=case["weight_decay"],
               foreach=False)


def flat(tensors):
    return [float(x) for t in tensors for x in t.detach().reshape(-1).tolist()]


def run(case, seed):
    gen = torch.Generator().manual_seed(seed)
    params = [torch.randn(s, generator=gen, dtype=torch.float32).requires_grad_() for s in SHAPES]
    initial = flat(params)
    opt = make_optimizer(case, params)
    lrs = [0.01 * (1 + k) / STEPS for k in range(STEPS)]  # a rising lr, like a warm-up
    grads, norms = [], []
    for k in range(STEPS):
        gs = [torch.randn(s, generator=gen, dtype=torch.float32) * (3.0 if k == 2 else 1.0) for s in SHAPES]
        grads.append(flat(gs))
        for p, g in zip(params, gs):
            p.grad = g.clone()
        if case["max_norm"] > 0:
            norms.append(float(torch.nn.utils.clip_grad_norm_(params, case["max_norm"])))
        for group in opt.param_groups:
            group["lr"] = lrs[k]
        opt.step()
    out = dict(case)
    out.update({"shapes": SHAPES, "lrs": lrs, "initial": initial, "grads": grads, "norms": norms,
                "final": flat(params)})
    return out


def main():
    print(json.dumps({"torch": torch.__version__, "cases": [run(c, 1234 + i) for i, c in enumerate(CASES)]}))


if __name__ == "__main__":
    main()
