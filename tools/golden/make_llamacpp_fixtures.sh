#!/usr/bin/env bash
# llama.cpp's logits and greedy tokens on GGUF files written by moe4j, as fixtures for LlamaCppGoldenTest:
# a random model of each MoE architecture (llama, qwen2moe, qwen3moe, olmoe, deepseek), F32 and Q8_0, is written
# by the test class's main(), run through llama.cpp's tools/llamacpp/logits.c (f32 KV cache, no flash attention,
# 2 threads), and its logits [positions, vocab] (float32 LE) and 8 greedy tokens are stored under
# moe4j-core/src/test/resources/llamacpp/<arch>-<type>/. The GGUF files themselves are not stored: the test
# writes them again from the same seed.
# Usage: tools/golden/make_llamacpp_fixtures.sh [LLAMA_BIN_DIR] (default ../llama.cpp-oracle/src/build/bin)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${1:-$root/../llama.cpp-oracle/src/build/bin}"
[ -x "$bin/moe4j-logits" ] || { echo "no $bin/moe4j-logits: build it with tools/llamacpp/build.sh" >&2; exit 1; }
source "$root/tools/find-jdk.sh"
ids=1,5,9,2,7,3,11,4 # LlamaCppGoldenTest.PROMPT
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
source "$root/tools/golden/core-test-classpath.sh"
"$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -cp "$cp" org.moe4j.io.gguf.LlamaCppGoldenTest "$tmp"
for gguf in "$tmp"/*.gguf; do
    name="$(basename "$gguf" .gguf)"
    out="$root/moe4j-core/src/test/resources/llamacpp/$name"
    mkdir -p "$out"
    "$bin/moe4j-logits" "$gguf" "$ids" "$out/logits.f32" 8 2 2>"$tmp/$name.log" | sed -n 's/^greedy: //p' >"$out/greedy.txt"
    rm -f "$out/logits.f32.json"
    echo "$name: greedy $(cat "$out/greedy.txt")"
done
