#!/usr/bin/python3
"""Generation speed of moe4j next to PyTorch (Debian python3-torch) on the same architecture, in the same run.

Usage: /usr/bin/python3 tools/bench-generate-torch.py [--preset small|tiny] [--vocab V] [--dim D] [--layers N]
       [--heads H] [--kv-heads KV] [--experts E] [--top-k K] [--ffn F] [--prompt-tokens 128] [--gen-tokens 64]
       [--threads 2] [--rounds 3]
e.g. the 640M Mixtral shape: --dim 1024 --layers 8 --heads 8 --experts 8 --top-k 2 --ffn 2816 --vocab 32000

The model is moe4j's TransformerLm (see tools/golden/make_lm_fixtures.py, written op by op there): embedding,
per layer h += o(attn(rope(q(n)), rope(k(n)), v(n))) with n = rmsnorm(h), h += MoE(rmsnorm(h)) with SwiGLU experts
and a softmax-then-top-k router with renormalised gates, a final rmsnorm and an untied head. Random weights.
PyTorch keeps a KV cache (preallocated per layer) and runs the experts as Hugging Face's Mixtral block does: for
each expert, the tokens routed to it are indexed, pass w2(silu(w1 x) * w3 x), are scaled and added back. Each
round times, one after the other, torch (prefill of the prompt in one call, then greedy decoding one token at a
time, under torch.inference_mode, torch.set_num_threads(threads)) and `./moe4j bench generate --json` with the
same sizes, and prints both and the ratios moe4j / torch. The machine may be shared: each round line shows the
load average; compare rounds, and rerun on a quiet machine for figures to publish.
"""
import argparse
import json
import math
import os
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESETS = {
    "tiny": dict(vocab=259, dim=64, layers=2, heads=4, kv_heads=2, experts=4, top_k=2, ffn=128),
    "small": dict(vocab=259, dim=256, layers=4, heads=4, kv_heads=4, experts=8, top_k=2, ffn=512),
}
ROPE_THETA, RMS_EPS = 10000.0, 1e-6


def config(args):
    c = dict(PRESETS[args.preset])
    for key in ("vocab", "dim", "layers", "experts", "top_k", "ffn"):
        if getattr(args, key) is not None:
            c[key] = getattr(args, key)
    if args.heads is not None:
        c["heads"] = args.heads
        c["kv_heads"] = args.heads
    if args.kv_heads is not None:
        c["kv_heads"] = args.kv_heads
    c["head_dim"] = c["dim"] // c["heads"]
    return c


