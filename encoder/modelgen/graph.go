package modelgen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/lair-ir/lair/encoder/onnxpb"
)

// Exporter styles (Style.Exporter).
const (
	StyleLair  = ""      // lair's compact graph
	StyleTorch = "torch" // the op patterns of torch.onnx (TorchScript exporter) exports of transformers models
	// StyleDynamo is torch.onnx.export(..., dynamo=True), the default from
	// torch 2.9: IR 10, opset 18, weights under their module names in
	// PyTorch's [out, in] layout with a Transpose node before each MatMul,
	// SDPA-style attention (q and k^T each scaled by a Mul).
	StyleDynamo = "torch-dynamo"
)

// Style says how a graph writes the function of a Config. Exporters write
// the same encoder with different op patterns; lair must load, encode and
// fine-tune every one of them, so the generator can write each.
//
// StyleTorch follows what torch.onnx.export of BertModel, XLMRobertaModel
// and DistilBertModel emits: Linear weights as transposed copies named
// onnx::MatMul_N (biases keep their module names), small constants as
// Constant nodes, head reshapes whose shapes are computed at run time
// (Shape, Gather, Unsqueeze, Concat), position ids sliced from an int64
// position_ids buffer, an extended attention mask built with Unsqueeze,
// Expand, Cast, Sub and Where (DistilBERT: Equal, Reshape, Expand and a
// Where on the scores), XLM-R's padding-aware position ids from CumSum and
// its token types from a zero buffer (Slice, Expand).
type Style struct {
	Exporter string `json:"exporter,omitempty"` // StyleLair (default) or StyleTorch
	// LayerNorm is "op" (default: one LayerNormalization, opset 17) or
	// "decomposed" (ReduceMean, Sub, Pow, Add, Sqrt, Div, Mul, Add: what
	// exporters write below opset 17; the graph gets opset 14).
	LayerNorm string `json:"layer_norm,omitempty"`
	// GELU is "erf" (default, exact GELU) or "tanh" (the gelu_new
	// approximation with Pow and Tanh; a different function, named
	// hidden_act gelu_new in config.json).
	GELU string `json:"gelu,omitempty"`
	// Output names the token-state output: "last_hidden_state" (default)
	// or "token_embeddings" (sentence-transformers exports).
	Output string `json:"output,omitempty"`
	// Pooler adds a second output, pooler_output = tanh(dense(first
	// token)), as exports of BertModel and XLMRobertaModel have.
	Pooler bool `json:"pooler,omitempty"`
	// ExternalThreshold: when the weights hold more bytes than this, they go
	// to model.onnx_data next to model.onnx (0: protobuf's 2 GB limit, as
	// exporters do).
	ExternalThreshold int64 `json:"external_threshold,omitempty"`
	// InitializersAsInputs lists every initializer as a graph input too,
	// as old exporters and torch.onnx with keep_initializers_as_inputs=True
	// do.
	InitializersAsInputs bool `json:"initializers_as_inputs,omitempty"`
}

func (s *Style) defaults() {
	if s.LayerNorm == "" {
		s.LayerNorm = "op"
	}
	if s.GELU == "" {
		s.GELU = "erf"
	}
	if s.Output == "" {
		s.Output = "last_hidden_state"
	}
}

func (s *Style) validate() error {
	switch {
	case s.Exporter != StyleLair && s.Exporter != StyleTorch && s.Exporter != StyleDynamo:
		return fmt.Errorf("modelgen: unknown exporter style %q (want \"\", torch or torch-dynamo)", s.Exporter)
	case s.LayerNorm != "op" && s.LayerNorm != "decomposed":
		return fmt.Errorf("modelgen: layer norm %q: want op or decomposed", s.LayerNorm)
	case s.GELU != "erf" && s.GELU != "tanh":
		return fmt.Errorf("modelgen: gelu %q: want erf or tanh", s.GELU)
	case s.Output != "last_hidden_state" && s.Output != "token_embeddings":
		return fmt.Errorf("modelgen: output %q: want last_hidden_state or token_embeddings", s.Output)
	}
	return nil
}

// Opset returns the ONNX opset the style's graph uses.
func (s Style) Opset() int64 {
	if s.Exporter == StyleDynamo {
		return 18
	}
	if s.LayerNorm == "decomposed" {
		return 14
	}
	return 17
}

