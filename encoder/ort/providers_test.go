package ort_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/lair-ir/lair/encoder/ort"
	"github.com/lair-ir/lair/internal/testenv"
)

func TestProbe(t *testing.T) {
	lib := testenv.ORTLib(t)
	l, err := ort.Probe(lib)
	if err != nil {
		t.Fatal(err)
	}
	if l.Path != lib || !strings.HasPrefix(l.Version, "1.") || len(l.Providers) == 0 || l.Providers[0] != "CPUExecutionProvider" {
		t.Errorf("Probe = %+v", l)
	}
	// The npm build lair installs is CPU only: the reason names the missing provider.
	if len(l.Providers) == 1 && (l.CUDAErr == nil || !errors.Is(l.CUDAErr, ort.ErrNoCUDA)) {
		t.Errorf("no CUDA provider but CUDAErr = %v", l.CUDAErr)
	}
}
