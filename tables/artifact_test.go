package tables

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadEmbeddingsArtifact(t *testing.T) {
	e := randomEmbeddings(9, 3, 5)
	dir := t.TempDir()
	if err := WriteEmbeddings(dir, e); err != nil {
		t.Fatal(err)
	}
	if err := WriteEmbeddingsParquet(filepath.Join(dir, EmbeddingsParquet), e); err != nil { // as another tool might
		t.Fatal(err)
	}
	got, path, err := ReadEmbeddingsArtifact(dir)
	if err != nil || path != filepath.Join(dir, EmbeddingsArrow) || !reflect.DeepEqual(got.Vectors, e.Vectors) {
		t.Fatalf("both files: read %s, %v", path, err)
	}
	// an artifact with only the Parquet copy is read from it
	os.Remove(filepath.Join(dir, EmbeddingsArrow))
	got, path, err = ReadEmbeddingsArtifact(dir)
	if err != nil || path != filepath.Join(dir, EmbeddingsParquet) || !reflect.DeepEqual(got.IDs, e.IDs) {
		t.Fatalf("parquet only: read %s, %v", path, err)
	}
	// neither: the error names the Arrow file
	if _, _, err := ReadEmbeddingsArtifact(t.TempDir()); err == nil || !strings.Contains(err.Error(), EmbeddingsArrow) {
		t.Errorf("empty artifact: %v", err)
	}
}

func TestStreamedEmbeddingsArtifact(t *testing.T) {
	dir := t.TempDir()
	w, err := CreateEmbeddingsArtifact(dir, 2, "m@1")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]string{"q1", "p1"}, []string{RoleQuery, RolePassage}, []string{"en", "de"}, []float32{1, 0, 0, 1}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, EmbeddingsParquet)); err == nil {
		t.Error("a streamed artifact got a Parquet copy")
	}
	m, err := MapEmbeddingsArtifact(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Len() != 2 || m.ModelKey != "m@1" || !reflect.DeepEqual(m.Vector(1), []float32{0, 1}) {
		t.Errorf("mapped %d rows, key %s, row 1 %v", m.Len(), m.ModelKey, m.Vector(1))
	}
}

func TestJSONSideFiles(t *testing.T) {
	dir := t.TempDir()
	if err := WriteEncodeStats(dir, map[string]any{"dim": 3, "model_key": "k"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "encode_stats.json"))
	if err != nil || string(b) != "{\n  \"dim\": 3,\n  \"model_key\": \"k\"\n}\n" {
		t.Errorf("encode_stats.json = %q, %v", b, err)
	}
	if err := WriteEmbeddingsMeta(dir, map[string]string{"method": "center"}); err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := ReadJSON(filepath.Join(dir, "meta.json"), &m); err != nil || m["method"] != "center" {
		t.Errorf("meta.json: %v, %v", m, err)
	}
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{"), 0o644)
	if err := ReadJSON(filepath.Join(dir, "bad.json"), &m); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("bad JSON: %v", err)
	}
	if err := WriteJSON(filepath.Join(dir, "x.json"), func() {}); err == nil || !strings.Contains(err.Error(), "x.json") {
		t.Errorf("unencodable value: %v", err)
	}
}

func TestNumRows(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "q.parquet")
	if err := Write(p, []Query{{QID: "a"}, {QID: "b"}, {QID: "c"}}, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := NumRows(p); err != nil || n != 3 {
		t.Errorf("NumRows = %d, %v", n, err)
	}
	os.WriteFile(filepath.Join(dir, "junk.parquet"), []byte("not parquet"), 0o644)
	if _, err := NumRows(filepath.Join(dir, "junk.parquet")); err == nil || !strings.Contains(err.Error(), "junk.parquet") {
		t.Errorf("junk: %v", err)
	}
}
