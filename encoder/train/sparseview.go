package train

import (
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
// the copy: nothing in it reads them. ok is false when the graph has no such
// Gather (the model then trains densely).
func sparseView(data []byte, trainable func(onnxName string) (int, bool)) (view []byte, tables []SparseTable, err error) {
	msg, err := parseModelProto(data)
	if err != nil {
		return nil, nil, err
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
		return nil, nil, nil
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
		return nil, nil, nil
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
		return nil, nil, fmt.Errorf("train: write the sparse training view: %w", err)
	}
	return view, tables, nil
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
