package pipeline

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update rewrites it)\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// TestPlanGolden plans every testdata/plan/*.yaml and compares the plan
// (instances, inputs, params, key prefixes) with its .golden file.
func TestPlanGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/plan/*.yaml")
	if len(files) == 0 {
		t.Fatal("no plan test files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			p, err := LoadFile(f, testRegistry(&recorder{}), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(f, ".yaml")+".golden", p.Describe())
		})
	}
}

// TestValidateGolden loads every testdata/validate/*.yaml, each broken on
// purpose, and compares the errors with its .golden file.
func TestValidateGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/validate/*.yaml")
	if len(files) == 0 {
		t.Fatal("no validation test files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := LoadFile(f, testRegistry(&recorder{}), LoadOptions{})
			if err == nil {
				t.Fatal("want validation errors, got none")
			}
			if _, ok := err.(ErrorList); !ok {
				t.Fatalf("want an ErrorList, got %T: %v", err, err)
			}
			golden(t, strings.TrimSuffix(f, ".yaml")+".golden", err.Error()+"\n")
		})
	}
}
