package bm25

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/lair-ir/lair/eval/search"
)

// Params are Okapi BM25's parameters.
type Params struct {
	K1 float64 // term frequency saturation (default 0.9, as Anserini)
	B  float64 // length normalization (default 0.4, as Anserini)
}

// DefaultParams are Anserini's BM25 defaults.
var DefaultParams = Params{K1: 0.9, B: 0.4}

type posting struct {
	doc int32 // global candidate index
	tf  float32
}

// Index is an inverted index over a set of documents (candidates
// Lo..Hi-1 of the search's candidate order).
type Index struct {
	params   Params
	terms    map[string]int32
	postings [][]posting
	idf      []float32
	// norm[d-Lo] = k1*(1 - b + b*len/avglen)
	norm []float32
	lo   int
}

// Build indexes docs, which are the candidates lo, lo+1, ...; analyze
// returns each document's terms.
func Build(docs []string, lo int, analyze func(i int, text string) []string, p Params) *Index {
	terms := make([][]string, len(docs))
	for i, d := range docs {
		terms[i] = analyze(i, d)
	}
	return BuildTerms(terms, lo, p)
}

// Stats are the collection statistics behind BM25's idf and length
// normalization: the number of documents, their total length in terms, and
// each term's document frequency. They are sums over documents, so the
// statistics of a collection cut into shards are the sums of the shards'
// statistics (Add), exactly, whatever the cut.
type Stats struct {
	Docs   int64
	Tokens int64
	DF     map[string]int64
}

// CollectStats returns the statistics of analyzed documents.
func CollectStats(docs [][]string) Stats {
	st := Stats{DF: map[string]int64{}}
	seen := map[string]bool{}
	for _, toks := range docs {
		st.Docs++
		st.Tokens += int64(len(toks))
		clear(seen)
		for _, t := range toks {
			if !seen[t] {
				seen[t] = true
				st.DF[t]++
			}
		}
	}
	return st
}

// Add adds the statistics of another, disjoint set of documents.
func (s *Stats) Add(o Stats) {
	if s.DF == nil {
		s.DF = map[string]int64{}
	}
	s.Docs += o.Docs
	s.Tokens += o.Tokens
	for t, n := range o.DF {
		s.DF[t] += n
	}
}

// BuildTerms indexes analyzed documents (the candidates lo, lo+1, ...)
// with their own collection statistics.
func BuildTerms(docs [][]string, lo int, p Params) *Index {
	st := CollectStats(docs)
	return BuildTermsStats(docs, lo, p, &st)
}

// BuildTermsStats indexes analyzed documents (the candidates lo, lo+1,
// ...) that are part of a larger collection with statistics g (which must
// count these documents too): idf = ln(1 + (N - df + 0.5)/(df + 0.5)) with
// N = g.Docs and df = g.DF[term], and the average length is
// g.Tokens/g.Docs. A shard indexed this way scores every document exactly
// (bit for bit) as an index over the whole collection does.
func BuildTermsStats(docs [][]string, lo int, p Params, g *Stats) *Index {
	ix := &Index{params: p, terms: map[string]int32{}, lo: lo}
	lens := make([]int, len(docs))
	tf := map[int32]int{}
	for i, toks := range docs {
		clear(tf)
		lens[i] = len(toks)
		for _, t := range toks {
			id, ok := ix.terms[t]
			if !ok {
				id = int32(len(ix.postings))
				ix.terms[t] = id
				ix.postings = append(ix.postings, nil)
			}
			tf[id]++
		}
		ids := make([]int32, 0, len(tf))
		for id := range tf {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			ix.postings[id] = append(ix.postings[id], posting{doc: int32(lo + i), tf: float32(tf[id])})
		}
	}
	n := float64(g.Docs)
	avg := 1.0
	if g.Docs > 0 && g.Tokens > 0 {
		avg = float64(g.Tokens) / n
	}
	ix.norm = make([]float32, len(docs))
	for i, l := range lens {
		ix.norm[i] = float32(p.K1 * (1 - p.B + p.B*float64(l)/avg))
	}
	ix.idf = make([]float32, len(ix.postings))
	for t, id := range ix.terms {
		df := float64(g.DF[t])
		ix.idf[id] = float32(math.Log(1 + (n-df+0.5)/(df+0.5)))
	}
	return ix
}

// Score adds the BM25 scores of the query terms (unique terms count once)
// to row, which is indexed by global candidate index.
func (ix *Index) Score(terms []string, row []float32) {
	k1 := float32(ix.params.K1)
	seen := make(map[int32]bool, len(terms))
	for _, t := range terms {
		id, ok := ix.terms[t]
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		idf := ix.idf[id]
		for _, p := range ix.postings[id] {
			row[p.doc] += idf * p.tf * (k1 + 1) / (p.tf + ix.norm[int(p.doc)-ix.lo])
		}
	}
}

