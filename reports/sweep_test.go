package reports

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lair-ir/lair/tables"
)

// synthSweep writes metrics and per-query rows of a sweep over alpha
// (0, 0.5, 1) with seeds as replicates: xquad-r has 3 seeds, mlqa-r 2;
// bm25 has no alpha label. Quality rises with alpha up to 0.5 and is flat
// after it; rank distance falls.
func synthSweep(t *testing.T, dir string) (metrics, perQuery string) {
	t.Helper()
	var ms []tables.Metric
	var pq []tables.PerQuery
	add := func(run, ds string, alpha float64, seed int) {
		langs := []string{"de", "en"}
		for _, spec := range []MetricSpec{{"mono", "map"}, {"cross", "map"}, {"multi", "map"}, {"multi", "rd"}} {
			macro := 0.0
			for li, l := range langs {
				sum := 0.0
				for q := 0; q < 10; q++ {
					v := 0.2 + 0.3*math.Min(alpha, 0.5) + 0.01*float64(seed) + 0.02*float64((q*3+li)%10)
					if spec.Metric == "rd" {
						v = 300 - 100*math.Min(alpha, 0.5) + float64(seed) + float64(q)
					}
					if run == "bm25" {
						v = 0.1 + 0.01*float64(q)
						if spec.Metric == "rd" {
							v = 900
						}
					}
					qid := fmt.Sprintf("%s%d", l, q)
					switch spec.Setting {
					case "cross":
						for _, c := range langs {
							if c != l {
								pq = append(pq, tables.PerQuery{RunID: run, Dataset: ds, Setting: "cross", QID: qid, Lang: l, CLang: c, Metric: spec.Metric, Value: v})
							}
						}
					case "mono":
						pq = append(pq, tables.PerQuery{RunID: run, Dataset: ds, Setting: "mono", QID: qid, Lang: l, CLang: l, Metric: spec.Metric, Value: v})
					default:
						pq = append(pq, tables.PerQuery{RunID: run, Dataset: ds, Setting: "multi", QID: qid, Lang: l, CLang: "all", Metric: spec.Metric, Value: v})
					}
					sum += v
				}
				macro += sum / 10
			}
			ms = append(ms, tables.Metric{RunID: run, Dataset: ds, Setting: spec.Setting, QLang: "all", CLang: "all", Metric: spec.Metric, Value: macro / 2, N: 20})
		}
	}
	for _, alpha := range []float64{0, 0.5, 1} {
		for seed := 1; seed <= 3; seed++ {
			run := fmt.Sprintf("tiny[alpha=%g,seed=%d]", alpha, seed)
			add(run, "xquad-r", alpha, seed)
			if seed <= 2 {
				add(run, "mlqa-r", alpha, seed)
			}
		}
	}
	add("bm25", "xquad-r", 0, 0)
	add("bm25", "mlqa-r", 0, 0)
	metrics, perQuery = filepath.Join(dir, "metrics.parquet"), filepath.Join(dir, "per_query.parquet")
	if err := tables.Write(metrics, ms, nil); err != nil {
		t.Fatal(err)
	}
	if err := tables.Write(perQuery, pq, nil); err != nil {
		t.Fatal(err)
	}
	return metrics, perQuery
}

func buildSweep(t *testing.T) (out string, logs string) {
	t.Helper()
	dir := t.TempDir()
	mp, pqp := synthSweep(t, dir)
	out = filepath.Join(dir, "out")
	os.MkdirAll(out, 0o755)
	var lb bytes.Buffer
	in := SweepInput{Title: "alpha sweep", MetricsFiles: []string{mp}, PerQueryFiles: []string{pqp}, X: "alpha", Replicate: "seed",
		Permutations: 500, Bootstrap: 200, Seed: 1, Threads: 3, Log: slog.New(slog.NewTextHandler(&lb, nil))}
	if err := BuildSweep(context.Background(), in, out); err != nil {
		t.Fatal(err)
	}
	return out, lb.String()
}

