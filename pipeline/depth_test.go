package pipeline

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDeepYAMLRejectedFast: 200 KB files nested thousands of levels deep,
// in every YAML style, are rejected by depth while reading, in well under a
// second (the YAML library alone took 152 s and 15 GB on one of them).
func TestDeepYAMLRejectedFast(t *testing.T) {
	const n = 50000
	var block strings.Builder
	for i := 0; i < 400; i++ { // indentation: 400 levels, ~80 KB
		block.WriteString(strings.Repeat(" ", i) + "k:\n")
	}
	for name, text := range map[string]string{
		"flow sequence":  "stages: " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n",
		"flow mapping":   "stages: " + strings.Repeat("{a: ", n) + "1" + strings.Repeat("}", n) + "\n",
		"block dashes":   "stages:\n  a:\n    needs:\n" + strings.Repeat("- ", n) + "x\n",
		"block mappings": block.String(),
		"mixed":          "a:\n  - " + strings.Repeat("[{b: ", n/2) + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			t0 := time.Now()
			_, err := Parse("deep.yaml", []byte(text))
			took := time.Since(t0)
			var el ErrorList
			if !errors.As(err, &el) || !strings.Contains(err.Error(), "nested more than 200 levels") || el[0].Line == 0 {
				t.Fatalf("Parse of a deep file: %v", err)
			}
			if took > time.Second {
				t.Errorf("rejecting %d bytes took %s, want under a second", len(text), took)
			}
		})
	}
}

// TestDepthCheckAcceptsRealDAGs: every DAG of the repository and of the
// test data passes the depth pre-check, and text in quotes, comments and
// block scalars does not count.
func TestDepthCheckAcceptsRealDAGs(t *testing.T) {
	files, _ := filepath.Glob("../dags/*.yaml")
	more, _ := filepath.Glob("testdata/*/*.yaml")
	files = append(files, more...)
	if len(files) < 5 {
		t.Fatalf("found only %d DAG files", len(files))
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := checkDepth(b, 12); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	deepText := strings.Repeat("[", 300)
	for _, text := range []string{
		"a: \"" + deepText + "\"\n",
		"a: '" + deepText + "'\n",
		"a: 1 # " + deepText + "\n",
		"a: |\n  " + deepText + "\n  more\nb: 2\n",
		"a: >-\n  " + deepText + "\n",
		"a: x" + deepText + "\n", // not at a token start: a plain scalar
	} {
		if _, _, err := checkDepth([]byte(text), 20); err != nil {
			t.Errorf("%q: %v", text[:min(30, len(text))], err)
		}
	}
	// And the levels it counts.
	for text, want := range map[string]int{
		"a: 1\n":                1,
		"a:\n  b:\n    c: 1\n":  3,
		"a: [1, [2, {c: 3}]]\n": 4,
		"- - - x\n":             3,
		"a:\n  - b: [1]\n":      3, // entry and mapping share a line: counted once
	} {
		if _, _, err := checkDepth([]byte(text), want); err != nil {
			t.Errorf("%q at limit %d: %v", text, want, err)
		}
		if _, _, err := checkDepth([]byte(text), want-1); err == nil {
			t.Errorf("%q at limit %d: no error", text, want-1)
		}
	}
}
