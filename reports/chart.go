package reports

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// Series is one line of a chart.
type Series struct {
	Name string
	X, Y []float64
	// Lo and Hi, when set (same length as X), draw a shaded band around
	// the line (e.g. a confidence interval).
	Lo, Hi []float64
	// Dash draws a dashed line (e.g. a reference level); Markers draws a
	// dot on every point.
	Dash, Markers bool
}

// ChartOptions size and label a chart.
type ChartOptions struct {
	Title, XLabel, YLabel string
	Width, Height         int  // pixels (default 560 x 300)
	HideXTicks            bool // no numeric x ticks (bar charts label their groups)
}

// palette is a colour-blind-safe qualitative palette (Okabe-Ito).
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"}

// niceTicks returns about n round tick values covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	if !(hi > lo) {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*mag {
			step = m * mag
			break
		}
	}
	var out []float64
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		out = append(out, v)
	}
	return out
}

func fmtTick(v float64) string {
	if math.Abs(v) < 1e-12 {
		v = 0 // not "-0"
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e6 {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}

// LineChart returns an inline SVG line chart of the series. Non-finite
// points (e.g. NaN validation losses on steps without validation) are
// skipped and break the line.
func LineChart(series []Series, opt ChartOptions) template.HTML {
	w, h := opt.size(300)
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for i := range s.X {
			if i >= len(s.Y) || !finite(s.X[i]) || !finite(s.Y[i]) {
				continue
			}
			xmin, xmax = math.Min(xmin, s.X[i]), math.Max(xmax, s.X[i])
			ymin, ymax = math.Min(ymin, s.Y[i]), math.Max(ymax, s.Y[i])
			if i < len(s.Lo) && i < len(s.Hi) && finite(s.Lo[i]) && finite(s.Hi[i]) {
				ymin, ymax = math.Min(ymin, s.Lo[i]), math.Max(ymax, s.Hi[i])
			}
		}
	}
	var b strings.Builder
	openSVG(&b, w, h, opt.Title)
	if math.IsInf(xmin, 1) {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="empty">no data</text></svg>`, w/2, h/2)
		return template.HTML(b.String())
	}
	if xmax == xmin {
		xmax = xmin + 1
	}
	if ymax == ymin {
		ymax, ymin = ymax+0.5, ymin-0.5
	}
	for _, s := range series {
		if len(s.Lo) > 0 || s.Markers { // room for the band edges and the dots
			pad := 0.04 * (ymax - ymin)
			ymin, ymax = ymin-pad, ymax+pad
			break
		}
	}
	f := newFrame(&b, w, h, xmin, xmax, ymin, ymax, opt)
	px, py, left, top, pw := f.px, f.py, f.left, f.top, f.pw
	for si, s := range series {
		color := palette[si%len(palette)]
		if len(s.Lo) == len(s.X) && len(s.Hi) == len(s.X) {
			// band: along Hi, back along Lo, over the finite points
			var fwd, back []string
			for i := range s.X {
				if i >= len(s.Y) || !finite(s.X[i]) || !finite(s.Lo[i]) || !finite(s.Hi[i]) {
					continue
				}
				fwd = append(fwd, fmt.Sprintf("%.1f %.1f", px(s.X[i]), py(s.Hi[i])))
				back = append([]string{fmt.Sprintf("%.1f %.1f", px(s.X[i]), py(s.Lo[i]))}, back...)
			}
			if len(fwd) > 0 {
				fmt.Fprintf(&b, `<path d="M%s Z" fill="%s" fill-opacity="0.18" stroke="none" data-band="%s"/>`,
					strings.Join(append(fwd, back...), " L"), color, html.EscapeString(s.Name))
			}
		}
		var d strings.Builder
		pen := false
		for i := range s.X {
			if i >= len(s.Y) || !finite(s.X[i]) || !finite(s.Y[i]) {
				pen = false
				continue
			}
			cmd := "L"
			if !pen {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%.1f %.1f ", cmd, px(s.X[i]), py(s.Y[i]))
			pen = true
		}
		dash := ""
		if s.Dash {
			dash = ` stroke-dasharray="5 4"`
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="1.6"%s data-series="%s"/>`, strings.TrimSpace(d.String()), color, dash, html.EscapeString(s.Name))
		if s.Markers {
			for i := range s.X {
				if i < len(s.Y) && finite(s.X[i]) && finite(s.Y[i]) {
					fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.6" fill="%s"/>`, px(s.X[i]), py(s.Y[i]), color)
				}
			}
		}
		ly := top + 4 + float64(si)*14
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="10" height="3" fill="%s"/><text x="%.1f" y="%.1f" class="legend">%s</text>`,
			left+pw-150, ly+4, color, left+pw-136, ly+9, html.EscapeString(s.Name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// heatColor maps v in [0,1] to a white-to-blue colour.
func heatColor(v float64) string {
	v = math.Max(0, math.Min(1, v))
	r := int(247 - v*(247-8))
	g := int(251 - v*(251-69))
	b := int(255 - v*(255-148))
	return fmt.Sprintf("#%02x%02x%02x", r, g, b)
}

// frame is a chart's plot area: its scales and its drawn axes.
type frame struct {
	left, top, pw, ph float64
	px, py            func(float64) float64
}

// Margins of every chart's plot area, in pixels.
const chartLeft, chartRight, chartTop, chartBottom = 56.0, 16.0, 28.0, 44.0

// newFrame draws the plot rectangle, grid, ticks and axis labels of a
// w x h chart over [xmin,xmax] x [ymin,ymax] and returns its scales.
func newFrame(b *strings.Builder, w, h int, xmin, xmax, ymin, ymax float64, opt ChartOptions) frame {
	left, top := chartLeft, chartTop
	pw, ph := float64(w)-chartLeft-chartRight, float64(h)-chartTop-chartBottom
	px := func(x float64) float64 { return left + (x-xmin)/(xmax-xmin)*pw }
	py := func(y float64) float64 { return top + (1-(y-ymin)/(ymax-ymin))*ph }
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="plot"/>`, left, top, pw, ph)
	for _, t := range niceTicks(ymin, ymax, 5) {
		if t < ymin-1e-12 || t > ymax+1e-12 {
			continue
		}
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="grid"/><text x="%.1f" y="%.1f" class="ytick">%s</text>`,
			left, left+pw, py(t), py(t), left-4, py(t)+4, fmtTick(t))
	}
	for _, t := range niceTicks(xmin, xmax, 6) {
		if opt.HideXTicks || t < xmin-1e-12 || t > xmax+1e-12 {
			continue
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="xtick">%s</text>`, px(t), top+ph+14, fmtTick(t))
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%d" class="xlabel">%s</text>`, left+pw/2, h-6, html.EscapeString(opt.XLabel))
	fmt.Fprintf(b, `<text x="12" y="%.1f" class="ylabel" transform="rotate(-90 12 %.1f)">%s</text>`, top+ph/2, top+ph/2, html.EscapeString(opt.YLabel))
	return frame{left: left, top: top, pw: pw, ph: ph, px: px, py: py}
}

// size returns the chart's width and height: opt's, or 560 x defaultH.
func (opt ChartOptions) size(defaultH int) (w, h int) {
	w, h = opt.Width, opt.Height
	if w <= 0 {
		w = 560
	}
	if h <= 0 {
		h = defaultH
	}
	return w, h
}

// openSVG starts an inline SVG chart of w x h with its title.
func openSVG(b *strings.Builder, w, h int, title string) {
	fmt.Fprintf(b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		w, h, w, h, html.EscapeString(title))
	fmt.Fprintf(b, `<text x="%d" y="18" class="title">%s</text>`, w/2, html.EscapeString(title))
}
