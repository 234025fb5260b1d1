package train

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gomlx/onnx-gomlx/onnx/parser"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/lair-ir/lair/encoder/onnxpb"
)

// Precision is the number format of the encoder's matrix products while it
// trains.
type Precision string

// Precisions.
const (
	// FP32 runs the whole graph in float32 (on cuda, XLA uses TF32 tensor
	// cores for float32 matrix products).
	FP32 Precision = "fp32"
	// BF16 is mixed precision as torch.autocast does it: every MatMul of
	// the graph reads its operands cast to bfloat16 and its product is cast
	// back to float32; weights, AdamW moments, layer norms, softmax, the
	// loss and the exported model stay float32.
	BF16 Precision = "bf16"
)

// Precisions lists the precisions SetPrecision accepts.
var Precisions = []Precision{FP32, BF16}

// ONNX TensorProto data types used by the rewrite.
const (
	onnxFloat    = 1
	onnxBFloat16 = 16
)

// SetPrecision makes the training graph run its matrix products in p. It
// re-reads the model's ONNX file and rewrites the graph the steps run (see
// castMatMuls); the weights in the store, the trainable set and the file
// Export writes into are unchanged. Call it before NewTrainer.
func (m *Model) SetPrecision(p Precision) error {
	switch p {
	case "", FP32:
		if m.Precision == BF16 {
			return fmt.Errorf("train: %s: precision cannot go back from bf16 to fp32; load the model again", m.path)
		}
		m.Precision = FP32
		return nil
	case BF16:
	default:
		return fmt.Errorf("train: precision %q: want one of %v", p, Precisions)
	}
	if m.Precision == BF16 {
		return nil
	}
	raw, err := os.ReadFile(m.path)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if raw, _, err = onnxpb.DropInitializerInputs(raw); err != nil {
		return fmt.Errorf("train: %s: %w", m.path, err)
	}
	mixed, n, err := castMatMuls(raw, onnxBFloat16)
	if err != nil {
		return fmt.Errorf("train: %s: precision bf16: %w", m.path, err)
	}
	if n == 0 {
		return fmt.Errorf("train: %s: precision bf16: the graph has no float MatMul to run in bfloat16 (its products are "+
			"Gemm or other ops); use precision: fp32", m.path)
	}
	om, err := parser.Parse(mixed)
	if err != nil {
		return fmt.Errorf("train: parse the bf16 training graph of %s: %w", m.path, err)
	}
	om.WithBaseDir(filepath.Dir(m.path))
	om.DisableFusion()
	sparse := len(m.Sparse) > 0
	m.ONNX, m.view, m.Sparse, m.viewRows = om, nil, nil, false
	if sparse {
		if err := m.loadSparseView(mixed, m.Output); err != nil {
			return err
		}
	}
	m.Precision, m.MixedMatMuls = BF16, n
	return nil
}

// castMatMuls returns a copy of the model in which every MatMul reads its
// two operands through Cast(to=dtype) and writes its product through a Cast
// back to float32 under the original output name, so the rest of the graph
// is unchanged. An operand read by several MatMuls is cast once. n is the
// number of MatMuls rewritten.
func castMatMuls(data []byte, dtype int64) (out []byte, n int, err error) {
	msg, err := parseModelProto(data)
	if err != nil {
		return nil, 0, err
	}
	graph := msg.Mutable(field(msg, "graph")).Message()
	nodes := graph.Mutable(field(graph, "node")).List()
	suffix := fmt.Sprintf("__lair_cast%d", dtype)
	cast := func(name, in, out string, to int64) protoreflect.Value {
		v := nodes.NewElement()
		c := v.Message()
		c.Set(field(c, "name"), protoreflect.ValueOfString(name))
		c.Set(field(c, "op_type"), protoreflect.ValueOfString("Cast"))
		c.Mutable(field(c, "input")).List().Append(protoreflect.ValueOfString(in))
		c.Mutable(field(c, "output")).List().Append(protoreflect.ValueOfString(out))
		al := c.Mutable(field(c, "attribute")).List()
		a := al.NewElement()
		am := a.Message()
		am.Set(field(am, "name"), protoreflect.ValueOfString("to"))
		am.Set(field(am, "type"), protoreflect.ValueOfEnum(2)) // AttributeProto.INT
		am.Set(field(am, "i"), protoreflect.ValueOfInt64(to))
		al.Append(a)
		return v
	}
	cast2 := map[string]string{} // operand -> its cast
	var keep []protoreflect.Value
	for i := 0; i < nodes.Len(); i++ {
		nd := nodes.Get(i).Message()
		in := nd.Get(field(nd, "input")).List()
		outs := nd.Get(field(nd, "output")).List()
		if nd.Get(field(nd, "op_type")).String() != "MatMul" || nd.Get(field(nd, "domain")).String() != "" ||
			in.Len() != 2 || outs.Len() != 1 {
			keep = append(keep, nodes.Get(i))
			continue
		}
		n++
		for j := 0; j < 2; j++ {
			op := in.Get(j).String()
			c, ok := cast2[op]
			if !ok {
				c = op + suffix
				cast2[op] = c
				keep = append(keep, cast(fmt.Sprintf("lair_cast%d_%d_%d", dtype, n, j), op, c, dtype))
			}
			in.Set(j, protoreflect.ValueOfString(c))
		}
		y := outs.Get(0).String()
		outs.Set(0, protoreflect.ValueOfString(y+suffix))
		keep = append(keep, nodes.Get(i), cast(fmt.Sprintf("lair_cast%d_%d_out", dtype, n), y+suffix, y, onnxFloat))
	}
	if n == 0 {
		return data, 0, nil
	}
	nodes.Truncate(0)
	for _, v := range keep {
		nodes.Append(v)
	}
	out, err = proto.Marshal(msg.Interface())
	if err != nil {
		return nil, 0, fmt.Errorf("write the mixed-precision graph: %w", err)
	}
	return out, n, nil
}
