package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzJSONSeeds = []string{
	`{"model":{"type":"WordPiece","unk_token":"[UNK]","vocab":{"[UNK]":0,"a":1,"##b":2}}}`,
	`{"model":{"vocab":{"[UNK]":0,"hello":1}},"normalizer":{"type":"BertNormalizer"},"pre_tokenizer":{"type":"BertPreTokenizer"}}`,
	`{"model":{"unk_id":0,"vocab":[["<unk>",0],["▁a",-1],["b",-2]]},"pre_tokenizer":{"type":"Metaspace","replacement":"▁","add_prefix_space":true}}`,
	`{"model":{"type":"Unigram","unk_id":0,"byte_fallback":true,"vocab":[["<unk>",0],["<0x41>",-1]]},"normalizer":{"type":"Precompiled","precompiled_charsmap":"AAAAAA=="}}`,
	`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},"pre_tokenizer":{"type":"ByteLevel"}}`,
	`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[["a","b"]],"unk_token":"a","fuse_unk":true,"byte_fallback":true}}`,
	`{"model":{"type":"WordLevel","vocab":{"<unk>":0},"unk_token":"<unk>"},"pre_tokenizer":{"type":"Split","pattern":{"Regex":"\\s+"},"behavior":"Isolated","invert":true}}`,
	`{"added_tokens":[{"id":5,"content":"<m>","lstrip":true,"rstrip":true,"single_word":true,"normalized":true,"special":false}],"model":{"type":"WordPiece","vocab":{"[UNK]":0}},"truncation":{"max_length":3,"direction":"Left"},"padding":{"strategy":{"Fixed":8},"pad_to_multiple_of":3}}`,
	`{"model":{"type":"WordPiece","vocab":{"[UNK]":0}},"normalizer":{"type":"Sequence","normalizers":[{"type":"NFKC"},{"type":"Replace","pattern":{"String":"a"},"content":"bb"},{"type":"Strip"},{"type":"Prepend","prepend":"x"},{"type":"Nmt"},{"type":"StripAccents"},{"type":"Lowercase"}]}}`,
	`{"model":{"type":"WordPiece","vocab":{"[UNK]":0}},"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Whitespace"},{"type":"Digits","individual_digits":true},{"type":"Punctuation","behavior":"MergedWithNext"},{"type":"CharDelimiterSplit","delimiter":"x"},{"type":"WhitespaceSplit"}]}}`,
	`{"model":{"type":"WordPiece","vocab":{"[UNK]":0,"[CLS]":1}},"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":1}}],"special_tokens":{"[CLS]":{"id":"[CLS]","ids":[1],"tokens":["[CLS]"]}}}}`,
	`{"model":{"type":"WordPiece","vocab":{"[UNK]":0}},"post_processor":{"type":"RobertaProcessing","sep":["</s>",2],"cls":["<s>",0]}}`,
	`{"model":null}`, `[]`, `{}`, `{"model":{"type":"Unigram","vocab":[["a"]]}}`,
	// Rejected inputs (see TestRejectedFiles): invalid UTF-8 and lone
	// surrogates in vocabulary keys, WordPiece relabelled BPE without merges.
	"{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"[UNK]\":0,\"a\xffb\":1,\"a\xfeb\":2}}}",
	`{"model":{"type":"WordPiece","vocab":{"[UNK]":0,"\ud800":1,"\udc00":2}}}`,
	`{"model":{"type":"WordPiece","vocab":{"[UNK]":0,"\ud83d\ude00":1,"\\ud800":2}}}`,
	`{"model":{"type":"BPE","unk_token":"[UNK]","vocab":{"[UNK]":0,"a":1,"b":2,"ab":3,"##b":4}}}`,
	`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[],"ignore_merges":true}}`,
}

// FuzzFromJSON: arbitrary tokenizer.json never panics, and a tokenizer that
// loads can encode.
func FuzzFromJSON(f *testing.F) {
	for _, s := range fuzzJSONSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tk, err := FromJSON(data)
		if err != nil {
			return
		}
		for _, text := range []string{"", "Hello world, 12 3!", "ab <m> A\u0301 中文"} {
			enc, err := tk.Encode(text, true)
			if err != nil {
				continue
			}
			checkEncoding(t, tk, text, enc)
		}
	})
}

func checkEncoding(t *testing.T, tk *Tokenizer, text string, enc Encoding) {
	t.Helper()
	n := len(enc.IDs)
	if len(enc.TypeIDs) != n || len(enc.AttentionMask) != n || len(enc.Tokens) != n || len(enc.Offsets) != n || len(enc.SpecialTokensMask) != n {
		t.Fatalf("%q: inconsistent encoding lengths", text)
	}
	vs := int64(tk.VocabSize())
	for i, id := range enc.IDs {
		if enc.AttentionMask[i] == 0 {
			continue // padding ids come from the padding section
		}
		if id < 0 || id >= vs {
			t.Fatalf("%q: id %d outside [0,%d)", text, id, vs)
		}
		o := enc.Offsets[i]
		if o[0] < 0 || o[0] > o[1] || o[1] > len(text) {
			t.Fatalf("%q: offsets %v outside the input (%d bytes)", text, o, len(text))
		}
	}
}

// FuzzEncode: encoding never panics on any input for the fixture
// tokenizers, ids are in the vocabulary and offsets inside the input.
func FuzzEncode(f *testing.F) {
	var tks []*Tokenizer
	var rawOffsets []bool // HF's raw byte-fallback offsets may split characters
	for _, fx := range []string{"all-minilm-l6-v2.json.gz", "t5-small.json.gz", "xlmr-synth.json.gz",
		"unigram-kitchen-synth.json.gz", "bpe-bytelevel-synth.json.gz", "wordpiece-seq-synth.json.gz", "mbert-synth.json.gz",
		"regex-synth.json.gz", "bpe-prefix-synth.json.gz", "albert-base-v2.json.gz", "bpe-llama3-synth.json.gz"} {
		tks = append(tks, loadFixture(f, fx))
		rawOffsets = append(rawOffsets, fx == "bpe-prefix-synth.json.gz")
	}
	for _, s := range []string{"", " ", "Hello, world!", "Grüße aus München", "我们今天去北京", "e\u0301\u0301", "\xff\xfe invalid utf8 \xc3",
		"[CLS] <mask> </s> [MASK]x", strings.Repeat("ab", 300), "\u0000\u200b\ufeff", "😀👍🏽", "ﬁ ½ ＡＢＣ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for ti, tk := range tks {
			enc, err := tk.Encode(text, true)
			if err != nil {
				t.Fatalf("%q: %v", text, err)
			}
			checkEncoding(t, tk, text, enc)
			if utf8.ValidString(text) && !rawOffsets[ti] {
				for i, o := range enc.Offsets {
					if o[1] > o[0] && (!utf8.RuneStart(text[o[0]]) || (o[1] < len(text) && !utf8.RuneStart(text[o[1]]))) {
						t.Fatalf("%q: token %d offsets %v split a character", text, i, o)
					}
				}
			}
		}
	})
}
