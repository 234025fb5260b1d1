package onnxpb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ExternalInfo says where an external tensor's bytes are: a file relative
// to the model's folder, an offset and a length.
type ExternalInfo struct {
	Location       string
	Offset, Length int64
}

// ElemSize returns the size in bytes of one element of type d (0 when
// unknown or variable, as for strings).
func ElemSize(d DataType) int {
	switch d {
	case Float, Int32:
		return 4
	case Uint8, Int8, Bool:
		return 1
	case Int64, Double:
		return 8
	case Float16:
		return 2
	}
	return 0
}

// ExternalInfo parses the external_data entries of an external tensor.
// A missing length means the whole tensor (elements x element size). The
// location must be a relative path inside the model's folder.
func (t *Tensor) ExternalInfo() (ExternalInfo, error) {
	info := ExternalInfo{Length: -1}
	for _, kv := range t.ExternalData {
		var err error
		switch kv.Key {
		case "location":
			info.Location = kv.Value
		case "offset":
			info.Offset, err = strconv.ParseInt(kv.Value, 10, 64)
		case "length":
			info.Length, err = strconv.ParseInt(kv.Value, 10, 64)
		}
		if err != nil || info.Offset < 0 {
			return info, fmt.Errorf("onnx tensor %q: external data %s=%q is not a byte count", t.Name, kv.Key, kv.Value)
		}
	}
	if info.Location == "" {
		return info, fmt.Errorf("onnx tensor %q: external data without a location", t.Name)
	}
	clean := filepath.ToSlash(filepath.Clean(info.Location))
	if filepath.IsAbs(info.Location) || clean == ".." || strings.HasPrefix(clean, "../") {
		return info, fmt.Errorf("onnx tensor %q: external data location %q is outside the model's folder", t.Name, info.Location)
	}
	if want := t.NumElements() * int64(ElemSize(t.DataType)); info.Length < 0 {
		info.Length = want
	} else if ElemSize(t.DataType) > 0 && info.Length != want {
		return info, fmt.Errorf("onnx tensor %q: external data length %d, want %d for %s %v", t.Name, info.Length, want, t.DataType, t.Dims)
	}
	return info, nil
}

// ExternalFiles returns the distinct external data files the graph's
// initializers refer to, in order of first use.
func (g *Graph) ExternalFiles() ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for i := range g.Initializers {
		t := &g.Initializers[i]
		if !t.External {
			continue
		}
		info, err := t.ExternalInfo()
		if err != nil {
			return nil, err
		}
		if !seen[info.Location] {
			seen[info.Location] = true
			out = append(out, info.Location)
		}
	}
	return out, nil
}

// LoadExternalData reads the bytes of every external initializer of m
// from the files in dir (the folder of the model file) into Raw, so the
// tensor reads like an internal one.
func LoadExternalData(m *Model, dir string) error {
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for i := range m.Graph.Initializers {
		t := &m.Graph.Initializers[i]
		if !t.External {
			continue
		}
		info, err := t.ExternalInfo()
		if err != nil {
			return err
		}
		f := files[info.Location]
		if f == nil {
			if f, err = os.Open(filepath.Join(dir, info.Location)); err != nil {
				return fmt.Errorf("onnx tensor %q: external data: %w", t.Name, err)
			}
			files[info.Location] = f
		}
		raw := make([]byte, info.Length)
		if _, err := f.ReadAt(raw, info.Offset); err != nil {
			return fmt.Errorf("onnx tensor %q: read %d bytes at offset %d of %s: %w", t.Name, info.Length, info.Offset, info.Location, err)
		}
		t.Raw, t.RawSize, t.External, t.ExternalData = raw, info.Length, false, nil
	}
	return nil
}

// MaxProtoSize is the largest serialized message protobuf allows (2 GiB);
// ONNX models whose weights exceed it keep them in external data.
const MaxProtoSize = math.MaxInt32

// WriteOptions configure WriteModel.
type WriteOptions struct {
	// ExternalThreshold: when the initializers hold more than this many
	// bytes, those of at least ExternalMinSize bytes are written to
	// ExternalFile instead of the model file. 0 means MaxProtoSize minus
	// 16 MiB of room for the graph (what exporters do for models over
	// 2 GB).
	ExternalThreshold int64
	// ExternalMinSize is the smallest tensor moved out (default 1024 bytes,
	// onnx's size_threshold).
	ExternalMinSize int64
	// ExternalFile is the data file's name, next to the model file
	// (default: the model file's name + "_data", as torch.onnx names it).
	ExternalFile string
}

