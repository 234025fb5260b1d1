// Package gpu_test checks that bench/gpu/run.sh, the prepared GPU check,
// runs on a machine without a GPU with its GPU parts skipped cleanly.
package gpu_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeLair stands in for the lair binary: version works, doctor reports
// that device cuda is missing and exits 2 (as the real one does here).
const fakeLair = `#!/bin/sh
case "$1" in
version) echo "lair test go1.26 linux/amd64" ;;
model) mkdir -p "$3" ;;
doctor) echo "GPUs"; echo "  none seen"; echo "device cuda is not available: no PJRT CUDA plugin found" >&2; exit 2 ;;
*) echo "unexpected lair $*" >&2; exit 1 ;;
esac
`

func TestRunSkipsGPUPartsWithoutGPU(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not found: run.sh writes its table with python3")
	}
	dir := t.TempDir()
	lair := filepath.Join(dir, "lair")
	if err := os.WriteFile(lair, []byte(fakeLair), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	cmd := exec.Command("bash", "run.sh")
	cmd.Env = append(os.Environ(), "LAIR_BIN="+lair, "OUT="+out, "BENCH_WORK="+filepath.Join(dir, "work"), "BENCH_GRAPHS=0",
		"PATH=/usr/bin:/bin") // no nvidia-smi, no go: the fake binary is used
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run.sh: %v\n%s", err, b)
	}
	table, err := os.ReadFile(filepath.Join(out, "table.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| train steps/s | skipped (no GPU) | skipped (no GPU) | - |",
		"| train pairs/s | skipped (no GPU) | skipped (no GPU) | - |",
		"| GPU memory, max used | skipped (no GPU) | skipped (no GPU) | - |",
		"| encode texts/s (backend gomlx, 13,014 XQuAD-R candidates) | skipped (no GPU) | - | - |",
		"GPU: none (device cuda, precision fp32);",
		"Exporter graphs: skipped: BENCH_GRAPHS=0.",
	} {
		if !strings.Contains(string(table), want) {
			t.Errorf("table.md lacks %q:\n%s", want, table)
		}
	}
	doctor, _ := os.ReadFile(filepath.Join(out, "doctor.txt"))
	runLog, _ := os.ReadFile(filepath.Join(out, "run.log"))
	if !strings.Contains(string(doctor), "no PJRT CUDA plugin found") || !strings.Contains(string(runLog), "doctor exit 2: GPU parts skipped") {
		t.Errorf("doctor.txt:\n%s\nrun.log:\n%s", doctor, runLog)
	}
	if _, err := os.Stat(filepath.Join(dir, "work", "store")); err == nil {
		t.Error("a GPU part ran: work/store exists")
	}
}
