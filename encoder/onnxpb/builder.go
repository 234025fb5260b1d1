package onnxpb

import "fmt"

// Builder appends nodes and initializers to a graph, naming intermediate
// values uniquely.
type Builder struct {
	G     *Graph
	count map[string]int
}

// NewBuilder returns a builder for g.
func NewBuilder(g *Graph) *Builder { return &Builder{G: g, count: map[string]int{}} }

// Op adds a node with one output and returns the output's name. The node and
// its output are named after prefix (e.g. "/encoder/layer.0/attention/MatMul").
func (b *Builder) Op(prefix, opType string, inputs []string, attrs ...Attribute) string {
	return b.OpN(prefix, opType, inputs, 1, attrs...)[0]
}

// OpN adds a node with n outputs.
func (b *Builder) OpN(prefix, opType string, inputs []string, n int, attrs ...Attribute) []string {
	name := prefix + "/" + opType
	if c := b.count[name]; c > 0 {
		name = fmt.Sprintf("%s_%d", name, c)
	}
	b.count[prefix+"/"+opType]++
	outs := make([]string, n)
	for i := range outs {
		outs[i] = fmt.Sprintf("%s_output_%d", name, i)
	}
	b.G.Nodes = append(b.G.Nodes, Node{Name: name, OpType: opType, Inputs: inputs, Outputs: outs, Attrs: attrs})
	return outs
}

// Init adds an initializer and returns its name.
func (b *Builder) Init(t Tensor) string {
	b.G.Initializers = append(b.G.Initializers, t)
	return t.Name
}

// ConstInt64 adds an int64 initializer holding vals (a 1-D tensor, or a
// scalar when scalar is true) named after prefix, and returns its name.
func (b *Builder) ConstInt64(name string, scalar bool, vals ...int64) string {
	dims := []int64{int64(len(vals))}
	if scalar {
		dims = nil
	}
	return b.Init(Int64Tensor(name, dims, vals))
}

// ConstFloat adds a float32 scalar initializer.
func (b *Builder) ConstFloat(name string, v float32) string {
	return b.Init(FloatTensor(name, nil, []float32{v}))
}

// IntAttr returns an int attribute.
func IntAttr(name string, v int64) Attribute { return Attribute{Name: name, Type: AttrInt, I: v} }

// FloatAttr returns a float attribute.
func FloatAttr(name string, v float32) Attribute {
	return Attribute{Name: name, Type: AttrFloat, F: v}
}

// IntsAttr returns an ints attribute.
func IntsAttr(name string, v ...int64) Attribute {
	return Attribute{Name: name, Type: AttrInts, Ints: v}
}

// StringAttr returns a string attribute.
func StringAttr(name, v string) Attribute {
	return Attribute{Name: name, Type: AttrString, S: []byte(v)}
}

// TensorAttr returns a tensor attribute.
func TensorAttr(name string, t Tensor) Attribute {
	return Attribute{Name: name, Type: AttrTensor, T: &t}
}
