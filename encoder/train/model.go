package train

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/onnx-gomlx/onnx"
	"github.com/gomlx/onnx-gomlx/onnx/parser"

	"github.com/lair-ir/lair/encoder/backend"
	"github.com/lair-ir/lair/encoder/graphout"
	"github.com/lair-ir/lair/encoder/onnxpb"

	_ "github.com/gomlx/compute/gobackend" // the pure-Go backend
)

// DefaultBackend is the GoMLX backend configuration used when GOMLX_BACKEND
// is unset (backend.DefaultGo: parallelism=2 on 2 cores can deadlock).
const DefaultBackend = backend.DefaultGo

// NewBackend returns the pure-Go GoMLX backend: $GOMLX_BACKEND, else
// DefaultBackend. Stages choose theirs through package backend.
func NewBackend() (compute.Backend, error) {
	b, _, err := backend.New(backend.Options{Device: backend.CPU})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return b, nil
}

// Model is an ONNX encoder loaded for training: the parsed graph, its
// weights in a GoMLX store, and its tokenizer.
type Model struct {
	Dir       string
	ONNX      onnx.Model
	Store     *model.Store
	Tokenizer TextEncoder
	// HasTokenTypes is true when the graph takes token_type_ids (BERT).
	HasTokenTypes bool
	// PadID is the id used for padding positions (masked out anyway).
	PadID int64
	// Trainable are the variables the optimizer updates: every float
	// variable with more than one element (scalars in ONNX initializers are
	// constants such as epsilons or sqrt(d), never weights).
	Trainable []*model.Variable
	// Output is the graph output the encoder reads token states from
	// (graphout.Pick: last_hidden_state or token_embeddings).
	Output string

	// onnxName maps a variable's name to the initializer it came from.
	onnxName map[string]string
	// path is the ONNX file the weights were read from.
	path string

	// Sparse are the embedding tables indexed by input_ids, trained with
	// sparse (lazy) AdamW through the training view (see sparseView); empty
	// when the graph has none.
	Sparse []SparseTable
	// Precision is the number format of the training graph's matrix
	// products (SetPrecision; "" and FP32 mean float32). MixedMatMuls
	// counts the MatMuls that run in bfloat16 under BF16.
	Precision    Precision
	MixedMatMuls int

	// view is the graph the training steps run when Sparse is not empty:
	// the ONNX graph with the tables' Gathers replaced by graph inputs.
	view onnx.Model
	// viewRows is true when the view's output is its one table's rows as
	// fed (a static model: see sparseView).
	viewRows bool
}

// ONNXPath returns the model.onnx of a Hugging Face layout folder
// (model.onnx or onnx/model.onnx).
func ONNXPath(dir string) (string, error) {
	for _, p := range []string{filepath.Join(dir, "model.onnx"), filepath.Join(dir, "onnx", "model.onnx")} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("train: no model.onnx or onnx/model.onnx in %s", dir)
}

// TextEncoder turns a text into token ids, special tokens included.
type TextEncoder interface {
	EncodeIDs(text string) ([]int64, error)
	// PadID is the id of the padding token.
	PadID() int64
}

