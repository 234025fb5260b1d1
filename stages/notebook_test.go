package stages

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lair-ir/lair/eval/evaltest"
	"github.com/lair-ir/lair/internal/testenv"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/tables"
)

// runNode runs a Node.js script (with the test tools on NODE_PATH) in dir
// and returns its standard output; a failure ends the test with stderr.
func runNode(t *testing.T, nodeModules, node, dir, script string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(node, append([]string{"-e", script}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodeModules)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("node: %v %s", err, msg)
	}
	return out
}

// readmeBlock returns the code block after the marker line in README.md.
func readmeBlock(t *testing.T, marker string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "<!-- "+marker+" -->\n```python\n")
	if !ok {
		t.Fatalf("README.md has no block marked %q", marker)
	}
	block, _, _ := strings.Cut(after, "```")
	return block
}

// TestNotebookSnippets runs README's DuckDB statements verbatim, and its
// polars calls through nodejs-polars, on a real eval output, and checks
// what they return against lair's own reading of the same files.
func TestNotebookSnippets(t *testing.T) {
	nm, node := testenv.NodeModules(t)
	r := pipeline.NewRegistry()
	registerEval(r)
	ds := evaltest.Make("xquad-r", []string{"en", "de", "zh"}, 12, 15, 4)
	dsDir := filepath.Join(t.TempDir(), "ds")
	if err := ds.Write(dsDir); err != nil {
		t.Fatal(err)
	}
	dsArt := pipeline.Artifact{Kind: pipeline.KindDataset, Stage: "xquad_r", Dir: dsDir}
	bm := run(t, evalCtx(t, r, "retrieve/bm25", "bm25", nil, dsArt))
	ev := run(t, evalCtx(t, r, "eval/lareqa", "eval", nil, pipeline.Artifact{Kind: pipeline.KindRankings, Stage: "bm25", Dir: bm.OutDir}, dsArt))

	var sql []string
	for _, m := range regexp.MustCompile(`duckdb\.sql\("((?:[^"\\]|\\.)*)"\)`).FindAllStringSubmatch(readmeBlock(t, "notebook:duckdb"), -1) {
		sql = append(sql, m[1])
	}
	if len(sql) != 3 {
		t.Fatalf("found %d duckdb.sql statements in README, want 3", len(sql))
	}
	polarsBlock := readmeBlock(t, "notebook:polars")
	for _, call := range []string{`pl.read_parquet("metrics.parquet")`, `pl.col("metric") == "map"`, `group_by("run_id", "lang")`, `sort("value", descending=True)`} {
		if !strings.Contains(polarsBlock, call) {
			t.Fatalf("README's polars block lacks %s: keep it and this test's nodejs-polars spelling in step", call)
		}
	}
	script := `
const duckdb = require('@duckdb/node-api');
const pl = require('nodejs-polars');
(async () => {
  const con = await (await duckdb.DuckDBInstance.create(':memory:')).connect();
  const out = {duckdb: []};
  for (const q of JSON.parse(process.argv[1])) {
    out.duckdb.push((await con.runAndReadAll(q)).getRowObjectsJson());
  }
  const m = pl.readParquet("metrics.parquet");
  const f = m.filter(pl.col("setting").eq(pl.lit("multi")).and(pl.col("metric").eq(pl.lit("map"))).and(pl.col("q_lang").eq(pl.lit("all")))).sort("value", true);
  out.polars_map = f.getColumn("value").toArray();
  const g = pl.readParquet("per_query.parquet").filter(pl.col("metric").eq(pl.lit("rd"))).groupBy(["run_id", "lang"]).agg(pl.col("value").mean());
  out.polars_rd_groups = g.height;
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
`
	aj, _ := json.Marshal(sql)
	outb := runNode(t, nm, node, ev.OutDir, script, string(aj))
	var got struct {
		DuckDB         [][]map[string]any `json:"duckdb"`
		PolarsMap      []float64          `json:"polars_map"`
		PolarsRDGroups int                `json:"polars_rd_groups"`
	}
	if err := json.Unmarshal(outb, &got); err != nil {
		t.Fatalf("node output %q: %v", outb, err)
	}
	ms, err := tables.Read[tables.Metric](filepath.Join(ev.OutDir, "metrics.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	for _, m := range ms {
		if m.Setting == "multi" && m.Metric == "map" && m.QLang == "all" {
			want = m.Value
		}
	}
	if len(got.DuckDB[0]) != 1 || got.DuckDB[0][0]["run_id"] != "bm25" {
		t.Fatalf("duckdb statement 1: %v", got.DuckDB[0])
	}
	if v, ok := got.DuckDB[0][0]["map"].(float64); !ok || math.Abs(v-math.Round(want*1e4)/1e4) > 1e-9 {
		t.Errorf("duckdb multi map %v, lair %v", got.DuckDB[0][0]["map"], want)
	}
	if len(got.DuckDB[1]) != 3 { // bm25 x (de, en, zh)
		t.Errorf("duckdb statement 2: %d rows, want one per query language: %v", len(got.DuckDB[1]), got.DuckDB[1])
	}
	kv := map[string]any{}
	for _, row := range got.DuckDB[2] {
		kv[row["key"].(string)] = row["value"]
	}
	if kv[tables.SchemaVersionKey] != tables.SchemaVersion || kv[tables.TableKey] != "metrics" {
		t.Errorf("duckdb statement 3: metadata %v", kv)
	}
	if len(got.PolarsMap) != 1 || math.Abs(got.PolarsMap[0]-want) > 1e-12 {
		t.Errorf("polars multi map %v, lair %v", got.PolarsMap, want)
	}
	if got.PolarsRDGroups != 3 {
		t.Errorf("polars rd groups %d, want 3", got.PolarsRDGroups)
	}
}
