package onnxpb

import (
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// ExternalPatch is new data for an initializer whose data lives in an
// external file: ReplaceInitializerData leaves the model bytes of such a
// tensor alone and returns where its bytes go instead.
type ExternalPatch struct {
	Name string
	ExternalInfo
	Data []byte
}

// ReplaceInitializerData returns a copy of the serialized ModelProto b in
// which the values of the named top-level initializers are replaced by
// data[name] (little-endian, as raw_data holds them). Every other byte of
// the file is kept as it is, unknown fields included, and each tensor keeps
// its storage (raw_data, or float_data packed or not), so the output has
// exactly the length of the input. The new data must have the length of
// the old. Initializers stored externally are not changed in the model:
// their new bytes come back as patches for the caller to write into the
// external files.
func ReplaceInitializerData(b []byte, data map[string][]byte) ([]byte, []ExternalPatch, error) {
	r := &rewriter{data: data, seen: map[string]bool{}}
	out, err := r.message(b, "ModelProto", func(num protowire.Number) func([]byte) ([]byte, error) {
		if num != fModelGraph {
			return nil
		}
		return func(g []byte) ([]byte, error) {
			return r.message(g, "GraphProto", func(num protowire.Number) func([]byte) ([]byte, error) {
				if num != fGraphInitializer {
					return nil
				}
				return r.tensor
			})
		}
	})
	if err != nil {
		return nil, nil, err
	}
	var missing []string
	for name := range data {
		if !r.seen[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, nil, fmt.Errorf("onnx: no initializer named %q in the graph (%d names not found)", missing[0], len(missing))
	}
	return out, r.patches, nil
}

type rewriter struct {
	data    map[string][]byte
	seen    map[string]bool
	patches []ExternalPatch
}

// message copies the fields of msg, passing the length-delimited fields
// for which sub returns a function through that function.
func (r *rewriter) message(msg []byte, name string, sub func(protowire.Number) func([]byte) ([]byte, error)) ([]byte, error) {
	out := make([]byte, 0, len(msg))
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return nil, fmt.Errorf("onnx: %s: bad field tag: %w", name, protowire.ParseError(n))
		}
		m := protowire.ConsumeFieldValue(num, typ, msg[n:])
		if m < 0 {
			return nil, fmt.Errorf("onnx: %s field %d: %w", name, num, protowire.ParseError(m))
		}
		field := msg[:n+m]
		msg = msg[n+m:]
		if typ != protowire.BytesType {
			out = append(out, field...)
			continue
		}
		f := sub(num)
		if f == nil {
			out = append(out, field...)
			continue
		}
		v, _ := protowire.ConsumeBytes(field[n:])
		nv, err := f(v)
		if err != nil {
			return nil, err
		}
		out = protowire.AppendTag(out, num, protowire.BytesType)
		out = protowire.AppendBytes(out, nv)
	}
	return out, nil
}

