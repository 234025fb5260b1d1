package eval

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/eval/search"
	"github.com/lair-ir/lair/tables"
)

// RetrieveOptions configure Retrieve.
type RetrieveOptions struct {
	RunID    string
	Settings []string // subset of mono, cross, multi (default all three)
	K        int      // top-k kept for mono and multi rankings (default 1000)
	CrossK   int      // top-k kept for each cross pool (default 20)
	Threads  int
	// QueryBlock is the number of queries scored together (0: the search
	// default; BM25 keeps a full score row per query, so use a small one).
	QueryBlock int
	Progress   func(queries int)
	License    string // license of the ranked texts, recorded in the rankings file (RetrieveToFile)
}

func (o *RetrieveOptions) defaults() error {
	if len(o.Settings) == 0 {
		o.Settings = []string{Mono, Cross, Multi}
	}
	for _, s := range o.Settings {
		if s != Mono && s != Cross && s != Multi {
			return fmt.Errorf("setting %q: want mono, cross or multi", s)
		}
	}
	if o.K <= 0 {
		o.K = 1000
	}
	if o.CrossK <= 0 {
		o.CrossK = 20
	}
	o.Threads = max(o.Threads, 1)
	return nil
}

// RetrieveStats summarize a retrieval.
type RetrieveStats struct {
	Rows    map[string]int // rows written per setting
	NoRel   map[string]int // query-pool combinations skipped for lack of a relevant candidate
	Queries int
}

// Dense is the scorer DenseScorer builds: dot products of the embeddings,
// with the degenerate ones (see BadVector) scored Lowest.
type Dense struct {
	search.Scorer
	// Bad lists the embeddings that could not be used as vectors, queries
	// first, each in dataset order.
	Bad []BadVector
}

// DenseScorer builds a dot-product scorer over the embeddings of the
// prepared dataset's queries (role "query") and candidates (role
// "passage"), matched by id. With normalize, vectors are scaled to unit
// length (cosine similarity). embPath names the embeddings file in errors.
//
// A degenerate embedding (all zeros, or any NaN or infinite value) does
// not stop the run: it is listed in Bad with its id, and every pair it is
// part of scores Lowest, so a degenerate candidate ranks below every other
// candidate and a degenerate query ranks its pool by the tie rule alone
// (candidate id ascending). Both are deterministic.
func DenseScorer(p *Prepared, e *tables.Embeddings, embPath string, normalize bool) (*Dense, error) {
	qrow := map[string]int{}
	crow := map[string]int{}
	for i, id := range e.IDs {
		m := crow
		if e.Roles[i] == tables.RoleQuery {
			m = qrow
		}
		if j, dup := m[id]; dup {
			return nil, fmt.Errorf("%s row %d: %s id %q already at row %d", embPath, i, e.Roles[i], id, j)
		}
		m[id] = i
	}
	dim := e.Dim
	var bad []BadVector
	var badQ, badC []int
	Q := search.Matrix{Data: make([]float32, len(p.DS.Queries)*dim), Dim: dim}
	qf := filepath.Join(p.DS.Dir, datasets.QueriesFile)
	for i, q := range p.DS.Queries {
		r, ok := qrow[q.QID]
		if !ok {
			return nil, fmt.Errorf("%s: no query vector for qid %q (%s row %d); encode this dataset's queries with the same model", embPath, q.QID, qf, i)
		}
		if e.Langs[r] != q.Lang {
			return nil, fmt.Errorf("%s row %d: qid %q has lang %q but %s row %d says %q", embPath, r, q.QID, e.Langs[r], qf, i, q.Lang)
		}
		if why := putVector(Q.Row(i), e.Vector(r), normalize); why != "" {
			bad = append(bad, BadVector{Role: tables.RoleQuery, ID: q.QID, Row: r, Reason: why})
			badQ = append(badQ, i)
		}
	}
	C := search.Matrix{Data: make([]float32, len(p.CID)*dim), Dim: dim}
	cf := filepath.Join(p.DS.Dir, datasets.CandidatesFile)
	for i, cid := range p.CID {
		r, ok := crow[cid]
		if !ok {
			return nil, fmt.Errorf("%s: no passage vector for cid %q (%s row %d); encode this dataset's candidates with the same model", embPath, cid, cf, p.CandRow[i])
		}
		if e.Langs[r] != p.CLang[i] {
			return nil, fmt.Errorf("%s row %d: cid %q has lang %q but %s row %d says %q", embPath, r, cid, e.Langs[r], cf, p.CandRow[i], p.CLang[i])
		}
		if why := putVector(C.Row(i), e.Vector(r), normalize); why != "" {
			bad = append(bad, BadVector{Role: tables.RolePassage, ID: cid, Row: r, Reason: why})
			badC = append(badC, i)
		}
	}
	d, err := search.NewDense(Q, C)
	if err != nil {
		return nil, err
	}
	if len(bad) == 0 {
		return &Dense{Scorer: d}, nil
	}
	return &Dense{Scorer: newGuarded(d, badQ, badC), Bad: bad}, nil
}

