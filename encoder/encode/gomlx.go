package encode

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/onnx-gomlx/onnx/parser"

	"github.com/lair-ir/lair/encoder/backend"
	"github.com/lair-ir/lair/encoder/graphout"
	"github.com/lair-ir/lair/encoder/onnxpb"
	"github.com/lair-ir/lair/encoder/ort"
)

// Backends of the encode stage.
const (
	BackendORT   = "ort"   // ONNX Runtime (CPU, or its CUDA provider)
	BackendGoMLX = "gomlx" // the same ONNX graph through onnx-gomlx on a GoMLX backend
)

// runner runs the encoder graph on one padded batch and hands the token
// embeddings ([Rows, Len, width]) to f. *ort.Session is one.
type runner interface {
	Run(b ort.Batch, f func(hidden []float32, width int) error) error
	Hidden() int64
	Close() error
}

// gomlxRunner runs an ONNX encoder through onnx-gomlx. Every batch is
// padded to BatchSize rows and to a multiple of lenStep tokens, so that a
// compiling backend (XLA) builds a handful of graphs instead of one per
// batch shape; padded rows and positions are masked out and dropped.
type gomlxRunner struct {
	path     string
	be       compute.Backend
	exec     *model.Exec
	output   string
	hasTypes bool
	hidden   int64
	rows     int // rows per call (BatchSize)
	lenStep  int
	maxLen   int
	padID    int64
	buf      []float32
}

// newGoMLXRunner loads onnxPath on the backend c.
func newGoMLXRunner(onnxPath string, c backend.Choice, rows, maxLen int, padID int64) (*gomlxRunner, error) {
	raw, err := os.ReadFile(onnxPath)
	if err != nil {
		return nil, fmt.Errorf("encode: gomlx: %w", err)
	}
	// onnx-gomlx wants every graph input fed, weights listed as inputs too.
	if raw, _, err = onnxpb.DropInitializerInputs(raw); err != nil {
		return nil, fmt.Errorf("encode: gomlx: %s: %w", onnxPath, err)
	}
	om, err := parser.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("encode: gomlx: parse %s: %w", onnxPath, err)
	}
	om.WithBaseDir(filepath.Dir(onnxPath)) // external data lives next to the file
	// Unfused attention: the graph ONNX Runtime runs, op for op.
	om.DisableFusion()
	ins, _ := om.Inputs()
	r := &gomlxRunner{path: onnxPath, rows: rows, maxLen: maxLen, padID: padID, hidden: -1}
	r.lenStep = max(16, (maxLen/8+15)/16*16)
	haveIDs := false
	for _, n := range ins {
		switch n {
		case "input_ids":
			haveIDs = true
		case "attention_mask":
		case "token_type_ids":
			r.hasTypes = true
		default:
			return nil, fmt.Errorf("model %s: unexpected input %q; lair feeds input_ids, attention_mask and token_type_ids only", onnxPath, n)
		}
	}
	if !haveIDs || !slices.Contains(ins, "attention_mask") {
		return nil, fmt.Errorf("model %s: inputs %v; the gomlx backend needs input_ids and attention_mask", onnxPath, ins)
	}
	outs, oshapes := om.Outputs()
	var gouts []graphout.Output
	for i, n := range outs {
		gouts = append(gouts, graphout.Output{Name: n, Type: oshapes[i].DType.String(), Float: oshapes[i].DType == dtypes.Float32, Rank: oshapes[i].Rank()})
	}
	if r.output, err = graphout.Pick(onnxPath, gouts); err != nil {
		return nil, fmt.Errorf("encode: gomlx: %w", err)
	}
	if sh := oshapes[slices.Index(outs, r.output)]; sh.Rank() == 3 && sh.Dim(2) > 0 {
		r.hidden = int64(sh.Dim(2))
	}
	store := model.NewStore()
	if err := om.VariablesToScope(store.RootScope()); err != nil {
		return nil, fmt.Errorf("encode: gomlx: load weights of %s: %w", onnxPath, err)
	}
	r.be, err = backend.Open(c)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	call := func(scope *model.Scope, ids, mask, types *Node) *Node {
		in := map[string]*Node{"input_ids": ids, "attention_mask": mask}
		if r.hasTypes {
			in["token_type_ids"] = types
		}
		return om.CallGraph(scope, ids.Graph(), in, r.output)[0]
	}
	if !r.hasTypes {
		r.exec, err = model.NewExec(r.be, store, func(scope *model.Scope, ids, mask *Node) *Node { return call(scope, ids, mask, nil) })
	} else {
		r.exec, err = model.NewExec(r.be, store, call)
	}
	if err != nil {
		r.be.Finalize()
		return nil, fmt.Errorf("encode: gomlx: %w", err)
	}
	r.exec.SetMaxCache(-1) // one graph per (rows, bucket): at most maxLen/lenStep of them
	return r, nil
}

