#!/usr/bin/python3
"""Golden fixtures for moe4j's Hugging Face checkpoint reader: one tiny random checkpoint per MoE architecture, in
the Hugging Face layout (config.json + model.safetensors, or shards with model.safetensors.index.json), and the
logits that architecture computes, from a forward pass written below op by op after transformers' modeling code
(modeling_mixtral.py, modeling_qwen2_moe.py, modeling_qwen3_moe.py, modeling_olmoe.py, and DeepSeek's
modeling_deepseek.py for DeepSeekMoE v1). transformers is not installed; only Debian's python3-torch is used.

Run from the repository root:  /usr/bin/python3 tools/golden/make_hf_fixtures.py
It rewrites moe4j-core/src/test/resources/hf/<arch>/ holding:
  - config.json, as the hub's checkpoints spell it;
  - the weights under the architecture's own tensor names, in the dtype given below (F32, F16 or BF16); the
    reference computes with the stored (rounded) weights widened to float32;
  - expected.safetensors: "logits" [1, seq, vocab] float32 of the prompt, metadata "prompt" and "greedy" (the
    greedy continuation, recomputed from scratch each step), comma-separated ids.
The safetensors bytes are written by hand (the safetensors package is not installed).
"""
import json
import math
import os
import shutil
import struct

import torch
import torch.nn.functional as F

OUT_DIR = os.path.join("moe4j-core", "src", "test", "resources", "hf")
torch.set_num_threads(1)

PROMPT = [3, 17, 42, 5, 60, 8, 8, 29]
GREEDY_TOKENS = 6
MARGINS = []  # smallest gap between the k-th and (k+1)-th router logit, and between the two best logits

COMMON = dict(vocab_size=64, hidden_size=16, num_attention_heads=4, hidden_act="silu", initializer_range=0.02,
              max_position_embeddings=64, rope_scaling=None, attention_dropout=0.0, use_cache=True,
              bos_token_id=1, eos_token_id=2, torch_dtype="float32")

MODELS = {
    # Mixtral: softmax over all experts, top-k, renormalised; no biases, no shared experts; single F32 file.
    "mixtral": dict(dtype="F32", shards=1, config=dict(COMMON, architectures=["MixtralForCausalLM"],
        model_type="mixtral", num_hidden_layers=2, num_key_value_heads=2, intermediate_size=12,
        num_local_experts=4, num_experts_per_tok=2, rope_theta=1e6, rms_norm_eps=1e-5, sliding_window=None,
        router_aux_loss_coef=0.02, router_jitter_noise=0.0, output_router_logits=False, tie_word_embeddings=False)),
    # Qwen2-MoE: qkv biases, a sigmoid-gated shared expert, a dense first layer (mlp_only_layers); BF16 in 2 shards.
    "qwen2_moe": dict(dtype="BF16", shards=2, config=dict(COMMON, architectures=["Qwen2MoeForCausalLM"],
        model_type="qwen2_moe", num_hidden_layers=3, num_key_value_heads=2, intermediate_size=20,
        moe_intermediate_size=8, shared_expert_intermediate_size=12, num_experts=4, num_experts_per_tok=2,
        decoder_sparse_step=1, mlp_only_layers=[0], norm_topk_prob=False, rope_theta=10000.0, rms_norm_eps=1e-6,
        use_sliding_window=False, sliding_window=64, max_window_layers=3, router_aux_loss_coef=0.001,
        output_router_logits=False, tie_word_embeddings=False)),
    # Qwen3-MoE: per-head q/k norm, head_dim != hidden / heads, renormalised gates, every second layer MoE
    # (decoder_sparse_step 2), tied embeddings; F32.
    "qwen3_moe": dict(dtype="F32", shards=1, config=dict(COMMON, architectures=["Qwen3MoeForCausalLM"],
        model_type="qwen3_moe", num_hidden_layers=2, num_key_value_heads=2, head_dim=8, intermediate_size=20,
        moe_intermediate_size=8, num_experts=4, num_experts_per_tok=2, decoder_sparse_step=2, mlp_only_layers=[],
        norm_topk_prob=True, rope_theta=10000.0, rms_norm_eps=1e-6, attention_bias=False, use_sliding_window=False,
        sliding_window=None, max_window_layers=2, router_aux_loss_coef=0.001, output_router_logits=False,
        tie_word_embeddings=True)),
    # OLMoE: q/k norm over the whole projection, gates not renormalised; F16.
    "olmoe": dict(dtype="F16", shards=1, config=dict(COMMON, architectures=["OlmoeForCausalLM"], model_type="olmoe",
        num_hidden_layers=2, num_key_value_heads=4, intermediate_size=8, num_experts=6, num_experts_per_tok=2,
        norm_topk_prob=False, rope_theta=10000.0, rms_norm_eps=1e-5, attention_bias=False, clip_qkv=None,
        router_aux_loss_coef=0.01, output_router_logits=False, tie_word_embeddings=False, pad_token_id=1)),
    # DeepSeekMoE v1: a dense first layer (first_k_dense_replace), two ungated shared experts; F32.
    "deepseek": dict(dtype="F32", shards=1, config=dict(COMMON, architectures=["DeepseekForCausalLM"],
        model_type="deepseek", num_hidden_layers=3, num_key_value_heads=4, intermediate_size=24,
        moe_intermediate_size=6, n_routed_experts=4, n_shared_experts=2, num_experts_per_tok=2, moe_layer_freq=1,
        first_k_dense_replace=1, norm_topk_prob=False, scoring_func="softmax", aux_loss_alpha=0.001, seq_aux=True,
        rope_theta=10000.0, rms_norm_eps=1e-6, attention_bias=False, pretraining_tp=1, tie_word_embeddings=False,
        auto_map={"AutoConfig": "configuration_deepseek.DeepseekConfig",
                  "AutoModel": "modeling_deepseek.DeepseekModel",
                  "AutoModelForCausalLM": "modeling_deepseek.DeepseekForCausalLM"})),
}


