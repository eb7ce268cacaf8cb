"""A stand-in for the few parts of Hugging Face `transformers` that llama.cpp's convert_hf_to_gguf.py touches when it
converts a checkpoint with a byte-level BPE (gpt2-style) or SentencePiece-style tokenizer.json. Written for moe4j
(tools/llamacpp/run_converter.py puts it on sys.path); it is not transformers and shares no code with it. Debian 12
has no python3-transformers and this machine cannot pip-install, so the converter gets this instead.

What it provides, with transformers 4.x's meaning:
  - AutoConfig.from_pretrained(dir).to_dict(): config.json as written (no defaults filled in; the converter's own
    fallback when AutoConfig fails reads the same file);
  - AutoTokenizer.from_pretrained(dir): a fast tokenizer over tokenizer.json and tokenizer_config.json with
    vocab / get_vocab() (model vocabulary and added tokens), vocab_size (the model vocabulary alone),
    get_added_vocab(), added_tokens_decoder (id -> AddedToken with content, special, normalized, lstrip, rstrip,
    single_word), all_special_tokens / all_special_ids (tokenizer_config's bos, eos, unk, sep, pad, cls and mask
    tokens, then additional_special_tokens), is_fast, and encode/decode of the text of an added token (the
    converter round-trips non-normalized added tokens through them).
Anything else raises NotImplementedError naming what was asked, so a converter change that needs more shows up as an
error, never as a silently different file. In particular encode() of ordinary text is not implemented: the
converter only needs it to hash a test string's ids against a table of real hub tokenizers, which
run_converter.py replaces by the pre-tokenizer name it is given.
"""
import json
import pathlib

__version__ = "0.0-moe4j-shim"

_SPECIAL_ATTRIBUTES = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")


def _read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class _Config:
    def __init__(self, values):
        self._values = values

    def to_dict(self):
        return dict(self._values)


class AutoConfig:
    @staticmethod
    def from_pretrained(path, **kwargs):
        return _Config(_read_json(pathlib.Path(path) / "config.json"))


class AddedToken:
    def __init__(self, content, special=False, normalized=True, lstrip=False, rstrip=False, single_word=False):
        self.content = content
        self.special = special
        self.normalized = normalized
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.single_word = single_word

    def __str__(self):
        return self.content

    def __repr__(self):
        return f"AddedToken({self.content!r}, special={self.special}, normalized={self.normalized})"


def _token_text(value):
    """A tokenizer_config special-token entry: a string or {"content": ...}."""
    if isinstance(value, dict):
        return value.get("content")
    return value


class PreTrainedTokenizerFast:
    is_fast = True

    def __init__(self, directory):
        directory = pathlib.Path(directory)
        tokenizer_file = directory / "tokenizer.json"
        if not tokenizer_file.is_file():
            raise OSError(f"moe4j transformers shim: no tokenizer.json in {directory} (the shim reads only that file)")
        data = _read_json(tokenizer_file)
        config_file = directory / "tokenizer_config.json"
        self._config = _read_json(config_file) if config_file.is_file() else {}
        model = data.get("model", {})
        if model.get("type") not in ("BPE", None):
            raise NotImplementedError(f"moe4j transformers shim: tokenizer model {model.get('type')} (only BPE)")
        self._model_vocab = dict(model.get("vocab", {}))
        self._added = {}
        for entry in data.get("added_tokens", []):
            self._added[entry["id"]] = AddedToken(entry["content"], entry.get("special", False),
                                                  entry.get("normalized", True), entry.get("lstrip", False),
                                                  entry.get("rstrip", False), entry.get("single_word", False))
        # tokenizer_config.json may list added tokens too; tokenizer.json's entries win, as they describe the model
        for key, entry in self._config.get("added_tokens_decoder", {}).items():
            self._added.setdefault(int(key), AddedToken(entry["content"], entry.get("special", False),
                                                        entry.get("normalized", True), entry.get("lstrip", False),
                                                        entry.get("rstrip", False), entry.get("single_word", False)))

    # ---- the vocabulary ----

    def get_vocab(self):
        vocab = dict(self._model_vocab)
        for token_id, token in self._added.items():
            vocab[token.content] = token_id
        return vocab

    @property
    def vocab(self):
        return self.get_vocab()

    @property
    def vocab_size(self):
        return len(self._model_vocab)

    def __len__(self):
        return len(self.get_vocab())

    def get_added_vocab(self):
        return {token.content: token_id for token_id, token in sorted(self._added.items())}

    @property
    def added_tokens_decoder(self):
        return dict(sorted(self._added.items()))

    @property
    def all_special_tokens(self):
        out = []
        for attribute in _SPECIAL_ATTRIBUTES:
            text = _token_text(self._config.get(attribute))
            if text is not None and text not in out:
                out.append(text)
        for value in self._config.get("additional_special_tokens", []) or []:
            text = _token_text(value)
            if text is not None and text not in out:
                out.append(text)
        return out

    @property
    def all_special_ids(self):
        vocab = self.get_vocab()
        return [vocab[t] for t in self.all_special_tokens if t in vocab]

    # ---- the text of added tokens ----

    def encode(self, text, add_special_tokens=True, **kwargs):
        if add_special_tokens:
            raise NotImplementedError("moe4j transformers shim: encode(add_special_tokens=True)")
        for token_id, token in self._added.items():
            if token.content == text:
                return [token_id]
        raise NotImplementedError(f"moe4j transformers shim: encode() of ordinary text ({text[:40]!r}); it encodes"
                                  " only the text of an added token")

    def decode(self, ids, skip_special_tokens=False, **kwargs):
        out = []
        for token_id in ids:
            token = self._added.get(token_id)
            if token is None:
                raise NotImplementedError(f"moe4j transformers shim: decode() of id {token_id}, not an added token")
            if not (skip_special_tokens and token.special):
                out.append(token.content)
        return "".join(out)

    def __getattr__(self, name):
        if name.startswith("__"):  # Python's own probes (copy, pickle, ...) expect AttributeError
            raise AttributeError(name)
        raise NotImplementedError(f"moe4j transformers shim: tokenizer.{name} is not provided")


class AutoTokenizer:
    @staticmethod
    def from_pretrained(path, **kwargs):
        # trust_remote_code, cache_dir, local_files_only: nothing here runs code or downloads; the files are data
        return PreTrainedTokenizerFast(path)


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise NotImplementedError(f"moe4j transformers shim: transformers.{name} is not provided")
