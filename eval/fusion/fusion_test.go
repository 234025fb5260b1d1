package fusion

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lair-ir/lair/eval"
	"github.com/lair-ir/lair/tables"
)

// row is one multi-setting ranking of query q1 over the pool {a,b,c,d,e},
// where c (English) and e (German) are relevant.
func row(run string, cids []string, scores []float32, relRanks []int32) eval.Ranking {
	return eval.Ranking{RunID: run, Dataset: "toy", Setting: eval.Multi, QID: "q1", QLang: "en", CLang: eval.All, PoolSize: 5,
		RelCIDs: []string{"c", "e"}, RelLangs: []string{"en", "de"}, RelGrades: []int32{1, 1}, RelRanks: relRanks,
		RelScores: []float32{0, 0}, TopCIDs: cids, TopScores: scores}
}

func inputs() []Input {
	return []Input{
		{Path: "bm25/rankings.parquet", Rows: []eval.Ranking{row("bm25", []string{"a", "b", "c"}, []float32{3, 2, 1}, []int32{3, 5})}},
		{Path: "dense/rankings.parquet", Rows: []eval.Ranking{row("dense", []string{"c", "d", "a"}, []float32{0.9, 0.5, 0.1}, []int32{1, 4})}},
	}
}

func fuseOne(t *testing.T, in []Input, opt Options) (eval.Ranking, Stats) {
	t.Helper()
	var got []eval.Ranking
	st, err := Fuse(context.Background(), in, opt, func(b []eval.Ranking) error { got = append(got, b...); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || st.Rows != 1 {
		t.Fatalf("got %d rows (stats %d), want 1", len(got), st.Rows)
	}
	return got[0], st
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// Hand-computed: with k = 1, a = 1/2+1/4, b = 1/3, c = 1/4+1/2, d = 1/3;
// ties by id: a, c, b, d. e was retrieved by nobody (exact input ranks 5
// and 4): its estimate 2/(1/6+1/5) - 1 = 4.45 is inside the union of 4, so
// it is placed right after it, at 5.
func TestRRFHandComputed(t *testing.T) {
	r, st := fuseOne(t, inputs(), Options{Method: RRF, K: 1, RunID: "bm25+dense"})
	if want := []string{"a", "c", "b", "d"}; !slices.Equal(r.TopCIDs, want) {
		t.Fatalf("top = %v, want %v", r.TopCIDs, want)
	}
	for i, want := range []float64{0.75, 0.75, 1.0 / 3, 1.0 / 3} {
		if !near(float64(r.TopScores[i]), want) {
			t.Errorf("score %d = %v, want %v", i, r.TopScores[i], want)
		}
	}
	if !slices.Equal(r.RelCIDs, []string{"c", "e"}) || !slices.Equal(r.RelRanks, []int32{2, 5}) {
		t.Errorf("relevant %v at %v, want [c e] at [2 5]", r.RelCIDs, r.RelRanks)
	}
	if st.Unretrieved != 1 || r.RunID != "bm25+dense" || r.PoolSize != 5 {
		t.Errorf("unretrieved %d run %q pool %d", st.Unretrieved, r.RunID, r.PoolSize)
	}
}

// RRF's default k is 60: a = 1/61+1/63 beats c = 1/63+1/61 only by the id tie rule.
func TestRRFDefaultK(t *testing.T) {
	r, _ := fuseOne(t, inputs(), Options{Method: RRF, RunID: "f"})
	if !near(float64(r.TopScores[0]), 1.0/61+1.0/63) {
		t.Errorf("top score %v, want %v", r.TopScores[0], 1.0/61+1.0/63)
	}
}

// Min-max: bm25 a=1 b=.5 c=0, dense c=1 d=.5 a=0, a missing candidate
// gets 0. Weights 2:1 give a=2, b=1, c=1, d=.5.
func TestScoreFusionMinMaxWeighted(t *testing.T) {
	r, _ := fuseOne(t, inputs(), Options{Method: Score, Norm: MinMax, Weights: []float64{2, 1}, RunID: "f"})
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(r.TopCIDs, want) {
		t.Fatalf("top = %v, want %v", r.TopCIDs, want)
	}
	for i, want := range []float64{2, 1, 1, 0.5} {
		if !near(float64(r.TopScores[i]), want) {
			t.Errorf("score %d = %v, want %v", i, r.TopScores[i], want)
		}
	}
	if !slices.Equal(r.RelRanks, []int32{3, 5}) {
		t.Errorf("relevant ranks %v, want [3 5]", r.RelRanks)
	}
}

// Z-score: both lists score 3, 2, 1: z = +1.2247, 0, -1.2247, and a
// missing candidate gets the list's lowest z (-1.2247).
func TestScoreFusionZScore(t *testing.T) {
	in := inputs()
	in[1].Rows[0].TopScores = []float32{3, 2, 1}
	r, _ := fuseOne(t, in, Options{Method: Score, RunID: "f"})
	z := math.Sqrt(1.5)
	if want := []string{"a", "c", "b", "d"}; !slices.Equal(r.TopCIDs, want) {
		t.Fatalf("top = %v, want %v", r.TopCIDs, want)
	}
	for i, want := range []float64{0, 0, -z, -z} {
		if !near(float64(r.TopScores[i]), want) {
			t.Errorf("score %d = %v, want %v", i, r.TopScores[i], want)
		}
	}
	if !near(float64(r.RelScores[1]), -2*z) {
		t.Errorf("unretrieved relevant scored %v, want the floor %v", r.RelScores[1], -2*z)
	}
}

// A deep relevant candidate keeps a deep rank: exact input ranks 500 and
// 700 in a pool of 1,000 give, for RRF (k = 60), 2/(1/560+1/760) - 60 =
// 584.8 -> 585, and for score fusion their mean, 600.
func TestUnretrievedRankEstimate(t *testing.T) {
	in := inputs()
	for i, rk := range [][]int32{{3, 500}, {1, 700}} {
		in[i].Rows[0].PoolSize = 1000
		in[i].Rows[0].RelRanks = rk
	}
	r, st := fuseOne(t, in, Options{Method: RRF, RunID: "f"})
	if r.RelRanks[1] != 585 || st.Unretrieved != 1 {
		t.Errorf("rrf: e at %d (unretrieved %d), want 585", r.RelRanks[1], st.Unretrieved)
	}
	r, _ = fuseOne(t, in, Options{Method: Score, RunID: "f"})
	if r.RelRanks[1] != 600 {
		t.Errorf("score: e at %d, want 600", r.RelRanks[1])
	}
}

func TestDepthCutsTopList(t *testing.T) {
	r, _ := fuseOne(t, inputs(), Options{Method: RRF, Depth: 2, RunID: "f"})
	if len(r.TopCIDs) != 2 || len(r.TopScores) != 2 {
		t.Errorf("top list %v, want 2 entries", r.TopCIDs)
	}
	if !slices.Equal(r.RelRanks, []int32{2, 5}) {
		t.Errorf("ranks %v: depth must not change ranks", r.RelRanks)
	}
}

// A fused rankings file goes through the ordinary writer and reader.
func TestFusedRowsAreOrdinaryRankings(t *testing.T) {
	path := filepath.Join(t.TempDir(), eval.RankingsFile)
	w, err := eval.CreateRankings(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Fuse(context.Background(), inputs(), Options{Method: RRF, RunID: "f"}, w.Write); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := eval.ReadRankings(path, func(b []eval.Ranking) error { n += len(b); return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("read %d rows, want 1", n)
	}
	if md, err := tables.Metadata(path); err != nil || md[tables.SchemaVersionKey] != tables.SchemaVersion || md[tables.TableKey] != "rankings" {
		t.Errorf("rankings metadata %v, %v", md, err)
	}
}

func TestFuseRejects(t *testing.T) {
	mod := func(f func(in []Input)) []Input { in := inputs(); f(in); return in }
	cases := []struct {
		name string
		in   []Input
		opt  Options
		want string
	}{
		{"one input", inputs()[:1], Options{Method: RRF, RunID: "f"}, "at least two"},
		{"method", inputs(), Options{Method: "borda", RunID: "f"}, `method "borda"`},
		{"norm", inputs(), Options{Method: Score, Norm: "l2", RunID: "f"}, `normalisation "l2"`},
		{"weights", inputs(), Options{Method: RRF, Weights: []float64{1}, RunID: "f"}, "1 weights for 2 rankings"},
		{"negative weight", inputs(), Options{Method: RRF, Weights: []float64{1, -1}, RunID: "f"}, "weight 2"},
		{"run id", inputs(), Options{Method: RRF}, "run_id"},
		{"pool", mod(func(in []Input) { in[1].Rows[0].PoolSize = 6 }), Options{Method: RRF, RunID: "f"}, "pools differ"},
		{"qrels", mod(func(in []Input) { in[1].Rows[0].RelCIDs = []string{"c", "d"} }), Options{Method: RRF, RunID: "f"}, "relevant candidates"},
		{"query set", mod(func(in []Input) { in[1].Rows[0].QID = "q2" }), Options{Method: RRF, RunID: "f"}, "no ranking for"},
		{"row count", mod(func(in []Input) { in[1].Rows = append(in[1].Rows, in[1].Rows[0]); in[1].Rows[1].QID = "q9" }), Options{Method: RRF, RunID: "f"}, "has 2 rankings"},
		{"duplicate", mod(func(in []Input) { in[0].Rows = append(in[0].Rows, in[0].Rows[0]) }), Options{Method: RRF, RunID: "f"}, "two rows for"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Fuse(context.Background(), c.in, c.opt, func([]eval.Ranking) error { return nil })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}