// LoadModelWith loads the ONNX graph and weights of a model folder and
// uses tok (not nil) for its texts.
func LoadModelWith(dir string, tok TextEncoder) (*Model, error) {
	path, err := ONNXPath(dir)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	structure, err := onnxpb.DecodeStructure(raw)
	if err != nil {
		return nil, fmt.Errorf("train: %s is not a valid ONNX file: %w", path, err)
	}
	// onnx-gomlx wants every graph input fed, weights listed as inputs too.
	if raw, _, err = onnxpb.DropInitializerInputs(raw); err != nil {
		return nil, fmt.Errorf("train: %s: %w", path, err)
	}
	om, err := parser.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("train: parse %s: %w", path, err)
	}
	om.WithBaseDir(filepath.Dir(path)) // external data lives next to the file
	// Trap 1: fused attention would be trained as an extra tensor and never
	// written back into the real Q/K/V weights.
	om.DisableFusion()
	isInit := map[string]bool{}
	for i := range structure.Graph.Initializers {
		isInit[structure.Graph.Initializers[i].Name] = true
	}
	var names []string
	all, _ := om.Inputs()
	for _, n := range all {
		if !isInit[n] { // old exporters list initializers as inputs too
			names = append(names, n)
		}
	}
	for _, n := range names {
		if n != "input_ids" && n != "attention_mask" && n != "token_type_ids" {
			return nil, fmt.Errorf("train: %s: unexpected input %q (inputs %v; want input_ids, attention_mask and optionally token_type_ids)", path, n, names)
		}
	}
	if !slices.Contains(names, "input_ids") || !slices.Contains(names, "attention_mask") {
		return nil, fmt.Errorf("train: %s: inputs %v, want input_ids and attention_mask (and optionally token_type_ids)", path, names)
	}
	outNames, outShapes := om.Outputs()
	var outs []graphout.Output
	for i, n := range outNames {
		outs = append(outs, graphout.Output{Name: n, Type: outShapes[i].DType.String(),
			Float: outShapes[i].DType == dtypes.Float32, Rank: outShapes[i].Rank()})
	}
	output, err := graphout.Pick(path, outs)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	store := model.NewStore()
	if err := om.VariablesToScope(store.RootScope()); err != nil {
		return nil, fmt.Errorf("train: load weights of %s: %w", path, err)
	}
	// Parsing ran onnx-gomlx's fusion detector, which adds initializers of
	// its own (__fused_wQKV_*: Q, K and V concatenated) before
	// DisableFusion could stop it. The graph never reads them now: drop
	// them, so they are neither trained nor written back.
	onnxName := map[string]string{}
	for i := range structure.Graph.Initializers {
		n := structure.Graph.Initializers[i].Name
		onnxName[strings.ReplaceAll(n, model.ScopeSeparator, "|")] = n
	}
	var extra []string
	for v := range store.RootScope().At(onnx.ModelScope).IterVariables() {
		if _, ok := onnxName[v.Name()]; !ok {
			extra = append(extra, v.Path())
		}
	}
	for _, p := range extra {
		if err := store.DeleteVariable(p); err != nil {
			return nil, fmt.Errorf("train: drop fused weight %s: %w", p, err)
		}
	}
	m := &Model{Dir: dir, ONNX: om, Store: store, Tokenizer: tok, HasTokenTypes: slices.Contains(names, "token_type_ids"),
		Output: output, onnxName: onnxName, path: path}
	if tok != nil {
		m.PadID = tok.PadID()
	}
	// Weights the token states do not depend on (a pooler of a BertModel
	// export, a classifier head) are left alone: trained, they would only
	// decay under AdamW's weight decay.
	used := usedInitializers(structure, output)
	for v := range store.RootScope().At(onnx.ModelScope).IterVariables() {
		if v.DType() == dtypes.Float32 && v.Shape().Size() > 1 && (used == nil || used[onnxName[v.Name()]]) {
			m.Trainable = append(m.Trainable, v)
		}
	}
	slices.SortFunc(m.Trainable, func(a, b *model.Variable) int {
		if a.Path() < b.Path() {
			return -1
		}
		if a.Path() > b.Path() {
			return 1
		}
		return 0
	})
	if len(m.Trainable) == 0 {
		return nil, fmt.Errorf("train: %s has no float weights to train", path)
	}
	if err := m.loadSparseView(raw, m.Output); err != nil {
		return nil, err
	}
	return m, nil
}

// loadSparseView builds the training view of the graph (see sparseView)
// from the ONNX file's bytes; output is the pooled output ("": keep a
// masked output as it is).
func (m *Model) loadSparseView(raw []byte, output string) error {
	byName := map[string]int{}
	for i, v := range m.Trainable {
		byName[v.Name()] = i
	}
	view, tables, rowsOut, err := sparseView(raw, output, func(onnxName string) (int, bool) {
		i, ok := byName[strings.ReplaceAll(onnxName, model.ScopeSeparator, "|")] // onnx-gomlx's SafeVarName
		return i, ok
	})
	if err != nil {
		return fmt.Errorf("train: %s: %w", m.path, err)
	}
	if len(tables) == 0 {
		return nil
	}
	vm, err := parser.Parse(view)
	if err != nil {
		return fmt.Errorf("train: parse the sparse training view of %s: %w", m.path, err)
	}
	vm.WithBaseDir(filepath.Dir(m.path)) // external data lives next to the file
	vm.DisableFusion()
	m.view, m.Sparse, m.viewRows = vm, tables, rowsOut
	return nil
}

