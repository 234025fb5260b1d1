package train

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lair-ir/lair/encoder/encode"
	lairmodel "github.com/lair-ir/lair/encoder/model"
	"github.com/lair-ir/lair/encoder/modelgen"
	"github.com/lair-ir/lair/encoder/onnxpb"
)

// exportedDir holds real exporters' graphs (see its README.md).
const exportedDir = "../testdata/exported"

// modelFolder makes a model folder around a bare exported .onnx file: the
// file and its external data, its config.json if one lies beside it, and a
// generated tokenizer.json whose vocabulary fills the word-embedding table.
func modelFolder(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnxpb.DecodeStructure(raw)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	rows, typeIDs := int64(-1), false
	inits := map[string]*onnxpb.Tensor{}
	for i := range m.Graph.Initializers {
		inits[m.Graph.Initializers[i].Name] = &m.Graph.Initializers[i]
	}
	for _, n := range m.Graph.Nodes {
		if n.OpType == "Gather" && len(n.Inputs) == 2 && n.Inputs[1] == "input_ids" {
			if w, ok := inits[n.Inputs[0]]; ok && len(w.Dims) == 2 {
				rows = w.Dims[0]
			}
		}
	}
	for _, in := range m.Graph.Inputs {
		typeIDs = typeIDs || in.Name == "token_type_ids"
	}
	if rows < 10 {
		t.Fatalf("%s: no word-embedding table (a Gather of input_ids from an initializer) found", path)
	}
	dir := filepath.Join(t.TempDir(), "model")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model.onnx"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := m.Graph.ExternalFiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := copyFile(filepath.Join(filepath.Dir(path), f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	arch := modelgen.ArchBERT
	if !typeIDs {
		arch = modelgen.ArchXLMR // <pad> = 1, as RoBERTa's padding_idx
	}
	vocab := modelgen.BuildVocab(arch, nil, int(rows))
	tj, err := modelgen.TokenizerJSON(arch, vocab)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), tj, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(filepath.Dir(path), "config.json"))
	if err != nil {
		pad := 0
		if arch == modelgen.ArchXLMR {
			pad = 1
		}
		cfg, _ = json.Marshal(map[string]any{"vocab_size": rows, "pad_token_id": pad})
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRealExports runs every ONNX file under encoder/testdata/exported
// (graphs made by torch.onnx and other real exporters) through loading,
// encoding and two rounds of fine-tuning.
func TestRealExports(t *testing.T) {
	var paths []string
	filepath.WalkDir(exportedDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".onnx") {
			paths = append(paths, p)
		}
		return nil
	})
	if len(paths) == 0 {
		t.Skipf("no real exports in %s: bench/gpu/run.sh makes them on a machine with PyTorch (see the README there)", exportedDir)
	}
	initORT(t)
	slices.Sort(paths)
	texts := []string{"what about t3 x3", "t7 is described here", "a b c d e f g h i j k l m n o p q r s", "x"}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.ToSlash(strings.TrimPrefix(path, exportedDir+string(filepath.Separator))), ".onnx"), func(t *testing.T) {
			dir := modelFolder(t, path)
			want := shapeOf(t, dir)
			for round := 1; round <= 2; round++ {
				m, err := LoadModel(dir)
				if err != nil {
					t.Fatal(err)
				}
				be, err := NewBackend()
				if err != nil {
					t.Fatal(err)
				}
				cfg := testConfig()
				cfg.LR = 1e-3
				tr, err := NewTrainer(m, cfg, be)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tr.Run(context.Background(), synthPlan(2, 4), nil); err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(t.TempDir(), "trained")
				if err := tr.Export(out); err != nil {
					t.Fatal(err)
				}
				got := shapeOf(t, out)
				if got.size != want.size || !slices.Equal(got.inits, want.inits) {
					t.Fatalf("round %d: export has %d bytes and %d initializers, input %d and %d", round, got.size, len(got.inits), want.size, len(want.inits))
				}
				worst := maxAbsDiff(embedBoth(t, tr, filepath.Join(out, "model.onnx"), texts))
				t.Logf("round %d: max |GoMLX - ORT| = %.2g", round, worst)
				if worst > 1e-5 {
					t.Errorf("round %d: ONNX Runtime on the export differs from the trained graph by %.3g", round, worst)
				}
				dir = out
			}
			lm, err := lairmodel.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			enc, err := encode.New(lm, encode.Options{Normalize: true, Threads: 1, MaxLength: testConfig().MaxLength})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			if _, _, _, err := enc.Encode(context.Background(), "passage", "", texts, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}
