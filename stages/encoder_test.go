package stages

import (
	"context"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/encoder/modelgen"
	"github.com/lair-ir/lair/internal/testenv"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/tables"
)

type encoderTestProgress struct{ total, done int64 }

func (c *encoderTestProgress) Start(_ string, total int64) { c.total = total }
func (c *encoderTestProgress) Add(n int64)                 { c.done += n }

// runStage runs one registered stage type with resolved default params.
func runEncoderTestStage(t *testing.T, r *pipeline.Registry, name string, params map[string]any, env pipeline.Env, inputs ...pipeline.Artifact) (string, *encoderTestProgress) {
	t.Helper()
	st, ok := r.Lookup(name)
	if !ok {
		t.Fatalf("stage %s not registered", name)
	}
	p := pipeline.Params{}
	for _, d := range st.Params {
		if d.Default != nil {
			p[d.Name] = d.Default
		}
	}
	for k, v := range params {
		p[k] = v
	}
	out := t.TempDir()
	prog := &encoderTestProgress{}
	sc := &pipeline.StageContext{Name: name, Type: st, Params: p, Inputs: inputs, OutDir: out, Env: env,
		Log: slog.New(slog.DiscardHandler), Progress: prog}
	if err := st.Run(context.Background(), sc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out, prog
}

func TestEncoderStages(t *testing.T) {
	testenv.ORTLib(t)
	r := pipeline.NewRegistry()
	registerEncoder(r)

	ds := t.TempDir()
	qs := []tables.Query{
		{Dataset: "t", Split: "test", QID: "q1", GroupID: "g1", Lang: "en", Text: "Who founded the university?"},
		{Dataset: "t", Split: "test", QID: "q2", GroupID: "g1", Lang: "de", Text: "Wer gründete die Universität?"},
	}
	cs := []tables.Candidate{
		{Dataset: "t", CID: "c1", Lang: "en", Text: "The university was founded in 1850.", DocID: "d1"},
		{Dataset: "t", CID: "c2", Lang: "de", Text: "Die Universität wurde 1850 gegründet.", DocID: "d2"},
		{Dataset: "t", CID: "c3", Lang: "de", Text: "Die Universität wurde 1850 gegründet.", DocID: "d3"},
	}
	if err := tables.Write(filepath.Join(ds, "queries.parquet"), qs, nil); err != nil {
		t.Fatal(err)
	}
	if err := tables.Write(filepath.Join(ds, "candidates.parquet"), cs, nil); err != nil {
		t.Fatal(err)
	}
	dsArt := pipeline.Artifact{Kind: pipeline.KindDataset, Dir: ds}
	env := pipeline.Env{CacheDir: t.TempDir(), Threads: 1}

	gen, _ := runEncoderTestStage(t, r, "model/generate", map[string]any{"arch": "xlmr", "hidden": 32, "heads": 2, "layers": 1}, env, dsArt)
	loaded, _ := runEncoderTestStage(t, r, "model/load", map[string]any{"model": gen}, env)
	for _, f := range []string{"model.onnx", "config.json", "tokenizer.json", "source.json"} {
		if _, err := os.Stat(filepath.Join(loaded, f)); err != nil {
			t.Errorf("model/load output lacks %s", f)
		}
	}
	mArt := pipeline.Artifact{Kind: pipeline.KindModel, Dir: loaded}
	out, prog := runEncoderTestStage(t, r, "encode", map[string]any{"max_length": 64}, env, mArt, dsArt)
	if prog.total != 5 || prog.done != 5 {
		t.Errorf("progress %d/%d, want 5/5", prog.done, prog.total)
	}
	e, err := tables.ReadEmbeddings(filepath.Join(out, tables.EmbeddingsArrow))
	if err != nil {
		t.Fatal(err)
	}
	if e.Len() != 5 || e.Dim != 32 || e.Roles[0] != "query" || e.Roles[4] != "passage" || e.IDs[3] != "c2" || e.Langs[1] != "de" {
		t.Fatalf("embeddings: %d rows dim %d roles %v ids %v", e.Len(), e.Dim, e.Roles, e.IDs)
	}
	if len(e.ModelKey) != 64 {
		t.Errorf("model key %q", e.ModelKey)
	}
	for i := 0; i < e.Len(); i++ {
		var s float64
		for _, v := range e.Vector(i) {
			s += float64(v) * float64(v)
		}
		if math.Abs(s-1) > 1e-5 {
			t.Errorf("row %d has norm^2 %g", i, s)
		}
	}
	c2, c3 := e.Vector(3), e.Vector(4)
	for j := range c2 {
		if c2[j] != c3[j] {
			t.Fatal("identical candidate texts got different vectors")
		}
	}
	if _, err := os.Stat(filepath.Join(out, tables.EmbeddingsParquet)); !os.IsNotExist(err) {
		t.Errorf("encode wrote %s besides embeddings.arrow: %v", tables.EmbeddingsParquet, err)
	}
	// Streamed in chunks of 2 texts (no cache, so that every chunk is
	// encoded): the same rows in the same order, the same vectors.
	nenv := env
	nenv.CacheDir = ""
	cout, cprog := runEncoderTestStage(t, r, "encode", map[string]any{"max_length": 64, "chunk": 2}, nenv, mArt, dsArt)
	ce, err := tables.ReadEmbeddings(filepath.Join(cout, tables.EmbeddingsArrow))
	if err != nil {
		t.Fatal(err)
	}
	if cprog.total != 5 || cprog.done != 5 || ce.Len() != e.Len() || ce.ModelKey != e.ModelKey {
		t.Fatalf("chunked encode: %d rows, key %q, progress %d/%d", ce.Len(), ce.ModelKey, cprog.done, cprog.total)
	}
	for i := 0; i < e.Len(); i++ {
		if ce.IDs[i] != e.IDs[i] || ce.Roles[i] != e.Roles[i] || ce.Langs[i] != e.Langs[i] {
			t.Fatalf("chunked encode row %d: %s %s %s, want %s %s %s", i, ce.IDs[i], ce.Roles[i], ce.Langs[i], e.IDs[i], e.Roles[i], e.Langs[i])
		}
		for j, v := range ce.Vector(i) {
			if d := math.Abs(float64(v - e.Vector(i)[j])); d > 1e-6 {
				t.Fatalf("chunked encode row %d (%s) dim %d differs by %g", i, ce.IDs[i], j, d)
			}
		}
	}
	// backend gomlx (no cache, so that it encodes) gives the same vectors within 1e-4.
	genv := env
	genv.CacheDir = ""
	gout, _ := runEncoderTestStage(t, r, "encode", map[string]any{"max_length": 64, "backend": "gomlx"}, genv, mArt, dsArt)
	ge, err := tables.ReadEmbeddings(filepath.Join(gout, tables.EmbeddingsArrow))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < e.Len(); i++ {
		for j, v := range ge.Vector(i) {
			if d := math.Abs(float64(v - e.Vector(i)[j])); d > 1e-4 || ge.IDs[i] != e.IDs[i] {
				t.Fatalf("backend gomlx row %d (%s) dim %d differs from ort by %g", i, ge.IDs[i], j, d)
			}
		}
	}
	// model/load with a bad folder fails with the folder named.
	st, _ := r.Lookup("model/load")
	err = st.Run(context.Background(), &pipeline.StageContext{Name: "model", Type: st, Params: pipeline.Params{"model": t.TempDir()},
		OutDir: t.TempDir(), Env: env, Log: slog.New(slog.DiscardHandler)})
	if err == nil {
		t.Error("model/load of an empty folder: no error")
	}
}

// TestModelLoadKeyedOnContent: a local model folder is keyed on its files,
// not its path: editing the folder gives a new key (no stale cache hit), a
// copy elsewhere the same key; a bad hf:// reference fails the plan.
func TestModelLoadKeyedOnContent(t *testing.T) {
	r := pipeline.NewRegistry()
	registerEncoder(r)
	key := func(ref string) (string, error) {
		dag := "name: k\nparams: {model: \"" + ref + "\"}\nstages:\n  m: {uses: model/load, with: {model: \"${params.model}\"}}\n"
		plan, err := pipeline.Load("k.yaml", []byte(dag), r, pipeline.LoadOptions{})
		if err != nil {
			return "", err
		}
		return plan.Instances[0].Key, nil
	}
	a := t.TempDir()
	if err := modelgen.Generate(a, modelgen.Config{Arch: "bert", Layers: 1, Hidden: 16, Heads: 2, MaxPositions: 32, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	ka, err := key(a)
	if err != nil {
		t.Fatal(err)
	}
	b := t.TempDir()
	ents, _ := os.ReadDir(a)
	for _, e := range ents {
		data, _ := os.ReadFile(filepath.Join(a, e.Name()))
		os.WriteFile(filepath.Join(b, e.Name()), data, 0o644)
	}
	if kb, err := key(b); err != nil || kb != ka {
		t.Errorf("same files elsewhere: key %s (%v), want %s", kb, err, ka)
	}
	cfg, _ := os.ReadFile(filepath.Join(a, "config.json"))
	os.WriteFile(filepath.Join(a, "config.json"), append(cfg, ' '), 0o644)
	if ka2, err := key(a); err != nil || ka2 == ka {
		t.Errorf("edited folder: key %s (%v); want a new key", ka2, err)
	}
	if _, err := key(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing folder: %v; want a plan error naming it", err)
	}
	if _, err := key("hf://justorg"); err == nil || !strings.Contains(err.Error(), "hf://org/name") {
		t.Errorf("hf://justorg: %v; want a plan error", err)
	}
	k1, err1 := key("hf://org/name@v1")
	k2, err2 := key("hf://org/name@v2")
	if err1 != nil || err2 != nil || k1 == k2 {
		t.Errorf("hf:// references: %s %v / %s %v; want distinct keys", k1, err1, k2, err2)
	}
}
