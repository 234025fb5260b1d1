package eval

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/tables"
)

// TestArtifacts: the rankings and metrics artifacts keep their layout and
// their readers give back what the writers wrote.
func TestArtifacts(t *testing.T) {
	p, ds, dsDir := loadSynthetic(t, []string{"en", "de"}, 6, 4)
	e := ds.Embed(8, 0.5, 0.2, 1)
	sc, err := DenseScorer(p, e, "emb", true)
	if err != nil {
		t.Fatal(err)
	}
	rdir := t.TempDir()
	st, err := RetrieveToArtifact(context.Background(), p, sc, sc, RetrieveOptions{RunID: "dense", K: 5, License: "CC0"}, rdir)
	if err != nil {
		t.Fatal(err)
	}
	if kv, err := tables.Metadata(filepath.Join(rdir, "rankings.parquet")); err != nil || kv["license"] != "CC0" {
		t.Errorf("rankings.parquet metadata %v, %v", kv, err)
	}
	n := 0
	if err := ReadRankingsArtifact(rdir, func(b []Ranking) error { n += len(b); return nil }); err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, r := range st.Rows {
		want += r
	}
	if n == 0 || n != want {
		t.Errorf("read %d rankings, retrieval wrote %d", n, want)
	}
	if _, ok, err := ReadRankingsMeta(rdir); ok || err != nil {
		t.Errorf("no meta.json yet: ok %v, err %v", ok, err)
	}
	if err := WriteRankingsMeta(rdir, map[string]any{"run_id": "dense", "degenerate_embeddings": map[string]int{"queries": 2, "passages": 1}}); err != nil {
		t.Fatal(err)
	}
	m, ok, err := ReadRankingsMeta(rdir)
	if !ok || err != nil || m.RunID != "dense" || m.Degenerate.Queries != 2 || m.Degenerate.Passages != 1 {
		t.Errorf("ReadRankingsMeta = %+v, %v, %v", m, ok, err)
	}

	mdir := t.TempDir()
	loaded := p.DS
	ms, err := EvaluateArtifact(context.Background(), []string{rdir}, []*datasets.Dataset{loaded}, EvalConfig{Metrics: []string{"map"}, RunDepth: 5,
		PerQueryMeta: map[string]string{"license": "CC0"}}, mdir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"metrics.parquet", "per_query.parquet", "runs"} {
		if _, err := os.Stat(filepath.Join(mdir, f)); err != nil {
			t.Errorf("layout: %v", err)
		}
	}
	back, err := ReadMetrics(mdir)
	if err != nil || len(back) != len(ms) || len(ms) == 0 {
		t.Errorf("ReadMetrics: %d rows of %d, %v", len(back), len(ms), err)
	}
	if kv, _ := tables.Metadata(MetricsPath(mdir)); kv["license"] != "CC0" {
		t.Errorf("metrics.parquet metadata %v", kv)
	}
	if pq, ok := PerQueryPath(mdir); !ok || pq != filepath.Join(mdir, "per_query.parquet") {
		t.Errorf("PerQueryPath = %s, %v", pq, ok)
	}
	if _, ok := PerQueryPath(dsDir); ok {
		t.Error("a dataset folder has a per-query table")
	}
	if _, err := EvaluateArtifact(context.Background(), []string{t.TempDir()}, []*datasets.Dataset{loaded}, EvalConfig{Metrics: []string{"map"}}, t.TempDir()); err == nil ||
		!strings.Contains(err.Error(), "rankings.parquet") {
		t.Errorf("missing rankings: %v", err)
	}
}
