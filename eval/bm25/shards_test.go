package bm25

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lair-ir/lair/eval/search"
)

// TestShardedEqualsUnsharded indexes a random collection (small
// vocabulary: many equal scores) whole and in shards with summed
// statistics, and checks that the merged per-shard top lists equal the
// whole collection's, scores bit for bit and ties in id order.
func TestShardedEqualsUnsharded(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	vocab := make([]string, 60)
	for i := range vocab {
		vocab[i] = fmt.Sprint("w", i)
	}
	doc := func(maxLen int) []string {
		toks := make([]string, r.IntN(maxLen))
		for i := range toks {
			toks[i] = vocab[int(float64(len(vocab))*r.Float64()*r.Float64())] // skewed frequencies
		}
		return toks
	}
	nc, nq, k, shards := 700, 40, 60, 5
	cands := make([][]string, nc)
	ids := make([]string, nc)
	for i := range cands {
		cands[i] = doc(12)
		ids[i] = fmt.Sprintf("d%04d", (i*389)%nc)
	}
	queries := make([][]string, nq)
	for i := range queries {
		queries[i] = doc(4)
	}
	whole, err := NewShardScorer(queries, cands, DefaultParams, func() *Stats { s := CollectStats(cands); return &s }())
	if err != nil {
		t.Fatal(err)
	}
	// The pooled scorer the unsharded retrieval uses must agree with it.
	pooled, _ := NewScorerTerms(queries, cands, []search.Segment{{Name: "all", Lo: 0, Hi: nc}}, true, DefaultParams)
	opt := search.TopKOptions{K: k, Threads: 2, QueryBlock: 4, CandBlock: 50}
	want, err := search.TopK(context.Background(), whole, ids, 0, opt)
	if err != nil {
		t.Fatal(err)
	}
	want2, _ := search.TopK(context.Background(), pooled, ids, 0, opt)
	// Shards: contiguous cuts of random sizes, statistics summed.
	cuts := []int{0, 1, 150, 151, 420, nc}
	var g Stats
	for s := 0; s < shards; s++ {
		g.Add(CollectStats(cands[cuts[s]:cuts[s+1]]))
	}
	lists := make([][][]search.IDHit, shards)
	for s := 0; s < shards; s++ {
		sc, err := NewShardScorer(queries, cands[cuts[s]:cuts[s+1]], DefaultParams, &g)
		if err != nil {
			t.Fatal(err)
		}
		if lists[s], err = search.TopK(context.Background(), sc, ids[cuts[s]:cuts[s+1]], s, opt); err != nil {
			t.Fatal(err)
		}
	}
	ties := 0
	for q := 0; q < nq; q++ {
		per := make([][]search.IDHit, shards)
		for s := range per {
			per[s] = lists[s][q]
		}
		got, err := search.MergeTop(k, per...)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want[q]) || len(want2[q]) != len(want[q]) {
			t.Fatalf("query %d: %d hits, want %d (pooled scorer %d)", q, len(got), len(want[q]), len(want2[q]))
		}
		for i := range got {
			w := want[q][i]
			if got[i].ID != w.ID || got[i].Score != w.Score || want2[q][i] != w {
				t.Fatalf("query %d rank %d: sharded %s %v, whole %s %v, pooled %s %v", q, i+1, got[i].ID, got[i].Score, w.ID, w.Score, want2[q][i].ID, want2[q][i].Score)
			}
			if i > 0 && w.Score == want[q][i-1].Score && w.Score > 0 {
				ties++
			}
		}
	}
	if ties == 0 {
		t.Fatal("no tied positive scores: tie breaking untested")
	}
	// Local statistics would not do: a shard scored with its own
	// statistics differs from the whole (so the test above can fail).
	own, _ := NewShardScorer(queries, cands[151:420], DefaultParams, func() *Stats { s := CollectStats(cands[151:420]); return &s }())
	glob, _ := NewShardScorer(queries, cands[151:420], DefaultParams, &g)
	a, b := own.NewWorker(), glob.NewWorker()
	diff := false
	for q := 0; q < nq; q++ {
		a.Prepare([]int{q}, []bool{true})
		b.Prepare([]int{q}, []bool{true})
		for c := 0; c < 269; c++ {
			diff = diff || a.Pair(q, c) != b.Pair(q, c)
		}
	}
	if !diff {
		t.Fatal("shard-local and global statistics give the same scores: the data does not exercise global statistics")
	}
}

func TestStatsAdd(t *testing.T) {
	docs := [][]string{{"a", "b", "a"}, {"b"}, {}, {"c", "a"}}
	var g Stats
	g.Add(CollectStats(docs[:2]))
	g.Add(CollectStats(docs[2:]))
	if g.Docs != 4 || g.Tokens != 6 || len(g.DF) != 3 || g.DF["a"] != 2 || g.DF["b"] != 2 || g.DF["c"] != 1 {
		t.Fatalf("stats %+v", g)
	}
}
