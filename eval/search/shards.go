package search

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Sharded search. A corpus too large for one search is cut into shards;
// each shard is searched on its own (TopK) for every query's k best
// candidates, and the per-shard lists are merged (MergeTop). The merged
// list equals the top-k list of one search over the whole corpus, ties
// included, because both order hits the same way: score descending, then
// candidate id ascending. Each shard's list holds its k best under that
// order, so the global k best are among the union of the shard lists, and
// a merge under the same order picks them.

// IDHit is a hit that carries its candidate id, so that lists of
// different shards can be merged: Shard and Row say where it came from.
type IDHit struct {
	Score float32
	ID    string
	Shard int32
	Row   int32
}

// idHitLess reports whether a ranks ahead of b: higher score, or equal
// score (+0 and -0 being equal) and smaller id.
func idHitLess(a, b *IDHit) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.ID < b.ID
}

// Chunked is a candidate matrix in pieces (for example the record batches
// of a memory-mapped Arrow file): candidate i of the whole is row
// i-Off[c] of chunk c.
type Chunked struct {
	Chunks []Matrix
	off    []int // off[c] = first candidate of chunk c; off[len] = total
}

// NewChunked checks that the chunks share one dimension.
func NewChunked(chunks []Matrix) (*Chunked, error) {
	ch := &Chunked{Chunks: chunks, off: make([]int, len(chunks)+1)}
	for i, m := range chunks {
		if m.Dim <= 0 || m.Dim != chunks[0].Dim || len(m.Data)%m.Dim != 0 {
			return nil, fmt.Errorf("search: chunk %d has dimension %d and %d values; want dimension %d and whole rows", i, m.Dim, len(m.Data), chunks[0].Dim)
		}
		ch.off[i+1] = ch.off[i] + m.Rows()
	}
	return ch, nil
}

// Rows returns the number of candidates.
func (ch *Chunked) Rows() int { return ch.off[len(ch.Chunks)] }

// Dim returns the vector dimension (0 when there are no chunks).
func (ch *Chunked) Dim() int {
	if len(ch.Chunks) == 0 {
		return 0
	}
	return ch.Chunks[0].Dim
}

// chunkOf returns the chunk holding candidate c.
func (ch *Chunked) chunkOf(c int) int {
	i, found := slices.BinarySearch(ch.off, c)
	if !found {
		i--
	}
	for ch.off[i+1] == ch.off[i] { // skip empty chunks
		i++
	}
	return i
}

// DenseChunked scores queries against a chunked candidate matrix by dot
// product, bit for bit as Dense does on the same rows.
type DenseChunked struct {
	Q Matrix
	C *Chunked
}

// NewDenseChunked checks dimensions.
func NewDenseChunked(q Matrix, c *Chunked) (*DenseChunked, error) {
	if q.Dim <= 0 || len(q.Data)%q.Dim != 0 || (c.Rows() > 0 && c.Dim() != q.Dim) {
		return nil, fmt.Errorf("search: query dimension %d, candidate dimension %d; both must be equal and > 0", q.Dim, c.Dim())
	}
	return &DenseChunked{Q: q, C: c}, nil
}

func (d *DenseChunked) NumQueries() int    { return d.Q.Rows() }
func (d *DenseChunked) NumCandidates() int { return d.C.Rows() }
func (d *DenseChunked) NewWorker() Worker  { return &chunkedWorker{d: d} }

type chunkedWorker struct {
	d  *DenseChunked
	ks kernelScratch
}

func (w *chunkedWorker) Prepare([]int, []bool) error { return nil }

func (w *chunkedWorker) Tile(qs []int, c0, c1 int, tile []float32) {
	ch := w.d.C
	for c := c0; c < c1; {
		k := ch.chunkOf(c)
		hi := min(c1, ch.off[k+1])
		w.ks.tileAt(w.d.Q, ch.Chunks[k], qs, c-ch.off[k], hi-ch.off[k], tile, c1-c0, c-c0)
		c = hi
	}
}

func (w *chunkedWorker) Pair(q, c int) float32 {
	k := w.d.C.chunkOf(c)
	return w.ks.pair(w.d.Q, w.d.C.Chunks[k], q, c-w.d.C.off[k])
}

// TopKOptions configure TopK and SearchShard.
type TopKOptions struct {
	K          int // list length per query (> 0)
	Threads    int
	QueryBlock int
	CandBlock  int
	Progress   func(n int)
}

// IDThreshold is a position in a ranking given by a score and a candidate
// id, usually a relevant candidate's (scored on its own, bit for bit as in
// its shard's tiles).
type IDThreshold struct {
	Score float32
	ID    string
}

// ShardResult is one query's outcome in one shard.
type ShardResult struct {
	Top []IDHit // the shard's best candidates, best first
	// Ahead[i] is the number of the shard's candidates ranked ahead of
	// threshold i (higher score, or equal score and smaller id). Summed
	// over the shards, plus one, it is the exact rank of the threshold's
	// candidate in the whole corpus (its own copy does not count: equal
	// score and equal id is not ahead).
	Ahead []int32
}

