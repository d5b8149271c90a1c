#!/usr/bin/python3
"""Independent reference for ds's LR schedules (engine/train/lr_schedules.cpp).

Written from the published definitions in DeepSpeed's scheduler documentation
(https://deepspeed.readthedocs.io/en/latest/schedulers.html) and Smith 2018
(arXiv:1803.09820), not from ds's code. Prints JSON: for each case, the DeepSpeed `scheduler`
section, the optimizer lr, and the lr (and Adam betas for OneCycle) at last_batch_iteration
-1 .. N-1, where -1 is the value before the first scheduler.step().

Usage: lr_reference.py  (no arguments; stdout is JSON)
"""
import json
import math


def warmup_fraction(kind, i, n):
    """Warm-up progress at iteration i of n (n already clamped to >= 2)."""
    if kind == "log":
        return math.log(i + 1) / math.log(n)
    return i / n


def warmup_lr(p, opt_lr, i):
    lo = p.get("warmup_min_lr", 0.0)
    hi = p.get("warmup_max_lr", opt_lr)
    n = max(2, p.get("warmup_num_steps", 1000))
    if i < 0:
        return lo
    g = warmup_fraction(p.get("warmup_type", "log"), i, n) if i < n else 1.0
    return lo + (hi - lo) * g


def warmup_decay_lr(p, opt_lr, i):
    lo = p.get("warmup_min_lr", 0.0)
    hi = p.get("warmup_max_lr", 0.001)
    n = max(2, p.get("warmup_num_steps", 1000))
    total = p["total_num_steps"]
    if i < 0:
        return lo
    if i < n:
        g = warmup_fraction(p.get("warmup_type", "log"), i, n)
    else:
        # linear decay from the peak at the end of warm-up to 0 at total_num_steps
        g = max(0.0, (total - i) / max(1.0, total - n))
    return lo + (hi - lo) * g


def warmup_cosine_lr(p, opt_lr, i):
    n = max(2, p.get("warmup_num_steps", 1000))
    total = p["total_num_steps"]
    lo_ratio = p.get("warmup_min_ratio", 0.0)
    end_ratio = p.get("cos_min_ratio", 0.0001)
    if i < 0:
        return 0.0
    if i < n:
        r = warmup_fraction(p.get("warmup_type", "log"), i, n)
        return opt_lr * (lo_ratio + (1.0 - lo_ratio) * r)
    progress = min(1.0, (i - n + 1) / max(1, total - n))
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return opt_lr * max(0.0, end_ratio + (1.0 - end_ratio) * cosine)


def lr_range_test_lr(p, opt_lr, i):
    lo = p.get("lr_range_test_min_lr", 0.001)
    size = p.get("lr_range_test_step_size", 2000)
    rate = p.get("lr_range_test_step_rate", 1.0)
    intervals = (i + 1) / size
    if p.get("lr_range_test_staircase", False):
        intervals = math.floor(intervals)
    return lo * (1.0 + rate * intervals)


def one_cycle_position(p, i):
    """Triangle height in [0, 1] at batch number i + 1, with optional stairs."""
    up = p.get("cycle_first_step_size", 2000)
    down = p.get("cycle_second_step_size") or up
    stairs_up = p.get("cycle_first_stair_count", 0)
    stairs_down = p.get("cycle_second_stair_count")
    if stairs_down is None:
        stairs_down = stairs_up
    b = (i + 1) % (up + down)
    if b <= up:
        h, stairs, pos = b / up, stairs_up, b * stairs_up / up if stairs_up > 0 else 0
    else:
        h, stairs, pos = (up + down - b) / down, stairs_down, (up + down - b) * stairs_down / down if stairs_down > 0 else 0
    if stairs > 0:
        h = math.floor(pos) / stairs
    return h


