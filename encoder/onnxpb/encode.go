package onnxpb

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers from onnx.proto (ONNX IR version 8/9).
const (
	// ModelProto
	fModelIRVersion       = 1
	fModelProducerName    = 2
	fModelProducerVersion = 3
	fModelDomain          = 4
	fModelModelVersion    = 5
	fModelDocString       = 6
	fModelGraph           = 7
	fModelOpsetImport     = 8
	fModelMetadataProps   = 14
	// OperatorSetIdProto
	fOpsetDomain  = 1
	fOpsetVersion = 2
	// StringStringEntryProto
	fEntryKey   = 1
	fEntryValue = 2
	// GraphProto
	fGraphNode        = 1
	fGraphName        = 2
	fGraphInitializer = 5
	fGraphDocString   = 10
	fGraphInput       = 11
	fGraphOutput      = 12
	fGraphValueInfo   = 13
	// NodeProto
	fNodeInput     = 1
	fNodeOutput    = 2
	fNodeName      = 3
	fNodeOpType    = 4
	fNodeAttribute = 5
	fNodeDomain    = 7
	// AttributeProto
	fAttrName    = 1
	fAttrF       = 2
	fAttrI       = 3
	fAttrS       = 4
	fAttrT       = 5
	fAttrFloats  = 7
	fAttrInts    = 8
	fAttrStrings = 9
	fAttrType    = 20
	// TensorProto
	fTensorDims         = 1
	fTensorDataType     = 2
	fTensorFloatData    = 4
	fTensorInt32Data    = 5
	fTensorInt64Data    = 7
	fTensorName         = 8
	fTensorRawData      = 9
	fTensorExternalData = 13
	fTensorDataLocation = 14
	// ValueInfoProto
	fValueInfoName = 1
	fValueInfoType = 2
	// TypeProto
	fTypeTensor = 1
	// TypeProto.Tensor
	fTensorTypeElem  = 1
	fTensorTypeShape = 2
	// TensorShapeProto
	fShapeDim = 1
	// TensorShapeProto.Dimension
	fDimValue = 1
	fDimParam = 2
)

// Encode serialises m as an ONNX ModelProto.
func Encode(m *Model) []byte {
	var b []byte
	b = appendVarintField(b, fModelIRVersion, uint64(m.IRVersion))
	b = appendStringField(b, fModelProducerName, m.ProducerName)
	b = appendStringField(b, fModelProducerVersion, m.ProducerVersion)
	b = appendStringField(b, fModelDomain, m.Domain)
	if m.ModelVersion != 0 {
		b = appendVarintField(b, fModelModelVersion, uint64(m.ModelVersion))
	}
	b = appendStringField(b, fModelDocString, m.DocString)
	b = appendMessage(b, fModelGraph, encodeGraph(&m.Graph))
	for _, o := range m.Opsets {
		var ob []byte
		ob = appendStringField(ob, fOpsetDomain, o.Domain)
		ob = appendVarintField(ob, fOpsetVersion, uint64(o.Version))
		b = appendMessage(b, fModelOpsetImport, ob)
	}
	for _, kv := range m.Metadata {
		var eb []byte
		eb = appendStringField(eb, fEntryKey, kv.Key)
		eb = appendStringField(eb, fEntryValue, kv.Value)
		b = appendMessage(b, fModelMetadataProps, eb)
	}
	return b
}

func encodeGraph(g *Graph) []byte {
	var b []byte
	for i := range g.Nodes {
		b = appendMessage(b, fGraphNode, encodeNode(&g.Nodes[i]))
	}
	b = appendStringField(b, fGraphName, g.Name)
	for i := range g.Initializers {
		b = appendMessage(b, fGraphInitializer, encodeTensor(&g.Initializers[i]))
	}
	b = appendStringField(b, fGraphDocString, g.DocString)
	for i := range g.Inputs {
		b = appendMessage(b, fGraphInput, encodeValueInfo(&g.Inputs[i]))
	}
	for i := range g.Outputs {
		b = appendMessage(b, fGraphOutput, encodeValueInfo(&g.Outputs[i]))
	}
	for i := range g.ValueInfo {
		b = appendMessage(b, fGraphValueInfo, encodeValueInfo(&g.ValueInfo[i]))
	}
	return b
}

