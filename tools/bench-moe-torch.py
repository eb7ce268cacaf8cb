#!/usr/bin/python3
"""MoE layer speed of moe4j next to PyTorch's Hugging Face-style expert loop, measured in the same run.

Usage: /usr/bin/python3 tools/bench-moe-torch.py [--dim 512] [--hidden 1024] [--experts 8] [--top-k 2]
       [--tokens 4096] [--threads 2] [--rounds 3] [--seconds 5] [--forward-only]

Each round times, one after another:
  torch    the Mixtral sparse block as Hugging Face writes it (router, softmax, top-k, then for each expert:
           torch.where on the expert mask, index the tokens, SwiGLU expert w2(silu(w1 x) * w3 x), scale by the
           gates, index_add_ back), torch.set_num_threads(threads);
  grouped  ./moe4j bench moe --impl grouped --json (moe4j's grouped GEMM path);
  naive    ./moe4j bench moe --impl naive --json (moe4j running the same per-expert loop as torch);
  dense    moe4j's --dense-peer: Gemm.sgemm at the shape of one expert's forward GEMM ([tokens*k/experts, dim]
           x [dim, hidden], 1024x1024x512 by default) timed right after each layer iteration in the same JVM,
           so the ratio sees the same load; and torch.matmul at that shape for PyTorch's own ratio.
Forward and backward by default (loss = sum(output * fixed random upstream), the input takes a gradient too).
GFLOP/s count the expert GEMMs only: 6*dim*hidden per assignment forward, three times that with backward.
It prints, per peer, the GFLOP/s of the best round (over its whole timed window) with the spread of the rounds
((best - worst) / best), the GFLOP/s of the fastest single iteration seen, and CPU milliseconds per iteration;
then the ratios by both. The machine is often shared: each round line shows the load average; on a loaded
machine the fastest iterations are the steadier estimate. CPU ms is the calling thread's CPU time for moe4j
(--threads 1: all of its kernel work) and the process's for torch (its OpenMP threads spin while waiting, so
only --threads 1 compares).
PyTorch runs in a child process with glibc malloc told to keep freed memory (TORCH_ENV below); moe4j's JVM
options come from MOE4J_JAVA_OPTS, e.g. "-Xms4g -Xmx4g -XX:+AlwaysPreTouch" for a heap that is faulted in once.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def torch_moe(args):
    """Times the Hugging Face-style loop; returns (mean, best, CPU) ms per iteration."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    dim, hidden, experts, k, tokens = args.dim, args.hidden, args.experts, args.top_k, args.tokens

    class Expert(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w1 = torch.nn.Linear(dim, hidden, bias=False)  # gate
            self.w3 = torch.nn.Linear(dim, hidden, bias=False)  # up
            self.w2 = torch.nn.Linear(hidden, dim, bias=False)  # down

        def forward(self, x):
            return self.w2(F.silu(self.w1(x)) * self.w3(x))

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gate = torch.nn.Linear(dim, experts, bias=False)
            self.experts = torch.nn.ModuleList(Expert() for _ in range(experts))

        def forward(self, h):
            logits = self.gate(h)
            # moe4j's "topk" router: softmax over all experts, then the top k, not renormalised.
            weights, chosen = torch.topk(F.softmax(logits, dim=1, dtype=torch.float), k, dim=-1)
            out = torch.zeros_like(h)
            mask = F.one_hot(chosen, num_classes=experts).permute(2, 1, 0)
            for e in range(experts):
                slot, token = torch.where(mask[e])
                if token.numel() == 0:
                    continue
                y = self.experts[e](h[token]) * weights[token, slot, None]
                out.index_add_(0, token, y)
            return out

    block = Block()
    x = torch.randn(tokens, dim)
    upstream = torch.randn(tokens, dim)

    def step():
        if args.forward_only:
            with torch.no_grad():
                block(x)
        else:
            block.zero_grad(set_to_none=True)
            xin = x.detach().requires_grad_(True)
            block(xin).backward(upstream)

    return timed(step, args.warmup, args.seconds)


def torch_matmul(args, m, n, kk):
    import torch

    torch.set_num_threads(args.threads)
    a = torch.randn(m, kk)
    b = torch.randn(kk, n)
    return timed(lambda: torch.matmul(a, b), args.warmup, args.seconds)


def timed(step, warmup, seconds):
    """(mean, best, process CPU) milliseconds per call over `seconds`, after `warmup` seconds of calls."""
    end = time.perf_counter() + warmup
    while time.perf_counter() < end:
        step()
    calls = 0
    best = float("inf")
    cpu = time.process_time()
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t0)
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return elapsed * 1e3 / calls, best * 1e3, (time.process_time() - cpu) * 1e3 / calls


# glibc hands tensors of a few MiB back to the kernel on free (mmap/munmap, heap trimming), so each iteration
# page-faults its memory in again; on a VM where faults are slow that costs PyTorch more than the arithmetic. A
# fixed mmap threshold and no trimming keep the memory, as moe4j's pre-touched Java heap keeps its own.
TORCH_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 34),
             "MALLOC_TOP_PAD_": str(512 << 20)}


