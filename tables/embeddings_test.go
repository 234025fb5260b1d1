package tables

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func randomEmbeddings(n, dim int, seed uint64) *Embeddings {
	r := rand.New(rand.NewPCG(seed, 1))
	e := &Embeddings{Dim: dim, ModelKey: "sha256:abc"}
	langs := []string{"en", "de", "zh", "th"}
	for i := 0; i < n; i++ {
		role := RoleQuery
		if i%3 == 0 {
			role = RolePassage
		}
		e.IDs = append(e.IDs, "id-"+strings.Repeat("x", i%5)+string(rune('a'+i%26))+"-"+itoa(i))
		e.Roles = append(e.Roles, role)
		e.Langs = append(e.Langs, langs[i%len(langs)])
		for j := 0; j < dim; j++ {
			e.Vectors = append(e.Vectors, float32(r.NormFloat64()))
		}
	}
	return e
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestEmbeddingsRoundTrip(t *testing.T) {
	for _, tc := range []struct{ n, dim int }{{0, 4}, {1, 1}, {7, 3}, {embeddingsBatchRows + 5, 8}} {
		dir := t.TempDir()
		e := randomEmbeddings(tc.n, tc.dim, uint64(tc.n))
		if err := WriteEmbeddings(dir, e); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, EmbeddingsParquet)); !os.IsNotExist(err) {
			t.Fatalf("WriteEmbeddings wrote %s too (want embeddings.arrow only): %v", EmbeddingsParquet, err)
		}
		if err := WriteEmbeddingsParquet(filepath.Join(dir, EmbeddingsParquet), e); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{EmbeddingsArrow, EmbeddingsParquet} {
			got, err := ReadEmbeddings(filepath.Join(dir, name))
			if err != nil {
				t.Fatalf("n=%d %s: %v", tc.n, name, err)
			}
			if tc.n == 0 {
				if got.Len() != 0 || got.Dim != tc.dim {
					t.Fatalf("n=0 %s: got %d rows dim %d", name, got.Len(), got.Dim)
				}
				continue
			}
			if !reflect.DeepEqual(got, e) {
				t.Fatalf("n=%d %s: round trip differs", tc.n, name)
			}
		}
		got, err := ReadEmbeddings(dir) // directory form
		if err != nil || got.Len() != tc.n {
			t.Fatalf("read dir: %v", err)
		}
	}
}

func TestEmbeddingsWriteRejects(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]func(e *Embeddings){
		"not finite":   func(e *Embeddings) { e.Vectors[2*e.Dim+1] = float32(math.NaN()) },
		"19 floats":    func(e *Embeddings) { e.Vectors = e.Vectors[:len(e.Vectors)-1] },
		"role \"doc\"": func(e *Embeddings) { e.Roles[1] = "doc" },
		"empty lang":   func(e *Embeddings) { e.Langs[3] = "" },
		"roles":        func(e *Embeddings) { e.Roles = e.Roles[:2] },
		"dimension 0":  func(e *Embeddings) { e.Dim = 0 },
	}
	for want, mutate := range cases {
		e := randomEmbeddings(5, 4, 1)
		mutate(e)
		err := WriteEmbeddings(dir, e)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
	e := randomEmbeddings(5, 4, 1)
	e.Vectors[2*4+1] = float32(math.Inf(1))
	if err := e.Validate("x.arrow"); err == nil || !strings.Contains(err.Error(), "x.arrow: row 2") {
		t.Errorf("want row 2 named, got %v", err)
	}
}

// writeRaw writes an Arrow IPC file with a list<float32> vector column (as
// pyarrow would from a list of lists) and the given vectors.
func writeRaw(t *testing.T, path string, vecs [][]float32, nan bool) {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "role", Type: arrow.BinaryTypes.String},
		{Name: "lang", Type: arrow.BinaryTypes.String},
		{Name: "vector", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
	}, nil)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer b.Release()
	for i, v := range vecs {
		b.Field(0).(*array.StringBuilder).Append("p" + itoa(i))
		b.Field(1).(*array.StringBuilder).Append(RolePassage)
		b.Field(2).(*array.StringBuilder).Append("en")
		lb := b.Field(3).(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Float32Builder).AppendValues(v, nil)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Close()
	f.Close()
}