func TestSweepGolden(t *testing.T) {
	out, logs := buildSweep(t)
	if !strings.Contains(logs, "run_id=bm25") {
		t.Errorf("no log line for the run without alpha: %s", logs)
	}
	for _, f := range []string{"sweep.md", "sweep.svg"} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, f, b)
	}
	rows, err := tables.Read[SweepRow](filepath.Join(out, "sweep.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	// 2 datasets x 4 metrics x 3 alphas, one setting "tiny"
	if len(rows) != 24 {
		t.Fatalf("%d sweep rows, want 24", len(rows))
	}
	for _, r := range rows {
		if r.Setting != "tiny" {
			t.Errorf("setting %q", r.Setting)
		}
		// recompute the band from the replicate values
		var vs []float64
		seeds := map[string]int{"xquad-r": 3, "mlqa-r": 2}[r.Dataset]
		for s := 1; s <= seeds; s++ {
			base := 0.2 + 0.3*math.Min(r.X, 0.5) + 0.01*float64(s) + 0.02*float64(0+1+2+3+4+5+6+7+8+9)/10
			if r.Metric == "multi rd" {
				base = 300 - 100*math.Min(r.X, 0.5) + float64(s) + 4.5
			}
			vs = append(vs, base)
		}
		mean := 0.0
		for _, v := range vs {
			mean += v
		}
		mean /= float64(len(vs))
		lo, hi, kind := vs[0], vs[len(vs)-1], "minmax"
		if len(vs) == 3 {
			sd := math.Sqrt(((vs[0]-mean)*(vs[0]-mean) + (vs[1]-mean)*(vs[1]-mean) + (vs[2]-mean)*(vs[2]-mean)) / 2)
			lo, hi, kind = mean-4.303*sd/math.Sqrt(3), mean+4.303*sd/math.Sqrt(3), "t95"
		}
		if math.Abs(r.Mean-mean) > 1e-9 || math.Abs(r.Lo-lo) > 1e-9 || math.Abs(r.Hi-hi) > 1e-9 || r.Band != kind || int(r.N) != len(vs) {
			t.Errorf("%+v: want mean %v [%v, %v] %s n %d", r, mean, lo, hi, kind, len(vs))
		}
	}
	tests, err := tables.Read[SweepTest](filepath.Join(out, "sweep_tests.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) != 16 {
		t.Fatalf("%d tests, want 16 (2 datasets x 4 metrics x 2 neighbouring pairs)", len(tests))
	}
	for _, ts := range tests {
		if ts.N != 20 {
			t.Errorf("%+v: want 20 paired queries", ts)
		}
		if ts.XA == 0 && !(ts.PHolm < 0.05 && math.Abs(ts.Delta) > 0) {
			t.Errorf("0 -> 0.5 not significant: %+v", ts)
		}
		if ts.XA == 0.5 && (ts.Delta != 0 || ts.P < 0.5) {
			t.Errorf("0.5 -> 1 (no change) : %+v", ts)
		}
		if ts.PHolm < ts.P {
			t.Errorf("Holm p < p: %+v", ts)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "sweep.md"))
	if !strings.Contains(string(md), "| xquad-r | multi rd | `bm25` | 900.0 | 1 |") {
		t.Errorf("sweep.md lacks the bm25 reference row:\n%s", md)
	}
}

func TestSweepHTMLMatchesParquet(t *testing.T) {
	out, _ := buildSweep(t)
	b, err := os.ReadFile(filepath.Join(out, "sweep.html"))
	if err != nil {
		t.Fatal(err)
	}
	checkSweepHTML(t, string(b), out)
	for _, bad := range []string{"<script", "http://", "https://", "src=", "@import", "url("} {
		if strings.Contains(strings.ReplaceAll(string(b), `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("sweep.html contains %q", bad)
		}
	}
	if n := strings.Count(string(b), `class="chart"`); n != 8 {
		t.Errorf("%d charts, want 8 (2 datasets x 4 metrics)", n)
	}
	if !strings.Contains(string(b), "bm25 (no alpha)") || !strings.Contains(string(b), "stroke-dasharray") || !strings.Contains(string(b), "data-band=") {
		t.Error("reference lines or bands missing")
	}
}

var sweepCellRE = regexp.MustCompile(`data-dataset="([^"]*)" data-setting="([^"]*)" data-metric="([^"]*)" data-x="([^"]*)" data-value="([^"]*)"`)

func checkSweepHTML(t *testing.T, html, out string) {
	t.Helper()
	rows, err := tables.Read[SweepRow](filepath.Join(out, "sweep.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{}
	for _, r := range rows {
		want[r.Dataset+"|"+r.Setting+"|"+r.Metric+"|"+strconv.FormatFloat(r.X, 'g', -1, 64)] = r.Mean
	}
	cells := sweepCellRE.FindAllStringSubmatch(html, -1)
	if len(cells) != len(rows) {
		t.Errorf("%d table cells, %d sweep rows", len(cells), len(rows))
	}
	for _, c := range cells {
		v, _ := strconv.ParseFloat(c[5], 64)
		if w, ok := want[strings.Join(c[1:5], "|")]; !ok || w != v {
			t.Errorf("%v: page %v, sweep.parquet %v (%v)", c[1:5], v, w, ok)
		}
	}
}

func TestParseRunID(t *testing.T) {
	name, labels, err := ParseRunID("tiny[alpha=0.5,seed=2]")
	if err != nil || name != "tiny" || fmt.Sprint(labels) != "[{alpha 0.5} {seed 2}]" {
		t.Fatalf("%q %v %v", name, labels, err)
	}
	if name, labels, err := ParseRunID("bm25"); err != nil || name != "bm25" || labels != nil {
		t.Errorf("%q %v %v", name, labels, err)
	}
	for _, bad := range []string{"a[b]", "a[b=1", "a]", "a[=1]", "a[b=1,b=2]", "a[b=[1]]", "a[b=1=2]"} {
		if _, _, err := ParseRunID(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	for _, bad := range []string{"", "map", "multi", "both map", "multi map x"} {
		if _, err := ParseMetricSpec(bad); err == nil {
			t.Errorf("metric %q: no error", bad)
		}
	}
	if s, err := ParseMetricSpec("rd"); err != nil || s.String() != "multi rd" {
		t.Errorf("%v %v", s, err)
	}
}

func TestSweepNoX(t *testing.T) {
	dir := t.TempDir()
	ms := []tables.Metric{{RunID: "bm25", Dataset: "d", Setting: "multi", QLang: "all", CLang: "all", Metric: "map", Value: 0.1, N: 1}}
	tables.Write(filepath.Join(dir, "m.parquet"), ms, nil)
	err := BuildSweep(context.Background(), SweepInput{MetricsFiles: []string{filepath.Join(dir, "m.parquet")}}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "alpha=") {
		t.Errorf("got %v", err)
	}
	ms[0].RunID = "tiny[alpha=high]"
	tables.Write(filepath.Join(dir, "m.parquet"), ms, nil)
	err = BuildSweep(context.Background(), SweepInput{MetricsFiles: []string{filepath.Join(dir, "m.parquet")}}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "not a number") {
		t.Errorf("got %v", err)
	}
}

func FuzzParseRunID(f *testing.F) {
	for _, s := range []string{"tiny[alpha=0.5,seed=1]", "bm25", "a[]", "a[b=1", "x[k=v,k=w]", "[a=b]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, labels, err := ParseRunID(s)
		if err != nil {
			return
		}
		// round trip (modulo spaces around keys and values)
		n2, l2, err := ParseRunID(formatRunID(name, labels))
		if err != nil || n2 != name || fmt.Sprint(l2) != fmt.Sprint(labels) {
			t.Fatalf("%q -> %q %v -> %q %v %v", s, name, labels, n2, l2, err)
		}
	})
}

// TestSweepInChromium opens sweep.html in headless Chromium: no console
// errors, no requests, the table equals sweep.parquet.
func TestSweepInChromium(t *testing.T) {
	out, _ := buildSweep(t)
	r, shot := browse(t, filepath.Join(out, "sweep.html"))
	if len(r.Console) > 0 || len(r.Requests) > 0 {
		t.Errorf("console %q, requests %q", r.Console, r.Requests)
	}
	if r.Cells != 24 {
		t.Errorf("%d rendered cells, want 24", r.Cells)
	}
	checkSweepHTML(t, r.HTML, out)
	if keep := os.Getenv("LAIR_SWEEP_SCREENSHOT"); keep != "" {
		b, _ := os.ReadFile(shot)
		os.WriteFile(keep, b, 0o644)
	}
}
