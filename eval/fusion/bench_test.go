package fusion

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lair-ir/lair/eval"
)

// multiRows makes XQuAD-R-shaped multi-setting rankings: 13,090 queries
// over a pool of 13,014 candidates, top-1000 lists, 11 relevant each.
func multiRows(seed uint64, run string) []eval.Ranking {
	const queries, pool, depth = 13090, 13014, 1000
	r := rand.New(rand.NewPCG(seed, 3))
	cid := make([]string, pool)
	for i := range cid {
		cid[i] = fmt.Sprintf("c%05d", i)
	}
	rows := make([]eval.Ranking, queries)
	for q := range rows {
		perm := r.Perm(pool)[:depth]
		top := make([]string, depth)
		scores := make([]float32, depth)
		for i, c := range perm {
			top[i], scores[i] = cid[c], float32(1-float64(i)/depth)
		}
		rel := make([]string, 11)
		ranks := make([]int32, 11)
		for i := range rel {
			rel[i] = cid[(q*11+i)%pool]
			ranks[i] = int32(1 + (q*37+i*1009)%pool)
		}
		rows[q] = eval.Ranking{RunID: run, Dataset: "xquad-r", Setting: eval.Multi, QID: fmt.Sprintf("q%05d", q), QLang: "en",
			CLang: eval.All, PoolSize: pool, RelCIDs: rel, RelLangs: make([]string, 11), RelGrades: make([]int32, 11),
			RelRanks: ranks, RelScores: make([]float32, 11), TopCIDs: top, TopScores: scores}
	}
	return rows
}

// BenchmarkFuseXQuADRMulti fuses two XQuAD-R-sized multi rankings (top
// 1000 each) with RRF: one iteration is the whole multi setting.
func BenchmarkFuseXQuADRMulti(b *testing.B) {
	in := []Input{{Path: "a", Rows: multiRows(1, "a")}, {Path: "b", Rows: multiRows(2, "b")}}
	for _, method := range []string{RRF, Score} {
		b.Run(method, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := Fuse(context.Background(), in, Options{Method: method, RunID: "f"}, func([]eval.Ranking) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
