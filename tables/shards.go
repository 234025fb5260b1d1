package tables

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"
	"golang.org/x/sys/unix"
)

// Sharded embeddings. A corpus too large for memory is encoded shard by
// shard; each shard's vectors are streamed to an Arrow IPC file
// (EmbeddingsWriter: one record batch per embeddingsBatchRows rows, no
// compression, so the file can be memory-mapped) and read back without
// copying the vectors (MapEmbeddings). The file has the schema of
// embeddings.arrow, so ReadEmbeddings reads it too.

// EmbeddingsShardFile is the name of shard i's embeddings file.
func EmbeddingsShardFile(i int) string { return fmt.Sprintf("embeddings-%05d.arrow", i) }

// EmbeddingsWriter streams embeddings rows to an Arrow IPC file. Memory:
// one record batch.
type EmbeddingsWriter struct {
	path   string
	f      *os.File
	w      *ipc.FileWriter
	schema *arrow.Schema
	buf    Embeddings
	rows   int64
}

// CreateEmbeddings creates an embeddings file of dimension dim.
func CreateEmbeddings(path string, dim int, modelKey string) (*EmbeddingsWriter, error) {
	return CreateLicensedEmbeddings(path, dim, modelKey, "")
}

// CreateLicensedEmbeddings creates an embeddings file of dimension dim
// whose metadata records the license of the encoded texts.
func CreateLicensedEmbeddings(path string, dim int, modelKey, license string) (*EmbeddingsWriter, error) {
	if dim <= 0 {
		return nil, fmt.Errorf("write %s: dimension %d, want > 0", path, dim)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	schema := embeddingsFileSchema(dim, license)
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema), ipc.WithAllocator(memory.NewGoAllocator()))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &EmbeddingsWriter{path: path, f: f, w: w, schema: schema, buf: Embeddings{Dim: dim, ModelKey: modelKey, License: license}}, nil
}

// Rows returns the number of rows written so far.
func (w *EmbeddingsWriter) Rows() int64 { return w.rows }

