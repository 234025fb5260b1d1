package reports

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"

	"github.com/lair-ir/lair/eval/stats"
	"github.com/lair-ir/lair/tables"
)

// mdCols are the summary.md columns.
var mdCols = []col{
	{"mono", "map", "mono mAP"}, {"cross", "map", "cross mAP"}, {"multi", "map", "multi mAP"},
	{"multi", "r@10", "multi R@10"}, {"multi", "rd", "RD ↓"}, {"multi", "same_lang_first", "same-lang first"},
	{"multi", "peer@100", "PEER@100 ↑"}, {"multi", "pref@10", "pref@10 (1 = none)"},
}

// groupRow is one row of the language-group tables: the averages of
// stats.GroupAverages for one run, dataset and set of query languages,
// arranged in the table's columns.
type groupRow struct {
	Run, Dataset, Group string
	Langs               []string
	Cells               []cell
}

// groupTable arranges the language-group averages (stats.GroupAverages,
// language_groups.parquet) into rows with one cell per column, in the
// order of the rows; a cell without a row is absent. It computes nothing.
func groupTable(rows []stats.GroupRow, cols []col) []groupRow {
	type key struct{ run, ds, group string }
	type vkey struct {
		key
		setting, metric string
	}
	var order []key
	langs := map[key][]string{}
	val := map[vkey]float64{}
	for _, r := range rows {
		k := key{r.RunID, r.Dataset, r.Group}
		if _, ok := langs[k]; !ok {
			order = append(order, k)
			langs[k] = r.Langs
		}
		val[vkey{k, r.Setting, r.Metric}] = r.Value
	}
	out := make([]groupRow, 0, len(order))
	for _, k := range order {
		g := groupRow{Run: k.run, Dataset: k.ds, Group: k.group, Langs: langs[k]}
		for _, c := range cols {
			v, ok := val[vkey{k, c.Setting, c.Metric}]
			g.Cells = append(g.Cells, cell{Run: k.run, Dataset: k.ds, Setting: c.Setting, Metric: c.Metric, QLang: k.group, CLang: "all", Value: v, Present: ok})
		}
		out = append(out, g)
	}
	return out
}

// sigIndex maps (other, dataset, setting, metric) to the all-query
// comparison with the baseline.
func sigIndex(comps []stats.Comparison) map[[4]string]stats.Comparison {
	out := map[[4]string]stats.Comparison{}
	for _, c := range comps {
		if c.Lang == "all" {
			out[[4]string{c.Other, c.Dataset, c.Setting, c.Metric}] = c
		}
	}
	return out
}

// mdEscape escapes characters that would break a Markdown table cell.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", "&lt;", ">", "&gt;").Replace(s)
}

