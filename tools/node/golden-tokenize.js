#!/usr/bin/env node
// Generates golden token ids for lair's pure-Go tokenizer (encoder/tokenizer)
// with Hugging Face's Rust tokenizers (npm @anush008/tokenizers, tokenizers 0.22).
//
// usage: node tools/node/golden-tokenize.js [xquad-r dir] [out dir]
//   xquad-r dir: default ../shared/data/raw/xquad-r beside the repository ($LAIR_MIRROR/xquad-r when set)
//   out dir:     default encoder/tokenizer/testdata/golden
//
// Writes out/texts.jsonl.gz (one {"lang","kind","text"} per line) and, for
// every fixture tokenizer in encoder/tokenizer/testdata, out/<fixture>.jsonl.gz
// with one line per text: {"ids": [...], "offsets": [[start,end],...] (in
// characters, as the binding reports them; every fourth text), "type_ids"
// (omitted when all 0), "mask" (omitted when all 1), "ids_nospecial" (every
// 11th text only), "pair_ids", "pair_type_ids", "pair_mask" (every 10th text,
// encoded with text (7i+13) mod n as its pair; type ids and mask omitted as
// above)}.
// Output is deterministic, so re-running it proves the committed files current.
//
// node tools/node/golden-tokenize.js --tables [out.go] instead writes the
// character classes Hugging Face's tokenizers use (its Unicode tables are
// older than Go's) as Go range tables: encoder/tokenizer/hf_tables.go.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const {Tokenizer} = require('@anush008/tokenizers');

const repo = path.resolve(__dirname, '..', '..');
const mirror = process.env.LAIR_MIRROR || path.join(repo, '..', 'shared', 'data', 'raw');
const xquadDir = process.argv[2] || path.join(mirror, 'xquad-r');
const outDir = process.argv[3] || path.join(repo, 'encoder', 'tokenizer', 'testdata', 'golden');
const fixtureDir = path.join(repo, 'encoder', 'tokenizer', 'testdata');

// Fixture tokenizers compared by the Go tests (keep in sync with golden_test.go).
const FIXTURES = [
  'all-minilm-l6-v2.json.gz',
  'bert-base-uncased.json.gz',
  't5-small.json.gz',
  'albert-base-v2.json.gz',
  'mbert-synth.json.gz',
  'wordpiece-seq-synth.json.gz',
  'xlmr-synth.json.gz',
  'unigram-kitchen-synth.json.gz',
  'bpe-bytelevel-synth.json.gz',
  'regex-synth.json.gz',
  'bpe-prefix-synth.json.gz',
  'bpe-llama3-synth.json.gz',
];

// Fixtures compared on every n-th text only (null rows otherwise), to keep
// the golden files near 3 MB: bert-base-uncased shares its vocabulary and
// pipeline with all-MiniLM-L6-v2; the BPE and regex files are checked on
// every other text.
const SAMPLE = {
  'bert-base-uncased.json.gz': 3, 'bpe-bytelevel-synth.json.gz': 2, 'bpe-llama3-synth.json.gz': 2,
  'regex-synth.json.gz': 2,
};

const LANGS = ['ar', 'de', 'el', 'en', 'es', 'hi', 'ru', 'th', 'tr', 'vi', 'zh'];
const QUESTIONS = 200, SENTENCES = 100, CONTEXTS = 2;

function pick(list, n) {
  if (list.length <= n) return list;
  const out = [];
  for (let i = 0; i < n; i++) out.push(list[Math.floor(i * list.length / n)]);
  return out;
}

