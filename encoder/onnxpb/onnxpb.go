package onnxpb

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/lair-ir/lair/internal/fsutil"
)

// DataType is an ONNX TensorProto.DataType.
type DataType int32

// The element types lair uses (values from onnx.proto).
const (
	Undefined DataType = 0
	Float     DataType = 1
	Uint8     DataType = 2
	Int8      DataType = 3
	Int32     DataType = 6
	Int64     DataType = 7
	String    DataType = 8
	Bool      DataType = 9
	Float16   DataType = 10
	Double    DataType = 11
)

func (d DataType) String() string {
	switch d {
	case Float:
		return "float32"
	case Uint8:
		return "uint8"
	case Int8:
		return "int8"
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	case String:
		return "string"
	case Bool:
		return "bool"
	case Float16:
		return "float16"
	case Double:
		return "float64"
	}
	return fmt.Sprintf("onnx-type-%d", int32(d))
}

// AttrType is an ONNX AttributeProto.AttributeType.
type AttrType int32

// Attribute types (values from onnx.proto).
const (
	AttrFloat   AttrType = 1
	AttrInt     AttrType = 2
	AttrString  AttrType = 3
	AttrTensor  AttrType = 4
	AttrFloats  AttrType = 6
	AttrInts    AttrType = 7
	AttrStrings AttrType = 8
)

// Model is an ONNX ModelProto.
type Model struct {
	IRVersion       int64
	Opsets          []OpsetID
	ProducerName    string
	ProducerVersion string
	Domain          string
	ModelVersion    int64
	DocString       string
	Graph           Graph
	Metadata        []StringPair
}

// OpsetID is an OperatorSetIdProto: the empty domain is the default ONNX domain.
type OpsetID struct {
	Domain  string
	Version int64
}

// StringPair is a StringStringEntryProto (metadata_props).
type StringPair struct{ Key, Value string }

// Graph is an ONNX GraphProto.
type Graph struct {
	Name         string
	Nodes        []Node
	Initializers []Tensor
	Inputs       []ValueInfo
	Outputs      []ValueInfo
	ValueInfo    []ValueInfo
	DocString    string
}

// Node is an ONNX NodeProto.
type Node struct {
	Name    string
	OpType  string
	Domain  string
	Inputs  []string
	Outputs []string
	Attrs   []Attribute
}

// Attribute is an ONNX AttributeProto. Type says which value field is set.
type Attribute struct {
	Name    string
	Type    AttrType
	F       float32
	I       int64
	S       []byte
	T       *Tensor
	Floats  []float32
	Ints    []int64
	Strings [][]byte
}

// Tensor is an ONNX TensorProto. Values are kept in Raw (little-endian, as
// raw_data) or in one of the typed fields; Floats and Int64s read either.
type Tensor struct {
	Name      string
	Dims      []int64
	DataType  DataType
	Raw       []byte
	FloatData []float32
	Int32Data []int32
	Int64Data []int64
	// RawSize is the length of raw_data as read (set by Decode and
	// DecodeStructure; ignored by Encode).
	RawSize int64
	// External is true when the tensor's data lives in an external file
	// (data_location = EXTERNAL); ExternalData then says where (keys
	// location, offset, length, checksum as in onnx.proto) and
	// LoadExternalData reads it into Raw.
	External     bool
	ExternalData []StringPair
}

// ValueInfo is an ONNX ValueInfoProto holding a tensor type.
type ValueInfo struct {
	Name     string
	ElemType DataType
	// Shape lists the dimensions; nil means the shape is unknown (no shape field).
	Shape []Dim
}

// Dim is one dimension: a fixed size (Param == "") or a symbolic name.
type Dim struct {
	Value int64
	Param string
}

func (d Dim) String() string {
	if d.Param != "" {
		return d.Param
	}
	return fmt.Sprint(d.Value)
}

// FloatTensor returns a float32 initializer stored as raw_data.
func FloatTensor(name string, dims []int64, data []float32) Tensor {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return Tensor{Name: name, Dims: dims, DataType: Float, Raw: raw}
}

// Int64Tensor returns an int64 initializer stored as raw_data.
func Int64Tensor(name string, dims []int64, data []int64) Tensor {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return Tensor{Name: name, Dims: dims, DataType: Int64, Raw: raw}
}

// NumElements returns the product of the dimensions (1 for a scalar).
func (t *Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Floats returns the values of a float32 tensor.
func (t *Tensor) Floats() ([]float32, error) {
	if t.DataType != Float {
		return nil, fmt.Errorf("onnx tensor %q: type is %s, not float32", t.Name, t.DataType)
	}
	if t.External {
		return nil, fmt.Errorf("onnx tensor %q: data is stored externally (not supported)", t.Name)
	}
	n := t.NumElements()
	if t.Raw != nil {
		if int64(len(t.Raw)) != 4*n {
			return nil, fmt.Errorf("onnx tensor %q: raw_data has %d bytes, want %d for dims %v", t.Name, len(t.Raw), 4*n, t.Dims)
		}
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Raw[4*i:]))
		}
		return out, nil
	}
	if int64(len(t.FloatData)) != n {
		return nil, fmt.Errorf("onnx tensor %q: float_data has %d values, want %d for dims %v", t.Name, len(t.FloatData), n, t.Dims)
	}
	return append([]float32(nil), t.FloatData...), nil
}

// Int64s returns the values of an int64 tensor.
func (t *Tensor) Int64s() ([]int64, error) {
	if t.DataType != Int64 {
		return nil, fmt.Errorf("onnx tensor %q: type is %s, not int64", t.Name, t.DataType)
	}
	if t.External {
		return nil, fmt.Errorf("onnx tensor %q: data is stored externally (not supported)", t.Name)
	}
	n := t.NumElements()
	if t.Raw != nil {
		if int64(len(t.Raw)) != 8*n {
			return nil, fmt.Errorf("onnx tensor %q: raw_data has %d bytes, want %d for dims %v", t.Name, len(t.Raw), 8*n, t.Dims)
		}
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(t.Raw[8*i:]))
		}
		return out, nil
	}
	if int64(len(t.Int64Data)) != n {
		return nil, fmt.Errorf("onnx tensor %q: int64_data has %d values, want %d for dims %v", t.Name, len(t.Int64Data), n, t.Dims)
	}
	return append([]int64(nil), t.Int64Data...), nil
}

// Initializer returns the initializer of that name.
func (g *Graph) Initializer(name string) (*Tensor, bool) {
	for i := range g.Initializers {
		if g.Initializers[i].Name == name {
			return &g.Initializers[i], true
		}
	}
	return nil, false
}

// ReadFile decodes an ONNX model file and reads the data of external
// initializers (from files next to it) into their Raw bytes.
func ReadFile(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := LoadExternalData(m, filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// WriteFile encodes m and writes it to path atomically (internal/fsutil).
func WriteFile(path string, m *Model) error {
	return fsutil.WriteFile(path, Encode(m), 0o644)
}
