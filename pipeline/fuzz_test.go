package pipeline

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the DAG parser and the loader. They
// must never panic, and every error they return must be an ErrorList whose
// entries name the file.
func FuzzParse(f *testing.F) {
	for _, glob := range []string{"testdata/plan/*.yaml", "testdata/validate/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte("stages: {a: {uses: test/source, matrix: {lang: ${params.x}}}}"))
	f.Add([]byte("a: &x [*x]"))
	f.Add([]byte("stages:\n  a: {uses: test/pairs, needs: [a, b]}\n  b: {uses: test/pairs, needs: a}\n"))
	reg := testRegistry(&recorder{})
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse("f.yaml", data)
		if d == nil && err == nil {
			t.Fatal("Parse returned neither a DAG nor an error")
		}
		p, err := Load("f.yaml", data, reg, LoadOptions{Set: map[string]string{"x": "1"}})
		if err != nil {
			el, ok := err.(ErrorList)
			if !ok {
				t.Fatalf("Load error is %T, want ErrorList: %v", err, err)
			}
			for _, e := range el {
				if e.File != "f.yaml" {
					t.Fatalf("error without the file name: %v", e)
				}
			}
			return
		}
		if p == nil {
			t.Fatal("Load returned neither a plan nor an error")
		}
		for _, in := range p.Instances {
			if len(in.Key) != 64 {
				t.Fatalf("instance %s has key %q", in.Name, in.Key)
			}
		}
	})
}
