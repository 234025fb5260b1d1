package stats

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lair-ir/lair/tables"
)

func TestSweepPoints(t *testing.T) {
	m := func(run, setting, metric, q string, v float64) tables.Metric {
		return tables.Metric{RunID: run, Dataset: "xq", Setting: setting, Metric: metric, QLang: q, CLang: q, Value: v}
	}
	runs := []SweepRun{
		{ID: "t[a=0,s=1]", System: "t", X: 0, HasX: true}, {ID: "t[a=0,s=2]", System: "t", X: 0, HasX: true},
		{ID: "t[a=1,s=1]", System: "t", X: 1, HasX: true},
		{ID: "bm25", System: "bm25"},
	}
	ms := []tables.Metric{
		m("t[a=0,s=1]", "multi", "map", "all", 0.2), m("t[a=0,s=2]", "multi", "map", "all", 0.4),
		m("t[a=1,s=1]", "multi", "map", "all", 0.5),
		m("t[a=0,s=1]", "multi", "rd", "all", 3), m("t[a=0,s=2]", "multi", "rd", "all", 5),
		m("t[a=0,s=1]", "multi", "map", "de", 0.9), // per language: not a sweep point
		m("t[a=0,s=1]", "mono", "map", "all", 0.9), // not asked for
		m("bm25", "multi", "map", "all", 0.3),
		m("unknown", "multi", "map", "all", 0.7), // not a run of the sweep
	}
	pts, refs := SweepPoints(ms, runs, []SweepMetric{{"multi", "rd", "rd"}, {"multi", "map", "multi map"}})
	var got []string
	for _, p := range pts {
		got = append(got, fmt.Sprintf("%s %s x=%g mean=%.2f [%.2f, %.2f] n=%d %s", p.Setting, p.Metric, p.X, p.Mean, p.Lo, p.Hi, p.N, p.Band))
	}
	want := []string{ // metrics in the order asked (rd first), then system and x
		"t rd x=0 mean=4.00 [3.00, 5.00] n=2 minmax",
		"t multi map x=0 mean=0.30 [0.20, 0.40] n=2 minmax",
		"t multi map x=1 mean=0.50 [0.50, 0.50] n=1 none",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("points:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(refs) != 1 || refs[0] != (SweepRef{Dataset: "xq", Name: "bm25", Metric: "multi map", Value: 0.3, N: 1}) {
		t.Errorf("refs = %+v", refs)
	}
}
