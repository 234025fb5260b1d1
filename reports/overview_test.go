package reports

import (
	"html"
	"image"
	"image/png"
	"os"
	"regexp"
	"strings"
	"testing"
)

var (
	tradeoffRowRE = regexp.MustCompile(`<tr(?: class="ref")? data-name="([^"]*)"><td class="label">[^<]*</td>\s*<td[^>]*>([^<]*)</td><td class="ci"[^>]*>([^<]*)</td>\s*<td[^>]*>([^<]*)</td><td class="ci"[^>]*>([^<]*)</td></tr>`)
	pointRE       = regexp.MustCompile(`<g class="point" data-name="([^"]*)"><title>([^<]*)</title>`)
	barTitleRE    = regexp.MustCompile(`<rect [^>]*fill="#[0-9A-Fa-f]{6}"[^>]*><title>([^<]*)</title></rect>`)
	langTableRE   = regexp.MustCompile(`(?s)<table class="langbars-table" data-dataset="([^"]*)" data-metric="([^"]*)"><thead><tr><th class="label">system</th>(.*?)</tr></thead>\s*<tbody>(.*?)</tbody>`)
	thRE          = regexp.MustCompile(`<th>([^<]*)</th>`)
	trRE          = regexp.MustCompile(`(?s)<tr><td class="label">([^<]*)</td>(.*?)</tr>`)
	tdRE          = regexp.MustCompile(`<td[^>]*>([^<]*)</td>`)
)

// checkOverview checks the charts at the top of a rendered report (Go's
// output or Chromium's DOM): a trade-off chart with a point for every
// row of its table, whose hover title carries the row's numbers (mAP,
// RD and both intervals); the paper's reference points; and the bias bar
// charts, whose bar titles carry their table's numbers.
func checkOverview(t *testing.T, page string, runs []string) {
	t.Helper()
	if i, j := strings.Index(page, `id="glance"`), strings.Index(page, `id="summary"`); i < 0 || j < 0 || i > j {
		t.Errorf("the trade-off charts are not at the top of the page (glance at %d, summary at %d)", i, j)
	}
	titles := map[string]string{}
	for _, m := range pointRE.FindAllStringSubmatch(page, -1) {
		titles[html.UnescapeString(m[1])] = html.UnescapeString(m[2])
	}
	rows := tradeoffRowRE.FindAllStringSubmatch(page, -1)
	seen, refs, withCI := map[string]bool{}, 0, 0
	for _, m := range rows {
		name, mapV, mapCI, rdV, rdCI := html.UnescapeString(m[1]), m[2], m[3], m[4], m[5]
		seen[name] = true
		title, ok := titles[name]
		if !ok {
			t.Errorf("table row %q has no point in the chart", name)
			continue
		}
		want := name + ": x " + rdV + ", y " + mapV
		if !strings.HasPrefix(title, want) {
			t.Errorf("point %q: hover %q does not start with the table's numbers %q", name, title, want)
		}
		if strings.HasPrefix(name, "paper ") {
			refs++
			if mapCI != "–" || rdCI != "–" {
				t.Errorf("reference %q has intervals %s %s", name, mapCI, rdCI)
			}
			continue
		}
		if mapCI == "–" || rdCI == "–" {
			t.Errorf("system %q has no interval (mAP %s, RD %s)", name, mapCI, rdCI)
			continue
		}
		withCI++
		for _, w := range []string{"x 95% CI " + rdCI, "y 95% CI " + mapCI} {
			if !strings.Contains(title, w) {
				t.Errorf("point %q: hover %q lacks the table's %q", name, title, w)
			}
		}
	}
	for _, r := range runs {
		if !seen[r] {
			t.Errorf("trade-off table lacks system %q", r)
		}
	}
	if refs < 6 || withCI != len(runs) {
		t.Errorf("trade-off table: %d paper rows (want 6 for xquad-r), %d systems with intervals (want %d)", refs, withCI, len(runs))
	}
	// bias bars: every table number is the hover title of its bar
	barTitles := map[string]bool{}
	for _, m := range barTitleRE.FindAllStringSubmatch(page, -1) {
		barTitles[html.UnescapeString(m[1])] = true
	}
	metrics := map[string]bool{}
	for _, tm := range langTableRE.FindAllStringSubmatch(page, -1) {
		metrics[tm[2]] = true
		var langs []string
		for _, h := range thRE.FindAllStringSubmatch(tm[3], -1) {
			langs = append(langs, h[1])
		}
		n := 0
		for _, r := range trRE.FindAllStringSubmatch(tm[4], -1) {
			run := html.UnescapeString(r[1])
			for i, td := range tdRE.FindAllStringSubmatch(r[2], -1) {
				if td[1] == "–" {
					continue
				}
				n++
				if want := run + " · " + langs[i] + ": " + td[1]; !barTitles[want] {
					t.Errorf("%s %s: no bar with hover %q", tm[1], tm[2], want)
				}
			}
		}
		if n < 2*len(runs) {
			t.Errorf("%s %s: only %d numbers in the table", tm[1], tm[2], n)
		}
	}
	for _, m := range []string{"pref@10", "peer@100"} {
		if !metrics[m] {
			t.Errorf("no %s bar chart with its table", m)
		}
	}
}

// checkTopShot checks the screenshot of the top of the page: a PNG of the
// viewport's size, not blank, with several distinct colours, among them
// the dots of the trade-off chart (the palette's first colour).
func checkTopShot(t *testing.T, path string, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("top screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("top screenshot %s is not a PNG: %v", path, err)
	}
	if b := img.Bounds(); b != image.Rect(0, 0, w, h) {
		t.Errorf("top screenshot is %v, want %dx%d", b, w, h)
	}
	colours := map[[3]uint32]int{}
	nonWhite := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			c := [3]uint32{r >> 8, g >> 8, bl >> 8}
			colours[c]++
			if c != [3]uint32{255, 255, 255} {
				nonWhite++
			}
		}
	}
	if frac := float64(nonWhite) / float64(b.Dx()*b.Dy()); frac < 0.01 {
		t.Errorf("top screenshot is blank: %.4f of the pixels are not white", frac)
	}
	if len(colours) < 16 {
		t.Errorf("top screenshot has only %d distinct colours", len(colours))
	}
	// the palette's first two colours (#0072B2, #D55E00): the points of the first two systems
	for _, c := range [][3]uint32{{0x00, 0x72, 0xB2}, {0xD5, 0x5E, 0x00}} {
		if colours[c] < 10 {
			t.Errorf("top screenshot: colour %02x%02x%02x on %d pixels, want the chart's points", c[0], c[1], c[2], colours[c])
		}
	}
}
