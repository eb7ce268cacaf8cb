#!/usr/bin/python3
"""GGUF files made by llama.cpp's own converter (convert_hf_to_gguf.py), and llama.cpp's tokenizer run on them, as
fixtures for moe4j's GGUF reader (LlamaCppConvertedTest, GgufSentencePieceTest).

Run from the repository root:
    apt-get install python3-sentencepiece python3-tqdm   # Debian 12; python3-torch, -numpy, -yaml are needed too
    /usr/bin/python3 tools/golden/make_llamacpp_converted_fixtures.py [LLAMA_CPP_SRC] [LLAMA_BIN_DIR]
LLAMA_CPP_SRC (default /work/oracle/llama.cpp) holds convert_hf_to_gguf.py and gguf-py; LLAMA_BIN_DIR (default
../llama.cpp-oracle/src/build/bin) holds moe4j-tokens (tools/llamacpp/tokens.c) and llama-tokenize, both built by
tools/llamacpp/build.sh. The converter runs through tools/llamacpp/run_converter.py (our transformers stand-in).

It rewrites moe4j-core/src/test/resources/gguf-converted/:
  <arch>-f32.gguf            the checkpoints of tools/golden/make_hf_fixtures.py (resources hf/<arch>/, whose
                             expected.safetensors holds the PyTorch logits), converted with --outtype f32, each given a
                             tokenizer that fits its 64 ids: Mixtral a SentencePiece tokenizer.model (so the file
                             holds a "llama" vocabulary with scores), the others a byte-level BPE tokenizer.json (a
                             "gpt2" vocabulary, too small to hold all 256 bytes);
  <arch>-q8_0[-fused-qkv].gguf  a Mixtral and a Qwen2-MoE checkpoint with rows of 32 (Q8_0 blocks; the 16-wide
                             fixtures above have none) converted with --outtype q8_0 (Mixtral also with --fuse-qkv,
                             Qwen2-MoE only so), and <arch>-q8_0.expected.safetensors:
                             PyTorch's logits with every weight the file holds as Q8_0 replaced by its Q8_0 round trip
                             (gguf-py's quantizer), "prompt" and "greedy" as in make_hf_fixtures.py;
  vocab-<name>.gguf          --vocab-only conversions of larger tokenizers: qwen2 (resources tokenizer/
                             qwen_style.tokenizer.json), olmo (tokenizer/base.tokenizer.json), llama-hf
                             (tokenizer/sp_base.tokenizer.json, read by gguf-py's LlamaHfVocab: flat scores) and
                             llama-spm (a SentencePiece BPE tokenizer.model trained here on kjv-small with byte
                             fallback, two control symbols and one user-defined token: real scores);
  tokens-<name>.json         llama.cpp's token ids and decoded text for TEXTS on vocab-<name>.gguf and on
                             mixtral-f32.gguf (name "mixtral"), from moe4j-tokens; the plain ids are checked against
                             llama-tokenize here.
"""
import collections
import gzip
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import sentencepiece as spm
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "moe4j-core", "src", "test", "resources", "gguf-converted")
HF = os.path.join(ROOT, "moe4j-core", "src", "test", "resources", "hf")
TOKENIZERS = os.path.join(ROOT, "moe4j-core", "src", "test", "resources", "tokenizer")
KJV = os.path.join(ROOT, "moe4j-core", "src", "main", "resources", "datasets", "kjv-small", "kjv-small.txt.gz")
LLAMA_SRC = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("LLAMA_CPP_SRC", "/work/oracle/llama.cpp")
LLAMA_BIN = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "..", "llama.cpp-oracle", "src", "build", "bin")
RUN_CONVERTER = os.path.join(ROOT, "tools", "llamacpp", "run_converter.py")

sys.path.insert(0, os.path.join(LLAMA_SRC, "gguf-py"))
import gguf  # noqa: E402  (llama.cpp's gguf-py, the converter's own writer and quantizer)


