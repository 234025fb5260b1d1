package tables

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

func perQueryRows() []PerQuery {
	var rows []PerQuery
	for _, run := range []string{"b", "a"} {
		for _, setting := range []string{"mono", "multi"} {
			for q := 0; q < 25; q++ {
				rows = append(rows, PerQuery{RunID: run, Dataset: "d", Setting: setting, QID: fmt.Sprint("q", q), Lang: "en", CLang: "all", Metric: "map", Value: float64(q) / 7})
			}
		}
	}
	// the first slice again, later (as when one run is in two rankings files)
	rows = append(rows, PerQuery{RunID: "b", Dataset: "d", Setting: "mono", QID: "late", Lang: "de", CLang: "de", Metric: "map", Value: 0.5})
	return rows
}

func readSlice(t *testing.T, ix *PerQueryIndex, s Slice) []PerQuery {
	t.Helper()
	var got []PerQuery
	if err := ix.Read(context.Background(), s, func(b []PerQuery) error { got = append(got, b...); return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestPerQuerySlices: a streamed file (row groups of at most 10 rows,
// one slice each) and a file written in one piece give every slice's rows
// in order, and the streamed file's slices are found from statistics.
func TestPerQuerySlices(t *testing.T) {
	rows := perQueryRows()
	dir := t.TempDir()
	streamed := filepath.Join(dir, "s.parquet")
	w, err := CreatePerQuery(streamed, map[string]string{"license": "x"})
	if err != nil {
		t.Fatal(err)
	}
	w.limit = 10
	for i := 0; i < len(rows); i += 7 { // odd batch sizes
		if err := w.Write(rows[i:min(i+7, len(rows))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	whole := filepath.Join(dir, "w.parquet")
	if err := Write(whole, rows, nil); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{streamed, whole} {
		ix, err := IndexPerQuery([]string{path})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(ix.Slices()); got != "[b / d / mono b / d / multi a / d / mono a / d / multi]" {
			t.Fatalf("%s: slices %s", path, got)
		}
		for _, s := range ix.Slices() {
			var want []PerQuery
			for _, r := range rows {
				if (Slice{r.RunID, r.Dataset, r.Setting}) == s {
					want = append(want, r)
				}
			}
			if got := readSlice(t, ix, s); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s: slice %v: got %v\nwant %v", path, s, got, want)
			}
		}
		mixed := false
		for _, refs := range ix.slices {
			for _, r := range refs {
				mixed = mixed || r.mixed
			}
		}
		if mixed != (path == whole) {
			t.Errorf("%s: mixed row groups %v", path, mixed)
		}
		var all []PerQuery
		if err := ReadPerQuery(context.Background(), path, func(b []PerQuery) error { all = append(all, b...); return nil }); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(all) != fmt.Sprint(rows) {
			t.Fatalf("%s: ReadPerQuery differs", path)
		}
	}
	if md, err := Metadata(streamed); err != nil || md["license"] != "x" {
		t.Errorf("metadata %v %v", md, err)
	}
	if _, err := IndexPerQuery([]string{filepath.Join(dir, "missing.parquet")}); err == nil {
		t.Error("missing file accepted")
	}
}
