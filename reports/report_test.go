package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/eval"
	"github.com/lair-ir/lair/eval/evaltest"
	"github.com/lair-ir/lair/eval/stats"
	"github.com/lair-ir/lair/internal/testenv"
	"github.com/lair-ir/lair/tables"
)

// makeMetrics evaluates two synthetic dense runs (weak and strong language
// bias) on an XQuAD-R-like dataset and writes metrics.parquet and
// per_query.parquet into dir.
func makeMetrics(t *testing.T, dir string) {
	t.Helper()
	ds := evaltest.Make("xquad-r", []string{"en", "de", "zh", "th"}, 30, 40, 1)
	dsDir := filepath.Join(dir, "ds")
	if err := ds.Write(dsDir); err != nil {
		t.Fatal(err)
	}
	loaded, err := datasets.ReadChecked(dsDir)
	if err != nil {
		t.Fatal(err)
	}
	p := eval.Prepare(loaded)
	var rankings []string
	for i, bias := range []float64{0.3, 1.2} {
		sc, err := eval.DenseScorer(p, ds.Embed(24, 0.9, bias, 3), "emb", true)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, fmt.Sprintf("rankings%d.parquet", i))
		runID := []string{"encode[strategy=hybrid]", "encode[strategy=mono]"}[i]
		if _, err := eval.RetrieveToFile(context.Background(), p, sc, sc, eval.RetrieveOptions{RunID: runID, K: 50}, path); err != nil {
			t.Fatal(err)
		}
		rankings = append(rankings, path)
	}
	m, err := eval.EvaluateRankings(context.Background(), rankings, []*datasets.Dataset{loaded}, eval.EvalConfig{Metrics: eval.DefaultLAReQAMetrics, Bias: true,
		PerQueryPath: filepath.Join(dir, "per_query.parquet")})
	if err != nil {
		t.Fatal(err)
	}
	if err := tables.Write(filepath.Join(dir, "metrics.parquet"), m, map[string]string{"license": "CC BY-SA 4.0"}); err != nil {
		t.Fatal(err)
	}
}

func writeLog(t *testing.T, path string) {
	rows := []LogRow{{0, 3.2, math.NaN()}, {10, 2.5, 2.7}, {20, 1.9, math.NaN()}, {30, 1.5, 1.8}}
	if err := tables.Write(path, rows, nil); err != nil {
		t.Fatal(err)
	}
}

func buildReport(t *testing.T) (dir, out string) {
	t.Helper()
	dir = t.TempDir()
	makeMetrics(t, dir)
	writeLog(t, filepath.Join(dir, "training_log.parquet"))
	out = filepath.Join(dir, "report")
	os.MkdirAll(out, 0o755)
	err := Build(context.Background(), Input{Title: "test report", MetricsFiles: []string{filepath.Join(dir, "metrics.parquet")},
		PerQueryFiles: []string{filepath.Join(dir, "per_query.parquet")},
		TrainingLogs:  []NamedFile{{Name: "train[strategy=hybrid]", Path: filepath.Join(dir, "training_log.parquet")}},
		Baseline:      "encode[strategy=mono]", Permutations: 500, Bootstrap: 200, Seed: 1, Threads: 2,
		LanguageGroups: []stats.LanguageGroup{{Name: "unseen", Langs: []string{"th", "el"}}}}, out)
	if err != nil {
		t.Fatal(err)
	}
	return dir, out
}

var cellRE = regexp.MustCompile(`data-run="([^"]*)" data-dataset="([^"]*)" data-setting="([^"]*)" data-metric="([^"]*)" data-qlang="([^"]*)" data-clang="([^"]*)" data-value="([^"]*)"( data-ref="paper")?`)

// pageCells extracts every data-* number from the page: key -> value.
func pageCells(t *testing.T, html string) (cells map[string]float64, refs int) {
	cells = map[string]float64{}
	for _, m := range cellRE.FindAllStringSubmatch(html, -1) {
		if m[8] != "" {
			refs++
			continue
		}
		v, err := strconv.ParseFloat(m[7], 64)
		if err != nil {
			t.Fatalf("data-value %q: %v", m[7], err)
		}
		run := strings.ReplaceAll(m[1], "&#61;", "=")
		cells[strings.Join([]string{run, m[2], m[3], m[4], m[5], m[6]}, "|")] = v
	}
	return cells, refs
}