def load_hf_fixtures():
    spec = importlib.util.spec_from_file_location("make_hf_fixtures", os.path.join(ROOT, "tools", "golden",
                                                                                   "make_hf_fixtures.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hf = load_hf_fixtures()
torch.set_num_threads(1)

# The byte-level pre-tokenizer each architecture's real checkpoints have (llama.cpp's tokenizer.ggml.pre names).
PRE = {"qwen2_moe": "qwen2", "qwen3_moe": "qwen2", "olmoe": "olmo", "deepseek": "gpt-2"}
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
               r"|\s+(?!\S)|\s+")

# Texts for the tokenizer fixtures: spaces, digits, unicode that needs byte fallback, control-token text.
TEXTS = [
    "",
    " ",
    "In the beginning God created the heaven and the earth.",
    "And God said, Let there be light: and there was light.",
    "   leading and trailing   ",
    "double  spaces   and    more",
    "lines\nand\n\nnewlines\r\n\ttab",
    "numbers 3.14159 and 1,000 and 2024-06-01 and \u0663\u0664\u0665",
    "Caf\u00e9 na\u00efve fa\u00e7ade \u2014 \u201cquotes\u201d \u2026 \u00bd",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3001\u4e2d\u6587\u3002\ud55c\uad6d\uc5b4",
    "emoji \U0001F44D\U0001F3FD family \U0001F468\u200d\U0001F469\u200d\U0001F467 flag \U0001F1FA\U0001F1F8 \U0001F600!",
    "<s>[INST] What is the LORD? [/INST] He is God.</s>",
    "<s>In the beginning</s><s>",
    "[INST]x[/INST]",
    "call <|tool|>  now and<|tool|>then",
    "Godly God, God's and GodGod God the LORD",
    "<|bos|>hello<|eos|> <|pad|>",
    "weird <s <s> </s and [INST",
    "\u2581already\u2581metaspace \u2581 here",
    "it's I'm we'll you're they've he'd THEY'RE",
    "\u0001\u0002\u007f control",
]


# mixtral-f32.gguf's 64-token vocabulary has no byte tokens: llama.cpp throws (std::out_of_range) on any character
# outside it, so its texts keep to SMALL_TEXT's letters.
SMALL_TEXTS = ["", " ", "in the beginning god created the heaven", "  the face   of the deep  ", "darkness",
               "spirit moved upon the face of the waters"]


def run(cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return result


def convert(model_dir, out, outtype="f32", pre=None, vocab_only=False, extra=()):
    cmd = [sys.executable, RUN_CONVERTER, "--llama-cpp", LLAMA_SRC]
    if pre:
        cmd += ["--pre", pre]
    cmd += ["--outtype", outtype, "--outfile", out, model_dir] + list(extra)
    if vocab_only:
        cmd.append("--vocab-only")
    run(cmd)


# ---- tokenizers for the 64-id checkpoints ---------------------------------------------------------------------

SMALL_TEXT = ("in the beginning god created the heaven and the earth and the earth was without form and void and "
              "darkness was upon the face of the deep and the spirit of god moved upon the face of the waters")


def tiny_byte_level(directory, pre):
    """A byte-level BPE tokenizer.json of 64 ids: three specials, 'Ġ' and a-z, and merges learned from SMALL_TEXT."""
    vocab = {"<|pad|>": 0, "<|bos|>": 1, "<|eos|>": 2}
    for ch in ["\u0120"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]:
        vocab[ch] = len(vocab)
    words = [list(("\u0120" if i else "") + w) for i, w in enumerate(SMALL_TEXT.split(" "))]
    merges = []
    while len(vocab) < 64:
        counts = collections.Counter()
        for w in words:
            counts.update(zip(w, w[1:]))
        (a, b), _ = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append(f"{a} {b}")
        vocab[a + b] = len(vocab)
        for w in words:
            i = 0
            while i < len(w) - 1:
                if w[i] == a and w[i + 1] == b:
                    w[i:i + 2] = [a + b]
                i += 1
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": pre != "qwen2"}
    pre_tokenizer = byte_level if pre != "qwen2" else {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": QWEN2_REGEX}, "behavior": "Isolated", "invert": False}, byte_level]}
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
              "special": True} for t, i in list(vocab.items())[:3]]
    tokenizer = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
                 "pre_tokenizer": pre_tokenizer, "post_processor": None,
                 "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
                 "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                           "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                           "ignore_merges": False, "vocab": vocab, "merges": merges}}
    write_json(os.path.join(directory, "tokenizer.json"), tokenizer)
    write_json(os.path.join(directory, "tokenizer_config.json"), {
        "bos_token": "<|bos|>", "eos_token": "<|eos|>", "pad_token": "<|pad|>", "add_bos_token": False,
        "tokenizer_class": "PreTrainedTokenizerFast"})


