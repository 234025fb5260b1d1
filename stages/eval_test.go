package stages

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lair-ir/lair/eval"
	"github.com/lair-ir/lair/eval/evaltest"
	"github.com/lair-ir/lair/internal/testenv"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/reports"
	"github.com/lair-ir/lair/reports/mteb"
	"github.com/lair-ir/lair/tables"
)

// TestBM25BaselineDAGValidates loads dags/bm25-baseline.yaml.
func TestBM25BaselineDAGValidates(t *testing.T) {
	r := pipeline.NewRegistry()
	Register(r)
	path := filepath.Join(testenv.RepoRoot(t), "dags", "bm25-baseline.yaml")
	if _, err := pipeline.LoadFile(path, r, pipeline.LoadOptions{}); err != nil {
		for _, n := range []string{"dataset/xquad-r", "dataset/mlqa-r"} {
			if _, ok := r.Lookup(n); !ok && strings.Contains(err.Error(), "unknown stage type") {
				t.Skipf("stage type %s not registered yet: %v", n, err)
			}
		}
		t.Fatal(err)
	}
}

// evalCtx builds a stage context for the named stage type with its
// default parameters overridden by with.
func evalCtx(t *testing.T, r *pipeline.Registry, typ, name string, with map[string]any, inputs ...pipeline.Artifact) *pipeline.StageContext {
	t.Helper()
	st, ok := r.Lookup(typ)
	if !ok {
		t.Fatalf("stage type %s not registered", typ)
	}
	params := pipeline.Params{}
	for _, p := range st.Params {
		if p.Default != nil {
			params[p.Name] = p.Default
		}
	}
	for k, v := range with {
		params[k] = v
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	return &pipeline.StageContext{Name: name, Type: st, Params: params, Inputs: inputs, OutDir: out, Env: pipeline.Env{Threads: 2}}
}

// TestEvalStagesEndToEnd runs retrieve/dense and retrieve/bm25 on a
// synthetic dataset, eval/lareqa on both rankings, and report/html.
func TestEvalStagesEndToEnd(t *testing.T) {
	r := pipeline.NewRegistry()
	registerEval(r)
	ctx := context.Background()
	ds := evaltest.Make("xquad-r", []string{"en", "de", "zh"}, 12, 15, 4)
	dsDir := filepath.Join(t.TempDir(), "ds")
	if err := ds.Write(dsDir); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dsDir, "meta.json"), []byte(`{"dataset":"xquad-r","license":"CC BY-SA 4.0"}`), 0o644)
	embDir := filepath.Join(t.TempDir(), "emb")
	os.MkdirAll(embDir, 0o755)
	if err := tables.WriteEmbeddings(embDir, ds.Embed(16, 0.8, 0.4, 2)); err != nil {
		t.Fatal(err)
	}
	dsArt := pipeline.Artifact{Kind: pipeline.KindDataset, Stage: "xquad_r", Dir: dsDir}
	embArt := pipeline.Artifact{Kind: pipeline.KindEmbeddings, Stage: "encode[strategy=hybrid]", Dir: embDir}

	dense := evalCtx(t, r, "retrieve/dense", "retrieve[strategy=hybrid]", nil, embArt, dsArt)
	if err := dense.Type.Run(ctx, dense); err != nil {
		t.Fatal(err)
	}
	bm := evalCtx(t, r, "retrieve/bm25", "bm25", nil, dsArt)
	if err := bm.Type.Run(ctx, bm); err != nil {
		t.Fatal(err)
	}
	ev := evalCtx(t, r, "eval/lareqa", "eval", nil,
		pipeline.Artifact{Kind: pipeline.KindRankings, Stage: dense.Name, Dir: dense.OutDir},
		pipeline.Artifact{Kind: pipeline.KindRankings, Stage: bm.Name, Dir: bm.OutDir}, dsArt)
	if err := ev.Type.Run(ctx, ev); err != nil {
		t.Fatal(err)
	}
	ms, err := tables.Read[tables.Metric](filepath.Join(ev.OutDir, "metrics.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, m := range ms {
		if m.QLang == "all" && m.CLang == "all" {
			got[m.RunID+" "+m.Setting+" "+m.Metric] = m.Value
		}
	}
	// run ids: the embeddings' producer for dense, the instance for bm25
	if _, ok := got["encode[strategy=hybrid] multi map"]; !ok {
		t.Fatalf("no dense multi map; have %v", got)
	}
	if got["bm25 multi same_lang_first"] < 0.99 {
		t.Errorf("bm25 same-language-first share %v, want ~1", got["bm25 multi same_lang_first"])
	}
	if got["bm25 cross map"] >= got["encode[strategy=hybrid] cross map"] {
		t.Errorf("bm25 cross map %v >= dense %v", got["bm25 cross map"], got["encode[strategy=hybrid] cross map"])
	}
	if md, _ := tables.Metadata(filepath.Join(ev.OutDir, "metrics.parquet")); !strings.Contains(md["license"], "CC BY-SA 4.0") {
		t.Errorf("license metadata %q", md["license"])
	}
	for _, f := range []string{"runs/encode_strategy=hybrid_.xquad-r.multi.run.gz", "runs/xquad-r.mono.qrels", "per_query.parquet"} {
		if _, err := os.Stat(filepath.Join(ev.OutDir, f)); err != nil {
			t.Error(err)
		}
	}
	modelDir := filepath.Join(t.TempDir(), "model")
	os.MkdirAll(modelDir, 0o755)
	if err := tables.Write(filepath.Join(modelDir, "training_log.parquet"), []reports.LogRow{{Step: 0, Loss: 3, ValLoss: 3.1}, {Step: 5, Loss: 2, ValLoss: 2.4}}, nil); err != nil {
		t.Fatal(err)
	}
	rep := evalCtx(t, r, "report/html", "report", map[string]any{"permutations": 200, "bootstrap": 100, "baseline": "bm25", "language_groups": []string{"unseen=zh"}},
		pipeline.Artifact{Kind: pipeline.KindMetrics, Stage: "eval", Dir: ev.OutDir},
		pipeline.Artifact{Kind: pipeline.KindModel, Stage: "train[strategy=hybrid]", Dir: modelDir})
	if err := rep.Type.Run(ctx, rep); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(rep.OutDir, "report.html"))
	if err != nil || !strings.Contains(string(html), "Comparison with the baseline <code>bm25</code>") {
		t.Fatalf("report: %v", err)
	}
	if !strings.Contains(string(html), "training: train[strategy=hybrid]") {
		t.Error("report lacks the training curve of the model input")
	}
	// the adapter passes bootstrap and seed through: the chart at the top has intervals from per_query.parquet
	for _, want := range []string{`<figure class="tradeoff" data-dataset="xquad-r">`, `<td class="ci" data-lo=`, `paper LaBSE Hybrid`, `data-metric="pref@10"`} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report lacks %s", want)
		}
	}
	md, err := os.ReadFile(filepath.Join(rep.OutDir, "summary.md"))
	if err != nil || !strings.Contains(string(md), "`bm25` · unseen (zh)") || !strings.Contains(string(md), "`bm25` · seen (de en)") {
		t.Errorf("summary.md without the language groups: %v\n%s", err, md)
	}
	if _, err := os.Stat(filepath.Join(rep.OutDir, "summary.svg")); err != nil {
		t.Error(err)
	}
	for _, run := range []string{"bm25", "encode[strategy=hybrid]"} {
		b, err := os.ReadFile(filepath.Join(rep.OutDir, "mteb", run, mteb.Revision, "LAReQA-xquad-r.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := mteb.Validate(b); err != nil || !strings.Contains(string(b), `"hf_subset": "de-multi"`) {
			t.Errorf("mteb results of %s: %v\n%s", run, err, b)
		}
	}
	badRep := evalCtx(t, r, "report/html", "report", map[string]any{"language_groups": []string{"el,ru"}},
		pipeline.Artifact{Kind: pipeline.KindMetrics, Stage: "eval", Dir: ev.OutDir})
	if err := badRep.Type.Run(ctx, badRep); err == nil || !strings.Contains(err.Error(), "language_groups") {
		t.Errorf("bad language group: %v", err)
	}

	// bad input: embeddings missing a candidate
	e, _ := tables.ReadEmbeddings(filepath.Join(embDir, tables.EmbeddingsArrow))
	n := len(e.IDs) - 1
	e.IDs, e.Roles, e.Langs, e.Vectors = e.IDs[:n], e.Roles[:n], e.Langs[:n], e.Vectors[:n*e.Dim]
	bad := filepath.Join(t.TempDir(), "bad")
	os.MkdirAll(bad, 0o755)
	tables.WriteEmbeddings(bad, e)
	c := evalCtx(t, r, "retrieve/dense", "retrieve", nil, pipeline.Artifact{Kind: pipeline.KindEmbeddings, Stage: "enc", Dir: bad}, dsArt)
	if err := c.Type.Run(ctx, c); err == nil || !strings.Contains(err.Error(), "no passage vector for cid") || !strings.Contains(err.Error(), "candidates.parquet row") {
		t.Errorf("missing vector: %v", err)
	}
}

