package reports_test

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/eval"
	"github.com/lair-ir/lair/eval/bm25"
	"github.com/lair-ir/lair/eval/evaltest"
	"github.com/lair-ir/lair/eval/stats"
	"github.com/lair-ir/lair/reports"
	"github.com/lair-ir/lair/tables"
)

var updatePipeline = flag.Bool("update-pipeline", false, "rewrite testdata/pipeline (only from a reviewed in-memory reference)")

// pipelineRuns are the systems of the end-to-end golden: a sweep over
// alpha with three seeds (t-bands), and bm25 as the reference run.
var pipelineRuns = []struct {
	alpha float64
	seed  int
}{{0.2, 1}, {0.2, 2}, {0.2, 3}, {0.8, 1}, {0.8, 2}, {0.8, 3}}

// pipelineOutputs runs retrieval, evaluation, the report and the sweep
// over two synthetic datasets and returns the files to compare: the
// pages byte for byte, the Parquet tables as row dumps.
func pipelineOutputs(t *testing.T) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	var dss []*datasets.Dataset
	var rankings []string
	for di, spec := range []struct {
		name  string
		langs []string
		n     int
	}{{"xq", []string{"de", "en", "zh"}, 14}, {"ml", []string{"de", "en"}, 10}} {
		sd := evaltest.Make(spec.name, spec.langs, spec.n, 6, uint64(di+1))
		dsDir := filepath.Join(dir, spec.name)
		if err := sd.Write(dsDir); err != nil {
			t.Fatal(err)
		}
		ds, err := datasets.ReadChecked(dsDir)
		if err != nil {
			t.Fatal(err)
		}
		dss = append(dss, ds)
		p := eval.Prepare(ds)
		for ri, r := range pipelineRuns {
			emb := sd.Embed(12, 0.9-0.3*r.alpha, 0.6*(1-r.alpha), uint64(10*r.seed+di))
			sc, err := eval.DenseScorer(p, emb, "emb", true)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, fmt.Sprintf("rank-%s-%d.parquet", spec.name, ri))
			opt := eval.RetrieveOptions{RunID: fmt.Sprintf("tiny[alpha=%g,seed=%d]", r.alpha, r.seed), K: 30, CrossK: 8, Threads: 2}
			if _, err := eval.RetrieveToFile(ctx, p, sc, sc, opt, path); err != nil {
				t.Fatal(err)
			}
			rankings = append(rankings, path)
		}
	}
	// bm25: one rankings file for both datasets
	bmPath := filepath.Join(dir, "rank-bm25.parquet")
	w, err := eval.CreateRankings(bmPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, ds := range dss {
		p := eval.Prepare(ds)
		opt := eval.RetrieveOptions{RunID: "bm25", K: 30, CrossK: 8, Threads: 2, QueryBlock: 16}
		perLang, pooled, err := eval.BM25Scorers(p, bm25.DefaultParams, nil, 2)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := eval.Retrieve(ctx, p, perLang, pooled, opt, w.Write); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rankings = append(rankings, bmPath)

	evalDir := filepath.Join(dir, "eval")
	os.MkdirAll(evalDir, 0o755)
	mp, pqp := evaluatePipeline(t, ctx, rankings, dss, evalDir)

	out := map[string][]byte{}
	dump := func(name, path string, hash bool) {
		b := dumpParquet(t, path)
		if hash {
			b = []byte(fmt.Sprintf("%x\n", sha256.Sum256(b)))
		}
		out[name] = b
	}
	dump("eval_metrics.txt", mp, false)
	dump("eval_per_query.sha256", pqp, true)

	rep := filepath.Join(dir, "report")
	os.MkdirAll(rep, 0o755)
	lg, _ := stats.ParseLanguageGroup("unseen=zh")
	in := reports.Input{Title: "pipeline golden", MetricsFiles: []string{mp}, PerQueryFiles: []string{pqp}, Baseline: "bm25",
		SigMetrics: []string{"map", "r@10", "rd"}, Permutations: 300, Bootstrap: 60, Seed: 3, Threads: 2, AllPairs: true,
		LanguageGroups: []stats.LanguageGroup{lg}}
	if err := reports.Build(ctx, in, rep); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.html", "summary.md", "summary.svg"} {
		b, err := os.ReadFile(filepath.Join(rep, f))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = b
	}
	dump("report_metrics.txt", filepath.Join(rep, "metrics.parquet"), false)
	dump("report_per_query.sha256", filepath.Join(rep, "per_query.parquet"), true)
	dump("report_significance.txt", filepath.Join(rep, "significance.parquet"), false)

	sw := filepath.Join(dir, "sweep")
	os.MkdirAll(sw, 0o755)
	sin := reports.SweepInput{Title: "pipeline sweep", MetricsFiles: []string{mp}, PerQueryFiles: []string{pqp}, X: "alpha", Replicate: "seed",
		Permutations: 300, Bootstrap: 60, Seed: 3, Threads: 2}
	for _, m := range []string{"multi map", "mono map", "cross map", "rd", "multi r@10"} {
		s, err := reports.ParseMetricSpec(m)
		if err != nil {
			t.Fatal(err)
		}
		sin.Metrics = append(sin.Metrics, s)
	}
	if err := reports.BuildSweep(ctx, sin, sw); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"sweep.html", "sweep.md", "sweep.svg"} {
		b, err := os.ReadFile(filepath.Join(sw, f))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = b
	}
	dump("sweep_rows.txt", filepath.Join(sw, "sweep.parquet"), false)
	dump("sweep_tests.txt", filepath.Join(sw, "sweep_tests.parquet"), false)
	return out
}

