package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/tables"
)

// Two systems on four queries: b is a + 0.25 on every query, so the mean
// difference is exactly +0.25 and its bootstrap interval collapses to it.
func TestCompare(t *testing.T) {
	var rows []tables.PerQuery
	for i, v := range []float64{0.1, 0.2, 0.3, 0.4} {
		q := string(rune('a' + i))
		rows = append(rows,
			tables.PerQuery{RunID: "bm25", Dataset: "d", Setting: "multi", QID: q, Lang: "en", CLang: "all", Metric: "map", Value: v},
			tables.PerQuery{RunID: "fused", Dataset: "d", Setting: "multi", QID: q, Lang: "en", CLang: "all", Metric: "map", Value: v + 0.25},
			tables.PerQuery{RunID: "fused", Dataset: "d", Setting: "mono", QID: q, Lang: "en", CLang: "en", Metric: "map", Value: 9})
	}
	path := filepath.Join(t.TempDir(), "per_query.parquet")
	if err := tables.Write(path, rows, nil); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run([]string{"-a", "bm25", "-b", "fused", "-metrics", "map", "-permutations", "200", path}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "| d | map | 4 | 0.2500 | 0.5000 | +0.2500 | [+0.2500, +0.2500] |") {
		t.Errorf("output:\n%s", out.String())
	}
	if err := run([]string{"-a", "bm25", "-b", "nope", path}, &out); err == nil || !strings.Contains(err.Error(), "no queries") {
		t.Errorf("unknown run: %v", err)
	}
}
