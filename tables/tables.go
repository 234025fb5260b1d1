package tables

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// Query is one row of queries.parquet.
type Query struct {
	Dataset string `parquet:"dataset,dict"`
	Split   string `parquet:"split,dict"`
	QID     string `parquet:"qid"`
	GroupID string `parquet:"group_id"` // links translations of one question
	Lang    string `parquet:"lang,dict"`
	Text    string `parquet:"text"`
}

// Candidate is one row of candidates.parquet: one retrievable passage
// (for LAReQA data, one sentence with its paragraph as context).
type Candidate struct {
	Dataset string `parquet:"dataset,dict"`
	CID     string `parquet:"cid"`
	Lang    string `parquet:"lang,dict"`
	Text    string `parquet:"text"`
	Context string `parquet:"context"`
	DocID   string `parquet:"doc_id"`
}

// Qrel is one row of qrels.parquet.
type Qrel struct {
	Dataset   string `parquet:"dataset,dict"`
	QID       string `parquet:"qid"`
	CID       string `parquet:"cid"`
	Relevance int32  `parquet:"relevance"`
}

// Pair is one row of pairs.parquet: a training pair.
type Pair struct {
	PairID  string `parquet:"pair_id"`
	GroupID string `parquet:"group_id"` // pairs of one group must never share a batch
	Source  string `parquet:"source,dict"`
	Kind    string `parquet:"kind,dict"` // "mono" (q_lang == p_lang) or "cross"
	QLang   string `parquet:"q_lang,dict"`
	QText   string `parquet:"q_text"`
	PLang   string `parquet:"p_lang,dict"`
	PText   string `parquet:"p_text"`
	NegText string `parquet:"neg_text,optional"` // optional hard negative ("" when none)
	Split   string `parquet:"split,dict"`        // "train" or "validation"
}

// Metric is one row of metrics.parquet (tidy, long format).
type Metric struct {
	RunID   string  `parquet:"run_id,dict"`
	Dataset string  `parquet:"dataset,dict"`
	Setting string  `parquet:"setting,dict"` // mono | cross | multi
	QLang   string  `parquet:"q_lang,dict"`  // "all" for macro averages
	CLang   string  `parquet:"c_lang,dict"`  // "all" for pooled or averaged candidates
	Metric  string  `parquet:"metric,dict"`
	Value   float64 `parquet:"value"`
	N       int64   `parquet:"n"`
}

// PerQuery is one row of per_query.parquet.
type PerQuery struct {
	RunID   string  `parquet:"run_id,dict"`
	Dataset string  `parquet:"dataset,dict"`
	Setting string  `parquet:"setting,dict"`
	QID     string  `parquet:"qid"`
	Lang    string  `parquet:"lang,dict"`
	CLang   string  `parquet:"c_lang,dict"`
	Metric  string  `parquet:"metric,dict"`
	Value   float64 `parquet:"value"`
}

// SchemaVersion is the version of lair's table schemas. Every table lair
// writes carries it in its file metadata under SchemaVersionKey, and its
// table name (the file name without extension) under TableKey, so a
// notebook can check what it reads. It changes when a column is renamed,
// removed or changes meaning; adding a column keeps it.
const SchemaVersion = "1"

// File metadata keys of every table.
const (
	SchemaVersionKey = "lair.schema_version"
	TableKey         = "lair.table"
)

// SchemaMeta returns kv (not modified) plus the schema version and the
// table name derived from path ("metrics" for .../metrics.parquet).
func SchemaMeta(path string, kv map[string]string) map[string]string {
	out := make(map[string]string, len(kv)+2)
	for k, v := range kv {
		out[k] = v
	}
	base := filepath.Base(path)
	if i := strings.IndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	out[SchemaVersionKey] = SchemaVersion
	out[TableKey] = base
	return out
}

// Write writes rows to a zstd-compressed Parquet file at path, with the
// given key/value metadata (for example "license") and the schema
// version (SchemaMeta).
func Write[T any](path string, rows []T, meta map[string]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	opts := []parquet.WriterOption{parquet.Compression(&zstd.Codec{Level: zstd.SpeedDefault})}
	meta = SchemaMeta(path, meta)
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the same bytes on every run
	for _, k := range keys {
		opts = append(opts, parquet.KeyValueMetadata(k, meta[k]))
	}
	w := parquet.NewGenericWriter[T](f, opts...)
	if len(rows) > 0 {
		if _, err := w.Write(rows); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := w.Close(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Read reads every row of a Parquet file written for T.
func Read[T any](path string) ([]T, error) {
	rows, err := parquet.ReadFile[T](path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return rows, nil
}

// NumRows returns the number of rows of a Parquet file, from its footer.
func NumRows(path string) (int64, error) {
	f, pf, openErr, parseErr := openParquet(path)
	if openErr != nil {
		return 0, openErr
	}
	if parseErr != nil {
		return 0, fmt.Errorf("read %s: %w", path, parseErr)
	}
	defer f.Close()
	return pf.NumRows(), nil
}

// Metadata returns a Parquet file's key/value metadata.
func Metadata(path string) (map[string]string, error) {
	f, pf, openErr, parseErr := openParquet(path)
	if openErr != nil {
		return nil, openErr
	}
	if parseErr != nil {
		return nil, fmt.Errorf("read %s: %w", path, parseErr)
	}
	defer f.Close()
	out := map[string]string{}
	for _, kv := range pf.Metadata().KeyValueMetadata {
		out[kv.Key] = kv.Value
	}
	return out, nil
}

// openParquet opens the Parquet file at path. openErr is an error opening
// or statting the file, parseErr one reading its footer (callers word the
// two differently); on success the caller closes f when done with pf.
func openParquet(path string) (f *os.File, pf *parquet.File, openErr, parseErr error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err, nil
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err, nil
	}
	if pf, err = parquet.OpenFile(f, st.Size()); err != nil {
		f.Close()
		return nil, nil, nil, err
	}
	return f, pf, nil, nil
}
