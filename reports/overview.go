package reports

import (
	"fmt"
	"html/template"
	"math"
	"slices"

	"github.com/lair-ir/lair/eval/stats"
)

// The charts at the top of report.html, for a reader who looks rather
// than reads: per dataset, multi mAP against rank distance (the paper's
// trade-off) and the bias measures per query language. Every number
// drawn is also in a table below its chart and in the chart's hover
// text, in the same format (fmtNum).

// tradeoffRow is one system (or paper reference) of a trade-off chart.
type tradeoffRow struct {
	Label    string
	Ref      bool
	MAP, RD  cell
	MAPCI    [2]float64 // bootstrap interval of multi mAP (NaN: none)
	RDCI     [2]float64
	HasMAPCI bool
	HasRDCI  bool
}

// Num formats a value as the charts' hover text does.
func (tradeoffRow) Num(v float64) string { return fmtNum(v) }

// tradeoff is the mAP-against-RD chart of one dataset and its table.
type tradeoff struct {
	Dataset string
	Chart   template.HTML
	Rows    []tradeoffRow
}

// langBars is a bar chart of one bias measure per query language (bars
// per system) of one dataset, and its table.
type langBars struct {
	Dataset, Metric, Label string
	Chart                  template.HTML
	Langs                  []string // query languages, then "all" (macro average)
	Rows                   []langBarRow
}

type langBarRow struct {
	Run   string
	Cells []cell
}

// Num formats the value as the charts' hover text does.
func (c cell) Num() string { return fmtNum(c.Value) }

// overviewDatasets returns the datasets where some run has the multi
// macro cell of metric, sorted.
func overviewDatasets(pd *pageData, metric string) []string {
	var out []string
	for k := range pd.idx {
		if k.setting == "multi" && k.metric == metric && k.q == "all" && k.c == "all" && !slices.Contains(out, k.dataset) {
			out = append(out, k.dataset)
		}
	}
	slices.Sort(out)
	return out
}

// tradeoffs builds one multi mAP against rank distance chart per dataset:
// one point per run, with its bootstrap interval on both axes when ivs
// has it, and the paper's reference points.
func tradeoffs(pd *pageData, ivs []stats.Interval) []tradeoff {
	type ik struct{ run, dataset, metric string }
	ci := map[ik]stats.Interval{}
	for _, iv := range ivs {
		if iv.Setting == "multi" {
			ci[ik{iv.Run, iv.Dataset, iv.Metric}] = iv
		}
	}
	get := func(run, ds, metric string) cell {
		m, ok := pd.idx[mkey{run, ds, "multi", metric, "all", "all"}]
		return cell{Run: run, Dataset: ds, Setting: "multi", Metric: metric, QLang: "all", CLang: "all", Value: m.Value, Present: ok}
	}
	var out []tradeoff
	for _, ds := range overviewDatasets(pd, "map") {
		t := tradeoff{Dataset: ds}
		var pts []Point
		for _, run := range pd.Runs {
			r := tradeoffRow{Label: run, MAP: get(run, ds, "map"), RD: get(run, ds, "rd"),
				MAPCI: [2]float64{math.NaN(), math.NaN()}, RDCI: [2]float64{math.NaN(), math.NaN()}}
			if !r.MAP.Present || !r.RD.Present {
				continue
			}
			if iv, ok := ci[ik{run, ds, "map"}]; ok && finite(iv.Lo) && finite(iv.Hi) {
				r.MAPCI, r.HasMAPCI = [2]float64{iv.Lo, iv.Hi}, true
			}
			if iv, ok := ci[ik{run, ds, "rd"}]; ok && finite(iv.Lo) && finite(iv.Hi) {
				r.RDCI, r.HasRDCI = [2]float64{iv.Lo, iv.Hi}, true
			}
			t.Rows = append(t.Rows, r)
			pts = append(pts, Point{Name: run, X: r.RD.Value, Y: r.MAP.Value, XLo: r.RDCI[0], XHi: r.RDCI[1], YLo: r.MAPCI[0], YHi: r.MAPCI[1]})
		}
		if len(t.Rows) == 0 {
			continue
		}
		for _, pr := range PaperRows {
			if pr.Dataset != ds || pr.Multi <= 0 || pr.RD <= 0 {
				continue
			}
			name := "paper " + pr.Init + " " + pr.Sampling
			t.Rows = append(t.Rows, tradeoffRow{Label: name, Ref: true,
				MAP: cell{Run: name, Dataset: ds, Setting: "multi", Metric: "map", QLang: "all", CLang: "all", Value: pr.Multi, Present: true, Ref: true},
				RD:  cell{Run: name, Dataset: ds, Setting: "multi", Metric: "rd", QLang: "all", CLang: "all", Value: pr.RD, Present: true, Ref: true}})
			pts = append(pts, Point{Name: name, X: pr.RD, Y: pr.Multi, XLo: math.NaN(), XHi: math.NaN(), YLo: math.NaN(), YHi: math.NaN(), Ref: true})
		}
		t.Chart = ScatterChart(pts, ChartOptions{Title: ds + ": multi mAP against rank distance (up and left is better)",
			XLabel: "rank distance (multi, lower is better)", YLabel: "multi mAP", Width: 720, Height: 380})
		out = append(out, t)
	}
	return out
}

