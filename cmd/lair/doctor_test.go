package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/internal/testenv"
)

// TestDoctorCommand: `lair doctor DAG` exits 2 when a stage's device is
// missing (here a PJRT plugin named by $LAIR_PJRT_PLUGIN that does not
// exist, so the outcome is the same on every machine), and 0 for a DAG
// that runs on the CPU.
func TestDoctorCommand(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "xla_cuda_plugin.so")
	t.Setenv("LAIR_PJRT_PLUGIN", missing)
	t.Setenv("LAIR_CACHE", t.TempDir())
	root := filepath.Join("..", "..", "dags")
	var out, errb bytes.Buffer
	code := run(context.Background(), &out, &errb, []string{"doctor", filepath.Join(root, "paper.yaml")})
	if code != 2 || !strings.Contains(errb.String(), "stage instance(s) of ../../dags/paper.yaml cannot run on this machine") ||
		!strings.Contains(out.String(), "the PJRT plugin "+missing+" named by $LAIR_PJRT_PLUGIN does not exist") {
		t.Fatalf("doctor paper.yaml: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	testenv.ORTLib(t) // train-eval encodes with ONNX Runtime on the CPU
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), &out, &errb, []string{"doctor", "--pjrt-plugin", missing, filepath.Join(root, "train-eval.yaml")}); code != 0 ||
		!strings.Contains(out.String(), "every stage's device and backend is available") {
		t.Fatalf("doctor train-eval.yaml: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
}
