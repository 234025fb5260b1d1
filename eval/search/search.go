package search

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// Segment is a contiguous range [Lo, Hi) of candidate indices, usually the
// candidates of one language.
type Segment struct {
	Name   string
	Lo, Hi int
}

// Hit is one entry of a ranking: a candidate index and its score.
type Hit struct {
	Score float32
	Idx   int32
}

// Scorer computes query-candidate scores. Its workers are used by one
// goroutine each.
type Scorer interface {
	NumQueries() int
	NumCandidates() int
	NewWorker() Worker
}

// Worker scores blocks of queries against blocks of candidates.
type Worker interface {
	// Prepare is called before the queries qs are scored against the
	// segments marked in want.
	Prepare(qs []int, want []bool) error
	// Tile sets tile[i*(c1-c0)+j] to the score of query qs[i] and
	// candidate c0+j.
	Tile(qs []int, c0, c1 int, tile []float32)
	// Pair returns the score of one query and candidate, bit for bit the
	// value Tile computes for them (Prepare has been called for q).
	Pair(q, c int) float32
}

// Request describes one exact search: every query is scored against the
// candidates of the segments it needs, streaming candidate blocks, and
// for each query the search returns, per segment, how many candidates
// rank ahead of each of its relevant candidates (for full-ranking ranks)
// and the top of the segment's ranking.
//
// Order: score descending, then Ord ascending (Ord is the rank of the
// candidate's id among all ids, so ties break by id). Within a segment Ord
// must increase with the index (sort candidates by segment, then id).
type Request struct {
	Segments []Segment
	Ord      []int32   // len NumCandidates; nil means index order
	QuerySeg []int     // per query: the segment of its language, or -1
	Rel      [][]int32 // per query: relevant candidate indices
	// HeapK returns how many top hits of segment seg to collect for a
	// query whose language segment is qseg (-1 when none); 0 means the
	// segment is not scored for that query at all.
	HeapK func(qseg, seg int) int
	// KeepK returns how many of them to keep in the result (<= HeapK).
	KeepK func(qseg, seg int) int
	// MultiK > 0 also merges the segments' top lists into a pooled top
	// list of that length (every scored segment then needs HeapK >= MultiK).
	MultiK int

	Threads    int // goroutines (default 1)
	QueryBlock int // queries per block (default 128)
	CandBlock  int // candidates per block (default 192)
	// Progress, when set, is called with the number of queries done after each block.
	Progress func(n int)
}

// Result is the outcome for one query.
type Result struct {
	RelScore []float32 // score of each relevant candidate
	// Beat[r*len(Segments)+s] is the number of candidates of segment s
	// ranked ahead of relevant candidate r (0 for unscored segments).
	Beat  []int32
	Top   [][]Hit // per segment, best first; nil when not scored
	Multi []Hit   // pooled top list (MultiK > 0), best first
}

