package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/datasets/beir"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/tables"
)

// lair export beir writes a dataset artifact as a BEIR folder that reads
// back into the same tables; a folder that is not a dataset is exit 2.
func TestExportBEIR(t *testing.T) {
	ds := &datasets.Dataset{
		Meta:       datasets.Meta{Dataset: "toy", License: "CC0"},
		Queries:    []tables.Query{{Dataset: "toy", Split: "test", QID: "q1", GroupID: "q1", Lang: "de", Text: "Wer?"}},
		Candidates: []tables.Candidate{{Dataset: "toy", CID: "c1", Lang: "de", Text: "Sie.", Context: "Titel", DocID: "c1"}},
		Qrels:      []tables.Qrel{{Dataset: "toy", QID: "q1", CID: "c1", Relevance: 1}},
	}
	src := filepath.Join(t.TempDir(), "tables")
	os.MkdirAll(src, 0o755)
	if err := ds.Write(src); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "toy")
	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), &stdout, &stderr, []string{"export", "beir", src, out, "--split", "dev"}, pipeline.NewRegistry()); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "1 passages, 1 queries, 1 qrels (split dev)") {
		t.Errorf("stdout %q", stdout.String())
	}
	back, err := beir.Read(context.Background(), out, beir.Options{Name: "toy", Split: "dev", LangField: "lang"})
	if err != nil {
		t.Fatal(err)
	}
	wantQ := ds.Queries[0]
	wantQ.Split = "dev" // a query's split is the qrels split it was read from
	if back.Candidates[0] != ds.Candidates[0] || back.Queries[0] != wantQ || back.Qrels[0] != ds.Qrels[0] {
		t.Errorf("round trip: %+v %+v %+v", back.Candidates, back.Queries, back.Qrels)
	}
	stderr.Reset()
	if code := Run(context.Background(), &stdout, &stderr, []string{"export", "beir", t.TempDir(), out}, pipeline.NewRegistry()); code != 2 || !strings.Contains(stderr.String(), "dataset artifact folder") {
		t.Errorf("not a dataset: exit %d, %s", code, stderr.String())
	}
}
