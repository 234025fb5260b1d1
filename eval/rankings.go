package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/lair-ir/lair/tables"
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
	RelCIDs   []string  `parquet:"rel_cids,list,dict"`
	RelLangs  []string  `parquet:"rel_langs,list,dict"`
	RelGrades []int32   `parquet:"rel_grades,list"`
	RelRanks  []int32   `parquet:"rel_ranks,list"`
	RelScores []float32 `parquet:"rel_scores,list"`
	TopCIDs   []string  `parquet:"top_cids,list,dict"`
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
	// Candidate ids repeat across queries: dictionary-encoded lists and
	// zstd's default level make the file about 15% smaller than plain
	// lists at its fastest level.
	w := parquet.NewGenericWriter[Ranking](f,
		parquet.Compression(&zstd.Codec{Level: zstd.SpeedDefault}),
		parquet.MaxRowsPerRowGroup(4096))
	for k, v := range tables.SchemaMeta(path, nil) {
		w.SetKeyValueMetadata(k, v)
	}
	return &RankingsWriter{path: path, f: f, w: w}, nil
}

// SetLicense records the license of the ranked texts in the file metadata.
func (rw *RankingsWriter) SetLicense(license string) {
	if license != "" {
		rw.w.SetKeyValueMetadata("license", license)
	}
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

// ReadRankings streams the rows of a rankings file to fn in batches. It
// reads columns with Arrow (much faster than row reconstruction for the
// long top-k lists); the strings of a batch share its Arrow buffers,
// which stay valid as long as they are referenced.
func ReadRankings(path string, fn func(batch []Ranking) error) (err error) {
	defer func() {
		// the Parquet readers can panic on corrupt input; report it as a bad file.
		if r := recover(); r != nil {
			err = fmt.Errorf("read rankings %s: corrupt file: %v", path, r)
		}
	}()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return fmt.Errorf("read rankings %s: %w", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.NewGoAllocator())
	if err != nil {
		return fmt.Errorf("read rankings %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return fmt.Errorf("read rankings %s: %w", path, err)
	}
	defer rr.Release()
	schema := rr.Schema()
	col := func(name string) (int, error) {
		idx := schema.FieldIndices(name)
		if len(idx) == 0 {
			return 0, fmt.Errorf("read rankings %s: no column %q; is this a rankings.parquet?", path, name)
		}
		return idx[0], nil
	}
	names := []string{"run_id", "dataset", "setting", "qid", "q_lang", "c_lang", "pool_size", "rel_cids", "rel_langs",
		"rel_grades", "rel_ranks", "rel_scores", "top_cids", "top_scores"}
	idx := make([]int, len(names))
	for i, n := range names {
		if idx[i], err = col(n); err != nil {
			return err
		}
	}
	row := 0
	var buf []Ranking
	for rr.Next() {
		rec := rr.RecordBatch()
		n := int(rec.NumRows())
		c := func(i int) arrow.Array { return rec.Column(idx[i]) }
		strs := make([]func(int) string, 6)
		for i := range strs {
			if strs[i], err = strColumn(c(i)); err != nil {
				return fmt.Errorf("read rankings %s: column %s: %w", path, names[i], err)
			}
		}
		pool, ok := c(6).(*array.Int32)
		if !ok {
			return fmt.Errorf("read rankings %s: column pool_size has type %s, want int32", path, c(6).DataType())
		}
		lists := make([]*array.List, 7)
		for i := range lists {
			if lists[i], ok = c(7 + i).(*array.List); !ok {
				return fmt.Errorf("read rankings %s: column %s has type %s, want a list", path, names[7+i], c(7+i).DataType())
			}
		}
		relCIDs, err1 := listStrings(lists[0])
		relLangs, err2 := listStrings(lists[1])
		topCIDs, err3 := listStrings(lists[5])
		relGrades, err4 := listValues[int32, *array.Int32](lists[2])
		relRanks, err5 := listValues[int32, *array.Int32](lists[3])
		relScores, err6 := listValues[float32, *array.Float32](lists[4])
		topScores, err7 := listValues[float32, *array.Float32](lists[6])
		if err := errors.Join(err1, err2, err3, err4, err5, err6, err7); err != nil {
			return fmt.Errorf("read rankings %s (row %d): %w", path, row, err)
		}
		buf = buf[:0]
		for i := 0; i < n; i++ {
			buf = append(buf, Ranking{RunID: strs[0](i), Dataset: strs[1](i), Setting: strs[2](i), QID: strs[3](i),
				QLang: strs[4](i), CLang: strs[5](i), PoolSize: pool.Value(i),
				RelCIDs: relCIDs(i), RelLangs: relLangs(i), RelGrades: relGrades(i), RelRanks: relRanks(i), RelScores: relScores(i),
				TopCIDs: topCIDs(i), TopScores: topScores(i)})
			if err := buf[i].check(); err != nil {
				return fmt.Errorf("%s row %d: %w", path, row+i, err)
			}
		}
		if err := fn(buf); err != nil {
			return err
		}
		row += n
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read rankings %s (row %d): %w", path, row, err)
	}
	return nil
}

// strColumn returns an accessor for a string column (plain or dictionary).
func strColumn(a arrow.Array) (func(int) string, error) {
	switch c := a.(type) {
	case *array.String:
		return c.Value, nil
	case *array.Dictionary:
		if d, ok := c.Dictionary().(*array.String); ok {
			return func(i int) string { return d.Value(c.GetValueIndex(i)) }, nil
		}
	}
	return nil, fmt.Errorf("type %s, want string", a.DataType())
}

// listStrings returns, for a list<string> column, row i's strings.
func listStrings(l *array.List) (func(int) []string, error) {
	v, ok := l.ListValues().(*array.String)
	if !ok {
		return nil, fmt.Errorf("list of %s, want list of string", l.ListValues().DataType())
	}
	return func(i int) []string {
		s, e := l.ValueOffsets(i)
		if e <= s {
			return nil
		}
		out := make([]string, e-s)
		for j := range out {
			out[j] = v.Value(int(s) + j)
		}
		return out
	}, nil
}

// listValues returns, for a list of numbers, row i's values (a copy).
func listValues[T int32 | float32, A interface {
	arrow.Array
	Values() []T
}](l *array.List) (func(int) []T, error) {
	v, ok := l.ListValues().(A)
	if !ok {
		return nil, fmt.Errorf("list of %s has an unexpected value type", l.ListValues().DataType())
	}
	vals := v.Values()
	return func(i int) []T {
		s, e := l.ValueOffsets(i)
		if e <= s {
			return nil
		}
		return append([]T(nil), vals[s:e]...)
	}, nil
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
