// Golden fixtures for SentencePiece-style BPE with byte fallback (Llama, Mistral, Mixtral), from Hugging Face's own
// tokenizers (the Rust library, through the @anush008/tokenizers Node binding).
// This script learns a few hundred merges from a slice of kjv.txt in the SentencePiece way (words start with "▁",
// characters are the base symbols, the 256 <0xNN> byte tokens stand behind everything else), writes a Llama-layout
// tokenizer.json, and has Hugging Face load it in variants (Llama's Prepend/Replace normalizer, the newer Metaspace
// pre-tokenizer with prepend_scheme first/always/never and split, unk without byte fallback, ignore_merges) and
// record its ids, its ids with special tokens, and its decodes.
// Usage: node sp_fixtures.js KJV_TXT OUT_DIR
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('@anush008/tokenizers');

const [kjvPath, outDir] = process.argv.slice(2);
const kjv = fs.readFileSync(kjvPath, 'utf8');
const MERGES = 250;
const SP = '\u2581';

// ---- learn merges: plain BPE over "▁word" pieces, the most frequent pair first, ties by the pair's text ----
const slice = kjv.substring(0, 60000).replace(/\s+/g, ' ').trim();
const counts = new Map();
for (const w of slice.split(' ')) {
  if (w) counts.set(SP + w, (counts.get(SP + w) || 0) + 1);
}
let words = [...counts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([w, n]) => ({ syms: [...w], n }));
const alphabet = [...new Set(words.flatMap((w) => w.syms))].sort();
const merges = [];
for (let m = 0; m < MERGES; m++) {
  const pairs = new Map();
  for (const w of words) {
    for (let i = 0; i + 1 < w.syms.length; i++) {
      const k = w.syms[i] + '\u0000' + w.syms[i + 1];
      pairs.set(k, (pairs.get(k) || 0) + w.n);
    }
  }
  let best = null, bestN = 0;
  for (const [k, n] of pairs) if (n > bestN || (n === bestN && k < best)) { best = k; bestN = n; }
  if (best === null) break;
  const [a, b] = best.split('\u0000');
  merges.push([a, b]);
  for (const w of words) {
    const out = [];
    for (let i = 0; i < w.syms.length; i++) {
      if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) { out.push(a + b); i++; } else out.push(w.syms[i]);
    }
    w.syms = out;
  }
}

// ---- the Llama layout: <unk> <s> </s>, the byte tokens, the characters, then the merged tokens by rank ----
const vocab = {};
let next = 0;
const addVocab = (t) => { if (!(t in vocab)) vocab[t] = next++; };
['<unk>', '<s>', '</s>'].forEach(addVocab);
for (let b = 0; b < 256; b++) addVocab('<0x' + b.toString(16).toUpperCase().padStart(2, '0') + '>');
alphabet.forEach(addVocab);
merges.forEach(([a, b]) => addVocab(a + b));
const size = next;
const added = (id, content, special, extra = {}) => Object.assign(
  { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special }, extra);
