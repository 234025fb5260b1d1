package tokenizer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFromFileErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "tokenizer.json")
	if err := os.WriteFile(p, []byte(`{"model":{"type":"Nope","vocab":{}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := FromFile(p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), `"Nope"`) {
		t.Fatalf("error %v should name the file and the model type", err)
	}
	if _, err := FromFile(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("missing file: no error")
	}
}

func TestUnsupportedRegexIsNamed(t *testing.T) {
	js := `{"model":{"type":"WordPiece","vocab":{"[UNK]":0}},
	"pre_tokenizer":{"type":"Split","pattern":{"Regex":"\\s+(?!\\S)"},"behavior":"Isolated"}}`
	_, err := FromJSON([]byte(js))
	if err == nil || !strings.Contains(err.Error(), `\s+(?!\S)`) || !strings.Contains(err.Error(), "pre_tokenizer") {
		t.Fatalf("got %v, want an error naming the pattern and the field", err)
	}
}

func TestModelTypeInference(t *testing.T) {
	wp := loadFixture(t, "bert-base-uncased.json.gz") // model has no "type"
	if _, ok := wp.model.(*wordPiece); !ok {
		t.Fatalf("bert-base-uncased: model %T, want WordPiece", wp.model)
	}
	t5 := loadFixture(t, "t5-small.json.gz") // model has no "type"
	if _, ok := t5.model.(*unigram); !ok {
		t.Fatalf("t5-small: model %T, want Unigram", t5.model)
	}
	b, err := FromJSON([]byte(`{"model":{"vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.model.(*bpe); !ok {
		t.Fatalf("model %T, want BPE", b.model)
	}
	enc, err := b.Encode("ab", false)
	if err != nil || len(enc.IDs) != 1 || enc.IDs[0] != 2 {
		t.Fatalf("BPE ab: %v %v", enc.IDs, err)
	}
}

func TestVocabAndTokenLookup(t *testing.T) {
	tk := loadFixture(t, "t5-small.json.gz")
	if got := tk.VocabSize(); got != 32100 {
		t.Errorf("t5 VocabSize %d, want 32100", got)
	}
	if id, ok := tk.TokenToID("</s>"); !ok || id != 1 {
		t.Errorf("</s> -> %d %v", id, ok)
	}
	if id, ok := tk.TokenToID("<extra_id_0>"); !ok || id != 32099 {
		t.Errorf("<extra_id_0> -> %d %v", id, ok)
	}
	if _, ok := tk.TokenToID("no such token"); ok {
		t.Error("unknown token found")
	}
	if s, ok := tk.IDToToken(37); !ok || s != "▁The" {
		t.Errorf("IDToToken(37) = %q %v", s, ok)
	}
	wp := loadFixture(t, "all-minilm-l6-v2.json.gz")
	if got := wp.VocabSize(); got != 30522 {
		t.Errorf("MiniLM VocabSize %d", got)
	}
}

func TestTruncationAndPaddingFromFileAndOverride(t *testing.T) {
	tk := loadFixture(t, "all-minilm-l6-v2.json.gz") // truncation 128, padding Fixed 128
	long := strings.Repeat("hello ", 300)
	enc, err := tk.Encode(long, true)
	if err != nil {
		t.Fatal(err)
	}
	if enc.Len() != 128 || enc.IDs[0] != 101 || enc.IDs[127] != 102 {
		t.Fatalf("file truncation: len %d first %d last %d", enc.Len(), enc.IDs[0], enc.IDs[enc.Len()-1])
	}
	short, _ := tk.Encode("hello", true)
	if short.Len() != 128 || short.AttentionMask[3] != 0 || short.IDs[3] != 0 || short.Tokens[3] != "[PAD]" {
		t.Fatalf("file padding: len %d mask %v", short.Len(), short.AttentionMask[:4])
	}
	tk.SetTruncation(10)
	tk.SetPadding(nil)
	enc, _ = tk.Encode(long, true)
	if enc.Len() != 10 || enc.IDs[9] != 102 {
		t.Fatalf("SetTruncation(10): %v", enc.IDs)
	}
	short, _ = tk.Encode("hello", true)
	if short.Len() != 3 {
		t.Fatalf("SetPadding(nil): %v", short.IDs)
	}
	enc, _ = tk.Encode(long, false)
	if enc.Len() != 10 {
		t.Fatalf("no special tokens: len %d", enc.Len())
	}
	tk.SetTruncationParams(&Truncation{MaxLength: 5, Left: true})
	enc, _ = tk.Encode("a b c d e f g", true)
	if got := strings.Join(enc.Tokens, " "); got != "[CLS] e f g [SEP]" {
		t.Fatalf("left truncation: %s", got)
	}
	tk.SetTruncation(0)
	if tk.GetTruncation() != nil {
		t.Fatal("SetTruncation(0) should disable")
	}
	tk.SetPadding(&Padding{PadToMultipleOf: 4, Left: true, PadID: 0, PadToken: "[PAD]"})
	enc, _ = tk.Encode("a b c", true)
	if enc.Len() != 8 || enc.IDs[0] != 0 || enc.IDs[3] != 101 || enc.AttentionMask[2] != 0 || enc.AttentionMask[3] != 1 {
		t.Fatalf("left padding to multiple of 4: %v %v", enc.IDs, enc.AttentionMask)
	}
}

func TestEncodeBatch(t *testing.T) {
	tk := loadFixture(t, "xlmr-synth.json.gz")
	texts := []string{"Hello world", "a", "", "Grüße aus München, ein längerer Satz.", "中文"}
	tk.SetPadding(&Padding{PadID: 1, PadToken: "<pad>"})
	batch, err := tk.EncodeBatch(context.Background(), texts, true)
	if err != nil {
		t.Fatal(err)
	}
	longest := 0
	for i, text := range texts {
		single, _ := tk.Encode(text, true)
		longest = max(longest, single.Len())
		for k, id := range single.IDs {
			if batch[i].IDs[k] != id {
				t.Fatalf("text %d: batch %v single %v", i, batch[i].IDs, single.IDs)
			}
		}
	}
	for i := range batch {
		if batch[i].Len() != longest {
			t.Errorf("text %d: len %d, want batch longest %d", i, batch[i].Len(), longest)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tk.EncodeBatch(ctx, texts, true); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

func TestAddedTokensBeforeNormalization(t *testing.T) {
	tk := loadFixture(t, "mbert-synth.json.gz")
	// [MASK] has lstrip: the space before it belongs to it.
	enc, err := tk.Encode("Paris ist [MASK] schön", false)
	if err != nil {
		t.Fatal(err)
	}
	mask, _ := tk.TokenToID("[MASK]")
	for i, id := range enc.IDs {
		if id == mask {
			if enc.Offsets[i] != [2]int{9, 16} {
				t.Fatalf("[MASK] offsets %v, want [9 16]", enc.Offsets[i])
			}
			return
		}
	}
	t.Fatalf("[MASK] not matched: %q", enc.Tokens)
}

func TestEncodePairTruncationStrategies(t *testing.T) {
	tk := loadFixture(t, "bert-base-uncased.json.gz")
	a, b := strings.Repeat("a ", 20), strings.Repeat("b ", 5)
	tk.SetTruncationParams(&Truncation{MaxLength: 15})
	enc, err := tk.EncodePair(a, b, true)
	if err != nil {
		t.Fatal(err)
	}
	// LongestFirst: 15 - 3 specials = 12 = 7 of a + 5 of b.
	if got := strings.Join(enc.Tokens, " "); got != "[CLS] a a a a a a a [SEP] b b b b b [SEP]" {
		t.Fatalf("LongestFirst: %s", got)
	}
	if enc.TypeIDs[0] != 0 || enc.TypeIDs[len(enc.TypeIDs)-1] != 1 {
		t.Fatalf("type ids %v", enc.TypeIDs)
	}
	tk.SetTruncationParams(&Truncation{MaxLength: 15, Strategy: "OnlySecond"})
	if _, err := tk.EncodePair(a, b, true); err == nil {
		t.Fatal("OnlySecond with a too short second text: no error")
	}
	tk.SetTruncationParams(&Truncation{MaxLength: 15, Strategy: "OnlyFirst"})
	enc, err = tk.EncodePair(a, b, true)
	if err != nil || enc.Len() != 15 {
		t.Fatalf("OnlyFirst: %v %v", enc.Tokens, err)
	}
	if _, err := tk.Encode(a, true); err != nil {
		t.Fatal(err)
	}
}

func TestTranslateOniguruma(t *testing.T) {
	for in, want := range map[string]string{
		`\s+`:        `[` + onigSpace + `]+`,
		`\S`:         `[^` + onigSpace + `]`,
		`[^\w\s]+`:   `[^` + onigWord + onigSpace + `]+`,
		`a\.b\\d`:    `a\.b\\d`,
		`[]\d]`:      `[]` + onigDigit + `]`,
		`\p{L}+| ?x`: `\p{L}+| ?x`,
	} {
		if got := translateOniguruma(in); got != want {
			t.Errorf("%s -> %s, want %s", in, got, want)
		}
	}
	re, err := compileOniguruma(`\s+`)
	if err != nil || !re.MatchString("\u3000") || !re.MatchString("\u00a0") {
		t.Fatalf("\\s should match Unicode spaces: %v", err)
	}
}

// TestRejectedFiles: inputs encoding/json would silently alter, and a
// WordPiece vocabulary relabelled BPE, are clear errors.
func TestRejectedFiles(t *testing.T) {
	for _, c := range []struct {
		name, json string
		want       []string
	}{
		{"invalid UTF-8 key", "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"[UNK]\":0,\"a\xffb\":1,\"a\xfeb\":2}}}",
			[]string{"not valid UTF-8", "byte 50", "line 1", "ff"}},
		{"lone high surrogate", `{"model":{"type":"WordPiece","vocab":{"[UNK]":0,"x\ud800":1}}}`,
			[]string{`\ud800`, "lone UTF-16 surrogate", "byte 50"}},
		{"lone low surrogate", "{\n\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"[UNK]\":0,\"\\udc00y\":1}}}",
			[]string{`\udc00`, "line 2"}},
		{"WordPiece relabelled BPE", `{"model":{"type":"BPE","unk_token":"[UNK]","vocab":{"[UNK]":0,"a":1,"b":2,"ab":3,"##b":4}}}`,
			[]string{"no merges", `"##b"`, "WordPiece", "1 entries start with"}},
		{"BPE without merges", `{"model":{"type":"BPE","vocab":{"<s>":0,"a":1,"b":2,"ab":3}}}`,
			[]string{"no merges", `"ab"`}},
	} {
		_, err := FromJSON([]byte(c.json))
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
	}
	// Still accepted: a surrogate pair, an escaped backslash before "u",
	// special tokens only, and ignore_merges BPE.
	for _, ok := range []string{
		`{"model":{"type":"WordPiece","vocab":{"[UNK]":0,"\ud83d\ude00":1,"\\ud800":2}}}`,
		`{"model":{"type":"BPE","vocab":{"<s>":0,"</s>":1,"a":2,"b":3}}}`,
		`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[],"ignore_merges":true}}`,
	} {
		if _, err := FromJSON([]byte(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
