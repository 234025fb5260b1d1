package shard

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/eval/bm25"
	"github.com/lair-ir/lair/eval/search"
	"github.com/lair-ir/lair/tables"
)

// The work of the sharded-retrieval stages, each given artifact
// directories: the stages read parameters, call these and write the
// results with this package's writers.

// Queries reads a shard dataset artifact (corpus/shard): its Info, queries
// and, per query, its relevant qrels (relevance > 0).
func Queries(dir string) (si Info, qs []tables.Query, rels map[string][]tables.Qrel, err error) {
	if si, err = RequireInfo(dir); err != nil {
		return si, nil, nil, err
	}
	if qs, err = datasets.ReadQueries(dir); err != nil {
		return si, nil, nil, err
	}
	qrels, err := datasets.ReadQrels(dir)
	if err != nil {
		return si, nil, nil, err
	}
	rels = map[string][]tables.Qrel{}
	for _, r := range qrels {
		if r.Relevance > 0 {
			rels[r.QID] = append(rels[r.QID], r)
		}
	}
	return si, qs, rels, nil
}

// Input is an input artifact: the producing instance (for messages) and
// its directory.
type Input struct{ Name, Dir string }

// GatherStats says what Gather copied.
type GatherStats struct {
	Rows           int64 `json:"rows"`
	RelevantFound  int   `json:"relevant_found"`
	RelevantJudged int   `json:"relevant_judged"`
}

// Gather copies, bit for bit, each query's vector (from the first shard
// that has it) and each relevant passage's vector (qrels relevance > 0)
// from the shards' embeddings artifacts into the embeddings artifact
// outDir, and marks it (gather.json). progress is called once per shard.
func Gather(ctx context.Context, qrels []tables.Qrel, ins []Input, outDir string, progress func(int)) (GatherStats, error) {
	var gs GatherStats
	if progress == nil {
		progress = func(int) {}
	}
	rel := map[string]bool{}
	for _, r := range qrels {
		if r.Relevance > 0 {
			rel[r.CID] = true
		}
	}
	var w *tables.EmbeddingsWriter
	done := map[string]string{} // id -> the artifact it came from
	for _, in := range ins {
		if err := ctx.Err(); err != nil {
			return gs, err
		}
		m, err := tables.MapEmbeddingsArtifact(in.Dir)
		if err != nil {
			return gs, err
		}
		if w == nil {
			if w, err = tables.CreateEmbeddingsArtifact(outDir, m.Dim, m.ModelKey); err != nil {
				m.Close()
				return gs, err
			}
		}
		for i, id := range m.IDs {
			isQuery := m.Roles[i] == tables.RoleQuery
			if !isQuery && !rel[id] {
				continue
			}
			key := m.Roles[i] + "\x00" + id // MIRACL query ids can equal passage ids
			if from, dup := done[key]; dup {
				if isQuery {
					continue // every shard encodes the queries; the first copy is used
				}
				m.Close()
				w.Close()
				return gs, fmt.Errorf("passage %s is in %s and in %s: shards must not overlap", id, from, in.Name)
			}
			done[key] = in.Name
			if m.Dim != w.Dim() {
				m.Close()
				w.Close()
				return gs, fmt.Errorf("%s has dimension %d, %s has %d", in.Name, m.Dim, ins[0].Name, w.Dim())
			}
			if err := w.Write([]string{id}, []string{m.Roles[i]}, []string{m.Langs[i]}, m.Vector(i)); err != nil {
				m.Close()
				w.Close()
				return gs, err
			}
		}
		m.Close()
		progress(1)
	}
	if w == nil {
		return gs, fmt.Errorf("no embeddings inputs")
	}
	if err := w.Close(); err != nil {
		return gs, err
	}
	for id := range rel {
		if _, ok := done[tables.RolePassage+"\x00"+id]; ok {
			gs.RelevantFound++
		}
	}
	gs.Rows, gs.RelevantJudged = w.Rows(), len(rel)
	return gs, WriteGather(outDir, gs)
}

// SearchOptions configure SearchDense and SearchBM25.
type SearchOptions struct {
	RunID    string
	K        int // top-k list kept per query
	Threads  int
	Start    func(queries int) // called once the number of queries is known (may be nil)
	Progress func(queries int) // called as queries finish (may be nil)
}

