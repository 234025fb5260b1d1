package train

import (
	"fmt"
	"path/filepath"

	"github.com/lair-ir/lair/encoder/tokenizer"
)

// hfTokenizer adapts a tokenizer.json tokenizer to TextEncoder.
type hfTokenizer struct {
	t   *tokenizer.Tokenizer
	pad int64
}

func (h hfTokenizer) EncodeIDs(text string) ([]int64, error) {
	e, err := h.t.Encode(text, true)
	if err != nil {
		return nil, err
	}
	return e.IDs, nil
}

func (h hfTokenizer) PadID() int64 { return h.pad }

// LoadTokenizer reads dir/tokenizer.json.
func LoadTokenizer(dir string) (TextEncoder, error) {
	path := filepath.Join(dir, "tokenizer.json")
	t, err := tokenizer.FromFile(path)
	if err != nil {
		return nil, fmt.Errorf("train: tokenizer %s: %w", path, err)
	}
	h := hfTokenizer{t: t}
	for _, p := range []string{"[PAD]", "<pad>"} {
		if id, ok := t.TokenToID(p); ok {
			h.pad = id
			break
		}
	}
	return h, nil
}

// LoadModel loads a model folder (tokenizer.json + model.onnx) for training.
func LoadModel(dir string) (*Model, error) {
	tok, err := LoadTokenizer(dir)
	if err != nil {
		return nil, err
	}
	return LoadModelWith(dir, tok)
}
