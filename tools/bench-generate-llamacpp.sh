#!/usr/bin/env bash
# Times prompt processing and generation of one GGUF file with llama.cpp's llama-bench and with
# `moe4j bench generate --model`, interleaved (llama.cpp, moe4j, llama.cpp, moe4j ...) so that both see the same
# machine load, and prints tokens/s of each, the ratios moe4j / llama.cpp and the load average.
# Usage: tools/bench-generate-llamacpp.sh FILE.gguf [rounds]   (env: THREADS=2, PROMPT=128, GEN=64, REPS=3,
#        WARMUP=30, LLAMA_BENCH=path, MOE4J_JAVA_OPTS for the JVM). llama.cpp keeps its KV cache in f16 (llama-bench
#        accepts no f32 cache type), moe4j in f32.
# Both are timed warm: llama-bench after its warm-up run, moe4j after WARMUP seconds of untimed runs. A fresh JVM
# runs the Vector API kernels in the JIT's lower tiers at first (the first 128-token prompt of the 0.7 GB Q8_0
# model takes about 6 s), and with both cores busy the JIT settles only after some 20 s; a shorter warm-up times
# the JIT rather than the kernels.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
file="${1:?usage: $0 FILE.gguf [rounds]}"
rounds="${2:-2}"
threads="${THREADS:-2}" prompt="${PROMPT:-128}" gen="${GEN:-64}" reps="${REPS:-3}" warmup="${WARMUP:-30}"
bench="${LLAMA_BENCH:-/work/llama.cpp-oracle/src/build/bin/llama-bench}"
[ -x "$bench" ] || { echo "llama-bench not found at $bench; build it with tools/llamacpp/build.sh or set LLAMA_BENCH" >&2; exit 1; }

llama() { # prints "prompt_tps gen_tps"; pp and tg as separate runs (together, this build's tg came out ~30x slow)
  { "$bench" -m "$file" -p "$prompt" -n 0 -t "$threads" -r "$reps" -o jsonl 2>/dev/null
    "$bench" -m "$file" -p 0 -n "$gen" -t "$threads" -r "$reps" -o jsonl 2>/dev/null; } |
    python3 -c 'import sys, json
p = g = 0
for line in sys.stdin:
    r = json.loads(line)
    if r.get("n_prompt", 0) > 0: p = r["avg_ts"]
    if r.get("n_gen", 0) > 0: g = r["avg_ts"]
print(p, g)'
}
moe4j() {
  "$root/moe4j" bench generate --model "$file" --prompt-tokens "$prompt" --gen-tokens "$gen" --repeats "$reps" \
    --warmup "$warmup" --threads "$threads" --json | python3 -c 'import sys, json
r = json.loads(sys.stdin.read().strip().splitlines()[-1])
print(r["meanPromptTokensPerSecond"], r["meanGenTokensPerSecond"])'
}

echo "file $file, $threads threads, prompt $prompt, generation $gen, $reps repetitions, moe4j warm-up $warmup s, $rounds rounds"
for ((i = 1; i <= rounds; i++)); do
  read -r lp lg < <(llama)
  read -r mp mg < <(moe4j)
  load="$(cut -d' ' -f1-3 /proc/loadavg)"
  python3 -c "import sys
lp, lg, mp, mg = map(float, sys.argv[1:5])
print(f'round {sys.argv[5]}: prompt llama.cpp {lp:.1f} moe4j {mp:.1f} tokens/s (x{mp / lp:.2f}); '
      f'generation llama.cpp {lg:.2f} moe4j {mg:.2f} tokens/s (x{mg / lg:.2f}); load {sys.argv[6]}')" \
    "$lp" "$lg" "$mp" "$mg" "$i" "$load"
done
