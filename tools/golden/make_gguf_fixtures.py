#!/usr/bin/env python3
"""GGUF and quantization fixtures made by ggml itself, for moe4j's golden tests.

ggml is the implementation that defines the GGUF format and the Q8_0/Q4_0 block layouts; we call its C library
through ctypes rather than re-implementing anything. The library comes from the Maven Central artifact
de.kherud:llama:4.1.0 (java-llama.cpp, which ships ggml/llama.cpp built for linux x86_64 inside the jar):

    tools/mvn dependency:get -Dartifact=de.kherud:llama:4.1.0
    python3 tools/golden/make_gguf_fixtures.py [path/to/libjllama.so]

Without an argument the library is extracted from ~/.m2. numpy is needed. Outputs, in
moe4j-core/src/test/resources/gguf/:
  quant_input.f32   512 little-endian float32 inputs (16 blocks of 32): seeded normals plus edge cases
  ref.q8_0 / ref.q4_0 / ref.f16 / ref.bf16   those inputs encoded by ggml's reference row quantizers
  deq.q8_0 / deq.q4_0  ggml's dequantize_row_* of ref.q8_0 / ref.q4_0, as float32
  ggml_written.gguf a GGUF v3 file written by ggml's gguf_write_to_file: metadata of every scalar type, arrays,
                    and tensors in F32, F16, BF16, Q8_0 and Q4_0 made from the inputs
"""
import ctypes as C
import os
import sys
import tempfile
import zipfile

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "moe4j-core", "src", "test", "resources", "gguf")
JAR = os.path.expanduser("~/.m2/repository/de/kherud/llama/4.1.0/llama-4.1.0.jar")
MEMBER = "de/kherud/llama/Linux/x86_64/libjllama.so"

# ggml_type numbers
F32, F16, Q4_0, Q8_0, BF16 = 0, 1, 2, 8, 30
# gguf_type numbers
U8, I8, U16, I16, U32, I32, F32T, BOOL, STR, ARR, U64, I64, F64 = range(13)


def load_library():
    if len(sys.argv) > 1:
        return C.CDLL(sys.argv[1])
    d = tempfile.mkdtemp()
    with zipfile.ZipFile(JAR) as z:
        path = z.extract(MEMBER, d)
    return C.CDLL(path)


def inputs():
    rng = np.random.default_rng(20240607)
    x = rng.standard_normal(512).astype(np.float32)
    blocks = x.reshape(16, 32)
    blocks[1] = 0.0                                   # all-zero block: scale 0
    blocks[2] = np.linspace(-3.5, 3.5, 32)            # values landing on rounding ties
    blocks[3] *= 1000.0                               # large magnitudes
    blocks[4] *= 1e-6                                 # tiny magnitudes (f16 scale underflows towards subnormal)
    blocks[5, 7] = -9.0                               # negative maximum: Q4_0 takes the sign of the largest value
    blocks[6, 3] = 9.0
    blocks[6, 20] = -9.0                              # a tie in magnitude: the first one wins
    blocks[7] = np.arange(32, dtype=np.float32) / 8   # exact multiples
    return np.ascontiguousarray(blocks.reshape(-1))