// weights draws the initializers: normal(0, 0.02) matrices as in BERT's
// initialisation; biases and layer-norm parameters get small random offsets
// (instead of 0 and 1) so tests that recompute the forward pass see every
// parameter matter.
type weights struct{ rng *rand.Rand }

func (w weights) normal(n int, mean, std float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(mean + std*w.rng.NormFloat64())
	}
	return out
}

// Build returns the ONNX graph of c for a vocabulary of vocabSize tokens
// whose padding token is padID. Weights are drawn from c.Seed in an order
// that does not depend on c.Style, so every style of one Config computes
// the same function.
func Build(c Config, vocabSize, padID int) *onnxpb.Model {
	m, _ := build(c, vocabSize, padID)
	return m
}

// gen builds one graph.
type gen struct {
	c      Config
	w      weights
	b      *onnxpb.Builder
	torch  bool              // torch.onnx patterns (both exporters)
	dynamo bool              // the dynamo exporter's differences
	names  map[string]string // canonical (BERT module) name -> initializer name
	matmul int               // onnx::MatMul_N counter
	consts int
	H      int64
	eps    float32
}

// build returns the graph and the map from canonical weight names (the
// BERT module names: embeddings.word_embeddings.weight,
// encoder.layer.0.attention.self.query.weight, ...) to the graph's
// initializer names.
func build(c Config, vocabSize, padID int) (*onnxpb.Model, map[string]string) {
	c.Defaults()
	st := c.Style
	m := &onnxpb.Model{
		IRVersion:       8,
		Opsets:          []onnxpb.OpsetID{{Domain: "", Version: st.Opset()}},
		ProducerName:    "lair",
		ProducerVersion: "modelgen",
		DocString:       "random-weight " + c.Arch + " encoder generated by lair model new",
		Metadata: []onnxpb.StringPair{
			{Key: "lair.arch", Value: c.Arch},
			{Key: "lair.seed", Value: strconv.FormatUint(c.Seed, 10)},
		},
	}
	if st.Exporter != StyleLair {
		m.ProducerName, m.ProducerVersion = "pytorch", "2.11.0"
		m.Metadata = append(m.Metadata, onnxpb.StringPair{Key: "lair.style", Value: st.Exporter})
	}
	if st.Exporter == StyleDynamo {
		m.IRVersion = 10
		m.Opsets = append(m.Opsets, onnxpb.OpsetID{Domain: "pkg.onnxscript.torch_lib.common", Version: 1})
	}
	g := &m.Graph
	g.Name = "lair_" + c.Arch
	if st.Exporter != StyleLair {
		g.Name = "main_graph"
	}
	x := &gen{c: c, w: weights{rand.New(rand.NewPCG(c.Seed, 0x6c616972))}, b: onnxpb.NewBuilder(g), // "lair"
		torch: st.Exporter != StyleLair, dynamo: st.Exporter == StyleDynamo, names: map[string]string{}, matmul: 1000, H: int64(c.Hidden), eps: bertEps}
	if c.Arch == ArchXLMR {
		x.eps = xlmrEps
	}
	batchSeq := []onnxpb.Dim{{Param: "batch"}, {Param: "sequence"}}
	g.Inputs = append(g.Inputs,
		onnxpb.ValueInfo{Name: "input_ids", ElemType: onnxpb.Int64, Shape: batchSeq},
		onnxpb.ValueInfo{Name: "attention_mask", ElemType: onnxpb.Int64, Shape: batchSeq})
	if c.Arch == ArchBERT {
		g.Inputs = append(g.Inputs, onnxpb.ValueInfo{Name: "token_type_ids", ElemType: onnxpb.Int64, Shape: batchSeq})
	}
	g.Outputs = []onnxpb.ValueInfo{{Name: st.Output, ElemType: onnxpb.Float,
		Shape: []onnxpb.Dim{{Param: "batch"}, {Param: "sequence"}, {Value: x.H}}}}

	word := x.weight("embeddings.word_embeddings.weight", []int64{int64(vocabSize), x.H}, 0, 0.02)
	if c.Arch == ArchStatic {
		maskF := x.b.Op("/mask", "Cast", []string{"attention_mask"}, onnxpb.IntAttr("to", int64(onnxpb.Float)))
		emb := x.b.Op("/embeddings/word_embeddings", "Gather", []string{word, "input_ids"})
		m3 := x.b.Op("/mask", "Unsqueeze", []string{maskF, x.constI64("/mask/unsqueeze_axes", false, -1)})
		g.Nodes = append(g.Nodes, onnxpb.Node{Name: "/output/Mul", OpType: "Mul",
			Inputs: []string{emb, m3}, Outputs: []string{st.Output}})
		return m, x.names
	}
	h := x.embeddings(word, padID)
	var maskAdd, maskBool string
	switch {
	case c.Arch == ArchDistilBERT && x.torch:
		maskBool = x.distilMask()
	case x.torch:
		maskAdd = x.whereMask()
	default:
		maskAdd = x.mulMask()
	}
	for l := 0; l < c.Layers; l++ {
		h = x.layer(l, h, maskAdd, maskBool)
	}
	g.Nodes = append(g.Nodes, onnxpb.Node{Name: "/output/Identity", OpType: "Identity",
		Inputs: []string{h}, Outputs: []string{st.Output}})
	defer func() {
		if !st.InitializersAsInputs {
			return
		}
		for _, t := range g.Initializers {
			dims := make([]onnxpb.Dim, len(t.Dims))
			for i, d := range t.Dims {
				dims[i] = onnxpb.Dim{Value: d}
			}
			g.Inputs = append(g.Inputs, onnxpb.ValueInfo{Name: t.Name, ElemType: t.DataType, Shape: dims})
		}
	}()
	if st.Pooler {
		first := x.b.Op("/pooler", "Gather", []string{h, x.constI64("/pooler/first", true, 0)}, onnxpb.IntAttr("axis", 1))
		p := x.linear("/pooler/dense", first, "pooler.dense", c.Hidden, c.Hidden)
		p = x.b.Op("/pooler/activation", "Tanh", []string{p})
		g.Nodes = append(g.Nodes, onnxpb.Node{Name: "/pooler/Identity", OpType: "Identity", Inputs: []string{p}, Outputs: []string{"pooler_output"}})
		g.Outputs = append(g.Outputs, onnxpb.ValueInfo{Name: "pooler_output", ElemType: onnxpb.Float,
			Shape: []onnxpb.Dim{{Param: "batch"}, {Value: x.H}}})
	}
	return m, x.names
}

