package stages

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lair-ir/lair/pipeline"
)

func vmHWM() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / (1024 * 1024)
		}
	}
	return 0
}

// BenchmarkQuickstartEvalReport re-runs the quickstart's eval and report
// stages (dags/quickstart.yaml: every rankings and dataset artifact of the
// run; 10,000 permutations, baseline tiny-hybrid) on a finished
// quickstart run, and prints the peak RSS after each stage and the size
// of the eval artifact.
//
//	LAIR_QUICKSTART_RUN=dags/.lair/runs/latest go test ./stages -run '^$' -bench QuickstartEvalReport -benchtime 1x
func BenchmarkQuickstartEvalReport(b *testing.B) {
	run := os.Getenv("LAIR_QUICKSTART_RUN")
	if run == "" {
		b.Skip("LAIR_QUICKSTART_RUN (a quickstart run folder, e.g. dags/.lair/runs/latest) not set")
	}
	r := pipeline.NewRegistry()
	registerEval(r)
	// every rankings and dataset artifact of the run
	entries, err := os.ReadDir(run)
	if err != nil {
		b.Fatal(err)
	}
	var inputs []pipeline.Artifact
	for _, e := range entries {
		dir, err := filepath.EvalSymlinks(filepath.Join(run, e.Name()))
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "rankings.parquet")); err == nil {
			inputs = append(inputs, pipeline.Artifact{Kind: pipeline.KindRankings, Stage: e.Name(), Dir: dir})
		} else if _, err := os.Stat(filepath.Join(dir, "queries.parquet")); err == nil {
			inputs = append(inputs, pipeline.Artifact{Kind: pipeline.KindDataset, Stage: e.Name(), Dir: dir})
		}
	}
	if len(inputs) == 0 {
		b.Fatalf("%s: no rankings or dataset artifacts", run)
	}
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		ev := benchCtx(b, r, "eval/lareqa", "eval", nil, inputs...)
		if err := runEval(ctx, ev); err != nil {
			b.Fatal(err)
		}
		b.Logf("eval: peak RSS %.2f GiB", vmHWM())
		size := int64(0)
		filepath.Walk(ev.OutDir, func(_ string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				size += fi.Size()
			}
			return nil
		})
		b.Logf("eval output: %.1f MB", float64(size)/1e6)
		rep := benchCtx(b, r, "report/html", "report", map[string]any{"title": "lair quickstart", "baseline": "tiny-hybrid",
			"language_groups": []string{"unseen=el,ru,th,tr"}}, pipeline.Artifact{Kind: pipeline.KindMetrics, Stage: "eval", Dir: ev.OutDir})
		if err := runReport(ctx, rep); err != nil {
			b.Fatal(err)
		}
		b.Logf("eval + report: peak RSS %.2f GiB", vmHWM())
	}
}

func benchCtx(b *testing.B, r *pipeline.Registry, typ, name string, with map[string]any, inputs ...pipeline.Artifact) *pipeline.StageContext {
	st, ok := r.Lookup(typ)
	if !ok {
		b.Fatalf("stage type %s not registered", typ)
	}
	params := pipeline.Params{}
	for _, p := range st.Params {
		if p.Default != nil {
			params[p.Name] = p.Default
		}
	}
	for k, v := range with {
		params[k] = v
	}
	out := filepath.Join(b.TempDir(), "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		b.Fatal(err)
	}
	return &pipeline.StageContext{Name: name, Type: st, Params: params, Inputs: inputs, OutDir: out, Env: pipeline.Env{Threads: 2}}
}
