package encode_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/lair-ir/lair/encoder/encode"
	"github.com/lair-ir/lair/encoder/model"
	"github.com/lair-ir/lair/encoder/modelgen"
	"github.com/lair-ir/lair/internal/testenv"
)

// BenchmarkEncode measures end-to-end encoding (no cache) of 512 texts of
// mixed length with a small generated BERT; the long benchmark against ONNX
// Runtime alone and transformers.js is bench/encode/run.sh.
func BenchmarkEncode(b *testing.B) {
	lib := testenv.ORTLib(b)
	dir := b.TempDir()
	if err := modelgen.Generate(dir, modelgen.Config{Arch: "bert", Layers: 2, Hidden: 128, Heads: 2, MaxPositions: 128, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	m, err := model.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	e, err := encode.New(m, encode.Options{Normalize: true, MaxLength: 128, Lib: lib})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	texts := make([]string, 512)
	for i := range texts {
		texts[i] = fmt.Sprintf("text %d ", i)
		for j := 0; j < i%40; j++ {
			texts[i] += "word "
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, _, err := e.Encode(context.Background(), "passage", "", texts, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(texts)*b.N)/b.Elapsed().Seconds(), "texts/s")
}
