package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/stages"
)

// TestStageDeclarations checks every real stage type's declaration
// (kinds, param types, defaults, enums), which drives validation, help and
// docs.
func TestStageDeclarations(t *testing.T) {
	reg := pipeline.NewRegistry()
	stages.Register(reg)
	if err := reg.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestRealCommands runs the real CLI wiring: help lists the cluster
// commands, and `lair stages` describes every registered type.
func TestRealCommands(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), &out, &errb, []string{"help"}); code != 0 {
		t.Fatalf("help exited %d: %s", code, errb.String())
	}
	for _, want := range []string{"stage run", "export argo", "model new", "run DAG"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help does not mention %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run(context.Background(), &out, &errb, []string{"stages"}); code != 0 {
		t.Fatalf("stages exited %d: %s", code, errb.String())
	}
	if code := run(context.Background(), &out, &errb, []string{"stage", "walk"}); code != 2 {
		t.Fatalf("lair stage walk exited %d, want 2", code)
	}
	if code := run(context.Background(), &out, &errb, []string{"model", "new"}); code != 2 {
		t.Fatalf("lair model new without DIR exited %d, want 2", code)
	}
	dir := t.TempDir()
	if code := run(context.Background(), &out, &errb, []string{"model", "new", "-arch", "static", "-hidden", "8", dir}); code != 0 {
		t.Fatalf("lair model new exited %d: %s", code, errb.String())
	}
	for _, f := range []string{"model.onnx", "config.json", "tokenizer.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("lair model new: %v", err)
		}
	}
}
