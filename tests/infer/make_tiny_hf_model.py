#!/usr/bin/python3
"""Writes a tiny random Llama in Hugging Face's layout, for the serving tests: config.json,
model.safetensors (F32, written with struct + json following the safetensors README),
tokenizer_config.json with a ChatML chat template, generation_config.json. No tokenizer.json:
vocab 257 is ds's byte tokenizer (bytes 0-255, 256 = end of text).

  make_tiny_hf_model.py DIR [SEED]
"""
import json
import os
import random
import struct
import sys

HIDDEN, LAYERS, HEADS, KV_HEADS, FFN, VOCAB, MAX_POS = 64, 2, 4, 2, 128, 257, 256
HEAD_DIM = HIDDEN // HEADS


def main():
    out = sys.argv[1]
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    os.makedirs(out, exist_ok=True)
    shapes = {"model.embed_tokens.weight": [VOCAB, HIDDEN], "model.norm.weight": [HIDDEN],
              "lm_head.weight": [VOCAB, HIDDEN]}
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        shapes.update({
            p + "self_attn.q_proj.weight": [HEADS * HEAD_DIM, HIDDEN],
            p + "self_attn.k_proj.weight": [KV_HEADS * HEAD_DIM, HIDDEN],
            p + "self_attn.v_proj.weight": [KV_HEADS * HEAD_DIM, HIDDEN],
            p + "self_attn.o_proj.weight": [HIDDEN, HEADS * HEAD_DIM],
            p + "mlp.gate_proj.weight": [FFN, HIDDEN],
            p + "mlp.up_proj.weight": [FFN, HIDDEN],
            p + "mlp.down_proj.weight": [HIDDEN, FFN],
            p + "input_layernorm.weight": [HIDDEN],
            p + "post_attention_layernorm.weight": [HIDDEN],
        })
    header, blobs, offset = {}, [], 0
    for name in sorted(shapes):
        shape = shapes[name]
        n = 1
        for d in shape:
            n *= d
        if name.endswith("norm.weight"):
            values = [1.0 + rng.uniform(-0.1, 0.1) for _ in range(n)]
        else:
            values = [rng.gauss(0.0, 0.5 if "embed" in name or "lm_head" in name else 0.15) for _ in range(n)]
        blob = struct.pack(f"<{n}f", *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": HIDDEN,
              "intermediate_size": FFN, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
              "num_key_value_heads": KV_HEADS, "vocab_size": VOCAB, "max_position_embeddings": MAX_POS,
              "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
              "hidden_act": "silu", "torch_dtype": "float32", "bos_token_id": 256, "eos_token_id": 256}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    chatml = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
              "'<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"chat_template": chatml, "eos_token": "<|endoftext|>"}, f, indent=2)
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump({"eos_token_id": 256}, f, indent=2)


if __name__ == "__main__":
    main()