// RankIn returns the 1-based rank of relevant candidate r of a query in
// the pool made of the segments marked in pool.
func (r *Result) RankIn(rel int, pool []bool) int {
	n := len(pool)
	rank := 1
	for s := 0; s < n; s++ {
		if pool[s] {
			rank += int(r.Beat[rel*n+s])
		}
	}
	return rank
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// Run performs the search. Results are indexed like the queries.
func Run(ctx context.Context, sc Scorer, req *Request) ([]Result, error) {
	nq, nc := sc.NumQueries(), sc.NumCandidates()
	if len(req.QuerySeg) != nq || len(req.Rel) != nq {
		return nil, fmt.Errorf("search: %d queries but %d query segments and %d relevant lists", nq, len(req.QuerySeg), len(req.Rel))
	}
	ord := req.Ord
	if ord == nil {
		ord = make([]int32, nc)
		for i := range ord {
			ord[i] = int32(i)
		}
	}
	if len(ord) != nc {
		return nil, fmt.Errorf("search: %d candidates but %d order entries", nc, len(ord))
	}
	prev := 0
	for si, s := range req.Segments {
		if s.Lo != prev || s.Hi < s.Lo {
			return nil, fmt.Errorf("search: segment %d (%s) is [%d,%d), want it to start at %d", si, s.Name, s.Lo, s.Hi, prev)
		}
		for i := s.Lo + 1; i < s.Hi; i++ {
			if ord[i] <= ord[i-1] {
				return nil, fmt.Errorf("search: candidate order not increasing within segment %s at index %d", s.Name, i)
			}
		}
		prev = s.Hi
	}
	if prev != nc {
		return nil, fmt.Errorf("search: segments cover %d of %d candidates", prev, nc)
	}
	for q, rel := range req.Rel {
		for _, c := range rel {
			if c < 0 || int(c) >= nc {
				return nil, fmt.Errorf("search: query %d: relevant candidate index %d out of range [0,%d)", q, c, nc)
			}
		}
	}
	qb := req.QueryBlock
	if qb <= 0 {
		qb = 128
	}
	cb := req.CandBlock
	if cb <= 0 {
		cb = 192
	}
	threads := max(req.Threads, 1)

	// Blocks of queries of one language each, so that a block scores only
	// the segments its queries need.
	order := make([]int, nq)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return req.QuerySeg[a] - req.QuerySeg[b] })
	var blocks [][]int
	for lo := 0; lo < nq; {
		hi := lo + 1
		for hi < nq && hi-lo < qb && req.QuerySeg[order[hi]] == req.QuerySeg[order[lo]] {
			hi++
		}
		blocks = append(blocks, order[lo:hi])
		lo = hi
	}

	results := make([]Result, nq)
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		firstErr error
		errOnce  sync.Once
	)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &blockWorker{req: req, sc: sc.NewWorker(), ord: ord, cb: cb, nseg: len(req.Segments)}
			for {
				b := int(next.Add(1)) - 1
				if b >= len(blocks) || cctx.Err() != nil {
					return
				}
				if err := w.run(blocks[b], results); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				if req.Progress != nil {
					req.Progress(len(blocks[b]))
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return results, nil
}

// blockWorker processes blocks of queries in one goroutine.
type blockWorker struct {
	req   *Request
	sc    Worker
	ord   []int32
	cb    int
	nseg  int
	tile  []float32
	heaps [][]hitHeap // [query in block][segment]
}

func (w *blockWorker) run(qs []int, results []Result) error {
	req := w.req
	qseg := req.QuerySeg[qs[0]]
	want := make([]bool, w.nseg)
	heapK := make([]int, w.nseg)
	any := false
	for s := range req.Segments {
		heapK[s] = req.HeapK(qseg, s)
		want[s] = heapK[s] > 0
		any = any || want[s]
		if req.MultiK > 0 && want[s] && heapK[s] < req.MultiK {
			heapK[s] = req.MultiK
		}
	}
	for _, q := range qs {
		results[q] = Result{Beat: make([]int32, len(req.Rel[q])*w.nseg), Top: make([][]Hit, w.nseg)}
	}
	if !any {
		return nil
	}
	if err := w.sc.Prepare(qs, want); err != nil {
		return err
	}
	// Relevant scores (thresholds).
	for _, q := range qs {
		rs := make([]float32, len(req.Rel[q]))
		for i, c := range req.Rel[q] {
			rs[i] = w.sc.Pair(q, int(c))
		}
		results[q].RelScore = rs
	}
	for len(w.heaps) < len(qs) {
		w.heaps = append(w.heaps, make([]hitHeap, w.nseg))
	}
	for i := range qs {
		for s := range w.heaps[i] {
			w.heaps[i][s].reset(heapK[s])
		}
	}
	if need := len(qs) * w.cb; cap(w.tile) < need {
		w.tile = make([]float32, need)
	}
	for s, seg := range req.Segments {
		if !want[s] {
			continue
		}
		for c0 := seg.Lo; c0 < seg.Hi; c0 += w.cb {
			c1 := min(c0+w.cb, seg.Hi)
			cn := c1 - c0
			tile := w.tile[:len(qs)*cn]
			w.sc.Tile(qs, c0, c1, tile)
			for i, q := range qs {
				row := tile[i*cn : (i+1)*cn]
				w.heaps[i][s].scan(row, c0, w.ord)
				res := &results[q]
				for r := range req.Rel[q] {
					res.Beat[r*w.nseg+s] += countAhead(row, res.RelScore[r], w.ord[c0:c1], w.ord[req.Rel[q][r]])
				}
			}
		}
	}
	for i, q := range qs {
		res := &results[q]
		var pooled []Hit
		for s := range req.Segments {
			if !want[s] {
				continue
			}
			top := w.heaps[i][s].sorted(w.ord)
			if req.MultiK > 0 {
				pooled = append(pooled, top...)
			}
			keep := min(req.KeepK(qseg, s), len(top))
			res.Top[s] = slices.Clone(top[:keep])
		}
		if req.MultiK > 0 {
			sortHits(pooled, w.ord)
			res.Multi = slices.Clone(pooled[:min(req.MultiK, len(pooled))])
		}
	}
	return nil
}

// countAhead counts the scores in row that rank ahead of a candidate with
// score t and order o: higher score, or equal score and smaller order.
func countAhead(row []float32, t float32, ord []int32, o int32) int32 {
	var gt, eq int32
	for _, s := range row {
		gt += b2i(s > t)
		eq += b2i(s == t)
	}
	if eq > 0 {
		for j, s := range row {
			if s == t && ord[j] < o {
				gt++
			}
		}
	}
	return gt
}

// sortHits sorts by score descending, then order ascending.
func sortHits(h []Hit, ord []int32) {
	slices.SortFunc(h, func(a, b Hit) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return int(ord[a.Idx] - ord[b.Idx])
	})
}

