// Package tokenizer is a pure-Go implementation of Hugging Face
// `tokenizer.json` files that agrees id for id with Hugging Face's Rust
// tokenizers (checked against golden ids produced by the Rust core through
// npm @anush008/tokenizers, see tools/node/golden-tokenize.js).
//
// Supported: models WordPiece, Unigram (Viterbi, fused unk, byte_fallback),
// BPE (prefix/suffix, fused unk, byte_fallback; dropout ignored) and
// WordLevel; normalizers BertNormalizer,
// NFC/NFD/NFKC/NFKD, Lowercase, StripAccents, Strip, Replace, Prepend,
// Precompiled (SentencePiece charsmap), Nmt and Sequence; pre-tokenizers
// BertPreTokenizer, Whitespace, WhitespaceSplit, Metaspace, Punctuation,
// Split, Digits, CharDelimiterSplit, ByteLevel and Sequence; post-processors
// TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel and
// Sequence; added/special tokens with lstrip/rstrip/single_word/normalized;
// truncation (pair strategies included) and padding; single texts (Encode,
// EncodeBatch) and pairs (EncodePair).
//
// Hugging Face's Unicode tables are older than Go's: hf_tables.go holds the
// character classes probed from the reference (regenerate with
// `node tools/node/golden-tokenize.js --tables`). Regexes are Oniguruma in
// Hugging Face; they are compiled with RE2 after rewriting \s \w \d to
// their Unicode meaning, and patterns RE2 cannot compile (look-around,
// back-references) are reported at load time.
//
// Offsets are byte offsets into the input text. A Tokenizer is safe for
// concurrent use once configured (SetTruncation/SetPadding are not
// concurrency-safe with Encode).
package tokenizer