// SearchDense searches one shard exactly: the shard's memory-mapped
// embeddings (shardDir, from encode/shard) against the queries of the
// shard dataset shardData, with the query and relevant vectors of the
// retrieve/gather artifact gather (so that relevant scores are bit for bit
// those of one search over the whole corpus). It returns the per-shard
// rows and the shard's Info (Passages set to the passages searched).
func SearchDense(ctx context.Context, shardData string, shardEmb, gather Input, opt SearchOptions) ([]Row, Info, error) {
	si, qs, rels, err := Queries(shardData)
	if err != nil {
		return nil, si, err
	}
	g, err := tables.MapEmbeddingsArtifact(gather.Dir)
	if err != nil {
		return nil, si, err
	}
	defer g.Close()
	sh, err := tables.MapEmbeddingsArtifact(shardEmb.Dir)
	if err != nil {
		return nil, si, err
	}
	defer sh.Close()
	if g.Dim != sh.Dim {
		return nil, si, fmt.Errorf("gathered vectors have dimension %d, the shard's %d (different encoders?)", g.Dim, sh.Dim)
	}
	// Rows by id, per role (MIRACL query ids can equal passage ids).
	gq, gp := map[string]int{}, map[string]int{}
	for i, id := range g.IDs {
		if g.Roles[i] == tables.RoleQuery {
			gq[id] = i
		} else {
			gp[id] = i
		}
	}
	// Queries and relevant vectors from the gathered artifact.
	Q := search.Matrix{Dim: g.Dim}
	R := search.Matrix{Dim: g.Dim}
	var relIdx [][]int // per query: rows of R
	var relQrels [][]tables.Qrel
	for _, q := range qs {
		i, ok := gq[q.QID]
		if !ok {
			return nil, si, fmt.Errorf("query %s has no vector in %s", q.QID, gather.Name)
		}
		Q.Data = append(Q.Data, g.Vector(i)...)
		var ri []int
		var rq []tables.Qrel
		for _, r := range rels[q.QID] {
			if j, ok := gp[r.CID]; ok {
				ri = append(ri, R.Rows())
				R.Data = append(R.Data, g.Vector(j)...)
				rq = append(rq, r)
			}
		}
		relIdx, relQrels = append(relIdx, ri), append(relQrels, rq)
	}
	// The shard's passages: its rows of role passage (queries come first).
	var chunks []search.Matrix
	var ids []string
	row := 0
	for _, c := range sh.Chunks {
		n := len(c) / sh.Dim
		lo := row
		for lo < row+n && sh.Roles[lo] == tables.RoleQuery {
			lo++
		}
		if lo < row+n {
			chunks = append(chunks, search.Matrix{Data: c[(lo-row)*sh.Dim:], Dim: sh.Dim})
			ids = append(ids, sh.IDs[lo:row+n]...)
		}
		row += n
	}
	ch, err := search.NewChunked(chunks)
	if err != nil {
		return nil, si, err
	}
	sc2, err := search.NewDenseChunked(Q, ch)
	if err != nil {
		return nil, si, err
	}
	// Relevant scores: the same kernel on the same bits as in the tiles.
	rs, err := search.NewDense(Q, R)
	if err != nil && R.Rows() > 0 {
		return nil, si, err
	}
	ths := make([][]search.IDThreshold, len(qs))
	if R.Rows() > 0 {
		wk := rs.NewWorker()
		for q := range qs {
			for k, r := range relIdx[q] {
				ths[q] = append(ths[q], search.IDThreshold{Score: wk.Pair(q, r), ID: relQrels[q][k].CID})
			}
		}
	}
	if opt.Start != nil {
		opt.Start(len(qs))
	}
	res, err := search.SearchShard(ctx, sc2, ids, si.Shard, search.TopKOptions{K: opt.K, Threads: max(1, opt.Threads), Progress: opt.Progress}, ths)
	if err != nil {
		return nil, si, err
	}
	si.Passages = int64(len(ids))
	return makeRows(opt.RunID, si, qs, relQrels, ths, res), si, nil
}

