package datasets

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/lair-ir/lair/tables"
)

// The table files of a dataset artifact, one reader and writer each, for
// stages and packages that need one table (or a stream) rather than the
// whole Dataset. Only this file and dataset.go name them.

// ReadQueries reads the queries table of the dataset artifact in dir.
func ReadQueries(dir string) ([]tables.Query, error) {
	return tables.Read[tables.Query](filepath.Join(dir, QueriesFile))
}

// ReadCandidates reads the candidates table of the dataset artifact in dir.
func ReadCandidates(dir string) ([]tables.Candidate, error) {
	return tables.Read[tables.Candidate](filepath.Join(dir, CandidatesFile))
}

// ReadQrels reads the qrels table of the dataset artifact in dir.
func ReadQrels(dir string) ([]tables.Qrel, error) {
	return tables.Read[tables.Qrel](filepath.Join(dir, QrelsFile))
}

// ReadCandidateBatches streams the candidates table of the dataset
// artifact in dir, n rows at a time (bounded memory for a corpus of any
// size).
func ReadCandidateBatches(dir string, n int, fn func([]tables.Candidate) error) error {
	return tables.ReadBatches(filepath.Join(dir, CandidatesFile), n, fn)
}

// CountCandidates returns the number of rows of the candidates table of
// the dataset artifact in dir, from the Parquet footer.
func CountCandidates(dir string) (int64, error) {
	return tables.NumRows(filepath.Join(dir, CandidatesFile))
}

// CandidatesPath is the candidates table of the dataset artifact in dir,
// for error messages and for readers that need the file itself.
func CandidatesPath(dir string) string { return filepath.Join(dir, CandidatesFile) }

// WriteQueries writes the queries table into the artifact directory dir.
func WriteQueries(dir string, qs []tables.Query, kv map[string]string) error {
	return tables.Write(filepath.Join(dir, QueriesFile), qs, kv)
}

// WriteCandidates writes the candidates table into the artifact directory dir.
func WriteCandidates(dir string, cs []tables.Candidate, kv map[string]string) error {
	return tables.Write(filepath.Join(dir, CandidatesFile), cs, kv)
}

// WriteQrels writes the qrels table into the artifact directory dir.
func WriteQrels(dir string, qrels []tables.Qrel, kv map[string]string) error {
	return tables.Write(filepath.Join(dir, QrelsFile), qrels, kv)
}

// License returns the license in the meta.json of the dataset artifact in
// dir ("" when it has no meta.json or the file does not parse).
func License(dir string) string {
	m, err := ReadMeta(dir)
	if err != nil {
		return ""
	}
	return m.License
}

// CandidateWriter writes candidates.parquet incrementally, one row group
// per RowGroupRows rows, so a corpus of any size needs bounded memory.
type CandidateWriter struct {
	f     *os.File
	w     *parquet.GenericWriter[tables.Candidate]
	buf   []tables.Candidate
	path  string
	Count int64
}

// RowGroupRows is the row group size of streamed candidate files.
const RowGroupRows = 50_000

// CreateCandidates creates the candidates table of the dataset artifact in
// dir, with the given key/value metadata, for writing row by row.
func CreateCandidates(dir string, meta map[string]string) (*CandidateWriter, error) {
	path := filepath.Join(dir, CandidatesFile)
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	opts := []parquet.WriterOption{parquet.Compression(&zstd.Codec{Level: zstd.SpeedDefault}), parquet.MaxRowsPerRowGroup(RowGroupRows)}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		opts = append(opts, parquet.KeyValueMetadata(k, meta[k]))
	}
	return &CandidateWriter{f: f, path: path, w: parquet.NewGenericWriter[tables.Candidate](f, opts...)}, nil
}

// Write adds one candidate.
func (cw *CandidateWriter) Write(c tables.Candidate) error {
	cw.buf = append(cw.buf, c)
	cw.Count++
	if len(cw.buf) == 1024 {
		return cw.flush()
	}
	return nil
}

func (cw *CandidateWriter) flush() error {
	if len(cw.buf) == 0 {
		return nil
	}
	if _, err := cw.w.Write(cw.buf); err != nil {
		return fmt.Errorf("write %s: %w", cw.path, err)
	}
	clear(cw.buf)
	cw.buf = cw.buf[:0]
	return nil
}

// Close finishes the file.
func (cw *CandidateWriter) Close() error {
	err := cw.flush()
	if cerr := cw.w.Close(); err == nil {
		err = cerr
	}
	if serr := cw.f.Sync(); err == nil {
		err = serr
	}
	if cerr := cw.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", cw.path, err)
	}
	return nil
}