func (r *rewriter) tensor(v []byte) ([]byte, error) {
	var t Tensor
	if err := decodeTensor(v, &t, false); err != nil {
		return nil, err
	}
	data, ok := r.data[t.Name]
	if !ok {
		return v, nil
	}
	if r.seen[t.Name] {
		return nil, fmt.Errorf("onnx: initializer %q appears twice in the graph", t.Name)
	}
	r.seen[t.Name] = true
	if t.External {
		info, err := t.ExternalInfo()
		if err != nil {
			return nil, err
		}
		if info.Length != int64(len(data)) {
			return nil, fmt.Errorf("onnx: initializer %q: new data has %d bytes, the external data %d", t.Name, len(data), info.Length)
		}
		r.patches = append(r.patches, ExternalPatch{Name: t.Name, ExternalInfo: info, Data: data})
		return v, nil
	}
	out := make([]byte, 0, len(v))
	pos := 0
	take := func(n int) ([]byte, error) {
		if pos+n > len(data) {
			return nil, fmt.Errorf("onnx: initializer %q: new data has %d bytes, the tensor more", t.Name, len(data))
		}
		pos += n
		return data[pos-n : pos], nil
	}
	for len(v) > 0 {
		num, typ, n := protowire.ConsumeTag(v)
		if n < 0 {
			return nil, errors.New("onnx: TensorProto: malformed field")
		}
		m := protowire.ConsumeFieldValue(num, typ, v[n:])
		if m < 0 {
			return nil, errors.New("onnx: TensorProto: malformed field")
		}
		field := v[:n+m]
		v = v[n+m:]
		switch {
		case num == fTensorRawData || (num == fTensorFloatData && typ == protowire.BytesType):
			old, _ := protowire.ConsumeBytes(field[n:])
			nb, err := take(len(old))
			if err != nil {
				return nil, err
			}
			out = protowire.AppendTag(out, num, protowire.BytesType)
			out = protowire.AppendBytes(out, nb)
		case num == fTensorFloatData && typ == protowire.Fixed32Type:
			nb, err := take(4)
			if err != nil {
				return nil, err
			}
			out = append(out, field[:n]...)
			out = append(out, nb...)
		case num == fTensorInt32Data || num == fTensorInt64Data || num == 10 || num == 11 || num == 6:
			// int32_data, int64_data, double_data, uint64_data, string_data
			return nil, fmt.Errorf("onnx: initializer %q keeps its values in field %d; only raw_data and float_data can be replaced", t.Name, num)
		default:
			out = append(out, field...)
		}
	}
	if pos != len(data) {
		return nil, fmt.Errorf("onnx: initializer %q: new data has %d bytes, the tensor %d", t.Name, len(data), pos)
	}
	return out, nil
}

// DropInitializerInputs returns a copy of the serialized ModelProto b
// without the graph inputs that name an initializer (old exporters, and
// torch.onnx with keep_initializers_as_inputs=True, list every weight as
// an input too), and the names it dropped. Everything else is kept byte
// for byte; with nothing to drop, b itself is returned.
func DropInitializerInputs(b []byte) ([]byte, []string, error) {
	st, err := DecodeStructure(b)
	if err != nil {
		return nil, nil, err
	}
	inits := map[string]bool{}
	for i := range st.Graph.Initializers {
		inits[st.Graph.Initializers[i].Name] = true
	}
	var dropped []string
	for _, in := range st.Graph.Inputs {
		if inits[in.Name] {
			dropped = append(dropped, in.Name)
		}
	}
	if len(dropped) == 0 {
		return b, nil, nil
	}
	r := &rewriter{}
	out, err := r.message(b, "ModelProto", func(num protowire.Number) func([]byte) ([]byte, error) {
		if num != fModelGraph {
			return nil
		}
		return func(g []byte) ([]byte, error) {
			return r.filter(g, "GraphProto", func(num protowire.Number, v []byte) (bool, error) {
				if num != fGraphInput {
					return true, nil
				}
				var vi ValueInfo
				if err := decodeValueInfo(v, &vi); err != nil {
					return false, err
				}
				return !inits[vi.Name], nil
			})
		}
	})
	return out, dropped, err
}

// filter copies the fields of msg for which keep says true
// (length-delimited fields get their value, others nil).
func (r *rewriter) filter(msg []byte, name string, keep func(num protowire.Number, v []byte) (bool, error)) ([]byte, error) {
	out := make([]byte, 0, len(msg))
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return nil, fmt.Errorf("onnx: %s: bad field tag: %w", name, protowire.ParseError(n))
		}
		m := protowire.ConsumeFieldValue(num, typ, msg[n:])
		if m < 0 {
			return nil, fmt.Errorf("onnx: %s field %d: %w", name, num, protowire.ParseError(m))
		}
		field := msg[:n+m]
		msg = msg[n+m:]
		var v []byte
		if typ == protowire.BytesType {
			v, _ = protowire.ConsumeBytes(field[n:])
		}
		ok, err := keep(num, v)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, field...)
		}
	}
	return out, nil
}
