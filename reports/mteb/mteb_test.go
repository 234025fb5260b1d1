package mteb

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/lair-ir/lair/tables"
)

var update = flag.Bool("update", false, "rewrite the golden file")

func rows() []tables.Metric {
	m := func(setting, q, c, metric string, v float64) tables.Metric {
		return tables.Metric{RunID: "tiny-hybrid", Dataset: "xquad-r", Setting: setting, QLang: q, CLang: c, Metric: metric, Value: v, N: 10}
	}
	return []tables.Metric{
		m("mono", "de", "de", "map", 0.5), m("mono", "de", "de", "ndcg@10", 0.6), m("mono", "en", "en", "map", 0.7),
		m("mono", "all", "all", "map", 0.6), // macro average: mteb averages subsets itself
		m("cross", "de", "en", "map", 0.25), m("cross", "de", "en", "r@10", 0.4), m("cross", "de", "all", "map", 0.25),
		m("cross", "en", "de", "map", 0.3),
		m("multi", "de", "all", "map", 0.2), m("multi", "de", "all", "rd", 120), m("multi", "de", "all", "peer@100", 0.3),
		m("multi", "de", "en", "top10_share", 0.4), // per-candidate-language breakdown: stays in lair's tables
		m("multi", "xx", "all", "map@20", 0.1),     // unknown language code
	}
}

// TestGolden writes the results of one system and checks them against the
// golden file and mteb's own validation rules.
func TestGolden(t *testing.T) {
	dir := t.TempDir()
	paths, unknown, err := Write(dir, rows())
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 1 || filepath.Base(paths[0]) != "LAReQA-xquad-r.json" ||
		filepath.Base(filepath.Dir(paths[0])) != Revision || filepath.Base(filepath.Dir(filepath.Dir(paths[0]))) != "tiny-hybrid" {
		t.Fatalf("paths %v", paths)
	}
	if len(unknown) != 1 || unknown[0] != "xx" {
		t.Errorf("unknown languages %v, want [xx]", unknown)
	}
	got, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(got); err != nil {
		t.Fatalf("mteb would reject it: %v", err)
	}
	golden := filepath.Join("testdata", "LAReQA-xquad-r.json")
	if *update {
		os.WriteFile(golden, got, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
}

func TestMetricNames(t *testing.T) {
	for in, want := range map[string]string{"map": "map", "map@20": "map_at_20", "r@100": "recall_at_100", "ndcg@10": "ndcg_at_10",
		"mrr@10": "mrr_at_10", "rd": "lair_rd", "peer@100": "lair_peer@100", "pref@10": "lair_pref@10"} {
		if got := MetricName(in); got != want {
			t.Errorf("MetricName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	for _, bad := range []string{`{}`, `{"dataset_revision":"r","task_name":"t","mteb_version":"1","evaluation_time":null,"scores":{"test":[{"hf_subset":"en"}]}}`,
		`{"dataset_revision":"r","task_name":"t","mteb_version":"1","evaluation_time":null,"scores":{"test":[{"main_score":1,"hf_subset":"en","languages":"eng"}]}}`} {
		if Validate([]byte(bad)) == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}
