package tiny

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lair-ir/lair/datasets/lareqa"
	"github.com/lair-ir/lair/datasets/pairs"
	"github.com/lair-ir/lair/encoder/tokenizer"
	"github.com/lair-ir/lair/encoder/train"
	"github.com/lair-ir/lair/internal/testenv"
)

func TestLearnVocabSmall(t *testing.T) {
	texts := []string{"Hello world, hello Go!", "สวัสดีครับ สวัสดีค่ะ", "नमस्ते दुनिया नमस्ते", "世界你好"}
	v := LearnVocab(texts, 200, 6)
	if !slices.Equal(v[:5], Specials) {
		t.Fatalf("specials %v", v[:5])
	}
	for _, want := range []string{"h", "##o", "hello", "ส", "##ั", "ि", "##ि", "##े", "世", ","} {
		if !slices.Contains(v, want) {
			t.Errorf("vocab lacks %q", want)
		}
	}
	if slices.Contains(v, "Hello") {
		t.Error("vocab is not lowercased")
	}
	small, big := LearnVocab(texts, 10, 6), LearnVocab(texts, 30, 6)
	if len(big)-len(small) != 20 {
		t.Errorf("size cap: %d and %d tokens for caps 10 and 30", len(small), len(big))
	}
}

func TestTokenizerRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	texts := []string{"Where is the Eiffel Tower?", "Der Eiffelturm steht in Paris.", "หอไอเฟลอยู่ที่ปารีส", "एफिल टॉवर पेरिस में है"}
	if err := Build(dir, texts, Config{VocabSize: 500, Hidden: 16}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"tokenizer.json", "config.json", "model.onnx"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := tokenizer.FromFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range texts {
		enc, err := tok.Encode(text, true)
		if err != nil {
			t.Fatal(err)
		}
		if enc.Tokens[0] != "[CLS]" || enc.Tokens[len(enc.Tokens)-1] != "[SEP]" {
			t.Errorf("%q: tokens %v", text, enc.Tokens)
		}
		for _, tk := range enc.Tokens {
			if tk == "[UNK]" {
				t.Errorf("%q: unknown token in %v", text, enc.Tokens)
			}
		}
		// Vowel signs survive (no accent stripping).
		if strings.Contains(text, "ी") && !strings.Contains(strings.Join(enc.Tokens, ""), "ी") && !strings.Contains(strings.Join(enc.Tokens, ""), "ै") {
			t.Errorf("%q lost its vowel signs: %v", text, enc.Tokens)
		}
	}
}

// TestUnknownRateOnHeldOutData learns the vocabulary from one LAReQA
// dataset's train pairs and tokenizes every question and candidate of the
// other: in the languages the training data has, fewer than 1% of the
// tokens may be [UNK]. (XQuAD-R's languages include all of MLQA-R's; MLQA-R
// lacks el, ru, th and tr, whose rates are logged.)
func TestUnknownRateOnHeldOutData(t *testing.T) {
	if testing.Short() {
		t.Skip("loads two datasets")
	}
	raw := testenv.RawDir(t)
	ctx := context.Background()
	load := func(spec lareqa.Spec) *lareqa.Result {
		r, err := lareqa.LoadDir(ctx, spec, filepath.Join(raw, spec.Name), spec.Languages)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	xq, ml := load(lareqa.XQuADR), load(lareqa.MLQAR)
	for _, c := range []struct {
		name        string
		train, eval *lareqa.Result
		langs       []string
	}{
		{"xquad-r->mlqa-r", xq, ml, lareqa.XQuADR.Languages},
		{"mlqa-r->xquad-r", ml, xq, lareqa.MLQAR.Languages},
	} {
		ps, _, err := pairs.FromDataset(&c.train.Dataset, pairs.Options{ValidationFraction: 0.1, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		var texts []string
		for _, p := range ps {
			if p.Split != "train" {
				continue
			}
			for _, s := range []string{p.QText, p.PText} {
				if !seen[s] {
					seen[s] = true
					texts = append(texts, s)
				}
			}
		}
		dir := filepath.Join(t.TempDir(), "m")
		if err := Build(dir, texts, Config{Hidden: 8}); err != nil {
			t.Fatal(err)
		}
		tok, err := tokenizer.FromFile(filepath.Join(dir, "tokenizer.json"))
		if err != nil {
			t.Fatal(err)
		}
		unk, total := map[string]int{}, map[string]int{}
		count := func(lang, text string) {
			enc, err := tok.Encode(text, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range enc.IDs {
				total[lang]++
				if id == 1 {
					unk[lang]++
				}
			}
		}
		for _, q := range c.eval.Queries {
			count(q.Lang, q.Text)
		}
		for _, cd := range c.eval.Candidates {
			count(cd.Lang, cd.Text)
		}
		var langs []string
		for l := range total {
			langs = append(langs, l)
		}
		slices.Sort(langs)
		allU, allT := 0, 0
		for _, l := range langs {
			rate := float64(unk[l]) / float64(total[l])
			t.Logf("%s %s: %d of %d tokens unknown (%.3f%%)", c.name, l, unk[l], total[l], 100*rate)
			if slices.Contains(c.langs, l) {
				allU += unk[l]
				allT += total[l]
				if rate >= 0.01 {
					t.Errorf("%s %s: unknown-token rate %.3f%% >= 1%%", c.name, l, 100*rate)
				}
			}
		}
		t.Logf("%s: %.3f%% unknown over %d tokens in training languages; vocabulary of %d tokens from %d train texts",
			c.name, 100*float64(allU)/float64(allT), allT, tok.VocabSize(), len(texts))
	}
}

func TestTransformerArchTrains(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	texts := []string{"where is the tower?", "the tower is in paris.", "wo ist der turm?", "der turm steht in paris."}
	if err := Build(dir, texts, Config{Arch: ArchTransformer, Hidden: 16, Layers: 1, Heads: 2, VocabSize: 100, MaxLength: 32}); err != nil {
		t.Fatal(err)
	}
	m, err := train.LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !m.HasTokenTypes {
		t.Error("transformer tiny model should be BERT-shaped (token_type_ids)")
	}
	be, err := train.NewBackend()
	if err != nil {
		t.Fatal(err)
	}
	cfg := train.DefaultConfig()
	cfg.MaxLength = 16
	tr, err := train.NewTrainer(m, cfg, be)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tr.Step(train.Batch{Queries: texts[:2], Passages: texts[2:], Negatives: []string{"", ""}}, 1e-3, 1); err != nil {
		t.Fatal(err)
	}
}
