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
// characters, as the binding reports them; every other text), "type_ids"
// (omitted when all 0), "mask" (omitted when all 1), "ids_nospecial" (every
// 7th text only)}.
// Output is deterministic, so re-running it proves the committed files current.
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
];

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
  return out;
}

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
      const e = await tok.encode(all[i].text, null, {addSpecialTokens: true});
      const row = {ids: e.getIds()};
      // Offsets for every other text keep the files small; type ids and
      // attention masks only when not all 0 / all 1.
      if (i % 2 === 0) row.offsets = e.getOffsets();
      const types = e.getTypeIds(), mask = e.getAttentionMask();
      if (types.some((x) => x !== 0)) row.type_ids = types;
      if (mask.some((x) => x !== 1)) row.mask = mask;
      if (i % 7 === 0) {
        const n = await tok.encode(all[i].text, null, {addSpecialTokens: false});
        row.ids_nospecial = n.getIds();
      }
      rows.push(row);
    }
    writeJSONL(path.join(outDir, fx.replace(/\.json(\.gz)?$/, '') + '.jsonl.gz'), rows);
    console.log(fx, rows.length);
  }
  fs.rmSync(tmp, {recursive: true, force: true});
}

main().catch((e) => { console.error(e); process.exit(1); });
