package reports

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lair-ir/lair/eval/stats"
	"github.com/lair-ir/lair/tables"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// synthMetrics writes a small synthetic metrics.parquet and
// per_query.parquet: three runs, two datasets (xquad-r with the unseen
// languages th and tr), per-query values from a fixed formula and metric
// rows that are their means, aggregated as eval does.
func synthMetrics(t *testing.T, dir string) (metrics, perQuery string) {
	t.Helper()
	langs := map[string][]string{"mlqa-r": {"de", "en"}, "xquad-r": {"de", "en", "th", "tr"}}
	runs := []string{"bm25", "tiny-hybrid", "tiny-mono"}
	var ms []tables.Metric
	var pq []tables.PerQuery
	const nq = 12
	for _, ds := range []string{"mlqa-r", "xquad-r"} {
		for ri, run := range runs {
			for _, spec := range [][2]string{{"mono", "map"}, {"cross", "map"}, {"multi", "map"}, {"multi", "r@10"}, {"multi", "rd"}, {"multi", "same_lang_first"}, {"multi", "peer@100"}, {"multi", "pref@10"}} {
				setting, metric := spec[0], spec[1]
				macro := 0.0
				for li, l := range langs[ds] {
					sum := 0.0
					for q := 0; q < nq; q++ {
						v := 0.2 + 0.15*float64(ri) - 0.04*float64(li) + 0.01*float64((q*7+ri*3)%nq)
						switch metric {
						case "rd":
							v = 400 - 100*float64(ri) + 10*float64(li) + float64((q*5)%nq)
						case "same_lang_first":
							v = float64((q + ri + li) % 2)
						}
						if setting == "mono" {
							v += 0.1
						}
						sum += v
						c := "all"
						if setting == "mono" {
							c = l
						}
						pq = append(pq, tables.PerQuery{RunID: run, Dataset: ds, Setting: setting, QID: fmt.Sprintf("%s-q%d", l, q), Lang: l, CLang: c, Metric: metric, Value: v})
					}
					mean := sum / nq
					macro += mean
					c := "all"
					if setting == "mono" {
						c = l
					}
					ms = append(ms, tables.Metric{RunID: run, Dataset: ds, Setting: setting, QLang: l, CLang: c, Metric: metric, Value: mean, N: nq})
				}
				ms = append(ms, tables.Metric{RunID: run, Dataset: ds, Setting: setting, QLang: "all", CLang: "all", Metric: metric,
					Value: macro / float64(len(langs[ds])), N: int64(nq * len(langs[ds]))})
			}
		}
	}
	metrics, perQuery = filepath.Join(dir, "metrics.parquet"), filepath.Join(dir, "per_query.parquet")
	if err := tables.Write(metrics, ms, nil); err != nil {
		t.Fatal(err)
	}
	if err := tables.Write(perQuery, pq, nil); err != nil {
		t.Fatal(err)
	}
	return metrics, perQuery
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -run %s -update to create it)", err, t.Name())
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file (go test ./reports -run %s -update rewrites it after review)\n--- got ---\n%s", path, t.Name(), got)
	}
}