function texts() {
  const out = [];
  for (const lang of LANGS) {
    const d = JSON.parse(fs.readFileSync(path.join(xquadDir, lang + '.json'), 'utf8'));
    const qs = [], ss = [], cs = [];
    for (const art of d.data) for (const p of art.paragraphs) {
      cs.push(p.context);
      for (const s of p.sentences || []) ss.push(s);
      for (const q of p.qas) qs.push(q.question);
    }
    for (const t of pick(qs, QUESTIONS)) out.push({lang, kind: 'question', text: t});
    for (const t of pick(ss, SENTENCES)) out.push({lang, kind: 'sentence', text: t});
    for (const t of pick(cs, CONTEXTS)) out.push({lang, kind: 'context', text: t});
  }
  const edge = [
    '', ' ', '   ', '\t\n\r', '\u00a0\u2003\u3000', 'a', '.', '!!!', '...hello...',
    'Hello, World!', 'HELLO world', 'don\'t you\'re I\'ll we\'ve she\'d', '3.14159 and 1,000,000 and 2024-11-24',
    'emoji 😀🎉👍🏽 family 👨‍👩‍👧‍👦 flags 🇩🇪🇯🇵', '🥰🫠🦄', 'e\u0301 a\u0300 n\u0303 combining',
    'Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dA\u036b\u0357',
    'مرحبا بالعالم! كيف حالك؟', 'שלום עולם', 'mixed English עברית العربية text',
    '\u202eright-to-left override\u202c', 'control\u0000chars\u0001\u0007\u001b[0m\u007f\u0085',
    'zero\u200bwidth\u200c\u200djoiners\ufeffbom', 'soft\u00adhyphen', 'ligatures ﬁ ﬂ ﬀ ﬃ', 'fullwidth ＡＢＣ１２３！',
    'superscripts x² H₂O ½ ⅓ ™ ©', 'İstanbul ıi İI ǅ ß ẞ Σίσυφος ΣΑΣ', 'Ωμέγα ὅτι ᾅ',
    '日本語のテキストです。カタカナ、ひらがな。', '中文测试：我们今天去北京大学。', '한국어 텍스트 입니다',
    'ภาษาไทยไม่มีช่องว่าง', 'हिन्दी में परीक्षण क्षत्रिय', 'Tiếng Việt có dấu: Nguyễn Thị Minh Khai',
    '𠀀𠀁 𪜀 rare CJK ext', '\ud835\udd73\ud835\udd8a\ud835\udd91\ud835\udd91\ud835\udd94 math bold',
    'tab\tseparated\tvalues', 'line\nbreaks\r\nand\rreturns', 'multiple     spaces    here',
    '[CLS] [SEP] [MASK] [PAD] [UNK] <s> </s> <pad> <unk> <mask> <extra_id_0>',
    'a[MASK]b [MASK]  x <mask>y z <mask> ', 'http://example.com/path?q=1&r=2#frag user@example.com',
    '```code``` and \'\'quoted\'\' "text"', 'a'.repeat(150), 'ab '.repeat(700),
    'Supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis',
    '\u2581already\u2581has\u2581metaspace ▁▁', '<0x41> <0xFF>', 'x\u0308\u0301\u0327y',
    '\u1100\u1161\u11a8 jamo', 'ﾊﾟ halfwidth katakana ｶﾞ', '①②③ ⑴ ㈱ ㍻', '\ud83c\udff3\ufe0f\u200d\ud83c\udf08',
    ' leading space', 'trailing space ', '\u3000ideographic\u3000space', '12345678901234567890',
  ];
  for (const t of edge) out.push({lang: 'edge', kind: 'edge', text: t});
  for (const t of randomUnicode(400)) out.push({lang: 'random', kind: 'random', text: t});
  return out;
}

