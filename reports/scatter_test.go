package reports

import (
	"math"
	"strings"
	"testing"
)

func TestScatterChart(t *testing.T) {
	nan := math.NaN()
	svg := string(ScatterChart([]Point{
		{Name: "tiny-hybrid", X: 9610, Y: 0.091, XLo: 9500, XHi: 9700, YLo: 0.088, YHi: 0.094},
		{Name: "bm25", X: 12000, Y: 0.12, XLo: nan, XHi: nan, YLo: nan, YHi: nan},
		{Name: "paper LaBSE hybrid", X: 195, Y: 0.579, XLo: nan, XHi: nan, YLo: nan, YHi: nan, Ref: true},
		{Name: "broken", X: nan, Y: 1},
	}, ChartOptions{Title: "xquad-r", XLabel: "rank distance", YLabel: "multi mAP"}))
	for _, want := range []string{
		`data-name="tiny-hybrid"`, "tiny-hybrid: x 9610.0, y 0.0910; x 95% CI [9500.0, 9700.0]; y 95% CI [0.0880, 0.0940]",
		`data-name="paper LaBSE hybrid"`, "bm25: x 12000.0, y 0.1200</title>", ">rank distance<", ">multi mAP<",
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("scatter lacks %q:\n%s", want, svg)
		}
	}
	if strings.Contains(svg, "broken") {
		t.Error("a point without coordinates was drawn")
	}
	if n := strings.Count(svg, `stroke-width="1.2"/>`); n != 2+1 { // tiny-hybrid's two whiskers, the reference diamond
		t.Errorf("%d whiskers and reference outlines, want 3", n)
	}
	if !strings.Contains(string(ScatterChart(nil, ChartOptions{Title: "x"})), "no data") {
		t.Error("empty chart says nothing")
	}
}

func TestBarChart(t *testing.T) {
	svg := string(BarChart([]string{"tiny-mono", "tiny-hybrid"}, []BarGroup{
		{Label: "de", Values: []float64{2.5, 1.5}}, {Label: "en", Values: []float64{1.2, math.NaN()}},
	}, 1, ChartOptions{Title: "pref@10", YLabel: "preference"}))
	for _, want := range []string{"tiny-mono · de: 2.5000", "tiny-hybrid · de: 1.5000", "tiny-mono · en: 1.2000", `class="ref"`, ">de<", ">en<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("bar chart lacks %q", want)
		}
	}
	if strings.Contains(svg, "tiny-hybrid · en") {
		t.Error("a NaN bar was drawn")
	}
	if n := strings.Count(svg, "<title>"); n != 3 {
		t.Errorf("%d bars with hover text, want 3", n)
	}
}
