package encode_test

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/encoder/encode"
	"github.com/lair-ir/lair/encoder/model"
	"github.com/lair-ir/lair/encoder/modelgen"
	"github.com/lair-ir/lair/encoder/tokenizer"
	"github.com/lair-ir/lair/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

var texts = []string{
	"Wann wurde die Universität gegründet?",
	"The quick brown fox jumps over the lazy dog near the river bank on a sunny afternoon in late September.",
	"短い文です。",
	"Привет, мир!",
	"",
	"The quick brown fox jumps over the lazy dog near the river bank on a sunny afternoon in late September.",
	"x",
	"Ελληνικά και हिन्दी และภาษาไทย mixed together in one rather long sentence that will be truncated at max length",
}

func genModel(t *testing.T, arch string) *model.Model {
	t.Helper()
	dir := t.TempDir()
	c := modelgen.Config{Arch: arch, Layers: 2, Hidden: 24, Heads: 3, Intermediate: 48, MaxPositions: 40, Seed: 5,
		Corpus: append(texts, "the the quick quick fox fox dog dog")}
	if err := modelgen.Generate(dir, c); err != nil {
		t.Fatal(err)
	}
	m, err := model.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// reference pools the Go reference forward pass of one unpadded text.
func reference(t *testing.T, ref *modelgen.Reference, enc tokenizer.Encoding, pooling string, norm bool) []float64 {
	L := len(enc.IDs)
	mask := make([]int64, L)
	for i := range mask {
		mask[i] = 1
	}
	var types []int64
	if ref.Arch == modelgen.ArchBERT {
		types = enc.TypeIDs
	}
	h := ref.Forward(enc.IDs, mask, types, 1, L)
	H := ref.Hidden
	v := make([]float64, H)
	if pooling == encode.PoolCLS {
		for j := range v {
			v[j] = float64(h[j])
		}
	} else {
		for tk := 0; tk < L; tk++ {
			for j := range v {
				v[j] += float64(h[tk*H+j]) / float64(L)
			}
		}
	}
	if norm {
		var s float64
		for _, x := range v {
			s += x * x
		}
		for j := range v {
			v[j] /= math.Sqrt(s)
		}
	}
	return v
}

func TestEncodeMatchesReference(t *testing.T) {
	lib := testenv.ORTLib(t)
	for _, arch := range modelgen.Architectures {
		m := genModel(t, arch)
		ref, err := modelgen.LoadReference(m.Dir)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := tokenizer.FromFile(m.TokenizerPath)
		if err != nil {
			t.Fatal(err)
		}
		const maxLen = 16
		tok.SetTruncation(maxLen)
		for _, pooling := range []string{encode.PoolMean, encode.PoolCLS} {
			for _, norm := range []bool{true, false} {
				name := fmt.Sprintf("%s/%s/normalize=%v", arch, pooling, norm)
				e, err := encode.New(m, encode.Options{Pooling: pooling, Normalize: norm, MaxLength: maxLen, BatchSize: 3, Threads: 1, Lib: lib})
				if err != nil {
					t.Fatal(err)
				}
				prefix := "Query: "
				got, dim, st, err := e.Encode(context.Background(), "query", prefix, texts, nil)
				e.Close()
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if dim != 24 || len(got) != len(texts)*dim {
					t.Fatalf("%s: dim %d, %d values", name, dim, len(got))
				}
				if st.Unique != len(texts)-1 || st.Encoded != st.Unique || st.Padded < st.Tokens {
					t.Errorf("%s: stats %+v", name, st)
				}
				worst := 0.0
				for i, text := range texts {
					enc, err := tok.Encode(prefix+text, true)
					if err != nil {
						t.Fatal(err)
					}
					if len(enc.IDs) > maxLen {
						t.Fatalf("truncation: %d tokens", len(enc.IDs))
					}
					want := reference(t, ref, enc, pooling, norm)
					for j := range want {
						worst = math.Max(worst, math.Abs(float64(got[i*dim+j])-want[j]))
					}
				}
				if worst > 1e-5 {
					t.Errorf("%s: pooled embeddings differ from the Go reference by %g", name, worst)
				}
			}
		}
	}
}

func TestEncodeCache(t *testing.T) {
	lib := testenv.ORTLib(t)
	m := genModel(t, modelgen.ArchBERT)
	cache := t.TempDir()
	opt := encode.Options{Normalize: true, MaxLength: 32, BatchSize: 2, Threads: 1, Lib: lib, CacheDir: cache}
	e, err := encode.New(m, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	var done int
	first, dim, st, err := e.Encode(ctx, "passage", "Passage: ", texts, func(n int) { done += n })
	if err != nil {
		t.Fatal(err)
	}
	if st.Encoded != len(texts)-1 || st.Cached != 0 || done != len(texts) {
		t.Fatalf("first run: %+v, progress %d", st, done)
	}
	second, _, st, err := e.Encode(ctx, "passage", "Passage: ", texts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Encoded != 0 || st.Cached != len(texts)-1 || st.Batches != 0 {
		t.Fatalf("second run encoded again: %+v", st)
	}
	for i := range first {
		if first[i] != second[i] {
			t.Fatalf("cached vector %d differs: %v vs %v", i/dim, first[i], second[i])
		}
	}
	// Another "dataset" sharing two texts encodes only the new one.
	more := []string{texts[0], "ein ganz neuer Satz", texts[2]}
	third, _, st, err := e.Encode(ctx, "passage", "Passage: ", more, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Encoded != 1 || st.Cached != 2 {
		t.Fatalf("overlapping run: %+v", st)
	}
	for j := 0; j < dim; j++ {
		if third[j] != first[j] || third[2*dim+j] != first[2*dim+j] {
			t.Fatal("shared texts got different vectors")
		}
	}
	// Another prefix is another shard: everything is encoded.
	_, _, st, err = e.Encode(ctx, "query", "Query: ", texts[:2], nil)
	if err != nil || st.Encoded != 2 {
		t.Fatalf("other prefix: %+v %v", st, err)
	}
	// Many runs compact the shard's segments.
	for i := 0; i < 12; i++ {
		if _, _, _, err := e.Encode(ctx, "passage", "Passage: ", []string{fmt.Sprint("text ", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	c, err := encode.OpenCache(cache, e.Settings("passage", "Passage: "), nil)
	if err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(c.Dir(), "seg-*.emb"))
	if len(segs) > 9 {
		t.Errorf("%d segments after compaction", len(segs))
	}
	all, _, err := c.Load()
	if err != nil || len(all) != len(texts)-1+1+12 {
		t.Errorf("cache holds %d vectors (%v), want %d", len(all), err, len(texts)+12)
	}
	// A damaged segment is skipped and its texts are encoded again.
	for _, s := range segs {
		os.WriteFile(s, []byte("LAIREMB1garbage-garbage"), 0o644)
	}
	_, _, st, err = e.Encode(ctx, "passage", "Passage: ", texts, nil)
	if err != nil || st.Encoded != len(texts)-1 {
		t.Fatalf("after damage: %+v %v", st, err)
	}
}

func TestEncodeErrors(t *testing.T) {
	lib := testenv.ORTLib(t)
	m := genModel(t, modelgen.ArchStatic)
	if _, err := encode.New(m, encode.Options{MaxLength: 1000, Lib: lib}); err == nil || !strings.Contains(err.Error(), "positions") {
		t.Errorf("max length beyond positions: %v", err)
	}
	if _, err := encode.New(m, encode.Options{Pooling: "max", Lib: lib}); err == nil {
		t.Error("bad pooling: no error")
	}
	if _, err := encode.New(m, encode.Options{Device: "cuda", MaxLength: 32, Lib: lib}); err == nil || !strings.Contains(err.Error(), "LAIR_ORT_LIB") {
		t.Errorf("cuda on a CPU build: %v", err)
	}
	e, err := encode.New(m, encode.Options{MaxLength: 32, Lib: lib})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	many := make([]string, 5000)
	for i := range many {
		many[i] = fmt.Sprint("t", i)
	}
	if _, _, _, err := e.Encode(ctx, "query", "", many, nil); err == nil {
		t.Error("cancelled context: no error")
	}
}

// TestGolden pins the vectors of a fixed generated model, so a change in
// modelgen, the tokenizer or pooling shows up as a diff.
func TestGolden(t *testing.T) {
	lib := testenv.ORTLib(t)
	dir := t.TempDir()
	if err := modelgen.Generate(dir, modelgen.Config{Arch: "bert", Layers: 1, Hidden: 8, Heads: 2, MaxPositions: 32, Seed: 42}); err != nil {
		t.Fatal(err)
	}
	m, err := model.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, err := encode.New(m, encode.Options{Normalize: true, MaxLength: 32, Lib: lib, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	got, dim, _, err := e.Encode(context.Background(), "query", "Query: ", texts[:4], nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := range texts[:4] {
		fmt.Fprintf(&b, "%q", texts[i])
		for _, v := range got[i*dim : (i+1)*dim] {
			fmt.Fprintf(&b, " %.6f", v)
		}
		b.WriteString("\n")
	}
	path := filepath.Join("testdata", "golden_bert.txt")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	wl, gl := strings.Split(string(want), "\n"), strings.Split(b.String(), "\n")
	if len(wl) != len(gl) {
		t.Fatalf("golden has %d lines, got %d", len(wl), len(gl))
	}
	for i := range wl {
		wf, gf := strings.Fields(wl[i]), strings.Fields(gl[i])
		if len(wf) != len(gf) {
			t.Fatalf("line %d: %q vs %q", i+1, wl[i], gl[i])
		}
		for j := 1; j < len(wf); j++ {
			var a, c float64
			fmt.Sscan(wf[j], &a)
			fmt.Sscan(gf[j], &c)
			if math.Abs(a-c) > 1e-5 {
				t.Fatalf("line %d value %d: golden %s, got %s", i+1, j, wf[j], gf[j])
			}
		}
	}
}
