#!/usr/bin/python3
"""Training tokens/s of moe4j's MoE language model next to the same model in PyTorch, measured in the same run.

Usage: /usr/bin/python3 tools/bench-lm-train-torch.py [--data kjv.txt] [--preset small|tiny] [--seq 256]
       [--batch 16] [--steps 40] [--threads 2] [--rounds 2]

The model is moe4j's TransformerLm with the preset's sizes (small: byte vocabulary 259, d_model 256, 4 layers, 4 heads
of 64, 8 SwiGLU experts top-2 with hidden 512, untied head; see tools/golden/make_lm_fixtures.py for the
architecture op by op). PyTorch runs it with nn.Parameters, causal attention over [batch, heads, seq, seq], the
experts as Hugging Face's Mixtral block does (a loop over experts with index_add_), the Switch balance loss weighted
0.01, and AdamW (lr 1e-3, weight decay 0.1) with gradient clipping at 1; batches are random windows of the text's
bytes. moe4j runs `./moe4j train --model moe-lm --data text:FILE --preset P --seq-len S --batch B --max-steps N`.
Each side's figure is the median tokens/s (batch * seq per step) over the steps after the first 10 (warm-up).
Rounds alternate PyTorch and moe4j; each prints the load average.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARMUP_STEPS = 10
PRESETS = {
    "tiny": dict(vocab=259, dim=64, layers=2, heads=4, kv_heads=2, experts=4, top_k=2, ffn=128),
    "small": dict(vocab=259, dim=256, layers=4, heads=4, kv_heads=4, experts=8, top_k=2, ffn=512),
}


def torch_tokens_per_second(args):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    c = PRESETS[args.preset]
    d, h, kvh, e, f, k = c["dim"], c["heads"], c["kv_heads"], c["experts"], c["ffn"], c["top_k"]
    hd = d // h

    def param(*shape, std):
        return torch.nn.Parameter(torch.randn(*shape) * std)

    class Layer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.n1, self.n2 = torch.nn.Parameter(torch.ones(d)), torch.nn.Parameter(torch.ones(d))
            self.q, self.k = param(h * hd, d, std=d ** -0.5), param(kvh * hd, d, std=d ** -0.5)
            self.v, self.o = param(kvh * hd, d, std=d ** -0.5), param(d, h * hd, std=(h * hd) ** -0.5)
            self.router = param(e, d, std=d ** -0.5)
            self.w1 = torch.nn.ParameterList(param(f, d, std=d ** -0.5) for _ in range(e))
            self.w3 = torch.nn.ParameterList(param(f, d, std=d ** -0.5) for _ in range(e))
            self.w2 = torch.nn.ParameterList(param(d, f, std=f ** -0.5) for _ in range(e))

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = param(c["vocab"], d, std=0.02)
            self.layers = torch.nn.ModuleList(Layer() for _ in range(c["layers"]))
            self.norm = torch.nn.Parameter(torch.ones(d))
            self.head = param(c["vocab"], d, std=d ** -0.5)
            inv = 1.0 / (10000.0 ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
            ang = torch.arange(args.seq, dtype=torch.float64)[:, None] * inv[None, :]
            self.cos = torch.cat((ang, ang), -1).cos().float()
            self.sin = torch.cat((ang, ang), -1).sin().float()

        def rms(self, x, w):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w

        def rope(self, x):  # [b, heads, t, hd]
            half = hd // 2
            return x * self.cos + torch.cat((-x[..., half:], x[..., :half]), -1) * self.sin

        def moe(self, L, x):  # x [n, d]
            probs = F.softmax(F.linear(x, L.router), dim=-1)
            gates, chosen = torch.topk(probs, k, dim=-1)
            gates = gates / gates.sum(-1, keepdim=True)
            out = torch.zeros_like(x)
            mask = F.one_hot(chosen, e).permute(2, 1, 0)
            for ex in range(e):
                slot, tok = torch.where(mask[ex])
                if tok.numel() == 0:
                    continue
                xs = x[tok]
                y = F.linear(F.silu(F.linear(xs, L.w1[ex])) * F.linear(xs, L.w3[ex]), L.w2[ex])
                out.index_add_(0, tok, y * gates[tok, slot, None])
            share = F.one_hot(chosen, e).float().sum(1).mean(0) / k
            return out, 0.01 * e * (share * probs.mean(0)).sum()

        def forward(self, ids):  # [b, t]
            b, t = ids.shape
            x = self.emb[ids]
            aux = 0.0
            causal = torch.ones(t, t, dtype=torch.bool).tril()
            for L in self.layers:
                n = self.rms(x, L.n1)
                q = self.rope(F.linear(n, L.q).view(b, t, h, hd).transpose(1, 2))
                kk = self.rope(F.linear(n, L.k).view(b, t, kvh, hd).transpose(1, 2)).repeat_interleave(h // kvh, 1)
                v = F.linear(n, L.v).view(b, t, kvh, hd).transpose(1, 2).repeat_interleave(h // kvh, 1)
                s = (q @ kk.transpose(-1, -2) / math.sqrt(hd)).masked_fill(~causal, float("-inf"))
                x = x + F.linear((F.softmax(s, -1) @ v).transpose(1, 2).reshape(b, t, h * hd), L.o)
                y, a = self.moe(L, self.rms(x, L.n2).reshape(b * t, d))
                x = x + y.view(b, t, d)
                aux = aux + a
            return F.linear(self.rms(x, self.norm), self.head), aux

    model = Model()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    with open(args.data, "rb") as fh:
        data = torch.tensor(list(fh.read()), dtype=torch.long)
    gen = torch.Generator().manual_seed(2)
    rates = []
    for step in range(args.steps):
        starts = torch.randint(0, len(data) - args.seq - 1, (args.batch,), generator=gen)
        window = torch.stack([data[s:s + args.seq + 1] for s in starts.tolist()])
        t0 = time.perf_counter()
        opt.zero_grad()
        logits, aux = model(window[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, c["vocab"]), window[:, 1:].reshape(-1)) + aux
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        rates.append(args.batch * args.seq / (time.perf_counter() - t0))
    return statistics.median(rates[WARMUP_STEPS:])


def moe4j_tokens_per_second(args):
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([os.path.join(ROOT, "moe4j"), "train", "--model", "moe-lm", "--data", "text:" + args.data,
                        "--preset", args.preset, "--seq-len", str(args.seq), "--batch", str(args.batch), "--max-steps",
                        str(args.steps), "--eval-every", "0", "--eval-tokens", "2048", "--threads", str(args.threads),
                        "--out", out], check=True, capture_output=True, text=True)
        with open(os.path.join(out, "metrics.jsonl")) as f:
            steps = [json.loads(line) for line in f if json.loads(line).get("type") == "step"]
    return statistics.median(s["itemsPerSecond"] for s in steps[WARMUP_STEPS:])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "kjv.txt"))
    parser.add_argument("--preset", default="small", choices=sorted(PRESETS))
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_only:  # a child process, so each PyTorch run starts cold like moe4j's
        print(json.dumps(torch_tokens_per_second(args)))
        return
    torch_rates, moe4j_rates = [], []
    for r in range(args.rounds):
        child = subprocess.run(["/usr/bin/python3", os.path.abspath(__file__), "--torch-only", "--data", args.data,
                                "--preset", args.preset, "--seq", str(args.seq), "--batch", str(args.batch),
                                "--steps", str(args.steps), "--threads", str(args.threads)],
                               check=True, capture_output=True, text=True)
        torch_rates.append(json.loads(child.stdout))
        moe4j_rates.append(moe4j_tokens_per_second(args))
        print("round %d (load %.1f): torch %.0f, moe4j %.0f tokens/s" % (r + 1, os.getloadavg()[0], torch_rates[-1],
                                                                         moe4j_rates[-1]), flush=True)
    print("\n%s preset, seq %d, batch %d, %d threads: torch %.0f, moe4j %.0f tokens/s (best rounds); moe4j / torch %.2f"
          % (args.preset, args.seq, args.batch, args.threads, max(torch_rates), max(moe4j_rates),
             max(moe4j_rates) / max(torch_rates)))


if __name__ == "__main__":
    main()
