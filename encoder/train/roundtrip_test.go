package train

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/lair-ir/lair/encoder/encode"
	lairmodel "github.com/lair-ir/lair/encoder/model"
	"github.com/lair-ir/lair/encoder/modelgen"
	"github.com/lair-ir/lair/encoder/onnxpb"
)

// fileShape is what must not change when a model is fine-tuned: the ONNX
// file's size, its initializer names, and its external data files' sizes.
type fileShape struct {
	size     int64
	inits    []string
	external map[string]int64
}

func shapeOf(t *testing.T, dir string) fileShape {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnxpb.DecodeStructure(b)
	if err != nil {
		t.Fatal(err)
	}
	fs := fileShape{size: int64(len(b)), external: map[string]int64{}}
	for _, i := range m.Graph.Initializers {
		fs.inits = append(fs.inits, i.Name)
	}
	files, err := m.Graph.ExternalFiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		fs.external[f] = st.Size()
	}
	return fs
}

// TestFineTuneTwice trains every generated graph style twice in a row
// (train -> export -> train -> export) and then encodes with the result:
// after each round the exported file has exactly the input's initializers
// and size (no __fused_wQKV_* or other additions), ONNX Runtime on the
// export agrees with the trained GoMLX graph within 1e-5, and lair's
// encode stage on the twice-trained folder gives what the trained graph
// gives.
func TestFineTuneTwice(t *testing.T) {
	initORT(t)
	texts := []string{"what about t3 x3", "t7 is described here", "a b c d e f g h i j k l m n o p q r s", "x"}
	for _, v := range modelgen.Variants() {
		t.Run(v.Name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "round0")
			c := v.Apply(modelgen.Config{Hidden: 32, Layers: 2, Heads: 2, Intermediate: 64, VocabSize: testVocab, MaxPositions: 64, Seed: 5})
			if err := modelgen.Generate(dir, c); err != nil {
				t.Fatal(err)
			}
			want := shapeOf(t, dir)
			if v.Style.ExternalThreshold > 0 && len(want.external) == 0 {
				t.Fatal("the external-data variant wrote no external data")
			}
			for round := 1; round <= 2; round++ {
				cfg := testConfig()
				cfg.LR = 1e-2
				tr := newTestTrainer(t, dir, cfg)
				for _, w := range tr.model.Trainable {
					if _, ok := tr.model.onnxName[w.Name()]; !ok {
						t.Fatalf("round %d: trainable %s is not an initializer of the input", round, w.Path())
					}
				}
				if _, err := tr.Run(context.Background(), synthPlan(3, 4), nil); err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(t.TempDir(), fmt.Sprintf("round%d", round))
				if err := tr.Export(out); err != nil {
					t.Fatal(err)
				}
				if v.Style.Pooler {
					// The pooler is not on the path to the token states: untouched
					// (its matrix would otherwise decay under AdamW).
					a, _ := onnxpb.ReadFile(filepath.Join(dir, "model.onnx"))
					b, _ := onnxpb.ReadFile(filepath.Join(out, "model.onnx"))
					names := []string{"pooler.dense.bias"}
					for _, n := range a.Graph.Nodes {
						if n.OpType == "MatMul" && strings.HasPrefix(n.Name, "/pooler/dense/") {
							w := n.Inputs[1]
							if _, ok := a.Graph.Initializer(w); !ok { // dynamo: Transpose(weight)
								for _, p := range a.Graph.Nodes {
									if len(p.Outputs) > 0 && p.Outputs[0] == w {
										w = p.Inputs[0]
									}
								}
							}
							names = append(names, w)
						}
					}
					if len(names) != 2 {
						t.Fatalf("pooler weights %v", names)
					}
					for _, name := range names {
						ta, _ := a.Graph.Initializer(name)
						tb, _ := b.Graph.Initializer(name)
						if ta == nil || tb == nil || string(ta.Raw) != string(tb.Raw) {
							t.Errorf("round %d: %s changed in training", round, name)
						}
					}
				}
				got := shapeOf(t, out)
				if got.size != want.size || !slices.Equal(got.inits, want.inits) || fmt.Sprint(got.external) != fmt.Sprint(want.external) {
					var extra []string
					for _, n := range got.inits {
						if !slices.Contains(want.inits, n) {
							extra = append(extra, n)
						}
					}
					t.Fatalf("round %d: export has %d bytes, %d initializers (new: %v), external %v; input %d bytes, %d initializers, external %v",
						round, got.size, len(got.inits), extra, got.external, want.size, len(want.inits), want.external)
				}
				ids, mask, err := tr.Tensorize("", texts)
				if err != nil {
					t.Fatal(err)
				}
				emb, err := tr.Embed(texts)
				if err != nil {
					t.Fatal(err)
				}
				s := ids.Shape().Dim(1)
				idsF, maskF := tensors.MustCopyFlatData[int64](ids), tensors.MustCopyFlatData[int64](mask)
				ortOut := ortEmbed(t, filepath.Join(out, "model.onnx"), idsF, maskF, len(texts), s, tr.model.HasTokenTypes, tr.model.Output)
				before := ortEmbed(t, filepath.Join(dir, "model.onnx"), idsF, maskF, len(texts), s, tr.model.HasTokenTypes, tr.model.Output)
				worst, moved := 0.0, 0.0
				for i := range emb {
					for k := range emb[i] {
						worst = math.Max(worst, math.Abs(float64(emb[i][k]-ortOut[i][k])))
						moved = math.Max(moved, math.Abs(float64(before[i][k]-ortOut[i][k])))
					}
				}
				t.Logf("round %d: max |GoMLX - ORT| = %.2g, change from the input %.2g", round, worst, moved)
				if worst > 1e-5 {
					t.Errorf("round %d: ONNX Runtime on the export differs from the trained graph by %.3g (> 1e-5)", round, worst)
				}
				if moved < 1e-4 {
					t.Errorf("round %d: the export computes what its input computed: no trained weight was written", round)
				}
				dir = out
			}

			// encode the twice-trained folder with lair's encoder (its own tokenizer.json).
			m, err := lairmodel.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			enc, err := encode.New(m, encode.Options{Normalize: true, Threads: 1, MaxLength: testConfig().MaxLength})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			vecs, dim, _, err := enc.Encode(context.Background(), "passage", "", texts, nil)
			if err != nil {
				t.Fatal(err)
			}
			lm, err := LoadModel(dir)
			if err != nil {
				t.Fatal(err)
			}
			be, err := NewBackend()
			if err != nil {
				t.Fatal(err)
			}
			tr, err := NewTrainer(lm, testConfig(), be)
			if err != nil {
				t.Fatal(err)
			}
			emb, err := tr.Embed(texts)
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for i := range emb {
				for k := range emb[i] {
					worst = math.Max(worst, math.Abs(float64(emb[i][k]-vecs[i*dim+k])))
				}
			}
			t.Logf("encode after two rounds: max |encode - GoMLX| = %.2g", worst)
			if worst > 1e-5 {
				t.Errorf("encode of the twice-trained model differs from the trained graph by %.3g", worst)
			}
		})
	}
}
