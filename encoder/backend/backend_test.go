package backend

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSystem is a machine whose home, environment and GPUs are the test's.
func fakeSystem(t *testing.T, env map[string]string, gpus []GPU) System {
	t.Helper()
	home := t.TempDir()
	return System{
		Getenv:      func(k string) string { return env[k] },
		Home:        home,
		PythonSites: func() []string { return nil },
		GPUs:        func() ([]GPU, string) { return gpus, "fake-smi" },
	}
}

func touch(t *testing.T, path string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("not a real plugin"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var h100 = []GPU{{Index: 0, Name: "NVIDIA H100 80GB HBM3", Memory: "81559 MiB", Driver: "580.65.06"}}

func TestResolveCPU(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		dev  string
		want string
	}{
		{nil, "", DefaultGo},
		{nil, CPU, DefaultGo},
		{map[string]string{EnvGoMLX: "go:ops_sequential"}, CPU, "go:ops_sequential"},
	} {
		c, err := fakeSystem(t, tc.env, nil).Resolve(Options{Device: tc.dev})
		if err != nil {
			t.Fatalf("%v: %v", tc, err)
		}
		if c.Device != CPU || c.Config != tc.want {
			t.Errorf("device %q env %v: got %+v, want config %q", tc.dev, tc.env, c, tc.want)
		}
	}
}

func TestResolveUnknownDevice(t *testing.T) {
	_, err := fakeSystem(t, nil, nil).Resolve(Options{Device: "tpu"})
	if err == nil || !strings.Contains(err.Error(), `device "tpu": want one of cpu, cuda`) {
		t.Fatalf("err = %v", err)
	}
}

func notAvailable(t *testing.T, err error) *NotAvailableError {
	t.Helper()
	var na *NotAvailableError
	if !errors.As(err, &na) {
		t.Fatalf("want *NotAvailableError, got %v", err)
	}
	return na
}

func TestResolveCUDANoPlugin(t *testing.T) {
	venv := t.TempDir()
	site := filepath.Join(venv, "lib", "python3.12", "site-packages")
	os.MkdirAll(site, 0o755)
	s := fakeSystem(t, map[string]string{"VIRTUAL_ENV": venv}, h100)
	_, err := s.Resolve(Options{Device: CUDA})
	na := notAvailable(t, err)
	if na.Missing != "no PJRT CUDA plugin found" {
		t.Errorf("Missing = %q", na.Missing)
	}
	msg := err.Error()
	for _, want := range []string{
		"device cuda is not available: no PJRT CUDA plugin found",
		"$LAIR_PJRT_PLUGIN: not set",
		"$PJRT_PLUGIN_LIBRARY_PATH: not set",
		"go-xla dir: " + filepath.Join(s.Home, ".local", "lib", "go-xla") + "/{pjrt_c_api_*_plugin.so",
		"JAX: " + filepath.Join(site, "jax_plugins", "xla_cuda*", "xla_cuda_plugin.so"),
		"set LAIR_PJRT_PLUGIN=",
		"or use device: cpu",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

func TestResolveExplicitMissing(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.so")
	for _, tc := range []struct {
		opt    Options
		env    map[string]string
		source string
	}{
		{Options{Device: CUDA, Plugin: missing}, nil, "flag --pjrt-plugin"},
		{Options{Device: CUDA}, map[string]string{EnvPlugin: missing}, "$LAIR_PJRT_PLUGIN"},
	} {
		// A CUDA plugin in the usual places must not be used instead.
		tc.env = withEnv(tc.env, EnvPluginPath, filepath.Dir(touch(t, filepath.Join(dir, "pjrt", "pjrt_c_api_cuda_plugin.so"))))
		_, err := fakeSystem(t, tc.env, h100).Resolve(tc.opt)
		na := notAvailable(t, err)
		want := "the PJRT plugin " + missing + " named by " + tc.source + " does not exist"
		if !strings.Contains(na.Missing, want) {
			t.Errorf("Missing = %q, want %q", na.Missing, want)
		}
	}
}

func withEnv(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for a, b := range m {
		out[a] = b
	}
	return out
}

func TestResolveOrder(t *testing.T) {
	dir := t.TempDir()
	flagP := touch(t, filepath.Join(dir, "a", "my_plugin.so"))
	envP := touch(t, filepath.Join(dir, "b", "xla_cuda_plugin.so"))
	pathDir := filepath.Dir(touch(t, filepath.Join(dir, "c", "pjrt_c_api_cuda_plugin.so")))
	touch(t, filepath.Join(dir, "c", "pjrt_c_api_cpu_plugin.so"))
	venv := filepath.Join(dir, "venv")
	jax := touch(t, filepath.Join(venv, "lib", "python3.12", "site-packages", "jax_plugins", "xla_cuda13", "xla_cuda_plugin.so"))

	full := map[string]string{EnvPlugin: envP, EnvPluginPath: pathDir, "VIRTUAL_ENV": venv}
	for _, tc := range []struct {
		name   string
		opt    Options
		env    map[string]string
		path   string
		source string
	}{
		{"flag first", Options{Device: CUDA, Plugin: flagP}, full, flagP, "flag --pjrt-plugin"},
		{"env next", Options{Device: CUDA}, full, envP, "$LAIR_PJRT_PLUGIN"},
		{"PJRT path", Options{Device: CUDA}, map[string]string{EnvPluginPath: pathDir, "VIRTUAL_ENV": venv}, filepath.Join(pathDir, "pjrt_c_api_cuda_plugin.so"), "$PJRT_PLUGIN_LIBRARY_PATH"},
		{"JAX last", Options{Device: CUDA}, map[string]string{"VIRTUAL_ENV": venv}, jax, "JAX"},
	} {
		c, err := fakeSystem(t, tc.env, h100).Resolve(tc.opt)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.Plugin.Path != tc.path || c.Plugin.Source != tc.source || c.Device != CUDA || len(c.GPUs) != 1 {
			t.Errorf("%s: got %+v, want %s via %s", tc.name, c, tc.path, tc.source)
		}
	}
	// The search lists the cpu plugin too, after the cuda one of the same folder.
	found := fakeSystem(t, map[string]string{EnvPluginPath: pathDir}, nil).FindPlugins("")
	var names []string
	for _, p := range found.Plugins {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "cpu,cuda" {
		t.Errorf("plugins found = %v, want cpu,cuda (sorted by path within a folder)", names)
	}
}

func TestResolveCUDANoGPU(t *testing.T) {
	dir := t.TempDir()
	p := touch(t, filepath.Join(dir, "pjrt_c_api_cuda_plugin.so"))
	_, err := fakeSystem(t, map[string]string{EnvPluginPath: dir}, nil).Resolve(Options{Device: CUDA})
	na := notAvailable(t, err)
	if !strings.Contains(na.Missing, "no NVIDIA GPU seen (PJRT plugin "+p+" was found via $PJRT_PLUGIN_LIBRARY_PATH)") {
		t.Errorf("Missing = %q", na.Missing)
	}
	if !strings.Contains(err.Error(), "looked at:\n  fake-smi") || !strings.Contains(err.Error(), "nvidia-smi must list it") {
		t.Errorf("error = %v", err)
	}
}

func TestJAXCUDADataDir(t *testing.T) {
	venv := t.TempDir()
	site := filepath.Join(venv, "lib", "python3.12", "site-packages")
	touch(t, filepath.Join(site, "jax_plugins", "xla_cuda13", "xla_cuda_plugin.so"))
	os.MkdirAll(filepath.Join(site, "nvidia", "cu13", "nvvm", "libdevice"), 0o755)
	c, err := fakeSystem(t, map[string]string{"VIRTUAL_ENV": venv}, h100).Resolve(Options{Device: CUDA})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(site, "nvidia", "cu13"); c.CUDADataDir != want {
		t.Errorf("CUDADataDir = %q, want %q", c.CUDADataDir, want)
	}
	// A data dir already in XLA_FLAGS is left alone.
	c, err = fakeSystem(t, map[string]string{"VIRTUAL_ENV": venv, "XLA_FLAGS": "--xla_gpu_cuda_data_dir=/x"}, h100).Resolve(Options{Device: CUDA})
	if err != nil || c.CUDADataDir != "" {
		t.Errorf("with XLA_FLAGS: %+v, %v", c, err)
	}
}

func TestPluginName(t *testing.T) {
	for in, want := range map[string]string{
		"/x/pjrt_c_api_cuda_plugin.so":                    "cuda",
		"/x/pjrt_c_api_cpu_v0.83.1_plugin.so":             "cpu_v0.83.1",
		"/x/pjrt-plugin-cuda.so":                          "cuda",
		"/site/jax_plugins/xla_cuda13/xla_cuda_plugin.so": "cuda",
		"/x/libfoo.so":                                    "",
	} {
		if got := pluginName(in); got != want {
			t.Errorf("pluginName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseGPUs(t *testing.T) {
	out := "0, NVIDIA H100 80GB HBM3, 81559 MiB, 580.65.06\n1, NVIDIA H200, 143771 MiB, 580.65.06\n"
	g := ParseNvidiaSMI(out)
	if len(g) != 2 || g[1] != (GPU{Index: 1, Name: "NVIDIA H200", Memory: "143771 MiB", Driver: "580.65.06"}) {
		t.Errorf("ParseNvidiaSMI = %+v", g)
	}
	if g := ParseNvidiaSMI("No devices were found\n"); len(g) != 0 {
		t.Errorf("no devices: %+v", g)
	}
	info := "Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 0\nGPU UUID: \t GPU-1234\n"
	if n := ParseProcInformation(info); n != "NVIDIA H100 80GB HBM3" {
		t.Errorf("ParseProcInformation = %q", n)
	}
}

func TestOpen(t *testing.T) {
	b, err := Open(Choice{Device: CPU, Config: "go"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToLower(b.Name()), "go") {
		t.Errorf("backend = %q", b.Name())
	}
	b.Finalize()
	if os.Getenv("GOMLX_NO_AUTO_INSTALL") == "" {
		t.Error("Open did not set GOMLX_NO_AUTO_INSTALL")
	}
	// A file that is not a PJRT plugin: a clear error, nothing fetched.
	p := touch(t, filepath.Join(t.TempDir(), "pjrt_c_api_cuda_plugin.so"))
	_, err = Open(Choice{Device: CUDA, Plugin: Plugin{Name: "cuda", Path: p, Source: "$LAIR_PJRT_PLUGIN"}})
	if err == nil || !strings.Contains(err.Error(), "load PJRT plugin "+p+" (found via $LAIR_PJRT_PLUGIN") {
		t.Errorf("err = %v", err)
	}
	if _, err := Open(Choice{Device: "tpu"}); err == nil {
		t.Error("device tpu opened")
	}
}
