package doctor

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/encoder/backend"
	"github.com/lair-ir/lair/encoder/ort"
	"github.com/lair-ir/lair/internal/testenv"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/stages"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

type usageErr struct{ error }

func usagef(format string, a ...any) error { return usageErr{fmt.Errorf(format, a...)} }

// fakeMachine returns probes that see only what lives under root (plus
// the given GPUs): no file of the real machine leaks into the output.
func fakeMachine(t *testing.T, root string, env map[string]string, gpus []backend.GPU, ortLib ort.Library) Probes {
	t.Helper()
	inside := func(p string) bool { return strings.HasPrefix(p, root) }
	sys := backend.System{
		Getenv: func(k string) string { return env[k] },
		Home:   filepath.Join(root, "home"),
		Glob: func(p string) ([]string, error) {
			if !inside(p) {
				return nil, nil
			}
			return filepath.Glob(p)
		},
		Stat: func(p string) (os.FileInfo, error) {
			if !inside(p) {
				return nil, fs.ErrNotExist
			}
			return os.Stat(p)
		},
		PythonSites: func() []string { return []string{filepath.Join(root, "py", "site-packages")} },
		GPUs: func() ([]backend.GPU, string) {
			return gpus, "nvidia-smi, /proc/driver/nvidia/gpus, /dev/nvidia*"
		},
	}
	return Probes{System: sys, Lair: "v1.2.3", Go: "go1.26.8 linux/amd64",
		ORT:      func(string) (ort.Library, error) { return ortLib, nil },
		Backends: func() []string { return []string{"xla", "go", "stablehlo"} }}
}

func mkfile(t *testing.T, p string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/doctor -update)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d (go test ./internal/doctor -update if intended):\n got: %q\nwant: %q", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs in length: got %d lines, want %d", path, len(gl), len(wl))
	}
}

func paperPlan(t *testing.T) (string, *pipeline.Plan) {
	t.Helper()
	reg := pipeline.NewRegistry()
	stages.Register(reg)
	path := filepath.Join(testenv.RepoRoot(t), "dags", "paper.yaml")
	plan, err := pipeline.LoadFile(path, reg, pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return path, plan
}

var cpuORT = ort.Library{Path: "/opt/ort/libonnxruntime.so.1", Version: "1.30.0", Providers: []string{"CPUExecutionProvider"}}

// TestDoctorCPUOnly: a machine like lair's CI (no plugin, no GPU, the CPU
// build of ONNX Runtime): dags/paper.yaml cannot run, exit 2, and every
// failing stage says why and how to fix it.
func TestDoctorCPUOnly(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "py", "site-packages"), 0o755)
	os.MkdirAll(filepath.Join(root, "cache"), 0o755)
	p := fakeMachine(t, root, map[string]string{"LAIR_CACHE": filepath.Join(root, "cache")}, nil, cpuORT)
	dag, plan := paperPlan(t)
	var b bytes.Buffer
	err := Doctor(&b, p, pipeline.Env{CacheDir: filepath.Join(root, "cache")}, "dags/paper.yaml", plan, usagef)
	var ue usageErr
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "stage instance(s) of dags/paper.yaml cannot run on this machine") {
		t.Fatalf("err = %v, want a usage error (exit 2)", err)
	}
	_ = dag
	golden(t, "cpu-only.golden", strings.ReplaceAll(b.String(), root, "$TMP")+"error: "+err.Error()+"\n")
}

// TestDoctorGPU: JAX's CUDA plugin in site-packages and an H100: every
// stage of dags/paper.yaml can run; backend ort on cuda still cannot (CPU
// build), but paper.yaml encodes with gomlx.
func TestDoctorGPU(t *testing.T) {
	root := t.TempDir()
	site := filepath.Join(root, "py", "site-packages")
	mkfile(t, filepath.Join(site, "jax_plugins", "xla_cuda13", "xla_cuda_plugin.so"))
	mkfile(t, filepath.Join(root, "home", ".local", "lib", "go-xla", "pjrt_c_api_cpu_plugin.so"))
	gpus := []backend.GPU{{Index: 0, Name: "NVIDIA H100 80GB HBM3", Memory: "81559 MiB", Driver: "580.65.06"}}
	p := fakeMachine(t, root, map[string]string{"LAIR_CACHE": filepath.Join(root, "cache")}, gpus, cpuORT)
	_, plan := paperPlan(t)
	var b bytes.Buffer
	err := Doctor(&b, p, pipeline.Env{CacheDir: filepath.Join(root, "cache"), Mirror: "https://mirror.example/raw"}, "dags/paper.yaml", plan, usagef)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "gpu.golden", strings.ReplaceAll(b.String(), root, "$TMP"))
}

