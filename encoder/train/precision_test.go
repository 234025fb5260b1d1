package train

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lair-ir/lair/encoder/modelgen"
	"github.com/lair-ir/lair/encoder/onnxpb"
)

// TestCastMatMulsGraph checks the bf16 rewrite on a generated BERT graph:
// every MatMul reads Casts to bfloat16, writes a Cast back to float32 under
// its old output name, an operand shared by several MatMuls is cast once,
// and nothing else changes.
func TestCastMatMulsGraph(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	if err := modelgen.Generate(dir, modelgen.Config{Arch: modelgen.ArchBERT, Hidden: 32, Layers: 2, Heads: 2, VocabSize: testVocab, MaxPositions: 64, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	before, err := onnxpb.DecodeStructure(raw)
	if err != nil {
		t.Fatal(err)
	}
	mixed, n, err := castMatMuls(raw, onnxBFloat16)
	if err != nil {
		t.Fatal(err)
	}
	after, err := onnxpb.DecodeStructure(mixed)
	if err != nil {
		t.Fatal(err)
	}
	var matmuls int
	operands := map[string]bool{}
	for _, nd := range before.Graph.Nodes {
		if nd.OpType == "MatMul" {
			matmuls++
			operands[nd.Inputs[0]], operands[nd.Inputs[1]] = true, true
		}
	}
	if n != matmuls || n == 0 {
		t.Fatalf("rewrote %d MatMuls, the graph has %d", n, matmuls)
	}
	if want := len(before.Graph.Nodes) + 2*n + len(operands) - n; len(after.Graph.Nodes) != want {
		t.Errorf("%d nodes after the rewrite, want %d (+%d casts of %d distinct operands, +%d casts back)",
			len(after.Graph.Nodes), want, len(operands), len(operands), n)
	}
	producer := map[string]onnxpb.Node{}
	for _, nd := range after.Graph.Nodes {
		for _, o := range nd.Outputs {
			producer[o] = nd
		}
	}
	castTo := func(nd onnxpb.Node) int64 {
		for _, a := range nd.Attrs {
			if a.Name == "to" {
				return a.I
			}
		}
		return -1
	}
	for _, nd := range after.Graph.Nodes {
		if nd.OpType != "MatMul" {
			continue
		}
		for _, in := range nd.Inputs {
			if p := producer[in]; p.OpType != "Cast" || castTo(p) != onnxBFloat16 {
				t.Fatalf("MatMul %s reads %s from %s (to=%d), want a Cast to bfloat16", nd.Name, in, p.OpType, castTo(p))
			}
		}
	}
	// Every old MatMul output is now made by a Cast to float32 of a MatMul.
	for _, nd := range before.Graph.Nodes {
		if nd.OpType != "MatMul" {
			continue
		}
		p := producer[nd.Outputs[0]]
		if p.OpType != "Cast" || castTo(p) != onnxFloat || producer[p.Inputs[0]].OpType != "MatMul" {
			t.Fatalf("%s is made by %s (to=%d), want a Cast to float32 of a MatMul", nd.Outputs[0], p.OpType, castTo(p))
		}
	}
	if !slices.EqualFunc(before.Graph.Initializers, after.Graph.Initializers, func(a, b onnxpb.Tensor) bool { return a.Name == b.Name }) {
		t.Error("the rewrite changed the initializers")
	}
	if _, n, err := castMatMuls(raw, onnxBFloat16); err != nil || n != matmuls {
		t.Fatalf("second rewrite of the same bytes: %d, %v", n, err)
	}
}

// TestBF16Training trains a generated BERT and XLM-R graph in mixed
// precision: the bf16 graph's embeddings are close to the float32 ones, the
// loss falls, the export is the input's size and initializers, and ONNX
// Runtime on the export agrees with a float32 load of the trained weights.
func TestBF16Training(t *testing.T) {
	initORT(t)
	texts := []string{"what about t3 x3", "t7 is described here", "a b c d e f g h i j k l m n o p q r s", "x"}
	for _, arch := range []string{modelgen.ArchBERT, modelgen.ArchXLMR} {
		t.Run(arch, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "m")
			if err := modelgen.Generate(dir, modelgen.Config{Arch: arch, Hidden: 32, Layers: 2, Heads: 2, Intermediate: 64, VocabSize: testVocab, MaxPositions: 64, Seed: 5}); err != nil {
				t.Fatal(err)
			}
			cfg := testConfig()
			cfg.LR = 1e-2
			fp32 := newTestTrainer(t, dir, cfg)
			want, err := fp32.Embed(texts)
			if err != nil {
				t.Fatal(err)
			}
			m, err := LoadModelWith(dir, wordTok{testVocab})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.SetPrecision(BF16); err != nil {
				t.Fatal(err)
			}
			if m.Precision != BF16 || m.MixedMatMuls == 0 || (arch == modelgen.ArchXLMR && len(m.Sparse) == 0) {
				t.Fatalf("precision %q, %d bf16 MatMuls, %d sparse tables", m.Precision, m.MixedMatMuls, len(m.Sparse))
			}
			tr := trainerOf(t, m, cfg)
			got, err := tr.Embed(texts)
			if err != nil {
				t.Fatal(err)
			}
			worst, minCos := maxAbsDiff(got, want), 1.0
			for i := range got {
				var dot float64
				for k := range got[i] {
					dot += float64(got[i][k]) * float64(want[i][k])
				}
				minCos = math.Min(minCos, dot)
			}
			t.Logf("bf16 vs fp32 embeddings: max |diff| %.3g, min cosine %.6f", worst, minCos)
			if worst == 0 {
				t.Error("bf16 embeddings equal the float32 ones bit for bit: the rewrite did not take effect")
			}
			if minCos < 0.999 {
				t.Errorf("bf16 embeddings drift from float32: min cosine %.5f", minCos)
			}
			plan := synthPlan(20, 8)
			val := []Batch{synthPlan(1, 8)[0].Batch}
			before, err := tr.ValLoss(context.Background(), val)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tr.Run(context.Background(), plan, nil); err != nil {
				t.Fatal(err)
			}
			after, err := tr.ValLoss(context.Background(), val)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("bf16 val loss %.4f -> %.4f", before, after)
			if !(after < before-0.05) {
				t.Errorf("bf16 training did not lower the validation loss: %.4f -> %.4f", before, after)
			}
			out := filepath.Join(t.TempDir(), "trained")
			if err := tr.Export(out); err != nil {
				t.Fatal(err)
			}
			in, exp := shapeOf(t, dir), shapeOf(t, out)
			if in.size != exp.size || !slices.Equal(in.inits, exp.inits) {
				t.Fatalf("bf16 export has %d bytes and %d initializers, input %d and %d", exp.size, len(exp.inits), in.size, len(in.inits))
			}
			// The export is a float32 model: a float32 load of it and ONNX
			// Runtime agree as after float32 training.
			reload := newTestTrainer(t, out, cfg)
			if diff := maxAbsDiff(embedBoth(t, reload, filepath.Join(out, "model.onnx"), texts)); diff > 1e-5 {
				t.Errorf("ONNX Runtime on the bf16-trained export differs from its float32 GoMLX load by %.3g", diff)
			}
		})
	}
}

// TestPrecisionErrors: an unknown precision, a graph without MatMul, and
// going back from bf16 are refused with errors that say what to do.
func TestPrecisionErrors(t *testing.T) {
	dir := staticModel(t, 16)
	m, err := LoadModelWith(dir, wordTok{testVocab})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetPrecision("fp16"); err == nil || !strings.Contains(err.Error(), `precision "fp16": want one of [fp32 bf16]`) {
		t.Errorf("fp16: %v", err)
	}
	if err := m.SetPrecision(BF16); err == nil || !strings.Contains(err.Error(), "has no float MatMul") || !strings.Contains(err.Error(), "use precision: fp32") {
		t.Errorf("static model in bf16: %v", err)
	}
	if err := m.SetPrecision(FP32); err != nil || m.Precision != FP32 {
		t.Errorf("fp32: %v, precision %q", err, m.Precision)
	}
}
