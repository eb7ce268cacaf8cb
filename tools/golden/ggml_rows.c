// ggml's own quantizer and dequantizer as an oracle for moe4j's GGUF decoders (tensor.Quantization.dequantizeRow).
// For one ggml type, writes to stdout: the blocks of ROWS rows of N values, then ggml's to_float of them (float32
// LE). Rows 0-1 are ggml_quantize_chunk of seeded Gaussian values at two magnitudes (with a few outliers), row 2 is
// random block bytes whose f16 scale fields are overwritten with finite values (including a subnormal and a zero),
// so every bit pattern of the quants and packed scales is decoded. Built and run by make_kquant_fixtures.py.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "ggml.h"

enum { N = 256, ROWS = 3 };

static uint64_t state = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) { // splitmix64
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double uniform(void) { return (next() >> 11) * 0x1.0p-53; }
static float gauss(void) { return (float) (sqrt(-2 * log(uniform() + 1e-300)) * cos(6.283185307179586 * uniform())); }

// Byte offsets of the f16 fields (d, then m/dmin if any) in one block of each type.
static int f16_fields(enum ggml_type t, int *at) {
    switch (t) {
        case GGML_TYPE_Q4_1: case GGML_TYPE_Q5_1: case GGML_TYPE_Q4_K: case GGML_TYPE_Q5_K: at[0] = 0; at[1] = 2; return 2;
        case GGML_TYPE_Q5_0: at[0] = 0; return 1;
        case GGML_TYPE_Q2_K: at[0] = 80; at[1] = 82; return 2;
        case GGML_TYPE_Q3_K: at[0] = 108; return 1;
        case GGML_TYPE_Q6_K: at[0] = 208; return 1;
        default: return -1;
    }
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: ggml_rows TYPE_ID\n"); return 2; }
    enum ggml_type t = (enum ggml_type) atoi(argv[1]);
    int at[2];
    int fields = f16_fields(t, at);
    if (fields < 0) { fprintf(stderr, "unsupported type %d\n", t); return 2; }
    state += (uint64_t) t;
    size_t row_bytes = ggml_row_size(t, N);
    size_t block_bytes = ggml_type_size(t);
    uint8_t *q = calloc(ROWS, row_bytes);
    float x[2 * N];
    for (int i = 0; i < 2 * N; i++) x[i] = gauss() * (i < N ? 0.02f : 3.0f);
    x[7] = 0.4f; x[N + 100] = -40.0f; // outliers that set a block's scale
    ggml_quantize_init(t);
    ggml_quantize_chunk(t, x, q, 0, 2, N, NULL);
    uint8_t *raw = q + 2 * row_bytes;
    for (size_t i = 0; i < row_bytes; i++) raw[i] = (uint8_t) next();
    for (size_t b = 0; b < row_bytes / block_bytes; b++) {
        for (int f = 0; f < fields; f++) {
            float v = (float) ((uniform() - 0.5) * pow(2.0, -12 + 10 * uniform()));
            if (b == 0 && f == 0) v = 3.0e-7f; // an f16 subnormal
            if (b == 1 && f == fields - 1) v = 0.0f;
            ggml_fp16_t h = ggml_fp32_to_fp16(v);
            memcpy(raw + b * block_bytes + at[f], &h, 2);
        }
    }
    float *y = malloc(sizeof(float) * ROWS * N);
    ggml_get_type_traits(t)->to_float(q, y, (int64_t) ROWS * N);
    fwrite(q, 1, ROWS * row_bytes, stdout);
    fwrite(y, sizeof(float), ROWS * N, stdout);
    return 0;
}