// summaryMarkdown renders summary.md: the main metrics per dataset and
// system with significance marks against the baseline, then the language
// group averages.
func summaryMarkdown(title string, ms []tables.Metric, comps []stats.Comparison, base string, alpha float64, groups []stats.GroupRow) string {
	idx := map[mkey]tables.Metric{}
	for _, m := range ms {
		idx[mkey{m.RunID, m.Dataset, m.Setting, m.Metric, m.QLang, m.CLang}] = m
	}
	sig := sigIndex(comps)
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", mdEscape(title))
	datasets := []string{}
	for _, m := range ms {
		if !slices.Contains(datasets, m.Dataset) {
			datasets = append(datasets, m.Dataset)
		}
	}
	slices.Sort(datasets)
	// only the columns some run has
	var cols []col
	for _, c := range mdCols {
		for _, m := range ms {
			if m.Setting == c.Setting && m.Metric == c.Metric && m.QLang == "all" && m.CLang == "all" {
				cols = append(cols, c)
				break
			}
		}
	}
	header := func(first string) {
		fmt.Fprintf(&b, "| dataset | %s |", first)
		for _, c := range cols {
			fmt.Fprintf(&b, " %s |", c.Label)
		}
		b.WriteString("\n|---|---|")
		for range cols {
			b.WriteString("---:|")
		}
		b.WriteString("\n")
	}
	header("system")
	for _, ds := range datasets {
		for _, run := range runIDs(ms) {
			has := false
			for _, c := range cols {
				if _, ok := idx[mkey{run, ds, c.Setting, c.Metric, "all", "all"}]; ok {
					has = true
				}
			}
			if !has {
				continue
			}
			label := "`" + strings.ReplaceAll(run, "`", "'") + "`"
			if run == base && len(comps) > 0 {
				label += " (baseline)"
			}
			fmt.Fprintf(&b, "| %s | %s |", mdEscape(ds), label)
			for _, c := range cols {
				m, ok := idx[mkey{run, ds, c.Setting, c.Metric, "all", "all"}]
				if !ok {
					b.WriteString(" – |")
					continue
				}
				txt := cell{Metric: c.Metric, Value: m.Value, Present: true}.Text()
				if cmp, ok := sig[[4]string{run, ds, c.Setting, c.Metric}]; ok {
					if mark := sigMark(cmp, alpha); mark != "·" {
						txt += " " + mark
					}
				}
				fmt.Fprintf(&b, " %s |", txt)
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\nmAP over the full ranking, macro-averaged over query languages. mono: queries of X against the candidates of X; " +
		"cross: X against each other language Y (mean over Y); multi: X against the pooled candidates of all languages. " +
		"RD: rank distance between a query's best- and worst-ranked relevant candidates in multi (lower is better); " +
		"same-lang first: share of queries whose best-ranked relevant candidate is in the query's language (lower = less language bias).\n")
	if len(comps) > 0 {
		fmt.Fprintf(&b, "▲ / ▼: significantly better / worse than the baseline `%s` (paired randomization test over queries, two-sided, p < %g); "+
			"unmarked: not significant, or not tested (see the report's sig_metrics).\n", strings.ReplaceAll(base, "`", "'"), alpha)
	}
	gr := groupTable(groups, cols)
	if len(gr) > 0 {
		b.WriteString("\n### Query-language groups\n\n")
		header("system · query languages")
		for _, r := range gr {
			fmt.Fprintf(&b, "| %s | `%s` · %s (%s) |", mdEscape(r.Dataset), strings.ReplaceAll(r.Run, "`", "'"), mdEscape(r.Group), strings.Join(r.Langs, " "))
			for _, c := range r.Cells {
				fmt.Fprintf(&b, " %s |", c.Text())
			}
			b.WriteString("\n")
		}
		b.WriteString("\nMacro averages over the listed query languages only (the main table averages over all of them); not tested for significance.\n")
	}
	return b.String()
}

// summarySVG draws the key plot: per dataset, grouped bars of multi mAP
// and rank distance per system. The SVG is self-contained (presentation
// attributes only) so it can be embedded in a README.
func summarySVG(title string, ms []tables.Metric) string {
	idx := map[mkey]tables.Metric{}
	for _, m := range ms {
		idx[mkey{m.RunID, m.Dataset, m.Setting, m.Metric, m.QLang, m.CLang}] = m
	}
	runs := runIDs(ms)
	panels := []col{{"multi", "map", "multi mAP (higher is better)"}, {"multi", "rd", "rank distance (lower is better)"}}
	var datasets []string
	for _, m := range ms {
		if m.QLang == "all" && m.CLang == "all" && m.Setting == "multi" && (m.Metric == "map" || m.Metric == "rd") && !slices.Contains(datasets, m.Dataset) {
			datasets = append(datasets, m.Dataset)
		}
	}
	slices.Sort(datasets)
	const pw, ph, left, top, gap = 360, 170, 52, 30, 24
	legendH := 18 * ((len(runs) + 2) / 3)
	head := 28 + legendH
	w := 2*(pw+left) + gap + 10
	h := head + max(1, len(datasets))*(ph+top+40)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="system-ui,-apple-system,'Segoe UI',sans-serif" font-size="11" role="img" aria-label="%s">`,
		w, h, w, h, html.EscapeString(title))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`, w, h)
	fmt.Fprintf(&b, `<text x="%d" y="18" text-anchor="middle" font-size="14" font-weight="600">%s</text>`, w/2, html.EscapeString(title))
	for i, r := range runs {
		x, y := 20+(i%3)*((w-40)/3), 34+(i/3)*18
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`, x, y, palette[i%len(palette)], x+16, y+10, html.EscapeString(r))
	}
	if len(datasets) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="#888">no multi mAP or RD rows</text></svg>`, w/2, head+40)
		return b.String()
	}
	for di, ds := range datasets {
		y0 := head + di*(ph+top+40)
		for pi, p := range panels {
			x0 := 10 + pi*(pw+left+gap) + left
			type bar struct {
				run int
				v   float64
			}
			var bars []bar
			maxV := 0.0
			for ri, r := range runs {
				if m, ok := idx[mkey{r, ds, p.Setting, p.Metric, "all", "all"}]; ok {
					bars = append(bars, bar{ri, m.Value})
					maxV = math.Max(maxV, m.Value)
				}
			}
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-weight="600">%s · %s</text>`, x0+pw/2, y0+top-10, html.EscapeString(ds), p.Label)
			base := y0 + top + ph
			if len(bars) == 0 {
				fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="#888">not measured</text>`, x0+pw/2, y0+top+ph/2)
				continue
			}
			if maxV <= 0 {
				maxV = 1
			}
			// headroom for the value labels above the bars
			scale := maxV * 1.15
			ticks := niceTicks(0, scale, 4)
			for _, t := range ticks {
				if t > scale {
					continue
				}
				y := float64(base) - t/scale*ph
				fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e3e3e3"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`, x0, x0+pw, y, y, x0-4, y+4, fmtTick(t))
			}
			bw := math.Min(48, float64(pw-10)/float64(len(bars))-6)
			for i, br := range bars {
				x := float64(x0) + 8 + float64(i)*(bw+6)
				bh := br.v / scale * ph
				c := cell{Metric: p.Metric, Value: br.v, Present: true}
				fmt.Fprintf(&b, `<g><title>%s · %s: %s</title><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/><text x="%.1f" y="%.1f" text-anchor="middle" font-size="10">%s</text></g>`,
					html.EscapeString(runs[br.run]), html.EscapeString(ds), c.Text(), x, float64(base)-bh, bw, bh, palette[br.run%len(palette)], x+bw/2, float64(base)-bh-3, c.Text())
			}
			fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#888"/>`, x0, x0+pw, base, base)
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}