def one_cycle(p, opt_lr, i):
    lo, hi = p["cycle_min_lr"], p["cycle_max_lr"]
    up = p.get("cycle_first_step_size", 2000)
    down = p.get("cycle_second_step_size") or up
    mom_lo, mom_hi = p.get("cycle_min_mom", 0.8), p.get("cycle_max_mom", 0.9)
    decay_size = p.get("decay_step_size", 0)
    if i < up + down:
        h = one_cycle_position(p, i)
        lr, mom = lo + (hi - lo) * h, mom_hi - (mom_hi - mom_lo) * h
    else:
        t = i - (up + down) + 1  # steps into the decay phase
        lr_rate, mom_rate = p.get("decay_lr_rate", 0.0), p.get("decay_mom_rate", 0.0)
        lr = lo if decay_size == 0 or lr_rate == 0 else lo / (1.0 + lr_rate * t / decay_size)
        mom = mom_hi if decay_size == 0 or mom_rate == 0 else mom_hi * (1.0 + mom_rate * t / decay_size)
    if i < 0:
        mom = mom_lo
    betas = [mom, 0.99] if p.get("cycle_momentum", True) else None
    return lr, betas


CASES = [
    ("WarmupLR", {"warmup_min_lr": 0.0, "warmup_max_lr": 0.01, "warmup_num_steps": 10}, 0.5, 15),
    ("WarmupLR", {"warmup_min_lr": 1e-4, "warmup_max_lr": 3e-3, "warmup_num_steps": 7,
                  "warmup_type": "linear"}, 0.5, 12),
    ("WarmupLR", {"warmup_num_steps": 1}, 0.02, 4),  # max lr from the optimizer, 1 step acts as 2
    ("WarmupDecayLR", {"total_num_steps": 30, "warmup_min_lr": 0.0, "warmup_max_lr": 0.01,
                       "warmup_num_steps": 10}, 0.5, 35),
    ("WarmupDecayLR", {"total_num_steps": 20, "warmup_num_steps": 5, "warmup_type": "linear"}, 0.5, 24),
    ("WarmupCosineLR", {"total_num_steps": 40, "warmup_num_steps": 8, "warmup_min_ratio": 0.1,
                        "cos_min_ratio": 0.05}, 3e-4, 45),
    ("WarmupCosineLR", {"total_num_steps": 25, "warmup_num_steps": 5, "warmup_type": "linear"}, 0.1, 30),
    ("LRRangeTest", {"lr_range_test_min_lr": 1e-4, "lr_range_test_step_size": 5,
                     "lr_range_test_step_rate": 2.0}, 0.1, 20),
    ("LRRangeTest", {"lr_range_test_min_lr": 1e-3, "lr_range_test_step_size": 4,
                     "lr_range_test_step_rate": 0.5, "lr_range_test_staircase": True}, 0.1, 20),
    ("OneCycle", {"cycle_min_lr": 1e-4, "cycle_max_lr": 1e-3, "cycle_first_step_size": 6}, 0.1, 16),
    ("OneCycle", {"cycle_min_lr": 0.01, "cycle_max_lr": 0.1, "cycle_first_step_size": 4,
                  "cycle_second_step_size": 8, "decay_step_size": 3, "decay_lr_rate": 0.5,
                  "decay_mom_rate": 0.1, "cycle_min_mom": 0.85, "cycle_max_mom": 0.95}, 0.1, 24),
    ("OneCycle", {"cycle_min_lr": 0.0, "cycle_max_lr": 1.0, "cycle_first_step_size": 6,
                  "cycle_second_step_size": 9, "cycle_first_stair_count": 3, "cycle_second_stair_count": 3,
                  "cycle_momentum": False}, 0.1, 18),
]

FUNCS = {"WarmupLR": warmup_lr, "WarmupDecayLR": warmup_decay_lr, "WarmupCosineLR": warmup_cosine_lr,
         "LRRangeTest": lr_range_test_lr}


def main():
    out = []
    for kind, params, opt_lr, n in CASES:
        lrs, betas = [], []
        for i in range(-1, n):
            if kind == "OneCycle":
                lr, b = one_cycle(params, opt_lr, i)
                betas.append(b)
            else:
                lr = FUNCS[kind](params, opt_lr, i)
            lrs.append(lr)
        case = {"section": {"type": kind, "params": params}, "optimizer_lr": opt_lr, "lrs": lrs}
        if kind == "OneCycle":
            case["betas"] = betas
        out.append(case)
    print(json.dumps({"cases": out}))


if __name__ == "__main__":
    main()
