package stages

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/datasets/beir"
	"github.com/lair-ir/lair/eval"
	"github.com/lair-ir/lair/eval/evaltest"
	"github.com/lair-ir/lair/eval/fusion"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/tables"
)

func metricsOf(t *testing.T, dir string) map[string]float64 {
	t.Helper()
	ms, err := tables.Read[tables.Metric](filepath.Join(dir, "metrics.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, m := range ms {
		if m.QLang == "all" && m.CLang == "all" {
			got[m.RunID+" "+m.Setting+" "+m.Metric] = m.Value
		}
	}
	return got
}

func run(t *testing.T, sc *pipeline.StageContext) *pipeline.StageContext {
	t.Helper()
	if err := sc.Type.Run(context.Background(), sc); err != nil {
		t.Fatalf("%s: %v", sc.Name, err)
	}
	return sc
}

// TestFuseAndDebiasStages runs BM25 and dense retrieval on a synthetic
// dataset, fuses them (RRF), debiases the embeddings with a fit set of
// other texts, and evaluates all four systems in one eval/lareqa.
func TestFuseAndDebiasStages(t *testing.T) {
	r := pipeline.NewRegistry()
	registerEval(r)
	registerBeyond(r)
	ds := evaltest.Make("xquad-r", []string{"en", "de", "zh"}, 12, 15, 4)
	dsDir := filepath.Join(t.TempDir(), "ds")
	if err := ds.Write(dsDir); err != nil {
		t.Fatal(err)
	}
	dsArt := pipeline.Artifact{Kind: pipeline.KindDataset, Stage: "xquad_r", Dir: dsDir}
	mkEmb := func(name string, e *tables.Embeddings) pipeline.Artifact {
		dir := filepath.Join(t.TempDir(), name)
		os.MkdirAll(dir, 0o755)
		if err := tables.WriteEmbeddings(dir, e); err != nil {
			t.Fatal(err)
		}
		return pipeline.Artifact{Kind: pipeline.KindEmbeddings, Stage: name, Dir: dir}
	}
	evalEmb := mkEmb("encode", ds.Embed(16, 0.8, 0.4, 2))
	fitE := evaltest.Make("mlqa-r", []string{"en", "de", "zh"}, 10, 10, 9).Embed(16, 0.8, 0.4, 3)
	for i := range fitE.IDs {
		fitE.IDs[i] = "train-" + fitE.IDs[i]
	}
	fitEmb := mkEmb("encode_train[strategy=hybrid]", fitE)

	deb := run(t, evalCtx(t, r, "embed/debias", "debias", map[string]any{"fit": "encode_train"}, fitEmb, evalEmb))
	if _, err := os.Stat(filepath.Join(deb.OutDir, tables.EmbeddingsArrow)); err != nil {
		t.Fatal(err)
	}
	dense := run(t, evalCtx(t, r, "retrieve/dense", "dense", map[string]any{"run_id": "dense"}, evalEmb, dsArt))
	debDense := run(t, evalCtx(t, r, "retrieve/dense", "dense_debias", map[string]any{"run_id": "dense+debias"},
		pipeline.Artifact{Kind: pipeline.KindEmbeddings, Stage: "debias", Dir: deb.OutDir}, dsArt))
	bm := run(t, evalCtx(t, r, "retrieve/bm25", "bm25", nil, dsArt))
	rk := func(sc *pipeline.StageContext) pipeline.Artifact {
		return pipeline.Artifact{Kind: pipeline.KindRankings, Stage: sc.Name, Dir: sc.OutDir}
	}
	fused := run(t, evalCtx(t, r, "retrieve/fuse", "fuse", nil, rk(bm), rk(dense)))
	// The stage fuses one setting at a time; the rows equal one fusion of
	// the whole files in memory, in the same order.
	readAll := func(dir string) []eval.Ranking {
		var rows []eval.Ranking
		if err := eval.ReadRankingsArtifact(dir, func(b []eval.Ranking) error { rows = append(rows, b...); return nil }); err != nil {
			t.Fatal(err)
		}
		return rows
	}
	var want []eval.Ranking
	if _, err := fusion.Fuse(context.Background(), []fusion.Input{{Path: "bm25", Rows: readAll(bm.OutDir)}, {Path: "dense", Rows: readAll(dense.OutDir)}},
		fusion.Options{Method: fusion.RRF, K: 60, Depth: 1000, RunID: "bm25+dense"}, func(b []eval.Ranking) error { want = append(want, b...); return nil }); err != nil {
		t.Fatal(err)
	}
	if gotRows := readAll(fused.OutDir); !reflect.DeepEqual(gotRows, want) {
		t.Fatalf("fuse stage: %d rows differ from one in-memory fusion (%d rows)", len(gotRows), len(want))
	}
	ev := run(t, evalCtx(t, r, "eval/lareqa", "eval", nil, rk(dense), rk(debDense), rk(bm), rk(fused), dsArt))
	got := metricsOf(t, ev.OutDir)
	for _, id := range []string{"dense", "dense+debias", "bm25", "bm25+dense"} {
		if _, ok := got[id+" multi map"]; !ok {
			t.Errorf("no multi map for %s; have %v", id, got)
		}
	}
	// fusing a lexical and a dense system must not be worse than the worse of the two
	if f, b, d := got["bm25+dense multi map"], got["bm25 multi map"], got["dense multi map"]; f < min(b, d) {
		t.Errorf("fused multi map %v below both inputs (bm25 %v, dense %v)", f, b, d)
	}

	// bad input: fit on a single language; fuse over different pools; one input only
	oneLang := evaltest.Make("one", []string{"en"}, 4, 3, 1).Embed(16, 0.8, 0.4, 5)
	for i := range oneLang.IDs {
		oneLang.IDs[i] = "x" + oneLang.IDs[i]
	}
	bad := evalCtx(t, r, "embed/debias", "debias", map[string]any{"fit": "fit"}, mkEmb("fit", oneLang), evalEmb)
	if err := bad.Type.Run(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "at least two languages") {
		t.Errorf("one-language fit: %v", err)
	}
	bad = evalCtx(t, r, "embed/debias", "debias", nil, fitEmb, evalEmb)
	if err := bad.Type.Run(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "set fit") {
		t.Errorf("no fit param: %v", err)
	}
	ds2 := evaltest.Make("xquad-r", []string{"en", "de"}, 12, 15, 4)
	ds2Dir := filepath.Join(t.TempDir(), "ds2")
	ds2.Write(ds2Dir)
	bm2 := run(t, evalCtx(t, r, "retrieve/bm25", "bm25b", nil, pipeline.Artifact{Kind: pipeline.KindDataset, Stage: "d2", Dir: ds2Dir}))
	badF := evalCtx(t, r, "retrieve/fuse", "fuse", nil, rk(bm2), rk(dense))
	if err := badF.Type.Run(context.Background(), badF); err == nil || !strings.Contains(err.Error(), "fuse rankings of the same queries and pools") {
		t.Errorf("different query sets: %v", err)
	}
	badF = evalCtx(t, r, "retrieve/fuse", "fuse", map[string]any{"weights": []string{"1", "x"}}, rk(bm), rk(dense))
	if err := badF.Type.Run(context.Background(), badF); err == nil || !strings.Contains(err.Error(), `weights[1] = "x"`) {
		t.Errorf("bad weight: %v", err)
	}
}

// TestBEIRStage reads a BEIR folder written from a synthetic monolingual
// dataset and evaluates BM25 on it (mono only: one language).
func TestBEIRStage(t *testing.T) {
	r := pipeline.NewRegistry()
	registerEval(r)
	registerBeyond(r)
	src := evaltest.Make("toy", []string{"de"}, 10, 20, 7)
	folder := filepath.Join(t.TempDir(), "toy-beir")
	if err := beir.Write(folder, &datasets.Dataset{Queries: src.Queries, Candidates: src.Candidates, Qrels: src.Qrels}, "test"); err != nil {
		t.Fatal(err)
	}
	b := run(t, evalCtx(t, r, "dataset/beir", "toy", map[string]any{"path": folder, "lang_field": "lang", "license": "CC0"}))
	ds, err := datasets.Read(b.OutDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Queries) != len(src.Queries) || len(ds.Candidates) != len(src.Candidates) || ds.Meta.Dataset != "toy-beir" || ds.Meta.License != "CC0" {
		t.Fatalf("read %d queries, %d candidates, meta %+v", len(ds.Queries), len(ds.Candidates), ds.Meta)
	}
	dsArt := pipeline.Artifact{Kind: pipeline.KindDataset, Stage: "toy", Dir: b.OutDir}
	bm := run(t, evalCtx(t, r, "retrieve/bm25", "bm25", map[string]any{"settings": []string{eval.Mono}}, dsArt))
	ev := run(t, evalCtx(t, r, "eval/lareqa", "eval", map[string]any{"bias": false},
		pipeline.Artifact{Kind: pipeline.KindRankings, Stage: "bm25", Dir: bm.OutDir}, dsArt))
	// dense retrieval on the same BEIR dataset (vectors made for the source's ids)
	embDir := filepath.Join(t.TempDir(), "emb")
	os.MkdirAll(embDir, 0o755)
	if err := tables.WriteEmbeddings(embDir, src.Embed(16, 0.8, 0.4, 2)); err != nil {
		t.Fatal(err)
	}
	dense := run(t, evalCtx(t, r, "retrieve/dense", "dense", map[string]any{"settings": []string{eval.Mono}, "run_id": "dense"},
		pipeline.Artifact{Kind: pipeline.KindEmbeddings, Stage: "enc", Dir: embDir}, dsArt))
	ev = run(t, evalCtx(t, r, "eval/lareqa", "eval", map[string]any{"bias": false},
		pipeline.Artifact{Kind: pipeline.KindRankings, Stage: "bm25", Dir: bm.OutDir},
		pipeline.Artifact{Kind: pipeline.KindRankings, Stage: "dense", Dir: dense.OutDir}, dsArt))
	got := metricsOf(t, ev.OutDir)
	if got["bm25 mono map"] <= 0 || got["dense mono map"] <= 0 {
		t.Errorf("mono map on the BEIR dataset: bm25 %v, dense %v; have %v", got["bm25 mono map"], got["dense mono map"], got)
	}
	// a qrels line naming an unknown query: file and line in the stage error
	os.WriteFile(filepath.Join(folder, "qrels", "test.tsv"), []byte("query-id\tcorpus-id\tscore\nnope\tc000-de\t1\n"), 0o644)
	bad := evalCtx(t, r, "dataset/beir", "toy", map[string]any{"path": folder, "lang": "de"})
	if err := bad.Type.Run(context.Background(), bad); err == nil || !strings.Contains(err.Error(), `test.tsv:2: query-id "nope"`) {
		t.Errorf("unknown query: %v", err)
	}
}