const base = {
  version: '1.0', truncation: null, padding: null,
  added_tokens: [
    added(0, '<unk>', true), added(1, '<s>', true), added(2, '</s>', true),
    added(size, '[INST]', true), added(size + 1, '[/INST]', true),
    added(size + 2, '<|tool|>', true, { lstrip: true, rstrip: true }),
    added(size + 3, 'God', false, { single_word: true }),
    added(size + 4, 'the LORD', false, { normalized: true }),
  ],
  normalizer: { type: 'Sequence', normalizers: [
    { type: 'Prepend', prepend: SP }, { type: 'Replace', pattern: { String: ' ' }, content: SP }] },
  pre_tokenizer: null,
  post_processor: { type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
    special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } } },
  decoder: { type: 'Sequence', decoders: [
    { type: 'Replace', pattern: { String: SP }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' },
    { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
  model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null,
    fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges },
};

// Each variant replaces top-level fields and model fields of the base; the test applies the same overrides.
const metaspace = (scheme, split) => ({ type: 'Metaspace', replacement: SP, prepend_scheme: scheme, split });
const variants = {
  llama: { top: {}, model: {} },
  metaspace_first: { top: { normalizer: null, pre_tokenizer: metaspace('first', false), decoder: metaspace('first', false) },
    model: {} },
  metaspace_always_split: { top: { normalizer: null, pre_tokenizer: metaspace('always', true) }, model: {} },
  metaspace_never_split: { top: { normalizer: null, pre_tokenizer: metaspace('never', true),
    decoder: metaspace('never', true), post_processor: null }, model: {} },
  legacy_add_prefix_space: { top: { normalizer: null, post_processor: null,
    pre_tokenizer: { type: 'Metaspace', replacement: SP, add_prefix_space: true, str_rep: SP },
    decoder: { type: 'Metaspace', replacement: SP, add_prefix_space: true, str_rep: SP } }, model: {} },
  unk_fused: { top: {}, model: { byte_fallback: false } },
  unk_unfused: { top: {}, model: { byte_fallback: false, fuse_unk: false } },
  ignore_merges: { top: {}, model: { ignore_merges: true } },
  legacy_merges: { top: {}, model: { merges: merges.map((m) => m.join(' ')) } },
};
const build = (v) => {
  const j = JSON.parse(JSON.stringify(base));
  Object.assign(j, JSON.parse(JSON.stringify(v.top)));
  Object.assign(j.model, JSON.parse(JSON.stringify(v.model)));
  return j;
};

const texts = [
  '',
  ' ',
  'In the beginning God created the heaven and the earth.',
  'And God said, Let there be light: and there was light.',
  '   leading and trailing   ',
  'double  spaces   and    more',
  'lines\nand\n\nnewlines\r\n\ttab',
  'Café naïve façade — “quotes” … ½',
  'e\u0301 decomposed vs \u00e9 composed',
  '日本語のテキスト、中文。한국어',
  'emoji 👍🏽 family 👨‍👩‍👧‍👦 flag 🇺🇸 😀!',
  '<s>[INST] What is the LORD? [/INST] He is God.</s>',
  '<s>In the beginning</s><s>',
  '[INST]x[/INST]',
  'call <|tool|>  now and<|tool|>then',
  'Godly God, God\'s and GodGod God',
  'the LORD the  LORD theLORD',
  'weird <s <s> </s and [INST',
  '▁already▁metaspace ▁ here',
  'numbers 3.14159 and 1,000 and ٣٤٥',
  '\u0000\u0001\u007f control',
  kjv.substring(kjv.length - 300),
];

// Token ids (by name) to decode, among them byte tokens that split a character or are not valid UTF-8.
const id = (t) => {
  if (t in vocab) return vocab[t];
  const a = base.added_tokens.find((x) => x.content === t);
  if (!a) throw new Error('no token ' + t);
  return a.id;
};
const byte = (b) => 3 + b;
const decodes = [
  [byte(0xe2), byte(0x82), byte(0xac)],
  [byte(0xe2), byte(0x82)],
  [byte(0x41), byte(0xe2), id('<s>'), byte(0x82), byte(0xac)],
  [byte(0xf0), byte(0x9f), byte(0x98), byte(0x80), id(SP + 't'), byte(0xff)],
  [byte(0xc3), byte(0xa9), byte(0xff), id(SP + 'a')],
  [id('<s>'), id(SP + 'the'), id(SP), id(SP), id('</s>')],
  [id(SP), id(SP + 'the')],
  [id('[INST]'), id(SP + 'a'), id('[/INST]'), byte(0x20), id('the LORD')],
  [id('<unk>'), id(SP + 'a'), id('<unk>')],
  [byte(0x20), byte(0x20), id('a')],
];

(async () => {
  fs.writeFileSync(path.join(outDir, 'sp_base.tokenizer.json'), JSON.stringify(build(variants.llama)) + '\n');
  const out = { generator: 'tools/tokenizer/make_fixtures.sh (sp_fixtures.js)',
    reference: 'Hugging Face tokenizers (Rust) via the npm package @anush008/tokenizers 0.6.0',
    base: 'sp_base.tokenizer.json', texts, variants: {} };
  for (const [name, v] of Object.entries(variants)) {
    const tok = Tokenizer.fromString(JSON.stringify(build(v)));
    const v2 = { top: v.top, model: name === 'legacy_merges' ? { merges: 'as "a b" strings' } : v.model,
      ids: [], with_specials: [], decoded: [], decoded_skip: [] };
    for (const text of texts) { // one entry per text, in the order of "texts"
      const ids = Array.from((await tok.encode(text, null, { addSpecialTokens: false })).getIds());
      v2.ids.push(ids);
      v2.with_specials.push(Array.from((await tok.encode(text, null, { addSpecialTokens: true })).getIds()));
      v2.decoded.push(await tok.decode(ids, false));
      v2.decoded_skip.push(await tok.decode(ids, true));
    }
    const decoded = [];
    for (const ids of decodes) {
      decoded.push({ ids, text: await tok.decode(ids, false), skip_special: await tok.decode(ids, true) });
    }
    v2.decodes = decoded;
    out.variants[name] = v2;
  }
  // A file written by Hugging Face itself, to read its own layout.
  Tokenizer.fromString(JSON.stringify(build(variants.llama))).save(path.join(outDir, 'sp_hf_saved.tokenizer.json'), false);
  const text = JSON.stringify(out, null, 1).replace(/\[\s+([\d,\s]*?)\s*\]/g, (m, g) => '[' + g.replace(/\s+/g, '') + ']');
  fs.writeFileSync(path.join(outDir, 'hf_sp_ids.json'), text + '\n');
  console.log('wrote', Object.keys(variants).length, 'variants,', texts.length, 'texts,', decodes.length,
    'decodes,', size, 'model tokens,', merges.length, 'merges to', outDir);
})();
