// Package ort wraps ONNX Runtime (through github.com/yalue/onnxruntime_go)
// for lair's encoders: one process-wide runtime environment, and sessions
// that take token ids and return the model's token embeddings.
//
// # Why one process-wide environment
//
// ONNX Runtime's OrtEnv is global by design: the C library allows one
// environment per process, and onnxruntime_go keeps it in package state
// (InitializeEnvironment fails when called twice). lair therefore opens it at
// most once per process, lazily, through a sync.Once in this package, and
// never destroys it (sessions may outlive any one stage). This is the one
// piece of process-wide mutable state in lair; everything else is passed
// explicitly. The library path cannot change after the first Open.
//
// # Library
//
// The shared library is $LAIR_ORT_LIB, else
// <cache directory (internal/cachedir)>/onnxruntime/1.30.0/libonnxruntime.so.1
// (put there by `make ort`). The CPU build from npm has no CUDA provider:
// Device "cuda" needs LAIR_ORT_LIB to point at a GPU build of ONNX Runtime
// 1.20-1.30 (with libonnxruntime_providers_cuda.so beside it).
package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/lair-ir/lair/internal/cachedir"
	ortgo "github.com/yalue/onnxruntime_go"

	"github.com/lair-ir/lair/encoder/graphout"
)

// Version is the ONNX Runtime release `make ort` installs.
const Version = "1.30.0"

// DefaultLibraryPath returns where lair looks for the ONNX Runtime library:
// $LAIR_ORT_LIB, else the copy `make ort` puts into the lair cache.
func DefaultLibraryPath() string {
	if p := os.Getenv("LAIR_ORT_LIB"); p != "" {
		return p
	}
	base, err := cachedir.Dir("")
	if err != nil {
		base = filepath.Join(os.TempDir(), cachedir.Name)
	}
	return cachedir.ORTLibrary(base, Version)
}

// env is the process's single ONNX Runtime environment (see the package doc).
var env struct {
	once sync.Once
	lib  string
	err  error
}

// Init opens the ONNX Runtime environment with the library at lib ("" for
// DefaultLibraryPath). Calling it again is cheap; asking for a different
// library after the first call is an error.
func Init(lib string) error {
	if lib == "" {
		lib = DefaultLibraryPath()
	}
	env.once.Do(func() {
		env.lib = lib
		if _, err := os.Stat(lib); err != nil {
			env.err = fmt.Errorf("onnx runtime library %s not found: run `make ort` or set LAIR_ORT_LIB to libonnxruntime.so (ONNX Runtime 1.20-%s)", lib, Version)
			return
		}
		ortgo.SetSharedLibraryPath(lib)
		if err := ortgo.InitializeEnvironment(ortgo.WithLogLevelError()); err != nil {
			env.err = fmt.Errorf("onnx runtime: initialise with %s: %w", lib, err)
		}
	})
	if env.err != nil {
		return env.err
	}
	if lib != env.lib {
		return fmt.Errorf("onnx runtime already initialised with %s; cannot switch to %s in the same process", env.lib, lib)
	}
	return nil
}

// Options configure a session.
type Options struct {
	Lib      string // ONNX Runtime library; "" for DefaultLibraryPath
	Threads  int    // intra-op threads; 0 lets ONNX Runtime choose (all cores)
	Device   string // "cpu" (default) or "cuda"
	DeviceID int    // CUDA device ordinal
}

// Session runs one encoder model. It is reused across batches; Run is safe
// for concurrent use (ONNX Runtime sessions are), but lair calls it from one
// goroutine and gives ONNX Runtime the threads instead.
type Session struct {
	path       string
	s          *ortgo.DynamicAdvancedSession
	inputs     []string // in the order Run passes tensors
	hasMask    bool
	hasTypeIDs bool
	output     string
	hidden     int64 // -1 when the graph leaves it symbolic
}