func metricIndex(t *testing.T, path string) map[string]float64 {
	rows, err := tables.Read[tables.Metric](path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, r := range rows {
		out[strings.Join([]string{r.RunID, r.Dataset, r.Setting, r.Metric, r.QLang, r.CLang}, "|")] = r.Value
	}
	return out
}

func checkAgainstMetrics(t *testing.T, html string, idx map[string]float64) {
	t.Helper()
	cells, refs := pageCells(t, html)
	if len(cells) < 40 {
		t.Fatalf("only %d data cells in the page", len(cells))
	}
	if refs == 0 {
		t.Error("no paper reference cells for xquad-r")
	}
	for k, v := range cells {
		want, ok := idx[k]
		if !ok {
			t.Errorf("page shows %s, which metrics.parquet lacks", k)
			continue
		}
		if v != want {
			t.Errorf("%s: page %v, metrics.parquet %v", k, v, want)
		}
	}
	for _, k := range []string{"encode[strategy=hybrid]|xquad-r|mono|map|all|all", "encode[strategy=mono]|xquad-r|multi|rd|all|all",
		"encode[strategy=hybrid]|xquad-r|cross|map|de|zh"} {
		if _, ok := cells[k]; !ok {
			t.Errorf("page lacks %s", k)
		}
	}
}

func TestReportMatchesMetrics(t *testing.T) {
	_, out := buildReport(t)
	b, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	idx := metricIndex(t, filepath.Join(out, "metrics.parquet"))
	checkAgainstMetrics(t, html, idx)
	checkOverview(t, html, []string{"encode[strategy=hybrid]", "encode[strategy=mono]"})
	// the intervals drawn are around the macro averages of metrics.parquet
	ix, err := tables.IndexPerQuery([]string{filepath.Join(out, tables.PerQueryFile)})
	if err != nil {
		t.Fatal(err)
	}
	ivs, err := stats.MacroIntervals(context.Background(), ix, stats.IntervalOptions{Setting: "multi", Metrics: []string{"map", "rd"}, Bootstrap: 200, Seed: 1})
	if err != nil || len(ivs) != 4 {
		t.Fatalf("intervals: %v, %d (want 2 runs x 2 metrics)", err, len(ivs))
	}
	for _, iv := range ivs {
		want := idx[strings.Join([]string{iv.Run, iv.Dataset, "multi", iv.Metric, "all", "all"}, "|")]
		if math.Abs(iv.Mean-want) > 1e-9*math.Max(1, want) || !(iv.Lo <= iv.Mean && iv.Mean <= iv.Hi && iv.Lo < iv.Hi) {
			t.Errorf("interval %+v: mean should be metrics.parquet's %v, inside a non-empty interval", iv, want)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://", "src=", "@import", "url("} {
		if strings.Contains(strings.ReplaceAll(html, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("page contains %q (must be self-contained, no external requests)", bad)
		}
	}
	for _, want := range []string{"paper: LaBSE Hybrid", "Comparison with the baseline", `id="group-table"`, "<b>unseen</b>: th", "<b>seen</b>: de en zh", "training: train[strategy=hybrid]", "CC BY-SA 4.0", `class="heatmap"`} {
		if !strings.Contains(html, want) && !strings.Contains(html, escapedEq(want)) {
			t.Errorf("page lacks %q", want)
		}
	}
	sig, err := tables.Read[SigRow](filepath.Join(out, "significance.parquet"))
	if err != nil || len(sig) == 0 {
		t.Fatalf("significance.parquet: %v, %d rows", err, len(sig))
	}
	// the low-bias run must be significantly better in multi mAP
	for _, s := range sig {
		if s.Other == "encode[strategy=hybrid]" && s.Setting == "multi" && s.Metric == "map" && s.Lang == "all" {
			if !(s.Delta > 0 && s.P < 0.05) {
				t.Errorf("multi map comparison: %+v", s)
			}
		}
	}
}

// template escapes like html/template does for text.
func escapedEq(s string) string { return strings.ReplaceAll(s, "=", "&#61;") }

func TestReportBadBaseline(t *testing.T) {
	dir := t.TempDir()
	makeMetrics(t, dir)
	err := Build(context.Background(), Input{MetricsFiles: []string{filepath.Join(dir, "metrics.parquet")}, Baseline: "nope"}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), `baseline run "nope"`) {
		t.Fatalf("got %v", err)
	}
}

func TestLineChart(t *testing.T) {
	svg := string(LineChart([]Series{{Name: "a", X: []float64{0, 1, 2, 3}, Y: []float64{1, math.NaN(), 3, 4}}}, ChartOptions{Title: "t<", Width: 200, Height: 100}))
	if !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, "t&lt;") {
		t.Fatalf("svg: %s", svg)
	}
	// NaN breaks the line: two M commands
	d := regexp.MustCompile(`d="([^"]*)"`).FindStringSubmatch(svg)[1]
	if strings.Count(d, "M") != 2 || strings.Count(d, "L") != 1 {
		t.Errorf("path %q", d)
	}
	if !strings.Contains(string(LineChart(nil, ChartOptions{})), "no data") {
		t.Error("empty chart")
	}
}

// TestReportInChromium opens report.html in headless Chromium through
// playwright-core: no console errors, no network requests, the table
// values equal metrics.parquet, and a screenshot is saved.
func TestReportInChromium(t *testing.T) {
	_, out := buildReport(t)
	r, shot := browse(t, filepath.Join(out, "report.html"))
	if len(r.Console) > 0 {
		t.Errorf("console errors: %q", r.Console)
	}
	if len(r.Requests) > 0 {
		t.Errorf("network requests: %q", r.Requests)
	}
	if r.Cells < 40 {
		t.Errorf("only %d table cells rendered", r.Cells)
	}
	checkAgainstMetrics(t, r.HTML, metricIndex(t, filepath.Join(out, "metrics.parquet")))
	checkOverview(t, r.HTML, []string{"encode[strategy=hybrid]", "encode[strategy=mono]"})
	checkTopShot(t, topShot(shot), 1280, 800)
	if st, err := os.Stat(shot); err != nil || st.Size() < 10000 {
		t.Errorf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
	if keep := os.Getenv("LAIR_REPORT_SCREENSHOT"); keep != "" { // copy it out for a human to look at
		b, _ := os.ReadFile(shot)
		os.WriteFile(keep, b, 0o644)
		h, _ := os.ReadFile(filepath.Join(out, "report.html"))
		os.WriteFile(strings.TrimSuffix(keep, ".png")+".html", h, 0o644)
		b, _ = os.ReadFile(topShot(shot))
		os.WriteFile(topShot(keep), b, 0o644)
	}
}

// TestDuckDBReadsMetrics reads the merged metrics.parquet with DuckDB.
func TestDuckDBReadsMetrics(t *testing.T) {
	nm, node := testenv.NodeModules(t)
	_, out := buildReport(t)
	path := filepath.Join(out, "metrics.parquet")
	script, _ := filepath.Abs("testdata/duckdb.js")
	cmd := exec.Command(node, script, path)
	cmd.Env = append(os.Environ(), "NODE_PATH="+nm)
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("duckdb.js: %v\n%s", err, res)
	}
	var got struct {
		N   int64   `json:"n"`
		Sum float64 `json:"sum"`
		Map float64 `json:"map"`
	}
	lines := strings.Split(strings.TrimSpace(string(res)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("%v: %s", err, res)
	}
	rows, _ := tables.Read[tables.Metric](path)
	sum, mp := 0.0, 0.0
	for _, r := range rows {
		sum += r.Value
		if r.RunID == "encode[strategy=hybrid]" && r.Setting == "multi" && r.Metric == "map" && r.QLang == "all" {
			mp = r.Value
		}
	}
	if got.N != int64(len(rows)) || math.Abs(got.Sum-sum) > 1e-6*math.Abs(sum) || got.Map != mp {
		t.Errorf("duckdb: %+v, Go: n %d sum %v map %v", got, len(rows), sum, mp)
	}
}

func TestAllPairs(t *testing.T) {
	dir := t.TempDir()
	var rows []tables.PerQuery
	var ms []tables.Metric
	for _, run := range []string{"a", "b", "c"} {
		ms = append(ms, tables.Metric{RunID: run, Dataset: "d", Setting: "mono", QLang: "all", CLang: "all", Metric: "map", Value: 0.5, N: 3})
		for q := 0; q < 3; q++ {
			rows = append(rows, tables.PerQuery{RunID: run, Dataset: "d", Setting: "mono", QID: fmt.Sprint(q), Lang: "en", CLang: "en", Metric: "map", Value: float64(q) / 3})
		}
	}
	tables.Write(filepath.Join(dir, "metrics.parquet"), ms, nil)
	tables.Write(filepath.Join(dir, "per_query.parquet"), rows, nil)
	out := filepath.Join(dir, "out")
	os.MkdirAll(out, 0o755)
	in := Input{MetricsFiles: []string{filepath.Join(dir, "metrics.parquet")}, PerQueryFiles: []string{filepath.Join(dir, "per_query.parquet")},
		Permutations: 100, Bootstrap: 50, AllPairs: true}
	if err := Build(context.Background(), in, out); err != nil {
		t.Fatal(err)
	}
	sig, err := tables.Read[SigRow](filepath.Join(out, "significance.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	pairs := map[string]bool{}
	for _, s := range sig {
		pairs[s.Base+"-"+s.Other] = true
	}
	if len(pairs) != 3 || !pairs["a-b"] || !pairs["a-c"] || !pairs["b-c"] {
		t.Fatalf("pairs %v", pairs)
	}
}

func TestPaperRowsMIRACL(t *testing.T) {
	dir := t.TempDir()
	rows := []tables.Metric{{RunID: "r", Dataset: "miracl", Setting: "mono", QLang: "all", CLang: "all", Metric: "ndcg@10", Value: 0.3, N: 10},
		{RunID: "r", Dataset: "miracl", Setting: "mono", QLang: "all", CLang: "all", Metric: "r@100", Value: 0.6, N: 10}}
	if err := tables.Write(filepath.Join(dir, "metrics.parquet"), rows, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	os.MkdirAll(out, 0o755)
	if err := Build(context.Background(), Input{MetricsFiles: []string{filepath.Join(dir, "metrics.parquet")}}, out); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(out, "report.html"))
	html := string(b)
	if !strings.Contains(html, `data-metric="ndcg@10" data-qlang="all" data-clang="all" data-value="0.455" data-ref="paper"`) {
		t.Error("no LaBSE X-X MIRACL nDCG@10 reference cell")
	}
	if strings.Contains(html, "paper: XLM-R X-X</td><td class=\"label\">xquad-r") {
		t.Error("reference rows of a dataset that is not in the report")
	}
}
