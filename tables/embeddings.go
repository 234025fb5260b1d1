package tables

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// File names of an embeddings artifact.
const (
	EmbeddingsArrow   = "embeddings.arrow"
	EmbeddingsParquet = "embeddings.parquet"
)

// Embedding roles.
const (
	RoleQuery   = "query"
	RolePassage = "passage"
)

// embeddingsBatchRows is the number of rows per Arrow record batch (and
// Parquet row group) written by WriteEmbeddings.
const embeddingsBatchRows = 8192

// Embeddings is the content of an embeddings artifact: one row per encoded
// text. Row i has id IDs[i], role Roles[i] ("query" or "passage"), language
// Langs[i] and vector Vectors[i*Dim:(i+1)*Dim].
//
// On disk (embeddings.arrow, an Arrow IPC file; embeddings.parquet where
// another tool wants Parquet) the schema is: id utf8, role utf8, lang utf8,
// vector fixed_size_list<float32>[Dim], model_key utf8.
type Embeddings struct {
	IDs, Roles, Langs []string
	Dim               int
	Vectors           []float32 // row-major, len(IDs)*Dim
	ModelKey          string
	License           string // license of the encoded texts, carried in the file metadata ("" for none)
}

// Len returns the number of rows.
func (e *Embeddings) Len() int { return len(e.IDs) }

// Vector returns row i's vector (a sub-slice of Vectors, not a copy).
func (e *Embeddings) Vector(i int) []float32 { return e.Vectors[i*e.Dim : (i+1)*e.Dim] }

// Validate checks that the slices agree in length, that Dim is positive,
// roles are "query" or "passage", ids and languages are non-empty and every
// vector is finite. name (a file name or "") prefixes the error.
func (e *Embeddings) Validate(name string) error {
	if name == "" {
		name = "embeddings"
	}
	n := len(e.IDs)
	if len(e.Roles) != n || len(e.Langs) != n {
		return fmt.Errorf("%s: %d ids but %d roles and %d langs", name, n, len(e.Roles), len(e.Langs))
	}
	if e.Dim <= 0 {
		return fmt.Errorf("%s: dimension %d, want > 0", name, e.Dim)
	}
	if len(e.Vectors) != n*e.Dim {
		return fmt.Errorf("%s: %d floats for %d rows of dimension %d (want %d)", name, len(e.Vectors), n, e.Dim, n*e.Dim)
	}
	for i := 0; i < n; i++ {
		if e.IDs[i] == "" {
			return fmt.Errorf("%s: row %d: empty id", name, i)
		}
		if e.Roles[i] != RoleQuery && e.Roles[i] != RolePassage {
			return fmt.Errorf("%s: row %d (id %q): role %q, want %q or %q", name, i, e.IDs[i], e.Roles[i], RoleQuery, RolePassage)
		}
		if e.Langs[i] == "" {
			return fmt.Errorf("%s: row %d (id %q): empty lang", name, i, e.IDs[i])
		}
		for j, x := range e.Vector(i) {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("%s: row %d (id %q): vector[%d] = %v (not finite); re-encode this text", name, i, e.IDs[i], j, x)
			}
		}
	}
	return nil
}

// EmbeddingsSchema returns the Arrow schema of embeddings files of dimension dim.
func EmbeddingsSchema(dim int) *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "role", Type: arrow.BinaryTypes.String},
		{Name: "lang", Type: arrow.BinaryTypes.String},
		{Name: "vector", Type: arrow.FixedSizeListOfNonNullable(int32(dim), arrow.PrimitiveTypes.Float32)},
		{Name: "model_key", Type: arrow.BinaryTypes.String},
	}, nil)
}

// WriteEmbeddings validates e and writes dir/embeddings.arrow (Arrow IPC
// file, uncompressed so that it can be memory-mapped). This is the one
// file of an embeddings artifact; WriteEmbeddingsParquet writes the same
// table as Parquet for other tools.
func WriteEmbeddings(dir string, e *Embeddings) error {
	if err := e.Validate("embeddings to write"); err != nil {
		return err
	}
	return writeEmbeddingsArrow(filepath.Join(dir, EmbeddingsArrow), embeddingsFileSchema(e.Dim, e.License), e)
}

