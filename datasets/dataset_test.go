package datasets

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lair-ir/lair/tables"
)

func sample() *Dataset {
	return &Dataset{
		Meta: Meta{Dataset: "toy", Languages: []string{"de", "en"}, License: "CC0"},
		Queries: []tables.Query{
			{Dataset: "toy", Split: "test", QID: "q1", GroupID: "g1", Lang: "en", Text: "where?"},
			{Dataset: "toy", Split: "test", QID: "q2", GroupID: "g1", Lang: "de", Text: "wo?"},
		},
		Candidates: []tables.Candidate{
			{Dataset: "toy", CID: "c1", Lang: "en", Text: "here."},
			{Dataset: "toy", CID: "c2", Lang: "de", Text: "hier."},
			{Dataset: "toy", CID: "c3", Lang: "de", Text: "dort."},
		},
		Qrels: []tables.Qrel{{Dataset: "toy", QID: "q1", CID: "c1", Relevance: 1}, {Dataset: "toy", QID: "q2", CID: "c2", Relevance: 1}},
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	d := sample()
	if err := d.Write(dir); err != nil {
		t.Fatal(err)
	}
	// the layout is part of every artifact key: keep the names
	for _, f := range []string{"queries.parquet", "candidates.parquet", "qrels.parquet", "meta.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("layout: %v", err)
		}
	}
	got, err := ReadChecked(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Queries, d.Queries) || !reflect.DeepEqual(got.Candidates, d.Candidates) || !reflect.DeepEqual(got.Qrels, d.Qrels) {
		t.Errorf("tables differ after the round trip:\n%+v\n%+v", got, d)
	}
	if got.Meta.License != "CC0" || got.Meta.Counts["candidates"] != 3 || got.Dir != dir || got.Name() != "toy" {
		t.Errorf("meta %+v dir %q name %q", got.Meta, got.Dir, got.Name())
	}
	if l := License(dir); l != "CC0" {
		t.Errorf("License = %q", l)
	}
	kv, err := tables.Metadata(filepath.Join(dir, QrelsFile))
	if err != nil || kv["license"] != "CC0" || kv["dataset"] != "toy" {
		t.Errorf("table metadata %v, %v", kv, err)
	}
}

func TestReadWithoutMeta(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "folder")
	os.Mkdir(dir, 0o755)
	d := sample()
	if err := WriteQueries(dir, d.Queries, nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteCandidates(dir, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteQrels(dir, d.Qrels, nil); err != nil {
		t.Fatal(err)
	}
	// a topics-only dataset reads (leakage and encode use it) but does not check
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name() != "toy" || got.Meta.License != "" || License(dir) != "" {
		t.Errorf("name %q license %q", got.Name(), got.Meta.License)
	}
	if _, err := ReadChecked(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, CandidatesFile)+": no candidates") {
		t.Errorf("ReadChecked of a topics-only dataset: %v", err)
	}
	got.Queries = nil
	if got.Name() != "folder" {
		t.Errorf("name without queries or meta = %q, want the folder's", got.Name())
	}
	// a malformed meta.json is an error naming it
	os.WriteFile(filepath.Join(dir, MetaFile), []byte("{"), 0o644)
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), MetaFile) {
		t.Errorf("bad meta.json: %v", err)
	}
}

func TestCheckNamesFileAndRow(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(d *Dataset)
		want string
	}{
		{"empty lang", func(d *Dataset) { d.Queries[1].Lang = "" }, "queries.parquet row 1 (qid \"q2\"): empty lang"},
		{"duplicate cid", func(d *Dataset) { d.Candidates[2].CID = "c1" }, "candidates.parquet row 2: cid \"c1\" already used by row 0"},
		{"unknown cid", func(d *Dataset) { d.Qrels[1].CID = "ghost" }, "qrels.parquet row 1: cid \"ghost\" is not in candidates.parquet"},
		{"unknown qid", func(d *Dataset) { d.Qrels[0].QID = "q9" }, "qrels.parquet row 0: qid \"q9\" is not in queries.parquet"},
	} {
		d := sample()
		d.Dir = "/art"
		c.edit(d)
		if err := d.Check(); err == nil || !strings.HasPrefix(err.Error(), "/art/"+c.want) {
			t.Errorf("%s: %v, want /art/%s", c.name, err, c.want)
		}
	}
	if err := sample().Check(); err != nil {
		t.Errorf("valid dataset: %v", err)
	}
}

func TestStreamedCandidates(t *testing.T) {
	dir := t.TempDir()
	cw, err := CreateCandidates(dir, map[string]string{"license": "CC0"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 2500 // more than one flush of 1024
	for i := range n {
		if err := cw.Write(tables.Candidate{Dataset: "toy", CID: "c" + strings.Repeat("x", i%3) + string(rune('a'+i%26)), Lang: "en"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	if cw.Count != n {
		t.Errorf("Count = %d", cw.Count)
	}
	rows, err := CountCandidates(dir)
	if err != nil || rows != n {
		t.Errorf("CountCandidates = %d, %v", rows, err)
	}
	var batches, seen int
	err = ReadCandidateBatches(dir, 1000, func(cs []tables.Candidate) error {
		batches++
		seen += len(cs)
		return nil
	})
	if err != nil || batches != 3 || seen != n {
		t.Errorf("ReadCandidateBatches: %d batches, %d rows, %v", batches, seen, err)
	}
	if _, err := CountCandidates(t.TempDir()); err == nil || !strings.Contains(err.Error(), CandidatesFile) {
		t.Errorf("missing table: %v", err)
	}
}