// makeRows turns one shard's search results into rows.
func makeRows(runID string, si Info, qs []tables.Query, relQrels [][]tables.Qrel, ths [][]search.IDThreshold, res []search.ShardResult) []Row {
	rows := make([]Row, len(qs))
	for q := range qs {
		r := Row{RunID: runID, Dataset: si.Dataset, Lang: si.Lang, Shard: int32(si.Shard), Shards: int32(si.Shards),
			Passages: si.Passages, QID: qs[q].QID, RelAhead: res[q].Ahead}
		for k, th := range ths[q] {
			r.RelCIDs = append(r.RelCIDs, th.ID)
			r.RelGrades = append(r.RelGrades, relQrels[q][k].Relevance)
			r.RelScores = append(r.RelScores, th.Score)
		}
		for _, h := range res[q].Top {
			r.TopCIDs = append(r.TopCIDs, h.ID)
			r.TopScores = append(r.TopScores, h.Score)
		}
		rows[q] = r
	}
	return rows
}

// candidateTerms analyzes a shard's candidates batch by batch.
func candidateTerms(dir string, threads int, fn func(cs []tables.Candidate, terms [][]string) error) error {
	return datasets.ReadCandidateBatches(dir, 4096, func(cs []tables.Candidate) error {
		texts, langs := make([]string, len(cs)), make([]string, len(cs))
		for i, c := range cs {
			texts[i], langs[i] = c.Text, c.Lang
		}
		return fn(cs, bm25.Tokenize(texts, langs, threads))
	})
}

// BM25Collection is what CollectBM25 found: the statistics of every
// language summed over its shards, and the small dataset of the judged
// passages found in the corpus (with the queries, and the qrels of those
// passages) that eval/miracl evaluates merged rankings against.
type BM25Collection struct {
	Stats      []StatRow
	Totals     Totals
	Queries    []tables.Query
	Qrels      []tables.Qrel
	Candidates []tables.Candidate // the judged passages found, by cid
	Dropped    int                // qrels rows naming passages missing from the corpus
}

