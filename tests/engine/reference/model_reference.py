#!/usr/bin/python3
"""Independent float64 reference for ds's GPT-2 and Llama forward passes (engine/model).

Written from the Hugging Face `transformers` modeling files (GPT2LMHeadModel, LlamaForCausalLM,
including `_compute_llama3_parameters` for Llama-3 rope scaling) and the GPT-2 / Llama papers,
not from ds's code. Every operation is spelled out (no fused attention, no nn.Module), in float64.

Usage: model_reference.py DIR [DIR ...]   (one case per directory)
  DIR/manifest.json  {"family": "gpt2"|"llama", "config": {...}, "tensors": {name: {"shape", "file"}},
                      "input_ids": {"shape", "file"}, "positions": {"shape", "file"} | null,
                      "targets": {"shape", "file"}}
  tensors are raw little-endian float64, input_ids/positions/targets raw little-endian int64.
Writes DIR/logits.f64 (float64, [B, T, V]) and DIR/result.json ({"loss": mean cross-entropy}).
"""
import json
import math
import os
import sys

try:
    import torch
except ImportError:  # the C++ test skips on exit code 77 (tests/engine/train_test_util.hpp)
    print("python3 cannot import torch (Debian package python3-torch)")
    sys.exit(77)


def load(dirname, entry, dtype):
    path = os.path.join(dirname, entry["file"])
    with open(path, "rb") as f:
        data = bytearray(f.read())
    t = torch.frombuffer(data, dtype=dtype) if data else torch.empty(0, dtype=dtype)
    return t.reshape(entry["shape"]).clone()


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)  # biased variance, as nn.LayerNorm
    return (x - mean) / torch.sqrt(var + eps) * w + b


