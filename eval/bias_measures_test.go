package eval

import (
	"math"
	"testing"

	"github.com/lair-ir/lair/eval/metrics"
)

// One multi-setting row, by hand. Pool: en c1 c2, de c3 c4; the English
// query's relevant candidates are c2 (en) and c3 (de); the ranking is
// c3 c1 c2 c4. rd = 3-1 = 2, rd_norm = 2/4; the first relevant hit is
// German; half the top 10 (all 4) is English, as is half the pool:
// pref = 1. PEER@100 (k = 4): grade 0 en {2} de {4}, grade 1 de {1} en {3}:
// both H = 1, p = erfc(sqrt(1/2)), so PEER = erfc(sqrt(1/2)).
func TestNewBiasMeasuresHandComputed(t *testing.T) {
	specs, err := metrics.ParseAll([]string{"map"})
	if err != nil {
		t.Fatal(err)
	}
	candLang := map[string]string{"c1": "en", "c2": "en", "c3": "de", "c4": "de"}
	ev := NewEvaluator(specs, true, candLang, []string{"de", "en"}, nil)
	err = ev.Add(&Ranking{RunID: "r", Dataset: "d", Setting: Multi, QID: "q", QLang: "en", CLang: All, PoolSize: 4,
		RelCIDs: []string{"c3", "c2"}, RelLangs: []string{"de", "en"}, RelGrades: []int32{1, 1}, RelRanks: []int32{1, 3},
		RelScores: []float32{0.9, 0.5}, TopCIDs: []string{"c3", "c1", "c2", "c4"}, TopScores: []float32{0.9, 0.7, 0.5, 0.1}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, m := range ev.Metrics() {
		got[m.Metric+"/"+m.QLang+"/"+m.CLang] = m.Value
	}
	want := map[string]float64{
		"rd_norm/all/all":        0.5,
		"pref@10/all/all":        1,
		"pref@100/all/all":       1,
		"peer@100/all/all":       math.Erfc(math.Sqrt(0.5)),
		"first_rel_share/all/de": 1,
		"first_rel_share/all/en": 0,
		"rd/all/all":             2,
	}
	for k, v := range want {
		g, ok := got[k]
		if !ok || math.Abs(g-v) > 1e-9 {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}
