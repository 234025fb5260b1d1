package backend

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Devices.
const (
	CPU  = "cpu"
	CUDA = "cuda"
)

// Devices lists the devices a stage may ask for.
var Devices = []string{CPU, CUDA}

// Environment variables and defaults.
const (
	// EnvPlugin names a PJRT plugin file to use for device cuda.
	EnvPlugin = "LAIR_PJRT_PLUGIN"
	// EnvPluginPath is PJRT's own ":"-separated plugin search path.
	EnvPluginPath = "PJRT_PLUGIN_LIBRARY_PATH"
	// EnvGoMLX is GoMLX's backend configuration variable.
	EnvGoMLX = "GOMLX_BACKEND"
	// DefaultGo is the pure-Go backend configuration used when
	// $GOMLX_BACKEND is unset (parallelism=2 can deadlock on 2 cores).
	DefaultGo = "go:parallelism=16"
)

// GPU is one GPU seen on the machine.
type GPU struct {
	Index  int
	Name   string
	Memory string // total memory as reported ("81559 MiB"); "" when unknown
	Driver string // driver version; "" when unknown
}

// System describes the machine discovery looks at. Host returns the real
// machine; tests fill in their own.
type System struct {
	Getenv func(string) string
	Home   string
	// Glob and Stat default to filepath.Glob and os.Stat.
	Glob func(pattern string) ([]string, error)
	Stat func(path string) (os.FileInfo, error)
	// PythonSites returns the site-packages folders Python itself reports
	// (nil: none, or no python3).
	PythonSites func() []string
	// GPUs returns the GPUs seen and how they were seen ("nvidia-smi",
	// "/proc/driver/nvidia", "/dev/nvidia*"); none: nil and the places
	// looked at.
	GPUs func() (gpus []GPU, source string)
}

// Host returns the System of this machine.
func Host() System {
	home, _ := os.UserHomeDir()
	return System{Getenv: os.Getenv, Home: home, Glob: filepath.Glob, Stat: os.Stat,
		PythonSites: pythonSites, GPUs: hostGPUs}
}

func (s System) getenv(k string) string {
	if s.Getenv == nil {
		return ""
	}
	return s.Getenv(k)
}

func (s System) glob(p string) []string {
	g := s.Glob
	if g == nil {
		g = filepath.Glob
	}
	m, _ := g(p)
	sort.Strings(m)
	return m
}

func (s System) isFile(p string) bool {
	st := s.Stat
	if st == nil {
		st = os.Stat
	}
	fi, err := st(p)
	return err == nil && !fi.IsDir()
}

func (s System) isDir(p string) bool {
	st := s.Stat
	if st == nil {
		st = os.Stat
	}
	fi, err := st(p)
	return err == nil && fi.IsDir()
}

// Plugin is a PJRT plugin file found on the machine.
type Plugin struct {
	Name   string // "cuda", "cpu", ... (from the file name)
	Path   string // absolute path
	Source string // where it was found: flag, $LAIR_PJRT_PLUGIN, $PJRT_PLUGIN_LIBRARY_PATH, go-xla dir, LD_LIBRARY_PATH, JAX
}

// IsCUDA reports whether the plugin drives NVIDIA GPUs.
func (p Plugin) IsCUDA() bool {
	n := strings.ToLower(p.Name)
	return strings.Contains(n, "cuda") || strings.Contains(n, "nvidia")
}

var pluginNameRe = []*regexp.Regexp{
	regexp.MustCompile(`^pjrt_c_api_(.+)_plugin\.so$`),
	regexp.MustCompile(`^pjrt[-_]plugin[-_](.+)\.so$`),
	regexp.MustCompile(`^xla_(.+)_plugin\.so$`), // JAX: xla_cuda_plugin.so
}

// pluginName derives a plugin's name from its file name ("" when the file
// is not named like a PJRT plugin).
func pluginName(path string) string {
	base := filepath.Base(path)
	for _, re := range pluginNameRe {
		if m := re.FindStringSubmatch(base); m != nil {
			return m[1]
		}
	}
	return ""
}

// Search is the outcome of a plugin search: what was found, in order of
// preference, and every place looked at.
type Search struct {
	Plugins []Plugin
	Looked  []string
}

// CUDA returns the first CUDA plugin found.
func (s Search) CUDA() (Plugin, bool) {
	for _, p := range s.Plugins {
		if p.IsCUDA() {
			return p, true
		}
	}
	return Plugin{}, false
}