def rms_norm(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def gelu_new(x):
    # GPT-2's "gelu_new": 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))  (Hendrycks & Gimpel 2016)
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    return x / (1.0 + torch.exp(-x))


def causal_attention(q, k, v):
    """q [B, nh, T, d], k/v [B, nh, T, d] -> [B, nh, T, d]."""
    d = q.shape[-1]
    t = q.shape[-2]
    scores = q @ k.transpose(-1, -2) / math.sqrt(d)
    mask = torch.ones(t, t, dtype=torch.bool).tril()
    scores = scores.masked_fill(~mask, float("-inf"))
    scores = scores - scores.max(-1, keepdim=True).values
    p = torch.exp(scores)
    p = p / p.sum(-1, keepdim=True)
    return p @ v


def gpt2_forward(cfg, w, ids, pos):
    h = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][pos]
    bsz, t, hidden = h.shape
    nh = cfg["heads"]
    d = hidden // nh
    eps = cfg["norm_eps"]
    for i in range(cfg["layers"]):
        p = f"transformer.h.{i}."
        x = layer_norm(h, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = x @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # HF Conv1D: x W + b, W [in, out]
        q, k, v = qkv.split(hidden, dim=-1)
        q, k, v = (z.reshape(bsz, t, nh, d).transpose(1, 2) for z in (q, k, v))
        y = causal_attention(q, k, v).transpose(1, 2).reshape(bsz, t, hidden)
        h = h + y @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        x = layer_norm(h, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        x = gelu_new(x @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        h = h + x @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    h = layer_norm(h, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], eps)
    head = w["lm_head.weight"] if "lm_head.weight" in w else w["transformer.wte.weight"]
    return h @ head.T


def rope_inv_freq(cfg):
    d = cfg["head_dim"]
    inv = [1.0 / cfg["rope_theta"] ** (2 * i / d) for i in range(d // 2)]
    sc = cfg.get("rope_scaling") or {}
    kind = sc.get("type", "")
    if kind == "linear":
        inv = [f / sc["factor"] for f in inv]
    elif kind == "llama3":
        # transformers' _compute_llama3_parameters (Llama 3.1): long wavelengths are divided by
        # `factor`, short ones kept, the band between interpolated smoothly.
        factor, lo, hi = sc["factor"], sc["low_freq_factor"], sc["high_freq_factor"]
        old = sc["original_max_position_embeddings"]
        out = []
        for f in inv:
            wavelen = 2 * math.pi / f
            if wavelen < old / hi:
                out.append(f)
            elif wavelen > old / lo:
                out.append(f / factor)
            else:
                smooth = (old / wavelen - lo) / (hi - lo)
                out.append((1 - smooth) * f / factor + smooth * f)
        inv = out
    return torch.tensor(inv, dtype=torch.float64)


def apply_rope(x, cos, sin):
    """HF's rotate_half convention: pairs (i, i + d/2)."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    rotated = torch.cat([-x2, x1], dim=-1)
    return x * cos + rotated * sin


def llama_forward(cfg, w, ids, pos):
    h = w["model.embed_tokens.weight"][ids]
    bsz, t, _ = h.shape
    nh, nkv, d = cfg["heads"], cfg["kv_heads"], cfg["head_dim"]
    eps = cfg["norm_eps"]
    freqs = pos.to(torch.float64)[..., None] * rope_inv_freq(cfg)  # [B, T, d/2]
    emb = torch.cat([freqs, freqs], dim=-1)[:, None]  # [B, 1, T, d]
    cos, sin = torch.cos(emb), torch.sin(emb)

    def lin(x, name):
        y = x @ w[name + ".weight"].T  # nn.Linear: W [out, in]
        return y + w[name + ".bias"] if name + ".bias" in w else y

    for i in range(cfg["layers"]):
        p = f"model.layers.{i}."
        x = rms_norm(h, w[p + "input_layernorm.weight"], eps)
        q = lin(x, p + "self_attn.q_proj").reshape(bsz, t, nh, d).transpose(1, 2)
        k = lin(x, p + "self_attn.k_proj").reshape(bsz, t, nkv, d).transpose(1, 2)
        v = lin(x, p + "self_attn.v_proj").reshape(bsz, t, nkv, d).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        rep = nh // nkv  # grouped-query attention: query head j reads kv head j // rep
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        y = causal_attention(q, k, v).transpose(1, 2).reshape(bsz, t, nh * d)
        h = h + lin(y, p + "self_attn.o_proj")
        x = rms_norm(h, w[p + "post_attention_layernorm.weight"], eps)
        h = h + lin(silu(lin(x, p + "mlp.gate_proj")) * lin(x, p + "mlp.up_proj"), p + "mlp.down_proj")
    h = rms_norm(h, w["model.norm.weight"], eps)
    head = w["lm_head.weight"] if "lm_head.weight" in w else w["model.embed_tokens.weight"]
    return h @ head.T


def cross_entropy(logits, targets):
    flat = logits.reshape(-1, logits.shape[-1])
    m = flat.max(-1, keepdim=True).values
    logz = (m + torch.log(torch.exp(flat - m).sum(-1, keepdim=True))).squeeze(-1)
    picked = flat.gather(1, targets.reshape(-1, 1)).squeeze(1)
    return (logz - picked).mean().item()


def run_case(dirname):
    with open(os.path.join(dirname, "manifest.json")) as f:
        man = json.load(f)
    w = {name: load(dirname, e, torch.float64) for name, e in man["tensors"].items()}
    ids = load(dirname, man["input_ids"], torch.int64)
    if man.get("positions"):
        pos = load(dirname, man["positions"], torch.int64).expand(ids.shape)
    else:
        pos = torch.arange(ids.shape[1]).expand(ids.shape)
    forward = gpt2_forward if man["family"] == "gpt2" else llama_forward
    with torch.no_grad():
        logits = forward(man["config"], w, ids, pos)
    logits.contiguous().numpy().tofile(os.path.join(dirname, "logits.f64"))
    result = {"loss": cross_entropy(logits, load(dirname, man["targets"], torch.int64))}
    with open(os.path.join(dirname, "result.json"), "w") as f:
        json.dump(result, f)


def main():
    for dirname in sys.argv[1:]:
        run_case(dirname)


if __name__ == "__main__":
    main()
