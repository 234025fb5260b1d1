package faulttest

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lair-ir/lair/internal/s3server"
)

// genDAG is n independent model/generate instances of about 2 MB each
// (static embeddings, hidden 16), each a few hundred milliseconds.
func genDAG(n int) string {
	seeds := make([]string, n)
	for i := range seeds {
		seeds[i] = fmt.Sprint(i + 1)
	}
	return `name: gen
params:
  seeds: [` + strings.Join(seeds, ", ") + `]
stages:
  m:
    uses: model/generate
    with: {arch: static, hidden: 16}
    matrix: {seed: "${params.seeds}"}
`
}

// reference runs dag on a fresh store and returns every instance's files
// (path -> sha256): what a run that no fault touched produces.
func reference(t testing.TB, dag string) map[string]map[string]string {
	t.Helper()
	m := newMachine(t, "reference")
	m.write("dag.yaml", dag)
	r := m.mustLair("run", "dag.yaml")
	out := map[string]map[string]string{}
	for inst := range stageLines(r.stdout) {
		out[inst] = readTree(t, filepath.Join(m.dir, ".lair", "runs", "latest", inst))
	}
	return out
}

// sameAsReference checks that the last run of m has every instance of ref
// with the reference's bytes: nothing half-written was taken for finished.
func sameAsReference(t testing.TB, m *machine, ref map[string]map[string]string) {
	t.Helper()
	for inst, want := range ref {
		got := readTree(t, filepath.Join(m.dir, ".lair", "runs", "latest", inst))
		if !equalTrees(got, want) {
			t.Errorf("%s: %d files differ from the reference run's %d", inst, len(got), len(want))
		}
	}
}

// checkStore checks a local store with lair's own `lair verify` when this
// lair has it, and re-hashes every manifest-carrying artifact itself.
func checkStore(t testing.TB, m *machine, store string) {
	t.Helper()
	checkPublished(t, store)
	if hasVerify(t) {
		if r := m.lair("verify", "--store", store); r.code != 0 {
			t.Errorf("lair verify --store %s: %s", store, r)
		}
	}
}

// mountTmpfs mounts a tmpfs of size bytes on a new directory, or skips
// the test when this process may not mount.
func mountTmpfs(t testing.TB, size int64) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

func remount(t testing.TB, dir, opts string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+opts, dir).CombinedOutput(); err != nil {
		t.Fatalf("mount -o remount,%s %s: %v %s", opts, dir, err, out)
	}
}

// TestDiskFull: a store on a 5 MB filesystem fills up after two of six
// 2 MB artifacts. The failing instance says where and what to do; nothing
// it half wrote is published; once there is room, the next run keeps the
// finished instances (cached) and builds the rest, all equal to a run no
// fault touched.
func TestDiskFull(t *testing.T) {
	dag := genDAG(6)
	ref := reference(t, dag)
	store := mountTmpfs(t, 5<<20)
	m := newMachine(t, "m")
	m.write("dag.yaml", dag)
	r := m.lair("run", "dag.yaml", "--store", store, "--jobs", "1")
	if r.code == 0 {
		t.Fatalf("a run of 12 MB into 5 MB succeeded:\n%s", r)
	}
	st := stageLines(r.stdout)
	var failed, ran int
	for _, s := range st {
		switch s {
		case "failed":
			failed++
		case "ran":
			ran++
		}
	}
	if failed == 0 || ran == 0 {
		t.Errorf("want some instances done and at least one failed: %v\n%s", st, r)
	}
	msg := r.stdout + r.stderr
	for _, w := range []string{store, "no space left"} {
		if !strings.Contains(strings.ToLower(msg), strings.ToLower(w)) {
			t.Errorf("the error does not say %q:\n%s", w, r)
		}
	}
	if !strings.Contains(strings.ToLower(msg), "free space") {
		t.Errorf("a full disk is reported without saying what to do (free space, or another --store):\n%s", r)
	}
	checkStore(t, m, store)

	remount(t, store, "size=64m")
	r2 := m.mustLair("run", "dag.yaml", "--store", store, "--jobs", "1")
	st2 := stageLines(r2.stdout)
	for inst, s := range st {
		if s == "ran" && st2[inst] != "cached" {
			t.Errorf("%s finished before the disk filled but is %s now", inst, st2[inst])
		}
	}
	sameAsReference(t, m, ref)
	checkStore(t, m, store)
	t.Logf("disk full: %d ran, %d failed; error: %s", ran, failed, lastLines(r.stderr, 2))
}