// fileName returns the initializer name of a canonical weight name.
func (x *gen) fileName(canonical string, matmul bool) string {
	if x.torch && !x.dynamo && matmul {
		x.matmul++
		return "onnx::MatMul_" + strconv.Itoa(x.matmul)
	}
	if x.c.Arch != ArchDistilBERT || !strings.HasPrefix(canonical, "encoder.layer.") {
		return canonical
	}
	// DistilBERT's module names.
	n := strings.Replace(canonical, "encoder.layer.", "transformer.layer.", 1)
	for _, r := range [][2]string{
		{".attention.self.query.", ".attention.q_lin."}, {".attention.self.key.", ".attention.k_lin."},
		{".attention.self.value.", ".attention.v_lin."}, {".attention.output.dense.", ".attention.out_lin."},
		{".attention.output.LayerNorm.", ".sa_layer_norm."}, {".intermediate.dense.", ".ffn.lin1."},
		{".output.dense.", ".ffn.lin2."}, {".output.LayerNorm.", ".output_layer_norm."},
	} {
		if strings.Contains(n, r[0]) {
			return strings.Replace(n, r[0], r[1], 1)
		}
	}
	return n
}

// weight draws a float initializer.
func (x *gen) weight(canonical string, dims []int64, mean, std float64) string {
	return x.weightAs(canonical, false, dims, mean, std)
}

func (x *gen) weightAs(canonical string, matmul bool, dims []int64, mean, std float64) string {
	n := 1
	for _, d := range dims {
		n *= int(d)
	}
	name := x.fileName(canonical, matmul)
	x.names[canonical] = name
	data := x.w.normal(n, mean, std)
	if matmul && x.dynamo {
		// the same [in, out] values, stored [out, in] as PyTorch keeps them
		data, dims = transpose(data, int(dims[0]), int(dims[1])), []int64{dims[1], dims[0]}
	}
	return x.b.Init(onnxpb.FloatTensor(name, dims, data))
}

// transpose returns the [cols, rows] transpose of a row-major [rows, cols] matrix.
func transpose(a []float32, rows, cols int) []float32 {
	out := make([]float32, len(a))
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			out[j*rows+i] = a[i*cols+j]
		}
	}
	return out
}

