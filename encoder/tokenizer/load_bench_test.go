package tokenizer

import (
	"encoding/json"
	"fmt"
	"testing"
)

// BenchmarkLoadUnigram250k loads an XLM-R-sized Unigram file (250k pieces).
func BenchmarkLoadUnigram250k(b *testing.B) {
	vocab := make([][2]any, 0, 250000)
	for _, s := range []string{"<s>", "<pad>", "</s>", "<unk>"} {
		vocab = append(vocab, [2]any{s, 0.0})
	}
	for i := len(vocab); i < 250000; i++ {
		vocab = append(vocab, [2]any{fmt.Sprintf("▁w%dxyz%d", i, i%977), -float64(i) / 1000})
	}
	data, _ := json.Marshal(map[string]any{"model": map[string]any{"type": "Unigram", "unk_id": 3, "vocab": vocab},
		"pre_tokenizer": map[string]any{"type": "Metaspace"}})
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := FromJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadFixtures loads the real fixture files.
func BenchmarkLoadFixtures(b *testing.B) {
	for _, fx := range []string{"t5-small.json.gz", "all-minilm-l6-v2.json.gz"} {
		data := readFixture(b, fx)
		b.Run(fx, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, err := FromJSON(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