// dumpParquet writes every row of a lair table as one line, floats in
// full precision.
func dumpParquet(t *testing.T, path string) []byte {
	t.Helper()
	var b strings.Builder
	line := func(vs ...any) {
		for i, v := range vs {
			if i > 0 {
				b.WriteByte('\t')
			}
			switch x := v.(type) {
			case float64:
				b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
			default:
				fmt.Fprint(&b, x)
			}
		}
		b.WriteByte('\n')
	}
	switch filepath.Base(path) {
	case "metrics.parquet":
		rows, err := tables.Read[tables.Metric](path)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			line(r.RunID, r.Dataset, r.Setting, r.QLang, r.CLang, r.Metric, r.Value, r.N)
		}
	case "per_query.parquet":
		rows, err := tables.Read[tables.PerQuery](path)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			line(r.RunID, r.Dataset, r.Setting, r.QID, r.Lang, r.CLang, r.Metric, r.Value)
		}
	case "significance.parquet":
		rows, err := tables.Read[reports.SigRow](path)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			line(r.Base, r.Other, r.Dataset, r.Setting, r.Metric, r.Lang, r.N, r.MeanBase, r.Mean, r.Delta, r.P, r.PHolm, r.CILo, r.CIHi, r.Wins, r.Ties, r.Losses)
		}
	case "sweep.parquet":
		rows, err := tables.Read[reports.SweepRow](path)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			line(r.Dataset, r.Setting, r.Metric, r.X, r.Mean, r.Lo, r.Hi, r.N, r.Band)
		}
	case "sweep_tests.parquet":
		rows, err := tables.Read[reports.SweepTest](path)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			line(r.Dataset, r.Setting, r.Metric, r.XA, r.XB, r.N, r.MeanA, r.MeanB, r.Delta, r.P, r.PHolm, r.CILo, r.CIHi)
		}
	default:
		t.Fatalf("no dump for %s", path)
	}
	return []byte(b.String())
}

// TestPipelineGolden: evaluation, report and sweep over real rankings
// give the same pages (byte for byte) and tables (row for row) as the
// reference in testdata/pipeline, which was made by the in-memory
// implementation before evaluation and reports were streamed.
func TestPipelineGolden(t *testing.T) {
	got := pipelineOutputs(t)
	dir := filepath.Join("testdata", "pipeline")
	if *updatePipeline {
		os.MkdirAll(dir, 0o755)
		for name, b := range got {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	for name, b := range got {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%v (go test ./reports -run TestPipelineGolden -update-pipeline writes it, after review)", err)
		}
		if string(want) != string(b) {
			wl, gl := strings.Split(string(want), "\n"), strings.Split(string(b), "\n")
			for i := 0; i < len(wl) && i < len(gl); i++ {
				if wl[i] != gl[i] {
					t.Errorf("%s differs from testdata/pipeline at line %d:\n got  %.300s\n want %.300s", name, i+1, gl[i], wl[i])
					break
				}
			}
			if len(wl) != len(gl) {
				t.Errorf("%s: %d lines, want %d", name, len(gl), len(wl))
			}
		}
	}
}
