package onnxpb

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func le(vals ...float32) []byte {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// withUnknownFields appends fields this package does not model (a
// ModelProto training_info stand-in, field 20, and a GraphProto
// sparse_initializer stand-in, field 15) so that a rewrite has to keep them.
func withUnknownFields(b []byte) []byte {
	b = protowire.AppendTag(b, 20, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte("kept as is"))
	return b
}

func TestReplaceInitializerData(t *testing.T) {
	m := sample()
	// An unpacked float_data tensor (each value its own field), as old
	// exporters wrote.
	var ub []byte
	ub = appendMessage(ub, fTensorDims, protowire.AppendVarint(nil, 2))
	ub = appendVarintField(ub, fTensorDataType, uint64(Float))
	for _, v := range []float32{7, 8} {
		ub = protowire.AppendTag(ub, fTensorFloatData, protowire.Fixed32Type)
		ub = protowire.AppendFixed32(ub, math.Float32bits(v))
	}
	ub = appendStringField(ub, fTensorName, "unpacked")
	src := withUnknownFields(Encode(m))
	// Splice the unpacked tensor into the graph message.
	var gb []byte
	{
		dm, _ := Decode(src)
		gb = encodeGraph(&dm.Graph)
		gb = appendMessage(gb, fGraphInitializer, ub)
		gb = protowire.AppendTag(gb, 15, protowire.BytesType)
		gb = protowire.AppendBytes(gb, []byte("graph extra"))
	}
	var mb []byte
	mb = appendVarintField(mb, fModelIRVersion, 8)
	mb = appendMessage(mb, fModelGraph, gb)
	mb = withUnknownFields(mb)

	repl := map[string][]byte{
		"w":        le(10, 20, 30, 40, 50, 60),
		"fd":       le(-1, -2),
		"unpacked": le(0.5, 0.25),
	}
	out, patches, err := ReplaceInitializerData(mb, repl)
	if err != nil {
		t.Fatal(err)
	}
	if len(patches) != 0 {
		t.Fatalf("patches for internal tensors: %v", patches)
	}
	if len(out) != len(mb) {
		t.Fatalf("output has %d bytes, input %d", len(out), len(mb))
	}
	for _, s := range []string{"kept as is", "graph extra"} {
		if !bytes.Contains(out, []byte(s)) {
			t.Errorf("unknown field %q was dropped", s)
		}
	}
	got, err := Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]float32{"w": {10, 20, 30, 40, 50, 60}, "fd": {-1, -2}, "unpacked": {0.5, 0.25}} {
		tt, _ := got.Graph.Initializer(name)
		if v, err := tt.Floats(); err != nil || !reflect.DeepEqual(v, want) {
			t.Errorf("%s = %v, %v; want %v", name, v, err, want)
		}
	}
	if idx, _ := got.Graph.Initializer("idx"); !reflect.DeepEqual(idx.Raw, Int64Tensor("idx", nil, []int64{0, 1, -1}).Raw) {
		t.Error("an initializer that was not replaced changed")
	}
	// Bytes outside the replaced values are identical.
	diff := 0
	for i := range out {
		if out[i] != mb[i] {
			diff++
		}
	}
	if diff > 4*(6+2+2) {
		t.Errorf("%d bytes changed, at most %d value bytes should", diff, 4*10)
	}
}

func TestReplaceInitializerDataErrors(t *testing.T) {
	b := Encode(sample())
	for _, c := range []struct {
		data map[string][]byte
		want string
	}{
		{map[string][]byte{"nope": le(1)}, `no initializer named "nope"`},
		{map[string][]byte{"w": le(1, 2)}, `initializer "w": new data has 8 bytes`},
		{map[string][]byte{"w": le(1, 2, 3, 4, 5, 6, 7)}, `initializer "w": new data has 28 bytes`},
		{map[string][]byte{"i64": make([]byte, 8)}, `only raw_data and float_data`},
	} {
		_, _, err := ReplaceInitializerData(b, c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.data, err, c.want)
		}
	}
}