func encodeNode(n *Node) []byte {
	var b []byte
	for _, s := range n.Inputs {
		b = protowire.AppendTag(b, fNodeInput, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	for _, s := range n.Outputs {
		b = protowire.AppendTag(b, fNodeOutput, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	b = appendStringField(b, fNodeName, n.Name)
	b = appendStringField(b, fNodeOpType, n.OpType)
	for i := range n.Attrs {
		b = appendMessage(b, fNodeAttribute, encodeAttr(&n.Attrs[i]))
	}
	b = appendStringField(b, fNodeDomain, n.Domain)
	return b
}

func encodeAttr(a *Attribute) []byte {
	var b []byte
	b = appendStringField(b, fAttrName, a.Name)
	switch a.Type {
	case AttrFloat:
		b = protowire.AppendTag(b, fAttrF, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case AttrInt:
		b = protowire.AppendTag(b, fAttrI, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.I))
	case AttrString:
		b = protowire.AppendTag(b, fAttrS, protowire.BytesType)
		b = protowire.AppendBytes(b, a.S)
	case AttrTensor:
		if a.T != nil {
			b = appendMessage(b, fAttrT, encodeTensor(a.T))
		}
	case AttrFloats:
		var p []byte
		for _, f := range a.Floats {
			p = protowire.AppendFixed32(p, math.Float32bits(f))
		}
		b = appendMessage(b, fAttrFloats, p)
	case AttrInts:
		var p []byte
		for _, v := range a.Ints {
			p = protowire.AppendVarint(p, uint64(v))
		}
		b = appendMessage(b, fAttrInts, p)
	case AttrStrings:
		for _, s := range a.Strings {
			b = protowire.AppendTag(b, fAttrStrings, protowire.BytesType)
			b = protowire.AppendBytes(b, s)
		}
	}
	b = protowire.AppendTag(b, fAttrType, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(a.Type))
	return b
}

func encodeTensor(t *Tensor) []byte {
	var b []byte
	if len(t.Dims) > 0 {
		var p []byte
		for _, d := range t.Dims {
			p = protowire.AppendVarint(p, uint64(d))
		}
		b = appendMessage(b, fTensorDims, p)
	}
	b = appendVarintField(b, fTensorDataType, uint64(t.DataType))
	if len(t.FloatData) > 0 {
		p := make([]byte, 0, 4*len(t.FloatData))
		for _, f := range t.FloatData {
			p = protowire.AppendFixed32(p, math.Float32bits(f))
		}
		b = appendMessage(b, fTensorFloatData, p)
	}
	if len(t.Int32Data) > 0 {
		var p []byte
		for _, v := range t.Int32Data {
			p = protowire.AppendVarint(p, uint64(int64(v)))
		}
		b = appendMessage(b, fTensorInt32Data, p)
	}
	if len(t.Int64Data) > 0 {
		var p []byte
		for _, v := range t.Int64Data {
			p = protowire.AppendVarint(p, uint64(v))
		}
		b = appendMessage(b, fTensorInt64Data, p)
	}
	b = appendStringField(b, fTensorName, t.Name)
	if t.Raw != nil {
		b = protowire.AppendTag(b, fTensorRawData, protowire.BytesType)
		b = protowire.AppendBytes(b, t.Raw)
	}
	for _, kv := range t.ExternalData {
		var eb []byte
		eb = appendStringField(eb, fEntryKey, kv.Key)
		eb = appendStringField(eb, fEntryValue, kv.Value)
		b = appendMessage(b, fTensorExternalData, eb)
	}
	if t.External {
		b = appendVarintField(b, fTensorDataLocation, 1)
	}
	return b
}

func encodeValueInfo(v *ValueInfo) []byte {
	var tt []byte
	tt = appendVarintField(tt, fTensorTypeElem, uint64(v.ElemType))
	if v.Shape != nil {
		var sb []byte
		for _, d := range v.Shape {
			var db []byte
			if d.Param != "" {
				db = appendStringField(db, fDimParam, d.Param)
			} else {
				db = protowire.AppendTag(db, fDimValue, protowire.VarintType)
				db = protowire.AppendVarint(db, uint64(d.Value))
			}
			sb = appendMessage(sb, fShapeDim, db)
		}
		tt = appendMessage(tt, fTensorTypeShape, sb)
	}
	var typ []byte
	typ = appendMessage(typ, fTypeTensor, tt)
	var b []byte
	b = appendStringField(b, fValueInfoName, v.Name)
	b = appendMessage(b, fValueInfoType, typ)
	return b
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

func appendStringField(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}
