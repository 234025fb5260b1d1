package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
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

func TestEndToEnd(t *testing.T) {
	if os.Getenv("LAIR_CLUSTER_E2E") != "1" {
		t.Skip("set LAIR_CLUSTER_E2E=1 to run (minutes)")
	}
	ctx := context.Background()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dag := os.Getenv("LAIR_CLUSTER_E2E_DAG")
	if dag == "" {
		dag = "dags/bm25-baseline.yaml"
	}
	var sets []string // --set NAME=VALUE for export and the local run
	for _, kv := range strings.Split(os.Getenv("LAIR_CLUSTER_E2E_SET"), ",") {
		if kv != "" {
			sets = append(sets, "--set", kv)
		}
	}
	mirror := os.Getenv("LAIR_MIRROR")
	if mirror == "" {
		mirror = filepath.Join(root, "..", "shared", "data", "raw")
	}
	if _, err := os.Stat(mirror); err != nil {
		t.Skipf("no dataset mirror: %v", err)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "lair")
	build := exec.Command("go", "build", "-o", bin, "./cmd/lair")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	srv, err := s3fake.Start("lair")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const storeURL = "s3://lair/e2e"
	baseEnv := append(os.Environ(), "LAIR_MIRROR="+mirror, "LAIR_STORE=", "GOMLX_BACKEND=go:parallelism=16", "LAIR_ORT_LIB="+ortLib(t))
	lair := func(dir string, env []string, args ...string) ([]byte, error) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			err = fmt.Errorf("lair %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out, err
	}

	// Export with the real CLI, from the repository root (as /opt/lair).
	manifest := filepath.Join(tmp, "wf.yaml")
	if _, err := lair(root, baseEnv, append([]string{"export", "argo", dag, "--store", storeURL, "-o", manifest}, sets...)...); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(manifest)
	wf, err := argo.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := localrun.Steps(wf, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, task := range wf.Spec.Templates[0].DAG.Tasks {
		var inst, key string
		for _, p := range task.Arguments.Parameters {
			switch p.Name {
			case "instance":
				inst = *p.Value
			case "key":
				key = *p.Value
			}
		}
		keys[inst] = key
	}

	runWF := func(label string) []localrun.Result {
		stepCache := filepath.Join(tmp, "cache-"+label) // each run its own "pods'" download cache
		env := append(append(append([]string{}, baseEnv...), srv.Env()...), "LAIR_CACHE="+stepCache)
		t0 := time.Now()
		res, err := localrun.Run(ctx, steps, 2, func(ctx context.Context, s localrun.Step) *exec.Cmd {
			cmd := exec.CommandContext(ctx, bin, s.Argv[1:]...)
			cmd.Dir = root
			cmd.Env = env
			return cmd
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("workflow %s: %d steps as processes, 2 at a time: %s", label, len(res), time.Since(t0).Round(time.Millisecond))
		for _, r := range res {
			t.Logf("  %-28s %6s  %s", r.Step.Task, r.Duration.Round(time.Millisecond), strings.TrimSpace(r.Stdout))
		}
		return res
	}
	for _, r := range runWF("first") {
		if !strings.Contains(r.Stdout, " ran:") {
			t.Errorf("first run of %s: %q", r.Step.Instance, r.Stdout)
		}
	}
	for _, r := range runWF("second") {
		if want := r.Step.Instance + " " + keys[r.Step.Instance] + " cached"; strings.TrimSpace(r.Stdout) != want {
			t.Errorf("second run of %s: %q, want %q", r.Step.Instance, r.Stdout, want)
		}
	}

	// A local run of the same DAG (copied, so that its run records stay
	// out of the repository).
	work := filepath.Join(tmp, "local")
	os.MkdirAll(filepath.Join(work, "dags"), 0o755)
	src, _ := os.ReadFile(filepath.Join(root, dag))
	os.WriteFile(filepath.Join(work, dag), src, 0o644)
	localStore := filepath.Join(tmp, "localstore")
	localEnv := append(append([]string{}, baseEnv...), "LAIR_CACHE="+filepath.Join(tmp, "cache-local"))
	for _, label := range []string{"cold", "cached"} {
		t0 := time.Now()
		if _, err := lair(work, localEnv, append([]string{"run", dag, "--store", localStore, "--jobs", "2", "--quiet"}, sets...)...); err != nil {
			t.Fatal(err)
		}
		t.Logf("lair run, local store, %s: %s", label, time.Since(t0).Round(time.Millisecond))
	}

	// Every artifact of the workflow equals the local run's.
	cfg, _ := s3store.FromEnv(storeURL, srv.Getenv())
	s3, err := s3store.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var insts []string
	for inst := range keys {
		insts = append(insts, inst)
	}
	sort.Strings(insts)
	for _, inst := range insts {
		key := keys[inst]
		got := filepath.Join(tmp, "fetched", key)
		if _, err := s3.Fetch(ctx, key, got); err != nil {
			t.Fatalf("%s: %v", inst, err)
		}
		exact, approx := compareTrees(t, bin, got, filepath.Join(localStore, "objects", key))
		if exact != "" {
			t.Errorf("%s (%s): S3 artifact differs from the local run's: %s", inst, key, exact)
		}
		if approx != "" {
			// eval's float sums are not bit-reproducible from run to run
			// (two local runs differ the same way); tell, do not fail.
			t.Logf("%s: equal only up to float rounding (relative 1e-9): %s", inst, approx)
		}
	}

	// Cached runs through the executor (what `lair run --store s3://...`
	// does once wired): a fresh machine, then a warm one.
	reg := pipeline.NewRegistry()
	stages.Register(reg)
	set := map[string]string{}
	for i := 1; i < len(sets); i += 2 {
		k, v, _ := strings.Cut(sets[i], "=")
		set[k] = v
	}
	plan, err := pipeline.LoadFile(filepath.Join(root, dag), reg, pipeline.LoadOptions{Set: set})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := remote.New(s3, filepath.Join(tmp, "remote-cache"))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for _, label := range []string{"fresh machine", "warm cache"} {
		t0 := time.Now()
		res, err := pipeline.Execute(ctx, plan, pipeline.RunOptions{Store: rs, Jobs: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Results {
			if r.Status != pipeline.StatusCached {
				t.Errorf("%s: %s, want cached", r.Instance.Name, r.Status)
			}
		}
		t.Logf("pipeline.Execute, S3 store, all cached, %s: %s", label, time.Since(t0).Round(time.Millisecond))
	}
	objs, _ := srv.Objects("lair")
	var total int64
	for _, o := range objs {
		if obj, err := srv.Backend.HeadObject("lair", o); err == nil {
			total += obj.Size
		}
	}
	t.Logf("store: %d objects, %d bytes", len(objs), total)
}

// compareTrees compares two artifact directories. exact lists real
// differences; approx lists files that differ in bytes but are equal once
// every number is compared with a relative tolerance of 1e-9 (Parquet files
// through `lair show --format jsonl`).
func compareTrees(t *testing.T, bin, a, b string) (exact, approx string) {
	t.Helper()
	ta, tb := readTree(t, a), readTree(t, b)
	var diffs, near []string
	for p, x := range ta {
		y, ok := tb[p]
		switch {
		case !ok:
			diffs = append(diffs, p+" only in S3")
		case bytes.Equal(x, y):
		default:
			tx, ty := string(x), string(y)
			if strings.HasSuffix(p, ".parquet") {
				tx, ty = showJSONL(t, bin, filepath.Join(a, p)), showJSONL(t, bin, filepath.Join(b, p))
			}
			if why := nearlyEqual(tx, ty, 1e-9); why == "" {
				near = append(near, p)
			} else {
				diffs = append(diffs, fmt.Sprintf("%s differs (%d vs %d bytes): %s", p, len(x), len(y), why))
			}
		}
	}
	for p := range tb {
		if _, ok := ta[p]; !ok {
			diffs = append(diffs, p+" only local")
		}
	}
	sort.Strings(diffs)
	sort.Strings(near)
	return strings.Join(diffs, "; "), strings.Join(near, ", ")
}

func showJSONL(t *testing.T, bin, path string) string {
	t.Helper()
	out, err := exec.Command(bin, "show", path, "--format", "jsonl").Output()
	if err != nil {
		t.Fatalf("lair show %s: %v", path, err)
	}
	return string(out)
}

var numRE = regexp.MustCompile(`-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?`)

// nearlyEqual returns "" when a and b are the same text apart from numbers
// within relative tolerance tol, else the first difference.
func nearlyEqual(a, b string, tol float64) string {
	na, nb := numRE.FindAllString(a, -1), numRE.FindAllString(b, -1)
	if numRE.ReplaceAllString(a, "#") != numRE.ReplaceAllString(b, "#") || len(na) != len(nb) {
		return "text other than numbers differs"
	}
	for i := range na {
		if na[i] == nb[i] {
			continue
		}
		x, err1 := strconv.ParseFloat(na[i], 64)
		y, err2 := strconv.ParseFloat(nb[i], 64)
		if err1 != nil || err2 != nil || math.Abs(x-y) > tol*math.Max(math.Abs(x), math.Abs(y)) {
			return fmt.Sprintf("number %s vs %s", na[i], nb[i])
		}
	}
	return ""
}

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNearlyEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		ok   bool
	}{
		{`{"v":0.437427774133267}`, `{"v":0.43742777413326711}`, true},
		{`{"v":0.4374}`, `{"v":0.4375}`, false},
		{`{"v":1,"w":"x"}`, `{"v":1,"w":"y"}`, false},
		{`a 1 2`, `a 1`, false},
	} {
		if got := nearlyEqual(tc.a, tc.b, 1e-9) == ""; got != tc.ok {
			t.Errorf("nearlyEqual(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.ok)
		}
	}
}

// ortLib returns the ONNX Runtime library the steps use: $LAIR_ORT_LIB, or
// where `make ort` puts it (the tests move LAIR_CACHE, which would move
// lair's default too).
func ortLib(t *testing.T) string {
	if p := os.Getenv("LAIR_ORT_LIB"); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(home, ".cache", "lair", "onnxruntime", "1.30.0", "libonnxruntime.so.1")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no ONNX Runtime library (run make ort or set LAIR_ORT_LIB): %v", err)
	}
	return p
}
