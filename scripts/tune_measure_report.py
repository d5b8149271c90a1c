#!/usr/bin/env python3
# Reads the text report of `ds tune --measure` (saved stdout) and prints issue 8's two acceptance
# figures: the re-ranked #1 against the best measured tokens/s of the grid, and the step-time
# MAPE over the grid before and after calibration.
# Usage: scripts/tune_measure_report.py REPORT [SEQ_LEN (default 128)]
import re, sys
text = open(sys.argv[1]).read()
seq = int(sys.argv[2]) if len(sys.argv) > 2 else 128
meas = text.split("\nmeasured:\n")[1].split("recalibrated")[0]
rows = []
for line in meas.splitlines()[2:]:
    m = re.match(r"\s*(\d+)\s+(zero.*?b=\S+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(-?[\d.]+)%\s+ok", line)
    if m:
        rows.append((int(m.group(1)), m.group(2), float(m.group(3)), float(m.group(4)), float(m.group(5))))
def tokens(label):
    mb = int(re.search(r"mb(\d+)x(\d+)", label).group(1)); ga = int(re.search(r"mb(\d+)x(\d+)", label).group(2))
    dp = int(re.search(r"dp(\d+)", label).group(1))
    return mb * ga * dp * seq
best = max(rows, key=lambda r: tokens(r[1]) / r[4])
rerank = text.split("re-ranked with the new coefficients:")[1]
first = re.search(r"\n\s*1\s+(zero.*?b=\S+)", rerank).group(1)
mape_b = sum(abs(r[2] - r[4]) / r[4] for r in rows) / len(rows)
mape_a = sum(abs(r[3] - r[4]) / r[4] for r in rows) / len(rows)
print(f"grid: {len(rows)} measured plans")
print(f"best measured: #{best[0]} {best[1]}: {tokens(best[1]) / best[4]:.0f} tokens/s")
hit = [r for r in rows if r[1] == first]
if hit:
    r = hit[0]
    print(f"re-ranked #1: {first}: measured {tokens(first) / r[4]:.0f} tokens/s = {100 * (tokens(first) / r[4]) / (tokens(best[1]) / best[4]):.1f}% of the best")
else:
    print(f"re-ranked #1: {first}: not in the measured grid")
print(f"step-time MAPE over the grid: {100 * mape_b:.1f}% before, {100 * mape_a:.1f}% after calibration")