def head_dim(c):
    return c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]


def is_moe_layer(arch, c, i):
    if arch in ("mixtral", "olmoe"):
        return True
    if arch == "deepseek":
        return i >= c["first_k_dense_replace"] and i % c["moe_layer_freq"] == 0
    return i not in c["mlp_only_layers"] and c["num_experts"] > 0 and (i + 1) % c["decoder_sparse_step"] == 0


def experts_of(arch, c):
    return {"mixtral": "num_local_experts", "deepseek": "n_routed_experts"}.get(arch, "num_experts")


def make_weights(arch, c, seed):
    """Weights under the architecture's tensor names; scales keep activations O(1)."""
    g = torch.Generator().manual_seed(seed)

    def randn(*shape, std):
        return (torch.randn(*shape, generator=g, dtype=torch.float64) * std).float()

    def norm_weight(n):
        return (1 + 0.2 * torch.randn(n, generator=g, dtype=torch.float64)).float()

    d, hd = c["hidden_size"], head_dim(c)
    qw, kvw = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    n_exp = c[experts_of(arch, c)]
    eh = c["intermediate_size"] if arch in ("mixtral", "olmoe") else c["moe_intermediate_size"]
    w = {"model.embed_tokens.weight": randn(c["vocab_size"], d, std=0.5)}

    def ffn(prefix, hidden, names=("gate_proj", "up_proj", "down_proj")):
        w[prefix + names[0] + ".weight"] = randn(hidden, d, std=d ** -0.5)
        w[prefix + names[1] + ".weight"] = randn(hidden, d, std=d ** -0.5)
        w[prefix + names[2] + ".weight"] = randn(d, hidden, std=hidden ** -0.5)

    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm_weight(d)
        w[p + "self_attn.q_proj.weight"] = randn(qw, d, std=d ** -0.5)
        w[p + "self_attn.k_proj.weight"] = randn(kvw, d, std=d ** -0.5)
        w[p + "self_attn.v_proj.weight"] = randn(kvw, d, std=d ** -0.5)
        if arch == "qwen2_moe":
            for n, width in (("q", qw), ("k", kvw), ("v", kvw)):
                w[p + f"self_attn.{n}_proj.bias"] = randn(width, std=0.1)
        w[p + "self_attn.o_proj.weight"] = randn(d, qw, std=qw ** -0.5)
        if arch == "qwen3_moe":
            w[p + "self_attn.q_norm.weight"] = norm_weight(hd)
            w[p + "self_attn.k_norm.weight"] = norm_weight(hd)
        if arch == "olmoe":
            w[p + "self_attn.q_norm.weight"] = norm_weight(qw)
            w[p + "self_attn.k_norm.weight"] = norm_weight(kvw)
        w[p + "post_attention_layernorm.weight"] = norm_weight(d)
        if not is_moe_layer(arch, c, i):
            ffn(p + "mlp.", c["intermediate_size"])
            continue
        if arch == "mixtral":
            w[p + "block_sparse_moe.gate.weight"] = randn(n_exp, d, std=1.0)
            for e in range(n_exp):
                ffn(p + f"block_sparse_moe.experts.{e}.", eh, ("w1", "w3", "w2"))
            continue
        w[p + "mlp.gate.weight"] = randn(n_exp, d, std=1.0)
        for e in range(n_exp):
            ffn(p + f"mlp.experts.{e}.", eh)
        if arch == "qwen2_moe":
            ffn(p + "mlp.shared_expert.", c["shared_expert_intermediate_size"])
            w[p + "mlp.shared_expert_gate.weight"] = randn(1, d, std=d ** -0.5)
        if arch == "deepseek":
            ffn(p + "mlp.shared_experts.", eh * c["n_shared_experts"])
    w["model.norm.weight"] = norm_weight(d)
    if not c["tie_word_embeddings"]:
        w["lm_head.weight"] = randn(c["vocab_size"], d, std=d ** -0.5)
    return w