// biasBarSpecs are the measures drawn per query language, with the
// level of no bias (the dashed reference line).
var biasBarSpecs = []struct {
	metric, label string
	ref           float64
}{
	{"pref@10", "language preference @10 (share of the top 10 in the query's language / its share of the pool; 1 = no preference)", 1},
	{"peer@100", "PEER@100 (1 = relevant documents of every language ranked alike)", 1},
}

// biasBars builds, per dataset and bias measure, a bar chart of the
// measure per query language with one bar per run.
func biasBars(pd *pageData) []langBars {
	var out []langBars
	for _, spec := range biasBarSpecs {
		for _, ds := range overviewDatasets(pd, spec.metric) {
			lb := langBars{Dataset: ds, Metric: spec.metric, Label: spec.label}
			for k := range pd.idx {
				if k.dataset == ds && k.setting == "multi" && k.metric == spec.metric && k.c == "all" && k.q != "all" && !slices.Contains(lb.Langs, k.q) {
					lb.Langs = append(lb.Langs, k.q)
				}
			}
			slices.Sort(lb.Langs)
			lb.Langs = append(lb.Langs, "all")
			var series []string
			groups := make([]BarGroup, len(lb.Langs))
			for i, l := range lb.Langs {
				groups[i].Label = l
				if l == "all" {
					groups[i].Label = "macro"
				}
			}
			for _, run := range pd.Runs {
				if _, ok := pd.idx[mkey{run, ds, "multi", spec.metric, "all", "all"}]; !ok {
					continue
				}
				row := langBarRow{Run: run}
				for i, l := range lb.Langs {
					m, ok := pd.idx[mkey{run, ds, "multi", spec.metric, l, "all"}]
					c := cell{Run: run, Dataset: ds, Setting: "multi", Metric: spec.metric, QLang: l, CLang: "all", Value: m.Value, Present: ok}
					row.Cells = append(row.Cells, c)
					v := math.NaN()
					if ok {
						v = m.Value
					}
					groups[i].Values = append(groups[i].Values, v)
				}
				series = append(series, run)
				lb.Rows = append(lb.Rows, row)
			}
			lb.Chart = BarChart(series, groups, spec.ref, ChartOptions{Title: fmt.Sprintf("%s: %s per query language", ds, spec.metric),
				XLabel: "query language", YLabel: spec.metric, Width: max(560, 90*len(lb.Langs)+200), Height: 300})
			out = append(out, lb)
		}
	}
	return out
}