// IO describes the inputs and output lair found in a model graph.
type IO struct {
	Inputs     []string
	HasMask    bool
	HasTypeIDs bool
	Output     string
	Hidden     int64 // -1 when symbolic
}

// Inspect opens the model's graph and finds its inputs and token-embedding
// output: input_ids (required), attention_mask and token_type_ids (optional),
// and the output graphout.Pick picks (last_hidden_state or
// token_embeddings).
func Inspect(path, lib string) (IO, error) {
	if err := Init(lib); err != nil {
		return IO{}, err
	}
	ins, outs, err := ortgo.GetInputOutputInfo(path)
	if err != nil {
		return IO{}, fmt.Errorf("onnx runtime cannot load %s: %w (is it a valid ONNX model?)", path, err)
	}
	return describe(path, ins, outs)
}

func describe(path string, ins, outs []ortgo.InputOutputInfo) (IO, error) {
	var io IO
	io.Hidden = -1
	haveIDs := false
	for _, in := range ins {
		switch in.Name {
		case "input_ids":
			haveIDs = true
		case "attention_mask":
			io.HasMask = true
		case "token_type_ids":
			io.HasTypeIDs = true
		default:
			return IO{}, fmt.Errorf("model %s: unexpected input %q (%s); lair feeds input_ids, attention_mask and token_type_ids only", path, in.Name, in.String())
		}
		if in.DataType != ortgo.TensorElementDataTypeInt64 {
			return IO{}, fmt.Errorf("model %s: input %s has type %s, want int64", path, in.Name, in.DataType)
		}
		if len(in.Dimensions) != 2 {
			return IO{}, fmt.Errorf("model %s: input %s has shape %v, want [batch, sequence]", path, in.Name, in.Dimensions)
		}
		io.Inputs = append(io.Inputs, in.Name)
	}
	if !haveIDs {
		return IO{}, fmt.Errorf("model %s: no input_ids input (inputs: %s)", path, names(ins))
	}
	var gouts []graphout.Output
	for _, o := range outs {
		gouts = append(gouts, graphout.Output{Name: o.Name, Type: o.DataType.String(),
			Float: o.OrtValueType == ortgo.ONNXTypeTensor && o.DataType == ortgo.TensorElementDataTypeFloat, Rank: len(o.Dimensions)})
	}
	name, err := graphout.Pick(path, gouts)
	if err != nil {
		return IO{}, err
	}
	for _, o := range outs {
		if o.Name == name {
			io.Output, io.Hidden = o.Name, o.Dimensions[2]
		}
	}
	return io, nil
}

func names(infos []ortgo.InputOutputInfo) string {
	var s []string
	for _, i := range infos {
		s = append(s, i.String())
	}
	return strings.Join(s, ", ")
}

// NewSession loads the model at path.
func NewSession(path string, opt Options) (*Session, error) {
	io, err := Inspect(path, opt.Lib)
	if err != nil {
		return nil, err
	}
	so, err := ortgo.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("onnx runtime session options: %w", err)
	}
	defer so.Destroy()
	if opt.Threads > 0 {
		if err := so.SetIntraOpNumThreads(opt.Threads); err != nil {
			return nil, fmt.Errorf("onnx runtime: set %d threads: %w", opt.Threads, err)
		}
		if err := so.SetInterOpNumThreads(1); err != nil {
			return nil, err
		}
	}
	switch opt.Device {
	case "", "cpu":
	case "cuda":
		if err := appendCUDA(so, opt.DeviceID); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("onnx runtime: unknown device %q (want cpu or cuda)", opt.Device)
	}
	s, err := ortgo.NewDynamicAdvancedSession(path, io.Inputs, []string{io.Output}, so)
	if err != nil {
		return nil, fmt.Errorf("onnx runtime: load %s: %w", path, err)
	}
	return &Session{path: path, s: s, inputs: io.Inputs, hasMask: io.HasMask, hasTypeIDs: io.HasTypeIDs,
		output: io.Output, hidden: io.Hidden}, nil
}

