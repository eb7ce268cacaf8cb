// Step 2 of make_fixtures.sh: Hugging Face's own tokenizers (the Rust library, through the @anush008/tokenizers
// Node binding) loads the tokenizer.json moe4j wrote, in several variants, and records the ids it gives.
// Usage: node hf_fixtures.js BASE_JSON KJV_TXT OUT_DIR
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('@anush008/tokenizers');

const [basePath, kjvPath, outDir] = process.argv.slice(2);
const base = JSON.parse(fs.readFileSync(basePath, 'utf8'));
const kjv = fs.readFileSync(kjvPath, 'utf8');
const clone = (o) => JSON.parse(JSON.stringify(o));

// Qwen2's pre-tokenizer and normalizer, applied to our vocabulary.
const QWEN_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const variants = {
  base: clone(base),
  legacy_merges: (() => { const j = clone(base); j.model.merges = j.model.merges.map((m) => m.join(' ')); return j; })(),
  qwen_style: (() => {
    const j = clone(base);
    j.normalizer = { type: 'NFC' };
    j.pre_tokenizer = { type: 'Sequence', pretokenizers: [
      { type: 'Split', pattern: { Regex: QWEN_REGEX }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false }] };
    j.post_processor = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
    return j;
  })(),
  prefix_space: (() => { const j = clone(base); j.pre_tokenizer.add_prefix_space = true; return j; })(),
  ignore_merges: (() => { const j = clone(base); j.model.ignore_merges = true; return j; })(),
};

const texts = [
  '',
  'In the beginning God created the heaven and the earth.',
  'And God said, Let there be light: and there was light.\n\n',
  "I'll say it's 1611, they're here; we've done what you'd've said.",
  "DON'T SHOUT'S, Don'T",
  '   leading and trailing   ',
  'tabs\tand\r\nwindows\n\n\nnewlines \n',
  'nbsp\u00a0and\u3000ideographic\u2003em\u2028line separator',
  'Café naïve façade — “quotes” … ‘single’',
  'e\u0301 decomposed vs \u00e9 composed, A\u030a vs \u00c5',
  '日本語のテキスト、中文文本。한국어',
  'emoji 👍🏽 family 👨‍👩‍👧‍👦 flag 🇺🇸 !!!',
  'numbers 3.14159 and 1,000,000 and ٣٤٥ and ½ and 2nd',
  '<|bos|>In the beginning<|eos|><|pad|>',
  '<|eos|>',
  'a<|eos|>b<|eos|> <|bos|> c',
  'weird <|eos| and |eos|> and <|eos|<|eos|>>',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  '                    x                    ',
  '\u0000\u0001\u007f\u0085 control chars',
  'mixed123abc456 _under_score_ @#$%^&*() x--y==z',
  'Ὁ θεὸς ἀγάπη ἐστίν. Бог есть любовь.',
  kjv.substring(kjv.length - 1500),
];

// Byte tokens (ids 0..255 are the bytes) that are not valid UTF-8, with specials (256 bos, 257 eos) between.
const decodes = [
  [0xe2, 0x82], [0xff], [0xc3], [0xe2, 0x82, 0x41], [0xf0, 0x9f, 0x98], [0xed, 0xa0, 0x80], [0xc0, 0xaf],
  [0x80, 0x80, 0x41], [0xf4, 0x90, 0x80, 0x80], [0x41, 0xe2, 257, 0x82, 0xac], [256, 0xf0, 0x9f, 0x91, 0x8d, 257],
];

(async () => {
  const out = { generator: 'tools/tokenizer/make_fixtures.sh',
    reference: 'Hugging Face tokenizers (Rust) 0.22.2 via the npm package @anush008/tokenizers 0.6.0', variants: {} };
  for (const [name, json] of Object.entries(variants)) {
    const file = name + '.tokenizer.json';
    fs.writeFileSync(path.join(outDir, file), JSON.stringify(json) + '\n');
    const tok = Tokenizer.fromString(JSON.stringify(json));
    const cases = [];
    for (const text of texts) {
      const enc = await tok.encode(text, null, { addSpecialTokens: false });
      cases.push({ text, ids: Array.from(enc.getIds()) });
    }
    out.variants[name] = { file, cases };
  }
  // A file written by Hugging Face itself, to read its own layout.
  const hf = Tokenizer.fromString(JSON.stringify(variants.base));
  hf.save(path.join(outDir, 'hf_saved.tokenizer.json'), false);
  const base = Tokenizer.fromString(JSON.stringify(variants.base));
  out.decode = [];
  for (const ids of decodes) {
    out.decode.push({ ids, text: await base.decode(ids, false), skip_special: await base.decode(ids, true) });
  }
  // One line per id list, so the file stays small and diffs stay readable.
  const text = JSON.stringify(out, null, 1).replace(/\[\s+([\d,\s]+?)\s+\]/g, (m, g) => '[' + g.replace(/\s+/g, '') + ']');
  fs.writeFileSync(path.join(outDir, 'hf_ids.json'), text + '\n');
  console.log('wrote', Object.keys(variants).length, 'variants,', texts.length, 'texts,', decodes.length, 'decodes to', outDir);
})();
