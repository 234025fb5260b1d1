package train

import (
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// SparseTable is an embedding table that is trained with sparse updates:
// the training graph receives the rows a batch uses instead of the whole
// table, so its gradient is (row ids, row gradients) and the optimiser
// touches those rows only.
type SparseTable struct {
	Trainable int    // index into Model.Trainable
	Name      string // the ONNX initializer
	Output    string // the ONNX value its Gather produced; a graph input of the training view
	Rows, Dim int
}

// The ONNX graph input that indexes the tables trained sparsely.
const sparseIDsInput = "input_ids"

// onnxProtoName is the ModelProto message that onnx-gomlx registers
// (package "protos" of its onnx-ml.proto). lair edits the graph through
// protobuf reflection, so every field of the file is kept as it was.
const onnxProtoName = "protos.ModelProto"

// sparseView finds every Gather of a trainable 2-D float initializer by the
// graph input input_ids (axis 0), and returns a copy of the model in which
// that Gather is gone and its output is a graph input instead (the step
// feeds the gathered rows there). The tables' initializers are dropped from
// the copy: nothing in it reads them. tables is empty when the graph has no
// such Gather (the model then trains densely).
//
// When output (the token states lair pools) is exactly a table's rows
// times the attention mask (see outputMaskMul: a static model's graph), the
// view returns the rows unmasked: lair's pooling multiplies by the same 0/1
// mask again, so pooled embeddings, losses and gradients are bit for bit
// the same, and the step saves a broadcast multiply and its gradient (a
// quarter of the static model's step). rowsOut reports it.
func sparseView(data []byte, output string, trainable func(onnxName string) (int, bool)) (view []byte, tables []SparseTable, rowsOut bool, err error) {
	msg, err := parseModelProto(data)
	if err != nil {
		return nil, nil, false, err
	}
	graph := msg.Mutable(field(msg, "graph")).Message()
	nodes := graph.Mutable(field(graph, "node")).List()
	inits := graph.Mutable(field(graph, "initializer")).List()
	inputs := graph.Mutable(field(graph, "input")).List()

	type initInfo struct {
		dims  []int64
		float bool
	}
	initByName := map[string]initInfo{}
	for i := 0; i < inits.Len(); i++ {
		t := inits.Get(i).Message()
		var dims []int64
		dl := t.Get(field(t, "dims")).List()
		for j := 0; j < dl.Len(); j++ {
			dims = append(dims, dl.Get(j).Int())
		}
		initByName[t.Get(field(t, "name")).String()] = initInfo{dims: dims, float: t.Get(field(t, "data_type")).Int() == 1}
	}
	var idsInput protoreflect.Message
	for i := 0; i < inputs.Len(); i++ {
		in := inputs.Get(i).Message()
		if in.Get(field(in, "name")).String() == sparseIDsInput {
			idsInput = in
		}
	}
	if idsInput == nil {
		return nil, nil, false, nil
	}
	// Names every node reads, to be sure a table is used by its Gather only.
	uses := map[string]int{}
	for i := 0; i < nodes.Len(); i++ {
		n := nodes.Get(i).Message()
		il := n.Get(field(n, "input")).List()
		for j := 0; j < il.Len(); j++ {
			uses[il.Get(j).String()]++
		}
	}
	var keep []protoreflect.Value
	dropped := map[string]bool{}
	for i := 0; i < nodes.Len(); i++ {
		n := nodes.Get(i).Message()
		in := n.Get(field(n, "input")).List()
		out := n.Get(field(n, "output")).List()
		if n.Get(field(n, "op_type")).String() != "Gather" || in.Len() != 2 || out.Len() != 1 ||
			in.Get(1).String() != sparseIDsInput || gatherAxis(n) != 0 {
			keep = append(keep, nodes.Get(i))
			continue
		}
		name := in.Get(0).String()
		info, isInit := initByName[name]
		ti, isTrainable := trainable(name)
		if !isInit || !isTrainable || !info.float || len(info.dims) != 2 || uses[name] != 1 {
			keep = append(keep, nodes.Get(i))
			continue
		}
		outName := out.Get(0).String()
		tables = append(tables, SparseTable{Trainable: ti, Name: name, Output: outName, Rows: int(info.dims[0]), Dim: int(info.dims[1])})
		dropped[name] = true
		// The Gather's output becomes a graph input: input_ids' shape + [Dim].
		vi := proto.Clone(idsInput.Interface()).ProtoReflect()
		vi.Set(field(vi, "name"), protoreflect.ValueOfString(outName))
		tp := vi.Mutable(field(vi, "type")).Message()
		tt := tp.Mutable(field(tp, "tensor_type")).Message()
		tt.Set(field(tt, "elem_type"), protoreflect.ValueOfInt32(1)) // FLOAT
		sh := tt.Mutable(field(tt, "shape")).Message()
		dl := sh.Mutable(field(sh, "dim")).List()
		d := dl.NewElement()
		d.Message().Set(field(d.Message(), "dim_value"), protoreflect.ValueOfInt64(info.dims[1]))
		dl.Append(d)
		inputs.Append(protoreflect.ValueOfMessage(vi))
	}
	if len(tables) == 0 {
		return nil, nil, false, nil
	}
	if i := outputMaskMul(keep, inits, tables, output); i >= 0 {
		// output = Identity(rows): the Mul's other input (the mask) is left
		// to nothing; onnx-gomlx converts only what the output needs.
		n := keep[i].Message()
		n.Set(field(n, "op_type"), protoreflect.ValueOfString("Identity"))
		in := n.Get(field(n, "input")).List()
		if in.Get(0).String() != tables[0].Output {
			in.Set(0, in.Get(1))
		}
		in.Truncate(1)
		rowsOut = true
	}
	nodes.Truncate(0)
	for _, v := range keep {
		nodes.Append(v)
	}
	var keepInits []protoreflect.Value
	for i := 0; i < inits.Len(); i++ {
		t := inits.Get(i).Message()
		if !dropped[t.Get(field(t, "name")).String()] {
			keepInits = append(keepInits, inits.Get(i))
		}
	}
	inits.Truncate(0)
	for _, v := range keepInits {
		inits.Append(v)
	}
	view, err = proto.Marshal(msg.Interface())
	if err != nil {
		return nil, nil, false, fmt.Errorf("train: write the sparse training view: %w", err)
	}
	return view, tables, rowsOut, nil
}

// parseModelProto decodes an ONNX file into onnx-gomlx's ModelProto
// message, for edits through protobuf reflection.
func parseModelProto(data []byte) (protoreflect.Message, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(onnxProtoName)
	if err != nil {
		return nil, fmt.Errorf("train: onnx-gomlx's %s is not registered: %w", onnxProtoName, err)
	}
	msg := mt.New()
	if err := proto.Unmarshal(data, msg.Interface()); err != nil {
		return nil, fmt.Errorf("train: parse ONNX: %w", err)
	}
	return msg, nil
}

// gatherAxis is the Gather node's axis attribute (0 when absent).
func gatherAxis(n protoreflect.Message) int64 {
	al := n.Get(field(n, "attribute")).List()
	for i := 0; i < al.Len(); i++ {
		a := al.Get(i).Message()
		if a.Get(field(a, "name")).String() == "axis" {
			return a.Get(field(a, "i")).Int()
		}
	}
	return 0
}

func field(m protoreflect.Message, name string) protoreflect.FieldDescriptor {
	fd := m.Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil {
		panic(fmt.Sprintf("train: ONNX proto message %s has no field %q", m.Descriptor().FullName(), name))
	}
	return fd
}

// outputMaskMul returns the index in nodes of the node that computes
// output as Mul(rows, mask), where rows is the only table's gathered rows
// (read by nothing else) and mask is Unsqueeze(Cast(attention_mask, to
// FLOAT), axes [-1] or [2]) or the same with Cast and Unsqueeze swapped:
// the [batch, seq, 1] 0/1 mask. It returns -1 for any other graph.
func outputMaskMul(nodes []protoreflect.Value, inits protoreflect.List, tables []SparseTable, output string) int {
	if len(tables) != 1 || output == "" {
		return -1
	}
	rows := tables[0].Output
	producer := map[string]protoreflect.Message{}
	reads := map[string]int{}
	for _, v := range nodes {
		n := v.Message()
		ol := n.Get(field(n, "output")).List()
		for j := 0; j < ol.Len(); j++ {
			producer[ol.Get(j).String()] = n
		}
		il := n.Get(field(n, "input")).List()
		for j := 0; j < il.Len(); j++ {
			reads[il.Get(j).String()]++
		}
	}
	if reads[rows] != 1 {
		return -1
	}
	at := -1
	for i, v := range nodes {
		n := v.Message()
		ol := n.Get(field(n, "output")).List()
		if ol.Len() == 1 && ol.Get(0).String() == output {
			at = i
		}
	}
	if at < 0 {
		return -1
	}
	mul := nodes[at].Message()
	in := mul.Get(field(mul, "input")).List()
	if mul.Get(field(mul, "op_type")).String() != "Mul" || in.Len() != 2 {
		return -1
	}
	var mask string
	switch {
	case in.Get(0).String() == rows:
		mask = in.Get(1).String()
	case in.Get(1).String() == rows:
		mask = in.Get(0).String()
	default:
		return -1
	}
	// Walk back from mask: one Cast to float and one Unsqueeze of the last
	// axis, in either order, down to the graph input attention_mask.
	casts, unsqueezes := 0, 0
	for name := mask; name != "attention_mask"; {
		n, ok := producer[name]
		if !ok {
			return -1
		}
		il := n.Get(field(n, "input")).List()
		if il.Len() == 0 {
			return -1
		}
		switch n.Get(field(n, "op_type")).String() {
		case "Cast":
			if intAttr(n, "to") != 1 { // FLOAT
				return -1
			}
			casts++
		case "Unsqueeze":
			axes, ok := intsAttr(n, "axes")
			if !ok && il.Len() == 2 {
				axes, ok = int64Initializer(inits, producer, il.Get(1).String())
			}
			if !ok || len(axes) != 1 || (axes[0] != -1 && axes[0] != 2) {
				return -1
			}
			unsqueezes++
		default:
			return -1
		}
		name = il.Get(0).String()
	}
	if casts != 1 || unsqueezes != 1 {
		return -1
	}
	return at
}

// intAttr is the int attribute name of node n (0 when absent).
func intAttr(n protoreflect.Message, name string) int64 {
	al := n.Get(field(n, "attribute")).List()
	for i := 0; i < al.Len(); i++ {
		a := al.Get(i).Message()
		if a.Get(field(a, "name")).String() == name {
			return a.Get(field(a, "i")).Int()
		}
	}
	return 0
}

// intsAttr is the ints attribute name of node n.
func intsAttr(n protoreflect.Message, name string) ([]int64, bool) {
	al := n.Get(field(n, "attribute")).List()
	for i := 0; i < al.Len(); i++ {
		a := al.Get(i).Message()
		if a.Get(field(a, "name")).String() == name {
			var out []int64
			l := a.Get(field(a, "ints")).List()
			for j := 0; j < l.Len(); j++ {
				out = append(out, l.Get(j).Int())
			}
			return out, true
		}
	}
	return nil, false
}

// int64Initializer returns the values of an INT64 tensor named name: an
// initializer or the value of a Constant node.
func int64Initializer(inits protoreflect.List, producer map[string]protoreflect.Message, name string) ([]int64, bool) {
	var t protoreflect.Message
	for i := 0; i < inits.Len(); i++ {
		if m := inits.Get(i).Message(); m.Get(field(m, "name")).String() == name {
			t = m
		}
	}
	if n, ok := producer[name]; ok && t == nil && n.Get(field(n, "op_type")).String() == "Constant" {
		al := n.Get(field(n, "attribute")).List()
		for i := 0; i < al.Len(); i++ {
			if a := al.Get(i).Message(); a.Get(field(a, "name")).String() == "value" {
				t = a.Get(field(a, "t")).Message()
			}
		}
	}
	if t == nil || t.Get(field(t, "data_type")).Int() != 7 { // INT64
		return nil, false
	}
	var out []int64
	l := t.Get(field(t, "int64_data")).List()
	for j := 0; j < l.Len(); j++ {
		out = append(out, l.Get(j).Int())
	}
	if raw := t.Get(field(t, "raw_data")).Bytes(); len(raw) > 0 {
		if len(out) > 0 || len(raw)%8 != 0 {
			return nil, false
		}
		for j := 0; j < len(raw); j += 8 {
			out = append(out, int64(binary.LittleEndian.Uint64(raw[j:])))
		}
	}
	return out, true
}