// Write appends rows: ids, roles and langs per row, vectors row-major
// (len(ids)*dim values, all finite).
func (w *EmbeddingsWriter) Write(ids, roles, langs []string, vectors []float32) error {
	d := w.buf.Dim
	if len(roles) != len(ids) || len(langs) != len(ids) || len(vectors) != len(ids)*d {
		return fmt.Errorf("write %s: %d ids, %d roles, %d langs and %d values (dimension %d)", w.path, len(ids), len(roles), len(langs), len(vectors), d)
	}
	for lo := 0; lo < len(ids); {
		n := min(len(ids)-lo, embeddingsBatchRows-w.buf.Len())
		w.buf.IDs = append(w.buf.IDs, ids[lo:lo+n]...)
		w.buf.Roles = append(w.buf.Roles, roles[lo:lo+n]...)
		w.buf.Langs = append(w.buf.Langs, langs[lo:lo+n]...)
		w.buf.Vectors = append(w.buf.Vectors, vectors[lo*d:(lo+n)*d]...)
		lo += n
		if w.buf.Len() == embeddingsBatchRows {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *EmbeddingsWriter) flush() error {
	if w.buf.Len() == 0 {
		return nil
	}
	if err := w.buf.Validate(fmt.Sprintf("%s (rows %d..)", w.path, w.rows)); err != nil {
		return err
	}
	if err := embeddingBatches(w.schema, &w.buf, w.w.Write); err != nil {
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	w.rows += int64(w.buf.Len())
	w.buf.IDs, w.buf.Roles, w.buf.Langs, w.buf.Vectors = w.buf.IDs[:0], w.buf.Roles[:0], w.buf.Langs[:0], w.buf.Vectors[:0]
	return nil
}

// Close writes the last batch and the file footer and syncs the file.
func (w *EmbeddingsWriter) Close() error {
	err := w.flush()
	if cerr := w.w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write %s: %w", w.path, cerr)
	}
	if serr := w.f.Sync(); err == nil {
		err = serr
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// MappedEmbeddings is an embeddings file mapped into memory: ids, roles
// and languages are decoded, the vectors stay in the mapping (one chunk
// per record batch), so resident memory follows what is being read and
// the kernel can drop it again.
type MappedEmbeddings struct {
	Path              string
	IDs, Roles, Langs []string
	Dim               int
	ModelKey          string
	// Chunks[b] holds the vectors of record batch b, row-major; the rows
	// of all chunks, in order, are the rows of IDs.
	Chunks [][]float32
	data   []byte
	recs   []arrow.RecordBatch
}

// MapEmbeddings maps an embeddings Arrow IPC file (as EmbeddingsWriter and
// WriteEmbeddings write it: vector a non-null fixed_size_list<float32>,
// uncompressed). Errors name the file and what to do.
func MapEmbeddings(path string) (m *MappedEmbeddings, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("map embeddings: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("map embeddings: %w", err)
	}
	if st.Size() == 0 {
		return nil, fmt.Errorf("map embeddings %s: empty file; re-run the stage that wrote it", path)
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map embeddings %s: %w", path, err)
	}
	m = &MappedEmbeddings{Path: path, data: data}
	mm := m
	defer func() {
		if err != nil {
			mm.Close()
		}
	}()
	r, err := ipc.NewMappedFileReader(data, ipc.WithAllocator(memory.NewGoAllocator()))
	if err != nil {
		return nil, fmt.Errorf("map embeddings %s: not an Arrow IPC file (truncated or not written by lair?): %w", path, err)
	}
	defer r.Close()
	s := r.Schema()
	col := func(name string) int {
		idx := s.FieldIndices(name)
		if len(idx) != 1 {
			return -1
		}
		return idx[0]
	}
	ci, cr, cl, cv, ck := col("id"), col("role"), col("lang"), col("vector"), col("model_key")
	if ci < 0 || cr < 0 || cl < 0 || cv < 0 {
		return nil, fmt.Errorf("map embeddings %s: columns id, role, lang and vector required, schema has %s", path, s)
	}
	fsl, ok := s.Field(cv).Type.(*arrow.FixedSizeListType)
	if !ok || fsl.Elem().ID() != arrow.FLOAT32 {
		return nil, fmt.Errorf("map embeddings %s: vector is %s, want fixed_size_list<float32> (read it with ReadEmbeddings, or rewrite it with lair)", path, s.Field(cv).Type)
	}
	m.Dim = int(fsl.Len())
	for b := 0; b < r.NumRecords(); b++ {
		rec, err := r.RecordBatch(b)
		if err != nil {
			return nil, fmt.Errorf("map embeddings %s: record batch %d: %w", path, b, err)
		}
		rec.Retain()
		m.recs = append(m.recs, rec)
		strs := func(c int, dst *[]string) error {
			a, ok := rec.Column(c).(*array.String)
			if !ok {
				return fmt.Errorf("column %s is %s, want utf8", s.Field(c).Name, rec.Column(c).DataType())
			}
			for i := 0; i < a.Len(); i++ {
				if a.IsNull(i) {
					return fmt.Errorf("column %s: row %d is null", s.Field(c).Name, len(*dst))
				}
				*dst = append(*dst, strings.Clone(a.Value(i)))
			}
			return nil
		}
		if err := errors.Join(strs(ci, &m.IDs), strs(cr, &m.Roles), strs(cl, &m.Langs)); err != nil {
			return nil, fmt.Errorf("map embeddings %s: record batch %d: %w", path, b, err)
		}
		if ck >= 0 && m.ModelKey == "" {
			if a, ok := rec.Column(ck).(*array.String); ok && a.Len() > 0 {
				m.ModelKey = strings.Clone(a.Value(0))
			}
		}
		vl := rec.Column(cv).(*array.FixedSizeList)
		if vl.NullN() > 0 {
			return nil, fmt.Errorf("map embeddings %s: record batch %d: null vectors; re-encode", path, b)
		}
		vals, ok := vl.ListValues().(*array.Float32)
		if !ok {
			return nil, fmt.Errorf("map embeddings %s: record batch %d: vector values are not float32", path, b)
		}
		n := int(rec.NumRows())
		v := vals.Float32Values()
		off := vl.Offset() * m.Dim
		if len(v) < off+n*m.Dim {
			return nil, fmt.Errorf("map embeddings %s: record batch %d: %d vector values for %d rows of dimension %d", path, b, len(v)-off, n, m.Dim)
		}
		m.Chunks = append(m.Chunks, v[off:off+n*m.Dim:off+n*m.Dim])
	}
	if len(m.IDs) != len(m.Roles) || len(m.IDs) != len(m.Langs) {
		return nil, fmt.Errorf("map embeddings %s: %d ids, %d roles, %d langs", path, len(m.IDs), len(m.Roles), len(m.Langs))
	}
	return m, nil
}

// Len returns the number of rows.
func (m *MappedEmbeddings) Len() int { return len(m.IDs) }

// Vector returns row i's vector (in the mapping, not a copy).
func (m *MappedEmbeddings) Vector(i int) []float32 {
	for _, c := range m.Chunks {
		n := len(c) / m.Dim
		if i < n {
			return c[i*m.Dim : (i+1)*m.Dim]
		}
		i -= n
	}
	panic(fmt.Sprintf("tables: row %d out of range", i))
}

// Close unmaps the file; the chunks must not be used afterwards.
func (m *MappedEmbeddings) Close() error {
	for _, r := range m.recs {
		r.Release()
	}
	m.recs, m.Chunks = nil, nil
	if m.data == nil {
		return nil
	}
	err := unix.Munmap(m.data)
	m.data = nil
	if err != nil {
		return fmt.Errorf("unmap %s: %w", filepath.Base(m.Path), err)
	}
	return nil
}

// Dim returns the vector dimension of the file being written.
func (w *EmbeddingsWriter) Dim() int { return w.buf.Dim }

// ReadBatches reads a Parquet table of rows T in batches of up to n rows,
// so that a table of any size is read in bounded memory.
func ReadBatches[T any](path string, n int, fn func([]T) error) (err error) {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	defer func() {
		if r := recover(); r != nil { // parquet-go can panic on corrupt input
			err = fmt.Errorf("read %s: corrupt file: %v", path, r)
		}
	}()
	r := parquet.NewGenericReader[T](f)
	defer r.Close()
	buf := make([]T, max(n, 1))
	for {
		k, rerr := r.Read(buf)
		if k > 0 {
			if err := fn(buf[:k]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("read %s: %w", path, rerr)
		}
	}
}
