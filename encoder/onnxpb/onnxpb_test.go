package onnxpb

import (
	"reflect"
	"testing"
)

func sample() *Model {
	m := &Model{
		IRVersion: 8, Opsets: []OpsetID{{"", 17}, {"com.microsoft", 1}},
		ProducerName: "lair", ProducerVersion: "test", DocString: "doc",
		Metadata: []StringPair{{"k", "v"}},
	}
	g := &m.Graph
	g.Name = "g"
	b := NewBuilder(g)
	w := b.Init(FloatTensor("w", []int64{2, 3}, []float32{1, 2, 3, 4, 5, -6.5}))
	idx := b.ConstInt64("idx", false, 0, 1, -1)
	out := b.Op("/x", "Gather", []string{w, "input_ids"}, IntAttr("axis", 0))
	out = b.Op("/x", "Transpose", []string{out}, IntsAttr("perm", 0, 2, 1))
	out = b.Op("/x", "LayerNormalization", []string{out, idx}, FloatAttr("epsilon", 1e-5), StringAttr("mode", "x"))
	b.Op("/x", "Constant", nil, TensorAttr("value", Int64Tensor("c", nil, []int64{42})),
		Attribute{Name: "fl", Type: AttrFloats, Floats: []float32{1.5, 2}},
		Attribute{Name: "ss", Type: AttrStrings, Strings: [][]byte{[]byte("a"), []byte("bc")}})
	g.Nodes = append(g.Nodes, Node{Name: "id", OpType: "Identity", Domain: "", Inputs: []string{out}, Outputs: []string{"y"}})
	g.Initializers = append(g.Initializers,
		Tensor{Name: "fd", DataType: Float, Dims: []int64{2}, FloatData: []float32{1, 2}},
		Tensor{Name: "i32", DataType: Int32, Dims: []int64{2}, Int32Data: []int32{-1, 7}},
		Tensor{Name: "i64", DataType: Int64, Dims: []int64{1}, Int64Data: []int64{-9}})
	g.Inputs = []ValueInfo{{Name: "input_ids", ElemType: Int64, Shape: []Dim{{Param: "batch"}, {Param: "sequence"}}}}
	g.Outputs = []ValueInfo{{Name: "y", ElemType: Float, Shape: []Dim{{Param: "batch"}, {Value: 3}, {Value: 0}}}}
	g.ValueInfo = []ValueInfo{{Name: "z", ElemType: Float}}
	return m
}

func TestRoundTrip(t *testing.T) {
	m := sample()
	got, err := Decode(Encode(m))
	if err != nil {
		t.Fatal(err)
	}
	clearRawSize(got)
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, m)
	}
	if string(Encode(got)) != string(Encode(m)) {
		t.Fatal("re-encoding differs")
	}
}

func TestTensorValues(t *testing.T) {
	m, err := Decode(Encode(sample()))
	if err != nil {
		t.Fatal(err)
	}
	w, ok := m.Graph.Initializer("w")
	if !ok {
		t.Fatal("no w")
	}
	f, err := w.Floats()
	if err != nil || !reflect.DeepEqual(f, []float32{1, 2, 3, 4, 5, -6.5}) {
		t.Fatalf("w = %v, %v", f, err)
	}
	fd, _ := m.Graph.Initializer("fd")
	if f, err := fd.Floats(); err != nil || !reflect.DeepEqual(f, []float32{1, 2}) {
		t.Fatalf("fd = %v, %v", f, err)
	}
	idx, _ := m.Graph.Initializer("idx")
	if v, err := idx.Int64s(); err != nil || !reflect.DeepEqual(v, []int64{0, 1, -1}) {
		t.Fatalf("idx = %v, %v", v, err)
	}
	if _, err := idx.Floats(); err == nil {
		t.Fatal("Floats of an int64 tensor: no error")
	}
	bad := FloatTensor("bad", []int64{4}, []float32{1})
	if _, err := bad.Floats(); err == nil {
		t.Fatal("short raw_data: no error")
	}
}

// TestUnpackedRepeated checks that proto2-style unpacked repeated fields
// (as some exporters write dims) decode like packed ones.
func TestUnpackedRepeated(t *testing.T) {
	// TensorProto{dims: 2, dims: 3 (unpacked), data_type: 7}
	tb := []byte{0x08, 0x02, 0x08, 0x03, 0x10, 0x07}
	var tt Tensor
	if err := decodeTensor(tb, &tt, true); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tt.Dims, []int64{2, 3}) || tt.DataType != Int64 {
		t.Fatalf("got %+v", tt)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := Encode(sample())
	for _, b := range [][]byte{good[:len(good)-3], {0xff}, {0x3a, 0x05, 0x0a}} {
		if _, err := Decode(b); err == nil {
			t.Errorf("% x: no error", b[:min(len(b), 8)])
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(sample()))
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x08})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode and decode to the same model.
		m2, err := Decode(Encode(m))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(normalize(m), normalize(m2)) {
			t.Fatalf("decode(encode(m)) != m")
		}
	})
}

func clearRawSize(m *Model) {
	for i := range m.Graph.Initializers {
		m.Graph.Initializers[i].RawSize = 0
	}
	for _, n := range m.Graph.Nodes {
		for _, a := range n.Attrs {
			if a.T != nil {
				a.T.RawSize = 0
			}
		}
	}
}

func TestDecodeStructure(t *testing.T) {
	m, err := DecodeStructure(Encode(sample()))
	if err != nil {
		t.Fatal(err)
	}
	w, _ := m.Graph.Initializer("w")
	if w.Raw != nil || w.RawSize != 24 || !reflect.DeepEqual(w.Dims, []int64{2, 3}) {
		t.Fatalf("w = %+v", w)
	}
}

// normalize maps empty slices to nil so DeepEqual compares content.
func normalize(m *Model) *Model {
	b := Encode(m)
	out, _ := Decode(b)
	return out
}