// WriteEmbeddingsParquet validates e and writes it to a zstd Parquet file
// at path with the schema of embeddings.arrow (ReadEmbeddings reads it).
func WriteEmbeddingsParquet(path string, e *Embeddings) error {
	if err := e.Validate("embeddings to write"); err != nil {
		return err
	}
	return writeEmbeddingsParquet(path, embeddingsFileSchema(e.Dim, e.License), e)
}

// embeddingsFileSchema is EmbeddingsSchema with the file metadata: schema
// version, table name and, when known, the license of the encoded texts.
func embeddingsFileSchema(dim int, license string) *arrow.Schema {
	kv := map[string]string{}
	if license != "" {
		kv["license"] = license
	}
	kv = SchemaMeta(EmbeddingsArrow, kv)
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = kv[k]
	}
	md := arrow.NewMetadata(keys, vals)
	return arrow.NewSchema(EmbeddingsSchema(dim).Fields(), &md)
}

// embeddingBatches calls fn with successive record batches of e.
func embeddingBatches(schema *arrow.Schema, e *Embeddings, fn func(arrow.RecordBatch) error) error {
	mem := memory.NewGoAllocator()
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	ids := b.Field(0).(*array.StringBuilder)
	roles := b.Field(1).(*array.StringBuilder)
	langs := b.Field(2).(*array.StringBuilder)
	vecs := b.Field(3).(*array.FixedSizeListBuilder)
	vals := vecs.ValueBuilder().(*array.Float32Builder)
	keys := b.Field(4).(*array.StringBuilder)
	n := e.Len()
	for lo := 0; lo < n || (n == 0 && lo == 0); lo += embeddingsBatchRows {
		hi := min(lo+embeddingsBatchRows, n)
		for i := lo; i < hi; i++ {
			ids.Append(e.IDs[i])
			roles.Append(e.Roles[i])
			langs.Append(e.Langs[i])
			vecs.Append(true)
			vals.AppendValues(e.Vector(i), nil)
			keys.Append(e.ModelKey)
		}
		rec := b.NewRecordBatch()
		err := fn(rec)
		rec.Release()
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	return nil
}

func writeEmbeddingsArrow(path string, schema *arrow.Schema, e *Embeddings) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema), ipc.WithAllocator(memory.NewGoAllocator()))
	if err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := embeddingBatches(schema, e, w.Write); err != nil {
		w.Close()
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
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

func writeEmbeddingsParquet(path string, schema *arrow.Schema, e *Embeddings) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithDictionaryDefault(false),
		parquet.WithDictionaryFor("role", true),
		parquet.WithDictionaryFor("lang", true),
		parquet.WithDictionaryFor("model_key", true),
	)
	w, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := embeddingBatches(schema, e, w.Write); err != nil {
		w.Close()
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := w.Close(); err != nil { // closes f too
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// schemaLicense returns the "license" of an Arrow schema's metadata ("" if none).
func schemaLicense(s *arrow.Schema) string {
	if i := s.Metadata().FindKey("license"); i >= 0 {
		return s.Metadata().Values()[i]
	}
	return ""
}

// ReadEmbeddings reads an embeddings file: an Arrow IPC file (.arrow,
// .arrows, .ipc, .feather) or Parquet (.parquet). path may also be an
// artifact directory, in which case embeddings.arrow is read. The vector
// column may be a fixed-size list or a list of float32 (as other tools
// write); every row must have the same length. The result is validated
// (see Embeddings.Validate); errors name the file and the first bad row.
func ReadEmbeddings(path string) (e *Embeddings, err error) {
	defer func() {
		// arrow-go can panic on corrupt input; report it as a bad file.
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("read embeddings %s: corrupt file: %v", path, r)
		}
	}()
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, EmbeddingsArrow)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet":
		e, err = readEmbeddingsParquet(path)
	case ".arrow", ".arrows", ".ipc", ".feather":
		e, err = readEmbeddingsArrow(path)
	default:
		return nil, fmt.Errorf("read embeddings %s: unknown extension %q (want .arrow or .parquet)", path, filepath.Ext(path))
	}
	if err != nil {
		return nil, err
	}
	if err := e.Validate(path); err != nil {
		return nil, err
	}
	return e, nil
}