// TestDoctorHost runs the real probes of this machine: the sections are
// all there (their content is machine-specific).
func TestDoctorHost(t *testing.T) {
	testenv.ORTLib(t)
	var b bytes.Buffer
	if err := Doctor(&b, HostProbes("", ""), pipeline.Env{CacheDir: t.TempDir()}, "", nil, usagef); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"lair     devel", "\nONNX Runtime\n  library    ", "  providers  CPUExecutionProvider",
		"\nGoMLX\n  backends   go, hlo, shlo, stablehlo, xla\n", "\nGPUs\n", "  train/contrastive device cpu         yes: "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestCheckORT: without an ONNX Runtime library every ort encode fails the
// check with the library's error, while gomlx on cpu passes; a library with
// the CUDA provider passes ort on cuda.
func TestCheckORT(t *testing.T) {
	root := t.TempDir()
	reg := pipeline.NewRegistry()
	stages.Register(reg)
	plan, err := pipeline.LoadFile(filepath.Join(testenv.RepoRoot(t), "dags", "paper.yaml"), reg,
		pipeline.LoadOptions{Set: map[string]string{"device": "cpu", "encode_backend": "ort"}})
	if err != nil {
		t.Fatal(err)
	}
	p := fakeMachine(t, root, nil, nil, ort.Library{})
	p.ORT = func(string) (ort.Library, error) {
		return ort.Library{Path: "/x/libonnxruntime.so.1"}, errors.New("onnx runtime library /x/libonnxruntime.so.1 not found: run `make ort`")
	}
	m := Gather(p, pipeline.Env{}, "")
	var encodes, trains int
	for _, f := range Check(plan, m) {
		switch {
		case strings.HasPrefix(f.Need, "encode backend ort device cpu"):
			encodes++
			if f.Avail.OK || !strings.Contains(f.Avail.Detail, "run `make ort`") {
				t.Errorf("%s: %+v", f.Instance, f.Avail)
			}
		case f.Need == "train/contrastive device cpu":
			trains++
			if !f.Avail.OK {
				t.Errorf("%s: %+v", f.Instance, f.Avail)
			}
		default:
			t.Errorf("unexpected finding %+v", f)
		}
	}
	if encodes != 12 || trains != 6 {
		t.Errorf("%d encode and %d train findings, want 12 and 6", encodes, trains)
	}
	cuda := ort.Library{Path: "/gpu/libonnxruntime.so", Version: "1.30.0", Providers: []string{"CPUExecutionProvider", "CUDAExecutionProvider"}}
	m = Gather(fakeMachine(t, root, nil, nil, cuda), pipeline.Env{}, "")
	if !m.ORTCUDA.OK || !strings.Contains(m.ORTCUDA.Detail, "CUDAExecutionProvider") {
		t.Errorf("ORT with CUDA provider: %+v", m.ORTCUDA)
	}
}

// TestCheckEncodeShard: encode/shard takes encode's backend and device, so
// the doctor checks it too (dags/miracl.yaml, switched to gomlx on cuda).
func TestCheckEncodeShard(t *testing.T) {
	reg := pipeline.NewRegistry()
	stages.Register(reg)
	plan, err := pipeline.LoadFile(filepath.Join(testenv.RepoRoot(t), "dags", "miracl.yaml"), reg, pipeline.LoadOptions{})
	if err != nil {
		t.Skipf("dags/miracl.yaml: %v", err)
	}
	n := 0
	m := Machine{GoMLXCUDA: Availability{Detail: "device cuda is not available: no PJRT CUDA plugin found"}, ORTCPU: Availability{OK: true}}
	for _, in := range plan.Instances {
		if in.Type.Name == "encode/shard" {
			in.Params["backend"], in.Params["device"] = "gomlx", "cuda"
		}
	}
	for _, f := range Check(plan, m) {
		if strings.HasPrefix(f.Need, "encode/shard ") {
			n++
			if f.Need != "encode/shard backend gomlx device cuda" || f.Avail.OK {
				t.Errorf("%s: %s %+v", f.Instance, f.Need, f.Avail)
			}
		}
	}
	if n == 0 {
		t.Error("no encode/shard instance was checked")
	}
}
