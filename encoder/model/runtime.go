package model

import (
	"fmt"

	"github.com/lair-ir/lair/encoder/ort"
)

// CheckRuntime loads the graph in ONNX Runtime (library lib, "" for the
// default) and runs it once on a two-token input, so that a graph ONNX
// Runtime cannot load or run fails when the model is loaded, not when the
// first batch is encoded. It also compares the output width with
// config.json's hidden_size.
func (m *Model) CheckRuntime(lib string) error {
	s, err := ort.NewSession(m.ONNXPath, ort.Options{Lib: lib, Threads: 1})
	if err != nil {
		return fmt.Errorf("model %s: %w", m.Dir, err)
	}
	defer s.Close()
	ids := []int64{m.PadID, m.PadID}
	if m.VocabSize > 2 {
		ids = []int64{1, 2}
	}
	b := ort.Batch{Rows: 1, Len: 2, IDs: ids, Mask: []int64{1, 1}}
	var mine error
	err = s.Run(b, func(hidden []float32, width int) error {
		if h := m.Config.HiddenSize; h > 0 && width != h {
			mine = fmt.Errorf("model %s: config.json says hidden_size %d but %s gives vectors %d wide: fix hidden_size in %s (or use the config that belongs to this graph)",
				m.Dir, h, m.ONNXPath, width, m.ConfigPath)
			return mine
		}
		if len(hidden) != 2*width || width <= 0 {
			mine = fmt.Errorf("model %s: %s returned %d values for 2 tokens of width %d", m.Dir, m.ONNXPath, len(hidden), width)
			return mine
		}
		return nil
	})
	if err != nil && err != mine {
		return fmt.Errorf("model %s: the graph does not run in ONNX Runtime: %w", m.Dir, err)
	}
	return err
}