// hitHeap keeps the k best hits of a stream of candidates scanned in
// increasing order (so a later candidate with an equal score ranks behind).
type hitHeap struct {
	k int
	h []Hit // min-heap: h[0] is the worst kept hit
}

func (h *hitHeap) reset(k int) {
	h.k = k
	h.h = h.h[:0]
}

func (h *hitHeap) scan(row []float32, c0 int, ord []int32) {
	if h.k == 0 {
		return
	}
	for j, s := range row {
		if len(h.h) < h.k {
			h.h = append(h.h, Hit{s, int32(c0 + j)})
			h.up(len(h.h)-1, ord)
			continue
		}
		if s > h.h[0].Score {
			h.h[0] = Hit{s, int32(c0 + j)}
			h.down(0, ord)
		}
	}
}

// worse reports whether a ranks behind b.
func worse(a, b Hit, ord []int32) bool {
	return a.Score < b.Score || (a.Score == b.Score && ord[a.Idx] > ord[b.Idx])
}

func (h *hitHeap) up(i int, ord []int32) {
	for i > 0 {
		p := (i - 1) / 2
		if !worse(h.h[i], h.h[p], ord) {
			return
		}
		h.h[i], h.h[p] = h.h[p], h.h[i]
		i = p
	}
}

func (h *hitHeap) down(i int, ord []int32) {
	n := len(h.h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && worse(h.h[r], h.h[l], ord) {
			m = r
		}
		if !worse(h.h[m], h.h[i], ord) {
			return
		}
		h.h[i], h.h[m] = h.h[m], h.h[i]
		i = m
	}
}

func (h *hitHeap) sorted(ord []int32) []Hit {
	sortHits(h.h, ord)
	return h.h
}

// Dense scores L2-normalized (or any) float32 vectors by dot product.
type Dense struct {
	Q, C Matrix
}

// NewDense checks dimensions and returns a dense scorer.
func NewDense(q, c Matrix) (*Dense, error) {
	if q.Dim != c.Dim || q.Dim <= 0 {
		return nil, fmt.Errorf("search: query dimension %d, candidate dimension %d; both must be equal and > 0", q.Dim, c.Dim)
	}
	if len(q.Data)%q.Dim != 0 || len(c.Data)%c.Dim != 0 {
		return nil, fmt.Errorf("search: matrix data not a multiple of the dimension %d", q.Dim)
	}
	return &Dense{Q: q, C: c}, nil
}

func (d *Dense) NumQueries() int    { return d.Q.Rows() }
func (d *Dense) NumCandidates() int { return d.C.Rows() }
func (d *Dense) NewWorker() Worker  { return &denseWorker{d: d} }

type denseWorker struct {
	d  *Dense
	ks kernelScratch
}

func (w *denseWorker) Prepare([]int, []bool) error { return nil }
func (w *denseWorker) Tile(qs []int, c0, c1 int, tile []float32) {
	w.ks.tile(w.d.Q, w.d.C, qs, c0, c1, tile)
}
func (w *denseWorker) Pair(q, c int) float32 { return w.ks.pair(w.d.Q, w.d.C, q, c) }