// constF is a float32 scalar: an initializer (lair) or a Constant node (torch).
func (x *gen) constF(name string, v float32) string {
	if x.torch {
		return x.b.Op(constPrefix(name), "Constant", nil, onnxpb.TensorAttr("value", onnxpb.FloatTensor("", nil, []float32{v})))
	}
	return x.b.ConstFloat(name, v)
}

// constI64 is an int64 scalar or 1-D constant.
func (x *gen) constI64(name string, scalar bool, vals ...int64) string {
	if x.torch {
		dims := []int64{int64(len(vals))}
		if scalar {
			dims = nil
		}
		return x.b.Op(constPrefix(name), "Constant", nil, onnxpb.TensorAttr("value", onnxpb.Int64Tensor("", dims, vals)))
	}
	return x.b.ConstInt64(name, scalar, vals...)
}

func constPrefix(name string) string {
	if i := strings.LastIndexByte(name, '/'); i > 0 {
		return name[:i]
	}
	return name
}

// dim returns dimension axis of t's shape as a 1-D [1] int64 tensor
// (Shape, Gather, Unsqueeze: how torch.onnx writes x.size(axis)).
func (x *gen) dim(prefix, t string, axis int64) string {
	s := x.b.Op(prefix, "Shape", []string{t})
	d := x.b.Op(prefix, "Gather", []string{s, x.constI64(prefix+"/axis", true, axis)}, onnxpb.IntAttr("axis", 0))
	return x.b.Op(prefix, "Unsqueeze", []string{d, x.constI64(prefix+"/unsqueeze", false, 0)})
}

func (x *gen) layerNorm(prefix, in, name string) string {
	H := x.H
	scale := x.weight(name+".weight", []int64{H}, 1, 0.02)
	bias := x.weight(name+".bias", []int64{H}, 0, 0.02)
	if x.c.Style.LayerNorm == "op" {
		return x.b.Op(prefix, "LayerNormalization", []string{in, scale, bias},
			onnxpb.IntAttr("axis", -1), onnxpb.FloatAttr("epsilon", x.eps))
	}
	reduceMean := func(t string) string {
		if x.c.Style.Opset() >= 18 { // axes became an input
			return x.b.Op(prefix, "ReduceMean", []string{t, x.constI64(prefix+"/axes", false, -1)}, onnxpb.IntAttr("keepdims", 1))
		}
		return x.b.Op(prefix, "ReduceMean", []string{t}, onnxpb.IntsAttr("axes", -1), onnxpb.IntAttr("keepdims", 1))
	}
	mean := reduceMean(in)
	d := x.b.Op(prefix, "Sub", []string{in, mean})
	p := x.b.Op(prefix, "Pow", []string{d, x.constF(prefix+"/two", 2)})
	v := reduceMean(p)
	v = x.b.Op(prefix, "Add", []string{v, x.constF(prefix+"/eps", x.eps)})
	sd := x.b.Op(prefix, "Sqrt", []string{v})
	n := x.b.Op(prefix, "Div", []string{d, sd})
	n = x.b.Op(prefix, "Mul", []string{n, scale})
	return x.b.Op(prefix, "Add", []string{n, bias})
}

// linear is x W + b with W stored [in, out] (torch: a transposed copy
// named onnx::MatMul_N; the bias keeps its module name). The dynamo
// exporter keeps PyTorch's [out, in] weight under its module name and
// transposes it in the graph.
func (x *gen) linear(prefix, in, name string, nIn, nOut int) string {
	wt := x.weightAs(name+".weight", true, []int64{int64(nIn), int64(nOut)}, 0, 0.02)
	bias := x.weight(name+".bias", []int64{int64(nOut)}, 0, 0.02)
	if x.dynamo {
		wt = x.b.Op(prefix, "Transpose", []string{wt}, onnxpb.IntsAttr("perm", 1, 0))
		mm := x.b.Op(prefix, "MatMul", []string{in, wt})
		return x.b.Op(prefix, "Add", []string{mm, bias})
	}
	mm := x.b.Op(prefix, "MatMul", []string{in, wt})
	return x.b.Op(prefix, "Add", []string{bias, mm})
}

