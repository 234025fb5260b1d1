package reports

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/lair-ir/lair/eval/stats"
	"github.com/lair-ir/lair/tables"
	"github.com/parquet-go/parquet-go"
)

// NamedFile is a file with a display name.
type NamedFile struct{ Name, Path string }

// Input is what a report is made from.
type Input struct {
	Title         string
	MetricsFiles  []string
	PerQueryFiles []string
	TrainingLogs  []NamedFile // training_log.parquet files (step, loss, val_loss columns)
	Baseline      string      // run compared against ("" = first run id)
	SigMetrics    []string
	Permutations  int
	Bootstrap     int
	Alpha         float64
	Seed          uint64
	Threads       int
	// AllPairs also tests every pair of runs (not only against the
	// baseline) into significance.parquet; the page shows the baseline
	// comparisons.
	AllPairs bool
	// LanguageGroups get their own macro averages (and those of the
	// other query languages) in the summary, e.g. languages unseen in
	// training.
	LanguageGroups []stats.LanguageGroup
}

// SigRow is one row of significance.parquet.
type SigRow struct {
	Base     string  `parquet:"base,dict"`
	Other    string  `parquet:"other,dict"`
	Dataset  string  `parquet:"dataset,dict"`
	Setting  string  `parquet:"setting,dict"`
	Metric   string  `parquet:"metric,dict"`
	Lang     string  `parquet:"lang,dict"`
	N        int64   `parquet:"n"`
	MeanBase float64 `parquet:"mean_base"`
	Mean     float64 `parquet:"mean_other"`
	Delta    float64 `parquet:"delta"`
	P        float64 `parquet:"p"`
	PHolm    float64 `parquet:"p_holm"`
	CILo     float64 `parquet:"ci_lo"`
	CIHi     float64 `parquet:"ci_hi"`
	Wins     int64   `parquet:"wins"`
	Ties     int64   `parquet:"ties"`
	Losses   int64   `parquet:"losses"`
}

// LogRow is the part of training_log.parquet the report reads.
type LogRow struct {
	Step    int64   `parquet:"step"`
	Loss    float64 `parquet:"loss"`
	ValLoss float64 `parquet:"val_loss"`
}

// LanguageGroupsFile is the table of language-group averages
// (stats.GroupRow) a report with LanguageGroups writes.
const LanguageGroupsFile = "language_groups.parquet"

