package tokenizer

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkEncode encodes the XQuAD-R golden texts (11 languages) one at a
// time on one goroutine; MB/s is input text bytes per second per core.
func BenchmarkEncode(b *testing.B) {
	texts := readJSONL[goldenText](b, filepath.Join("testdata", "golden", "texts.jsonl.gz"))
	var total int64
	for _, tx := range texts {
		total += int64(len(tx.Text))
	}
	for _, fx := range goldenFixtures {
		tk := loadFixture(b, fx)
		b.Run(strings.TrimSuffix(fx, ".json.gz"), func(b *testing.B) {
			b.SetBytes(total)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				for _, tx := range texts {
					if _, err := tk.Encode(tx.Text, true); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkEncodeBatch encodes the same texts with EncodeBatch (all cores).
func BenchmarkEncodeBatch(b *testing.B) {
	texts := readJSONL[goldenText](b, filepath.Join("testdata", "golden", "texts.jsonl.gz"))
	var total int64
	strs := make([]string, len(texts))
	for i, tx := range texts {
		strs[i] = tx.Text
		total += int64(len(tx.Text))
	}
	for _, fx := range []string{"all-minilm-l6-v2.json.gz", "xlmr-synth.json.gz"} {
		tk := loadFixture(b, fx)
		tk.SetPadding(nil)
		b.Run(strings.TrimSuffix(fx, ".json.gz"), func(b *testing.B) {
			b.SetBytes(total)
			for i := 0; i < b.N; i++ {
				if _, err := tk.EncodeBatch(context.Background(), strs, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