// usedInitializers returns the initializers the graph output depends on,
// or nil when that cannot be told from the top-level graph (a node with a
// subgraph attribute, as If or Loop, may read any of them).
func usedInitializers(m *onnxpb.Model, output string) map[string]bool {
	producer := map[string]int{}
	for i, n := range m.Graph.Nodes {
		for _, a := range n.Attrs {
			if a.Type == 5 || a.Type == 10 { // GRAPH, GRAPHS
				return nil
			}
		}
		for _, o := range n.Outputs {
			producer[o] = i
		}
	}
	inits := map[string]bool{}
	for i := range m.Graph.Initializers {
		inits[m.Graph.Initializers[i].Name] = true
	}
	used := map[string]bool{}
	seen := map[string]bool{}
	stack := []string{output}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[v] {
			continue
		}
		seen[v] = true
		if inits[v] {
			used[v] = true
		}
		if i, ok := producer[v]; ok {
			stack = append(stack, m.Graph.Nodes[i].Inputs...)
		}
	}
	return used
}

// NumParams returns the number of trainable parameters.
func (m *Model) NumParams() int {
	n := 0
	for _, v := range m.Trainable {
		n += v.Shape().Size()
	}
	return n
}

// Embed builds the graph of the encoder on ids/mask [batch, seq] (int64):
// the token states (m.Output), mean pooling over the attention mask, L2
// normalisation.
// It returns [batch, hidden] float32.
func (m *Model) Embed(scope *model.Scope, ids, mask *Node) *Node {
	g := ids.Graph()
	inputs := map[string]*Node{"input_ids": ids, "attention_mask": mask}
	if m.HasTokenTypes {
		inputs["token_type_ids"] = ZerosLike(ids)
	}
	h := m.ONNX.CallGraph(scope, g, inputs, m.Output)[0] // [b, s, d]
	return MeanPoolNormalize(h, mask)
}

// EmbedTables is Embed through the training view: embs[t] [batch, seq,
// Dim] are the rows of Sparse[t] for ids, gathered by the caller (from the
// batch's rows in the graph, or on the host), so the gradient with respect
// to them leads to the tables' sparse gradient.
func (m *Model) EmbedTables(scope *model.Scope, ids, mask *Node, embs []*Node) *Node {
	g := ids.Graph()
	inputs := map[string]*Node{"input_ids": ids, "attention_mask": mask}
	if m.HasTokenTypes {
		inputs["token_type_ids"] = ZerosLike(ids)
	}
	for t, tb := range m.Sparse {
		inputs[tb.Output] = embs[t]
	}
	h := m.view.CallGraph(scope, g, inputs, m.Output)[0]
	return MeanPoolNormalize(h, mask)
}

// MeanPoolNormalize averages h [b, s, d] over the positions where mask
// [b, s] is 1, then L2-normalises each row. Rows with an empty mask give 0.
func MeanPoolNormalize(h, mask *Node) *Node {
	return poolNormalize(maskedSum(h, mask), mask)
}

// maskedSum is the sum of h [b, s, d] over the positions where mask [b, s]
// is 1: [b, d].
func maskedSum(h, mask *Node) *Node {
	mf := ConvertDType(mask, h.DType()) // [b, s]
	// The masked sum as a batched matrix product: the pure-Go backend runs
	// it (and its gradient) through its matmul kernels, several times
	// faster than a broadcast Mul followed by ReduceSum.
	return Einsum("bs,bsd->bd", mf, h)
}

// poolNormalize divides maskedSum's sum [b, d] by the mask's count per row
// and L2-normalises the rows.
func poolNormalize(sum, mask *Node) *Node {
	mf := ConvertDType(mask, sum.DType())                                                  // [b, s]
	cnt := Max(ReduceAndKeep(mf, ReduceSum, 1), OnesLike(ReduceAndKeep(mf, ReduceSum, 1))) // [b, 1]
	mean := Div(sum, cnt)
	norm := Sqrt(Add(ReduceAndKeep(Square(mean), ReduceSum, 1), Scalar(sum.Graph(), sum.DType(), 1e-12)))
	return Div(mean, norm)
}
