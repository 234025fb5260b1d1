package search

import (
	"context"
	"fmt"
	"math"
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
// candidate's id among all ids, so ties break by id). When any query has
// relevant candidates, Ord must increase with the index within a segment
// (sort candidates by segment, then id); a search for top lists only
// accepts any permutation.
type Request struct {
	Segments []Segment
	Ord      []int32   // len NumCandidates; nil means index order
	QuerySeg []int     // per query: the segment of its language, or -1
	Rel      [][]int32 // per query: relevant candidate indices
	// KeepK returns the length of the top list of segment seg for a query
	// whose language segment is qseg (-1 when none). A segment is scored
	// for the query when KeepK > 0 or MultiK > 0.
	KeepK func(qseg, seg int) int
	// MultiK > 0 also collects a pooled top list of that length over all
	// segments (then every segment is scored).
	MultiK int
	// Thresholds, when set (one list per query), asks for each
	// threshold how many scored candidates rank ahead of it (Result.Ahead):
	// a candidate with a higher score, or the same score and an Ord below
	// the threshold's. A threshold stands for a candidate scored elsewhere
	// (another shard): its Ord is the number of this search's candidate ids
	// below its id, so ties break by id across shards. Unlike Rel, it
	// needs no order within segments.
	Thresholds [][]Threshold

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
	// Ahead[i] is the number of scored candidates ranked ahead of
	// Thresholds[q][i].
	Ahead []int32
}

// Threshold is a (score, order) position in a ranking.
type Threshold struct {
	Score float32
	Ord   int32
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
	inv := make([]int32, nc)
	for i := range inv {
		inv[i] = -1
	}
	for c, o := range ord {
		if o < 0 || int(o) >= nc || inv[o] >= 0 {
			return nil, fmt.Errorf("search: candidate order is not a permutation of 0..%d (candidate %d has %d)", nc-1, c, o)
		}
		inv[o] = int32(c)
	}
	// Exact ranks of relevant candidates need the order to increase within
	// each segment (countAhead's binary search); top lists do not.
	anyRel := false
	for _, rel := range req.Rel {
		anyRel = anyRel || len(rel) > 0
	}
	prev := 0
	for si, s := range req.Segments {
		if s.Lo != prev || s.Hi < s.Lo {
			return nil, fmt.Errorf("search: segment %d (%s) is [%d,%d), want it to start at %d", si, s.Name, s.Lo, s.Hi, prev)
		}
		for i := s.Lo + 1; anyRel && i < s.Hi; i++ {
			if ord[i] <= ord[i-1] {
				return nil, fmt.Errorf("search: candidate order not increasing within segment %s at index %d", s.Name, i)
			}
		}
		prev = s.Hi
	}
	if prev != nc {
		return nil, fmt.Errorf("search: segments cover %d of %d candidates", prev, nc)
	}
	if req.Thresholds != nil && len(req.Thresholds) != nq {
		return nil, fmt.Errorf("search: %d queries but %d threshold lists", nq, len(req.Thresholds))
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
			w := &blockWorker{req: req, sc: sc.NewWorker(), ord: ord, inv: inv, cb: cb, nseg: len(req.Segments)}
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
	inv   []int32 // inv[ord[c]] = c
	cb    int
	nseg  int
	tile  []float32
	tops  [][]topK // [query in block][segment]
	multi []topK   // [query in block]
}

func (w *blockWorker) run(qs []int, results []Result) error {
	req := w.req
	qseg := req.QuerySeg[qs[0]]
	want := make([]bool, w.nseg)
	keepK := make([]int, w.nseg)
	anyWant := false
	for s := range req.Segments {
		keepK[s] = req.KeepK(qseg, s)
		want[s] = keepK[s] > 0 || req.MultiK > 0
		anyWant = anyWant || want[s]
	}
	for _, q := range qs {
		results[q] = Result{Beat: make([]int32, len(req.Rel[q])*w.nseg), Top: make([][]Hit, w.nseg)}
		if req.Thresholds != nil {
			results[q].Ahead = make([]int32, len(req.Thresholds[q]))
		}
	}
	if !anyWant {
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
	for len(w.tops) < len(qs) {
		w.tops = append(w.tops, make([]topK, w.nseg))
		w.multi = append(w.multi, topK{})
	}
	for i := range qs {
		for s := range w.tops[i] {
			w.tops[i][s].reset(keepK[s])
		}
		w.multi[i].reset(req.MultiK)
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
				w.tops[i][s].scan(row, c0, w.ord)
				w.multi[i].scan(row, c0, w.ord)
				res := &results[q]
				for r := range req.Rel[q] {
					res.Beat[r*w.nseg+s] += countAhead(row, res.RelScore[r], w.ord[c0:c1], w.ord[req.Rel[q][r]])
				}
				if req.Thresholds != nil {
					for i, th := range req.Thresholds[q] {
						res.Ahead[i] += countAheadAny(row, th.Score, w.ord[c0:c1], th.Ord)
					}
				}
			}
		}
	}
	for i, q := range qs {
		res := &results[q]
		for s := range req.Segments {
			if keepK[s] > 0 {
				res.Top[s] = w.tops[i][s].sorted(w.inv)
			}
		}
		if req.MultiK > 0 {
			res.Multi = w.multi[i].sorted(w.inv)
		}
	}
	return nil
}

// countAhead counts the scores in row that rank ahead of a candidate with
// score t and order o: higher score, or equal score and smaller order.
func countAhead(row []float32, t float32, ord []int32, o int32) int32 {
	gt, eq := countGtEq(row, t)
	if eq > 0 {
		// ord increases along the row (one segment), so the tied
		// candidates ranked ahead are the tied ones before the first
		// position whose order is >= o.
		pos, _ := slices.BinarySearch(ord, o)
		_, before := countGtEq(row[:pos], t)
		gt += before
	}
	return gt
}

// countAheadAny is countAhead for any order along the row.
func countAheadAny(row []float32, t float32, ord []int32, o int32) int32 {
	gt, eq := countGtEq(row, t)
	if eq > 0 {
		for j, s := range row {
			if s == t && ord[j] < o {
				gt++
			}
		}
	}
	return gt
}

// hitKey packs a score and an order into one integer such that smaller
// keys rank first: score descending, then order ascending. -0 and +0
// are the same score.
func hitKey(s float32, o int32) uint64 {
	b := math.Float32bits(s)
	switch {
	case s == 0:
		b = 1 << 31
	case b>>31 != 0:
		b = ^b
	default:
		b |= 1 << 31
	}
	return uint64(^b)<<32 | uint64(uint32(o))
}

// keyScore recovers the score of a key.
func keyScore(k uint64) float32 {
	u := ^uint32(k >> 32)
	if u>>31 != 0 {
		return math.Float32frombits(u &^ (1 << 31))
	}
	return math.Float32frombits(^u)
}

// topK collects the k best hits of a stream as keys: a hit is appended
// to a buffer when it beats the current threshold, and when the buffer
// reaches its limit it is cut back to its best hits, which raises the
// threshold. Once there is a threshold, a row is first filtered by score
// with one SIMD compare per 8 candidates, so most candidates cost no
// more than that. Amortized cost per candidate: well under one comparison.
type topK struct {
	k        int
	buf      []uint64
	thr      uint64  // every hit with a key >= thr is out of the top k (valid when full)
	thrScore float32 // its score
	full     bool
	tmp      []uint64 // radix sort and partition scratch
	idx      []int32  // filter output
	sample   []uint64 // pivot sample
}

func (t *topK) reset(k int) {
	t.k = k
	t.buf = t.buf[:0]
	t.full = false
}

// limit is the buffer length that triggers a compaction.
func (t *topK) limit() int { return 2*t.k + 64 }

func (t *topK) scan(row []float32, c0 int, ord []int32) {
	if t.k == 0 {
		return
	}
	limit := t.limit()
	j := 0
	for ; j < len(row) && !t.full; j++ {
		t.buf = append(t.buf, hitKey(row[j], ord[c0+j]))
		if len(t.buf) >= limit {
			t.compact()
		}
	}
	if j == len(row) {
		return
	}
	rest := row[j:]
	if cap(t.idx) < len(rest) {
		t.idx = make([]int32, max(len(rest), 256))
	}
	n := filterNLT(rest, t.thrScore, t.idx[:len(rest)])
	base := c0 + j
	for _, x := range t.idx[:n] {
		key := hitKey(rest[x], ord[base+int(x)])
		if key >= t.thr { // the threshold may have risen since the filter
			continue
		}
		t.buf = append(t.buf, key)
		if len(t.buf) >= limit {
			t.compact()
		}
	}
}

// compact cuts the buffer back to at least k of its best hits and sets
// the threshold: every hit not kept, and every later hit with a key at
// or above the threshold, is out of the top k. Long buffers are cut at a
// pivot estimated from an evenly spaced sample (one branch-free pass,
// keeping a little more than k); short ones, or when the estimate keeps
// fewer than k, by exact selection.
func (t *topK) compact() {
	n := len(t.buf)
	if n <= t.k {
		return
	}
	if n >= 1024 && t.compactSampled() {
		return
	}
	selectKeys(t.buf, t.k)
	t.buf = t.buf[:t.k]
	t.setThreshold(t.buf[t.k-1] + 1)
}

// pivotSample is the sample size of compactSampled.
const pivotSample = 128

// compactSampled keeps the keys <= a pivot drawn from an evenly spaced
// sample at about the k/n quantile plus two standard deviations. It
// reports false, leaving the buffer as it was, when fewer than k keys are
// <= the pivot or when it would drop less than a quarter of the surplus.
func (t *topK) compactSampled() bool {
	n := len(t.buf)
	m := pivotSample
	p := float64(t.k) / float64(n)
	r := int(math.Ceil(float64(m)*p + 2*math.Sqrt(float64(m)*p*(1-p))))
	if r >= m {
		return false
	}
	t.sample = t.sample[:0]
	step := n / m
	for i := 0; i < m; i++ {
		t.sample = append(t.sample, t.buf[i*step])
	}
	selectKeys(t.sample, r+1)
	pivot := t.sample[r]
	if cap(t.tmp) < n {
		t.tmp = make([]uint64, n, t.limit())
	}
	dst := t.tmp[:n]
	w := 0
	for _, key := range t.buf {
		dst[w] = key
		if key <= pivot {
			w++
		}
	}
	if w < t.k || w > n-(n-t.k)/4 { // too few kept, or too little progress
		return false
	}
	t.buf, t.tmp = dst[:w], t.buf[:0]
	t.setThreshold(pivot + 1)
	return true
}

// setThreshold makes thr the threshold key (hits with keys >= thr are out).
func (t *topK) setThreshold(thr uint64) {
	t.thr = thr
	t.thrScore = keyScore(thr)
	t.full = true
}

// sorted returns the k best hits, best first; inv maps an order back to
// a candidate index.
func (t *topK) sorted(inv []int32) []Hit {
	if len(t.buf) > 2*t.k {
		t.compact()
	}
	t.tmp = sortKeys(t.buf, t.tmp)
	keys := t.buf[:min(t.k, len(t.buf))]
	out := make([]Hit, len(keys))
	for i, k := range keys {
		out[i] = Hit{Score: keyScore(k), Idx: inv[uint32(k)]}
	}
	return out
}

// sortKeys sorts keys ascending: an LSD radix sort by bytes for long
// lists (skipping bytes that are equal in every key, such as the high
// bytes of small orders), a comparison sort for short ones. tmp is
// scratch space, returned for reuse.
func sortKeys(keys, tmp []uint64) []uint64 {
	n := len(keys)
	if n < 128 {
		slices.Sort(keys)
		return tmp
	}
	if cap(tmp) < n {
		tmp = make([]uint64, n)
	}
	tmp = tmp[:n]
	src, dst := keys, tmp
	var cnt [256]int
	for shift := uint(0); shift < 64; shift += 8 {
		clear(cnt[:])
		for _, k := range src {
			cnt[byte(k>>shift)]++
		}
		if cnt[byte(src[0]>>shift)] == n {
			continue // this byte is the same in every key
		}
		sum := 0
		for i, c := range cnt {
			cnt[i] = sum
			sum += c
		}
		for _, k := range src {
			b := byte(k >> shift)
			dst[cnt[b]] = k
			cnt[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
	return tmp
}

// selectKeys reorders h so that h[:k] are its k smallest keys and h[k-1]
// is the k-th smallest (Hoare's selection with a median-of-three pivot).
func selectKeys(h []uint64, k int) {
	lo, hi := 0, len(h)-1
	n := k - 1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if h[mid] < h[lo] {
			h[mid], h[lo] = h[lo], h[mid]
		}
		if h[hi] < h[lo] {
			h[hi], h[lo] = h[lo], h[hi]
		}
		if h[hi] < h[mid] {
			h[hi], h[mid] = h[mid], h[hi]
		}
		p := h[mid]
		i, j := lo, hi
		for i <= j {
			for h[i] < p {
				i++
			}
			for p < h[j] {
				j--
			}
			if i <= j {
				h[i], h[j] = h[j], h[i]
				i++
				j--
			}
		}
		switch {
		case n <= j:
			hi = j
		case n >= i:
			lo = i
		default:
			return
		}
	}
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