def train_sentencepiece(sentences, vocab_size, byte_fallback, control_symbols=()):
    """A SentencePiece BPE model.proto: no normalization (llama.cpp applies none), spaces kept as they are."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(sentences), model_writer=model, vocab_size=vocab_size,
                                   model_type="bpe", character_coverage=1.0, byte_fallback=byte_fallback,
                                   normalization_rule_name="identity", remove_extra_whitespaces=False,
                                   control_symbols=list(control_symbols), num_threads=1, minloglevel=2,
                                   max_sentence_length=100000)
    return model.getvalue()


# ---- the checkpoints -------------------------------------------------------------------------------------------

def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=1)
        f.write("\n")


# llama.cpp's qwen2moe and qwen3moe have no dense layers (the converter cannot map model.layers.0.mlp.*), so those
# two are converted from variants of the hf/ fixtures with every layer MoE, whose logits are computed here.
ALL_MOE = {"qwen2_moe": {"mlp_only_layers": []}, "qwen3_moe": {"decoder_sparse_step": 1}}


def f32_fixtures(work):
    for seed, (arch, spec) in enumerate(hf.MODELS.items(), start=20260601):
        d = os.path.join(work, arch)
        os.makedirs(d)
        if arch in ALL_MOE:
            spec = dict(spec, config=dict(spec["config"], **ALL_MOE[arch]))
            w = hf.make_weights(arch, spec["config"], seed)
            hf.write_checkpoint(d, spec, w)
            expected(arch, spec["config"], {n: hf.stored(t, spec["dtype"]) for n, t in w.items()}, f"{arch}-f32")
        else:
            for name in os.listdir(os.path.join(HF, arch)):
                if name != "expected.safetensors":
                    shutil.copy(os.path.join(HF, arch, name), d)
        if arch == "mixtral":
            with open(os.path.join(d, "tokenizer.model"), "wb") as f:
                f.write(train_sentencepiece(SMALL_TEXT.split(" and "), 64, byte_fallback=False))
        else:
            tiny_byte_level(d, PRE[arch])
        out = os.path.join(OUT, f"{arch}-f32.gguf")
        convert(d, out, "f32", PRE.get(arch))
        print(f"{out}: {os.path.getsize(out)} bytes")


def expected(arch, config, weights, name):
    """PyTorch's logits and greedy tokens for weights (as float32), as <name>.expected.safetensors."""
    hf.MARGINS.clear()
    with torch.no_grad():
        logits = hf.forward(arch, config, weights, torch.tensor([hf.PROMPT]))
        continuation = hf.greedy(arch, config, weights, hf.PROMPT, hf.GREEDY_TOKENS)
    hf.write_safetensors(os.path.join(OUT, f"{name}.expected.safetensors"), {"logits": logits}, "F32", {
        "prompt": ",".join(map(str, hf.PROMPT)), "greedy": ",".join(map(str, continuation)),
        "generator": "tools/golden/make_llamacpp_converted_fixtures.py, torch " + torch.__version__})
    print(f"  {name}: greedy {continuation}, smallest margin {min(hf.MARGINS):.2e}")


