package stages

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/datasets/leakage"
	"github.com/lair-ir/lair/internal/testenv"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/storage/dirstore"
	"github.com/lair-ir/lair/tables"
)

func runDAG(t *testing.T, dag string, mirror string) map[string]pipeline.InstanceResult {
	t.Helper()
	r := pipeline.NewRegistry()
	Register(r)
	plan, err := pipeline.Load("test.yaml", []byte(dag), r, pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store, err := dirstore.Open(ctx, t.TempDir(), dirstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := pipeline.Execute(ctx, plan, pipeline.RunOptions{Store: store, Jobs: 2,
		Env: pipeline.Env{Mirror: mirror, CacheDir: t.TempDir(), Threads: 2}})
	out := map[string]pipeline.InstanceResult{}
	for _, ir := range res.Results {
		out[ir.Instance.Name] = ir
	}
	return out
}

// TestDatasetStagesEndToEnd runs the dataset stages through the engine from
// the shared raw directory as mirror: train on XQuAD-R / evaluate on MLQA-R
// and the reverse pass the leakage gate, the same set fails it.
func TestDatasetStagesEndToEnd(t *testing.T) {
	raw := testenv.RawDir(t)
	res := runDAG(t, `
name: t
stages:
  xquad_r: {uses: dataset/xquad-r}
  mlqa_r:  {uses: dataset/mlqa-r}
  miracl:  {uses: dataset/miracl, with: {topics_only: true, languages: [sw, yo]}}
  pairs_x: {uses: pairs/parallel-qa, needs: [xquad_r]}
  pairs_m: {uses: pairs/parallel-qa, needs: [mlqa_r], with: {positive: sentence-with-context, validation_fraction: 0}}
  leak_xm: {uses: check/leakage, needs: [pairs_x, mlqa_r, miracl]}
  leak_mx: {uses: check/leakage, needs: [pairs_m, xquad_r]}
  leak_xx: {uses: check/leakage, needs: [pairs_x, xquad_r]}
`, raw)
	for name, want := range map[string]string{"xquad_r": "ran", "mlqa_r": "ran", "miracl": "ran", "pairs_x": "ran", "pairs_m": "ran",
		"leak_xm": "ran", "leak_mx": "ran", "leak_xx": "failed"} {
		if got := res[name].Status; got != want {
			t.Errorf("%s: %s (%v), want %s", name, got, res[name].Err, want)
		}
	}
	if err := res["leak_xx"].Err; err == nil || !strings.Contains(err.Error(), "xquad-r: 13052 of 13090 queries") {
		t.Errorf("leak_xx error = %v", err)
	}
	var rep leakage.Report
	b, err := os.ReadFile(filepath.Join(res["leak_xm"].Dir, "check.json"))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &rep)
	if !rep.Pass || rep.Pairs != 143990 || len(rep.Datasets) != 2 {
		t.Errorf("check.json %s", b)
	}

	xq, err := datasets.Read(res["xquad_r"].Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(xq.Queries) != 13090 || len(xq.Candidates) != 13014 || len(xq.Qrels) != 143990 || xq.Meta.License != "CC BY-SA 4.0" || len(xq.Meta.Sources) != 11 {
		t.Errorf("xquad-r: %d %d %d %+v", len(xq.Queries), len(xq.Candidates), len(xq.Qrels), xq.Meta)
	}
	kv, _ := tables.Metadata(filepath.Join(res["mlqa_r"].Dir, datasets.CandidatesFile))
	if kv["license"] != "CC BY-NC 4.0" || kv["dataset"] != "mlqa-r" {
		t.Errorf("mlqa-r metadata %v", kv)
	}
	pm, _ := datasets.ReadMeta(res["pairs_m"].Dir)
	if pm.License != "CC BY-NC 4.0" || pm.Counts["pairs"] != 15747 {
		t.Errorf("pairs from mlqa-r: meta %+v", pm)
	}

	t.Run("duckdb", func(t *testing.T) { checkWithDuckDB(t, res) })
}

// checkWithDuckDB reads every table with DuckDB (a second Parquet reader)
// and compares row counts, a column checksum (total bytes of a text column)
// and the license metadata with what lair's reader sees.
func checkWithDuckDB(t *testing.T, res map[string]pipeline.InstanceResult) {
	nm, node := testenv.NodeModules(t)
	type table struct {
		path, col string
		rows      int
		bytes     int64
		license   string
	}
	var tabs []table
	add := func(path, col string, rows int, bytes int64) {
		kv, err := tables.Metadata(path)
		if err != nil {
			t.Fatal(err)
		}
		tabs = append(tabs, table{path, col, rows, bytes, kv["license"]})
	}
	for _, st := range []string{"xquad_r", "mlqa_r", "miracl"} {
		d, err := datasets.Read(res[st].Dir)
		if err != nil {
			t.Fatal(err)
		}
		var qb, cb, rb int64
		for _, q := range d.Queries {
			qb += int64(len(q.Text))
		}
		for _, c := range d.Candidates {
			cb += int64(len(c.Text))
		}
		for _, r := range d.Qrels {
			rb += int64(len(r.CID))
		}
		add(filepath.Join(res[st].Dir, datasets.QueriesFile), "text", len(d.Queries), qb)
		add(filepath.Join(res[st].Dir, datasets.CandidatesFile), "text", len(d.Candidates), cb)
		add(filepath.Join(res[st].Dir, datasets.QrelsFile), "cid", len(d.Qrels), rb)
	}
	stats := filepath.Join(res["xquad_r"].Dir, datasets.StatsFile)
	add(stats, "lang", 11, 22)
	for _, st := range []string{"pairs_x", "pairs_m"} {
		p := filepath.Join(res[st].Dir, datasets.PairsFile)
		ps, err := tables.Read[tables.Pair](p)
		if err != nil {
			t.Fatal(err)
		}
		var b int64
		for _, x := range ps {
			b += int64(len(x.PText))
		}
		add(p, "p_text", len(ps), b)
	}
	var sb strings.Builder
	sb.WriteString(`const duckdb = require('@duckdb/node-api');
(async () => {
  const con = await (await duckdb.DuckDBInstance.create(':memory:')).connect();
  const out = [];
  for (const [f, col] of JSON.parse(process.argv[1])) {
    const r = await con.runAndReadAll("SELECT count(*)::BIGINT AS n, coalesce(sum(strlen(" + col + ")), 0)::BIGINT AS b FROM read_parquet('" + f + "')");
    const m = await con.runAndReadAll("SELECT decode(value) AS v FROM parquet_kv_metadata('" + f + "') WHERE decode(key) = 'license'");
    const row = r.getRowObjectsJson()[0];
    const lic = m.getRowObjectsJson();
    out.push([Number(row.n), Number(row.b), lic.length ? lic[0].v : ""]);
  }
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
`)
	var args [][2]string
	for _, tb := range tabs {
		args = append(args, [2]string{tb.path, tb.col})
	}
	aj, _ := json.Marshal(args)
	outb := runNode(t, nm, node, "", sb.String(), string(aj))
	var got [][3]any
	if err := json.Unmarshal(outb, &got); err != nil {
		t.Fatalf("duckdb output %q: %v", outb, err)
	}
	for i, tb := range tabs {
		want := [3]any{float64(tb.rows), float64(tb.bytes), tb.license}
		if fmt.Sprint(got[i]) != fmt.Sprint(want) {
			t.Errorf("%s: duckdb sees %v, lair %v", tb.path, got[i], want)
		}
	}
}

// TestPrepareDAGValidates loads dags/prepare.yaml against the registry.
func TestPrepareDAGValidates(t *testing.T) {
	r := pipeline.NewRegistry()
	Register(r)
	if _, err := pipeline.LoadFile(filepath.Join(testenv.RepoRoot(t), "dags", "prepare.yaml"), r, pipeline.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestMiraclStageMissingCorpus: without topics_only and without a corpus the
// stage says what is missing and where to put it.
func TestMiraclStageMissingCorpus(t *testing.T) {
	res := runDAG(t, `
name: t
stages:
  miracl: {uses: dataset/miracl, with: {languages: [yo], corpus_dir: /nonexistent/miracl-corpus}}
`, testenv.RawDir(t))
	err := res["miracl"].Err
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/miracl-corpus/yo/docs-0.jsonl.gz") || !strings.Contains(err.Error(), "topics_only") {
		t.Errorf("err = %v", err)
	}
}

// BenchmarkPrepareCold is the prepare work (dataset/xquad-r, dataset/mlqa-r,
// pairs/parallel-qa, check/leakage) from the shared raw directory as a
// local mirror, with an empty store and download cache every iteration.
// bench/RESULTS.md records it under /usr/bin/time -v on 2 cores.
func BenchmarkPrepareCold(b *testing.B) {
	raw := testenv.RawDir(b)
	r := pipeline.NewRegistry()
	Register(r)
	plan, err := pipeline.Load("bench.yaml", []byte(`
name: bench
stages:
  xquad_r: {uses: dataset/xquad-r}
  mlqa_r:  {uses: dataset/mlqa-r}
  pairs:   {uses: pairs/parallel-qa, needs: [xquad_r]}
  leakage: {uses: check/leakage, needs: [pairs, mlqa_r]}
`), r, pipeline.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		dir := b.TempDir()
		store, err := dirstore.Open(ctx, filepath.Join(dir, "store"), dirstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		res, err := pipeline.Execute(ctx, plan, pipeline.RunOptions{Store: store,
			Env: pipeline.Env{Mirror: raw, CacheDir: filepath.Join(dir, "cache"), Threads: 2}})
		if err != nil {
			b.Fatal(err)
		}
		if res.Summary.Failed != 0 {
			b.Fatal("failed")
		}
	}
}

func TestPairsFileStage(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "mine.jsonl")
	os.WriteFile(good, []byte(`{"pair_id":"p1","group_id":"g1","source":"mine","q_lang":"en","q_text":"Who?","p_lang":"de","p_text":"Er."}`+"\n"), 0o644)
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"pair_id":"p1","group_id":"g1","source":"mine","q_lang":"en","q_text":"Who?","p_lang":"de","p_text":"Er."}`+"\n"+`{"pair_id":"p2"}`+"\n"), 0o644)
	res := runDAG(t, fmt.Sprintf(`
name: t
stages:
  good: {uses: pairs/file, with: {path: %q, license: CC0-1.0}}
  bad:  {uses: pairs/file, with: {path: %q}}
`, good, bad), "")
	if res["good"].Status != "ran" {
		t.Fatalf("good: %v", res["good"].Err)
	}
	ps, _ := tables.Read[tables.Pair](filepath.Join(res["good"].Dir, datasets.PairsFile))
	m, _ := datasets.ReadMeta(res["good"].Dir)
	if len(ps) != 1 || ps[0].Kind != "cross" || ps[0].Split != "train" || m.License != "CC0-1.0" || m.Dataset != "mine" {
		t.Errorf("pairs %+v meta %+v", ps, m)
	}
	if err := res["bad"].Err; err == nil || !strings.Contains(err.Error(), "bad.jsonl:2: missing field(s) group_id, source, q_lang, q_text, p_lang, p_text") {
		t.Errorf("bad: %v", err)
	}
}