// Scorer scores queries against candidates with BM25 for package search:
// either one index per segment (language) or one pooled index.
type Scorer struct {
	nc      int
	queries [][]string // analyzed query terms
	// segment s is scored with indexes[s]; a pooled scorer has one index
	// for every segment.
	indexes []*Index
	segs    []search.Segment
}

// NewScorer builds a BM25 scorer. Candidates are given in search order
// with their languages; segs are the language segments. With pooled, one
// index covers all candidates (collection statistics of the whole pool,
// for the multi setting); otherwise each segment has its own index (its
// language's statistics, for mono and cross). Queries are analyzed with
// their own language's analyzer, candidates with theirs.
func NewScorer(queryText, queryLang, candText, candLang []string, segs []search.Segment, pooled bool, p Params) (*Scorer, error) {
	if len(queryText) != len(queryLang) || len(candText) != len(candLang) {
		return nil, fmt.Errorf("bm25: texts and languages differ in length")
	}
	if p.K1 < 0 || p.B < 0 || p.B > 1 {
		return nil, fmt.Errorf("bm25: k1 = %v, b = %v; want k1 >= 0 and 0 <= b <= 1", p.K1, p.B)
	}
	return NewScorerTerms(Tokenize(queryText, queryLang, 1), Tokenize(candText, candLang, 1), segs, pooled, p)
}

// Tokenize analyzes texts with the analyzer of each text's language,
// on the given number of goroutines.
func Tokenize(texts, langs []string, threads int) [][]string {
	out := make([][]string, len(texts))
	threads = max(1, threads)
	var wg sync.WaitGroup
	chunk := (len(texts) + threads - 1) / threads
	for t := 0; t < threads; t++ {
		lo, hi := t*chunk, min((t+1)*chunk, len(texts))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			analyzers := map[string]*Analyzer{}
			for i := lo; i < hi; i++ {
				a := analyzers[langs[i]]
				if a == nil {
					a = NewAnalyzer(langs[i])
					analyzers[langs[i]] = a
				}
				out[i] = a.Tokens(nil, texts[i])
			}
		}()
	}
	wg.Wait()
	return out
}

// NewScorerTerms is NewScorer on analyzed queries and candidates.
func NewScorerTerms(queries, cands [][]string, segs []search.Segment, pooled bool, p Params) (*Scorer, error) {
	if p.K1 < 0 || p.B < 0 || p.B > 1 {
		return nil, fmt.Errorf("bm25: k1 = %v, b = %v; want k1 >= 0 and 0 <= b <= 1", p.K1, p.B)
	}
	s := &Scorer{nc: len(cands), segs: segs, queries: queries}
	if pooled {
		ix := BuildTerms(cands, 0, p)
		for range segs {
			s.indexes = append(s.indexes, ix)
		}
	} else {
		for _, sg := range segs {
			s.indexes = append(s.indexes, BuildTerms(cands[sg.Lo:sg.Hi], sg.Lo, p))
		}
	}
	return s, nil
}

// NewShardScorer builds a BM25 scorer over one shard of a collection
// whose statistics (summed over every shard, see Stats) are g: one index,
// one segment. Its scores equal, bit for bit, those of a scorer over the
// whole collection, so per-shard top lists merge into the unsharded one
// (search.TopK, search.MergeTop).
func NewShardScorer(queries, cands [][]string, p Params, g *Stats) (*Scorer, error) {
	if p.K1 < 0 || p.B < 0 || p.B > 1 {
		return nil, fmt.Errorf("bm25: k1 = %v, b = %v; want k1 >= 0 and 0 <= b <= 1", p.K1, p.B)
	}
	return &Scorer{nc: len(cands), queries: queries, segs: []search.Segment{{Name: "shard", Lo: 0, Hi: len(cands)}},
		indexes: []*Index{BuildTermsStats(cands, 0, p, g)}}, nil
}

func (s *Scorer) NumQueries() int          { return len(s.queries) }
func (s *Scorer) NumCandidates() int       { return s.nc }
func (s *Scorer) NewWorker() search.Worker { return &worker{s: s} }

type worker struct {
	s    *Scorer
	rows [][]float32
	pos  map[int]int
}

func (w *worker) Prepare(qs []int, want []bool) error {
	for len(w.rows) < len(qs) {
		w.rows = append(w.rows, make([]float32, w.s.nc))
	}
	w.pos = make(map[int]int, len(qs))
	for i, q := range qs {
		w.pos[q] = i
		row := w.rows[i]
		clear(row)
		var last *Index
		for si, ix := range w.s.indexes {
			if !want[si] || ix == last { // a pooled index scores every segment at once
				continue
			}
			last = ix
			ix.Score(w.s.queries[q], row)
		}
	}
	return nil
}

func (w *worker) Tile(qs []int, c0, c1 int, tile []float32) {
	n := c1 - c0
	for i, q := range qs {
		copy(tile[i*n:(i+1)*n], w.rows[w.pos[q]][c0:c1])
	}
}

func (w *worker) Pair(q, c int) float32 { return w.rows[w.pos[q]][c] }
