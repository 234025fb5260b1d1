package shard

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/lair-ir/lair/eval"
	"github.com/lair-ir/lair/eval/bm25"
	"github.com/lair-ir/lair/eval/search"
	"github.com/lair-ir/lair/tables"
)

// File names this package owns.
const (
	InfoFile      = "shard.json"
	RowsFile      = "shard_rankings.parquet"
	GatherFile    = "gather.json"
	BM25StatsFile = "bm25_stats.parquet"
	BM25TotalFile = "bm25_stats.json"
)

// Of is the shard of a docid among n: FNV-1a of the id, modulo n.
// It depends on the id alone, so every shard instance reads the corpus
// files on its own and keeps its passages, with no coordination.
func Of(docid string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(docid))
	return int(h.Sum32() % uint32(n))
}

// Info is shard.json: which shard of which language an artifact is.
type Info struct {
	Dataset  string `json:"dataset"`
	Lang     string `json:"lang"`
	Shard    int    `json:"shard"`
	Shards   int    `json:"shards"`
	Passages int64  `json:"passages"`
	Files    int    `json:"corpus_files"`
}

// WriteInfo writes shard.json into the artifact directory dir.
func WriteInfo(dir string, si Info) error {
	return tables.WriteJSON(filepath.Join(dir, InfoFile), si)
}

// ReadInfo reads the shard.json of the artifact in dir; ok is false when it
// has none (an artifact not made by the sharded stages).
func ReadInfo(dir string) (si Info, ok bool, err error) {
	err = tables.ReadJSON(filepath.Join(dir, InfoFile), &si)
	if errors.Is(err, os.ErrNotExist) {
		return si, false, nil
	}
	return si, err == nil, err
}

// RequireInfo is ReadInfo for inputs that must come from corpus/shard.
func RequireInfo(dir string) (Info, error) {
	si, ok, err := ReadInfo(dir)
	if err == nil && !ok {
		err = fmt.Errorf("%s has no %s: the dataset input must come from corpus/shard", dir, InfoFile)
	}
	return si, err
}

// Row is one row of shard_rankings.parquet: one query's result in one
// shard.
type Row struct {
	RunID     string    `parquet:"run_id,dict"`
	Dataset   string    `parquet:"dataset,dict"`
	Lang      string    `parquet:"lang,dict"`
	Shard     int32     `parquet:"shard"`
	Shards    int32     `parquet:"shards"`
	Passages  int64     `parquet:"passages"` // passages in the shard
	QID       string    `parquet:"qid"`
	RelCIDs   []string  `parquet:"rel_cids,list"`   // the query's relevant passages found in the corpus
	RelGrades []int32   `parquet:"rel_grades,list"` // their grades
	RelScores []float32 `parquet:"rel_scores,list"` // their scores
	RelAhead  []int32   `parquet:"rel_ahead,list"`  // passages of this shard ranked ahead of each
	TopCIDs   []string  `parquet:"top_cids,list"`
	TopScores []float32 `parquet:"top_scores,list"`
}

// WriteRows writes a per-shard rankings artifact into dir: the rows and
// the shard's Info.
func WriteRows(dir string, rows []Row, si Info) error {
	if err := tables.Write(filepath.Join(dir, RowsFile), rows, nil); err != nil {
		return err
	}
	return WriteInfo(dir, si)
}

// ReadHead reads the first row of the per-shard rankings artifact in dir
// (its run and language).
func ReadHead(dir string) (Row, error) {
	path := filepath.Join(dir, RowsFile)
	f, err := os.Open(path)
	if err != nil {
		return Row{}, err
	}
	defer f.Close()
	r := parquet.NewGenericReader[Row](f)
	defer r.Close()
	buf := make([]Row, 1)
	n, err := r.Read(buf)
	if n == 0 {
		if err == nil || err == io.EOF {
			err = errors.New("no rows (a language without queries?)")
		}
		return Row{}, fmt.Errorf("%s: %w", path, err)
	}
	return buf[0], nil
}

// WriteGather writes gather.json (v: what was gathered) into the
// embeddings artifact dir, marking it as retrieve/gather's.
func WriteGather(dir string, v any) error {
	return tables.WriteJSON(filepath.Join(dir, GatherFile), v)
}

// IsGather reports whether the embeddings artifact in dir is
// retrieve/gather's.
func IsGather(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, GatherFile))
	return err == nil
}

// StatRow is one row of bm25_stats.parquet: a term's document frequency in
// one language's whole corpus.
type StatRow struct {
	Lang string `parquet:"lang,dict"`
	Term string `parquet:"term"`
	DF   int64  `parquet:"df"`
}

// Totals is bm25_stats.json: per language, documents, tokens and shards.
type Totals struct {
	Docs   map[string]int64 `json:"docs"`
	Tokens map[string]int64 `json:"tokens"`
	Shards map[string]int   `json:"shards"`
}

// WriteBM25Stats writes bm25_stats.parquet and bm25_stats.json into dir.
func WriteBM25Stats(dir string, rows []StatRow, tot Totals) error {
	if err := tables.Write(filepath.Join(dir, BM25StatsFile), rows, nil); err != nil {
		return err
	}
	return tables.WriteJSON(filepath.Join(dir, BM25TotalFile), tot)
}

