#!/usr/bin/env bash
# Builds llama.cpp beside the project as an independent oracle and speed peer for moe4j's GGUF support:
# llama-bench, llama-tokenize, tools/llamacpp/logits.c (logits of every prompt position + greedy tokens) and
# tools/llamacpp/tokens.c (token ids and decoded text, for tools/golden/make_llamacpp_converted_fixtures.py).
# The source comes from the npm package node-llama-cpp, which bundles llama.cpp as a git bundle (npm is
# reachable from this machine; GitHub is not). Usage: tools/llamacpp/build.sh [DIR] (default: ../llama.cpp-oracle)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:-$here/../../../llama.cpp-oracle}"
version=3.22.1 # node-llama-cpp; it bundles llama.cpp tag v0.5.0 (commit de3ff81)
mkdir -p "$dir"
cd "$dir"
if [ ! -d src ]; then
    [ -f package.json ] || npm init -y >/dev/null
    NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --ignore-scripts --no-audit --no-fund "node-llama-cpp@$version" >/dev/null
    git clone -q node_modules/node-llama-cpp/llama/gitRelease.bundle src
fi
cd src
cmake -B build -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_SERVER=OFF -DBUILD_SHARED_LIBS=OFF >/dev/null
cmake --build build -j "$(nproc)" --target llama-bench llama-tokenize llama >/dev/null
libs=$(find build -name 'libllama.a' -o -name 'libggml*.a' | sort -r | tr '\n' ' ')
g++ -O2 -x c "$here/logits.c" -x none -Iinclude -Iggml/include -o build/bin/moe4j-logits \
    -Wl,--start-group $libs -Wl,--end-group -fopenmp -lpthread -lm
g++ -O2 -x c "$here/tokens.c" -x none -Iinclude -Iggml/include -o build/bin/moe4j-tokens \
    -Wl,--start-group $libs -Wl,--end-group -fopenmp -lpthread -lm
echo "built: $PWD/build/bin/llama-bench, llama-tokenize, moe4j-logits and moe4j-tokens"
