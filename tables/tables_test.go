package tables

import (
	"path/filepath"
	"reflect"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	qs := []Query{{Dataset: "xquad-r", Split: "test", QID: "q1", GroupID: "g1", Lang: "de", Text: "Wer?"},
		{Dataset: "xquad-r", Split: "test", QID: "q2", GroupID: "g1", Lang: "zh", Text: "谁？"}}
	p := filepath.Join(dir, "q.parquet")
	if err := Write(p, qs, map[string]string{"license": "CC BY-SA 4.0"}); err != nil {
		t.Fatal(err)
	}
	got, err := Read[Query](p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, qs) {
		t.Fatalf("round trip: got %+v want %+v", got, qs)
	}
	md, err := Metadata(p)
	if err != nil {
		t.Fatal(err)
	}
	if md["license"] != "CC BY-SA 4.0" {
		t.Fatalf("metadata license = %q", md["license"])
	}
	pairs := []Pair{{PairID: "p1", GroupID: "g", Source: "s", Kind: "cross", QLang: "en", QText: "a", PLang: "de", PText: "b", Split: "train"}}
	p2 := filepath.Join(dir, "p.parquet")
	if err := Write(p2, pairs, nil); err != nil {
		t.Fatal(err)
	}
	gotp, err := Read[Pair](p2)
	if err != nil || !reflect.DeepEqual(gotp, pairs) {
		t.Fatalf("pairs round trip: %v %+v", err, gotp)
	}
}

// Every table carries the schema version and its name in the file metadata.
func TestWriteCarriesSchemaVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.parquet")
	if err := Write(path, []Metric{{RunID: "r", Metric: "map", Value: 0.5}}, map[string]string{"license": "CC0"}); err != nil {
		t.Fatal(err)
	}
	md, err := Metadata(path)
	if err != nil {
		t.Fatal(err)
	}
	if md[SchemaVersionKey] != SchemaVersion || md[TableKey] != "metrics" || md["license"] != "CC0" {
		t.Errorf("metadata %v", md)
	}
}