// ErrNoCUDA reports a library without the CUDA execution provider.
var ErrNoCUDA = errors.New("the ONNX Runtime library has no CUDA execution provider")

func appendCUDA(so *ortgo.SessionOptions, device int) error {
	co, err := ortgo.NewCUDAProviderOptions()
	if err != nil {
		return cudaHelp(err)
	}
	defer co.Destroy()
	if err := co.Update(map[string]string{"device_id": fmt.Sprint(device)}); err != nil {
		return cudaHelp(err)
	}
	if err := so.AppendExecutionProviderCUDA(co); err != nil {
		return cudaHelp(err)
	}
	return nil
}

func cudaHelp(err error) error {
	return fmt.Errorf("device cuda: %w: %v; set LAIR_ORT_LIB to libonnxruntime.so of a GPU build of ONNX Runtime 1.20-%s "+
		"(e.g. onnxruntime-linux-x64-gpu from the ONNX Runtime releases, with libonnxruntime_providers_cuda.so and "+
		"libonnxruntime_providers_shared.so beside it, and CUDA 12 + cuDNN 9 installed), or use device cpu", ErrNoCUDA, err, Version)
}

// HasTypeIDs reports whether the model takes token_type_ids.
func (s *Session) HasTypeIDs() bool { return s.hasTypeIDs }

// Hidden returns the output width, or -1 when the graph leaves it symbolic.
func (s *Session) Hidden() int64 { return s.hidden }

// Batch is one padded batch of token ids: Rows x Len values per slice.
// TypeIDs may be nil (zeros are fed when the model wants them).
type Batch struct {
	Rows, Len int
	IDs       []int64
	Mask      []int64
	TypeIDs   []int64
}

// Run runs the model on b and calls f with the token embeddings
// ([Rows, Len, hidden], row-major) before releasing them; f must not keep
// the slice.
func (s *Session) Run(b Batch, f func(hidden []float32, width int) error) error {
	shape := ortgo.NewShape(int64(b.Rows), int64(b.Len))
	n := b.Rows * b.Len
	if len(b.IDs) < n || len(b.Mask) < n {
		return fmt.Errorf("onnx runtime: batch %dx%d has %d ids and %d mask values", b.Rows, b.Len, len(b.IDs), len(b.Mask))
	}
	var vals []ortgo.Value
	defer func() {
		for _, v := range vals {
			v.Destroy()
		}
	}()
	for _, name := range s.inputs {
		var data []int64
		switch name {
		case "input_ids":
			data = b.IDs[:n]
		case "attention_mask":
			data = b.Mask[:n]
		case "token_type_ids":
			data = b.TypeIDs
			if len(data) < n {
				data = make([]int64, n)
			}
			data = data[:n]
		}
		t, err := ortgo.NewTensor(shape, data)
		if err != nil {
			return fmt.Errorf("onnx runtime: input %s: %w", name, err)
		}
		vals = append(vals, t)
	}
	outs := []ortgo.Value{nil}
	if err := s.s.Run(vals, outs); err != nil {
		return fmt.Errorf("onnx runtime: run %s on a %dx%d batch: %w", filepath.Base(s.path), b.Rows, b.Len, err)
	}
	defer outs[0].Destroy()
	t, ok := outs[0].(*ortgo.Tensor[float32])
	if !ok {
		return fmt.Errorf("onnx runtime: output %s is %T, want a float32 tensor", s.output, outs[0])
	}
	sh := t.GetShape()
	if len(sh) != 3 || sh[0] != int64(b.Rows) || sh[1] != int64(b.Len) {
		return fmt.Errorf("onnx runtime: output %s has shape %v, want [%d %d hidden]", s.output, sh, b.Rows, b.Len)
	}
	return f(t.GetData(), int(sh[2]))
}

// Close releases the session.
func (s *Session) Close() error {
	if s == nil || s.s == nil {
		return nil
	}
	err := s.s.Destroy()
	s.s = nil
	return err
}
