package stats

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/lair-ir/lair/tables"
)

func TestBand(t *testing.T) {
	for _, c := range []struct {
		vs           []float64
		mean, lo, hi float64
		kind         string
	}{
		{[]float64{0.5}, 0.5, 0.5, 0.5, BandNone},
		{[]float64{0.4, 0.2}, 0.3, 0.2, 0.4, BandMinMax},
		// mean 2, sd 1, n 3: half width 4.303 * 1 / sqrt(3)
		{[]float64{1, 2, 3}, 2, 2 - 4.303/math.Sqrt(3), 2 + 4.303/math.Sqrt(3), BandT95},
	} {
		m, lo, hi, k := Band(c.vs)
		if math.Abs(m-c.mean) > 1e-12 || math.Abs(lo-c.lo) > 1e-12 || math.Abs(hi-c.hi) > 1e-12 || k != c.kind {
			t.Errorf("Band(%v) = %v [%v, %v] %s, want %v [%v, %v] %s", c.vs, m, lo, hi, k, c.mean, c.lo, c.hi, c.kind)
		}
	}
	// beyond the table: within 1e-3 of the exact quantiles
	for df, want := range map[int]float64{40: 2.0211, 60: 2.0003, 120: 1.9799} {
		if got := TQuantile975(df); math.Abs(got-want) > 1e-3 {
			t.Errorf("t(%d) = %v, want %v", df, got, want)
		}
	}
}

func TestCompare(t *testing.T) {
	var rows []tables.PerQuery
	r := rand.New(rand.NewPCG(2, 2))
	for i := 0; i < 60; i++ {
		lang := []string{"en", "de", "zh"}[i%3]
		qid := string(rune('a'+i%26)) + lang + string(rune('0'+i/26))
		v := r.Float64()
		rows = append(rows,
			tables.PerQuery{RunID: "base", Dataset: "d", Setting: "mono", QID: qid, Lang: lang, CLang: lang, Metric: "map", Value: v},
			tables.PerQuery{RunID: "better", Dataset: "d", Setting: "mono", QID: qid, Lang: lang, CLang: lang, Metric: "map", Value: math.Min(1, v+0.2)})
		// cross: two candidate languages per query, averaged into one unit
		for _, cl := range []string{"x", "y"} {
			rows = append(rows,
				tables.PerQuery{RunID: "base", Dataset: "d", Setting: "cross", QID: qid, Lang: lang, CLang: cl, Metric: "map", Value: 0.5},
				tables.PerQuery{RunID: "better", Dataset: "d", Setting: "cross", QID: qid, Lang: lang, CLang: cl, Metric: "map", Value: 0.5})
		}
	}
	path := filepath.Join(t.TempDir(), tables.PerQueryFile)
	if err := tables.Write(path, rows, nil); err != nil {
		t.Fatal(err)
	}
	ix, err := tables.IndexPerQuery([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := Compare(context.Background(), ix, "base", []string{"better"}, Options{Permutations: 1000, Bootstrap: 200, Seed: 1, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 8 { // (mono, cross) x (all, de, en, zh)
		t.Fatalf("%d comparisons: %+v", len(cs), cs)
	}
	for _, c := range cs {
		switch c.Setting {
		case "mono":
			if c.Delta <= 0 || c.P > 0.01 || c.PHolm < c.P || c.Losses != 0 {
				t.Errorf("mono %s: %+v", c.Lang, c)
			}
			if c.Lang == "all" && c.N != 60 || c.Lang != "all" && c.N != 20 {
				t.Errorf("mono %s: n = %d", c.Lang, c.N)
			}
		case "cross":
			if c.Delta != 0 || c.P != 1 || c.Ties != c.N {
				t.Errorf("cross %s: %+v", c.Lang, c)
			}
		}
	}
	if _, err := Compare(context.Background(), ix, "nope", nil, Options{}); err == nil {
		t.Error("unknown baseline accepted")
	}
	if _, err := Compare(context.Background(), ix, "base", []string{"nope"}, Options{}); err == nil {
		t.Error("unknown run accepted")
	}
}