// randomUnicode makes deterministic strings mixing code points from many
// blocks (controls, marks, scripts, CJK extensions, emoji, private use,
// recently assigned and unassigned code points) to catch differences in
// Unicode tables.
function randomUnicode(n) {
  let seed = 0x5eed1234;
  const rand = () => { // mulberry32
    seed = (seed + 0x6D2B79F5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const ranges = [
    [0x20, 0x7e], [0x20, 0x7e], [0x20, 0x7e], [0x00, 0x1f], [0x7f, 0x9f], [0xa0, 0x24f], [0x300, 0x36f],
    [0x370, 0x3ff], [0x400, 0x4ff], [0x590, 0x6ff], [0x700, 0x8ff], [0x900, 0x97f], [0x980, 0xdff],
    [0xe00, 0xe7f], [0x1100, 0x11ff], [0x1680, 0x1fff], [0x2000, 0x206f], [0x2070, 0x2bff], [0x2e80, 0x33ff],
    [0x3400, 0x4dbf], [0x4e00, 0x9fff], [0xa000, 0xabff], [0xac00, 0xd7a3], [0xe000, 0xe0ff], [0xf900, 0xfaff],
    [0xfb00, 0xfdff], [0xfe00, 0xfe6f], [0xff00, 0xffff], [0x10000, 0x1018f], [0x1d400, 0x1d7ff],
    [0x1f000, 0x1f2ff], [0x1f300, 0x1faff], [0x1fb00, 0x1fbff], [0x20000, 0x2a6df], [0x2a700, 0x2ebef],
    [0x30000, 0x323af], [0xe0000, 0xe007f], [0xf0000, 0xf00ff],
  ];
  const out = [];
  for (let i = 0; i < n; i++) {
    const len = 1 + Math.floor(rand() * 30);
    let s = '';
    for (let k = 0; k < len; k++) {
      if (rand() < 0.15) { s += ' '; continue; }
      const [lo, hi] = ranges[Math.floor(rand() * ranges.length)];
      s += String.fromCodePoint(lo + Math.floor(rand() * (hi - lo + 1)));
    }
    out.push(s);
  }
  return out;
}

// pairOf picks the second text of the pair encoded with text i.
function pairOf(i, n) { return (i * 7 + 13) % n; }

function writeJSONL(file, rows) {
  const body = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  fs.writeFileSync(file, zlib.gzipSync(Buffer.from(body, 'utf8'), {level: 9}));
}

async function main() {
  fs.mkdirSync(outDir, {recursive: true});
  const all = texts();
  writeJSONL(path.join(outDir, 'texts.jsonl.gz'), all);
  const tmp = fs.mkdtempSync(path.join(require('os').tmpdir(), 'golden-tok-'));
  for (const fx of FIXTURES) {
    const src = path.join(fixtureDir, fx);
    if (!fs.existsSync(src)) { console.error('skip missing fixture', fx); continue; }
    let data = fs.readFileSync(src);
    if (fx.endsWith('.gz')) data = zlib.gunzipSync(data);
    const plain = path.join(tmp, fx.replace(/\.gz$/, ''));
    fs.writeFileSync(plain, data);
    const tok = Tokenizer.fromFile(plain);
    const rows = [];
    for (let i = 0; i < all.length; i++) {
      if (i % (SAMPLE[fx] || 1) !== 0) { rows.push(null); continue; }
      const e = await tok.encode(all[i].text, null, {addSpecialTokens: true});
      const row = {ids: e.getIds()};
      // Offsets for every fourth text keep the files small; type ids and
      // attention masks only when not all 0 / all 1.
      if (i % 4 === 0) row.offsets = e.getOffsets();
      const types = e.getTypeIds(), mask = e.getAttentionMask();
      if (types.some((x) => x !== 0)) row.type_ids = types;
      if (mask.some((x) => x !== 1)) row.mask = mask;
      if (i % 11 === 0) {
        const n = await tok.encode(all[i].text, null, {addSpecialTokens: false});
        row.ids_nospecial = n.getIds();
      }
      if (i % 10 === 0) {
        const p = await tok.encode(all[i].text, all[pairOf(i, all.length)].text, {addSpecialTokens: true});
        row.pair_ids = p.getIds();
        const pt = p.getTypeIds(), pm = p.getAttentionMask();
        if (pt.some((x) => x !== 0)) row.pair_type_ids = pt;
        if (pm.some((x) => x !== 1)) row.pair_mask = pm;
      }
      rows.push(row);
    }
    writeJSONL(path.join(outDir, fx.replace(/\.json(\.gz)?$/, '') + '.jsonl.gz'), rows);
    console.log(fx, rows.length);
  }
  fs.rmSync(tmp, {recursive: true, force: true});
}

// tables probes every code point through the reference
// normalizers and pre-tokenizers and writes the classes as Go range tables.
function tables(outFile) {
  const T = require('@anush008/tokenizers');
  const clean = T.bertNormalizer({cleanText: true, handleChineseChars: false, stripAccents: false, lowercase: false});
  const bertStrip = T.bertNormalizer({cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false});
  const nfd = T.nfdNormalizer();
  const strip = T.stripAccentsNormalizer();
  const bertPre = T.bertPreTokenizer();
  const ws = T.whitespacePreTokenizer();
  const classes = {
    hfOther: 'clean_text removes it (Rust: c == 0, c == U+FFFD or unicode_categories is_other, minus tab/newline/return)',
    hfSpace: 'clean_text maps it to a space (White_Space or tab/newline/return)',
    hfPunct: 'BertPreTokenizer / Punctuation isolate it (ASCII punctuation or unicode_categories P*)',
    hfMn: 'BertNormalizer strip_accents removes it after NFD (unicode_categories Mn)',
    hfMark: 'StripAccents removes it (unicode-normalization is_combining_mark)',
    hfWord: 'matches \\w in the Whitespace pre-tokenizer (Rust regex, Unicode)',
    hfNoCanon: 'NFD leaves it unchanged in HF although current Unicode decomposes it',
    hfNoCompat: 'NFKD leaves it unchanged in HF although current Unicode decomposes it',
  };
  const nfkd = T.nfkdNormalizer();
  let otherDiff = 0;
  const sets = {};
  for (const k of Object.keys(classes)) sets[k] = [];
  const add = (k, c) => {
    const r = sets[k];
    if (r.length && r[r.length - 1][1] === c - 1) r[r.length - 1][1] = c; else r.push([c, c]);
  };
  const probe = (c) => {
    const ch = String.fromCodePoint(c);
    const cl = clean.normalizeString(ch);
    if (cl === '' && c !== 0) add('hfOther', c);
    if (cl === ' ' && c !== 0x20) add('hfSpace', c);
    if (c === 0x20) add('hfSpace', c);
    const bp = bertPre.preTokenizeString('a' + ch + 'a');
    if (bp.length === 3) add('hfPunct', c);
    if (nfd.normalizeString(ch) === ch && bertStrip.normalizeString(ch) === '') add('hfMn', c);
    if (strip.normalizeString(ch) === '') add('hfMark', c);
    const w = ws.preTokenizeString('a' + ch + 'a');
    if (w.length === 1) add('hfWord', c);
    const d = nfd.normalizeString(ch), kd = nfkd.normalizeString(ch);
    if (d === ch && ch.normalize('NFD') !== ch) add('hfNoCanon', c);
    else if (d !== ch.normalize('NFD')) otherDiff++;
    if (kd === ch && ch.normalize('NFKD') !== ch) add('hfNoCompat', c);
    else if (kd !== ch.normalize('NFKD')) otherDiff++;
  };
  for (let c = 0; c <= 0x10ffff; c++) if (c < 0xd800 || c > 0xdfff) probe(c);
  let go = '// Code generated by tools/node/golden-tokenize.js --tables; DO NOT EDIT.\n\n' +
    'package tokenizer\n\n' +
    '// Character classes probed from Hugging Face tokenizers 0.22 (npm @anush008/tokenizers 0.6.0)\n' +
    '// for every code point (surrogates excluded).\n';
  for (const [k, doc] of Object.entries(classes)) {
    go += '\n// ' + k + ': ' + doc + '.\nvar ' + k + ' = []runeRange{\n';
    for (let i = 0; i < sets[k].length; i += 6) {
      go += '\t' + sets[k].slice(i, i + 6).map(([a, b]) => '{0x' + a.toString(16) + ', 0x' + b.toString(16) + '}').join(', ') + ',\n';
    }
    go += '}\n';
  }
  fs.writeFileSync(outFile, go);
  if (otherDiff) console.log(otherDiff, 'other NFD/NFKD differences from the current Unicode (not tabled)');
  console.log('wrote', outFile, Object.entries(sets).map(([k, v]) => k + ':' + v.length).join(' '));
}

if (process.argv[2] === '--tables') {
  tables(process.argv[3] || path.join(repo, 'encoder', 'tokenizer', 'hf_tables.go'));
} else {
  main().catch((e) => { console.error(e); process.exit(1); });
}