func TestExternalDataWriteReadPatch(t *testing.T) {
	dir := t.TempDir()
	m := sample()
	big := make([]float32, 600)
	for i := range big {
		big[i] = float32(i) / 7
	}
	m.Graph.Initializers = append(m.Graph.Initializers, FloatTensor("big", []int64{20, 30}, big),
		FloatTensor("big2", []int64{300}, big[:300]))
	path := filepath.Join(dir, "model.onnx")
	if err := WriteModel(path, m, WriteOptions{ExternalThreshold: 1000}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := DecodeStructure(raw)
	if err != nil {
		t.Fatal(err)
	}
	files, err := st.Graph.ExternalFiles()
	if err != nil || !reflect.DeepEqual(files, []string{"model.onnx_data"}) {
		t.Fatalf("external files %v, %v", files, err)
	}
	for _, name := range []string{"big", "big2"} {
		tt, _ := st.Graph.Initializer(name)
		info, err := tt.ExternalInfo()
		if !tt.External || err != nil || info.Offset%externalAlign != 0 {
			t.Fatalf("%s: external %v, %+v, %v", name, tt.External, info, err)
		}
	}
	if w, _ := st.Graph.Initializer("w"); w.External {
		t.Error("a 24-byte tensor was moved out (below ExternalMinSize)")
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bt, _ := got.Graph.Initializer("big")
	if v, err := bt.Floats(); err != nil || !reflect.DeepEqual(v, big) {
		t.Fatalf("big read back as %v..., %v", v[:3], err)
	}
	// Below the threshold nothing moves.
	small := filepath.Join(dir, "small.onnx")
	if err := WriteModel(small, m, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(small + "_data"); !os.IsNotExist(err) {
		t.Errorf("small model got a data file: %v", err)
	}

	// Replacing an external tensor's data gives a patch, not a model change.
	repl := make([]float32, 300)
	for i := range repl {
		repl[i] = -float32(i)
	}
	out, patches, err := ReplaceInitializerData(raw, map[string][]byte{"big2": le(repl...), "w": le(1, 2, 3, 4, 5, 6)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(raw) || len(patches) != 1 || patches[0].Name != "big2" || patches[0].Length != 1200 {
		t.Fatalf("out %d bytes (in %d), patches %+v", len(out), len(raw), patches)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := PatchExternalData(dir, patches); err != nil {
		t.Fatal(err)
	}
	got, err = ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := got.Graph.Initializer("big2")
	if v, _ := b2.Floats(); !reflect.DeepEqual(v, repl) {
		t.Error("patched external tensor reads back wrong")
	}
	if b1, _ := got.Graph.Initializer("big"); !reflect.DeepEqual(must(b1.Floats()), big) {
		t.Error("patching big2 changed big")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestExternalInfoErrors(t *testing.T) {
	for _, c := range []struct {
		kv   []StringPair
		want string
	}{
		{[]StringPair{{"location", "../secret"}}, "outside the model's folder"},
		{[]StringPair{{"location", "/etc/passwd"}}, "outside the model's folder"},
		{[]StringPair{{"offset", "3"}}, "without a location"},
		{[]StringPair{{"location", "d"}, {"offset", "x"}}, "not a byte count"},
		{[]StringPair{{"location", "d"}, {"length", "5"}}, "length 5, want 8"},
	} {
		tt := Tensor{Name: "t", DataType: Float, Dims: []int64{2}, External: true, ExternalData: c.kv}
		if _, err := tt.ExternalInfo(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.kv, err, c.want)
		}
	}
	m := sample()
	m.Graph.Initializers = append(m.Graph.Initializers, Tensor{Name: "x", DataType: Float, Dims: []int64{2}, External: true,
		ExternalData: []StringPair{{"location", "missing.bin"}}})
	if err := LoadExternalData(m, t.TempDir()); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("missing data file: %v", err)
	}
}

// FuzzReplaceInitializerData: arbitrary (often malformed) model bytes give
// an error or a rewrite of exactly the input's length that decodes to the
// replaced values; never a panic.
func FuzzReplaceInitializerData(f *testing.F) {
	f.Add(Encode(sample()), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24})
	f.Add(withUnknownFields(Encode(sample())), make([]byte, 24))
	f.Add([]byte{0x3a, 0x05, 0x2a, 0x03, 0x42, 0x01, 0x77}, []byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b, data []byte) {
		out, _, err := ReplaceInitializerData(b, map[string][]byte{"w": data})
		if err != nil {
			return
		}
		if len(out) != len(b) {
			t.Fatalf("rewrite changed the length: %d -> %d", len(b), len(out))
		}
		if m, err := Decode(out); err == nil {
			if w, ok := m.Graph.Initializer("w"); ok && w.Raw != nil && !w.External && !bytes.Equal(w.Raw, data) && len(w.FloatData) == 0 {
				t.Fatalf("w reads back %x, want %x", w.Raw, data)
			}
		}
	})
}

func TestDropInitializerInputs(t *testing.T) {
	m := sample()
	b := Encode(m)
	if out, dropped, err := DropInitializerInputs(b); err != nil || len(dropped) != 0 || !bytes.Equal(out, b) {
		t.Fatalf("nothing to drop: %v %v, same bytes %v", dropped, err, bytes.Equal(out, b))
	}
	m.Graph.Inputs = append(m.Graph.Inputs, ValueInfo{Name: "w", ElemType: Float, Shape: []Dim{{Value: 2}, {Value: 3}}},
		ValueInfo{Name: "attention_mask", ElemType: Int64})
	b = withUnknownFields(Encode(m))
	out, dropped, err := DropInitializerInputs(b)
	if err != nil || !reflect.DeepEqual(dropped, []string{"w"}) {
		t.Fatalf("dropped %v, %v", dropped, err)
	}
	got, err := Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range got.Graph.Inputs {
		names = append(names, in.Name)
	}
	if !reflect.DeepEqual(names, []string{"input_ids", "attention_mask"}) || len(got.Graph.Initializers) != len(m.Graph.Initializers) {
		t.Errorf("inputs %v, %d initializers", names, len(got.Graph.Initializers))
	}
	if !bytes.Contains(out, []byte("kept as is")) {
		t.Error("an unknown field was dropped")
	}
}
