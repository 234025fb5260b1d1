package ort

import (
	ortgo "github.com/yalue/onnxruntime_go"
)

// Library describes the ONNX Runtime library lair uses.
type Library struct {
	Path    string
	Version string // as the library reports it
	// Providers are the execution providers lair can use with it:
	// CPUExecutionProvider always, CUDAExecutionProvider when the library
	// accepts CUDA provider options (it finds its CUDA provider library).
	Providers []string
	// CUDAErr says why there is no CUDA provider (nil when there is).
	CUDAErr error
}

// Probe opens the library at lib ("" for DefaultLibraryPath) and lists
// its version and providers.
func Probe(lib string) (Library, error) {
	if lib == "" {
		lib = DefaultLibraryPath()
	}
	out := Library{Path: lib}
	if err := Init(lib); err != nil {
		return out, err
	}
	out.Version = ortgo.GetVersion()
	out.Providers = []string{"CPUExecutionProvider"}
	so, err := ortgo.NewSessionOptions()
	if err != nil {
		return out, err
	}
	defer so.Destroy()
	if out.CUDAErr = appendCUDA(so, 0); out.CUDAErr == nil {
		out.Providers = append(out.Providers, "CUDAExecutionProvider")
	}
	return out, nil
}
