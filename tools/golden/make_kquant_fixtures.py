#!/usr/bin/env python3
"""Decoding fixtures for the GGUF types moe4j reads but does not write: Q4_1, Q5_0, Q5_1, Q2_K..Q6_K.

The oracle is ggml itself: tools/golden/ggml_rows.c is linked against the libggml-base.a of the llama.cpp build
that tools/llamacpp/build.sh makes, quantizes seeded rows with ggml_quantize_chunk (plus one row of random block
bytes) and dequantizes them with ggml's to_float. gguf-py's numpy dequantize (a second implementation we did not
write) is run on the same blocks as a cross-check, and the bit-level agreement of the two is printed.

    PYTHONPATH=/path/to/llama.cpp/gguf-py python3 tools/golden/make_kquant_fixtures.py [LLAMA_SRC_DIR]

LLAMA_SRC_DIR defaults to ../llama.cpp-oracle/src. Outputs moe4j-core/src/test/resources/gguf/kquants/<type>.bin:
3 rows of 256 values as ggml's blocks, then ggml's 3 x 256 float32 (little-endian) decoding of them.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
OUT = os.path.join(ROOT, "moe4j-core", "src", "test", "resources", "gguf", "kquants")
TYPES = {"Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q2_K": 10, "Q3_K": 11, "Q4_K": 12, "Q5_K": 13, "Q6_K": 14}
ROWS, N = 3, 256


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "llama.cpp-oracle", "src")
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "ggml_rows")
        subprocess.run(["g++", "-O2", "-x", "c", os.path.join(HERE, "ggml_rows.c"), "-x", "none",
                        "-I" + os.path.join(src, "ggml", "include"), "-o", exe,
                        os.path.join(src, "build", "ggml", "src", "libggml-base.a"), "-fopenmp", "-lpthread", "-lm"],
                       check=True)
        try:
            import gguf.quants as gq
            from gguf.constants import GGMLQuantizationType
        except ImportError:
            gq = None
            print("gguf-py not on PYTHONPATH: no numpy cross-check")
        for name, tid in TYPES.items():
            out = subprocess.run([exe, str(tid)], check=True, capture_output=True).stdout
            blocks, floats = out[:-ROWS * N * 4], out[-ROWS * N * 4:]
            with open(os.path.join(OUT, name.lower() + ".bin"), "wb") as f:
                f.write(out)
            ref = np.frombuffer(floats, dtype="<f4").reshape(ROWS, N)
            note = ""
            if gq is not None:
                raw = np.frombuffer(blocks, dtype=np.uint8).reshape(ROWS, -1)
                npy = gq.dequantize(raw, GGMLQuantizationType[name]).astype(np.float32)
                same = np.sum(npy.view(np.uint32) == ref.view(np.uint32))
                note = f", gguf-py numpy agrees bit for bit on {same}/{ROWS * N}"
            print(f"{name}: {len(blocks)} block bytes{note}")


if __name__ == "__main__":
    main()