def stored(t, dtype):
    """The tensor as the file holds it, widened back to float32 for the reference."""
    return {"F32": t, "F16": t.half().float(), "BF16": t.bfloat16().float()}[dtype]


# ---- the architectures' forward passes, after transformers' modeling files ----

def rms_norm(x, weight, eps):
    variance = x.pow(2).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(variance + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope_cos_sin(c, seq):
    hd = head_dim(c)
    inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    freqs = torch.arange(seq).float()[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def mlp(x, w, prefix, names=("gate_proj", "up_proj", "down_proj")):
    gate, up, down = (w[prefix + n + ".weight"] for n in names)
    return F.linear(F.silu(F.linear(x, gate)) * F.linear(x, up), down)


def attention(arch, c, w, p, x):
    b, t, _ = x.shape
    hd, h, kvh = head_dim(c), c["num_attention_heads"], c["num_key_value_heads"]
    bias = (lambda n: w[p + f"self_attn.{n}_proj.bias"]) if arch == "qwen2_moe" else (lambda n: None)
    q = F.linear(x, w[p + "self_attn.q_proj.weight"], bias("q"))
    k = F.linear(x, w[p + "self_attn.k_proj.weight"], bias("k"))
    v = F.linear(x, w[p + "self_attn.v_proj.weight"], bias("v"))
    if arch == "olmoe":  # OlmoeAttention: the norms span the whole projection, before the split into heads
        q = rms_norm(q, w[p + "self_attn.q_norm.weight"], c["rms_norm_eps"])
        k = rms_norm(k, w[p + "self_attn.k_norm.weight"], c["rms_norm_eps"])
    q = q.view(b, t, -1, hd)
    k = k.view(b, t, -1, hd)
    if arch == "qwen3_moe":  # Qwen3MoeAttention: one norm of head_dim on every head
        q = rms_norm(q, w[p + "self_attn.q_norm.weight"], c["rms_norm_eps"])
        k = rms_norm(k, w[p + "self_attn.k_norm.weight"], c["rms_norm_eps"])
    q, k = q.transpose(1, 2), k.transpose(1, 2)
    v = v.view(b, t, -1, hd).transpose(1, 2)
    cos, sin = rope_cos_sin(c, t)
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin
    rep = h // kvh
    k = k[:, :, None].expand(b, kvh, rep, t, hd).reshape(b, h, t, hd)  # repeat_kv
    v = v[:, :, None].expand(b, kvh, rep, t, hd).reshape(b, h, t, hd)
    scores = q @ k.transpose(2, 3) / math.sqrt(hd)
    causal = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
    probs = scores.masked_fill(causal, float("-inf")).softmax(-1, dtype=torch.float32)
    out = (probs @ v).transpose(1, 2).reshape(b, t, h * hd)
    return F.linear(out, w[p + "self_attn.o_proj.weight"])


def sparse_moe(arch, c, w, p, x):
    b, t, d = x.shape
    flat = x.view(-1, d)
    gate_name = "block_sparse_moe.gate.weight" if arch == "mixtral" else "mlp.gate.weight"
    logits = F.linear(flat, w[p + gate_name])
    probs = F.softmax(logits, dim=1, dtype=torch.float)
    k = c["num_experts_per_tok"]
    weights, selected = torch.topk(probs, k, dim=-1)
    MARGINS.append(float((logits.topk(k, -1)[0][:, -1] - logits.topk(k + 1, -1)[0][:, -1]).min()))
    if arch == "mixtral":
        weights = weights / weights.sum(dim=-1, keepdim=True)
    elif arch == "deepseek":
        if k > 1 and c["norm_topk_prob"]:
            weights = weights / (weights.sum(dim=-1, keepdim=True) + 1e-20)
    elif c["norm_topk_prob"]:
        weights = weights / weights.sum(dim=-1, keepdim=True)
    out = torch.zeros_like(flat)
    for e in range(c[experts_of(arch, c)]):
        rows, slots = torch.where(selected == e)
        if arch == "mixtral":
            y = mlp(flat[rows], w, p + f"block_sparse_moe.experts.{e}.", ("w1", "w3", "w2"))
        else:
            y = mlp(flat[rows], w, p + f"mlp.experts.{e}.")
        out.index_add_(0, rows, y * weights[rows, slots, None])
    if arch == "qwen2_moe":
        shared = mlp(flat, w, p + "mlp.shared_expert.")
        out = out + torch.sigmoid(F.linear(flat, w[p + "mlp.shared_expert_gate.weight"])) * shared
    if arch == "deepseek":
        out = out + mlp(flat, w, p + "mlp.shared_experts.")
    return out.view(b, t, d)


def forward(arch, c, w, ids):
    h = w["model.embed_tokens.weight"][ids]
    eps = c["rms_norm_eps"]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = h + attention(arch, c, w, p, rms_norm(h, w[p + "input_layernorm.weight"], eps))
        n = rms_norm(h, w[p + "post_attention_layernorm.weight"], eps)
        h = h + (sparse_moe(arch, c, w, p, n) if is_moe_layer(arch, c, i) else mlp(n, w, p + "mlp."))
    h = rms_norm(h, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if c["tie_word_embeddings"] else w["lm_head.weight"]
    return F.linear(h, head)


def greedy(arch, c, w, prompt, n):
    seq = list(prompt)
    for _ in range(n):
        last = forward(arch, c, w, torch.tensor([seq]))[0, -1]
        top2 = last.topk(2)[0]
        MARGINS.append(float(top2[0] - top2[1]))
        seq.append(int(last.argmax()))
    return seq[len(prompt):]


# ---- files ----

def tensor_bytes(t, dtype):
    if dtype == "F32":
        return t.contiguous().numpy().astype("<f4").tobytes()
    if dtype == "F16":
        return t.contiguous().numpy().astype("<f2").tobytes()
    bits = t.contiguous().bfloat16().view(torch.int16).numpy().astype("<i2")  # round to nearest even, as torch does
    return bits.tobytes()


def write_safetensors(path, tensors, dtype, metadata):
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, t in tensors.items():
        data = tensor_bytes(t, dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    return offset


def write_checkpoint(out, spec, w):
    dtype, shards = spec["dtype"], spec["shards"]
    config = dict(spec["config"])
    config["torch_dtype"] = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype]
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    if shards == 1:
        write_safetensors(os.path.join(out, "model.safetensors"), w, dtype, {"format": "pt"})
        return
    names = list(w)
    per = -(-len(names) // shards)
    weight_map, total = {}, 0
    for s in range(shards):
        file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = {n: w[n] for n in names[s * per:(s + 1) * per]}
        total += write_safetensors(os.path.join(out, file), part, dtype, {"format": "pt"})
        weight_map.update({n: file for n in part})
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
        f.write("\n")


def main():
    for seed, (arch, spec) in enumerate(MODELS.items(), start=20260601):
        c = spec["config"]
        w = make_weights(arch, c, seed)
        ref = {n: stored(t, spec["dtype"]) for n, t in w.items()}
        MARGINS.clear()
        with torch.no_grad():
            logits = forward(arch, c, ref, torch.tensor([PROMPT]))
            continuation = greedy(arch, c, ref, PROMPT, GREEDY_TOKENS)
        out = os.path.join(OUT_DIR, arch)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        write_checkpoint(out, spec, w)
        write_safetensors(os.path.join(out, "expected.safetensors"), {"logits": logits}, "F32", {
            "prompt": ",".join(map(str, PROMPT)), "greedy": ",".join(map(str, continuation)),
            "generator": "tools/golden/make_hf_fixtures.py, torch " + torch.__version__})
        size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
        print(f"{out}: {size} bytes, greedy {continuation}, smallest margin {min(MARGINS):.2e}")


if __name__ == "__main__":
    main()
