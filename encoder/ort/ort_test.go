package ort_test

import (
	"errors"
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

func genModel(t *testing.T, arch string) string {
	t.Helper()
	dir := t.TempDir()
	if err := modelgen.Generate(dir, modelgen.Config{Arch: arch, Layers: 2, Hidden: 32, Heads: 4, MaxPositions: 64, Seed: 9, VocabSize: 300}); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "model.onnx")
}

func TestInspect(t *testing.T) {
	lib := testenv.ORTLib(t)
	io, err := ort.Inspect(genModel(t, "bert"), lib)
	if err != nil {
		t.Fatal(err)
	}
	if !io.HasMask || !io.HasTypeIDs || io.Output != "last_hidden_state" || io.Hidden != 32 {
		t.Errorf("bert: %+v", io)
	}
	io, err = ort.Inspect(genModel(t, "xlmr"), lib)
	if err != nil {
		t.Fatal(err)
	}
	if io.HasTypeIDs || len(io.Inputs) != 2 {
		t.Errorf("xlmr: %+v", io)
	}
	// A graph with an input lair cannot feed.
	m := modelgen.Build(modelgen.Config{Arch: "static", Hidden: 8}, 20, 0)
	m.Graph.Inputs[1].Name = "pixel_values"
	for _, n := range m.Graph.Nodes {
		for i, in := range n.Inputs {
			if in == "attention_mask" {
				n.Inputs[i] = "pixel_values"
			}
		}
	}
	p := filepath.Join(t.TempDir(), "model.onnx")
	if err := onnxpb.WriteFile(p, m); err != nil {
		t.Fatal(err)
	}
	if _, err := ort.Inspect(p, lib); err == nil || !strings.Contains(err.Error(), "pixel_values") {
		t.Errorf("unexpected input: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "model.onnx")
	os.WriteFile(bad, []byte("not onnx"), 0o644)
	if _, err := ort.Inspect(bad, lib); err == nil {
		t.Error("garbage model: no error")
	}
}

func TestInitOtherLibrary(t *testing.T) {
	lib := testenv.ORTLib(t)
	if err := ort.Init(lib); err != nil {
		t.Fatal(err)
	}
	if err := ort.Init(lib + ".other"); err == nil {
		t.Error("switching libraries in one process: no error")
	}
}

func TestCUDAMissingProvider(t *testing.T) {
	lib := testenv.ORTLib(t)
	if os.Getenv("LAIR_TEST_CUDA") == "1" {
		t.Skip("LAIR_TEST_CUDA=1: the library is expected to have CUDA")
	}
	_, err := ort.NewSession(genModel(t, "static"), ort.Options{Lib: lib, Device: "cuda"})
	if !errors.Is(err, ort.ErrNoCUDA) || !strings.Contains(err.Error(), "LAIR_ORT_LIB") {
		t.Errorf("cuda with a CPU build: %v", err)
	}
}

// TestCUDA runs a generated BERT on the GPU and compares it with the CPU.
// Run it on a GPU machine with a GPU build of ONNX Runtime:
//
//	LAIR_TEST_CUDA=1 LAIR_ORT_LIB=/path/to/onnxruntime-linux-x64-gpu-1.2x/lib/libonnxruntime.so \
//	  go test -count=1 -run 'TestCUDA$' -v ./encoder/ort/
func TestCUDA(t *testing.T) {
	if os.Getenv("LAIR_TEST_CUDA") != "1" {
		t.Skip("set LAIR_TEST_CUDA=1 (and LAIR_ORT_LIB to a GPU build of ONNX Runtime) to run")
	}
	lib := testenv.ORTLib(t)
	path := genModel(t, "bert")
	ids := []int64{2, 10, 11, 12, 3, 2, 20, 3, 0, 0}
	mask := []int64{1, 1, 1, 1, 1, 1, 1, 1, 0, 0}
	var outs [2][]float32
	for i, dev := range []string{"cpu", "cuda"} {
		s, err := ort.NewSession(path, ort.Options{Lib: lib, Device: dev})
		if err != nil {
			t.Fatalf("%s: %v", dev, err)
		}
		err = s.Run(ort.Batch{Rows: 2, Len: 5, IDs: ids, Mask: mask}, func(h []float32, _ int) error {
			outs[i] = append([]float32(nil), h...)
			return nil
		})
		s.Close()
		if err != nil {
			t.Fatalf("%s: %v", dev, err)
		}
	}
	worst := 0.0
	for j := range outs[0] {
		if mask[j/32] == 1 {
			worst = math.Max(worst, math.Abs(float64(outs[0][j]-outs[1][j])))
		}
	}
	t.Logf("largest CPU/CUDA difference: %g", worst)
	if worst > 1e-3 {
		t.Errorf("CPU and CUDA differ by %g", worst)
	}
}
