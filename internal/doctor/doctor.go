package doctor

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/gomlx/compute"

	"github.com/lair-ir/lair/encoder/backend"
	"github.com/lair-ir/lair/encoder/ort"
	"github.com/lair-ir/lair/pipeline"
)

// Probes are how Gather looks at the machine.
type Probes struct {
	System backend.System
	// ORT opens the ONNX Runtime library ("" = its default path).
	ORT func(lib string) (ort.Library, error)
	// Backends lists GoMLX's registered backends.
	Backends func() []string
	Lair     string // lair's version
	Go       string // Go version and platform
	Plugin   string // --pjrt-plugin ("" = none)
}

// HostProbes returns the probes of this machine.
func HostProbes(lairVersion, plugin string) Probes {
	if lairVersion == "" {
		lairVersion = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			lairVersion = bi.Main.Version
		}
	}
	return Probes{System: backend.Host(), ORT: ort.Probe, Backends: compute.List, Lair: lairVersion,
		Go: fmt.Sprintf("%s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH), Plugin: plugin}
}

// Availability is whether one device/backend combination can run here.
type Availability struct {
	OK     bool
	Detail string // what will be used, or why not
}

// Machine is what Gather found.
type Machine struct {
	Lair, Go             string
	Store, Cache, Mirror string // descriptions: path and state
	ORT                  ort.Library
	ORTErr               error
	Backends             []string
	Plugins              backend.Search
	GPUs                 []backend.GPU
	GPUSource            string
	GoMLXCPU, GoMLXCUDA  Availability
	ORTCPU, ORTCUDA      Availability
}

func describeDir(path, how string) string {
	if path == "" {
		return "not set"
	}
	state := "missing: created on first use"
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		state = "exists"
	}
	return fmt.Sprintf("%s (%s, %s)", path, how, state)
}

// Gather probes the machine. env is the run environment (cache, mirror);
// store is the store a DAG would use ("" when no DAG was given).
func Gather(p Probes, env pipeline.Env, store string) Machine {
	m := Machine{Lair: p.Lair, Go: p.Go}
	if store == "" {
		m.Store = "per DAG: .lair/store beside the DAG file (or --store DIR|s3://bucket/prefix)"
	} else {
		m.Store = describeDir(store, "beside the DAG")
	}
	how := "$LAIR_CACHE"
	if p.System.Getenv == nil || p.System.Getenv("LAIR_CACHE") == "" {
		how = "user cache dir"
	}
	m.Cache = describeDir(env.CacheDir, how)
	if env.Mirror == "" {
		m.Mirror = "not set: datasets are downloaded from their sources ($LAIR_MIRROR or --mirror to use a mirror)"
	} else if strings.Contains(env.Mirror, "://") {
		m.Mirror = env.Mirror + " ($LAIR_MIRROR)"
	} else {
		m.Mirror = describeDir(env.Mirror, "$LAIR_MIRROR")
	}

	m.ORT, m.ORTErr = p.ORT("")
	if m.ORTErr != nil {
		m.ORTCPU = Availability{Detail: m.ORTErr.Error()}
		m.ORTCUDA = m.ORTCPU
	} else {
		m.ORTCPU = Availability{OK: true, Detail: "ONNX Runtime " + m.ORT.Version + " CPUExecutionProvider"}
		if len(m.ORT.Providers) > 1 {
			m.ORTCUDA = Availability{OK: true, Detail: "ONNX Runtime " + m.ORT.Version + " CUDAExecutionProvider"}
		} else {
			m.ORTCUDA = Availability{Detail: fmt.Sprintf("%s has no CUDA execution provider: set LAIR_ORT_LIB to a GPU build "+
				"of ONNX Runtime 1.20-%s, or use backend: gomlx", m.ORT.Path, ort.Version)}
		}
	}

	if p.Backends != nil {
		m.Backends = p.Backends()
		sort.Strings(m.Backends)
	}
	m.Plugins = p.System.FindPlugins(p.Plugin)
	if p.System.GPUs != nil {
		m.GPUs, m.GPUSource = p.System.GPUs()
	}
	if c, err := p.System.Resolve(backend.Options{Device: backend.CPU}); err != nil {
		m.GoMLXCPU = Availability{Detail: err.Error()}
	} else {
		m.GoMLXCPU = Availability{OK: true, Detail: c.String()}
	}
	if c, err := p.System.Resolve(backend.Options{Device: backend.CUDA, Plugin: p.Plugin}); err != nil {
		m.GoMLXCUDA = Availability{Detail: err.Error()}
	} else {
		m.GoMLXCUDA = Availability{OK: true, Detail: c.String()}
	}
	return m
}