// FindPlugins searches the places of the package doc, in order. explicit
// is a path given on the command line ("" = none).
func (s System) FindPlugins(explicit string) Search {
	var out Search
	seen := map[string]bool{}
	add := func(path, source string) {
		abs, err := filepath.Abs(path)
		if err == nil {
			path = abs
		}
		if seen[path] {
			return
		}
		seen[path] = true
		name := pluginName(path)
		if name == "" {
			name = strings.TrimSuffix(filepath.Base(path), ".so")
		}
		out.Plugins = append(out.Plugins, Plugin{Name: name, Path: path, Source: source})
	}
	file := func(path, source string) {
		out.Looked = append(out.Looked, fmt.Sprintf("%s: %s", source, path))
		if s.isFile(path) {
			add(path, source)
		}
	}
	dir := func(d, source string) {
		out.Looked = append(out.Looked, fmt.Sprintf("%s: %s/{pjrt_c_api_*_plugin.so,pjrt[-_]plugin[-_]*.so}", source, d))
		for _, pat := range []string{"pjrt_c_api_*_plugin.so", "pjrt-plugin-*.so", "pjrt_plugin_*.so"} {
			for _, m := range s.glob(filepath.Join(d, pat)) {
				add(m, source)
			}
		}
	}
	if explicit != "" {
		file(explicit, "flag --pjrt-plugin")
	}
	if p := s.getenv(EnvPlugin); p != "" {
		file(p, "$"+EnvPlugin)
	} else {
		out.Looked = append(out.Looked, "$"+EnvPlugin+": not set")
	}
	if pp := s.getenv(EnvPluginPath); pp != "" {
		for _, d := range strings.Split(pp, ":") {
			if d != "" {
				dir(d, "$"+EnvPluginPath)
			}
		}
	} else {
		out.Looked = append(out.Looked, "$"+EnvPluginPath+": not set")
	}
	var dirs []string
	if s.Home != "" {
		d := filepath.Join(s.Home, ".local", "lib", "go-xla")
		dirs = append(dirs, d, filepath.Join(d, "nvidia"), filepath.Join(s.Home, ".local", "lib", "gomlx", "pjrt"))
	}
	dirs = append(dirs, "/usr/local/lib/go-xla", "/usr/local/lib/go-xla/nvidia", "/usr/local/lib/gomlx/pjrt")
	for _, d := range dirs {
		dir(d, "go-xla dir")
	}
	for _, d := range strings.Split(s.getenv("LD_LIBRARY_PATH"), ":") {
		if d != "" {
			dir(d, "$LD_LIBRARY_PATH")
		}
	}
	for _, sp := range s.SitePackages() {
		pat := filepath.Join(sp, "jax_plugins", "xla_cuda*", "xla_cuda_plugin.so")
		out.Looked = append(out.Looked, "JAX: "+pat)
		for _, m := range s.glob(pat) {
			add(m, "JAX")
		}
	}
	return out
}

// SitePackages returns the Python site-packages folders that exist, in
// search order, without duplicates.
func (s System) SitePackages() []string {
	var pats []string
	for _, env := range []string{"VIRTUAL_ENV", "CONDA_PREFIX"} {
		if v := s.getenv(env); v != "" {
			pats = append(pats, filepath.Join(v, "lib", "python3*", "site-packages"))
		}
	}
	for _, d := range strings.Split(s.getenv("PYTHONPATH"), ":") {
		if d != "" {
			pats = append(pats, d)
		}
	}
	if s.Home != "" {
		pats = append(pats, filepath.Join(s.Home, ".local", "lib", "python3*", "site-packages"))
	}
	pats = append(pats, "/usr/local/lib/python3*/site-packages", "/usr/local/lib/python3*/dist-packages",
		"/usr/lib/python3*/site-packages", "/usr/lib/python3/dist-packages", "/opt/conda/lib/python3*/site-packages")
	var out []string
	seen := map[string]bool{}
	keep := func(d string) {
		if !seen[d] && s.isDir(d) {
			seen[d] = true
			out = append(out, d)
		}
	}
	for _, p := range pats {
		if strings.ContainsAny(p, "*?[") {
			for _, m := range s.glob(p) {
				keep(m)
			}
		} else {
			keep(p)
		}
	}
	if s.PythonSites != nil {
		for _, d := range s.PythonSites() {
			keep(d)
		}
	}
	return out
}

// pythonSites asks python3 for its site-packages folders (2 s at most).
func pythonSites() []string {
	py, err := exec.LookPath("python3")
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c",
		"import site,sys\nfor p in site.getsitepackages()+[site.getusersitepackages()]: print(p)").Output()
	if err != nil {
		return nil
	}
	return strings.Fields(string(out))
}

// hostGPUs looks for NVIDIA GPUs: nvidia-smi, /proc/driver/nvidia/gpus,
// /dev/nvidia<N>.
func hostGPUs() ([]GPU, string) {
	if smi, err := exec.LookPath("nvidia-smi"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, smi, "--query-gpu=index,name,memory.total,driver_version", "--format=csv,noheader").Output()
		if err == nil {
			if g := ParseNvidiaSMI(string(out)); len(g) > 0 {
				return g, "nvidia-smi"
			}
		}
	}
	infos, _ := filepath.Glob("/proc/driver/nvidia/gpus/*/information")
	var gpus []GPU
	for i, f := range infos {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		gpus = append(gpus, GPU{Index: i, Name: ParseProcInformation(string(b))})
	}
	if len(gpus) > 0 {
		return gpus, "/proc/driver/nvidia"
	}
	devs, _ := filepath.Glob("/dev/nvidia[0-9]*")
	for i := range devs {
		gpus = append(gpus, GPU{Index: i, Name: "NVIDIA GPU"})
	}
	if len(gpus) > 0 {
		return gpus, "/dev/nvidia*"
	}
	return nil, "nvidia-smi, /proc/driver/nvidia/gpus, /dev/nvidia*"
}

// ParseNvidiaSMI parses `nvidia-smi --query-gpu=index,name,memory.total,driver_version
// --format=csv,noheader` output.
func ParseNvidiaSMI(out string) []GPU {
	var gpus []GPU
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 2 {
			continue
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		g := GPU{Name: f[1]}
		fmt.Sscan(f[0], &g.Index)
		if len(f) > 2 {
			g.Memory = f[2]
		}
		if len(f) > 3 {
			g.Driver = f[3]
		}
		gpus = append(gpus, g)
	}
	return gpus
}

// ParseProcInformation returns the model name from a
// /proc/driver/nvidia/gpus/*/information file.
func ParseProcInformation(info string) string {
	for _, line := range strings.Split(info, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "Model" {
			return strings.TrimSpace(v)
		}
	}
	return "NVIDIA GPU"
}