// externalAlign aligns tensors in the data file so that they can be
// memory-mapped.
const externalAlign = 4096

// WriteModel writes m to path atomically, moving large initializers into
// an external data file when the weights would not fit a protobuf message
// (see WriteOptions). m itself is not changed.
func WriteModel(path string, m *Model, opt WriteOptions) error {
	if opt.ExternalThreshold <= 0 {
		opt.ExternalThreshold = MaxProtoSize - 16<<20
	}
	if opt.ExternalMinSize <= 0 {
		opt.ExternalMinSize = 1024
	}
	if opt.ExternalFile == "" {
		opt.ExternalFile = filepath.Base(path) + "_data"
	}
	var total int64
	for i := range m.Graph.Initializers {
		total += tensorBytes(&m.Graph.Initializers[i])
	}
	if total <= opt.ExternalThreshold {
		return WriteFile(path, m)
	}
	out := *m
	out.Graph.Initializers = make([]Tensor, len(m.Graph.Initializers))
	dataPath := filepath.Join(filepath.Dir(path), opt.ExternalFile)
	tmp := dataPath + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		f.Close()
		return errors.Join(err, os.Remove(tmp))
	}
	var off int64
	for i := range m.Graph.Initializers {
		t := m.Graph.Initializers[i]
		if t.External || tensorBytes(&t) < opt.ExternalMinSize {
			out.Graph.Initializers[i] = t
			continue
		}
		raw, err := rawBytes(&t)
		if err != nil {
			return fail(err)
		}
		if pad := (externalAlign - off%externalAlign) % externalAlign; pad > 0 {
			if _, err := f.Write(make([]byte, pad)); err != nil {
				return fail(err)
			}
			off += pad
		}
		if _, err := f.Write(raw); err != nil {
			return fail(fmt.Errorf("write %s: %w", tmp, err))
		}
		t.Raw, t.FloatData, t.Int32Data, t.Int64Data, t.RawSize = nil, nil, nil, nil, 0
		t.External = true
		t.ExternalData = []StringPair{{Key: "location", Value: opt.ExternalFile},
			{Key: "offset", Value: strconv.FormatInt(off, 10)}, {Key: "length", Value: strconv.Itoa(len(raw))}}
		out.Graph.Initializers[i] = t
		off += int64(len(raw))
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return errors.Join(err, os.Remove(tmp))
	}
	if err := os.Rename(tmp, dataPath); err != nil {
		return errors.Join(err, os.Remove(tmp))
	}
	return WriteFile(path, &out)
}

// tensorBytes is the size of a tensor's values as stored in the model.
func tensorBytes(t *Tensor) int64 {
	if t.External {
		return 0
	}
	return int64(len(t.Raw) + 4*len(t.FloatData) + 4*len(t.Int32Data) + 8*len(t.Int64Data))
}

// rawBytes returns a tensor's values as raw_data bytes.
func rawBytes(t *Tensor) ([]byte, error) {
	if t.Raw != nil {
		return t.Raw, nil
	}
	switch {
	case len(t.FloatData) > 0 && t.DataType == Float:
		b := make([]byte, 4*len(t.FloatData))
		for i, v := range t.FloatData {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		return b, nil
	case len(t.Int64Data) > 0 && t.DataType == Int64:
		b := make([]byte, 8*len(t.Int64Data))
		for i, v := range t.Int64Data {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
		}
		return b, nil
	case len(t.Int32Data) > 0 && t.DataType == Int32:
		b := make([]byte, 4*len(t.Int32Data))
		for i, v := range t.Int32Data {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
		}
		return b, nil
	}
	return nil, fmt.Errorf("onnx tensor %q: cannot move %s values stored this way to external data", t.Name, t.DataType)
}

// PatchExternalData writes patches into the external data files in dir
// (already copied there), in place.
func PatchExternalData(dir string, patches []ExternalPatch) error {
	files := map[string]*os.File{}
	var errs []error
	for _, p := range patches {
		f := files[p.Location]
		if f == nil {
			var err error
			if f, err = os.OpenFile(filepath.Join(dir, p.Location), os.O_WRONLY, 0); err != nil {
				errs = append(errs, fmt.Errorf("external data of %q: %w", p.Name, err))
				break
			}
			files[p.Location] = f
		}
		if _, err := f.WriteAt(p.Data, p.Offset); err != nil {
			errs = append(errs, fmt.Errorf("write external data of %q into %s: %w", p.Name, p.Location, err))
			break
		}
	}
	for _, f := range files {
		if err := f.Sync(); err != nil {
			errs = append(errs, err)
		}
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}