func (x *gen) embeddings(word string, padID int) string {
	c, b, H := x.c, x.b, x.H
	h := b.Op("/embeddings/word_embeddings", "Gather", []string{word, "input_ids"})
	switch c.Arch {
	case ArchBERT, ArchDistilBERT:
		posEmb := x.weight("embeddings.position_embeddings.weight", []int64{int64(c.MaxPositions), H}, 0, 0.02)
		var typeEmb string
		if c.Arch == ArchBERT {
			typeEmb = x.weight("embeddings.token_type_embeddings.weight", []int64{2, H}, 0, 0.02)
		}
		var posIDs string
		if x.torch {
			// position_ids = self.position_ids[:, :seq_length]
			ids := make([]int64, c.MaxPositions)
			for i := range ids {
				ids[i] = int64(i)
			}
			buf := b.Init(onnxpb.Int64Tensor("embeddings.position_ids", []int64{1, int64(c.MaxPositions)}, ids))
			seq := x.dim("/embeddings", "input_ids", 1)
			posIDs = b.Op("/embeddings", "Slice", []string{buf, x.constI64("/embeddings/starts", false, 0), seq, x.constI64("/embeddings/axes", false, 1)})
		} else {
			shape := b.Op("/embeddings", "Shape", []string{"input_ids"})
			one := b.ConstInt64("/embeddings/const_1", true, 1)
			zero := b.ConstInt64("/embeddings/const_0", true, 0)
			seqLen := b.Op("/embeddings", "Gather", []string{shape, one}, onnxpb.IntAttr("axis", 0))
			posIDs = b.Op("/embeddings", "Range", []string{zero, seqLen, one})
		}
		pos := b.Op("/embeddings/position_embeddings", "Gather", []string{posEmb, posIDs})
		if typeEmb != "" {
			typ := b.Op("/embeddings/token_type_embeddings", "Gather", []string{typeEmb, "token_type_ids"})
			h = b.Op("/embeddings", "Add", []string{h, typ})
		}
		h = b.Op("/embeddings", "Add", []string{h, pos})
	case ArchXLMR:
		// RoBERTa: position = cumsum(input_ids != pad) * (input_ids != pad) + pad.
		nPos := c.MaxPositions + padID + 1
		posEmb := x.weight("embeddings.position_embeddings.weight", []int64{int64(nPos), H}, 0, 0.02)
		typeEmb := x.weight("embeddings.token_type_embeddings.weight", []int64{1, H}, 0, 0.02)
		var posIDs, typ string
		if x.torch {
			// create_position_ids_from_input_ids: int32 mask, cumsum,
			// type_as, times the mask, long, plus padding_idx.
			pad := x.constI64("/embeddings/padding_idx", true, int64(padID))
			ne := b.Op("/embeddings", "Not", []string{b.Op("/embeddings", "Equal", []string{"input_ids", pad})})
			mi := b.Op("/embeddings", "Cast", []string{ne}, onnxpb.IntAttr("to", int64(onnxpb.Int32)))
			cs := b.Op("/embeddings", "CumSum", []string{mi, x.constI64("/embeddings/cumsum_axis", true, 1)})
			cs = b.Op("/embeddings", "Cast", []string{cs}, onnxpb.IntAttr("to", int64(onnxpb.Int32)))
			inc := b.Op("/embeddings", "Mul", []string{cs, mi})
			inc = b.Op("/embeddings", "Cast", []string{inc}, onnxpb.IntAttr("to", int64(onnxpb.Int64)))
			posIDs = b.Op("/embeddings", "Add", []string{inc, pad})
			// token_type_ids = self.token_type_ids[:, :seq].expand(batch, seq)
			zeros := b.Init(onnxpb.Int64Tensor("embeddings.token_type_ids", []int64{1, int64(c.MaxPositions)}, make([]int64, c.MaxPositions)))
			seq := x.dim("/embeddings", "input_ids", 1)
			tt := b.Op("/embeddings", "Slice", []string{zeros, x.constI64("/embeddings/starts", false, 0), seq, x.constI64("/embeddings/axes", false, 1)})
			tt = b.Op("/embeddings", "Expand", []string{tt, b.Op("/embeddings", "Shape", []string{"input_ids"})})
			typ = b.Op("/embeddings/token_type_embeddings", "Gather", []string{typeEmb, tt})
		} else {
			pad := b.ConstInt64("/embeddings/padding_idx", true, int64(padID))
			axis := b.ConstInt64("/embeddings/cumsum_axis", true, 1)
			eq := b.Op("/embeddings", "Equal", []string{"input_ids", pad})
			ne := b.Op("/embeddings", "Not", []string{eq})
			mi := b.Op("/embeddings", "Cast", []string{ne}, onnxpb.IntAttr("to", int64(onnxpb.Int64)))
			cs := b.Op("/embeddings", "CumSum", []string{mi, axis})
			inc := b.Op("/embeddings", "Mul", []string{cs, mi})
			posIDs = b.Op("/embeddings", "Add", []string{inc, pad})
			typ = typeEmb
		}
		pos := b.Op("/embeddings/position_embeddings", "Gather", []string{posEmb, posIDs})
		h = b.Op("/embeddings", "Add", []string{h, typ})
		h = b.Op("/embeddings", "Add", []string{h, pos})
	}
	return x.layerNorm("/embeddings/LayerNorm", h, "embeddings.LayerNorm")
}

