package train

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/lair-ir/lair/internal/fsutil"
)

// state is what a checkpoint restores besides the weights.
type state struct {
	Next        int     // next 0-based step to run
	BestValLoss float64 // +Inf before any validation
	BestStep    int
	Bad         int    // validations without improvement
	Stopped     string // "early_stopping" once the run has stopped early
	Log         []LogRow
	Best        map[int][]float32 `json:"-"`
}

// CheckpointFile is the checkpoint's name inside the checkpoint directory.
const CheckpointFile = "checkpoint.bin"

const ckMagic = "LAIRCKP1"

type ckHeader struct {
	State   state
	LogNaN  []bool   // ValLoss NaN flags (JSON has no NaN)
	Tensors []ckInfo // in file order after the header
	BestInf bool
}

type ckInfo struct {
	Name string
	Size int
}

func tensorsCopy(v *model.Variable) []float32 {
	return tensors.MustCopyFlatData[float32](v.MustValue())
}

func setVar(v *model.Variable, data []float32) error {
	if len(data) != v.Shape().Size() {
		return fmt.Errorf("train: weight %s has %d values, want %d", v.Path(), len(data), v.Shape().Size())
	}
	return v.SetValue(tensors.FromFlatDataAndDimensions(append([]float32(nil), data...), v.Shape().Dimensions...))
}

// ckVars lists every variable a checkpoint holds, with a stable name.
func (t *Trainer) ckVars() []struct {
	name string
	v    *model.Variable
} {
	var out []struct {
		name string
		v    *model.Variable
	}
	add := func(n string, v *model.Variable) {
		out = append(out, struct {
			name string
			v    *model.Variable
		}{n, v})
	}
	for i, v := range t.model.Trainable {
		add("w:"+v.Path(), v)
		add(fmt.Sprintf("m:%d", i), t.opt.m[i])
		add(fmt.Sprintf("v:%d", i), t.opt.v[i])
	}
	return out
}

// saveCheckpoint writes dir/checkpoint.bin atomically: magic, header length,
// JSON header, float32 little-endian tensors, CRC-32 of all before it.
func saveCheckpoint(dir string, t *Trainer, st *state) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("train: checkpoint dir: %w", err)
	}
	h := ckHeader{State: *st}
	h.State.Log = append([]LogRow(nil), st.Log...)
	for i := range h.State.Log {
		nan := math.IsNaN(h.State.Log[i].ValLoss)
		h.LogNaN = append(h.LogNaN, nan)
		if nan {
			h.State.Log[i].ValLoss = 0
		}
	}
	if math.IsInf(st.BestValLoss, 1) {
		h.BestInf, h.State.BestValLoss = true, 0
	}
	vars := t.ckVars()
	var datas [][]float32
	for _, cv := range vars {
		d := tensorsCopy(cv.v)
		h.Tensors = append(h.Tensors, ckInfo{Name: cv.name, Size: len(d)})
		datas = append(datas, d)
	}
	for i := range t.model.Trainable {
		if b, ok := st.Best[i]; ok {
			h.Tensors = append(h.Tensors, ckInfo{Name: fmt.Sprintf("best:%d", i), Size: len(b)})
			datas = append(datas, b)
		}
	}
	js, err := json.Marshal(h)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".checkpoint.tmp*")
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	defer os.Remove(tmp.Name())
	crc := crc32.NewIEEE()
	w := bufio.NewWriterSize(io.MultiWriter(tmp, crc), 1<<20)
	w.WriteString(ckMagic)
	binary.Write(w, binary.LittleEndian, uint64(len(js)))
	w.Write(js)
	buf := make([]byte, 4)
	chunk := make([]byte, 0, 1<<16) // little-endian floats, encoded a chunk at a time
	for _, d := range datas {
		for len(d) > 0 {
			n := min(len(d), cap(chunk)/4)
			chunk = chunk[:0]
			for _, x := range d[:n] {
				chunk = binary.LittleEndian.AppendUint32(chunk, math.Float32bits(x))
			}
			w.Write(chunk)
			d = d[n:]
		}
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("train: write checkpoint: %w", err)
	}
	binary.LittleEndian.PutUint32(buf, crc.Sum32())
	if _, err := tmp.Write(buf); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return fsutil.CommitFile(tmp.Name(), filepath.Join(dir, CheckpointFile))
}

// loadCheckpoint restores weights and optimizer state from dir; it returns
// nil (and no error) when there is no checkpoint.
func loadCheckpoint(dir string, t *Trainer) (*state, error) {
	path := filepath.Join(dir, CheckpointFile)
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("train: read checkpoint: %w", err)
	}
	bad := func(why string) error {
		return fmt.Errorf("train: checkpoint %s is unusable (%s): delete it to start over", path, why)
	}
	if len(data) < len(ckMagic)+12 || string(data[:len(ckMagic)]) != ckMagic {
		return nil, bad("bad magic")
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, bad("checksum mismatch")
	}
	r := bytes.NewReader(body[len(ckMagic):])
	var hl uint64
	binary.Read(r, binary.LittleEndian, &hl)
	if hl > uint64(r.Len()) {
		return nil, bad("header length")
	}
	js := make([]byte, hl)
	io.ReadFull(r, js)
	var h ckHeader
	if err := json.Unmarshal(js, &h); err != nil {
		return nil, bad(err.Error())
	}
	tens := map[string][]float32{}
	for _, ti := range h.Tensors {
		if r.Len() < 4*ti.Size {
			return nil, bad("truncated tensors")
		}
		d := make([]float32, ti.Size)
		raw := make([]byte, 4*ti.Size)
		io.ReadFull(r, raw)
		for i := range d {
			d[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		tens[ti.Name] = d
	}
	for _, cv := range t.ckVars() {
		d, ok := tens[cv.name]
		if !ok {
			return nil, bad("no tensor " + cv.name + ": was it made for another model?")
		}
		if err := setVar(cv.v, d); err != nil {
			return nil, bad(err.Error())
		}
	}
	st := h.State
	for i, nan := range h.LogNaN {
		if nan && i < len(st.Log) {
			st.Log[i].ValLoss = math.NaN()
		}
	}
	if h.BestInf {
		st.BestValLoss = math.Inf(1)
	}
	for i := range t.model.Trainable {
		if b, ok := tens[fmt.Sprintf("best:%d", i)]; ok {
			if st.Best == nil {
				st.Best = map[int][]float32{}
			}
			st.Best[i] = b
		}
	}
	return &st, nil
}
