package tables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// PerQueryFile is the file name of per-query rows in an evaluation or
// report artifact.
const PerQueryFile = "per_query.parquet"

// PerQueryRowGroup is the most rows a PerQueryWriter buffers before it
// writes a row group (about 16 MB of buffered rows).
const PerQueryRowGroup = 1 << 17

// Slice names the per-query rows of one run on one dataset in one
// setting: the unit that evaluation and reports hold in memory at a time.
type Slice struct{ RunID, Dataset, Setting string }

func (s Slice) String() string { return s.RunID + " / " + s.Dataset + " / " + s.Setting }

// PerQueryWriter streams PerQuery rows to a Parquet file in bounded row
// groups. A row group never holds two slices, so readers find a slice
// from the row groups' statistics without reading the rows.
type PerQueryWriter struct {
	path  string
	f     *os.File
	w     *parquet.GenericWriter[PerQuery]
	cur   Slice
	inRG  int
	rows  int64
	limit int
}

// CreatePerQuery creates a per-query file with the given key/value
// metadata (for example "license").
func CreatePerQuery(path string, meta map[string]string) (*PerQueryWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	opts := []parquet.WriterOption{parquet.Compression(&zstd.Codec{Level: zstd.SpeedDefault}), parquet.MaxRowsPerRowGroup(PerQueryRowGroup)}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		opts = append(opts, parquet.KeyValueMetadata(k, meta[k]))
	}
	return &PerQueryWriter{path: path, f: f, w: parquet.NewGenericWriter[PerQuery](f, opts...), limit: PerQueryRowGroup}, nil
}

// Write appends rows, starting a new row group at every change of slice.
func (w *PerQueryWriter) Write(rows []PerQuery) error {
	for len(rows) > 0 {
		s := Slice{rows[0].RunID, rows[0].Dataset, rows[0].Setting}
		if (s != w.cur && w.inRG > 0) || w.inRG >= w.limit {
			if err := w.w.Flush(); err != nil {
				return fmt.Errorf("write %s: %w", w.path, err)
			}
			w.inRG = 0
		}
		w.cur = s
		n := 1
		for n < len(rows) && n < w.limit-w.inRG && rows[n].RunID == s.RunID && rows[n].Dataset == s.Dataset && rows[n].Setting == s.Setting {
			n++
		}
		if _, err := w.w.Write(rows[:n]); err != nil {
			return fmt.Errorf("write %s: %w", w.path, err)
		}
		w.inRG += n
		w.rows += int64(n)
		rows = rows[n:]
	}
	return nil
}

// Rows returns the number of rows written.
func (w *PerQueryWriter) Rows() int64 { return w.rows }

