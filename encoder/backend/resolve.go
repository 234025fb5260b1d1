package backend

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/go-xla/compute/xla"

	_ "github.com/gomlx/compute/gobackend" // the pure-Go backend
)

// Options choose a backend.
type Options struct {
	Device string // CPU (default) or CUDA
	// Plugin is a PJRT plugin file given explicitly (a --pjrt-plugin
	// flag); it comes before $LAIR_PJRT_PLUGIN and every search place.
	Plugin string
	// Config, for device cpu, is the GoMLX backend configuration (what a
	// stage gets as pipeline.Env.Backend); "" means $GOMLX_BACKEND, else
	// DefaultGo.
	Config string
}

// Choice is a resolved backend: what Open loads.
type Choice struct {
	Device string
	Config string // device cpu: the GoMLX backend configuration
	Plugin Plugin // device cuda: the PJRT plugin
	GPUs   []GPU  // device cuda: the GPUs seen
	// CUDADataDir, when not "", is passed to XLA as
	// --xla_gpu_cuda_data_dir (JAX's pip CUDA toolkit).
	CUDADataDir string
}

// String describes the choice in one line, for logs.
func (c Choice) String() string {
	if c.Device == CUDA {
		s := fmt.Sprintf("xla (PJRT plugin %s, found via %s)", c.Plugin.Path, c.Plugin.Source)
		if len(c.GPUs) > 0 {
			s += fmt.Sprintf(" on %s", c.GPUs[0].Name)
		}
		return s
	}
	return c.Config
}

// NotAvailableError says that a device cannot be used on this machine:
// what is missing, every place looked at, and how to supply it.
type NotAvailableError struct {
	Device  string
	Missing string
	Looked  []string
	Fix     string
}

func (e *NotAvailableError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "device %s is not available: %s", e.Device, e.Missing)
	if len(e.Looked) > 0 {
		b.WriteString("\nlooked at:")
		for _, l := range e.Looked {
			b.WriteString("\n  " + l)
		}
	}
	if e.Fix != "" {
		b.WriteString("\n" + e.Fix)
	}
	return b.String()
}

// fixPlugin tells how to supply a CUDA plugin.
const fixPlugin = "to supply one: set " + EnvPlugin + "=/path/to/plugin.so (or pass --pjrt-plugin where the command has it), " +
	"e.g. JAX's plugin from `pip install jax[cuda13]` (site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so), " +
	"or put pjrt_c_api_cuda_plugin.so into a folder listed in " + EnvPluginPath + " or into ~/.local/lib/go-xla; " +
	"or use device: cpu"

// Resolve chooses the backend for opt.Device without loading anything. A
// device that this machine cannot offer gives a *NotAvailableError.
func (s System) Resolve(opt Options) (Choice, error) {
	switch opt.Device {
	case "", CPU:
		cfg := opt.Config
		if cfg == "" {
			cfg = s.getenv(EnvGoMLX)
		}
		if cfg == "" {
			cfg = DefaultGo
		}
		return Choice{Device: CPU, Config: cfg}, nil
	case CUDA:
	default:
		return Choice{}, fmt.Errorf("device %q: want one of %s", opt.Device, strings.Join(Devices, ", "))
	}
	found := s.FindPlugins(opt.Plugin)
	// An explicit setting that names no file is an error of its own: never
	// fall back silently to another plugin.
	for _, ex := range []struct{ path, source string }{{opt.Plugin, "flag --pjrt-plugin"}, {s.getenv(EnvPlugin), "$" + EnvPlugin}} {
		if ex.path == "" {
			continue
		}
		abs, _ := filepath.Abs(ex.path)
		if !slices.ContainsFunc(found.Plugins, func(p Plugin) bool { return p.Path == abs }) {
			return Choice{}, &NotAvailableError{Device: CUDA,
				Missing: fmt.Sprintf("the PJRT plugin %s named by %s does not exist or is not a file", ex.path, ex.source),
				Fix:     "fix the path, or unset it to search the usual places"}
		}
		p := found.Plugins[slices.IndexFunc(found.Plugins, func(p Plugin) bool { return p.Path == abs })]
		return s.withGPU(Choice{Device: CUDA, Plugin: p})
	}
	p, ok := found.CUDA()
	if !ok {
		return Choice{}, &NotAvailableError{Device: CUDA, Missing: "no PJRT CUDA plugin found", Looked: found.Looked, Fix: fixPlugin}
	}
	return s.withGPU(Choice{Device: CUDA, Plugin: p})
}

// withGPU completes a cuda choice with the GPUs seen and JAX's CUDA data
// folder, or says that no GPU is there.
func (s System) withGPU(c Choice) (Choice, error) {
	var src string
	if s.GPUs != nil {
		c.GPUs, src = s.GPUs()
	}
	if len(c.GPUs) == 0 {
		return Choice{}, &NotAvailableError{Device: CUDA,
			Missing: fmt.Sprintf("no NVIDIA GPU seen (PJRT plugin %s was found via %s)", c.Plugin.Path, c.Plugin.Source),
			Looked:  []string{src},
			Fix:     "run on a machine with an NVIDIA GPU and its driver (nvidia-smi must list it), or use device: cpu"}
	}
	if strings.Contains(s.getenv("XLA_FLAGS"), "--xla_gpu_cuda_data_dir") {
		return c, nil
	}
	// JAX layout: <site>/jax_plugins/xla_cuda13/xla_cuda_plugin.so beside <site>/nvidia/...
	site := filepath.Dir(filepath.Dir(filepath.Dir(c.Plugin.Path)))
	for _, d := range []string{"cu13", "cu12", "cuda_nvcc"} {
		dd := filepath.Join(site, "nvidia", d)
		if s.isDir(filepath.Join(dd, "nvvm", "libdevice")) {
			c.CUDADataDir = dd
			break
		}
	}
	return c, nil
}

// Resolve is Host().Resolve.
func Resolve(opt Options) (Choice, error) { return Host().Resolve(opt) }

// Open loads the backend of c. Device cuda dlopens the plugin by its
// absolute path with go-xla's auto-install switched off (it would download
// plugins), and sets $GOMLX_NO_AUTO_INSTALL for any later GoMLX call in
// this process.
func Open(c Choice) (compute.Backend, error) {
	xla.EnableAutoInstall(false)
	os.Setenv(xla.NoAutoInstallEnv, "1")
	switch c.Device {
	case CPU:
		b, err := newQuiet(c.Config)
		if err != nil {
			return nil, fmt.Errorf("GoMLX backend %q: %w", c.Config, err)
		}
		return b, nil
	case CUDA:
		if c.CUDADataDir != "" {
			flags := strings.TrimSpace(os.Getenv("XLA_FLAGS") + " --xla_gpu_cuda_data_dir=" + c.CUDADataDir)
			os.Setenv("XLA_FLAGS", flags)
		}
		b, err := xla.New(c.Plugin.Path)
		if err != nil {
			return nil, fmt.Errorf("load PJRT plugin %s (found via %s; it must implement a PJRT C API that go-xla v0.3.0 accepts): %w",
				c.Plugin.Path, c.Plugin.Source, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("device %q: want one of %s", c.Device, strings.Join(Devices, ", "))
}

// New resolves and opens the backend for opt on this machine.
func New(opt Options) (compute.Backend, Choice, error) {
	c, err := Resolve(opt)
	if err != nil {
		return nil, Choice{}, err
	}
	b, err := Open(c)
	return b, c, err
}