def gguf_name(hf_name):
    """The GGUF tensor a Mixtral or Qwen2-MoE weight goes into (experts stacked); None for none."""
    parts = hf_name.split(".")
    if hf_name == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf_name == "lm_head.weight":
        return "output.weight"
    if hf_name == "model.norm.weight":
        return "output_norm.weight"
    b, rest = parts[2], ".".join(parts[3:])
    table = {"input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
             "self_attn.q_proj.weight": "attn_q.weight", "self_attn.k_proj.weight": "attn_k.weight",
             "self_attn.v_proj.weight": "attn_v.weight", "self_attn.o_proj.weight": "attn_output.weight",
             "self_attn.q_proj.bias": "attn_q.bias", "self_attn.k_proj.bias": "attn_k.bias",
             "self_attn.v_proj.bias": "attn_v.bias", "block_sparse_moe.gate.weight": "ffn_gate_inp.weight",
             "mlp.gate.weight": "ffn_gate_inp.weight", "mlp.shared_expert_gate.weight": "ffn_gate_inp_shexp.weight",
             "mlp.shared_expert.gate_proj.weight": "ffn_gate_shexp.weight",
             "mlp.shared_expert.up_proj.weight": "ffn_up_shexp.weight",
             "mlp.shared_expert.down_proj.weight": "ffn_down_shexp.weight",
             "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
             "mlp.down_proj.weight": "ffn_down.weight"}
    if rest in table:
        return f"blk.{b}.{table[rest]}"
    expert = {"w1": "gate", "w3": "up", "w2": "down", "gate_proj": "gate", "up_proj": "up", "down_proj": "down"}
    if "experts" in parts and parts[-2] in expert:
        return f"blk.{b}.ffn_{expert[parts[-2]]}_exps.weight"
    return None


Q8_MODELS = {
    "mixtral": dict(hf.MODELS["mixtral"]["config"], hidden_size=32, intermediate_size=32, num_hidden_layers=1),
    "qwen2_moe": dict(hf.MODELS["qwen2_moe"]["config"], hidden_size=32, intermediate_size=64,
                      moe_intermediate_size=32, shared_expert_intermediate_size=32, num_hidden_layers=1,
                      mlp_only_layers=[]),
}


# Which Q8_0 files each checkpoint becomes: the plain conversion, and --fuse-qkv (one attn_qkv tensor per layer,
# weights and biases, which llama.cpp reads as well as separate ones; --fuse-gate-up-exps is not offered for these
# architectures by this converter).
Q8_VARIANTS = {"mixtral": {"": [], "-fused-qkv": ["--fuse-qkv"]}, "qwen2_moe": {"-fused-qkv": ["--fuse-qkv"]}}


def q8_fixtures(work):
    for seed, (arch, config) in enumerate(Q8_MODELS.items(), start=20260701):
        d = os.path.join(work, arch + "-q8")
        os.makedirs(d)
        w = hf.make_weights(arch, config, seed)
        hf.write_checkpoint(d, dict(dtype="F32", shards=1, config=config), w)
        if arch == "mixtral":
            with open(os.path.join(d, "tokenizer.model"), "wb") as f:
                f.write(train_sentencepiece(SMALL_TEXT.split(" and "), 64, byte_fallback=False))
        else:  # the converter's qwen2moe takes tokenizer.json only
            tiny_byte_level(d, PRE[arch])
        reference = None
        for suffix, extra in Q8_VARIANTS[arch].items():
            out = os.path.join(OUT, f"{arch}-q8_0{suffix}.gguf")
            convert(d, out, "q8_0", PRE.get(arch), extra=extra)
            types = {t.name: t.tensor_type for t in gguf.GGUFReader(out).tensors}
            ref, quantized = {}, []
            for name, t in w.items():
                target = gguf_name(name)
                if target not in types and ".attn_" in target:  # fused: blk.N.attn_qkv.{weight,bias}
                    target = target.rsplit(".", 2)[0] + ".attn_qkv." + target.rsplit(".", 1)[1]
                if target not in types:
                    raise SystemExit(f"{name}: no GGUF tensor {target} in {out}")
                if types[target] == gguf.GGMLQuantizationType.Q8_0:
                    x = t.numpy().astype(np.float32)
                    q = gguf.quants.quantize(x, gguf.GGMLQuantizationType.Q8_0)
                    ref[name] = torch.from_numpy(gguf.quants.dequantize(q, gguf.GGMLQuantizationType.Q8_0)
                                                 .reshape(x.shape))
                    quantized.append(name)
                else:
                    ref[name] = t
            if reference is None:
                reference = ref
                expected(arch, config, ref, f"{arch}-q8_0")
            elif any(not torch.equal(ref[n], reference[n]) for n in ref):
                raise SystemExit(f"{out}: quantized other weights than the plain conversion")
            print(f"{out}: {os.path.getsize(out)} bytes, {len(quantized)} of {len(w)} weights Q8_0")


# ---- vocabulary-only files ------------------------------------------------------------------------------------