// Close finishes the file.
func (w *PerQueryWriter) Close() error {
	if err := w.w.Close(); err != nil {
		w.f.Close()
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	return w.f.Close()
}

// rgRef is a row group of one file; mixed when it holds more than one
// slice (files written in one piece), so its rows must be filtered.
type rgRef struct {
	file, rg int
	mixed    bool
}

// PerQueryIndex locates the slices of per-query files. It holds one entry
// per row group, never the rows: reading a slice reads only its row
// groups (all row groups of a file written in one piece).
type PerQueryIndex struct {
	files  []string
	order  []Slice
	slices map[Slice][]rgRef
	runs   map[string]bool
}

// IndexPerQuery reads the footers of per-query files.
func IndexPerQuery(paths []string) (*PerQueryIndex, error) {
	ix := &PerQueryIndex{files: paths, slices: map[Slice][]rgRef{}, runs: map[string]bool{}}
	for fi, path := range paths {
		if err := ix.indexFile(fi, path); err != nil {
			return nil, err
		}
	}
	return ix, nil
}

func (ix *PerQueryIndex) add(s Slice, ref rgRef) {
	refs, ok := ix.slices[s]
	if !ok {
		ix.order = append(ix.order, s)
		ix.runs[s.RunID] = true
	}
	if n := len(refs); n > 0 && refs[n-1] == ref {
		return
	}
	ix.slices[s] = append(refs, ref)
}

func (ix *PerQueryIndex) indexFile(fi int, path string) error {
	f, pf, openErr, parseErr := openParquet(path)
	if openErr != nil {
		return fmt.Errorf("read per-query rows: %w", openErr)
	}
	if parseErr != nil {
		return fmt.Errorf("read per-query rows %s: %w (is it a per_query.parquet?)", path, parseErr)
	}
	defer f.Close()
	md := pf.Metadata()
	col := map[string]int{}
	for i, c := range pf.Schema().Columns() {
		col[strings.Join(c, ".")] = i
	}
	for _, name := range []string{"run_id", "dataset", "setting", "qid", "lang", "c_lang", "metric", "value"} {
		if _, ok := col[name]; !ok {
			return fmt.Errorf("read per-query rows %s: no column %q; is it a per_query.parquet?", path, name)
		}
	}
	for rg := range md.RowGroups {
		if md.RowGroups[rg].NumRows == 0 {
			continue
		}
		var key [3]string
		single := true
		for i, name := range []string{"run_id", "dataset", "setting"} {
			cs := md.RowGroups[rg].Columns[col[name]].MetaData.Statistics
			if cs.MinValue == nil || !bytes.Equal(cs.MinValue, cs.MaxValue) || cs.NullCount > 0 {
				single = false
				break
			}
			key[i] = string(cs.MinValue)
		}
		if single {
			ix.add(Slice{key[0], key[1], key[2]}, rgRef{file: fi, rg: rg})
			continue
		}
		// A row group of several slices: list them from its rows.
		err := readRowGroup(context.Background(), pf, path, rg, func(rows []PerQuery) error {
			for _, r := range rows {
				ix.add(Slice{r.RunID, r.Dataset, r.Setting}, rgRef{file: fi, rg: rg, mixed: true})
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Slices returns the slices in the order the files hold them.
func (ix *PerQueryIndex) Slices() []Slice { return slices.Clone(ix.order) }

// HasRun reports whether any slice belongs to run.
func (ix *PerQueryIndex) HasRun(run string) bool { return ix.runs[run] }

// Has reports whether the files hold rows of slice s.
func (ix *PerQueryIndex) Has(s Slice) bool { _, ok := ix.slices[s]; return ok }

// Runs returns the run ids, sorted.
func (ix *PerQueryIndex) Runs() []string {
	out := make([]string, 0, len(ix.runs))
	for r := range ix.runs {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// Read streams the rows of slice s, in file and row order, to fn in
// batches (the batch is reused after fn returns).
func (ix *PerQueryIndex) Read(ctx context.Context, s Slice, fn func([]PerQuery) error) error {
	refs := ix.slices[s]
	for i := 0; i < len(refs); {
		fi := refs[i].file
		j := i
		for j < len(refs) && refs[j].file == fi {
			j++
		}
		if err := readFileGroups(ctx, ix.files[fi], refs[i:j], s, fn); err != nil {
			return err
		}
		i = j
	}
	return nil
}

func readFileGroups(ctx context.Context, path string, refs []rgRef, s Slice, fn func([]PerQuery) error) error {
	f, pf, openErr, parseErr := openParquet(path)
	if openErr != nil {
		return fmt.Errorf("read per-query rows: %w", openErr)
	}
	if parseErr != nil {
		return fmt.Errorf("read per-query rows %s: %w", path, parseErr)
	}
	defer f.Close()
	var keep []PerQuery
	for _, ref := range refs {
		err := readRowGroup(ctx, pf, path, ref.rg, func(rows []PerQuery) error {
			if !ref.mixed {
				return fn(rows)
			}
			keep = keep[:0]
			for _, r := range rows {
				if r.RunID == s.RunID && r.Dataset == s.Dataset && r.Setting == s.Setting {
					keep = append(keep, r)
				}
			}
			if len(keep) == 0 {
				return nil
			}
			return fn(keep)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// readRowGroup streams one row group in batches of 8192 rows.
func readRowGroup(ctx context.Context, pf *parquet.File, path string, rg int, fn func([]PerQuery) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("read per-query rows %s: corrupt file: %v", path, r)
		}
	}()
	r := parquet.NewGenericRowGroupReader[PerQuery](pf.RowGroups()[rg])
	defer r.Close()
	buf := make([]PerQuery, 8192)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if err := fn(buf[:n]); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read per-query rows %s (row group %d): %w", path, rg, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// ReadPerQuery streams every row of a per-query file, in order, to fn in
// batches (the batch is reused after fn returns).
func ReadPerQuery(ctx context.Context, path string, fn func([]PerQuery) error) error {
	f, pf, openErr, parseErr := openParquet(path)
	if openErr != nil {
		return fmt.Errorf("read per-query rows: %w", openErr)
	}
	if parseErr != nil {
		return fmt.Errorf("read per-query rows %s: %w", path, parseErr)
	}
	defer f.Close()
	for rg := range pf.RowGroups() {
		if err := readRowGroup(ctx, pf, path, rg, fn); err != nil {
			return err
		}
	}
	return nil
}
