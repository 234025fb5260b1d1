package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// table is a columnar file opened for `lair show`.
type table struct {
	format   string // parquet, arrow (IPC file) or arrow-stream
	schema   *arrow.Schema
	rows     int64 // -1 when unknown until read
	meta     [][2]string
	next     func() (arrow.RecordBatch, error) // nil, io.EOF at the end
	closeAll func()
}

func openTable(ctx context.Context, path string) (*table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	head := make([]byte, 6)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	switch {
	case bytes.HasPrefix(head, []byte("PAR1")):
		f.Close()
		return openParquet(ctx, path)
	case bytes.HasPrefix(head, []byte("ARROW1")):
		r, err := ipc.NewFileReader(f, ipc.WithAllocator(memory.DefaultAllocator))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: Arrow IPC file: %w", path, err)
		}
		t := &table{format: "arrow", schema: r.Schema(), closeAll: func() { r.Close(); f.Close() }}
		for i := 0; i < r.NumRecords(); i++ {
			rec, err := r.RecordAt(i)
			if err != nil {
				t.closeAll()
				return nil, fmt.Errorf("%s: record batch %d: %w", path, i, err)
			}
			t.rows += rec.NumRows()
			rec.Release()
		}
		i := 0
		t.next = func() (arrow.RecordBatch, error) {
			if i >= r.NumRecords() {
				return nil, io.EOF
			}
			i++
			return r.RecordAt(i - 1)
		}
		t.meta = kv(r.Schema().Metadata().Keys(), r.Schema().Metadata().Values())
		return t, nil
	default:
		r, err := ipc.NewReader(f, ipc.WithAllocator(memory.DefaultAllocator))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: not a Parquet or Arrow IPC file (%v)", path, err)
		}
		t := &table{format: "arrow-stream", schema: r.Schema(), rows: -1, closeAll: func() { r.Release(); f.Close() }}
		t.meta = kv(r.Schema().Metadata().Keys(), r.Schema().Metadata().Values())
		t.next = func() (arrow.RecordBatch, error) {
			if !r.Next() {
				if err := r.Err(); err != nil {
					return nil, err
				}
				return nil, io.EOF
			}
			rec := r.RecordBatch()
			rec.Retain()
			return rec, nil
		}
		return t, nil
	}
}

func kv(keys, vals []string) [][2]string {
	var out [][2]string
	for i, k := range keys {
		if strings.HasPrefix(k, "ARROW:") {
			continue // the embedded Arrow schema, shown as the schema
		}
		out = append(out, [2]string{k, vals[i]})
	}
	return out
}

func openParquet(ctx context.Context, path string) (*table, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("%s: Parquet: %w", path, err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("%s: Parquet: %w", path, err)
	}
	sc, err := fr.Schema()
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("%s: Parquet schema: %w", path, err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("%s: Parquet: %w", path, err)
	}
	md := pf.MetaData().KeyValueMetadata()
	var keys, vals []string
	for _, e := range md {
		keys = append(keys, e.GetKey())
		vals = append(vals, e.GetValue())
	}
	t := &table{format: "parquet", schema: sc, rows: pf.NumRows(), meta: kv(keys, vals),
		closeAll: func() { rr.Release(); pf.Close() }}
	t.next = func() (arrow.RecordBatch, error) {
		if !rr.Next() {
			if err := rr.Err(); err != nil && err != io.EOF {
				return nil, err
			}
			return nil, io.EOF
		}
		rec := rr.RecordBatch()
		rec.Retain()
		return rec, nil
	}
	return t, nil
}

// eachRow calls fn with record batches holding at most limit rows in all
// (limit < 0: all rows).
func (t *table) eachRow(limit int64, fn func(arrow.RecordBatch) error) (int64, error) {
	var seen int64
	for limit < 0 || seen < limit {
		rec, err := t.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return seen, err
		}
		n := rec.NumRows()
		if limit >= 0 && seen+n > limit {
			sl := rec.NewSlice(0, limit-seen)
			rec.Release()
			rec, n = sl, limit-seen
		}
		err = fn(rec)
		rec.Release()
		if err != nil {
			return seen, err
		}
		seen += n
	}
	return seen, nil
}

func cmdShow(ctx context.Context, s *sys, args []string) error {
	stdout := s.stdout
	fs := newFlags("lair show", "lair show FILE [--format table|jsonl|csv] [--limit N]", stdout)
	format := fs.String("format", "table", "table (schema, metadata, first rows), jsonl or csv (all rows)")
	limit := fs.Int64("limit", -1, "rows to print (default: 10 for table, all for jsonl and csv)")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	switch *format {
	case "table", "jsonl", "csv":
	default:
		return usagef("--format %q: want table, jsonl or csv", *format)
	}
	t, err := openTable(ctx, pos[0])
	if err != nil {
		return err
	}
	defer t.closeAll()
	switch *format {
	case "jsonl":
		_, err := t.eachRow(*limit, func(rec arrow.RecordBatch) error { return array.RecordToJSON(rec, stdout) })
		return err
	case "csv":
		w := csv.NewWriter(stdout)
		hdr := make([]string, len(t.schema.Fields()))
		for i, f := range t.schema.Fields() {
			hdr[i] = f.Name
		}
		w.Write(hdr)
		_, err := t.eachRow(*limit, func(rec arrow.RecordBatch) error {
			row := make([]string, rec.NumCols())
			for r := 0; r < int(rec.NumRows()); r++ {
				for c, col := range rec.Columns() {
					row[c] = cell(col, r)
				}
				if err := w.Write(row); err != nil {
					return err
				}
			}
			return nil
		})
		w.Flush()
		if err == nil {
			err = w.Error()
		}
		return err
	}
	if *limit < 0 {
		*limit = 10
	}
	fmt.Fprintf(stdout, "file: %s (%s)\n", pos[0], t.format)
	if t.rows >= 0 {
		fmt.Fprintf(stdout, "rows: %d\n", t.rows)
	}
	fmt.Fprintln(stdout, "schema:")
	for _, f := range t.schema.Fields() {
		null := ""
		if f.Nullable {
			null = " (nullable)"
		}
		fmt.Fprintf(stdout, "  %s: %s%s\n", f.Name, f.Type, null)
	}
	if len(t.meta) > 0 {
		fmt.Fprintln(stdout, "metadata:")
		for _, e := range t.meta {
			fmt.Fprintf(stdout, "  %s: %s\n", e[0], truncate(e[1], 200))
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	names := make([]string, len(t.schema.Fields()))
	for i, f := range t.schema.Fields() {
		names[i] = f.Name
	}
	var lines []string
	shown, err := t.eachRow(*limit, func(rec arrow.RecordBatch) error {
		for r := 0; r < int(rec.NumRows()); r++ {
			cells := make([]string, rec.NumCols())
			for c, col := range rec.Columns() {
				cells[c] = truncate(cell(col, r), 40)
			}
			lines = append(lines, strings.Join(cells, "\t"))
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "first %d rows:\n", shown)
	fmt.Fprintln(tw, strings.Join(names, "\t"))
	for _, l := range lines {
		fmt.Fprintln(tw, l)
	}
	return tw.Flush()
}

func cell(col arrow.Array, r int) string {
	if col.IsNull(r) {
		return "null"
	}
	s := col.ValueStr(r)
	return strings.NewReplacer("\t", " ", "\n", " ").Replace(s)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
