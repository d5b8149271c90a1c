#!/usr/bin/python3
"""Turns a Google Benchmark JSON of the Adam benchmarks (adam_bench.cpp, adam_vs_torch_bench.cpp)
into the markdown table of docs/performance.md, "CPU Adam".

Usage: adam_bench_table.py RUN.json
Run with --benchmark_repetitions=N --benchmark_enable_random_interleaving=true. On a shared
machine a repetition is slowed whenever another process takes a core, so the table shows the best
repetition (STREAM's convention) beside the median, and each row's fraction of triad bandwidth
both ways: best GB/s over the triad's best, median over the triad's median, same run (bytes:
adam_bench_support.hpp).
"""
import json
import statistics
import sys
from collections import defaultdict


def main():
    with open(sys.argv[1]) as f:
        run = json.load(f)
    reps = defaultdict(list)
    labels = {}
    for b in run["benchmarks"]:
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        reps[b["run_name"]].append(b)
        labels[b["run_name"]] = b.get("label", "")
    def gbps(bs):
        rates = [b["bytes_per_second"] / 1e9 for b in bs]
        return max(rates), statistics.median(rates)

    triad_best, triad_median = gbps([b for name, bs in reps.items() if name.startswith("StreamTriad") for b in bs])
    print("| row | params | best ms | median ms | best params/s | GB/s best / median | of triad best / median |")
    print("|---|---|---|---|---|---|---|")
    print(f"| STREAM triad (24 B/elem, 3 x 256 MiB) | | | | | {triad_best:.1f} / {triad_median:.1f} | 1 / 1 |")
    order = sorted((name for name in reps if not name.startswith("StreamTriad")),
                   key=lambda s: (int(s.split("n:")[1].split("/")[0]), s))
    for name in order:
        bs = reps[name]
        n = int(name.split("n:")[1].split("/")[0])
        ms = [b["real_time"] for b in bs]  # in the benchmark's unit: milliseconds
        best, median = gbps(bs)
        print(f"| {labels[name]} | {n / 2**20:.0f}M | {min(ms):.2f} | {statistics.median(ms):.2f} | "
              f"{n / min(ms) * 1e3 / 1e6:.0f}M | {best:.1f} / {median:.1f} | "
              f"{best / triad_best:.2f} / {median / triad_median:.2f} |")
    ctx = run.get("context", {})
    print(f"\n{ctx.get('num_cpus')} CPUs, load average {ctx.get('load_avg')}, {ctx.get('date')}; "
          f"repetitions per row: {max(len(b) for b in reps.values())}")


if __name__ == "__main__":
    main()