// CollectBM25 sums BM25 statistics (documents, tokens, document
// frequencies: integer sums, so equal to one index over the whole corpus)
// over the shard dataset artifacts ins (corpus/shard) and keeps every
// judged passage it meets. progress is called once per shard.
func CollectBM25(ctx context.Context, ins []Input, threads int, progress func(int)) (*BM25Collection, error) {
	if progress == nil {
		progress = func(int) {}
	}
	stats := map[string]*bm25.Stats{}
	tot := Totals{Docs: map[string]int64{}, Tokens: map[string]int64{}, Shards: map[string]int{}}
	var queries []tables.Query
	var qrels []tables.Qrel
	var relCands []tables.Candidate
	seenLang := map[string]bool{}
	for _, in := range ins {
		si, qs, _, err := Queries(in.Dir)
		if err != nil {
			return nil, err
		}
		q, err := datasets.ReadQrels(in.Dir)
		if err != nil {
			return nil, err
		}
		rel := map[string]bool{} // every judged passage (any grade)
		for _, r := range q {
			rel[r.CID] = true
		}
		if !seenLang[si.Lang] {
			seenLang[si.Lang] = true
			queries = append(queries, qs...)
			qrels = append(qrels, q...)
			stats[si.Lang] = &bm25.Stats{DF: map[string]int64{}}
		}
		tot.Shards[si.Lang]++
		err = candidateTerms(in.Dir, max(1, threads), func(cs []tables.Candidate, terms [][]string) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			stats[si.Lang].Add(bm25.CollectStats(terms))
			for _, c := range cs {
				if rel[c.CID] {
					relCands = append(relCands, tables.Candidate{Dataset: strings.Clone(c.Dataset), CID: strings.Clone(c.CID),
						Lang: strings.Clone(c.Lang), Text: strings.Clone(c.Text)})
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.Name, err)
		}
		progress(1)
	}
	var rows []StatRow
	for _, l := range slices.Sorted(func(yield func(string) bool) {
		for l := range stats {
			if !yield(l) {
				return
			}
		}
	}) {
		st := stats[l]
		tot.Docs[l], tot.Tokens[l] = st.Docs, st.Tokens
		for t, df := range st.DF {
			rows = append(rows, StatRow{Lang: l, Term: t, DF: df})
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Lang != rows[j].Lang {
			return rows[i].Lang < rows[j].Lang
		}
		return rows[i].Term < rows[j].Term
	})
	sort.Slice(relCands, func(i, j int) bool { return relCands[i].CID < relCands[j].CID })
	// Judged passages missing from the corpus cannot be retrieved; their
	// qrels rows are dropped so that the artifact is a consistent dataset
	// (eval/miracl evaluates against it).
	found := make(map[string]bool, len(relCands))
	for _, c := range relCands {
		found[c.CID] = true
	}
	nq := len(qrels)
	qrels = slices.DeleteFunc(qrels, func(r tables.Qrel) bool { return !found[r.CID] })
	return &BM25Collection{Stats: rows, Totals: tot, Queries: queries, Qrels: qrels, Candidates: relCands, Dropped: nq - len(qrels)}, nil
}

// SearchBM25 searches one shard with BM25 and the language's global
// statistics from the retrieve/bm25-stats artifact statsDir: every passage
// of the shard dataset shardDir scores exactly as in one index over the
// whole corpus, and each relevant passage's score comes from the judged
// passages statsDir holds.
func SearchBM25(ctx context.Context, shardDir, statsDir string, params bm25.Params, opt SearchOptions) ([]Row, Info, error) {
	si, qs, rels, err := Queries(shardDir)
	if err != nil {
		return nil, si, err
	}
	g, err := ReadBM25Stats(statsDir, si.Lang)
	if err != nil {
		return nil, si, err
	}
	relCands, err := datasets.ReadCandidates(statsDir)
	if err != nil {
		return nil, si, err
	}
	relCands = slices.DeleteFunc(relCands, func(c tables.Candidate) bool { return c.Lang != si.Lang })
	threads := max(1, opt.Threads)
	qText, qLang := make([]string, len(qs)), make([]string, len(qs))
	for i, q := range qs {
		qText[i], qLang[i] = q.Text, q.Lang
	}
	qTerms := bm25.Tokenize(qText, qLang, threads)
	var ids []string
	var terms [][]string
	if err := candidateTerms(shardDir, threads, func(cs []tables.Candidate, t [][]string) error {
		for _, c := range cs {
			ids = append(ids, strings.Clone(c.CID))
		}
		terms = append(terms, t...)
		return ctx.Err()
	}); err != nil {
		return nil, si, err
	}
	scorer, err := bm25.NewShardScorer(qTerms, terms, params, g)
	if err != nil {
		return nil, si, err
	}
	// Relevant scores: the relevant passages indexed with the same global statistics.
	relRow := map[string]int{}
	rText, rLang := make([]string, len(relCands)), make([]string, len(relCands))
	for i, c := range relCands {
		relRow[c.CID] = i
		rText[i], rLang[i] = c.Text, c.Lang
	}
	relScorer, err := bm25.NewShardScorer(qTerms, bm25.Tokenize(rText, rLang, threads), params, g)
	if err != nil {
		return nil, si, err
	}
	wk := relScorer.NewWorker()
	ths := make([][]search.IDThreshold, len(qs))
	relQrels := make([][]tables.Qrel, len(qs))
	for q := range qs {
		if err := wk.Prepare([]int{q}, []bool{true}); err != nil {
			return nil, si, err
		}
		for _, r := range rels[qs[q].QID] {
			if j, ok := relRow[r.CID]; ok {
				ths[q] = append(ths[q], search.IDThreshold{Score: wk.Pair(q, j), ID: r.CID})
				relQrels[q] = append(relQrels[q], r)
			}
		}
	}
	if opt.Start != nil {
		opt.Start(len(qs))
	}
	res, err := search.SearchShard(ctx, scorer, ids, si.Shard, search.TopKOptions{K: opt.K, Threads: threads, QueryBlock: 16, Progress: opt.Progress}, ths)
	if err != nil {
		return nil, si, err
	}
	si.Passages = int64(len(ids))
	return makeRows(opt.RunID, si, qs, relQrels, ths, res), si, nil
}
