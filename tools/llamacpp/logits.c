// llama.cpp as an independent oracle for moe4j: runs a GGUF on given token ids and writes what moe4j's
// `generate --dump-logits` writes (float32 little-endian logits [positions, vocab] and a one-line JSON sidecar),
// then greedy-decodes N more tokens and prints them. Nothing is rounded to f16: the KV cache is float32 and flash
// attention is off (llama.cpp's default, AUTO, turns it on for the CPU, and its graph then casts the f32 K and V to
// f16 before the attention, which alone made the logits differ from moe4j's by 3e-4..6e-4 of the largest logit).
//
//   logits MODEL.gguf IDS(comma-separated) OUT.f32 [GREEDY_TOKENS] [THREADS]
//
// Built by tools/llamacpp/build.sh against the llama.cpp that node-llama-cpp bundles.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "llama.h"

static int parse_ids(const char *text, llama_token **ids) {
    int n = 1;
    for (const char *p = text; *p; p++) n += *p == ',';
    *ids = malloc(sizeof(llama_token) * n);
    int i = 0;
    char *copy = strdup(text), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) (*ids)[i++] = atoi(tok);
    free(copy);
    return i;
}

static int argmax(const float *row, int n) {
    int best = 0;
    for (int j = 1; j < n; j++) if (row[j] > row[best]) best = j;
    return best;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL.gguf IDS OUT.f32 [GREEDY_TOKENS] [THREADS]\n", argv[0]);
        return 2;
    }
    int greedy = argc > 4 ? atoi(argv[4]) : 0;
    int threads = argc > 5 ? atoi(argv[5]) : 2;
    llama_token *ids;
    int n = parse_ids(argv[2], &ids);

    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    struct llama_model *model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n + greedy + 8;
    cp.n_batch = cp.n_ubatch = n;
    cp.n_threads = cp.n_threads_batch = threads;
    cp.type_k = cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED; // K·Q and softmax·V in f32 (mul_mat), not f16
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "cannot create a context\n"); return 1; }
    int vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));

    struct llama_batch batch = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) {
        batch.token[i] = ids[i];
        batch.pos[i] = i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = 1;
    }
    batch.n_tokens = n;
    if (llama_decode(ctx, batch)) { fprintf(stderr, "decode failed\n"); return 1; }
    FILE *out = fopen(argv[3], "wb");
    for (int i = 0; i < n; i++) fwrite(llama_get_logits_ith(ctx, i), sizeof(float), vocab, out);
    fclose(out);
    char sidecar[4096];
    snprintf(sidecar, sizeof sidecar, "%s.json", argv[3]);
    FILE *js = fopen(sidecar, "w");
    fprintf(js, "{\"shape\":[%d,%d],\"dtype\":\"float32\",\"token_ids\":[", n, vocab);
    for (int i = 0; i < n; i++) fprintf(js, i ? ",%d" : "%d", ids[i]);
    fprintf(js, "]}\n");
    fclose(js);

    int next = argmax(llama_get_logits_ith(ctx, n - 1), vocab);
    printf("greedy:");
    for (int t = 0; t < greedy; t++) {
        printf(t ? ",%d" : " %d", next);
        struct llama_batch one = llama_batch_get_one(&next, 1);
        if (llama_decode(ctx, one)) { fprintf(stderr, "decode failed\n"); return 1; }
        next = argmax(llama_get_logits_ith(ctx, -1), vocab);
    }
    printf("\n");
    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    free(ids);
    return 0;
}
