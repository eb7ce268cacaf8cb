#!/usr/bin/python3
"""Training images/s of moe4j's Fashion-MNIST CNNs next to the same models in PyTorch, measured in the same run.

Usage: /usr/bin/python3 tools/bench-cnn-torch.py [--data DIR] [--threads 2] [--batch 64] [--steps 150]
       [--rounds 2]

The models (the shapes `moe4j train --model moe-cnn|dense-cnn --width 256 --hidden 512` builds on 28x28 images):
  trunk   per stage a 3x3 "same" convolution (32, then 64 channels), 2x2 max pooling and ReLU;
  head    flatten, Linear to 256 and ReLU, one pre-norm residual block h + ffn(LayerNorm(h)), LayerNorm, Linear to
          10 classes;
  moe     the block's ffn is an MoE of 8 GELU experts with biases (256 -> 512 -> 256), softmax router, top-2
          renormalized, Switch balance loss weighted 0.01; PyTorch runs it as Hugging Face does (a loop over the
          experts with index_add_);
  dense   the ffn is one GELU MLP 256 -> 1024 -> 256 (the same active parameters).
Both train with AdamW (lr 0.002) on random images and labels (speed does not depend on the pixels). moe4j trains
on the real data (`--data`, default $MOE4J_DATA/fashion-mnist or /usr/share/datasets/fashion-mnist), and its
figure is the median of the per-step images/s in its metrics log after the first 30 steps (warm-up), so the
evaluation pass at the end is not counted. Rounds alternate PyTorch and moe4j; each prints the load average.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARMUP_STEPS = 30


def torch_images_per_second(kind, args):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    width, hidden, experts, k = 256, 512, 8, 2

    class Moe(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.router = torch.nn.Linear(width, experts, bias=False)
            self.up = torch.nn.ModuleList(torch.nn.Linear(width, hidden) for _ in range(experts))
            self.down = torch.nn.ModuleList(torch.nn.Linear(hidden, width) for _ in range(experts))
            self.aux = None

        def forward(self, x):
            probs = F.softmax(self.router(x), dim=-1)
            gates, chosen = torch.topk(probs, k, dim=-1)
            gates = gates / gates.sum(dim=-1, keepdim=True)
            out = torch.zeros_like(x)
            mask = F.one_hot(chosen, experts).permute(2, 1, 0)  # [experts, k, rows]
            for e in range(experts):
                slot, rows = torch.where(mask[e])
                if rows.numel() == 0:
                    continue
                y = self.down[e](F.gelu(self.up[e](x[rows]))) * gates[rows, slot, None]
                out.index_add_(0, rows, y)
            share = F.one_hot(chosen, experts).float().sum(dim=1).mean(dim=0) / k
            self.aux = 0.01 * experts * (share * probs.mean(dim=0)).sum()
            return out

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv0 = torch.nn.Conv2d(1, 32, 3, padding=1)
            self.conv1 = torch.nn.Conv2d(32, 64, 3, padding=1)
            self.proj = torch.nn.Linear(64 * 7 * 7, width)
            self.norm0 = torch.nn.LayerNorm(width)
            self.ffn = Moe() if kind == "moe" else torch.nn.Sequential(
                torch.nn.Linear(width, k * hidden), torch.nn.GELU(), torch.nn.Linear(k * hidden, width))
            self.norm1 = torch.nn.LayerNorm(width)
            self.classifier = torch.nn.Linear(width, 10)

        def forward(self, x):
            h = F.relu(F.max_pool2d(self.conv0(x), 2))
            h = F.relu(F.max_pool2d(self.conv1(h), 2))
            h = F.relu(self.proj(h.flatten(1)))
            h = h + self.ffn(self.norm0(h))
            return self.classifier(self.norm1(h))

    net = Net()
    opt = torch.optim.AdamW(net.parameters(), lr=0.002, weight_decay=0.01)
    gen = torch.Generator().manual_seed(2)
    times = []
    for step in range(args.steps):
        x = torch.randn(args.batch, 1, 28, 28, generator=gen)
        y = torch.randint(0, 10, (args.batch,), generator=gen)
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        if kind == "moe":
            loss = loss + net.ffn.aux
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return statistics.median(args.batch / t for t in times[WARMUP_STEPS:])


def moe4j_images_per_second(kind, args):
    with tempfile.TemporaryDirectory() as out:
        command = [os.path.join(ROOT, "moe4j"), "train", "--model", kind + "-cnn", "--data",
                   "fashion-mnist:" + args.data, "--width", "256", "--hidden", "512", "--batch", str(args.batch),
                   "--epochs", "1", "--max-steps", str(args.steps), "--threads", str(args.threads), "--out", out]
        subprocess.run(command, check=True, capture_output=True, text=True)
        with open(os.path.join(out, "metrics.jsonl")) as f:
            steps = [json.loads(line) for line in f if '"type":"step"' in line.replace(" ", "")]
    return statistics.median(s["itemsPerSecond"] for s in steps[WARMUP_STEPS:])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_data = os.path.join(os.environ.get("MOE4J_DATA", "/usr/share/datasets"), "fashion-mnist")
    parser.add_argument("--data", default=default_data)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="moe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_only:  # a child process, so each PyTorch run starts cold like moe4j's
        print(json.dumps(torch_images_per_second(args.kind, args)))
        return

    results = {}
    for r in range(args.rounds):
        for kind in ["moe", "dense"]:
            child = subprocess.run(["/usr/bin/python3", __file__, "--torch-only", "--kind", kind, "--threads",
                                    str(args.threads), "--batch", str(args.batch), "--steps", str(args.steps)],
                                   check=True, capture_output=True, text=True)
            results.setdefault("torch " + kind, []).append(json.loads(child.stdout))
            results.setdefault("moe4j " + kind, []).append(moe4j_images_per_second(kind, args))
        print("round %d (load %.1f): %s" % (r + 1, os.getloadavg()[0], ", ".join(
            "%s %.0f" % (name, values[-1]) for name, values in results.items())) + " images/s", flush=True)

    best = {name: max(values) for name, values in results.items()}
    print("\ntraining images/s, batch %d, %d threads (best round of %d):" % (args.batch, args.threads, args.rounds))
    for name, value in best.items():
        print("  %-12s %7.0f" % (name, value))
    for kind in ["moe", "dense"]:
        print("  moe4j / torch, %s: %.2f" % (kind, best["moe4j " + kind] / best["torch " + kind]))


if __name__ == "__main__":
    main()