// TestReadOnlyStore: a store mounted read-only serves a fully cached run
// (every instance cached, the reference bytes, nothing written); a run
// that must build something fails with an error naming the store, saying
// it is read-only and what to do, before any stage runs, and leaves the
// store as it was.
func TestReadOnlyStore(t *testing.T) {
	dag := genDAG(3)
	ref := reference(t, dag)
	store := mountTmpfs(t, 64<<20)
	m := newMachine(t, "m")
	m.write("dag.yaml", dag)
	m.mustLair("run", "dag.yaml", "--store", store)
	remount(t, store, "ro")

	r := m.mustLair("run", "dag.yaml", "--store", store)
	wantStatuses(t, r, 3, "cached")
	sameAsReference(t, m, ref)
	t.Logf("cached run on a read-only store: %s", lastLines(r.stdout, 2))

	m.write("dag4.yaml", genDAG(4))
	r = m.lair("run", "dag4.yaml", "--store", store)
	if r.code == 0 {
		t.Fatalf("a run that builds into a read-only store succeeded:\n%s", r)
	}
	if !strings.Contains(r.stderr, store) || !strings.Contains(strings.ToLower(r.stderr), "read-only") {
		t.Errorf("the error does not name the store and say read-only:\n%s", r)
	}
	if len(stageLines(r.stdout)) != 0 {
		t.Errorf("stages ran against a read-only store:\n%s", r)
	}
	if !strings.Contains(r.stderr, "remount") || !strings.Contains(r.stderr, "--store") {
		t.Errorf("the read-only error does not say what to do (remount read-write or pass another --store):\n%s", r)
	}
	t.Logf("building into a read-only store: %s", lastLines(r.stderr, 2))
	remount(t, store, "rw")
	checkStore(t, m, store)
}

// TestGCDuringRun runs `lair gc` over and over while a run of 24
// instances builds into the same store. The run succeeds, a rerun finds
// every instance cached with the reference bytes, and gc after the run
// deletes nothing the run made.
func TestGCDuringRun(t *testing.T) {
	dag := genDAG(24)
	ref := reference(t, dag)
	m := newMachine(t, "m")
	m.write("dag.yaml", dag)
	// An older run whose artifacts nothing references once its record goes:
	// gc has something to delete while the new run builds.
	m.write("old.yaml", strings.Replace(genDAG(3), "hidden: 16", "hidden: 8", 1))
	m.mustLair("run", "old.yaml")
	os.RemoveAll(filepath.Join(m.dir, ".lair", "runs"))

	run := m.command("run", "dag.yaml", "--jobs", "1")
	var out strings.Builder
	run.Stdout, run.Stderr = &out, &out
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- run.Wait() }()
	var gcs int
	var gcWait time.Duration
	var gcOut []string
loop:
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run with gc beside it: %v\n%s", err, out.String())
			}
			break loop
		default:
		}
		r := m.lair("gc")
		gcs++
		if r.code != 0 {
			t.Errorf("lair gc during a run: %s", r)
		}
		gcWait = max(gcWait, r.took)
		gcOut = append(gcOut, lastLines(r.stdout+r.stderr, 2)) // the result, and the wait notice on stderr
	}
	t.Logf("%d gc runs during the run (longest %s): %v", gcs, gcWait.Round(time.Millisecond), gcOut)
	if gcWait > 2*time.Second && !strings.Contains(strings.Join(gcOut, " "), "wait") {
		softDefect(t, "lair gc waited %s for the running run's store lock without saying so", gcWait.Round(time.Millisecond))
	}
	r := m.mustLair("run", "dag.yaml")
	wantStatuses(t, r, 24, "cached")
	sameAsReference(t, m, ref)
	m.mustLair("gc")
	wantStatuses(t, m.mustLair("run", "dag.yaml"), 24, "cached")
	// The old run's artifacts, which no record referenced, were collected.
	wantStatuses(t, m.mustLair("run", "old.yaml"), 3, "ran")
	checkStore(t, m, filepath.Join(m.dir, ".lair", "store"))
}

