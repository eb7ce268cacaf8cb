#!/usr/bin/python3
"""Runs llama.cpp's convert_hf_to_gguf.py on this machine (Debian 12: python3-torch 1.13, python3-numpy, no
transformers), unchanged, with three things arranged around it:
  - tools/llamacpp/transformers_shim on sys.path, our stand-in for the parts of transformers the converter touches;
  - placeholders for torch dtypes newer than torch 1.13 (float8_*, uint16/32/64): the converter names them in
    lookup tables at import time; a checkpoint that holds such a tensor fails with a KeyError naming the
    placeholder instead of converting wrongly;
  - with --pre NAME: the converter's pre-tokenizer detection answers NAME. The converter identifies a byte-level
    BPE pre-tokenizer by hashing the ids a real hub tokenizer gives a test string; a made-up vocabulary matches
    none of them, so the caller says which one its tokenizer.json uses (as convert_hf_to_gguf_update.py would
    for a new model).
Usage: run_converter.py [--llama-cpp DIR] [--pre NAME] CONVERTER_ARGS...
  DIR defaults to $LLAMA_CPP_SRC or /work/oracle/llama.cpp.
"""
import os
import runpy
import sys

here = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
llama_cpp = os.environ.get("LLAMA_CPP_SRC", "/work/oracle/llama.cpp")
pre = None
while args and args[0] in ("--llama-cpp", "--pre"):
    if len(args) < 2:
        sys.exit(f"run_converter.py: {args[0]} needs a value")
    if args[0] == "--llama-cpp":
        llama_cpp = args[1]
    else:
        pre = args[1]
    args = args[2:]

converter = os.path.join(llama_cpp, "convert_hf_to_gguf.py")
if not os.path.isfile(converter):
    sys.exit(f"run_converter.py: no {converter}; pass --llama-cpp DIR (a llama.cpp source tree)")

sys.path.insert(0, os.path.join(here, "transformers_shim"))
sys.path.insert(0, os.path.join(llama_cpp, "gguf-py"))
sys.path.insert(0, llama_cpp)

import torch  # noqa: E402


class _AbsentDtype:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name} (absent from torch {torch.__version__})"


for _name in ("float8_e4m3fn", "float8_e5m2", "float8_e8m0fnu", "uint16", "uint32", "uint64"):
    if not hasattr(torch, _name):
        setattr(torch, _name, _AbsentDtype(_name))

if pre is not None:
    from conversion import base  # noqa: E402  (the same module the converter imports)

    def _declared_pre(self, tokenizer, _name=pre):
        base.logger.info(f"tokenizer.ggml.pre = {_name!r}, as run_converter.py was told (--pre)")
        return _name

    base.TextModel.get_vocab_base_pre = _declared_pre

sys.argv = [converter] + args
runpy.run_path(converter, run_name="__main__")