def vocab_fixtures(work):
    made = {}

    def from_tokenizer_json(name, arch, source, pre, config_extra):
        d = os.path.join(work, "vocab-" + name)
        os.makedirs(d)
        tokenizer = json.load(open(os.path.join(TOKENIZERS, source), encoding="utf-8"))
        size = max(list(tokenizer["model"]["vocab"].values()) + [t["id"] for t in tokenizer["added_tokens"]]) + 1
        ids = {t["content"]: t["id"] for t in tokenizer["added_tokens"]}
        config = dict(hf.MODELS[arch]["config"], vocab_size=size)
        for role in ("bos", "eos", "pad"):  # the model's config names the same special tokens as the tokenizer's
            config.pop(f"{role}_token_id", None)
            if config_extra.get(f"{role}_token") is not None:
                config[f"{role}_token_id"] = ids[config_extra[f"{role}_token"]]
        write_json(os.path.join(d, "config.json"), config)
        shutil.copy(os.path.join(TOKENIZERS, source), os.path.join(d, "tokenizer.json"))
        write_json(os.path.join(d, "tokenizer_config.json"), config_extra)
        out = os.path.join(OUT, f"vocab-{name}.gguf")
        convert(d, out, "f32", pre, vocab_only=True)
        made[name] = out

    from_tokenizer_json("qwen2", "qwen2_moe", "qwen_style.tokenizer.json", "qwen2",
                        {"bos_token": None, "eos_token": "<|eos|>", "pad_token": "<|pad|>", "add_bos_token": False})
    from_tokenizer_json("olmo", "olmoe", "base.tokenizer.json", "olmo",
                        {"bos_token": "<|bos|>", "eos_token": "<|eos|>", "pad_token": "<|pad|>",
                         "add_bos_token": False})
    from_tokenizer_json("llama-hf", "mixtral", "sp_base.tokenizer.json", None,
                        {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True,
                         "add_eos_token": False})

    # A SentencePiece model as Llama and Mixtral ship it (tokenizer.model), trained here on kjv-small.
    d = os.path.join(work, "vocab-llama-spm")
    os.makedirs(d)
    with gzip.open(KJV, "rt", encoding="utf-8") as f:
        lines = [line.strip() for line in f.read().splitlines()[:4000] if line.strip()]
    vocab_size = 420
    with open(os.path.join(d, "tokenizer.model"), "wb") as f:
        f.write(train_sentencepiece(lines, vocab_size, byte_fallback=True, control_symbols=["[INST]", "[/INST]"]))
    write_json(os.path.join(d, "config.json"), dict(hf.MODELS["mixtral"]["config"], vocab_size=vocab_size + 2))
    write_json(os.path.join(d, "tokenizer_config.json"), {
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True,
        "added_tokens_decoder": {str(vocab_size): {"content": "<|tool|>", "special": False, "normalized": False}}})
    out = os.path.join(OUT, "vocab-llama-spm.gguf")
    convert(d, out, "f32", None, vocab_only=True)
    made["llama-spm"] = out
    sp = spm.SentencePieceProcessor(model_file=os.path.join(d, "tokenizer.model"))
    return made, sp


# ---- llama.cpp's tokenizer on them -----------------------------------------------------------------------------

def decode_lists(reader):
    """Id lists to decode: byte tokens that split a character or are invalid UTF-8, specials, unused ids."""
    field = reader.fields["tokenizer.ggml.tokens"]
    tokens = [bytes(field.parts[i]).decode("utf-8") for i in field.data]
    index = {t: i for i, t in enumerate(tokens)}

    def special(key, default):
        f = reader.fields.get(f"tokenizer.ggml.{key}_token_id")
        return int(f.parts[f.data[0]][0]) if f is not None else default

    bos, eos = special("bos", 1), special("eos", 2)
    lists = [[i for i in range(min(len(tokens), 40))], [len(tokens) - 1, 0, bos, eos, len(tokens) - 2]]
    byte = lambda b: index.get(f"<0x{b:02X}>")  # noqa: E731
    if byte(0xE2) is not None:
        lists += [[byte(0xE2), byte(0x82), byte(0xAC)], [byte(0xE2), byte(0x82)],
                  [byte(0x41), byte(0xE2), bos, byte(0x82), byte(0xAC)], [byte(0xFF), byte(0x20), byte(0x20)]]
    for start in ("\u2581the", "\u0120the", "the"):
        if start in index:
            lists.append([bos, index[start], index[start], eos])
            lists.append([index[start], bos, index[start]])
            break
    return lists


