package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/cluster/argo"
	"github.com/lair-ir/lair/cluster/argo/argoschema"
	"github.com/lair-ir/lair/cluster/clustertest"
	"github.com/lair-ir/lair/pipeline"
)

// runCLI runs one command with reg and returns its exit code and output.
func runCLI(reg *pipeline.Registry, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Run(context.Background(), &out, &errb, args, reg)
	return code, out.String(), errb.String()
}

// TestExportArgoCommand: the flags of `lair export argo` reach argo.Export
// (the output equals Export's with the same options), and bad input is a
// usage error naming the problem.
func TestExportArgoCommand(t *testing.T) {
	reg := clustertest.Registry()
	dag := clustertest.SweepDAG("../../cluster/clustertest")
	out := filepath.Join(t.TempDir(), "wf.yaml")
	code, stdout, stderr := runCLI(reg, "export", "argo", dag, "--store", "s3://b/p", "--set", "n=7", "--gpu-stage", "square",
		"--gpu-image", "lair-cuda:v1", "--retries", "0", "--parallelism", "2", "--namespace", "ml", "--secret", "my-s3",
		"--dag-path", "testdata/sweep.yaml", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("-o also wrote to stdout: %q", stdout)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pipeline.LoadFile(dag, reg, pipeline.LoadOptions{Set: map[string]string{"n": "7"}})
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := argo.Export(&want, plan, argo.Options{Store: "s3://b/p", GPUStages: []string{"square"}, GPUImage: "lair-cuda:v1",
		Retries: -1, Parallelism: 2, Namespace: "ml", Secret: "my-s3", DAGPath: "testdata/sweep.yaml", Set: map[string]string{"n": "7"}}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("lair export argo output differs from argo.Export:\n%s", got)
	}
	if _, err := argoschema.Workflow(); err != nil {
		t.Fatal(err)
	}
	if err := argoschema.ValidateYAML(got); err != nil {
		t.Error(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "want 1 argument(s), got 0"},
		{[]string{dag, dag, "--store", "s3://b"}, "want 1 argument(s), got 2"},
		{[]string{dag, "--store", "s3://b", "--set", "novalue"}, "want NAME=VALUE"},
		{[]string{dag, "--store", "s3://b"}, "relative to the image's working directory"},
		{[]string{dag, "--dag-path", "x.yaml"}, "store URL is required"},
		{[]string{dag, "--store", "s3://b", "--dag-path", "x.yaml", "--set", "nosuch=1"}, "nosuch"},
		{[]string{dag, "--bogus"}, "flag provided but not defined"},
	} {
		t.Setenv("LAIR_STORE", "")
		code, _, stderr := runCLI(reg, append([]string{"export", "argo"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("export argo %q: exit %d, %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	if code, stdout, _ := runCLI(reg, "export", "argo", "-h"); code != 0 || !strings.Contains(stdout, "usage: lair export argo") {
		t.Errorf("-h: exit %d %q", code, stdout)
	}
}

// TestModelNewCommand: `lair model new` writes a Hugging Face layout
// folder, the same flags give the same bytes, and bad flags are refused.
func TestModelNewCommand(t *testing.T) {
	reg := pipeline.NewRegistry()
	dir := filepath.Join(t.TempDir(), "m")
	corpus := filepath.Join(t.TempDir(), "corpus.txt")
	os.WriteFile(corpus, []byte("hello world\nhello there\n\nworld peace\n"), 0o644)
	args := []string{"model", "new", "-arch", "xlmr", "-layers", "1", "-hidden", "16", "-heads", "2", "-corpus", corpus, "-seed", "3"}
	if code, stdout, stderr := runCLI(reg, append(args, dir)...); code != 0 || !strings.Contains(stdout, "wrote xlmr model to") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	for _, f := range []string{"model.onnx", "config.json", "tokenizer.json", "tokenizer_config.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	tj, _ := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	var parsed struct {
		Model struct {
			Vocab map[string]int `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(tj, &parsed); err != nil {
		t.Fatal(err)
	}
	if _, ok := parsed.Model.Vocab["hello"]; !ok || parsed.Model.Vocab["<pad>"] != 1 {
		t.Errorf("vocab lacks the corpus word hello or <pad> = 1: hello in vocab %v, <pad> = %d", ok, parsed.Model.Vocab["<pad>"])
	}
	dir2 := filepath.Join(t.TempDir(), "m")
	if code, _, stderr := runCLI(reg, append(args, dir2)...); code != 0 {
		t.Fatal(stderr)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "model.onnx"))
	b, _ := os.ReadFile(filepath.Join(dir2, "model.onnx"))
	if !bytes.Equal(a, b) {
		t.Error("same flags gave different model.onnx")
	}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{}, 2},
		{[]string{"-corpus", corpus, "-tokenizer", "x", dir}, 2},
		{[]string{"-arch", "nope", dir}, 1},
		{[]string{"-corpus", "/nonexistent", dir}, 1},
	} {
		if code, _, _ := runCLI(reg, append([]string{"model", "new"}, tc.args...)...); code != tc.code {
			t.Errorf("model new %v: exit %d, want %d", tc.args, code, tc.code)
		}
	}
}

// TestCommandTable: help lists every command of the table; an unknown
// command or subcommand is a usage error.
func TestCommandTable(t *testing.T) {
	reg := testRegistry()
	code, stdout, _ := runCLI(reg, "help")
	if code != 0 {
		t.Fatal(code)
	}
	for _, c := range commands {
		if !strings.Contains(stdout, "  "+c.name) {
			t.Errorf("help does not list %q:\n%s", c.name, stdout)
		}
	}
	for _, args := range [][]string{{"nosuch"}, {"stage"}, {"stage", "walk"}, {"export", "yaml"}, {"version", "extra"}} {
		if code, _, _ := runCLI(reg, args...); code != 2 {
			t.Errorf("lair %v: exit %d, want 2", args, code)
		}
	}
	if code, stdout, _ := runCLI(reg, "version"); code != 0 || !strings.HasPrefix(stdout, "lair ") {
		t.Errorf("version: %d %q", code, stdout)
	}
}