// putVector copies src into dst (unit length with normalize) and returns
// why it cannot be used ("" when it can): then dst is left zero.
func putVector(dst, src []float32, normalize bool) string {
	var ss float64
	for _, x := range src {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return ReasonNonFinite
		}
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		return ReasonZero
	}
	if !normalize {
		copy(dst, src)
		return ""
	}
	inv := float32(1 / math.Sqrt(ss))
	for i, x := range src {
		dst[i] = x * inv
	}
	return ""
}

func (p *Prepared) segments() []search.Segment {
	out := make([]search.Segment, len(p.Segs))
	for i, s := range p.Segs {
		out[i] = search.Segment{Name: s.Lang, Lo: s.Lo, Hi: s.Hi}
	}
	return out
}

// Retrieve ranks the prepared dataset's candidates for every query in the
// requested settings and streams Ranking rows to emit. perLang scores the
// mono and cross pools, pooled the multi pool; they may be the same scorer
// (dense retrieval), in which case one pass serves every setting.
func Retrieve(ctx context.Context, p *Prepared, perLang, pooled search.Scorer, opt RetrieveOptions, emit func([]Ranking) error) (*RetrieveStats, error) {
	if err := opt.defaults(); err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, s := range opt.Settings {
		want[s] = true
	}
	segs := p.segments()
	st := &RetrieveStats{Rows: map[string]int{}, NoRel: map[string]int{}, Queries: len(p.DS.Queries)}
	base := search.Request{
		Segments: segs, Ord: p.Ord, QuerySeg: p.QuerySeg, Rel: p.Rel,
		Threads: opt.Threads, Progress: opt.Progress, QueryBlock: opt.QueryBlock,
	}
	monoCross := func(qseg, s int) int {
		switch {
		case s == qseg && want[Mono]:
			return opt.K
		case s != qseg && want[Cross]:
			return opt.CrossK
		}
		return 0
	}
	var perRes, multiRes []search.Result
	var err error
	if perLang == pooled {
		req := base
		req.KeepK = monoCross
		if want[Multi] {
			req.MultiK = opt.K
		}
		perRes, err = search.Run(ctx, perLang, &req)
		multiRes = perRes
	} else {
		if want[Mono] || want[Cross] {
			req := base
			req.KeepK = monoCross
			if perRes, err = search.Run(ctx, perLang, &req); err != nil {
				return nil, err
			}
		}
		if want[Multi] {
			req := base
			req.KeepK = func(int, int) int { return 0 }
			req.MultiK = opt.K
			multiRes, err = search.Run(ctx, pooled, &req)
		}
	}
	if err != nil {
		return nil, err
	}

	// Rows are built in parallel, a chunk of queries of one setting per
	// task, and emitted in order (setting, then query) on this goroutine,
	// so that emit (an evaluator, a writer) overlaps with the building.
	type task struct {
		setting string
		lo, hi  int
	}
	var tasks []task
	for _, setting := range []string{Mono, Cross, Multi} {
		if !want[setting] {
			continue
		}
		for lo := 0; lo < len(p.DS.Queries); lo += rowChunk {
			tasks = append(tasks, task{setting, lo, min(lo+rowChunk, len(p.DS.Queries))})
		}
	}
	type built struct {
		rows  []Ranking
		noRel int
	}
	b := rowBuilder{p: p, runID: opt.RunID, segs: segs}
	err = orderedParallel(ctx, len(tasks), opt.Threads, func(i int) built {
		t := tasks[i]
		var out built
		pool := make([]bool, len(segs))
		for q := t.lo; q < t.hi; q++ {
			switch t.setting {
			case Mono:
				qseg := p.QuerySeg[q]
				if qseg < 0 || !b.setPool(pool, q, qseg) {
					out.noRel++
					continue
				}
				res := &perRes[q]
				out.rows = append(out.rows, b.build(Mono, q, res, pool, p.Langs[qseg], segs[qseg].Hi-segs[qseg].Lo, res.Top[qseg]))
			case Cross:
				for s := range segs {
					if s == p.QuerySeg[q] {
						continue
					}
					if !b.setPool(pool, q, s) {
						out.noRel++
						continue
					}
					res := &perRes[q]
					out.rows = append(out.rows, b.build(Cross, q, res, pool, p.Langs[s], segs[s].Hi-segs[s].Lo, res.Top[s]))
				}
			case Multi:
				if !b.setPool(pool, q, -1) {
					out.noRel++
					continue
				}
				res := &multiRes[q]
				out.rows = append(out.rows, b.build(Multi, q, res, pool, All, len(p.CID), res.Multi))
			}
		}
		return out
	}, func(i int, out built) error {
		setting := tasks[i].setting
		st.Rows[setting] += len(out.rows)
		st.NoRel[setting] += out.noRel
		if len(out.rows) == 0 {
			return nil
		}
		return emit(out.rows)
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// rowChunk is the number of queries whose rows one task builds.
const rowChunk = 32

// rowBuilder turns search results into Ranking rows.
type rowBuilder struct {
	p     *Prepared
	runID string
	segs  []search.Segment
}

// setPool marks the segments of the pool (s < 0: all) and reports whether
// query q has a relevant candidate in it.
func (b *rowBuilder) setPool(pool []bool, q, s int) bool {
	for i := range pool {
		pool[i] = s < 0 || i == s
	}
	for _, c := range b.p.Rel[q] {
		if pool[b.p.segOf(c)] {
			return true
		}
	}
	return false
}

// build makes one row from the relevant candidates of query q in the pool
// (ordered by rank) and the pool's top list.
func (b *rowBuilder) build(setting string, q int, res *search.Result, pool []bool, clang string, poolSize int, top []search.Hit) Ranking {
	p := b.p
	qq := &p.DS.Queries[q]
	row := Ranking{RunID: b.runID, Dataset: p.DS.Name(), Setting: setting, QID: qq.QID, QLang: qq.Lang, CLang: clang, PoolSize: int32(poolSize)}
	type rel struct {
		i    int
		rank int
	}
	rels := make([]rel, 0, len(p.Rel[q]))
	for i, c := range p.Rel[q] {
		if pool[p.segOf(c)] {
			rels = append(rels, rel{i, res.RankIn(i, pool)})
		}
	}
	slices.SortFunc(rels, func(a, b rel) int { return a.rank - b.rank })
	n := len(rels)
	row.RelCIDs = make([]string, n)
	row.RelLangs = make([]string, n)
	row.RelGrades = make([]int32, n)
	row.RelRanks = make([]int32, n)
	row.RelScores = make([]float32, n)
	for j, r := range rels {
		c := p.Rel[q][r.i]
		row.RelCIDs[j] = p.CID[c]
		row.RelLangs[j] = p.CLang[c]
		row.RelGrades[j] = p.Grade[q][r.i]
		row.RelRanks[j] = int32(r.rank)
		row.RelScores[j] = res.RelScore[r.i]
	}
	row.TopCIDs = make([]string, len(top))
	row.TopScores = make([]float32, len(top))
	for i, h := range top {
		row.TopCIDs[i] = p.CID[h.Idx]
		row.TopScores[i] = h.Score
	}
	return row
}

// orderedParallel runs work(i) for i in [0, n) on up to threads
// goroutines and calls use(i, result) on the calling goroutine in order
// of i, with a bounded number of results waiting. It stops at use's first
// error or when ctx is cancelled.
func orderedParallel[T any](ctx context.Context, n, threads int, work func(int) T, use func(int, T) error) error {
	if n == 0 {
		return ctx.Err()
	}
	threads = max(1, min(threads, n))
	window := 2 * threads
	outs := make([]chan T, n)
	for i := range outs {
		outs[i] = make(chan T, 1)
	}
	done := make(chan struct{})
	defer close(done)
	jobs := make(chan int)
	slots := make(chan struct{}, window)
	go func() { // dispatcher: at most window tasks ahead of use
		defer close(jobs)
		for i := 0; i < n; i++ {
			select {
			case slots <- struct{}{}:
			case <-done:
				return
			}
			select {
			case jobs <- i:
			case <-done:
				return
			}
		}
	}()
	for t := 0; t < threads; t++ {
		go func() {
			for i := range jobs {
				outs[i] <- work(i) // buffered: never blocks
			}
		}()
	}
	for i := 0; i < n; i++ {
		var out T
		select {
		case out = <-outs[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-slots
		if err := use(i, out); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// segOf returns the segment of search candidate c.
func (p *Prepared) segOf(c int32) int {
	i, _ := slices.BinarySearchFunc(p.Segs, int(c), func(s searchSegment, c int) int {
		switch {
		case s.Hi <= c:
			return -1
		case s.Lo > c:
			return 1
		}
		return 0
	})
	return i
}