// TestMIRACLStages runs retrieve/dense (mono only) and eval/miracl on a
// monolingual dataset with graded relevance, including judged
// non-relevant (0) qrels, which must not count as relevant.
func TestMIRACLStages(t *testing.T) {
	r := pipeline.NewRegistry()
	registerEval(r)
	ctx := context.Background()
	ds := evaltest.Make("miracl", []string{"en", "th"}, 10, 20, 6)
	// keep only same-language qrels (monolingual), grade 2; add judged non-relevant rows
	var qrels []tables.Qrel
	for _, q := range ds.Qrels {
		if q.QID[len(q.QID)-2:] == q.CID[len(q.CID)-2:] {
			q.Relevance = 2
			qrels = append(qrels, q)
			qrels = append(qrels, tables.Qrel{Dataset: "miracl", QID: q.QID, CID: "x001" + q.CID[4:], Relevance: 0})
		}
	}
	ds.Qrels = qrels
	dsDir := filepath.Join(t.TempDir(), "ds")
	if err := ds.Write(dsDir); err != nil {
		t.Fatal(err)
	}
	embDir := filepath.Join(t.TempDir(), "emb")
	os.MkdirAll(embDir, 0o755)
	if err := tables.WriteEmbeddings(embDir, ds.Embed(16, 0.7, 0.2, 2)); err != nil {
		t.Fatal(err)
	}
	dsArt := pipeline.Artifact{Kind: pipeline.KindDataset, Stage: "miracl", Dir: dsDir}
	ret := evalCtx(t, r, "retrieve/dense", "retrieve", map[string]any{"settings": []string{"mono"}},
		pipeline.Artifact{Kind: pipeline.KindEmbeddings, Stage: "encode", Dir: embDir}, dsArt)
	if err := ret.Type.Run(ctx, ret); err != nil {
		t.Fatal(err)
	}
	ev := evalCtx(t, r, "eval/miracl", "eval", nil, pipeline.Artifact{Kind: pipeline.KindRankings, Stage: "retrieve", Dir: ret.OutDir}, dsArt)
	if err := ev.Type.Run(ctx, ev); err != nil {
		t.Fatal(err)
	}
	ms, err := tables.Read[tables.Metric](filepath.Join(ev.OutDir, "metrics.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range ms {
		if m.Setting != "mono" {
			t.Fatalf("non-mono row %+v", m)
		}
		seen[m.Metric+" "+m.QLang] = true
	}
	err = eval.ReadRankings(filepath.Join(ret.OutDir, eval.RankingsFile), func(rows []eval.Ranking) error {
		for _, row := range rows {
			if len(row.RelCIDs) != 1 || row.RelGrades[0] != 2 {
				t.Errorf("%s: relevant %v grades %v; judged non-relevant (0) must not count", row.QID, row.RelCIDs, row.RelGrades)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ndcg@10 all", "ndcg@10 en", "ndcg@10 th", "r@100 all", "map all", "mrr@10 th"} {
		if !seen[k] {
			t.Errorf("missing %s", k)
		}
	}
	run, err := gunzip(filepath.Join(ev.OutDir, "runs", "encode.miracl.mono.run.gz"))
	if err != nil {
		t.Fatal(err)
	}
	// 20 queries x 30 candidates per language (10 answers + 20 distractors)
	if n := strings.Count(string(run), "\n"); n != 20*30 {
		t.Errorf("run file has %d lines, want %d", n, 20*30)
	}
}

// TestSweepStage runs retrieve/dense for a sweep over alpha (0, 1) with
// two seeds each, named as a DAG with run_id: "tiny[alpha=${matrix.alpha},seed=${matrix.seed}]"
// would, plus BM25 (no alpha: a reference line), evaluates them and
// builds report/sweep.
func TestSweepStage(t *testing.T) {
	r := pipeline.NewRegistry()
	registerEval(r)
	ctx := context.Background()
	ds := evaltest.Make("xquad-r", []string{"en", "de", "zh"}, 12, 15, 4)
	dsDir := filepath.Join(t.TempDir(), "ds")
	if err := ds.Write(dsDir); err != nil {
		t.Fatal(err)
	}
	dsArt := pipeline.Artifact{Kind: pipeline.KindDataset, Stage: "xquad_r", Dir: dsDir}
	var rankings []pipeline.Artifact
	for _, alpha := range []string{"0", "1"} {
		for _, seed := range []uint64{1, 2} {
			embDir := filepath.Join(t.TempDir(), "emb")
			os.MkdirAll(embDir, 0o755)
			bias := map[string]float64{"0": 1.2, "1": 0.3}[alpha]
			if err := tables.WriteEmbeddings(embDir, ds.Embed(16, 0.8, bias, seed)); err != nil {
				t.Fatal(err)
			}
			runID := "tiny[alpha=" + alpha + ",seed=" + strings.Repeat("1", int(seed)) + "]"
			c := evalCtx(t, r, "retrieve/dense", "dense", map[string]any{"run_id": runID},
				pipeline.Artifact{Kind: pipeline.KindEmbeddings, Stage: "enc", Dir: embDir}, dsArt)
			if err := c.Type.Run(ctx, c); err != nil {
				t.Fatal(err)
			}
			rankings = append(rankings, pipeline.Artifact{Kind: pipeline.KindRankings, Stage: runID, Dir: c.OutDir})
		}
	}
	bm := evalCtx(t, r, "retrieve/bm25", "bm25", nil, dsArt)
	if err := bm.Type.Run(ctx, bm); err != nil {
		t.Fatal(err)
	}
	ev := evalCtx(t, r, "eval/lareqa", "eval", map[string]any{"run_depth": 0},
		append(rankings, pipeline.Artifact{Kind: pipeline.KindRankings, Stage: "bm25", Dir: bm.OutDir}, dsArt)...)
	if err := ev.Type.Run(ctx, ev); err != nil {
		t.Fatal(err)
	}
	sw := evalCtx(t, r, "report/sweep", "sweep", map[string]any{"permutations": 200, "bootstrap": 100},
		pipeline.Artifact{Kind: pipeline.KindMetrics, Stage: "eval", Dir: ev.OutDir})
	if err := sw.Type.Run(ctx, sw); err != nil {
		t.Fatal(err)
	}
	rows, err := tables.Read[reports.SweepRow](filepath.Join(sw.OutDir, "sweep.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]reports.SweepRow{}
	for _, row := range rows {
		got[row.Metric+" "+strconv.FormatFloat(row.X, 'g', -1, 64)] = row
		if row.Setting != "tiny" || row.N != 2 || row.Band != "minmax" {
			t.Errorf("row %+v", row)
		}
	}
	if len(rows) != 8 {
		t.Fatalf("%d rows, want 8 (4 metrics x 2 alphas)", len(rows))
	}
	// less language bias at alpha=1: better multi mAP, smaller RD
	if !(got["multi map 1"].Mean > got["multi map 0"].Mean && got["multi rd 1"].Mean < got["multi rd 0"].Mean) {
		t.Errorf("sweep rows %v", got)
	}
	tests, err := tables.Read[reports.SweepTest](filepath.Join(sw.OutDir, "sweep_tests.parquet"))
	if err != nil || len(tests) != 4 {
		t.Fatalf("tests: %v, %d rows", err, len(tests))
	}
	for _, f := range []string{"sweep.html", "sweep.md", "sweep.svg"} {
		b, err := os.ReadFile(filepath.Join(sw.OutDir, f))
		if err != nil || !strings.Contains(string(b), "bm25") {
			t.Errorf("%s: %v, no bm25 reference", f, err)
		}
	}
	bad := evalCtx(t, r, "report/sweep", "sweep", map[string]any{"metrics": []string{"map"}},
		pipeline.Artifact{Kind: pipeline.KindMetrics, Stage: "eval", Dir: ev.OutDir})
	if err := bad.Type.Run(ctx, bad); err == nil || !strings.Contains(err.Error(), "param metrics") {
		t.Errorf("bad metric: %v", err)
	}
}

// TestSweepDAGValidates plans a sweep DAG whose dense runs are named
// tiny[alpha=...,seed=...] by matrix substitution, reported by
// report/sweep beside a BM25 reference, and checks the run ids parse.
func TestSweepDAGValidates(t *testing.T) {
	r := pipeline.NewRegistry()
	Register(r)
	dag := `name: sweep
stages:
  xquad_r: {uses: dataset/xquad-r}
  mlqa_r:  {uses: dataset/mlqa-r}
  pairs:   {uses: pairs/parallel-qa, needs: [mlqa_r]}
  batches:
    uses: batches/plan
    needs: [pairs]
    with: {strategy: hybrid}
    matrix: {alpha: [0.0, 0.5, 1.0], seed: [1, 2, 3]}
  tiny:    {uses: model/tiny, needs: [pairs]}
  train:   {uses: train/contrastive, needs: [batches, tiny, pairs]}
  enc:     {uses: encode, needs: [train, xquad_r]}
  dense:   {uses: retrieve/dense, needs: [enc, xquad_r], with: {run_id: "tiny[alpha=${matrix.alpha},seed=${matrix.seed}]", k: 100}}
  bm25:    {uses: retrieve/bm25, needs: [xquad_r], with: {run_id: bm25, k: 100}}
  eval:    {uses: eval/lareqa, needs: [dense, bm25, xquad_r]}
  sweep:   {uses: report/sweep, needs: [eval], with: {x: alpha, replicate: seed}}
`
	plan, err := pipeline.Load("sweep.yaml", []byte(dag), r, pipeline.LoadOptions{})
	if err != nil {
		if strings.Contains(err.Error(), "unknown stage type") {
			t.Skipf("stage types of other packages not registered yet: %v", err)
		}
		t.Fatal(err)
	}
	var ids []string
	for _, in := range plan.Instances {
		if in.Stage == "dense" {
			id := in.Params.String("run_id")
			name, labels, err := reports.ParseRunID(id)
			if err != nil || name != "tiny" || len(labels) != 2 || labels[0].Key != "alpha" || labels[1].Key != "seed" {
				t.Errorf("run_id %q: %q %v %v", id, name, labels, err)
			}
			ids = append(ids, id)
		}
	}
	t.Logf("run ids: %v", ids)
	if len(ids) != 9 {
		t.Errorf("dense run ids %v, want 9", ids)
	}
}

// gunzip reads a gzip file.
func gunzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return io.ReadAll(zr)
}