def torch_child(args, what, m=0, n=0, kk=0):
    """Runs a torch timing in a child process with TORCH_ENV; returns (mean, best, CPU) ms."""
    env = dict(os.environ)
    if not args.torch_default_malloc:
        env.update(TORCH_ENV)
    command = [sys.executable, os.path.abspath(__file__), "--child", what, "--dim", str(args.dim), "--hidden",
               str(args.hidden), "--experts", str(args.experts), "--top-k", str(args.top_k), "--tokens",
               str(args.tokens), "--threads", str(args.threads), "--warmup", str(args.warmup), "--seconds",
               str(args.seconds), "--m", str(m), "--n", str(n), "--k", str(kk)]
    if args.forward_only:
        command.append("--forward-only")
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    return tuple(json.loads(out.strip().splitlines()[-1]))


def moe4j(args, *command):
    """Runs `moe4j bench moe ... --dense-peer --json`; returns its JSON line."""
    out = subprocess.run([os.path.join(ROOT, "moe4j"), *command, "--dense-peer", "--threads", str(args.threads),
                          "--warmup", str(args.warmup), "--seconds", str(args.seconds), "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--experts", type=int, default=8)
    p.add_argument("--top-k", type=int, default=2)
    p.add_argument("--tokens", type=int, default=4096)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=float, default=2)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--forward-only", action="store_true")
    p.add_argument("--torch-default-malloc", action="store_true",
                   help="run PyTorch with glibc's default malloc settings (see TORCH_ENV)")
    p.add_argument("--child", choices=["moe", "matmul"], help=argparse.SUPPRESS)
    p.add_argument("--m", type=int, help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--k", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        result = torch_moe(args) if args.child == "moe" else torch_matmul(args, args.m, args.n, args.k)
        print(json.dumps(result))
        return

    flops = 6.0 * args.dim * args.hidden * args.tokens * args.top_k * (1 if args.forward_only else 3)
    # One expert's forward GEMM as a dense problem: its share of the rows, times hidden, times dim.
    m, n, kk = max(1, args.tokens * args.top_k // args.experts), args.hidden, args.dim
    dense_flops = 2.0 * m * n * kk
    layer = ["bench", "moe", "--dim", str(args.dim), "--hidden", str(args.hidden), "--experts", str(args.experts),
             "--top-k", str(args.top_k), "--tokens", str(args.tokens), "--router", "topk"]
    if not args.forward_only:
        layer.append("--backward")
    subprocess.run([os.path.join(ROOT, "moe4j"), "--version"], check=True, capture_output=True)  # build once

    # Per peer and round: (GFLOP/s over the window, GFLOP/s of the fastest iteration, CPU ms per iteration).
    names = ["grouped", "naive", "dense (with grouped)", "dense (with naive)", "torch HF loop", "torch dense"]
    runs = {name: [] for name in names}
    nan = float("nan")
    for r in range(args.rounds):
        torch_mean, torch_best, torch_cpu = torch_child(args, "moe")
        runs["torch HF loop"].append((flops / (torch_mean * 1e6), flops / (torch_best * 1e6), torch_cpu))
        for impl in ["grouped", "naive"]:
            line = moe4j(args, *layer, "--impl", impl)
            runs[impl].append((line["gflops"], line["bestGflops"], line["cpuMs"]))
            runs["dense (with %s)" % impl].append((line["dense"]["gflops"], line["dense"]["bestGflops"], nan))
        dense_mean, dense_best, dense_cpu = torch_child(args, "matmul", m, n, kk)
        runs["torch dense"].append((dense_flops / (dense_mean * 1e6), dense_flops / (dense_best * 1e6),
                                    dense_cpu))
        print("round %d (load %.1f): %s" % (r + 1, os.getloadavg()[0], ", ".join(
            "%s %.1f" % (name, runs[name][-1][0]) for name in names)) + " GFLOP/s", flush=True)

    what = "forward" if args.forward_only else "forward+backward"
    print("\nMoE dim=%d hidden=%d experts=%d top-k=%d tokens=%d, %s, %d threads; dense GEMM %dx%dx%d"
          % (args.dim, args.hidden, args.experts, args.top_k, args.tokens, what, args.threads, m, n, kk))
    print("  %-22s %-30s %-16s %s" % ("GFLOP/s", "best round (spread of rounds)", "fastest iteration",
                                       "CPU ms per iteration (best round)"))
    best_round, fastest = {}, {}
    for name in names:
        window = [run[0] for run in runs[name]]
        best_round[name] = max(window)
        fastest[name] = max(run[1] for run in runs[name])
        cpu = min(run[2] for run in runs[name])
        print("  %-22s %8.1f (%5.1f%%)%16s %8.1f %22s" % (name, best_round[name],
                                                          100 * (max(window) - min(window)) / max(window), "",
                                                          fastest[name], "" if cpu != cpu else "%.1f" % cpu))
    for label, a, b in [("grouped / naive", "grouped", "naive"),
                        ("grouped / torch HF loop", "grouped", "torch HF loop"),
                        ("grouped / dense SGEMM (same process)", "grouped", "dense (with grouped)"),
                        ("naive / dense SGEMM (same process)", "naive", "dense (with naive)"),
                        ("torch HF loop / torch dense", "torch HF loop", "torch dense")]:
        print("  %-38s %5.2f (best rounds)   %5.2f (fastest iterations)" % (
            label, best_round[a] / best_round[b], fastest[a] / fastest[b]))


if __name__ == "__main__":
    main()
