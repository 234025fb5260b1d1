package miracl

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/tables"
)

func TestWriteShard(t *testing.T) {
	root := t.TempDir()
	corpus := filepath.Join(root, "corpus")
	writeCorpus(t, corpus, []string{"sw"}, 10, func(_ string, i int) string { return fmt.Sprintf("%d#0", i) })
	files, err := CorpusFiles(corpus, "sw")
	if err != nil {
		t.Fatal(err)
	}
	topics := filepath.Join(root, "topics")
	d := &datasets.Dataset{Meta: datasets.Meta{Dataset: Name},
		Queries: []tables.Query{{Dataset: Name, QID: "miracl/sw/1", Lang: "sw", Text: "a"}, {Dataset: Name, QID: "miracl/yo/1", Lang: "yo", Text: "b"}},
		Qrels:   []tables.Qrel{{Dataset: Name, QID: "miracl/sw/1", CID: "3#0", Relevance: 1}, {Dataset: Name, QID: "miracl/yo/1", CID: "x", Relevance: 1}}}
	mkdir(t, topics)
	if err := d.Write(topics); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "out")
	mkdir(t, out)
	read := 0
	even := func(id string) bool { var n int; fmt.Sscanf(id, "%d#", &n); return n%2 == 0 }
	meta, err := WriteShard(context.Background(), topics, out, ShardOptions{Lang: "sw", Files: files, Keep: even, Note: "half", Progress: func(n int) { read += n }})
	if err != nil {
		t.Fatal(err)
	}
	got, err := datasets.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range got.Candidates {
		ids = append(ids, c.CID)
	}
	// the sw queries and their qrels only; the kept passages only; every passage read
	if len(got.Queries) != 1 || got.Queries[0].Lang != "sw" || len(got.Qrels) != 1 || strings.Join(ids, " ") != "miracl/sw/0#0 miracl/sw/2#0 miracl/sw/4#0 miracl/sw/6#0 miracl/sw/8#0" || read != 10 {
		t.Errorf("queries %v, qrels %v, candidates %v, read %d", got.Queries, got.Qrels, ids, read)
	}
	if meta.Counts["candidates"] != 5 || got.Meta.License != License || strings.Join(got.Meta.Notes, "") != "half" || got.Meta.Counts["qrels"] != 1 {
		t.Errorf("meta %+v / %+v", meta, got.Meta)
	}
	if _, err := WriteShard(context.Background(), topics, t.TempDir(), ShardOptions{Lang: "de", Files: files, Keep: even}); err == nil ||
		!strings.Contains(err.Error(), "no queries in de") {
		t.Errorf("language without queries: %v", err)
	}
}

func mkdir(t *testing.T, d string) {
	t.Helper()
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
}
