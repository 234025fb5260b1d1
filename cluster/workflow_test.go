package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lair-ir/lair/cluster/argo"
	"github.com/lair-ir/lair/cluster/argo/localrun"
	"github.com/lair-ir/lair/cluster/clustertest"
	"github.com/lair-ir/lair/internal/cli"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/storage"
	"github.com/lair-ir/lair/storage/dirstore"
	"github.com/lair-ir/lair/storage/s3store"
	"github.com/lair-ir/lair/storage/s3store/s3fake"
)

// helperEnv makes the test binary act as the `lair` command of a step
// container: `lair stage run ...` with the test stage types.
const helperEnv = "LAIR_CLUSTER_TEST_AS_LAIR"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		args := os.Args[1:]
		if len(args) < 2 || args[0] != "stage" || args[1] != "run" {
			fmt.Fprintf(os.Stderr, "helper: want `stage run ...`, got %q\n", args)
			os.Exit(2)
		}
		os.Exit(cli.Run(context.Background(), os.Stdout, os.Stderr, args, clustertest.Registry()))
	}
	os.Exit(m.Run())
}

const dagDir = "clustertest" // steps run here, as the image runs in /opt/lair

func loadSweep(t *testing.T, set map[string]string) *pipeline.Plan {
	t.Helper()
	plan, err := pipeline.LoadFile(clustertest.SweepDAG(dagDir), clustertest.Registry(), pipeline.LoadOptions{Set: set})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func exportSweep(t *testing.T, plan *pipeline.Plan, store string, set map[string]string) *argo.Workflow {
	t.Helper()
	var buf bytes.Buffer
	if err := argo.Export(&buf, plan, argo.Options{Store: store, DAGPath: "testdata/sweep.yaml", Set: set}); err != nil {
		t.Fatal(err)
	}
	wf, err := argo.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

func steps(t *testing.T, wf *argo.Workflow) []localrun.Step {
	t.Helper()
	st, err := localrun.Steps(wf, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// stepCmd makes the process of one step: the test binary as `lair`.
func stepCmd(ctx context.Context, s localrun.Step, env []string) *exec.Cmd {
	if s.Argv[0] != "lair" {
		panic("step does not run lair: " + s.Argv[0])
	}
	cmd := exec.CommandContext(ctx, os.Args[0], s.Argv[1:]...)
	cmd.Dir = dagDir
	cmd.Env = append(append(os.Environ(), helperEnv+"=1", "LAIR_STORE="), env...)
	return cmd
}

// runWorkflow runs every step as its own process, in dependency order, at
// most two at a time, and returns each instance's output line.
func runWorkflow(t *testing.T, wf *argo.Workflow, env []string) map[string]string {
	t.Helper()
	res, err := localrun.Run(context.Background(), steps(t, wf), 2, func(ctx context.Context, s localrun.Step) *exec.Cmd {
		return stepCmd(ctx, s, env)
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range res {
		out[r.Step.Instance] = strings.TrimSpace(r.Stdout)
	}
	return out
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func startS3(t *testing.T) *s3fake.Server {
	t.Helper()
	srv, err := s3fake.Start("lair")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func s3Store(t *testing.T, srv *s3fake.Server, url string) *s3store.Store {
	t.Helper()
	cfg, err := s3store.FromEnv(url, srv.Getenv())
	if err != nil {
		t.Fatal(err)
	}
	st, err := s3store.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// fetch downloads the published artifact key into dst.
func fetch(ctx context.Context, st *s3store.Store, key, dst string) error {
	m, err := st.Manifest(ctx, key)
	if err != nil {
		return err
	}
	return st.Fetch(ctx, m, dst)
}

// TestArgoWorkflowOnS3 runs the exported manifest of the sweep DAG step by
// step as separate `lair stage run` processes against an S3 server, and
// compares every artifact with a local run.
func TestArgoWorkflowOnS3(t *testing.T) {
	ctx := context.Background()
	srv := startS3(t)
	const storeURL = "s3://lair/sweep"
	plan := loadSweep(t, nil)
	wf := exportSweep(t, plan, storeURL, nil)

	first := runWorkflow(t, wf, srv.Env())
	for _, in := range plan.Instances {
		if line := first[in.Name]; !strings.HasPrefix(line, in.Name+" "+in.Key+" ran:") {
			t.Errorf("first run of %s printed %q, want it to run", in.Name, line)
		}
	}

	// The local executor on a local store makes the same artifacts.
	local, err := dirstore.Open(ctx, t.TempDir(), dirstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	if _, err := pipeline.Execute(ctx, plan, pipeline.RunOptions{Store: local, Jobs: 2}); err != nil {
		t.Fatal(err)
	}
	st := s3Store(t, srv, storeURL)
	for _, in := range plan.Instances {
		want, err := local.Path(ctx, in.Key)
		if err != nil {
			t.Fatal(err)
		}
		got := filepath.Join(t.TempDir(), "a")
		if err := fetch(ctx, st, in.Key, got); err != nil {
			t.Fatalf("%s: %v", in.Name, err)
		}
		g, w := readTree(t, got), readTree(t, want)
		if fmt.Sprint(g) != fmt.Sprint(w) {
			t.Errorf("%s: S3 artifact %v\nlocal artifact %v", in.Name, g, w)
		}
	}
	sum, _ := plan.Instance("sum")
	dir, _ := local.Path(ctx, sum.Key)
	if b, _ := os.ReadFile(filepath.Join(dir, "sum.txt")); strings.Count(string(b), "model of square[seed=") != 3 {
		t.Errorf("sum.txt does not list three models:\n%s", b)
	}

	// A second run of the whole workflow hits the cache in every step.
	second := runWorkflow(t, wf, srv.Env())
	for _, in := range plan.Instances {
		if want := in.Name + " " + in.Key + " cached"; second[in.Name] != want {
			t.Errorf("second run of %s printed %q, want %q", in.Name, second[in.Name], want)
		}
	}
}

// TestKillMidUpload kills a step while it uploads its output and checks
// that nothing of it is visible, and that the retried step then publishes.
func TestKillMidUpload(t *testing.T) {
	ctx := context.Background()
	srv := startS3(t)
	const storeURL = "s3://lair/kill"
	set := map[string]string{"bytes": "3000000"}
	plan := loadSweep(t, set)
	wf := exportSweep(t, plan, storeURL, set)
	var gen localrun.Step
	for _, s := range steps(t, wf) {
		if s.Instance == "gen[seed=1]" {
			gen = s
		}
	}
	in, _ := plan.Instance("gen[seed=1]")

	// Hold the upload of blob.bin; kill the step while it is held.
	held := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	srv.BeforePut = func(object string) {
		if strings.Contains(object, in.Key+"/files-") && strings.HasSuffix(object, "/blob.bin") {
			once.Do(func() { close(held) })
			<-release
		}
	}
	cmd := stepCmd(ctx, gen, srv.Env())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case <-held:
	case err := <-waitErr:
		t.Fatalf("step ended before uploading blob.bin: %v\n%s", err, stderr.String())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-waitErr
	close(release)
	srv.BeforePut = nil

	st := s3Store(t, srv, storeURL)
	if ok, err := storage.Has(ctx, st, in.Key); err != nil || ok {
		t.Fatalf("after the kill, Has = %v, %v; want false", ok, err)
	}
	if err := fetch(ctx, st, in.Key, filepath.Join(t.TempDir(), "x")); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("after the kill, Fetch: %v; want ErrNotFound", err)
	}
	objs, _ := srv.Objects("lair")
	for _, o := range objs {
		if strings.HasSuffix(o, "_COMPLETE") {
			t.Errorf("marker %s exists after the kill", o)
		}
	}
	// A downstream step refuses to run without its input.
	var square localrun.Step
	for _, s := range steps(t, wf) {
		if s.Instance == "square[seed=1]" {
			square = s
		}
	}
	out, err := stepCmd(ctx, square, srv.Env()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "is not in store") {
		t.Errorf("downstream step after the kill: %v\n%s", err, out)
	}

	// Argo's retry: the same step runs again and publishes.
	out, err = stepCmd(ctx, gen, srv.Env()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), " ran:") {
		t.Fatalf("retried step: %v\n%s", err, out)
	}
	dst := filepath.Join(t.TempDir(), "a")
	if err := fetch(ctx, st, in.Key, dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "blob.bin")); !bytes.Equal(b, clustertest.Blob(1, 3000000)) {
		t.Errorf("blob.bin after retry differs (%d bytes)", len(b))
	}
}

// TestBadStoreFailsBeforeRunning checks that a step with a wrong store
// setting fails with one clear error and runs nothing.
func TestBadStoreFailsBeforeRunning(t *testing.T) {
	srv := startS3(t)
	plan := loadSweep(t, nil)
	for _, tc := range []struct {
		name, store string
		env         []string
		want        string
	}{
		{"missing bucket", "s3://nosuch/p", nil, `bucket "nosuch" does not exist`},
		{"wrong credentials", "s3://lair/p", []string{"AWS_SECRET_ACCESS_KEY=x", "AWS_ACCESS_KEY_ID=nobody"}, "credentials rejected"},
		{"unreachable", "s3://lair/p", []string{"AWS_ENDPOINT_URL=http://127.0.0.1:1"}, "cannot reach S3 endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wf := exportSweep(t, plan, tc.store, nil)
			s := steps(t, wf)[0]
			out, err := stepCmd(context.Background(), s, append(srv.Env(), tc.env...)).CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("step: %v\n%s\nwant an error with %q", err, out, tc.want)
			}
			if n := strings.Count(strings.TrimSpace(string(out)), "\n"); n != 0 {
				t.Errorf("want one line of error, got %d lines:\n%s", n+1, out)
			}
			objs, _ := srv.Objects("lair")
			if len(objs) != 0 {
				t.Errorf("objects written: %v", objs)
			}
		})
	}
}

// TestStaleKeyRefused checks that a step refuses to run when the key it
// plans differs from the exported one (image and export out of step).
func TestStaleKeyRefused(t *testing.T) {
	srv := startS3(t)
	plan := loadSweep(t, nil)
	wf := exportSweep(t, plan, "s3://lair/p", nil)
	s := steps(t, wf)[0]
	s.Argv = append(s.Argv, "--set", "n=51") // the image's DAG differs from the export's
	out, err := stepCmd(context.Background(), s, srv.Env()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "exported with") {
		t.Fatalf("step with another plan: %v\n%s", err, out)
	}
}