// Build reads the inputs and writes report.html, metrics.parquet,
// per_query.parquet and significance.parquet (and, with LanguageGroups,
// language_groups.parquet: the averages the summary shows) into outDir.
func Build(ctx context.Context, in Input, outDir string) error {
	var ms []tables.Metric
	meta := map[string]string{}
	for _, f := range in.MetricsFiles {
		rows, err := tables.Read[tables.Metric](f)
		if err != nil {
			return err
		}
		ms = append(ms, rows...)
		if md, err := tables.Metadata(f); err == nil && md["license"] != "" && !strings.Contains(meta["license"], md["license"]) {
			meta["license"] = strings.TrimPrefix(meta["license"]+"; "+md["license"], "; ")
		}
		if md, err := tables.Metadata(f); err == nil && md["degenerate_embeddings"] != "" && !strings.Contains(meta["degenerate"], md["degenerate_embeddings"]) {
			meta["degenerate"] = strings.TrimPrefix(meta["degenerate"]+"; "+md["degenerate_embeddings"], "; ")
		}
	}
	if len(ms) == 0 {
		return fmt.Errorf("report: no metric rows in %v", in.MetricsFiles)
	}
	var ix *tables.PerQueryIndex
	if len(in.PerQueryFiles) > 0 {
		var err error
		if ix, err = tables.IndexPerQuery(in.PerQueryFiles); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	sortMetrics(ms)
	runs := runIDs(ms)
	base := in.Baseline
	if base == "" {
		base = runs[0]
	}
	if !slices.Contains(runs, base) {
		return fmt.Errorf("report: baseline run %q not among the runs %v; set the baseline parameter to one of them", base, runs)
	}
	var others []string
	for _, r := range runs {
		if r != base {
			others = append(others, r)
		}
	}
	var comps, extra []stats.Comparison
	opt := stats.Options{Permutations: in.Permutations, Bootstrap: in.Bootstrap, Seed: in.Seed, Metrics: in.SigMetrics, Threads: in.Threads}
	if len(others) > 0 && ix != nil && len(ix.Slices()) > 0 {
		var err error
		if comps, err = stats.Compare(ctx, ix, base, others, opt); err != nil {
			return err
		}
		if in.AllPairs {
			for i, a := range others {
				c, err := stats.Compare(ctx, ix, a, others[i+1:], opt)
				if err != nil {
					return err
				}
				extra = append(extra, c...)
			}
		}
	}
	// bootstrap intervals of the multi macro averages drawn at the top
	var ivs []stats.Interval
	if ix != nil && len(ix.Slices()) > 0 {
		var err error
		if ivs, err = stats.MacroIntervals(ctx, ix, stats.IntervalOptions{Setting: "multi", Metrics: []string{"map", "rd"},
			Bootstrap: in.Bootstrap, Level: 0.95, Seed: in.Seed}); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var logs []trainingLog
	for _, nf := range in.TrainingLogs {
		rows, err := parquet.ReadFile[LogRow](nf.Path)
		if err != nil {
			return fmt.Errorf("report: read training log %s: %w", nf.Path, err)
		}
		logs = append(logs, trainingLog{Name: nf.Name, Rows: rows})
	}
	alpha := in.Alpha
	if alpha <= 0 {
		alpha = 0.05
	}
	title := in.Title
	if title == "" {
		title = "lair report"
	}
	page := buildPage(title, ms, comps, base, alpha, logs, meta["license"])
	page.Degenerate = meta["degenerate"]
	page.Tradeoffs = tradeoffs(&page, ivs)
	page.LangBars = biasBars(&page)
	groups := stats.GroupAverages(ms, in.LanguageGroups)
	page.Groups = groupTable(groups, page.Cols)
	f, err := os.Create(filepath.Join(outDir, "report.html"))
	if err != nil {
		return err
	}
	if err := pageTmpl.Execute(f, page); err != nil {
		f.Close()
		return fmt.Errorf("report: render: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(outDir, "summary.md"), []byte(summaryMarkdown(title, ms, comps, base, alpha, groups)), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(outDir, "summary.svg"), []byte(summarySVG(title, ms)), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := tables.Write(filepath.Join(outDir, "metrics.parquet"), ms, meta); err != nil {
		return err
	}
	if len(in.LanguageGroups) > 0 {
		if err := tables.Write(filepath.Join(outDir, LanguageGroupsFile), groups, meta); err != nil {
			return err
		}
	}
	if err := mergePerQuery(ctx, in.PerQueryFiles, filepath.Join(outDir, tables.PerQueryFile), meta); err != nil {
		return err
	}
	all := append(slices.Clone(comps), extra...)
	sig := make([]SigRow, len(all))
	for i, c := range all {
		sig[i] = SigRow{Base: c.Base, Other: c.Other, Dataset: c.Dataset, Setting: c.Setting, Metric: c.Metric, Lang: c.Lang, N: int64(c.N),
			MeanBase: c.MeanBase, Mean: c.MeanOther, Delta: c.Delta, P: c.P, PHolm: c.PHolm, CILo: c.CILo, CIHi: c.CIHi,
			Wins: int64(c.Wins), Ties: int64(c.Ties), Losses: int64(c.Losses)}
	}
	return tables.Write(filepath.Join(outDir, "significance.parquet"), sig, nil)
}

// mergePerQuery copies the rows of the per-query files, in order, into
// one file, streaming (one batch in memory).
func mergePerQuery(ctx context.Context, files []string, path string, meta map[string]string) error {
	w, err := tables.CreatePerQuery(path, meta)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for _, f := range files {
		if err := tables.ReadPerQuery(ctx, f, w.Write); err != nil {
			w.Close()
			return fmt.Errorf("report: %w", err)
		}
	}
	return w.Close()
}

type trainingLog struct {
	Name string
	Rows []LogRow
}

func runIDs(ms []tables.Metric) []string {
	var out []string
	for _, m := range ms {
		if !slices.Contains(out, m.RunID) {
			out = append(out, m.RunID)
		}
	}
	slices.Sort(out)
	return out
}

func settingRank(s string) int {
	return map[string]int{"mono": 0, "cross": 1, "multi": 2}[s]
}

func sortMetrics(ms []tables.Metric) {
	slices.SortStableFunc(ms, func(a, b tables.Metric) int {
		for _, c := range []int{strings.Compare(a.RunID, b.RunID), strings.Compare(a.Dataset, b.Dataset), settingRank(a.Setting) - settingRank(b.Setting),
			strings.Compare(a.Metric, b.Metric), langCmp(a.QLang, b.QLang), langCmp(a.CLang, b.CLang)} {
			if c != 0 {
				return c
			}
		}
		return 0
	})
}

func langCmp(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "all":
		return -1
	case b == "all":
		return 1
	}
	return strings.Compare(a, b)
}

// cell is one number on the page, with the key of the metric row it shows.
type cell struct {
	Run, Dataset, Setting, Metric, QLang, CLang string
	Value                                       float64
	Present                                     bool
	Ref                                         bool
}

// Text formats the value: 3 decimals for scores, 1 for ranks.
func (c cell) Text() string {
	if !c.Present {
		return "–"
	}
	if c.Metric == "rd" || c.Metric == "mean_rank" {
		return fmt.Sprintf("%.1f", c.Value)
	}
	return fmt.Sprintf("%.3f", c.Value)
}

// Attr is the full-precision value for data-value.
func (c cell) Attr() string { return strconv.FormatFloat(c.Value, 'g', -1, 64) }

type col struct{ Setting, Metric, Label string }

var summaryCols = []col{
	{"mono", "map", "mono mAP"}, {"cross", "map", "cross mAP"}, {"multi", "map", "multi mAP"},
	{"mono", "map@20", "mono mAP@20"}, {"cross", "map@20", "cross mAP@20"}, {"multi", "map@20", "multi mAP@20"},
	{"mono", "r@1", "mono R@1"}, {"cross", "r@1", "cross R@1"}, {"multi", "r@10", "multi R@10"},
	{"multi", "rd", "RD ↓"}, {"multi", "same_lang_first", "same-lang first"},
	{"mono", "ndcg@10", "mono nDCG@10"}, {"mono", "r@100", "mono R@100"},
	{"multi", "rd_norm", "RD / pool ↓"}, {"multi", "peer@100", "PEER@100 ↑"},
	{"multi", "pref@10", "pref@10 (1 = none)"}, {"multi", "pref@100", "pref@100 (1 = none)"},
}

type summaryRow struct {
	Label, Dataset string
	Ref            bool
	Cells          []cell
}

type heatmap struct {
	Run, Dataset string
	SVG          template.HTML
}

type biasBlock struct {
	Run, Dataset string
	Chart        template.HTML
	Langs        []string
	RD, Same     []cell
	Top10Same    []cell // share of the top 10 in the query's language
	HasTop10     bool
}

type sigRow struct {
	Other, Dataset, Setting, Metric string
	All                             stats.Comparison
	Mark                            string
	Langs                           []sigLang
}

type sigLang struct {
	Lang, Mark, Title string
	P, PHolm, Delta   float64
}

type pageData struct {
	Title, Baseline, License string
	Cols                     []col
	Summary                  []summaryRow
	Heatmaps                 []heatmap
	RankMaps                 []heatmap
	Bias                     []biasBlock
	Sig                      []sigRow
	Alpha                    float64
	Charts                   []template.HTML
	Runs                     []string
	Groups                   []groupRow
	Tradeoffs                []tradeoff // multi mAP against rank distance, per dataset (overview.go)
	LangBars                 []langBars // bias measures per query language, per dataset
	idx                      map[mkey]tables.Metric

	// Degenerate counts zero or non-finite embeddings per run (ranked last by retrieval).
	Degenerate string
}

type mkey struct{ run, dataset, setting, metric, q, c string }

func buildPage(title string, ms []tables.Metric, comps []stats.Comparison, base string, alpha float64, logs []trainingLog, license string) pageData {
	idx := map[mkey]tables.Metric{}
	type rd struct{ run, dataset string }
	var pairs []rd
	for _, m := range ms {
		idx[mkey{m.RunID, m.Dataset, m.Setting, m.Metric, m.QLang, m.CLang}] = m
		if p := (rd{m.RunID, m.Dataset}); !slices.Contains(pairs, p) {
			pairs = append(pairs, p)
		}
	}
	get := func(run, ds, setting, metric, q, c string) cell {
		m, ok := idx[mkey{run, ds, setting, metric, q, c}]
		return cell{Run: run, Dataset: ds, Setting: setting, Metric: metric, QLang: q, CLang: c, Value: m.Value, Present: ok}
	}
	pd := pageData{Title: title, Baseline: base, License: license, Alpha: alpha, Runs: runIDs(ms), idx: idx}
	// only columns some run has
	for _, c := range summaryCols {
		for _, p := range pairs {
			if get(p.run, p.dataset, c.Setting, c.Metric, "all", "all").Present {
				pd.Cols = append(pd.Cols, c)
				break
			}
		}
	}
	datasets := []string{}
	for _, p := range pairs {
		if !slices.Contains(datasets, p.dataset) {
			datasets = append(datasets, p.dataset)
		}
	}
	slices.Sort(datasets)
	for _, ds := range datasets {
		for _, p := range pairs {
			if p.dataset != ds {
				continue
			}
			row := summaryRow{Label: p.run, Dataset: ds}
			for _, c := range pd.Cols {
				row.Cells = append(row.Cells, get(p.run, ds, c.Setting, c.Metric, "all", "all"))
			}
			pd.Summary = append(pd.Summary, row)
		}
		for _, pr := range PaperRows {
			if pr.Dataset != ds {
				continue
			}
			row := summaryRow{Label: "paper: " + pr.Init + " " + pr.Sampling, Dataset: ds, Ref: true}
			for _, c := range pd.Cols {
				v, ok := 0.0, false
				switch {
				case c.Metric == "map" && c.Setting == "mono":
					v = pr.Mono
				case c.Metric == "map" && c.Setting == "cross":
					v = pr.Cross
				case c.Metric == "map" && c.Setting == "multi":
					v = pr.Multi
				case c.Metric == "rd":
					v = pr.RD
				case c.Metric == "ndcg@10" && c.Setting == "mono":
					v = pr.NDCG10
				}
				ok = v > 0
				row.Cells = append(row.Cells, cell{Run: row.Label, Dataset: ds, Setting: c.Setting, Metric: c.Metric, QLang: "all", CLang: "all", Value: v, Present: ok, Ref: true})
			}
			pd.Summary = append(pd.Summary, row)
		}
	}
	for _, p := range pairs {
		if svg, ok := heatmapSVG(p.run, p.dataset, ms, mapHeat); ok {
			pd.Heatmaps = append(pd.Heatmaps, heatmap{Run: p.run, Dataset: p.dataset, SVG: svg})
		}
		if svg, ok := heatmapSVG(p.run, p.dataset, ms, rankHeat); ok {
			pd.RankMaps = append(pd.RankMaps, heatmap{Run: p.run, Dataset: p.dataset, SVG: svg})
		}
		var langs []string
		for _, m := range ms {
			if m.RunID == p.run && m.Dataset == p.dataset && m.Setting == "multi" && m.Metric == "rd" && m.QLang != "all" {
				langs = append(langs, m.QLang)
			}
		}
		if len(langs) > 0 {
			b := biasBlock{Run: p.run, Dataset: p.dataset, Langs: langs}
			for _, l := range langs {
				b.RD = append(b.RD, get(p.run, p.dataset, "multi", "rd", l, "all"))
				b.Same = append(b.Same, get(p.run, p.dataset, "multi", "same_lang_first", l, "all"))
				c := get(p.run, p.dataset, "multi", "top10_share", l, l)
				b.Top10Same = append(b.Top10Same, c)
				b.HasTop10 = b.HasTop10 || c.Present
			}
			b.Chart = barChart(b.RD, "rank distance per query language (lower is better)")
			pd.Bias = append(pd.Bias, b)
		}
	}
	// significance: one row per (other, dataset, setting, metric)
	type sk struct{ other, dataset, setting, metric string }
	rows := map[sk]*sigRow{}
	var order []sk
	for _, c := range comps {
		k := sk{c.Other, c.Dataset, c.Setting, c.Metric}
		r := rows[k]
		if r == nil {
			r = &sigRow{Other: c.Other, Dataset: c.Dataset, Setting: c.Setting, Metric: c.Metric}
			rows[k] = r
			order = append(order, k)
		}
		mark := sigMark(c, alpha)
		if c.Lang == "all" {
			r.All, r.Mark = c, mark
			continue
		}
		r.Langs = append(r.Langs, sigLang{Lang: c.Lang, Mark: mark, P: c.P, PHolm: c.PHolm, Delta: c.Delta,
			Title: fmt.Sprintf("%s: Δ %+.4f, p %.4g, Holm p %.4g, n %d", c.Lang, c.Delta, c.P, c.PHolm, c.N)})
	}
	for _, k := range order {
		pd.Sig = append(pd.Sig, *rows[k])
	}
	for _, lg := range logs {
		s := []Series{{Name: "train loss"}, {Name: "validation loss"}}
		for _, r := range lg.Rows {
			// validation runs only on some steps (NaN elsewhere): keep its points only
			if finite(r.Loss) {
				s[0].X = append(s[0].X, float64(r.Step))
				s[0].Y = append(s[0].Y, r.Loss)
			}
			if finite(r.ValLoss) {
				s[1].X = append(s[1].X, float64(r.Step))
				s[1].Y = append(s[1].Y, r.ValLoss)
			}
		}
		pd.Charts = append(pd.Charts, LineChart(s, ChartOptions{Title: "training: " + lg.Name, XLabel: "step", YLabel: "loss"}))
	}
	return pd
}

// sigMark is ▲ (significantly better), ▼ (significantly worse) or · .
// "Better" is higher, except for rank distance and mean rank.
func sigMark(c stats.Comparison, alpha float64) string {
	if c.PHolm >= alpha || c.Delta == 0 {
		return "·"
	}
	better := c.Delta > 0
	if lowerIsBetter(c.Metric) {
		better = !better
	}
	if better {
		return "▲"
	}
	return "▼"
}

// lowerIsBetter reports whether smaller values of a metric are better:
// the language-bias metrics (rank distance, rank of the same-language
// answer, share of same-language first hits and of the top 10).
func lowerIsBetter(metric string) bool {
	switch metric {
	case "rd", "same_lang_first", "top10_share":
		return true
	}
	return false
}

// heatSpec selects the cells of a heatmap and how to colour them.
type heatSpec struct {
	settings []string // settings whose (q_lang, c_lang) cells are drawn
	metric   string
	label    string
	// shade maps a value to [0,1] (1 = dark); text formats it.
	shade func(v, max float64) float64
	text  func(v float64) string
}

var mapHeat = heatSpec{settings: []string{"mono", "cross"}, metric: "map", label: "mAP",
	shade: func(v, _ float64) float64 { return v },
	text:  func(v float64) string { return strings.TrimPrefix(fmt.Sprintf("%.2f", v), "0") }}

// rankHeat shades small ranks dark (log scale).
var rankHeat = heatSpec{settings: []string{"multi"}, metric: "mean_rank", label: "mean rank",
	shade: func(v, max float64) float64 {
		if max <= 1 {
			return 1
		}
		return 1 - math.Log(math.Max(v, 1))/math.Log(max)
	},
	text: func(v float64) string {
		if v >= 1000 {
			return fmt.Sprintf("%.0fk", v/1000)
		}
		return fmt.Sprintf("%.0f", v)
	}}

// heatmapSVG draws a metric per (query language, candidate language).
func heatmapSVG(run, ds string, ms []tables.Metric, hs heatSpec) (template.HTML, bool) {
	vals := map[[2]string]tables.Metric{}
	var langs []string
	maxV := 0.0
	for _, m := range ms {
		if m.RunID != run || m.Dataset != ds || m.Metric != hs.metric || m.QLang == "all" || m.CLang == "all" {
			continue
		}
		if !slices.Contains(hs.settings, m.Setting) {
			continue
		}
		vals[[2]string{m.QLang, m.CLang}] = m
		maxV = math.Max(maxV, m.Value)
		for _, l := range []string{m.QLang, m.CLang} {
			if !slices.Contains(langs, l) {
				langs = append(langs, l)
			}
		}
	}
	if len(vals) == 0 {
		return "", false
	}
	slices.Sort(langs)
	const cs, left, top = 40, 44, 36
	n := len(langs)
	w, h := left+n*cs+8, top+n*cs+8
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="heatmap" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s heatmap">`, w, h, w, h, hs.label)
	fmt.Fprintf(&b, `<text x="%d" y="12" class="axis">candidate language →</text>`, left)
	for j, l := range langs {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="xtick">%s</text>`, left+j*cs+cs/2, top-6, l)
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="ytick">%s</text>`, left-6, top+j*cs+cs/2+4, l)
	}
	for i, q := range langs {
		for j, c := range langs {
			m, ok := vals[[2]string{q, c}]
			x, y := left+j*cs, top+i*cs
			if !ok {
				fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" class="na"/>`, x, y, cs-1, cs-1)
				continue
			}
			shade := hs.shade(m.Value, maxV)
			txt := "dark"
			if shade > 0.55 {
				txt = "light"
			}
			fmt.Fprintf(&b, `<g class="hcell" data-run="%s" data-dataset="%s" data-setting="%s" data-metric="%s" data-qlang="%s" data-clang="%s" data-value="%s">`,
				template.HTMLEscapeString(run), template.HTMLEscapeString(ds), m.Setting, hs.metric, q, c, strconv.FormatFloat(m.Value, 'g', -1, 64))
			fmt.Fprintf(&b, `<title>%s→%s %s %s %.4f (n %d)</title><rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`,
				q, c, m.Setting, hs.label, m.Value, m.N, x, y, cs-1, cs-1, heatColor(shade))
			fmt.Fprintf(&b, `<text x="%d" y="%d" class="%s">%s</text></g>`, x+cs/2, y+cs/2+4, txt, hs.text(m.Value))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()), true
}

// barChart draws one bar per cell (query language).
func barChart(cells []cell, title string) template.HTML {
	const bw, gap, left, top, ph = 30, 8, 50, 26, 160
	const minWidth = 330
	maxV := 0.0
	for _, c := range cells {
		maxV = math.Max(maxV, c.Value)
	}
	if maxV == 0 {
		maxV = 1
	}
	w := max(minWidth, left+len(cells)*(bw+gap)+10)
	h := top + ph + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="bars" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`, w, h, w, h, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<text x="%d" y="14" class="title">%s</text>`, w/2, template.HTMLEscapeString(title))
	for _, t := range niceTicks(0, maxV, 4) {
		y := float64(top+ph) - t/maxV*ph
		if t > maxV {
			continue
		}
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/><text x="%d" y="%.1f" class="ytick">%s</text>`, left, w-10, y, y, left-4, y+4, fmtTick(t))
	}
	for i, c := range cells {
		bh := c.Value / maxV * ph
		x := left + i*(bw+gap)
		fmt.Fprintf(&b, `<g data-run="%s" data-dataset="%s" data-setting="%s" data-metric="%s" data-qlang="%s" data-clang="%s" data-value="%s">`,
			template.HTMLEscapeString(c.Run), template.HTMLEscapeString(c.Dataset), c.Setting, c.Metric, c.QLang, c.CLang, c.Attr())
		fmt.Fprintf(&b, `<title>%s: %s</title><rect x="%d" y="%.1f" width="%d" height="%.1f" class="bar"/>`, c.QLang, c.Text(), x, float64(top+ph)-bh, bw, bh)
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="xtick">%s</text></g>`, x+bw/2, top+ph+14, c.QLang)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