// TopK returns, for every query of sc, its K best candidates of one shard
// (score descending, then id ascending): ids[i] is candidate i's id, and
// shard is recorded in every hit. Ids must be distinct.
func TopK(ctx context.Context, sc Scorer, ids []string, shard int, opt TopKOptions) ([][]IDHit, error) {
	res, err := SearchShard(ctx, sc, ids, shard, opt, nil)
	if err != nil {
		return nil, err
	}
	out := make([][]IDHit, len(res))
	for q := range res {
		out[q] = res[q].Top
	}
	return out, nil
}

// SearchShard is TopK that also counts, for every query, the shard's
// candidates ranked ahead of each of its thresholds (nil: none).
func SearchShard(ctx context.Context, sc Scorer, ids []string, shard int, opt TopKOptions, thresholds [][]IDThreshold) ([]ShardResult, error) {
	nc, nq := sc.NumCandidates(), sc.NumQueries()
	if len(ids) != nc {
		return nil, fmt.Errorf("search: shard %d: %d candidates but %d ids", shard, nc, len(ids))
	}
	if opt.K <= 0 {
		return nil, fmt.Errorf("search: top-k length %d, want > 0", opt.K)
	}
	if thresholds != nil && len(thresholds) != nq {
		return nil, fmt.Errorf("search: shard %d: %d queries but %d threshold lists", shard, nq, len(thresholds))
	}
	ord, sorted, err := idOrder(ids)
	if err != nil {
		return nil, fmt.Errorf("search: shard %d: %w", shard, err)
	}
	req := &Request{
		Segments: []Segment{{Name: fmt.Sprint("shard ", shard), Lo: 0, Hi: nc}},
		Ord:      ord, QuerySeg: make([]int, nq), Rel: make([][]int32, nq),
		KeepK:   func(int, int) int { return opt.K },
		Threads: opt.Threads, QueryBlock: opt.QueryBlock, CandBlock: opt.CandBlock, Progress: opt.Progress,
	}
	if thresholds != nil {
		req.Thresholds = make([][]Threshold, nq)
		for q, ths := range thresholds {
			for _, th := range ths {
				// Ord of an outside id: how many shard ids are below it.
				o, _ := slices.BinarySearchFunc(sorted, th.ID, func(i int32, id string) int { return strings.Compare(ids[i], id) })
				req.Thresholds[q] = append(req.Thresholds[q], Threshold{Score: th.Score, Ord: int32(o)})
			}
		}
	}
	res, err := Run(ctx, sc, req)
	if err != nil {
		return nil, err
	}
	out := make([]ShardResult, nq)
	for q := range res {
		top := res[q].Top[0]
		hits := make([]IDHit, len(top))
		for i, h := range top {
			hits[i] = IDHit{Score: h.Score, ID: ids[h.Idx], Shard: int32(shard), Row: h.Idx}
		}
		out[q] = ShardResult{Top: hits, Ahead: res[q].Ahead}
	}
	return out, nil
}

// idOrder returns the rank of every id among the sorted ids, and the
// indices in id order.
func idOrder(ids []string) (ord, sorted []int32, err error) {
	idx := make([]int32, len(ids))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int { return strings.Compare(ids[a], ids[b]) })
	ord = make([]int32, len(ids))
	for r, i := range idx {
		if r > 0 && ids[i] == ids[idx[r-1]] {
			return nil, nil, fmt.Errorf("candidate id %q appears twice (rows %d and %d)", ids[i], idx[r-1], i)
		}
		ord[i] = int32(r)
	}
	return ord, idx, nil
}

// MergeTop merges one query's per-shard lists (each best first, as TopK
// returns them) into its k best hits overall. Shards must partition the
// corpus: an id met twice in a row (the same candidate in two shards,
// with the same score) is an error, and so is a list out of order.
func MergeTop(k int, lists ...[]IDHit) ([]IDHit, error) {
	total := 0
	for _, l := range lists {
		total += len(l)
	}
	out := make([]IDHit, 0, min(k, total))
	pos := make([]int, len(lists))
	for len(out) < k {
		best := -1
		for s, l := range lists {
			if pos[s] < len(l) && (best < 0 || idHitLess(&l[pos[s]], &lists[best][pos[best]])) {
				best = s
			}
		}
		if best < 0 {
			break
		}
		h := lists[best][pos[best]]
		if n := len(out); n > 0 && out[n-1].ID == h.ID {
			return nil, fmt.Errorf("search: candidate %q is in shards %d and %d; shards must not overlap", h.ID, out[n-1].Shard, h.Shard)
		}
		if n := len(out); n > 0 && idHitLess(&h, &out[n-1]) {
			return nil, fmt.Errorf("search: shard %d's list is not sorted best first at %q", h.Shard, h.ID)
		}
		out = append(out, h)
		pos[best]++
	}
	return out, nil
}