def main():
    lib = load_library()

    class InitParams(C.Structure):
        _fields_ = [("mem_size", C.c_size_t), ("mem_buffer", C.c_void_p), ("no_alloc", C.c_bool)]

    lib.ggml_init.restype = C.c_void_p
    lib.ggml_init.argtypes = [InitParams]
    # first: ggml_init also fills the f16 -> f32 table that the dequantizers read
    ctx = lib.ggml_init(InitParams(1 << 20, None, False))
    os.makedirs(OUT, exist_ok=True)
    x = inputs()
    n = x.size
    xp = x.ctypes.data_as(C.c_void_p)
    x.tofile(os.path.join(OUT, "quant_input.f32"))

    for name, fn, nbytes in (("q8_0", "quantize_row_q8_0_ref", n // 32 * 34),
                             ("q4_0", "quantize_row_q4_0_ref", n // 32 * 18),
                             ("f16", "ggml_fp32_to_fp16_row", n * 2),
                             ("bf16", "ggml_fp32_to_bf16_row_ref", n * 2)):
        out = (C.c_uint8 * nbytes)()
        getattr(lib, fn)(xp, out, C.c_int64(n))
        open(os.path.join(OUT, "ref." + name), "wb").write(bytes(out))
        if name.startswith("q"):  # and ggml's decoding of those blocks
            back = np.zeros(n, dtype=np.float32)
            getattr(lib, "dequantize_row_" + name)(out, back.ctypes.data_as(C.c_void_p), C.c_int64(n))
            back.tofile(os.path.join(OUT, "deq." + name))

    # a GGUF file written by ggml
    lib.ggml_new_tensor_2d.restype = C.c_void_p
    lib.ggml_new_tensor_2d.argtypes = [C.c_void_p, C.c_int, C.c_int64, C.c_int64]
    lib.ggml_set_name.argtypes = [C.c_void_p, C.c_char_p]
    lib.ggml_get_data.restype = C.c_void_p
    lib.ggml_get_data.argtypes = [C.c_void_p]
    lib.ggml_nbytes.restype = C.c_size_t
    lib.ggml_nbytes.argtypes = [C.c_void_p]
    lib.gguf_init_empty.restype = C.c_void_p
    lib.gguf_add_tensor.argtypes = [C.c_void_p, C.c_void_p]
    lib.gguf_write_to_file.argtypes = [C.c_void_p, C.c_char_p, C.c_bool]
    lib.gguf_write_to_file.restype = C.c_bool
    lib.gguf_set_arr_data.argtypes = [C.c_void_p, C.c_char_p, C.c_int, C.c_void_p, C.c_size_t]
    lib.gguf_set_arr_str.argtypes = [C.c_void_p, C.c_char_p, C.POINTER(C.c_char_p), C.c_size_t]

    g = lib.gguf_init_empty()
    k = lambda s: s.encode()
    lib.gguf_set_val_str.argtypes = [C.c_void_p, C.c_char_p, C.c_char_p]
    lib.gguf_set_val_str(g, k("general.architecture"), "llama".encode())
    lib.gguf_set_val_str(g, k("general.name"), "moe4j golden ✓".encode())
    for fn, ctype, key, v in (("u8", C.c_uint8, "t.u8", 200), ("i8", C.c_int8, "t.i8", -100),
                              ("u16", C.c_uint16, "t.u16", 60000), ("i16", C.c_int16, "t.i16", -30000),
                              ("u32", C.c_uint32, "t.u32", 4000000000), ("i32", C.c_int32, "t.i32", -2000000000),
                              ("f32", C.c_float, "t.f32", 0.1), ("u64", C.c_uint64, "t.u64", 2**64 - 1),
                              ("i64", C.c_int64, "t.i64", -2**62), ("f64", C.c_double, "t.f64", 1e-300),
                              ("bool", C.c_bool, "t.bool", True)):
        f = getattr(lib, "gguf_set_val_" + fn)
        f.argtypes = [C.c_void_p, C.c_char_p, ctype]
        f(g, k(key), v)
    ints = (C.c_int32 * 4)(1, -2, 3, -4)
    lib.gguf_set_arr_data(g, k("t.arr_i32"), I32, C.cast(ints, C.c_void_p), 4)
    floats = (C.c_float * 3)(0.5, -1.25, 1e30)
    lib.gguf_set_arr_data(g, k("t.arr_f32"), F32T, C.cast(floats, C.c_void_p), 3)
    bools = (C.c_bool * 3)(True, False, True)
    lib.gguf_set_arr_data(g, k("t.arr_bool"), BOOL, C.cast(bools, C.c_void_p), 3)
    words = [w.encode() for w in ("<s>", "", "héllo", "▁world")]
    lib.gguf_set_arr_str(g, k("t.arr_str"), (C.c_char_p * len(words))(*words), len(words))
    empty = (C.c_uint8 * 1)()
    lib.gguf_set_arr_data(g, k("t.arr_empty"), U8, C.cast(empty, C.c_void_p), 0)

    # tensors [rows, cols] from the inputs; ggml's ne0 is the row length
    for name, typ, rows, cols, quantize in (("w.f32", F32, 3, 5, None), ("w.f16", F16, 2, 7, "ggml_fp32_to_fp16_row"),
                                            ("w.bf16", BF16, 3, 3, "ggml_fp32_to_bf16_row_ref"),
                                            ("w.q8_0", Q8_0, 4, 64, "quantize_row_q8_0_ref"),
                                            ("w.q4_0", Q4_0, 2, 96, "quantize_row_q4_0_ref")):
        t = lib.ggml_new_tensor_2d(ctx, typ, cols, rows)
        lib.ggml_set_name(t, k(name))
        src = np.ascontiguousarray(x[: rows * cols])
        dst = lib.ggml_get_data(t)
        if quantize is None:
            C.memmove(dst, src.ctypes.data, src.nbytes)
        else:
            getattr(lib, quantize)(src.ctypes.data_as(C.c_void_p), C.c_void_p(dst), C.c_int64(rows * cols))
        lib.gguf_add_tensor(g, t)
    ok = lib.gguf_write_to_file(g, os.path.join(OUT, "ggml_written.gguf").encode(), False)
    assert ok, "gguf_write_to_file failed"
    print("wrote fixtures to", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
