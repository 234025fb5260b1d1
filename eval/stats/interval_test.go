package stats

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/lair-ir/lair/tables"
)

// TestMacroIntervals checks a case small enough to do by hand. Run "a",
// multi setting, map: en has the per-query values {0, 1} and de {1, 1, 1},
// so the macro average is (0.5 + 1) / 2 = 0.75. A stratified resample
// leaves de's mean at 1 and gives en's mean 0, 0.5 or 1 with probability
// 1/4, 1/2, 1/4: the macro average is 0.5, 0.75 or 1, so the 95%
// interval is [0.5, 1] and the 40% interval (quantiles 0.3 and 0.7) is
// [0.75, 0.75]. rd has one language {2, 4, 6}: mean 4. Rows with another
// c_lang, another metric or another setting do not count.
func TestMacroIntervals(t *testing.T) {
	pq := func(setting, qid, lang, clang, metric string, v float64) tables.PerQuery {
		return tables.PerQuery{RunID: "a", Dataset: "d", Setting: setting, QID: qid, Lang: lang, CLang: clang, Metric: metric, Value: v}
	}
	rows := []tables.PerQuery{
		pq("mono", "m1", "en", "en", "map", 0.1),
		pq("multi", "q1", "en", "all", "map", 0), pq("multi", "q2", "en", "all", "map", 1),
		pq("multi", "q3", "de", "all", "map", 1), pq("multi", "q4", "de", "all", "map", 1), pq("multi", "q5", "de", "all", "map", 1),
		pq("multi", "q1", "en", "de", "first_rel_share", 1), // per candidate language: ignored
		pq("multi", "q1", "en", "en", "map", 0.9),           // not c_lang all: ignored
		pq("multi", "q1", "en", "all", "r@10", 0.2),         // not asked for
		pq("multi", "q1", "en", "all", "rd", 2), pq("multi", "q2", "en", "all", "rd", 4), pq("multi", "q6", "en", "all", "rd", 6),
	}
	path := filepath.Join(t.TempDir(), tables.PerQueryFile)
	if err := tables.Write(path, rows, nil); err != nil {
		t.Fatal(err)
	}
	ix, err := tables.IndexPerQuery([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := MacroIntervals(ctx, ix, IntervalOptions{Setting: "multi", Metrics: []string{"map", "rd"}, Bootstrap: 2000, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d intervals, want 2 (map, rd): %+v", len(got), got)
	}
	want := []Interval{
		{Run: "a", Dataset: "d", Setting: "multi", Metric: "map", N: 5, Langs: 2, Mean: 0.75, Lo: 0.5, Hi: 1},
		{Run: "a", Dataset: "d", Setting: "multi", Metric: "rd", N: 3, Langs: 1, Mean: 4},
	}
	for i, w := range want {
		g := got[i]
		if g.Run != w.Run || g.Dataset != w.Dataset || g.Setting != w.Setting || g.Metric != w.Metric || g.N != w.N || g.Langs != w.Langs || math.Abs(g.Mean-w.Mean) > 1e-12 {
			t.Errorf("interval %d = %+v, want %+v", i, g, w)
		}
	}
	if got[0].Lo != 0.5 || got[0].Hi != 1 {
		t.Errorf("map 95%% interval [%v, %v], want [0.5, 1]", got[0].Lo, got[0].Hi)
	}
	// rd: resampled means of {2, 4, 6} lie in [2, 6] and straddle 4
	if !(got[1].Lo >= 2 && got[1].Lo < 4 && got[1].Hi > 4 && got[1].Hi <= 6) {
		t.Errorf("rd interval [%v, %v], want within [2, 6] around 4", got[1].Lo, got[1].Hi)
	}
	narrow, err := MacroIntervals(ctx, ix, IntervalOptions{Setting: "multi", Metrics: []string{"map"}, Bootstrap: 2000, Level: 0.4, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if len(narrow) != 1 || narrow[0].Lo != 0.75 || narrow[0].Hi != 0.75 {
		t.Errorf("40%% interval %+v, want [0.75, 0.75]", narrow)
	}
	// same seed, same bits
	again, _ := MacroIntervals(ctx, ix, IntervalOptions{Setting: "multi", Metrics: []string{"map", "rd"}, Bootstrap: 2000, Seed: 7})
	for i := range got {
		if again[i] != got[i] {
			t.Errorf("not deterministic: %+v then %+v", got[i], again[i])
		}
	}
	if _, err := MacroIntervals(ctx, ix, IntervalOptions{Setting: "multi"}); err == nil {
		t.Error("no metrics: want an error")
	}
}

// BenchmarkMacroIntervals: one run on an XQuAD-R-sized multi slice
// (11 query languages x 1,190 queries), map and rd, 1,000 resamples.
func BenchmarkMacroIntervals(b *testing.B) {
	langs := []string{"ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"}
	var rows []tables.PerQuery
	for li, l := range langs {
		for q := range 1190 {
			qid := l + "-" + string(rune('a'+q%26)) + string(rune('a'+q/26%26)) + string(rune('a'+q/676))
			v := float64((q*7+li)%100) / 100
			rows = append(rows,
				tables.PerQuery{RunID: "a", Dataset: "xquad-r", Setting: "multi", QID: qid, Lang: l, CLang: "all", Metric: "map", Value: v},
				tables.PerQuery{RunID: "a", Dataset: "xquad-r", Setting: "multi", QID: qid, Lang: l, CLang: "all", Metric: "rd", Value: 1000 * v})
		}
	}
	path := filepath.Join(b.TempDir(), tables.PerQueryFile)
	if err := tables.Write(path, rows, nil); err != nil {
		b.Fatal(err)
	}
	ix, err := tables.IndexPerQuery([]string{path})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := MacroIntervals(context.Background(), ix, IntervalOptions{Setting: "multi", Metrics: []string{"map", "rd"}, Bootstrap: 1000, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