func buildSynth(t *testing.T, groups []stats.LanguageGroup) string {
	t.Helper()
	dir := t.TempDir()
	mp, pqp := synthMetrics(t, dir)
	out := filepath.Join(dir, "out")
	os.MkdirAll(out, 0o755)
	in := Input{Title: "synthetic summary", MetricsFiles: []string{mp}, PerQueryFiles: []string{pqp}, Baseline: "bm25",
		SigMetrics: []string{"map", "r@10", "rd"}, Permutations: 200, Bootstrap: 50, Seed: 1, Threads: 2, LanguageGroups: groups}
	if err := Build(context.Background(), in, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSummaryGolden(t *testing.T) {
	out := buildSynth(t, nil)
	md, err := os.ReadFile(filepath.Join(out, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.md", md)
	svg, err := os.ReadFile(filepath.Join(out, "summary.svg"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.svg", svg)
	s := string(md)
	// hybrid beats the mono baseline on every query: marked; bm25 is worse
	if !strings.Contains(s, "| xquad-r | `tiny-hybrid` | 0.") || !regexp.MustCompile("`tiny-hybrid` \\| [0-9.]+ ▲ \\|").MatchString(s) {
		t.Errorf("no significance mark on tiny-hybrid:\n%s", s)
	}
	if !strings.Contains(s, "`bm25` (baseline)") || strings.Contains(s, "Query-language groups") {
		t.Errorf("baseline label or unexpected groups:\n%s", s)
	}
	for _, bad := range []string{"<script", "href=", "http://example", "<image"} {
		if strings.Contains(string(svg), bad) {
			t.Errorf("summary.svg contains %q", bad)
		}
	}
	if !strings.HasPrefix(string(svg), `<svg xmlns="http://www.w3.org/2000/svg"`) || strings.Count(string(svg), "<rect") < 12 {
		t.Errorf("summary.svg: %.300s", svg)
	}
}

// TestSummaryNumbersFromMetrics checks every number of summary.md's main
// table against metrics.parquet.
func TestSummaryNumbersFromMetrics(t *testing.T) {
	out := buildSynth(t, nil)
	md, _ := os.ReadFile(filepath.Join(out, "summary.md"))
	rows, err := tables.Read[tables.Metric](filepath.Join(out, "metrics.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	idx := map[string]float64{}
	for _, r := range rows {
		if r.QLang == "all" && r.CLang == "all" {
			idx[r.RunID+"|"+r.Dataset+"|"+r.Setting+"|"+r.Metric] = r.Value
		}
	}
	n := 0
	for _, line := range strings.Split(string(md), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 4+len(mdCols) || !strings.HasPrefix(strings.TrimSpace(f[2]), "`") {
			continue
		}
		run := strings.Trim(strings.Fields(f[2])[0], "`")
		for i, c := range mdCols {
			txt := strings.Fields(f[3+i])[0]
			got, err := strconv.ParseFloat(txt, 64)
			if err != nil {
				t.Fatalf("cell %q: %v", f[3+i], err)
			}
			want := idx[run+"|"+strings.TrimSpace(f[1])+"|"+c.Setting+"|"+c.Metric]
			if txt != (cell{Metric: c.Metric, Value: want, Present: true}).Text() {
				t.Errorf("%s %s %s: summary.md %v, metrics.parquet %v", run, f[1], c.Label, got, want)
			}
			n++
		}
	}
	if n != 2*3*len(mdCols) {
		t.Errorf("checked %d cells, want %d", n, 2*3*len(mdCols))
	}
}

// TestLanguageGroups: xquad-r (de en th tr) gets seen (de en) and unseen
// (th tr) rows; mlqa-r (de en) has no unseen language and gets none. The
// averages equal the mean of the per-language metric rows.
func TestLanguageGroups(t *testing.T) {
	g, err := stats.ParseLanguageGroup("unseen=th, tr")
	if err != nil {
		t.Fatal(err)
	}
	out := buildSynth(t, []stats.LanguageGroup{g})
	md, _ := os.ReadFile(filepath.Join(out, "summary.md"))
	golden(t, "summary_groups.md", md)
	s := string(md)
	if !strings.Contains(s, "| xquad-r | `tiny-hybrid` · unseen (th tr) |") || !strings.Contains(s, "| xquad-r | `tiny-hybrid` · seen (de en) |") {
		t.Errorf("no seen/unseen rows:\n%s", s)
	}
	if strings.Contains(s, "| mlqa-r | `tiny-hybrid` · ") {
		t.Errorf("group rows for mlqa-r, which has no unseen language:\n%s", s)
	}
	rows, _ := tables.Read[tables.Metric](filepath.Join(out, "metrics.parquet"))
	perLang := map[string]float64{}
	for _, r := range rows {
		if r.QLang != "all" {
			perLang[r.RunID+"|"+r.Dataset+"|"+r.Setting+"|"+r.Metric+"|"+r.QLang] = r.Value
		}
	}
	page, _ := os.ReadFile(filepath.Join(out, "report.html"))
	re := regexp.MustCompile(`data-run="([^"]*)" data-dataset="([^"]*)" data-setting="([^"]*)" data-metric="([^"]*)" data-qgroup="([^"]*)" data-group-value="([^"]*)"`)
	cells := re.FindAllStringSubmatch(string(page), -1)
	if len(cells) == 0 {
		t.Fatal("report.html has no group cells")
	}
	// the page's main table must still show the all-language averages
	if !strings.Contains(string(page), `id="summary-table"`) || !strings.Contains(string(page), `data-qlang="all" data-clang="all"`) {
		t.Error("main summary table missing")
	}
	for _, c := range cells {
		langs := map[string][]string{"seen": {"de", "en"}, "unseen": {"th", "tr"}}[c[5]]
		if c[2] != "xquad-r" || len(langs) == 0 {
			t.Fatalf("group cell %v", c[1:])
		}
		want := 0.0
		for _, l := range langs {
			want += perLang[c[1]+"|"+c[2]+"|"+c[3]+"|"+c[4]+"|"+l]
		}
		want /= float64(len(langs))
		got, _ := strconv.ParseFloat(c[6], 64)
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("%v: page %v, mean of per-language rows %v", c[1:6], got, want)
		}
	}
	if len(cells) != 3*2*len(mdCols) {
		t.Errorf("%d group cells, want %d", len(cells), 3*2*len(mdCols))
	}
	// the page renders the table the report writes, value for value
	table, err := tables.Read[stats.GroupRow](filepath.Join(out, LanguageGroupsFile))
	if err != nil {
		t.Fatal(err)
	}
	inTable := map[string]float64{}
	for _, r := range table {
		inTable[r.RunID+"|"+r.Dataset+"|"+r.Setting+"|"+r.Metric+"|"+r.Group] = r.Value
	}
	for _, c := range cells {
		v, ok := inTable[strings.Join(c[1:6], "|")]
		got, _ := strconv.ParseFloat(c[6], 64)
		if !ok || v != got {
			t.Errorf("%v: page %v, %s %v (present %v)", c[1:6], got, LanguageGroupsFile, v, ok)
		}
	}
}
