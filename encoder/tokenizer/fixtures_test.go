package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readFixture reads testdata/name, gunzipping .gz files.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return data
}

func loadFixture(t testing.TB, name string) *Tokenizer {
	t.Helper()
	tk, err := FromJSON(readFixture(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return tk
}

func TestReferenceEncodings(t *testing.T) {
	var ref struct {
		Results map[string][]struct {
			Text   string   `json:"text"`
			IDs    []int64  `json:"ids"`
			Tokens []string `json:"tokens"`
		} `json:"results"`
	}
	if err := json.Unmarshal(readFixture(t, "reference-encodings.json"), &ref); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"t5-small.tokenizer.json":                     "t5-small.json.gz",
		"albert-base-v2-lora-finetune.tokenizer.json": "albert-base-v2.json.gz",
	}
	for file, cases := range ref.Results {
		tk := loadFixture(t, files[file])
		for _, c := range cases {
			enc, err := tk.Encode(c.Text, true)
			if err != nil {
				t.Fatalf("%s %q: %v", file, c.Text, err)
			}
			if !equalIDs(enc.IDs, c.IDs) || strings.Join(enc.Tokens, "|") != strings.Join(c.Tokens, "|") {
				t.Errorf("%s %q:\n got  %v %q\n want %v %q", file, c.Text, enc.IDs, enc.Tokens, c.IDs, c.Tokens)
			}
		}
	}
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
