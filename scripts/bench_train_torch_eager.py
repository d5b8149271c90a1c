#!/usr/bin/python3
"""The PyTorch eager reference for `ds train` throughput (issue 6; docs/performance.md).

A plain training loop a PyTorch user would write for ds's GPT-2-shaped presets, built by hand
with torch.nn because transformers is not installed: the same architecture and work per step as
`ds train --model ds-small --dtype fp32` on CPU, so tokens/s can be compared at the same thread
count. What ds computes, read from engine/model/*.cpp and engine/train/*.cpp:

- wte + wpe embeddings, `layers` pre-LN blocks (ln_1 -> attn -> +, ln_2 -> mlp -> +), ln_f, and
  the output head tied to wte (logits = h @ wte^T); LayerNorm eps 1e-5; biases everywhere.
- c_attn / c_proj / c_fc as GPT-2's Conv1D (weight [in, out], addmm).
- plain causal attention: softmax(q k^T / sqrt(d) masked above the diagonal with -inf) v;
  LibTorch 1.13 has no scaled_dot_product_attention, so neither side fuses.
- GELU with the tanh approximation (GPT-2's gelu_new).
- no dropout: ds's engine does not apply the preset's dropout 0.1, so it is off here too.
- fp32 cross-entropy of next-token logits, mean over B*T.
- AdamW (lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0: DeepSpeed's defaults that ds
  uses), torch.optim.AdamW with foreach=False (1.13's default on CPU; --foreach to change).
- every step ds computes the global gradient norm (one host sync) and reads the loss (.item());
  this loop does both as well, the norm through clip_grad_norm_ with an infinite max_norm.

Data are random token ids drawn once per step (ds samples windows of a token file of random ids;
the cost of either is negligible next to a step). Prints one JSON object: the median and each
step's seconds after the warm-up steps, tokens/s from the median, threads and versions.
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# ds's presets (estimators/presets.cpp): layers, hidden, heads, vocab, context.
PRESETS = {
    "ds-small": dict(layers=6, hidden=384, heads=6, vocab=8192, max_seq=256),
    "gpt2": dict(layers=12, hidden=768, heads=12, vocab=50257, max_seq=1024),
}


class Conv1D(nn.Module):
    """GPT-2's transposed linear layer: y = x @ W + b with W of shape [in, out]."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out).normal_(0.0, 0.02))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        y = torch.addmm(self.bias, x.reshape(-1, x.size(-1)), self.weight)
        return y.view(*x.shape[:-1], self.weight.size(1))


class Attention(nn.Module):
    def __init__(self, hidden, heads, max_seq):
        super().__init__()
        self.heads = heads
        self.c_attn = Conv1D(hidden, 3 * hidden)
        self.c_proj = Conv1D(hidden, hidden)
        mask = torch.ones(max_seq, max_seq, dtype=torch.bool).triu(1)
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x):
        b, t, c = x.shape
        d = c // self.heads
        q, k, v = self.c_attn(x).split(c, dim=-1)
        q = q.view(b, t, self.heads, d).transpose(1, 2)
        k = k.view(b, t, self.heads, d).transpose(1, 2)
        v = v.view(b, t, self.heads, d).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d))
        att = att.masked_fill(self.mask[:t, :t], float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).reshape(b, t, c))


class Mlp(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.c_fc = Conv1D(hidden, 4 * hidden)
        self.c_proj = Conv1D(4 * hidden, hidden)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, hidden, heads, max_seq):
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden, eps=1e-5)
        self.attn = Attention(hidden, heads, max_seq)
        self.ln_2 = nn.LayerNorm(hidden, eps=1e-5)
        self.mlp = Mlp(hidden)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Gpt2(nn.Module):
    def __init__(self, layers, hidden, heads, vocab, max_seq):
        super().__init__()
        self.wte = nn.Embedding(vocab, hidden)
        self.wpe = nn.Embedding(max_seq, hidden)
        nn.init.normal_(self.wte.weight, 0.0, 0.02)
        nn.init.normal_(self.wpe.weight, 0.0, 0.02)
        self.h = nn.ModuleList(Block(hidden, heads, max_seq) for _ in range(layers))
        self.ln_f = nn.LayerNorm(hidden, eps=1e-5)

    def forward(self, ids):
        pos = torch.arange(ids.size(1), device=ids.device)
        x = self.wte(ids) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return F.linear(self.ln_f(x), self.wte.weight)  # tied output head


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="ds-small", choices=sorted(PRESETS))
    p.add_argument("--micro-batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--steps", type=int, default=13, help="steps in all, warm-up included")
    p.add_argument("--warmup", type=int, default=3, help="first steps left out of the median")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 = leave torch's default")
    p.add_argument("--foreach", action="store_true", help="torch.optim.AdamW(foreach=True)")
    p.add_argument("--seed", type=int, default=1234)
    a = p.parse_args()
    if a.steps <= a.warmup:
        p.error("--steps must be larger than --warmup")
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    cfg = PRESETS[a.model]
    model = Gpt2(**cfg).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                            foreach=a.foreach)
    times = []
    for _ in range(a.steps):
        ids = torch.randint(0, cfg["vocab"], (a.micro_batch, a.seq + 1))
        start = time.perf_counter()
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf"))
        opt.step()
        opt.zero_grad(set_to_none=True)
        loss.item()
        times.append(time.perf_counter() - start)
    timed = times[a.warmup:]
    median = statistics.median(timed)
    print(json.dumps({
        "model": a.model, "micro_batch": a.micro_batch, "seq": a.seq, "warmup": a.warmup,
        "params": sum(t.numel() for t in model.parameters()),
        "threads": torch.get_num_threads(), "torch": torch.__version__, "foreach": a.foreach,
        "median_step_time_s": median, "tokens_per_s": a.micro_batch * a.seq / median,
        "step_time_s": timed,
    }))


if __name__ == "__main__":
    main()