def token_fixtures(work, files, sp):
    tool = os.path.join(LLAMA_BIN, "moe4j-tokens")
    if not os.access(tool, os.X_OK):
        raise SystemExit(f"no {tool}: build it with tools/llamacpp/build.sh")
    for name, path in files.items():
        texts = SMALL_TEXTS if name == "mixtral" else TEXTS
        texts_file = os.path.join(work, f"texts-{name}.bin")
        with open(texts_file, "wb") as f:
            for t in texts:
                f.write(t.encode("utf-8") + b"\0")
        lists = decode_lists(gguf.GGUFReader(path))
        ids_file = os.path.join(work, f"ids-{name}.txt")
        with open(ids_file, "w") as f:
            f.write("".join(",".join(map(str, ids)) + "\n" for ids in lists))
        lines = run([tool, path, texts_file, ids_file]).stdout.splitlines()
        parse = lambda s: [int(x) for x in s.split(",")] if s.strip() else []  # noqa: E731
        out = {"generator": "tools/golden/make_llamacpp_converted_fixtures.py (tools/llamacpp/tokens.c)",
               "gguf": os.path.basename(path), "texts": texts, "ids": [], "ids_special": [], "decoded": [],
               "decoded_special": [], "decode_ids": lists, "decode_plain": [], "decode_special": []}
        for line in lines:
            if not line.startswith(("T ", "D ")):
                continue
            kind, _, rest = line.partition(" ")
            _, _, rest = rest.partition(" ")
            fields = [x.strip() for x in rest.split("|")]
            if kind == "T":
                out["ids"].append(parse(fields[0]))
                out["ids_special"].append(parse(fields[1]))
                out["decoded"].append(fields[2])
                out["decoded_special"].append(fields[3])
            else:
                out["decode_plain"].append(fields[0])
                out["decode_special"].append(fields[1])
        assert len(out["ids"]) == len(texts) and len(out["decode_plain"]) == len(lists), name
        for i, text in enumerate(texts):  # moe4j-tokens against llama.cpp's own tool
            one = os.path.join(work, "one.txt")
            with open(one, "wb") as f:
                f.write(text.encode("utf-8"))
            if not text:
                continue  # llama-tokenize refuses an empty prompt
            got = run([os.path.join(LLAMA_BIN, "llama-tokenize"), "-m", path, "-f", one, "--ids", "--no-bos",
                       "--no-escape", "--no-parse-special", "--log-disable"]).stdout.strip().splitlines()[-1]
            assert json.loads(got) == out["ids"][i], f"{name} text {i}: llama-tokenize {got} != {out['ids'][i]}"
        if name == "llama-spm":  # how far llama.cpp's score merges agree with SentencePiece itself (informative)
            same = sum(sp.encode(t) == ids for t, ids in zip(texts, out["ids"]) if "<" not in t and "[" not in t)
            print(f"  sentencepiece agrees with llama.cpp on {same} of the texts without special-token text")
        target = os.path.join(OUT, f"tokens-{name}.json")
        text = json.dumps(out, ensure_ascii=False, indent=1)
        with open(target, "w", encoding="utf-8") as f:
            f.write(compact_lists(text) + "\n")
        print(f"{target}: {len(texts)} texts, {len(lists)} decodes")


def compact_lists(text):
    """json.dumps with indent puts every id on its own line; keep each list of numbers on one line."""
    import re
    return re.sub(r"\[\s+([-\d,\s]*?)\s*\]", lambda m: "[" + re.sub(r"\s+", "", m.group(1)) + "]", text)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    with tempfile.TemporaryDirectory() as work:
        f32_fixtures(work)
        q8_fixtures(work)
        files, sp = vocab_fixtures(work)
        files["mixtral"] = os.path.join(OUT, "mixtral-f32.gguf")
        token_fixtures(work, files, sp)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"{OUT}: {len(os.listdir(OUT))} files, {total} bytes")


if __name__ == "__main__":
    main()
