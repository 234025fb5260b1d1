package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lair-ir/lair/cluster/argo"
	"github.com/lair-ir/lair/cluster/argo/localrun"
	"github.com/lair-ir/lair/internal/s3server"
)

// TestCachedRuns (LAIR_CLUSTER_E2E_CACHED=1) times fully cached runs of a
// DAG (default dags/quickstart.yaml) on the local store and on the S3
// store (versitygw on 127.0.0.1). It builds the artifacts with a local
// `lair run` and with `lair run --store s3://...`, then times: `lair run`
// on the local store; the exported workflow with every step cached (one
// `lair stage run` process per task); `lair run` on the S3 store from a
// fresh machine and warm.
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

	// The S3 store, filled by one `lair run --store s3://...` (every
	// instance runs again there: the local store is not copied).
	srv := s3server.Start(t, s3server.Options{Buckets: []string{"lair"}})
	const storeURL = "s3://lair/cached"
	s3Env := append(append([]string{}, env...), srv.Env()...)
	t0 = time.Now()
	run(work, append(s3Env, "LAIR_CACHE="+filepath.Join(tmp, "cache-s3fill")), append([]string{"run", dag, "--store", storeURL, "--jobs", "2", "--quiet"}, sets...)...)
	t.Logf("lair run, S3 store, cold: %s", time.Since(t0).Round(time.Millisecond))

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
	for i := 0; i < 2; i++ {
		stepEnv := append(append([]string{}, s3Env...), "LAIR_CACHE="+filepath.Join(tmp, fmt.Sprintf("cache-wf%d", i)))
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
		t.Logf("workflow, S3 store, all %d steps cached (one process each, 2 at a time, fresh caches): %s", len(res), time.Since(t0).Round(time.Millisecond))
	}

	fresh := filepath.Join(tmp, "fresh")
	os.MkdirAll(filepath.Join(fresh, filepath.Dir(dag)), 0o755)
	os.WriteFile(filepath.Join(fresh, dag), src, 0o644)
	freshEnv := append(append([]string{}, s3Env...), "LAIR_CACHE="+filepath.Join(tmp, "cache-fresh"))
	for _, label := range []string{"fresh machine", "warm cache", "warm cache"} {
		t0 = time.Now()
		run(fresh, freshEnv, append([]string{"run", dag, "--store", storeURL, "--jobs", "2", "--quiet"}, sets...)...)
		t.Logf("lair run, S3 store, all cached, %s: %s", label, time.Since(t0).Round(time.Millisecond))
	}
}
