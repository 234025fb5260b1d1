package fusion

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/eval"
)

func writeRankings(t *testing.T, dir string, rows ...eval.Ranking) {
	t.Helper()
	w, err := eval.CreateRankingsArtifact(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestReadInputs(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	on := func(r eval.Ranking, ds string) eval.Ranking { r.Dataset = ds; return r }
	bm := row("bm25", []string{"a", "b", "c"}, []float32{3, 2, 1}, []int32{3, 5})
	de := row("dense", []string{"c", "d", "a"}, []float32{0.9, 0.5, 0.1}, []int32{1, 4})
	mkdirs(t, a, b)
	writeRankings(t, a, on(bm, "xq"), on(bm, "ml"), on(bm, "only-a"))
	writeRankings(t, b, on(de, "ml"), on(de, "xq"))
	l, err := ReadInputs([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(l.RunIDs, "+") != "bm25+dense" || strings.Join(l.Datasets, " ") != "ml xq" {
		t.Errorf("run ids %v, datasets %v", l.RunIDs, l.Datasets)
	}
	if len(l.Inputs) != 2 || len(l.Inputs[0].Rows) != 2 || len(l.Inputs[1].Rows) != 2 || l.Inputs[0].Path != filepath.Join(a, "rankings.parquet") {
		t.Errorf("inputs %+v", l.Inputs)
	}
	c := filepath.Join(root, "c")
	mkdirs(t, c)
	writeRankings(t, c, on(de, "other"))
	if _, err := ReadInputs([]string{a, c}); err == nil || !strings.Contains(err.Error(), "no dataset in common") {
		t.Errorf("disjoint inputs: %v", err)
	}
	if _, err := ReadInputs([]string{a, filepath.Join(root, "missing")}); err == nil || !strings.Contains(err.Error(), "rankings.parquet") {
		t.Errorf("missing artifact: %v", err)
	}
}

func mkdirs(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// Scan keeps no rows; ReadSetting loads one setting of the common
// datasets at a time and drops the previous one.
func TestScanReadSetting(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	on := func(r eval.Ranking, ds, setting string) eval.Ranking { r.Dataset, r.Setting = ds, setting; return r }
	bm := row("bm25", []string{"a", "b", "c"}, []float32{3, 2, 1}, []int32{3, 5})
	de := row("dense", []string{"c", "d", "a"}, []float32{0.9, 0.5, 0.1}, []int32{1, 4})
	mkdirs(t, a, b)
	writeRankings(t, a, on(bm, "xq", eval.Mono), on(bm, "xq", eval.Multi), on(bm, "only-a", eval.Mono), on(bm, "ml", eval.Multi))
	writeRankings(t, b, on(de, "ml", eval.Multi), on(de, "xq", eval.Mono), on(de, "xq", eval.Multi))
	dirs := []string{a, b}
	l, err := Scan(dirs)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(l.RunIDs, "+") != "bm25+dense" || strings.Join(l.Datasets, " ") != "ml xq" || len(l.Inputs[0].Rows)+len(l.Inputs[1].Rows) != 0 {
		t.Fatalf("scan: run ids %v, datasets %v, rows kept %d+%d", l.RunIDs, l.Datasets, len(l.Inputs[0].Rows), len(l.Inputs[1].Rows))
	}
	for _, tc := range []struct {
		setting string
		want    []string // datasets of input 0's rows, in file order
	}{{eval.Mono, []string{"xq"}}, {eval.Multi, []string{"xq", "ml"}}, {eval.Cross, nil}, {eval.Mono, []string{"xq"}}} {
		if err := l.ReadSetting(dirs, tc.setting); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range l.Inputs[0].Rows {
			if r.Setting != tc.setting {
				t.Fatalf("%s: read a %s row", tc.setting, r.Setting)
			}
			got = append(got, r.Dataset)
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") || len(l.Inputs[1].Rows) != len(tc.want) {
			t.Errorf("%s: input 0 datasets %v (want %v), input 1 %d rows", tc.setting, got, tc.want, len(l.Inputs[1].Rows))
		}
	}
	if _, err := Scan(nil); err == nil {
		t.Error("Scan of no inputs: no error")
	}
	c := filepath.Join(root, "c")
	mkdirs(t, c)
	writeRankings(t, c, on(de, "other", eval.Mono))
	if _, err := Scan([]string{a, c}); err == nil || !strings.Contains(err.Error(), "no dataset in common") {
		t.Errorf("disjoint inputs: %v", err)
	}
}
