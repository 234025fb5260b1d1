package tables

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"
)

// TestEmbeddingsWriterMapRoundTrip streams rows in uneven writes across
// several record batches, maps the file and checks every row, that the
// vectors are read in place (inside the mapping), and that ReadEmbeddings
// reads the same file.
func TestEmbeddingsWriterMapRoundTrip(t *testing.T) {
	dim, n := 7, 2*embeddingsBatchRows+123
	r := rand.New(rand.NewPCG(1, 1))
	ids := make([]string, n)
	roles := make([]string, n)
	langs := make([]string, n)
	vecs := make([]float32, n*dim)
	for i := range ids {
		ids[i] = fmt.Sprintf("miracl/sw/%d#%d", i/5, i%5)
		roles[i], langs[i] = RolePassage, "sw"
	}
	for i := range vecs {
		vecs[i] = float32(r.NormFloat64())
	}
	p := filepath.Join(t.TempDir(), EmbeddingsShardFile(3))
	w, err := CreateEmbeddings(p, dim, "m@1")
	if err != nil {
		t.Fatal(err)
	}
	for lo := 0; lo < n; {
		hi := min(n, lo+r.IntN(5000))
		if err := w.Write(ids[lo:hi], roles[lo:hi], langs[lo:hi], vecs[lo*dim:hi*dim]); err != nil {
			t.Fatal(err)
		}
		lo = hi
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Rows() != int64(n) {
		t.Fatalf("rows %d, want %d", w.Rows(), n)
	}
	m, err := MapEmbeddings(p)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Len() != n || m.Dim != dim || m.ModelKey != "m@1" || len(m.Chunks) != 3 {
		t.Fatalf("mapped %d rows, dim %d, key %q, %d chunks", m.Len(), m.Dim, m.ModelKey, len(m.Chunks))
	}
	lo, hi := uintptr(unsafe.Pointer(&m.data[0])), uintptr(unsafe.Pointer(&m.data[len(m.data)-1]))
	for b, c := range m.Chunks {
		if a := uintptr(unsafe.Pointer(&c[0])); a < lo || a > hi || a%4 != 0 {
			t.Fatalf("chunk %d at %#x is not an aligned view of the mapping [%#x, %#x]", b, a, lo, hi)
		}
	}
	for i := 0; i < n; i++ {
		if m.IDs[i] != ids[i] || m.Roles[i] != roles[i] || m.Langs[i] != langs[i] {
			t.Fatalf("row %d: %s %s %s", i, m.IDs[i], m.Roles[i], m.Langs[i])
		}
		for j, x := range m.Vector(i) {
			if x != vecs[i*dim+j] {
				t.Fatalf("row %d [%d]: %v want %v", i, j, x, vecs[i*dim+j])
			}
		}
	}
	e, err := ReadEmbeddings(p)
	if err != nil || e.Len() != n || e.Vectors[len(e.Vectors)-1] != vecs[len(vecs)-1] {
		t.Fatalf("ReadEmbeddings: %v", err)
	}
	if e.License != "" {
		t.Fatalf("license %q, want none", e.License)
	}

	// A licensed file carries the license and the schema metadata.
	lp := filepath.Join(t.TempDir(), EmbeddingsArrow)
	lw, err := CreateLicensedEmbeddings(lp, dim, "m@1", "CC BY-SA 4.0")
	if err != nil {
		t.Fatal(err)
	}
	if err := lw.Write(ids[:10], roles[:10], langs[:10], vecs[:10*dim]); err != nil {
		t.Fatal(err)
	}
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	le, err := ReadEmbeddings(lp)
	if err != nil {
		t.Fatal(err)
	}
	if le.License != "CC BY-SA 4.0" || le.Len() != 10 || le.ModelKey != "m@1" {
		t.Fatalf("licensed file: license %q, key %q, %d rows", le.License, le.ModelKey, le.Len())
	}
}

func TestEmbeddingsShardErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "e.arrow")
	w, _ := CreateEmbeddings(p, 2, "k")
	if err := w.Write([]string{"a"}, []string{RolePassage}, []string{"sw"}, []float32{1}); err == nil {
		t.Error("short vector accepted")
	}
	w.Write([]string{"a", "b"}, []string{RolePassage, RolePassage}, []string{"sw", "sw"}, []float32{1, 2, float32(math.NaN()), 0})
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), `row 1 (id "b"): vector[0] = NaN (not finite)`) {
		t.Errorf("NaN: err = %v", err)
	}
	w, _ = CreateEmbeddings(p, 2, "k")
	w.Write([]string{"a"}, []string{RolePassage}, []string{"sw"}, []float32{1, 2})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	os.WriteFile(p, data[:len(data)/2], 0o644)
	if _, err := MapEmbeddings(p); err == nil || !strings.Contains(err.Error(), "e.arrow: not an Arrow IPC file") {
		t.Errorf("truncated: err = %v", err)
	}
	os.WriteFile(p, nil, 0o644)
	if _, err := MapEmbeddings(p); err == nil || !strings.Contains(err.Error(), "empty file") {
		t.Errorf("empty: err = %v", err)
	}
}
