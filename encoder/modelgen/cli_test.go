package modelgen_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/lair-ir/lair/encoder/modelgen"
)

func TestMain_(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	corpus := filepath.Join(t.TempDir(), "corpus.txt")
	os.WriteFile(corpus, []byte("hello world\nhello there\n\nworld peace\n"), 0o644)
	var out, errb bytes.Buffer
	err := modelgen.Main(context.Background(), []string{"-arch", "xlmr", "-layers", "1", "-hidden", "16", "-heads", "2", "-corpus", corpus, "-seed", "3", dir}, &out, &errb)
	if err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	for _, f := range []string{"model.onnx", "config.json", "tokenizer.json", "tokenizer_config.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	tj, _ := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	var parsed struct {
		Model struct {
			Vocab map[string]int `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(tj, &parsed); err != nil {
		t.Fatal(err)
	}
	if _, ok := parsed.Model.Vocab["hello"]; !ok || parsed.Model.Vocab["<pad>"] != 1 {
		t.Errorf("vocab lacks the corpus word hello or <pad> = 1: hello in vocab %v, <pad> = %d", ok, parsed.Model.Vocab["<pad>"])
	}
	// Same flags, same bytes.
	dir2 := filepath.Join(t.TempDir(), "m")
	if err := modelgen.Main(context.Background(), []string{"-arch", "xlmr", "-layers", "1", "-hidden", "16", "-heads", "2", "-corpus", corpus, "-seed", "3", dir2}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "model.onnx"))
	b, _ := os.ReadFile(filepath.Join(dir2, "model.onnx"))
	if !bytes.Equal(a, b) {
		t.Error("same flags gave different model.onnx")
	}
	for _, args := range [][]string{{}, {"-arch", "nope", dir}, {"-corpus", "/nonexistent", dir}, {"-corpus", corpus, "-tokenizer", "x", dir}} {
		if err := modelgen.Main(context.Background(), args, &out, &errb); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
