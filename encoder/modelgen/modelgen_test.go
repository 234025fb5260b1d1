package modelgen_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
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
	for _, v := range modelgen.Variants() {
		arch := v.Arch
		t.Run(v.Name, func(t *testing.T) {
			dir := t.TempDir()
			c := v.Apply(modelgen.Config{Layers: 2, Hidden: 32, Heads: 4, Intermediate: 64, MaxPositions: 16, Seed: 7, VocabSize: 200})
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

// TestVariantOpPatterns checks that each exporter style really writes the
// op patterns it stands for (the forward pass is checked against the Go
// reference above).
func TestVariantOpPatterns(t *testing.T) {
	want := map[string][]string{
		"bert":                        {"op:LayerNormalization", "op:Erf", "op:Range", "init:encoder.layer.0.attention.self.query.weight", "opset:17"},
		"torch-bert":                  {"op:Where", "op:Expand", "op:Constant", "op:Concat", "op:Slice", "init:onnx::MatMul_1001", "init:encoder.layer.0.attention.self.query.bias", "init:embeddings.position_ids", "out:pooler_output", "!op:Range"},
		"torch-bert-opset14":          {"op:ReduceMean", "op:Pow", "op:Sqrt", "!op:LayerNormalization", "opset:14"},
		"torch-xlmr":                  {"op:CumSum", "op:Not", "op:Expand", "init:embeddings.token_type_ids", "!in:token_type_ids"},
		"torch-xlmr-tanh-opset14":     {"op:Tanh", "op:Pow", "!op:Erf", "opset:14"},
		"torch-distilbert":            {"op:Equal", "op:Reshape", "op:Where", "init:transformer.layer.0.attention.q_lin.bias", "init:transformer.layer.1.output_layer_norm.weight", "!init:embeddings.token_type_embeddings.weight", "!in:token_type_ids"},
		"distilbert":                  {"init:transformer.layer.0.attention.q_lin.weight", "init:transformer.layer.0.sa_layer_norm.bias"},
		"torch-bert-token-embeddings": {"out:token_embeddings", "!out:last_hidden_state"},
		"torch-xlmr-external-data":    {"external:model.onnx_data"},
		"dynamo-bert": {"opset:18", "op:Transpose", "op:Where", "init:encoder.layer.0.attention.self.query.weight",
			"dims:encoder.layer.0.intermediate.dense.weight:[128 32]", "!init:onnx::MatMul_1001", "!op:Div", "out:pooler_output"},
		"dynamo-xlmr-opset18-decomposed":    {"opset:18", "op:ReduceMean", "op:CumSum", "!op:LayerNormalization"},
		"torch-bert-initializers-as-inputs": {"in:embeddings.word_embeddings.weight", "in:onnx::MatMul_1001", "in:input_ids"},
	}
	for _, v := range modelgen.Variants() {
		checks, ok := want[v.Name]
		if !ok {
			continue
		}
		dir := t.TempDir()
		if err := modelgen.Generate(dir, v.Apply(modelgen.Config{Layers: 2, Hidden: 32, Heads: 2, MaxPositions: 16, VocabSize: 200})); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := onnxpb.DecodeStructure(b)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{fmt.Sprintf("opset:%d", m.Opsets[0].Version): true}
		for _, n := range m.Graph.Nodes {
			have["op:"+n.OpType] = true
		}
		for _, i := range m.Graph.Initializers {
			have["init:"+i.Name] = true
			have[fmt.Sprintf("dims:%s:%v", i.Name, i.Dims)] = true
		}
		for _, i := range m.Graph.Inputs {
			have["in:"+i.Name] = true
		}
		for _, o := range m.Graph.Outputs {
			have["out:"+o.Name] = true
		}
		files, _ := m.Graph.ExternalFiles()
		for _, f := range files {
			have["external:"+f] = true
		}
		for _, c := range checks {
			if neg := strings.HasPrefix(c, "!"); neg == have[strings.TrimPrefix(c, "!")] {
				t.Errorf("%s: check %s failed", v.Name, c)
			}
		}
	}
}