func TestEmbeddingsReadBadInput(t *testing.T) {
	dir := t.TempDir()
	ragged := filepath.Join(dir, "ragged.arrow")
	writeRaw(t, ragged, [][]float32{{1, 0}, {0, 1}, {1, 0, 0}}, false)
	_, err := ReadEmbeddings(ragged)
	if err == nil || !strings.Contains(err.Error(), "ragged.arrow: row 2") || !strings.Contains(err.Error(), "length 3, want 2") {
		t.Fatalf("ragged: %v", err)
	}
	nan := filepath.Join(dir, "nan.arrow")
	writeRaw(t, nan, [][]float32{{1, 0}, {float32(math.NaN()), 1}}, true)
	_, err = ReadEmbeddings(nan)
	if err == nil || !strings.Contains(err.Error(), "nan.arrow: row 1") {
		t.Fatalf("nan: %v", err)
	}
	ok := filepath.Join(dir, "ok.arrow")
	writeRaw(t, ok, [][]float32{{1, 0}, {0, 1}}, false)
	e, err := ReadEmbeddings(ok)
	if err != nil || e.Dim != 2 || e.Len() != 2 || e.Vector(1)[1] != 1 {
		t.Fatalf("list<float32> vectors: %v %+v", err, e)
	}
	junk := filepath.Join(dir, "junk.parquet")
	os.WriteFile(junk, []byte("not parquet"), 0o644)
	if _, err := ReadEmbeddings(junk); err == nil || !strings.Contains(err.Error(), "junk.parquet") {
		t.Fatalf("junk: %v", err)
	}
	if _, err := ReadEmbeddings(filepath.Join(dir, "x.csv")); err == nil || !strings.Contains(err.Error(), "extension") {
		t.Fatalf("csv: %v", err)
	}
}

// FuzzReadEmbeddings feeds corrupt Arrow IPC and Parquet files to
// ReadEmbeddings: it must return an error or valid embeddings, never
// panic.
func FuzzReadEmbeddings(f *testing.F) {
	dir := f.TempDir()
	if err := WriteEmbeddings(dir, randomEmbeddings(3, 4, 1)); err != nil {
		f.Fatal(err)
	}
	if err := WriteEmbeddingsParquet(filepath.Join(dir, EmbeddingsParquet), randomEmbeddings(3, 4, 1)); err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{EmbeddingsArrow, EmbeddingsParquet} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, name == EmbeddingsParquet)
	}
	f.Add([]byte("ARROW1"), false)
	f.Add([]byte("PAR1PAR1"), true)
	f.Fuzz(func(t *testing.T, data []byte, parquet bool) {
		name := "x.arrow"
		if parquet {
			name = "x.parquet"
		}
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		e, err := ReadEmbeddings(p)
		if err == nil {
			if verr := e.Validate(p); verr != nil {
				t.Fatalf("ReadEmbeddings returned invalid embeddings: %v", verr)
			}
		}
	})
}

// Both embeddings files carry the schema version and the texts' license.
func TestEmbeddingsMetadata(t *testing.T) {
	e := randomEmbeddings(3, 4, 1)
	e.License = "CC BY-SA 4.0"
	dir := t.TempDir()
	if err := WriteEmbeddings(dir, e); err != nil {
		t.Fatal(err)
	}
	if err := WriteEmbeddingsParquet(filepath.Join(dir, EmbeddingsParquet), e); err != nil {
		t.Fatal(err)
	}
	md, err := Metadata(filepath.Join(dir, EmbeddingsParquet))
	if err != nil {
		t.Fatal(err)
	}
	if md[SchemaVersionKey] != SchemaVersion || md[TableKey] != "embeddings" || md["license"] != "CC BY-SA 4.0" {
		t.Errorf("parquet metadata %v", md)
	}
	back, err := ReadEmbeddings(filepath.Join(dir, EmbeddingsArrow))
	if err != nil {
		t.Fatal(err)
	}
	if back.Len() != 3 || back.License != "CC BY-SA 4.0" {
		t.Errorf("read %d rows, license %q", back.Len(), back.License)
	}
	pq, err := ReadEmbeddings(filepath.Join(dir, EmbeddingsParquet))
	if err != nil || pq.License != "CC BY-SA 4.0" {
		t.Errorf("parquet: license %q, %v", pq.License, err)
	}
}
