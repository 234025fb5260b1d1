package reports

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/lair-ir/lair/eval/stats"
	"github.com/lair-ir/lair/tables"
)

// SweepInput is what a sweep report is made from.
type SweepInput struct {
	Title         string
	MetricsFiles  []string
	PerQueryFiles []string
	X             string // label key on the x axis (e.g. alpha)
	Replicate     string // label key of replicates (e.g. seed)
	Metrics       []MetricSpec
	Permutations  int
	Bootstrap     int
	Alpha         float64 // significance level
	Seed          uint64
	Threads       int // goroutines for the tests
	Log           *slog.Logger
}

// SweepRow is one row of sweep.parquet (see stats.SweepPoint).
type SweepRow = stats.SweepPoint

// SweepTest is one row of sweep_tests.parquet (see stats.SweepTest).
type SweepTest = stats.SweepTest

// RefLine is a run without the x label, drawn as a horizontal reference
// (see stats.SweepRef).
type RefLine = stats.SweepRef

type sweepRun struct {
	id, setting string
	x           float64
	xText       string
	hasX        bool
}

// BuildSweep reads the metrics and writes sweep.html, sweep.md,
// sweep.svg, sweep.parquet and sweep_tests.parquet into outDir.
func BuildSweep(ctx context.Context, in SweepInput, outDir string) error {
	log := in.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if in.X == "" {
		in.X = "alpha"
	}
	if in.Alpha <= 0 {
		in.Alpha = 0.05
	}
	if in.Permutations <= 0 {
		in.Permutations = 10000
	}
	if in.Bootstrap <= 0 {
		in.Bootstrap = 1000
	}
	if len(in.Metrics) == 0 {
		in.Metrics = []MetricSpec{{"multi", "map"}, {"mono", "map"}, {"cross", "map"}, {"multi", "rd"}}
	}
	if in.Title == "" {
		in.Title = "lair sweep over " + in.X
	}
	var ms []tables.Metric
	for _, f := range in.MetricsFiles {
		rows, err := tables.Read[tables.Metric](f)
		if err != nil {
			return err
		}
		ms = append(ms, rows...)
	}
	if len(ms) == 0 {
		return fmt.Errorf("sweep: no metric rows in %v", in.MetricsFiles)
	}
	// classify the runs
	runs := map[string]sweepRun{}
	for _, id := range runIDs(ms) {
		name, labels, err := ParseRunID(id)
		if err != nil {
			return fmt.Errorf("sweep: %w (run ids come from the run_id parameter of the retrieval stages)", err)
		}
		r := sweepRun{id: id}
		var rest []Label
		for _, l := range labels {
			switch l.Key {
			case in.X:
				x, err := strconv.ParseFloat(l.Value, 64)
				if err != nil || !finite(x) {
					return fmt.Errorf("sweep: run %q: %s=%q is not a number (the x axis needs numeric values)", id, in.X, l.Value)
				}
				r.x, r.xText, r.hasX = x, l.Value, true
			case in.Replicate:
			default:
				rest = append(rest, l)
			}
		}
		r.setting = formatRunID(name, rest)
		if !r.hasX {
			log.Info("run has no x label: drawn as a reference line", "run_id", id, "x", in.X)
		}
		runs[id] = r
	}
	var sruns []stats.SweepRun
	for _, id := range runIDs(ms) {
		r := runs[id]
		sruns = append(sruns, stats.SweepRun{ID: r.id, System: r.setting, X: r.x, HasX: r.hasX})
	}
	var specs []stats.SweepMetric
	for _, m := range in.Metrics {
		specs = append(specs, stats.SweepMetric{Setting: m.Setting, Metric: m.Metric, Label: m.String()})
	}
	rows, refLines := stats.SweepPoints(ms, sruns, specs)
	if len(rows) == 0 {
		return fmt.Errorf("sweep: no run id carries the label %s=... with one of the metrics %v (run ids: %v)", in.X, in.Metrics, runIDs(ms))
	}

	// paired tests between neighbouring x values
	var tests []SweepTest
	if len(in.PerQueryFiles) == 0 {
		log.Info("no per_query.parquet: no paired tests between neighbouring x values")
	} else {
		ix, err := tables.IndexPerQuery(in.PerQueryFiles)
		if err != nil {
			return fmt.Errorf("sweep: %w", err)
		}
		if tests, err = stats.SweepTests(ctx, ix, sruns, sweepFamilies(rows), stats.SweepOptions{Permutations: in.Permutations,
			Bootstrap: in.Bootstrap, Seed: in.Seed, Threads: in.Threads}); err != nil {
			return fmt.Errorf("sweep: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	if err := tables.Write(filepath.Join(outDir, "sweep.parquet"), rows, nil); err != nil {
		return err
	}
	if err := tables.Write(filepath.Join(outDir, "sweep_tests.parquet"), tests, nil); err != nil {
		return err
	}
	sp := buildSweepPage(in, rows, tests, refLines)
	f, err := os.Create(filepath.Join(outDir, "sweep.html"))
	if err != nil {
		return err
	}
	if err := sweepTmpl.Execute(f, sp); err != nil {
		f.Close()
		return fmt.Errorf("sweep: render: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(outDir, "sweep.md"), []byte(sweepMarkdown(in, rows, tests, refLines)), 0o644); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return os.WriteFile(filepath.Join(outDir, "sweep.svg"), []byte(sweepKeySVG(in, rows, refLines)), 0o644)
}

// sweepFamilies lists the lines of the sweep (rows sorted by dataset,
// metric, system, x) with their x values, in row order.
func sweepFamilies(rows []SweepRow) []stats.SweepFamily {
	var out []stats.SweepFamily
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j].Dataset == rows[i].Dataset && rows[j].Setting == rows[i].Setting && rows[j].Metric == rows[i].Metric {
			j++
		}
		spec, _ := ParseMetricSpec(rows[i].Metric)
		f := stats.SweepFamily{Dataset: rows[i].Dataset, System: rows[i].Setting, Setting: spec.Setting, Metric: spec.Metric, Label: rows[i].Metric}
		for _, r := range rows[i:j] {
			f.Xs = append(f.Xs, r.X)
		}
		out = append(out, f)
		i = j
	}
	return out
}

// testMark is ▲ (significantly better at the larger x), ▼ (worse) or ·.
func testMark(t SweepTest, alpha float64) string {
	spec, _ := ParseMetricSpec(t.Metric)
	return sigMark(stats.Comparison{Metric: spec.Metric, Delta: t.Delta, PHolm: t.PHolm}, alpha)
}

func fmtVal(metric string, v float64) string {
	spec, _ := ParseMetricSpec(metric)
	return cell{Metric: spec.Metric, Value: v, Present: true}.Text()
}

type sweepChart struct {
	Dataset, Metric string
	SVG             template.HTML
}

type sweepPage struct {
	Title, X, Replicate string
	Alpha               float64
	Charts              []sweepChart
	Rows                []SweepRow
	Tests               []SweepTest
	Refs                []RefLine
	Bands               string
}

// sweepSeries returns the chart series of one (dataset, metric): one
// line with its band per setting, one dashed line per reference run.
func sweepSeries(rows []SweepRow, refs []RefLine, ds, metric, x string) []Series {
	var out []Series
	xmin, xmax := math.Inf(1), math.Inf(-1)
	for _, r := range rows {
		if r.Dataset != ds || r.Metric != metric {
			continue
		}
		if len(out) == 0 || out[len(out)-1].Name != r.Setting {
			out = append(out, Series{Name: r.Setting, Markers: true})
		}
		s := &out[len(out)-1]
		s.X, s.Y, s.Lo, s.Hi = append(s.X, r.X), append(s.Y, r.Mean), append(s.Lo, r.Lo), append(s.Hi, r.Hi)
		xmin, xmax = math.Min(xmin, r.X), math.Max(xmax, r.X)
	}
	for _, r := range refs {
		if r.Dataset == ds && r.Metric == metric && len(out) > 0 {
			out = append(out, Series{Name: r.Name + " (no " + x + ")", X: []float64{xmin, xmax}, Y: []float64{r.Value, r.Value}, Dash: true})
		}
	}
	return out
}

func sweepYLabel(metric string) string {
	spec, _ := ParseMetricSpec(metric)
	if lowerIsBetter(spec.Metric) {
		return metric + " (lower is better)"
	}
	return metric
}

func buildSweepPage(in SweepInput, rows []SweepRow, tests []SweepTest, refs []RefLine) sweepPage {
	sp := sweepPage{Title: in.Title, X: in.X, Replicate: in.Replicate, Alpha: in.Alpha, Rows: rows, Tests: tests, Refs: refs, Bands: bandNote(rows)}
	for _, dm := range datasetMetrics(rows) {
		s := sweepSeries(rows, refs, dm[0], dm[1], in.X)
		sp.Charts = append(sp.Charts, sweepChart{Dataset: dm[0], Metric: dm[1],
			SVG: LineChart(s, ChartOptions{Title: dm[0] + ": " + dm[1], XLabel: in.X, YLabel: sweepYLabel(dm[1]), Width: 440, Height: 280})})
	}
	return sp
}

// datasetMetrics lists the (dataset, metric) pairs of the rows in order.
func datasetMetrics(rows []SweepRow) [][2]string {
	var out [][2]string
	for _, r := range rows {
		if k := [2]string{r.Dataset, r.Metric}; !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// bandNote says which bands the rows use.
func bandNote(rows []SweepRow) string {
	kinds := map[string]bool{}
	for _, r := range rows {
		kinds[r.Band] = true
	}
	var parts []string
	if kinds["t95"] {
		parts = append(parts, "with 3 or more replicates: mean ± t-based 95% confidence interval (t quantile with n−1 degrees of freedom × standard error)")
	}
	if kinds["minmax"] {
		parts = append(parts, "with 2 replicates: min–max")
	}
	if kinds["none"] {
		parts = append(parts, "with 1 replicate: no band")
	}
	return "Bands: " + strings.Join(parts, "; ") + "."
}

func sweepMarkdown(in SweepInput, rows []SweepRow, tests []SweepTest, refs []RefLine) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", mdEscape(in.Title))
	fmt.Fprintf(&b, "Mean over replicates (`%s`) per value of `%s`, [band] and n. %s\n\n", in.Replicate, in.X, bandNote(rows))
	var xs []float64
	xText := map[float64]bool{}
	for _, r := range rows {
		if !xText[r.X] {
			xText[r.X] = true
			xs = append(xs, r.X)
		}
	}
	slices.Sort(xs)
	b.WriteString("| dataset | metric | system |")
	for _, x := range xs {
		fmt.Fprintf(&b, " %s=%s |", mdEscape(in.X), strconv.FormatFloat(x, 'g', -1, 64))
	}
	b.WriteString("\n|---|---|---|")
	for range xs {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j].Dataset == rows[i].Dataset && rows[j].Setting == rows[i].Setting && rows[j].Metric == rows[i].Metric {
			j++
		}
		fmt.Fprintf(&b, "| %s | %s | `%s` |", mdEscape(rows[i].Dataset), rows[i].Metric, strings.ReplaceAll(rows[i].Setting, "`", "'"))
		for _, x := range xs {
			txt := " – |"
			for _, r := range rows[i:j] {
				if r.X == x {
					txt = fmt.Sprintf(" %s [%s, %s] n=%d |", fmtVal(r.Metric, r.Mean), fmtVal(r.Metric, r.Lo), fmtVal(r.Metric, r.Hi), r.N)
				}
			}
			b.WriteString(txt)
		}
		b.WriteString("\n")
		i = j
	}
	if len(refs) > 0 {
		fmt.Fprintf(&b, "\nReference runs without the `%s` label (dashed lines in the plots):\n\n| dataset | metric | run | value | runs |\n|---|---|---|---:|---:|\n", in.X)
		for _, r := range refs {
			fmt.Fprintf(&b, "| %s | %s | `%s` | %s | %d |\n", mdEscape(r.Dataset), r.Metric, strings.ReplaceAll(r.Name, "`", "'"), fmtVal(r.Metric, r.Value), r.N)
		}
	}
	if len(tests) > 0 {
		fmt.Fprintf(&b, "\nNeighbouring `%s` values, paired randomization test over queries (per-query values averaged over replicates first; "+
			"two-sided), Holm-corrected across the neighbouring pairs of each dataset, system and metric. ▲ / ▼: the larger `%s` is "+
			"significantly better / worse (Holm p < %g), · not significant.\n\n", in.X, in.X, in.Alpha)
		b.WriteString("| dataset | metric | system | from → to | n | Δ | 95% CI | p | Holm p | |\n|---|---|---|---|---:|---:|---|---:|---:|---|\n")
		for _, t := range tests {
			fmt.Fprintf(&b, "| %s | %s | `%s` | %s → %s | %d | %+.4f | [%+.4f, %+.4f] | %.4g | %.4g | %s |\n", mdEscape(t.Dataset), t.Metric,
				strings.ReplaceAll(t.Setting, "`", "'"), strconv.FormatFloat(t.XA, 'g', -1, 64), strconv.FormatFloat(t.XB, 'g', -1, 64),
				t.N, t.Delta, t.CILo, t.CIHi, t.P, t.PHolm, testMark(t, in.Alpha))
		}
	}
	return b.String()
}

// sweepCSS styles LineChart's classes inside a standalone SVG.
const sweepCSS = `text{font:11px system-ui,-apple-system,'Segoe UI',sans-serif}.title{text-anchor:middle;font-weight:600}` +
	`.xtick,.xlabel,.ylabel{text-anchor:middle}.ytick{text-anchor:end}.grid{stroke:#e3e3e3}.plot{fill:none;stroke:#ccc}.empty{text-anchor:middle;fill:#888}`

// sweepKeySVG draws the first metric's chart for every dataset side by
// side in one self-contained SVG.
func sweepKeySVG(in SweepInput, rows []SweepRow, refs []RefLine) string {
	const cw, ch = 440, 280
	var charts []string
	first := ""
	for _, dm := range datasetMetrics(rows) {
		if first == "" {
			first = dm[1]
		}
		if dm[1] != first {
			continue
		}
		s := sweepSeries(rows, refs, dm[0], dm[1], in.X)
		charts = append(charts, string(LineChart(s, ChartOptions{Title: dm[0] + ": " + dm[1], XLabel: in.X, YLabel: sweepYLabel(dm[1]), Width: cw, Height: ch})))
	}
	w, h := max(1, len(charts))*cw, ch+24
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`, w, h, w, h, template.HTMLEscapeString(in.Title))
	fmt.Fprintf(&b, `<style>%s</style><rect width="%d" height="%d" fill="#ffffff"/>`, sweepCSS, w, h)
	fmt.Fprintf(&b, `<text x="%d" y="16" class="title">%s</text>`, w/2, template.HTMLEscapeString(in.Title))
	for i, c := range charts {
		// nest each chart at its offset
		c = strings.Replace(c, "<svg ", fmt.Sprintf(`<svg x="%d" y="24" `, i*cw), 1)
		b.WriteString(c)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

var sweepTmpl = template.Must(template.New("sweep").Funcs(template.FuncMap{
	"val":  fmtVal,
	"num":  func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) },
	"mark": testMark,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{{.Title}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#1b1b1b}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:right}th{background:#f4f6f8}td.label,th.label{text-align:left}
.note{color:#555;font-size:12px}.grid{stroke:#e3e3e3}.plot{fill:none;stroke:#ccc}
svg text{font:11px system-ui,sans-serif}svg .title{text-anchor:middle;font-weight:600}
svg .xtick{text-anchor:middle}svg .ytick{text-anchor:end}svg .xlabel{text-anchor:middle}svg .ylabel{text-anchor:middle}svg .empty{text-anchor:middle;fill:#888}
.flex{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
.up{color:#0a7d32;font-weight:600}.down{color:#b3261e;font-weight:600}.same{color:#999}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="note">x axis: the run-id label <code>{{.X}}</code>; replicates: <code>{{.Replicate}}</code> (runs that differ only in it are averaged).
Lines: mean over replicates; shaded: {{.Bands}} Dashed: runs without a <code>{{.X}}</code> label (reference systems, e.g. BM25), their value (mean over their replicates).
Metrics are the macro averages over query languages of metrics.parquet.</p>
<h2 id="charts">Charts</h2>
<div class="flex">{{range .Charts}}<figure>{{.SVG}}</figure>{{end}}</div>

<h2 id="table">Sweep points</h2>
<table id="sweep-table"><thead><tr><th class="label">dataset</th><th class="label">metric</th><th class="label">system</th><th>{{.X}}</th><th>mean</th><th>band</th><th>n</th><th class="label">band type</th></tr></thead>
<tbody>{{range .Rows}}<tr><td class="label">{{.Dataset}}</td><td class="label">{{.Metric}}</td><td class="label">{{.Setting}}</td><td>{{num .X}}</td>
<td data-dataset="{{.Dataset}}" data-setting="{{.Setting}}" data-metric="{{.Metric}}" data-x="{{num .X}}" data-value="{{num .Mean}}" data-lo="{{num .Lo}}" data-hi="{{num .Hi}}" data-n="{{.N}}">{{val .Metric .Mean}}</td>
<td>[{{val .Metric .Lo}}, {{val .Metric .Hi}}]</td><td>{{.N}}</td><td class="label">{{.Band}}</td></tr>
{{end}}</tbody></table>
{{if .Refs}}<h3>Reference runs (no <code>{{.X}}</code> label)</h3>
<table id="ref-table"><thead><tr><th class="label">dataset</th><th class="label">metric</th><th class="label">run</th><th>value</th><th>runs</th></tr></thead>
<tbody>{{range .Refs}}<tr><td class="label">{{.Dataset}}</td><td class="label">{{.Metric}}</td><td class="label">{{.Name}}</td><td>{{val .Metric .Value}}</td><td>{{.N}}</td></tr>
{{end}}</tbody></table>{{end}}

<h2 id="tests">Neighbouring {{.X}} values</h2>
{{if .Tests}}<p class="note">Paired randomization test over queries (two-sided; a query's value is averaged over candidate languages in cross, then over the replicates at that {{.X}}),
95% bootstrap CI of the mean difference (larger − smaller {{.X}}), Holm-corrected across the neighbouring pairs of each dataset, system and metric.
▲ the larger {{.X}} is significantly better, ▼ significantly worse (Holm p &lt; {{.Alpha}}; lower is better for rd and same_lang_first), · not significant.</p>
<table id="test-table"><thead><tr><th class="label">dataset</th><th class="label">metric</th><th class="label">system</th><th>from → to</th><th>n</th><th>mean from</th><th>mean to</th><th>Δ</th><th>95% CI</th><th>p</th><th>Holm p</th></tr></thead>
<tbody>{{range .Tests}}{{$m := mark . $.Alpha}}<tr data-dataset="{{.Dataset}}" data-setting="{{.Setting}}" data-metric="{{.Metric}}" data-xa="{{num .XA}}" data-xb="{{num .XB}}" data-p="{{num .P}}" data-pholm="{{num .PHolm}}">
<td class="label">{{.Dataset}}</td><td class="label">{{.Metric}}</td><td class="label">{{.Setting}}</td><td>{{num .XA}} → {{num .XB}}</td><td>{{.N}}</td>
<td>{{printf "%.4f" .MeanA}}</td><td>{{printf "%.4f" .MeanB}}</td><td>{{printf "%+.4f" .Delta}} <span class="{{if eq $m "▲"}}up{{else if eq $m "▼"}}down{{else}}same{{end}}">{{$m}}</span></td>
<td>[{{printf "%+.4f" .CILo}}, {{printf "%+.4f" .CIHi}}]</td><td>{{printf "%.4g" .P}}</td><td>{{printf "%.4g" .PHolm}}</td></tr>
{{end}}</tbody></table>
{{else}}<p class="note">No per-query rows (or a single {{.X}} value): no tests.</p>{{end}}
</body>
</html>
`))
