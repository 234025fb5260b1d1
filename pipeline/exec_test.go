package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lair-ir/lair/storage"
	"github.com/lair-ir/lair/storage/dirstore"
)

func loadTestPlan(t *testing.T, reg *Registry, path string, set map[string]string) *Plan {
	t.Helper()
	p, err := LoadFile(path, reg, LoadOptions{Set: set})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func statuses(res *Result, status string) []string {
	var out []string
	for _, r := range res.Results {
		if r.Status == status {
			out = append(out, r.Instance.Name)
		}
	}
	sort.Strings(out)
	return out
}

func TestExecuteOrderCacheAndChange(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, filepath.Join(dir, "store"))
	rec := &recorder{}
	reg := testRegistry(rec)
	plan := loadTestPlan(t, reg, "testdata/plan/quickstart.yaml", nil)

	res, err := Execute(context.Background(), plan, RunOptions{Store: st, Jobs: 4, RunsDir: filepath.Join(dir, "runs")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary != (Summary{Ran: len(plan.Instances)}) {
		t.Fatalf("first run: %+v, want all %d ran", res.Summary, len(plan.Instances))
	}
	// Every instance started after all of its inputs (start order = rec.ran order).
	rec.mu.Lock()
	pos := map[string]int{}
	for i, n := range rec.ran {
		pos[n] = i
	}
	rec.mu.Unlock()
	for _, in := range plan.Instances {
		for _, up := range in.Inputs {
			if pos[up.Name] >= pos[in.Name] {
				t.Errorf("%s started before its input %s", in.Name, up.Name)
			}
		}
	}
	// The report saw all three evals.
	b, err := os.ReadFile(filepath.Join(res.RunDir, "report", "out.txt"))
	if err != nil || !strings.HasPrefix(string(b), "report ") {
		t.Fatalf("report artifact via run link: %q, %v", b, err)
	}

	// Second run: nothing executes.
	rec2 := &recorder{}
	plan2 := loadTestPlan(t, testRegistry(rec2), "testdata/plan/quickstart.yaml", nil)
	res2, err := Execute(context.Background(), plan2, RunOptions{Store: st, Jobs: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(rec2.names()) != 0 || res2.Summary.Cached != len(plan.Instances) {
		t.Fatalf("second run executed %v (summary %+v), want nothing", rec2.names(), res2.Summary)
	}

	// A changed parameter re-runs exactly that stage and its descendants.
	rec3 := &recorder{}
	plan3 := loadTestPlan(t, testRegistry(rec3), "testdata/plan/quickstart.yaml", map[string]string{"size": "32"})
	if _, err := Execute(context.Background(), plan3, RunOptions{Store: st, Jobs: 2}); err != nil {
		t.Fatal(err)
	}
	want := []string{"encode[strategy=cross]", "encode[strategy=hybrid]", "encode[strategy=mono]",
		"eval[strategy=cross]", "eval[strategy=hybrid]", "eval[strategy=mono]", "model", "report",
		"train[strategy=cross]", "train[strategy=hybrid]", "train[strategy=mono]"}
	if got := rec3.names(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after --set size=32 ran\n%v\nwant\n%v", got, want)
	}
}

func TestExecuteParallelBounded(t *testing.T) {
	dir := t.TempDir()
	const jobs = 3
	rec := &recorder{gate: make(chan struct{})}
	reg := testRegistry(rec)
	path := writeDAG(t, dir, `name: wide
stages:
  s: {uses: test/source, matrix: {seed: [1, 2, 3, 4, 5, 6, 7]}}
`)
	plan := loadTestPlan(t, reg, path, nil)
	done := make(chan error, 1)
	go func() {
		_, err := Execute(context.Background(), plan, RunOptions{Store: openStore(t, filepath.Join(dir, "store")), Jobs: jobs})
		done <- err
	}()
	// Wait until `jobs` stages run at once, then let them all go.
	deadline := time.Now().Add(20 * time.Second)
	for rec.active.Load() < jobs {
		if time.Now().After(deadline) {
			t.Fatalf("never saw %d stages running at once (max %d)", jobs, rec.maxSeen.Load())
		}
		time.Sleep(time.Millisecond)
	}
	close(rec.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if m := rec.maxSeen.Load(); m != jobs {
		t.Fatalf("at most %d stages ran at once, want exactly --jobs=%d", m, jobs)
	}
}

func TestExecuteFailureStopsDescendantsOnly(t *testing.T) {
	dir := t.TempDir()
	rec := &recorder{fail: map[string]bool{"batches[strategy=cross]": true}}
	plan := loadTestPlan(t, testRegistry(rec), "testdata/plan/quickstart.yaml", nil)
	st := openStore(t, filepath.Join(dir, "store"))
	var order []string
	res, err := Execute(context.Background(), plan, RunOptions{Store: st, Jobs: 2, RunsDir: filepath.Join(dir, "runs"),
		OnDone: func(r InstanceResult) { order = append(order, r.Instance.Name+":"+r.Status) }})
	if !errors.Is(err, ErrRunFailed) {
		t.Fatalf("err = %v, want ErrRunFailed", err)
	}
	if got := statuses(res, StatusFailed); !reflect.DeepEqual(got, []string{"batches[strategy=cross]"}) {
		t.Fatalf("failed: %v", got)
	}
	wantSkipped := []string{"encode[strategy=cross]", "eval[strategy=cross]", "report", "train[strategy=cross]"}
	if got := statuses(res, StatusSkipped); !reflect.DeepEqual(got, wantSkipped) {
		t.Fatalf("skipped: %v, want %v", got, wantSkipped)
	}
	if res.Summary != (Summary{Ran: 12, Failed: 1, Skipped: 4}) {
		t.Fatalf("summary %+v", res.Summary)
	}
	if len(order) != len(plan.Instances) {
		t.Fatalf("OnDone called %d times, want %d", len(order), len(plan.Instances))
	}
	m, err := ReadManifest(filepath.Join(dir, "runs"), "latest")
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != "failed" || m.Summary != res.Summary {
		t.Fatalf("manifest status %q summary %+v", m.Status, m.Summary)
	}
	for _, mi := range m.Instances {
		if mi.Name == "batches[strategy=cross]" && !strings.Contains(mi.Error, "told to fail") {
			t.Fatalf("manifest error of failed stage: %q", mi.Error)
		}
	}
	assertNoTemp(t, st)
}

func TestExecuteForce(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, filepath.Join(dir, "store"))
	plan := loadTestPlan(t, testRegistry(&recorder{}), "testdata/plan/quickstart.yaml", nil)
	if _, err := Execute(context.Background(), plan, RunOptions{Store: st}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	plan = loadTestPlan(t, testRegistry(rec), "testdata/plan/quickstart.yaml", nil)
	res, err := Execute(context.Background(), plan, RunOptions{Store: st, Force: []string{"train"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Ran != 10 || len(rec.names()) != 10 {
		t.Fatalf("--force train ran %v, want the 3 trains and their 7 descendants", rec.names())
	}
	if _, err := Execute(context.Background(), plan, RunOptions{Store: st, Force: []string{"trian"}}); err == nil || !strings.Contains(err.Error(), `did you mean "train"`) {
		t.Fatalf("--force of an unknown stage: %v", err)
	}
}

func TestExecuteCancel(t *testing.T) {
	dir := t.TempDir()
	rec := &recorder{gate: make(chan struct{})}
	plan := loadTestPlan(t, testRegistry(rec), "testdata/plan/quickstart.yaml", nil)
	st := openStore(t, filepath.Join(dir, "store"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *Result, 1)
	go func() {
		res, err := Execute(ctx, plan, RunOptions{Store: st, Jobs: 2, RunsDir: filepath.Join(dir, "runs")})
		if err == nil || !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		done <- res
	}()
	for rec.active.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	res := <-done
	if res.Summary.Ran != 0 || res.Summary.Failed != 2 || res.Summary.Skipped != len(plan.Instances)-2 {
		t.Fatalf("summary after cancel: %+v", res.Summary)
	}
	m, err := ReadManifest(filepath.Join(dir, "runs"), "")
	if err != nil || m.Status != "interrupted" {
		t.Fatalf("manifest: %v, %v", m, err)
	}
	assertNoTemp(t, st)
}

// assertNoTemp checks that the store's session temp dirs are empty.
func assertNoTemp(t *testing.T, st *dirstore.Store) {
	t.Helper()
	tmp := filepath.Join(st.Root(), ".tmp")
	sessions, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range sessions {
		if !e.IsDir() {
			continue
		}
		ents, err := os.ReadDir(filepath.Join(tmp, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 0 {
			t.Fatalf("temp dirs left behind in %s: %v", e.Name(), ents)
		}
	}
}

// TestConcurrentRunsShareStore: two runs of one DAG on one store at once
// build every artifact exactly once between them (per-key locks), and both
// succeed.
func TestConcurrentRunsShareStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	rec := &recorder{}
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			st, err := dirstore.Open(context.Background(), dir, dirstore.Options{})
			if err != nil {
				errs <- err
				return
			}
			defer st.Close()
			plan, err := LoadFile("testdata/plan/quickstart.yaml", testRegistry(rec), LoadOptions{})
			if err != nil {
				errs <- err
				return
			}
			_, err = Execute(context.Background(), plan, RunOptions{Store: st, Jobs: 3})
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	names := rec.names()
	for i := 1; i < len(names); i++ {
		if names[i] == names[i-1] {
			t.Fatalf("%s was built twice", names[i])
		}
	}
	if len(names) != 17 {
		t.Fatalf("built %d instances, want 17", len(names))
	}
}

func TestExecutePanicIsFailure(t *testing.T) {
	reg := NewRegistry()
	reg.Register(&StageType{Name: "test/panic", Output: KindDataset, Run: func(context.Context, *StageContext) error { panic("boom") }})
	reg.Register(&StageType{Name: "test/ok", Output: KindDataset, Run: func(context.Context, *StageContext) error { return nil }})
	plan, err := Load("p.yaml", []byte("stages: {a: {uses: test/panic}, b: {uses: test/ok}}"), reg, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Execute(context.Background(), plan, RunOptions{Store: openStore(t, t.TempDir())})
	if !errors.Is(err, ErrRunFailed) || res.Summary != (Summary{Ran: 1, Failed: 1}) {
		t.Fatalf("err %v summary %+v", err, res.Summary)
	}
	if !strings.Contains(res.Results[0].Err.Error(), "stage a panicked: boom") {
		t.Fatalf("error: %v", res.Results[0].Err)
	}
}

// TestManifestRoundTrip writes a manifest the way a run does and reads it
// back unchanged.
func TestManifestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 11, 24, 22, 0, 0, 0, time.UTC)
	end := start.Add(1500 * time.Millisecond)
	m := &Manifest{RunID: "r1", Status: "ok", DAG: ManifestDAG{Path: "/x/dag.yaml", Hash: "abc", Name: "demo"},
		Params: map[string]any{"n": 3.0}, Store: "/x/.lair/store", Started: start, Ended: &end,
		LairVersion: "devel", GoVersion: "go1.26", Host: "h", Summary: Summary{Ran: 1},
		Instances: []ManifestInstance{{Name: "a[x=1]", Stage: "a", Type: "t", Version: "1", Params: Params{"x": 1.0},
			Matrix: map[string]string{"x": "1"}, Inputs: []string{"b"}, Key: "k", Status: StatusRan, Start: &start, End: &end,
			DurationMS: 1500, Bytes: 10, Error: ""}}}
	os.MkdirAll(filepath.Join(dir, "r1"), 0o755)
	if err := writeJSONAtomic(filepath.Join(dir, "r1", "manifest.json"), m); err != nil {
		t.Fatal(err)
	}
	os.Symlink("r1", filepath.Join(dir, "latest"))
	got, err := ReadManifest(dir, "latest")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip:\n%+v\nwant\n%+v", got, m)
	}
	if ids, _ := ListRuns(dir); !reflect.DeepEqual(ids, []string{"r1"}) {
		t.Fatalf("ListRuns = %v", ids)
	}
	if _, err := ReadManifest(dir, "../etc"); err == nil {
		t.Fatal("a run id with a path was accepted")
	}
}

// readOnlyStore is a store that says it is read-only (as dirstore does on
// a read-only file system) but would still accept writes: so a stage that
// runs anyway is caught by the recorder, not by the store.
type readOnlyStore struct{ storage.Store }

func (s readOnlyStore) Writable() error {
	return fmt.Errorf("store %s is %w (test): remount it read-write, or pass --store with a writable directory", s.Store, storage.ErrReadOnly)
}

// TestExecuteReadOnlyStore: on a read-only store a fully cached run
// succeeds; a run that would build (a changed param, --force) fails before
// any stage runs, naming the store, what would have run and what to do.
func TestExecuteReadOnlyStore(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, filepath.Join(dir, "store"))
	plan := loadTestPlan(t, testRegistry(&recorder{}), "testdata/plan/quickstart.yaml", nil)
	if _, err := Execute(context.Background(), plan, RunOptions{Store: st}); err != nil {
		t.Fatal(err)
	}
	ro := readOnlyStore{st}

	rec := &recorder{}
	plan = loadTestPlan(t, testRegistry(rec), "testdata/plan/quickstart.yaml", nil)
	res, err := Execute(context.Background(), plan, RunOptions{Store: ro, RunsDir: filepath.Join(dir, "runs")})
	if err != nil {
		t.Fatalf("fully cached run on a read-only store: %v", err)
	}
	if res.Summary.Cached != len(plan.Instances) || len(rec.names()) != 0 {
		t.Fatalf("cached run on a read-only store: %+v, ran %v", res.Summary, rec.names())
	}
	if b, err := os.ReadFile(filepath.Join(res.RunDir, "report", "out.txt")); err != nil || !strings.HasPrefix(string(b), "report ") {
		t.Fatalf("report artifact via run link: %q, %v", b, err)
	}

	for _, tc := range []struct {
		name  string
		set   map[string]string
		force []string
		want  string
	}{
		// size feeds model, and through train everything below it: 11 of
		// the 17 instances (model, 3 trains, 3 encodes, 3 evals, report).
		{"changed param", map[string]string{"size": "17"}, nil, "11 of 17 stage instances would have to run (model, train[strategy=cross], train[strategy=hybrid], …)"},
		{"force", nil, []string{"report"}, "1 of 17 stage instances would have to run (report)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			plan := loadTestPlan(t, testRegistry(rec), "testdata/plan/quickstart.yaml", tc.set)
			var done int
			res, err := Execute(context.Background(), plan, RunOptions{Store: ro, Force: tc.force,
				OnDone: func(InstanceResult) { done++ }})
			if err == nil {
				t.Fatalf("a run that must build succeeded on a read-only store: %+v", res.Summary)
			}
			if !errors.Is(err, storage.ErrReadOnly) {
				t.Errorf("error does not wrap ErrReadOnly: %v", err)
			}
			for _, w := range []string{tc.want, st.Root(), "read-only", "remount", "--store"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if len(rec.names()) != 0 || done != 0 {
				t.Errorf("stages ran before the refusal: %v (%d done)", rec.names(), done)
			}
		})
	}
}