func yes(a Availability) string {
	if a.OK {
		return "yes: " + a.Detail
	}
	return "NO: " + firstLine(a.Detail)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// Write renders m as text.
func (m Machine) Write(w io.Writer) {
	fmt.Fprintf(w, "lair     %s\n", m.Lair)
	fmt.Fprintf(w, "go       %s\n", m.Go)
	fmt.Fprintf(w, "store    %s\n", m.Store)
	fmt.Fprintf(w, "cache    %s\n", m.Cache)
	fmt.Fprintf(w, "mirror   %s\n", m.Mirror)

	fmt.Fprintf(w, "\nONNX Runtime\n  library    %s\n", m.ORT.Path)
	if m.ORTErr != nil {
		fmt.Fprintf(w, "  error      %s\n", m.ORTErr)
	} else {
		fmt.Fprintf(w, "  version    %s\n  providers  %s\n", m.ORT.Version, strings.Join(m.ORT.Providers, ", "))
	}

	fmt.Fprintf(w, "\nGoMLX\n  backends   %s\n", strings.Join(m.Backends, ", "))
	fmt.Fprintf(w, "  PJRT plugins found:")
	if len(m.Plugins.Plugins) == 0 {
		fmt.Fprintf(w, " none\n")
	} else {
		fmt.Fprintln(w)
		for _, p := range m.Plugins.Plugins {
			fmt.Fprintf(w, "    %-6s %s (via %s)\n", p.Name, p.Path, p.Source)
		}
	}
	fmt.Fprintf(w, "  looked at:\n")
	for _, l := range m.Plugins.Looked {
		fmt.Fprintf(w, "    %s\n", l)
	}

	fmt.Fprintf(w, "\nGPUs\n")
	if len(m.GPUs) == 0 {
		fmt.Fprintf(w, "  none seen (looked at %s)\n", m.GPUSource)
	}
	for _, g := range m.GPUs {
		fmt.Fprintf(w, "  %d  %s", g.Index, g.Name)
		if g.Memory != "" {
			fmt.Fprintf(w, ", %s", g.Memory)
		}
		if g.Driver != "" {
			fmt.Fprintf(w, ", driver %s", g.Driver)
		}
		fmt.Fprintf(w, " (via %s)\n", m.GPUSource)
	}

	fmt.Fprintf(w, "\nDevices\n")
	fmt.Fprintf(w, "  train/contrastive device cpu         %s\n", yes(m.GoMLXCPU))
	fmt.Fprintf(w, "  train/contrastive device cuda        %s\n", yes(m.GoMLXCUDA))
	fmt.Fprintf(w, "  encode backend ort device cpu        %s\n", yes(m.ORTCPU))
	fmt.Fprintf(w, "  encode backend ort device cuda       %s\n", yes(m.ORTCUDA))
	fmt.Fprintf(w, "  encode backend gomlx device cpu      %s\n", yes(m.GoMLXCPU))
	fmt.Fprintf(w, "  encode backend gomlx device cuda     %s\n", yes(m.GoMLXCUDA))
	if !m.GoMLXCUDA.OK {
		if _, rest, ok := strings.Cut(m.GoMLXCUDA.Detail, "\n"); ok {
			// The fix, without the places already listed above.
			for _, l := range strings.Split(rest, "\n") {
				if !strings.HasPrefix(l, "  ") && l != "looked at:" {
					fmt.Fprintf(w, "  (cuda) %s\n", l)
				}
			}
		}
	}
}

// Finding is the check of one stage instance that names a device or backend.
type Finding struct {
	Instance string
	Need     string
	Avail    Availability
}

// Check returns the finding of every instance of plan that names a device
// or backend.
func Check(plan *pipeline.Plan, m Machine) []Finding {
	var out []Finding
	for _, in := range plan.Instances {
		dev := in.Params.String("device")
		if dev == "" {
			dev = backend.CPU
		}
		var f Finding
		switch in.Type.Name {
		case "train/contrastive":
			f = Finding{Need: "train/contrastive device " + dev, Avail: m.GoMLXCPU}
			if dev == backend.CUDA {
				f.Avail = m.GoMLXCUDA
			}
		case "encode", "encode/shard": // encode/shard takes encode's parameters
			be := in.Params.String("backend")
			if be == "" {
				be = "ort"
			}
			f = Finding{Need: fmt.Sprintf("%s backend %s device %s", in.Type.Name, be, dev)}
			switch {
			case be == "gomlx" && dev == backend.CUDA:
				f.Avail = m.GoMLXCUDA
			case be == "gomlx":
				f.Avail = m.GoMLXCPU
			case dev == backend.CUDA:
				f.Avail = m.ORTCUDA
			default:
				f.Avail = m.ORTCPU
			}
		default:
			continue
		}
		f.Instance = in.Name
		out = append(out, f)
	}
	return out
}

// Doctor writes what the machine of p offers and, when plan is not nil,
// the check of the DAG file dag; it returns usage's error (exit 2) when a
// stage instance cannot run.
func Doctor(w io.Writer, p Probes, env pipeline.Env, dag string, plan *pipeline.Plan, usage func(format string, a ...any) error) error {
	store := ""
	if dag != "" {
		store = filepath.Join(filepath.Dir(dag), ".lair", "store")
	}
	m := Gather(p, env, store)
	m.Write(w)
	if plan == nil {
		return nil
	}
	return report(w, dag, Check(plan, m), usage)
}

// report prints the findings of a DAG and returns an exit-2 error when
// any instance cannot run.
func report(w io.Writer, dag string, fs []Finding, usage func(format string, a ...any) error) error {
	fmt.Fprintf(w, "\nDAG %s\n", dag)
	if len(fs) == 0 {
		fmt.Fprintln(w, "  no stage names a device or backend")
	}
	bad := 0
	var needs []string // failing needs, first seen first
	why := map[string]string{}
	for _, f := range fs {
		if f.Avail.OK {
			fmt.Fprintf(w, "  ok   %s: %s\n", f.Instance, f.Need)
			continue
		}
		bad++
		fmt.Fprintf(w, "  FAIL %s: %s: %s\n", f.Instance, f.Need, firstLine(f.Avail.Detail))
		if _, ok := why[f.Need]; !ok {
			needs = append(needs, f.Need)
			why[f.Need] = f.Avail.Detail
		}
	}
	for _, n := range needs {
		fmt.Fprintf(w, "\n%s:\n", n)
		for _, l := range strings.Split(why[n], "\n") {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	if bad > 0 {
		return usage("doctor: %d stage instance(s) of %s cannot run on this machine (see above)", bad, dag)
	}
	fmt.Fprintf(w, "  every stage's device and backend is available\n")
	return nil
}