def torch_generate(c, args):
    """Returns (prompt tokens/s, generation tokens/s) of the best of `repeats` runs after a warm-up run."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(1)
    d, hd, h, kvh, e, f = c["dim"], c["head_dim"], c["heads"], c["kv_heads"], c["experts"], c["ffn"]

    def randn(*shape, std):
        return torch.randn(*shape, generator=g) * std

    emb = randn(c["vocab"], d, std=0.02)
    layers = []
    for _ in range(c["layers"]):
        layers.append(dict(
            n1=torch.ones(d), n2=torch.ones(d),
            q=randn(h * hd, d, std=d ** -0.5), k=randn(kvh * hd, d, std=d ** -0.5),
            v=randn(kvh * hd, d, std=d ** -0.5), o=randn(d, h * hd, std=(h * hd) ** -0.5),
            router=randn(e, d, std=d ** -0.5),
            w1=[randn(f, d, std=d ** -0.5) for _ in range(e)], w3=[randn(f, d, std=d ** -0.5) for _ in range(e)],
            w2=[randn(d, f, std=f ** -0.5) for _ in range(e)]))
    norm = torch.ones(d)
    head = randn(c["vocab"], d, std=d ** -0.5)
    max_len = args.prompt_tokens + args.gen_tokens + 1
    inv_freq = 1.0 / (ROPE_THETA ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    angles = torch.arange(max_len, dtype=torch.float64)[:, None] * inv_freq[None, :]
    cos_all = torch.cat((angles, angles), -1).cos().float()
    sin_all = torch.cat((angles, angles), -1).sin().float()

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + RMS_EPS) * w

    def rope(x, pos0):  # x [heads, t, hd]
        t = x.shape[1]
        cos, sin = cos_all[pos0:pos0 + t], sin_all[pos0:pos0 + t]
        half = hd // 2
        return x * cos + torch.cat((-x[..., half:], x[..., :half]), -1) * sin

    def moe(L, x):  # x [t, d]
        probs = F.softmax(F.linear(x, L["router"]), dim=-1)
        gates, chosen = torch.topk(probs, c["top_k"], dim=-1)
        gates = gates / gates.sum(-1, keepdim=True)
        out = torch.zeros_like(x)
        mask = F.one_hot(chosen, e).permute(2, 1, 0)  # [experts, k, t]
        for ex in range(e):
            slot, tok = torch.where(mask[ex])
            if tok.numel() == 0:
                continue
            xs = x[tok]
            y = F.linear(F.silu(F.linear(xs, L["w1"][ex])) * F.linear(xs, L["w3"][ex]), L["w2"][ex])
            out.index_add_(0, tok, y * gates[tok, slot, None])
        return out

    def forward(ids, cache, pos0):  # ids [t]; cache: per layer (k [kvh, max, hd], v) filled to pos0
        t = ids.shape[0]
        x = emb[ids]
        for L, (kc, vc) in zip(layers, cache):
            n = rms(x, L["n1"])
            q = rope(F.linear(n, L["q"]).view(t, h, hd).transpose(0, 1), pos0)
            k = rope(F.linear(n, L["k"]).view(t, kvh, hd).transpose(0, 1), pos0)
            kc[:, pos0:pos0 + t] = k
            vc[:, pos0:pos0 + t] = F.linear(n, L["v"]).view(t, kvh, hd).transpose(0, 1)
            keys = kc[:, :pos0 + t].repeat_interleave(h // kvh, 0)
            values = vc[:, :pos0 + t].repeat_interleave(h // kvh, 0)
            scores = q @ keys.transpose(1, 2) / math.sqrt(hd)  # [h, t, s]
            if t > 1:
                causal = torch.ones(t, pos0 + t, dtype=torch.bool).tril(pos0)
                scores = scores.masked_fill(~causal, float("-inf"))
            att = (F.softmax(scores, -1) @ values).transpose(0, 1).reshape(t, h * hd)
            x = x + F.linear(att, L["o"])
            x = x + moe(L, rms(x, L["n2"]))
        return F.linear(rms(x[-1:], norm), head)

    gen = torch.Generator().manual_seed(2)
    prompt = torch.randint(0, c["vocab"], (args.prompt_tokens,), generator=gen)

    def run():
        cache = [(torch.zeros(kvh, max_len, hd), torch.zeros(kvh, max_len, hd)) for _ in layers]
        with torch.inference_mode():
            t0 = time.perf_counter()
            nxt = int(forward(prompt, cache, 0).argmax())
            t1 = time.perf_counter()
            pos = args.prompt_tokens
            for _ in range(args.gen_tokens):
                nxt = int(forward(torch.tensor([nxt]), cache, pos).argmax())
                pos += 1
            t2 = time.perf_counter()
        return args.prompt_tokens / (t1 - t0), args.gen_tokens / (t2 - t1)

    run()
    runs = [run() for _ in range(args.repeats)]
    return max(r[0] for r in runs), max(r[1] for r in runs)


def moe4j_generate(c, args):
    cmd = [os.path.join(ROOT, "moe4j"), "bench", "generate", "--json", "--preset", args.preset,
           "--vocab", str(c["vocab"]), "--dim", str(c["dim"]), "--layers", str(c["layers"]),
           "--heads", str(c["heads"]), "--kv-heads", str(c["kv_heads"]), "--experts", str(c["experts"]),
           "--top-k", str(c["top_k"]), "--ffn", str(c["ffn"]), "--prompt-tokens", str(args.prompt_tokens),
           "--gen-tokens", str(args.gen_tokens), "--threads", str(args.threads), "--repeats", str(args.repeats)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    line = json.loads(out.strip().splitlines()[-1])
    return line["promptTokensPerSecond"], line["genTokensPerSecond"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preset", choices=sorted(PRESETS), default="small")
    for name in ("vocab", "dim", "layers", "heads", "kv-heads", "experts", "top-k", "ffn"):
        p.add_argument("--" + name, type=int)
    p.add_argument("--prompt-tokens", type=int, default=128)
    p.add_argument("--gen-tokens", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3, help="timed runs per peer per round (best taken)")
    args = p.parse_args()
    c = config(args)
    print("model", json.dumps(c), "prompt", args.prompt_tokens, "gen", args.gen_tokens, "threads", args.threads)
    best = {"torch": (0, 0), "moe4j": (0, 0)}
    for r in range(args.rounds):
        t = torch_generate(c, args)
        m = moe4j_generate(c, args)
        load = os.getloadavg()[0]
        print(f"round {r + 1}: torch prompt {t[0]:.0f} tok/s gen {t[1]:.1f} tok/s | moe4j prompt {m[0]:.0f} tok/s "
              f"gen {m[1]:.1f} tok/s | ratio prompt {m[0] / t[0]:.2f}x gen {m[1] / t[1]:.2f}x | load {load:.2f}",
              flush=True)
        best = {k: tuple(max(a, b) for a, b in zip(best[k], v)) for k, v in (("torch", t), ("moe4j", m))}
    t, m = best["torch"], best["moe4j"]
    print(f"best: torch prompt {t[0]:.0f} gen {t[1]:.1f} tok/s; moe4j prompt {m[0]:.0f} gen {m[1]:.1f} tok/s; "
          f"moe4j/torch prompt {m[0] / t[0]:.2f}x, gen {m[1] / t[1]:.2f}x")


if __name__ == "__main__":
    main()
