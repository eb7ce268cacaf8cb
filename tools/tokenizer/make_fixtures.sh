#!/usr/bin/env bash
# Golden fixtures for the byte-level BPE tokenizer, from an implementation we did not write: Hugging Face's
# tokenizers (the Rust library 0.22.2, through the npm package @anush008/tokenizers 0.6.0, which ships it prebuilt;
# Debian has no python3-tokenizers). moe4j trains a small tokenizer on a slice of kjv.txt and writes its
# tokenizer.json; Hugging Face loads it (and variants: legacy "a b" merges, Qwen-style Split + NFC, prefix space,
# ignore_merges) and records the ids of a set of texts and the text of some invalid UTF-8 decodes. sp_fixtures.js does
# the same for a SentencePiece-style BPE with byte fallback (hf_sp_ids.json, sp_*.tokenizer.json).
# Run from the repository root: tools/tokenizer/make_fixtures.sh [path/to/kjv.txt]
# It rewrites moe4j-core/src/test/resources/tokenizer/. Needs node and npm (for the reference only).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
kjv="${1:-}"
if [ -z "$kjv" ]; then # shared/data/kjv.txt in the repository root or a folder above
  d="$root"
  while [ "$d" != "/" ] && [ ! -f "$d/shared/data/kjv.txt" ]; do d="$(dirname "$d")"; done
  kjv="$d/shared/data/kjv.txt"
fi
[ -f "$kjv" ] || { echo "no kjv.txt: pass its path" >&2; exit 1; }
out="$root/moe4j-core/src/test/resources/tokenizer"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$root"
tools/mvn -o -pl moe4j-core compile
cp_file="$work/cp.txt"
tools/mvn -pl moe4j-core dependency:build-classpath -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=compile
source tools/find-jdk.sh
mkdir -p "$out"
java -cp "moe4j-core/target/classes:$(cat "$cp_file")" tools/tokenizer/MakeFixtureTokenizer.java "$kjv" "$work/base.json"
(cd "$work" && npm init -y >/dev/null && npm install --silent @anush008/tokenizers@0.6.0)
NODE_PATH="$work/node_modules" node tools/tokenizer/hf_fixtures.js "$work/base.json" "$kjv" "$out"
# SentencePiece-style BPE with byte fallback (Llama/Mistral layout): the script learns its merges itself.
NODE_PATH="$work/node_modules" node tools/tokenizer/sp_fixtures.js "$kjv" "$out"
