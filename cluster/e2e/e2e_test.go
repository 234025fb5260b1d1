package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
	"github.com/lair-ir/lair/internal/s3server"
)

const (
	bucket   = "lair"
	storeURL = "s3://lair/e2e"
)

// smallDAG runs in seconds with lair's own stages and no data: training
// pairs from a file, two tiny models learned from them, two generated
// encoders.
const smallDAG = `name: small
params:
  seeds: [1, 2]
stages:
  p: {uses: pairs/file, with: {path: PAIRS, license: CC0-1.0}}
  t: {uses: model/tiny, needs: [p], with: {hidden: 16}, matrix: {seed: "${params.seeds}"}}
  m:
    uses: model/generate
    with: {arch: static, hidden: 16}
    matrix: {seed: "${params.seeds}"}
`

// TestEndToEnd exports a small DAG as an Argo manifest and runs it task by
// task as `lair stage run` processes against a real S3 server (versitygw),
// then checks it the same way as TestEndToEndDAG. Seconds; in make test.
func TestEndToEnd(t *testing.T) {
	work := t.TempDir()
	pairs := filepath.Join(work, "pairs.jsonl")
	var b strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, `{"pair_id":"p%d","group_id":"g%d","source":"e2e","q_lang":"en","q_text":"what is thing %d?","p_lang":"de","p_text":"das ist ding %d."}`+"\n", i, i/2, i, i)
	}
	if err := os.WriteFile(pairs, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	dag := filepath.Join(work, "dags", "small.yaml")
	os.MkdirAll(filepath.Dir(dag), 0o755)
	if err := os.WriteFile(dag, []byte(strings.Replace(smallDAG, "PAIRS", pairs, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	endToEnd(t, work, "dags/small.yaml", nil, nil)
}

// TestEndToEndDAG is TestEndToEnd on a real DAG of dags/ (minutes):
// LAIR_CLUSTER_E2E=1, see the package documentation.
func TestEndToEndDAG(t *testing.T) {
	if os.Getenv("LAIR_CLUSTER_E2E") != "1" {
		t.Skip("set LAIR_CLUSTER_E2E=1 to run (minutes)")
	}
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
	endToEnd(t, root, dag, sets, []string{"LAIR_MIRROR=" + mirror, "GOMLX_BACKEND=go:parallelism=16", "LAIR_ORT_LIB=" + ortLib(t)})
}

// buildLair builds ./cmd/lair into dir.
func buildLair(t *testing.T, dir string) string {
	t.Helper()
	root, _ := filepath.Abs("../..")
	bin := filepath.Join(dir, "lair")
	build := exec.Command("go", "build", "-o", bin, "./cmd/lair")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// cleanEnv is the environment without AWS settings, the store and the caches.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || k == "LAIR_STORE" || k == "LAIR_CACHE" || k == "XDG_CACHE_HOME" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// endToEnd exports dag (relative to dir) with `lair export argo`, runs
// every task as its own `lair stage run` process (2 at a time, each step
// with its own download cache, as pods have) against a versitygw S3 server,
// twice (first every step runs, then every step is cached), runs the same
// DAG with `lair run` on a local store and checks that every artifact in
// the bucket (read from the server's POSIX directory, re-hashed against
// its manifest) equals the local run's; then `lair run --store s3://` on a
// fresh machine finds every instance cached.
func endToEnd(t *testing.T, dir, dag string, sets, env []string) {
	ctx := context.Background()
	tmp := t.TempDir()
	bin := buildLair(t, tmp)
	srv := s3server.Start(t, s3server.Options{Buckets: []string{bucket}})
	baseEnv := cleanEnv(env...)
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

	manifest := filepath.Join(tmp, "wf.yaml")
	if _, err := lair(dir, baseEnv, append([]string{"export", "argo", dag, "--store", storeURL, "-o", manifest}, sets...)...); err != nil {
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
	if len(keys) == 0 || len(steps) != len(keys) {
		t.Fatalf("%d steps, %d keyed tasks", len(steps), len(keys))
	}

	runWF := func(label string) []localrun.Result {
		env := append(append(append([]string{}, baseEnv...), srv.Env()...), "LAIR_CACHE="+filepath.Join(tmp, "cache-"+label), "XDG_CACHE_HOME="+filepath.Join(tmp, "xdg-"+label))
		t0 := time.Now()
		res, err := localrun.Run(ctx, steps, 2, func(ctx context.Context, s localrun.Step) *exec.Cmd {
			cmd := exec.CommandContext(ctx, bin, s.Argv[1:]...)
			cmd.Dir = dir
			cmd.Env = env
			return cmd
		})
		if err != nil {
			for _, r := range res {
				t.Logf("%s: %v\n%s%s", r.Step.Task, r.Err, r.Stdout, r.Stderr)
			}
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
	// out of dir).
	work := filepath.Join(tmp, "local")
	os.MkdirAll(filepath.Join(work, filepath.Dir(dag)), 0o755)
	src, _ := os.ReadFile(filepath.Join(dir, dag))
	os.WriteFile(filepath.Join(work, dag), src, 0o644)
	localEnv := append(append([]string{}, baseEnv...), "LAIR_CACHE="+filepath.Join(tmp, "cache-local"), "XDG_CACHE_HOME="+filepath.Join(tmp, "xdg-local"))
	for _, label := range []string{"cold", "cached"} {
		t0 := time.Now()
		if _, err := lair(work, localEnv, append([]string{"run", dag, "--store", filepath.Join(tmp, "localstore"), "--jobs", "2", "--quiet"}, sets...)...); err != nil {
			t.Fatal(err)
		}
		t.Logf("lair run, local store, %s: %s", label, time.Since(t0).Round(time.Millisecond))
	}

	// Every artifact of the workflow equals the local run's.
	var insts []string
	for inst := range keys {
		insts = append(insts, inst)
	}
	sort.Strings(insts)
	for _, inst := range insts {
		key := keys[inst]
		got := s3Artifact(t, filepath.Join(srv.Root, bucket, "e2e"), key)
		local, err := filepath.EvalSymlinks(filepath.Join(work, filepath.Dir(dag), ".lair", "runs", "latest", inst))
		if err != nil {
			t.Fatalf("%s: the local run has no link: %v", inst, err)
		}
		exact, approx := compareTrees(t, bin, got, local)
		if exact != "" {
			t.Errorf("%s (%s): S3 artifact differs from the local run's: %s", inst, key, exact)
		}
		if approx != "" {
			// eval's float sums are not bit-reproducible from run to run
			// (two local runs differ the same way); tell, do not fail.
			t.Logf("%s: equal only up to float rounding (relative 1e-9): %s", inst, approx)
		}
	}

	// `lair run` on the S3 store: a fresh machine, then warm.
	fresh := filepath.Join(tmp, "fresh")
	os.MkdirAll(filepath.Join(fresh, filepath.Dir(dag)), 0o755)
	os.WriteFile(filepath.Join(fresh, dag), src, 0o644)
	freshEnv := append(append(append([]string{}, baseEnv...), srv.Env()...), "LAIR_CACHE="+filepath.Join(tmp, "cache-fresh"), "XDG_CACHE_HOME="+filepath.Join(tmp, "xdg-fresh"))
	for _, label := range []string{"fresh machine", "warm cache"} {
		t0 := time.Now()
		out, err := lair(fresh, freshEnv, append([]string{"run", dag, "--store", storeURL, "--jobs", "2"}, sets...)...)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%d stage instances: 0 ran, %d cached, 0 failed", len(keys), len(keys)); !strings.Contains(string(out), want) {
			t.Errorf("lair run --store %s, %s: want %q:\n%s", storeURL, label, want, out)
		}
		t.Logf("lair run, S3 store, all cached, %s: %s", label, time.Since(t0).Round(time.Millisecond))
	}
	objs, _ := srv.Objects(bucket, "")
	t.Logf("bucket: %d objects", len(objs))
}

// s3Artifact returns the directory holding the files of key in a bucket
// prefix as the server's POSIX backend keeps it (<prefix>/<key>/_COMPLETE
// and the files under the directory the manifest names, default "files"),
// after re-hashing every file against the manifest.
func s3Artifact(t *testing.T, prefixDir, key string) string {
	t.Helper()
	keyDir := filepath.Join(prefixDir, key)
	data, err := os.ReadFile(filepath.Join(keyDir, "_COMPLETE"))
	if err != nil {
		t.Fatalf("%s is not published in the bucket: %v", key, err)
	}
	var m struct {
		Key   string `json:"key"`
		Dir   string `json:"dir"`
		Files []struct {
			Path   string `json:"path"`
			Size   int64  `json:"size"`
			SHA256 string `json:"sha256"`
		} `json:"files"`
	}
	if err := json.Unmarshal(data, &m); err != nil || m.Key != key {
		t.Fatalf("marker of %s: key %q, %v", key, m.Key, err)
	}
	dir := filepath.Join(keyDir, m.Dir)
	if m.Dir == "" {
		dir = filepath.Join(keyDir, "files")
		if g, _ := filepath.Glob(filepath.Join(keyDir, "files-*")); len(g) == 1 {
			dir = g[0] // generations named, but not recorded in the manifest
		}
	}
	for _, f := range m.Files {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		if sum := sha256hex(b); int64(len(b)) != f.Size || sum != f.SHA256 {
			t.Errorf("%s: %s has %d bytes %s, manifest says %d %s", key, f.Path, len(b), sum, f.Size, f.SHA256)
		}
	}
	return dir
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
			diffs = append(diffs, p+" only in the first")
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
			diffs = append(diffs, p+" only in the second")
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

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