// HasBM25Stats reports whether the artifact in dir holds BM25 statistics.
func HasBM25Stats(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, BM25TotalFile))
	return err == nil
}

// ReadBM25Stats reads the statistics of one language from the artifact in
// dir.
func ReadBM25Stats(dir, lang string) (*bm25.Stats, error) {
	var tot Totals
	if err := tables.ReadJSON(filepath.Join(dir, BM25TotalFile), &tot); err != nil {
		return nil, err
	}
	if _, ok := tot.Docs[lang]; !ok {
		return nil, fmt.Errorf("%s has no statistics for %s: retrieve/bm25-stats must read this language's shards", dir, lang)
	}
	st := &bm25.Stats{Docs: tot.Docs[lang], Tokens: tot.Tokens[lang], DF: map[string]int64{}}
	rows, err := tables.Read[StatRow](filepath.Join(dir, BM25StatsFile))
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if r.Lang == lang {
			st.DF[r.Term] = r.DF
		}
	}
	return st, nil
}

// Merge merges the per-shard rankings artifacts in dirs, all of one run
// and language, into rankings with top-k lists of length k (setting
// mono). It checks that every shard 0..shards-1 is present exactly once
// and returns the passages of all shards.
func Merge(run, lang string, dirs []string, k int) ([]eval.Ranking, int64, error) {
	key := struct{ run, lang string }{run, lang}
	var shards int32 = -1
	byShard := map[int32][]Row{}
	var passages int64
	for _, d := range dirs {
		p := filepath.Join(d, RowsFile)
		rows, err := tables.Read[Row](p)
		if err != nil {
			return nil, 0, err
		}
		if len(rows) == 0 {
			return nil, 0, fmt.Errorf("%s: no rows", p)
		}
		s := rows[0].Shard
		if shards >= 0 && rows[0].Shards != shards {
			return nil, 0, fmt.Errorf("run %s, %s: shard files disagree on the number of shards (%d and %d)", key.run, key.lang, shards, rows[0].Shards)
		}
		shards = rows[0].Shards
		if _, dup := byShard[s]; dup {
			return nil, 0, fmt.Errorf("run %s, %s: shard %d appears twice", key.run, key.lang, s)
		}
		byShard[s] = rows
		passages += rows[0].Passages
	}
	var missing []string
	for s := int32(0); s < shards; s++ {
		if _, ok := byShard[s]; !ok {
			missing = append(missing, fmt.Sprint(s))
		}
	}
	if len(missing) > 0 {
		return nil, 0, fmt.Errorf("run %s, %s: shard(s) %s of %d missing: every shard must be searched (re-run the failed instances)", key.run, key.lang, strings.Join(missing, ", "), shards)
	}
	nq := len(byShard[0])
	for s := int32(1); s < shards; s++ {
		if len(byShard[s]) != nq {
			return nil, 0, fmt.Errorf("run %s, %s: shard %d has %d queries, shard 0 has %d", key.run, key.lang, s, len(byShard[s]), nq)
		}
	}
	out := make([]eval.Ranking, 0, nq)
	lists := make([][]search.IDHit, shards)
	for q := 0; q < nq; q++ {
		base := byShard[0][q]
		ahead := make([]int32, len(base.RelCIDs))
		for s := int32(0); s < shards; s++ {
			r := &byShard[s][q]
			if r.QID != base.QID || !slices.Equal(r.RelCIDs, base.RelCIDs) || len(r.RelAhead) != len(base.RelCIDs) {
				return nil, 0, fmt.Errorf("run %s, %s: shard %d row %d is query %s, shard 0's is %s (or their relevant passages differ)", key.run, key.lang, s, q, r.QID, base.QID)
			}
			for i, a := range r.RelAhead {
				ahead[i] += a
			}
			l := make([]search.IDHit, len(r.TopCIDs))
			for i := range l {
				l[i] = search.IDHit{Score: r.TopScores[i], ID: r.TopCIDs[i], Shard: s}
			}
			lists[s] = l
		}
		top, err := search.MergeTop(k, lists...)
		if err != nil {
			return nil, 0, fmt.Errorf("run %s, %s, query %s: %w", key.run, key.lang, base.QID, err)
		}
		if len(base.RelCIDs) == 0 {
			continue // no relevant passage in the corpus: no row, as in unsharded retrieval
		}
		row := eval.Ranking{RunID: key.run, Dataset: base.Dataset, Setting: eval.Mono, QID: base.QID, QLang: key.lang, CLang: key.lang,
			PoolSize: int32(min(passages, math.MaxInt32))}
		idx := make([]int, len(base.RelCIDs))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return ahead[idx[a]] < ahead[idx[b]] })
		for _, i := range idx {
			row.RelCIDs = append(row.RelCIDs, base.RelCIDs[i])
			row.RelLangs = append(row.RelLangs, key.lang)
			row.RelGrades = append(row.RelGrades, base.RelGrades[i])
			row.RelRanks = append(row.RelRanks, ahead[i]+1)
			row.RelScores = append(row.RelScores, base.RelScores[i])
		}
		for _, h := range top {
			row.TopCIDs = append(row.TopCIDs, h.ID)
			row.TopScores = append(row.TopScores, h.Score)
		}
		out = append(out, row)
	}
	return out, passages, nil
}
