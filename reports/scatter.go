package reports

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// Point is one system on a scatter chart: its position and, when known
// (not NaN), a confidence interval on each axis.
type Point struct {
	Name               string
	X, Y               float64
	XLo, XHi, YLo, YHi float64
	// Ref marks a reference point (e.g. the paper's numbers): drawn as a
	// hollow diamond, without intervals.
	Ref bool
}

// pointTitle is the hover text of a point.
func pointTitle(p Point) string {
	s := fmt.Sprintf("%s: x %s, y %s", p.Name, fmtNum(p.X), fmtNum(p.Y))
	if finite(p.XLo) && finite(p.XHi) {
		s += fmt.Sprintf("; x 95%% CI [%s, %s]", fmtNum(p.XLo), fmtNum(p.XHi))
	}
	if finite(p.YLo) && finite(p.YHi) {
		s += fmt.Sprintf("; y 95%% CI [%s, %s]", fmtNum(p.YLo), fmtNum(p.YHi))
	}
	return s
}

func fmtNum(v float64) string {
	if math.Abs(v) >= 10 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.4f", v)
}

// ScatterChart returns an inline SVG scatter chart: one dot per point with
// its interval whiskers, its name beside it and its numbers on hover.
func ScatterChart(points []Point, opt ChartOptions) template.HTML {
	w, h := opt.size(320)
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	grow := func(x, y float64) {
		if finite(x) {
			xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
		}
		if finite(y) {
			ymin, ymax = math.Min(ymin, y), math.Max(ymax, y)
		}
	}
	for _, p := range points {
		if !finite(p.X) || !finite(p.Y) {
			continue
		}
		grow(p.X, p.Y)
		grow(p.XLo, p.YLo)
		grow(p.XHi, p.YHi)
	}
	var b strings.Builder
	openSVG(&b, w, h, opt.Title)
	if math.IsInf(xmin, 1) {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="empty">no data</text></svg>`, w/2, h/2)
		return template.HTML(b.String())
	}
	padX, padY := 0.06*(xmax-xmin), 0.08*(ymax-ymin)
	if padX == 0 {
		padX = math.Max(math.Abs(xmin)*0.1, 1)
	}
	if padY == 0 {
		padY = math.Max(math.Abs(ymin)*0.1, 0.01)
	}
	xmin, xmax, ymin, ymax = xmin-padX, xmax+padX, ymin-padY, ymax+padY
	f := newFrame(&b, w, h, xmin, xmax, ymin, ymax, opt)
	ci := 0
	var lp labelPlacer
	lp.w = float64(w)
	for _, p := range points {
		if !finite(p.X) || !finite(p.Y) {
			continue
		}
		x, y := f.px(p.X), f.py(p.Y)
		fmt.Fprintf(&b, `<g class="point" data-name="%s"><title>%s</title>`, html.EscapeString(p.Name), html.EscapeString(pointTitle(p)))
		if p.Ref {
			fmt.Fprintf(&b, `<path d="M%.1f %.1f l5 5 l-5 5 l-5 -5 Z" fill="none" stroke="#555" stroke-width="1.2"/>`, x, y-5)
			lx, ly, anchor := lp.place(x, y, p.Name)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="legend ref" text-anchor="%s">%s</text></g>`, lx, ly, anchor, html.EscapeString(p.Name))
			continue
		}
		color := palette[ci%len(palette)]
		ci++
		if finite(p.XLo) && finite(p.XHi) {
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="1.2"/>`, f.px(p.XLo), f.px(p.XHi), y, y, color)
		}
		if finite(p.YLo) && finite(p.YHi) {
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="1.2"/>`, x, x, f.py(p.YLo), f.py(p.YHi), color)
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/>`, x, y, color)
		lx, ly, anchor := lp.place(x, y, p.Name)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="legend" text-anchor="%s">%s</text></g>`, lx, ly, anchor, html.EscapeString(p.Name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// labelPlacer puts the names of scatter points beside them without
// overlapping the names already placed or leaving the chart: it tries
// positions right and left of the point, above and below, and falls
// back to the first.
type labelPlacer struct {
	w     float64
	boxes [][4]float64 // x0, y0, x1, y1
}

func (lp *labelPlacer) place(x, y float64, name string) (lx, ly float64, anchor string) {
	tw := 6.2 * float64(len([]rune(name))) // 11px sans-serif, about 6 px a character
	type cand struct {
		dx, dy float64
		end    bool
	}
	cands := []cand{{7, -6, false}, {7, 13, false}, {-7, -6, true}, {-7, 13, true}, {7, -18, false}, {7, 25, false}, {-7, -18, true}, {-7, 25, true}}
	box := func(c cand) [4]float64 {
		x0 := x + c.dx
		if c.end {
			x0 -= tw
		}
		return [4]float64{x0, y + c.dy - 10, x0 + tw, y + c.dy + 2}
	}
	fits := func(bx [4]float64) bool {
		if bx[0] < 0 || bx[2] > lp.w {
			return false
		}
		for _, o := range lp.boxes {
			if bx[0] < o[2] && o[0] < bx[2] && bx[1] < o[3] && o[1] < bx[3] {
				return false
			}
		}
		return true
	}
	pick := cands[0]
	if !fits(box(pick)) && x+7+tw > lp.w {
		pick = cands[2] // at least inside the chart
	}
	for _, c := range cands {
		if fits(box(c)) {
			pick = c
			break
		}
	}
	lp.boxes = append(lp.boxes, box(pick))
	anchor = "start"
	if pick.end {
		anchor = "end"
	}
	return x + pick.dx, y + pick.dy, anchor
}

// BarGroup is one group of bars (e.g. one query language): one value per
// series, NaN for none.
type BarGroup struct {
	Label  string
	Values []float64
}

// BarChart returns an inline SVG grouped bar chart: one group per
// BarGroup, one coloured bar per series, a dashed line at opt's Ref level
// when given (e.g. 1 = no preference), numbers on hover.
func BarChart(series []string, groups []BarGroup, ref float64, opt ChartOptions) template.HTML {
	w, h := opt.size(280)
	ymin, ymax := 0.0, math.Inf(-1)
	for _, g := range groups {
		for _, v := range g.Values {
			if finite(v) {
				ymin, ymax = math.Min(ymin, v), math.Max(ymax, v)
			}
		}
	}
	if finite(ref) {
		ymax = math.Max(ymax, ref)
	}
	var b strings.Builder
	openSVG(&b, w, h, opt.Title)
	if math.IsInf(ymax, -1) || len(groups) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="empty">no data</text></svg>`, w/2, h/2)
		return template.HTML(b.String())
	}
	ymax += 0.08 * (ymax - ymin)
	if ymax == ymin {
		ymax = ymin + 1
	}
	// headroom above the bars for the legend (one line per series)
	if ph := float64(h) - chartTop - chartBottom; ph > 0 {
		frac := math.Min(0.5, float64(len(series)*14+8)/ph)
		ymax += (ymax - ymin) * frac / (1 - frac)
	}
	legendW := 0.0
	for _, s := range series {
		legendW = math.Max(legendW, 6.2*float64(len([]rune(s)))+24)
	}
	// x runs over group indexes: group i covers [i, i+1)
	f := newFrame(&b, w, h, 0, float64(len(groups)), ymin, ymax, ChartOptions{XLabel: opt.XLabel, YLabel: opt.YLabel, HideXTicks: true})
	bw := 0.8 / float64(max(1, len(series)))
	for gi, g := range groups {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="xtick">%s</text>`, f.px(float64(gi)+0.5), f.top+f.ph+26, html.EscapeString(g.Label))
		for si, v := range g.Values {
			if !finite(v) || si >= len(series) {
				continue
			}
			x0 := f.px(float64(gi) + 0.1 + float64(si)*bw)
			x1 := f.px(float64(gi) + 0.1 + float64(si+1)*bw)
			y0, y1 := f.py(math.Max(0, math.Min(v, 0))), f.py(math.Max(v, 0))
			if v < 0 {
				y0, y1 = f.py(0), f.py(v)
				y0, y1 = y1, y0
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s · %s: %s</title></rect>`,
				x0, math.Min(y0, y1), math.Max(1, x1-x0-1), math.Abs(y1-y0), palette[si%len(palette)],
				html.EscapeString(series[si]), html.EscapeString(g.Label), fmtNum(v))
		}
	}
	if finite(ref) {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#333" stroke-dasharray="5 4" class="ref"/>`,
			f.left, f.left+f.pw, f.py(ref), f.py(ref))
	}
	for si, s := range series {
		ly := f.top + 4 + float64(si)*14
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="10" height="8" fill="%s"/><text x="%.1f" y="%.1f" class="legend">%s</text>`,
			f.left+f.pw-legendW, ly, palette[si%len(palette)], f.left+f.pw-legendW+14, ly+8, html.EscapeString(s))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
