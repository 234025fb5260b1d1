package modelgen_test

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/lair-ir/lair/encoder/modelgen"
	"github.com/lair-ir/lair/encoder/onnxpb"
	"github.com/lair-ir/lair/encoder/ort"
	"github.com/lair-ir/lair/internal/testenv"
)

// batch returns a padded 2x7 batch with one short row.
func batch(pad int64) (ids, mask, types []int64) {
	ids = []int64{2, 10, 11, 12, 13, 14, 3, 2, 20, 21, 3, pad, pad, pad}
	mask = []int64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}
	types = []int64{0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0}
	return
}

func TestGenerateRunsInORTAndMatchesReference(t *testing.T) {
	lib := testenv.ORTLib(t)
	for _, arch := range modelgen.Architectures {
		t.Run(arch, func(t *testing.T) {
			dir := t.TempDir()
			c := modelgen.Config{Arch: arch, Layers: 2, Hidden: 32, Heads: 4, Intermediate: 64, MaxPositions: 16, Seed: 7, VocabSize: 200}
			if err := modelgen.Generate(dir, c); err != nil {
				t.Fatal(err)
			}
			ref, err := modelgen.LoadReference(dir)
			if err != nil {
				t.Fatal(err)
			}
			s, err := ort.NewSession(filepath.Join(dir, "model.onnx"), ort.Options{Lib: lib, Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got, want := s.HasTypeIDs(), arch == modelgen.ArchBERT; got != want {
				t.Errorf("token_type_ids input: %v, want %v", got, want)
			}
			ids, mask, types := batch(ref.PadID)
			if arch != modelgen.ArchBERT {
				types = nil
			}
			want := ref.Forward(ids, mask, types, 2, 7)
			err = s.Run(ort.Batch{Rows: 2, Len: 7, IDs: ids, Mask: mask, TypeIDs: types}, func(got []float32, width int) error {
				if width != 32 || len(got) != len(want) {
					t.Fatalf("output width %d, %d values; want 32, %d", width, len(got), len(want))
				}
				worst := 0.0
				for i := range got {
					// Padded positions of transformer models are computed but meaningless.
					if mask[i/32] == 0 && arch != modelgen.ArchStatic {
						continue
					}
					worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
				}
				t.Logf("ORT: largest difference from the Go reference %g", worst)
				if worst > 1e-4 {
					t.Errorf("ORT and the Go reference differ by %g", worst)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestGenerateDeterministic(t *testing.T) {
	c := modelgen.Config{Arch: "bert", Layers: 1, Hidden: 16, Heads: 2, Seed: 3, VocabSize: 100}
	a := onnxpb.Encode(modelgen.Build(c, 100, 0))
	b := onnxpb.Encode(modelgen.Build(c, 100, 0))
	if string(a) != string(b) {
		t.Fatal("same config gave different models")
	}
	c.Seed = 4
	if string(onnxpb.Encode(modelgen.Build(c, 100, 0))) == string(a) {
		t.Fatal("different seeds gave the same model")
	}
}

func TestInitializerNamesFollowHF(t *testing.T) {
	m := modelgen.Build(modelgen.Config{Arch: "bert", Layers: 2, Hidden: 16, Heads: 2}, 50, 0)
	for _, name := range []string{
		"embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
		"embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
		"encoder.layer.1.attention.self.query.weight", "encoder.layer.1.attention.output.LayerNorm.bias",
		"encoder.layer.0.intermediate.dense.weight", "encoder.layer.0.output.dense.bias",
	} {
		if _, ok := m.Graph.Initializer(name); !ok {
			t.Errorf("no initializer %s", name)
		}
	}
}

func TestBadConfig(t *testing.T) {
	for _, c := range []modelgen.Config{
		{Arch: "gpt"},
		{Arch: "bert", Hidden: 30, Heads: 4},
		{Arch: "bert", MaxPositions: 2},
	} {
		if err := modelgen.Generate(t.TempDir(), c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
