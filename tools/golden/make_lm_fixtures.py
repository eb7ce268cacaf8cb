#!/usr/bin/python3
"""Golden fixtures for moe4j's transformer language model, made by an implementation we did not write on the
Java side: the same architecture in plain PyTorch (Debian python3-torch), written out below op by op.

Run from the repository root:  /usr/bin/python3 tools/golden/make_lm_fixtures.py
It rewrites moe4j-core/src/test/resources/golden/lm-<name>.safetensors, one small file per model holding:
  - the weights under Hugging Face-like names (model.layers.0.self_attn.q_proj.weight, ...; experts one by one,
    model.layers.1.mlp.experts.3.down_proj.weight), drawn from a seeded generator;
  - expected.logits     [batch, seq, vocab] float32 logits of the prompt batch;
  - expected.losses     [steps] float64 training losses (cross-entropy + balance loss) of AdamW steps on that batch;
  - metadata: "config" (the hyperparameters, JSON), "prompt" (token ids, comma-separated, batch rows joined by
    ';'), "greedy" (greedy continuation of row 0, comma-separated), and the optimizer settings.
The safetensors bytes are written here by hand (8-byte little-endian header length, JSON header, raw data), since
the safetensors package is not installed.

The architecture, as moe4j's TransformerLm:
  h = embed(ids)
  per layer: h = h + o(attn(rope(qk_norm(q(n))), rope(qk_norm(k(n))), v(n)))  with n = rmsnorm(h)
             h = h + ffn(rmsnorm(h)), ffn = MoE of SwiGLU experts (+ shared experts) or a dense SwiGLU
  logits = head(rmsnorm(h)), head = lm_head or the embedding (tied)
RoPE pairs element i with i + d/2 (rotate_half); grouped heads: query head h reads kv head h // (H / KVH).
Router: logits = n W^T; probs = softmax(logits); the top-k by logits; gates = probs of the k (optionally divided
by their sum), or softmax of the k logits ("after"). Balance loss = E * sum_e f_e P_e, with f_e the fraction of
the token-slot assignments expert e received and P_e its mean probability.
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

OUT_DIR = os.path.join("moe4j-core", "src", "test", "resources", "golden")
torch.set_num_threads(1)

MODELS = {
    # Qwen3-MoE-like attention (per-head qk-norm, grouped heads), renormalised softmax-before-top-k routing,
    # a Qwen2-MoE sigmoid-gated shared expert, and a DeepSeekMoE dense first layer; untied head.
    "qwen": dict(vocab=61, d_model=32, layers=3, heads=4, kv_heads=2, head_dim=8, rope_theta=10000.0,
                 rms_eps=1e-6, qk_norm="PER_HEAD", attention_bias=False, experts=4, top_k=2, expert_hidden=16,
                 router_softmax="BEFORE_TOP_K", norm_topk_prob=True, shared_experts=1, shared_hidden=16,
                 shared_gate=True, first_dense_layers=1, dense_hidden=40, moe_every=1, balance_loss_weight=0.01,
                 tied_embeddings=False, max_seq_len=32),
    # Mixtral-like routing (softmax over the chosen k), OLMoE-like full-width qk-norm, Qwen2-like qkv biases,
    # four query heads over one kv head, two DeepSeek-like ungated shared experts, tied embeddings.
    "mixtral": dict(vocab=61, d_model=16, layers=2, heads=4, kv_heads=1, head_dim=6, rope_theta=500.0,
                    rms_eps=1e-5, qk_norm="FULL_WIDTH", attention_bias=True, experts=5, top_k=2, expert_hidden=8,
                    router_softmax="AFTER_TOP_K", norm_topk_prob=False, shared_experts=2, shared_hidden=4,
                    shared_gate=False, first_dense_layers=0, dense_hidden=0, moe_every=1,
                    balance_loss_weight=0.02, tied_embeddings=True, max_seq_len=32),
}

PROMPT = [[1, 17, 33, 4, 59, 8, 8, 21, 60, 0, 12, 45], [7, 7, 3, 50, 38, 2, 19, 26, 31, 44, 5, 9]]
GREEDY_TOKENS = 8
ROUTER_MARGINS = []
GREEDY_MARGINS = []  # gap between the best and second-best logit at each greedy step  # smallest gap between the k-th and (k+1)-th router logit, per MoE call
TRAIN_STEPS = 10
LR, BETAS, EPS, WEIGHT_DECAY = 3e-3, (0.9, 0.999), 1e-8, 0.01


def is_moe(c, i):
    return c["experts"] > 0 and i >= c["first_dense_layers"] and (i + 1) % c["moe_every"] == 0


def make_weights(c, seed):
    """Weights under Hugging Face-like names; scales near PyTorch's defaults so activations stay O(1)."""
    g = torch.Generator().manual_seed(seed)
    w = {}

    def randn(*shape, std):
        return (torch.randn(*shape, generator=g, dtype=torch.float64) * std).float()

    def norm_weight(n):
        return (1 + 0.2 * torch.randn(n, generator=g, dtype=torch.float64)).float()

    d, hd = c["d_model"], c["head_dim"]
    qw, kvw = c["heads"] * hd, c["kv_heads"] * hd
    w["model.embed_tokens.weight"] = randn(c["vocab"], d, std=0.5)
    for i in range(c["layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm_weight(d)
        w[p + "self_attn.q_proj.weight"] = randn(qw, d, std=d ** -0.5)
        w[p + "self_attn.k_proj.weight"] = randn(kvw, d, std=d ** -0.5)
        w[p + "self_attn.v_proj.weight"] = randn(kvw, d, std=d ** -0.5)
        if c["attention_bias"]:
            for n, width in (("q", qw), ("k", kvw), ("v", kvw)):
                w[p + f"self_attn.{n}_proj.bias"] = randn(width, std=0.1)
        w[p + "self_attn.o_proj.weight"] = randn(d, qw, std=qw ** -0.5)
        if c["qk_norm"] != "NONE":
            per_head = c["qk_norm"] == "PER_HEAD"
            w[p + "self_attn.q_norm.weight"] = norm_weight(hd if per_head else qw)
            w[p + "self_attn.k_norm.weight"] = norm_weight(hd if per_head else kvw)
        w[p + "post_attention_layernorm.weight"] = norm_weight(d)
        if is_moe(c, i):
            eh = c["expert_hidden"]
            w[p + "mlp.gate.weight"] = randn(c["experts"], d, std=1.0)  # the router
            for e in range(c["experts"]):
                w[p + f"mlp.experts.{e}.gate_proj.weight"] = randn(eh, d, std=d ** -0.5)
                w[p + f"mlp.experts.{e}.up_proj.weight"] = randn(eh, d, std=d ** -0.5)
                w[p + f"mlp.experts.{e}.down_proj.weight"] = randn(d, eh, std=eh ** -0.5)
            if c["shared_experts"] > 0:
                sh = c["shared_experts"] * c["shared_hidden"]  # shared experts side by side are one wide FFN
                w[p + "mlp.shared_expert.gate_proj.weight"] = randn(sh, d, std=d ** -0.5)
                w[p + "mlp.shared_expert.up_proj.weight"] = randn(sh, d, std=d ** -0.5)
                w[p + "mlp.shared_expert.down_proj.weight"] = randn(d, sh, std=sh ** -0.5)
                if c["shared_gate"]:
                    w[p + "mlp.shared_expert_gate.weight"] = randn(1, d, std=d ** -0.5)
        else:
            dh = c["dense_hidden"]
            w[p + "mlp.gate_proj.weight"] = randn(dh, d, std=d ** -0.5)
            w[p + "mlp.up_proj.weight"] = randn(dh, d, std=d ** -0.5)
            w[p + "mlp.down_proj.weight"] = randn(d, dh, std=dh ** -0.5)
    w["model.norm.weight"] = norm_weight(d)
    if not c["tied_embeddings"]:
        w["lm_head.weight"] = randn(c["vocab"], d, std=d ** -0.5)
    return w


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope_cos_sin(c, seq):
    hd = c["head_dim"]
    inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    angles = torch.arange(seq, dtype=torch.float64)[:, None] * inv_freq[None, :]  # [seq, hd/2]
    emb = torch.cat((angles, angles), dim=-1)  # [seq, hd]
    return emb.cos().float(), emb.sin().float()


def swiglu(x, gate, up, down):
    return F.linear(F.silu(F.linear(x, gate)) * F.linear(x, up), down)


def attention(c, w, p, x):
    b, t, _ = x.shape
    hd, h, kvh = c["head_dim"], c["heads"], c["kv_heads"]
    bias = (lambda n: w[p + f"self_attn.{n}_proj.bias"]) if c["attention_bias"] else (lambda n: None)
    q = F.linear(x, w[p + "self_attn.q_proj.weight"], bias("q"))
    k = F.linear(x, w[p + "self_attn.k_proj.weight"], bias("k"))
    v = F.linear(x, w[p + "self_attn.v_proj.weight"], bias("v"))
    if c["qk_norm"] == "FULL_WIDTH":
        q = rms_norm(q, w[p + "self_attn.q_norm.weight"], c["rms_eps"])
        k = rms_norm(k, w[p + "self_attn.k_norm.weight"], c["rms_eps"])
    q = q.view(b, t, h, hd).transpose(1, 2)  # [b, h, t, hd]
    k = k.view(b, t, kvh, hd).transpose(1, 2)
    v = v.view(b, t, kvh, hd).transpose(1, 2)
    if c["qk_norm"] == "PER_HEAD":
        q = rms_norm(q, w[p + "self_attn.q_norm.weight"], c["rms_eps"])
        k = rms_norm(k, w[p + "self_attn.k_norm.weight"], c["rms_eps"])
    cos, sin = rope_cos_sin(c, t)
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin
    k = k.repeat_interleave(h // kvh, dim=1)
    v = v.repeat_interleave(h // kvh, dim=1)
    scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
    causal = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
    probs = scores.masked_fill(causal, float("-inf")).softmax(-1)
    out = (probs @ v).transpose(1, 2).reshape(b, t, h * hd)
    return F.linear(out, w[p + "self_attn.o_proj.weight"])


def moe(c, w, p, x):
    """Returns the MoE output and the balance loss (E * sum_e f_e P_e)."""
    b, t, d = x.shape
    flat = x.reshape(b * t, d)
    logits = F.linear(flat, w[p + "mlp.gate.weight"])  # [tokens, experts]
    probs = logits.softmax(-1)
    k = c["top_k"]
    top_logits, idx = logits.topk(k, dim=-1)
    if k < c["experts"]:  # how close the k-th choice came to the next: a near tie could route differently in Java
        ROUTER_MARGINS.append(float((top_logits[:, -1] - logits.topk(k + 1, dim=-1)[0][:, -1]).min()))
    if c["router_softmax"] == "AFTER_TOP_K":
        gates = top_logits.softmax(-1)
    else:
        gates = probs.gather(1, idx)
        if c["norm_topk_prob"]:
            gates = gates / gates.sum(-1, keepdim=True)
    out = torch.zeros_like(flat)
    for e in range(c["experts"]):
        # An expert without tokens still runs (on zero rows), so its weights get a zero gradient rather than none:
        # moe4j stacks the experts in one parameter that AdamW always updates (weight decay included), while
        # PyTorch's AdamW would skip a parameter whose gradient is None and count its steps separately.
        rows, slots = (idx == e).nonzero(as_tuple=True)
        y = swiglu(flat[rows], w[p + f"mlp.experts.{e}.gate_proj.weight"], w[p + f"mlp.experts.{e}.up_proj.weight"],
                   w[p + f"mlp.experts.{e}.down_proj.weight"])
        out = out.index_add(0, rows, y * gates[rows, slots][:, None])
    if c["shared_experts"] > 0:
        s = swiglu(flat, w[p + "mlp.shared_expert.gate_proj.weight"], w[p + "mlp.shared_expert.up_proj.weight"],
                   w[p + "mlp.shared_expert.down_proj.weight"])
        if c["shared_gate"]:
            s = s * torch.sigmoid(F.linear(flat, w[p + "mlp.shared_expert_gate.weight"]))
        out = out + s
    counts = torch.bincount(idx.flatten(), minlength=c["experts"]).double()
    fractions = (counts / counts.sum()).float()
    balance = c["experts"] * (fractions * probs.mean(0)).sum()
    return out.reshape(b, t, d), balance


def forward(c, w, ids):
    """Logits [b, t, vocab] and the summed, weighted balance loss."""
    h = w["model.embed_tokens.weight"][ids]
    aux = torch.zeros(())
    for i in range(c["layers"]):
        p = f"model.layers.{i}."
        h = h + attention(c, w, p, rms_norm(h, w[p + "input_layernorm.weight"], c["rms_eps"]))
        n = rms_norm(h, w[p + "post_attention_layernorm.weight"], c["rms_eps"])
        if is_moe(c, i):
            y, balance = moe(c, w, p, n)
            aux = aux + c["balance_loss_weight"] * balance
        else:
            y = swiglu(n, w[p + "mlp.gate_proj.weight"], w[p + "mlp.up_proj.weight"], w[p + "mlp.down_proj.weight"])
        h = h + y
    h = rms_norm(h, w["model.norm.weight"], c["rms_eps"])
    head = w["model.embed_tokens.weight"] if c["tied_embeddings"] else w["lm_head.weight"]
    return F.linear(h, head), aux


def greedy(c, w, prompt, n):
    seq = list(prompt)
    for _ in range(n):
        logits, _ = forward(c, w, torch.tensor([seq]))
        top2 = logits[0, -1].topk(2)[0]
        GREEDY_MARGINS.append(float(top2[0] - top2[1]))
        seq.append(int(logits[0, -1].argmax()))
    return seq[len(prompt):]


def train_losses(c, w, ids, targets):
    params = {name: t.clone().requires_grad_(True) for name, t in w.items()}
    opt = torch.optim.AdamW(list(params.values()), lr=LR, betas=BETAS, eps=EPS, weight_decay=WEIGHT_DECAY)
    losses = []
    for _ in range(TRAIN_STEPS):
        opt.zero_grad()
        logits, aux = forward(c, params, ids)
        loss = F.cross_entropy(logits.reshape(-1, c["vocab"]), targets.reshape(-1)) + aux
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return losses


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dtype = {torch.float32: "F32", torch.float64: "F64"}[t.dtype]
        data = t.numpy().astype("<f4" if dtype == "F32" else "<f8").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # pad so the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for seed, (name, c) in enumerate(MODELS.items(), start=20260501):
        w = make_weights(c, seed)
        ROUTER_MARGINS.clear()
        GREEDY_MARGINS.clear()
        ids = torch.tensor(PROMPT)
        with torch.no_grad():
            logits, _ = forward(c, w, ids)
            continuation = greedy(c, w, PROMPT[0], GREEDY_TOKENS)
        # Next-token targets: each row shifted by one, its last target the first token of the other row.
        targets = torch.cat((ids[:, 1:], ids.flip(0)[:, :1]), dim=1)
        inference_margin = min(ROUTER_MARGINS)
        losses = train_losses(c, w, ids, targets)
        tensors = dict(w)
        tensors["expected.logits"] = logits
        tensors["expected.losses"] = torch.tensor(losses, dtype=torch.float64)
        metadata = {
            "config": json.dumps(c, sort_keys=True),
            "prompt": ";".join(",".join(str(i) for i in row) for row in PROMPT),
            "greedy": ",".join(str(i) for i in continuation),
            "adamw": json.dumps(dict(lr=LR, beta1=BETAS[0], beta2=BETAS[1], eps=EPS, weight_decay=WEIGHT_DECAY,
                                     steps=TRAIN_STEPS)),
            "generator": "tools/golden/make_lm_fixtures.py, torch " + torch.__version__,
        }
        path = os.path.join(OUT_DIR, f"lm-{name}.safetensors")
        write_safetensors(path, tensors, metadata)
        print(f"{path}: {os.path.getsize(path)} bytes, greedy {continuation}, losses {[round(l, 4) for l in losses]}")
        print(f"  smallest margins: greedy logits {min(GREEDY_MARGINS):.2e}, router at inference {inference_margin:.2e},"
              f" router in training {min(ROUTER_MARGINS):.2e}")


if __name__ == "__main__":
    main()