// mulMask is lair's additive mask [batch, 1, 1, sequence]: (1 - mask) *
// -10000 (Cast, Sub, Mul, Unsqueeze), as transformers wrote it before 4.3x.
func (x *gen) mulMask() string {
	b := x.b
	maskF := b.Op("/mask", "Cast", []string{"attention_mask"}, onnxpb.IntAttr("to", int64(onnxpb.Float)))
	inv := b.Op("/mask", "Sub", []string{x.constF("/mask/const_1", 1), maskF})
	add := b.Op("/mask", "Mul", []string{inv, x.constF("/mask/const_neg", -10000)})
	return b.Op("/mask", "Unsqueeze", []string{add, x.constI64("/mask/axes", false, 1, 2)})
}

// whereMask is the 4-D additive mask of current transformers exports
// [batch, 1, sequence, sequence]: the mask expanded, inverted, and
// float32's lowest value where it is 1 (Unsqueeze, Expand, Cast, Sub,
// Cast to bool, Where).
func (x *gen) whereMask() string {
	b := x.b
	m := b.Op("/mask", "Unsqueeze", []string{"attention_mask", x.constI64("/mask/axes1", false, 1)})
	m = b.Op("/mask", "Unsqueeze", []string{m, x.constI64("/mask/axes2", false, 2)})
	bs, seq := x.dim("/mask/batch", "input_ids", 0), x.dim("/mask/seq", "input_ids", 1)
	shape := b.Op("/mask", "Concat", []string{bs, x.constI64("/mask/one", false, 1), seq, seq}, onnxpb.IntAttr("axis", 0))
	m = b.Op("/mask", "Expand", []string{m, shape})
	f := b.Op("/mask", "Cast", []string{m}, onnxpb.IntAttr("to", int64(onnxpb.Float)))
	inv := b.Op("/mask", "Sub", []string{x.constF("/mask/one_f", 1), f})
	cond := b.Op("/mask", "Cast", []string{inv}, onnxpb.IntAttr("to", int64(onnxpb.Bool)))
	return b.Op("/mask", "Where", []string{cond, x.constF("/mask/min", -math.MaxFloat32), inv})
}

// distilMask is DistilBERT's boolean mask (mask == 0) reshaped to
// [batch, 1, 1, sequence]; each layer expands it to the scores and
// writes float32's lowest value there with Where.
func (x *gen) distilMask() string {
	b := x.b
	eq := b.Op("/mask", "Equal", []string{"attention_mask", x.constI64("/mask/zero", true, 0)})
	bs, seq := x.dim("/mask/batch", "attention_mask", 0), x.dim("/mask/seq", "attention_mask", 1)
	one := x.constI64("/mask/one", false, 1)
	shape := b.Op("/mask", "Concat", []string{bs, one, one, seq}, onnxpb.IntAttr("axis", 0))
	return b.Op("/mask", "Reshape", []string{eq, shape})
}

