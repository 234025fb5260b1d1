package eval

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// RankingsFile is the file of a rankings artifact.
const RankingsFile = "rankings.parquet"

// Settings.
const (
	Mono  = "mono"
	Cross = "cross"
	Multi = "multi"
	// All is the q_lang / c_lang value of pooled or averaged rows.
	All = "all"
)

// Ranking is one row of rankings.parquet: the ranking of one query in one
// setting and candidate pool.
//
//	run_id      the system (e.g. "encode[strategy=hybrid]" or "bm25")
//	dataset     dataset name from queries.parquet
//	setting     mono | cross | multi
//	qid, q_lang the query and its language
//	c_lang      the pool's candidate language ("all" for multi)
//	pool_size   number of candidates ranked
//	rel_*       the query's relevant candidates in the pool (relevance > 0),
//	            ordered by rank: id, language, grade, 1-based rank in the
//	            full ranking of the pool (ties: score desc, cid asc), score
//	top_cids    the top-k candidate ids, best first (k = min(k, pool_size))
//	top_scores  their scores
//
// Queries with no relevant candidate in a pool have no row for it.
type Ranking struct {
	RunID     string    `parquet:"run_id,dict"`
	Dataset   string    `parquet:"dataset,dict"`
	Setting   string    `parquet:"setting,dict"`
	QID       string    `parquet:"qid"`
	QLang     string    `parquet:"q_lang,dict"`
	CLang     string    `parquet:"c_lang,dict"`
	PoolSize  int32     `parquet:"pool_size"`
	RelCIDs   []string  `parquet:"rel_cids,list"`
	RelLangs  []string  `parquet:"rel_langs,list"`
	RelGrades []int32   `parquet:"rel_grades,list"`
	RelRanks  []int32   `parquet:"rel_ranks,list"`
	RelScores []float32 `parquet:"rel_scores,list"`
	TopCIDs   []string  `parquet:"top_cids,list"`
	TopScores []float32 `parquet:"top_scores,list"`
}

// RankingsWriter streams Ranking rows to a Parquet file.
type RankingsWriter struct {
	path string
	f    *os.File
	w    *parquet.GenericWriter[Ranking]
	n    int
}

// CreateRankings creates a rankings file.
func CreateRankings(path string) (*RankingsWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w := parquet.NewGenericWriter[Ranking](f,
		parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}),
		parquet.MaxRowsPerRowGroup(4096))
	return &RankingsWriter{path: path, f: f, w: w}, nil
}

// Write appends rows.
func (rw *RankingsWriter) Write(rows []Ranking) error {
	if _, err := rw.w.Write(rows); err != nil {
		return fmt.Errorf("write %s: %w", rw.path, err)
	}
	rw.n += len(rows)
	return nil
}

// Close finishes the file.
func (rw *RankingsWriter) Close() error {
	if err := rw.w.Close(); err != nil {
		rw.f.Close()
		return fmt.Errorf("write %s: %w", rw.path, err)
	}
	return rw.f.Close()
}

// ReadRankings streams the rows of a rankings file to fn in batches (the
// batch slice is reused between calls).
func ReadRankings(path string, fn func(batch []Ranking) error) (err error) {
	defer func() {
		// parquet-go can panic on corrupt input; report it as a bad file.
		if r := recover(); r != nil {
			err = fmt.Errorf("read rankings %s: corrupt file: %v", path, r)
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read rankings: %w", err)
	}
	defer f.Close()
	r := parquet.NewGenericReader[Ranking](f)
	defer r.Close()
	buf := make([]Ranking, 512)
	row := 0
	for {
		for i := range buf {
			buf[i] = Ranking{}
		}
		n, err := r.Read(buf)
		if n > 0 {
			for i := range buf[:n] {
				if err := buf[i].check(); err != nil {
					return fmt.Errorf("%s row %d: %w", path, row+i, err)
				}
			}
			if ferr := fn(buf[:n]); ferr != nil {
				return ferr
			}
			row += n
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s (row %d): %w", path, row, err)
		}
	}
}

func (r *Ranking) check() error {
	n := len(r.RelCIDs)
	if len(r.RelRanks) != n || len(r.RelGrades) != n || len(r.RelLangs) != n || len(r.RelScores) != n {
		return fmt.Errorf("qid %q: %d rel_cids but %d rel_ranks, %d rel_grades, %d rel_langs, %d rel_scores", r.QID, n, len(r.RelRanks), len(r.RelGrades), len(r.RelLangs), len(r.RelScores))
	}
	if len(r.TopCIDs) != len(r.TopScores) {
		return fmt.Errorf("qid %q: %d top_cids but %d top_scores", r.QID, len(r.TopCIDs), len(r.TopScores))
	}
	for i, rk := range r.RelRanks {
		if rk < 1 || rk > r.PoolSize {
			return fmt.Errorf("qid %q: rank %d of %q outside [1,%d]", r.QID, rk, r.RelCIDs[i], r.PoolSize)
		}
	}
	switch r.Setting {
	case Mono, Cross, Multi:
	default:
		return fmt.Errorf("qid %q: setting %q, want mono, cross or multi", r.QID, r.Setting)
	}
	return nil
}
