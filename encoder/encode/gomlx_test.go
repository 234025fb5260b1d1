package encode_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/encoder/backend"
	"github.com/lair-ir/lair/encoder/encode"
	"github.com/lair-ir/lair/encoder/modelgen"
	"github.com/lair-ir/lair/internal/testenv"
)

// TestGoMLXMatchesORT encodes the same texts through ONNX Runtime and
// through onnx-gomlx on GoMLX's pure-Go backend: every vector agrees
// within 1e-4, for every generated architecture, both poolings, with and
// without normalisation, with batches that need row and length padding.
func TestGoMLXMatchesORT(t *testing.T) {
	lib := testenv.ORTLib(t)
	ctx := context.Background()
	for _, arch := range modelgen.Architectures {
		m := genModel(t, arch)
		for _, pooling := range []string{encode.PoolMean, encode.PoolCLS} {
			for _, norm := range []bool{true, false} {
				opt := encode.Options{Pooling: pooling, Normalize: norm, MaxLength: 40, BatchSize: 3, Threads: 1, Lib: lib}
				ref, err := encode.New(m, opt)
				if err != nil {
					t.Fatal(err)
				}
				want, dim, _, err := ref.Encode(ctx, "query", "Query: ", texts, nil)
				ref.Close()
				if err != nil {
					t.Fatal(err)
				}
				opt.Backend, opt.Lib = encode.BackendGoMLX, "/nonexistent/libonnxruntime.so" // gomlx never touches ONNX Runtime
				g, err := encode.New(m, opt)
				if err != nil {
					t.Fatal(err)
				}
				got, gdim, st, err := g.Encode(ctx, "query", "Query: ", texts, nil)
				g.Close()
				if err != nil {
					t.Fatalf("%s %s: %v", arch, pooling, err)
				}
				if gdim != dim || len(got) != len(want) || st.Encoded != 7 {
					t.Fatalf("%s: gomlx dim %d (%d values, %d encoded), ort dim %d (%d values)", arch, gdim, len(got), st.Encoded, dim, len(want))
				}
				worst := 0.0
				for i := range got {
					worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
				}
				if worst > 1e-4 || math.IsNaN(worst) {
					t.Errorf("%s pooling=%s normalize=%v: max |gomlx-ort| = %g > 1e-4", arch, pooling, norm, worst)
				}
				t.Logf("%s pooling=%s normalize=%v: max |gomlx-ort| = %.2g", arch, pooling, norm, worst)
			}
		}
	}
}

func TestGoMLXBackendErrors(t *testing.T) {
	m := genModel(t, modelgen.ArchStatic)
	if _, err := encode.New(m, encode.Options{Backend: "tensorrt", MaxLength: 32}); err == nil || !strings.Contains(err.Error(), `backend "tensorrt": want ort or gomlx`) {
		t.Errorf("unknown backend: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "xla_cuda_plugin.so")
	t.Setenv(backend.EnvPlugin, missing)
	_, err := encode.New(m, encode.Options{Backend: encode.BackendGoMLX, Device: "cuda", MaxLength: 32})
	var na *backend.NotAvailableError
	if !errors.As(err, &na) || !strings.Contains(err.Error(), "encode: backend gomlx: device cuda is not available: the PJRT plugin "+missing) {
		t.Errorf("cuda without plugin: %v", err)
	}
	// The stage's GoMLX configuration (pipeline.Env.Backend) reaches the
	// backend: a bad one is named in the error.
	_, err = encode.New(m, encode.Options{Backend: encode.BackendGoMLX, GoMLXConfig: "nosuch:x=1", MaxLength: 32})
	if err == nil || !strings.Contains(err.Error(), `"nosuch:x=1"`) {
		t.Errorf("GoMLXConfig nosuch:x=1: %v", err)
	}
}
