package encode_test

import (
	"context"
	"math"
	"testing"

	"github.com/lair-ir/lair/encoder/encode"
	"github.com/lair-ir/lair/encoder/model"
	"github.com/lair-ir/lair/encoder/modelgen"
	"github.com/lair-ir/lair/encoder/tokenizer"
	"github.com/lair-ir/lair/internal/testenv"
)

// TestEncodeEveryVariant encodes with every generated graph style
// (modelgen.Variants: lair's graphs and the op patterns of torch.onnx
// exports, token_embeddings outputs, external data): ONNX Runtime's pooled
// vectors match the Go reference within 1e-5, and the gomlx backend
// matches ONNX Runtime within 1e-4.
func TestEncodeEveryVariant(t *testing.T) {
	lib := testenv.ORTLib(t)
	ctx := context.Background()
	const maxLen = 16
	for _, v := range modelgen.Variants() {
		t.Run(v.Name, func(t *testing.T) {
			dir := t.TempDir()
			c := v.Apply(modelgen.Config{Layers: 2, Hidden: 24, Heads: 3, Intermediate: 48, MaxPositions: 40, Seed: 5,
				Corpus: append(texts, "the the quick quick fox fox dog dog")})
			if err := modelgen.Generate(dir, c); err != nil {
				t.Fatal(err)
			}
			m, err := model.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if want := c.Style.Output; want != "" && m.Output != want {
				t.Errorf("model output %q, want %q", m.Output, want)
			}
			ref, err := modelgen.LoadReference(dir)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := tokenizer.FromFile(m.TokenizerPath)
			if err != nil {
				t.Fatal(err)
			}
			tok.SetTruncation(maxLen)
			opt := encode.Options{Pooling: encode.PoolMean, Normalize: true, MaxLength: maxLen, BatchSize: 3, Threads: 1, Lib: lib}
			e, err := encode.New(m, opt)
			if err != nil {
				t.Fatal(err)
			}
			got, dim, _, err := e.Encode(ctx, "passage", "", texts, nil)
			e.Close()
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for i, text := range texts {
				enc, err := tok.Encode(text, true)
				if err != nil {
					t.Fatal(err)
				}
				want := reference(t, ref, enc, encode.PoolMean, true)
				for j := range want {
					worst = math.Max(worst, math.Abs(float64(got[i*dim+j])-want[j]))
				}
			}
			if worst > 1e-5 {
				t.Errorf("ORT: pooled embeddings differ from the Go reference by %g", worst)
			}
			opt.Backend = encode.BackendGoMLX
			g, err := encode.New(m, opt)
			if err != nil {
				t.Fatal(err)
			}
			gv, _, _, err := g.Encode(ctx, "passage", "", texts, nil)
			g.Close()
			if err != nil {
				t.Fatal(err)
			}
			gw := 0.0
			for i := range gv {
				gw = math.Max(gw, math.Abs(float64(gv[i]-got[i])))
			}
			t.Logf("max |ORT - reference| = %.2g, max |gomlx - ORT| = %.2g", worst, gw)
			if gw > 1e-4 || math.IsNaN(gw) {
				t.Errorf("gomlx backend differs from ONNX Runtime by %g", gw)
			}
		})
	}
}
