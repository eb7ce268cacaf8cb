// llama.cpp's tokenizer as an oracle for moe4j's GGUF tokenizers: loads only the vocabulary of a GGUF and, for each
// text of TEXTS (texts separated by NUL bytes, taken verbatim), prints one line
//   T <index> <ids> | <ids with specials> | <hex of decode(ids)> | <hex of decode(ids with specials), specials shown>
// where "ids" is llama_tokenize(add_special = false, parse_special = false), "ids with specials" is
// llama_tokenize(add_special = true, parse_special = true), and decode is llama_detokenize(remove_special = false,
// unparse_special = false / true); then, for each line of IDS (comma-separated ids; optional), one line
//   D <index> <hex of decode(ids)> | <hex of decode(ids), specials shown>
// Ids are comma-separated (empty for none); decoded text is hex because it may be invalid UTF-8.
//
//   tokens MODEL.gguf TEXTS [IDS]
//
// Built by tools/llamacpp/build.sh (or tools/golden/make_llamacpp_converted_fixtures.py) against the same llama.cpp.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "llama.h"

static char *read_all(const char *path, long *size) {
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "cannot read %s\n", path); exit(1); }
    fseek(f, 0, SEEK_END);
    *size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(*size + 1);
    if (fread(buf, 1, *size, f) != (size_t) *size) { fprintf(stderr, "cannot read %s\n", path); exit(1); }
    buf[*size] = 0;
    fclose(f);
    return buf;
}

static void print_ids(const llama_token *ids, int n) {
    for (int i = 0; i < n; i++) printf(i ? ",%d" : "%d", ids[i]);
}

static void print_decoded(const struct llama_vocab *vocab, const llama_token *ids, int n, int unparse) {
    int cap = 64 + 64 * n;
    char *text = malloc(cap);
    int len = llama_detokenize(vocab, ids, n, text, cap, false, unparse);
    if (len < 0) { fprintf(stderr, "detokenize needs %d bytes\n", -len); exit(1); }
    for (int i = 0; i < len; i++) printf("%02x", (unsigned char) text[i]);
    free(text);
}

static int tokenize(const struct llama_vocab *vocab, const char *text, int len, llama_token **out, int special) {
    int cap = len + 16;
    *out = malloc(sizeof(llama_token) * cap);
    int n = llama_tokenize(vocab, text, len, *out, cap, special, special);
    if (n < 0) { fprintf(stderr, "tokenize needs %d ids\n", -n); exit(1); }
    return n;
}

static void errors_only(enum ggml_log_level level, const char *text, void *user) {
    (void) user;
    if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf TEXTS [IDS]\n", argv[0]);
        return 2;
    }
    llama_log_set(errors_only, NULL);
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    struct llama_model *model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    const struct llama_vocab *vocab = llama_model_get_vocab(model);

    long size;
    char *texts = read_all(argv[2], &size);
    int index = 0;
    for (long start = 0; start <= size; index++) {
        long end = start;
        while (end < size && texts[end] != 0) end++;
        if (end == size && start == size && index > 0) break; // a trailing separator ends the list
        llama_token *plain, *special;
        int np = tokenize(vocab, texts + start, (int) (end - start), &plain, 0);
        int ns = tokenize(vocab, texts + start, (int) (end - start), &special, 1);
        printf("T %d ", index);
        print_ids(plain, np);
        printf(" | ");
        print_ids(special, ns);
        printf(" | ");
        print_decoded(vocab, plain, np, 0);
        printf(" | ");
        print_decoded(vocab, special, ns, 1);
        printf("\n");
        free(plain);
        free(special);
        start = end + 1;
    }
    if (argc > 3) {
        char *lines = read_all(argv[3], &size);
        index = 0;
        for (char *save = NULL, *line = strtok_r(lines, "\n", &save); line; line = strtok_r(NULL, "\n", &save), index++) {
            llama_token ids[1024];
            int n = 0;
            for (char *s2 = NULL, *tok = strtok_r(line, ",", &s2); tok && n < 1024; tok = strtok_r(NULL, ",", &s2)) {
                ids[n++] = atoi(tok);
            }
            printf("D %d ", index);
            print_decoded(vocab, ids, n, 0);
            printf(" | ");
            print_decoded(vocab, ids, n, 1);
            printf("\n");
        }
        free(lines);
    }
    free(texts);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