func (r *gomlxRunner) Hidden() int64 { return r.hidden }

// bucketLen rounds L up to a multiple of lenStep, capped at maxLen (never below L).
func (r *gomlxRunner) bucketLen(L int) int {
	b := (L + r.lenStep - 1) / r.lenStep * r.lenStep
	return max(L, min(b, r.maxLen))
}

func (r *gomlxRunner) Run(b ort.Batch, f func(hidden []float32, width int) error) error {
	R, L := max(r.rows, b.Rows), r.bucketLen(b.Len)
	n := R * L
	ids, mask, types := make([]int64, n), make([]int64, n), make([]int64, n)
	for i := range ids {
		ids[i] = r.padID
	}
	for row := 0; row < R; row++ {
		if row >= b.Rows {
			mask[row*L] = 1 // a padding row: one visible token keeps its softmax finite
			continue
		}
		copy(ids[row*L:row*L+b.Len], b.IDs[row*b.Len:(row+1)*b.Len])
		copy(mask[row*L:row*L+b.Len], b.Mask[row*b.Len:(row+1)*b.Len])
		if len(b.TypeIDs) >= b.Rows*b.Len {
			copy(types[row*L:row*L+b.Len], b.TypeIDs[row*b.Len:(row+1)*b.Len])
		}
	}
	args := []any{tensors.FromFlatDataAndDimensions(ids, R, L), tensors.FromFlatDataAndDimensions(mask, R, L)}
	if r.hasTypes {
		args = append(args, tensors.FromFlatDataAndDimensions(types, R, L))
	}
	outs, err := r.exec.Call(args...)
	if err != nil {
		return fmt.Errorf("encode: gomlx: run %s on a %dx%d batch: %w", filepath.Base(r.path), R, L, err)
	}
	out := outs[0]
	defer out.FinalizeAll()
	sh := out.Shape()
	if sh.Rank() != 3 || sh.Dim(0) != R || sh.Dim(1) != L {
		return fmt.Errorf("encode: gomlx: output %s has shape %s, want [%d %d hidden]", r.output, sh, R, L)
	}
	w := sh.Dim(2)
	flat, err := tensors.CopyFlatData[float32](out)
	if err != nil {
		return fmt.Errorf("encode: gomlx: output %s: %w", r.output, err)
	}
	// Back to the caller's [Rows, Len, w] layout.
	need := b.Rows * b.Len * w
	if cap(r.buf) < need {
		r.buf = make([]float32, need)
	}
	h := r.buf[:need]
	for row := 0; row < b.Rows; row++ {
		copy(h[row*b.Len*w:(row+1)*b.Len*w], flat[row*L*w:row*L*w+b.Len*w])
	}
	return f(h, w)
}

func (r *gomlxRunner) Close() error {
	if r.exec != nil {
		r.exec.Finalize()
		r.exec = nil
	}
	if r.be != nil {
		r.be.Finalize()
		r.be = nil
	}
	return nil
}
