package onnxpb

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// maxDepth bounds nested messages (tensors inside attributes) so hostile
// input cannot exhaust the stack.
const maxDepth = 16

// Decode parses an ONNX ModelProto. Fields outside the supported subset are
// skipped; malformed input gives an error naming the message and field.
func Decode(b []byte) (*Model, error) { return decode(b, true) }

// DecodeStructure parses a ModelProto like Decode but keeps no tensor data:
// initializers keep their names, types and dims (and RawSize), not their
// values. Use it to inspect large models cheaply.
func DecodeStructure(b []byte) (*Model, error) { return decode(b, false) }

func decode(b []byte, keepData bool) (*Model, error) {
	m := &Model{}
	err := walk(b, "ModelProto", func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		var err error
		switch num {
		case fModelIRVersion:
			m.IRVersion = int64(x)
		case fModelProducerName:
			m.ProducerName = string(v)
		case fModelProducerVersion:
			m.ProducerVersion = string(v)
		case fModelDomain:
			m.Domain = string(v)
		case fModelModelVersion:
			m.ModelVersion = int64(x)
		case fModelDocString:
			m.DocString = string(v)
		case fModelGraph:
			err = decodeGraph(v, &m.Graph, 1, keepData)
		case fModelOpsetImport:
			var o OpsetID
			err = walk(v, "OperatorSetIdProto", func(num protowire.Number, _ protowire.Type, v []byte, x uint64) error {
				switch num {
				case fOpsetDomain:
					o.Domain = string(v)
				case fOpsetVersion:
					o.Version = int64(x)
				}
				return nil
			})
			m.Opsets = append(m.Opsets, o)
		case fModelMetadataProps:
			var kv StringPair
			err = walk(v, "StringStringEntryProto", func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
				switch num {
				case fEntryKey:
					kv.Key = string(v)
				case fEntryValue:
					kv.Value = string(v)
				}
				return nil
			})
			m.Metadata = append(m.Metadata, kv)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func decodeGraph(b []byte, g *Graph, depth int, keepData bool) error {
	if depth > maxDepth {
		return errors.New("onnx: messages nested too deeply")
	}
	return walk(b, "GraphProto", func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
		switch num {
		case fGraphNode:
			var n Node
			if err := decodeNode(v, &n, depth+1); err != nil {
				return err
			}
			g.Nodes = append(g.Nodes, n)
		case fGraphName:
			g.Name = string(v)
		case fGraphInitializer:
			var t Tensor
			if err := decodeTensor(v, &t, keepData); err != nil {
				return err
			}
			g.Initializers = append(g.Initializers, t)
		case fGraphDocString:
			g.DocString = string(v)
		case fGraphInput, fGraphOutput, fGraphValueInfo:
			var vi ValueInfo
			if err := decodeValueInfo(v, &vi); err != nil {
				return err
			}
			switch num {
			case fGraphInput:
				g.Inputs = append(g.Inputs, vi)
			case fGraphOutput:
				g.Outputs = append(g.Outputs, vi)
			default:
				g.ValueInfo = append(g.ValueInfo, vi)
			}
		}
		return nil
	})
}

func decodeNode(b []byte, n *Node, depth int) error {
	return walk(b, "NodeProto", func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
		switch num {
		case fNodeInput:
			n.Inputs = append(n.Inputs, string(v))
		case fNodeOutput:
			n.Outputs = append(n.Outputs, string(v))
		case fNodeName:
			n.Name = string(v)
		case fNodeOpType:
			n.OpType = string(v)
		case fNodeDomain:
			n.Domain = string(v)
		case fNodeAttribute:
			var a Attribute
			if err := decodeAttr(v, &a, depth+1); err != nil {
				return fmt.Errorf("node %q: %w", n.Name, err)
			}
			n.Attrs = append(n.Attrs, a)
		}
		return nil
	})
}

func decodeAttr(b []byte, a *Attribute, depth int) error {
	if depth > maxDepth {
		return errors.New("onnx: messages nested too deeply")
	}
	return walk(b, "AttributeProto", func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case fAttrName:
			a.Name = string(v)
		case fAttrF:
			a.F = math.Float32frombits(uint32(x))
		case fAttrI:
			a.I = int64(x)
		case fAttrS:
			a.S = append([]byte(nil), v...)
		case fAttrT:
			a.T = &Tensor{}
			return decodeTensor(v, a.T, true)
		case fAttrFloats:
			return repeatedFixed32(typ, v, x, func(u uint32) { a.Floats = append(a.Floats, math.Float32frombits(u)) })
		case fAttrInts:
			return repeatedVarint(typ, v, x, func(u uint64) { a.Ints = append(a.Ints, int64(u)) })
		case fAttrStrings:
			a.Strings = append(a.Strings, append([]byte(nil), v...))
		case fAttrType:
			a.Type = AttrType(x)
		}
		return nil
	})
}

