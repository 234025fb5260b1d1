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

func TestMatrixLimit(t *testing.T) {
	vals := "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101]"
	dag := "stages:\n  b:\n    uses: test/batches\n    needs: p\n    matrix: {batch_size: " + vals + ", alpha: " + vals + ", strategy: [mono, cross]}\n  s: {uses: test/source}\n  p: {uses: test/pairs, needs: s}\n"
	_, err := Load("big.yaml", []byte(dag), testRegistry(&recorder{}), LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "more than 10000 instances") {
		t.Fatalf("err = %v", err)
	}
}

func TestOverrideTypes(t *testing.T) {
	dag := []byte(`params: {n: 3, f: 0.5, b: true, l: [en, de], s: x}
stages:
  src: {uses: test/source, with: {seed: "${params.n}", lang: "${params.s}"}}
  p:   {uses: test/pairs, needs: src, with: {langs: "${params.l}"}}
  b:   {uses: test/batches, needs: p, with: {alpha: "${params.f}", shuffle: "${params.b}", strategy: mono}}
`)
	reg := testRegistry(&recorder{})
	p, err := Load("o.yaml", dag, reg, LoadOptions{Set: map[string]string{"n": "7", "f": "2", "b": "false", "l": "ar, en", "s": "de"}})
	if err != nil {
		t.Fatal(err)
	}
	src, _ := p.Instance("src")
	b, _ := p.Instance("b")
	pp, _ := p.Instance("p")
	if src.Params.Int("seed") != 7 || src.Params.String("lang") != "de" || b.Params.Float("alpha") != 2 || b.Params.Bool("shuffle") ||
		strings.Join(pp.Params.Strings("langs"), "|") != "ar|en" {
		t.Fatalf("params: src %v b %v p %v", src.Params, b.Params, pp.Params)
	}
	_, err = Load("o.yaml", dag, reg, LoadOptions{Set: map[string]string{"n": "seven", "s": "fr"}})
	want := "o.yaml: --set n: want an integer, got \"seven\"\no.yaml:3:62: stage \"src\": with.lang: \"fr\" is not one of en, de, ar (did you mean \"ar\"?)"
	if err == nil || err.Error() != want {
		t.Fatalf("err =\n%v\nwant\n%s", err, want)
	}
}

// TestKeyIgnoresEnvAndOrder: the key depends on type, version, params and
// input keys, not on the file's layout or map order.
func TestKeyStable(t *testing.T) {
	st := &StageType{Name: "x", Version: "1"}
	a := KeyOf(st, Params{"a": 1, "b": "x"}, []string{"k1", "k2"})
	if b := KeyOf(st, Params{"b": "x", "a": 1}, []string{"k1", "k2"}); a != b {
		t.Fatal("key depends on map order")
	}
	if b := KeyOf(st, Params{"a": 1, "b": "x"}, []string{"k2", "k1"}); a == b {
		t.Fatal("key ignores input order")
	}
	st2 := &StageType{Name: "x", Version: "2"}
	if b := KeyOf(st2, Params{"a": 1, "b": "x"}, []string{"k1", "k2"}); a == b {
		t.Fatal("key ignores the version")
	}
}

func TestRegistryCheck(t *testing.T) {
	if err := testRegistry(&recorder{}).Check(); err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	reg.Register(&StageType{Name: "bad", Output: "nope", Params: []Param{
		{Name: "a", Type: TypeInt, Default: "x"},
		{Name: "b", Type: TypeString, Default: "z", Enum: []string{"x", "y"}},
		{Name: "a", Type: "complex"},
	}})
	err := reg.Check()
	for _, want := range []string{"no Run function", `output kind "nope"`, "param a: default x: want an integer", `"z" is not one of x, y`, "param a declared twice", `unknown type "complex"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check() = %v, want it to mention %q", err, want)
		}
	}
}
