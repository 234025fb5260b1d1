package beir

import (
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/tables"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".gz") {
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			zw := gzip.NewWriter(f)
			zw.Write([]byte(body))
			zw.Close()
			f.Close()
			continue
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A folder as BEIR ships it (scifact-style): numeric ids, title+text,
// gzipped queries, a header in the qrels, a query without judgments.
var scifact = map[string]string{
	"corpus.jsonl": `{"_id": "4983", "title": "Microstructural development", "text": "Alterations of the architecture.", "metadata": {}}
{"_id": 5836, "title": "", "text": "Deletion of Ikaros."}
`,
	"queries.jsonl.gz": `{"_id": "1", "text": "0-dimensional biomaterials show inductive properties.", "metadata": {}}
{"_id": "3", "text": "1,000 genomes project enables mapping."}
`,
	"qrels/test.tsv": "query-id\tcorpus-id\tscore\n1\t4983\t1\n1\t5836\t0\n",
}

func TestReadBEIRFolder(t *testing.T) {
	dir := writeFiles(t, scifact)
	ds, err := Read(context.Background(), dir, Options{Name: "scifact", Lang: "en", License: "CC BY 4.0"})
	if err != nil {
		t.Fatal(err)
	}
	wantQ := []tables.Query{{Dataset: "scifact", Split: "test", QID: "1", GroupID: "1", Lang: "en", Text: "0-dimensional biomaterials show inductive properties."}}
	if !reflect.DeepEqual(ds.Queries, wantQ) {
		t.Errorf("queries = %+v, want %+v (query 3 has no judgments in the split)", ds.Queries, wantQ)
	}
	wantC := []tables.Candidate{
		{Dataset: "scifact", CID: "4983", Lang: "en", Text: "Alterations of the architecture.", Context: "Microstructural development", DocID: "4983"},
		{Dataset: "scifact", CID: "5836", Lang: "en", Text: "Deletion of Ikaros.", DocID: "5836"},
	}
	if !reflect.DeepEqual(ds.Candidates, wantC) {
		t.Errorf("candidates = %+v, want %+v", ds.Candidates, wantC)
	}
	wantR := []tables.Qrel{{Dataset: "scifact", QID: "1", CID: "4983", Relevance: 1}, {Dataset: "scifact", QID: "1", CID: "5836", Relevance: 0}}
	if !reflect.DeepEqual(ds.Qrels, wantR) {
		t.Errorf("qrels = %+v, want %+v", ds.Qrels, wantR)
	}
	if !reflect.DeepEqual(ds.Meta.Languages, []string{"en"}) || ds.Meta.License != "CC BY 4.0" {
		t.Errorf("meta = %+v", ds.Meta)
	}
}

func TestLangField(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"corpus.jsonl":   `{"_id":"d1","text":"Hallo","language":"de"}` + "\n" + `{"_id":"d2","text":"hello"}` + "\n",
		"queries.jsonl":  `{"_id":"q1","text":"Gruß?","language":"de"}` + "\n",
		"qrels/dev.tsv":  "q1\td1\t2\n",
		"qrels/test.tsv": "q1\td2\t1\n",
	})
	ds, err := Read(context.Background(), dir, Options{Name: "x", Split: "dev", LangField: "language", Lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Queries[0].Lang != "de" || ds.Candidates[0].Lang != "de" || ds.Candidates[1].Lang != "en" {
		t.Errorf("languages: %+v %+v", ds.Queries, ds.Candidates)
	}
	if !reflect.DeepEqual(ds.Meta.Languages, []string{"de", "en"}) || len(ds.Qrels) != 1 || ds.Qrels[0].Relevance != 2 {
		t.Errorf("meta %v qrels %+v", ds.Meta.Languages, ds.Qrels)
	}
	// without the default, the record lacking the field is an error naming file and line
	_, err = Read(context.Background(), dir, Options{Name: "x", Split: "dev", LangField: "language"})
	if err == nil || !strings.Contains(err.Error(), "corpus.jsonl:2") || !strings.Contains(err.Error(), `"language"`) {
		t.Errorf("err = %v", err)
	}
}

// lair tables -> BEIR -> lair tables gives the same dataset.
func TestWriteReadRoundTrip(t *testing.T) {
	in := &datasets.Dataset{
		Meta: datasets.Meta{Dataset: "toy", Languages: []string{"de", "en"}},
		Queries: []tables.Query{
			{Dataset: "toy", Split: "test", QID: "q1", GroupID: "q1", Lang: "en", Text: "who \"wrote\" <it>?"},
			{Dataset: "toy", Split: "test", QID: "q2", GroupID: "q2", Lang: "de", Text: "wer schrieb es?"},
		},
		Candidates: []tables.Candidate{
			{Dataset: "toy", CID: "c1", Lang: "en", Text: "She wrote it.", Context: "A title", DocID: "c1"},
			{Dataset: "toy", CID: "c2", Lang: "de", Text: "Sie schrieb es.\nZweite Zeile", DocID: "c2"},
		},
		Qrels: []tables.Qrel{{Dataset: "toy", QID: "q1", CID: "c1", Relevance: 1}, {Dataset: "toy", QID: "q2", CID: "c2", Relevance: 1}},
	}
	dir := t.TempDir()
	if err := Write(dir, in, "test"); err != nil {
		t.Fatal(err)
	}
	out, err := Read(context.Background(), dir, Options{Name: "toy", LangField: "lang"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.Queries, in.Queries) || !reflect.DeepEqual(out.Candidates, in.Candidates) || !reflect.DeepEqual(out.Qrels, in.Qrels) {
		t.Errorf("round trip differs:\n%+v\n%+v\n%+v", out.Queries, out.Candidates, out.Qrels)
	}
	if !reflect.DeepEqual(out.Meta.Languages, in.Meta.Languages) {
		t.Errorf("languages %v", out.Meta.Languages)
	}
}

func TestReadRejects(t *testing.T) {
	base := func(over map[string]string) map[string]string {
		m := map[string]string{
			"corpus.jsonl":   `{"_id":"d1","text":"a"}` + "\n",
			"queries.jsonl":  `{"_id":"q1","text":"b"}` + "\n",
			"qrels/test.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t1\n",
		}
		for k, v := range over {
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"unknown query", base(map[string]string{"qrels/test.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq7\td1\t1\n"}), `qrels/test.tsv:3: query-id "q7" is not in`},
		{"unknown passage", base(map[string]string{"qrels/test.tsv": "q1\td9\t1\n"}), `qrels/test.tsv:1: corpus-id "d9" is not in`},
		{"score", base(map[string]string{"qrels/test.tsv": "q1\td1\thigh\n"}), `test.tsv:1: score "high" is not an integer`},
		{"fields", base(map[string]string{"qrels/test.tsv": "q1 d1 1\n"}), "test.tsv:1: 1 tab-separated fields, want 3"},
		{"json", base(map[string]string{"corpus.jsonl": `{"_id":"d1","text":"a"}` + "\n" + `{"_id":"d2",` + "\n"}), "corpus.jsonl:2: malformed JSON"},
		{"no id", base(map[string]string{"queries.jsonl": `{"text":"b"}` + "\n"}), `queries.jsonl:1: no "_id"`},
		{"text type", base(map[string]string{"queries.jsonl": `{"_id":"q1","text":3}` + "\n"}), `field "text" is 3, want a string`},
		{"duplicate", base(map[string]string{"corpus.jsonl": `{"_id":"d1","text":"a"}` + "\n" + `{"_id":"d1","text":"a"}` + "\n"}), `corpus.jsonl:2: passage "d1" appears twice`},
		{"no split", base(map[string]string{"qrels/test.tsv": ""}), `no qrels for split "test"`},
		{"no corpus", base(map[string]string{"corpus.jsonl": ""}), "no corpus.jsonl (or corpus.jsonl.gz)"},
		{"empty qrels", base(map[string]string{"qrels/test.tsv": "query-id\tcorpus-id\tscore\n"}), "no judgments"},
		{"not gzip", base(map[string]string{"queries.jsonl": "", "queries.jsonl.gz.txt": "x"}), "no queries.jsonl"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeFiles(t, c.files)
			_, err := Read(context.Background(), dir, Options{Name: "x", Lang: "en"})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{`{"_id":"1","title":"t","text":"x"}`, `{"_id":5}`, `{"_id":"1","lang":"de"}`, `[]`, `{"_id":null}`, `{"_id":"1","text":{"a":1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRecord(b, "lang")
		if err == nil && r.ID == "" {
			t.Fatalf("accepted a record without an id: %q", b)
		}
	})
}