func decodeTensor(b []byte, t *Tensor, keepData bool) error {
	return walk(b, "TensorProto", func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case fTensorDims:
			return repeatedVarint(typ, v, x, func(u uint64) { t.Dims = append(t.Dims, int64(u)) })
		case fTensorDataType:
			t.DataType = DataType(x)
		case fTensorFloatData:
			return repeatedFixed32(typ, v, x, func(u uint32) { t.FloatData = append(t.FloatData, math.Float32frombits(u)) })
		case fTensorInt32Data:
			return repeatedVarint(typ, v, x, func(u uint64) { t.Int32Data = append(t.Int32Data, int32(u)) })
		case fTensorInt64Data:
			return repeatedVarint(typ, v, x, func(u uint64) { t.Int64Data = append(t.Int64Data, int64(u)) })
		case fTensorName:
			t.Name = string(v)
		case fTensorRawData:
			t.RawSize = int64(len(v))
			if keepData {
				t.Raw = append([]byte{}, v...)
			}
		case fTensorExternalData:
			var kv StringPair
			err := walk(v, "StringStringEntryProto", func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
				switch num {
				case fEntryKey:
					kv.Key = string(v)
				case fEntryValue:
					kv.Value = string(v)
				}
				return nil
			})
			t.ExternalData = append(t.ExternalData, kv)
			return err
		case fTensorDataLocation:
			t.External = x == 1
		}
		return nil
	})
}

func decodeValueInfo(b []byte, vi *ValueInfo) error {
	return walk(b, "ValueInfoProto", func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
		switch num {
		case fValueInfoName:
			vi.Name = string(v)
		case fValueInfoType:
			return walk(v, "TypeProto", func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
				if num != fTypeTensor {
					return nil
				}
				return walk(v, "TypeProto.Tensor", func(num protowire.Number, _ protowire.Type, v []byte, x uint64) error {
					switch num {
					case fTensorTypeElem:
						vi.ElemType = DataType(x)
					case fTensorTypeShape:
						vi.Shape = []Dim{}
						return walk(v, "TensorShapeProto", func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
							if num != fShapeDim {
								return nil
							}
							var d Dim
							err := walk(v, "TensorShapeProto.Dimension", func(num protowire.Number, _ protowire.Type, v []byte, x uint64) error {
								switch num {
								case fDimValue:
									d.Value = int64(x)
								case fDimParam:
									d.Param = string(v)
								}
								return nil
							})
							vi.Shape = append(vi.Shape, d)
							return err
						})
					}
					return nil
				})
			})
		}
		return nil
	})
}

// walk calls f for every field of a message: v holds the bytes of a
// length-delimited field, x the value of a varint or fixed field.
func walk(b []byte, msg string, f func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("onnx: %s: bad field tag: %w", msg, protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var u uint32
			u, n = protowire.ConsumeFixed32(b)
			x = uint64(u)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("onnx: %s field %d: %w", msg, num, protowire.ParseError(n))
		}
		b = b[n:]
		if typ == protowire.StartGroupType || typ == protowire.EndGroupType {
			continue
		}
		if err := f(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

// repeatedVarint handles a repeated varint field, packed or not.
func repeatedVarint(typ protowire.Type, v []byte, x uint64, add func(uint64)) error {
	if typ == protowire.VarintType {
		add(x)
		return nil
	}
	if typ != protowire.BytesType {
		return fmt.Errorf("onnx: repeated integer field has wire type %d", typ)
	}
	for len(v) > 0 {
		u, n := protowire.ConsumeVarint(v)
		if n < 0 {
			return fmt.Errorf("onnx: packed integers: %w", protowire.ParseError(n))
		}
		add(u)
		v = v[n:]
	}
	return nil
}

// repeatedFixed32 handles a repeated float field, packed or not.
func repeatedFixed32(typ protowire.Type, v []byte, x uint64, add func(uint32)) error {
	if typ == protowire.Fixed32Type {
		add(uint32(x))
		return nil
	}
	if typ != protowire.BytesType {
		return fmt.Errorf("onnx: repeated float field has wire type %d", typ)
	}
	if len(v)%4 != 0 {
		return fmt.Errorf("onnx: packed floats: %d bytes is not a multiple of 4", len(v))
	}
	for len(v) > 0 {
		u, n := protowire.ConsumeFixed32(v)
		if n < 0 {
			return fmt.Errorf("onnx: packed floats: %w", protowire.ParseError(n))
		}
		add(u)
		v = v[n:]
	}
	return nil
}
