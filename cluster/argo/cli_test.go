package argo_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/cluster/argo"
	"github.com/lair-ir/lair/cluster/clustertest"
)

func TestExportCommand(t *testing.T) {
	reg := clustertest.Registry()
	dag := clustertest.SweepDAG("../clustertest")
	out := filepath.Join(t.TempDir(), "wf.yaml")
	args := []string{dag, "--store", "s3://b/p", "--set", "n=7", "--gpu-stage", "square", "--gpu-image", "lair-cuda:v1", "--retries", "0",
		"--parallelism", "2", "--namespace", "ml", "--secret", "my-s3", "--dag-path", "testdata/sweep.yaml", "-o", out}
	var stdout bytes.Buffer
	if err := argo.ExportCommand(context.Background(), args, reg, &stdout); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if stdout.Len() != 0 {
		t.Errorf("-o also wrote to stdout: %q", stdout.String())
	}
	want, _ := exportSweep(t, map[string]string{"n": "7"}, argo.Options{Store: "s3://b/p", GPUStages: []string{"square"}, GPUImage: "lair-cuda:v1",
		Retries: -1, Parallelism: 2, Namespace: "ml", Secret: "my-s3"})
	if !bytes.Equal(got, want) {
		t.Errorf("ExportCommand output differs from Export:\n%s", got)
	}
	if err := validate(t, got); err != nil {
		t.Error(err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "want one DAG file"},
		{[]string{dag, dag, "--store", "s3://b"}, "want one DAG file"},
		{[]string{dag, "--store", "s3://b", "--set", "novalue"}, "want NAME=VALUE"},
		{[]string{dag, "--store", "s3://b"}, "relative to the image's working directory"},
		{[]string{dag, "--dag-path", "x.yaml"}, "store URL is required"},
		{[]string{dag, "--store", "s3://b", "--dag-path", "x.yaml", "--set", "nosuch=1"}, "nosuch"},
		{[]string{dag, "--bogus"}, "flag provided but not defined"},
	} {
		t.Setenv("LAIR_STORE", "")
		err := argo.ExportCommand(context.Background(), tc.args, reg, &stdout)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ExportCommand(%q) = %v, want an error with %q", tc.args, err, tc.want)
		}
	}
	stdout.Reset()
	if err := argo.ExportCommand(context.Background(), []string{"-h"}, reg, &stdout); err != nil || !strings.Contains(stdout.String(), "usage: lair export argo") {
		t.Errorf("-h: %v %q", err, stdout.String())
	}
}
