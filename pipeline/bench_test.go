package pipeline

import (
	"context"
	"fmt"
	"github.com/lair-ir/lair/storage/dirstore"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time so far. On a shared
// machine wall time includes waiting for the CPU; CPU time does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchDir is where a benchmark keeps its store and runs: a temp dir
// under $LAIR_BENCH_DIR when set (e.g. /dev/shm, to separate the engine's
// cost from the file system's), else under the test's temp dir.
func benchDir(b *testing.B) string {
	base := os.Getenv("LAIR_BENCH_DIR")
	if base == "" {
		return b.TempDir()
	}
	d, err := os.MkdirTemp(base, "lair-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// benchRegistry has one no-op stage type that takes any number of inputs.
func benchRegistry() *Registry {
	reg := NewRegistry()
	reg.Register(&StageType{Name: "bench/noop", Doc: "writes one small file", Output: KindDataset,
		Inputs: []Input{{Kind: KindDataset, Many: true, Optional: true, Doc: "anything"}},
		Params: []Param{{Name: "i", Type: TypeInt, Doc: "index"}, {Name: "tag", Type: TypeString, Default: "x", Doc: "tag"}},
		Run: func(ctx context.Context, sc *StageContext) error {
			return os.WriteFile(filepath.Join(sc.OutDir, "out.txt"), []byte("ok\n"), 0o644)
		}})
	return reg
}

// syntheticDAG writes a DAG of n stages; stage i needs stages i-1 and i/2
// (a deep and wide graph), or nothing when independent is set.
func syntheticDAG(n int, independent bool) []byte {
	var b strings.Builder
	b.WriteString("name: synthetic\nparams: {tag: x}\nstages:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  s%d: {uses: bench/noop, with: {i: %d, tag: \"${params.tag}\"}", i, i)
		if !independent && i > 0 {
			if i/2 != i-1 {
				fmt.Fprintf(&b, ", needs: [s%d, s%d]", i-1, i/2)
			} else {
				fmt.Fprintf(&b, ", needs: [s%d]", i-1)
			}
		}
		b.WriteString("}\n")
	}
	return []byte(b.String())
}

// BenchmarkPlan1000 loads, validates and plans a 1,000-stage DAG.
func BenchmarkPlan1000(b *testing.B) {
	data := syntheticDAG(1000, false)
	reg := benchRegistry()
	for b.Loop() {
		if _, err := Load("synthetic.yaml", data, reg, LoadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCachedRun1000 plans a 1,000-stage DAG and runs it with every
// stage already in the store, recording the run (manifest and links) as
// `lair run` does.
func BenchmarkCachedRun1000(b *testing.B) {
	dir := benchDir(b)
	data := syntheticDAG(1000, false)
	reg := benchRegistry()
	st, err := dirstore.Open(context.Background(), filepath.Join(dir, "store"), dirstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	plan, err := Load("synthetic.yaml", data, reg, LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := Execute(context.Background(), plan, RunOptions{Store: st}); err != nil {
		b.Fatal(err)
	}
	cpu0 := cpuTime()
	for b.Loop() {
		plan, err := Load("synthetic.yaml", data, reg, LoadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		res, err := Execute(context.Background(), plan, RunOptions{Store: st, RunsDir: filepath.Join(dir, "runs")})
		if err != nil {
			b.Fatal(err)
		}
		if res.Summary.Cached != 1000 {
			b.Fatalf("summary %+v", res.Summary)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
}

// BenchmarkNoopStage measures the engine's overhead per executed stage:
// 100 independent no-op stages (each writes one 3-byte file) are forced to
// run; the metric ms/stage is the wall time per stage, including the temp
// dir, fsync, atomic publish, run links and manifest updates.
func BenchmarkNoopStage(b *testing.B) {
	const n = 100
	dir := benchDir(b)
	data := syntheticDAG(n, true)
	reg := benchRegistry()
	st, err := dirstore.Open(context.Background(), filepath.Join(dir, "store"), dirstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	plan, err := Load("synthetic.yaml", data, reg, LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	stages := plan.Stages()
	cpu0 := cpuTime()
	for b.Loop() {
		res, err := Execute(context.Background(), plan, RunOptions{Store: st, Force: stages, RunsDir: filepath.Join(dir, "runs")})
		if err != nil {
			b.Fatal(err)
		}
		if res.Summary.Ran != n {
			b.Fatalf("summary %+v", res.Summary)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N*n), "ms/stage")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N*n), "cpu-ms/stage")
}
