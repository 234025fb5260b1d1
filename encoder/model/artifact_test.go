package model

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lair-ir/lair/tables"
)

func TestSideFiles(t *testing.T) {
	dir := t.TempDir()
	if _, ok := TrainingLogPath(dir); ok {
		t.Error("a folder without a training log has one")
	}
	if err := WriteSource(dir, "local folder", "sha256:ab"); err != nil {
		t.Fatal(err)
	}
	// byte for byte what model/load wrote before the owner package did
	b, err := os.ReadFile(filepath.Join(dir, "source.json"))
	if err != nil || string(b) != "{\n  \"model_hash\": \"sha256:ab\",\n  \"source\": \"local folder\"\n}\n" {
		t.Errorf("source.json = %q, %v", b, err)
	}
	type row struct {
		Step int64   `parquet:"step"`
		Loss float64 `parquet:"loss"`
	}
	if err := WriteTrainingLog(dir, []row{{1, 2.5}, {2, 2.25}}); err != nil {
		t.Fatal(err)
	}
	p, ok := TrainingLogPath(dir)
	if !ok || p != filepath.Join(dir, "training_log.parquet") {
		t.Fatalf("TrainingLogPath = %s, %v", p, ok)
	}
	back, err := tables.Read[row](p)
	if err != nil || len(back) != 2 || back[1].Loss != 2.25 {
		t.Errorf("training log: %v, %v", back, err)
	}
	if err := WriteTrainingSummary(dir, map[string]int{"steps": 2}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "training.json")); err != nil || string(b) != "{\n  \"steps\": 2\n}\n" {
		t.Errorf("training.json = %q, %v", b, err)
	}
}
