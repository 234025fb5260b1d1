package model_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/lair-ir/lair/encoder/model"
	"github.com/lair-ir/lair/encoder/modelgen"
)

// TestExternalData: a model whose weights live in model.onnx_data (models
// over 2 GB; the threshold is lowered here) opens, hashes its data file,
// copies it, and downloads it from the hub beside model.onnx (top level or
// onnx/).
func TestExternalData(t *testing.T) {
	dir := t.TempDir()
	c := modelgen.Config{Arch: modelgen.ArchXLMR, Layers: 1, Hidden: 16, Heads: 2, MaxPositions: 64, Seed: 1,
		Style: modelgen.Style{Exporter: modelgen.StyleTorch, ExternalThreshold: 1 << 10}}
	if err := modelgen.Generate(dir, c); err != nil {
		t.Fatal(err)
	}
	m, err := model.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.ExternalFiles) != 1 || m.ExternalFiles[0] != "model.onnx_data" {
		t.Fatalf("external files %v", m.ExternalFiles)
	}
	h1, err := model.ContentHash(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The hashes cover the weights in the data file.
	data := filepath.Join(dir, "model.onnx_data")
	b, _ := os.ReadFile(data)
	b[len(b)-1] ^= 1
	os.WriteFile(data, b, 0o644)
	m2, err := model.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Hash == m.Hash {
		t.Error("Open's hash ignores the external data")
	}
	if h2, _ := model.ContentHash(dir); h2 == h1 {
		t.Error("ContentHash ignores the external data")
	}
	out := t.TempDir()
	if err := m2.CopyTo(out); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "model.onnx_data")); !bytes.Equal(got, b) {
		t.Error("CopyTo did not copy the external data")
	}
	if _, err := model.Open(out); err != nil {
		t.Fatal(err)
	}

	for _, subdir := range []bool{false, true} {
		f := newFakeHub(t, subdir)
		prefix := ""
		if subdir {
			prefix = "onnx/"
		}
		delete(f.files, prefix+"model.onnx")
		for _, n := range []string{"model.onnx", "model.onnx_data"} {
			raw, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				t.Fatal(err)
			}
			f.files[prefix+n] = raw
			f.lfs[prefix+n] = true
		}
		tok, _ := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
		cfg, _ := os.ReadFile(filepath.Join(dir, "config.json"))
		f.files["tokenizer.json"], f.files["config.json"] = tok, cfg
		hub := &model.Hub{Endpoint: f.serve(t), CacheDir: t.TempDir()}
		snap, err := hub.Resolve(context.Background(), "hf://org/model")
		if err != nil {
			t.Fatalf("subdir=%v: %v", subdir, err)
		}
		got, err := model.Open(snap)
		if err != nil {
			t.Fatalf("subdir=%v: %v", subdir, err)
		}
		if got.Hash != m2.Hash {
			t.Errorf("subdir=%v: fetched model differs from the source", subdir)
		}
	}
}
