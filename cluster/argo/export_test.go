package argo_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/lair-ir/lair/cluster/argo"
	"github.com/lair-ir/lair/cluster/argo/argoschema"
	"github.com/lair-ir/lair/cluster/clustertest"
	"github.com/lair-ir/lair/pipeline"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// validate checks a YAML manifest against the Argo Workflow schema.
func validate(t *testing.T, manifest []byte) error {
	t.Helper()
	if _, err := argoschema.Workflow(); err != nil {
		t.Fatal(err)
	}
	return argoschema.ValidateYAML(manifest)
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./cluster/argo -update` to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the export (run `go test ./cluster/argo -update` if the change is intended); %s", path, firstDiff(got, want))
	}
}

func exportSweep(t *testing.T, set map[string]string, opts argo.Options) ([]byte, *pipeline.Plan) {
	t.Helper()
	plan, err := pipeline.LoadFile(clustertest.SweepDAG("../clustertest"), clustertest.Registry(), pipeline.LoadOptions{Set: set})
	if err != nil {
		t.Fatal(err)
	}
	opts.DAGPath = "testdata/sweep.yaml"
	opts.Set = set
	var buf bytes.Buffer
	if err := argo.Export(&buf, plan, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), plan
}

func TestExportSweepGolden(t *testing.T) {
	cases := []struct {
		name string
		set  map[string]string
		opts argo.Options
	}{
		{"sweep", nil, argo.Options{Store: "s3://lair-artifacts/sweep", Image: "registry.example/lair:v1"}},
		{"sweep-options", map[string]string{"n": "7"}, argo.Options{
			Store: "s3://b/p", GPUStages: []string{"square"}, Retries: -1, Parallelism: 2, GPUImage: "lair-cuda:v1",
			Namespace: "ml", Secret: "my-s3", GPUNodeSelector: map[string]string{"gpu": "a100"}, CPU: "4", Memory: "8Gi",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := exportSweep(t, tc.set, tc.opts)
			if err := validate(t, got); err != nil {
				t.Fatalf("manifest does not validate against the Argo schema: %v\n%s", err, got)
			}
			// Keys follow pipeline.KeyOf; TestExportStructure checks them
			// against the plan, the golden file the rest.
			checkGolden(t, tc.name, normalizeKeys(got))
		})
	}
}

func TestExportStructure(t *testing.T) {
	got, plan := exportSweep(t, nil, argo.Options{Store: "s3://b/p"})
	wf, err := argo.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	names := argo.TaskNames(plan)
	var dag *argo.DAGTemplate
	tmpls := map[string]argo.Template{}
	for _, tm := range wf.Spec.Templates {
		tmpls[tm.Name] = tm
		if tm.Name == wf.Spec.Entrypoint {
			dag = tm.DAG
		}
	}
	if dag == nil || len(dag.Tasks) != len(plan.Instances) {
		t.Fatalf("want one task per instance (%d)", len(plan.Instances))
	}
	dns := regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	for i, task := range dag.Tasks {
		in := plan.Instances[i]
		if !dns.MatchString(task.Name) {
			t.Errorf("task %q is not a DNS-1123 label", task.Name)
		}
		if task.Name != names[in.Name] {
			t.Errorf("task %d = %q, want %q", i, task.Name, names[in.Name])
		}
		params := map[string]string{}
		for _, p := range task.Arguments.Parameters {
			params[p.Name] = *p.Value
		}
		if params["instance"] != in.Name || params["key"] != in.Key {
			t.Errorf("task %s parameters %v, want instance %s key %s", task.Name, params, in.Name, in.Key)
		}
		var want []string
		for _, up := range in.Inputs {
			want = append(want, names[up.Name])
		}
		sort.Strings(want)
		if strings.Join(task.Dependencies, ",") != strings.Join(want, ",") {
			t.Errorf("task %s depends on %v, want %v", task.Name, task.Dependencies, want)
		}
		tm := tmpls[task.Template]
		gpu := in.Type.Device == "gpu-optional" // sweep's device param is "auto"
		if gpu != (task.Template == "stage-gpu") {
			t.Errorf("task %s: template %s for device %q", task.Name, task.Template, in.Type.Device)
		}
		if gpu && (tm.Container.Resources.Limits["nvidia.com/gpu"] != "1" || len(tm.NodeSelector) == 0) {
			t.Errorf("GPU template lacks a GPU limit or node selector: %+v", tm)
		}
		if !gpu && tm.Container.Resources.Limits["nvidia.com/gpu"] != "" {
			t.Errorf("CPU template requests a GPU")
		}
		if tm.RetryStrategy == nil || tm.RetryStrategy.Backoff == nil {
			t.Errorf("template %s has no retry strategy with backoff", tm.Name)
		}
	}
	// Matrix instances of one stage do not depend on each other.
	for _, task := range dag.Tasks {
		if strings.HasPrefix(task.Name, "gen-") && len(task.Dependencies) != 0 {
			t.Errorf("%s has dependencies %v", task.Name, task.Dependencies)
		}
	}
}

func TestSchemaRejectsBadManifests(t *testing.T) {
	good, _ := exportSweep(t, nil, argo.Options{Store: "s3://b/p"})
	if err := validate(t, good); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, from, to string }{
		{"retry limit as a number", `limit: "3"`, `limit: 3`},
		{"task without name", `- name: sum`, `- nam: sum`},
		{"wrong kind", `kind: Workflow`, `kind: Workflo`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := bytes.Replace(good, []byte(tc.from), []byte(tc.to), 1)
			if bytes.Equal(bad, good) {
				t.Fatalf("%q not in the manifest", tc.from)
			}
			if err := validate(t, bad); err == nil {
				t.Errorf("schema accepted a manifest with %s", tc.name)
			}
		})
	}
}

func TestTaskNames(t *testing.T) {
	reg := clustertest.Registry()
	dag := `name: n
stages:
  a_b: {uses: test/gen, matrix: {seed: [1]}}
  a-b: {uses: test/gen, matrix: {seed: [1]}}
  ` + strings.Repeat("x", 70) + `: {uses: test/gen, with: {seed: 2}}
  lair: {uses: test/gen, with: {seed: 3}}
`
	plan, err := pipeline.Load("n.yaml", []byte(dag), reg, pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	names := argo.TaskNames(plan)
	seen := map[string]string{}
	dns := regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	for inst, n := range names {
		if !dns.MatchString(n) {
			t.Errorf("%s -> %q: not DNS-1123", inst, n)
		}
		if other, dup := seen[n]; dup {
			t.Errorf("%s and %s both -> %q", inst, other, n)
		}
		seen[n] = inst
	}
	if names["a_b[seed=1]"] == "a-b-seed-1" || names["lair"] != "lair" {
		t.Errorf("want a hash suffix only where names clash or are too long: %v", names)
	}
	t.Log(names)
}

func TestBuildErrors(t *testing.T) {
	plan, err := pipeline.LoadFile(clustertest.SweepDAG("../clustertest"), clustertest.Registry(), pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts argo.Options
		want string
	}{
		{argo.Options{}, "store URL is required"},
		{argo.Options{Store: "s3://b", DAGPath: "/abs/x.yaml"}, "relative"},
		{argo.Options{Store: "s3://b", DAGPath: "x.yaml", GPUStages: []string{"nosuch"}}, `"nosuch" is not a stage`},
	} {
		if _, err := argo.Build(plan, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Build(%+v) = %v, want error with %q", tc.opts, err, tc.want)
		}
	}
}

var (
	keyRE    = regexp.MustCompile(`(?m)^(\s+value: )[0-9a-f]{64}$`)
	dagSumRE = regexp.MustCompile(`(?m)^(\s+lair.dev/dag-sha256: )[0-9a-f]{64}$`)
)

// normalizeKeys replaces content addresses and the DAG file's hash.
func normalizeKeys(b []byte) []byte {
	b = keyRE.ReplaceAll(b, []byte("${1}KEY"))
	return dagSumRE.ReplaceAll(b, []byte("${1}SHA256"))
}

func TestDeviceParamDecidesGPU(t *testing.T) {
	for _, tc := range []struct {
		device string
		gpus   int
	}{{"auto", 3}, {"cpu", 0}, {"cuda", 3}} {
		got, _ := exportSweep(t, map[string]string{"device": tc.device}, argo.Options{Store: "s3://b/p"})
		if n := strings.Count(string(got), "template: stage-gpu"); n != tc.gpus {
			t.Errorf("device=%s: %d GPU tasks, want %d", tc.device, n, tc.gpus)
		}
		if err := validate(t, got); err != nil {
			t.Error(err)
		}
	}
	// --gpu-stage wins over device=cpu.
	got, _ := exportSweep(t, map[string]string{"device": "cpu"}, argo.Options{Store: "s3://b/p", GPUStages: []string{"train"}})
	if n := strings.Count(string(got), "template: stage-gpu"); n != 3 {
		t.Errorf("--gpu-stage train with device=cpu: %d GPU tasks, want 3", n)
	}
}

// firstDiff describes the first line where got and want differ.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("first difference at line %d:\n got: %q\nwant: %q", i+1, gl, wl)
		}
	}
	return "no line differs"
}
