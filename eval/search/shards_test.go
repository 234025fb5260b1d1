package search

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestShardedEqualsUnsharded cuts a random corpus with many exact ties
// into shards (random sizes, candidates scattered in random order, each
// shard in random chunks) and checks that merging the per-shard top lists
// gives exactly the top list of one search over the whole corpus.
func TestShardedEqualsUnsharded(t *testing.T) {
	for _, tc := range []struct {
		dim, nq, nc, shards, k int
		quant                  bool
	}{{8, 23, 500, 4, 37, true}, {3, 9, 300, 7, 300, true}, {19, 17, 401, 3, 50, false}, {16, 5, 40, 6, 100, true}} {
		t.Run(fmt.Sprintf("d%d_s%d_k%d", tc.dim, tc.shards, tc.k), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(tc.dim), uint64(tc.nc)))
			Q := randMatrix(r, tc.nq, tc.dim, tc.quant)
			C := randMatrix(r, tc.nc, tc.dim, tc.quant)
			for i := 0; i < 10; i++ { // exact duplicates: equal scores for sure
				copy(C.Row(r.IntN(tc.nc)), C.Row(r.IntN(tc.nc)))
			}
			ids := make([]string, tc.nc)
			for i, p := range r.Perm(tc.nc) {
				ids[i] = fmt.Sprintf("doc%d#%d", p%97, p) // not in index order
			}
			// Unsharded: one segment, Ord = rank of the id.
			ord, _, err := idOrder(ids)
			if err != nil {
				t.Fatal(err)
			}
			d, _ := NewDense(Q, C)
			whole, err := Run(context.Background(), d, &Request{
				Segments: []Segment{{"all", 0, tc.nc}}, Ord: ord, QuerySeg: make([]int, tc.nq), Rel: make([][]int32, tc.nq),
				KeepK: func(int, int) int { return tc.k }, Threads: 2, QueryBlock: 5, CandBlock: 7,
			})
			if err != nil {
				t.Fatal(err)
			}
			// Sharded.
			assign := make([][]int, tc.shards)
			for _, c := range r.Perm(tc.nc) {
				s := r.IntN(tc.shards)
				if s == tc.shards-1 && r.IntN(3) == 0 {
					s = 0 // uneven sizes
				}
				assign[s] = append(assign[s], c)
			}
			// Thresholds: a few candidates per query, scored on their own.
			pw := d.NewWorker()
			ths := make([][]IDThreshold, tc.nq)
			wantRank := make([][]int32, tc.nq)
			for q := range ths {
				for n := r.IntN(4); n > 0; n-- {
					c := r.IntN(tc.nc)
					sc := pw.Pair(q, c)
					ths[q] = append(ths[q], IDThreshold{Score: sc, ID: ids[c]})
					rank := int32(1)
					for o := 0; o < tc.nc; o++ {
						if so := pw.Pair(q, o); so > sc || (so == sc && ids[o] < ids[c]) {
							rank++
						}
					}
					wantRank[q] = append(wantRank[q], rank)
				}
			}
			ahead := make([][]int32, tc.nq)
			for q := range ahead {
				ahead[q] = make([]int32, len(ths[q]))
			}
			lists := make([][][]IDHit, tc.shards)
			for s, cs := range assign {
				var chunks []Matrix
				var sids []string
				for lo := 0; lo < len(cs); {
					hi := min(len(cs), lo+r.IntN(40)) // chunks of 0..39 rows, empty ones too
					m := Matrix{Dim: tc.dim}
					for _, c := range cs[lo:hi] {
						m.Data = append(m.Data, C.Row(c)...)
						sids = append(sids, ids[c])
					}
					chunks = append(chunks, m)
					lo = hi
				}
				ch, err := NewChunked(chunks)
				if err != nil {
					t.Fatal(err)
				}
				sc, err := NewDenseChunked(Q, ch)
				if err != nil {
					t.Fatal(err)
				}
				res, err := SearchShard(context.Background(), sc, sids, s, TopKOptions{K: tc.k, Threads: 2, QueryBlock: 3, CandBlock: 11}, ths)
				if err != nil {
					t.Fatal(err)
				}
				lists[s] = make([][]IDHit, tc.nq)
				for q := range res {
					lists[s][q] = res[q].Top
					for i, a := range res[q].Ahead {
						ahead[q][i] += a
					}
				}
			}
			ties := 0
			for q := 0; q < tc.nq; q++ {
				per := make([][]IDHit, tc.shards)
				for s := range per {
					per[s] = lists[s][q]
				}
				got, err := MergeTop(tc.k, per...)
				if err != nil {
					t.Fatal(err)
				}
				for i := range ths[q] {
					if ahead[q][i]+1 != wantRank[q][i] {
						t.Fatalf("query %d threshold %d (%s): rank %d from shard counts, want %d", q, i, ths[q][i].ID, ahead[q][i]+1, wantRank[q][i])
					}
				}
				want := whole[q].Top[0]
				if len(got) != len(want) {
					t.Fatalf("query %d: %d hits, want %d", q, len(got), len(want))
				}
				for i := range want {
					if got[i].ID != ids[want[i].Idx] || got[i].Score != want[i].Score {
						t.Fatalf("query %d rank %d: got %s (%v), want %s (%v)", q, i+1, got[i].ID, got[i].Score, ids[want[i].Idx], want[i].Score)
					}
					if ids[assign[got[i].Shard][got[i].Row]] != got[i].ID {
						t.Fatalf("query %d rank %d: shard %d row %d is not %s", q, i+1, got[i].Shard, got[i].Row, got[i].ID)
					}
					if i > 0 && want[i].Score == want[i-1].Score {
						ties++
					}
				}
			}
			if tc.quant && ties == 0 {
				t.Fatal("no ties in the data: the test would not test tie breaking")
			}
		})
	}
}

func TestMergeTopErrors(t *testing.T) {
	a := []IDHit{{Score: 2, ID: "x"}, {Score: 1, ID: "y"}}
	b := []IDHit{{Score: 2, ID: "x", Shard: 1}}
	if _, err := MergeTop(3, a, b); err == nil || !strings.Contains(err.Error(), `"x" is in shards 0 and 1`) {
		t.Errorf("overlap: err = %v", err)
	}
	c := []IDHit{{Score: 1, ID: "a", Shard: 2}, {Score: 3, ID: "b", Shard: 2}}
	if _, err := MergeTop(3, c); err == nil || !strings.Contains(err.Error(), "shard 2's list is not sorted") {
		t.Errorf("unsorted: err = %v", err)
	}
	got, err := MergeTop(2, []IDHit{{Score: 1, ID: "b"}}, []IDHit{{Score: 1, ID: "a"}, {Score: 0, ID: "c"}}, nil)
	if err != nil || len(got) != 2 || got[0].ID != "a" || got[1].ID != "b" {
		t.Errorf("tie by id: got %v, %v", got, err)
	}
	if _, _, err := idOrder([]string{"a", "b", "a"}); err == nil || !strings.Contains(err.Error(), `"a" appears twice`) {
		t.Errorf("duplicate ids: err = %v", err)
	}
	if _, err := TopK(context.Background(), &Dense{Q: Matrix{Dim: 1, Data: []float32{1}}, C: Matrix{Dim: 1, Data: []float32{1}}}, []string{"a", "b"}, 0, TopKOptions{K: 1}); err == nil {
		t.Error("id count mismatch accepted")
	}
}
