#!/usr/bin/python3
"""torch.optim.AdamW from Python (Debian's torch 1.13) on one flat fp32 tensor, the same step as
adam_vs_torch_bench.cpp's rows (lr 1e-3, wd 0.01, grad already in place), single-tensor and
foreach paths: what a DeepSpeed user's PyTorch step costs, for docs/performance.md "CPU Adam".

Usage: adam_torch_python_bench.py THREADS [REPEATS]
Prints one line per size and path: the median and best step time of REPEATS (default 5) after
two warm-up steps.
"""
import statistics
import sys
import time

import torch


def main():
    threads = int(sys.argv[1])
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    torch.set_num_threads(threads)
    for n in (1 << 20, 10 << 20, 100 << 20):
        for foreach in (False, True):
            p = torch.full((n,), 0.5, requires_grad=True)
            p.grad = torch.full((n,), 1e-3)
            opt = torch.optim.AdamW([p], lr=1e-3, weight_decay=0.01, foreach=foreach)
            for _ in range(2):
                opt.step()
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                opt.step()
                times.append(time.perf_counter() - start)
            med, best = statistics.median(times), min(times)
            print(f"torch {torch.__version__} threads={threads} n={n >> 20}M foreach={foreach}: "
                  f"median {med * 1e3:.1f} ms, best {best * 1e3:.1f} ms, best {n / best / 1e6:.0f}M params/s")
            del opt, p


if __name__ == "__main__":
    main()