// TestOverlappingDAGs runs two DAGs that share three instances (pairs and
// two tiny models) at the same time into one store, three rounds with
// fresh stores. Both succeed; each shared instance is built once (the
// other run waits and finds it cached, or finds it published); everything
// equals a run no other run touched.
func TestOverlappingDAGs(t *testing.T) {
	dagA := chainDAG
	dagB := strings.Replace(chainDAG, "name: chain", "name: other", 1)
	dagB = strings.Replace(dagB, "arch: static", "arch: static, layers: 1", 1) // different generators, same pairs and tiny models
	refA, refB := reference(t, dagA), reference(t, dagB)
	for round := 0; round < 3; round++ {
		m := newMachine(t, fmt.Sprintf("round%d", round))
		m.write("a/dag.yaml", dagA)
		m.write("b/dag.yaml", dagB)
		m.write("a/pairs.jsonl", pairsJSONL(40))
		m.write("b/pairs.jsonl", pairsJSONL(40))
		store := filepath.Join(m.dir, "store")
		var wg sync.WaitGroup
		res := make([]result, 2)
		for i, d := range []string{"a", "b"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sub := &machine{t: t, dir: filepath.Join(m.dir, d), env: m.env}
				res[i] = sub.lair("run", "dag.yaml", "--store", store, "--jobs", "2")
			}()
		}
		wg.Wait()
		for i, r := range res {
			if r.code != 0 {
				t.Fatalf("round %d, DAG %d: %s", round, i, r)
			}
		}
		sa, sb := stageLines(res[0].stdout), stageLines(res[1].stdout)
		for _, inst := range []string{"p", "t[seed=1]", "t[seed=2]"} {
			if n := btoi(sa[inst] == "ran") + btoi(sb[inst] == "ran"); n != 1 {
				t.Errorf("round %d: shared %s ran %d times (%s, %s), want once", round, inst, n, sa[inst], sb[inst])
			}
		}
		sameAsReference(t, &machine{t: t, dir: filepath.Join(m.dir, "a"), env: m.env}, refA)
		sameAsReference(t, &machine{t: t, dir: filepath.Join(m.dir, "b"), env: m.env}, refB)
		checkStore(t, m, store)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestKillLoop SIGKILLs runs at random points (while stages build,
// publish, or record) and checks after every kill that the store shows
// nothing half-written: the next complete run takes every instance it
// finds cached with the reference bytes. 4 kills in the normal test run;
// LAIR_FAULT_KILLS=N (bench/run.sh: 50) for the long loop.
func TestKillLoop(t *testing.T) {
	killLoop(t, nil, func(m *machine) string { return filepath.Join(m.dir, "store") }, nil)
}

// TestKillLoopS3 is TestKillLoop on the S3 store (versitygw): a larger
// share of every instance's time is its upload, so more kills land in
// publishing.
func TestKillLoopS3(t *testing.T) {
	srv := s3server.Start(t, s3server.Options{Buckets: []string{bucket}})
	round := 0
	killLoop(t, srv.Env(), func(*machine) string {
		round++
		return fmt.Sprintf("s3://%s/kill%d", bucket, round) // a fresh prefix each round
	}, func(t testing.TB, m *machine, store string) {
		checkPublished(t, filepath.Join(srv.Root, bucket, strings.TrimPrefix(store, "s3://"+bucket+"/")))
		s3Verify(t, m, store)
	})
}

func killLoop(t *testing.T, env []string, newStore func(*machine) string, check func(testing.TB, *machine, string)) {
	kills := 4
	if v := os.Getenv("LAIR_FAULT_KILLS"); v != "" {
		fmt.Sscan(v, &kills)
	}
	dag := genDAG(8)
	ref := reference(t, dag)
	m := newMachine(t, "m", env...)
	m.write("dag.yaml", dag)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	var cachedAfter []int
	t0 := time.Now()
	for k := 0; k < kills; {
		// Two kills on one fresh store (the second run resumes the first's
		// work), then a complete run that must agree with the reference.
		store := newStore(m)
		if !strings.HasPrefix(store, "s3://") {
			os.RemoveAll(store)
		}
		os.RemoveAll(filepath.Join(m.dir, "cache"))
		os.RemoveAll(filepath.Join(m.dir, ".lair"))
		for j := 0; j < 2 && k < kills; j++ {
			cmd := m.command("run", "dag.yaml", "--store", store, "--jobs", "2")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(rng.Intn(1500)) * time.Millisecond)
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
			k++
		}
		r := m.mustLair("run", "dag.yaml", "--store", store, "--jobs", "2")
		n := 0
		for _, s := range stageLines(r.stdout) {
			if s == "cached" {
				n++
			}
		}
		cachedAfter = append(cachedAfter, n)
		sameAsReference(t, m, ref)
		if check != nil {
			check(t, m, store)
		} else {
			checkStore(t, m, store)
		}
		if t.Failed() {
			t.Fatalf("after kill %d", k)
		}
	}
	t.Logf("%d kills in %s; instances found finished after each pair of kills (of 8): %v", kills, time.Since(t0).Round(time.Second), cachedAfter)
}
