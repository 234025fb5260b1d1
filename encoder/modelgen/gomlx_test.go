package modelgen_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/onnx-gomlx/onnx/parser"

	"github.com/lair-ir/lair/encoder/modelgen"
	"github.com/lair-ir/lair/encoder/onnxpb"
)

// TestLoadsInOnnxGoMLX checks that onnx-gomlx (lair's fine-tuning path)
// imports every generated architecture and computes what the Go reference
// computes, with fusion disabled as lair's training does.
func TestLoadsInOnnxGoMLX(t *testing.T) {
	backend, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range modelgen.Variants() {
		arch := v.Arch
		t.Run(v.Name, func(t *testing.T) {
			dir := t.TempDir()
			c := v.Apply(modelgen.Config{Layers: 2, Hidden: 16, Heads: 2, Intermediate: 32, MaxPositions: 16, Seed: 11, VocabSize: 120})
			if err := modelgen.Generate(dir, c); err != nil {
				t.Fatal(err)
			}
			ref, err := modelgen.LoadReference(dir)
			if err != nil {
				t.Fatal(err)
			}
			out := "last_hidden_state"
			if v.Style.Output != "" {
				out = v.Style.Output
			}
			raw, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			if raw, _, err = onnxpb.DropInitializerInputs(raw); err != nil { // as lair's loaders do
				t.Fatal(err)
			}
			m, err := parser.Parse(raw)
			if err != nil {
				t.Fatalf("onnx-gomlx cannot parse the generated model: %v", err)
			}
			m.WithBaseDir(dir)
			m.DisableFusion()
			store := model.NewStore()
			if err := m.VariablesToScope(store.RootScope()); err != nil {
				t.Fatal(err)
			}
			ids, mask, types := batch(ref.PadID)
			ids2 := [][]int64{ids[:7], ids[7:]}
			mask2 := [][]int64{mask[:7], mask[7:]}
			types2 := [][]int64{types[:7], types[7:]}
			var res *tensors.Tensor
			if arch == modelgen.ArchBERT {
				res = model.MustCallOnce(backend, store, func(scope *model.Scope, ids, mask, types *Node) *Node {
					return m.CallGraph(scope, ids.Graph(), map[string]*Node{"input_ids": ids, "attention_mask": mask, "token_type_ids": types}, out)[0]
				}, ids2, mask2, types2)
			} else {
				types = nil
				res = model.MustCallOnce(backend, store, func(scope *model.Scope, ids, mask *Node) *Node {
					return m.CallGraph(scope, ids.Graph(), map[string]*Node{"input_ids": ids, "attention_mask": mask}, out)[0]
				}, ids2, mask2)
			}
			got := tensors.MustCopyFlatData[float32](res)
			want := ref.Forward(ids, mask, types, 2, 7)
			if len(got) != len(want) {
				t.Fatalf("onnx-gomlx output has %d values, want %d", len(got), len(want))
			}
			worst := 0.0
			for i := range got {
				if mask[i/16] == 1 {
					worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
				}
			}
			t.Logf("onnx-gomlx: largest difference from the Go reference %g", worst)
			if worst > 1e-4 {
				t.Errorf("onnx-gomlx and the Go reference differ by %g", worst)
			}
		})
	}
}
