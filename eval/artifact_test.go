package eval

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/eval/bm25"
	"github.com/lair-ir/lair/eval/evaltest"
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

func TestRetrieveBM25Artifact(t *testing.T) {
	root := t.TempDir()
	var dirs []string
	for i, name := range []string{"xq", "ml"} {
		d := evaltest.Make(name, []string{"en", "de"}, 4+i, 3, uint64(i+1))
		dir := filepath.Join(root, name)
		if err := d.Write(dir); err != nil {
			t.Fatal(err)
		}
		if i == 0 { // only xq has a meta.json with a license
			if err := datasets.WriteMeta(dir, datasets.Meta{Dataset: name, License: "CC0"}); err != nil {
				t.Fatal(err)
			}
		}
		dirs = append(dirs, dir)
	}
	var started []string
	out := t.TempDir()
	res, err := RetrieveBM25Artifact(context.Background(), dirs, bm25.DefaultParams, RetrieveOptions{RunID: "bm25", Settings: []string{Mono, Multi}, K: 5, Threads: 1},
		out, func(ds string, total int) { started = append(started, fmt.Sprintf("%s %d", ds, total)) })
	if err != nil {
		t.Fatal(err)
	}
	// two passes (mono, multi) over 8 and 10 queries
	if strings.Join(started, ", ") != "xq 16, ml 20" || strings.Join(res.Datasets, " ") != "xq ml" || res.License != "xq: CC0" {
		t.Errorf("started %v, result %+v", started, res)
	}
	if res.Rows["xq"][Mono] != 8 || res.Rows["ml"][Multi] != 10 || res.Rows["xq"][Cross] != 0 {
		t.Errorf("rows %v", res.Rows)
	}
	n := map[string]int{}
	if err := ReadRankingsArtifact(out, func(b []Ranking) error {
		for _, r := range b {
			n[r.Dataset+" "+r.Setting]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n["xq mono"] != 8 || n["ml multi"] != 10 || len(n) != 4 {
		t.Errorf("rankings %v", n)
	}
	if kv, _ := tables.Metadata(RankingsPath(out)); kv["license"] != "xq: CC0" {
		t.Errorf("rankings license %q", kv["license"])
	}
}