func (x *gen) layer(l int, h, maskAdd, maskBool string) string {
	c, b, H := x.c, x.b, x.H
	nh, hd := int64(c.Heads), H/int64(c.Heads)
	p := fmt.Sprintf("/encoder/layer.%d", l)
	n := fmt.Sprintf("encoder.layer.%d", l)
	if c.Arch == ArchDistilBERT {
		p = fmt.Sprintf("/transformer/layer.%d", l)
	}
	split := func(prefix, y string) string {
		if x.torch {
			shape := b.Op(prefix, "Concat", []string{x.dim(prefix+"/b", y, 0), x.dim(prefix+"/s", y, 1),
				x.constI64(prefix+"/heads", false, nh), x.constI64(prefix+"/head_dim", false, hd)}, onnxpb.IntAttr("axis", 0))
			return b.Op(prefix, "Reshape", []string{y, shape})
		}
		return b.Op(prefix, "Reshape", []string{y, x.constI64(prefix+"/split_shape", false, 0, 0, nh, hd)})
	}
	heads := func(name string, key bool) string {
		y := x.linear(p+"/attention/self/"+name, h, n+".attention.self."+name, c.Hidden, c.Hidden)
		y = split(p+"/attention/self/"+name, y)
		if key && x.torch {
			// transpose_for_scores, then key.transpose(-1, -2)
			y = b.Op(p+"/attention/self/"+name, "Transpose", []string{y}, onnxpb.IntsAttr("perm", 0, 2, 1, 3))
			return b.Op(p+"/attention/self/"+name, "Transpose", []string{y}, onnxpb.IntsAttr("perm", 0, 1, 3, 2))
		}
		if key {
			return b.Op(p+"/attention/self/"+name, "Transpose", []string{y}, onnxpb.IntsAttr("perm", 0, 2, 3, 1))
		}
		return b.Op(p+"/attention/self/"+name, "Transpose", []string{y}, onnxpb.IntsAttr("perm", 0, 2, 1, 3))
	}
	q := heads("query", false)
	k := heads("key", true)
	v := heads("value", false)
	var scale string
	if !x.dynamo || c.Arch == ArchDistilBERT {
		scale = x.constF(p+"/attention/scale", float32(math.Sqrt(float64(hd))))
	}
	var s string
	if c.Arch == ArchDistilBERT {
		q = b.Op(p+"/attention", "Div", []string{q, scale}) // q = q / sqrt(dim_per_head)
		s = b.Op(p+"/attention", "MatMul", []string{q, k})
	} else if x.dynamo {
		// scaled_dot_product_attention: q and k^T each times sqrt(1/sqrt(d))
		half := x.constF(p+"/attention/self/sqrt_scale", float32(math.Sqrt(1/math.Sqrt(float64(hd)))))
		q = b.Op(p+"/attention/self", "Mul", []string{q, half})
		k = b.Op(p+"/attention/self", "Mul", []string{k, half})
		s = b.Op(p+"/attention/self", "MatMul", []string{q, k})
	} else {
		s = b.Op(p+"/attention/self", "MatMul", []string{q, k})
		s = b.Op(p+"/attention/self", "Div", []string{s, scale})
	}
	if maskBool != "" {
		e := b.Op(p+"/attention", "Expand", []string{maskBool, b.Op(p+"/attention", "Shape", []string{s})})
		s = b.Op(p+"/attention", "Where", []string{e, x.constF(p+"/attention/min", -math.MaxFloat32), s})
	} else {
		s = b.Op(p+"/attention/self", "Add", []string{s, maskAdd})
	}
	s = b.Op(p+"/attention/self", "Softmax", []string{s}, onnxpb.IntAttr("axis", -1))
	ctx := b.Op(p+"/attention/self", "MatMul", []string{s, v})
	ctx = b.Op(p+"/attention/self", "Transpose", []string{ctx}, onnxpb.IntsAttr("perm", 0, 2, 1, 3))
	if x.torch {
		shape := b.Op(p+"/attention/self", "Concat", []string{x.dim(p+"/attention/self/b", ctx, 0), x.dim(p+"/attention/self/s", ctx, 1),
			x.constI64(p+"/attention/self/hidden", false, H)}, onnxpb.IntAttr("axis", 0))
		ctx = b.Op(p+"/attention/self", "Reshape", []string{ctx, shape})
	} else {
		ctx = b.Op(p+"/attention/self", "Reshape", []string{ctx, x.constI64(p+"/attention/merge_shape", false, 0, 0, H)})
	}
	o := x.linear(p+"/attention/output/dense", ctx, n+".attention.output.dense", c.Hidden, c.Hidden)
	o = b.Op(p+"/attention/output", "Add", []string{o, h})
	h = x.layerNorm(p+"/attention/output/LayerNorm", o, n+".attention.output.LayerNorm")

	f := x.linear(p+"/intermediate/dense", h, n+".intermediate.dense", c.Hidden, c.Intermediate)
	f = x.gelu(p+"/intermediate/gelu", f)
	f = x.linear(p+"/output/dense", f, n+".output.dense", c.Intermediate, c.Hidden)
	f = b.Op(p+"/output", "Add", []string{f, h})
	return x.layerNorm(p+"/output/LayerNorm", f, n+".output.LayerNorm")
}

