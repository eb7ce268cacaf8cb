#!/usr/bin/env bash
# K-quant GGUF files made by llama.cpp's own llama-quantize, with llama.cpp's logits on them, for LlamaCppKQuantTest:
# a small random LLAMA MoE (LlamaCppKQuantTest.config(): dModel 256 so its input-side rows fill 256-value
# super-blocks) is written by moe4j as F32, then quantized by llama-quantize
#   q4_k_m  the standard Q4_K_M mix (Q4_K, Q6_K; Q5_0 and Q8_0 where a row of 32 values cannot hold a super-block)
#   mixed   one tensor each in Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q4_1, Q5_0, Q5_1 (--tensor-type overrides)
# and each file is run through tools/llamacpp/logits.c (f32 KV cache, no flash attention, 2 threads). The quantized
# files (tens of KB), llama.cpp's logits [positions, vocab] (float32 LE) and 8 greedy tokens are stored under
# moe4j-core/src/test/resources/llamacpp-kquants/<name>/.
# Usage: tools/golden/make_llamacpp_kquant_fixtures.sh [LLAMA_BIN_DIR] (default ../llama.cpp-oracle/src/build/bin;
# build llama-quantize there with: cmake --build build --target llama-quantize)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${1:-$root/../llama.cpp-oracle/src/build/bin}"
for tool in moe4j-logits llama-quantize; do
    [ -x "$bin/$tool" ] || { echo "no $bin/$tool: see tools/llamacpp/build.sh" >&2; exit 1; }
done
source "$root/tools/find-jdk.sh"
ids=1,5,9,2,7,3,11,4 # LlamaCppGoldenTest.PROMPT
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
source "$root/tools/golden/core-test-classpath.sh"
"$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -cp "$cp" org.moe4j.io.gguf.LlamaCppKQuantTest "$tmp/base.gguf"
"$bin/llama-quantize" "$tmp/base.gguf" "$tmp/q4_k_m.gguf" Q4_K_M 2 >"$tmp/q4_k_m.log" 2>&1
"$bin/llama-quantize" --token-embedding-type q2_K --output-tensor-type q3_K --tensor-type attn_q=q4_K \
    --tensor-type attn_k=q5_K --tensor-type attn_v=q6_K --tensor-type attn_output=q4_1 \
    --tensor-type ffn_down_exps=q5_1 --tensor-type ffn_gate_exps=q5_0 --tensor-type ffn_up_exps=q4_K \
    "$tmp/base.gguf" "$tmp/mixed.gguf" Q4_K_M 2 >"$tmp/mixed.log" 2>&1
for name in q4_k_m mixed; do
    out="$root/moe4j-core/src/test/resources/llamacpp-kquants/$name"
    mkdir -p "$out"
    cp "$tmp/$name.gguf" "$out/model.gguf"
    "$bin/moe4j-logits" "$tmp/$name.gguf" "$ids" "$out/logits.f32" 8 2 2>"$tmp/$name.run.log" \
        | sed -n 's/^greedy: //p' >"$out/greedy.txt"
    rm -f "$out/logits.f32.json"
    echo "$name: $(grep -c 'converting to' "$tmp/$name.log") tensors quantized, greedy $(cat "$out/greedy.txt")"
    grep -o 'converting to *[a-z0-9_A-Z]*' "$tmp/$name.log" | sort | uniq -c
done
