#!/usr/bin/env python3
"""Independent reference for `ds estimate params`: builds each model of a Hugging Face config.json
out of real torch modules (on the meta device, so a 405B model costs no memory), the way
transformers' modeling_gpt2.py / modeling_llama.py / modeling_mixtral.py lay them out, and counts
with torch:

  total         -- unique parameters (a tied lm_head counted once), like model.num_parameters()
  largest       -- DeepSpeed's largest_layer_params: max over modules of parameters(recurse=False)
  persistent    -- elements in tensors of at most 1e5 (ZeRO-3's default persistence threshold)

Usage: param_counts.py CONFIG.json... ; prints one JSON object {path: {...}}.
"""
import json
import sys

import torch
from torch import nn


class Conv1D(nn.Module):
    """transformers.pytorch_utils.Conv1D: weight (in, out) and bias (out)."""

    def __init__(self, out_features, in_features):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features, device="meta"))
        self.bias = nn.Parameter(torch.empty(out_features, device="meta"))


class RMSNorm(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(hidden, device="meta"))


def lin(i, o, bias):
    return nn.Linear(i, o, bias=bias, device="meta")


def gpt2(c):
    h, inner = c["n_embd"], c.get("n_inner") or 4 * c["n_embd"]
    blocks = nn.ModuleList()
    for _ in range(c["n_layer"]):
        b = nn.Module()
        b.ln_1 = nn.LayerNorm(h, device="meta")
        b.attn = nn.Module()
        b.attn.c_attn, b.attn.c_proj = Conv1D(3 * h, h), Conv1D(h, h)
        b.ln_2 = nn.LayerNorm(h, device="meta")
        b.mlp = nn.Module()
        b.mlp.c_fc, b.mlp.c_proj = Conv1D(inner, h), Conv1D(h, inner)
        blocks.append(b)
    m = nn.Module()
    m.wte = nn.Embedding(c["vocab_size"], h, device="meta")
    m.wpe = nn.Embedding(c.get("n_positions", 1024), h, device="meta")
    m.h, m.ln_f = blocks, nn.LayerNorm(h, device="meta")
    m.lm_head = lin(h, c["vocab_size"], False)
    if c.get("tie_word_embeddings", True):
        m.lm_head.weight = m.wte.weight
    return m


def llama(c):
    h, heads = c["hidden_size"], c["num_attention_heads"]
    kv = c.get("num_key_value_heads") or heads
    hd = c.get("head_dim") or h // heads
    qkv_bias = c["model_type"] == "qwen2" or c.get("attention_bias", False)
    o_bias, mlp_bias = c.get("attention_bias", False), c.get("mlp_bias", False)
    f = c["intermediate_size"]
    layers = nn.ModuleList()
    for _ in range(c["num_hidden_layers"]):
        b = nn.Module()
        b.self_attn = nn.Module()
        a = b.self_attn
        a.q_proj, a.k_proj = lin(h, heads * hd, qkv_bias), lin(h, kv * hd, qkv_bias)
        a.v_proj, a.o_proj = lin(h, kv * hd, qkv_bias), lin(heads * hd, h, o_bias)
        if c["model_type"] == "mixtral":
            b.block_sparse_moe = nn.Module()
            b.block_sparse_moe.gate = lin(h, c["num_local_experts"], False)
            experts = nn.ModuleList()
            for _ in range(c["num_local_experts"]):
                e = nn.Module()
                e.w1, e.w2, e.w3 = lin(h, f, False), lin(f, h, False), lin(h, f, False)
                experts.append(e)
            b.block_sparse_moe.experts = experts
        else:
            b.mlp = nn.Module()
            b.mlp.gate_proj, b.mlp.up_proj = lin(h, f, mlp_bias), lin(h, f, mlp_bias)
            b.mlp.down_proj = lin(f, h, mlp_bias)
        b.input_layernorm, b.post_attention_layernorm = RMSNorm(h), RMSNorm(h)
        layers.append(b)
    m = nn.Module()
    m.embed_tokens = nn.Embedding(c["vocab_size"], h, device="meta")
    m.layers, m.norm = layers, RMSNorm(h)
    m.lm_head = lin(h, c["vocab_size"], False)
    if c.get("tie_word_embeddings", False):
        m.lm_head.weight = m.embed_tokens.weight
    return m


def summarize(model):
    unique = {id(p): p.numel() for p in model.parameters()}
    largest = max(sum(p.numel() for p in mod.parameters(recurse=False)) for mod in model.modules())
    persistent = sum(n for n in unique.values() if n <= 100000)
    return {"total": sum(unique.values()), "largest": largest, "persistent": persistent}


def main(paths):
    out = {}
    for path in paths:
        with open(path) as f:
            config = json.load(f)
        model = gpt2(config) if config["model_type"] == "gpt2" else llama(config)
        out[path] = summarize(model)
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