func (x *gen) gelu(p, h string) string {
	b := x.b
	if x.c.Style.GELU == "tanh" {
		// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
		e := b.Op(p, "Pow", []string{h, x.constF(p+"/three", 3)})
		e = b.Op(p, "Mul", []string{e, x.constF(p+"/c", 0.044715)})
		e = b.Op(p, "Add", []string{h, e})
		e = b.Op(p, "Mul", []string{e, x.constF(p+"/sqrt_2_over_pi", float32(math.Sqrt(2/math.Pi)))})
		e = b.Op(p, "Tanh", []string{e})
		e = b.Op(p, "Add", []string{e, x.constF(p+"/one", 1)})
		e = b.Op(p, "Mul", []string{h, e})
		return b.Op(p, "Mul", []string{e, x.constF(p+"/half", 0.5)})
	}
	var e string
	if x.dynamo {
		e = b.Op(p, "Mul", []string{h, x.constF(p+"/rsqrt2", float32(1/math.Sqrt2))})
	} else {
		e = b.Op(p, "Div", []string{h, x.constF(p+"/sqrt2", float32(math.Sqrt2))})
	}
	e = b.Op(p, "Erf", []string{e})
	e = b.Op(p, "Add", []string{e, x.constF(p+"/one", 1)})
	e = b.Op(p, "Mul", []string{h, e})
	return b.Op(p, "Mul", []string{e, x.constF(p+"/half", 0.5)})
}

// Variant is one graph style tests run on: an architecture written the way
// one exporter writes it.
type Variant struct {
	Name  string
	Arch  string
	Style Style
}

// Apply returns base with the variant's architecture and style.
func (v Variant) Apply(base Config) Config {
	base.Arch, base.Style = v.Arch, v.Style
	return base
}

// Variants lists the graph styles that load, encode and fine-tuning tests
// run on: lair's own graph of every architecture, then the patterns of
// torch.onnx exports (BERT with a pooler; LayerNormalization decomposed at
// opset 14; XLM-R with CumSum position ids, tanh GELU; DistilBERT; a
// sentence-transformers token_embeddings output; weights in external data,
// with the threshold lowered so a small model takes that path).
func Variants() []Variant {
	var out []Variant
	for _, a := range Architectures {
		out = append(out, Variant{Name: a, Arch: a})
	}
	torch := Style{Exporter: StyleTorch}
	with := func(f func(*Style)) Style {
		s := torch
		f(&s)
		return s
	}
	return append(out,
		Variant{"torch-bert", ArchBERT, with(func(s *Style) { s.Pooler = true })},
		Variant{"torch-bert-opset14", ArchBERT, with(func(s *Style) { s.LayerNorm = "decomposed" })},
		Variant{"torch-xlmr", ArchXLMR, with(func(s *Style) { s.Pooler = true })},
		Variant{"torch-xlmr-tanh-opset14", ArchXLMR, with(func(s *Style) { s.GELU, s.LayerNorm = "tanh", "decomposed" })},
		Variant{"torch-distilbert", ArchDistilBERT, torch},
		Variant{"torch-bert-token-embeddings", ArchBERT, with(func(s *Style) { s.Output = "token_embeddings" })},
		Variant{"torch-xlmr-external-data", ArchXLMR, with(func(s *Style) { s.ExternalThreshold = 1 << 10 })},
		Variant{"torch-bert-initializers-as-inputs", ArchBERT, with(func(s *Style) { s.InitializersAsInputs = true })},
		Variant{"dynamo-bert", ArchBERT, Style{Exporter: StyleDynamo, Pooler: true}},
		Variant{"dynamo-xlmr-opset18-decomposed", ArchXLMR, Style{Exporter: StyleDynamo, LayerNorm: "decomposed"}},
		Variant{"dynamo-distilbert", ArchDistilBERT, Style{Exporter: StyleDynamo}},
	)
}
