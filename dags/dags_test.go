package dags_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/internal/cli"
	"github.com/lair-ir/lair/internal/testenv"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/stages"
	"github.com/lair-ir/lair/tables"
)

func registry() *pipeline.Registry {
	r := pipeline.NewRegistry()
	stages.Register(r)
	return r
}

// TestEveryDAGValidates loads every DAG file shipped in dags/ against the
// real stage types.
func TestEveryDAGValidates(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("want the shipped DAG files, found %v (%v)", files, err)
	}
	reg := registry()
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			p, err := pipeline.LoadFile(f, reg, pipeline.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Instances) == 0 {
				t.Fatal("empty plan")
			}
		})
	}
}

// TestQuickstartReduced runs dags/quickstart.yaml end to end on two or three
// languages and a few training steps, then checks every expected artifact
// and that every metric is in range. A second run must execute nothing.
func TestQuickstartReduced(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end run")
	}
	mirror := testenv.RawDir(t)
	testenv.ORTLib(t)
	work := t.TempDir()
	dag := filepath.Join(work, "quickstart.yaml")
	src, err := os.ReadFile("quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dag, src, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"run", dag, "--mirror", mirror, "--cache", filepath.Join(work, "cache"), "--quiet",
		"--set", "mlqa_langs=de,en", "--set", "xquad_langs=de,el,en",
		"--set", "steps=8", "--set", "batch_size=8", "--set", "hidden=32", "--set", "permutations=200"}
	var stdout, stderr bytes.Buffer
	if code := cli.Run(context.Background(), &stdout, &stderr, args, registry()); code != 0 {
		t.Fatalf("lair run exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	runDir := filepath.Join(work, ".lair", "runs", "latest")
	report := filepath.Join(runDir, "report", "report.html")
	html, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("no report: %v\n%s", err, stdout.String())
	}
	for _, want := range []string{"tiny-hybrid", "tiny-mono", "tiny-cross", "tiny-untrained", "bm25", "mlqa-r", "xquad-r"} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("report.html does not mention %q", want)
		}
	}
	for _, f := range []string{"report/metrics.parquet", "report/per_query.parquet", "eval/metrics.parquet",
		"train_xq[strategy=hybrid]/model.onnx", "train_ml[strategy=mono]/training_log.parquet",
		"enc_xq[strategy=cross]/embeddings.arrow", "batches_ml[strategy=hybrid]/batches.arrow"} {
		if _, err := os.Stat(filepath.Join(runDir, f)); err != nil {
			t.Errorf("missing artifact: %v", err)
		}
	}
	rows, err := tables.Read[tables.Metric](filepath.Join(runDir, "report", "metrics.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	systems := map[string]map[string]bool{} // dataset -> run ids
	for _, m := range rows {
		if systems[m.Dataset] == nil {
			systems[m.Dataset] = map[string]bool{}
		}
		systems[m.Dataset][m.RunID] = true
		switch {
		case m.Metric == "rd" || strings.HasPrefix(m.Metric, "mean_rank") || strings.HasPrefix(m.Metric, "pref@"):
			// ranks, and preference ratios (1 = none, > 1 = query language preferred)
			if m.Value < 0 {
				t.Errorf("%+v: negative rank metric or ratio", m)
			}
		case m.Value < 0 || m.Value > 1:
			t.Errorf("%+v: metric outside [0,1]", m)
		}
	}
	for _, ds := range []string{"xquad-r", "mlqa-r"} {
		// bm25, untrained, mono, cross, hybrid, mono+debias, hybrid+debias, bm25+hybrid
		if len(systems[ds]) != 8 {
			t.Errorf("dataset %s: want 8 systems, have %v", ds, systems[ds])
		}
	}

	// Everything is cached the second time.
	stdout.Reset()
	stderr.Reset()
	if code := cli.Run(context.Background(), &stdout, &stderr, args, registry()); code != 0 {
		t.Fatalf("second run exited %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), " 0 ran,") {
		t.Errorf("second run executed stages:\n%s", stdout.String())
	}
	if !strings.Contains(stdout.String(), "report: ") || !strings.Contains(stdout.String(), "report.html") {
		t.Errorf("lair run does not say where the report is:\n%s", stdout.String())
	}
}
