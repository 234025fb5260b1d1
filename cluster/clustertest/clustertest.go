package clustertest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/lair-ir/lair/pipeline"
)

// SweepDAG returns the path of testdata/sweep.yaml (relative to this
// package's directory, as tests run there) given the package directory.
func SweepDAG(pkgDir string) string { return filepath.Join(pkgDir, "testdata", "sweep.yaml") }

// Registry returns a registry with the test stage types:
//
//	test/gen      (seed int, n int, bytes int) -> dataset: numbers.txt, blob.bin, meta.json
//	test/square   dataset -> pairs: squares.txt
//	test/train    pairs -> model (Device gpu-optional): model.txt
//	test/sum      many model -> metrics: sum.txt listing every input
func Registry() *pipeline.Registry {
	r := pipeline.NewRegistry()
	r.Register(&pipeline.StageType{
		Name: "test/gen", Version: "1", Doc: "deterministic numbers from a seed",
		Params: []pipeline.Param{
			{Name: "seed", Type: pipeline.TypeInt, Required: true},
			{Name: "n", Type: pipeline.TypeInt, Default: 10},
			{Name: "bytes", Type: pipeline.TypeInt, Default: 0, Doc: "size of blob.bin (pseudo-random, from the seed)"},
		},
		Output: pipeline.KindDataset,
		Run: func(ctx context.Context, sc *pipeline.StageContext) error {
			seed, n := sc.Params.Int("seed"), sc.Params.Int("n")
			var b strings.Builder
			for i := 0; i < n; i++ {
				fmt.Fprintf(&b, "%d\n", (seed*7919+i*104729)%1000003)
			}
			if err := os.WriteFile(filepath.Join(sc.OutDir, "numbers.txt"), []byte(b.String()), 0o644); err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Join(sc.OutDir, "sub"), 0o755); err != nil {
				return err
			}
			meta := fmt.Sprintf("{\"seed\":%d,\"n\":%d}\n", seed, n)
			if err := os.WriteFile(filepath.Join(sc.OutDir, "sub", "meta.json"), []byte(meta), 0o644); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(sc.OutDir, "blob.bin"), Blob(seed, sc.Params.Int("bytes")), 0o644)
		},
	})
	r.Register(&pipeline.StageType{
		Name: "test/square", Version: "1", Doc: "squares every number",
		Inputs: []pipeline.Input{{Kind: pipeline.KindDataset}},
		Output: pipeline.KindPairs,
		Run: func(ctx context.Context, sc *pipeline.StageContext) error {
			in, err := sc.Input(pipeline.KindDataset)
			if err != nil {
				return err
			}
			nums, err := readInts(in.Path("numbers.txt"))
			if err != nil {
				return err
			}
			var b strings.Builder
			for _, x := range nums {
				fmt.Fprintf(&b, "%d %d\n", x, x*x)
			}
			return os.WriteFile(filepath.Join(sc.OutDir, "squares.txt"), []byte(b.String()), 0o644)
		},
	})
	r.Register(&pipeline.StageType{
		Name: "test/train", Version: "1", Doc: "pretends to train on a GPU", Device: "gpu-optional",
		Params: []pipeline.Param{
			{Name: "lr", Type: pipeline.TypeFloat, Default: 0.1},
			{Name: "device", Type: pipeline.TypeString, Default: "auto", Enum: []string{"auto", "cpu", "cuda"}},
		},
		Inputs: []pipeline.Input{{Kind: pipeline.KindPairs}},
		Output: pipeline.KindModel,
		Run: func(ctx context.Context, sc *pipeline.StageContext) error {
			in, err := sc.Input(pipeline.KindPairs)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(in.Path("squares.txt"))
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			out := fmt.Sprintf("model of %s lr=%g sha=%s\n", in.Stage, sc.Params.Float("lr"), hex.EncodeToString(sum[:8]))
			return os.WriteFile(filepath.Join(sc.OutDir, "model.txt"), []byte(out), 0o644)
		},
	})
	r.Register(&pipeline.StageType{
		Name: "test/sum", Version: "1", Doc: "lists every model it got",
		Inputs: []pipeline.Input{{Kind: pipeline.KindModel, Many: true}},
		Output: pipeline.KindMetrics,
		Run: func(ctx context.Context, sc *pipeline.StageContext) error {
			var lines []string
			for _, a := range sc.InputsOf(pipeline.KindModel) {
				b, err := os.ReadFile(a.Path("model.txt"))
				if err != nil {
					return err
				}
				lines = append(lines, strings.TrimSpace(string(b)))
			}
			sort.Strings(lines)
			return os.WriteFile(filepath.Join(sc.OutDir, "sum.txt"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
		},
	})
	return r
}

// Blob returns n pseudo-random bytes determined by seed (xorshift).
func Blob(seed, n int) []byte {
	out := make([]byte, n)
	x := uint64(seed)*0x9E3779B97F4A7C15 + 1
	for i := range out {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		out[i] = byte(x)
	}
	return out
}

func readInts(p string) ([]int, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var out []int
	for i, f := range strings.Fields(string(data)) {
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%s: number %d: %w", p, i+1, err)
		}
		out = append(out, v)
	}
	return out, nil
}
