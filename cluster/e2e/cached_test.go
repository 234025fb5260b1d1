package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lair-ir/lair/cluster/argo"
	"github.com/lair-ir/lair/cluster/argo/localrun"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/stages"
	"github.com/lair-ir/lair/storage/remote"
	"github.com/lair-ir/lair/storage/s3store"
	"github.com/lair-ir/lair/storage/s3store/s3fake"
)

// TestCachedRuns (LAIR_CLUSTER_E2E_CACHED=1) times fully cached runs of a
// DAG (default dags/quickstart.yaml) on the local store and on the S3
// store. It builds the artifacts once with a local `lair run`, uploads
// them to the S3 server, then times: `lair run` on the local store; the
// exported workflow with every step cached (one `lair stage run` process
// per task); the executor on the S3 store from a fresh machine and warm.
func TestCachedRuns(t *testing.T) {
	if os.Getenv("LAIR_CLUSTER_E2E_CACHED") != "1" {
		t.Skip("set LAIR_CLUSTER_E2E_CACHED=1 to run (one full DAG run)")
	}
	ctx := context.Background()
	root, _ := filepath.Abs("../..")
	dag := os.Getenv("LAIR_CLUSTER_E2E_DAG")
	if dag == "" {
		dag = "dags/quickstart.yaml"
	}
	var sets []string
	set := map[string]string{}
	for _, kv := range strings.Split(os.Getenv("LAIR_CLUSTER_E2E_SET"), ",") {
		if kv != "" {
			sets = append(sets, "--set", kv)
			k, v, _ := strings.Cut(kv, "=")
			set[k] = v
		}
	}
	mirror := os.Getenv("LAIR_MIRROR")
	if mirror == "" {
		mirror = filepath.Join(root, "..", "shared", "data", "raw")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "lair")
	build := exec.Command("go", "build", "-o", bin, "./cmd/lair")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	env := append(os.Environ(), "LAIR_MIRROR="+mirror, "LAIR_STORE=", "LAIR_CACHE="+filepath.Join(tmp, "cache"), "GOMLX_BACKEND=go:parallelism=16", "LAIR_ORT_LIB="+ortLib(t))
	run := func(dir string, env []string, args ...string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("lair %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	work := filepath.Join(tmp, "local")
	os.MkdirAll(filepath.Join(work, filepath.Dir(dag)), 0o755)
	src, err := os.ReadFile(filepath.Join(root, dag))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(work, dag), src, 0o644)
	localStore := filepath.Join(tmp, "localstore")
	t0 := time.Now()
	run(work, env, append([]string{"run", dag, "--store", localStore, "--jobs", "2", "--quiet"}, sets...)...)
	t.Logf("lair run %s %v, local store, cold: %s", dag, set, time.Since(t0).Round(time.Millisecond))
	for i := 0; i < 3; i++ {
		t0 = time.Now()
		run(work, env, append([]string{"run", dag, "--store", localStore, "--jobs", "2", "--quiet"}, sets...)...)
		t.Logf("lair run, local store, all cached: %s", time.Since(t0).Round(time.Millisecond))
	}

	srv, err := s3fake.Start("lair")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const storeURL = "s3://lair/cached"
	cfg, _ := s3store.FromEnv(storeURL, srv.Getenv())
	s3, err := s3store.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := os.ReadDir(filepath.Join(localStore, "objects"))
	t0 = time.Now()
	var total int64
	for _, k := range keys {
		m, err := s3.Publish(ctx, k.Name(), filepath.Join(localStore, "objects", k.Name()))
		if err != nil {
			t.Fatal(err)
		}
		total += m.Size()
	}
	t.Logf("uploaded %d artifacts (%d bytes) to S3 in %s", len(keys), total, time.Since(t0).Round(time.Millisecond))

	manifest := filepath.Join(tmp, "wf.yaml")
	run(root, env, append([]string{"export", "argo", dag, "--store", storeURL, "-o", manifest}, sets...)...)
	data, _ := os.ReadFile(manifest)
	wf, err := argo.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := localrun.Steps(wf, nil)
	if err != nil {
		t.Fatal(err)
	}
	stepEnv := append(append([]string{}, env...), srv.Env()...)
	for i := 0; i < 2; i++ {
		t0 = time.Now()
		res, err := localrun.Run(ctx, steps, 2, func(ctx context.Context, s localrun.Step) *exec.Cmd {
			cmd := exec.CommandContext(ctx, bin, s.Argv[1:]...)
			cmd.Dir = root
			cmd.Env = stepEnv
			return cmd
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if !strings.HasSuffix(strings.TrimSpace(r.Stdout), " cached") {
				t.Errorf("%s: %q, want cached", r.Step.Instance, r.Stdout)
			}
		}
		t.Logf("workflow, S3 store, all %d steps cached (one process each, 2 at a time): %s", len(res), time.Since(t0).Round(time.Millisecond))
	}

	reg := pipeline.NewRegistry()
	stages.Register(reg)
	plan, err := pipeline.LoadFile(filepath.Join(root, dag), reg, pipeline.LoadOptions{Set: set})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := remote.New(s3, filepath.Join(tmp, "remote-cache"))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for _, label := range []string{"fresh machine", "warm cache", "warm cache"} {
		t0 = time.Now()
		res, err := pipeline.Execute(ctx, plan, pipeline.RunOptions{Store: rs, Jobs: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Results {
			if r.Status != pipeline.StatusCached {
				t.Errorf("%s: %s, want cached", r.Instance.Name, r.Status)
			}
		}
		t.Logf("executor (lair run's), S3 store, all %d cached, %s: %s", len(res.Results), label, time.Since(t0).Round(time.Millisecond))
	}
}
