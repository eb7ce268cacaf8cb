#!/usr/bin/python3
"""Float32 GEMM speed of moe4j next to NumPy (OpenBLAS), measured in the same run.

Usage: /usr/bin/python3 tools/bench-sgemm.py [--sizes 1024,2048] [--threads 2] [--rounds 3]

For each square size it times numpy.dot on float32 and `./moe4j bench matmul --m M --n N --k K --threads T
--json` (which prints one JSON line with op, m, n, k, threads, ms, gflops), alternating the two for several
rounds, and prints the best GFLOP/s of each, the spread, and the ratio moe4j / numpy.

The peer needs NumPy on an optimized BLAS, and threadpoolctl to report which one ran. On Debian/Ubuntu:

    sudo apt-get install python3-numpy libopenblas0-pthread python3-threadpoolctl

NumPy runs in a child process with OPENBLAS_NUM_THREADS set to the thread count and OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE removed: some machines set those so that old OpenBLAS builds pick a safe (slower) kernel; a
current OpenBLAS should pick its own when benchmarked. The child reports which BLAS and kernel it ran, so a
reference BLAS is not mistaken for OpenBLAS.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def numpy_child(size, repeats):
    """Runs in the child: times numpy float32 dot and prints one JSON line."""
    import numpy as np

    rng = np.random.default_rng(1)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    np.dot(a, b)  # warm-up: thread start, page faults
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.dot(a, b)
        best = min(best, time.perf_counter() - start)
    blas = "unknown (install python3-threadpoolctl to see)"
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(
            "%s %s (%s threads)" % (i.get("internal_api"), i.get("architecture", "?"), i.get("num_threads"))
            for i in threadpool_info() if i.get("user_api") == "blas") or "no BLAS pool found (reference BLAS?)"
    except ImportError:
        pass
    print(json.dumps({"ms": best * 1e3, "gflops": 2.0 * size ** 3 / best / 1e9, "blas": blas}))


def run_numpy(size, threads, repeats):
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--numpy-child", str(size), "--repeats",
                          str(repeats)], env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_moe4j(launcher, size, threads):
    cmd = [launcher, "bench", "matmul", "--m", str(size), "--n", str(size), "--k", str(size),
           "--threads", str(threads), "--json"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit("moe4j failed (%s): %s" % (" ".join(cmd), (proc.stderr or proc.stdout).strip()))
    for line in reversed(proc.stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    sys.exit("moe4j printed no JSON line: " + proc.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1024,2048", help="square sizes, comma-separated")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="alternating numpy/moe4j rounds; best is kept")
    parser.add_argument("--repeats", type=int, default=5, help="numpy calls timed per round")
    parser.add_argument("--moe4j", default=os.path.join(ROOT, "moe4j"), help="the moe4j launcher")
    parser.add_argument("--numpy-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.numpy_child:
        numpy_child(args.numpy_child, args.repeats)
        return
    if not os.path.exists(args.moe4j):
        sys.exit("no launcher at %s: build the CLI first (or pass --moe4j)" % args.moe4j)
    print("threads %d, %d rounds, best GFLOP/s (spread min-max over rounds)" % (args.threads, args.rounds))
    for size in (int(s) for s in args.sizes.split(",")):
        ours, theirs, blas = [], [], None
        for _ in range(args.rounds):
            np_result = run_numpy(size, args.threads, args.repeats)
            blas = np_result["blas"]
            theirs.append(np_result["gflops"])
            ours.append(run_moe4j(args.moe4j, size, args.threads)["gflops"])
        print("%5d^3  numpy %7.1f (%.1f-%.1f)  moe4j %7.1f (%.1f-%.1f)  ratio %.2f   [numpy BLAS: %s]" % (
            size, max(theirs), min(theirs), max(theirs), max(ours), min(ours), max(ours),
            max(ours) / max(theirs), blas))


if __name__ == "__main__":
    main()