func readEmbeddingsArrow(path string) (*Embeddings, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read embeddings: %w", err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(memory.NewGoAllocator()))
	if err != nil {
		return nil, fmt.Errorf("read embeddings %s: not an Arrow IPC file: %w", path, err)
	}
	defer r.Close()
	acc, err := newEmbAccumulator(path, r.Schema())
	if err != nil {
		return nil, err
	}
	acc.e.License = schemaLicense(r.Schema())
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.RecordBatch(i)
		if err != nil {
			return nil, fmt.Errorf("read embeddings %s: record batch %d: %w", path, i, err)
		}
		if err := acc.add(rec); err != nil {
			return nil, err
		}
	}
	return acc.e, nil
}

func readEmbeddingsParquet(path string) (*Embeddings, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("read embeddings %s: not a Parquet file: %w", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: embeddingsBatchRows}, memory.NewGoAllocator())
	if err != nil {
		return nil, fmt.Errorf("read embeddings %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("read embeddings %s: %w", path, err)
	}
	defer rr.Release()
	acc, err := newEmbAccumulator(path, rr.Schema())
	if err != nil {
		return nil, err
	}
	if v := pf.MetaData().KeyValueMetadata().FindValue("license"); v != nil {
		acc.e.License = *v
	}
	for rr.Next() {
		if err := acc.add(rr.RecordBatch()); err != nil {
			return nil, err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, os.ErrClosed) {
		return nil, fmt.Errorf("read embeddings %s: %w", path, err)
	}
	return acc.e, nil
}

// embAccumulator appends record batches of an embeddings file to an Embeddings.
type embAccumulator struct {
	path                          string
	id, role, lang, vec, modelKey int
	e                             *Embeddings
	row                           int
}

func newEmbAccumulator(path string, s *arrow.Schema) (*embAccumulator, error) {
	a := &embAccumulator{path: path, e: &Embeddings{}}
	col := func(name string, required bool) (int, error) {
		idx := s.FieldIndices(name)
		if len(idx) == 0 {
			if required {
				return -1, fmt.Errorf("read embeddings %s: no column %q (have %s); want id, role, lang, vector, model_key", path, name, s)
			}
			return -1, nil
		}
		return idx[0], nil
	}
	var err error
	if a.id, err = col("id", true); err != nil {
		return nil, err
	}
	if a.role, err = col("role", true); err != nil {
		return nil, err
	}
	if a.lang, err = col("lang", true); err != nil {
		return nil, err
	}
	if a.vec, err = col("vector", true); err != nil {
		return nil, err
	}
	if a.modelKey, err = col("model_key", false); err != nil {
		return nil, err
	}
	switch t := s.Field(a.vec).Type.(type) {
	case *arrow.FixedSizeListType:
		if t.Elem().ID() != arrow.FLOAT32 {
			return nil, fmt.Errorf("read embeddings %s: column vector holds %s, want float32", path, t.Elem())
		}
		a.e.Dim = int(t.Len())
	case *arrow.ListType:
		if t.Elem().ID() != arrow.FLOAT32 {
			return nil, fmt.Errorf("read embeddings %s: column vector holds %s, want float32", path, t.Elem())
		}
	case *arrow.LargeListType:
		if t.Elem().ID() != arrow.FLOAT32 {
			return nil, fmt.Errorf("read embeddings %s: column vector holds %s, want float32", path, t.Elem())
		}
	default:
		return nil, fmt.Errorf("read embeddings %s: column vector has type %s, want fixed_size_list<float32>", path, s.Field(a.vec).Type)
	}
	return a, nil
}

func stringCol(path, name string, arr arrow.Array) (func(i int) (string, bool), error) {
	switch c := arr.(type) {
	case *array.String:
		return func(i int) (string, bool) { return c.Value(i), c.IsValid(i) }, nil
	case *array.LargeString:
		return func(i int) (string, bool) { return c.Value(i), c.IsValid(i) }, nil
	case *array.Dictionary:
		d, ok := c.Dictionary().(*array.String)
		if !ok {
			break
		}
		return func(i int) (string, bool) {
			if !c.IsValid(i) {
				return "", false
			}
			return d.Value(c.GetValueIndex(i)), true
		}, nil
	}
	return nil, fmt.Errorf("read embeddings %s: column %s has type %s, want utf8", path, name, arr.DataType())
}

func (a *embAccumulator) add(rec arrow.RecordBatch) error {
	n := int(rec.NumRows())
	cols := map[string]func(int) (string, bool){}
	for name, idx := range map[string]int{"id": a.id, "role": a.role, "lang": a.lang, "model_key": a.modelKey} {
		if idx < 0 {
			continue
		}
		f, err := stringCol(a.path, name, rec.Column(idx))
		if err != nil {
			return err
		}
		cols[name] = f
	}
	var (
		values  *array.Float32
		offsets func(i int) (int, int)
		valid   func(i int) bool
	)
	switch v := rec.Column(a.vec).(type) {
	case *array.FixedSizeList:
		values, _ = v.ListValues().(*array.Float32)
		d := a.e.Dim
		off := v.Offset() // slot offset of this array into its child
		offsets = func(i int) (int, int) { return (off + i) * d, (off + i + 1) * d }
		valid = v.IsValid
	case *array.List:
		values, _ = v.ListValues().(*array.Float32)
		offsets = func(i int) (int, int) { s, e := v.ValueOffsets(i); return int(s), int(e) }
		valid = v.IsValid
	case *array.LargeList:
		values, _ = v.ListValues().(*array.Float32)
		offsets = func(i int) (int, int) { s, e := v.ValueOffsets(i); return int(s), int(e) }
		valid = v.IsValid
	}
	if values == nil {
		return fmt.Errorf("read embeddings %s: column vector is not a list of float32", a.path)
	}
	for i := 0; i < n; i++ {
		row := a.row + i
		id, ok := cols["id"](i)
		if !ok || id == "" {
			return fmt.Errorf("read embeddings %s: row %d: null or empty id", a.path, row)
		}
		role, _ := cols["role"](i)
		lang, _ := cols["lang"](i)
		if !valid(i) {
			return fmt.Errorf("read embeddings %s: row %d (id %q): null vector", a.path, row, id)
		}
		s, e := offsets(i)
		if a.e.Dim == 0 && row == 0 {
			a.e.Dim = e - s
		}
		if e-s != a.e.Dim {
			return fmt.Errorf("read embeddings %s: row %d (id %q): vector of length %d, want %d like the rows before", a.path, row, id, e-s, a.e.Dim)
		}
		if values.NullN() > 0 {
			for j := s; j < e; j++ {
				if values.IsNull(j) {
					return fmt.Errorf("read embeddings %s: row %d (id %q): null in vector[%d]", a.path, row, id, j-s)
				}
			}
		}
		a.e.IDs = append(a.e.IDs, id)
		a.e.Roles = append(a.e.Roles, role)
		a.e.Langs = append(a.e.Langs, lang)
		a.e.Vectors = append(a.e.Vectors, values.Float32Values()[s:e]...)
		if mk, ok := cols["model_key"]; ok {
			k, _ := mk(i)
			if row == 0 {
				a.e.ModelKey = k
			} else if k != a.e.ModelKey {
				return fmt.Errorf("read embeddings %s: row %d (id %q): model_key %q differs from row 0's %q; one file holds one model's vectors", a.path, row, id, k, a.e.ModelKey)
			}
		}
	}
	a.row += n
	return nil
}
